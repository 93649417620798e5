"""The compiled reader yields exactly what the pure-Python reference yields.

Every corpus file and generated files, read by file descriptor and as a stream: the same
records, the same header facts, the same errors at the same offsets; the same offline
report; the same ``rdb keys`` bytes. Where the extension was not built these tests skip and
say so (the pure-Python reader then serves, and every other test exercises it).
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from keyscope.analysis.offline import OfflineOptions, analyze_rdb, analyze_records
from keyscope.domain.errors import RdbFormatError
from keyscope.domain.keys import KeyRecord, display_key
from keyscope.domain.names import name_bytes
from keyscope.rdb import FAST_PATH_AVAILABLE, FAST_PATH_STATUS, FastRdbReader, PureRdbReader, fast
from keyscope.rdb.rows import RowFormat, write_rows_python
from tests.utils.corpus import FILES, case_id
from tests.utils.rdbgen import OP_EOF, enc_len, enc_str, write_rdb

NOW_MS = 1_700_000_000_000

pytestmark = pytest.mark.skipif(
    not FAST_PATH_AVAILABLE, reason=f"compiled reader not in use: {FAST_PATH_STATUS}"
)

Outcome = tuple[list[KeyRecord], tuple[str, int] | None, tuple[Any, ...] | None]


_id = case_id


class _Unseekable(io.RawIOBase):
    """A stream with no file descriptor, as an upload or a replication stream is."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self._step, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def _read(make: Callable[[], Any], source: Any) -> Outcome:
    records: list[KeyRecord] = []
    reader = make(source)
    try:
        for rec in reader:
            records.append(rec)
    except RdbFormatError as exc:
        return records, (exc.reason, exc.offset), None
    meta = (reader.version, reader.valkey, reader.aux, reader.functions, reader.modules,
            reader.bytes_read)  # fmt: skip
    return records, None, meta


def _sources(path: Path) -> Iterator[tuple[str, Callable[[], Any]]]:
    data = path.read_bytes()
    yield "path", lambda: path
    yield "open file", lambda: path.open("rb")
    yield "bytes stream", lambda: io.BytesIO(data)
    yield "trickling stream", lambda: io.BufferedReader(_Unseekable(data, 7), 64)


def _assert_same_everywhere(path: Path) -> Outcome:
    expected = _read(PureRdbReader, path)
    for name, make in _sources(path):
        source = make()
        try:
            got = _read(FastRdbReader, source)
        finally:
            if hasattr(source, "close"):
                source.close()
        assert got[1] == expected[1], name
        assert got[2] == expected[2], name
        assert got[0] == expected[0], name
    return expected


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_every_corpus_file_gives_identical_records_on_both_paths(path: Path) -> None:
    records, error, _ = _assert_same_everywhere(path)
    assert records or error is None


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_every_corpus_file_gives_an_identical_report_on_both_paths(path: Path) -> None:
    for options in (
        OfflineOptions(now_ms=NOW_MS),
        OfflineOptions(
            now_ms=NOW_MS,
            top_keys=2,
            top_prefixes=3,
            delimiters=":_-.",
            prefix_capacity=1,
            prefix_max_depth=2,
        ),
    ):
        expected = analyze_records(PureRdbReader(path), options).to_dict()
        assert analyze_rdb(path, options).to_dict() == expected
        assert analyze_rdb(io.BytesIO(path.read_bytes()), options).to_dict() == expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_files_give_identical_records_and_reports(tmp_path: Path, seed: int) -> None:
    path = tmp_path / f"gen-{seed}.rdb"
    write_rdb(path, keys=4000, dbs=3, seed=seed, now_ms=NOW_MS)
    records, error, _ = _assert_same_everywhere(path)
    assert error is None and len(records) == 4000
    options = OfflineOptions(now_ms=NOW_MS, prefix_capacity=2)  # small: prunings happen
    expected = analyze_records(PureRdbReader(path), options)
    assert any(not p.exact for p in expected.prefix_accuracy)
    assert analyze_rdb(path, options) == expected


def _corpus_sample(count: int) -> list[Path]:
    return [FILES[i] for i in range(0, len(FILES), max(1, len(FILES) // count))]


def _newest_formats() -> list[Path]:
    """Corpus files past RDB 12 or under the VALKEY magic: every one is mutated below."""
    heads = {f: f.read_bytes()[:9] for f in FILES}
    return [
        f
        for f, h in heads.items()
        if h.startswith(b"VALKEY") or (h[5:].isdigit() and int(h[5:]) > 12)
    ]


@pytest.mark.parametrize("path", sorted(set(_corpus_sample(24)) | set(_newest_formats())), ids=_id)
def test_truncated_and_corrupted_files_fail_identically_on_both_paths(
    tmp_path: Path, path: Path
) -> None:
    data = path.read_bytes()
    rng = random.Random(path.name)
    variants = [data[:cut] for cut in sorted({0, 5, 9, len(data) // 2, len(data) - 1})]
    for _ in range(12):
        flipped = bytearray(data)
        flipped[rng.randrange(9, len(data))] ^= 1 << rng.randrange(8)
        variants.append(bytes(flipped))
    variants.append(data + b"trailing junk")
    for n, variant in enumerate(variants):
        target = tmp_path / f"v{n}.rdb"
        target.write_bytes(variant)
        _assert_same_everywhere(target)


def _rdb(body: bytes, *, checksum: bytes = b"\x00" * 8) -> bytes:
    return b"REDIS0009" + body + bytes((OP_EOF,)) + checksum


def test_a_checksum_mismatch_is_reported_at_the_same_offset_on_both_paths(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bad-crc.rdb"
    path.write_bytes(_rdb(b"\xfe\x00\x00" + enc_str(b"k") + enc_str(b"v"), checksum=b"\x01" * 8))
    records, error, _ = _assert_same_everywhere(path)
    assert error is not None and error[0].startswith("checksum mismatch")
    assert error[1] == path.stat().st_size - 8
    assert [r.key for r in records] == [b"k"]


def test_the_checksum_is_not_checked_when_asked_not_to(tmp_path: Path) -> None:
    path = tmp_path / "bad-crc.rdb"
    path.write_bytes(_rdb(b"\xfe\x00\x00" + enc_str(b"k") + enc_str(b"v"), checksum=b"\x01" * 8))
    assert [r.key for r in FastRdbReader(path, verify_checksum=False)] == [b"k"]


AWKWARD_KEYS = [
    b"plain:key",
    b"comma,key",
    b'quote"key',
    b"new\nline",
    b"cr\rkey",
    b"tab\tand\x01control\x7f",
    b"back\\slash",
    "ünïcödé:ключ:键".encode(),
    b"\xff\xfe invalid \xc3",
    b"\xe2\x82 truncated euro \xe2\x82\xac",
    b"\xed\xa0\x80 surrogate",
    b"\xf4\x90\x80\x80 past U+10FFFF",
    b"",
    b'=HYPERLINK("http://x")',
    b"+1,2",
    b"-cmd",
    b"@SUM(1)",
    b"\xfb starts base64 with a plus",
    "bidi \u202e override \u2028 separator \u0085 c1 \u061c \u200f \u2066".encode(),
    b"nul\x00byte",
    b"\\xff\\xfe\\x80",
    b"\xff\xfe\x80",
]


def _keys_file(path: Path) -> None:
    body = b"\xfe\x00"
    for n, key in enumerate(AWKWARD_KEYS):
        if n % 3 == 0:
            body += b"\xfc" + (NOW_MS + n).to_bytes(8, "little", signed=True)
        body += b"\x00" + enc_str(key) + enc_str(b"v" * n)
    body += b"\xfe" + enc_len(7) + b"\xfd" + (-5).to_bytes(4, "little", signed=True)
    body += b"\x00" + enc_str(b"negative:expiry") + enc_str(b"1234")
    path.write_bytes(_rdb(body))


def _pure_rows(path: Path, fmt: RowFormat) -> bytes:
    chunks: list[bytes] = []
    write_rows_python(path, chunks.append, fmt)
    return b"".join(chunks)


def _native_rows(source: str | Path | BinaryIO, fmt: RowFormat) -> bytes:
    chunks: list[bytes] = []
    fast.write_rows(source, chunks.append, fmt)
    return b"".join(chunks)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_key_rows_are_byte_for_byte_those_of_the_pure_formatter(
    tmp_path: Path, fmt: RowFormat
) -> None:
    path = tmp_path / "awkward.rdb"
    _keys_file(path)
    expected = _pure_rows(path, fmt)
    assert _native_rows(path, fmt) == expected
    assert _native_rows(io.BytesIO(path.read_bytes()), fmt) == expected
    if fmt == "jsonl":
        rows = [json.loads(line) for line in expected.decode().splitlines()]
        rows = rows[: len(AWKWARD_KEYS)]
        assert [r["key"] for r in rows] == [display_key(k) for k in AWKWARD_KEYS]
        assert [name_bytes(r["key"], r.get("key_base64")) for r in rows] == AWKWARD_KEYS
    else:
        cells = list(csv.reader(io.StringIO(expected.decode(), newline="")))
        assert all(line.endswith(b"\r") for line in expected.split(b"\n")[:-1])
        for cells_of_key, key in zip(cells, AWKWARD_KEYS, strict=False):
            text, b64 = cells_of_key[1], cells_of_key[2]
            assert not text.startswith(("=", "+", "-", "@")) and not b64.startswith("+")
            if text.startswith("'"):
                assert b64, "a neutralised name cell comes with its key's bytes"
            assert name_bytes(text, b64.removeprefix("'") or None) == key


@pytest.mark.parametrize("path", _corpus_sample(16), ids=_id)
def test_corpus_key_rows_are_byte_for_byte_those_of_the_pure_formatter(path: Path) -> None:
    formats: tuple[RowFormat, ...] = ("jsonl", "csv")
    for fmt in formats:
        try:
            expected = _pure_rows(path, fmt)
        except RdbFormatError:
            with pytest.raises(RdbFormatError):
                _native_rows(path, fmt)
            continue
        assert _native_rows(path, fmt) == expected


def test_rows_formatted_before_an_error_are_still_written(tmp_path: Path) -> None:
    path = tmp_path / "cut.rdb"
    _keys_file(path)
    path.write_bytes(path.read_bytes()[:-30])
    chunks: list[bytes] = []
    with pytest.raises(RdbFormatError):
        fast.write_rows(path, chunks.append, "jsonl")
    written = b"".join(chunks).decode().splitlines()
    assert written and json.loads(written[0])["key"] == "plain:key"


def test_the_progress_callback_sees_the_count_and_can_stop_the_pass(tmp_path: Path) -> None:
    path = tmp_path / "gen.rdb"
    write_rdb(path, keys=3000, seed=4, now_ms=NOW_MS)
    calls: list[tuple[int, int]] = []
    analyze_rdb(path, progress=lambda keys, read: calls.append((keys, read)), every=1000)
    assert calls[0][0] == 1000 and calls[-1] == (3000, path.stat().st_size)

    class Stop(Exception):
        pass

    def stop(keys: int, _read: int) -> None:
        if keys >= 2000:
            raise Stop

    with pytest.raises(Stop):
        analyze_rdb(path, progress=stop, every=500)


def test_other_threads_run_while_a_file_is_analysed(tmp_path: Path) -> None:
    path = tmp_path / "gen.rdb"
    write_rdb(path, keys=60000, seed=5, now_ms=NOW_MS)
    ticks = [0]
    done = threading.Event()

    def count() -> None:
        while not done.is_set():
            ticks[0] += 1

    counter = threading.Thread(target=count)
    counter.start()
    seen: list[int] = []
    try:
        analyze_rdb(path, progress=lambda _k, _r: seen.append(ticks[0]), every=20000)
    finally:
        done.set()
        counter.join()
    # the counter advanced between progress calls: the pass did not hold the GIL throughout
    assert len(seen) >= 3 and seen[-1] > seen[0]


CHOICES = (
    "import keyscope.rdb as r, keyscope.rdb.rows as rows, keyscope.analysis.counting as c; "
    "print(r.FAST_PATH_AVAILABLE, r.RdbReader.__name__, rows.write_rows.__name__, "
    "c.DEFAULT_AGGREGATOR.name)"
)


@pytest.mark.parametrize(
    ("pure", "expected"),
    [
        ("1", ["False", "RdbReader", "write_rows_python", "pure-python"]),
        ("", ["True", "FastRdbReader", "write_rows", "compiled"]),
    ],
)
def test_the_reader_row_writer_and_aggregator_are_chosen_together_at_import(
    pure: str, expected: list[str]
) -> None:
    env = {**os.environ, "KEYSCOPE_PURE_PYTHON": pure}
    out = subprocess.run([sys.executable, "-c", CHOICES], env=env, capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert out.stdout.split() == expected
