"""Start-up failures of ``keyscope serve`` and ``keyscope worker``: one line, no traceback.

Before, a corrupt SQLite file gave a 108-line traceback, and a bad setting, an unreachable
PostgreSQL URL or an unwritable data folder ended in pydantic's or uvicorn's dumps. Each
case here runs the real command and expects exit code 2 with exactly one line on stderr,
``keyscope: <what is wrong>``, and never the database password.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_crash_sigkill import KEYSCOPE
from tests.utils.filesystems import small_tmpfs

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PASSWORD = "Pw-s3cret-77"
UNREACHABLE = f"postgresql://keyscope:{PASSWORD}@127.0.0.1:1/keyscope"


def start(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KEYSCOPE_")}
    return subprocess.run(
        [KEYSCOPE, *args], env={**clean, **env}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    return lines[0]


@pytest.fixture
def serve(tmp_path: Path) -> list[str]:
    # No --port: it would override KEYSCOPE_PORT; every case stops before listening.
    return ["serve", "--data-dir", str(tmp_path / "data")]


@pytest.fixture
def read_only_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "ro") as mounted:
        subprocess.run(["mount", "-o", "remount,ro", str(mounted)], check=True)
        yield mounted


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("KEYSCOPE_PORT", "eighty", "keyscope: bad setting port (KEYSCOPE_PORT): "),
        ("KEYSCOPE_WORKERS", "0", "keyscope: bad setting workers (KEYSCOPE_WORKERS): "),
        ("KEYSCOPE_ALLOWED_NETWORKS", "10.0.0.0/99",
         "keyscope: bad setting allowed_networks (KEYSCOPE_ALLOWED_NETWORKS): "),
        ("KEYSCOPE_ANALYSIS_DEADLINE_S", "-1",
         "keyscope: bad setting analysis_deadline_s (KEYSCOPE_ANALYSIS_DEADLINE_S): "),
    ],
)  # fmt: skip
def test_a_bad_setting_stops_serve_and_worker_in_one_line(
    serve: list[str], name: str, value: str, expected: str
) -> None:
    assert one_line(start(serve, **{name: value})).startswith(expected)
    worker = start(["worker"], KEYSCOPE_DATABASE_URL=UNREACHABLE, **{name: value})
    assert one_line(worker).startswith(expected)


def test_a_corrupt_sqlite_file_stops_serve_in_one_line(tmp_path: Path, serve: list[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "keyscope.db").write_bytes(b"this is not a database\n" * 200)
    line = one_line(start(serve))
    assert line == "keyscope: the SQLite database could not be used: file is not a database"


def test_an_unreachable_postgresql_url_stops_serve_in_one_line(serve: list[str]) -> None:
    done = start([*serve, "--database-url", UNREACHABLE], KEYSCOPE_DB_CONNECT_ATTEMPTS="1")
    assert one_line(done) == "keyscope: the database did not answer (OperationalError)"


def test_an_unwritable_data_dir_stops_serve_and_worker_in_one_line(
    read_only_disk: Path, tmp_path: Path
) -> None:
    data = read_only_disk / "data"
    expected = f"keyscope: the data folder {data} is not writable: Read-only file system"
    assert one_line(start(["serve", "--data-dir", str(data)])) == expected
    worker = start(["worker", "--data-dir", str(data)], KEYSCOPE_DATABASE_URL=UNREACHABLE)
    assert one_line(worker) == expected
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    line = one_line(start(["serve", "--data-dir", str(a_file / "data")]))
    assert line == f"keyscope: the data folder {a_file / 'data'} is not writable: Not a directory"
