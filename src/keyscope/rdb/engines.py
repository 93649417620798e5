"""Which memory model a file needs: its writer named by its aux fields, or one a user names."""

from __future__ import annotations

import re

from keyscope.domain.errors import InvalidInput
from keyscope.rdb.memory import ALLOCATORS, LAYOUTS, UNSTABLE, MemoryModel


def parse_model(text: str) -> MemoryModel:
    """``LAYOUT[/ALLOCATOR]`` as the ``--memory-model`` option takes it, e.g. ``valkey-8.0``."""
    layout, _, allocator = text.strip().partition("/")
    allocator = allocator or "jemalloc"
    if layout not in LAYOUTS or allocator not in ALLOCATORS:
        raise InvalidInput(
            f"unknown memory model {text!r}: use one of {', '.join(LAYOUTS)}, "
            f"optionally with /{' or /'.join(ALLOCATORS)}"
        )
    return MemoryModel(layout, allocator, "chosen")


_VERSION = re.compile(rb"(\d{1,6})(?:\.(\d{1,6}))?(?:\.(\d{1,6}))?")


def _version(raw: bytes) -> tuple[int, ...]:
    """Up to three leading dot-separated numbers (each capped at 999), padded with zeros."""
    found = _VERSION.match(raw)
    if found is None:
        return ()
    return tuple(min(int(part or 0), 999) for part in found.groups())


def model_for(
    aux: dict[str, bytes], rdb_version: int, *, valkey_magic: bool = False
) -> MemoryModel:
    """The model of the server that wrote a file, from its ``valkey-ver``/``redis-ver`` aux fields.

    Without them (old or foreign writers) the RDB version alone decides. An unstable tree
    reports 255.255.255 and gets the newest layout of its engine.
    """
    if "valkey-ver" in aux or valkey_magic:
        version = _version(aux.get("valkey-ver", b""))
        label = f"valkey-ver {aux['valkey-ver'].decode('ascii', 'replace')}" if version else ""
        if version and version < (8, 1):
            layout = "valkey-8.0"
        elif version == UNSTABLE:
            layout = "valkey-8.1-dev"  # the unstable tree the tests run (2025-01)
        else:
            layout = "valkey-8.1"
        return MemoryModel(layout, "jemalloc", label or f"RDB {rdb_version} (Valkey magic)")
    version = _version(aux.get("redis-ver", b""))
    if version:
        label = f"redis-ver {aux['redis-ver'].decode('ascii', 'replace')}"
    else:
        version = _redis_version_of_rdb(rdb_version)
        label = f"RDB {rdb_version}"
    return MemoryModel(_redis_layout(version), "jemalloc", label)


def _redis_layout(version: tuple[int, ...]) -> str:
    if version < (7, 0):
        return "redis-6.2"
    if version < (7, 2):
        return "redis-7.0"
    if version < (7, 4):
        return "redis-7.2"
    if version < (8, 0):
        return "redis-7.4"
    return "redis-8"


def _redis_version_of_rdb(rdb_version: int) -> tuple[int, ...]:
    if rdb_version <= 9:
        return (6, 2)
    if rdb_version == 10:
        return (7, 0)
    if rdb_version == 11:
        return (7, 2)
    if rdb_version == 12:
        return (7, 4)
    return (8, 0)
