"""`billing`: the command line. JSON on stdout with --json; one line on stderr and exit 1 on bad input."""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path

from billing.aggregate import live_monthly_totals
from billing.directory import load_directory, parse_period
from billing.ledger import Ledger
from billing.metering import USAGE_FIELDS, usage_metrics
from billing.money import dumps
from billing.price_book import load_price_book
from billing.settings import BillingError, Settings
from billing.warehouse import Warehouse


def _progress(message: str) -> None:
    """A progress line for people at a terminal; stderr stays a single error line for scripts."""
    if sys.stderr.isatty():
        print(f"… {message}", file=sys.stderr, flush=True)


def _current_period() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m")


def cmd_tenants_import(args, settings: Settings) -> dict:
    tenants = load_directory(Path(args.file))
    summary = Ledger(settings.ledger_url).import_directory(tenants)
    return {"file": args.file, "tenants": len(tenants), **summary}


def cmd_usage(args, settings: Settings) -> dict:
    parse_period(args.month)
    tenant = Ledger(settings.ledger_url).tenant(args.tenant)
    con = Warehouse(settings.warehouse_dir).connect()
    totals = live_monthly_totals(con, args.month, tenant.tenant_id).get(tenant.tenant_id, {})
    return usage_metrics(tenant, args.month, totals, load_price_book(settings.price_book),
                         month_to_date=args.month == _current_period())


def cmd_close(args, settings: Settings) -> dict:
    from billing_jobs.runner import close_month  # Dagster loads only for the commands that run it

    return close_month(settings, args.month, _progress)


def cmd_demo(args, settings: Settings) -> dict:
    from billing.sample import generate_sample
    from billing_jobs.runner import close_month, validate_period

    validate_period(args.month)
    directory = settings.home / "sample" / "directory.yaml"
    _progress(f"generating a sample month {args.month} for {args.tenants} tenants in {settings.snapshot_root}")
    sample = generate_sample(args.month, Path(settings.snapshot_root), directory, load_price_book(settings.price_book),
                             tenants=args.tenants)
    _progress(f"importing the tenant directory {directory}")
    imported = Ledger(settings.ledger_url).import_directory(load_directory(directory))
    closed = close_month(settings, args.month, _progress)
    return {"sample": sample, "directory": str(directory), "import": imported, **closed}


def _previous_period() -> str:
    today = datetime.now(timezone.utc).date()
    return f"{today.year - 1}-12" if today.month == 1 else f"{today.year}-{today.month - 1:02d}"


def _table(document: dict) -> str:
    lines = [f"{document['tenant_id']} {document['period']} on {document['plan']}"
             + (" (month to date)" if document.get("month_to_date") else "")]
    lines.append(f"  {'metric':<14}{'used':>16}{'limit':>16}{'%':>10}")
    for field in USAGE_FIELDS:
        entry = document[field]
        limit = "unlimited" if entry["limit"] is None else f"{entry['limit']:,f}"
        pct = "" if entry["percentage"] is None else f"{entry['percentage']:.2f}"
        lines.append(f"  {field:<14}{entry['used']:>16,f}{limit:>16}{pct:>10}")
    return "\n".join(lines)


def _render(command: str, document: dict) -> str:
    if command == "usage":
        return _table(document)
    return "\n".join(f"{key}: {value}" for key, value in document.items())


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="billing", description="Usage-based billing: metering, close, reports.")
    commands = root.add_subparsers(dest="command", required=True)

    tenants = commands.add_parser("tenants", help="the tenant directory").add_subparsers(dest="action", required=True)
    importing = tenants.add_parser("import", help="import or re-import a directory YAML file")
    importing.add_argument("file")
    importing.set_defaults(handler=cmd_tenants_import)

    usage = commands.add_parser("usage", help="UsageMetrics of a tenant and month (month to date for this month)")
    usage.add_argument("--tenant", required=True)
    usage.add_argument("--month", required=True, help="YYYY-MM")
    usage.set_defaults(handler=cmd_usage)

    close = commands.add_parser("close", help="run the month-end close through Dagster")
    close.add_argument("--month", required=True, help="YYYY-MM")
    close.set_defaults(handler=cmd_close)

    demo = commands.add_parser("demo", help="generate a sample month and close it")
    demo.add_argument("--month", default=None, help="YYYY-MM (default: last month)")
    demo.add_argument("--tenants", type=int, default=60)
    demo.set_defaults(handler=cmd_demo)

    for sub in (importing, usage, close, demo):
        sub.add_argument("--json", action="store_true", help="print JSON on stdout")
    return root


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")  # library warnings are for developers, not in a user's terminal
    args = parser().parse_args(argv)
    if getattr(args, "month", "") is None:
        args.month = _previous_period()
    settings = Settings.from_env()
    try:
        document = args.handler(args, settings)
    except BillingError as error:
        print(f"billing: error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - a user never sees a traceback; BILLING_DEBUG=1 shows it
        if os.environ.get("BILLING_DEBUG"):
            raise
        print(f"billing: internal error: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
              " (set BILLING_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    print(dumps(document) if args.json else _render(args.command, document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
