"""The options of every command that talks to a running keyscope, and their one-line failures.

``@remote_options`` adds ``--endpoint``, ``--credentials`` and ``--project`` to a command,
which receives them as one ``remote: RemoteOptions`` and opens a signed ``Client`` with
``remote.client()``; a ``ClientError`` anywhere in the command becomes one line on stderr
and exit code 1 (2 for a bad endpoint or credentials file: bad usage).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from keyscope.cli.client import (
    CREDENTIALS_ENV,
    DEFAULT_ENDPOINT,
    ENDPOINT_ENV,
    Client,
    ClientError,
    default_credentials_path,
    load_credential,
)

T = TypeVar("T")
_PANEL = "keyscope service"


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"keyscope: {message}", err=True)
    raise typer.Exit(code)


@dataclass(frozen=True, slots=True)
class RemoteOptions:
    """Where the keyscope is and which credential signs the calls."""

    endpoint: Annotated[
        str,
        typer.Option(
            "--endpoint",
            envvar=ENDPOINT_ENV,
            metavar="URL",
            help="The keyscope to talk to.",
            rich_help_panel=_PANEL,
        ),
    ] = DEFAULT_ENDPOINT
    credentials: Annotated[
        str | None,  # text, not Path: Typer converts a Path with pydantic (see cli/coercion.py)
        typer.Option(
            "--credentials",
            metavar="FILE",
            help=f"Credentials file to sign with \\[env var: {CREDENTIALS_ENV}] \\[default: "
            "$KEYSCOPE_DATA_DIR/credentials.json, KEYSCOPE_DATA_DIR defaulting to keyscope-data].",
            rich_help_panel=_PANEL,
        ),
    ] = None
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            metavar="ID",
            help="Project to act on \\[default: the first credential's first project].",
            rich_help_panel=_PANEL,
        ),
    ] = None

    def client(self) -> Client:
        """A client signing with the chosen credential; exits 2 when it cannot be set up."""
        path = Path(self.credentials) if self.credentials else default_credentials_path()
        try:
            return Client(self.endpoint, load_credential(path, self.project))
        except ClientError as exc:
            fail(exc.message, 2)


def remote_options(command: Callable[..., T]) -> Callable[..., T]:
    """Add the service options to ``command``; it gets them as ``remote``, and a ClientError
    it raises becomes one line on stderr."""
    own = inspect.signature(command, eval_str=True)
    names = [f.name for f in fields(RemoteOptions)]
    options = inspect.signature(RemoteOptions, eval_str=True).parameters
    added = [options[name].replace(kind=inspect.Parameter.KEYWORD_ONLY) for name in names]

    @functools.wraps(command)
    def with_remote(*args: Any, **kwargs: Any) -> T:
        values = {name: kwargs.pop(name) for name in names}
        try:
            return command(*args, remote=RemoteOptions(**values), **kwargs)
        except ClientError as exc:
            fail(exc.message)

    kept = [p for p in own.parameters.values() if p.name != "remote"]
    with_remote.__signature__ = own.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
    return with_remote
