"""Text from outside, shown: bidirectional controls neutralised, Markdown escaped, names bounded at import."""
import duckdb
import pytest
import yaml

from assets.aggregate import _markdown
from billing.directory import MAX_NAME, parse_directory
from billing.settings import BillingError
from billing.text import display_text, markdown_text
from tests.conftest import TODAY, tenant
from tests.test_ledger import directory, ledger  # noqa: F401 (the fixture: SQLite and PostgreSQL)


def test_display_text_removes_bidirectional_controls_and_makes_one_line():
    assert display_text("\u202eevil\u202c \u2066a\u2069\u200f\u061c") == "evil a"
    assert display_text("two\nlines\tand\x00nul\x85") == "two lines and nul "
    assert display_text("Zoë 株式会社 שלום") == "Zoë 株式会社 שלום"  # letters keep their own direction


def test_markdown_text_shows_text_literally():
    assert markdown_text("[click](http://x) *b* <img src=x> a|b `c`\n# h") == (
        r"\[click\]\(http\:\/\/x\) \*b\* \<img src\=x\> a\|b \`c\` \# h")


def test_dagster_previews_escape_ids_from_snapshots():
    con = duckdb.connect()
    con.execute("CREATE TABLE month_usage AS SELECT 'acme' AS tenant_id, '[x](http://evil)|<b>' AS user_id, 1.5 AS quantity")
    preview = _markdown(con, "month_usage")
    assert preview.splitlines()[-1] == r"| acme | \[x\]\(http\:\/\/evil\)\|\<b\> | 1\.5 |"


@pytest.mark.parametrize("change, message", [
    ({"name": "N" * (MAX_NAME + 1)}, "tenant 'acme': name: is 201 characters long, at most 200 allowed"),
    ({"users": [{"user_id": "u", "name": "N" * 200_000, "email": "u@x.io", "role": "member"}]},
     "tenant 'acme': users[0].name: is 200,000 characters long, at most 200 allowed"),
    ({"tax_id": "T" * 51}, "tenant 'acme': tax_id: is 51 characters long, at most 50 allowed"),
])
def test_names_and_tax_ids_are_bounded_at_import(change, message):
    with pytest.raises(BillingError) as error:
        parse_directory(yaml.safe_dump({"tenants": [tenant("acme", **change)]}))
    assert str(error.value) == message


def test_a_buyer_tax_id_is_optional_and_kept_by_the_ledger(ledger):  # noqa: F811
    ledger.import_directory(directory(tenant("acme", name="N" * MAX_NAME, tax_id="DE 123456789"), tenant("beta")), TODAY)
    acme, beta = ledger.tenants()
    assert (acme.tax_id, acme.name, beta.tax_id) == ("DE 123456789", "N" * MAX_NAME, None)
