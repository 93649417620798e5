"""A scale-out keyscope as real subprocesses: N ``keyscope serve`` and M ``keyscope worker``.

They share one PostgreSQL database (created for the run, dropped after), one credentials
file, one secrets key and one backup folder, as the README's scale-out section describes.
Also used by ``bench/scaleout.py``.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from keyscope.store.secrets import SecretBox
from tests.utils.dcs import SignedClient, credentials_file
from tests.utils.servers import free_port

KEYSCOPE = str(Path(sys.executable).parent / "keyscope")

ADMIN_URL_ENV = "KEYSCOPE_TEST_POSTGRES_URL"
"""An admin URL of a PostgreSQL server the tests may create databases on (scripts/test sets
it); unset: postgresql://postgres@127.0.0.1:5432/postgres is tried."""

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    return os.environ.get(ADMIN_URL_ENV) or DEFAULT_ADMIN_URL


def postgres_unreachable_reason() -> str | None:
    """None when the admin URL answers; else why the scale-out suite cannot run."""
    try:
        with psycopg.connect(admin_url(), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"no PostgreSQL at {ADMIN_URL_ENV} or 127.0.0.1:5432 ({type(exc).__name__})"
    return None


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new database ``keyscope_test_<random>``, dropped at the end; yields its URL."""
    name = f"keyscope_test_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url(), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _db = admin_url().rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url(), autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@dataclass
class Process:
    """One keyscope subprocess with its log file."""

    args: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_http(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.alive(), self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{self.args[1]} did not start"
            time.sleep(0.1)

    def wait_log(self, line: str, timeout: float = 60) -> None:
        """Wait until the process has logged ``line`` (a worker listening for jobs)."""
        deadline = time.monotonic() + timeout
        while line not in self.log.read_text():
            assert self.alive(), self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"{self.args[1]} did not log {line!r}"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.popen is not None
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class Fleet:
    """API processes and workers over one database; ``client(i)`` talks to API ``i``."""

    root: Path
    database_url: str
    stall_after_s: float = 3.0
    env: dict[str, str] = field(default_factory=dict)
    apis: list[Process] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)
    _http: list[httpx.Client] = field(default_factory=list)

    def __post_init__(self) -> None:
        credentials = credentials_file(self.root / "credentials.json")
        (self.root / "backups").mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "KEYSCOPE_DATABASE_URL": self.database_url,
            "KEYSCOPE_CREDENTIALS": str(credentials),
            "KEYSCOPE_SECRET_KEY": SecretBox.generate_key(),
            "KEYSCOPE_BACKUP_DIR": str(self.root / "backups"),
            "KEYSCOPE_STALL_AFTER_S": str(self.stall_after_s),
            "KEYSCOPE_MAX_OPS_PER_SEC": "20000",
        }

    def start_api(self) -> Process:
        index = len(self.apis)
        port = free_port()
        process = Process(
            [KEYSCOPE, "serve", "--port", str(port),
             "--data-dir", str(self.root / f"api-{index}")],
            self.env, self.root / f"api-{index}.log", port=port,
        ).start()  # fmt: skip
        self.apis.append(process)
        process.wait_http()
        return process

    def start_worker(self, concurrency: int = 2) -> Process:
        index = len(self.workers)
        process = Process(
            [KEYSCOPE, "worker", "--concurrency", str(concurrency),
             "--data-dir", str(self.root / f"worker-{index}")],
            self.env, self.root / f"worker-{index}.log",
        ).start()  # fmt: skip
        self.workers.append(process)
        process.wait_log("Starting worker on queues")
        return process

    def client(self, index: int) -> SignedClient:
        while len(self._http) < len(self.apis):
            self._http.append(httpx.Client(base_url=self.apis[len(self._http)].url, timeout=60))
        return SignedClient(self._http[index % len(self.apis)])

    def stop(self) -> None:
        for http in self._http:
            http.close()
        for process in [*self.workers, *self.apis]:
            process.stop()

    def logs(self) -> str:
        return "\n".join(
            f"== {p.log.name}\n{p.log.read_text()[-2000:]}"
            for p in [*self.apis, *self.workers]
            if p.log.exists()
        )


def wait_task(
    client: SignedClient, path: str, *, timeout: float = 120, wanted: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Poll a task's detail until it is finished (or in one of ``wanted``)."""
    done = wanted or ("success", "failed")
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(path)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in done:
            return body
        assert time.monotonic() < deadline, f"{path} still {body['status']} after {timeout} s"
        time.sleep(0.1)
