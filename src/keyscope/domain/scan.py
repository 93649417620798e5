"""What the callers of an online analysis tell the engine, and how it reports progress."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from keyscope import defaults


@dataclass(frozen=True, slots=True)
class BigKeyThresholds:
    """When a key counts as big (DCS user guide defaults) and how many are kept."""

    string_bytes: int = defaults.BIGKEY_STRING_BYTES
    collection_elements: int = defaults.BIGKEY_COLLECTION_ELEMENTS
    collection_bytes: int = defaults.BIGKEY_COLLECTION_BYTES
    max_records: int = defaults.BIGKEY_MAX_RECORDS
    max_strings: int = defaults.BIGKEY_MAX_STRINGS
    max_per_collection_type: int = defaults.BIGKEY_MAX_PER_COLLECTION_TYPE


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """How an online scan walks the keyspace."""

    scan_count: int = defaults.SCAN_COUNT
    max_ops_per_sec: int | None = defaults.MAX_OPS_PER_SEC
    """Per-node ceiling of commands per second; None means unthrottled."""
    socket_timeout: float = defaults.SOCKET_TIMEOUT_S
    connect_timeout: float = defaults.CONNECT_TIMEOUT_S
    use_replicas: bool = True
    """Read-only analyses read a replica where one exists (DCS behaviour)."""
    bigkeys: BigKeyThresholds = field(default_factory=BigKeyThresholds)
    hotkey_max_records: int = defaults.HOTKEY_MAX_RECORDS
    hotkey_min_accesses: int = defaults.HOTKEY_MIN_ACCESSES
    """The hot-key floor in accesses (see ``defaults.HOTKEY_MIN_ACCESSES``)."""
    hotkeys_window_s: int = defaults.HOTKEYS_WINDOW_S
    """Seconds of the server's own tracking where it has ``HOTKEYS`` (capped at
    ``defaults.HOTKEYS_WINDOW_MAX_S``)."""
    hotkey_min_share: float = defaults.HOTKEY_MIN_SHARE
    """With ``HOTKEYS``: the least share of the network bytes that makes a key hot."""


class Progress(Protocol):
    """Receives the running count of keys scanned; called from worker threads."""

    def __call__(self, keys_scanned: int, keys_total: int | None) -> None: ...


@dataclass(slots=True)
class Cancellation:
    """Set by whoever deletes the task, or by its deadline; the engine checks it between pages."""

    event: threading.Event = field(default_factory=threading.Event)
    reason: str | None = None
    """Why the task was stopped when that was not its deletion (its deadline passed)."""

    def cancel(self, reason: str | None = None) -> None:
        if not self.event.is_set():
            self.reason = reason
        self.event.set()

    @property
    def cancelled(self) -> bool:
        return self.event.is_set()
