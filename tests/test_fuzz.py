"""Property-based tests of the readers of outside input (issue 13, item 9): whatever the snapshot files or
the directory file hold, the outcome is accepted rows, quarantine rows with their reasons, or a one-line
BillingError that changed nothing; never another exception, never a row unaccounted for.

Bounded for CI: a fixed number of examples each (about a minute in all on two cores), no deadline (an ingestion
takes a fraction of a second, more on a busy machine), the same examples each run; HYPOTHESIS_PROFILE=long
runs ten times as many, random ones.
"""
import csv
import io
import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from billing.directory import parse_directory
from billing.ledger import Ledger
from billing.settings import BillingError
from tests.conftest import COLUMNS, TODAY, Metering, tenant

SCALE = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 1
BOUNDED = dict(deadline=None, derandomize=SCALE == 1, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
REASONS = {"missing event_id", "bad timestamp", "unknown tenant", "unknown service", "unknown metric",
           "unknown workload", "non-numeric quantity", "negative quantity",
           "event_id seen before with different content", "duplicate key in a JSON line", "NUL character in an id"}
DAY = "2026-10-01"

# Values near the rules (valid, almost valid) mixed with any text: quotes, separators, line breaks, NUL, any script.
ANY_TEXT = st.text(max_size=12)
FIELDS = {
    "event_id": st.one_of(st.sampled_from(["e1", "e2", "e3", " e1 ", ""]), ANY_TEXT),
    "occurred_at": st.one_of(st.sampled_from(["2026-10-01T10:00:00Z", "2026-10-01T10:00:00+01:00", "2026-10-01 10:00",
                                              "2026-02-30T00:00:00Z", "2026-10-01t10:00:00z", "yesterday"]), ANY_TEXT),
    "tenant_id": st.one_of(st.sampled_from(["acme", "beta", "ghost", "ACME", "acme\0"]), ANY_TEXT),
    "user_id": st.one_of(st.none(), st.sampled_from(["acme-u1", "u\0", "../../x"]), ANY_TEXT),
    "service": st.one_of(st.sampled_from(["ai_service", "query_engine", "ml_service", "billing"]), ANY_TEXT),
    "metric": st.one_of(st.sampled_from(["llm_tokens", "sql_queries", "storage_gb", "api_requests", "compute_minutes"]),
                        ANY_TEXT),
    "workload": st.one_of(st.none(), st.sampled_from(["training", "serving", "inference"]), ANY_TEXT),
    "quantity": st.one_of(st.sampled_from(["1", "0.5", "-1", "NaN", "1e3", "1e400", "12 tokens", "", "0x10"]), ANY_TEXT),
}
ROWS = st.lists(st.fixed_dictionaries(FIELDS), max_size=8)
# File names as exporters make them, and with what DuckDB would read as a pattern.
NAMES = st.sampled_from(["part-0000", "part-1", "part-[1]", "part-*", "part-?", "part-[!p]", "drop (2)", "a\\b", "päivä"])
# A JSON object written by hand: keys may repeat.
JSON_PAIRS = st.lists(st.tuples(st.sampled_from(COLUMNS + ["other"]), st.one_of(st.none(), ANY_TEXT)), max_size=10).map(
    lambda pairs: "{" + ", ".join(f"{json.dumps(key)}: {json.dumps(value)}" for key, value in pairs) + "}")


def write_rows(folder: Path, rows: list[dict], fmt: str, name: str = "part-0000") -> None:
    """Rows as a well-formed file of the format (the writer of each format's own library)."""
    path = folder / f"{name}.{fmt}"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180: a field with \r or \n in it is quoted
        writer.writerow(COLUMNS)
        writer.writerows([["" if row[c] is None else row[c] for c in COLUMNS] for row in rows])
        path.write_bytes(out.getvalue().encode())
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    else:
        pq.write_table(pa.table({c: pa.array([row[c] for row in rows], pa.string()) for c in COLUMNS}), path)


class Day:
    """One arrival day of a warehouse, ingested again and again: its partition is what the last success left."""

    def __init__(self, home: Path):
        self.metering = Metering(home)
        self.metering.import_tenants(tenant("acme"), tenant("beta", plan="starter"))
        self.folder = self.metering.root / f"dt={DAY}"
        self.link = self.metering.settings.warehouse_dir / "events" / DAY
        self.versions = self.metering.settings.warehouse_dir / ".versions" / "events"

    def refill(self) -> Path:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        return self.folder

    def state(self):
        return (os.readlink(self.link) if self.link.is_symlink() else None,
                sorted(p.name for p in self.versions.iterdir()) if self.versions.exists() else [])

    def ingest(self):
        """The result, or the error message after checking that the error changed nothing."""
        before = self.state()
        try:
            result = self.metering.ingest(DAY)
        except BillingError as error:
            message = str(error)
            assert message and "\n" not in message and len(message) < 1000, message
            assert self.state() == before
            return message
        assert result.rows_read == result.accepted + result.duplicates + result.quarantined
        assert result.rows_read == sum(result.file_rows.values())
        assert sum(result.quarantine_reasons.values()) == result.quarantined
        assert set(result.quarantine_reasons) <= REASONS, result.quarantine_reasons
        stored = self.metering.query("SELECT count(*), count(*) FILTER (status = 'quarantined' AND reason IS NULL) "
                                     "FROM events WHERE arrival_day = ?", DAY)
        assert stored == [(result.rows_read, 0)]
        return result


def test_well_formed_snapshot_files_have_every_row_accounted_for(billing_home):
    day = Day(billing_home)

    @settings(max_examples=25 * SCALE, **BOUNDED)
    @given(files=st.dictionaries(st.tuples(NAMES, st.sampled_from(["csv", "jsonl", "parquet"])), ROWS, min_size=1,
                                 max_size=3))
    def check(files):
        folder = day.refill()
        for (name, fmt), rows in files.items():
            write_rows(folder, rows, fmt, name)
        outcome = day.ingest()
        assert not isinstance(outcome, str), outcome  # a well-formed file is always read
        assert outcome.file_rows == {f"{name}.{fmt}": len(rows) for (name, fmt), rows in files.items() if rows}

    check()


def test_any_bytes_in_a_snapshot_file_end_as_rows_or_one_line(billing_home):
    day = Day(billing_home)
    header = ",".join(COLUMNS).encode()

    @settings(max_examples=25 * SCALE, **BOUNDED)
    @given(body=st.binary(max_size=300), fmt=st.sampled_from(["csv", "jsonl", "parquet"]), with_header=st.booleans())
    def check(body, fmt, with_header):
        (day.refill() / f"part-0000.{fmt}").write_bytes(header + b"\n" + body if with_header and fmt == "csv" else body)
        day.ingest()

    check()


def test_any_text_as_a_json_line_or_csv_row_ends_as_rows_or_one_line(billing_home):
    day = Day(billing_home)
    header = ",".join(COLUMNS)
    json_ish = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
                            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                            max_leaves=8)

    @settings(max_examples=25 * SCALE, **BOUNDED)
    @given(lines=st.lists(st.one_of(st.text(max_size=60), json_ish.map(json.dumps), JSON_PAIRS,
                                    st.fixed_dictionaries(FIELDS).map(json.dumps)), max_size=5),
           fmt=st.sampled_from(["csv", "jsonl"]))
    def check(lines, fmt):
        text = "\n".join(([header] if fmt == "csv" else []) + lines) + "\n"
        (day.refill() / f"part-0000.{fmt}").write_text(text, encoding="utf-8")
        day.ingest()

    check()


# The directory: a valid tenant with any of its fields replaced by any YAML value, or any text at all.
YAML_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
              st.sampled_from(["NO", "2026-02-30", "2026-10-01", "../../x", "enterprise", "card", "wire", "-1", "0.2"])),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10)
TENANT_FIELDS = ["tenant_id", "name", "country", "plan", "plan_changes", "contract_monthly_fee", "tax_rate",
                 "payment_method", "budgets", "users"]


def ledger_rows(ledger: Ledger):
    import sqlalchemy as sa

    with ledger.engine.connect() as con:
        return [con.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1, 2")).fetchall() for table in ("tenants", "users")]


def outcome_of(text: str, ledger: Ledger):
    """Tenants imported, or a one-line error and the ledger as it was."""
    before = ledger_rows(ledger)
    try:
        tenants = parse_directory(text, "d.yaml")
        ledger.import_directory(tenants, TODAY)
        return tenants
    except BillingError as error:
        assert "\n" not in str(error) and len(str(error)) < 400, str(error)
        assert ledger_rows(ledger) == before
        return str(error)


def test_a_directory_with_any_field_changed_imports_or_fails_in_one_line(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    ledger.migrate()

    @settings(max_examples=150 * SCALE, **BOUNDED)
    @given(changes=st.dictionaries(st.sampled_from(TENANT_FIELDS), YAML_VALUES, max_size=3),
           user_changes=st.dictionaries(st.sampled_from(["user_id", "email", "role", "phone", "name"]), YAML_VALUES,
                                        max_size=2))
    def check(changes, user_changes):
        user = {"user_id": "u1", "email": "a@b.io", "role": "tenant_admin", **user_changes}
        outcome_of(yaml.safe_dump({"tenants": [tenant("ok"), {**tenant("acme", users=[user]), **changes}]}), ledger)

    check()


# Plain YAML scalars and syntax that a careless or hostile hand writes where a value goes.
RAW_YAML = st.sampled_from(["2026-02-30", "2026-10-01", "2026-10-01 10:00:00", "NO", "yes", "~", "0123", "0x1F", "1e400",
                            ".inf", ".nan", "1_000", "+15550100001", "!!binary aGk=", "!!python/object:os.system",
                            "!!timestamp x", "&a x", "*a", "[", "{a: 1, a: 2}", "<<: {a: 1}", "|", "? [a]", "'", '"\\0"'])


def test_any_text_as_a_directory_imports_or_fails_in_one_line(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    ledger.migrate()
    valid = yaml.safe_dump({"tenants": [tenant("acme", plan_changes=[{"plan": "starter", "effective": "2026-10-01"}],
                                               budgets=[{"amount_usd": 600, "channels": ["email"]}])]})
    lines = valid.splitlines()

    def replace_value(choice):
        index, raw = choice
        key = lines[index].partition(": ")[0]
        return "\n".join(lines[:index] + [f"{key}: {raw}"] + lines[index + 1:])

    @settings(max_examples=150 * SCALE, **BOUNDED)
    @given(text=st.one_of(st.text(max_size=200), st.text(alphabet="[]{}:,-&*!|>'\"#% \n\tab0", max_size=200),
                          st.tuples(st.integers(0, len(valid)), st.text(max_size=20)).map(
                              lambda cut: valid[:cut[0]] + cut[1] + valid[cut[0]:]),
                          st.tuples(st.integers(0, len(lines) - 1), st.one_of(RAW_YAML, ANY_TEXT)).map(replace_value)))
    def check(text):
        outcome_of(text, ledger)

    check()
