"""Measuring the packed encodings (listpack, ziplist, intset, zipmap) without decoding values."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from keyscope.domain.errors import RdbFormatError

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class Layout:
    """How to count a packed structure: from its header alone, or by walking all of it.

    ``from_header(head, size, offset)`` sees the first ``header`` bytes of a blob of
    ``size`` bytes and returns its element count, or None when only a walk of the whole
    blob (``walk``) can tell.
    """

    name: str
    header: int
    from_header: Callable[[bytes, int, int], int | None]
    walk: Callable[[bytes, int], int]


def _counted_header(name: str, count_at: int) -> Callable[[bytes, int, int], int | None]:
    """``from_header`` of a blob that starts with its total size (u32) and, at ``count_at``,
    its element count (u16, 0xFFFF when it saturated), and ends with a 0xFF byte."""

    def from_header(head: bytes, size: int, offset: int) -> int | None:
        if size < count_at + 3 or len(head) < count_at + 2:
            raise RdbFormatError(f"{name} shorter than its header", offset=offset)
        if _U32.unpack_from(head, 0)[0] != size:
            raise RdbFormatError(f"{name} header disagrees with its length", offset=offset)
        count: int = _U16.unpack_from(head, count_at)[0]
        return None if count == 0xFFFF else count

    return from_header


def _intset_header(head: bytes, size: int, offset: int) -> int:
    if size < 8 or len(head) < 8:
        raise RdbFormatError("intset shorter than its header", offset=offset)
    width, length = struct.unpack_from("<II", head, 0)
    if width not in (2, 4, 8) or 8 + width * length != size:
        raise RdbFormatError("corrupt intset header", offset=offset)
    return int(length)


def _intset_walk(blob: bytes, offset: int) -> int:
    return _intset_header(blob, len(blob), offset)


def listpack_count(blob: bytes, offset: int = 0) -> int:
    """Number of elements of a listpack; walks it only when the header count saturated."""
    if len(blob) < 7:
        raise RdbFormatError("listpack shorter than its header", offset=offset)
    count: int = _U16.unpack_from(blob, 4)[0]
    if count != 0xFFFF:
        return count
    return _listpack_walk(blob, offset)


def _listpack_walk(blob: bytes, offset: int) -> int:
    i, n, end = 6, 0, len(blob)
    while i < end:
        b = blob[i]
        if b == 0xFF:
            return n
        if b < 0x80:
            size = 1
        elif b < 0xC0:
            size = 1 + (b & 0x3F)
        elif b < 0xE0:
            size = 2
        elif b < 0xF0:
            if i + 1 >= end:
                break
            size = 2 + (((b & 0x0F) << 8) | blob[i + 1])
        elif b == 0xF0:
            if i + 5 > end:
                break
            size = 5 + _U32.unpack_from(blob, i + 1)[0]
        else:
            size = {0xF1: 3, 0xF2: 4, 0xF3: 5, 0xF4: 9}.get(b, 0)
            if not size:
                break
        i += size + _backlen_size(size)
        n += 1
    raise RdbFormatError("listpack is not terminated", offset=offset + min(i, end))


def _backlen_size(size: int) -> int:
    if size <= 127:
        return 1
    if size < 16383:
        return 2
    if size < 2097151:
        return 3
    if size < 268435455:
        return 4
    return 5


def ziplist_count(blob: bytes, offset: int = 0) -> int:
    """Number of entries of a ziplist; walks it only when the header count saturated."""
    if len(blob) < 11:
        raise RdbFormatError("ziplist shorter than its header", offset=offset)
    count: int = _U16.unpack_from(blob, 8)[0]
    if count != 0xFFFF:
        return count
    return len(ziplist_entry_sizes(blob, offset))


def ziplist_entry_sizes(blob: bytes, offset: int = 0) -> list[int]:
    """The payload size of each ziplist entry (string length, or the integer's width)."""
    sizes: list[int] = []
    i, end = 10, len(blob)
    try:
        while True:
            if blob[i] == 0xFF:
                return sizes
            i += 5 if blob[i] == 0xFE else 1
            b = blob[i]
            top = b >> 6
            if top == 0:
                i += 1
                size = b & 0x3F
                i += size
            elif top == 1:
                size = ((b & 0x3F) << 8) | blob[i + 1]
                i += 2 + size
            elif top == 2:
                size = struct.unpack_from(">I", blob, i + 1)[0]
                i += 5 + size
            else:
                size = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}.get(b, 0)
                i += 1 + size
                if size == 0 and not 0xF1 <= b <= 0xFD:
                    raise IndexError
                size = max(size, 1)
            if i > end:
                raise IndexError
            sizes.append(size)
    except (IndexError, struct.error):
        raise RdbFormatError("corrupt ziplist", offset=offset + min(i, end)) from None


def intset_count(blob: bytes, offset: int = 0) -> int:
    return _intset_walk(blob, offset)


def zipmap_sizes(blob: bytes, offset: int = 0) -> list[tuple[int, int]]:
    """(field length, value length) of each pair of a zipmap (Redis < 2.6 hashes)."""
    pairs: list[tuple[int, int]] = []
    i, end = 1, len(blob)
    try:
        while blob[i] != 0xFF:
            flen, i = _zipmap_len(blob, i)
            i += flen
            vlen, i = _zipmap_len(blob, i)
            free = blob[i]
            i += 1 + vlen + free
            if i > end:
                raise IndexError
            pairs.append((flen, vlen))
        return pairs
    except (IndexError, struct.error):
        raise RdbFormatError("corrupt zipmap", offset=offset + min(i, end)) from None


def _zipmap_len(blob: bytes, i: int) -> tuple[int, int]:
    b = blob[i]
    if b < 254:
        return b, i + 1
    if b == 254:
        return int(_U32.unpack_from(blob, i + 1)[0]), i + 5
    raise IndexError


def _ziplist_walk_count(blob: bytes, offset: int) -> int:
    return len(ziplist_entry_sizes(blob, offset))


LISTPACK = Layout("listpack", 6, _counted_header("listpack", 4), _listpack_walk)
ZIPLIST = Layout("ziplist", 10, _counted_header("ziplist", 8), _ziplist_walk_count)
INTSET = Layout("intset", 8, _intset_header, _intset_walk)
