"""The compiled RDB reader (``rdb/native/``); only ``rdb/fast.py`` imports it."""

from collections.abc import Callable
from typing import Literal, Protocol

from keyscope.rdb.counts import NativeCounts, RecordTuple

class _Readinto(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...

class Reader:
    """One pass over an RDB: a file descriptor (``start``..``size``) or a readinto stream."""

    version: int
    valkey: bool
    functions: int
    bytes_read: int
    finished: bool
    aux: dict[str, bytes]
    modules: dict[str, int]
    memory_model: str
    """``layout/allocator`` of the estimates: the one given, else the writer's (at the first
    key)."""

    def __init__(
        self,
        source: int | _Readinto,
        start: int = 0,
        size: int = 0,
        verify_checksum: bool = True,
        memory_model: str | None = None,
    ) -> None: ...
    def next_batch(self, n: int, /) -> list[RecordTuple]: ...
    def aggregate(
        self,
        top_keys: int,
        capacity: int,
        delimiters: bytes,
        max_depth: int,
        now_ms: int,
        progress: Callable[[int, int], object] | None = None,
        every: int = 8192,
    ) -> NativeCounts: ...
    def write_keys(
        self, write: Callable[[bytes], object] | int, fmt: Literal["jsonl", "csv"], /
    ) -> int: ...
    def close(self) -> None: ...

def set_error_class(cls: type[Exception], /) -> None: ...
def crc64(data: bytes, crc: int = 0, /) -> int: ...
