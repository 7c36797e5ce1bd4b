"""BILLING_FIRST_MONTH: no partition (no "Missing" month in the UI) before the first billed month. The partitions
are built when the Definitions load, so each case loads them in a fresh process, as the services do."""
import json
import os
import subprocess
import sys

import pytest

from billing.settings import BillingError, Settings

PARTITIONS = """
import json, warnings
warnings.simplefilter("ignore")
from billing_jobs.definitions import defs
from billing_jobs.runner import validate_period
from billing.settings import BillingError, Settings
monthly = defs.get_assets_def("monthly_usage").partitions_def.get_partition_keys()
daily = defs.get_assets_def("usage_events").partitions_def.get_partition_keys()
try:
    validate_period("2025-12", Settings.from_env().today())
    before = "accepted"
except BillingError as error:
    before = str(error)
print(json.dumps({"months": [monthly[0], monthly[-1]], "first_day": daily[0], "before": before}))
"""


def partitions(first_month: str | None) -> dict:
    env = {**os.environ, "BILLING_NOW": "2026-11-29"}
    env.pop("BILLING_FIRST_MONTH", None)
    if first_month:
        env["BILLING_FIRST_MONTH"] = first_month
    done = subprocess.run([sys.executable, "-c", PARTITIONS], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_the_first_billed_month_is_the_first_partition():
    found = partitions("2026-01")
    # The last partition is Dagster's: this month by the wall clock, never before BILLING_NOW's month
    assert found["months"][0] == "2026-01" and found["months"][1] >= "2026-11"
    assert (found["first_day"], found["before"]) == (
        "2026-01-01", "month 2025-12 is before the first billed month 2026-01")


def test_by_default_billing_starts_in_2024():
    assert partitions(None)["months"][0] == "2024-01"


def test_a_bad_first_month_is_one_line():
    with pytest.raises(BillingError, match=r"^BILLING_FIRST_MONTH must be a month YYYY-MM, got '2026-1'$"):
        Settings.from_env({"BILLING_FIRST_MONTH": "2026-1"})
