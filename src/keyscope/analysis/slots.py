"""Where the keys of one shard sit in the cluster's hash space: slots and hash tags.

Redis Cluster puts a key in slot ``CRC16(key) mod 16384``, where only the hash tag is hashed
when the key has one (the bytes between the first ``{`` and the first ``}`` after it, if
any lie between). A tag pins all its keys to one slot, so one busy tag is the usual cause of
a shard heavier than the others. Per shard this keeps every slot's keys and bytes (at most
16384 entries) and the tags in a bounded heavy-hitter summary (``prefixes.PrefixSummary``:
exact until it prunes, then ``num`` undercounts by at most ``decremented``).
"""

from __future__ import annotations

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
    """What one shard's keys put in each slot, and its heaviest hash tags."""

    slots: list[SlotCount]
    """Every slot holding a key, by slot number."""
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

    def stats(self, top_tags: int) -> SlotStats:
        return SlotStats(
            slots=[SlotCount(s, *self.slots[s]) for s in sorted(self.slots)],
            hash_tags=self.tags.top(top_tags),
            hash_tags_exact=self.tags.exact,
            hash_tags_undercount=self.tags.decremented,
        )
