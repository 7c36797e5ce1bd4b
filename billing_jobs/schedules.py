"""Schedules: yesterday's folder after midnight, the previous month's close on the 3rd.

Both partitions definitions reach ahead of today (days: a month of pre-dated folders; months: this month to
date), so the partition a schedule takes is named from the tick, not "the last partition", which would be a
day a month ahead and this month still running. The tick's time, not the wall clock, names it: a tick
evaluated late (the daemon was down) still asks for its own day or month.
"""
from datetime import timedelta

import dagster as dg

RUNNING = dg.DefaultScheduleStatus.RUNNING


def daily_ingest_schedule(job) -> dg.ScheduleDefinition:
    @dg.schedule(job=job, cron_schedule="30 0 * * *", execution_timezone="UTC", default_status=RUNNING,
                 name=f"{job.name}_schedule", description="Yesterday's folder once more, whatever the sensor caught.")
    def ingest_yesterday(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        yesterday = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
        return dg.RunRequest(partition_key=yesterday, run_key=yesterday)

    return ingest_yesterday


def month_end_close_schedule(job) -> dg.ScheduleDefinition:
    @dg.schedule(job=job, cron_schedule="0 2 3 * *", execution_timezone="UTC", default_status=RUNNING,
                 name=f"{job.name}_schedule", description="The previous month, leaving two days for late snapshots.")
    def close_previous_month(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        month = (context.scheduled_execution_time.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        return dg.RunRequest(partition_key=month, run_key=month)

    return close_previous_month
