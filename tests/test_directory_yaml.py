"""Directory files from outside: the YAML loader builds plain data only, and every error is one bounded line
naming tenant and field (issue 13, item 6)."""
import resource
import time

import pytest
import yaml

from billing.directory import parse_directory
from billing.settings import BillingError
from tests.conftest import tenant

ACME = "tenant_id: acme\n  name: Acme\n  plan: starter\n  payment_method: {type: card}\n"


def refused(text: str) -> str:
    with pytest.raises(BillingError) as error:
        parse_directory(text, "d.yaml")
    message = str(error.value)
    assert "\n" not in message and len(message) <= 300, message
    return message


def test_a_billion_laughs_file_is_refused_at_its_first_anchor_in_no_time_and_memory():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{chr(98 + n)}: &{chr(98 + n)} [{','.join(['*' + chr(97 + n)] * 9)}]" for n in range(8)]
    lines.append("tenants: [*i]")
    started, memory = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert refused("\n".join(lines)) == "d.yaml: not valid YAML at line 1: anchors and aliases (& and *) are not allowed"
    assert time.monotonic() - started < 1
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory < 50_000  # KiB


def test_an_alias_alone_is_refused_too():
    document = yaml.safe_dump({"tenants": [tenant("acme", budgets=[{"amount_usd": 5, "channels": ["email"]}])]})
    shared = "tenants:\n- &t " + document.split("- ", 1)[1].replace("\n", "\n  ") + "\n- *t\n"
    assert "anchors and aliases" in refused(shared)


def test_a_duplicate_key_is_refused_naming_it_and_its_line():
    first = yaml.safe_dump({"tenants": [tenant("acme")]})
    second = yaml.safe_dump({"tenants": [tenant("beta")]})
    assert refused(first + second) == f"d.yaml: not valid YAML at line {first.count(chr(10)) + 1}: key 'tenants' appears twice"
    assert "key 'plan' appears twice" in refused(first.replace("plan: professional", "plan: professional\n  plan: starter"))


def test_an_impossible_date_names_tenant_and_field():
    document = yaml.safe_dump({"tenants": [tenant("acme", plan_changes=[{"plan": "starter", "effective": "X"}])]})
    assert refused(document.replace("effective: X", "effective: 2026-02-30")) == (
        "tenant 'acme': plan_changes[0].effective: must be a date YYYY-MM-DD, got '2026-02-30'")
    for other in ("20260201", "2026-W05-1", "２０２６-02-01", "2026-02-01T00:00:00"):
        assert "must be a date YYYY-MM-DD" in refused(document.replace("effective: X", f"effective: '{other}'"))


@pytest.mark.parametrize("text", ["tenants: " + "[" * 20000, "tenants: " + "[" * 20000 + "]" * 20000,
                                  "tenants: " + "{a: " * 20000 + "1" + "}" * 20000])
def test_deep_nesting_is_one_line_not_a_recursion_error(text):
    assert refused(text) == "d.yaml: not valid YAML at line 1: nested more than 32 levels deep"


def test_an_unquoted_no_is_read_as_false_and_the_error_says_to_quote_it():
    document = yaml.safe_dump({"tenants": [tenant("acme", country="XX")]}).replace("country: XX", "country: NO")
    assert refused(document).startswith("tenant 'acme': country: must be text, got false: YAML reads an unquoted yes, no,")
    assert "write the text in quotes (country: 'NO')" in refused(document)
    [norway] = parse_directory(document.replace("country: NO", "country: 'NO'"))
    assert norway.country == "NO"


def test_values_quoted_in_an_error_are_bounded():
    huge = "x" * 300_000
    assert len(refused(yaml.safe_dump({"tenants": [tenant("acme", plan=huge)]}))) < 200
    assert len(refused(yaml.safe_dump({"tenants": [tenant(huge + "!")]}))) < 300  # two quotes of 80
    assert len(refused(yaml.safe_dump({"tenants": [[huge] * 10]}))) < 150


def test_numbers_and_dates_are_parsed_by_their_field_not_by_yaml():
    """0123 stays a user id (YAML 1.1 reads it as octal 83), +1555... keeps its plus, 0.1 is exactly 0.1."""
    text = yaml.safe_dump({"tenants": [tenant("acme", tax_rate="TAX", plan_changes=[{"plan": "starter", "effective": "E"}],
                                              users=[{"user_id": "U", "email": "a@b.io", "role": "member", "phone": "P"}])]})
    text = text.replace("'TAX'", "0.1").replace("TAX", "0.1").replace("E\n", "2026-10-16\n")
    text = text.replace("user_id: U", "user_id: 0123").replace("phone: P", "phone: +15550100001")
    [acme] = parse_directory(text)
    assert str(acme.tax_rate) == "0.1" and acme.plan_changes[0][0].isoformat() == "2026-10-16"
    assert (acme.users[0].user_id, acme.users[0].phone) == ("0123", "+15550100001")


def test_explicit_tags_are_refused():
    assert refused("tenants: !!timestamp x") == (
        "d.yaml: not valid YAML at line 1: tags like 'tag:yaml.org,2002:timestamp' are not allowed")
    assert "tags like" in refused("tenants:\n- !!binary aGk=")
