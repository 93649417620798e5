"""Streaming RDB reader and per-key memory estimate: ``iter_records(path_or_stream)``.

The native seam, the way redis-py hides hiredis: each pass over a file has a pure-Python
implementation (the reference) and a compiled one (``rdb/fast.py`` over ``_speedups``),
chosen once at import; ``FAST_PATH_AVAILABLE`` says which, ``KEYSCOPE_PURE_PYTHON=1``
forces the pure ones. The passes:

- records: ``RdbReader`` (``FastRdbReader`` or ``PureRdbReader``), a ``RecordReader``;
- rows of ``rdb keys``: ``rows.write_rows``;
- offline counters: ``analysis/counting.py``'s ``DEFAULT_AGGREGATOR`` (its rules are the
  analysis layer's; the C twin runs inside the reader).

Nothing outside this package imports ``_speedups`` or sees its shapes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from keyscope.domain.keys import KeyRecord
from keyscope.rdb.fast import FAST_PATH_AVAILABLE, FAST_PATH_STATUS, FastRdbReader

if TYPE_CHECKING:
    from keyscope.rdb.memory import MemoryModel
    from keyscope.rdb.reader import RdbReader as PureRdbReader


class RecordReader(Protocol):
    """What both readers offer: the records, and the file's header facts as they are read."""

    @property
    def version(self) -> int: ...
    @property
    def valkey(self) -> bool: ...
    @property
    def aux(self) -> dict[str, bytes]: ...
    @property
    def functions(self) -> int: ...
    @property
    def modules(self) -> dict[str, int]: ...
    @property
    def bytes_read(self) -> int: ...
    @property
    def memory_model(self) -> MemoryModel: ...
    def close(self) -> None: ...
    def __iter__(self) -> Iterator[KeyRecord]: ...


RdbReader: type[FastRdbReader] | type[PureRdbReader]
if FAST_PATH_AVAILABLE:
    RdbReader = FastRdbReader
else:
    from keyscope.rdb.reader import RdbReader as _pure

    RdbReader = _pure


def __getattr__(name: str) -> Any:
    """``PureRdbReader`` is imported when first asked for: the compiled path never needs it."""
    if name == "PureRdbReader":
        from keyscope.rdb.reader import RdbReader as pure

        return pure
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def iter_records(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    verify_checksum: bool = True,
    memory_model: MemoryModel | None = None,
) -> Iterator[KeyRecord]:
    """Yield one KeyRecord per key of an RDB file or stream; memory by the writer's model
    (``rdb/memory.py``) unless ``memory_model`` names another."""
    reader: RecordReader = RdbReader(
        source, verify_checksum=verify_checksum, memory_model=memory_model
    )
    return iter(reader)


__all__ = [
    "FAST_PATH_AVAILABLE",
    "FAST_PATH_STATUS",
    "FastRdbReader",
    "PureRdbReader",
    "RdbReader",
    "RecordReader",
    "iter_records",
]
