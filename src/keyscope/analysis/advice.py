"""Recommendations with savings, from the offline counters of the whole keyspace.

Each rule is one function of a ``KeyCounter`` (counted over every key, ``counting.py``) and
the memory model the byte figures follow (``rdb/memory.py``); it returns what to change,
how many keys it touches, a few of them, and the bytes the server would free, estimated
with that same model. Prefix-based figures come from the bounded prefix summary and are
lower bounds where it pruned (``prefix_accuracy``). Rules:

- ``listpack_crossings``: hashes, sets and sorted sets just past the listpack limit, kept
  in a table encoding; the ``*-max-listpack-entries`` that would pack them again. Keys
  that are in a table because one element is longer than ``*-max-listpack-value`` would
  stay so: the estimate assumes none is.
- ``missing_ttls``: keys without a TTL in prefixes where most keys have one; saved are
  their bytes, freed once they expire like their neighbours.

Rules that remove keys also count the keyspace's hash table shrinking (``db_table_saving``,
over all keys as if in one db).
- ``long_key_names``: key names over ``ADVICE_LONG_KEY_BYTES``, against names of
  ``ADVICE_SHORT_KEY_BYTES``.
- ``small_strings``: prefixes of many small strings, as fields of hashes of
  ``ADVICE_BUCKET_FIELDS`` each (``prefix:{id // 100}`` → field ``id``).
- ``other_dbs``: on a keyspace bound for a cluster (``OfflineOptions.cluster_bound``), the
  keys of each logical db other than 0, which a cluster does not have. Moving them frees
  nothing (they need a db-0 name that does not collide, e.g. a prefix per db): its
  ``bytes_saved`` is 0, and the title says how many bytes would need moving.
- ``compress_strings``: strings of ``ADVICE_HUGE_STRING_BYTES`` and more that the RDB holds
  LZF-compressed to at most ``ADVICE_COMPRESSED_SHARE`` of their length (a writer with
  ``rdbcompression yes``, the default; without it nothing is seen): their serialized size
  is the compressed length (plus a few header bytes), an exact measure of what LZF makes of
  them. Saved is the value's allocation at the raw length less at the compressed one, were
  the application to store them compressed (on average lengths).
- ``compress_lists``: quicklists of ``ADVICE_COMPRESSIBLE_LIST_BYTES`` and more whose nodes
  the RDB holds LZF-compressed to at most ``ADVICE_COMPRESSED_SHARE`` of their memory;
  ``list-compress-depth 1`` would compress every node but the head and the tail. On the
  average list: its nodes are full (``LIST_NODE_BYTES``, as ``list-max-listpack-size -2``
  fills them) but the last, their number is its memory over a full node's rounded up (a
  node is a little under ``LIST_NODE_BYTES``), and each interior node goes
  from its plain allocation to one of its compressed bytes (the RDB's) and the 4-byte
  ``quicklistLZF`` header.
- ``old_engine``: a file written by an engine before Redis 7.2 (layouts ``redis-6.2`` and
  ``redis-7.0``), which keeps every set of strings in a hash table, with sets of up to
  ``ADVICE_LISTPACK_FLOOR`` short strings (``set-max-listpack-entries``, 128 by default): a
  newer engine (the ``redis-7.4`` model) packs them in listpacks. Saved is those keys under
  the writer's model less under the newer one. Other encodings that changed (6.2's
  ziplists against listpacks, embstr sizes) move a few bytes per key either way and are
  left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from keyscope import defaults
from keyscope.analysis import prefixes as pf
from keyscope.analysis.counting import LADDER, KeyCounter
from keyscope.domain.keys import display_key

if TYPE_CHECKING:
    from keyscope.rdb.memory import MemoryModel

TTL_SHARE = 0.8
"""Share of a prefix's keys with a TTL from which the others look like an omission."""

MIN_PREFIX_KEYS = 10
"""Keys a prefix needs before its TTL share means anything."""

SMALL_STRINGS_MIN = 1000
"""Small strings a prefix needs before bucketing them in hashes is worth it."""

SMALL_SHARE = 0.8
"""Share of a prefix's keys that must be small strings for the bucketing rule."""

BUCKET_FIELDS = 100
"""Fields per bucket hash: under every engine's default ``hash-max-listpack-entries``."""

MIN_SAVED_BYTES = 64 * 1024
"""Recommendations that would save less are left out: noise next to what a server holds."""

SETTINGS = {"hash": "hash-max-listpack-entries", "set": "set-max-listpack-entries",
            "zset": "zset-max-listpack-entries"}  # fmt: skip
OLD_SETTINGS = {"hash": "hash-max-ziplist-entries", "zset": "zset-max-ziplist-entries"}
"""Redis 6.2 named them after the ziplist, and packed no set of strings."""


class Recommendation(NamedTuple):
    rule: str
    title: str
    type: str | None
    key_prefix: str | None
    keys_affected: int
    bytes_saved: int
    example_keys: list[str]
    setting: dict[str, int] | None = None


def _table_slots(keys: int) -> int:
    return 1 << max(keys - 1, 3).bit_length() if keys else 0


def db_table_saving(total_keys: int, removed: int) -> int:
    """What the keyspace's own hash table shrinks by when ``removed`` of its keys go: one
    8-byte bucket per slot, the slots a power of two at or above the keys (as an engine
    sizes it when it loads an RDB). Per-key memory leaves the table out; a rule that
    removes keys adds it back."""
    return 8 * (_table_slots(total_keys) - _table_slots(max(total_keys - removed, 0)))


def _model(model: MemoryModel | None) -> MemoryModel:
    from keyscope.rdb.memory import DEFAULT_MODEL

    return model if model is not None else DEFAULT_MODEL


def listpack_crossings(counter: KeyCounter, model: MemoryModel) -> list[Recommendation]:
    """Per type: the smallest ladder step that packs every crossing found, and its savings."""
    out = []
    for type_, stats in counter.types.items():
        names = OLD_SETTINGS if model.layout == "redis-6.2" else SETTINGS
        if type_ not in names or (type_ == "set" and model.layout == "redis-7.0"):
            continue
        num = saved = 0
        examples: list[bytes] = []
        setting = 0
        for bound, step in zip(LADDER, stats.ladder, strict=True):
            if not step.num:
                continue
            key = model.key_overhead(round(step.key_bytes / step.num))
            packed = model.packed(round(step.listpack_bytes / step.num))
            num += step.num
            saved += step.bytes - step.num * (key + packed)
            examples += step.examples
            setting = bound
        if num and saved >= MIN_SAVED_BYTES:
            out.append(
                Recommendation(
                    "listpack_limit",
                    f"{num:,} {type_} keys just past the listpack limit: set "
                    f"{names[type_]} to {setting}",
                    type_, None, num, saved,
                    [display_key(k) for k in examples[: defaults.ADVICE_EXAMPLES]],
                    {names[type_]: setting},
                )
            )  # fmt: skip
    return out


def _disjoint(chosen: list[bytes], prefix: bytes, delimiters: bytes) -> bool:
    """Whether ``prefix`` neither extends nor is extended by a chosen prefix."""
    for other in chosen:
        short, long_ = (prefix, other) if len(prefix) <= len(other) else (other, prefix)
        if long_.startswith(short) and (
            len(long_) == len(short) or long_[len(short)] in delimiters
        ):
            return False
    return True


def missing_ttls(counter: KeyCounter, model: MemoryModel) -> list[Recommendation]:
    """Prefixes where most keys expire but some do not: those keys' bytes."""
    del model  # the keys' own bytes are what their expiry frees
    out = []
    delimiters = counter.cutter.delimiters
    for type_, stats in counter.types.items():
        entries = sorted(stats.prefixes.counts.items(),
                         key=lambda item: (-item[1][pf.NOTTL_BYTES], item[0]))  # fmt: skip
        chosen: list[bytes] = []
        for prefix, e in entries:
            total = e[pf.TTL_NUM] + e[pf.NOTTL_NUM]
            if (total < MIN_PREFIX_KEYS or not e[pf.NOTTL_NUM]
                    or e[pf.TTL_NUM] < TTL_SHARE * total
                    or e[pf.NOTTL_BYTES] < MIN_SAVED_BYTES
                    or not _disjoint(chosen, prefix, delimiters)):  # fmt: skip
                continue
            chosen.append(prefix)
            saved = e[pf.NOTTL_BYTES] + db_table_saving(counter.keys_seen, e[pf.NOTTL_NUM])
            out.append(
                Recommendation(
                    "missing_ttl",
                    f"{e[pf.NOTTL_NUM]:,} {type_} keys under {display_key(prefix)} have no TTL "
                    f"where {e[pf.TTL_NUM] / total:.0%} of that prefix expire",
                    type_, display_key(prefix), e[pf.NOTTL_NUM], saved,
                    [display_key(e[pf.NOTTL_EXAMPLE])] if e[pf.NOTTL_EXAMPLE] else [],
                )
            )  # fmt: skip
    return out


def long_key_names(counter: KeyCounter, model: MemoryModel) -> list[Recommendation]:
    """Keys with oversized names, against names of ``ADVICE_SHORT_KEY_BYTES``."""
    num, name_bytes = counter.long_keys
    if not num:
        return []
    per_key = model.key_overhead(round(name_bytes / num)) - model.key_overhead(
        defaults.ADVICE_SHORT_KEY_BYTES
    )
    saved = num * per_key
    if saved < MIN_SAVED_BYTES:
        return []
    return [
        Recommendation(
            "long_key_names",
            f"{num:,} key names are longer than {defaults.ADVICE_LONG_KEY_BYTES} bytes "
            f"(on average {name_bytes / num:,.0f}): shorten them",
            None, None, num, saved, [display_key(k) for k in counter.long_examples],
        )
    ]  # fmt: skip


def small_strings(counter: KeyCounter, model: MemoryModel) -> list[Recommendation]:
    """Prefixes of many small strings, bucketed as fields of listpack hashes."""
    stats = counter.types.get("string")
    if stats is None:
        return []
    out = []
    delimiters = counter.cutter.delimiters
    entries = sorted(stats.prefixes.counts.items(),
                     key=lambda item: (-item[1][pf.SMALL_NUM], item[0]))  # fmt: skip
    chosen: list[bytes] = []
    for prefix, e in entries:
        n = e[pf.SMALL_NUM]
        if n < SMALL_STRINGS_MIN or n < SMALL_SHARE * e[pf.NUM]:
            continue
        if not _disjoint(chosen, prefix, delimiters):
            continue
        buckets = -(-n // BUCKET_FIELDS)
        # Each field and value: one header byte and one back-length byte; 7 per listpack.
        listpack = e[pf.SMALL_PAYLOAD] + 4 * n + 7 * buckets
        bucket_key = len(prefix) + 1 + len(str(buckets))
        after = buckets * (model.key_overhead(bucket_key) + model.packed(listpack // buckets))
        saved = e[pf.SMALL_BYTES] - after + db_table_saving(counter.keys_seen, n - buckets)
        if saved < MIN_SAVED_BYTES:
            continue
        chosen.append(prefix)
        out.append(
            Recommendation(
                "small_strings",
                f"{n:,} small strings under {display_key(prefix)}: keep them as fields of "
                f"{buckets:,} hashes of {BUCKET_FIELDS}",
                "string", display_key(prefix), n, saved,
                [display_key(e[pf.SMALL_EXAMPLE])] if e[pf.SMALL_EXAMPLE] else [],
            )
        )  # fmt: skip
    return out


def other_dbs(counter: KeyCounter, model: MemoryModel) -> list[Recommendation]:
    """Per db other than 0 of a cluster-bound keyspace: its keys, which must move to db 0."""
    del model  # nothing is freed: the keys move
    if not counter.options.cluster_bound:
        return []
    out = []
    for db, (num, moved, _) in sorted(counter.dbs.items()):
        if db == 0 or not num:
            continue
        out.append(
            Recommendation(
                "other_dbs",
                f"{num:,} keys ({moved:,} bytes) are in db {db}, which a cluster does not "
                f"have: move them to db 0 under names of their own",
                None, None, num, 0,
                [display_key(k) for k in counter.db_examples.get(db, [])],
            )
        )  # fmt: skip
    return out


def compress_strings(counter: KeyCounter, model: MemoryModel) -> list[Recommendation]:
    """Huge strings that LZF shrinks: the values' allocations, raw against compressed."""
    num, raw, compressed = counter.compressible
    if not num:
        return []
    saved = num * (model.sds(round(raw / num)) - model.sds(round(compressed / num)))
    if saved < MIN_SAVED_BYTES:
        return []
    return [
        Recommendation(
            "compress_strings",
            f"{num:,} strings of {defaults.ADVICE_HUGE_STRING_BYTES:,} bytes and more "
            f"compress to {compressed / raw:.0%} of their length: store them compressed",
            "string", None, num, saved,
            [display_key(k) for k in counter.compressible_examples],
        )
    ]  # fmt: skip


LIST_NODE_BYTES = 8192
"""``list-max-listpack-size -2``: the bytes a full quicklist node holds."""

LZF_NODE_HEADER = 4
"""``quicklistLZF.sz``, before the compressed bytes of a node."""

RDB_NODE_HEADER = 6
"""A compressed node's bytes in the RDB besides its data: container, LZF marker, lengths."""


def compress_lists(counter: KeyCounter, model: MemoryModel) -> list[Recommendation]:
    """Quicklists whose interior nodes LZF shrinks: plain against compressed allocations."""
    num, mem, serialized, key_bytes = counter.compressible_lists
    if not num:
        return []
    head = model.quicklist([])
    full = model.quicklist([LIST_NODE_BYTES]) - head
    value = mem / num - model.key_overhead(round(key_bytes / num)) - head
    nodes = max(1, -(-round(value) // full))  # all full but the last
    plain = value / nodes - (full - model.packed(LIST_NODE_BYTES))  # the node's listpack
    packed = model.packed(LZF_NODE_HEADER + round(serialized / num / nodes) - RDB_NODE_HEADER)
    saved = round(num * max(nodes - 2, 0) * (plain - packed))
    if saved < MIN_SAVED_BYTES:
        return []
    return [
        Recommendation(
            "compress_lists",
            f"{num:,} lists of {nodes:,} nodes on average compress to "
            f"{serialized / mem:.0%} of their memory: set list-compress-depth to 1",
            "list", None, num, saved,
            [display_key(k) for k in counter.compressible_list_examples],
            {"list-compress-depth": 1},
        )
    ]  # fmt: skip


OLD_SET_LAYOUTS = ("redis-6.2", "redis-7.0")
"""Layouts that pack no set of strings in a listpack."""

NEWER_LAYOUT = "redis-7.4"


def old_engine(counter: KeyCounter, model: MemoryModel) -> list[Recommendation]:
    """Small sets of strings an older engine keeps in hash tables, under a newer model."""
    from keyscope.rdb.memory import MemoryModel

    step = counter.small_sets
    if model.layout not in OLD_SET_LAYOUTS or not step.num:
        return []
    newer = MemoryModel(NEWER_LAYOUT, model.allocator, "newer engine")
    key = newer.key_overhead(round(step.key_bytes / step.num))
    saved = step.bytes - step.num * (key + newer.packed(round(step.listpack_bytes / step.num)))
    if saved < MIN_SAVED_BYTES:
        return []
    return [
        Recommendation(
            "old_engine",
            f"{step.num:,} small sets of strings are hash tables on {model.layout}: an engine "
            f"of Redis 7.2 or later packs them in listpacks",
            "set", None, step.num, saved,
            [display_key(k) for k in step.examples],
        )
    ]  # fmt: skip


RULES = (listpack_crossings, missing_ttls, long_key_names, small_strings, other_dbs,
         compress_strings, compress_lists, old_engine)  # fmt: skip


def recommend(counter: KeyCounter, model: MemoryModel | None = None) -> list[Recommendation]:
    """Every rule's recommendations, the largest savings first."""
    chosen = _model(model if model is not None else counter.memory_model)
    found = [r for rule in RULES for r in rule(counter, chosen)]
    return sorted(found, key=lambda r: (-r.bytes_saved, r.rule, r.key_prefix or ""))
