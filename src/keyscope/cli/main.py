"""The ``keyscope`` command: one Typer app; each command group lives in its own module."""

from __future__ import annotations

import typer

from keyscope import __version__
from keyscope.cli import coercion

coercion.install()  # before any command parses: plain values without pydantic

app = typer.Typer(
    name="keyscope",
    help="Cache analysis for Redis and Valkey: big keys, hot keys, expired keys, RDB reports."
    "\n\nExit codes: 0 ok, 1 analysis failed, 2 bad usage."
    "\n\nExample: keyscope rdb report dump.rdb --format table",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"keyscope {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """keyscope: cache analysis for Redis and Valkey."""


def _register() -> None:
    # Imported here so that each group module can import ``app`` helpers without a cycle.
    from keyscope.cli import commands

    commands.register(app)


_register()
