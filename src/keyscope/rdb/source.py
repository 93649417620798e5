"""A buffered byte source over any binary stream that knows its offset."""

from __future__ import annotations

from typing import BinaryIO

from keyscope.domain.errors import RdbFormatError

CHUNK = 1 << 20
"""Bytes read from the underlying stream at a time."""


class ByteSource:
    """Reads exact byte counts from a stream, tracking the absolute offset.

    Declared lengths are never trusted to allocate: large reads are assembled from
    bounded chunks as the stream delivers them, and skips read and discard.
    """

    __slots__ = ("_buf", "_digest", "_eof", "_pos", "_stream", "base")

    def __init__(self, stream: BinaryIO, digest: object | None = None) -> None:
        self._stream = stream
        self._buf = b""
        self._pos = 0
        self.base = 0
        self._eof = False
        self._digest = digest

    @property
    def offset(self) -> int:
        return self.base + self._pos

    def _fill(self, need: int) -> None:
        """Make at least ``need`` unread bytes available, or raise at end of stream."""
        pieces = [self._buf[self._pos :]]
        have = len(pieces[0])
        while have < need:
            chunk = self._stream.read(max(CHUNK, min(need - have, 64 * CHUNK)))
            if not chunk:
                self._eof = True
                # where the stream ended: everything it delivered, buffered or not
                raise RdbFormatError("unexpected end of file", offset=self.base + self._pos + have)
            pieces.append(chunk)
            have += len(chunk)
        consumed = self._pos
        self._feed_digest(self._buf[:consumed])
        self.base += consumed
        self._buf = b"".join(pieces)
        self._pos = 0

    def _feed_digest(self, data: bytes) -> None:
        if self._digest is not None and data:
            self._digest.update(data)  # type: ignore[attr-defined]

    def read(self, n: int) -> bytes:
        pos = self._pos
        end = pos + n
        if end > len(self._buf):
            if n > 64 * CHUNK:
                return self._read_large(n)
            self._fill(n)
            pos, end = 0, n
        self._pos = end
        return self._buf[pos:end]

    def _read_large(self, n: int) -> bytes:
        parts: list[bytes] = []
        left = n
        while left:
            step = min(left, 16 * CHUNK)
            parts.append(self.read(step))
            left -= step
        return b"".join(parts)

    def skip(self, n: int) -> None:
        avail = len(self._buf) - self._pos
        if n <= avail:
            self._pos += n
            return
        left = n - avail
        self._pos = len(self._buf)
        while left:
            step = min(left, 16 * CHUNK)
            self._fill(step)
            self._pos = step
            left -= step

    def byte(self) -> int:
        pos = self._pos
        if pos >= len(self._buf):
            self._fill(1)
            pos = 0
        self._pos = pos + 1
        return self._buf[pos]

    def finish_digest(self) -> None:
        """Feed everything consumed so far to the digest (call before reading the checksum)."""
        self._feed_digest(self._buf[: self._pos])
        self.base += self._pos
        self._buf = self._buf[self._pos :]
        self._pos = 0
        self._digest = None
