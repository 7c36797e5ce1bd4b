"""The partitions of billing, all in UTC: arrival days for ingestion, months for the close."""
import dagster as dg

from billing.settings import Settings


def first_day() -> str:
    """The first billed day: the 1st of BILLING_FIRST_MONTH (default 2024-01); no partition comes before it.

    The asset decorators take their partitions when their modules are imported, and those are imported only to
    build the Definitions (billing_jobs/definitions.py; the CLI's runner loads them too), so this is called then,
    once per process, and not when any other billing module is imported. Every process that loads the Definitions
    (webserver, daemon, the runs, the CLI) must see the same BILLING_FIRST_MONTH, from the one environment file,
    or they disagree on the partitions; changing it takes a restart of the services.
    """
    return f"{Settings.from_env().first_month}-01"


FIRST_DAY = first_day()

# Today is a partition (usage is ingested intraday), and so is the month ahead: a folder dated a
# little in the future (an exporter's clock, a pre-dated drop) is ingested rather than left out.
DAYS_AHEAD = 31
daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, end_offset=1 + DAYS_AHEAD, timezone="UTC")
# This month is a partition too: month-to-date aggregates and reports.
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=FIRST_DAY[:7], end_offset=1, timezone="UTC", fmt="%Y-%m")
