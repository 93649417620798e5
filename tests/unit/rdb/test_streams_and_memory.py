"""The reader on a stream it cannot seek, and the allocator arithmetic of the memory model."""

from __future__ import annotations

import subprocess

import pytest

from keyscope.rdb import RdbReader, iter_records, memory
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


def test_jemalloc_size_classes_round_up_to_the_next_class() -> None:
    classes = {1: 8, 8: 8, 9: 16, 17: 32, 128: 128, 129: 160, 161: 192, 257: 320}
    classes |= {1025: 1280, 4096: 4096, 4097: 5120, 70_000: 81_920}
    assert {n: memory.jemalloc_size(n) for n in classes} == classes


def test_sds_strings_take_the_smallest_header_that_holds_their_length() -> None:
    assert [memory.sds_header(n) for n in (0, 31, 32, 255, 256, 65535, 65536)] == [
        1, 1, 3, 3, 5, 5, 9,
    ]  # fmt: skip
    assert memory.sds_size(10) == 16  # 1 header + 10 + NUL = 12, class 16
    assert memory.sds_size(44) == 48  # 3 + 44 + 1


def test_a_dict_is_counted_mid_rehash_only_when_few_inserts_followed_its_doubling() -> None:
    assert memory.dict_slots(1000) == 1024
    assert memory.dict_slots(513, steps_per_insert=1) == 1024 + 512
    assert memory.dict_slots(1000, steps_per_insert=1) == 1024
    assert memory.dict_slots(600, steps_per_insert=2, presized_for=513) == 1024


def test_a_hash_that_outgrew_its_listpack_is_charged_a_presized_table() -> None:
    short = memory.hash_hashtable(0, 600, longest=10)
    long_values = memory.hash_hashtable(0, 600, longest=100)
    assert long_values - short == 8 * 512  # the old table still being moved
