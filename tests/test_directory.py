"""The tenant directory: every rule refuses the whole file with one line naming tenant and field."""
from datetime import date

import pytest
import yaml

from billing.directory import parse_directory, plan_days
from billing.settings import BillingError
from tests.conftest import tenant


def parse(*tenants: dict):
    return parse_directory(yaml.safe_dump({"tenants": list(tenants)}))


@pytest.mark.parametrize("change, message", [
    ({"plan": "gold"}, "tenant 'acme': plan: 'gold' is not one of starter, professional, enterprise"),
    ({"country": "USA"}, "tenant 'acme': country: 'USA' is not an ISO 3166 alpha-2 code"),
    ({"country": "XX"}, "tenant 'acme': country: 'XX' is not an ISO 3166 alpha-2 code"),
    ({"payment_method": {"type": "invoice"}}, "tenant 'acme': payment_method.type: 'invoice' is for enterprise tenants only"),
    ({"payment_method": {"type": "wire"}}, "tenant 'acme': payment_method.type: 'wire' is for enterprise tenants only"),
    ({"country": "DE", "payment_method": {"type": "ach"}}, "tenant 'acme': payment_method.type: 'ach' is for US tenants only (country is DE)"),
    ({"payment_method": {"type": "bitcoin"}}, "tenant 'acme': payment_method.type: 'bitcoin' is not one of card, ach, invoice, wire"),
    ({"payment_method": None}, "tenant 'acme': payment_method: is required"),
    ({"tax_rate": 1.5}, "tenant 'acme': tax_rate: must be from 0 up to 1"),
    ({"tax_rate": "lots"}, "tenant 'acme': tax_rate: must be a number"),
    ({"contract_monthly_fee": 100}, "tenant 'acme': contract_monthly_fee: is for enterprise tenants only"),
    ({"plan": "enterprise", "contract_monthly_fee": None}, "tenant 'acme': contract_monthly_fee: is required for an enterprise plan"),
    ({"plan_changes": [{"plan": "starter", "effective": "someday"}]}, "tenant 'acme': plan_changes[0].effective: must be a date"),
    ({"plan_changes": [{"plan": "platinum", "effective": "2026-01-01"}]}, "tenant 'acme': plan_changes[0].plan: 'platinum'"),
    ({"budgets": [{"amount_usd": -1, "channels": ["email"]}]}, "tenant 'acme': budgets[0].amount_usd: must be above 0"),
    ({"budgets": [{"amount_usd": 10, "channels": ["pager"]}]}, "tenant 'acme': budgets[0].channels: must be a non-empty list"),
    ({"users": [{"user_id": "u", "name": "U", "email": "nope", "role": "member"}]}, "tenant 'acme': users[0].email: 'nope' is not an email"),
    ({"users": [{"user_id": "u", "name": "U", "email": "u@x.io", "role": "owner"}]}, "tenant 'acme': users[0].role: 'owner' is not one of"),
    ({"users": [{"user_id": "u", "name": "U", "email": "u@x.io", "role": "member"} for _ in range(2)]},  # no YAML alias
     "tenant 'acme': users[1].user_id: 'u' appears twice"),
    ({"users": [{"user_id": "u", "name": "U", "email": "u@x.io", "role": "member", "phone": "555"}]}, "tenant 'acme': users[0].phone"),
    ({"name": None}, "tenant 'acme': name: is required"),
])
def test_a_rule_broken_refuses_the_directory_naming_tenant_and_field(change, message):
    with pytest.raises(BillingError) as error:
        parse(tenant("ok"), tenant("acme", **change))
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_phones_are_normalised_and_user_names_default_to_the_id():
    [t] = parse(tenant("acme", users=[{"user_id": "u", "email": "u@x.io", "role": "member", "phone": "+1 (555) 010-0001"}]))
    assert (t.users[0].phone, t.users[0].name) == ("+15550100001", "u")


def test_duplicate_tenant_and_bad_yaml_are_refused():
    with pytest.raises(BillingError, match="tenant 'acme': tenant_id: appears twice"):
        parse(tenant("acme"), tenant("acme"))
    with pytest.raises(BillingError, match="not valid YAML at line 2"):
        parse_directory("tenants:\n  - [unclosed")
    with pytest.raises(BillingError, match="expected a mapping with a 'tenants' list"):
        parse_directory("- just a list")


def test_enterprise_payment_rules_follow_the_latest_plan():
    ok = parse(tenant("big", plan="enterprise", payment_method={"type": "wire"}, country="DE"))
    assert ok[0].payment_method_type == "wire"
    with pytest.raises(BillingError, match="'invoice' is for enterprise tenants only"):
        parse(tenant("was-big", plan="enterprise", payment_method={"type": "invoice"},
                     plan_changes=[{"plan": "professional", "effective": "2026-10-01"}]))


def test_plan_timeline_prorates_days_across_changes():
    [t] = parse(tenant("demo-pro", plan="starter", plan_changes=[{"plan": "professional", "effective": "2026-11-10"}]))
    assert t.plan_on(date(2026, 11, 9)) == "starter"
    assert t.plan_on(date(2026, 11, 10)) == "professional"
    assert plan_days(t, "2026-11") == [("starter", 9), ("professional", 21)]
    assert plan_days(t, "2026-12") == [("professional", 31)]

    # The contract's example: `plan` is the plan until the first change.
    [acme] = parse(tenant("acme", plan="professional", plan_changes=[
        {"plan": "starter", "effective": "2026-09-01"}, {"plan": "professional", "effective": "2026-10-16"}]))
    assert plan_days(acme, "2026-08") == [("professional", 31)]
    assert plan_days(acme, "2026-09") == [("starter", 30)]
    assert plan_days(acme, "2026-10") == [("starter", 15), ("professional", 16)]
