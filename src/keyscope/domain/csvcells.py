"""CSV that a spreadsheet opens as data: every CSV keyscope writes goes through these cells.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be
read as a formula by Excel, LibreOffice or Google Sheets: it is written with a leading
``'``. A name cell so changed also gets its base64 column filled, so that the cell never
stands for a key other than its own (``domain/names.py``: the base64, where present, is the
key). NUL never reaches a cell (names escape it; other text has it written ``\\x00``).
Rows end with CRLF (RFC 4180), in the API, the CLI and the console alike.
"""

from __future__ import annotations

import base64
import csv
from typing import Any, Protocol

from keyscope.domain.names import name_bytes

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LINE_END = "\r\n"


class _Writable(Protocol):
    def write(self, s: str, /) -> object: ...


def text_cell(value: str) -> str:
    """A text cell a spreadsheet shows as text."""
    value = value.replace("\x00", "\\x00")
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell(value: Any) -> Any:
    """Any value as its cell: None empty, text neutralised, numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, str):
        return text_cell(value)
    return value


def name_cells(text: str, b64: str | None) -> tuple[str, str]:
    """The name cell and its base64 cell (empty where the name cell is the key's text; a
    base64 starting with ``+`` gets the leading ``'`` too)."""
    shown = text_cell(text)
    if b64 is None and shown != text:
        b64 = base64.b64encode(name_bytes(text)).decode("ascii")
    return shown, text_cell(b64) if b64 else ""


def writer(out: _Writable) -> Any:
    """A csv writer with keyscope's dialect: minimal quoting, CRLF."""
    return csv.writer(out, lineterminator=LINE_END)


def record_row(record: dict[str, Any], columns: tuple[str, ...] | list[str]) -> list[Any]:
    """One record (``name``/``name_base64`` or ``key``/``key_base64`` fields) as its cells."""
    row = {c: cell(record.get(c)) for c in columns}
    for field in ("name", "key", "key_prefix"):
        if field in record and f"{field}_base64" in columns:
            row[field], row[f"{field}_base64"] = name_cells(
                record[field], record.get(f"{field}_base64")
            )
    return [row[c] for c in columns]
