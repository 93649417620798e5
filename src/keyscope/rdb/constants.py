"""Opcodes and value types of the RDB format.

Facts from ``src/rdb.h`` of redis/redis unstable (2026-06, RDB 14) and valkey-io/valkey
unstable (RDB 80/81), and ``src/lib/defines.h`` of redis/librdb. The two engines agree up
to RDB 11 (Redis 7.2, Valkey 8) and then diverge: Redis counts on (12 = 7.4, 13 = 8.4-8.6,
14 = 8.8) under the ``REDIS`` magic; Valkey 9 writes the ``VALKEY`` magic with versions
from 80 and reserves 12-79 for foreign formats. Types 22 and up, and opcode 243, mean
different things under the two magics, so the reader branches on the magic.
"""

from __future__ import annotations

OP_VALKEY_UPDATE = 242
"""Valkey forkless save to a replica: a command inline in the stream, as a RESP multi-bulk
(``writeReplicationData``), for the replica to replay while it loads."""
OP_KEY_META = 243
"""Redis 8.6+: module metadata classes of the next key, before its type (``keymeta.c``)."""
OP_SLOT_IMPORT = 243
"""Valkey 9+: an atomic slot import in progress (``cluster_migrateslots.c``)."""
OP_SLOT_INFO = 244
OP_FUNCTION2 = 245
OP_FUNCTION_PRE_GA = 246
OP_MODULE_AUX = 247
OP_IDLE = 248
OP_FREQ = 249
OP_AUX = 250
OP_RESIZEDB = 251
OP_EXPIRETIME_MS = 252
OP_EXPIRETIME = 253
OP_SELECTDB = 254
OP_EOF = 255

T_STRING = 0
T_LIST = 1
T_SET = 2
T_ZSET = 3
T_HASH = 4
T_ZSET_2 = 5
T_MODULE_PRE_GA = 6
T_MODULE_2 = 7
T_HASH_ZIPMAP = 9
T_LIST_ZIPLIST = 10
T_SET_INTSET = 11
T_ZSET_ZIPLIST = 12
T_HASH_ZIPLIST = 13
T_LIST_QUICKLIST = 14
T_STREAM_LISTPACKS = 15
T_HASH_LISTPACK = 16
T_ZSET_LISTPACK = 17
T_LIST_QUICKLIST_2 = 18
T_STREAM_LISTPACKS_2 = 19
T_SET_LISTPACK = 20
T_STREAM_LISTPACKS_3 = 21
T_HASH_METADATA_PRE_GA = 22
T_HASH_LISTPACK_EX_PRE_GA = 23
T_HASH_METADATA = 24
T_HASH_LISTPACK_EX = 25
T_STREAM_LISTPACKS_4 = 26
"""Redis 8.4+ (RDB 13): a stream with idempotent producers (IDMP)."""
T_STREAM_LISTPACKS_5 = 27
"""Redis 8.8+ (RDB 14): a stream whose groups keep a NACK zone (XNACK)."""
T_ARRAY = 28
"""Redis 8.8+ (RDB 14): the sparse array type (ARSET and friends)."""
T_GCRA = 29
"""Redis unstable built with ``ENABLE_GCRA`` (off by default): a GCRA rate limiter's
theoretical arrival time, one length (``rdbSaveObject``); not read, as no key type names it."""
T_VALKEY_HASH_2 = 22
"""In files with the VALKEY magic (Valkey 9+), type 22 is a hash whose fields may expire."""
T_VALKEY_PATH_HASH = 23
"""Valkey 9.2 (RDB 81): the path hash; its layout is not published in a release yet."""

OP_REDIS_ENT_RAM_LRU = 107
OP_REDIS_ENT_SLOT_NUM = 121
"""Redis Enterprise opcodes before a key (librdb ``defines.h``): one length each."""

ARRAY_TAG_SDS = 0
ARRAY_TAG_INT = 1
ARRAY_TAG_FLOAT = 2
ARRAY_TAG_SMALLSTR = 3
"""How an array element is stored (``sparsearray.h`` AR_RDB_TAG_*): a string, an 8-byte
integer, an 8-byte double, or a short string."""

MODULE_OP_EOF = 0
MODULE_OP_SINT = 1
MODULE_OP_UINT = 2
MODULE_OP_FLOAT = 3
MODULE_OP_DOUBLE = 4
MODULE_OP_STRING = 5

ENC_INT8 = 0
ENC_INT16 = 1
ENC_INT32 = 2
ENC_LZF = 3

MAX_SUPPORTED_VERSION = 14
"""Newest RDB version under the REDIS magic this reader knows (Redis 8.8, arrays)."""
VALKEY_VERSIONS = (80, 81)
"""RDB versions under the VALKEY magic this reader knows (Valkey 9.0, 9.2)."""
