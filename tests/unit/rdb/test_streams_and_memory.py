"""The reader on a stream it cannot seek, and the allocator arithmetic of the memory model."""

from __future__ import annotations

import subprocess

import pytest

from keyscope.rdb import RdbReader, allocation, iter_records, memory
from tests.utils.corpus import CORPUS

PIPED = ["hdt3213-rdb/memory.rdb", "hdt3213-rdb/issue27.rdb", "dongmx-rdb/linkedlist.rdb"]


@pytest.mark.parametrize("name", PIPED)
def test_a_file_piped_through_a_process_reads_like_the_file_itself(name: str) -> None:
    path = CORPUS / name
    with subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        assert not proc.stdout.seekable()
        reader = RdbReader(proc.stdout)
        piped = list(reader)
    assert piped == list(iter_records(path))
    assert reader.bytes_read == path.stat().st_size


def test_a_system_jemalloc_rounds_up_to_its_16_byte_classes() -> None:
    classes = {1: 8, 8: 8, 9: 16, 17: 32, 128: 128, 129: 160, 161: 192, 257: 320}
    classes |= {1025: 1280, 4096: 4096, 4097: 5120, 70_000: 81_920}
    assert {n: allocation.jemalloc16_size(n) for n in classes} == classes


def test_the_bundled_jemalloc_has_8_byte_classes_up_to_64() -> None:
    classes = {1: 8, 9: 16, 17: 24, 41: 48, 57: 64, 65: 80, 129: 160, 4097: 5120}
    assert {n: allocation.jemalloc_size(n) for n in classes} == classes


def test_glibc_malloc_gives_16_byte_chunks_less_their_header() -> None:
    assert [allocation.libc_size(n) for n in (1, 24, 25, 40, 41)] == [24, 24, 40, 40, 56]


def test_sds_strings_take_the_smallest_header_that_holds_their_length() -> None:
    assert [allocation.sds_header(n) for n in (0, 31, 32, 255, 256, 65535, 65536)] == [
        1, 1, 3, 3, 5, 5, 9,
    ]  # fmt: skip
    # Redis 8 and Valkey count the header and terminator against each type's limit
    assert [allocation.sds_header(n, tight=True) for n in (252, 253, 65530, 65531)] == [3, 5, 5, 9]
    system = memory.MemoryModel("redis-7.0", "jemalloc-16")
    assert system.sds(10) == 16  # 1 header + 10 + NUL = 12, class 16
    assert system.sds(44) == 48  # 3 + 44 + 1
    assert memory.MemoryModel("redis-7.2").sds(10) == 16
    assert memory.MemoryModel("redis-8").sds(10) == 12  # type 5: its requested size counts


def test_a_dict_is_counted_mid_rehash_only_when_few_inserts_followed_its_doubling() -> None:
    assert allocation.dict_slots(1000) == 1024
    assert allocation.dict_slots(513, steps_per_insert=1) == 1024 + 512
    assert allocation.dict_slots(1000, steps_per_insert=1) == 1024
    assert allocation.dict_slots(600, steps_per_insert=2, presized_for=513) == 1024


def test_a_hash_that_outgrew_its_listpack_is_charged_a_presized_table() -> None:
    model = memory.MemoryModel("redis-7.0")
    short = model.hash_table(0, 600, longest=10)
    long_values = model.hash_table(0, 600, longest=100)
    assert long_values - short == 8 * 512  # the old table still being moved


def test_from_redis_7_2_a_bulk_write_past_the_listpack_limit_presizes_the_table() -> None:
    model = memory.MemoryModel("redis-7.2")
    assert model.hash_table(0, 600, longest=100) == model.hash_table(0, 600, longest=10)
    assert model.set_table(0, 300) == 56 + 8 * 512 + 300 * 24  # no rehash in flight
