"""The memory model follows the engine that wrote a file, can be chosen, and is the same in C."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyscope.analysis.offline import OfflineOptions, analyze_rdb
from keyscope.domain.errors import InvalidInput
from keyscope.rdb import FAST_PATH_AVAILABLE, FastRdbReader, PureRdbReader
from keyscope.rdb.engines import model_for, parse_model
from keyscope.rdb.memory import ALLOCATORS, LAYOUTS, MemoryModel
from tests.utils.corpus import FILES as CORPUS_FILES
from tests.utils.rdbgen import write_rdb

NOW_MS = 1_750_000_000_000


@pytest.mark.parametrize(
    ("aux", "rdb_version", "valkey_magic", "layout", "source"),
    [
        ({"redis-ver": b"6.2.14"}, 9, False, "redis-6.2", "redis-ver 6.2.14"),
        ({"redis-ver": b"7.0.15"}, 10, False, "redis-7.0", "redis-ver 7.0.15"),
        ({"redis-ver": b"7.2.6"}, 11, False, "redis-7.2", "redis-ver 7.2.6"),
        ({"redis-ver": b"7.4.1"}, 12, False, "redis-7.4", "redis-ver 7.4.1"),
        ({"redis-ver": b"8.2.1"}, 12, False, "redis-8", "redis-ver 8.2.1"),
        ({"redis-ver": b"255.255.255"}, 14, False, "redis-8", "redis-ver 255.255.255"),
        ({"valkey-ver": b"8.0.1", "redis-ver": b"7.2.4"}, 11, False, "valkey-8.0",
         "valkey-ver 8.0.1"),
        ({"valkey-ver": b"8.1.8"}, 11, False, "valkey-8.1", "valkey-ver 8.1.8"),
        ({"valkey-ver": b"255.255.255"}, 11, False, "valkey-8.1-dev", "valkey-ver 255.255.255"),
        ({}, 80, True, "valkey-8.1", "RDB 80 (Valkey magic)"),
        ({}, 7, False, "redis-6.2", "RDB 7"),
        ({}, 11, False, "redis-7.2", "RDB 11"),
        ({"redis-ver": b"not-a-version"}, 10, False, "redis-7.0", "RDB 10"),
    ],
)  # fmt: skip
def test_the_writer_is_named_by_its_version_aux_fields_else_by_the_rdb_version(
    aux: dict[str, bytes], rdb_version: int, valkey_magic: bool, layout: str, source: str
) -> None:
    model = model_for(aux, rdb_version, valkey_magic=valkey_magic)
    assert (model.layout, model.allocator, model.source) == (layout, "jemalloc", source)


def test_a_model_is_named_by_layout_and_optional_allocator() -> None:
    assert parse_model("valkey-8.0") == MemoryModel("valkey-8.0", "jemalloc", "chosen")
    assert parse_model("redis-7.0/jemalloc-16").name == "redis-7.0/jemalloc-16"
    for bad in ("redis-9.9", "redis-7.2/tcmalloc", ""):
        with pytest.raises(InvalidInput, match="unknown memory model"):
            parse_model(bad)


def _files(tmp_path: Path) -> list[Path]:
    generated = tmp_path / "gen.rdb"
    write_rdb(generated, keys=600, dbs=2, seed=11, now_ms=NOW_MS)
    return [generated, *CORPUS_FILES[::3]]


@pytest.mark.skipif(not FAST_PATH_AVAILABLE, reason="the compiled reader is not built")
def test_both_readers_give_identical_estimates_under_every_model(tmp_path: Path) -> None:
    for path in _files(tmp_path):
        for layout in LAYOUTS:
            for allocator in ALLOCATORS:
                model = MemoryModel(layout, allocator, "chosen")
                try:
                    pure = list(PureRdbReader(path, memory_model=model))
                except Exception as exc:  # a corrupt corpus file fails alike on both paths
                    with pytest.raises(type(exc)):
                        list(FastRdbReader(path, memory_model=model))
                    continue
                assert list(FastRdbReader(path, memory_model=model)) == pure, (path, model)


def test_the_report_names_the_model_it_followed_and_why(tmp_path: Path) -> None:
    path = tmp_path / "gen.rdb"
    write_rdb(path, keys=50, dbs=1, seed=3, now_ms=NOW_MS)
    report = analyze_rdb(path, OfflineOptions(now_ms=NOW_MS))
    assert report.memory_model is not None
    chosen = analyze_rdb(
        path, OfflineOptions(now_ms=NOW_MS, memory_model=parse_model("valkey-8.1"))
    )
    assert chosen.to_dict()["memory_model"] == {"name": "valkey-8.1/jemalloc", "source": "chosen"}
    assert chosen.total_bytes != report.total_bytes  # another engine counts otherwise


def test_a_valkey_8_1_string_keeps_its_key_in_the_object_within_one_cache_line() -> None:
    model = MemoryModel("valkey-8.1")
    assert model.string_encoding(20, 10, is_int=False, expires=False) == "embstr"
    assert model.string_encoding(20, 30, is_int=False, expires=False) == "raw"
    assert model.string(20, 30, is_int=False, expires=False) == 56 + 24  # object with key, value
    dev = MemoryModel("valkey-8.1-dev")  # the 2025-01 tree counted the object alone
    assert dev.string(20, 30, is_int=False, expires=False) == 16 + 24


def test_a_valkey_8_1_hash_embeds_small_values_in_their_entries() -> None:
    model = MemoryModel("valkey-8.1", "libc")
    assert model.hash_pair(5, 13) == 24  # 2 + (1 + 5 + 1) + (1 + 13 + 1) = 24
    assert model.hash_pair(5, 117) == 136  # 7 + 121 = 128: still embedded
    assert model.hash_pair(5, 118) == 24 + 136  # a value pointer, and the value apart
    redis8 = MemoryModel("redis-8")
    assert redis8.string(1, 1, is_int=False, expires=False) == 32  # 16 + 1 + 3 + 5, class 32
