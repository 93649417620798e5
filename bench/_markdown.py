"""Rewriting one benchmark's section of BENCHMARKS.md, shared by the bench scripts."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, start: str, end: str, section: str) -> None:
    """Put ``section`` (which carries its own markers) between ``start`` and ``end``,
    or append it when the file has no such section yet."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
