"""What runs on its own once the daemon is started: every schedule and sensor, by value, from the Definitions."""
from datetime import datetime, timezone

import dagster as dg

from billing_jobs.definitions import defs

RUNNING = dg.DefaultScheduleStatus.RUNNING


def test_every_schedule_runs_by_default_at_its_documented_time():
    schedules = {s.name: (s.cron_schedule, s.execution_timezone, s.default_status)
                 for s in defs.get_repository_def().schedule_defs}
    assert schedules == {
        "ingest_usage_schedule": ("30 0 * * *", "UTC", RUNNING),          # yesterday's folder, 00:30
        "month_end_close_schedule": ("0 2 3 * *", "UTC", RUNNING),        # the previous month, the 3rd at 02:00
        "deliver_alerts_schedule": ("*/5 * * * *", "UTC", RUNNING),       # the alert outbox
        "collect_payments_schedule": ("0 6 * * *", "UTC", RUNNING),       # dunning, ACH, overdue
    }


def test_every_sensor_runs_by_default():
    sensors = {s.name: (s.default_status, s.minimum_interval_seconds) for s in defs.get_repository_def().sensor_defs}
    on = dg.DefaultSensorStatus.RUNNING
    assert sensors == {
        "snapshot_drop_sensor": (on, 60),
        "usage_alert_sensor": (on, 60),
        "undelivered_alerts_sensor": (on, 300),
        "ach_settlement_sensor": (on, 600),
        "notify_operators_of_failure": (on, 30),
    }


def requested_partition(schedule_name: str, tick: datetime) -> str:
    repository = defs.get_repository_def()
    context = dg.build_schedule_context(scheduled_execution_time=tick, repository_def=repository)
    [request] = repository.get_schedule_def(schedule_name).evaluate_tick(context).run_requests
    return request.partition_key


def test_the_close_schedule_closes_the_previous_month_not_the_one_running():
    assert requested_partition("month_end_close_schedule", datetime(2026, 12, 3, 2, tzinfo=timezone.utc)) == "2026-11"
    assert requested_partition("month_end_close_schedule", datetime(2027, 1, 3, 2, tzinfo=timezone.utc)) == "2026-12"


def test_the_ingest_schedule_ingests_yesterday_not_a_day_a_month_ahead():
    assert requested_partition("ingest_usage_schedule", datetime(2026, 12, 1, 0, 30, tzinfo=timezone.utc)) == "2026-11-30"
