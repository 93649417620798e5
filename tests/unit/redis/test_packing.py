"""The scan's hot packer writes, for every key of a page, the bytes ``pack`` writes."""

from __future__ import annotations

import pytest

from keyscope.redis.connection import pack
from keyscope.redis.probes import _FREQ, _FREQ_HEADS, _MEMORY, _MEMORY_HEADS, _pack_each

PAGES = {
    "one key": [b"k:1"],
    "a page": [b"k:%d" % i for i in range(1000)],
    "empty and binary keys": [b"", b"\x00\r\n$3\r\n", "ключ".encode()],
    "a key of 511 bytes": [b"x" * 511, b"y"],
    "a key of 512 bytes or more": [b"a", b"x" * 512, b"z" * 5000],
}


@pytest.mark.parametrize("keys", PAGES.values(), ids=PAGES.keys())
def test_every_key_is_packed_as_its_own_command(keys: list[bytes]) -> None:
    assert _pack_each(_MEMORY, _MEMORY_HEADS, keys) == b"".join(
        pack("MEMORY", "USAGE", k) for k in keys
    )
    assert _pack_each(_FREQ, _FREQ_HEADS, keys) == b"".join(pack("OBJECT", "FREQ", k) for k in keys)
