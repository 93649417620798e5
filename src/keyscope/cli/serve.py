"""``keyscope serve``: the DCS-compatible API with its task runner and scheduler."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from keyscope.cli import startup

app = typer.Typer()


@app.command()
def serve(
    *,
    host: Annotated[
        str | None,
        typer.Option(
            help="Interface to listen on \\[env var: KEYSCOPE_HOST] \\[default: 127.0.0.1]"
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="TCP port \\[env var: KEYSCOPE_PORT] \\[default: 8080]", min=1, max=65535
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the database, keys and backups "
            "\\[env var: KEYSCOPE_DATA_DIR] \\[default: keyscope-data]"
        ),
    ] = None,
    credentials: Annotated[
        Path | None,
        typer.Option(
            help="Credentials file "
            "\\[env var: KEYSCOPE_CREDENTIALS] \\[default: DATA_DIR/credentials.json]"
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="postgresql://... for scale-out: analyses go to `keyscope worker` processes"
            " \\[env var: KEYSCOPE_DATABASE_URL] \\[default: SQLite in DATA_DIR, run in-process]"
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None,
        typer.Option(help="PEM certificate to serve HTTPS with \\[env var: KEYSCOPE_TLS_CERT]"),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(help="PEM private key of --tls-cert \\[env var: KEYSCOPE_TLS_KEY]"),
    ] = None,
) -> None:
    """Start the DCS-compatible cache-analysis API (SQLite and workers in-process).

    The web console is at /console, the API's interactive docs at /docs.

    Example: keyscope serve --port 8080 --data-dir ./keyscope-data
    """
    import uvicorn

    from keyscope.api.app import create_app, secret_box
    from keyscope.api.credentials import ensure_credentials_file
    from keyscope.api.server import ConnectionLimits, is_loopback, uvicorn_config
    from keyscope.domain.errors import KeyscopeError

    settings = startup.load_settings(
        host=host, port=port, data_dir=data_dir, credentials=credentials,
        database_url=database_url, tls_cert=tls_cert, tls_key=tls_key,
    )  # fmt: skip
    if (settings.tls_cert is None) != (settings.tls_key is None):
        startup.fail("--tls-cert and --tls-key go together: give both or neither")
    for path in (settings.tls_cert, settings.tls_key):
        if path is not None and not path.is_file():
            startup.fail(f"no such file: {path}")
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    first_run = not settings.data_dir.exists()
    lock = startup.hold_data_dir(settings, command="serve")  # held until the process ends
    typer.echo(
        f"{'Created' if first_run else 'Data in'} {settings.data_dir.resolve()}"
        f"{' for the database, keys and backups' if first_run else ''}"
    )
    try:
        store, created = ensure_credentials_file(settings.credentials_path)
    except KeyscopeError as exc:
        startup.fail(exc.message)
    except OSError as exc:
        startup.fail(f"the credentials file could not be written: {exc.strerror}")
    startup.check(lambda: secret_box(settings), "the secrets key could not be read")
    startup.prepare_database(settings)
    if created is not None:
        typer.echo("Created a credential for this keyscope (the secret key stays in the file):")
        typer.echo(f"  access key:  {created.access_key}")
        typer.echo(f"  project id:  {', '.join(sorted(created.projects))}")
        typer.echo(f"  credentials: {settings.credentials_path.resolve()}")
    else:
        typer.echo(
            f"Credentials: {settings.credentials_path.resolve()} ({len(store)} access key(s))"
        )
    if settings.tls_cert is None and not is_loopback(settings.host):
        typer.echo(
            f"keyscope: WARNING: listening on {settings.host} over plain HTTP: signatures and "
            "console tokens cross the network in clear; give --tls-cert and --tls-key",
            err=True,
        )
    where = f"{'https' if settings.tls_cert else 'http'}://{settings.host}:{settings.port}"
    typer.echo(f"Console: {where}/console  API docs: {where}/docs  (Ctrl-C stops)")
    limits = ConnectionLimits(
        header_timeout_s=settings.header_timeout_s,
        body_timeout_s=settings.body_timeout_s,
        keep_alive_s=settings.keep_alive_s,
        max_connections=settings.max_connections,
    )
    config = uvicorn_config(
        create_app(settings), host=settings.host, port=settings.port, limits=limits,
        log_level=settings.log_level.lower(),
        tls_cert=str(settings.tls_cert) if settings.tls_cert else None,
        tls_key=str(settings.tls_key) if settings.tls_key else None,
    )  # fmt: skip
    try:
        uvicorn.Server(config).run()
    except OSError as exc:  # e.g. an unreadable or mismatched certificate, a port in use
        startup.fail(f"cannot serve: {exc.strerror or exc}")
    lock.release()
