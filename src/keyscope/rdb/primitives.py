"""The RDB's primitive encodings: lengths, strings (plain, integer, LZF) and packed blobs.

``RdbDecoder`` reads them off a ``ByteSource``; the reader builds values and records from
them. Lengths that a file declares are checked against what the stream delivers and, for
LZF, against what compressed data can expand to.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TypeVar

from keyscope.domain.errors import RdbFormatError
from keyscope.rdb import blobs, lzf
from keyscope.rdb import constants as c
from keyscope.rdb.source import ByteSource

_U32BE = struct.Struct(">I")
_U64BE = struct.Struct(">Q")
_INT_MAX_LEN = 20
_T = TypeVar("_T")


class RdbDecoder:
    """Primitive reads over a byte source; subclassed by the reader."""

    def __init__(self, src: ByteSource) -> None:
        self._src = src
        self._lzf_at: int | None = None

    def _length(self) -> tuple[int, bool]:
        src = self._src
        b = src.byte()
        if b < 0x40:
            return b, False
        if b < 0x80:
            return ((b & 0x3F) << 8) | src.byte(), False
        kind = b >> 6
        if kind == 3:
            return b & 0x3F, True
        if b == 0x80:
            return int(_U32BE.unpack(src.read(4))[0]), False
        if b == 0x81:
            return int(_U64BE.unpack(src.read(8))[0]), False
        raise RdbFormatError(f"bad length prefix 0x{b:02x}", offset=src.offset - 1)

    def _len(self) -> int:
        n, encoded = self._length()
        if encoded:
            raise RdbFormatError(
                "encoded value where a length was expected", offset=self._src.offset - 1
            )
        return n

    def _string(self) -> bytes:
        n, encoded = self._length()
        if not encoded:
            return self._src.read(n)
        if n == c.ENC_LZF:
            clen, ulen = self._lzf_lengths()
            at = self._src.offset
            return lzf.decompress(self._src.read(clen), ulen, offset=at)
        return str(self._encoded_int(n)).encode()

    def _encoded_int(self, enc: int) -> int:
        src = self._src
        if enc == c.ENC_INT8:
            return int.from_bytes(src.read(1), "little", signed=True)
        if enc == c.ENC_INT16:
            return int.from_bytes(src.read(2), "little", signed=True)
        if enc == c.ENC_INT32:
            return int.from_bytes(src.read(4), "little", signed=True)
        raise RdbFormatError(f"unknown string encoding {enc}", offset=src.offset - 1)

    def _string_len(self) -> int:
        """Skip a string, returning its length."""
        n, encoded = self._length()
        if not encoded:
            self._src.skip(n)
            return n
        if n == c.ENC_LZF:
            clen, ulen = self._lzf_lengths()
            self._src.skip(clen)
            return ulen
        return len(str(self._encoded_int(n)))

    def _skip_string(self) -> None:
        self._string_len()

    def _string_value(self) -> tuple[int, bool]:
        """A string value's length and whether Redis keeps it as an integer."""
        n, encoded = self._length()
        if encoded:
            if n == c.ENC_LZF:
                clen, ulen = self._lzf_lengths()
                self._src.skip(clen)
                return ulen, False
            return len(str(self._encoded_int(n))), True
        if n <= _INT_MAX_LEN:
            data = self._src.read(n)
            return n, _is_canonical_int(data)
        self._src.skip(n)
        return n, False

    def _blob(self) -> tuple[bytes, int]:
        """A packed structure (ziplist, listpack, intset, zipmap) and where its data starts.

        For an LZF-compressed blob, positions inside the decompressed bytes are not file
        offsets: ``self._lzf_at`` then holds where the compressed blob starts, and
        ``_measure`` reports errors there.
        """
        start = self._src.offset
        n, encoded = self._length()
        if not encoded:
            self._lzf_at = None
            return self._src.read(n), self._src.offset - n
        if n == c.ENC_LZF:
            clen, ulen = self._lzf_lengths()
            at = self._src.offset
            data = lzf.decompress(self._src.read(clen), ulen, offset=at)
            self._lzf_at = start
            return data, start
        raise RdbFormatError("an integer where a packed structure was expected", offset=start)

    def _measure(self, fn: Callable[[bytes, int], _T], blob: bytes, at: int) -> _T:
        if self._lzf_at is None:
            return fn(blob, at)
        try:
            return fn(blob, 0)
        except RdbFormatError as err:
            raise RdbFormatError(f"{err.reason} (in LZF-compressed data)", offset=at) from None

    def _lzf_lengths(self) -> tuple[int, int]:
        """An LZF blob's compressed and plain lengths; refused if no LZF data could hold them."""
        at = self._src.offset
        clen, ulen = self._len(), self._len()
        if ulen > lzf.MAX_RATIO * clen + 1:
            raise RdbFormatError(f"LZF blob of {clen} bytes cannot expand to {ulen}", offset=at)
        return clen, ulen

    def _packed(self, layout: blobs.Layout) -> tuple[int, int]:
        """A packed structure's size and element count, read from its header where possible.

        Values past the header are skipped unread (and, compressed, never decompressed)
        unless the header's count saturated and only a walk can count them.
        """
        src = self._src
        start = src.offset
        n, encoded = self._length()
        if not encoded:
            at = src.offset
            head = src.read(min(n, layout.header))
            count = layout.from_header(head, n, at)
            if count is None:
                return n, layout.walk(head + src.read(n - len(head)), at)
            src.skip(n - len(head))
            return n, count
        if n != c.ENC_LZF:
            raise RdbFormatError(f"an integer where a {layout.name} was expected", offset=start)
        clen, ulen = self._lzf_lengths()
        at = src.offset
        data = src.read(clen)
        try:
            head = lzf.decompress(data, ulen, limit=layout.header, offset=at)
            count = layout.from_header(head, ulen, 0)
            if count is None:
                count = layout.walk(lzf.decompress(data, ulen, offset=at), 0)
        except RdbFormatError as err:
            raise RdbFormatError(f"{err.reason} (in LZF-compressed data)", offset=start) from None
        return ulen, count


def _is_canonical_int(data: bytes) -> bool:
    if not data or len(data) > _INT_MAX_LEN:
        return False
    try:
        value = int(data)
    except ValueError:
        return False
    return str(value).encode() == data and -(1 << 63) <= value < (1 << 63)
