"""Settings come from the environment when asked, with embedded defaults and one-line errors."""
from pathlib import Path

import pytest

from billing.settings import BillingError, Settings


def test_embedded_defaults_live_under_billing_home(tmp_path):
    settings = Settings.from_env({"BILLING_HOME": str(tmp_path)})
    assert settings.snapshot_root == str(tmp_path / "snapshots")
    assert settings.ledger_url == f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    assert (settings.warehouse_dir, settings.dagster_home) == (tmp_path / "warehouse", tmp_path / "dagster")
    assert settings.price_book == Path("billing/price_book.yaml").resolve()
    assert (settings.payment_retry_days, settings.overdue_grace_days, settings.invoice_grace_days) == ((3, 5, 7), 3, 2)


def test_payment_retry_days_are_configurable_and_checked():
    assert Settings.from_env({"BILLING_PAYMENT_RETRY_DAYS": "1,2,10"}).payment_retry_days == (1, 2, 10)
    with pytest.raises(BillingError, match="BILLING_PAYMENT_RETRY_DAYS must be increasing days"):
        Settings.from_env({"BILLING_PAYMENT_RETRY_DAYS": "5,3"})
    with pytest.raises(BillingError, match="BILLING_INVOICE_GRACE_DAYS must be a whole number, got 'soon'"):
        Settings.from_env({"BILLING_INVOICE_GRACE_DAYS": "soon"})
