"""Key records built by hand for the analysis tests."""

from __future__ import annotations

from keyscope.domain.keys import KeyRecord, KeyType


def rec(key: str | bytes, memory: int, type: KeyType = "string", *, db: int = 0,
        expiry_ms: int | None = None, elements: int | None = None) -> KeyRecord:  # fmt: skip
    raw = key.encode() if isinstance(key, str) else key
    return KeyRecord(
        db=db,
        key=raw,
        type=type,
        encoding="raw",
        expiry_ms=expiry_ms,
        num_elements=elements if elements is not None else memory,
        serialized_size=memory,
        memory=memory,
    )
