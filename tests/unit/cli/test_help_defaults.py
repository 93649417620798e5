"""Every option that has a default says which in its command's ``--help``.

A flag that is off unless given (``--cluster``) has nothing to show; every other option with
a default value, and those whose default is worked out at run time (``None`` in the code,
with the value named in the help text), must show ``[default: ...]``.
"""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from keyscope.cli.main import app


def _walk(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found.extend(_walk(sub, (*path, name)))
    return found


COMMANDS = {path: cmd for path, cmd in _walk(typer.main.get_command(app), ())
            if not hasattr(cmd, "commands")}  # fmt: skip
"""Every leaf command (the groups have no options of their own besides --help)."""

WORKED_OUT = {
    ("analyze", "bigkeys"): {"--max-ops-per-sec"},
    ("analyze", "hotkeys"): {"--max-ops-per-sec"},
    ("analyze", "expire"): {"--max-ops-per-sec"},
    ("serve",): {"--host", "--port", "--data-dir", "--credentials", "--database-url"},
    ("instances", "add"): {"--credentials", "--project"},
    ("instances", "list"): {"--credentials", "--project"},
    ("instances", "show"): {"--credentials", "--project"},
    ("instances", "remove"): {"--credentials", "--project"},
    ("run", "offline"): {"--node", "--backup", "--credentials", "--project"},
    ("worker",): {"--concurrency", "--data-dir"},
}
"""Options whose default (None in the code) is a value the command works out; each names it."""


def _has_default(param: Any) -> bool:
    if param.default is None:
        return False
    return not (param.is_flag and not param.secondary_opts and param.default is False)


def _blocks(help_text: str) -> dict[str, str]:
    """Each option's rows of a rich ``--help``, by its first name."""
    blocks: dict[str, str] = {}
    current: str | None = None
    for line in help_text.splitlines():
        cell = line.strip().strip("│").strip().lstrip("* ").strip()
        if cell.startswith("-"):
            current = cell.split()[0]
            blocks[current] = cell
        elif current is not None and cell and not line.lstrip().startswith(("╰", "╭")):
            blocks[current] += " " + cell
        else:
            current = None
    return blocks


def test_the_walk_finds_the_client_commands_too() -> None:
    assert {("instances", "add"), ("run", "bigkeys"), ("rdb", "report"), ("serve",)} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_option_with_a_default_shows_it(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    blocks = _blocks(result.stdout)
    options = [p for p in COMMANDS[path].params if p.param_type_name == "option"]
    wanted = {p.opts[0] for p in options if _has_default(p)} | WORKED_OUT.get(path, set())
    wanted.discard("--help")

    missing = sorted(name for name in wanted if "[default: " not in blocks.get(name, ""))

    assert wanted <= set(blocks), sorted(wanted - set(blocks))
    assert missing == [], {name: blocks.get(name) for name in missing}
