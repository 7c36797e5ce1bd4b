"""Runs billing jobs on the Dagster instance in DAGSTER_HOME, so that CLI runs show in the UI."""
import os
import warnings
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from billing.directory import parse_period
from billing.ledger import Ledger
from billing.settings import BillingError, Settings
from billing.snapshots import SnapshotRoot
from billing_jobs.partitions import DAYS_AHEAD, FIRST_DAY

DAGSTER_YAML = Path(__file__).with_name("dagster.yaml")


def local_instance(settings: Settings) -> dg.DagsterInstance:
    """The instance in DAGSTER_HOME (default $BILLING_HOME/dagster), created with our dagster.yaml if new."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML.read_text())
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    # Stripe's key and address reach the runs through dg.EnvVar, which must be set; left unset, the
    # embedded default is none of either: no charges, and the close says that payments were skipped.
    for name in ("STRIPE_API_KEY", "STRIPE_API_BASE"):
        os.environ.setdefault(name, "")
    return dg.DagsterInstance.get()


def _definitions() -> dg.Definitions:
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    from billing_jobs.definitions import defs

    return defs


# The CLI prints its own progress; Dagster's event log stays in the instance for the UI.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _run(instance: dg.DagsterInstance, job_name: str, run_config: dict | None = None, **kwargs
         ) -> dg.ExecuteInProcessResult:
    job = _definitions().resolve_job_def(job_name)
    result = job.execute_in_process(instance=instance, raise_on_error=False, run_config={**QUIET, **(run_config or {})},
                                    **kwargs)
    if not result.success:
        raise BillingError(f"{job_name} run {result.run_id} failed: {_failure(result)}")
    return result


def _failure(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause is not None:  # the user's error, not Dagster's wrapper
                error = error.cause
            return error.message.strip().splitlines()[-1].removeprefix("billing.settings.BillingError: ")
    return "see the run in the Dagster UI"


def validate_period(period: str, today: date) -> None:
    year, month = parse_period(period)
    if (year, month) > (today.year, today.month):
        raise BillingError(f"month {period} has not begun yet")
    if period < FIRST_DAY[:7]:
        raise BillingError(f"month {period} is before the first billed month {FIRST_DAY[:7]}")


def ingest(settings: Settings, instance: dg.DagsterInstance, progress=lambda message: None) -> dict:
    """Ingest every day folder that changed since it was last ingested, in one run; return its counts."""
    ledger = Ledger(settings.ledger_url)
    ledger.migrate()
    if not ledger.tenants():
        raise BillingError("the ledger has no tenants: run 'billing tenants import FILE' first")
    last = settings.today() + timedelta(days=DAYS_AHEAD)
    snapshots = SnapshotRoot(settings.snapshot_root, settings.aws_endpoint_url)
    days, strays = snapshots.days(), snapshots.strays()  # strays: not in a day folder, so never read: said
    for stray in strays:
        progress(f"warning: {stray}")
    outside = [d for d in days if not FIRST_DAY <= d.isoformat() <= last.isoformat()]
    if outside:
        raise BillingError(f"snapshot folder dt={outside[0]} is outside the days billing accepts ({FIRST_DAY} to {last})")
    if not days:
        progress("no day folders to ingest")
        return {"run_id": None, "warnings": strays}
    progress(f"ingesting day folders {days[0]} to {days[-1]} (unchanged days are skipped)")
    result = _run(instance, "ingest_usage",
                  tags={"dagster/asset_partition_range_start": days[0].isoformat(),
                        "dagster/asset_partition_range_end": days[-1].isoformat()},
                  run_config={"ops": {"usage_events": {"config": {"only_changed": True}}}})
    # Every partition of a single-run range carries the same metadata: the run's counts.
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    counts = {name: value.value for name, value in metadata.items() if isinstance(value.value, int)}
    return {"run_id": result.run_id, **counts, "warnings": strays}


def close_month(settings: Settings, period: str, progress=lambda message: None) -> dict:
    """The month-end close: ingest what is new, then aggregate and report the month, as Dagster runs."""
    validate_period(period, settings.today())
    instance = local_instance(settings)
    ingested = ingest(settings, instance, progress)
    progress(f"closing {period}")
    close = _run(instance, "month_end_close", partition_key=period)
    payments = {name.removeprefix("payments "): value.value
                for event in close.get_asset_materialization_events()
                if event.asset_key == dg.AssetKey("invoice_payments")
                for name, value in event.materialization.metadata.items()}
    progress(f"evaluating the alerts of {period}")
    alerts = _run(instance, "evaluate_alerts", partition_key=period)
    fired = alerts.get_asset_materialization_events()[0].materialization.metadata["alerts_fired"].value
    return {"period": period, "ingest": ingested, "close_run_id": close.run_id, "payments": payments, "alerts_fired": fired,
            "reports": str(settings.reports_dir / period), "dagster_home": str(settings.dagster_home)}
