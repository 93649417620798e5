"""The diff of two RDB files: each streamed once into its counters and its key sketch.

Memory is that of two offline analyses plus two ``KeySketch``es: O(top + prefix capacity
+ sketch size), never O(keys). Every prefix the bounded summary tracked is listed, so the
prefix changes are exact wherever ``prefix_accuracy`` is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from keyscope import defaults
from keyscope.analysis.counting import KeyCounter, OfflineOptions
from keyscope.analysis.diff import diff_offline
from keyscope.analysis.keysketch import KeySketch, overlap
from keyscope.analysis.offline import OfflineReport, report_of

Source = str | Path | BinaryIO
ProgressFn = Callable[[int, int], None]


def count_with_sketch(
    source: Source,
    options: OfflineOptions | None = None,
    *,
    sketch_keys: int = defaults.DIFF_SKETCH_KEYS,
    progress: ProgressFn | None = None,
    every: int = 8192,
) -> tuple[OfflineReport, KeySketch]:
    """The offline report of one file, listing every tracked prefix, and its key sketch."""
    from keyscope.rdb import RdbReader

    opts = options or OfflineOptions()
    opts = replace(opts, top_prefixes=2 * opts.prefix_capacity)
    counter = KeyCounter(opts)
    sketch = KeySketch(sketch_keys)
    reader = RdbReader(source, memory_model=opts.memory_model)
    records = iter(reader)
    while batch := list(islice(records, every)):
        counter.feed(batch)
        sketch.feed(batch)
        if progress is not None:
            progress(counter.keys_seen, reader.bytes_read)
    counter.memory_model = reader.memory_model
    return report_of(counter), sketch


def diff_counted(
    old: tuple[OfflineReport, KeySketch],
    new: tuple[OfflineReport, KeySketch],
    *,
    top: int = defaults.DIFF_TOP,
) -> dict[str, Any]:
    """``diff_offline`` of two files' ``count_with_sketch``, with the keys added and removed."""
    return diff_offline(
        old[0].to_dict(),
        new[0].to_dict(),
        top=top,
        listed_limit=None,
        keys=overlap(old[1], new[1]).to_dict(),
    )


def diff_rdb_files(
    old: Source,
    new: Source,
    options: OfflineOptions | None = None,
    *,
    top: int = defaults.DIFF_TOP,
    sketch_keys: int = defaults.DIFF_SKETCH_KEYS,
) -> dict[str, Any]:
    """The diff of two RDB files or streams; ``RdbFormatError`` if one is corrupt."""
    return diff_counted(
        count_with_sketch(old, options, sketch_keys=sketch_keys),
        count_with_sketch(new, options, sketch_keys=sketch_keys),
        top=top,
    )
