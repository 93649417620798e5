"""Constants of keyscope, each with the reason it has its value."""

from __future__ import annotations

BIGKEY_STRING_BYTES = 10 * 1024
"""A String over 10 KB is big (DCS user guide)."""

BIGKEY_COLLECTION_ELEMENTS = 5000
"""A collection with more than 5,000 elements is big (DCS user guide)."""

BIGKEY_COLLECTION_BYTES = 50 * 1024 * 1024
"""A collection whose elements together exceed 50 MB is big (DCS user guide)."""

BIGKEY_MAX_RECORDS = 100
"""At most 100 big keys are kept per analysis (DCS user guide)."""

BIGKEY_MAX_STRINGS = 20
"""Of those, at most 20 Strings (DCS user guide)."""

BIGKEY_MAX_PER_COLLECTION_TYPE = 20
"""And at most 20 per collection type, 80 in all (DCS user guide)."""

HOTKEY_MAX_RECORDS = 100
"""Hot keys kept per analysis, the most frequently used first."""

HOTKEY_MIN_ACCESSES = 100
"""The hot-key floor, in accesses: a key is hot when its LFU counter is one that this many
accesses reach on average from a new key's counter (5) under the node's ``lfu-log-factor``
(counter 10 at the default factor 10; see ``keyscope.analysis.lfu``). Untouched keys (5) and
keys touched a few times never qualify; 100 is where Redis' own table of the factor starts."""

HOTKEYS_WINDOW_S = 5
"""Seconds the server's own tracking (``HOTKEYS``, Redis 8.6+) watches the traffic: long
enough to see thousands of commands on a busy node, short enough for an interactive run."""

HOTKEYS_WINDOW_MAX_S = 60
"""Longest tracking window a caller may ask for: the node pays for the tracking of every
command while it runs, and a stalled run must not leave it on for long."""

HOTKEYS_DURATION_GRACE_S = 2
"""The server ends a window by itself this long after keyscope should have (DURATION), so a
keyscope killed mid-window leaves no tracking behind, and a live one always stops it first."""

HOTKEYS_TOP_K = 64
"""Keys per metric the server keeps in its top list (COUNT; 64 is the most it accepts)."""

HOTKEY_MIN_SHARE = 0.01
"""With ``HOTKEYS``: a key is hot when it took at least this share (1%) of the network bytes
its shard's nodes spent on commands with keys during the window (in and out, replication
included): among a hundred keys sharing the traffic evenly, none is hot."""

SCAN_COUNT = 1000
"""SCAN COUNT per page: large enough to amortise round trips, small enough to stay responsive."""

MAX_OPS_PER_SEC = 50_000
"""Default per-node ceiling of commands per second an online scan may send."""

CONNECT_TIMEOUT_S = 5.0
"""How long a node may take to accept a connection, finish TLS and answer the opening AUTH
and PING as Redis; also the bound of a whole discovery, however many addresses are silent."""

SOCKET_TIMEOUT_S = 5.0
"""How long a single reply may take before the node counts as gone: a frozen node fails the
task within this (RELIABILITY.md promises under 10 s); replies of a scan take milliseconds."""

SIGNATURE_WINDOW_S = 15 * 60
"""A signed request's X-Sdk-Date may differ from the server clock by at most this."""

OFFLINE_TOP_KEYS = 100
"""Offline analysis reports the 100 largest keys (DCS)."""

OFFLINE_TOP_PREFIXES = 50
"""Offline analysis reports the 50 largest prefixes of each type by key count (DCS)."""

PREFIX_DELIMITERS = ":"
"""Characters at which a key is cut into prefixes."""

LIVE_CHECK_TIMEOUT_S = 1.5
"""How long the live state of the instances a list or show names may take, all nodes together:
a node that has not answered INFO by then counts as down (its instance ``ERROR``)."""

LIVE_CHECK_PARALLEL = 32
"""Nodes whose INFO a live state check reads at once."""

DEFAULT_LIST_LIMIT = 10
"""Page size of list operations when the caller gives none (DCS)."""

MAX_LIST_OFFSET = 2**31 - 1
"""Largest ``offset`` a list operation takes: past it SQLite cannot bind the number (a 500)."""

PREFIX_CAPACITY = 4096
"""Prefixes tracked per key type in an offline analysis; more distinct ones are pruned
(Misra-Gries), so memory stays bounded whatever the keyspace holds."""

PREFIX_MAX_DEPTH = 8
"""Levels of prefix counted per key, so one key with thousands of delimiters costs little."""

DIFF_SKETCH_KEYS = 65536
"""Key hashes kept per file by ``rdb diff`` to count the keys added and removed: exact up
to this many keys per file, about 1/256 relative error beyond (``analysis/keysketch.py``)."""

ADVICE_SMALL_STRING_BYTES = 64
"""Strings up to this many bytes, without a TTL, could be fields of a listpack hash
(``hash-max-listpack-value`` is 64 by default): the small-strings recommendation."""

ADVICE_LONG_KEY_BYTES = 128
"""Key names longer than this are oversized: the long-names recommendation."""

ADVICE_SHORT_KEY_BYTES = 32
"""The length the long-names recommendation estimates savings against."""

ADVICE_LISTPACK_FLOOR = 128
"""Collections with more elements than this (the default ``*-max-listpack-entries`` of sets
and sorted sets; hashes default to 512, so a hash between the two is in a table because
its server was set lower) in a table encoding, and with elements no longer on average
than ``ADVICE_SMALL_STRING_BYTES``, are listpack-limit crossings."""

ADVICE_LISTPACK_LADDER = (256, 512, 1024)
"""The ``*-max-listpack-entries`` values the crossing recommendation weighs: past 1024 a
listpack's linear scans cost more than its memory saves."""

ADVICE_HUGE_STRING_BYTES = 16 * 1024
"""Strings from this many bytes are huge: the compression recommendation weighs them."""

ADVICE_COMPRESSED_SHARE = 0.75
"""A huge string the RDB holds LZF-compressed to at most this share of its length is
compressible enough to recommend compressing it in the application."""

ADVICE_COMPRESSIBLE_LIST_BYTES = 3 * 8192
"""Quicklists from this many bytes (three full nodes of ``list-max-listpack-size -2``: one
between the head and the tail that ``list-compress-depth 1`` leaves plain) the
list-compression recommendation weighs, where the RDB holds them compressed to at most
``ADVICE_COMPRESSED_SHARE`` of their memory."""

ADVICE_EXAMPLES = 3
"""Example keys kept per recommendation (per prefix, per ladder step)."""

METRICS_MAX_INSTANCES = 500
"""Instances ``/metrics`` publishes per-instance gauges for (those analysed most recently):
the bound of its label cardinality, with the top-20 prefixes and the key types."""

DIFF_TOP = 20
"""Rows per list of a diff (prefixes that grew or shrank, keys that entered or left)."""

BACKUP_UPLOAD_MAX_BYTES = 512 * 1024**2
"""Largest RDB file the upload endpoint accepts by default (``KEYSCOPE_UPLOAD_MAX_BYTES``):
the body streams to disk, so this bounds the disk one request can fill, not memory."""

REPLICATION_TIMEOUT_S = 60.0
"""How long a node may stay silent while it prepares or sends a snapshot."""

ANALYSIS_DEADLINE_S = 6 * 3600.0
"""Longest an analysis (big keys, hot keys, expire scan, offline) may run before it is failed.

Sized for a 100M-key node at the default throttle: big keys and hot keys send about one
command per key (MEMORY USAGE or OBJECT FREQ after SCAN), so 100M keys at
``MAX_OPS_PER_SEC`` (50,000 ops/s) take about 2,000 s, and 6,000 s on servers older than
4.0 (TYPE, size and memory: three commands per key). Offline, 100M keys are an RDB of about
20 GB (200 bytes a key in the benchmark files), read at 3.7M keys/s compiled (27 s) or 138k
keys/s in pure Python (725 s) after the snapshot. Six hours leaves 3.6x the slowest of these,
for a node that answers slower than the ceiling; a proxy or a node slow on every reply but
under the socket timeout no longer keeps a task running without end."""

BACKUP_DEADLINE_S = 6 * 3600.0
"""Longest a backup (its snapshots over replication) may take before it is failed as timed out.

A 100M-key node writes an RDB of about 20 GB: its BGSAVE and the transfer at 10 MB/s, a slow
link, take about 2,000 s plus the save; six hours leaves ten times that. The
per-read bound (``REPLICATION_TIMEOUT_S``) alone lets a trickle of bytes go on for ever."""
BACKUP_SHARDS_AT_ONCE = 4
"""Snapshots of one instance one process takes at the same time (each a full sync of a node)."""

MAX_BACKUPS_PER_INSTANCE = 100
"""Backups (every status) one instance may hold before new ones are refused (DCS.4962)."""
