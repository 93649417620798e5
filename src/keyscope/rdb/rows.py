"""The rows of ``keyscope rdb keys``: each key of an RDB as a JSON line or a CSV row.

``row_fields`` and ``write_rows_python`` are the reference; the compiled writer
(``native/writer.c``) writes the same bytes, which ``tests/unit/rdb/test_fast_path.py``
holds it to. ``write_rows`` is the compiled writer where it was built, else the pure one,
chosen once at import (``FAST_PATH_AVAILABLE``).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO, Literal, Protocol

from keyscope.domain import csvcells
from keyscope.domain.errors import RdbFormatError
from keyscope.domain.keys import KeyRecord
from keyscope.domain.names import name_text
from keyscope.rdb import fast

if TYPE_CHECKING:
    from keyscope.rdb.memory import MemoryModel

RowFormat = Literal["jsonl", "csv"]
Target = Callable[[bytes], object] | int
"""Where rows go: a file descriptor, or a ``write(bytes)``."""

ROW_FIELDS = ("db", "key", "key_base64", "type", "encoding", "expiry_ms", "num_elements",
              "serialized_size", "memory", "memory_basis")  # fmt: skip
"""The columns of a row, in order (the CSV header). A JSON line has ``key_base64`` only where
the key is escaped (``domain/names.py``); a CSV row has it empty where the key cell is the
key's text (``domain/csvcells.py``)."""

FLUSH_BYTES = 1 << 20
"""Rows are formatted into a buffer and written out about this much at a time."""


class RowWriter(Protocol):
    def __call__(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        target: Target,
        fmt: RowFormat,
        *,
        memory_model: MemoryModel | None = None,
    ) -> int: ...


def row_fields(rec: KeyRecord) -> dict[str, object]:
    """One record as the named fields of its row (``key_base64`` only where needed)."""
    key, b64 = name_text(rec.key)
    fields: dict[str, object] = {"db": rec.db, "key": key}
    if b64 is not None:
        fields["key_base64"] = b64
    return fields | {
        "type": rec.type,
        "encoding": rec.encoding,
        "expiry_ms": rec.expiry_ms,
        "num_elements": rec.num_elements,
        "serialized_size": rec.serialized_size,
        "memory": rec.memory,
        "memory_basis": rec.memory_basis,
    }


def _send(target: Target, data: bytes) -> None:
    if not isinstance(target, int):
        target(data)
        return
    view = memoryview(data)
    while view:
        view = view[os.write(target, view) :]


def write_rows_python(
    source: str | os.PathLike[str] | BinaryIO,
    target: Target,
    fmt: RowFormat,
    *,
    memory_model: MemoryModel | None = None,
) -> int:
    """Every key of ``source`` as a row to ``target``; returns how many. On a format error the
    rows before it are written, then ``RdbFormatError`` is raised."""
    from keyscope.rdb.reader import RdbReader

    buffer = io.StringIO(newline="")
    writer = csvcells.writer(buffer) if fmt == "csv" else None
    rows = 0
    try:
        for rec in RdbReader(source, memory_model=memory_model):
            fields = row_fields(rec)
            if writer is not None:
                writer.writerow(csvcells.record_row(fields, ROW_FIELDS))
            else:
                buffer.write(json.dumps(fields, ensure_ascii=False))
                buffer.write("\n")
            rows += 1
            if buffer.tell() >= FLUSH_BYTES:
                _flush(buffer, target)
    except RdbFormatError:
        _flush(buffer, target)
        raise
    _flush(buffer, target)
    return rows


def _flush(buffer: io.StringIO, target: Target) -> None:
    if buffer.tell():
        _send(target, buffer.getvalue().encode())
        buffer.seek(0)
        buffer.truncate()


write_rows: RowWriter = fast.write_rows if fast.FAST_PATH_AVAILABLE else write_rows_python
