"""What the scanner asks about each page of keys, and the records it gets back.

- SizeProbe: type (TYPE), size (STRLEN, LLEN, SCARD, ZCARD, HLEN, XLEN) and memory
  (MEMORY USAGE) of keys, in pipelined stages; on Redis 4.0+ memory first, so that only
  keys large enough to be big are typed and sized (see the class).
- FreqProbe: ``OBJECT FREQ`` of every key (the LFU counter; it does not touch the key).
- CountProbe: nothing; SCAN alone (the expired-key scan).

Error replies for single keys (a key deleted or retyped between stages) drop that key; a
stage answered only with errors (wrong policy, a renamed command) raises NodeError, and any
NOPERM reply raises NodePermissionDenied naming the rule to add. The pages' fast paths
(one ``max()`` over the replies) stay as they were: error replies are looked for only once
a page is known to hold something other than numbers.
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

import hiredis

from keyscope.domain.errors import NodeError
from keyscope.redis import acl
from keyscope.redis.connection import RawConnection, key_command_prefix
from keyscope.redis.scanner import Batch, Probe, ProbeGen

_TYPE = key_command_prefix("TYPE")
_MEMORY = key_command_prefix("MEMORY", "USAGE")
_FREQ = key_command_prefix("OBJECT", "FREQ")
_TYPE_NAMES: dict[Any, str] = {
    b"string": "string",
    b"list": "list",
    b"set": "set",
    b"zset": "zset",
    b"hash": "hash",
    b"stream": "stream",
}
_SIZE_PREFIXES: dict[Any, bytes] = {
    b"string": key_command_prefix("STRLEN"),
    b"list": key_command_prefix("LLEN"),
    b"set": key_command_prefix("SCARD"),
    b"zset": key_command_prefix("ZCARD"),
    b"hash": key_command_prefix("HLEN"),
    b"stream": key_command_prefix("XLEN"),
}
_SIZE_COMMANDS = {"string": "STRLEN", "list": "LLEN", "set": "SCARD", "zset": "ZCARD",
                  "hash": "HLEN", "stream": "XLEN"}  # fmt: skip
_MEMORY_ARGS = ("MEMORY", "USAGE")
_FREQ_ARGS = ("OBJECT", "FREQ")

SizedKey = tuple[bytes, str, int, int | None, int, str | None]
"""(name, type, size, memory, db, shard): size in bytes for strings and elements otherwise;
memory is MEMORY USAGE in bytes where it was asked for, else None."""

FreqKey = tuple[bytes, int, int, str | None]
"""(name, freq, db, shard)."""


def _raise_if_all_errors(replies: list[Any], *command: str) -> None:
    if replies and all(isinstance(r, hiredis.ReplyError) for r in replies):
        acl.check_replies(replies[:1], command)
        raise NodeError(f"{' '.join(command)} refused: {replies[0]}")


def _key_frames(keys: list[bytes]) -> list[bytes]:
    return [b"$%d\r\n%s\r\n" % (len(k), k) for k in keys]


_SHORT_KEY = 512
_MEMORY_HEADS = [_MEMORY + b"$%d\r\n" % n for n in range(_SHORT_KEY)]
_FREQ_HEADS = [_FREQ + b"$%d\r\n" % n for n in range(_SHORT_KEY)]


def _pack_each(prefix: bytes, heads: list[bytes], keys: list[bytes]) -> bytes:
    """The one-key command ``prefix`` for every key, packed with C-level maps only.

    ``heads[n]`` is ``prefix`` followed by the bulk header of an ``n``-byte key; this is the
    hot path of a scan, so no Python-level loop runs per key, and no bytes object is made
    per key either: head, key and CRLF of every key are laid in one list, joined once.
    """
    parts = [b"\r\n"] * (3 * len(keys))
    try:
        parts[::3] = map(heads.__getitem__, map(len, keys))
    except IndexError:  # a key of 512 bytes or more: the general way
        return prefix + prefix.join(_key_frames(keys))
    parts[1::3] = keys
    return b"".join(parts)


def _none_reaches(values: list[Any], bound: int, command: tuple[str, ...]) -> bool:
    """True when no value is an int >= bound (fast when every value is an int); a NOPERM
    among the replies to ``command`` raises."""
    try:
        return bool(max(values) < bound)
    except TypeError:  # nil (key gone) or an error reply among them
        acl.check_replies(values, command)
        return not any(v.__class__ is int and v >= bound for v in values)


def _check_sizes(sizes: list[Any], names: list[str]) -> None:
    """A NOPERM among the size replies raises, naming that type's size command."""
    try:
        max(sizes)
    except TypeError:
        for size, name in zip(sizes, names, strict=True):
            acl.check_replies([size], (_SIZE_COMMANDS[name],))


class SizeProbe(Probe[SizedKey]):
    """Type, size and memory of keys; with ``skip_below_bytes``, only of keys that big.

    Two ways to walk a page, both written so that the Python work per key is a few list
    comprehensions (each key framed once, the commands joined in C):

    - ``skip_below_bytes`` set (Redis 4.0+): ``MEMORY USAGE`` of every key first; it reads
      the allocation without touching the key, and a key smaller than the bound cannot be
      big, so TYPE and the size command go only to the few that are left. One cheap command
      per key instead of two, and the memory of every candidate for the 50 MB rule.
    - otherwise: TYPE, the size command, then MEMORY USAGE for collections of at most
      ``memory_up_to_count`` elements (the only ones the 50 MB rule can still catch), and
      (set with it) for the keys already big by size, so that every big key has its memory:
      strings over ``memory_of_strings_over`` bytes, collections over the count.

    Records come back only for the keys that went through sizing.
    """

    ops_per_key = 2.2

    def __init__(
        self,
        *,
        memory_up_to_count: int | None = None,
        skip_below_bytes: int | None = None,
        memory_of_strings_over: int | None = None,
    ) -> None:
        self.memory_up_to_count = memory_up_to_count
        """Ask MEMORY USAGE for collections of at most this many elements (and, for their
        memory in the report, of more); None: never."""
        self.memory_of_strings_over = memory_of_strings_over
        """With ``memory_up_to_count``: ask MEMORY USAGE of strings longer than this too."""
        self.skip_below_bytes = skip_below_bytes
        if skip_below_bytes is not None:
            self.ops_per_key = 1.05

    def for_node(self, conn: RawConnection) -> SizeProbe:
        """No memory filter on a node that compresses lists (or will not say whether it does).

        A compressed quicklist can take less memory than two bytes per element, so a long
        list could slip under the bound; there, every key is typed and sized.
        """
        if self.skip_below_bytes is None:
            return self
        try:
            reply = conn.command("CONFIG", "GET", "list-compress-depth")
        except NodeError:  # NOPERM too: CONFIG GET would read passwords; README: optional
            reply = None
        if isinstance(reply, list) and reply[1:2] == [b"0"]:
            return self
        return SizeProbe(
            memory_up_to_count=self.memory_up_to_count,
            memory_of_strings_over=self.memory_of_strings_over,
        )

    def page(self, keys: list[bytes], db: int, shard: str | None) -> ProbeGen[SizedKey]:
        memory: list[int | None] | None = None
        bound = self.skip_below_bytes
        if bound is not None:
            usage = yield Batch(_pack_each(_MEMORY, _MEMORY_HEADS, keys), len(keys))
            if all(isinstance(u, hiredis.ReplyError) for u in usage):  # stops at the first int
                acl.check_replies(usage[:1], _MEMORY_ARGS)
                self.skip_below_bytes = None  # MEMORY renamed or missing: size everything
                self.ops_per_key = SizeProbe.ops_per_key
            elif _none_reaches(usage, bound, _MEMORY_ARGS):
                return []
            else:
                kept = [i for i, u in enumerate(usage) if u.__class__ is int and u >= bound]
                keys = [keys[i] for i in kept]
                memory = [usage[i] for i in kept]
        frames = _key_frames(keys)
        types = yield Batch(_TYPE + _TYPE.join(frames), len(keys))
        _raise_if_all_errors(types, "TYPE")
        prefixes = list(map(_SIZE_PREFIXES.get, types))
        if None in prefixes:  # gone since SCAN, or a module type: nothing to size
            acl.check_replies(types, ("TYPE",))
            kept = [i for i, p in enumerate(prefixes) if p is not None]
            keys = [keys[i] for i in kept]
            frames = [frames[i] for i in kept]
            types = [types[i] for i in kept]
            prefixes = [prefixes[i] for i in kept]
            memory = None if memory is None else [memory[i] for i in kept]
            if not keys:
                return []
        names = list(map(_TYPE_NAMES.__getitem__, types))
        sized = b"".join(map(bytes.__add__, prefixes, frames))  # type: ignore[arg-type]
        sizes = yield Batch(sized, len(keys))
        _check_sizes(sizes, names)
        _raise_if_all_errors(sizes, "size command")
        if memory is None:
            memory = [None] * len(keys)
            limit = self.memory_up_to_count
            long = self.memory_of_strings_over
            ask = [] if limit is None else [
                i
                for i, (t, n) in enumerate(zip(names, sizes, strict=True))
                if n.__class__ is int and (t != "string" or (long is not None and n > long))
            ]  # fmt: skip
            if ask:
                usage = yield Batch(_MEMORY + _MEMORY.join([frames[i] for i in ask]), len(ask))
                # Only the 50 MB rule needs an answer: a refusal for a key already big by size
                # leaves its memory unknown, as before these were asked.
                acl.check_replies(
                    [u for i, u in zip(ask, usage, strict=True)
                     if names[i] != "string" and sizes[i] <= limit],
                    _MEMORY_ARGS,
                )  # fmt: skip
                for i, m in zip(ask, usage, strict=True):
                    memory[i] = m if m.__class__ is int else None
        records = list(zip(keys, names, sizes, memory, repeat(db), repeat(shard)))
        # A key deleted between stages sizes as 0 (or errs if retyped): only empty strings stay.
        return [r for r in records if r[2].__class__ is int and (r[2] or r[1] == "string")]


class FreqProbe(Probe[FreqKey]):
    """OBJECT FREQ of every key; keys below ``min_freq`` are dropped at once.

    The consumer may raise ``min_freq`` as its top-N fills (a stale value only lets more
    records through), so most pages end in one ``max()`` without a record built.
    """

    ops_per_key = 1.0

    def __init__(self, min_freq: int = 0) -> None:
        self.min_freq = min_freq

    def page(self, keys: list[bytes], db: int, shard: str | None) -> ProbeGen[FreqKey]:
        freqs = yield Batch(_pack_each(_FREQ, _FREQ_HEADS, keys), len(keys))
        _raise_if_all_errors(freqs, *_FREQ_ARGS)
        low = self.min_freq
        if _none_reaches(freqs, low, _FREQ_ARGS):
            return []
        return [
            (k, f, db, shard)
            for k, f in zip(keys, freqs, strict=True)
            if f.__class__ is int and f >= low
        ]


class CountProbe(Probe[int]):
    """No command at all: the page's SCAN was the work (expired keys go as SCAN meets them)."""

    ops_per_key = 0.0

    def page(self, keys: list[bytes], db: int, shard: str | None) -> ProbeGen[int]:
        return [len(keys)]
        yield  # a generator that asks nothing


def run_probe(conn: RawConnection, gen: ProbeGen[Any]) -> list[Any]:
    """Drive one probe over ``conn`` stage by stage (for a handful of keys, not a scan)."""
    try:
        batch = next(gen)
        while True:
            conn.send(batch.data)
            batch = gen.send(conn.read(batch.replies))
    except StopIteration as stop:
        records: list[Any] = stop.value
        return records
    except NodeError as exc:
        raise exc.at(conn.endpoint.address) from None
