"""Reading uploaded CSV and XLSX files as a stream of rows, never the whole file in memory.

`inspect_file` refuses what must not be parsed (a zip bomb, a file that is not what its
extension claims, a file over the size or row limits) and detects encoding and delimiter;
`iter_rows` then yields `Row`s, each with its problems, so a broken row becomes a line in
the report, never a crash.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SAMPLE_BYTES = 64 * 1024
MAX_CELL_CHARS = 10_000
DELIMITERS = (";", ",", "\t")
# Cyrillic single-byte encodings charset-normalizer may name for a Russian Excel file.
CYRILLIC = {"cp1251", "windows-1251", "koi8_r", "koi8-r", "cp866", "mac_cyrillic"}
_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")


def limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


@dataclass
class FileInfo:
    kind: str  # "csv" | "xlsx"
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)
    total_rows: int = 0


@dataclass
class Row:
    number: int  # as a spreadsheet shows it: the header is row 1
    cells: list[str]
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column, message)


# --- refusing before parsing -----------------------------------------------------------


def check_xlsx_container(fh: IO[bytes]) -> None:
    """An XLSX is a zip holding [Content_Types].xml, and not a zip bomb."""
    fh.seek(0)
    head = fh.read(4)
    fh.seek(0)
    if head != b"PK\x03\x04":
        raise ValidationError(_("This file is not an Excel workbook (.xlsx), whatever its name."))
    try:
        with zipfile.ZipFile(fh) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            if "[Content_Types].xml" not in names:
                raise ValidationError(_("This zip file is not an Excel workbook (.xlsx)."))
            if len(infos) > limit("SVYAZ_IMPORT_XLSX_MAX_ENTRIES", 1000):
                raise ValidationError(_("The workbook has too many parts; refused."))
            total = sum(i.file_size for i in infos)
            packed = sum(i.compress_size for i in infos) or 1
            if total > limit("SVYAZ_IMPORT_XLSX_MAX_UNPACKED", 500 * 1024 * 1024):
                raise ValidationError(_("The workbook unpacks to too much data; refused."))
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > 1024 * 1024 and ratio > limit(
                    "SVYAZ_IMPORT_XLSX_MAX_RATIO", 100
                ):
                    raise ValidationError(
                        _("The workbook is compressed suspiciously well (a zip bomb?); refused.")
                    )
            if total / packed > limit("SVYAZ_IMPORT_XLSX_MAX_RATIO", 100) and total > 1024 * 1024:
                raise ValidationError(
                    _("The workbook is compressed suspiciously well (a zip bomb?); refused.")
                )
    except zipfile.BadZipFile as exc:
        raise ValidationError(_("The workbook is damaged and cannot be read.")) from exc
    finally:
        fh.seek(0)


def check_csv_content(head: bytes) -> None:
    if head.startswith(b"PK\x03\x04"):
        raise ValidationError(_("This file is a zip archive (an Excel workbook?), not a CSV."))
    if b"\x00" in head[:1024]:
        raise ValidationError(_("This file is not a text (CSV) file, whatever its name."))


# --- detection -------------------------------------------------------------------------


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when it decodes strictly; else what charset-normalizer
    finds among Cyrillic code pages; else Windows-1251, the Russian Excel default."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    name = (best.encoding if best else "").lower()
    if name in CYRILLIC and name != "mac_cyrillic":
        return name.replace("windows-", "cp").replace("-", "_")
    return "cp1251"


def detect_delimiter(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        return ";"
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters="".join(DELIMITERS))
        if dialect.delimiter in DELIMITERS:
            return dialect.delimiter
    except csv.Error:
        pass
    # Fallback: the delimiter present on the header line and most consistent below it.
    best, best_score = ";", -1.0
    for d in DELIMITERS:
        counts = [ln.count(d) for ln in lines]
        if counts[0] == 0:
            continue
        same = sum(1 for c in counts if c == counts[0]) / len(counts)
        score = same * 10 + counts[0] / 100
        if score > best_score:
            best, best_score = d, score
    return best


# --- CSV -------------------------------------------------------------------------------


def _text_stream(fh: IO[bytes], encoding: str) -> io.TextIOWrapper:
    fh.seek(0)
    # "replace": undecodable bytes become U+FFFD and that row is reported, not the file.
    return io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")


def _csv_records(fh: IO[bytes], encoding: str, delimiter: str) -> Iterator[list[str] | Exception]:
    text = _text_stream(fh, encoding)
    reader = csv.reader(text, delimiter=delimiter, strict=False)
    last_error_line = -1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if reader.line_num == last_error_line:
                break  # the reader is stuck on one line: stop rather than loop
            last_error_line = reader.line_num
            yield exc
            continue
        yield record
    text.detach()


def _row(number: int, cells: list[str], width: int) -> Row:
    row = Row(number, [c.strip() for c in cells])
    if any(_JUNK.search(c) for c in row.cells):
        row.problems.append(("", _("The row holds binary or undecodable data.")))
    if any(len(c) > MAX_CELL_CHARS for c in row.cells):
        row.problems.append(("", _("A cell is too long (an unclosed quote?).")))
    ragged = len(row.cells) < width or (len(row.cells) > width and any(row.cells[width:]))
    if ragged:
        message = _("The row has %(n)d cells, the header has %(m)d.")
        row.problems.append(("", message % {"n": len(cells), "m": width}))
    row.cells = (row.cells + [""] * width)[:width]
    return row


def iter_csv(fh: IO[bytes], encoding: str, delimiter: str) -> Iterator[Row]:
    records = _csv_records(fh, encoding, delimiter)
    header = next((r for r in records if not isinstance(r, Exception)), None)
    if header is None:
        return
    width = len(header)
    number = 1
    for rec in records:
        number += 1
        if isinstance(rec, Exception):
            yield Row(number, [""] * width, [("", _("Unreadable row: %(e)s") % {"e": rec})])
            continue
        if not any(c.strip() for c in rec):
            number -= 1  # blank lines are not rows
            continue
        yield _row(number, rec, width)


# --- XLSX ------------------------------------------------------------------------------


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if not value.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone typed as a number: 79161234567.0
    return str(value).strip()


def iter_xlsx_records(fh: IO[bytes]) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    fh.seek(0)
    wb = load_workbook(fh, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        for values in ws.iter_rows(values_only=True):
            yield [_cell_text(v) for v in values]
    finally:
        wb.close()


def iter_xlsx(fh: IO[bytes]) -> Iterator[Row]:
    records = iter_xlsx_records(fh)
    header = next(records, None)
    if header is None:
        return
    while header and header[-1] == "":
        header.pop()
    width = len(header)
    number = 1
    for rec in records:
        number += 1
        if not any(rec):
            continue
        yield _row(number, rec, width)


# --- entry points ----------------------------------------------------------------------


def inspect_file(fh: IO[bytes], name: str, size: int) -> FileInfo:
    """Check and describe an upload. Raises ValidationError with a reason to show."""
    if size > limit("SVYAZ_IMPORT_MAX_BYTES", 50 * 1024 * 1024):
        raise ValidationError(_("The file is too big."))
    if size == 0:
        raise ValidationError(_("The file is empty."))
    lower = name.lower()
    max_rows = limit("SVYAZ_IMPORT_MAX_ROWS", 200_000)
    if lower.endswith(".xlsx"):
        check_xlsx_container(fh)
        info = FileInfo(kind="xlsx")
        try:
            records = iter_xlsx_records(fh)
            header = next(records, None) or []
            count = sum(1 for r in records if any(r))
        except ValidationError:
            raise
        except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
            raise ValidationError(_("The workbook is damaged and cannot be read.")) from exc
        while header and header[-1] == "":
            header.pop()
        info.headers = header
    elif lower.endswith((".csv", ".txt", ".tsv")):
        fh.seek(0)
        sample = fh.read(SAMPLE_BYTES)
        check_csv_content(sample)
        encoding = detect_encoding(sample)
        delimiter = detect_delimiter(sample.decode(encoding, errors="replace"))
        info = FileInfo(kind="csv", encoding=encoding, delimiter=delimiter)
        records = _csv_records(fh, encoding, delimiter)
        first = next((r for r in records if not isinstance(r, Exception)), None)
        info.headers = [c.strip() for c in first or []]
        count = sum(1 for r in records if isinstance(r, Exception) or any(c.strip() for c in r))
    else:
        raise ValidationError(_("Upload a CSV or an XLSX file."))
    if not any(info.headers):
        raise ValidationError(_("The file has no header row."))
    if count > max_rows:
        raise ValidationError(
            _("The file has %(n)d rows; the limit is %(max)d.") % {"n": count, "max": max_rows}
        )
    info.total_rows = count
    fh.seek(0)
    return info


def iter_rows(fh: IO[bytes], kind: str, encoding: str = "", delimiter: str = "") -> Iterator[Row]:
    if kind == "xlsx":
        return iter_xlsx(fh)
    return iter_csv(fh, encoding or "utf-8", delimiter or ";")
