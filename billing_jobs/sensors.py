"""Sensors: ingest an intraday drop as soon as it lands in the snapshot root."""

from datetime import datetime, timedelta

import dagster as dg

from billing.ingest import RULES_VERSION
from billing.settings import BillingError
from billing.snapshots import fingerprint
from billing_jobs.partitions import FIRST_DAY
from resources import BillingStore

LOOKBACK_DAYS = 40  # late folders older than this are left to the operator


@dg.sensor(job_name="ingest_usage", minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def snapshot_drop_sensor(context: dg.SensorEvaluationContext, billing: BillingStore) -> dg.SensorResult:
    """Requests an ingestion of every recent day whose folder changed since it was last ingested.

    The run key is the day and its fingerprint (files, tenants, rules), so a drop is ingested once.
    """
    try:
        snapshots = billing.snapshots()
        days = snapshots.days()
        tenant_ids = [tenant.tenant_id for tenant in billing.ledger().tenants()]
    except BillingError as error:
        return dg.SensorResult(skip_reason=str(error))
    warehouse = billing.warehouse()
    today = billing.settings().today()
    oldest = max(today - timedelta(days=LOOKBACK_DAYS), datetime.fromisoformat(FIRST_DAY).date())
    requests = []
    for day in days:
        if not oldest <= day <= today:
            continue
        files = snapshots.files(day) or []
        day_fingerprint = fingerprint(files, tenant_ids, RULES_VERSION)
        if warehouse.partition_fingerprint("events", day.isoformat()) != day_fingerprint:
            requests.append(dg.RunRequest(partition_key=day.isoformat(), run_key=f"{day}:{day_fingerprint}"))
    return dg.SensorResult(run_requests=requests, skip_reason=None if requests else "no new snapshot files")
