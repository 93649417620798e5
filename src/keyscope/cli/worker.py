"""``keyscope worker``: run queued analyses in scale-out mode (PostgreSQL + Procrastinate)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from keyscope.cli import startup
from keyscope.cli.formats import FORMAT_HELP, OutputFormat, resolve

if TYPE_CHECKING:
    from keyscope.settings import Settings
    from keyscope.tasks.health import FleetHealth

app = typer.Typer()


@app.command()
def worker(
    database_url: Annotated[
        str | None,
        typer.Option(help="PostgreSQL URL, postgresql://... (env KEYSCOPE_DATABASE_URL)"),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            help="Analyses run at once \\[env var: KEYSCOPE_WORKERS] \\[default: 2]", min=1
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the secrets key and backups "
            "\\[env var: KEYSCOPE_DATA_DIR] \\[default: keyscope-data]"
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Report the health of the fleet and exit")
    ] = False,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help=f"Of --check: {FORMAT_HELP}")
    ] = OutputFormat.AUTO,
) -> None:
    """Execute the analyses the API processes queue (scale-out mode).

    --check exits 0 when the fleet is healthy, 1 when it is not.

    Example: keyscope worker --database-url postgresql://keyscope@db/keyscope

    Example: keyscope worker --check --format json
    """
    settings = startup.load_settings(
        database_url=database_url, workers=concurrency, data_dir=data_dir
    )
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
        raise typer.Exit(_check(settings, fmt))
    lock = startup.hold_data_dir(settings, command="worker")  # held until the process ends
    try:
        _run(settings)
    finally:
        lock.release()


def _check(settings: Settings, fmt: OutputFormat) -> int:
    from keyscope.store.db import make_engine
    from keyscope.tasks.health import fleet_health

    engine = make_engine(settings.database_url_value())
    try:
        report = fleet_health(engine, stall_after_s=settings.stall_after_s)
    finally:
        engine.dispose()
    _print_health(report, resolve(fmt))
    return 0 if report.healthy else 1


def _print_health(report: FleetHealth, fmt: OutputFormat) -> None:
    fields: dict[str, Any] = {**asdict(report), "healthy": report.healthy}
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps(fields, indent=2))
    elif fmt is OutputFormat.CSV:
        jobs = fields.pop("jobs")
        fields.update({f"jobs_{status}": n for status, n in sorted(jobs.items())})
        from keyscope.domain import csvcells

        writer = csvcells.writer(sys.stdout)
        writer.writerow(fields)
        writer.writerow([csvcells.cell(v) for v in fields.values()])
    else:
        table = Table(title="keyscope fleet", show_header=False, title_justify="left")
        for line in report.lines():
            name, _, value = line.partition(":")
            table.add_row(name, value.strip())
        Console().print(table)


def _run(settings: Settings) -> None:
    from sqlalchemy.exc import OperationalError

    from keyscope.api.app import secret_box
    from keyscope.redis import allowlist
    from keyscope.redis.allowlist import parse_networks
    from keyscope.store.db import make_engine, make_session_factory
    from keyscope.tasks import queue
    from keyscope.tasks.runner import RunnerConfig, TaskRunner
    from keyscope.tasks.worker import Worker, WorkerConfig, load_executors

    url = settings.database_url_value()
    engine = make_engine(url)
    try:
        queue.prepare_database(engine, url, attempts=settings.db_connect_attempts)
    except OperationalError as exc:
        # The class only: the driver's message could quote the connection string.
        typer.echo(f"keyscope: the database did not answer ({type(exc.orig).__name__})", err=True)
        raise typer.Exit(1) from None
    factory = make_session_factory(engine)
    startup.check(lambda: secret_box(settings), "the secrets key could not be read")
    box = secret_box(settings)
    networks = settings.allowed_networks
    allowlist.configure(parse_networks(networks) if networks is not None else None)
    load_executors()
    config = RunnerConfig(
        workers=settings.workers,
        options=settings.scan_options(),
        data_dir=settings.data_dir,
        backups_dir=settings.backups_path,
        analysis_deadline_s=settings.analysis_deadline_s,
        backup_deadline_s=settings.backup_deadline_s,
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
