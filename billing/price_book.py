"""The price book: plans, included amounts and overage prices, loaded from a YAML file."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

from billing.money import to_decimal
from billing.settings import BillingError

PLANS = ("starter", "professional", "enterprise")
# Metrics with an included amount per month; usage metrics come from snapshots, `users` from the directory.
LIMITED_METRICS = ("llm_tokens", "sql_queries", "storage_gb", "users", "api_requests", "compute_hours")


@dataclass(frozen=True)
class OveragePrice:
    unit_price: Decimal
    per: Decimal  # the price is for this many units


@dataclass(frozen=True)
class Plan:
    name: str
    base_price: Decimal | None  # None: the tenant's contract_monthly_fee
    included: dict[str, Decimal | None]  # None: unlimited
    overage: dict[str, OveragePrice]


@dataclass(frozen=True)
class PriceBook:
    currency: str
    plans: dict[str, Plan]
    # Whose unit prices value usage when fixed charges are allocated (docs/cost-allocation.md).
    allocation_reference_plan: str = "professional"

    def plan(self, name: str) -> Plan:
        return self.plans[name]


def _parse_plan(name: str, raw: dict) -> Plan:
    where = f"price book plan {name!r}"
    base = raw.get("base_price")
    base_price = None if base == "contract" else to_decimal(base, f"{where}: base_price")
    included: dict[str, Decimal | None] = {}
    for metric in LIMITED_METRICS:
        amount = (raw.get("included") or {}).get(metric)
        if amount is None:
            raise ValueError(f"{where}: included.{metric} is missing (a number or 'unlimited')")
        included[metric] = None if amount == "unlimited" else to_decimal(amount, f"{where}: included.{metric}")
    overage = {}
    for metric, price in (raw.get("overage") or {}).items():
        if metric not in LIMITED_METRICS:
            raise ValueError(f"{where}: overage.{metric} is not a known metric")
        overage[metric] = OveragePrice(
            to_decimal(price.get("unit_price"), f"{where}: overage.{metric}.unit_price"),
            to_decimal(price.get("per", 1), f"{where}: overage.{metric}.per"),
        )
    return Plan(name, base_price, included, overage)


def load_price_book(path: Path) -> PriceBook:
    try:
        raw = yaml.safe_load(Path(path).read_text())
        plans = {name: _parse_plan(name, raw["plans"][name]) for name in PLANS}
        reference = raw.get("allocation_reference_plan", "professional")
        if reference not in plans:
            raise ValueError(f"allocation_reference_plan {reference!r} is not a plan")
        return PriceBook(currency=raw.get("currency", "USD"), plans=plans, allocation_reference_plan=reference)
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise BillingError(f"price book {path}: {error}") from None
