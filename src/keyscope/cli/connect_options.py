"""How a command reaches a Redis: the ACL user, the password kept off the command line, TLS.

One set of options, declared once, for every command that connects (``keyscope analyze``
today, an ``instances add`` later): ``@connection_options`` adds them to a command, which
receives them as one ``connection: ConnectionOptions`` parameter and turns them, with the
URL's own user and password, into an ``Auth`` with ``connection.auth(url_auth)``.

The password comes from exactly one of: the URL, ``--password-stdin``, ``--password-file``;
else from ``KEYSCOPE_REDIS_PASSWORD`` (like redis-cli's ``REDISCLI_AUTH``), so it need not
appear in ``ps``. TLS is on for a ``rediss://`` URL or with ``--tls`` (a command without a
URL has only the flag); the other ``--tls-*`` options need it on.
Only typer and the ``Auth`` value are imported here (the CLI starts fast).
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from keyscope.domain.errors import InvalidInput
from keyscope.redis.auth import NO_AUTH, Auth, Tls

T = TypeVar("T")

PASSWORD_ENV = "KEYSCOPE_REDIS_PASSWORD"
_PANEL = "Connection"
_MAX_FILE_BYTES = 1 << 20


def _option(*names: str, help: str, **kw: Any) -> Any:
    return typer.Option(*names, help=help, rich_help_panel=_PANEL, **kw)


@dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """The values of the connection options of one command line."""

    username: Annotated[
        str | None, _option("--username", help="ACL user to log in as (or user@ in the URL).")
    ] = None
    password_stdin: Annotated[
        bool, _option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False
    password_file: Annotated[
        Path | None,
        _option("--password-file", metavar="FILE", help="Read the password from FILE."),
    ] = None
    tls: Annotated[bool, _option("--tls", help="Connect over TLS (as rediss:// does).")] = False
    tls_ca: Annotated[
        Path | None,
        _option("--tls-ca", metavar="FILE", help="CA certificate(s) to trust (PEM)."),
    ] = None
    tls_cert: Annotated[
        Path | None,
        _option("--tls-cert", metavar="FILE", help="Client certificate (PEM), with --tls-key."),
    ] = None
    tls_key: Annotated[
        Path | None,
        _option("--tls-key", metavar="FILE", help="Client private key (PEM), with --tls-cert."),
    ] = None
    tls_server_name: Annotated[
        str | None,
        _option("--tls-server-name", metavar="NAME", help="Name the server certificates carry."),
    ] = None
    tls_insecure: Annotated[
        bool, _option("--tls-insecure", help="Accept any server certificate (no verification).")
    ] = False

    def auth(self, url_auth: Auth = NO_AUTH) -> Auth:
        """The login: the URL's user, password and scheme (none: ``NO_AUTH``) with these
        options; InvalidInput when they contradict each other or a file cannot be read."""
        if self.username and url_auth.username and self.username != url_auth.username:
            raise InvalidInput("two different users: one in the URL, one in --username")
        return Auth(
            self.username or url_auth.username,
            self._password(url_auth.password),
            self._tls(url_auth),
        )

    def _password(self, in_url: str | None) -> str | None:
        sources = [in_url is not None, self.password_stdin, self.password_file is not None]
        if sum(sources) > 1:
            raise InvalidInput(
                "give the password one way: in the URL, --password-stdin or --password-file"
            )
        if self.password_stdin:
            line = sys.stdin.readline()
            return line.rstrip("\r\n") or None
        if self.password_file is not None:
            lines = _read(self.password_file).splitlines()
            return (lines[0] if lines else "") or None
        return in_url if in_url is not None else (os.environ.get(PASSWORD_ENV) or None)

    def _tls(self, url_auth: Auth) -> Tls | None:
        given = [self.tls_ca, self.tls_cert, self.tls_key, self.tls_server_name]
        if url_auth.tls is None and not self.tls:
            if any(v is not None for v in given) or self.tls_insecure:
                raise InvalidInput("the --tls-* options need TLS: a rediss:// URL or --tls")
            return None
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InvalidInput("--tls-cert and --tls-key go together")
        return Tls(
            ca_cert=_read(self.tls_ca) if self.tls_ca else None,
            client_cert=_read(self.tls_cert) if self.tls_cert else None,
            client_key=_read(self.tls_key) if self.tls_key else None,
            server_name=self.tls_server_name,
            verify=not self.tls_insecure,
        )


def _read(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > _MAX_FILE_BYTES:
        raise InvalidInput(f"{path} is larger than 1 MiB")
    return data.decode("utf-8", "replace")


def connection_options(command: Callable[..., T]) -> Callable[..., T]:
    """Add the connection options to ``command``; it gets them as ``connection``."""
    own = inspect.signature(command, eval_str=True)
    names = [f.name for f in fields(ConnectionOptions)]
    options = inspect.signature(ConnectionOptions, eval_str=True).parameters
    added = [options[name].replace(kind=inspect.Parameter.KEYWORD_ONLY) for name in names]

    @functools.wraps(command)
    def with_connection(*args: Any, **kwargs: Any) -> T:
        values = {name: kwargs.pop(name) for name in names}
        return command(*args, connection=ConnectionOptions(**values), **kwargs)

    kept = [p for p in own.parameters.values() if p.name != "connection"]
    with_connection.__signature__ = own.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
    return with_connection
