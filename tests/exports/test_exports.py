"""Exported files: formats, PII handling and destinations (local, file:// and fsspec memory://)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re

import fsspec
import pyarrow.parquet as pq
import pytest
import yaml
from openpyxl import load_workbook

from tests.conftest import SMALL_END, SMALL_START, _activate, make_home
from tests.helpers import failure_messages, run_range

FULL_PHONE = re.compile(r"(?<!\d)1\d{10}(?!\d)")
FULL_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{2,}@[A-Za-z0-9.-]+\.[a-z]{2,}")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
MEMORY_ROOT = "memory://tierops-export-test"
GRACE_DAYS = 10
XLSX_MAX_ROWS = 400  # the CRM sync list (every customer) is longer: it gets no XLSX
LEVEL_RANK = {"diamond": 4, "gold": 3, "silver": 2, "regular": 1}
TIER_RANK = {"high_value": 4, "growth": 3, "churn_risk": 2, "new": 2, "dormant": 1}


@pytest.fixture(scope="module")
def exported(tmp_path_factory, small_landing):
    landing, _ = small_landing
    root = tmp_path_factory.mktemp("exports")
    home = make_home(root, landing_from=landing)
    share = root / "share"
    config = {
        "pii": {"salt_env": "TIEROPS_TEST_SALT"},
        "xlsx_max_rows": XLSX_MAX_ROWS,
        "destinations": [
            {"name": "local", "url": "", "trusted": False},
            {"name": "share", "url": share.as_uri(), "trusted": False},
            {"name": "crm_vault", "url": MEMORY_ROOT, "trusted": True},
        ],
    }
    (home.config_dir / "destinations.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    crm = yaml.safe_load((home.config_dir / "crm.yaml").read_text(encoding="utf-8"))
    crm["grace_days"] = GRACE_DAYS
    (home.config_dir / "crm.yaml").write_text(
        yaml.safe_dump(crm, allow_unicode=True), encoding="utf-8"
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        _activate(home, monkeypatch)
        monkeypatch.setenv("TIEROPS_TEST_SALT", "pepper")
        result = run_range(SMALL_START, SMALL_END)
        assert result.success, failure_messages(result)
        yield home, share / SMALL_END.isoformat()


def _manifest(folder) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def _cells(path) -> list[list[str]]:
    if path.suffix == ".csv":
        return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    if path.suffix == ".xlsx":
        wb = load_workbook(path, read_only=True)
        return [
            ["" if v is None else str(v) for v in row]
            for ws in wb.worksheets
            for row in ws.iter_rows(values_only=True)
        ]
    table = pq.read_table(path)
    return [table.column_names] + [
        ["" if v is None else str(v) for v in row]
        for row in zip(*(c.to_pylist() for c in table.columns), strict=True)
    ]


def test_masked_files_contain_no_full_phone_or_email(exported):
    home, _ = exported
    day_dir = home.outputs / SMALL_END.isoformat()
    manifest = _manifest(day_dir)
    assert manifest["pii"] == {"csv_xlsx": "masked", "parquet": "sha256(salt || value)"}
    masked_seen = hashed_seen = 0
    formats = set()
    for entry in manifest["files"]:
        path = day_dir / entry["path"]
        formats.add(path.suffix)
        rows = _cells(path)
        assert len(rows) - 1 == entry["rows"], entry["path"]
        header = rows[0]
        for row in rows[1:]:
            for name, cell in zip(header, row, strict=True):
                if name.endswith("_sha256") and cell:
                    assert SHA256.match(cell)  # a hash (hex digits may look like a phone)
                    hashed_seen += 1
                    continue
                assert not FULL_PHONE.search(cell), (entry["path"], cell)
                assert not FULL_EMAIL.search(cell), (entry["path"], cell)
                if "****" in cell:
                    masked_seen += 1
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    assert formats == {".csv", ".xlsx", ".parquet"}
    assert masked_seen > 100 and hashed_seen > 100


def test_system_files_hash_contacts_with_the_configured_salt(exported):
    home, _ = exported
    import duckdb

    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        phones = dict(
            con.execute(
                "select customer_id, phone from customer_contacts where phone is not null"
            ).fetchall()
        )
    finally:
        con.close()
    table = pq.read_table(home.outputs / SMALL_END.isoformat() / "audiences/tier_growth.parquet")
    rows = [r for r in table.to_pylist() if r["phone_sha256"]]
    assert rows
    for r in rows:
        expected = hashlib.sha256(("pepper" + phones[r["customer_id"]]).encode()).hexdigest()
        assert r["phone_sha256"] == expected


def test_xlsx_holds_the_same_rows_as_csv(exported):
    home, _ = exported
    day_dir = home.outputs / SMALL_END.isoformat()
    for name in ("audiences/tier_churn_risk", "actions/cr_winback_coupon"):
        from_csv = _cells(day_dir / f"{name}.csv")
        from_xlsx = _cells(day_dir / f"{name}.xlsx")
        assert from_xlsx[0] == from_csv[0]
        assert [r[0] for r in from_xlsx[1:]] == [r[0] for r in from_csv[1:]]
        assert len(from_csv) > 1


def test_lists_longer_than_the_xlsx_cap_get_csv_and_parquet_only(exported):
    home, _ = exported
    day_dir = home.outputs / SMALL_END.isoformat()
    manifest = _manifest(day_dir)
    assert manifest["xlsx_max_rows"] == XLSX_MAX_ROWS
    rows = {e["path"].rsplit(".", 1)[0]: e["rows"] for e in manifest["files"]}
    xlsx = {e["path"] for e in manifest["files"] if e["path"].endswith(".xlsx")}
    long_lists = {name for name, n in rows.items() if n > XLSX_MAX_ROWS}
    assert "crm/membership_sync" in long_lists
    assert set(manifest["xlsx_not_written"]) == {f"{name}.xlsx" for name in long_lists}
    assert (
        f"{rows['crm/membership_sync']:,} rows > xlsx_max_rows 400"
        in (manifest["xlsx_not_written"]["crm/membership_sync.xlsx"])
    )
    for name in rows:
        assert (f"{name}.xlsx" in xlsx) == (name not in long_lists), name
        assert (day_dir / f"{name}.xlsx").exists() == (name not in long_lists), name
        assert (day_dir / f"{name}.csv").exists() and (day_dir / f"{name}.parquet").exists()


def test_file_url_destination_gets_the_same_files(exported):
    home, share_day = exported
    local = _manifest(home.outputs / SMALL_END.isoformat())
    shared = _manifest(share_day)
    assert shared["destination"] == "share"
    assert [(f["path"], f["sha256"]) for f in shared["files"]] == [
        (f["path"], f["sha256"]) for f in local["files"]
    ]
    for entry in shared["files"]:
        assert (
            hashlib.sha256((share_day / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
        )


def test_trusted_fsspec_destination_gets_clear_contacts(exported):
    fs = fsspec.filesystem("memory")
    day = f"{MEMORY_ROOT.removeprefix('memory://')}/{SMALL_END.isoformat()}"
    manifest = json.loads(fs.cat_file(f"{day}/manifest.json"))
    assert manifest["trusted"] is True and manifest["pii"]["csv_xlsx"] == "clear"
    clear_phones = 0
    for entry in manifest["files"]:
        data = fs.cat_file(f"{day}/{entry['path']}")
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        if entry["path"].endswith(".csv"):
            clear_phones += len(FULL_PHONE.findall(data.decode("utf-8-sig")))
    assert clear_phones > 100


def test_membership_level_is_the_best_level_of_the_grace_period(exported):
    home, _ = exported
    import duckdb

    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        tiers = con.execute(
            "select customer_id, as_of_date, tier_code from tier_assignments where is_primary "
            "order by customer_id, as_of_date"
        ).fetchall()
        levels = {
            (c, d): (lv, prev, ch, grace)
            for c, d, lv, prev, ch, grace in con.execute(
                "select customer_id, as_of_date, level_code, previous_level_code, change, "
                "in_grace from crm_membership"
            ).fetchall()
        }
    finally:
        con.close()
    by_customer: dict[str, list] = {}
    for customer, day, tier in tiers:
        by_customer.setdefault(customer, []).append((day, TIER_RANK[tier]))
    seen = {"upgrade": 0, "downgrade": 0, "grace": 0}
    for customer, days in by_customer.items():
        previous = None
        for day, rank in days:
            best = max(r for d, r in days if 0 <= (day - d).days < GRACE_DAYS)
            level, prev_level, change, grace = levels[(customer, day)]
            assert LEVEL_RANK[level] == best, (customer, day)
            assert grace == (best > rank)
            if previous is None or (day - previous[0]).days != 1:
                assert change == "new" and prev_level is None
            else:
                assert prev_level == previous[1]
                expected = (
                    "upgrade"
                    if best > LEVEL_RANK[previous[1]]
                    else "downgrade"
                    if best < LEVEL_RANK[previous[1]]
                    else "unchanged"
                )
                assert change == expected
                seen[change] = seen.get(change, 0) + 1
            seen["grace"] += grace
            previous = (day, level)
    assert len(levels) == len(tiers)
    assert seen["upgrade"] > 0 and seen["downgrade"] > 0 and seen["grace"] > 0, seen


def test_crm_sync_file_lists_levels_benefits_and_changes(exported):
    home, _ = exported
    day_dir = home.outputs / SMALL_END.isoformat()
    full = pq.read_table(day_dir / "crm/membership_sync.parquet").to_pylist()
    changes = pq.read_table(day_dir / "crm/membership_changes.parquet").to_pylist()
    manifest = _manifest(day_dir)
    assert len(full) == manifest["customers"]
    assert manifest["crm_version"] == "crm-v1"
    assert changes == [r for r in full if r["change"] != "unchanged"]
    multiplier = {"diamond": 3.0, "gold": 2.0, "silver": 1.5, "regular": 1.0}
    for r in full:
        assert r["points_multiplier"] == multiplier[r["level_code"]]
        assert r["dedicated_service"] == (r["level_code"] == "diamond")
        assert LEVEL_RANK[r["level_code"]] >= TIER_RANK[r["tier_code"]]
    from_csv = _cells(day_dir / "crm/membership_sync.csv")
    assert len(from_csv) - 1 == len(full)
