"""Every public RDB fixture reads cleanly; where the corpus carries expected output, it matches."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from keyscope.domain.errors import RdbFormatError
from keyscope.domain.keys import KeyRecord
from keyscope.rdb import RdbReader, iter_records
from tests.utils.corpus import CORPUS, FILES, case_id

WITH_EXPECTED = [
    f for f in FILES if f.parent.name == "hdt3213-rdb" and f.with_suffix(".json").is_file()
]
"""HDT3213/rdb's cases carry their own JSON dump beside them (librdb's: test_formats.py)."""

_id = case_id


def _expected_count(obj: dict[str, Any]) -> int | None:
    kind = obj["type"]
    if kind == "string":
        value = obj["value"]
        return len(value.encode()) if value.isascii() else None
    if kind == "stream":
        return int(obj["len"])
    for field in ("values", "members", "entries", "hash"):
        if field in obj:
            return len(obj[field])
    return None


def _expected_expiry(obj: dict[str, Any]) -> int | None:
    if "expiration" not in obj:
        return None
    return round(datetime.fromisoformat(obj["expiration"]).timestamp() * 1000)


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_every_corpus_file_reads_to_the_end_with_valid_records(path: Path) -> None:
    reader = RdbReader(path)
    records = list(reader)
    assert reader.version >= 1
    assert 9 < reader.bytes_read <= path.stat().st_size  # one fixture carries trailing junk
    for rec in records:
        assert rec.type in {"string", "list", "set", "zset", "hash", "stream", "array", "module"}
        assert rec.num_elements >= 0
        assert rec.serialized_size > 0
        assert rec.memory > 0


@pytest.mark.parametrize("path", WITH_EXPECTED, ids=_id)
def test_keys_types_counts_and_expiries_match_the_corpus_expectations(path: Path) -> None:
    expected = [
        o
        for o in json.loads(path.with_suffix(".json").read_text())
        if o["type"] not in ("aux", "functions")
    ]
    records: dict[tuple[int, str], KeyRecord] = {
        (r.db, r.key.decode("utf-8", "replace")): r for r in iter_records(path)
    }
    assert len(records) == len(expected)
    for obj in expected:
        rec = records[(obj["db"], obj["key"])]
        assert rec.type == obj["type"], obj["key"]
        count = _expected_count(obj)
        if count is not None:
            assert rec.num_elements == count, obj["key"]
        assert rec.expiry_ms == _expected_expiry(obj), obj["key"]


def test_functions_and_module_aux_are_read_without_records() -> None:
    reader = RdbReader(CORPUS / "hdt3213-rdb" / "function.rdb")
    assert list(reader) == []
    assert reader.functions == 1
    assert reader.aux["redis-ver"] == b"7.2.5"


def test_a_module_value_is_skipped_by_its_declared_format_and_reported_as_module() -> None:
    records = list(iter_records(CORPUS / "redis-rdb-tools" / "redis_40_with_module.rdb"))
    modules = [r for r in records if r.type == "module"]
    assert len(modules) == 1
    assert modules[0].encoding  # the module's name


def _end_of_rdb(path: Path) -> tuple[int, int]:
    """Where the RDB data ends (before any trailing junk) and its version."""
    reader = RdbReader(path)
    for _ in reader:
        pass
    return reader.bytes_read, reader.version


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_a_truncated_file_raises_the_typed_error_with_an_offset(path: Path) -> None:
    data = path.read_bytes()
    end, _ = _end_of_rdb(path)
    for cut in sorted({0, 5, 9, end // 3, end // 2, end - 9, end - 1}):
        if cut < 0:
            continue
        with pytest.raises(RdbFormatError) as info:
            list(iter_records(io.BytesIO(data[:cut])))
        assert 0 <= info.value.offset <= cut
        assert str(info.value.offset) in str(info.value)


def _has_checksum(path: Path) -> bool:
    end, version = _end_of_rdb(path)
    return version >= 5 and path.read_bytes()[end - 8 : end] != bytes(8)


WITH_CHECKSUM = [f for f in FILES if _has_checksum(f)]


@pytest.mark.parametrize("path", WITH_CHECKSUM, ids=_id)
def test_a_flipped_byte_fails_the_checksum_or_the_format(path: Path) -> None:
    data = path.read_bytes()
    end, _ = _end_of_rdb(path)
    for pos in sorted({9, end // 4, end // 2, 3 * end // 4, end - 9}):
        flipped = bytearray(data)
        flipped[pos] ^= 0xFF
        with pytest.raises(RdbFormatError) as info:
            list(iter_records(io.BytesIO(bytes(flipped))))
        assert 0 <= info.value.offset <= end


def test_a_file_without_the_magic_is_refused_at_offset_zero(tmp_path: Path) -> None:
    target = tmp_path / "not.rdb"
    target.write_bytes(b"HELLO0009\xff" + bytes(8))
    with pytest.raises(RdbFormatError) as info:
        list(iter_records(target))
    assert info.value.offset == 0
