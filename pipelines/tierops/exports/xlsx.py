"""A streaming XLSX writer for lists: one sheet, the cells built column by column with Arrow.

An XLSX file is a zip of XML parts; a list needs only a workbook with one worksheet and a style
for dates. Building every cell through a spreadsheet library costs a Python call per cell
(openpyxl: about 100 µs, so a 1 M-row list took most of an hour); here each batch's cells are
built with Arrow string kernels a column at a time and streamed into the zip, about a hundred
times faster. Strings are inline strings, numbers numeric cells, booleans boolean cells, dates
Excel dates shown as yyyy-mm-dd. Zip entry times are fixed, so the same rows always give the
same bytes (re-runs are byte-identical). Excel, WPS, LibreOffice and openpyxl read the result.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tierops.lib.files import atomic_path

SHEET_MAX_ROWS = 1_048_575  # Excel's 1,048,576 rows per sheet, less the header row
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_EXCEL_EPOCH_DAYS = 25_569  # 1970-01-01 as an Excel serial date (1900 date system)
# characters XML 1.0 does not allow (tab, newline and carriage return are allowed)
_ILLEGAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_CONTENT_TYPES = (
    _DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    _DECL + f'<Relationships xmlns="{_PKG_REL}">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    _DECL + f'<Relationships xmlns="{_PKG_REL}">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    "</Relationships>"
)
# style 0: general; 1: date (yyyy-mm-dd); 2: date and time
_STYLES = (
    _DECL + f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy\\-mm\\-dd\\ hh:mm:ss"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _workbook(sheet: str) -> str:
    return (
        _DECL + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
        f'<sheet name="{_escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )


def column_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _text(values: pa.Array) -> pa.Array:
    """XML-escaped text (characters XML cannot carry are dropped)."""
    values = pc.replace_substring_regex(values, _ILLEGAL, "")
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        values = pc.replace_substring(values, raw, escaped)
    return values


def _cells(column: pa.Array, ref: pa.Array) -> pa.Array:
    """`<c …>` per value of one column (an empty string for nulls: the cell is left out)."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_boolean(kind):
        value, attrs = pc.if_else(column, "1", "0"), '" t="b"><v>'
        close = "</v></c>"
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        if pa.types.is_floating(kind):
            column = pc.if_else(pc.is_finite(column), column, pa.scalar(None, kind))
        value, attrs, close = column.cast(pa.string()), '"><v>', "</v></c>"
    elif pa.types.is_date(kind):
        days = pc.add(column.cast(pa.date32()).cast(pa.int32()), _EXCEL_EPOCH_DAYS)
        value, attrs, close = days.cast(pa.string()), '" s="1"><v>', "</v></c>"
    elif pa.types.is_timestamp(kind):
        seconds = column.cast(pa.timestamp("us", tz=kind.tz)).cast(pa.int64())
        serial = pc.add(pc.divide(seconds.cast(pa.float64()), 86_400_000_000.0), _EXCEL_EPOCH_DAYS)
        value, attrs, close = serial.cast(pa.string()), '" s="2"><v>', "</v></c>"
    else:
        value = _text(column.cast(pa.string()))
        attrs, close = '" t="inlineStr"><is><t xml:space="preserve">', "</t></is></c>"
    cell = pc.binary_join_element_wise('<c r="', ref, attrs, value, close, "")
    return pc.fill_null(cell, "")


def _rows(batch: pa.RecordBatch, first_row: int) -> bytes:
    """The batch as `<row>` elements, numbered from `first_row` (1-based, header is row 1)."""
    numbers = pa.array(range(first_row, first_row + batch.num_rows), pa.int64()).cast(pa.string())
    cells = [
        _cells(column, pc.binary_join_element_wise(column_letters(i), numbers, ""))
        for i, column in enumerate(batch.columns)
    ]
    rows = pc.binary_join_element_wise('<row r="', numbers, '">', *cells, "</row>", "")
    return "".join(rows.to_pylist()).encode("utf-8")


def _header(headers: list[str]) -> bytes:
    cells = "".join(
        f'<c r="{column_letters(i)}1" t="inlineStr"><is><t xml:space="preserve">'
        f"{_escape(h)}</t></is></c>"
        for i, h in enumerate(headers)
    )
    return f'<row r="1">{cells}</row>'.encode()


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def write_xlsx(
    path: Path, reader: pa.RecordBatchReader, headers: list[str], sheet: str = "list"
) -> int:
    """One sheet named `sheet` with a header row, then every row of `reader` (at most
    SHEET_MAX_ROWS: callers cap longer lists). Returns the number of data rows."""
    rows = 0
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (
            ("[Content_Types].xml", _CONTENT_TYPES),
            ("_rels/.rels", _ROOT_RELS),
            ("xl/workbook.xml", _workbook(sheet[:31])),
            ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
            ("xl/styles.xml", _STYLES),
        ):
            zf.writestr(_entry(name), text)
        with zf.open(_entry("xl/worksheets/sheet1.xml"), "w", force_zip64=True) as out:
            out.write(f'{_DECL}<worksheet xmlns="{_MAIN}"><sheetData>'.encode())
            out.write(_header(headers))
            for batch in reader:
                if rows + batch.num_rows > SHEET_MAX_ROWS:
                    raise ValueError(
                        f"{path.name}: more than {SHEET_MAX_ROWS:,} rows do not fit one sheet"
                    )
                if batch.num_rows:
                    out.write(_rows(batch, rows + 2))
                rows += batch.num_rows
            out.write(b"</sheetData></worksheet>")
    return rows
