"""What ``keyscope rdb report`` and ``keyscope analyze bigkeys`` load: only what they use.

Their start-up is measured in BENCHMARKS.md (``bench/cli.py``); here nothing is timed. A fresh
interpreter runs the command and writes down the modules it loaded, so an import that brings
the service's stack (database, web, queue, settings) or pydantic (through Typer's parameter
converters, see ``cli/coercion.py``) back onto these paths fails a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.rdbgen import write_rdb
from tests.utils.servers import RedisServer, start_server

pytestmark = pytest.mark.integration

HEAVY = (
    "sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "httptools", "pydantic",
    "pydantic_core", "pydantic_settings", "procrastinate", "psycopg", "psycopg_pool",
    "cryptography", "redis", "keyscope.settings", "keyscope.store", "keyscope.tasks",
    "keyscope.api", "keyscope.web",
)  # fmt: skip
"""Packages no CLI analysis needs: the service's stack; redis-py (keyscope speaks RESP itself)."""

# Runs the CLI as the console script does, then writes sys.modules to the file argv[1] names.
PROBE = """
import atexit, json, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv[0] = "keyscope"
from keyscope.cli.main import app
app()
"""


def run_and_list_modules(tmp_path: Path, *args: str) -> tuple[str, set[str]]:
    listing = tmp_path / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(listing), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, set(json.loads(listing.read_text()))


def loaded(modules: set[str], *packages: str) -> list[str]:
    """Which of ``packages`` (or their submodules) are among ``modules``."""
    return sorted(p for p in packages if any(m == p or m.startswith(p + ".") for m in modules))


@pytest.fixture
def empty_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_server(tmp_path / "empty")
    yield server
    server.stop()


def test_rdb_report_loads_neither_the_service_nor_pydantic_nor_rich(tmp_path: Path) -> None:
    path = tmp_path / "small.rdb"
    stats = write_rdb(path, keys=50)

    out, modules = run_and_list_modules(tmp_path, "rdb", "report", str(path), "--top", "5")

    assert json.loads(out)["total_num"] == stats.keys
    assert loaded(modules, *HEAVY, "rich", "ssl", "hiredis", "keyscope.redis") == []


def test_analyze_bigkeys_loads_neither_the_service_nor_pydantic_nor_rich_nor_ssl(
    tmp_path: Path, empty_server: RedisServer
) -> None:
    out, modules = run_and_list_modules(
        tmp_path, "analyze", "bigkeys", empty_server.url, "--unthrottled", "--format", "json"
    )

    assert json.loads(out) == []
    assert loaded(modules, *HEAVY, "rich", "ssl", "keyscope.rdb") == []  # ssl: TLS only


def test_a_table_still_draws_with_rich(tmp_path: Path) -> None:
    path = tmp_path / "small.rdb"
    write_rdb(path, keys=5)

    out, modules = run_and_list_modules(tmp_path, "rdb", "report", str(path), "--format", "table")

    assert "Largest keys" in out
    assert loaded(modules, "rich") == ["rich"]
    assert loaded(modules, *HEAVY) == []
