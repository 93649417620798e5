"""Hand-built RDB files for what the public corpus lacks: version 1, old opcodes, bad lengths."""

from __future__ import annotations

import io
import struct

import pytest

from keyscope.domain.errors import RdbFormatError
from keyscope.rdb import RdbReader, iter_records
from keyscope.rdb.crc64 import Crc64
from tests.utils.rdbgen import enc_len, enc_str


def rdb(version: int, body: bytes, *, checksum: int | None = None) -> bytes:
    """A whole file: magic, ``body``, EOF and, from version 5, the CRC-64 (computed if None)."""
    data = b"REDIS%04d" % version + body + b"\xff"
    if version < 5:
        return data
    if checksum is None:
        crc = Crc64()
        crc.update(data)
        checksum = crc.value
    return data + struct.pack("<Q", checksum)


def ziplist(items: list[bytes], *, count: int | None = None) -> bytes:
    entries, prev = b"", 0
    for item in items:
        entry = bytes((prev,)) + bytes((len(item),)) + item
        entries += entry
        prev = len(entry)
    size = 10 + len(entries) + 1
    header = struct.pack("<IIH", size, 10 + len(entries) - prev, count or len(items))
    return header + entries + b"\xff"


def listpack(items: list[bytes], *, count: int | None = None) -> bytes:
    entries = b"".join(bytes((0x80 | len(i),)) + i + bytes((1 + len(i),)) for i in items)
    return struct.pack("<IH", 6 + len(entries) + 1, count or len(items)) + entries + b"\xff"


def read(data: bytes) -> list[tuple[int, bytes, str, str, int | None, int]]:
    return [
        (r.db, r.key, r.type, r.encoding, r.expiry_ms, r.num_elements)
        for r in iter_records(io.BytesIO(data))
    ]


def test_a_version_1_file_with_a_string_and_a_linked_list_reads() -> None:
    body = b"\xfe\x00" + b"\x00" + enc_str(b"k") + enc_str(b"hello")
    body += b"\x01" + enc_str(b"l") + enc_len(2) + enc_str(b"a") + enc_str(b"bb")
    assert read(rdb(1, body)) == [
        (0, b"k", "string", "embstr", None, 5),
        (0, b"l", "list", "quicklist", None, 2),
    ]


def test_expiry_in_seconds_aux_resizedb_idle_and_freq_opcodes_are_understood() -> None:
    body = b"\xfa" + enc_str(b"redis-ver") + enc_str(b"7.0.15")
    body += b"\xfe\x02\xfb" + enc_len(2) + enc_len(1)
    body += b"\xfd" + struct.pack("<i", 1_700_000_000) + b"\x00" + enc_str(b"s") + enc_str(b"v")
    body += b"\xf8" + enc_len(1234) + b"\x00" + enc_str(b"idle") + enc_str(b"v")
    body += b"\xf9\x07" + b"\x00" + enc_str(b"freq") + b"\xc0\x05"  # the integer 5
    reader = RdbReader(io.BytesIO(rdb(9, body)))
    records = [(r.db, r.key, r.encoding, r.expiry_ms) for r in reader]
    assert records == [
        (2, b"s", "embstr", 1_700_000_000_000),
        (2, b"idle", "embstr", None),
        (2, b"freq", "int", None),
    ]
    assert reader.aux == {"redis-ver": b"7.0.15"}
    assert reader.version == 9


def test_sorted_set_scores_written_as_text_include_infinities_and_nan() -> None:
    members = enc_str(b"a") + b"\x011" + enc_str(b"b") + b"\xfe" + enc_str(b"c") + b"\xff"
    members += enc_str(b"d") + b"\xfd"
    assert read(rdb(3, b"\x03" + enc_str(b"z") + enc_len(4) + members)) == [
        (0, b"z", "zset", "skiplist", None, 4)
    ]


def test_saturated_ziplist_and_listpack_counts_are_found_by_walking_them() -> None:
    items = [b"x", b"yy", b"zzz"]
    body = b"\x0a" + enc_str(b"zl") + enc_str(ziplist(items, count=0xFFFF))
    body += b"\x10" + enc_str(b"lp") + enc_str(listpack([*items, b"w"], count=0xFFFF))
    assert read(rdb(10, body)) == [
        (0, b"zl", "list", "quicklist", None, 3),
        (0, b"lp", "hash", "listpack", None, 2),
    ]


def test_a_listpack_whose_header_disagrees_with_its_length_is_refused() -> None:
    blob = bytearray(listpack([b"a", b"b"]))
    blob[0] += 1
    data = rdb(10, b"\x10" + enc_str(b"h") + enc_str(bytes(blob)))
    with pytest.raises(RdbFormatError) as info:
        read(data)
    assert info.value.offset == len(b"REDIS0010\x10\x01h\x01")


def test_a_checksum_mismatch_is_reported_at_the_checksum_and_zero_skips_the_check() -> None:
    body = b"\x00" + enc_str(b"k") + enc_str(b"v")
    good = rdb(9, body)
    assert read(good) == [(0, b"k", "string", "embstr", None, 1)]
    assert read(rdb(9, body, checksum=0)) == read(good)
    with pytest.raises(RdbFormatError, match="checksum") as info:
        read(rdb(9, body, checksum=12345))
    assert info.value.offset == len(good) - 8


@pytest.mark.parametrize(
    "value",
    [
        enc_len(1 << 62),  # a string that claims exabytes
        b"\xc3" + enc_len(4) + enc_len(1 << 40) + b"abcd",  # LZF that cannot expand that far
        b"\xc3" + enc_len(1 << 40) + enc_len(10) + b"abcd",  # LZF longer than the file
    ],
    ids=["huge-string", "lzf-ratio", "lzf-truncated"],
)
def test_declared_lengths_beyond_the_file_raise_the_format_error(value: bytes) -> None:
    data = rdb(9, b"\x00" + enc_str(b"k") + value, checksum=0)
    with pytest.raises(RdbFormatError) as info:
        read(data)
    assert 0 < info.value.offset <= len(data)


def test_an_unknown_value_type_is_refused_at_its_opcode() -> None:
    with pytest.raises(RdbFormatError, match="unknown value type 99") as info:
        read(rdb(9, b"\x63" + enc_str(b"k"), checksum=0))
    assert info.value.offset == 9
