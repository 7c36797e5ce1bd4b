"""The partitions of billing, all in UTC: arrival days for ingestion, months for the close."""
import dagster as dg

FIRST_DAY = "2024-01-01"

# Today is a partition (usage is ingested intraday), and so is the month ahead: a folder dated a
# little in the future (an exporter's clock, a pre-dated drop) is ingested rather than left out.
DAYS_AHEAD = 31
daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, end_offset=1 + DAYS_AHEAD, timezone="UTC")
# This month is a partition too: month-to-date aggregates and reports.
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=FIRST_DAY[:7], end_offset=1, timezone="UTC", fmt="%Y-%m")
