"""Each recommendation fires on a keyspace built to need it, not on one built not to, and its
bytes-saved estimate is within 25 % of what the server frees when the change is applied.

The server's ``used_memory`` is read after ``DEBUG RELOAD`` both before and after the
change, so both sides are a keyspace loaded from an RDB (values at their exact size), as
the estimates assume.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from keyscope.analysis.advice import Recommendation
from keyscope.analysis.counting import NativeAggregator, PythonAggregator
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


def _advice(server: RedisServer, tmp_path: Path, rule: str) -> list[Recommendation]:
    server.client().save()
    path = tmp_path / "dump.rdb"
    shutil.copyfile(server.workdir / "dump.rdb", path)
    report = analyze_rdb(path)
    if FAST_PATH_AVAILABLE:  # the compiled counters give the same recommendations
        pure = report_of(PythonAggregator().count(path, None))
        native = report_of(NativeAggregator().count(path, None))
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


@pytest.mark.skipif(not FAST_PATH_AVAILABLE, reason="the compiled reader was not built")
@pytest.mark.parametrize("capacity", [4, 4096], ids=["pruned", "exact"])
def test_the_compiled_counters_of_the_recommendations_equal_the_pure_ones(
    r: redis.Redis, server: RedisServer, tmp_path: Path, capacity: int
) -> None:
    from keyscope.analysis.counting import OfflineOptions

    def write(p: redis.client.Pipeline) -> None:
        for i in range(300):
            p.set(f"a{i % 37}:b{i % 5}:{i}", "x" * (i % 90), ex=3600 if i % 3 else None)
        for i in range(20):
            p.hset(f"h{i % 3}:{i}", mapping={f"f{j}": j for j in range(130 + 40 * i)})
            p.sadd(f"s:{i}", *[f"m{j}" for j in range(129 + 50 * i)])
            p.zadd(f"z:{i}", {f"m{j}": j for j in range(200 + 30 * i)})
            p.set("L" * (120 + i) + f":{i}", "v")

    _pipe(r, write)
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
