"""``keyscope rdb diff`` and the API's ``.../diff?base=``: a keyspace saved, changed, saved
again; the diff reports exactly the changes the server's SCAN shows between the two saves."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration._offline_service import Service, running_service
from tests.utils.dcs import is_dcs_error
from tests.utils.servers import RedisServer

pytestmark = pytest.mark.integration

KEYSCOPE = str(Path(sys.executable).with_name("keyscope"))


def _keyscope(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([KEYSCOPE, *args], capture_output=True, check=False, timeout=120)


def _write_first(server: RedisServer) -> None:
    c = server.client()
    pipe = c.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"user:{i}", "u" * 40)
    for i in range(200):
        pipe.set(f"session:{i}", "s" * 60, ex=3600)
    for i in range(100):
        pipe.hset(f"cart:{i}", mapping={"item": "x", "qty": "1"})
    for i in range(50):
        pipe.rpush(f"order:{i}", "a", "b", "c")
    pipe.rpush("queue:main", *range(500))
    pipe.execute()


def _change(server: RedisServer) -> None:
    """Grows ``cart`` (more keys, and ``cart:1`` into a big hash) and the list
    ``queue:main``, adds ``feed`` and a big string, deletes every ``session`` key and half
    the ``user`` ones."""
    c = server.client()
    pipe = c.pipeline(transaction=False)
    for i in range(100, 250):
        pipe.hset(f"cart:{i}", mapping={"item": "y", "qty": "2"})
    pipe.hset("cart:1", mapping={f"f{j}": "v" * 100 for j in range(2000)})
    pipe.rpush("queue:main", *range(3000))
    for i in range(80):
        pipe.sadd(f"feed:{i}", *range(5))
    pipe.set("blob:big", "b" * 50_000)
    pipe.delete(*[f"session:{i}" for i in range(200)])
    pipe.delete(*[f"user:{i}" for i in range(0, 300, 2)])
    pipe.execute()


def _scan(server: RedisServer) -> dict[str, str]:
    """Every key of db 0 and its type, as the server lists them."""
    c = server.client(decode_responses=True)
    return {k: c.type(k) for k in c.scan_iter(count=500)}


def _save(server: RedisServer, to: Path) -> Path:
    server.client().save()
    shutil.copyfile(server.workdir / "dump.rdb", to)
    return to


def _prefix_counts(keys: dict[str, str]) -> Counter[tuple[str, str]]:
    return Counter((k.split(":", 1)[0], t) for k, t in keys.items() if ":" in k)


@pytest.fixture
def snapshots(redis_server: RedisServer, tmp_path: Path) -> Iterator[tuple[Any, ...]]:
    _write_first(redis_server)
    before = _scan(redis_server)
    old = _save(redis_server, tmp_path / "old.rdb")
    _change(redis_server)
    after = _scan(redis_server)
    new = _save(redis_server, tmp_path / "new.rdb")
    yield old, new, before, after


def _check_against_scan(diff: dict[str, Any], before: dict[str, str],
                        after: dict[str, str]) -> None:  # fmt: skip
    was, now = _prefix_counts(before), _prefix_counts(after)
    grown = {k for k in was.keys() | now.keys() if now[k] > was[k]}
    shrunk = {k for k in was.keys() | now.keys() if now[k] < was[k]}
    assert {(r["key_prefix"], r["type"]) for r in diff["prefixes_grown_by_keys"]} == grown
    assert {(r["key_prefix"], r["type"]) for r in diff["prefixes_shrunk_by_keys"]} == shrunk
    for r in diff["prefixes_grown_by_keys"] + diff["prefixes_shrunk_by_keys"]:
        key = (r["key_prefix"], r["type"])
        assert (r["num_before"], r["num_after"]) == (was[key], now[key]), r
        assert not r["approximate"]
    gone = next(r for r in diff["prefixes_shrunk_by_bytes"] if r["key_prefix"] == "session")
    assert gone["bytes_before"] > 0 and gone["bytes_after"] == 0 and gone["num_after"] == 0
    assert diff["prefixes_grown_by_bytes"][0]["key_prefix"] == "cart"  # cart:1 grew by ~200 KB
    types_before, types_after = Counter(before.values()), Counter(after.values())
    for row in diff["types"]:
        assert (row["num_before"], row["num_after"]) == (
            types_before[row["type"]],
            types_after[row["type"]],
        ), row
    assert diff["total"]["num_change"] == len(after) - len(before)
    largest = diff["largest_keys"]
    assert any(r["key"] == "blob:big" and r["bytes_before"] is None for r in largest["entered"])
    assert any(r["key"] == "cart:1" and r["num_of_elem_after"] == 2002
               for r in largest["entered"])  # fmt: skip
    assert largest["grown"][0]["key"] == "queue:main"  # in both top lists, and grew most
    assert (
        largest["grown"][0]["num_of_elem_before"],
        largest["grown"][0]["num_of_elem_after"],
    ) == (500, 3500)
    ttl = {r["bucket"]: r for r in diff["ttl_distribution"]}
    assert (ttl["lt_1h"]["num_before"], ttl["lt_1h"]["num_after"]) == (200, 0)


def test_rdb_diff_reports_exactly_the_changes_between_two_saves(
    snapshots: tuple[Path, Path, dict[str, str], dict[str, str]],
) -> None:
    old, new, before, after = snapshots
    result = _keyscope("rdb", "diff", str(old), str(new), "--format", "json", "--top", "50")
    assert result.returncode == 0, result.stderr
    diff = json.loads(result.stdout)
    _check_against_scan(diff, before, after)
    assert diff["keys"] == {
        "added": len(after.keys() - before.keys()),
        "removed": len(before.keys() - after.keys()),
        "kept": len(before.keys() & after.keys()),
        "exact": True,
        "sketch_keys": 65536,
    }


def test_rdb_diff_csv_and_table_carry_the_same_changes(
    snapshots: tuple[Path, Path, dict[str, str], dict[str, str]],
) -> None:
    old, new, before, after = snapshots
    result = _keyscope("rdb", "diff", str(old), str(new), "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout.decode())))
    removed = next(r for r in rows if r["section"] == "keys_removed")
    assert int(removed["num_before"]) == len(before.keys() - after.keys())
    session = next(r for r in rows if r["section"] == "prefixes_shrunk_by_keys"
                   and r["name"] == "session")  # fmt: skip
    assert (session["num_before"], session["num_after"]) == ("200", "0")
    table = _keyscope("rdb", "diff", str(old), str(new))
    assert table.returncode == 0, table.stderr
    text = table.stdout.decode()
    assert f"{len(after.keys() - before.keys()):,} keys added" in text
    assert "session" in text


def test_rdb_diff_of_a_broken_file_is_one_line_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rdb"
    bad.write_bytes(b"REDIS0011garbage")
    result = _keyscope("rdb", "diff", str(bad), str(bad))
    assert result.returncode == 1
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0], lines
    missing = _keyscope("rdb", "diff", str(tmp_path / "nope.rdb"), str(bad))
    assert missing.returncode == 1 and b"cannot open" in missing.stderr


def test_rdb_diff_beyond_the_sketch_estimates_the_added_keys(
    snapshots: tuple[Path, Path, dict[str, str], dict[str, str]],
) -> None:
    from keyscope.analysis.file_diff import diff_rdb_files

    old, new, before, after = snapshots
    diff = diff_rdb_files(old, new, sketch_keys=64)
    keys = diff["keys"]
    assert keys["exact"] is False
    added = len(after.keys() - before.keys())
    removed = len(before.keys() - after.keys())
    assert keys["added"] - keys["removed"] == added - removed  # both sides' counts are exact
    assert abs(keys["added"] - added) <= 0.5 * len(after)


# --- the API -------------------------------------------------------------------------------


def _node_id(svc: Service) -> str:
    nodes = svc.dcs.get(f"{svc.base}/logical-nodes").json()["nodes"]
    return str(nodes[0]["node_id"])


def _offline_task(svc: Service) -> str:
    created = svc.dcs.post(f"{svc.base}/offline/key-analysis",
                           json_body={"node_id": _node_id(svc)})  # fmt: skip
    assert created.status_code == 200, created.text
    task_id = str(created.json()["task_id"])
    body = svc.wait_for(lambda: svc.dcs.get(f"{svc.base}/offline/key-analysis/{task_id}").json(),
                        lambda b: b["status"] in ("success", "failed"))  # fmt: skip
    assert body["status"] == "success", body
    return task_id


def test_api_diff_of_two_offline_analyses_reports_the_changes(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    redis_server.client().config_set("repl-diskless-sync-delay", "0")
    with running_service(tmp_path, redis_server) as svc:
        _write_first(redis_server)
        before = _scan(redis_server)
        first = _offline_task(svc)
        _change(redis_server)
        after = _scan(redis_server)
        second = _offline_task(svc)
        response = svc.dcs.get(f"{svc.base}/offline/key-analysis/{second}/diff",
                               params={"base": first})  # fmt: skip
        assert response.status_code == 200, response.text
        diff = response.json()
        _check_against_scan(diff, before, after)
        assert "keys" not in diff  # only a file diff reads every key

        unknown = svc.dcs.get(f"{svc.base}/offline/key-analysis/{second}/diff",
                              params={"base": "00000000-0000-0000-0000-000000000000"})  # fmt: skip
        assert is_dcs_error(unknown, 404)
        no_base = svc.dcs.get(f"{svc.base}/offline/key-analysis/{second}/diff")
        assert is_dcs_error(no_base, 400)


def _scan_task(svc: Service, path: str) -> str:
    created = svc.dcs.post(f"{svc.base}/{path}")
    assert created.status_code == 200, created.text
    task_id = str(created.json()["id"])
    body = svc.wait_for(lambda: svc.dcs.get(f"{svc.base}/{path}/{task_id}").json(),
                        lambda b: b["status"] in ("success", "failed"))  # fmt: skip
    assert body["status"] == "success", body
    return task_id


def test_api_diff_of_two_bigkey_scans_lists_the_keys_that_entered_left_and_grew(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    c = redis_server.client()
    with running_service(tmp_path, redis_server) as svc:
        c.set("big:a", "a" * 20_000)
        c.set("big:gone", "g" * 20_000)
        c.rpush("big:list", *range(6000))
        first = _scan_task(svc, "bigkey-task")
        c.delete("big:gone")
        c.set("big:new", "n" * 30_000)
        c.rpush("big:list", *range(4000))
        second = _scan_task(svc, "bigkey-task")
        response = svc.dcs.get(f"{svc.base}/bigkey-task/{second}/diff", params={"base": first})
        assert response.status_code == 200, response.text
        diff = response.json()
        assert [r["name"] for r in diff["entered"]] == ["big:new"]
        assert [r["name"] for r in diff["left"]] == ["big:gone"]
        grown = diff["grown"]
        assert [(r["name"], r["size_before"], r["size_after"]) for r in grown] == [
            ("big:list", 6000, 10000)
        ]
        wrong_kind = svc.dcs.get(f"{svc.base}/hotkey-task/{second}/diff", params={"base": first})
        assert is_dcs_error(wrong_kind, 404)


def test_api_diff_of_two_hotkey_scans_lists_the_key_that_became_hot(
    redis_lfu_server: RedisServer, tmp_path: Path
) -> None:
    c = redis_lfu_server.client()

    def read(key: str) -> None:
        pipe = c.pipeline(transaction=False)
        for _ in range(2000):  # well above the hot-key floor (counter 10, ~100 accesses)
            pipe.get(key)
        pipe.execute()

    c.set("user:1", "v")
    c.set("user:2", "v")
    read("user:1")
    with running_service(tmp_path, redis_lfu_server) as svc:
        first = _scan_task(svc, "hotkey-task")
        read("user:2")
        second = _scan_task(svc, "hotkey-task")
        response = svc.dcs.get(f"{svc.base}/hotkey-task/{second}/diff", params={"base": first})
        assert response.status_code == 200, response.text
        diff = response.json()
    assert diff["kind"] == "hotkey"
    assert [r["name"] for r in diff["entered"]] == ["user:2"]
    assert diff["entered"][0]["freq_before"] is None and diff["entered"][0]["freq_after"] >= 10
    assert diff["left"] == [] and (diff["num_before"], diff["num_after"]) == (1, 2)
