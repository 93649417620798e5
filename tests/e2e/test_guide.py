"""docs/guide.md's scripts and commands run as written against a real keyscope and Redis.

Every block under a ``<!-- guide: NAME -->`` marker is extracted from the guide, written to a
file and run: the Python ones with the SDK against ``keyscope serve``, the shell ones with
the ``keyscope`` command. What they print must be the analyses' real results.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.dcs import credentials_file
from tests.utils.serve_process import Serve, keyscope_serve
from tests.utils.servers import RedisServer

pytestmark = pytest.mark.e2e

GUIDE = Path(__file__).parents[2] / "docs" / "guide.md"
BLOCK = re.compile(r"<!-- guide: (\w+) -->\n```(python|sh)\n(.*?)```", re.DOTALL)
BIN = Path(sys.executable).parent


def guide_blocks() -> list[tuple[str, str, str]]:
    return [m.groups() for m in BLOCK.finditer(GUIDE.read_text())]  # type: ignore[misc]


def script(name: str) -> str:
    (code,) = [code for block, lang, code in guide_blocks() if block == name and lang == "python"]
    return code


def shell_blocks() -> list[str]:
    return [code for block, _, code in guide_blocks() if block == "sh"]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    data = tmp_path / "data"
    data.mkdir()
    credentials_file(data / "credentials.json")
    with keyscope_serve(data) as running:
        yield running


def run(code: str, lang: str, cwd: Path, env: dict[str, str]) -> str:
    path = cwd / ("block.py" if lang == "python" else "block.sh")
    path.write_text(code)
    command = (
        [sys.executable, str(path)] if lang == "python" else ["bash", "-eo", "pipefail", str(path)]
    )
    done = subprocess.run(
        command, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{path.name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def plant_keyspace(server: RedisServer) -> None:
    r = server.client()
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")  # the scan, not Redis, reclaims them
    r.set("session:blob", b"x" * 30_000)
    r.rpush("queue:jobs", *range(6000))
    r.mset({f"user:{i}": "v" for i in range(50)})
    plant_expired(server)
    pipe = r.pipeline(transaction=False)
    for _ in range(2000):  # far above the hot-key floor (counter 10, about 100 accesses)
        pipe.get("user:7")
    pipe.execute()


def plant_expired(server: RedisServer) -> None:
    """Seven keys whose TTL has passed; nothing has touched them since, so they are still there."""
    r = server.client()
    for i in range(7):
        r.set(f"gone:{i}", "x", px=1)
    time.sleep(0.05)


def test_the_guide_has_a_script_for_every_analysis_and_its_commands() -> None:
    names = [block for block, lang, _ in guide_blocks() if lang == "python"]
    assert names == ["register", "bigkeys", "hotkeys", "expire", "offline"]
    assert len(shell_blocks()) == 4
    assert [block for block, lang, _ in guide_blocks() if lang == "sh"].count("client") == 1


def test_every_script_of_the_guide_prints_the_real_results(
    serve: Serve, redis_lfu_server: RedisServer, tmp_path: Path
) -> None:
    plant_keyspace(redis_lfu_server)
    env = {
        **os.environ,
        "KEYSCOPE_ENDPOINT": serve.url,
        "KEYSCOPE_CREDENTIALS": str(tmp_path / "data" / "credentials.json"),
        "REDIS_ADDRESS": redis_lfu_server.address,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    instance_id = run(script("register"), "python", tmp_path, env).strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", instance_id), instance_id
    env["INSTANCE_ID"] = instance_id

    big = run(script("bigkeys"), "python", tmp_path, env).splitlines()
    assert big[0] == "status success big keys 2"
    assert sorted(line.split() for line in big[1:3]) == [
        ["list", "6000", "count", "db0", "queue:jobs"],
        ["string", "30000", "byte", "db0", "session:blob"],
    ]
    assert big[3] == "runs so far 1"

    hot = run(script("hotkeys"), "python", tmp_path, env).splitlines()
    assert hot[0] == "status success hot keys 1"
    assert hot[1].split()[2:] == ["string", "db0", "user:7"]
    assert int(hot[1].split()[1]) > 10
    assert b"user:7" in (tmp_path / "hotkeys.csv").read_bytes()

    plant_expired(redis_lfu_server)  # the big-key scan's TYPE reclaimed the first seven
    expire = run(script("expire"), "python", tmp_path, env)
    assert expire.strip() == "status success reclaimed 7"

    offline = run(script("offline"), "python", tmp_path, env).splitlines()
    assert offline[:4] == [
        "backup succeed",
        "analysis success keys 52 bytes 56128",
        "  string 51 keys",
        "  list   1 keys",
    ]
    largest = [line.split() for line in offline if line.startswith("  largest")]
    assert [(row[1], row[-1]) for row in largest[:2]] == [
        ("string", "session:blob"),
        ("list", "queue:jobs"),
    ]
    prefixes = {
        line.split()[-1]: line.split()[4] for line in offline if line.startswith("  prefix")
    }
    assert prefixes == {"user": "50", "session": "1", "queue": "1"}


def test_the_guides_commands_analyse_the_same_redis_and_its_file(
    redis_lfu_server: RedisServer, tmp_path: Path
) -> None:
    plant_keyspace(redis_lfu_server)
    r = redis_lfu_server.client()
    r.save()
    rdb = Path(r.config_get("dir")["dir"]) / r.config_get("dbfilename")["dbfilename"]
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "REDIS_ADDRESS": redis_lfu_server.address,
        "RDB_FILE": str(rdb),
    }
    bigkeys_block, hotkeys_block, expire_block, offline_block = shell_blocks()
    bigkeys = run(bigkeys_block, "sh", tmp_path, env).splitlines()
    assert bigkeys[0] == "name,name_base64,type,db,size,unit"
    assert sorted(bigkeys[1:]) == [
        "queue:jobs,,list,0,6000,count",
        "session:blob,,string,0,30000,byte",
    ]
    hotkeys = run(hotkeys_block, "sh", tmp_path, env).splitlines()
    assert [line.split(",")[:4] for line in hotkeys[1:]] == [["user:7", "", "string", "0"]]
    plant_expired(redis_lfu_server)  # the scans above reclaimed the first seven
    assert json.loads(run(expire_block, "sh", tmp_path, env))["num"] == 7

    run(offline_block, "sh", tmp_path, env)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["total_num"] == 59  # the file was saved with the seven expired keys in it
    assert {t["type"]: t["num"] for t in report["type_num"]} == {"string": 58, "list": 1}
    assert [k["key"] for k in report["largest_keys"][:2]] == ["session:blob", "queue:jobs"]
    expired = next(b for b in report["ttl_distribution"] if b["bucket"] == "expired")
    assert expired["num"] == 7
    keys = (tmp_path / "keys.csv").read_text().splitlines()
    assert keys[0].startswith("db,key,key_base64,type,")
    assert len(keys) == 1 + 59


def test_the_guides_client_commands_register_and_run_every_analysis_on_a_running_keyscope(
    serve: Serve, redis_lfu_server: RedisServer, tmp_path: Path
) -> None:
    plant_keyspace(redis_lfu_server)
    (client,) = [code for block, _, code in guide_blocks() if block == "client"]
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "KEYSCOPE_ENDPOINT": serve.url,
        "KEYSCOPE_CREDENTIALS": str(tmp_path / "data" / "credentials.json"),
        "REDIS_ADDRESS": redis_lfu_server.address,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    run(client, "sh", tmp_path, env)
    names = ("added", "instances", "bigkeys", "hotkeys", "expire", "offline")
    out = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in names}
    assert (out["added"]["name"], out["added"]["status"]) == ("guide", "RUNNING")
    assert [i["instance_id"] for i in out["instances"]] == [out["added"]["instance_id"]]
    assert out["expire"] == {"num": 7, "scanned_keys": 52}
    assert sorted((k["name"], k["size"]) for k in out["bigkeys"]) == [
        ("queue:jobs", 6000),
        ("session:blob", 30000),
    ]
    assert [k["name"] for k in out["hotkeys"]] == ["user:7"]
    assert out["offline"]["total_num"] == 52
    assert [k["key"] for k in out["offline"]["largest_keys"][:2]] == ["session:blob", "queue:jobs"]
