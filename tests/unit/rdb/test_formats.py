"""The formats past RDB 11, under both magics, and the versions the reader must refuse.

Hand-built files for what no public file holds (the Valkey magic's opcodes, Redis's key
metadata, arrays with every element tag, functions of the 7.0 release candidates), the
files of redis/librdb's test suite against the JSON dumps librdb made of them, and the
corpus files kept to be refused. Every file is read by both readers, which must agree.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from keyscope.domain.errors import RdbFormatError
from keyscope.domain.keys import KeyRecord
from keyscope.rdb import FAST_PATH_AVAILABLE, FastRdbReader, PureRdbReader
from keyscope.rdb.crc64 import Crc64
from tests.utils.corpus import CORPUS, REFUSED, case_id
from tests.utils.rdbgen import enc_len, enc_str, listpack

LIBRDB = CORPUS / "librdb"
READERS: list[Callable[[Any], Any]] = [PureRdbReader]
if FAST_PATH_AVAILABLE:
    READERS.append(FastRdbReader)

Outcome = tuple[list[KeyRecord], tuple[str, int] | None]


def rdb(magic: bytes, body: bytes) -> bytes:
    """A whole file: ``magic`` (with its version), ``body``, EOF and its CRC-64."""
    data = magic + body + b"\xff"
    crc = Crc64()
    crc.update(data)
    return data + struct.pack("<Q", crc.value)


def read_all(data: bytes) -> Outcome:
    """What both readers make of ``data``: the same records and the same error, or a failure."""
    outcomes: list[Outcome] = []
    for make in READERS:
        records: list[KeyRecord] = []
        try:
            records.extend(make(io.BytesIO(data)))
        except RdbFormatError as exc:
            outcomes.append((records, (exc.reason, exc.offset)))
            continue
        outcomes.append((records, None))
    assert all(o == outcomes[0] for o in outcomes), outcomes
    return outcomes[0]


def keys(data: bytes) -> list[tuple[bytes, str, str, int]]:
    records, error = read_all(data)
    assert error is None, error
    return [(r.key, r.type, r.encoding, r.num_elements) for r in records]


def string_key(key: bytes, value: bytes = b"v") -> bytes:
    return b"\x00" + enc_str(key) + enc_str(value)


@pytest.mark.parametrize(
    ("magic", "offset", "reason"),
    [
        (b"REDIS0080", 5, "unsupported RDB version 80"),
        (b"REDIS0015", 5, "unsupported RDB version 15"),
        (b"REDIS0000", 5, "unsupported RDB version 0"),
        (b"VALKEY099", 6, "unsupported Valkey RDB version 99"),
        (b"VALKEY011", 6, "unsupported Valkey RDB version 11"),
        (b"VALKEY079", 6, "unsupported Valkey RDB version 79"),
    ],
)
def test_a_version_the_reader_does_not_know_is_refused_with_its_offset_for_either_magic(
    magic: bytes, offset: int, reason: str
) -> None:
    assert read_all(rdb(magic, string_key(b"k"))) == ([], (reason, offset))


def test_every_version_of_either_magic_the_reader_knows_is_read() -> None:
    for magic in [b"REDIS%04d" % v for v in range(1, 15)] + [b"VALKEY080", b"VALKEY081"]:
        assert keys(rdb(magic, b"\xfe\x00" + string_key(b"k"))) == [(b"k", "string", "embstr", 1)]


def test_opcode_243_is_a_slot_import_under_the_valkey_magic() -> None:
    job = enc_str(b"a" * 40) + enc_len(2) + enc_len(0) + enc_len(99) + enc_len(200) + enc_len(300)
    body = b"\xf3" + job + b"\xfe\x00" + string_key(b"k")
    assert keys(rdb(b"VALKEY080", body)) == [(b"k", "string", "embstr", 1)]


def test_opcode_243_is_the_next_keys_metadata_under_the_redis_magic() -> None:
    classes = enc_len(2)
    for spec in (b"\x01\x02\x03\x04", b"\x05\x06\x07\x08"):  # module-API values, then EOF
        classes += spec + enc_len(2) + enc_len(7) + enc_len(5) + enc_str(b"meta") + enc_len(0)
    expiry = b"\xfc" + struct.pack("<q", 1_900_000_000_000)
    body = b"\xfe\x00" + expiry + b"\xf3" + classes + string_key(b"k") + string_key(b"after")
    records, error = read_all(rdb(b"REDIS0014", body))
    assert error is None
    assert [(r.key, r.expiry_ms) for r in records] == [(b"k", 1_900_000_000_000), (b"after", None)]


def test_a_valkey_hash_with_field_ttls_is_type_22_and_a_path_hash_is_refused_by_name() -> None:
    fields = enc_len(2)
    for field, expiry in ((b"f1", -1), (b"f2", 1_900_000_000_000)):
        fields += enc_str(field) + enc_str(b"value") + struct.pack("<q", expiry)
    assert keys(rdb(b"VALKEY080", b"\x16" + enc_str(b"h") + fields)) == [
        (b"h", "hash", "hashtable", 2)
    ]
    records, error = read_all(rdb(b"VALKEY081", string_key(b"k") + b"\x17" + enc_str(b"p")))
    assert [r.key for r in records] == [b"k"]
    assert error == ("Valkey path hash (type 23): its format is not supported yet", 14)


def test_an_inline_command_of_a_valkey_forkless_save_is_skipped() -> None:
    command = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nxx\r\n"
    body = b"\xfe\x00" + string_key(b"a") + b"\xf2" + command + string_key(b"b")
    assert [k for k, *_ in keys(rdb(b"VALKEY081", body))] == [b"a", b"b"]
    bad = b"\xfe\x00" + b"\xf2" + b"*1\r\n$2\r\nabc"
    assert read_all(rdb(b"VALKEY080", bad))[1] == ("inline command argument not ended by CRLF", 22)
    assert read_all(rdb(b"REDIS0014", b"\xf2"))[1] == ("unknown value type 242", 9)


def test_a_gcra_value_of_a_redis_built_with_it_is_refused_by_name() -> None:
    body = string_key(b"k") + b"\x1d" + enc_str(b"limiter") + enc_len(1_700_000_000_000_000)
    records, error = read_all(rdb(b"REDIS0014", body))
    assert [r.key for r in records] == [b"k"]
    reason = "GCRA rate limiter (type 29, a Redis built with ENABLE_GCRA) is not supported"
    assert error == (reason, 14)
    assert read_all(rdb(b"VALKEY081", b"\x1d" + enc_str(b"a")))[1] == ("unknown value type 29", 9)


def test_redis_types_past_21_are_unknown_under_the_valkey_magic() -> None:
    assert read_all(rdb(b"VALKEY080", b"\x1c" + enc_str(b"a")))[1] == ("unknown value type 28", 9)


def test_an_array_reads_every_element_tag_and_counts_its_elements() -> None:
    elements = enc_len(0) + enc_len(0) + enc_str(b"a string of the sds kind")
    elements += enc_len(3) + enc_len(1) + struct.pack("<q", -42)
    elements += enc_len(70) + enc_len(2) + struct.pack("<d", 2.5)
    elements += enc_len(1 << 20) + enc_len(3) + enc_str(b"short")
    with_index = enc_len(4) + enc_len(1) + enc_len(1 << 20 | 1) + elements
    without = enc_len(1) + enc_len(0) + enc_len(0) + enc_len(1) + struct.pack("<q", 7)
    body = b"\x1c" + enc_str(b"a") + with_index + b"\x1c" + enc_str(b"b") + without
    assert keys(rdb(b"REDIS0014", body)) == [
        (b"a", "array", "sliced-array", 4),
        (b"b", "array", "sliced-array", 1),
    ]
    bad = b"\x1c" + enc_str(b"a") + enc_len(1) + enc_len(0) + enc_len(0) + enc_len(9)
    assert read_all(rdb(b"REDIS0014", bad))[1] == ("unknown array element tag 9", 15)


def _stream_v5(nacked: int) -> bytes:
    """A stream of one entry in one node, a group with one pending entry and a NACK zone."""
    master = struct.pack(">QQ", 1_700_000_000_000, 0)
    entries = listpack([1, 1, b"f", 0, 1, 0, 0, 1, b"v", 4, 0x01])  # master entry and one entry
    body = enc_len(1) + enc_str(master) + enc_str(entries)
    body += enc_len(1) + enc_len(1_700_000_000_000) + enc_len(0)  # length, last id
    body += b"".join(enc_len(n) for n in (1_700_000_000_000, 0, 0, 0, 1))  # first, max del, added
    body += enc_len(1) + enc_str(b"group") + enc_len(1_700_000_000_000) + enc_len(0) + enc_len(1)
    body += enc_len(1) + master + struct.pack("<q", 1_700_000_000_000) + enc_len(1)  # PEL
    body += enc_len(0)  # no consumers
    body += enc_len(nacked) + master * nacked  # the NACK zone
    body += enc_len(100) + enc_len(100) + enc_len(1)  # IDMP: duration, max entries, producers
    body += enc_str(b"producer") + enc_len(1) + enc_str(b"iid") + enc_len(1_700_000_000_000)
    body += enc_len(0) + enc_len(1) + enc_len(0)  # its entry's stream id, iids added, dups
    return body


def test_a_stream_of_type_27_skips_its_nack_zone_and_its_idempotent_producers() -> None:
    body = b"\x1b" + enc_str(b"s") + _stream_v5(1) + string_key(b"after")
    assert keys(rdb(b"REDIS0014", body)) == [
        (b"s", "stream", "stream", 1),
        (b"after", "string", "embstr", 1),
    ]


def test_functions_of_the_70_release_candidates_are_skipped_not_refused() -> None:
    library = enc_str(b"mylib") + enc_str(b"LUA") + enc_len(1) + enc_str(b"a description")
    library += enc_str(b"redis.register_function('f', function() return 1 end)")
    no_desc = enc_str(b"other") + enc_str(b"LUA") + enc_len(0) + enc_str(b"return 1")
    body = b"\xf6" + library + b"\xf6" + no_desc + b"\xfe\x00" + string_key(b"k")
    data = rdb(b"REDIS0010", body)
    assert keys(data) == [(b"k", "string", "embstr", 1)]
    for make in READERS:
        reader = make(io.BytesIO(data))
        list(reader)
        assert reader.functions == 2


def test_redis_enterprise_hints_before_a_key_are_skipped_under_the_redis_magic_only() -> None:
    body = b"\xfe\x00" + b"\x6b" + enc_len(12) + b"\x79" + enc_len(3000) + string_key(b"k")
    assert keys(rdb(b"REDIS0012", body)) == [(b"k", "string", "embstr", 1)]
    assert read_all(rdb(b"VALKEY080", b"\x6b" + enc_len(12)))[1] == ("unknown value type 107", 9)


def test_a_vector_set_counts_its_elements_from_its_module_value() -> None:
    module_id = sum(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(ch)
        << (10 + 6 * (8 - i))
        for i, ch in enumerate("vectorset")
    )
    value = enc_len(module_id) + enc_len(2) + enc_len(3) + enc_len(2) + enc_len(5)  # dim, count
    value += enc_len(5) + enc_str(b"element") + enc_len(0)
    assert keys(rdb(b"REDIS0014", b"\x07" + enc_str(b"vs") + value)) == [
        (b"vs", "module", "vectorset", 5)
    ]


def _module_id(name: str, encoding_version: int = 0) -> int:
    """The 64-bit module type id Redis saves: nine 6-bit characters and a 10-bit version."""
    charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    chars = sum(charset.index(ch) << (10 + 6 * (8 - i)) for i, ch in enumerate(name))
    return chars | encoding_version


def test_module_values_are_reported_with_their_modules_name_and_serialized_size() -> None:
    body = b""
    for key, name in ((b"json", "ReJSON-RL"), (b"series", "TSDB-TYPE"), (b"bloom", "MBbloom--")):
        value = enc_len(_module_id(name, 3)) + enc_len(2) + enc_len(1) + enc_len(5)
        value += enc_str(b"a payload") + enc_len(4) + struct.pack("<d", 1.5) + enc_len(0)
        body += b"\x07" + enc_str(key) + value
    for make in READERS:
        records = list(make(io.BytesIO(rdb(b"REDIS0011", b"\xfe\x00" + body))))
        value_size = len(enc_len(_module_id("ReJSON-RL", 3))) + 1 + 1 + 1 + 10 + 1 + 8 + 1
        assert [(r.key, r.type, r.encoding, r.serialized_size) for r in records] == [
            (b"json", "module", "ReJSON-RL", value_size),
            (b"series", "module", "TSDB-TYPE", value_size),
            (b"bloom", "module", "MBbloom--", value_size),
        ]


def test_a_module_value_of_the_40_release_candidates_is_refused_naming_its_module() -> None:
    body = b"\x06" + enc_str(b"m") + enc_len(_module_id("ReJSON-RL")) + b"opaque"
    assert read_all(rdb(b"REDIS0008", body)) == (
        [],
        ("module value of a Redis 4.0 release candidate (module ReJSON-RL) cannot be skipped", 12),
    )


def _synthetic_files() -> list[bytes]:
    meta = b"\xf3" + enc_len(1) + b"\x01\x02\x03\x04" + enc_len(2) + enc_len(7) + enc_len(0)
    array = enc_len(2) + enc_len(1) + enc_len(9) + enc_len(0) + enc_len(1) + struct.pack("<q", 1)
    array += enc_len(8) + enc_len(3) + enc_str(b"short")
    slot_import = b"\xf3" + enc_str(b"j" * 40) + enc_len(1) + enc_len(5) + enc_len(6)
    function = b"\xf6" + enc_str(b"lib") + enc_str(b"LUA") + enc_len(0) + enc_str(b"return 1")
    inline = b"\xf2*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"
    return [
        rdb(b"VALKEY080", b"\xfe\x00" + inline + string_key(b"k") + inline),
        rdb(b"REDIS0014", b"\xfe\x00" + meta + string_key(b"k") + b"\x1c" + enc_str(b"a") + array),
        rdb(b"REDIS0014", b"\x1b" + enc_str(b"s") + _stream_v5(1)),
        rdb(b"VALKEY081", slot_import + b"\xfe\x00" + string_key(b"k")),
        rdb(b"REDIS0010", function + b"\x6b" + enc_len(3) + string_key(b"k")),
    ]


@pytest.mark.skipif(not FAST_PATH_AVAILABLE, reason="needs the compiled reader to compare")
def test_new_format_files_cut_anywhere_or_flipped_fail_identically_on_both_readers() -> None:
    for n, data in enumerate(_synthetic_files()):
        assert read_all(data)[1] is None, n
        for cut in range(len(data)):
            assert read_all(data[:cut])[1] is not None, (n, cut)
        unchecked = data[:-8] + bytes(8)  # a zero checksum is not checked: the parse is
        for at in range(9, len(data) - 8):
            for mask in (0x01, 0x5A, 0xFF):
                flipped = bytearray(unchecked)
                flipped[at] ^= mask
                read_all(bytes(flipped))  # both readers: the same records and the same error


LIBRDB_DUMPS = {
    "cluster_slot_info.rdb": "cluster_slot_info.json",
    "function2.rdb": "function2.json",
    "hash_lp_with_hexpire_v12.rdb": "hash_lp_ex_v12_data.json",
    "hash_v3.rdb": "hash_data.json",
    "hash_with_expire_v12.rdb": "hash_ex_v12_data.json",
    "mem_policy_lfu.rdb": "mem_policy_lfu.json",
    "mem_policy_lru.rdb": "mem_policy_lru.json",
    "quicklist2_v11.rdb": "single_list_data.json",
    "set_not_expired_v11.rdb": "set_not_expired.json",
    "stream_v11.rdb": "stream_data.json",
    "stream_v13_idmp.rdb": "stream_v13.json",
    "string_int_encoded.rdb": "string_int_encoded.json",
    "ziplist_v3.rdb": "ziplist_data.json",
}
"""librdb's JSON dumps not named ``<file>_data.json``, as its ``test/test_rdb_to_json.c`` and
``test_rdb_to_redis.c`` pair them with their files (not ``set_expired.json``: the keys a
server drops as expired on load, which a reader of the file keeps)."""


def _librdb_dump(path: Path) -> Path:
    return path.with_name(LIBRDB_DUMPS.get(path.name, path.stem + "_data.json"))


def _librdb_expected(path: Path) -> dict[tuple[int, str], Any]:
    """librdb's JSON dump of ``path``: a fragment of ``"key": value`` pairs, or one per db."""
    text = _librdb_dump(path).read_text().strip()
    parsed = json.loads(text if text.startswith("[") else "{" + text + "}")
    per_db = parsed if isinstance(parsed, list) else [parsed]
    return {
        (db, key): value
        for db, pairs in enumerate(per_db)
        for key, value in pairs.items()
        if not key.startswith("__")
    }


def _count_of(value: Any) -> int | None:
    if isinstance(value, str):
        return len(value.encode()) if not value.startswith("<Content of Module") else None
    if isinstance(value, dict) and "entries" in value:
        return len(value["entries"])
    return len(value)


WITH_DUMPS = sorted(p for p in LIBRDB.glob("*.rdb") if _librdb_dump(p).is_file())


@pytest.mark.parametrize("path", WITH_DUMPS, ids=case_id)
def test_librdb_files_hold_the_keys_and_element_counts_of_librdbs_own_dump(path: Path) -> None:
    records, error = read_all(path.read_bytes())
    assert error is None
    expected = _librdb_expected(path)
    found = {(r.db if len({x.db for x in records}) > 1 else 0, r.key.decode()): r for r in records}
    assert sorted(found) == sorted(expected)
    for where, value in expected.items():
        count = _count_of(value)
        if count is not None:
            assert found[where].num_elements == count, where


def test_the_rdb_13_streams_of_librdb_read_with_their_entries() -> None:
    records, error = read_all((LIBRDB / "stream_v13.rdb").read_bytes())
    assert error is None and len(records) == 49
    assert {r.type for r in records} == {"stream"}
    idmp = read_all((LIBRDB / "stream_v13_idmp.rdb").read_bytes())[0]
    assert [(r.key, r.num_elements) for r in idmp] == [(b"stream_lp1_cg2_pel1_prod2_ent1", 3)]


ENGINE_FILES = {
    "redis-unstable-20260625.rdb": (b"REDIS0014", {7, 24, 25, 27, 28}, 0),
    "redis-unstable-20260625-keymeta.rdb": (b"REDIS0014", {243}, 0),
    "redis-unstable-20260625-cluster.rdb": (b"REDIS0014", set(), 1),
    "valkey-9.1.2.rdb": (b"VALKEY080", {22}, 0),
}
"""Files written by real engines -> their header, the newest type bytes they hold (243: the
key's metadata, ``KEY_META``, before its type; DUMP starts with it too) and their function
libraries (the cluster node's file: opcode 245, and 244 for each slot with keys)."""


@pytest.mark.parametrize("name", sorted(ENGINE_FILES))
def test_a_file_a_real_engine_wrote_reads_as_that_server_reported_it(name: str) -> None:
    path = CORPUS / "keyscope-engines" / name
    header, newest_types, functions = ENGINE_FILES[name]
    reported = json.loads(path.with_suffix(".server.json").read_text())
    data = path.read_bytes()
    assert data[:9] == header
    records, error = read_all(data)
    assert error is None
    assert {row["rdb_type"] for row in reported} >= newest_types
    found = {r.key.decode(): r for r in records}
    assert sorted(found) == sorted(row["key"] for row in reported)
    for row in reported:
        rec = found[row["key"]]
        kind = rec.encoding if rec.type == "module" else rec.type
        assert (kind, rec.num_elements, rec.expiry_ms) == (
            row["type"],
            row["count"],
            row["expiry_ms"],
        ), row["key"]
    for make in READERS:
        reader = make(path)
        list(reader)
        assert (reader.bytes_read, reader.functions) == (len(data), functions)


def test_module_keys_redis_stack_wrote_carry_their_modules_name_and_serialized_size() -> None:
    """Seven module types and a search index, whose module aux data (opcode 247) the file holds
    before and after the keys; the size of each value is that of the server's DUMP of it (less
    its type byte, RDB version and CRC-64)."""
    path = CORPUS / "keyscope-engines" / "redis-stack-7.4.rdb"
    data = path.read_bytes()
    reported = {row["key"]: row for row in json.loads(path.with_suffix(".server.json").read_text())}
    records, error = read_all(data)
    assert error is None
    assert sorted(r.key.decode() for r in records) == sorted(reported)
    modules = [r for r in records if r.type == "module"]
    assert {r.encoding for r in modules} == {
        "ReJSON-RL", "TSDB-TYPE", "MBbloom--", "MBbloomCF", "CMSk-TYPE", "TopK-TYPE", "TDIS-TYPE"
    }  # fmt: skip
    for rec in records:
        row = reported[rec.key.decode()]
        assert (rec.encoding if rec.type == "module" else rec.type) == row["type"]
        assert rec.serialized_size == row["dump_value_bytes"], rec.key
        assert rec.expiry_ms == row["expiry_ms"], rec.key
    for make in READERS:
        reader = make(path)
        list(reader)
        assert reader.bytes_read == len(data)
        assert sum(reader.modules.values()) == len(modules)


HDT3213 = CORPUS / "hdt3213-rdb"


def test_valkey_9_files_of_hdt3213_read_to_the_end_with_their_keys_slot_import_included() -> None:
    """Written by Valkey 9.0.3 nodes: one mid slot import (opcode 243 under the VALKEY magic),
    one with the ``slot-info`` aux field and a key, one with a hash whose fields expire."""
    importing = (HDT3213 / "valkey_cluster_slot_import.rdb").read_bytes()
    assert importing[:9] == b"VALKEY080" and b"\xf3\x28" in importing  # the job's 40-byte name
    expected = {
        "valkey_cluster_slot_import": [],
        "valkey_cluster_slot_info": [(b"{6ZJ}:fixture", "string", "embstr", 5)],
        "valkey_hash2_with_hfe": [(b"hash2-hfe", "hash", "hashtable", 3)],
    }
    for name, found in expected.items():
        path = HDT3213 / f"{name}.rdb"
        assert keys(path.read_bytes()) == found, name
        dump = json.loads(path.with_suffix(".json").read_text())
        assert [o["key"].encode() for o in dump] == [k for k, *_ in found], name
        for make in READERS:
            reader = make(path)
            list(reader)
            assert (reader.version, reader.valkey) == (80, True)
            assert reader.bytes_read == path.stat().st_size
            assert reader.aux["valkey-ver"].startswith(b"9.0.")


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_corpus_files_kept_to_be_refused_are_refused_with_the_typed_error(name: str) -> None:
    path = CORPUS / name
    reason, offset = REFUSED[name]
    _, error = read_all(path.read_bytes())
    assert error is not None and error[0].startswith(reason)
    assert error[1] == (offset if offset is not None else path.stat().st_size - 8)
