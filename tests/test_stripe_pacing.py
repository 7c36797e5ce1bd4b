"""Stripe's rate limit: charges are paced under it, and a 429 is retried with backoff instead of failing the close
(billing/stripe_pacing.py), against a boundary server that answers 429 for a while."""
import time

import pytest
import stripe

from billing.stripe_pacing import PacedHTTPClient
from resources import StripeResource
from tests.stripe_rate_limit import RateLimitedBoundary


@pytest.fixture(scope="module")
def boundary_server():
    server = RateLimitedBoundary().start()
    yield server
    server.stop()


@pytest.fixture
def boundary(boundary_server):
    boundary_server.reset()
    return boundary_server


def test_the_billing_client_rides_out_a_burst_of_429s(boundary):
    client = StripeResource(api_key="sk_test_billing", api_base=boundary.url).client()
    boundary.limited_left = 4
    customer = client.v1.customers.create(params={"name": "acme Inc"})
    assert customer.id.startswith("cus_") and boundary.limited == 4 and boundary.customers


def test_the_sdk_alone_fails_on_a_429(boundary):
    client = stripe.StripeClient("sk_test_billing", base_addresses={"api": boundary.url}, max_network_retries=2)
    boundary.limited_left = 1
    with pytest.raises(stripe.RateLimitError):
        client.v1.customers.create(params={"name": "acme Inc"})


def test_requests_are_spaced_under_the_rate(boundary):
    client = stripe.StripeClient("sk_test_billing", base_addresses={"api": boundary.url},
                                 http_client=PacedHTTPClient(requests_per_second=50))
    for _ in range(21):
        client.v1.payment_intents.list(params={"limit": 1})
    assert boundary.arrivals[-1] - boundary.arrivals[0] >= 20 / 50 * 0.95  # 21 requests at 50 a second: 0.4 s


def test_a_limit_that_does_not_lift_fails_after_the_longest_wait(boundary):
    client = stripe.StripeClient("sk_test_billing", base_addresses={"api": boundary.url}, max_network_retries=0,
                                 http_client=PacedHTTPClient(requests_per_second=50, max_wait_seconds=1.5))
    boundary.limited_left = 1000
    started = time.monotonic()
    with pytest.raises(stripe.RateLimitError):
        client.v1.customers.create(params={"name": "acme Inc"})
    # backoffs of 0.5 s doubling, each cut to 50-100 % by jitter, until the next would pass 1.5 s: 0.75 s at least
    assert 0.75 <= time.monotonic() - started < 3 and 3 <= boundary.limited <= 6
