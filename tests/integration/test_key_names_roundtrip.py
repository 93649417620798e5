"""Binary key names survive every output, exactly (issue 18, item 7).

Keys whose names hold invalid UTF-8, NUL, a newline, bidi and separator characters, formula
starts, and a name spelled like another one's escape are written to a real Redis (two
databases), then analysed online (API big keys and hot keys, the hot-key export in CSV and
JSON, ``keyscope analyze`` in JSON and CSV) and from its RDB (API offline analysis,
``keyscope rdb report`` in JSON and CSV, ``keyscope rdb keys`` in JSON lines and CSV). In
every output each key's name and base64 field give back its exact bytes, the bytes and their
spelling with backslashes never print alike, every key record carries its ``db``, CSV has no
NUL, one line ending and no cell a spreadsheet would run.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keyscope.domain.names import name_bytes
from tests.integration._offline_service import Service, running_service
from tests.integration.test_api_bigkeys import wait_finished
from tests.utils.servers import RedisServer, start_server

pytestmark = pytest.mark.integration

KEYSCOPE = str(Path(sys.executable).with_name("keyscope"))

NAMES: dict[bytes, int] = {
    b"\xff\xfe\x80": 0,
    b"\\xff\\xfe\\x80": 0,  # looks like the escape of the one above
    b"\\\\xff": 0,
    b"nul\x00byte": 3,
    b"new\nline\r\n": 3,
    b"tab\tstart": 0,
    "bidi \u202eevil\u202c".encode(): 0,
    "sep \u2028 \u2029".encode(): 3,
    b"\xed\xa0\x80 surrogate": 0,
    b'=HYPERLINK("http://x")': 0,
    b"+1": 3,
    b"-2": 0,
    b"@SUM(A1)": 0,
    b"\xfb base64 starts with a plus": 0,
    "plain ключ".encode(): 3,
}
FORMULA = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_server(tmp_path / "names", extra=["--maxmemory-policy", "allkeys-lfu"])
    for db in (0, 3):
        with server.client(db=db) as c:
            pipe = c.pipeline(transaction=False)
            for name, in_db in NAMES.items():
                if in_db == db:
                    pipe.set(name, b"v" * 11_000)
            for _ in range(1_500):
                for name, in_db in NAMES.items():
                    if in_db == db:
                        pipe.get(name)
            pipe.execute()
    with server.client() as c:
        c.config_set("repl-diskless-sync-delay", "0")
    yield server
    server.stop()


def _decoded(record: dict[str, Any], field: str) -> bytes:
    b64 = record.get(f"{field}_base64")
    if b64 is None:  # the text is the key: no escape in it
        assert "\\" not in record[field]
    return name_bytes(record[field], b64)


def _check_records(records: list[dict[str, Any]], field: str = "name") -> None:
    got = {_decoded(r, field): r["db"] for r in records}
    assert got == NAMES
    texts = [r[field] for r in records]
    assert len(set(texts)) == len(texts)  # no two keys print alike


def _csv_rows(text: str) -> list[dict[str, str]]:
    """The rows of a CSV keyscope wrote: no NUL, CRLF only, no cell a spreadsheet would run."""
    assert "\x00" not in text
    assert text.count("\r\n") == text.count("\n") > 0
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    for row in rows:
        for value in row.values():
            assert not value.startswith(FORMULA), row
    return rows


def _csv_keys(rows: list[dict[str, str]], field: str) -> dict[bytes, int]:
    """Each row's key bytes (its base64 cell, without the ' a spreadsheet needs, where filled)
    and its db."""
    out = {}
    for row in rows:
        b64 = row[f"{field}_base64"].removeprefix("'") or None
        if b64 is None:  # the cell is the key's text
            assert "\\" not in row[field] and not row[field].startswith("'")
        out[name_bytes(row[field], b64)] = int(row["db"])
    return out


def _check_csv(text: str, field: str = "name") -> None:
    assert _csv_keys(_csv_rows(text), field) == NAMES


def _keyscope(*args: str) -> str:
    done = subprocess.run([KEYSCOPE, *args], capture_output=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode("utf-8")  # as written: no newline translation


def test_online_analyses_give_back_every_key_exactly(tmp_path: Path, server: RedisServer) -> None:
    with running_service(tmp_path, server) as svc:
        results = {}
        for kind in ("bigkey", "hotkey"):
            task = svc.dcs.post(f"{svc.base}/{kind}-task").json()["id"]
            results[kind] = wait_finished(svc.dcs, f"{svc.base}/{kind}-task/{task}")
            assert results[kind]["status"] == "success", results[kind]
            _check_records(results[kind]["keys"])
        exported_csv = svc.dcs.post(f"{svc.base}/hotkey/{task}/export")
        exported_json = svc.dcs.post(f"{svc.base}/hotkey/{task}/export", params={"format": "json"})

    assert exported_csv.headers["content-type"].startswith("text/csv")
    _check_csv(exported_csv.text)
    _check_records(exported_json.json()["keys"])

    url = f"redis://{server.address}"
    _check_records(json.loads(_keyscope("analyze", "bigkeys", url, "--format", "json")))
    _check_csv(_keyscope("analyze", "bigkeys", url, "--format", "csv"))
    _check_records(json.loads(_keyscope("analyze", "hotkeys", url, "--format", "json")))
    _check_csv(_keyscope("analyze", "hotkeys", url, "--format", "csv"))


def _only_names(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["type"] == "string"]


def test_offline_analyses_give_back_every_key_exactly(tmp_path: Path, server: RedisServer) -> None:
    with running_service(tmp_path, server) as svc:
        node = svc.dcs.get(f"{svc.base}/logical-nodes").json()["nodes"][0]["node_id"]
        task = svc.dcs.post(f"{svc.base}/offline/key-analysis", json_body={"node_id": node})
        detail = _offline_detail(svc, task.json()["task_id"])
    assert detail["status"] == "success", detail
    _check_records(detail["largest_keys"], "key")

    with server.client() as c:
        c.save()
    rdb = str(server.workdir / "dump.rdb")
    report = json.loads(_keyscope("rdb", "report", rdb, "--format", "json"))
    _check_records(report["largest_keys"], "key")
    rows = _csv_rows(_keyscope("rdb", "report", rdb, "--format", "csv"))
    assert _csv_keys([r for r in rows if r["section"] == "largest_key"], "name") == NAMES
    for prefix in report["largest_key_prefixes"]:
        assert name_bytes(prefix["key_prefix"], prefix.get("key_prefix_base64"))

    # The cluster-wide report of two shards' files (the same keys in each).
    other = str(server.workdir / "other.rdb")
    shutil.copyfile(rdb, other)
    merged = json.loads(_keyscope("rdb", "report", rdb, other, "--format", "json"))
    for shard in (rdb, other):
        _check_records([k for k in merged["largest_keys"] if k["shard"] == shard], "key")
    rows = _csv_rows(_keyscope("rdb", "report", rdb, other, "--format", "csv"))
    for shard in (rdb, other):
        mine = [r for r in rows if r["section"] == "largest_key" and r["shard"] == shard]
        assert _csv_keys(mine, "name") == NAMES

    lines = _keyscope("rdb", "keys", rdb, "--format", "jsonl").splitlines()
    _check_records([json.loads(line) for line in lines], "key")
    _check_records(json.loads(_keyscope("rdb", "keys", rdb, "--format", "json")), "key")
    _check_csv(_keyscope("rdb", "keys", rdb, "--format", "csv"), "key")


def _offline_detail(svc: Service, task_id: str) -> dict[str, Any]:
    path = f"{svc.base}/offline/key-analysis/{task_id}"
    return svc.wait_for(lambda: svc.dcs.get(path).json(),
                        lambda r: r["status"] in ("success", "failed"))  # fmt: skip


def test_the_issue_pair_prints_apart_and_decodes_apart() -> None:
    """Issue 18's reproduction: the bytes ``\\xff\\xfe\\x80`` and the same text spelled out."""
    from keyscope.domain.names import name_text

    binary, spelled = name_text(b"\xff\xfe\x80"), name_text(b"\\xff\\xfe\\x80")
    assert binary[0] != spelled[0]
    assert base64.b64decode(binary[1] or "") == b"\xff\xfe\x80"
    assert base64.b64decode(spelled[1] or "") == b"\\xff\\xfe\\x80"
