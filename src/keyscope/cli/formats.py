"""The ``--format`` every command that prints results offers, and when to draw progress."""

from __future__ import annotations

import sys
from enum import StrEnum


class OutputFormat(StrEnum):
    """How a command prints its results: a rich table for people, JSON or CSV for programs."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def progress_wanted() -> bool:
    """A progress bar only when a person watches: stdout and stderr both on a terminal."""
    return sys.stdout.isatty() and sys.stderr.isatty()
