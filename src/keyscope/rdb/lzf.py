"""LZF decompression (the format Redis uses for compressed strings)."""

from __future__ import annotations

from keyscope.domain.errors import RdbFormatError

MAX_RATIO = 88
"""Most an LZF stream can expand: a 3-byte back reference copies at most 264 bytes."""


def decompress(data: bytes, expected: int, *, limit: int | None = None, offset: int = 0) -> bytes:
    """Decompress ``data`` to ``expected`` bytes, or only to the first ``limit`` bytes.

    ``offset`` is the file offset of ``data`` for the error message.
    """
    stop = expected if limit is None else min(limit, expected)
    out = bytearray()
    i = 0
    n = len(data)
    try:
        while i < n and len(out) < stop:
            ctrl = data[i]
            i += 1
            if ctrl < 32:
                run = ctrl + 1
                out += data[i : i + run]
                if i + run > n:
                    raise IndexError
                i += run
            else:
                length = ctrl >> 5
                if length == 7:
                    length += data[i]
                    i += 1
                back = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
                i += 1
                if back < 0:
                    raise IndexError
                length += 2
                if back + length <= len(out):
                    out += out[back : back + length]
                else:
                    for k in range(length):
                        out.append(out[back + k])
    except IndexError:
        raise RdbFormatError("corrupt LZF data", offset=offset + i) from None
    if limit is None and len(out) != expected:
        raise RdbFormatError(
            f"LZF data decompressed to {len(out)} bytes, expected {expected}", offset=offset
        )
    return bytes(out[:stop])
