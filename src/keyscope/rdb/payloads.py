"""The keys of an RDB file as ``DUMP`` payloads, ready for ``RESTORE``.

A ``DUMP`` payload is the value exactly as an RDB file stores it: its type byte and value
bytes, then the two-byte RDB version of the format and a CRC-64 of everything before it.
A restore therefore never decodes a value: it reads the bytes the reader walked over for
each key, from the file itself, and adds the footer. One value at a time is in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from keyscope.domain.errors import RdbFormatError
from keyscope.rdb.crc64 import Crc64
from keyscope.rdb.reader import Measured, RdbReader

MAX_PAYLOAD_BYTES = 512 * 1024 * 1024
"""Redis' ``proto-max-bulk-len`` default: no server takes a larger ``RESTORE`` argument."""


@dataclass(frozen=True, slots=True)
class Payload:
    """One key of the file: where it lives, when it expires (ms, absolute) and its value."""

    db: int
    key: bytes
    expiry_ms: int | None
    payload: bytes


def dump_payload(type_byte: int, value: bytes, rdb_version: int) -> bytes:
    """The ``DUMP`` serialization of one value: type, value, version (LE16), CRC-64 (LE64)."""
    body = bytes([type_byte]) + value + rdb_version.to_bytes(2, "little")
    crc = Crc64()
    crc.update(body)
    return body + crc.value.to_bytes(8, "little")


class _Tap(dict[int, Callable[[], Measured]]):
    """The reader's value handlers, each noting its type byte and where its value starts."""

    def __init__(self, handlers: dict[int, Callable[[], Measured]], reader: _PayloadReader):
        super().__init__(handlers)
        self._reader = reader

    def get(self, op: int, default: Any = None) -> Any:
        handler = super().get(op)
        if handler is None:
            return default
        reader = self._reader

        def tapped() -> Measured:
            reader.type_byte, reader.value_start = op, reader.bytes_read
            return handler()

        return tapped


class _PayloadReader(RdbReader):
    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path)
        self.type_byte = 0
        self.value_start = 0
        self._handlers = _Tap(self._handlers, self)


def read_payloads(path: str | os.PathLike[str]) -> Iterator[Payload]:
    """Every key of the RDB file at ``path`` with its ``DUMP`` payload, in file order."""
    reader = _PayloadReader(path)
    with open(path, "rb") as values:
        for record in reader:
            size = reader.bytes_read - reader.value_start
            if size > MAX_PAYLOAD_BYTES:
                raise RdbFormatError(
                    f"a value of {size} bytes is larger than any server accepts in RESTORE",
                    offset=reader.value_start,
                )
            values.seek(reader.value_start)
            value = values.read(size)
            payload = dump_payload(reader.type_byte, value, reader.version)
            yield Payload(record.db, record.key, record.expiry_ms, payload)


def rdb_version(path: str | os.PathLike[str]) -> tuple[bool, int]:
    """``(valkey_magic, version)`` of the file's header, checked as the reader checks it."""
    reader = RdbReader(path)
    try:
        reader._header()  # the header alone, without walking the keys
        return reader.valkey, reader.version
    finally:
        reader.close()
