"""Stripe's rate limit: requests paced under it, and a 429 retried with backoff instead of failing the close.

Stripe allows about 100 read and 100 write requests a second in live mode and 25 in test mode, and answers
HTTP 429 beyond. The SDK retries connection errors, 409 and 5xx, but not a 429 (unless Stripe says
`Stripe-Should-Retry: true`), so a close of 10,000 card invoices would fail on it. This HTTP client, given to
`stripe.StripeClient(http_client=...)`, spaces requests to a rate below the limit and retries a 429 after an
exponential backoff with jitter, for up to `max_wait_seconds` in all. A 429 is safe to retry: Stripe did not
process the request, and every charge carries its Idempotency-Key anyway.
"""
from __future__ import annotations

import random
import threading
import time
from typing import Callable

from stripe import RequestsClient

LIVE_REQUESTS_PER_SECOND = 80  # of live mode's 100, leaving room for the Dashboard and other integrations
TEST_REQUESTS_PER_SECOND = 20  # of test mode's 25
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 8.0


def requests_per_second(api_key: str) -> float:
    return LIVE_REQUESTS_PER_SECOND if api_key.startswith(("sk_live_", "rk_live_")) else TEST_REQUESTS_PER_SECOND


class PacedHTTPClient(RequestsClient):
    def __init__(self, requests_per_second: float, max_wait_seconds: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep, **kwargs):
        super().__init__(**kwargs)
        self.interval = 1.0 / requests_per_second
        self.max_wait_seconds = max_wait_seconds
        self.sleep = sleep
        self.rate_limited = 0  # 429s answered so far, for the logs and the tests
        self._next_slot = 0.0
        self._slots = threading.Lock()

    def _pace(self) -> None:
        """Wait for this request's slot: one every `interval` seconds, shared by the threads of the process."""
        with self._slots:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        if slot > now:
            self.sleep(slot - now)

    def request(self, method, url, headers, post_data=None):
        waited, backoff = 0.0, FIRST_BACKOFF_SECONDS
        while True:
            self._pace()
            response = super().request(method, url, headers, post_data)
            if response[1] != 429:
                return response
            self.rate_limited += 1
            delay = backoff * random.uniform(0.5, 1.0)  # jitter: parallel clients do not retry in step
            if waited + delay > self.max_wait_seconds:
                return response  # the SDK raises stripe.RateLimitError: the charge is retried by the next run
            self.sleep(delay)
            waited += delay
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
