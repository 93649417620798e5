"""Streaming RDB reader and per-key memory estimate: ``iter_records(path_or_stream)``.

``RdbReader`` is the compiled reader (``rdb/fast.py``) where it was built, else the
pure-Python one (``rdb/reader.py``), chosen once at import; ``FAST_PATH_AVAILABLE`` says
which. ``PureRdbReader`` is always the pure-Python reference.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

from keyscope.domain.keys import KeyRecord
from keyscope.rdb.fast import FAST_PATH_AVAILABLE, FAST_PATH_STATUS, FastRdbReader
from keyscope.rdb.reader import RdbReader as PureRdbReader

RdbReader: type[FastRdbReader] | type[PureRdbReader] = (
    FastRdbReader if FAST_PATH_AVAILABLE else PureRdbReader
)


def iter_records(
    source: str | os.PathLike[str] | BinaryIO, *, verify_checksum: bool = True
) -> Iterator[KeyRecord]:
    """Yield one KeyRecord per key of an RDB file or stream."""
    return iter(RdbReader(source, verify_checksum=verify_checksum))


__all__ = [
    "FAST_PATH_AVAILABLE",
    "FAST_PATH_STATUS",
    "FastRdbReader",
    "PureRdbReader",
    "RdbReader",
    "iter_records",
]
