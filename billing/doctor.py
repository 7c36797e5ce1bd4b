"""`billing doctor`: a preflight of every configured part, one line each, with what to do when it fails.

Run it with the services' environment before the first close (README, "Production"). It changes nothing but
one probe object in the object store and one probe file under BILLING_HOME, each overwritten by the next run.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import asdict, dataclass
from typing import Callable

import sqlalchemy as sa

from billing.ledger import MIGRATIONS, Ledger
from billing.money import dumps
from billing.object_store import open_object_store
from billing.settings import BillingError, Settings
from billing.snapshots import SnapshotRoot
from billing.sql import query

PROBE = "doctor/probe.txt"


@dataclass(frozen=True)
class Check:
    part: str
    status: str  # ok, warn (works, but not as production would want), fail
    found: str
    fix: str = ""

    def line(self) -> str:
        return f"{self.status:<5}{self.part:<18}{self.found}" + (f"\n{'':<23}→ {self.fix}" if self.fix else "")


class Failed(Exception):
    """A check that failed, with what to do."""

    def __init__(self, found: str, fix: str):
        super().__init__(found)
        self.found, self.fix = found, fix


def _first_line(error: Exception) -> str:
    while error.__cause__ is not None:  # the database's or the server's words, not a wrapper's
        error = error.__cause__
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def ledger(settings: Settings) -> Check:
    try:
        book = Ledger(settings.ledger_url)
    except BillingError as error:
        raise Failed(str(error), "set BILLING_LEDGER_URL to postgresql+psycopg2://user:password@host:5432/database") \
            from None
    url = book.engine.url.render_as_string(hide_password=True)
    try:
        with book.engine.connect() as con:
            has_table = sa.inspect(con).has_table("schema_migrations")
            applied = {row.version for row in con.execute(sa.text(query("ledger/schema_migrations_applied")))} \
                if has_table else set()
    except sa.exc.SQLAlchemyError as error:
        raise Failed(f"{url}: {_first_line(error)}",
                     "create the database and its user, and check BILLING_LEDGER_URL "
                     "(postgresql+psycopg2://user:password@host:5432/database)") from None
    missing = sorted(path.stem for path in MIGRATIONS.glob("*.sql") if path.stem not in applied)
    if missing:
        raise Failed(f"{url}: reachable, {len(missing)} migrations not applied ({', '.join(missing)})",
                     "any billing command migrates it: 'billing tenants import DIRECTORY.yaml', or start billing-api")
    tenants = len(book.tenants())
    if not tenants:
        return Check("ledger", "warn", f"{url}: migrated, no tenants", "'billing tenants import DIRECTORY.yaml'")
    return Check("ledger", "ok", f"{url}: migrated, {tenants} tenants")


def dagster(settings: Settings) -> Check:
    import dagster as dg

    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        return Check("dagster database", "warn", f"no {config}: the first close creates an embedded SQLite instance",
                     f"in production: cp deploy/dagster.yaml {config} (PostgreSQL, DAGSTER_PG_*)")
    try:
        with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
            instance.get_runs(limit=1)
            instance.get_latest_materialization_event(dg.AssetKey("usage_events"))
            storage = type(instance.run_storage).__name__.removesuffix("RunStorage")
            queued = type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    except Exception as error:  # config, connection and schema errors all end here, in Dagster's words
        raise Failed(f"{config}: {_first_line(error)}",
                     "check DAGSTER_PG_* and that the database exists; after a Dagster upgrade: "
                     "'dagster instance migrate'") from None
    if not queued:
        return Check("dagster database", "warn", f"{storage} storage, runs not queued",
                     "use deploy/dagster.yaml: a run queue, run monitoring and retries")
    return Check("dagster database", "ok", f"{storage} storage at {settings.dagster_home}, run queue on")


def local_disk(settings: Settings) -> Check:
    """The warehouse and reports are local files whatever the object store: BILLING_HOME must be writable."""
    for folder in (settings.warehouse_dir, settings.reports_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / ".doctor-probe"
            probe.write_text("billing doctor\n")
            probe.unlink()
        except OSError as error:
            raise Failed(f"{folder}: {error.strerror or error}",
                         f"give the billing user write access to {settings.home} (BILLING_HOME)") from None
    return Check("billing home", "ok", f"{settings.warehouse_dir} and {settings.reports_dir} writable")


def snapshot_root(settings: Settings) -> Check:
    try:
        days = SnapshotRoot(settings.snapshot_root, settings.aws_endpoint_url).days()
    except BillingError as error:
        raise Failed(str(error), "create it, or point BILLING_SNAPSHOT_ROOT at the exporter's folder or s3:// prefix") \
            from None
    except Exception as error:  # s3fs: credentials, permissions, a missing bucket
        raise Failed(f"{settings.snapshot_root}: {_first_line(error)}",
                     "give the billing services s3:ListBucket and s3:GetObject on it (AWS_* settings)") from None
    if not days:
        return Check("snapshot root", "warn", f"{settings.snapshot_root}: readable, no dt=YYYY-MM-DD folders yet")
    return Check("snapshot root", "ok", f"{settings.snapshot_root}: readable, {len(days)} days, {days[0]} to {days[-1]}")


def object_store(settings: Settings) -> Check:
    store = open_object_store(settings.object_store, settings.aws_endpoint_url, settings.presign_seconds)
    token = uuid.uuid4().hex.encode()
    try:
        store.put(PROBE, token, "text/plain")
        readable = store.get(PROBE) == token
    except Exception as error:  # S3 and folder errors alike
        raise Failed(f"{settings.object_store}: {_first_line(error)}",
                     "create the bucket or folder (BILLING_OBJECT_STORE) and allow s3:PutObject and s3:GetObject") \
            from None
    if not readable:
        raise Failed(f"{settings.object_store}: what was written reads back differently", "check the store")
    return Check("object store", "ok", f"{settings.object_store}: writable and readable")


def ses(settings: Settings) -> Check:
    if settings.alert_transport != "aws":
        return Check("ses (email)", "warn", f"BILLING_ALERT_TRANSPORT={settings.alert_transport}: emails are files "
                     f"in {settings.home / 'outbox'}, none is sent", "BILLING_ALERT_TRANSPORT=aws to send through SES")
    import boto3

    sender = settings.alert_sender
    domain = sender.rpartition("@")[2]
    try:
        attributes = boto3.client("ses", endpoint_url=settings.aws_endpoint_url).get_identity_verification_attributes(
            Identities=[sender, domain])["VerificationAttributes"]
    except Exception as error:
        raise Failed(f"SES: {_first_line(error)}", "give the billing services ses:SendEmail and "
                     "ses:GetIdentityVerificationAttributes (AWS_* settings, AWS_DEFAULT_REGION)") from None
    verified = [identity for identity in (sender, domain)
                if attributes.get(identity, {}).get("VerificationStatus") == "Success"]
    if not verified:
        raise Failed(f"sender {sender} is not verified in SES: every alert email would be rejected",
                     f"verify {sender} or {domain} in SES (aws ses verify-email-identity --email-address {sender}), "
                     "or set BILLING_ALERT_SENDER to a verified address")
    return Check("ses (email)", "ok", f"sender {sender} verified ({verified[0]})")


def sns(settings: Settings) -> Check:
    if settings.alert_transport != "aws":
        return Check("sns (sms)", "warn", "SMS are files, none is sent", "BILLING_ALERT_TRANSPORT=aws to send through SNS")
    import boto3

    try:
        boto3.client("sns", endpoint_url=settings.aws_endpoint_url).get_sms_attributes()
    except Exception as error:
        raise Failed(f"SNS: {_first_line(error)}", "give the billing services sns:Publish and sns:GetSMSAttributes "
                     "(AWS_* settings, AWS_DEFAULT_REGION)") from None
    return Check("sns (sms)", "ok", "SNS answers")


def stripe(settings: Settings) -> Check:
    from resources import StripeResource

    if "STRIPE_API_KEY" not in os.environ:
        return Check("stripe", "warn", "STRIPE_API_KEY is not set: Dagster runs fail to start without it",
                     "set it in the environment file, empty on purpose for no charges")
    client = StripeResource(api_key=os.environ["STRIPE_API_KEY"], api_base=os.environ.get("STRIPE_API_BASE", "")).client()
    if client is None:
        return Check("stripe", "warn", "STRIPE_API_KEY is empty: no card or ACH charges",
                     "set STRIPE_API_KEY to the secret key (sk_live_...) to charge")
    try:
        client.v1.customers.list(params={"limit": 1})
    except Exception as error:  # stripe.AuthenticationError and network errors
        raise Failed(f"Stripe: {_first_line(error)}",
                     "set STRIPE_API_KEY to a secret key of the account (Dashboard, Developers, API keys); "
                     "STRIPE_API_BASE empty for Stripe itself") from None
    mode = "live" if os.environ["STRIPE_API_KEY"].startswith("sk_live_") else "test"
    return Check("stripe", "ok", f"key accepted ({mode} mode)")


CHECKS: list[tuple[str, Callable[[Settings], Check]]] = [
    ("billing home", local_disk), ("ledger", ledger), ("dagster database", dagster), ("snapshot root", snapshot_root),
    ("object store", object_store), ("ses (email)", ses), ("sns (sms)", sns), ("stripe", stripe),
]


def diagnose(settings: Settings) -> list[Check]:
    checks = []
    for part, check in CHECKS:
        try:
            checks.append(check(settings))
        except Failed as failure:
            checks.append(Check(part, "fail", failure.found, failure.fix))
    return checks


def command(args, settings: Settings) -> list[dict]:
    """The CLI's `billing doctor`: every line printed; exit 1 when any part fails."""
    checks = diagnose(settings)
    failed = [check for check in checks if check.status == "fail"]
    if failed:
        print(render([asdict(check) for check in checks]) if not args.json else _json(checks), flush=True)
        raise BillingError(f"{len(failed)} of {len(checks)} parts failed: {', '.join(c.part for c in failed)}")
    return [asdict(check) for check in checks]


def _json(checks: list[Check]) -> str:
    return dumps([asdict(check) for check in checks])


def render(document: list[dict]) -> str:
    return "\n".join(Check(**check).line() for check in document)

