"""``keyscope worker``: run queued analyses in scale-out mode (PostgreSQL + Procrastinate)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from pathlib import Path
from typing import Annotated, Any

import typer

from keyscope.settings import Settings

app = typer.Typer()


def _settings(**given: Any) -> Settings:
    return Settings(**{k: v for k, v in given.items() if v is not None})


@app.command()
def worker(
    database_url: Annotated[
        str | None,
        typer.Option(help="PostgreSQL URL, postgresql://... (env KEYSCOPE_DATABASE_URL)"),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(help="Analyses run at once (env KEYSCOPE_WORKERS; default 2)", min=1),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder for the secrets key and backups (env KEYSCOPE_DATA_DIR)"),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Report the health of the fleet and exit")
    ] = False,
) -> None:
    """Execute the analyses the API processes queue (scale-out mode).

    Example: keyscope worker --database-url postgresql://keyscope@db/keyscope
    """
    settings = _settings(database_url=database_url, workers=concurrency, data_dir=data_dir)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not settings.scale_out:
        typer.echo(
            "keyscope: a worker needs PostgreSQL: set KEYSCOPE_DATABASE_URL or --database-url",
            err=True,
        )
        raise typer.Exit(2)
    if check:
        raise typer.Exit(_check(settings))
    _run(settings)


def _check(settings: Settings) -> int:
    from keyscope.store.db import make_engine
    from keyscope.tasks.health import fleet_health

    engine = make_engine(settings.database_url_value())
    try:
        report = fleet_health(engine, stall_after_s=settings.stall_after_s)
    finally:
        engine.dispose()
    for line in report.lines():
        typer.echo(line)
    return 0 if report.healthy else 1


def _run(settings: Settings) -> None:
    from sqlalchemy.exc import OperationalError

    from keyscope.api.app import secret_box
    from keyscope.domain.scan import ScanOptions
    from keyscope.redis import allowlist
    from keyscope.redis.allowlist import parse_networks
    from keyscope.store.db import make_engine, make_session_factory
    from keyscope.tasks import queue
    from keyscope.tasks.runner import RunnerConfig, TaskRunner
    from keyscope.tasks.worker import Worker, WorkerConfig, load_executors

    url = settings.database_url_value()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        queue.prepare_database(engine, url, attempts=settings.db_connect_attempts)
    except OperationalError as exc:
        # The class only: the driver's message could quote the connection string.
        typer.echo(f"keyscope: the database did not answer ({type(exc.orig).__name__})", err=True)
        raise typer.Exit(1) from None
    factory = make_session_factory(engine)
    box = secret_box(settings)
    networks = settings.allowed_networks
    allowlist.configure(parse_networks(networks) if networks is not None else None)
    load_executors()
    config = RunnerConfig(
        workers=settings.workers,
        options=ScanOptions(max_ops_per_sec=settings.max_ops_per_sec),
        data_dir=settings.data_dir,
        backups_dir=settings.backups_path,
    )
    dispatcher = queue.QueueDispatcher(factory, queue.sync_app(url, max_size=2))
    runner = TaskRunner(factory, config, decrypt=box.decrypt, dispatcher=dispatcher)
    runner.start()
    name = f"{socket.gethostname()}-{os.getpid()}"
    process = Worker(
        factory,
        runner,
        url,
        WorkerConfig(concurrency=settings.workers, stall_after_s=settings.stall_after_s),
    )
    typer.echo(f"keyscope worker {name}: {settings.workers} at once, queue {queue.QUEUE}")
    try:
        asyncio.run(process.run(name=name))
    finally:
        runner.shutdown()
        engine.dispose()
