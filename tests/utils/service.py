"""A keyscope app for one test: real SQLite in a temporary folder, known credentials."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from keyscope.api.app import Overrides, create_app
from keyscope.domain.topology import (
    InstanceMode,
    Node,
    NodeRole,
    Shard,
    Topology,
)
from keyscope.settings import Settings
from keyscope.store.db import SessionFactory
from keyscope.tasks.clock import Clock, utcnow
from tests.utils.dcs import SignedClient, credentials_file
from tests.utils.servers import free_port


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free port in a thread; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
        ws="none",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="keyscope-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def running_app(
    tmp_path: Path, *, clock: Clock = utcnow, sign_at: datetime | None = None
) -> Iterator[tuple[FastAPI, SignedClient]]:
    """The app served (migrations, runner) with no scheduler thread; a signed client."""
    data = tmp_path / "keyscope-data"
    data.mkdir(parents=True, exist_ok=True)
    if not (data / "credentials.json").exists():
        credentials_file(data / "credentials.json")
    settings = Settings(data_dir=data, workers=2, database_url=None, credentials=None)
    app = create_app(settings, Overrides(clock=clock, scheduler_poll_s=None))
    with serving(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        yield app, SignedClient(http, now=sign_at)


def session_factory(app: FastAPI) -> SessionFactory:
    factory: SessionFactory = app.state.services.session_factory
    return factory


def single_topology(host: str = "127.0.0.1", port: int = 1) -> Topology:
    """A hand-made standalone topology, for tests that never connect to it."""
    node = Node("n" * 32, host, port, NodeRole.MASTER, "g" * 32, "group-0")
    return Topology(InstanceMode.SINGLE, "redis", "7.0.15", (Shard("g" * 32, "group-0", node),))
