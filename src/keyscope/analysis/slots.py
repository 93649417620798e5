"""Where the keys of one shard sit in the cluster's hash space: slots and hash tags.

Redis Cluster puts a key in slot ``CRC16(key) mod 16384``, where only the hash tag is hashed
when the key has one (the bytes between the first ``{`` and the first ``}`` after it, if
any lie between). A tag pins all its keys to one slot, so one busy tag is the usual cause of
a shard heavier than the others. While it reads a shard this keeps every slot's keys and
bytes (at most 16384 entries) and the tags in a bounded heavy-hitter summary
(``prefixes.PrefixSummary``: exact until it prunes, then ``num`` undercounts by at most
``decremented``); what it hands on is a few kilobytes.
"""

from __future__ import annotations

import heapq
from binascii import crc_hqx
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from keyscope import defaults
from keyscope.analysis.prefixes import PrefixCount, PrefixSummary
from keyscope.domain.keys import KeyRecord

SLOTS = 16384


def hash_tag(key: bytes) -> bytes | None:
    """The hash tag of ``key``, or None when it has none (Redis' ``keyHashSlot`` rule)."""
    start = key.find(b"{")
    if start < 0:
        return None
    end = key.find(b"}", start + 1)
    if end <= start + 1:
        return None
    return key[start + 1 : end]


def key_slot(key: bytes) -> int:
    """The cluster slot of ``key`` (CRC16-XMODEM, as Redis computes it)."""
    tag = hash_tag(key)
    return crc_hqx(key if tag is None else tag, 0) & (SLOTS - 1)


class SlotCount(NamedTuple):
    slot: int
    num: int
    bytes: int


class SlotStats(NamedTuple):
    """One shard's heaviest slots and hash tags, and which slots hold its keys: a few
    kilobytes whatever the shard holds, so a cluster's worth of them stays small."""

    slots: list[SlotCount]
    """The slots with the most bytes, most first."""
    occupied: bytes
    """A bitmap of the slots holding a key (bit ``s % 8`` of byte ``s // 8``)."""
    hash_tags: list[PrefixCount]
    """The tags with the most keys (``prefix`` is the tag), most first."""
    hash_tags_exact: bool
    hash_tags_undercount: int


class SlotTally:
    """Counts the slots and hash tags of the records that pass through ``observe``."""

    def __init__(self, tag_capacity: int = defaults.PREFIX_CAPACITY) -> None:
        self.slots: dict[int, list[int]] = {}
        self.tags = PrefixSummary(tag_capacity)

    def observe(self, records: Iterable[KeyRecord]) -> Iterator[KeyRecord]:
        """Yield ``records`` unchanged, counting each on the way (one pass feeds two)."""
        slots, tags = self.slots, self.tags
        for rec in records:
            key, mem = rec.key, rec.memory
            tag = hash_tag(key)
            slot = crc_hqx(key if tag is None else tag, 0) & (SLOTS - 1)
            entry = slots.get(slot)
            if entry is None:
                slots[slot] = [1, mem]
            else:
                entry[0] += 1
                entry[1] += mem
            if tag is not None:
                tags.add([tag], mem)
            yield rec

    def stats(self, top_slots: int, top_tags: int) -> SlotStats:
        occupied = bytearray(SLOTS // 8)
        for slot in self.slots:
            occupied[slot >> 3] |= 1 << (slot & 7)
        heaviest = heapq.nsmallest(
            top_slots, self.slots.items(), key=lambda item: (-item[1][1], -item[1][0], item[0])
        )
        return SlotStats(
            slots=[SlotCount(slot, num, nbytes) for slot, (num, nbytes) in heaviest],
            occupied=bytes(occupied),
            hash_tags=self.tags.top(top_tags),
            hash_tags_exact=self.tags.exact,
            hash_tags_undercount=self.tags.decremented,
        )
