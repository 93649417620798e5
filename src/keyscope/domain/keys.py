"""Result records of the online analyses and the per-key record of the RDB reader."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from keyscope.domain.names import name_text

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
    """One big key, as DCS BigkeysBody: bytes for strings, element count for collections.

    keyscope's extension: ``memory_bytes``, the key's ``MEMORY USAGE`` (None where the server
    has no MEMORY command or did not answer it for this key).
    """

    name: str
    type: KeyType
    db: int
    size: int
    unit: SizeUnit
    shard: str | None = None
    name_base64: str | None = None
    """The exact bytes where ``name`` is escaped (``domain/names.py``)."""
    memory_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class HotKey:
    """One hot key, as DCS HotkeysBody: a BigKey plus the LFU counter ``freq`` (0-255).

    keyscope's extensions: ``node``, the ``ip:port`` where the key was seen hottest (its
    highest counter, else its most network bytes); ``cpu_share`` and ``net_share``, the key's
    part (0-1) of the CPU time and network bytes its shard's nodes spent on commands with
    keys during a ``HOTKEYS`` window. Each is None where it was not measured (``freq`` too, on
    a node without an LFU policy).
    """

    name: str
    type: KeyType
    db: int
    size: int
    unit: SizeUnit
    freq: int | None
    shard: str | None = None
    node: str | None = None
    cpu_share: float | None = None
    net_share: float | None = None
    name_base64: str | None = None


@dataclass(frozen=True, slots=True)
class LfuFloor:
    """How one node's LFU counters were judged: its settings and the counter floor they give."""

    node: str
    log_factor: int
    decay_time: int
    min_freq: int
    """Counters from this up are hot: what ``min_accesses`` reach on average."""
    from_server: bool
    """False where CONFIG GET was refused and the Redis defaults were assumed."""


@dataclass(frozen=True, slots=True)
class HotKeyReport:
    """The hot keys, hottest first, and how they were measured."""

    keys: list[HotKey]
    min_accesses: int | None = None
    """The floor in accesses, where LFU counters were read."""
    lfu: tuple[LfuFloor, ...] = ()
    window_s: int | None = None
    """Seconds of ``HOTKEYS`` tracking, where the server's own tracking ran."""
    min_share: float | None = None
    tracked_nodes: tuple[str, ...] = ()

    def measured(self) -> dict[str, Any]:
        """How the keys were found, as the task result keeps it (JSON)."""
        out: dict[str, Any] = {}
        if self.lfu:
            out["min_accesses"] = self.min_accesses
            out["lfu"] = [
                {"node": f.node, "lfu_log_factor": f.log_factor, "lfu_decay_time": f.decay_time,
                 "min_freq": f.min_freq, "from_server": f.from_server}
                for f in self.lfu
            ]  # fmt: skip
        if self.tracked_nodes:
            out["window_s"] = self.window_s
            out["min_share"] = self.min_share
            out["tracked_nodes"] = list(self.tracked_nodes)
        return out


def key_record(key: BigKey | HotKey) -> dict[str, Any]:
    """A record with the DCS field names (``name_base64`` after ``name``); fields that were
    not measured are left out."""
    fields = asdict(key)
    ordered = {"name": fields.pop("name"), "name_base64": fields.pop("name_base64"), **fields}
    return {name: value for name, value in ordered.items() if value is not None}


@dataclass(frozen=True, slots=True)
class ExpireNodeResult:
    """One master's part of an expired-key scan: its ``expired_keys`` growth and keys walked."""

    node: str
    expired_keys: int
    scanned_keys: int
    seconds: float


@dataclass(frozen=True, slots=True)
class ExpireScanResult:
    """What an expired-key scan reclaimed and how much it walked, in all and per master."""

    expired_keys: int
    scanned_keys: int
    nodes: tuple[ExpireNodeResult, ...] = ()


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
    """A key as text, as every output writes it (``domain/names.py``)."""
    return name_text(raw)[0]
