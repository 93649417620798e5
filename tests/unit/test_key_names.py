"""Key names in outputs: one lossless, unambiguous text form, and CSV cells a spreadsheet
takes as data (issue 18, item 7)."""

from __future__ import annotations

import base64
import csv
import io
import random

import pytest

from keyscope.domain import csvcells
from keyscope.domain.names import name_bytes, name_text

HOSTILE = [
    b"\xff\xfe\x80",
    b"\\xff\\xfe\\x80",  # spelled with backslashes: must not print as the one above
    b"nul\x00inside",
    b"new\nline\r\n",
    b"tab\tkey",
    "bidi \u202eevil\u202c".encode(),
    "line \u2028 sep \u2029".encode(),
    "c1 \u0085 \u009f".encode(),
    b"\xed\xa0\x80 surrogate",
    b"=1+1",
    b"",
]


def test_text_names_stay_as_they_are_without_a_base64() -> None:
    for plain in ("user:1", "ключ:键", "emoji 🙂", "quote\"'and,comma", "<img src=x>"):
        assert name_text(plain.encode()) == (plain, None)


@pytest.mark.parametrize("raw", HOSTILE, ids=repr)
def test_every_escaped_name_decodes_to_its_bytes_from_its_text_and_its_base64(raw: bytes) -> None:
    text, b64 = name_text(raw)
    assert name_bytes(text, b64) == raw
    assert name_bytes(text) == raw
    if b64 is not None:
        assert base64.b64decode(b64) == raw
        assert "\\" in text
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text)
        assert not any(c in text for c in "\u202e\u202c\u2028\u2029")


def test_bytes_and_their_spelling_with_backslashes_print_differently() -> None:
    binary, spelled = name_text(b"\xff\xfe\x80"), name_text(b"\\xff\\xfe\\x80")
    assert binary == ("\\xff\\xfe\\x80", "//6A")
    assert spelled[0] == "\\\\xff\\\\xfe\\\\x80"
    assert binary[0] != spelled[0]


def test_the_text_form_is_one_to_one_on_random_bytes() -> None:
    rng = random.Random(18)
    seen: dict[str, bytes] = {}
    alphabet = b"\\x0fu2e\x00\n\xff\xc3\xa9\xe2\x80\xae"
    for _ in range(20000):
        raw = bytes(rng.choice(alphabet) for _ in range(rng.randrange(6)))
        text, b64 = name_text(raw)
        assert seen.setdefault(text, raw) == raw
        assert name_bytes(text) == raw
        assert (b64 is None) == ("\\" not in text)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_would_start_a_formula_is_written_as_text(start: str) -> None:
    assert csvcells.text_cell(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"


def test_a_neutralised_name_cell_carries_its_key_bytes() -> None:
    assert csvcells.name_cells("=cmd|' /C calc'!A0", None) == (
        "'=cmd|' /C calc'!A0",
        base64.b64encode(b"=cmd|' /C calc'!A0").decode(),
    )
    assert csvcells.name_cells("plain", None) == ("plain", "")
    assert csvcells.name_cells("\\xfb", "+w==") == ("\\xfb", "'+w==")


def test_rows_end_in_crlf_and_hold_no_nul() -> None:
    out = io.StringIO(newline="")
    columns = ("name", "name_base64", "db", "shard")
    text, b64 = name_text(b"a\x00b")
    record = {"name": text, "name_base64": b64, "db": 3, "shard": "x\x00"}
    csvcells.writer(out).writerows([columns, csvcells.record_row(record, columns)])
    data = out.getvalue()
    assert "\x00" not in data
    assert data.count("\r\n") == 2 and data.count("\n") == 2
    rows = list(csv.reader(io.StringIO(data, newline="")))
    assert name_bytes(rows[1][0], rows[1][1]) == b"a\x00b"
    assert rows[1][2] == "3"
