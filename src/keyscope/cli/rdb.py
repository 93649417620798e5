"""``keyscope rdb``: the offline analysis of an RDB file, and its key records, without a server.

``rdb report`` prints the same report the API stores (its JSON is that very object);
``rdb keys`` streams one record per key. A progress bar is drawn on stderr only when
stdout and stderr are terminals, so piped output carries nothing but the data. Exit codes:
0 done, 1 the file could not be analysed (one line on stderr, with the byte offset of a
format error), 2 bad usage.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO, TextIO

import typer

from keyscope import defaults
from keyscope.analysis.offline import OfflineOptions, OfflineReport, analyze_rdb
from keyscope.cli.formats import FORMAT_HELP, OutputFormat, console, progress_wanted, resolve
from keyscope.domain.errors import KeyscopeError

if TYPE_CHECKING:
    from rich.console import RenderableType

    from keyscope.rdb.memory import MemoryModel

app = typer.Typer(
    help="Analyse RDB files offline: full report, or every key as a record.\n\n"
    "Example: keyscope rdb report dump.rdb --format table"
)


class KeysFormat(StrEnum):
    """``jsonl`` and ``csv`` stream (the compiled writer where built); ``json`` prints one
    document; ``table`` the first rows and how many more there are; ``auto`` a table on a
    terminal, JSON lines otherwise."""

    AUTO = "auto"
    JSONL = "jsonl"
    CSV = "csv"
    JSON = "json"
    TABLE = "table"


FileArg = Annotated[str, typer.Argument(metavar="FILE", help="RDB file, or - for standard input.")]


@contextlib.contextmanager
def _open(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = Path(path).open("rb")  # noqa: SIM115  (closed below)
    except OSError as exc:
        _fail(f"cannot open {path}: {exc.strerror or exc}")
    with handle:
        yield handle


def _fail(message: str) -> None:
    typer.echo(f"keyscope: {message}", err=True)
    raise typer.Exit(1)


@contextlib.contextmanager
def _progress(source: BinaryIO) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing a bar on stderr when a person watches, else None."""
    if not progress_wanted():
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from keyscope.cli.progress_columns import KeysPerSecondColumn

    total: int | None = None
    with contextlib.suppress(OSError, ValueError):
        total = os.fstat(source.fileno()).st_size or None
    columns = (
        TextColumn("reading"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[keys]:,} keys"),
        KeysPerSecondColumn("keys"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("rdb", total=total, keys=0)

        def update(keys: int, bytes_read: int) -> None:
            bar.update(task, completed=bytes_read, keys=keys)

        yield update


def _csv_report(report: OfflineReport, out: TextIO) -> None:
    from keyscope.domain.csvcells import name_cells, text_cell, writer

    rows = writer(out)
    rows.writerow(["section", "name", "name_base64", "type", "db", "bytes", "num"])
    rows.writerow(["total", "", "", "", "", report.total_bytes, report.total_num])
    for tb, tn in zip(report.type_bytes, report.type_num, strict=True):
        rows.writerow(["type", "", "", tb.type, "", tb.bytes, tn.num])
    for k in report.largest_keys:
        name, b64 = name_cells(k.key, k.key_base64)
        rows.writerow(["largest_key", name, b64, k.type, k.db, k.bytes, k.num_of_elem])
    for p in report.largest_key_prefixes:
        name, b64 = name_cells(p.key_prefix, p.key_prefix_base64)
        rows.writerow(["key_prefix", name, b64, p.type, "", p.bytes, p.num])
    for t in report.ttl_distribution:
        rows.writerow(["ttl", t.bucket, "", "", "", t.bytes, t.num])
    for d in report.db_stats:
        rows.writerow(["db", "", "", "", d.db, d.bytes, d.num])
    for r in report.recommendations:  # bytes: the estimated saving; num: the keys affected
        rows.writerow(["recommendation", text_cell(r.title), "", r.type or "", "",
                       r.bytes_saved, r.keys_affected])  # fmt: skip


def _table(
    title: str, headers: tuple[str, ...], rows: Sequence[tuple[object, ...]]
) -> RenderableType:
    """A report table through the one table renderer; whole-number columns right-aligned."""
    from keyscope.cli import tables

    right = [h for i, h in enumerate(headers)
             if rows and all(isinstance(r[i], int) for r in rows)]  # fmt: skip
    return tables.table(title, headers, rows, right=right)


@app.command("report")
def report_command(
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE",
            help="RDB file (- for standard input); several: one per shard, merged.",
        ),
    ],
    *,
    fmt: Annotated[OutputFormat, typer.Option("--format", help=FORMAT_HELP)] = OutputFormat.AUTO,
    top: Annotated[int, typer.Option(min=0, help="Largest keys to list.")] = (
        defaults.OFFLINE_TOP_KEYS
    ),
    prefix_top: Annotated[int, typer.Option(min=0, help="Prefixes to list per type.")] = (
        defaults.OFFLINE_TOP_PREFIXES
    ),
    delimiters: Annotated[str, typer.Option(help="Characters that cut prefixes.")] = (
        defaults.PREFIX_DELIMITERS
    ),
    html_out: Annotated[
        Path | None,
        typer.Option("--html", help="Also write one self-contained HTML page with charts here."),
    ] = None,
    memory_model: MemoryModelOption = None,
    cluster_bound: Annotated[
        bool,
        typer.Option(help="The keyspace is to move to a cluster: flag keys outside db 0."),
    ] = False,
) -> None:
    """Print the offline analysis report of an RDB file, or the cluster-wide report of
    several (one per shard: keys by shard, prefixes summed, skew by shard, slot and hash tag).

    Example: keyscope rdb report dump.rdb --format table --html report.html
    """
    if not delimiters:
        raise typer.BadParameter("give at least one delimiter", param_hint="--delimiters")
    if len(files) > 1 and "-" in files:
        raise typer.BadParameter("standard input (-) can only be read alone", param_hint="FILE")
    options = OfflineOptions(
        top_keys=top,
        top_prefixes=prefix_top,
        delimiters=delimiters,
        memory_model=_memory_model(memory_model),
        cluster_bound=cluster_bound,
    )
    if len(files) > 1:
        _cluster_report(files, options, fmt, html_out)
        return
    (file,) = files
    with _open(file) as source, _progress(source) as progress:
        try:
            report = analyze_rdb(source, options, progress=progress)
        except KeyscopeError as exc:
            _fail(f"{file}: {exc.message}")
    _write_html(report.to_dict(), html_out, Path(file).name)
    print_report(report, fmt)


def print_report(report: OfflineReport, fmt: OutputFormat) -> None:
    """An offline report as JSON (its ``to_dict``), CSV or tables."""
    fmt = resolve(fmt)
    if fmt is OutputFormat.JSON:
        json.dump(report.to_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif fmt is OutputFormat.CSV:
        _csv_report(report, sys.stdout)
    else:
        from keyscope.cli import tables

        tables.offline_report(report.to_dict(), console())


def _write_html(document: dict[str, object], html_out: Path | None, title: str) -> None:
    if html_out is None:
        return
    from keyscope.web.report import write_report_html

    try:
        write_report_html(document, html_out, title=title)
    except OSError as exc:
        _fail(f"cannot write {html_out}: {exc.strerror or exc}")


def _cluster_report(
    files: list[str], options: OfflineOptions, fmt: OutputFormat, html_out: Path | None
) -> None:
    """One file after another (memory stays one shard's), then the merged report."""
    fmt = resolve(fmt)
    from keyscope.analysis.cluster_report import analyze_shard, merge_shard_reports
    from keyscope.cli.cluster_output import csv_cluster_report, table_cluster_report

    for file in files:  # a missing file fails before hours of reading the others
        if not os.access(file, os.R_OK):
            _fail(f"cannot open {file}: it does not exist or cannot be read")
    shards = []
    for file in files:
        with _open(file) as source, _progress(source) as progress:
            try:
                shards.append(analyze_shard(file, source, options, progress=progress))
            except KeyscopeError as exc:
                _fail(f"{file}: {exc.message}")
    report = merge_shard_reports(shards, top_keys=options.top_keys,
                                 top_prefixes=options.top_prefixes)  # fmt: skip
    _write_html(report.to_dict(), html_out, f"{len(files)} shards")
    if fmt is OutputFormat.JSON:
        json.dump(report.to_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif fmt is OutputFormat.CSV:
        csv_cluster_report(report, sys.stdout)
    else:
        table_cluster_report(report, console(), _table)


MemoryModelOption = Annotated[
    str | None,
    typer.Option(
        "--memory-model",
        help="Estimate memory as another engine counts it, e.g. valkey-8.0 or "
        "redis-7.0/jemalloc-16 (layout, then optionally /jemalloc, /jemalloc-16 or /libc); "
        "by default the engine that wrote the file.",
    ),
]


def _memory_model(text: str | None) -> MemoryModel | None:
    if text is None:
        return None
    from keyscope.rdb.engines import parse_model

    try:
        return parse_model(text)
    except KeyscopeError as exc:
        raise typer.BadParameter(exc.message, param_hint="--memory-model") from None


def _write_rows(
    source: BinaryIO, fmt: KeysFormat, out: TextIO, model: MemoryModel | None = None
) -> None:
    """The rows of ``keys`` through the reader's row writer (compiled where built)."""
    from keyscope.rdb.rows import write_rows

    out.flush()
    buffer = getattr(out, "buffer", None)
    if buffer is not None:
        buffer.flush()
    target: Callable[[bytes], object] | int
    try:  # straight to the file descriptor, without the GIL, where there is one
        target = out.fileno()
    except (AttributeError, OSError, ValueError):
        target = buffer.write if buffer is not None else lambda data: out.write(data.decode())
    write_rows(source, target, "csv" if fmt is KeysFormat.CSV else "jsonl", memory_model=model)
    if buffer is not None:
        buffer.flush()


def _keys_document(file: str, fmt: KeysFormat, model: MemoryModel | None = None) -> None:
    """``keys`` as one JSON array (still streamed) or one rich table, from the record reader."""
    from keyscope.rdb import RdbReader
    from keyscope.rdb.rows import ROW_FIELDS, row_fields

    out = sys.stdout
    with _open(file) as source, _keys_failures(file):
        records = (row_fields(rec) for rec in RdbReader(source, memory_model=model))
        if fmt is KeysFormat.JSON:
            opened = False  # "[" waits for the first record: a bad header prints nothing
            for row in records:
                out.write(",\n" if opened else "[\n")
                out.write(json.dumps(row, ensure_ascii=False))
                opened = True
            out.write("\n]\n" if opened else "[]\n")
        else:
            from keyscope.cli import tables

            rows: list[tuple[object, ...]] = []  # only the rows the table shows: any file size
            total = 0
            for row in records:
                total += 1
                if len(rows) < tables.MAX_TABLE_ROWS:
                    rows.append(tuple(row.get(f) for f in ROW_FIELDS))
            right = [f for f, v in zip(ROW_FIELDS, rows[0] if rows else (), strict=False)
                     if isinstance(v, int)]  # fmt: skip
            title = f"Keys ({total:,})"
            console().print(tables.table(title, ROW_FIELDS, rows, right=right, total=total))


@contextlib.contextmanager
def _keys_failures(file: str) -> Iterator[None]:
    """A format error ends ``keys`` (exit 1, one line on stderr, after the rows written
    before it); a reader of the output that went away (``| head``) is not an error of ours."""
    try:
        yield
    except KeyscopeError as exc:
        sys.stdout.flush()
        _fail(f"{file}: {exc.message}")
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


@app.command("keys")
def keys_command(
    file: FileArg,
    fmt: Annotated[
        KeysFormat,
        typer.Option("--format", help="Output format; auto: a table on a terminal, else jsonl."),
    ] = KeysFormat.AUTO,
    memory_model: MemoryModelOption = None,
) -> None:
    """Stream one record per key: JSON lines or CSV (or one JSON array, or a table).

    Example: keyscope rdb keys dump.rdb --format csv > keys.csv
    """
    from keyscope.rdb.rows import ROW_FIELDS

    model = _memory_model(memory_model)
    if fmt is KeysFormat.AUTO:
        fmt = KeysFormat.TABLE if sys.stdout.isatty() else KeysFormat.JSONL
    if fmt in (KeysFormat.JSON, KeysFormat.TABLE):
        _keys_document(file, fmt, model)
        return
    out = sys.stdout
    if fmt is KeysFormat.CSV:
        from keyscope.domain.csvcells import writer

        writer(out).writerow(ROW_FIELDS)
    with _open(file) as source, _keys_failures(file):
        _write_rows(source, fmt, out, model)


@app.command("diff")
def diff_command(
    old: Annotated[str, typer.Argument(metavar="OLD", help="The earlier RDB file.")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="The later RDB file.")],
    *,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.TABLE
    ),
    top: Annotated[int, typer.Option(min=1, help="Rows per list of changes.")] = (
        defaults.DIFF_TOP
    ),
    delimiters: Annotated[str, typer.Option(help="Characters that cut prefixes.")] = (
        defaults.PREFIX_DELIMITERS
    ),
    memory_model: MemoryModelOption = None,
) -> None:
    """What changed from OLD to NEW: bytes and keys per type and prefix, the largest keys,
    TTLs, and the keys added and removed. Each file is streamed once, in bounded memory.

    Example: keyscope rdb diff yesterday.rdb today.rdb --top 10
    """
    from keyscope.analysis.file_diff import count_with_sketch, diff_counted
    from keyscope.cli import diff_output

    if not delimiters:
        raise typer.BadParameter("give at least one delimiter", param_hint="--delimiters")
    if old == "-" and new == "-":
        raise typer.BadParameter("only one of OLD and NEW can be standard input")
    options = OfflineOptions(
        top_keys=max(top, defaults.OFFLINE_TOP_KEYS),
        delimiters=delimiters,
        memory_model=_memory_model(memory_model),
    )
    counted = []
    for file in (old, new):
        with _open(file) as source, _progress(source) as progress:
            try:
                counted.append(count_with_sketch(source, options, progress=progress))
            except KeyscopeError as exc:
                _fail(f"{file}: {exc.message}")
    diff = diff_counted(counted[0], counted[1], top=top)
    if fmt is OutputFormat.JSON:
        json.dump(diff, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif fmt is OutputFormat.CSV:
        diff_output.write_csv(diff, sys.stdout)
    else:
        diff_output.print_table(diff, console())
