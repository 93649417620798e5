"""The ``--format`` every command that prints results offers, when to draw progress, and the
rich console that draws tables and bars (rich is imported only then: JSON and CSV go without)."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


class OutputFormat(StrEnum):
    """How a command prints its results: a rich table for people, JSON or CSV for programs."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def progress_wanted() -> bool:
    """A progress bar only when a person watches: stdout and stderr both on a terminal."""
    return sys.stdout.isatty() and sys.stderr.isatty()


def console(*, stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr), rich loaded on first use."""
    from rich.console import Console

    return Console(stderr=stderr)
