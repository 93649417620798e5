"""``keyscope analyze``: the online analyses against a live server, without the service.

``analyze bigkeys|hotkeys|expire redis[s]://[[user]:password@]host:port [--cluster]`` runs
the same engine function the service runs and prints the same records (JSON field names as
DCS). The connection options (``--username``, ``--password-stdin``, ``--password-file``,
``--tls-*``) are those of ``connect_options``. A progress bar is drawn on stderr only when
stdout and stderr are terminals. Exit codes: 0 done, 1 the analysis failed (one line on
stderr), 2 bad usage.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from keyscope import defaults
from keyscope.cli.connect_options import ConnectionOptions, connection_options
from keyscope.cli.formats import FORMAT_HELP, OutputFormat, console, progress_wanted, resolve
from keyscope.domain.errors import InvalidInput, KeyscopeError
from keyscope.domain.keys import BigKey, HotKey, HotKeyReport, LfuFloor, key_record
from keyscope.domain.scan import Progress as ProgressCallback
from keyscope.domain.scan import ScanOptions
from keyscope.domain.topology import InstanceMode, Topology
from keyscope.redis.auth import Auth
from keyscope.redis.connection import parse_url
from keyscope.redis.topology import discover

app = typer.Typer(
    help="Analyse a live Redis or Valkey: big keys, hot keys, expired keys.\n\n"
    "Example: keyscope analyze bigkeys redis://10.0.0.5:6379 --format table",
    no_args_is_help=True,
)

T = TypeVar("T")


UrlArg = Annotated[
    str,
    typer.Argument(
        help="redis://user:password@host:port of a node (user and password optional); "
        "rediss:// for TLS."
    ),
]
ClusterOpt = Annotated[
    bool, typer.Option("--cluster", help="The node belongs to a Redis Cluster: scan every shard.")
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help=FORMAT_HELP)]
RateOpt = Annotated[
    int | None,
    typer.Option(
        "--max-ops-per-sec",
        min=1,
        help=f"Per-node ceiling of commands per second \\[default: {defaults.MAX_OPS_PER_SEC}].",
    ),
]
UnthrottledOpt = Annotated[
    bool, typer.Option("--unthrottled", help="No ceiling on commands per second.")
]
CountOpt = Annotated[int, typer.Option("--scan-count", min=1, help="SCAN COUNT per page.")]
ReplicaOpt = Annotated[
    bool,
    typer.Option("--replicas/--no-replicas", help="Read replicas where they exist (as DCS does)."),
]


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"keyscope: {message}", err=True)
    raise typer.Exit(code)


def _options(
    max_ops: int | None, unthrottled: bool, scan_count: int, replicas: bool = True
) -> ScanOptions:
    rate = None if unthrottled else (max_ops or defaults.MAX_OPS_PER_SEC)
    return ScanOptions(scan_count=scan_count, max_ops_per_sec=rate, use_replicas=replicas)


def _topology(url: str, mode: InstanceMode, connection: ConnectionOptions) -> tuple[Topology, Auth]:
    try:
        endpoint = parse_url(url)
        auth = connection.auth(endpoint.auth)
    except InvalidInput as exc:
        _fail(exc.message, 2)
    try:
        return discover(mode, [endpoint.address], auth), auth
    except InvalidInput as exc:
        _fail(exc.message, 2)
    except KeyscopeError as exc:
        _fail(exc.message)


@contextlib.contextmanager
def _progress(label: str) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on stderr when a person watches (see progress_wanted); else nothing."""
    if not progress_wanted():
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from keyscope.cli.progress_columns import KeysPerSecondColumn

    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), KeysPerSecondColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(keys_scanned: int, keys_total: int | None) -> None:
            bar.update(task, completed=keys_scanned, total=keys_total)

        yield update


def _run(label: str, work: Callable[[ProgressCallback | None], T]) -> T:
    with _progress(label) as progress:
        try:
            return work(progress)
        except KeyscopeError as exc:
            _fail(exc.message)


COLUMNS = ("name", "name_base64", "type", "shard", "db", "size", "unit", "freq", "node",
           "cpu_share", "net_share")  # fmt: skip
"""Record fields in the order the table and CSV show them (those no record has are left out)."""

_NUMERIC = ("db", "size", "freq", "cpu_share", "net_share")


def _cell(column: str, value: Any) -> Any:
    if value is not None and column.endswith("_share"):
        return f"{value:.1%}"
    return value


def _print_keys(
    keys: list[BigKey] | list[HotKey], fmt: OutputFormat, title: str, caption: str | None = None
) -> None:
    print_key_records([key_record(k) for k in keys], fmt, title, caption)


def print_key_records(
    records: list[dict[str, Any]], fmt: OutputFormat, title: str, caption: str | None = None
) -> None:
    """Key records (DCS field names) as JSON, CSV or a table: what the analyses print."""
    fmt = resolve(fmt)
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    present = [c for c in COLUMNS if any(c in r for r in records)] or list(COLUMNS[:7])
    if fmt is OutputFormat.CSV:
        from keyscope.domain import csvcells

        # The base64 column always: a neutralised formula cell needs it (domain/csvcells.py).
        columns = [c for c in COLUMNS if c in present or c == "name_base64"]
        writer = csvcells.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(csvcells.record_row(r, columns) for r in records)
        return
    present = [c for c in present if c != "name_base64"]  # the table shows the escaped name
    from keyscope.cli import tables

    rows = [[_cell(c, r.get(c)) for c in present] for r in records]
    console().print(
        tables.table(f"{title} ({len(records):,})", present, rows, right=_NUMERIC, caption=caption)
    )


def measured_caption(measured: dict[str, Any] | None) -> str:
    """The caption of hot keys from a task's ``measured`` field (as the API gives it)."""
    m = measured or {}
    lfu = tuple(
        LfuFloor(f["node"], f["lfu_log_factor"], f["lfu_decay_time"], f["min_freq"],
                 f["from_server"])
        for f in m.get("lfu") or []
    )  # fmt: skip
    report = HotKeyReport([], m.get("min_accesses"), lfu, m.get("window_s"), m.get("min_share"),
                          tuple(m.get("tracked_nodes") or ()))  # fmt: skip
    return _measured(report)


def _measured(report: HotKeyReport) -> str:
    """How the hot keys were told apart, for the table's caption."""
    parts = [
        f"{f.node}: counters from {f.min_freq} (~{report.min_accesses} accesses at "
        f"lfu-log-factor {f.log_factor}, -1 per {f.decay_time} idle min)"
        for f in report.lfu
    ]
    if report.tracked_nodes:
        parts.append(
            f"HOTKEYS {report.window_s} s on {', '.join(report.tracked_nodes)}: "
            f"from {report.min_share:.0%} of the network bytes"
        )
    return "; ".join(parts)


@app.command("bigkeys")
@connection_options
def bigkeys(
    url: UrlArg,
    *,
    connection: ConnectionOptions,
    cluster: ClusterOpt = False,
    fmt: FormatOpt = OutputFormat.AUTO,
    max_ops: RateOpt = None,
    unthrottled: UnthrottledOpt = False,
    scan_count: CountOpt = defaults.SCAN_COUNT,
    replicas: ReplicaOpt = True,
) -> None:
    """Big keys of every shard, by the DCS rules (strings over 10 KB, collections over 5,000).

    Example: keyscope analyze bigkeys rediss://ks@10.0.0.5:6380 --tls-ca ca.pem --password-stdin
    """
    from keyscope.analysis.bigkeys import find_bigkeys

    mode = InstanceMode.CLUSTER if cluster else InstanceMode.SINGLE
    topology, auth = _topology(url, mode, connection)
    options = _options(max_ops, unthrottled, scan_count, replicas)
    keys = _run("big keys", lambda p: find_bigkeys(topology, auth, options, progress=p))
    _print_keys(keys, fmt, "Big keys")


@app.command("hotkeys")
@connection_options
def hotkeys(
    url: UrlArg,
    *,
    connection: ConnectionOptions,
    cluster: ClusterOpt = False,
    fmt: FormatOpt = OutputFormat.AUTO,
    max_ops: RateOpt = None,
    unthrottled: UnthrottledOpt = False,
    scan_count: CountOpt = defaults.SCAN_COUNT,
    replicas: ReplicaOpt = True,
    min_accesses: Annotated[
        int,
        typer.Option(
            "--min-accesses",
            min=1,
            help="LFU floor: a key is hot from the counter this many accesses reach on average.",
        ),
    ] = defaults.HOTKEY_MIN_ACCESSES,
    window: Annotated[
        int,
        typer.Option(
            "--window",
            min=1,
            max=defaults.HOTKEYS_WINDOW_MAX_S,
            help="Seconds of the server's own HOTKEYS tracking, where it has the command.",
        ),
    ] = defaults.HOTKEYS_WINDOW_S,
    min_share: Annotated[
        float,
        typer.Option(
            "--min-share",
            min=0.0001,
            max=1.0,
            help="HOTKEYS floor: the least share (0-1) of the window's network bytes.",
        ),
    ] = defaults.HOTKEY_MIN_SHARE,
) -> None:
    """Hot keys of every node (master and replicas): LFU counters and, on Redis 8.6+, HOTKEYS.

    Needs maxmemory-policy allkeys-lfu or volatile-lfu, or a server with the HOTKEYS command.
    Example: keyscope analyze hotkeys redis://10.0.0.5:6379 --cluster --format json
    """
    from keyscope.analysis.hotkeys import find_hotkeys

    mode = InstanceMode.CLUSTER if cluster else InstanceMode.HA  # HA: replicas serve reads too
    topology, auth = _topology(url, mode, connection)
    options = dataclasses.replace(
        _options(max_ops, unthrottled, scan_count, replicas),
        hotkey_min_accesses=min_accesses,
        hotkeys_window_s=window,
        hotkey_min_share=min_share,
    )
    report = _run("hot keys", lambda p: find_hotkeys(topology, auth, options, progress=p))
    _print_keys(report.keys, fmt, "Hot keys", _measured(report))


@app.command("expire")
@connection_options
def expire(
    url: UrlArg,
    *,
    connection: ConnectionOptions,
    cluster: ClusterOpt = False,
    fmt: FormatOpt = OutputFormat.AUTO,
    max_ops: RateOpt = None,
    unthrottled: UnthrottledOpt = False,
    scan_count: CountOpt = defaults.SCAN_COUNT,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=0, help="Stop after this many seconds.")
    ] = None,
) -> None:
    """Reclaim expired keys with SCAN on every master; print how many went, how many were seen.

    Example: keyscope analyze expire redis://10.0.0.5:6379 --max-ops-per-sec 5000
    """
    from keyscope.analysis.expire import scan_expired

    mode = InstanceMode.CLUSTER if cluster else InstanceMode.HA
    topology, auth = _topology(url, mode, connection)
    options = _options(max_ops, unthrottled, scan_count)
    result = _run(
        "expired keys",
        lambda p: scan_expired(topology, auth, options, timeout_s=timeout, progress=p),
    )
    print_expire({"num": result.expired_keys, "scanned_keys": result.scanned_keys}, fmt)


def print_expire(record: dict[str, Any], fmt: OutputFormat) -> None:
    """What an expired-key scan reclaimed (``num``) and walked (``scanned_keys``, None where
    the scan did not say)."""
    fmt = resolve(fmt)
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps(record))
        return
    if fmt is OutputFormat.CSV:
        from keyscope.domain import csvcells

        csvcells.writer(sys.stdout).writerows(
            [("num", "scanned_keys"), (record["num"], record.get("scanned_keys"))]
        )
        return
    from keyscope.cli import tables

    row = (record["num"], record.get("scanned_keys"))
    headers = ("expired keys reclaimed", "keys scanned")
    console().print(tables.table("Expired-key scan", headers, [row], right=headers))
