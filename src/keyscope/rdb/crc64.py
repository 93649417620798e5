"""CRC-64/Jones, the checksum that ends an RDB file (version 5 and later)."""

from __future__ import annotations

_POLY_REFLECTED = 0x95AC9329AC4BC9B5


def _table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()

try:  # a compiled implementation where available; the pure one is the reference
    import crcmod

    _fast = crcmod.mkCrcFun(0x1AD93D23594C935A9, initCrc=0, rev=True, xorOut=0)
except ImportError:  # pragma: no cover - depends on the environment
    _fast = None


def crc64_pure(data: bytes, crc: int = 0) -> int:
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


class Crc64:
    """Incremental CRC-64/Jones with a hashlib-like ``update``."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes) -> None:
        if _fast is not None:
            self.value = _fast(data, self.value)
        else:
            self.value = crc64_pure(data, self.value)
