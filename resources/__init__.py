"""Dagster resources. Every field is optional: empty means the embedded default or the environment (see README)."""

import os
from typing import Optional

import dagster as dg

from billing.ledger import Ledger
from billing.price_book import PriceBook, load_price_book
from billing.settings import Settings
from billing.snapshots import SnapshotRoot
from billing.warehouse import Warehouse


class BillingStore(dg.ConfigurableResource):
    """Where billing data lives: snapshot root, ledger, warehouse and price book."""

    billing_home: Optional[str] = None
    snapshot_root: Optional[str] = None
    ledger_url: Optional[str] = None
    price_book_path: Optional[str] = None
    aws_endpoint_url: Optional[str] = None

    def settings(self) -> Settings:
        env = dict(os.environ)
        overrides = {
            "BILLING_HOME": self.billing_home,
            "BILLING_SNAPSHOT_ROOT": self.snapshot_root,
            "BILLING_LEDGER_URL": self.ledger_url,
            "BILLING_PRICE_BOOK": self.price_book_path,
            "AWS_ENDPOINT_URL": self.aws_endpoint_url,
        }
        env.update({name: value for name, value in overrides.items() if value})
        return Settings.from_env(env)

    def ledger(self) -> Ledger:
        ledger = Ledger(self.settings().ledger_url)
        ledger.migrate()
        return ledger

    def warehouse(self) -> Warehouse:
        return Warehouse(self.settings().warehouse_dir)

    def snapshots(self) -> SnapshotRoot:
        settings = self.settings()
        return SnapshotRoot(settings.snapshot_root, settings.aws_endpoint_url)

    def price_book(self) -> PriceBook:
        return load_price_book(self.settings().price_book)
