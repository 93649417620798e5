"""Which command groups the CLI has; each group module owns its commands."""

from __future__ import annotations

import importlib

import typer

_GROUPS: tuple[tuple[str, str | None], ...] = (
    # (module under keyscope.cli, sub-command group name or None for top-level commands)
    ("rdb", "rdb"),
    ("analyze", "analyze"),
    ("serve", None),
    ("worker", None),
)


def register(app: typer.Typer) -> None:
    for module_name, group in _GROUPS:
        module = importlib.import_module(f"keyscope.cli.{module_name}")
        sub: typer.Typer = module.app
        if group is None:
            app.registered_commands.extend(sub.registered_commands)
        else:
            app.add_typer(sub, name=group)
