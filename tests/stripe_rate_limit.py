"""The Stripe boundary (tests/stripe_boundary.py) with Stripe's rate limit: HTTP 429 for the next N requests, as
Stripe's docs describe it ("Rate limits": status 429, an error of type invalid_request_error, code rate_limit),
and the time each request arrived, to see the pacing."""
from __future__ import annotations

import time

from tests.stripe_boundary import StripeBoundary

RATE_LIMITED = {"error": {"type": "invalid_request_error", "code": "rate_limit",
                          "message": "Too many requests hit the API too quickly. We recommend an exponential backoff "
                                     "of your requests."}}


class RateLimitedBoundary(StripeBoundary):
    def reset(self) -> None:
        super().reset()
        self.limited_left = 0  # the next requests answered 429
        self.limited = 0
        self.arrivals: list[float] = []

    def _answer(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        self.arrivals.append(time.monotonic())
        if self.limited_left:
            self.limited_left -= 1
            self.limited += 1
            return 429, RATE_LIMITED
        return super()._answer(method, path, params)
