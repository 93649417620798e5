"""``keyscope analyze``: the same engines from the command line, records and exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keyscope.cli.main import app
from tests.utils.hotkeys_engine import during_window, tracking_left
from tests.utils.servers import RedisServer, free_port, start_server
from tests.utils.traffic import plant, read_many

pytestmark = pytest.mark.integration

SECRET = "cli-secret-77"
KEYSCOPE = str(Path(sys.executable).with_name("keyscope"))


@pytest.fixture
def protected_lfu_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_server(
        tmp_path / "cli", password=SECRET, extra=["--maxmemory-policy", "allkeys-lfu"]
    )
    yield server
    server.stop()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["analyze", *args])
    return result.exit_code, result.stdout, result.stderr


def test_bigkeys_prints_dcs_records_as_json(protected_lfu_server: RedisServer) -> None:
    with protected_lfu_server.client(db=1) as c:
        c.set("blob", "x" * 12_000)
        c.sadd("members", *range(6000))
        c.set("small", "x")
        memory = {k: int(c.memory_usage(k)) for k in ("blob", "members")}

    code, out, _ = run("bigkeys", protected_lfu_server.url, "--format", "json")

    assert code == 0
    assert json.loads(out) == [
        {"name": "blob", "type": "string", "db": 1, "size": 12_000, "unit": "byte",
         "memory_bytes": memory["blob"]},
        {"name": "members", "type": "set", "db": 1, "size": 6000, "unit": "count",
         "memory_bytes": memory["members"]},
    ]  # fmt: skip
    assert SECRET not in out


def test_bigkeys_table_lists_the_keys(protected_lfu_server: RedisServer) -> None:
    with protected_lfu_server.client() as c:
        c.set("blob", "x" * 12_000)

    code, out, _ = run("bigkeys", protected_lfu_server.url, "--format", "table")

    assert code == 0
    assert "blob" in out and "12,000" in out  # thousands separated, as in every table


def test_hotkeys_prints_freq_and_the_node(protected_lfu_server: RedisServer) -> None:
    with protected_lfu_server.client() as c:
        c.set("hot", "v")
        c.set("cold", "v")
        read_many(c, "hot", 2000)
        freq = int(c.object("freq", "hot"))

    code, out, _ = run("hotkeys", protected_lfu_server.url, "--format", "json")

    assert code == 0
    assert json.loads(out) == [{
        "name": "hot", "type": "string", "db": 0, "size": 1, "unit": "byte", "freq": freq,
        "node": protected_lfu_server.address,
    }]  # fmt: skip


def test_hotkeys_table_and_csv_show_the_counter_the_node_and_the_floor(
    protected_lfu_server: RedisServer,
) -> None:
    with protected_lfu_server.client() as c:
        c.set("hot", "v")
        read_many(c, "hot", 2000)

    code, table, _ = run(
        "hotkeys", protected_lfu_server.url, "--min-accesses", "50", "--format", "table"
    )
    code_csv, out, _ = run("hotkeys", protected_lfu_server.url, "--format", "csv")

    assert code == code_csv == 0
    assert "freq" in table and "node" in table and protected_lfu_server.address in table
    assert "counters from 9 (~50 accesses at lfu-log-factor 10" in " ".join(table.split())
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["name"], r["node"]) for r in rows] == [("hot", protected_lfu_server.address)]
    assert set(rows[0]) == {"name", "name_base64", "type", "db", "size", "unit", "freq", "node"}


def test_hotkeys_on_a_server_with_hotkeys_and_no_lfu_finds_the_planted_keys(
    hotkeys_lru_server: RedisServer,
) -> None:
    redis = hotkeys_lru_server.client()
    planted: list[str] = []
    command = [KEYSCOPE, "analyze", "hotkeys", hotkeys_lru_server.url, "--window", "4",
               "--format", "csv"]  # fmt: skip

    done = during_window(
        redis,
        lambda: subprocess.run(command, capture_output=True, text=True, timeout=60, check=False),
        lambda: planted.extend(plant(lambda _: redis, lambda _: redis)),
    )

    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["name"] for r in rows] == planted
    assert all(float(r["net_share"]) >= 0.01 and float(r["cpu_share"]) > 0 for r in rows)
    assert "freq" not in rows[0]
    assert tracking_left(redis) is None


def test_expire_reports_the_keys_reclaimed(protected_lfu_server: RedisServer) -> None:
    with protected_lfu_server.client() as c:
        c.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        for i in range(40):
            c.set(f"gone:{i}", "v", px=10)
        c.set("kept", "v")
    time.sleep(0.05)

    code, out, _ = run("expire", protected_lfu_server.url, "--format", "json")
    as_csv = CliRunner().invoke(
        app, ["analyze", "expire", protected_lfu_server.url, "--format", "csv"]
    )

    assert code == as_csv.exit_code == 0
    assert json.loads(out) == {"num": 40, "scanned_keys": 1}
    # CRLF as every CSV keyscope writes (Click's .stdout would turn it into \n).
    assert as_csv.stdout_bytes == b"num,scanned_keys\r\n0,1\r\n"


def test_hotkeys_without_lfu_policy_fails_with_the_reason(redis_server: RedisServer) -> None:
    code, out, err = run("hotkeys", redis_server.url)

    assert code == 1
    assert out == ""
    assert "noeviction" in err


def test_unreachable_server_exits_1_naming_it() -> None:
    address = f"127.0.0.1:{free_port()}"

    code, _, err = run("bigkeys", f"redis://{address}")

    assert code == 1
    assert address in err


def test_wrong_password_exits_1_without_echoing_it(protected_lfu_server: RedisServer) -> None:
    wrong = "wrong-" + SECRET
    url = f"redis://:{wrong}@{protected_lfu_server.address}"

    code, out, err = run("bigkeys", url)

    assert code == 1
    assert wrong not in out + err


@pytest.mark.parametrize(
    "args",
    [["bigkeys", "http://localhost:1"], ["bigkeys", "redis://"], ["bigkeys"], ["nosuchthing"]],
)
def test_bad_usage_exits_2(args: list[str]) -> None:
    code, _, _ = run(*args)
    assert code == 2
