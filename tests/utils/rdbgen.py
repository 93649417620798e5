"""A fast writer of valid RDB v10 files (Redis 7.0) with a mixed, reproducible keyspace.

Every key type and the encodings Redis 7.0 writes: strings (raw and integer-encoded, of
varied sizes), lists as quicklists of listpacks, sets as intsets and hashtables, sorted
sets as listpacks and skiplists, hashes as listpacks and hashtables; keys carry prefixes
(``user:<n>``, ``order:eu:<n>``, ...) and some carry TTLs, a few already expired. Values
are drawn from a small pool built once, so writing is bound by I/O, not by Python.
The CRC64 trailer is zero, which Redis reads as "checksum not computed".

Run as a script to write a file: ``python -m tests.utils.rdbgen OUT --size-mb 300``.
"""

from __future__ import annotations

import argparse
import random
import struct
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

RDB_VERSION = 10

T_STRING, T_SET, T_ZSET_2, T_HASH = 0, 2, 5, 4
T_SET_INTSET, T_HASH_LISTPACK, T_ZSET_LISTPACK, T_LIST_QUICKLIST_2 = 11, 16, 17, 18
OP_AUX, OP_RESIZEDB, OP_EXPIRETIME_MS, OP_SELECTDB, OP_EOF = 0xFA, 0xFB, 0xFC, 0xFE, 0xFF

PREFIXES = ("user", "session", "order:eu", "order:us", "cache:page", "queue", "idx", "feed")


def enc_len(n: int) -> bytes:
    if n < 1 << 6:
        return bytes((n,))
    if n < 1 << 14:
        return bytes((0x40 | (n >> 8), n & 0xFF))
    if n < 1 << 32:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def enc_str(s: bytes) -> bytes:
    return enc_len(len(s)) + s


def enc_int_str(v: int) -> bytes:
    """An integer stored the way Redis stores an integer-looking string."""
    if -(1 << 7) <= v < 1 << 7:
        return b"\xc0" + struct.pack("<b", v)
    if -(1 << 15) <= v < 1 << 15:
        return b"\xc1" + struct.pack("<h", v)
    return b"\xc2" + struct.pack("<i", v)


def _backlen(n: int) -> bytes:
    if n <= 127:
        return bytes((n,))
    if n < 16383:
        return bytes((n >> 7, (n & 127) | 128))
    if n < 2097151:
        return bytes((n >> 14, ((n >> 7) & 127) | 128, (n & 127) | 128))
    return bytes((n >> 21, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128, (n & 127) | 128))


def _lp_entry(value: bytes | int) -> bytes:
    if isinstance(value, int):
        if 0 <= value <= 127:
            body = bytes((value,))
        elif -(1 << 15) <= value < 1 << 15:
            body = b"\xf1" + struct.pack("<h", value)
        else:
            body = b"\xf4" + struct.pack("<q", value)
    elif len(value) < 64:
        body = bytes((0x80 | len(value),)) + value
    elif len(value) < 4096:
        body = bytes((0xE0 | (len(value) >> 8), len(value) & 0xFF)) + value
    else:
        body = b"\xf0" + struct.pack("<I", len(value)) + value
    return body + _backlen(len(body))


def listpack(values: list[bytes | int]) -> bytes:
    entries = b"".join(_lp_entry(v) for v in values)
    total = 6 + len(entries) + 1
    return struct.pack("<IH", total, min(len(values), 65535)) + entries + b"\xff"


def intset(values: list[int]) -> bytes:
    width = 8 if any(not -(1 << 31) <= v < 1 << 31 for v in values) else 4
    width = 2 if all(-(1 << 15) <= v < 1 << 15 for v in values) else width
    fmt = {2: "<h", 4: "<i", 8: "<q"}[width]
    body = b"".join(struct.pack(fmt, v) for v in sorted(set(values)))
    return struct.pack("<II", width, len(set(values))) + body


@dataclass(frozen=True, slots=True)
class Value:
    """A pre-encoded value: its RDB type byte, payload, Redis type and element count."""

    rdb_type: int
    payload: bytes
    type: str
    elements: int


def _string(size: int, rng: random.Random) -> Value:
    data = rng.randbytes(size // 2).hex().encode()[:size].ljust(size, b"x")
    return Value(T_STRING, enc_str(data), "string", size)


def _list(n: int, rng: random.Random) -> Value:
    items: list[bytes | int] = [
        rng.randrange(1000) if i % 3 == 0 else f"item-{i}-{rng.random()}".encode() for i in range(n)
    ]
    nodes = [items[i : i + 128] for i in range(0, n, 128)]
    body = enc_len(len(nodes)) + b"".join(b"\x02" + enc_str(listpack(nd)) for nd in nodes)
    return Value(T_LIST_QUICKLIST_2, body, "list", n)


def _set(n: int, rng: random.Random, ints: bool) -> Value:
    if ints:
        members = rng.sample(range(-50_000, 10_000_000), n)
        return Value(T_SET_INTSET, enc_str(intset(members)), "set", n)
    words = [f"member:{i}:{rng.getrandbits(32)}".encode() for i in range(n)]
    return Value(T_SET, enc_len(n) + b"".join(enc_str(w) for w in words), "set", n)


def _zset(n: int, rng: random.Random) -> Value:
    members = [f"player{i}".encode() for i in range(n)]
    if n <= 128:
        flat: list[bytes | int] = []
        for i, m in enumerate(members):
            flat += [m, i * 3]
        return Value(T_ZSET_LISTPACK, enc_str(listpack(flat)), "zset", n)
    body = b"".join(enc_str(m) + struct.pack("<d", rng.random() * 1e6) for m in members)
    return Value(T_ZSET_2, enc_len(n) + body, "zset", n)


def _hash(n: int, rng: random.Random) -> Value:
    pairs = [(f"field{i}".encode(), f"v{rng.getrandbits(40)}".encode()) for i in range(n)]
    if n <= 128:
        flat: list[bytes | int] = [x for p in pairs for x in p]
        return Value(T_HASH_LISTPACK, enc_str(listpack(flat)), "hash", n)
    body = b"".join(enc_str(f) + enc_str(v) for f, v in pairs)
    return Value(T_HASH, enc_len(n) + body, "hash", n)


def value_pool(seed: int = 0) -> list[tuple[float, list[Value]]]:
    """(weight, values) groups the keys draw from; mean size about 200 bytes per key."""
    rng = random.Random(seed)
    return [
        (0.52, [_string(rng.randrange(8, 120), rng) for _ in range(32)]),
        (0.03, [_string(rng.randrange(200, 1500), rng) for _ in range(16)]),
        (0.0001, [_string(rng.randrange(20_000, 300_000), rng) for _ in range(4)]),
        (
            0.06,
            [
                Value(T_STRING, enc_int_str(rng.randrange(-30_000, 2**31 - 1)), "string", 0)
                for _ in range(8)
            ],
        ),
        (0.07, [_list(rng.randrange(1, 20), rng) for _ in range(16)]),
        (0.0005, [_list(rng.randrange(300, 3000), rng) for _ in range(4)]),
        (0.05, [_set(rng.randrange(1, 40), rng, ints=True) for _ in range(16)]),
        (0.02, [_set(rng.randrange(5, 30), rng, ints=False) for _ in range(16)]),
        (0.0005, [_set(rng.randrange(200, 2000), rng, ints=False) for _ in range(4)]),
        (0.06, [_zset(rng.randrange(1, 30), rng) for _ in range(16)]),
        (0.0005, [_zset(rng.randrange(200, 2000), rng) for _ in range(4)]),
        (0.10, [_hash(rng.randrange(1, 20), rng) for _ in range(16)]),
        (0.0005, [_hash(rng.randrange(200, 1500), rng) for _ in range(4)]),
    ]


@dataclass
class GenStats:
    """What a generated file holds, to check a reader against."""

    keys: int = 0
    bytes: int = 0
    expires: int = 0
    expired: int = 0
    """Keys whose TTL had already passed at ``now_ms`` (Redis drops them when loading)."""
    per_type: Counter[str] = field(default_factory=Counter)
    per_db: Counter[int] = field(default_factory=Counter)
    elements: Counter[str] = field(default_factory=Counter)


def _fix_int_elements(value: Value) -> int:
    if value.rdb_type == T_STRING and value.payload[:1] in (b"\xc0", b"\xc1", b"\xc2"):
        width = {0xC0: "<b", 0xC1: "<h", 0xC2: "<i"}[value.payload[0]]
        return len(str(struct.unpack(width, value.payload[1:])[0]))
    return value.elements


def write_rdb(path: Path, *, keys: int | None = None, size_mb: float | None = None,
              dbs: int = 1, seed: int = 0, now_ms: int | None = None) -> GenStats:  # fmt: skip
    """Write an RDB file of ``keys`` keys, or of about ``size_mb`` megabytes."""
    if (keys is None) == (size_mb is None):
        raise ValueError("give keys or size_mb")
    rng = random.Random(seed)
    pool = value_pool(seed)
    weights = [w for w, _ in pool]
    groups = [g for _, g in pool]
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    target = int(size_mb * 1024 * 1024) if size_mb is not None else None
    stats = GenStats()
    header = [b"REDIS%04d" % RDB_VERSION]
    for k, v in ((b"redis-ver", b"7.0.15"), (b"redis-bits", b"64"),
                 (b"ctime", str(now_ms // 1000).encode()), (b"aof-base", b"0")):  # fmt: skip
        header.append(bytes((OP_AUX,)) + enc_str(k) + enc_str(v))
    per_db = _split(keys, dbs) if keys is not None else None
    with path.open("wb") as out:
        out.write(b"".join(header))
        written = sum(len(h) for h in header)
        for db in range(dbs):
            out.write(bytes((OP_SELECTDB,)) + enc_len(db))
            quota = per_db[db] if per_db is not None else None
            db_target = target * (db + 1) // dbs if target is not None else None
            written = _write_db(
                out, db, quota=quota, target=db_target, written=written, rng=rng,
                groups=groups, weights=weights, now_ms=now_ms, stats=stats,
            )  # fmt: skip
        out.write(bytes((OP_EOF,)) + b"\x00" * 8)
    stats.bytes = path.stat().st_size
    return stats


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _write_db(out: BinaryIO, db: int, *, quota: int | None, target: int | None,
              written: int, rng: random.Random, groups: list[list[Value]],
              weights: list[float], now_ms: int, stats: GenStats) -> int:  # fmt: skip
    write = out.write
    batch: list[bytes] = []
    batch_bytes = 0
    n = 0
    hour = 3_600_000
    ttl_choices = (-hour, 10 * 60_000, 5 * hour, 3 * 24 * hour, 30 * 24 * hour)
    while (quota is not None and n < quota) or (target is not None and written < target):
        group = rng.choices(groups, weights, k=64)
        for values in group:
            value = values[rng.randrange(len(values))]
            i = stats.keys
            prefix = PREFIXES[i % len(PREFIXES)] if i % 17 else None
            key = f"{prefix}:{i}".encode() if prefix else f"plain{i}".encode()
            rec = b""
            if i % 5 == 0:
                rec = bytes((OP_EXPIRETIME_MS,)) + struct.pack(
                    "<Q", now_ms + ttl_choices[(i // 5) % len(ttl_choices)]
                )
                stats.expires += 1
                stats.expired += ttl_choices[(i // 5) % len(ttl_choices)] < 0
            rec += bytes((value.rdb_type,)) + enc_str(key) + value.payload
            batch.append(rec)
            batch_bytes += len(rec)
            stats.keys += 1
            stats.per_type[value.type] += 1
            stats.per_db[db] += 1
            stats.elements[value.type] += _fix_int_elements(value)
            n += 1
            if quota is not None and n >= quota:
                break
        if batch_bytes > 1 << 20 or quota is not None:
            write(b"".join(batch))
            written += batch_bytes
            batch, batch_bytes = [], 0
    write(b"".join(batch))
    return written + batch_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size-mb", type=float, default=None)
    parser.add_argument("--keys", type=int, default=None)
    parser.add_argument("--dbs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    size_mb = None if args.keys is not None else (args.size_mb or 10.0)
    stats = write_rdb(args.out, keys=args.keys, size_mb=size_mb, dbs=args.dbs, seed=args.seed)
    print(f"{args.out}: {stats.keys} keys, {stats.bytes} bytes")


if __name__ == "__main__":
    main()
