"""Budget alerts (the seed's Budget Alerts, plus forecasts): rules, an outbox in the ledger, delivery.

Rules, per tenant and month, on the limits of the plan in effect on the month's last day:
- warning at >= 80 % of a limit (email, in-app); critical at >= 95 % (email, in-app, SMS);
  overage above 100 % (email, in-app, SMS). Unlimited metrics never alert.
- budget: month-to-date spend (the invoice subtotal so far) reaches a tenant budget (its channels).
- forecast: the month-to-date trend, projected linearly to the month's end, crosses a limit or a
  budget that is not crossed yet (email, in-app). See docs/alerts.md.
Each (tenant, period, subject, level) fires once: the ledger's unique key is the guard. When one
evaluation reaches several levels of a metric at once, only the highest is delivered; the lower ones
are recorded as reached, so they never fire later.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa

from billing.crash import crash_point
from billing.directory import Tenant, month_days
from billing.ledger import Ledger
from billing.price_book import LIMITED_METRICS, PriceBook
from billing.pricing import rate
from billing.sql import query

LEVEL_CHANNELS = {
    "warning": ("email", "in_app"),
    "critical": ("email", "in_app", "sms"),
    "overage": ("email", "in_app", "sms"),
    "forecast": ("email", "in_app"),
}
RECIPIENT_ROLES = ("tenant_admin", "billing_contact")
FORECAST_METRICS = ("llm_tokens", "sql_queries", "api_requests", "compute_hours")  # counters: they grow with time
FORECAST_MIN_ELAPSED = Decimal("0.1")  # no projection from the first ~3 days of a month
MAX_ATTEMPTS = 8
# How long a claimed delivery may be in the hands of a live sender; a send takes seconds.
CLAIM_LEASE = timedelta(minutes=10)


def _q(name: str) -> sa.TextClause:
    return sa.text(query(f"ledger/{name}"))


@dataclass(frozen=True)
class Crossing:
    subject: str  # a metric, or budget:<amount>
    level: str  # warning, critical, overage, budget, forecast
    message: str
    channels: tuple[str, ...]


def _percent(used: Decimal, limit: Decimal) -> str:
    return f"{used / limit * 100:.2f} %"


def usage_crossings(quantities: dict[str, Decimal], included: dict[str, Decimal | None]) -> list[Crossing]:
    crossings = []
    for metric in LIMITED_METRICS:
        limit, used = included[metric], quantities[metric]
        if not limit:
            continue
        reached = [level for level, share in (("warning", 80), ("critical", 95)) if used * 100 >= limit * share]
        if used > limit:
            reached.append("overage")
        for level in reached:
            crossings.append(Crossing(metric, level, f"{metric} at {_percent(used, limit)} of the plan's "
                                                      f"{limit.normalize():,f} ({level})", LEVEL_CHANNELS[level]))
    return crossings


def month_elapsed(period: str, now: datetime) -> Decimal:
    """How much of the month has passed at `now`, from 0 to 1."""
    days = month_days(period)
    start = datetime(days[0].year, days[0].month, days[0].day, tzinfo=timezone.utc)
    seconds = Decimal((now - start).total_seconds()) / Decimal(len(days) * 86400)
    return min(max(seconds, Decimal(0)), Decimal(1))


def evaluate(tenant: Tenant, period: str, totals: dict[str, Decimal], book: PriceBook, now: datetime) -> list[Crossing]:
    """Every threshold the tenant's month has reached at `now`."""
    rating = rate(tenant, period, totals, book)
    included = book.plan(rating.plan).included
    crossings = usage_crossings(rating.quantities, included)
    for budget in tenant.budgets:
        if rating.subtotal >= budget.amount_usd:
            crossings.append(Crossing(f"budget:{budget.amount_usd}", "budget",
                                      f"month-to-date spend ${rating.subtotal:,.2f} reached the budget of "
                                      f"${budget.amount_usd:,.2f}", budget.channels))
    elapsed = month_elapsed(period, now)
    if FORECAST_MIN_ELAPSED <= elapsed < 1:
        projected = {metric: quantity / elapsed for metric, quantity in totals.items() if metric != "storage_gb"}
        projected["storage_gb"] = totals.get("storage_gb", Decimal(0))
        projection = rate(tenant, period, projected, book)
        for metric in FORECAST_METRICS:
            limit, used, end = included[metric], rating.quantities[metric], projection.quantities[metric]
            if limit and used <= limit < end:
                crossings.append(Crossing(metric, "forecast", f"{metric} is on course for {_percent(end, limit)} "
                                          f"of the plan's {limit.normalize():,f} by the month's end",
                                          LEVEL_CHANNELS["forecast"]))
        for budget in tenant.budgets:
            if rating.subtotal < budget.amount_usd <= projection.subtotal:
                crossings.append(Crossing(f"budget:{budget.amount_usd}", "forecast",
                                          f"spend is on course for ${projection.subtotal:,.2f} by the month's end, "
                                          f"above the budget of ${budget.amount_usd:,.2f}", LEVEL_CHANNELS["forecast"]))
    return crossings


def _wall_clock() -> datetime:
    """Claims are leases between processes, measured on the wall clock; business dates use settings.now()."""
    return datetime.now(timezone.utc)


def alert_id(tenant_id: str, period: str, subject: str, level: str) -> str:
    return "al_" + hashlib.sha256(f"{tenant_id}\0{period}\0{subject}\0{level}".encode()).hexdigest()[:24]


def _to_deliver(crossings: list[Crossing]) -> set[tuple[str, str]]:
    """Of several usage levels of one subject reached at once, the highest only."""
    order = {"warning": 0, "critical": 1, "overage": 2}
    highest: dict[str, Crossing] = {}
    delivered = set()
    for crossing in crossings:
        if crossing.level in order:
            current = highest.get(crossing.subject)
            if current is None or order[crossing.level] > order[current.level]:
                highest[crossing.subject] = crossing
        else:
            delivered.add((crossing.subject, crossing.level))
    return delivered | {(c.subject, c.level) for c in highest.values()}


@dataclass(frozen=True)
class Undelivered:
    status: str  # pending: retried with backoff; failed: given up after MAX_ATTEMPTS
    channel: str
    error: str
    deliveries: int

    def advice(self) -> str:
        """What the operator does about it, in the error's terms."""
        if "MessageRejected" in self.error or "not verified" in self.error:
            return "verify BILLING_ALERT_SENDER in SES (and leave the SES sandbox); pending emails are then retried"
        if "credentials" in self.error.lower() or "AccessDenied" in self.error or "Authorization" in self.error:
            return "give the billing services AWS credentials allowed to ses:SendEmail and sns:Publish"
        return "run 'billing doctor' to check the alert transport; pending deliveries are retried"

    def line(self) -> str:
        return f"{self.deliveries} {self.channel} deliveries {self.status}: {self.error}: {self.advice()}"


class AlertBook:
    """The outbox: alerts and their deliveries in the ledger."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def fired(self, tenant_id: str, period: str) -> set[tuple[str, str]]:
        with self.ledger.engine.connect() as con:
            return {(r.subject, r.level) for r in con.execute(_q("alerts_fired"), {"tenant_id": tenant_id, "period": period})}

    def record(self, tenant: Tenant, period: str, crossings: list[Crossing], now: datetime) -> list[str]:
        """Write the alerts not fired yet, with a delivery per channel and recipient; return their ids."""
        return self.record_all(period, {tenant: crossings}, now)

    def record_all(self, period: str, crossings: dict[Tenant, list[Crossing]], now: datetime) -> list[str]:
        """`record` for many tenants in one transaction (one commit, not one per tenant)."""
        with self.ledger.engine.begin() as con:
            return [identifier for tenant, reached in crossings.items()
                    for identifier in self._record(con, tenant, period, reached, now.isoformat(timespec="seconds"))]

    def _record(self, con, tenant: Tenant, period: str, crossings: list[Crossing], stamp: str) -> list[str]:
        new = []
        already = {(r.subject, r.level) for r in con.execute(_q("alerts_fired"),
                                                             {"tenant_id": tenant.tenant_id, "period": period})}
        fresh = [c for c in crossings if (c.subject, c.level) not in already]
        deliver = _to_deliver(fresh)
        for crossing in fresh:
            identifier = alert_id(tenant.tenant_id, period, crossing.subject, crossing.level)
            delivered = (crossing.subject, crossing.level) in deliver
            inserted = con.execute(_q("alert_insert"), {
                "alert_id": identifier, "tenant_id": tenant.tenant_id, "period": period,
                "subject": crossing.subject, "level": crossing.level, "message": crossing.message,
                "delivered": int(delivered), "now": stamp,
            }).rowcount
            if not inserted or not delivered:
                continue
            new.append(identifier)
            for user in tenant.users:
                if user.role not in RECIPIENT_ROLES or not user.current:
                    continue
                for channel in crossing.channels:
                    recipient = {"email": user.email, "sms": user.phone, "in_app": user.user_id}[channel]
                    if recipient is None:  # no phone: everything but SMS
                        continue
                    con.execute(_q("delivery_insert"), {
                        "delivery_id": f"{identifier}:{channel}:{user.user_id}", "alert_id": identifier,
                        "channel": channel, "recipient": recipient, "user_id": user.user_id,
                        # An in-app notification is delivered by being written.
                        "status": "sent" if channel == "in_app" else "pending", "now": stamp,
                    })
        return new

    def deliver_due(self, transport, now: datetime) -> dict[str, int]:
        """Send every pending delivery that is due; a failure is retried with exponential backoff.

        Each delivery is claimed ('sending') before it is sent and recorded 'sent' after, so a crash in between
        leaves it claimed: `resolve_claims` settles it on the next call rather than sending it blindly again."""
        stamp = now.isoformat(timespec="seconds")
        self.resolve_claims(transport, now)
        counts = {"sent": 0, "retrying": 0, "failed": 0}
        with self.ledger.engine.connect() as con:
            due = con.execute(_q("deliveries_due"), {"now": stamp}).fetchall()
        for row in due:
            with self.ledger.engine.begin() as con:
                claim = {"delivery_id": row.delivery_id, "claimed_at": _wall_clock().isoformat(timespec="seconds")}
                if not con.execute(_q("delivery_claim"), claim).rowcount:
                    continue  # another process claimed it meanwhile
            try:
                message_id = transport.send(row.channel, row.recipient, f"Billing alert: {row.subject} {row.level}",
                                            f"{row.tenant_id} {row.period}: {row.message}", row.delivery_id)
            except Exception as error:  # any transport failure: keep it in the outbox, say why
                attempts = row.attempts + 1
                status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
                with self.ledger.engine.begin() as con:
                    con.execute(_q("delivery_failed"), {
                        "delivery_id": row.delivery_id, "status": status, "error": str(error).splitlines()[0][:500],
                        "next_attempt_at": (now + timedelta(minutes=2 ** attempts)).isoformat(timespec="seconds"),
                    })
                counts["failed" if status == "failed" else "retrying"] += 1
                continue
            crash_point("alert delivery sent")
            with self.ledger.engine.begin() as con:
                con.execute(_q("delivery_sent"), {"delivery_id": row.delivery_id, "message_id": message_id, "now": stamp})
            counts["sent"] += 1
        return counts

    def resolve_claims(self, transport, now: datetime) -> dict[str, str]:
        """Settle the deliveries left claimed by a process that died between sending and recording: `sent` when
        the channel shows the message, `pending` (sent again) when it shows none, and, when the channel cannot
        tell (SES, SNS), `possibly_sent` once the claim is older than CLAIM_LEASE, never sent again by itself.
        Return the new status of each delivery settled."""
        with self.ledger.engine.connect() as con:
            claimed = con.execute(_q("deliveries_claimed")).fetchall()
        settled = {}
        for row in claimed:
            shown = transport.delivered(row.channel, row.delivery_id)
            if shown is None and _wall_clock() - datetime.fromisoformat(row.claimed_at) < CLAIM_LEASE:
                continue  # perhaps still being sent by a live process
            status = {True: "sent", False: "pending", None: "possibly_sent"}[shown]
            with self.ledger.engine.begin() as con:
                con.execute(_q("delivery_resolve"), {"delivery_id": row.delivery_id, "status": status,
                                                     "now": now.isoformat(timespec="seconds")})
            settled[row.delivery_id] = status
        return settled

    def undelivered(self) -> list[Undelivered]:
        """Deliveries waiting after a failure (`pending`, retried) or given up (`failed`), grouped by their error."""
        with self.ledger.engine.connect() as con:
            return [Undelivered(r.status, r.channel, r.last_error, r.deliveries)
                    for r in con.execute(_q("deliveries_undelivered"))]

    def notifications(self, tenant_id: str) -> list[dict]:
        with self.ledger.engine.connect() as con:
            return [dict(r._mapping) for r in con.execute(_q("notifications_of_tenant"), {"tenant_id": tenant_id})]

    def deliveries(self, tenant_id: str) -> list[dict]:
        with self.ledger.engine.connect() as con:
            return [dict(r._mapping) for r in con.execute(_q("deliveries_of_tenant"), {"tenant_id": tenant_id})]

    def mark_read(self, notification_id: str, now: datetime) -> bool:
        with self.ledger.engine.begin() as con:
            return con.execute(_q("notification_read"), {"notification_id": notification_id,
                                                          "now": now.isoformat(timespec="seconds")}).rowcount == 1
