"""Explain a line, the usage CSV of a month and a ZIP of months' PDFs, over HTTP (`billing serve`)."""
import csv
import io
import zipfile

from tests.service_fixtures import API, api, billing_service, service_home, tokens  # noqa: F401 - fixtures


def november(api, tenant_id, headers):
    return next(i for i in api.get(f"{API}/tenants/{tenant_id}/invoices", headers=headers).json() if i["period"] == "2026-11")


def explain(api, tenant_id, headers, metric):
    invoice = november(api, tenant_id, headers)
    position = next(n for n, line in enumerate(invoice["lines"]) if line["metric"] == metric)
    response = api.get(f"{API}/tenants/{tenant_id}/invoices/{invoice['invoice_id']}/lines/{position}/explain",
                       headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_line_is_traced_to_its_daily_usage_events_and_snapshot_rows(api, tokens):
    explained = explain(api, "big", tokens.user("big-billing_contact"), "storage_gb")
    assert explained["line"]["quantity"] == 6.25  # 1030.25 GB peak, 1024 included
    assert explained["usage_metric"] == "storage_gb"
    assert explained["daily"] == [{"usage_day": "2026-11-02", "quantity": 1030.25, "events": 1},
                                  {"usage_day": "2026-11-03", "quantity": 1000, "events": 1}]
    assert explained["events"] == 2
    assert explained["sources"] == [
        {"arrival_day": "2026-11-02", "source_file": "part-0000.csv", "rows": 1, "first_rows": [6]},
        {"arrival_day": "2026-11-03", "source_file": "part-0000.csv", "rows": 1, "first_rows": [3]}]
    assert explained["quarantined_count"] == 0


def test_a_fixed_charge_has_no_usage_and_the_tenants_quarantined_rows_are_shown(api, tokens):
    headers = tokens.user("acme-tenant_admin")
    explained = explain(api, "acme", headers, "base")
    assert explained["usage_metric"] is None and explained["daily"] == [] and explained["sources"] == []
    assert explained["quarantined_count"] == 1
    [bad] = explained["quarantined"]
    assert (bad["event_id"], bad["reason"], bad["source_row"], bad["quantity"]) == ("bad", "negative quantity", 5, "-5.000000000")
    invoice = november(api, "acme", headers)
    assert api.get(f"{API}/tenants/acme/invoices/{invoice['invoice_id']}/lines/{len(invoice['lines'])}/explain",
                   headers=headers).status_code == 404


def test_usage_csv_of_a_month(api, tokens):
    response = api.get(f"{API}/tenants/acme/usage/csv?month=2026-11", headers=tokens.user("acme-billing_contact"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["usage_day"], r["metric"], r["quantity"], r["events"]) for r in rows] == [
        ("2026-11-02", "llm_tokens", "1200000", "1"), ("2026-11-02", "sql_queries", "250", "1"),
        ("2026-11-02", "storage_gb", "40.5", "1"), ("2026-11-03", "compute_minutes", "90", "1"),
        ("2026-11-03", "llm_tokens", "300000", "1")]


def test_a_zip_of_several_months_pdfs(api, tokens):
    headers = tokens.user("acme-billing_contact")
    response = api.get(f"{API}/tenants/acme/invoice-pdfs?from=2026-01&to=2026-12", headers=headers)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
        [name] = bundle.namelist()  # November is a draft without a PDF yet
        assert name.startswith("2026-10-INV-") and bundle.read(name).startswith(b"%PDF")
    assert api.get(f"{API}/tenants/acme/invoice-pdfs?from=2026-12&to=2026-01", headers=headers).status_code == 422
