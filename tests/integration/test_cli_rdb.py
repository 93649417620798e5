"""``keyscope rdb report`` and ``rdb keys`` on real files: corpus, generated, and broken ones."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.utils.corpus import CORPUS as CORPUS_ROOT
from tests.utils.rdbgen import GenStats, write_rdb

pytestmark = pytest.mark.integration

CORPUS = CORPUS_ROOT / "hdt3213-rdb"
KEY_TYPES = {"string", "list", "set", "zset", "hash", "stream"}
KEYSCOPE = str(Path(sys.executable).with_name("keyscope"))


def _keyscope(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [KEYSCOPE, *args], input=stdin, capture_output=True, check=False, timeout=120
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenStats]:
    path = tmp_path_factory.mktemp("gen") / "mixed.rdb"
    return path, write_rdb(path, keys=4000, dbs=2)


def _corpus_cases() -> list[Path]:
    return sorted(p for p in CORPUS.glob("*.rdb") if p.with_suffix(".json").exists())


@pytest.mark.parametrize("rdb", _corpus_cases(), ids=lambda p: p.name)
def test_report_counts_the_keys_of_each_corpus_file(rdb: Path) -> None:
    expected = [o for o in json.loads(rdb.with_suffix(".json").read_text())
                if o["type"] in KEY_TYPES]  # fmt: skip
    result = _keyscope("rdb", "report", str(rdb))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["total_num"] == len(expected)
    assert sum(t["num"] for t in report["type_num"]) == len(expected)


def test_report_json_is_the_dcs_report_of_the_whole_file(generated: tuple[Path, GenStats]) -> None:
    path, stats = generated
    result = _keyscope("rdb", "report", str(path), "--top", "10", "--prefix-top", "3")
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""  # piped: no progress bar, no noise
    report = json.loads(result.stdout)
    assert report["total_num"] == stats.keys
    assert {t["type"]: t["num"] for t in report["type_num"]} == dict(stats.per_type)
    assert len(report["largest_keys"]) == 10
    sizes = [k["bytes"] for k in report["largest_keys"]]
    assert sizes == sorted(sizes, reverse=True)
    assert {p["key_prefix"] for p in report["largest_key_prefixes"]} >= {"user", "order"}
    assert sum(d["num"] for d in report["db_stats"]) == stats.keys


def test_report_reads_standard_input(generated: tuple[Path, GenStats]) -> None:
    path, stats = generated
    result = _keyscope("rdb", "report", "-", stdin=path.read_bytes())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total_num"] == stats.keys


def test_report_csv_and_table_formats(generated: tuple[Path, GenStats]) -> None:
    path, stats = generated
    as_csv = _keyscope("rdb", "report", str(path), "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout.decode())))
    assert next(r for r in rows if r["section"] == "total")["num"] == str(stats.keys)
    table = _keyscope("rdb", "report", str(path), "--format", "table")
    assert table.returncode == 0, table.stderr
    assert b"Largest keys" in table.stdout


def test_keys_streams_one_json_line_per_key(generated: tuple[Path, GenStats]) -> None:
    path, stats = generated
    result = _keyscope("rdb", "keys", str(path))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == stats.keys
    assert set(lines[0]) == {"db", "key", "type", "encoding", "expiry_ms", "num_elements",
                             "serialized_size", "memory", "memory_basis"}  # fmt: skip


def test_keys_as_csv_has_a_header_and_a_row_per_key(generated: tuple[Path, GenStats]) -> None:
    path, stats = generated
    result = _keyscope("rdb", "keys", str(path), "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout.decode())))
    assert len(rows) == stats.keys
    assert rows[0]["key"]


def test_truncated_file_fails_with_one_line_naming_the_offset(
    generated: tuple[Path, GenStats], tmp_path: Path
) -> None:
    path, _ = generated
    cut = tmp_path / "cut.rdb"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    result = _keyscope("rdb", "report", str(cut))
    assert result.returncode == 1
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "offset" in lines[0]
    assert result.stdout == b""


def test_flipped_bytes_fail_with_one_line_naming_the_offset(
    generated: tuple[Path, GenStats], tmp_path: Path
) -> None:
    path, _ = generated
    data = bytearray(path.read_bytes())
    first_db = data.index(b"\xfe\x00", 9)
    for i in range(first_db + 2, first_db + 10):  # the first key's opcode and what follows
        data[i] ^= 0xFF
    broken = tmp_path / "flipped.rdb"
    broken.write_bytes(bytes(data))
    result = _keyscope("rdb", "report", str(broken))
    assert result.returncode == 1
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "offset" in lines[0]


@pytest.mark.parametrize(
    ("header", "line"),
    [
        (b"REDIS0080", "unsupported RDB version 80 at byte offset 5"),
        (b"VALKEY099", "unsupported Valkey RDB version 99 at byte offset 6"),
    ],
)
def test_a_version_of_either_magic_the_reader_does_not_know_fails_with_one_line(
    header: bytes, line: str, tmp_path: Path
) -> None:
    path = tmp_path / "future.rdb"
    path.write_bytes(header + b"\xfe\x00\x00\x01k\x01v\xff" + bytes(8))
    result = _keyscope("rdb", "report", str(path))
    assert result.returncode == 1
    assert result.stderr.decode().strip().splitlines() == [f"keyscope: {path}: {line}"]
    assert result.stdout == b""


def test_bad_usage_exits_with_two(generated: tuple[Path, GenStats]) -> None:
    path, _ = generated
    assert _keyscope("rdb", "report", str(path), "--format", "xml").returncode == 2
    assert _keyscope("rdb", "report", str(path), "--top", "-1").returncode == 2


def test_missing_file_fails_with_one_clear_line(tmp_path: Path) -> None:
    result = _keyscope("rdb", "report", str(tmp_path / "absent.rdb"))
    assert result.returncode == 1
    assert b"absent.rdb" in result.stderr
