"""Every run executes its steps in one process: the named jobs and the implicit asset job that a backfill or a
materialization of an asset selection from the UI runs (it was a process per step: 8x slower than the CLI)."""
from billing_jobs.definitions import defs


def test_every_job_and_a_ui_backfill_run_in_process():
    repository = defs.get_repository_def()
    executors = {job.name: job.executor_def.name for job in repository.get_all_jobs()}
    assert executors == {"__ASSET_JOB": "in_process", "ingest_usage": "in_process", "month_end_close": "in_process",
                         "evaluate_alerts": "in_process", "deliver_alerts": "in_process",
                         "collect_payments": "in_process"}
