from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError

from svyaz.dataquality import parsing
from tests.dataquality.conftest import RU_HEADER, csv_bytes, xlsx_bytes


def _inspect(content: bytes, name: str = "people.csv") -> parsing.FileInfo:
    return parsing.inspect_file(io.BytesIO(content), name, len(content))


def _rows(content: bytes, name: str = "people.csv") -> list[parsing.Row]:
    info = _inspect(content, name)
    return list(parsing.iter_rows(io.BytesIO(content), info.kind, info.encoding, info.delimiter))


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1251", "cp1251")],
)
@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_it_detects_encoding_and_delimiter(ru_rows, encoding, expected, delimiter):
    content = csv_bytes(ru_rows, delimiter=delimiter, encoding=encoding)
    info = _inspect(content)
    assert info.encoding == expected
    assert info.delimiter == delimiter
    assert info.headers == RU_HEADER
    assert info.total_rows == 3
    rows = _rows(content)
    assert rows[0].cells[:3] == ["Иванов", "Иван", "Иванович"]
    assert rows[0].number == 2
    assert all(not r.problems for r in rows)


def test_it_reads_quoted_cells_with_delimiters_inside():
    content = 'Имя;Описание\r\nИван;"много; всего ""разного"""\r\n'.encode("cp1251")
    rows = _rows(content)
    assert rows[0].cells == ["Иван", 'много; всего "разного"']


def test_a_broken_csv_yields_row_problems_not_a_crash():
    content = (
        b"Name;Phone;Email\r\n"
        b"Ann;+79161234567;ann@example.com\r\n"
        b"Bob;+79161234568\r\n"  # ragged: too few cells
        b"Cid;1;2;3;4\r\n"  # ragged: too many cells
        b"Dan;\x01\x02\xff\xfe;x\r\n"  # binary junk
        b'Eve;"unclosed;eve@example.com\r\n'  # stray quote swallows the rest
        b"Fay;+79161234569;fay@example.com\r\n"
    )
    rows = _rows(content)
    by_name = {r.cells[0]: r for r in rows}
    assert not by_name["Ann"].problems
    assert by_name["Bob"].problems and by_name["Cid"].problems and by_name["Dan"].problems
    assert any(r.problems for r in rows if r.cells[0] == "Eve")


def test_it_reads_xlsx_rows_with_numbers_as_text():
    content = xlsx_bytes([["Name", "Phone"], ["Ann", 79161234567], [None, None], ["Bob", "x"]])
    info = _inspect(content, "people.xlsx")
    assert info.kind == "xlsx" and info.headers == ["Name", "Phone"] and info.total_rows == 2
    rows = _rows(content, "people.xlsx")
    assert rows[0].cells == ["Ann", "79161234567"]
    assert rows[1].number == 4


def test_it_refuses_a_zip_bomb():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(ValidationError, match="zip bomb"):
        _inspect(buf.getvalue(), "bomb.xlsx")


def test_it_refuses_a_zip_that_unpacks_past_the_limit(settings):
    settings.SVYAZ_IMPORT_XLSX_MAX_UNPACKED = 1000
    content = xlsx_bytes([["Name"], ["Ann"]])
    with pytest.raises(ValidationError, match="too much data"):
        _inspect(content, "big.xlsx")


def test_it_refuses_a_fake_xlsx_that_is_text():
    with pytest.raises(ValidationError, match="not an Excel workbook"):
        _inspect(b"Name;Phone\r\nAnn;1\r\n", "people.xlsx")


def test_it_refuses_a_zip_without_content_types():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(ValidationError, match="not an Excel workbook"):
        _inspect(buf.getvalue(), "people.xlsx")


def test_it_refuses_a_binary_file_named_csv():
    with pytest.raises(ValidationError, match="not a text"):
        _inspect(b"\x00\x01\x02binary" * 10, "people.csv")
    with pytest.raises(ValidationError, match="zip archive"):
        _inspect(xlsx_bytes([["a"]]), "people.csv")


def test_it_enforces_size_and_row_limits(settings, ru_rows):
    content = csv_bytes(ru_rows)
    settings.SVYAZ_IMPORT_MAX_ROWS = 2
    with pytest.raises(ValidationError, match="limit is 2"):
        _inspect(content)
    settings.SVYAZ_IMPORT_MAX_BYTES = 10
    with pytest.raises(ValidationError, match="too big"):
        _inspect(content)


def test_it_refuses_other_extensions_and_empty_files():
    with pytest.raises(ValidationError):
        _inspect(b"hello", "people.doc")
    with pytest.raises(ValidationError, match="empty"):
        _inspect(b"", "people.csv")
