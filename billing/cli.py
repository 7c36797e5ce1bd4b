"""`billing`: the command line. JSON on stdout with --json; one line on stderr and exit 1 on bad input."""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from datetime import date, datetime, timezone
from pathlib import Path

from billing import doctor
from billing.alerts import AlertBook
from billing.documents import invoice_document
from billing.figures import month_breakdown, month_usage
from billing.finance import FinanceBook, aging_by_bucket, pack_listing
from billing.invoices import InvoiceBook
from billing.payments import Payments
from billing.directory import CHANNELS, Budget, load_directory, parse_period
from billing.ledger import Ledger
from billing.metering import USAGE_FIELDS
from billing.money import dumps, to_decimal
from billing.object_store import open_object_store
from billing.price_book import load_price_book
from billing.settings import BillingError, Settings
from billing.warehouse_reader import WarehouseReader


def _progress(message: str) -> None:
    """A progress line for people at a terminal; stderr stays a single error line for scripts."""
    if sys.stderr.isatty():
        print(f"… {message}", file=sys.stderr, flush=True)


def cmd_tenants_import(args, settings: Settings) -> dict:
    tenants = load_directory(Path(args.file))
    summary = Ledger(settings.ledger_url).import_directory(tenants, settings.today())
    return {"file": args.file, "tenants": len(tenants), **summary}


def cmd_usage(args, settings: Settings) -> dict:
    parse_period(args.month)
    return month_usage(WarehouseReader(settings), Ledger(settings.ledger_url).tenant(args.tenant), args.month,
                       load_price_book(settings.price_book))


def _invoice_book(settings: Settings) -> InvoiceBook:
    ledger = Ledger(settings.ledger_url)
    ledger.migrate()
    return InvoiceBook(ledger, settings.invoice_grace_days)


def _pdf_url(settings: Settings, invoice) -> str | None:
    if not invoice.pdf_key:
        return None
    return open_object_store(settings.object_store, settings.aws_endpoint_url, settings.presign_seconds).url(invoice.pdf_key)


def cmd_breakdown(args, settings: Settings) -> dict:
    """The invoice's breakdown; before the month is invoiced, an estimate from usage so far."""
    parse_period(args.month)
    tenant = Ledger(settings.ledger_url).tenant(args.tenant)
    invoice = _invoice_book(settings).of_tenant_period(tenant.tenant_id, args.month)
    return month_breakdown(WarehouseReader(settings), tenant, args.month, invoice, load_price_book(settings.price_book))


def cmd_invoices(args, settings: Settings) -> list | dict:
    if args.action == "mark-paid":
        return cmd_mark_paid(args, settings)
    if not args.tenant:
        raise BillingError("--tenant is required to list invoices")
    tenant = Ledger(settings.ledger_url).tenant(args.tenant)
    return [invoice_document(i, _pdf_url(settings, i)) for i in _invoice_book(settings).of_tenant(tenant.tenant_id)]


def cmd_mark_paid(args, settings: Settings) -> dict:
    """A received transfer for an invoice or wire invoice."""
    book = _invoice_book(settings)
    invoice = book.get(args.invoice_id)
    if invoice is None:
        raise BillingError(f"unknown invoice {args.invoice_id!r}")
    if invoice.status == "paid":
        raise BillingError(f"invoice {invoice.invoice_number} is already paid")
    actor = args.actor or os.environ.get("USER") or "operator"
    Payments(book, None).mark_paid(invoice, args.reference, actor, settings.now())
    return invoice_document(book.get(invoice.invoice_id), _pdf_url(settings, invoice))


def cmd_payment_method_set(args, settings: Settings) -> dict:
    if args.type in ("card", "ach") and not args.stripe_payment_method:
        raise BillingError(f"--stripe-payment-method is required for {args.type}")
    tenant = Ledger(settings.ledger_url).set_payment_method(args.tenant, args.type, args.stripe_payment_method)
    return {"tenant_id": tenant.tenant_id, "type": tenant.payment_method_type,
            "stripe_payment_method": tenant.stripe_payment_method}


def cmd_invoice_show(args, settings: Settings) -> dict:
    invoice = _invoice_book(settings).get(args.invoice_id)
    if invoice is None:
        raise BillingError(f"unknown invoice {args.invoice_id!r}")
    return invoice_document(invoice, _pdf_url(settings, invoice))


def cmd_alerts(args, settings: Settings) -> dict:
    """A tenant's in-app notifications (and the delivery state of every channel); --read marks one read."""
    ledger = Ledger(settings.ledger_url)
    ledger.migrate()
    tenant = ledger.tenant(args.tenant)
    book = AlertBook(ledger)
    if args.read and not any(n["notification_id"] == args.read for n in book.notifications(tenant.tenant_id)):
        raise BillingError(f"unknown notification {args.read!r} for tenant {tenant.tenant_id!r}")
    if args.read:
        book.mark_read(args.read, settings.now())
    return {"tenant_id": tenant.tenant_id, "notifications": book.notifications(tenant.tenant_id),
            "deliveries": book.deliveries(tenant.tenant_id)}


def cmd_budgets_set(args, settings: Settings) -> dict:
    channels = tuple(dict.fromkeys(c.strip() for c in args.channels.split(",") if c.strip()))
    if not channels or any(c not in CHANNELS for c in channels):
        raise BillingError(f"--channels must list {', '.join(CHANNELS)}, got {args.channels!r}")
    amounts = []
    for amount in args.amount:
        try:
            amounts.append(to_decimal(amount, "--amount"))
        except ValueError as error:
            raise BillingError(str(error)) from None
    if any(amount <= 0 for amount in amounts):
        raise BillingError("--amount must be above 0")
    ledger = Ledger(settings.ledger_url)
    ledger.set_budgets(args.tenant, [Budget(amount, channels) for amount in amounts])
    return {"tenant_id": args.tenant, "budgets": [{"amount_usd": a, "channels": list(channels)} for a in amounts]}


def cmd_serve(args, settings: Settings) -> None:
    """The Billing Service (billing/service) on uvicorn; the ledger is migrated once, before any worker starts."""
    import uvicorn

    Ledger(settings.ledger_url).migrate()
    # A worker answers the supervisor's health check once it has loaded the app: allow for a busy machine.
    uvicorn.run("billing.service.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips, timeout_worker_healthcheck=60)


def cmd_token(args, settings: Settings) -> dict:
    """A short-lived bearer token signed with the service's embedded key."""
    from billing.service.identity import IdentityConfig, directory_roles, mint_token

    if args.user:
        ledger = Ledger(settings.ledger_url)
        ledger.migrate()
        if not directory_roles(ledger, args.user):
            raise BillingError(f"no user {args.user!r} in the tenant directory")
    token, expires = mint_token(IdentityConfig.from_env(settings), args.user or args.platform_admin,
                                platform_admin=bool(args.platform_admin), minutes=args.minutes)
    return {"token": token, "expires_at": datetime.fromtimestamp(expires, timezone.utc)}


def cmd_reports(args, settings: Settings) -> dict:
    """The month's close pack: its files and their totals (`reports ar-aging`: AR aging on any date)."""
    if args.action == "ar-aging":
        return cmd_ar_aging(args, settings)
    parse_period(args.month)
    folder = settings.reports_dir / args.month
    return {"month": args.month, "folder": str(folder), "files": pack_listing(folder, args.month)}


def cmd_ar_aging(args, settings: Settings) -> dict:
    try:
        as_of = date.fromisoformat(args.as_of)
    except ValueError:
        raise BillingError(f"bad --as-of {args.as_of!r}: expected YYYY-MM-DD") from None
    ledger = Ledger(settings.ledger_url)
    tenants = {tenant.tenant_id: tenant for tenant in ledger.tenants()}
    aging = FinanceBook(_invoice_book(settings)).ar_aging(as_of, tenants)
    return {"as_of": as_of, "outstanding": aging.sum("balance"), "buckets": aging_by_bucket(aging),
            "invoices": aging.rows}


def cmd_login_link(args, settings: Settings) -> dict:
    """A one-time sign-in link to the Billing page (billing/service/page_session.py)."""
    from billing.service.page_session import LINK_MINUTES, login_link

    ledger = Ledger(settings.ledger_url)
    ledger.migrate()
    url = login_link(ledger, settings, args.base_url, args.user or args.platform_admin, bool(args.platform_admin))
    return {"url": url, "expires_in_minutes": LINK_MINUTES}


def cmd_close(args, settings: Settings) -> dict:
    from billing_jobs.runner import close_month  # Dagster loads only for the commands that run it

    return close_month(settings, args.month, _progress)


def cmd_demo(args, settings: Settings) -> dict:
    from billing.sample import generate_sample
    from billing_jobs.runner import close_month, validate_period

    validate_period(args.month, settings.today())
    directory = settings.home / "sample" / "directory.yaml"
    _progress(f"generating a sample month {args.month} for {args.tenants} tenants in {settings.snapshot_root}")
    sample = generate_sample(args.month, Path(settings.snapshot_root), directory, load_price_book(settings.price_book),
                             tenants=args.tenants)
    _progress(f"importing the tenant directory {directory}")
    imported = Ledger(settings.ledger_url).import_directory(load_directory(directory), settings.today())
    closed = close_month(settings, args.month, _progress)
    from billing.service.page_session import demo_sign_in

    page = demo_sign_in(Ledger(settings.ledger_url), settings, os.environ.get("BILLING_PAGE_URL") or "http://127.0.0.1:8080")
    return {"sample": sample, "directory": str(directory), "import": imported, **closed, **page}


def _previous_period(today) -> str:
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


def _invoice_rows(documents: list) -> str:
    lines = [f"{'invoice':<12}{'period':<9}{'amount':>14}  {'status':<9}{'due':<12}pdf"]
    lines += [f"{d['invoice_number']:<12}{d['period']:<9}{d['total']:>14,.2f}  {d['status']:<9}{d['due_date']!s:<12}"
              f"{d['pdf_url'] or '-'}" for d in documents]
    return "\n".join(lines)


def _pack_rows(document: dict) -> str:
    lines = [f"close pack {document['month']} in {document['folder']}"]
    for entry in document["files"]:
        figures = entry.get("totals") or {}
        shown = ", ".join(f"{name} {value}" for name, value in figures.items()) or (
            f"{entry['bytes']:,} bytes" if entry.get("bytes") else "")
        lines.append(f"  {entry['file']:<24}{shown if entry['exists'] else 'missing'}")
    return "\n".join(lines)


def _aging_rows(document: dict) -> str:
    lines = [f"AR aging as of {document['as_of']}: outstanding {document['outstanding']:,.2f}"]
    lines += [f"  {bucket:<10}{amount:>14,.2f}" for bucket, amount in document["buckets"].items()]
    lines += [f"  {row['invoice_number']:<12}{row['tenant_id']:<20}due {row['due_date']}{row['balance']:>14,.2f}"
              f"{row['days_past_due']:>6} days  {row['bucket']}" for row in document["invoices"]]
    return "\n".join(lines)


def _render(command: str, document) -> str:
    if command == "reports":
        return _pack_rows(document) if "files" in document else _aging_rows(document)
    if command == "usage":
        return _table(document)
    if command == "token":
        return document["token"]
    if command == "login-link":
        return document["url"]
    if command == "invoices" and isinstance(document, list):
        return _invoice_rows(document)
    if command == "doctor":
        return doctor.render(document)
    if command == "invoice":
        lines = [f"  {line['description']:<70}{line['amount']:>12,.2f}" for line in document["lines"]]
        return "\n".join([_invoice_rows([document]), *lines,
                          f"  {'subtotal':<70}{document['subtotal']:>12,.2f}",
                          f"  {'tax':<70}{document['tax']:>12,.2f}", f"  {'total':<70}{document['total']:>12,.2f}"])
    return "\n".join(f"{key}: {value}" for key, value in document.items())


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="billing", description="Usage-based billing: metering, close, reports.")
    commands = root.add_subparsers(dest="command", required=True)

    tenants = commands.add_parser("tenants", help="the tenant directory").add_subparsers(dest="action", required=True)
    importing = tenants.add_parser("import", help="import or re-import a directory YAML file")
    importing.add_argument("file")
    importing.set_defaults(handler=cmd_tenants_import)

    of_month = []
    for name, handler, description in (
        ("usage", cmd_usage, "UsageMetrics of a tenant and month (month to date for this month)"),
        ("breakdown", cmd_breakdown, "CostBreakdown of a tenant's month (an estimate before invoicing)"),
    ):
        command = commands.add_parser(name, help=description)
        command.add_argument("--tenant", required=True)
        command.add_argument("--month", required=True, help="YYYY-MM")
        command.set_defaults(handler=handler)
        of_month.append(command)

    invoices = commands.add_parser("invoices", help="a tenant's invoice history (or: invoices mark-paid ID)")
    invoices.add_argument("--tenant")
    invoices.set_defaults(handler=cmd_invoices, action=None)
    invoice_actions = invoices.add_subparsers(dest="action")
    mark_paid = invoice_actions.add_parser("mark-paid", help="record a received transfer (invoice, wire)")
    mark_paid.add_argument("invoice_id")
    mark_paid.add_argument("--reference", required=True, help="the bank's reference of the transfer")
    mark_paid.add_argument("--actor", help="who records it (default: $USER)")
    mark_paid.set_defaults(handler=cmd_invoices)

    payment_method = commands.add_parser("payment-method", help="payment methods").add_subparsers(dest="action", required=True)
    method_set = payment_method.add_parser("set", help="replace a tenant's payment method")
    method_set.add_argument("--tenant", required=True)
    method_set.add_argument("--type", required=True, choices=["card", "ach", "invoice", "wire"])
    method_set.add_argument("--stripe-payment-method", help="pm_... for card and ach")
    method_set.set_defaults(handler=cmd_payment_method_set)

    invoice = commands.add_parser("invoice", help="one invoice").add_subparsers(dest="action", required=True)
    show = invoice.add_parser("show", help="an invoice by id or number, with its lines")
    show.add_argument("invoice_id")
    show.set_defaults(handler=cmd_invoice_show)

    alerts = commands.add_parser("alerts", help="a tenant's alert notifications and deliveries")
    alerts.add_argument("--tenant", required=True)
    alerts.add_argument("--read", metavar="NOTIFICATION_ID", help="mark an in-app notification read")
    alerts.set_defaults(handler=cmd_alerts)

    budgets = commands.add_parser("budgets", help="custom budget alerts").add_subparsers(dest="action", required=True)
    budgets_set = budgets.add_parser("set", help="replace a tenant's budgets")
    budgets_set.add_argument("--tenant", required=True)
    budgets_set.add_argument("--amount", required=True, action="append", help="USD; repeat for several budgets")
    budgets_set.add_argument("--channels", default="email,in_app", help="email, in_app, sms (comma-separated)")
    budgets_set.set_defaults(handler=cmd_budgets_set)

    reports = commands.add_parser("reports", help="the finance close pack of a month (or: reports ar-aging)")
    reports.add_argument("--month", default=None, help="YYYY-MM (default: last month)")
    reports.set_defaults(handler=cmd_reports, action=None)
    aging = reports.add_subparsers(dest="action").add_parser("ar-aging", help="AR aging on any date")
    aging.add_argument("--as-of", required=True, help="YYYY-MM-DD")
    aging.set_defaults(handler=cmd_reports)

    close = commands.add_parser("close", help="run the month-end close through Dagster")
    close.add_argument("--month", required=True, help="YYYY-MM")
    close.set_defaults(handler=cmd_close)

    serve = commands.add_parser("serve", help="the Billing Service API (the Billing page's back end)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, help="processes (behind a reverse proxy: one per core)")
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                       help="proxies whose X-Forwarded-* headers are trusted")
    serve.set_defaults(handler=cmd_serve)

    token = commands.add_parser("token", help="a short-lived bearer token for the Billing Service (embedded key)")
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", metavar="USER_ID", help="a directory user")
    who.add_argument("--platform-admin", metavar="NAME", help="a platform administrator")
    token.add_argument("--minutes", type=int, default=15, help="lifetime (default 15)")
    token.set_defaults(handler=cmd_token)

    check = commands.add_parser("doctor", help="check every configured part before the first close")
    check.set_defaults(handler=doctor.command)

    login_link = commands.add_parser("login-link", help="a one-time sign-in link to the Billing page at /billing")
    someone = login_link.add_mutually_exclusive_group(required=True)
    someone.add_argument("--user", metavar="USER_ID", help="a directory user")
    someone.add_argument("--platform-admin", metavar="NAME", help="a platform administrator")
    login_link.add_argument("--base-url", default=os.environ.get("BILLING_PAGE_URL") or "http://127.0.0.1:8080",
                            help="where `billing serve` is reached (default $BILLING_PAGE_URL or http://127.0.0.1:8080)")
    login_link.set_defaults(handler=cmd_login_link)

    demo = commands.add_parser("demo", help="generate a sample month and close it")
    demo.add_argument("--month", default=None, help="YYYY-MM (default: last month)")
    demo.add_argument("--tenants", type=int, default=60)
    demo.set_defaults(handler=cmd_demo)

    for sub in (importing, *of_month, invoices, mark_paid, show, method_set, alerts, budgets_set, reports, aging, close,
                check, demo, token, login_link):
        sub.add_argument("--json", action="store_true", help="print JSON on stdout")
    return root


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")  # library warnings are for developers, not in a user's terminal
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if getattr(args, "month", "") is None:
            args.month = _previous_period(settings.today())
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
    if document is not None:  # `serve` prints nothing when it stops
        print(dumps(document) if getattr(args, "json", False) else _render(args.command, document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
