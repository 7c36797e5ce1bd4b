"""Invoice PDFs on S3 (moto): the API's pdf_url is a short-lived presigned URL, the PDF endpoint and the ZIP
stream from the bucket."""
import io
import zipfile

import httpx

from tests.service_fixtures import API, BillingService, Tokens, seed


def test_pdfs_on_s3_are_presigned_links_and_streamed(tmp_path, s3, moto_server):
    s3.create_bucket(Bucket="billing-docs")
    home = tmp_path / "billing"
    seed(home, object_store="s3://billing-docs/pdfs")
    server = BillingService(home, BILLING_OBJECT_STORE="s3://billing-docs/pdfs", BILLING_PRESIGN_SECONDS="300").start()
    headers = Tokens(home).user("acme-billing_contact")
    try:
        with httpx.Client(base_url=server.url + API, timeout=60) as client:
            invoices = client.get("/tenants/acme/invoices", headers=headers).json()
            october = next(i for i in invoices if i["period"] == "2026-10")
            assert october["pdf_url"].startswith(f"{moto_server.url}/billing-docs/pdfs/invoices/2026-10/")
            assert "X-Amz-Expires=300" in october["pdf_url"]
            assert httpx.get(october["pdf_url"]).content.startswith(b"%PDF")  # the link alone downloads it
            streamed = client.get(f"/tenants/acme/invoices/{october['invoice_id']}/pdf", headers=headers)
            assert streamed.status_code == 200 and streamed.content.startswith(b"%PDF")
            bundle = client.get("/tenants/acme/invoice-pdfs?from=2026-10&to=2026-11", headers=headers)
            assert zipfile.ZipFile(io.BytesIO(bundle.content)).namelist() == [f"2026-10-{october['invoice_number']}.pdf"]
    finally:
        server.stop()
