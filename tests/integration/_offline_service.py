"""keyscope served in-process with one registered instance, for the backup/offline tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.utils.dcs import SignedClient
from tests.utils.servers import RedisServer
from tests.utils.service import running_app


@dataclass
class Service:
    dcs: SignedClient
    instance_id: str
    data_dir: Path

    @property
    def http(self) -> httpx.Client:
        return self.dcs.http

    @property
    def base(self) -> str:
        return f"/instances/{self.instance_id}"

    @property
    def backups_path(self) -> Path:
        return self.data_dir / "backups"

    def wait_for(self, fetch: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool],
                 timeout: float = 60.0) -> dict[str, Any]:  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            body = fetch()
            if done(body) or time.monotonic() > deadline:
                return body
            time.sleep(0.1)


@contextmanager
def running_service(tmp_path: Path, server: RedisServer) -> Iterator[Service]:
    with running_app(tmp_path) as (_app, dcs):
        body: dict[str, Any] = {"name": "t", "mode": "single", "addresses": [server.address]}
        if server.password:
            body["password"] = server.password
        created = dcs.post("/instances", json_body=body)
        assert created.status_code == 200, created.text
        yield Service(dcs, created.json()["instance_id"], tmp_path / "keyscope-data")
