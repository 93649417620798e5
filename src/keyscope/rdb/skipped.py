"""What the reader passes over without a record: opcodes that carry no key, module values,
the producer tables of a stream. Each layout is cited from the source that writes it.

``SkippingDecoder`` adds these skips to the primitive reads; ``RdbReader`` builds on it.
"""

from __future__ import annotations

from keyscope.domain.errors import RdbFormatError
from keyscope.rdb import constants as c
from keyscope.rdb.primitives import RdbDecoder

RESP_DIGITS_MAX = 18
"""Digits a count or length of an inline command may have (no real one comes near)."""
MODULE_UINTS_KEPT = 2
"""Unsigned integers kept from the start of a module value, where its count may be."""


class SkippingDecoder(RdbDecoder):
    """Primitive reads plus the skips of the values and opcodes no record is made of."""

    def _skip_function_pre_ga(self) -> None:
        """A library as Redis 7.0 rc1/rc2 saved it (7.0's ``rdbFunctionLoad``): name, engine,
        whether a description follows, the description, the code."""
        self._skip_string()
        self._skip_string()
        if self._len():
            self._skip_string()
        self._skip_string()

    def _skip_slot_import(self) -> None:
        """Valkey's ``clusterRDBSaveSlotImports``: the job name, then (start, end) slot ranges."""
        self._skip_string()
        for _ in range(2 * self._len()):
            self._len()

    def _skip_inline_command(self) -> None:
        """A RESP multi-bulk ``*argc``, then ``$len`` and the bytes of each argument."""
        src = self._src
        for _ in range(self._resp_number(0x2A)):
            src.skip(self._resp_number(0x24))
            at = src.offset
            if src.read(2) != b"\r\n":
                raise RdbFormatError("inline command argument not ended by CRLF", offset=at)

    def _resp_number(self, prefix: int) -> int:
        """``prefix``, then a decimal number ended by CRLF."""
        src = self._src
        at = src.offset
        if src.byte() != prefix:
            raise RdbFormatError("bad inline command", offset=at)
        n = digits = 0
        while (b := src.byte()) != 0x0D:
            if not 0x30 <= b <= 0x39 or digits == RESP_DIGITS_MAX:
                raise RdbFormatError("bad number in an inline command", offset=src.offset - 1)
            n, digits = n * 10 + b - 0x30, digits + 1
        if not digits or src.byte() != 0x0A:
            raise RdbFormatError("bad number in an inline command", offset=src.offset - 1)
        return n

    def _skip_key_meta(self) -> None:
        """Redis's ``rdbSaveKeyMetadata``: a count of classes, each a 4-byte class spec and a
        value saved with the module API (its opcodes, then EOF); the key's type follows."""
        for _ in range(self._len()):
            self._src.skip(4)
            self._skip_module_value(self._src.offset)

    def _skip_stream_idmp(self) -> None:
        """Redis 8.4's idempotent producers (``rdbSaveStreamIdmpEntries``): duration, max
        entries, per producer its id and (iid, stream id) entries, then two counters."""
        self._len()  # IDMP duration
        self._len()  # IDMP max entries
        for _ in range(self._len()):
            self._skip_string()  # producer id
            for _ in range(self._len()):
                self._skip_string()  # iid
                self._len()
                self._len()  # the stream id it maps to
        self._len()  # iids added
        self._len()  # iids duplicates

    def _skip_module_value(self, at: int) -> list[int]:
        """Skips a value saved with the module API; returns its first unsigned integers."""
        src = self._src
        uints: list[int] = []
        while True:
            op = self._len()
            if op == c.MODULE_OP_EOF:
                return uints
            if op == c.MODULE_OP_UINT:
                value = self._len()
                if len(uints) < MODULE_UINTS_KEPT:
                    uints.append(value)
            elif op == c.MODULE_OP_SINT:
                self._len()
            elif op == c.MODULE_OP_FLOAT:
                src.skip(4)
            elif op == c.MODULE_OP_DOUBLE:
                src.skip(8)
            elif op == c.MODULE_OP_STRING:
                self._skip_string()
            else:
                raise RdbFormatError(f"unknown module value opcode {op}", offset=src.offset - 1)
