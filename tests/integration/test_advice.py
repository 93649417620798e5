"""Each recommendation fires on a keyspace built to need it, not on one built not to, and its
bytes-saved estimate is within 25 % of what the server frees when the change is applied.

The server's ``used_memory`` is read after ``DEBUG RELOAD`` both before and after the
change, so both sides are a keyspace loaded from an RDB (values at their exact size), as
the estimates assume.
"""

from __future__ import annotations

import functools
import json
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from keyscope.analysis.advice import Recommendation
from keyscope.analysis.counting import NativeAggregator, OfflineOptions, PythonAggregator
from keyscope.analysis.offline import analyze_rdb, report_of
from keyscope.rdb.fast import FAST_PATH_AVAILABLE
from tests.utils.engines import engine_server
from tests.utils.servers import RedisServer, start_server

pytestmark = pytest.mark.integration

TOLERANCE = 0.25


@pytest.fixture(scope="module", params=["redis", "valkey-8.1-libc"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RedisServer]:
    workdir = tmp_path_factory.mktemp("advice") / "server"
    if request.param == "redis":
        started = start_server(workdir)
        yield started
        started.stop()
        return
    with engine_server(request.param, workdir) as engine:
        yield engine


@pytest.fixture
def r(server: RedisServer) -> Iterator[redis.Redis]:
    client = server.client()
    client.flushall()
    client.config_set("hash-max-listpack-entries", "128")
    yield client
    client.flushall()


def _used(r: redis.Redis) -> int:
    r.execute_command("DEBUG", "RELOAD")
    return int(r.info("memory")["used_memory"])


def _advice(
    server: RedisServer, tmp_path: Path, rule: str, options: OfflineOptions | None = None
) -> list[Recommendation]:
    server.client().save()
    path = tmp_path / "dump.rdb"
    shutil.copyfile(server.workdir / "dump.rdb", path)
    report = analyze_rdb(path, options)
    if FAST_PATH_AVAILABLE:  # the compiled counters give the same recommendations
        pure = report_of(PythonAggregator().count(path, options))
        native = report_of(NativeAggregator().count(path, options))
        assert pure.recommendations == native.recommendations
    return [rec for rec in report.recommendations if rec.rule == rule]


def _freed(r: redis.Redis, change: Callable[[], None]) -> int:
    before = _used(r)
    change()
    return before - _used(r)


def _close(estimate: int, freed: int) -> None:
    assert freed > 0
    assert abs(estimate - freed) <= TOLERANCE * freed, (estimate, freed)


def _pipe(r: redis.Redis, commands: Callable[[redis.client.Pipeline], None]) -> None:
    pipe = r.pipeline(transaction=False)
    commands(pipe)
    pipe.execute()


# --- listpack-limit crossings -------------------------------------------------------------


def _hashes(r: redis.Redis, fields: int, keys: int = 200) -> None:
    _pipe(r, lambda p: [p.hset(f"h:{i}", mapping={f"field{j}": f"value{j}" for j in range(fields)})
                        for i in range(keys)])  # fmt: skip


def test_hashes_past_the_listpack_limit_get_the_setting_that_packs_them(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    _hashes(r, fields=300)
    assert r.object("encoding", "h:0") == b"hashtable"
    (rec,) = _advice(server, tmp_path, "listpack_limit")
    assert rec.setting == {"hash-max-listpack-entries": 512}
    assert (rec.type, rec.keys_affected) == ("hash", 200)
    assert len(rec.example_keys) == 3 and all(k.startswith("h:") for k in rec.example_keys)

    def apply() -> None:
        r.config_set("hash-max-listpack-entries", "512")

    freed = _freed(r, apply)
    assert r.object("encoding", "h:0") == b"listpack"
    _close(rec.bytes_saved, freed)


def test_hashes_under_the_listpack_limit_get_no_setting(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    _hashes(r, fields=100)
    assert _advice(server, tmp_path, "listpack_limit") == []


# --- keys without a TTL where most have one -----------------------------------------------


def _sessions(r: redis.Redis, with_ttl: int, without: int) -> None:
    def write(p: redis.client.Pipeline) -> None:
        for i in range(with_ttl):
            p.set(f"session:{i}", "s" * 100, ex=86400)
        for i in range(with_ttl, with_ttl + without):
            p.set(f"session:{i}", "s" * 100)

    _pipe(r, write)


def test_keys_without_a_ttl_among_expiring_ones_are_listed_with_their_bytes(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    _sessions(r, with_ttl=45000, without=5000)
    (rec,) = _advice(server, tmp_path, "missing_ttl")
    assert (rec.key_prefix, rec.keys_affected) == ("session", 5000)
    assert r.ttl(rec.example_keys[0]) == -1

    def apply() -> None:  # give them a TTL and let it pass: the reload drops expired keys
        _pipe(r, lambda p: [p.pexpire(f"session:{i}", 1) for i in range(45000, 50000)])
        r.execute_command("DEBUG", "SLEEP", "0.01")

    _close(rec.bytes_saved, _freed(r, apply))
    assert r.dbsize() == 45000


def test_a_prefix_where_half_the_keys_expire_is_not_flagged(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    _sessions(r, with_ttl=5000, without=5000)
    assert _advice(server, tmp_path, "missing_ttl") == []


# --- oversized key names ------------------------------------------------------------------


def _named(r: redis.Redis, length: int, keys: int = 3000) -> list[str]:
    names = [f"k:{i}:".ljust(length, "x") for i in range(keys)]
    _pipe(r, lambda p: [p.set(n, "v" * 20) for n in names])
    return names


def test_oversized_key_names_are_flagged_with_what_short_names_save(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    names = _named(r, 300)
    (rec,) = _advice(server, tmp_path, "long_key_names")
    assert rec.keys_affected == 3000 and rec.example_keys[0] in names

    def apply() -> None:
        _pipe(r, lambda p: [p.rename(n, f"k:{i}:".ljust(32, "x")) for i, n in enumerate(names)])

    _close(rec.bytes_saved, _freed(r, apply))


def test_short_key_names_are_not_flagged(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    _named(r, 100)
    assert _advice(server, tmp_path, "long_key_names") == []


# --- many small strings -------------------------------------------------------------------


def _small(r: redis.Redis, size: int, keys: int = 20000) -> None:
    _pipe(r, lambda p: [p.set(f"user:{i}", "n" * size) for i in range(keys)])


def test_many_small_strings_are_bucketed_into_hashes_with_the_bytes_it_saves(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    _small(r, 20)
    (rec,) = _advice(server, tmp_path, "small_strings")
    assert (rec.key_prefix, rec.keys_affected) == ("user", 20000)

    def apply() -> None:
        # the buckets' names are among the old keys': write them after the strings are gone
        _pipe(r, lambda p: [p.delete(f"user:{i}") for i in range(20000)])
        _pipe(r, lambda p: [p.hset(f"user:{i // 100}", str(i), "n" * 20) for i in range(20000)])

    _close(rec.bytes_saved, _freed(r, apply))
    assert r.object("encoding", "user:0") == b"listpack"


def test_large_strings_are_not_bucketed(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    _small(r, 200)
    assert _advice(server, tmp_path, "small_strings") == []


# --- keys in dbs other than 0, bound for a cluster ----------------------------------------

CLUSTER_BOUND = OfflineOptions(cluster_bound=True)


def _in_db(server: RedisServer, db: int, keys: int) -> None:
    client = server.client(db=db)
    _pipe(client, lambda p: [p.set(f"db{db}:{i}", "v" * 50) for i in range(keys)])


def test_keys_outside_db_0_of_a_cluster_bound_keyspace_are_listed_per_db(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    _in_db(server, 0, 500)
    _in_db(server, 2, 300)
    _in_db(server, 5, 40)
    recs = _advice(server, tmp_path, "other_dbs", CLUSTER_BOUND)
    assert [(rec.keys_affected, rec.bytes_saved) for rec in recs] == [(300, 0), (40, 0)]
    assert [" db 2," in recs[0].title, " db 5," in recs[1].title] == [True, True]
    for db, rec in zip((2, 5), recs, strict=True):
        assert len(rec.example_keys) == 3
        assert all(server.client(db=db).exists(k) for k in rec.example_keys)


def test_keys_in_db_0_only_or_a_keyspace_not_bound_for_a_cluster_are_not_flagged(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    _in_db(server, 0, 500)
    assert _advice(server, tmp_path, "other_dbs", CLUSTER_BOUND) == []
    _in_db(server, 3, 500)
    assert _advice(server, tmp_path, "other_dbs") == []


def test_rdb_report_flags_other_dbs_only_when_told_the_keyspace_is_bound_for_a_cluster(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    _in_db(server, 0, 10)
    _in_db(server, 4, 20)
    r.save()
    keyscope = str(Path(sys.executable).with_name("keyscope"))
    dump = str(server.workdir / "dump.rdb")
    rules = []
    for extra in ([], ["--cluster-bound"]):
        done = subprocess.run([keyscope, "rdb", "report", dump, "--format", "json", *extra],
                              capture_output=True, check=True, timeout=120)  # fmt: skip
        rules.append([(rec["rule"], rec["keys_affected"])
                      for rec in json.loads(done.stdout)["recommendations"]])  # fmt: skip
    assert rules == [[], [("other_dbs", 20)]]


# --- huge strings that compression would shrink -------------------------------------------


def _text(seed: int, size: int) -> bytes:
    """Text of words, as JSON documents and logs are: LZF takes it to about half."""
    rng = random.Random(seed)
    words = [f"w{rng.randrange(10**6)}" for _ in range(300)]
    out = " ".join(rng.choice(words) for _ in range(size // 4))
    return out.encode()[:size]


def _length(data: bytes, at: int) -> tuple[int, int]:
    """An RDB length at ``at``: its value and where the next field starts."""
    kind = data[at] >> 6
    if kind == 0:
        return data[at] & 0x3F, at + 1
    if kind == 1:
        return ((data[at] & 0x3F) << 8) | data[at + 1], at + 2
    assert data[at] == 0x80, data[at]
    return int.from_bytes(data[at + 1 : at + 5], "big"), at + 5


def _lzf_of(r: redis.Redis, key: str) -> bytes:
    """The LZF blob the server itself compresses the value to (DUMP: type 0, then 0xC3)."""
    dump = r.dump(key)
    assert isinstance(dump, bytes) and dump[:2] == b"\x00\xc3"
    clen, at = _length(dump, 2)
    _, at = _length(dump, at)
    return dump[at : at + clen]


def _huge(r: redis.Redis, value: Callable[[int], bytes], keys: int = 200) -> None:
    _pipe(r, lambda p: [p.set(f"doc:{i}", value(i)) for i in range(keys)])


def test_huge_compressible_strings_are_flagged_with_what_compressing_them_saves(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    _huge(r, lambda i: _text(i, 60_000))
    (rec,) = _advice(server, tmp_path, "compress_strings")
    assert (rec.type, rec.keys_affected) == ("string", 200)
    assert len(rec.example_keys) == 3 and all(k.startswith("doc:") for k in rec.example_keys)

    def apply() -> None:
        blobs = {f"doc:{i}": _lzf_of(r, f"doc:{i}") for i in range(200)}
        _pipe(r, lambda p: [p.set(k, v) for k, v in blobs.items()])

    _close(rec.bytes_saved, _freed(r, apply))


def test_incompressible_or_small_strings_are_not_flagged_for_compression(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    _huge(r, lambda i: random.Random(i).randbytes(60_000))
    _pipe(r, lambda p: [p.set(f"small:{i}", _text(i, 8000)) for i in range(2000)])
    assert _advice(server, tmp_path, "compress_strings") == []


# --- lists that list compression would shrink ---------------------------------------------


def _lists(r: redis.Redis, element: Callable[[int, int], bytes], keys: int = 100) -> None:
    for i in range(keys):
        r.rpush(f"log:{i}", *[element(i, j) for j in range(5000)])


WORDS = [f"w{n * 7919 % 10**6}".encode() for n in range(300)]


def _line(i: int, j: int) -> bytes:
    """A log line of words: LZF takes a node of them to about half."""
    rng = random.Random(i * 5000 + j)
    return b" ".join(rng.choices(WORDS, k=10))[:60]


def test_long_compressible_lists_get_list_compression_with_what_it_saves(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    _lists(r, _line)
    assert r.object("encoding", "log:0") == b"quicklist"
    (rec,) = _advice(server, tmp_path, "compress_lists")
    assert (rec.type, rec.keys_affected) == ("list", 100)
    assert rec.setting == {"list-compress-depth": 1}
    assert all(k.startswith("log:") for k in rec.example_keys)

    def apply() -> None:  # the reload rebuilds every list under the new depth
        r.config_set("list-compress-depth", "1")

    try:
        _close(rec.bytes_saved, _freed(r, apply))
    finally:
        r.config_set("list-compress-depth", "0")


def test_short_or_incompressible_lists_get_no_list_compression(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    rng = random.Random(0)
    _lists(r, lambda i, j: rng.randbytes(60))
    _pipe(r, lambda p: [p.rpush(f"short:{i}", *[_line(i, j) for j in range(200)])
                        for i in range(500)])  # fmt: skip
    assert _advice(server, tmp_path, "compress_lists") == []


# --- an engine whose encodings waste memory against a newer one ---------------------------


def _member(j: int, length: int) -> str:
    """A member of ``length`` bytes that LZF leaves as it is, as the RDB would show it."""
    return (f"t{j}:" + random.Random(j).randbytes(length).hex())[:length]


def _tag_sets(r: redis.Redis, member: int, keys: int = 3000) -> None:
    members = [_member(j, member) for j in range(50)]
    _pipe(r, lambda p: [p.sadd(f"tags:{i}", *members) for i in range(keys)])


def _keys_memory(server: RedisServer, write: Callable[[redis.Redis], None]) -> int:
    """What the keys take on ``server``: used_memory loaded from an RDB, less the empty one's."""
    r = server.client()
    r.flushall()
    empty = _used(r)
    write(r)
    return _used(r) - empty


def test_small_sets_on_redis_6_2_are_flagged_with_what_redis_7_4_saves(
    tmp_path: Path,
) -> None:
    write = functools.partial(_tag_sets, member=10)
    with engine_server("redis-6.2.14", tmp_path / "old") as old:
        before = _keys_memory(old, write)
        (rec,) = _advice(old, tmp_path, "old_engine")
    assert (rec.type, rec.keys_affected) == ("set", 3000)
    assert all(k.startswith("tags:") for k in rec.example_keys)
    with engine_server("redis-7.4.1", tmp_path / "new") as new:
        after = _keys_memory(new, write)
        assert new.client().object("encoding", "tags:0") == b"listpack"
        assert _advice(new, tmp_path, "old_engine") == []  # the newer engine packs them
    _close(rec.bytes_saved, before - after)


def test_sets_of_long_strings_on_redis_6_2_are_not_flagged(tmp_path: Path) -> None:
    with engine_server("redis-6.2.14", tmp_path / "old") as old:
        _keys_memory(old, functools.partial(_tag_sets, member=100))
        assert _advice(old, tmp_path, "old_engine") == []


@pytest.mark.skipif(not FAST_PATH_AVAILABLE, reason="the compiled reader was not built")
@pytest.mark.parametrize("capacity", [4, 4096], ids=["pruned", "exact"])
def test_the_compiled_counters_of_the_recommendations_equal_the_pure_ones(
    r: redis.Redis, server: RedisServer, tmp_path: Path, capacity: int
) -> None:
    def write(p: redis.client.Pipeline) -> None:
        for i in range(300):
            p.set(f"a{i % 37}:b{i % 5}:{i}", "x" * (i % 90), ex=3600 if i % 3 else None)
        for i in range(20):
            p.hset(f"h{i % 3}:{i}", mapping={f"f{j}": j for j in range(130 + 40 * i)})
            p.sadd(f"s:{i}", *[f"m{j}" for j in range(129 + 50 * i)])
            p.zadd(f"z:{i}", {f"m{j}": j for j in range(200 + 30 * i)})
            p.set("L" * (120 + i) + f":{i}", "v")

    _pipe(r, write)
    _in_db(server, 1, 5)
    r.set("c:1", _text(1, 20_000))
    r.set("c:2", _text(2, 17_000))
    r.set("c:3", random.Random(3).randbytes(20_000))
    r.rpush("l:1", *[_line(1, j) for j in range(3000)])
    r.rpush("l:2", *[_line(2, j) for j in range(2000)])
    r.rpush("l:3", random.Random(3).randbytes(60 * 3000))
    for i in range(5):
        r.sadd(f"ss:{i}", *[_member(j, 10 + 20 * i) for j in range(40 + 20 * i)])
    server.client().save()
    path = tmp_path / "dump.rdb"
    shutil.copyfile(server.workdir / "dump.rdb", path)
    options = OfflineOptions(prefix_capacity=capacity, now_ms=0)
    pure = PythonAggregator().count(path, options)
    native = NativeAggregator().count(path, options)
    assert pure.types.keys() == native.types.keys()
    for name, stats in pure.types.items():
        other = native.types[name]
        assert stats.prefixes.counts == other.prefixes.counts, name
        assert [vars_of(s) for s in stats.ladder] == [vars_of(s) for s in other.ladder], name
    assert (pure.long_keys, pure.long_examples) == (native.long_keys, native.long_examples)
    assert (pure.dbs, pure.db_examples) == (native.dbs, native.db_examples)
    assert pure.compressible == native.compressible
    assert pure.compressible_examples == native.compressible_examples
    assert pure.compressible[0] == 2
    assert pure.compressible_lists == native.compressible_lists
    assert pure.compressible_list_examples == native.compressible_list_examples
    assert pure.compressible_lists[0] == 2
    assert vars_of(pure.small_sets) == vars_of(native.small_sets)
    packs_sets = r.object("encoding", "ss:0") == b"listpack"
    assert pure.small_sets.num == (0 if packs_sets else 3)  # members of 70 bytes are long
    assert any(s.num for s in pure.types["hash"].ladder)
    assert pure.long_keys[0] == 13  # names of 129 bytes and more


def vars_of(step: object) -> tuple[object, ...]:
    return tuple(getattr(step, f) for f in ("num", "bytes", "listpack_bytes", "key_bytes",
                                             "examples"))  # fmt: skip


def test_the_api_offline_report_carries_the_recommendations(
    r: redis.Redis, server: RedisServer, tmp_path: Path
) -> None:
    from tests.integration._offline_service import running_service
    from tests.integration.test_api_bigkeys import wait_finished

    _hashes(r, fields=300)
    r.config_set("repl-diskless-sync-delay", "0")
    with running_service(tmp_path, server) as svc:
        node = svc.dcs.get(f"{svc.base}/logical-nodes").json()["nodes"][0]["node_id"]
        created = svc.dcs.post(f"{svc.base}/offline/key-analysis", json_body={"node_id": node})
        detail = wait_finished(svc.dcs, f"{svc.base}/offline/key-analysis/"
                                        f"{created.json()['task_id']}")  # fmt: skip
    assert detail["status"] == "success", detail
    (rec,) = detail["recommendations"]
    assert rec["rule"] == "listpack_limit" and rec["keys_affected"] == 200
    assert rec["setting"] == {"hash-max-listpack-entries": 512}
    assert rec["bytes_saved"] > 0 and len(rec["example_keys"]) == 3
