"""``keyscope rdb report FILE1 FILE2 FILE3``: one report over a 3-shard cluster's RDB files.

The files are the masters' own ``SAVE`` of one keyspace written through the cluster; the same
keyspace is written to a standalone server too, so the merged report can be held both to the
per-shard reports summed and to the report of one file holding every key.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.utils.servers import Cluster, RedisServer, start_cluster, start_server

pytestmark = pytest.mark.integration

KEYSCOPE = str(Path(sys.executable).with_name("keyscope"))
CART_KEYS = 120
"""Keys under the hash tag ``{cart:7}``: all in one slot, so one shard carries them all."""


def _keyscope(*args: str) -> dict[str, Any]:
    result = subprocess.run([KEYSCOPE, *args], capture_output=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _write(client: Any) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"user:name:{i}", "x" * (10 + i % 50), ex=3600 if i % 4 == 0 else None)
    for i in range(60):
        pipe.rpush(f"order:lines:{i}", *range(i % 9 + 1))
        pipe.hset(f"session:{i}", mapping={f"f{j}": "v" * j for j in range(i % 7 + 1)})
    for i in range(CART_KEYS):
        pipe.set(f"{{cart:7}}:item:{i}", "y" * 40)
    pipe.set("blob:big", "z" * 50_000)
    pipe.sadd("tags:all", *range(500))
    pipe.execute()


@pytest.fixture(scope="module")
def shard_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, list[Path]]]:
    cluster = start_cluster(tmp_path_factory.mktemp("cluster"), shards=3)
    try:
        assert all(s.port < 55000 for s in cluster.servers)
        with cluster.client() as rc:
            _write(rc)
        files = []
        for master in cluster.masters:
            master.client().save()
            files.append(master.workdir / "dump.rdb")
        yield cluster, files
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def whole_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    server: RedisServer = start_server(tmp_path_factory.mktemp("whole"))
    try:
        _write(server.client())
        server.client().save()
        yield server.workdir / "dump.rdb"
    finally:
        server.stop()


def _by(items: list[dict[str, Any]], *key: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(item[k] for k in key): item for item in items}


def _summed(reports: list[dict[str, Any]], section: str, *key: str) -> dict[Any, Counter[str]]:
    sums: dict[Any, Counter[str]] = {}
    for report in reports:
        for item in report[section]:
            figures = {k: v for k, v in item.items() if k not in key and isinstance(v, int)}
            sums.setdefault(tuple(item[k] for k in key), Counter()).update(figures)
    return sums


def test_the_cluster_report_is_the_sum_of_the_shards_reports(
    shard_files: tuple[Cluster, list[Path]],
) -> None:
    _cluster, files = shard_files
    merged = _keyscope("rdb", "report", *map(str, files))
    shards = [_keyscope("rdb", "report", str(f)) for f in files]

    assert merged["total_num"] == sum(s["total_num"] for s in shards) > 0
    assert merged["total_bytes"] == sum(s["total_bytes"] for s in shards)
    for section, key in (("type_num", ("type",)), ("type_bytes", ("type",)),
                         ("db_stats", ("db",)), ("ttl_distribution", ("bucket",))):  # fmt: skip
        assert {k: Counter(v) for k, v in _summed([merged], section, *key).items()} == (
            _summed(shards, section, *key)
        ), section
    merged_hist = {(h["type"], b["range"]): (b["num"], b["bytes"])
                   for h in merged["size_histograms"] for b in h["buckets"]}  # fmt: skip
    for (type_, range_), (num, nbytes) in merged_hist.items():
        per_shard = [b for s in shards for h in s["size_histograms"] if h["type"] == type_
                     for b in h["buckets"] if b["range"] == range_]  # fmt: skip
        assert (num, nbytes) == (sum(b["num"] for b in per_shard),
                                 sum(b["bytes"] for b in per_shard))  # fmt: skip

    assert [(s["shard"], s["num"], s["bytes"]) for s in merged["shards"]] == [
        (str(f), s["total_num"], s["total_bytes"]) for f, s in zip(files, shards, strict=True)
    ]
    every_key = {k["key"]: (k["bytes"], str(f)) for f, s in zip(files, shards, strict=True)
                 for k in s["largest_keys"]}  # fmt: skip
    for key in merged["largest_keys"]:
        assert every_key[key["key"]] == (key["bytes"], key["shard"])
    heaviest = sorted((b for b, _ in every_key.values()), reverse=True)[:100]
    assert [k["bytes"] for k in merged["largest_keys"]] == heaviest

    per_shard_prefixes = _summed(shards, "largest_key_prefixes", "type", "key_prefix")
    for prefix in merged["largest_key_prefixes"]:
        sums = per_shard_prefixes[(prefix["type"], prefix["key_prefix"])]
        assert (prefix["num"], prefix["bytes"]) == (sums["num"], sums["bytes"])
    assert all(a["exact"] for a in merged["prefix_accuracy"])


def test_the_cluster_report_counts_what_one_file_of_every_key_counts(
    shard_files: tuple[Cluster, list[Path]], whole_file: Path
) -> None:
    _cluster, files = shard_files
    merged = _keyscope("rdb", "report", *map(str, files))
    whole = _keyscope("rdb", "report", str(whole_file))
    for section in ("total_num", "type_num", "db_stats", "ttl_distribution"):
        assert merged[section] == whole[section], section
    assert _by(merged["largest_key_prefixes"], "type", "key_prefix") == _by(
        whole["largest_key_prefixes"], "type", "key_prefix"
    )
    assert merged["total_bytes"] == whole["total_bytes"]
    sizes = [k["bytes"] for k in merged["largest_keys"]]
    assert sizes == [k["bytes"] for k in whole["largest_keys"]]
    floor = sizes[-1]  # keys of the floor's size tie: either file may list any of them
    assert {k["key"] for k in merged["largest_keys"] if k["bytes"] > floor} == {
        k["key"] for k in whole["largest_keys"] if k["bytes"] > floor
    }


def test_the_heaviest_hash_tag_is_found_in_its_slot_on_its_shard(
    shard_files: tuple[Cluster, list[Path]],
) -> None:
    cluster, files = shard_files
    merged = _keyscope("rdb", "report", *map(str, files))
    top = merged["heaviest_hash_tags"][0]
    slot = cluster.masters[0].client().cluster("keyslot", "{cart:7}:item:0")
    owner = next(
        str(f) for m, f in zip(cluster.masters, files, strict=True)
        if m.client().cluster("countkeysinslot", slot) > 0
    )  # fmt: skip
    assert (top["hash_tag"], top["num"], top["slot"], top["shard"]) == (
        "cart:7", CART_KEYS, slot, owner
    )  # fmt: skip
    assert merged["hash_tag_accuracy"] == {"exact": True, "max_undercount": 0}
    slots = {s["slot"]: s for s in merged["heaviest_slots"]}
    assert slots[slot]["num"] >= CART_KEYS
    assert slots[slot]["shard"] == owner
    assert merged["skew"]["heaviest_shard"] in {str(f) for f in files}
    client = cluster.masters[0].client()
    keys = [k for m in cluster.masters for k in m.client().scan_iter(count=1000)]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.execute_command("CLUSTER", "KEYSLOT", key)
    assert merged["skew"]["slots_with_keys"] == len(set(pipe.execute()))


def test_standard_input_cannot_be_one_of_several_files(
    shard_files: tuple[Cluster, list[Path]],
) -> None:
    _cluster, files = shard_files
    result = subprocess.run([KEYSCOPE, "rdb", "report", str(files[0]), "-"],
                            capture_output=True, check=False, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert b"standard input" in result.stderr
    assert b"Traceback" not in result.stderr


def test_slots_are_those_the_server_computes(shard_files: tuple[Cluster, list[Path]]) -> None:
    from keyscope.analysis.slots import key_slot

    cluster, _files = shard_files
    client = cluster.masters[0].client()
    keys = [b"", b"a", b"{user1000}.following", b"foo{}{bar}", b"foo{{bar}}zap", b"{",
            b"}{x}", "ключ".encode(), bytes(range(256))]  # fmt: skip
    for key in keys:
        assert key_slot(key) == client.cluster("keyslot", key), key
