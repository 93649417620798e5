"""Start real ``redis-server`` processes on free ports: standalone, with a replica, a cluster.

Nothing here assumes a server on 6379: every server is ours, in its own temporary folder,
and stopped at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

REDIS_SERVER = shutil.which("redis-server") or "redis-server"
REDIS_CLI = shutil.which("redis-cli") or "redis-cli"
PORT_CEILING = 55000
"""Every port we hand out is below this, so a cluster bus port (+10000) stays valid."""


@dataclass(frozen=True)
class Binaries:
    """How to start one engine: server and cli binaries, fixed arguments, extra environment.

    ``args`` come before a server's own options (module loads, the debug-command switch that
    Redis 6.2 does not know); replicas and cluster nodes of the same engine inherit them.
    """

    server: str = REDIS_SERVER
    cli: str = REDIS_CLI
    args: tuple[str, ...] = ("--enable-debug-command", "local")
    env: tuple[tuple[str, str], ...] = ()
    name: str = ""
    """The engine's name in ``tests/utils/engines.py`` ("" for the redis-server on PATH)."""

    def environment(self) -> dict[str, str] | None:
        if not self.env:
            return None
        return {**os.environ, **dict(self.env)}


DEFAULT_BINARIES = Binaries()


def free_port() -> int:
    """A TCP port below 55000 free on 127.0.0.1 now, its cluster bus port (+10000) too."""
    for _ in range(2000):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port >= PORT_CEILING:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair found")


@dataclass
class RedisServer:
    """One running redis-server we started."""

    port: int
    workdir: Path
    password: str | None = None
    extra: list[str] = field(default_factory=list)
    binaries: Binaries = DEFAULT_BINARIES
    process: subprocess.Popen[bytes] | None = None
    host: str = "127.0.0.1"

    @property
    def binary(self) -> str:
        return self.binaries.server

    @binary.setter
    def binary(self, server: str) -> None:
        """Another server binary of the same kind (its cli and arguments kept)."""
        self.binaries = dataclasses.replace(self.binaries, server=server)

    @property
    def cli(self) -> str:
        return self.binaries.cli

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}"

    def start(self) -> RedisServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", self.host,
            "--dir", str(self.workdir),
            "--save", "",
            "--appendonly", "no",
            "--logfile", str(self.workdir / "server.log"),
            *self.binaries.args,
            *self.extra,
        ]  # fmt: skip
        if self.password:
            args += ["--requirepass", self.password, "--masterauth", self.password]
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.binaries.environment(),
            cwd=self.workdir,
        )
        self.wait_ready()
        return self

    def client(self, db: int = 0, **kw: object) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, password=self.password, db=db, **kw)  # type: ignore[arg-type]

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                log = (self.workdir / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server on {self.port} exited: {log}")
            with contextlib.suppress(redis.RedisError, OSError), self.client(socket_timeout=1) as c:
                if c.ping():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    workdir: Path,
    password: str | None = None,
    extra: list[str] | None = None,
    binary: str | None = None,
    *,
    binaries: Binaries | None = None,
) -> RedisServer:
    """Start a server; ``binary`` names just another server binary, ``binaries`` a whole engine."""
    kind = binaries or (Binaries(server=binary) if binary else DEFAULT_BINARIES)
    return RedisServer(free_port(), workdir, password, list(extra or []), kind).start()


def start_replica(
    master: RedisServer, workdir: Path, extra: list[str] | None = None
) -> RedisServer:
    """Start a replica of ``master`` (same engine) and wait until the initial sync is done."""
    replica = start_server(
        workdir,
        master.password,
        ["--replicaof", master.host, str(master.port), *(extra or [])],
        binaries=master.binaries,
    )
    wait_in_sync(master, replica)
    return replica


def wait_in_sync(master: RedisServer, replica: RedisServer, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = replica.client().info("replication")
        if info.get("master_link_status") == "up" and not info.get("master_sync_in_progress"):
            minfo = master.client().info("replication")
            online = [
                v
                for k, v in minfo.items()
                if k.startswith("slave") and isinstance(v, dict) and v.get("state") == "online"
                and int(v.get("port", 0)) == replica.port
            ]  # fmt: skip
            if online and info.get("slave_repl_offset") == minfo.get("master_repl_offset"):
                return
        time.sleep(0.05)
    raise RuntimeError("replica did not sync in time")


@dataclass
class Cluster:
    """A Redis Cluster of N masters, each optionally with one replica."""

    masters: list[RedisServer]
    replicas: list[RedisServer]

    @property
    def servers(self) -> list[RedisServer]:
        return self.masters + self.replicas

    @property
    def addresses(self) -> list[str]:
        return [s.address for s in self.masters]

    def client(self) -> redis.RedisCluster:
        m = self.masters[0]
        return redis.RedisCluster(host=m.host, port=m.port, password=m.password)

    def stop(self) -> None:
        for s in self.servers:
            s.stop()


def start_cluster(workdir: Path, shards: int = 3, with_replicas: bool = False,
                  password: str | None = None, *, binaries: Binaries | None = None,
                  extra: list[str] | None = None) -> Cluster:  # fmt: skip
    """Start ``shards`` cluster masters (and replicas) and join them with the engine's cli."""
    kind = binaries or DEFAULT_BINARIES
    servers: list[RedisServer] = []
    count = shards * (2 if with_replicas else 1)
    for i in range(count):
        node = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "5000", *(extra or [])]  # fmt: skip
        servers.append(start_server(workdir / f"node{i}", password, node, binaries=kind))
    args = [kind.cli, "--cluster", "create", *[s.address for s in servers], "--cluster-yes"]
    if with_replicas:
        args += ["--cluster-replicas", "1"]
    if password:
        args += ["-a", password, "--no-auth-warning"]
    try:
        subprocess.run(args, check=True, capture_output=True, timeout=60, env=kind.environment())
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        for s in servers:
            s.stop()
        raise
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        infos = [s.client().cluster("info") for s in servers]
        if all(i.get("cluster_state") == "ok" for i in infos):
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("cluster did not reach state ok")
    masters, replicas = [], []
    for s in servers:
        role = s.client().info("replication")["role"]
        (masters if role == "master" else replicas).append(s)
    cluster = Cluster(masters, replicas)
    if with_replicas:
        for r in replicas:
            deadline = time.monotonic() + 30
            while r.client().info("replication").get("master_link_status") != "up":
                if time.monotonic() > deadline:
                    raise RuntimeError("cluster replica did not sync")
                time.sleep(0.1)
    return cluster


@contextlib.contextmanager
def running(server: RedisServer) -> Iterator[RedisServer]:
    try:
        yield server
    finally:
        server.stop()
