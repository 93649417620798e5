"""Which command groups the CLI has; each group module owns its commands.

Only the group named on the command line is imported (all of them for ``--help`` or
anything unknown): ``keyscope rdb report`` then starts without loading the service's
database and web stack, which takes longer than reading a small RDB file.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

_GROUPS: tuple[tuple[str, str | None], ...] = (
    # (module under keyscope.cli, sub-command group name or None for top-level commands)
    ("rdb", "rdb"),
    ("analyze", "analyze"),
    ("instances", "instances"),
    ("run", "run"),
    ("serve", None),
    ("worker", None),
)


def _wanted(argv: Sequence[str]) -> set[str]:
    """The modules the command line needs: the one its first word names, else every one."""
    modules = {module_name for module_name, _ in _GROUPS}
    first = argv[1] if len(argv) > 1 else None
    return {first} if first in modules else modules


def register(app: typer.Typer, argv: Sequence[str] | None = None) -> None:
    wanted = _wanted(sys.argv if argv is None else argv)
    for module_name, group in _GROUPS:
        if module_name not in wanted:
            continue
        module = importlib.import_module(f"keyscope.cli.{module_name}")
        sub: typer.Typer = module.app
        if group is None:
            app.registered_commands.extend(sub.registered_commands)
        else:
            app.add_typer(sub, name=group)
