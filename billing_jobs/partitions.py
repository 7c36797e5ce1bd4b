"""The partitions of billing, all in UTC: arrival days for ingestion, months for the close."""
import dagster as dg

FIRST_DAY = "2025-01-01"

# end_offset=1 makes today (and this month) a partition: usage is ingested intraday, month to date.
daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, end_offset=1, timezone="UTC")
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=FIRST_DAY[:7], end_offset=1, timezone="UTC", fmt="%Y-%m")
