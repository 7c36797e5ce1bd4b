"""The `billing` command end to end, as a user runs it: JSON on stdout, one-line errors, no tracebacks."""
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import NOW, event, tenant, write_directory, write_snapshot
from tests.test_metering import demo_pro, worked_example_rows

BILLING = str(Path(sys.executable).with_name("billing"))


def billing(*args, home: Path, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BILLING_", "DAGSTER_", "STRIPE_"))}
    environment.update(BILLING_HOME=str(home), BILLING_NOW=NOW, **env)
    return subprocess.run([BILLING, *args], capture_output=True, text=True, env=environment, timeout=600)


def ok(*args, home: Path, **env):
    result = billing(*args, "--json", home=home, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def fails(*args, home: Path, **env) -> str:
    result = billing(*args, home=home, **env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_import_close_and_usage_end_to_end(tmp_path):
    home = tmp_path / "home"
    directory = write_directory(tmp_path / "directory.yaml", [demo_pro(), tenant("acme")])
    assert ok("tenants", "import", str(directory), home=home)["tenants_added"] == 2
    assert ok("tenants", "import", str(directory), home=home)["tenants_unchanged"] == 2
    write_snapshot(home / "snapshots", "2026-11-30", worked_example_rows(), "jsonl")
    closed = ok("close", "--month", "2026-11", home=home)
    assert closed["period"] == "2026-11" and closed["close_run_id"]
    assert closed["payments"] == {"draft": 2}  # November is not final yet: drafts are never charged
    usage = ok("usage", "--tenant", "demo-pro", "--month", "2026-11", home=home)
    assert usage["llm_tokens"] == {"used": 5250000, "limit": 5000000, "percentage": 105.0}
    assert usage["queries"] == {"used": 100250, "limit": 100000, "percentage": 100.25}
    assert usage["storage_gb"] == {"used": 100.5, "limit": 100, "percentage": 100.5}
    assert usage["api_requests"] == {"used": 1000000, "limit": 1000000, "percentage": 100.0}
    report = json.loads((home / "reports" / "2026-11" / "usage_metrics.json").read_text())
    assert {r["tenant_id"] for r in report} == {"demo-pro", "acme"}
    # The close's runs are on the instance under BILLING_HOME, for the UI.
    assert (home / "dagster" / "dagster.yaml").exists() and any((home / "dagster").rglob("*.db"))
    people = billing("usage", "--tenant", "demo-pro", "--month", "2026-11", home=home).stdout
    assert "llm_tokens" in people and "5,250,000" in people and "105.00" in people


def test_month_to_date_usage(tmp_path):
    home = tmp_path / "home"
    ok("tenants", "import", str(write_directory(tmp_path / "d.yaml", [tenant("acme")])), home=home)
    now = datetime.fromisoformat(NOW)
    write_snapshot(home / "snapshots", now.date().isoformat(), [event("e1", now.isoformat(), quantity="42")])
    ok("close", "--month", now.strftime("%Y-%m"), home=home)
    usage = ok("usage", "--tenant", "acme", "--month", now.strftime("%Y-%m"), home=home)
    assert usage["month_to_date"] is True and usage["llm_tokens"]["used"] == 42


def test_user_errors_are_one_line(tmp_path):
    home = tmp_path / "home"
    bad = write_directory(tmp_path / "bad.yaml", [tenant("acme", plan="gold")])
    assert fails("tenants", "import", str(bad), home=home) == (
        "billing: error: tenant 'acme': plan: 'gold' is not one of starter, professional, enterprise")
    assert "cannot read directory" in fails("tenants", "import", str(tmp_path / "none.yaml"), home=home)
    ok("tenants", "import", str(write_directory(tmp_path / "d.yaml", [tenant("acme")])), home=home)
    assert fails("usage", "--tenant", "nope", "--month", "2026-10", home=home) == "billing: error: unknown tenant 'nope'"
    assert fails("usage", "--tenant", "acme", "--month", "2026-13", home=home) == (
        "billing: error: bad month '2026-13': expected YYYY-MM")
    assert fails("close", "--month", "October", home=home) == "billing: error: bad month 'October': expected YYYY-MM"
    assert fails("close", "--month", "2999-01", home=home) == "billing: error: month 2999-01 has not begun yet"
    assert fails("close", "--month", "2026-10", home=home, BILLING_SNAPSHOT_ROOT=str(tmp_path / "missing")) == (
        f"billing: error: snapshot root {tmp_path / 'missing'} does not exist (set BILLING_SNAPSHOT_ROOT)")
    write_snapshot(home / "snapshots", "2026-10-01", [event("e1", "2026-10-01T10:00:00Z")])
    (home / "snapshots" / "dt=2026-10-01" / "part-0001.parquet").write_text("garbage")
    message = fails("close", "--month", "2026-10", home=home)
    assert message.startswith("billing: error: ingest_usage run ") and "unreadable snapshot file" in message


def test_close_without_tenants_says_what_to_do(tmp_path):
    (tmp_path / "home" / "snapshots").mkdir(parents=True)
    assert fails("close", "--month", "2026-10", home=tmp_path / "home") == (
        "billing: error: the ledger has no tenants: run 'billing tenants import FILE' first")


@pytest.mark.parametrize("ledger", ["sqlite", "postgresql"])
def test_demo_closes_a_realistic_sample_month(tmp_path, ledger, request):
    env = {}
    if ledger == "postgresql":
        env["BILLING_LEDGER_URL"] = request.getfixturevalue("postgres_url")
    home = tmp_path / "home"
    result = ok("demo", "--month", "2026-10", home=home, **env)
    assert result["sample"]["tenants"] >= 50 and result["import"]["tenants_added"] == result["sample"]["tenants"]
    report = json.loads((home / "reports" / "2026-10" / "usage_metrics.json").read_text())
    assert {r["plan"] for r in report} == {"starter", "professional", "enterprise"}
    assert len(report) == result["sample"]["tenants"]
    # Every snapshot row is accounted for: billed, counted as duplicate, or quarantined.
    events = home / "warehouse" / "events"
    import duckdb

    rows = duckdb.sql(f"SELECT status, count(*) FROM '{events}/*/rows.parquet' GROUP BY ALL").fetchall()
    counts = dict(rows)
    assert sum(counts.values()) == result["sample"]["rows"]
    assert counts["duplicate"] == result["sample"]["duplicates"] and counts["quarantined"] == result["sample"]["broken"]
    quarantine = json.loads((home / "reports" / "2026-10" / "quarantine.json").read_text())
    assert quarantine["rows"] == result["sample"]["broken"] and len(quarantine["quarantined"]) == quarantine["rows"]
    assert {row["reason"] for row in quarantine["quarantined"]} >= {"unknown tenant", "negative quantity"}
    # ... and the close reports the same counts, with the quarantine by reason.
    assert result["ingest"]["rows_read"] == result["sample"]["rows"]
    assert result["ingest"]["quarantined"] == result["sample"]["broken"]
    assert {k: v for k, v in result["ingest"].items() if k.startswith("quarantined: ")} == {
        "quarantined: bad timestamp": 1, "quarantined: negative quantity": 1, "quarantined: unknown metric": 1,
        "quarantined: unknown service": 1, "quarantined: unknown tenant": 1}


def test_invoices_breakdown_and_pdf_links_from_s3(tmp_path, s3):
    s3.create_bucket(Bucket="docs")
    home = tmp_path / "home"
    env = {"BILLING_OBJECT_STORE": "s3://docs/billing", "AWS_ENDPOINT_URL": s3.meta.endpoint_url,
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    ok("tenants", "import", str(write_directory(tmp_path / "d.yaml", [demo_pro()])), home=home, **env)
    write_snapshot(home / "snapshots", "2026-11-20", worked_example_rows(), "jsonl")
    estimate = ok("breakdown", "--tenant", "demo-pro", "--month", "2026-11", home=home, **env)
    # Nothing ingested yet: the estimate is the prorated base price and the 26th seat.
    assert estimate["estimate"] is True and estimate["total_usd"] == 391.0
    ok("close", "--month", "2026-11", home=home, **env)
    [invoice] = ok("invoices", "--tenant", "demo-pro", home=home, **env)
    assert (invoice["period"], invoice["subtotal"], invoice["tax"], invoice["total"]) == ("2026-11", 396.1, 31.69, 427.79)
    assert invoice["status"] == "pending" and invoice["currency"] == "USD"
    assert [line["amount"] for line in invoice["lines"]] == [29.7, 349.3, 3.75, 1.0, 0.1, 12.0, 0.25]
    assert set(invoice["lines"][0]) >= {"description", "metric", "quantity", "unit_price", "amount"}
    import urllib.request

    assert urllib.request.urlopen(invoice["pdf_url"]).read().startswith(b"%PDF")
    assert ok("invoice", "show", invoice["invoice_id"], home=home, **env)["invoice_number"] == invoice["invoice_number"]
    breakdown = ok("breakdown", "--tenant", "demo-pro", "--month", "2026-11", home=home, **env)
    assert breakdown["estimate"] is False and breakdown["invoice_id"] == invoice["invoice_id"]
    figures = [v for f in breakdown["by_service"].values() for v in f.values()]
    assert round(sum(figures), 2) == 396.10 == round(sum(u["cost_usd"] for u in breakdown["by_user"]), 2)
    assert fails("invoice", "show", "in_nope", home=home, **env) == "billing: error: unknown invoice 'in_nope'"
    assert fails("invoices", "--tenant", "nope", home=home, **env) == "billing: error: unknown tenant 'nope'"


def test_alerts_and_budgets_from_the_command_line(tmp_path):
    home = tmp_path / "home"
    acme = tenant("acme", plan="starter", users=[
        {"user_id": "a", "name": "Ada", "email": "ada@acme.example", "role": "tenant_admin", "phone": "+15550100001"}])
    ok("tenants", "import", str(write_directory(tmp_path / "d.yaml", [acme])), home=home)
    assert ok("budgets", "set", "--tenant", "acme", "--amount", "100", "--channels", "email,sms", home=home)["budgets"] == [
        {"amount_usd": 100, "channels": ["email", "sms"]}]
    write_snapshot(home / "snapshots", "2026-10-10", [event("q", "2026-10-10T10:00:00Z", "acme", "sql_queries", "10500")])
    closed = ok("close", "--month", "2026-10", home=home)
    assert closed["alerts_fired"] == 2  # overage, and the $100 budget
    # No Stripe key here: October's card invoice was never charged, so it stays pending (not overdue), and said.
    assert closed["payments"] == {"no_stripe_key": 1}
    listed = ok("alerts", "--tenant", "acme", home=home)
    assert sorted((n["level"], n["read_at"]) for n in listed["notifications"]) == [("overage", None)]
    assert sorted((d["level"], d["channel"], d["status"]) for d in listed["deliveries"]) == [
        ("budget", "email", "sent"), ("budget", "sms", "sent"),
        ("overage", "email", "sent"), ("overage", "in_app", "sent"), ("overage", "sms", "sent")]
    overage = next(n for n in listed["notifications"] if n["level"] == "overage")
    read = ok("alerts", "--tenant", "acme", "--read", overage["notification_id"], home=home)
    assert next(n for n in read["notifications"] if n["level"] == "overage")["read_at"] is not None
    assert len(list((home / "outbox" / "sms").iterdir())) == 2
    assert ok("close", "--month", "2026-10", home=home)["alerts_fired"] == 0  # a rerun fires nothing again
    assert fails("budgets", "set", "--tenant", "acme", "--amount", "-5", home=home) == "billing: error: --amount must be above 0"
    assert fails("alerts", "--tenant", "acme", "--read", "nope", home=home) == (
        "billing: error: unknown notification 'nope' for tenant 'acme'")


def test_close_charges_cards_through_stripe_and_operators_record_wires(tmp_path, localstripe_server):
    localstripe_server.reset()
    home = tmp_path / "home"
    env = {"STRIPE_API_KEY": "sk_test_cli", "STRIPE_API_BASE": localstripe_server.url}
    directory = write_directory(tmp_path / "d.yaml", [
        tenant("visa"),
        tenant("declines", payment_method={"type": "card", "stripe_payment_method": "pm_card_chargeCustomerFail"}),
        tenant("big", plan="enterprise", payment_method={"type": "wire"}, country="DE")])
    ok("tenants", "import", str(directory), home=home, **env)
    (home / "snapshots").mkdir(parents=True)
    closed = ok("close", "--month", "2026-10", home=home, **env)
    # October's card invoices were due on 2026-11-01: the declined one is overdue at once.
    assert closed["payments"] == {"paid": 1, "declined": 1, "awaiting_transfer": 1, "overdue": 1}
    again = ok("close", "--month", "2026-10", home=home, **env)["payments"]
    # Paid stays paid, and is said so; the decline is retried, its retry day (issue + 3 days) having passed.
    assert again == {"already_paid": 1, "awaiting_transfer": 1, "declined": 1}
    import stripe

    [big] = ok("invoices", "--tenant", "big", home=home)
    client = stripe.StripeClient("sk_test_cli", base_addresses={"api": localstripe_server.url})
    intents = client.v1.payment_intents.list(params={"limit": 100}).data
    assert [pi for pi in intents if pi.metadata.to_dict()["invoice_id"] == big["invoice_id"]] == []  # wire: never charged
    assert [pi.status for pi in intents].count("succeeded") == 1 and len(intents) == 3
    status = {t: ok("invoices", "--tenant", t, home=home)[0]["status"] for t in ("visa", "declines", "big")}
    assert status == {"visa": "paid", "declines": "overdue", "big": "pending"}
    notices = ok("alerts", "--tenant", "declines", home=home)["notifications"]
    assert {n["level"] for n in notices} == {"payment_failed", "overdue"}
    paid = ok("invoices", "mark-paid", big["invoice_number"], "--reference", "WIRE-123", "--actor", "ops", home=home)
    assert paid["status"] == "paid"
    assert fails("invoices", "mark-paid", big["invoice_number"], "--reference", "again", home=home) == (
        f"billing: error: invoice {big['invoice_number']} is already paid")
    assert fails("payment-method", "set", "--tenant", "visa", "--type", "wire", home=home) == (
        "billing: error: tenant 'visa': payment_method.type: 'wire' is for enterprise tenants only")
    assert fails("payment-method", "set", "--tenant", "big", "--type", "ach", "--stripe-payment-method", "pm_x", home=home) == (
        "billing: error: tenant 'big': payment_method.type: 'ach' is for US tenants only (country is DE)")
    assert ok("payment-method", "set", "--tenant", "visa", "--type", "card", "--stripe-payment-method",
              "pm_card_mastercard", home=home)["stripe_payment_method"] == "pm_card_mastercard"
