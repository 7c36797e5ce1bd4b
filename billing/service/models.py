"""The API's documents: the seed's UsageMetrics and CostBreakdown and the contract's invoice, field for field,
with the fields this project adds after them. Money and quantities are Decimal inside and exact JSON numbers on
the wire, digit for digit as the close's JSON files have them (billing/service/exact_json.py)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

Number = Annotated[Decimal, WithJsonSchema({"type": "number"})]
# A quantity summed by DuckDB, without the trailing zeros of its 9 decimals
Quantity = Annotated[Number, AfterValidator(Decimal.normalize)]


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(Document):
    """application/problem+json (RFC 9457)."""
    type: str = "about:blank"
    title: str
    status: int
    detail: str = Field(description="one line saying what is wrong")


# -- UsageMetrics (seed, contract section 4) --------------------------------------------------------------
class UsageMetric(Document):
    used: Number
    limit: Number | None = Field(description="null: unlimited")
    percentage: float | None = Field(description="used / limit x 100, 2 decimals; null: unlimited")


class UsageMetrics(Document):
    period: str
    llm_tokens: UsageMetric
    queries: UsageMetric
    storage_gb: UsageMetric
    api_requests: UsageMetric
    # ours
    tenant_id: str
    plan: str
    month_to_date: bool
    compute_hours: UsageMetric
    users: UsageMetric
    last_ingested_at: datetime | None = Field(description="when usage was last ingested (null: never)")


class DailyUsage(Document):
    day: date
    llm_tokens: Quantity
    queries: Quantity
    storage_gb: Quantity = Field(description="the day's peak reading")
    api_requests: Quantity
    compute_hours: Number
    events: int = Field(description="usage events counted that day")


class DailySeries(Document):
    tenant_id: str
    period: str
    last_ingested_at: datetime | None
    days: list[DailyUsage]


# -- CostBreakdown (seed, contract section 4) -------------------------------------------------------------
class AiServiceCosts(Document):
    llm_cost: Number
    compute_cost: Number


class QueryEngineCosts(Document):
    query_cost: Number
    storage_cost: Number


class MlServiceCosts(Document):
    training_cost: Number
    serving_cost: Number


class ServiceCosts(Document):
    ai_service: AiServiceCosts
    query_engine: QueryEngineCosts
    ml_service: MlServiceCosts


class UserCost(Document):
    user_id: str | None = Field(description="null: usage with no user (system usage)")
    name: str
    cost_usd: Number


class CostBreakdown(Document):
    period: str
    total_usd: Number
    by_service: ServiceCosts
    by_user: list[UserCost]
    # ours
    tenant_id: str
    invoice_id: str | None
    estimate: bool = Field(description="true before the month is invoiced: from usage so far")


# -- Invoice (contract section 4) -------------------------------------------------------------------------
class InvoiceLine(Document):
    description: str
    metric: str
    quantity: Number
    unit_price: Number
    amount: Number


class Adjustment(Document):
    adjustment_id: str
    amount: Number
    reason: str
    applied_invoice_id: str | None


class Invoice(Document):
    invoice_id: str
    tenant_id: str
    period: str
    lines: list[InvoiceLine]
    subtotal: Number
    tax: Number
    total: Number
    currency: str
    status: Literal["paid", "pending", "overdue"]
    issued_at: date
    due_date: date
    pdf_url: str | None = Field(description="downloads the PDF: a short-lived presigned URL on S3, else the API's")
    # ours
    invoice_number: str
    tax_rate: Number
    state: Literal["draft", "final"]
    payment_method: str
    adjustments: list[Adjustment]


# -- Tenants and plans ------------------------------------------------------------------------------------
class TenantSummary(Document):
    tenant_id: str
    name: str
    country: str
    plan: str = Field(description="the plan in effect today")
    role: str = Field(description="the caller's role in this tenant (platform_admin for operators)")


class OveragePrice(Document):
    unit_price: Number
    per: Number


class Tier(Document):
    plan: str
    base_price: Number | None = Field(description="per month; null: the tenant's contract fee (enterprise)")
    included: dict[str, Number | None] = Field(description="per month; null: unlimited")
    overage: dict[str, OveragePrice]


class PlanChange(Document):
    effective: date
    plan: str


class PlanChangeRequest(Document):
    request_id: str
    tenant_id: str
    plan: str
    effective: date
    status: Literal["pending", "approved", "rejected"]
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None


class PlanOverview(Document):
    tenant_id: str
    plan: str = Field(description="the plan in effect today")
    price: Number | None = Field(description="its monthly price (the contract fee on enterprise)")
    limits: dict[str, Number | None] = Field(description="included per month; null: unlimited")
    plan_changes: list[PlanChange] = Field(description="the plan timeline: each change from 00:00 UTC of its day")
    pending_requests: list[PlanChangeRequest]
    tiers: list[Tier] = Field(description="the price book's plans")


class PlanChangeIn(Document):
    plan: Literal["starter", "professional", "enterprise"]
    effective: date = Field(description="the change takes effect at 00:00 UTC of this day")


class Decision(Document):
    reason: str | None = Field(default=None, max_length=500)


# -- Payment method, budgets, notifications ---------------------------------------------------------------
class PaymentMethod(Document):
    tenant_id: str
    type: Literal["card", "ach", "invoice", "wire"]
    stripe_payment_method: str | None
    display: str | None = Field(description="what a person recognises it by, e.g. visa ending 4242")


class PaymentMethodIn(Document):
    type: Literal["card", "ach", "invoice", "wire"]
    stripe_payment_method: str | None = Field(default=None, pattern=r"^pm_[A-Za-z0-9_]{1,200}$",
                                              description="pm_... for card and ach, from a confirmed SetupIntent")


class SetupIntentIn(Document):
    type: Literal["card", "ach"]


class SetupIntent(Document):
    setup_intent_id: str
    client_secret: str = Field(description="for Stripe.js to confirm the SetupIntent in the page")
    customer: str
    type: Literal["card", "ach"]


class BudgetIn(Document):
    amount_usd: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]
    channels: list[Literal["email", "in_app", "sms"]] = Field(min_length=1)


class Budget(Document):
    budget_id: int
    amount_usd: Number
    channels: list[str]


class Notification(Document):
    notification_id: str
    alert_id: str
    period: str
    subject: str
    level: str
    message: str
    user_id: str | None
    sent_at: datetime | None
    read_at: datetime | None


# -- Operators ---------------------------------------------------------------------------------------------
class MarkPaidIn(Document):
    reference: str = Field(min_length=1, max_length=200, description="the bank's reference of the transfer")


class AuditEntry(Document):
    audit_id: str
    at: datetime
    actor: str
    actor_role: str | None
    event: str
    tenant_id: str | None
    invoice_id: str | None
    amount: Number | None
    details: str | None
    before: dict | list | str | None
    after: dict | list | str | None


# -- Explain a line ----------------------------------------------------------------------------------------
class ExplainedDay(Document):
    usage_day: date
    quantity: Quantity = Field(description="counters summed; storage the day's largest reading")
    events: int


class SourceFile(Document):
    arrival_day: date
    source_file: str
    rows: int = Field(description="billed rows of this file behind the line")
    first_rows: list[int] = Field(description="the first of them (1-based row numbers)")


class QuarantinedRow(Document):
    arrival_day: date
    source_file: str
    source_row: int
    reason: str
    event_id: str | None
    occurred_at: str | None
    user_id: str | None
    service: str | None
    metric: str | None
    workload: str | None
    quantity: str | None


class LineExplanation(Document):
    invoice_id: str
    tenant_id: str
    period: str
    position: int
    line: InvoiceLine
    usage_metric: str | None = Field(description="null: a fixed charge (base price, seats) or an adjustment")
    daily: list[ExplainedDay]
    events: int = Field(description="usage events counted")
    sources: list[SourceFile]
    quarantined_count: int
    quarantined: list[QuarantinedRow] = Field(description="the tenant's rows of the month's folders not billed (first 100)")
