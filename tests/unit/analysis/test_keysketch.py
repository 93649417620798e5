"""The key sketch of ``rdb diff``: exact while both sides fit it, close beyond."""

from __future__ import annotations

from keyscope.analysis.keysketch import KeySketch, overlap
from keyscope.domain.keys import KeyRecord


def _records(names: range, db: int = 0, prefix: str = "k") -> list[KeyRecord]:
    return [KeyRecord(db, f"{prefix}:{i}".encode(), "string", "raw", None, 1, 1, 50)
            for i in names]  # fmt: skip


def _sketch(records: list[KeyRecord], k: int) -> KeySketch:
    sketch = KeySketch(k)
    sketch.feed(records)
    return sketch


def test_overlap_is_exact_while_both_sides_fit_the_sketch() -> None:
    old = _sketch(_records(range(0, 1000)), 4096)
    new = _sketch(_records(range(400, 1500)), 4096)
    got = overlap(old, new)
    assert (got.added, got.removed, got.kept, got.exact) == (500, 400, 600, True)


def test_the_same_name_in_another_db_is_another_key() -> None:
    old = _sketch(_records(range(100), db=0), 1024)
    new = _sketch(_records(range(100), db=1), 1024)
    assert overlap(old, new)[:3] == (100, 100, 0)


def test_beyond_the_sketch_the_overlap_is_estimated_within_a_few_percent() -> None:
    old = _sketch(_records(range(0, 60_000)), 2048)
    new = _sketch(_records(range(20_000, 100_000)), 2048)
    got = overlap(old, new)
    assert got.exact is False
    assert got.added - got.removed == 40_000 - 20_000  # both counts are exact
    assert abs(got.kept - 40_000) <= 0.1 * 40_000
