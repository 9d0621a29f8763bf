"""The streaming XLSX writer: every value type round-trips through openpyxl, text that XML
must escape or cannot carry, nulls, and the same rows give the same bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile

import pyarrow as pa
import pytest
from openpyxl import load_workbook

from tierops.exports.xlsx import column_letters, write_xlsx

TABLE = pa.table(
    {
        "customer_id": ["C1", "C2 & <co>", None, "  spaced  "],
        "tier": ["高价值用户", "成长用户", "沉睡用户", 'say "hi"'],
        "bell": ["a\x07b", "tab\there", "line\nbreak", ""],
        "orders": pa.array([3, None, 0, -7], pa.int64()),
        "amount": pa.array([2692.9, float("nan"), 0.5, 1e-05], pa.float64()),
        "member": [True, False, None, True],
        "as_of_date": pa.array(
            [dt.date(2025, 11, 30), dt.date(1999, 1, 1), None, dt.date(2024, 2, 29)]
        ),
    }
)
HEADERS = ["客户ID(customer_id)", "分层(tier)", "bell", "orders", "amount", "member", "日期"]


def _write(path, batch_rows=2):
    reader = pa.RecordBatchReader.from_batches(TABLE.schema, TABLE.to_batches(batch_rows))
    return write_xlsx(path, reader, HEADERS, sheet="tier_new_1")


def test_values_round_trip_through_openpyxl(tmp_path):
    path = tmp_path / "list.xlsx"
    assert _write(path) == 4
    wb = load_workbook(path)
    assert wb.sheetnames == ["tier_new_1"]
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0] == tuple(HEADERS)
    assert rows[1] == ("C1", "高价值用户", "ab", 3, 2692.9, True, dt.datetime(2025, 11, 30))
    assert rows[2] == (
        "C2 & <co>",
        "成长用户",
        "tab\there",
        None,
        None,
        False,
        dt.datetime(1999, 1, 1),
    )
    assert rows[3] == (None, "沉睡用户", "line\nbreak", 0, 0.5, None, None)
    # leading/trailing spaces are kept; the empty string is an empty text cell
    assert rows[4][:2] == ("  spaced  ", 'say "hi"') and rows[4][2] in ("", None)
    assert rows[4][3:] == (-7, 1e-05, True, dt.datetime(2024, 2, 29))
    # dates carry a date format, so Excel shows 2025-11-30 rather than a serial number
    assert wb.active["G2"].number_format == "yyyy\\-mm\\-dd"
    assert wb.active["G2"].is_date


def test_same_rows_give_the_same_bytes_whatever_the_batches(tmp_path):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    _write(a, batch_rows=1)
    _write(b, batch_rows=3)
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    with zipfile.ZipFile(a) as zf:
        assert zf.testzip() is None
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_empty_list_has_the_header_only(tmp_path):
    path = tmp_path / "empty.xlsx"
    reader = pa.RecordBatchReader.from_batches(TABLE.schema, [])
    assert write_xlsx(path, reader, HEADERS, sheet="empty_1") == 0
    assert list(load_workbook(path).active.iter_rows(values_only=True)) == [tuple(HEADERS)]


@pytest.mark.parametrize(
    ("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")]
)
def test_column_letters(index, letters):
    assert column_letters(index) == letters
