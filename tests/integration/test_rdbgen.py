"""The test generator writes RDB files that Redis itself accepts, with the keyspace it reports."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.utils.rdbgen import write_rdb
from tests.utils.servers import start_server

pytestmark = pytest.mark.integration


def test_generated_file_passes_redis_check_rdb(tmp_path: Path) -> None:
    stats = write_rdb(tmp_path / "gen.rdb", keys=3000, dbs=2)
    check = subprocess.run(
        ["redis-check-rdb", str(tmp_path / "gen.rdb")], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout[-2000:]
    assert f"{stats.keys} keys read" in check.stdout
    assert f"{stats.expires} expires" in check.stdout


def test_generated_file_loads_into_redis_with_deep_sanitization(tmp_path: Path) -> None:
    workdir = tmp_path / "srv"
    workdir.mkdir()
    stats = write_rdb(workdir / "dump.rdb", keys=3000, dbs=2)
    server = start_server(workdir, extra=["--sanitize-dump-payload", "yes"])
    try:
        loaded = {db: server.client(db=db).dbsize() for db in (0, 1)}
        assert sum(loaded.values()) == stats.keys - stats.expired
        types = {server.client().type(k).decode() for k in server.client().scan_iter(count=1000)}
        assert types == {"string", "list", "set", "zset", "hash"}
    finally:
        server.stop()


def test_generator_covers_every_encoding_redis_7_writes(tmp_path: Path) -> None:
    workdir = tmp_path / "srv"
    workdir.mkdir()
    write_rdb(workdir / "dump.rdb", keys=10_000)
    server = start_server(workdir)
    try:
        c = server.client()
        keys = list(c.scan_iter(count=5000))
        pipe = c.pipeline(transaction=False)
        for k in keys:
            pipe.type(k)
            pipe.object("encoding", k)
        replies = pipe.execute()
        encodings = {
            (t.decode(), e.decode()) for t, e in zip(replies[::2], replies[1::2], strict=True)
        }
        assert {
            ("string", "int"), ("string", "embstr"), ("string", "raw"),
            ("list", "quicklist"), ("set", "intset"), ("set", "hashtable"),
            ("zset", "listpack"), ("zset", "skiplist"), ("hash", "listpack"),
            ("hash", "hashtable"),
        } <= encodings  # fmt: skip
    finally:
        server.stop()
