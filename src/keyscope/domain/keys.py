"""Result records of the online analyses and the per-key record of the RDB reader."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

KeyType = Literal["string", "list", "set", "zset", "hash", "stream", "array", "module"]
"""Key types as keyscope reports them; DCS itself names only the first five. ``array`` is
Redis 8.8's native array type; a module value is ``module`` with the module's type name
as its encoding."""

SizeUnit = Literal["byte", "count"]

MemoryBasis = Literal["model", "serialized"]
"""How a record's ``memory`` was found: by the engine's memory model, or (a module value,
whose structures only its module knows) as the key's overhead plus the bytes the value
serialized to, a floor rather than an estimate."""


@dataclass(frozen=True, slots=True)
class BigKey:
    """One big key, as DCS BigkeysBody: bytes for strings, element count for collections."""

    name: str
    type: KeyType
    db: int
    size: int
    unit: SizeUnit
    shard: str | None = None


@dataclass(frozen=True, slots=True)
class HotKey:
    """One hot key, as DCS HotkeysBody: a BigKey plus the LFU counter ``freq`` (0-255)."""

    name: str
    type: KeyType
    db: int
    size: int
    unit: SizeUnit
    freq: int
    shard: str | None = None


@dataclass(frozen=True, slots=True)
class ExpireScanResult:
    """What an expired-key scan reclaimed and how much it walked."""

    expired_keys: int
    scanned_keys: int


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One key of an RDB file as the streaming reader yields it.

    ``key`` is raw bytes (keys are binary-safe); ``expiry_ms`` is an absolute Unix time in
    milliseconds or None; ``num_elements`` is the byte length for strings and the element
    count otherwise (entries for streams); ``serialized_size`` is the bytes the value took in
    the file; ``memory`` is the estimated bytes the key takes in a running server, found as
    ``memory_basis`` says.
    """

    db: int
    key: bytes
    type: KeyType
    encoding: str
    expiry_ms: int | None
    num_elements: int
    serialized_size: int
    memory: int
    memory_basis: MemoryBasis = "model"


def display_key(raw: bytes) -> str:
    """A key as text: UTF-8 where it is, backslash escapes for the other bytes."""
    return raw.decode("utf-8", "backslashreplace")
