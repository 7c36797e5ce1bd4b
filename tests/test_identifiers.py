"""One rule for identifiers from outside, and no file written outside its folder (issue 13, item 1)."""
import pytest

from billing.directory import parse_directory
from billing.identifiers import check_identifier, inside
from billing.settings import BillingError
from billing.transports import FileTransport
from tests.conftest import tenant, write_directory
from tests.test_cli import fails

HOSTILE_USER_ID = "../../../../tmp/x/OWNED"


@pytest.mark.parametrize("value", ["acme", "acme-u1", "u.1", "pm_card_visa", "a:b@c", "0123", "x" * 128])
def test_identifiers_that_pass(value):
    assert check_identifier("user_id", value) == value


@pytest.mark.parametrize("value", [
    HOSTILE_USER_ID, "..", ".hidden", "a/b", "a\\b", "u\0", "u\n", "u\u202e", "ａｃｍｅ", "acme ", "", None, 12,
    "-rf", "x" * 129, "é",
])
def test_identifiers_that_are_refused_name_the_field_and_quote_the_value(value):
    with pytest.raises(BillingError, match=r"^user_id .* may hold letters, digits and \. _ : @ - only") as error:
        check_identifier("user_id", value)
    assert "\n" not in str(error.value) and len(str(error.value)) < 250


@pytest.mark.parametrize("field, change", [
    ("tenant_id", {"tenant_id": "../acme"}),
    ("users[0].user_id", {"users": [{"user_id": HOSTILE_USER_ID, "email": "a@b.io", "role": "tenant_admin"}]}),
    ("users[0].user_id", {"users": [{"user_id": "u\0", "email": "a@b.io", "role": "tenant_admin"}]}),
    ("payment_method.stripe_payment_method", {"payment_method": {"type": "card", "stripe_payment_method": "pm/../x"}}),
])
def test_the_directory_checks_every_identifier_with_the_rule(field, change):
    import yaml

    with pytest.raises(BillingError, match=rf"^tenant '[^']*': {field.replace('[', '.').replace(']', '.')}: .* may hold"):
        parse_directory(yaml.safe_dump({"tenants": [{**tenant("acme"), **change}]}))


def test_a_hostile_user_id_is_refused_by_the_import_and_nothing_is_written(tmp_path):
    home = tmp_path / "home"
    hostile = tenant("acme", users=[{"user_id": HOSTILE_USER_ID, "email": "a@b.io", "role": "tenant_admin"}])
    message = fails("tenants", "import", str(write_directory(tmp_path / "d.yaml", [hostile])), home=home)
    assert message.startswith("billing: error: tenant 'acme': users[0].user_id: '../../../../tmp/x/OWNED' may hold")
    assert not (home / "ledger.sqlite").exists()


def test_outbox_files_are_named_by_a_hash_and_stay_in_the_outbox(tmp_path):
    """A user id that reached the ledger before the rule (or by another door) cannot steer the file."""
    outbox = tmp_path / "home" / "outbox"
    transport = FileTransport(outbox, "billing@localhost")
    written = transport.send("email", "a@b.io", "alert", "body", f"alert-1:email:{HOSTILE_USER_ID}")
    assert transport.send("email", "a@b.io", "alert", "body", f"alert-1:email:{HOSTILE_USER_ID}") == written  # same file
    transport.send("sms", "+15550100001", "alert", "body", "alert-1:sms:../../x/OWNED\0")
    everything = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert len(everything) == 2 and all(p.startswith("home/outbox/") for p in everything), everything
    assert all(len(p.rsplit("/", 1)[1]) == 36 for p in everything)  # 32 hex digits and the extension


def test_a_path_that_resolves_outside_its_folder_is_refused(tmp_path):
    outbox, elsewhere = tmp_path / "outbox", tmp_path / "elsewhere"
    outbox.mkdir()
    elsewhere.mkdir()
    (outbox / "email").symlink_to(elsewhere)
    with pytest.raises(BillingError, match="refused to write .*outside"):
        FileTransport(outbox, "billing@localhost").send("email", "a@b.io", "alert", "body", "alert-1:email:u1")
    assert list(elsewhere.iterdir()) == []
    for name in ("../x", "/etc/passwd", "a/../../x", "."):
        with pytest.raises(BillingError, match="refused to write"):
            inside(outbox, name)
    assert inside(outbox, "sms/../a.txt") == (outbox / "a.txt").resolve()
