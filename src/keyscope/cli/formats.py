"""The ``--format`` every command that prints results offers, when to draw progress, and the
rich console that draws tables and bars (rich is imported only then: JSON and CSV go without).

One default for every command: ``auto``, a table when stdout is a terminal and JSON when it
is not (a pipe, a file), so a person reads tables and a script gets JSON without asking.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


class OutputFormat(StrEnum):
    """How a command prints its results: a rich table for people, JSON or CSV for programs."""

    AUTO = "auto"
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


FORMAT_HELP = "Output format; auto: a table on a terminal, JSON otherwise."
"""The help of every ``--format`` option."""


def resolve(fmt: OutputFormat) -> OutputFormat:
    """``fmt``, with ``auto`` made a table on a terminal and JSON when stdout is not one."""
    if fmt is not OutputFormat.AUTO:
        return fmt
    return OutputFormat.TABLE if sys.stdout.isatty() else OutputFormat.JSON


def progress_wanted() -> bool:
    """A progress bar only when a person watches: stdout and stderr both on a terminal."""
    return sys.stdout.isatty() and sys.stderr.isatty()


def console(*, stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr), rich loaded on first use."""
    from rich.console import Console

    return Console(stderr=stderr)
