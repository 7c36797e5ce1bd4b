"""Dagster resources. Every field is optional: empty means the embedded default or the environment (see README)."""

import os
from typing import Optional

import dagster as dg

from billing.alerts import AlertBook
from billing.invoices import InvoiceBook
from billing.ledger import Ledger
from billing.object_store import FolderStore, S3Store, open_object_store
from billing.price_book import PriceBook, load_price_book
from billing.settings import Settings
from billing.snapshots import SnapshotRoot
from billing.transports import AwsTransport, FileTransport, open_transport
from billing.warehouse import Warehouse


class BillingStore(dg.ConfigurableResource):
    """Where billing data lives: snapshot root, ledger, warehouse, object store and price book."""

    billing_home: Optional[str] = None
    snapshot_root: Optional[str] = None
    ledger_url: Optional[str] = None
    price_book_path: Optional[str] = None
    aws_endpoint_url: Optional[str] = None
    object_store_uri: Optional[str] = None

    def settings(self) -> Settings:
        env = dict(os.environ)
        overrides = {
            "BILLING_HOME": self.billing_home,
            "BILLING_SNAPSHOT_ROOT": self.snapshot_root,
            "BILLING_LEDGER_URL": self.ledger_url,
            "BILLING_PRICE_BOOK": self.price_book_path,
            "AWS_ENDPOINT_URL": self.aws_endpoint_url,
            "BILLING_OBJECT_STORE": self.object_store_uri,
        }
        env.update({name: value for name, value in overrides.items() if value})
        return Settings.from_env(env)

    def ledger(self) -> Ledger:
        ledger = Ledger(self.settings().ledger_url)
        ledger.migrate()
        return ledger

    def warehouse(self) -> Warehouse:
        return Warehouse(self.settings().warehouse_dir)

    def snapshots(self) -> SnapshotRoot:
        settings = self.settings()
        return SnapshotRoot(settings.snapshot_root, settings.aws_endpoint_url)

    def price_book(self) -> PriceBook:
        return load_price_book(self.settings().price_book)

    def invoice_book(self) -> InvoiceBook:
        return InvoiceBook(self.ledger(), self.settings().invoice_grace_days)

    def object_store(self) -> FolderStore | S3Store:
        settings = self.settings()
        return open_object_store(settings.object_store, settings.aws_endpoint_url, settings.presign_seconds)

    def alert_book(self) -> AlertBook:
        return AlertBook(self.ledger())

    def transport(self) -> FileTransport | AwsTransport:
        settings = self.settings()
        return open_transport(settings.alert_transport, settings.home / "outbox", settings.alert_sender,
                              settings.aws_endpoint_url)


class StripeResource(dg.ConfigurableResource):
    """Stripe's API. The Definitions bind both fields to dg.EnvVar (STRIPE_API_KEY, STRIPE_API_BASE), so the
    secret never sits in run config; an empty key means no charges, an empty base means Stripe itself."""

    api_key: str = ""
    api_base: str = ""

    def client(self):
        import stripe

        from billing.stripe_pacing import PacedHTTPClient, requests_per_second

        if not self.api_key:
            return None
        base_addresses = {"api": self.api_base} if self.api_base else None
        # Paced under Stripe's rate limit, retrying 429s (billing/stripe_pacing.py); the SDK retries the rest.
        return stripe.StripeClient(self.api_key, base_addresses=base_addresses, max_network_retries=2,
                                   http_client=PacedHTTPClient(requests_per_second(self.api_key)))
