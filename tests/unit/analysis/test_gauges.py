"""The per-instance gauges of ``/metrics`` (``analysis/gauges.py``): bounded, escaped."""

from __future__ import annotations

from keyscope.analysis.gauges import PREFIX_GAUGES, render_samples, result_gauges


def test_prefix_gauges_are_the_top_by_bytes_and_skip_overlong_prefixes() -> None:
    prefixes = [{"key_prefix": f"p{i}", "type": "string", "bytes": i, "num": 1}
                for i in range(50)]  # fmt: skip
    prefixes.append({"key_prefix": "x" * 500, "type": "hash", "bytes": 10**9, "num": 1})
    samples = result_gauges("i1", "offline", {"largest_key_prefixes": prefixes})
    published = [dict(s.labels)["prefix"] for s in samples
                 if s.name == "keyscope_instance_prefix_bytes"]  # fmt: skip
    assert published == [f"p{i}" for i in range(49, 49 - PREFIX_GAUGES, -1)]


def test_big_keys_are_counted_per_type_with_zero_for_the_types_without_any() -> None:
    keys = [{"name": "secret-name", "type": "list"}, {"name": "b", "type": "list"}]
    samples = result_gauges("i1", "bigkey", {"keys": keys})
    counts = {dict(s.labels)["type"]: s.value for s in samples}
    assert counts == {"string": 0, "list": 2, "set": 0, "zset": 0, "hash": 0}
    assert "secret-name" not in "\n".join(render_samples(samples))


def test_label_values_are_escaped_for_the_text_format() -> None:
    prefixes = [{"key_prefix": 'a"b\\c\nd', "type": "string", "bytes": 5, "num": 1}]
    lines = render_samples(result_gauges("i1", "offline", {"largest_key_prefixes": prefixes}))
    assert 'prefix="a\\"b\\\\c\\nd"' in "\n".join(lines)
