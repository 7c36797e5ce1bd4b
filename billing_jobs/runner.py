"""Runs billing jobs on the Dagster instance in DAGSTER_HOME, so that CLI runs show in the UI."""
import fcntl
import os
import socket
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg

from billing.crash import crash_point
from billing.directory import parse_period
from billing.ledger import Ledger
from billing.settings import BillingError, Settings
from billing.snapshots import SnapshotRoot
from billing_jobs.failures import step_error
from billing_jobs.partitions import DAYS_AHEAD, FIRST_DAY

DAGSTER_YAML = Path(__file__).with_name("dagster.yaml")
SETUP_LOCK = ".setup.lock"  # in BILLING_HOME
RECOVERY_LOCK = "billing-recovery.lock"  # in the instance's folder
# Run tags of the CLI's runs: the process that runs it, so that a run whose process died can be told apart.
PID_TAG, HOST_TAG = "billing/pid", "billing/host"
UNFINISHED = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
DEFAULT_POOL_WAIT_SECONDS = 900
POOL_POLL_SECONDS, POOL_PROGRESS_SECONDS = 1, 30


def local_instance(settings: Settings, progress=lambda message: None) -> dg.DagsterInstance:
    """The instance in DAGSTER_HOME (default $BILLING_HOME/dagster), created with our dagster.yaml if new.

    Creating and migrating the instance and the ledger happens under a file lock in BILLING_HOME, so that two
    commands started at once on a fresh home do it once; so does the recovery of runs whose process died."""
    settings.home.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(settings.home / SETUP_LOCK):
        settings.dagster_home.mkdir(parents=True, exist_ok=True)
        config = settings.dagster_home / "dagster.yaml"
        if not config.exists():
            config.write_text(DAGSTER_YAML.read_text())
        os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
        # Stripe's key and address reach the runs through dg.EnvVar, which must be set; left unset, the
        # embedded default is none of either: no charges, and the close says that payments were skipped.
        for name in ("STRIPE_API_KEY", "STRIPE_API_BASE"):
            os.environ.setdefault(name, "")
        instance = dg.DagsterInstance.get()
        # Each storage creates and migrates its database when first opened: open them all here, under the lock.
        instance.run_storage, instance.event_log_storage, instance.schedule_storage  # noqa: B018
        Ledger(settings.ledger_url).migrate()
        recover_dead_runs(instance, progress)
    return instance


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or when the process dies
        yield


def recover_dead_runs(instance: dg.DagsterInstance, progress=lambda message: None) -> list[str]:
    """Mark failed the unfinished runs this host's CLI started whose process is gone (killed, out of memory,
    power cut), and free the pool slots of every finished run; return the runs marked failed.

    Runs the daemon launched carry no pid: its run monitoring frees theirs (dagster.yaml)."""
    host = socket.gethostname()
    failed = []
    # One process at a time, so that a dead run is reported failed once (and its operators emailed once).
    with _exclusive_lock(Path(instance.root_directory) / RECOVERY_LOCK):
        for record in instance.get_run_records(dg.RunsFilter(statuses=UNFINISHED, tags={HOST_TAG: host})):
            run, pid = record.dagster_run, int(record.dagster_run.tags[PID_TAG])
            if pid == os.getpid() or _process_alive(pid):
                continue
            instance.report_run_failed(run, f"the process of this run (pid {pid} on {host}) ended without "
                                            f"finishing it: marked failed by the next billing command")
            failed.append(run.run_id)
            progress(f"run {run.run_id} of {run.job_name} (pid {pid}) had died: marked failed, its slots freed")
        storage = instance.event_log_storage
        for run_id in storage.get_concurrency_run_ids():
            record = instance.get_run_record_by_id(run_id)
            if record is None or record.dagster_run.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
    return failed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:  # a killed process its parent has not reaped yet is a zombie: dead all the same
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _holders(instance: dg.DagsterInstance, pool: str) -> list[dg.DagsterRun]:
    """The runs that hold every slot of the pool, or [] when a slot is free."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    limit = info.limit if info.limit is not None else info.slot_count
    if not info.claimed_slots or len(info.claimed_slots) < limit:
        return []
    return [run for run_id in sorted(info.active_run_ids) if (run := instance.get_run_by_id(run_id))]


def _describe(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    record = instance.get_run_record_by_id(run.run_id)
    since = datetime.fromtimestamp(record.start_time or record.create_timestamp.timestamp(), timezone.utc)
    owner = (f"pid {run.tags[PID_TAG]} on {run.tags[HOST_TAG]}" if PID_TAG in run.tags
             else "launched by the Dagster daemon")
    return f"run {run.run_id} of {run.job_name} ({owner}) since {since:%Y-%m-%d %H:%M:%S} UTC"


def _how_to_stop(run: dg.DagsterRun) -> str:
    if PID_TAG in run.tags:
        return (f"stop it with 'kill {run.tags[PID_TAG]}' on {run.tags[HOST_TAG]} (the next command marks it failed "
                f"and frees its slot)")
    return "terminate it in the Dagster UI"


def wait_for_pools(instance: dg.DagsterInstance, pools: set[str], progress=lambda message: None) -> None:
    """Wait while live runs hold every slot of a pool the next run needs, saying which run and since when;
    give up with an error after BILLING_POOL_WAIT_SECONDS."""
    bound = _pool_wait_seconds()
    started, last_said = time.monotonic(), None
    for pool in sorted(pools):
        while holders := _holders(instance, pool):
            waited = time.monotonic() - started
            held_by = "; ".join(_describe(instance, run) for run in holders)
            if waited >= bound:
                raise BillingError(f"the {pool} pool is still held by {held_by}, after waiting {waited:.0f} s: let it "
                                   f"finish and rerun, or {_how_to_stop(holders[0])}")
            if last_said is None or time.monotonic() - last_said >= POOL_PROGRESS_SECONDS:
                progress(f"waiting for the {pool} pool, held by {held_by}; giving up after {bound} s "
                         f"(BILLING_POOL_WAIT_SECONDS); Ctrl-C stops waiting, and the close can be rerun at any time")
                last_said = time.monotonic()
            time.sleep(POOL_POLL_SECONDS)
            recover_dead_runs(instance, progress)  # the holder may die while we wait


def _pool_wait_seconds() -> int:
    value = os.environ.get("BILLING_POOL_WAIT_SECONDS") or str(DEFAULT_POOL_WAIT_SECONDS)
    if not value.isdigit():
        raise BillingError(f"BILLING_POOL_WAIT_SECONDS must be a whole number of seconds, got {value!r}")
    return int(value)


def _definitions() -> dg.Definitions:
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    from billing_jobs.definitions import defs

    return defs


# The CLI prints its own progress; Dagster's event log stays in the instance for the UI.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
# The UI says "Manually launched" of any run it did not start; this tag says the CLI started it.
CLI_TAGS = {"billing/launched_by": "cli"}


def _run(instance: dg.DagsterInstance, job_name: str, run_config: dict | None = None, tags: dict | None = None,
         progress=lambda message: None, **kwargs) -> dg.ExecuteInProcessResult:
    job = _definitions().resolve_job_def(job_name)
    wait_for_pools(instance, {node.definition.pool for node in job.graph.nodes} - {None}, progress)
    run_id = str(uuid.uuid4())
    instance.add_event_listener(run_id, _listener(instance, progress))
    # The pid and host let the next command tell a run whose process died from one still going.
    owner = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    result = job.execute_in_process(instance=instance, raise_on_error=False, run_config={**QUIET, **(run_config or {})},
                                    run_id=run_id, tags={**CLI_TAGS, **(tags or {}), **owner}, **kwargs)
    if not result.success:
        raise BillingError(f"{job_name} run {result.run_id} failed: {_failure(result)}")
    return result


def _listener(instance: dg.DagsterInstance, progress):
    def on_event(entry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        if event.event_type == dg.DagsterEventType.STEP_START:
            crash_point(event.step_key)
        elif event.event_type == dg.DagsterEventType.ENGINE_EVENT:
            blocked_on = (getattr(event.event_specific_data, "metadata", None) or {}).get("pool")  # "Step blocked"
            if blocked_on is None:
                return
            pool = blocked_on.value
            held_by = "; ".join(_describe(instance, run) for run in _holders(instance, pool)) or "another run"
            progress(f"{event.step_key} waits for the {pool} pool, held by {held_by}")
    return on_event


def _failure(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error:
            return step_error(event.step_failure_data.error)
    return "see the run in the Dagster UI"


def validate_period(period: str, today: date) -> None:
    year, month = parse_period(period)
    if (year, month) > (today.year, today.month):
        raise BillingError(f"month {period} has not begun yet")
    if period < FIRST_DAY[:7]:
        raise BillingError(f"month {period} is before the first billed month {FIRST_DAY[:7]}")


def ingest(settings: Settings, instance: dg.DagsterInstance, progress=lambda message: None) -> dict:
    """Ingest every day folder that changed since it was last ingested, in one run; return its counts."""
    if not Ledger(settings.ledger_url).tenants():
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
                  run_config={"ops": {"usage_events": {"config": {"only_changed": True}}}}, progress=progress)
    # Every partition of a single-run range carries the same metadata: the run's counts.
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    counts = {name: value.value for name, value in metadata.items() if isinstance(value.value, int)}
    return {"run_id": result.run_id, **counts, "warnings": strays}


def close_month(settings: Settings, period: str, progress=lambda message: None) -> dict:
    """The month-end close: ingest what is new, then aggregate and report the month, as Dagster runs."""
    validate_period(period, settings.today())
    instance = local_instance(settings, progress)
    ingested = ingest(settings, instance, progress)
    progress(f"closing {period}")
    close = _run(instance, "month_end_close", partition_key=period, progress=progress)
    payments = {name.removeprefix("payments "): value.value
                for event in close.get_asset_materialization_events()
                if event.asset_key == dg.AssetKey("invoice_payments")
                for name, value in event.materialization.metadata.items() if name.startswith("payments ")}
    progress(f"evaluating the alerts of {period}")
    alerts = _run(instance, "evaluate_alerts", partition_key=period, progress=progress)
    alert_metadata = alerts.get_asset_materialization_events()[0].materialization.metadata
    deliveries = {name.removeprefix("deliveries "): value.value for name, value in alert_metadata.items()
                  if name.startswith("deliveries ")}
    deliveries["undelivered"] = alert_metadata["undelivered"].value  # in the outbox after a failure, any month
    if deliveries["undelivered"]:
        progress(f"warning: {deliveries['undelivered']} alert deliveries are failing:\n"
                 f"{alert_metadata['undelivered why'].value}")
    return {"period": period, "ingest": ingested, "close_run_id": close.run_id, "payments": payments,
            "alerts_fired": alert_metadata["alerts_fired"].value, "alert_deliveries": deliveries,
            "reports": str(settings.reports_dir / period),
            "close_pack": str(settings.reports_dir / period / "close_pack.xlsx"),
            "close_summary": str(settings.reports_dir / period / "close_summary.pdf"),
            "dagster_home": str(settings.dagster_home)}
