"""The CLI's contract, command by command: an example in every ``--help``, ``--format`` on
every command that prints results, and exit codes 0 ok, 1 analysis failed, 2 bad usage."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from keyscope.cli.main import app
from tests.utils.rdbgen import GenStats, write_rdb

PRINTS_RESULTS = {
    ("analyze", "bigkeys"),
    ("analyze", "hotkeys"),
    ("analyze", "expire"),
    ("rdb", "report"),
    ("rdb", "keys"),
    ("worker",),
    ("instances", "add"),
    ("instances", "list"),
    ("instances", "show"),
    ("run", "bigkeys"),
    ("run", "hotkeys"),
    ("run", "expire"),
    ("run", "offline"),
}
"""The commands whose output is results (``serve`` and plain ``worker`` print a banner)."""


def _walk(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    """Every command and group under ``command`` (Typer ships its own click: duck typing)."""
    found = [(path, command)]
    if hasattr(command, "commands"):
        for name, sub in sorted(command.commands.items()):
            found.extend(_walk(sub, (*path, name)))
    return found


COMMANDS = dict(_walk(typer.main.get_command(app), ()))


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def rdb_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenStats]:
    path = tmp_path_factory.mktemp("cli") / "small.rdb"
    return path, write_rdb(path, keys=60)


@pytest.fixture(scope="module")
def corrupt_rdb(rdb_file: tuple[Path, GenStats], tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = bytearray(rdb_file[0].read_bytes())
    first_db = data.index(b"\xfe\x00", 9)
    for i in range(first_db + 2, first_db + 10):  # the first key's opcode and what follows
        data[i] ^= 0xFF
    path = tmp_path_factory.mktemp("cli") / "corrupt.rdb"
    path.write_bytes(bytes(data))
    return path


def test_the_walk_finds_every_command() -> None:
    assert set(COMMANDS) >= {(), ("serve",), ("rdb",), ("analyze",), *PRINTS_RESULTS}


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=lambda p: " ".join(p) or "keyscope")
def test_every_help_carries_an_example(path: tuple[str, ...]) -> None:
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # undo the help's line wrapping
    example = f"Example: {' '.join(('keyscope', *path))}"
    assert example in text or (not path and "Example: keyscope " in text), text


@pytest.mark.parametrize("path", sorted(PRINTS_RESULTS), ids=" ".join)
def test_format_is_offered_where_results_are_printed(path: tuple[str, ...]) -> None:
    assert any("--format" in p.opts for p in COMMANDS[path].params), path
    wide = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})  # no wrapping
    shown = re.search(r"--format\s+<([a-z|]+)>", wide.stdout)
    assert shown is not None
    assert {"table", "json", "csv"} <= set(shown.group(1).split("|"))


@pytest.mark.parametrize(
    "args",
    [
        ["nosuchcommand"],
        ["rdb", "report"],
        ["rdb", "report", "dump.rdb", "--format", "xml"],
        ["rdb", "report", "dump.rdb", "--top", "-1"],
        ["rdb", "report", "dump.rdb", "--delimiters", ""],
        ["rdb", "keys", "dump.rdb", "--format", "yaml"],
        ["rdb", "keys", "dump.rdb", "--no-such-option"],
        ["analyze", "bigkeys"],
        ["analyze", "bigkeys", "http://localhost:1"],
        ["analyze", "hotkeys", "redis://"],
        ["analyze", "expire", "redis://localhost:1", "--format", "xml"],
        ["worker", "--check", "--format", "xml"],
        ["worker", "--concurrency", "0"],
    ],
    ids=" ".join,
)
def test_bad_usage_exits_2(args: list[str]) -> None:
    assert invoke(*args).exit_code == 2


def test_a_worker_without_postgresql_is_bad_usage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEYSCOPE_DATABASE_URL", raising=False)
    result = invoke("worker", "--check", "--format", "json")
    assert result.exit_code == 2
    assert "KEYSCOPE_DATABASE_URL" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["rdb", "report", "{corrupt}", "--format", "json"],
        ["rdb", "report", "{corrupt}", "--format", "table"],
        ["rdb", "report", "{corrupt}", "--format", "csv"],
        ["rdb", "keys", "{corrupt}", "--format", "jsonl"],
        ["rdb", "keys", "{corrupt}", "--format", "json"],
        ["rdb", "keys", "{corrupt}", "--format", "table"],
    ],
    ids=" ".join,
)
def test_a_corrupt_rdb_is_a_failed_analysis_exit_1(corrupt_rdb: Path, args: list[str]) -> None:
    result = invoke(*(a.format(corrupt=corrupt_rdb) for a in args))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "offset" in lines[0], result.stderr
    assert "corrupt.rdb" in lines[0]


def test_a_missing_file_is_a_failed_analysis_exit_1(tmp_path: Path) -> None:
    result = invoke("rdb", "report", str(tmp_path / "absent.rdb"))
    assert result.exit_code == 1
    assert "absent.rdb" in result.stderr


def test_report_prints_each_format_without_noise(rdb_file: tuple[Path, GenStats]) -> None:
    path, stats = rdb_file
    outputs = {}
    for fmt in ("table", "json", "csv"):
        result = invoke("rdb", "report", str(path), "--format", fmt)
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""  # piped: no progress bar
        outputs[fmt] = result.stdout
    assert json.loads(outputs["json"])["total_num"] == stats.keys
    total = next(r for r in csv.DictReader(io.StringIO(outputs["csv"])) if r["section"] == "total")
    assert total["num"] == str(stats.keys)
    assert "Largest keys" in outputs["table"]


def test_keys_prints_each_format_with_the_same_records(rdb_file: tuple[Path, GenStats]) -> None:
    path, stats = rdb_file
    outputs = {}
    for fmt in ("jsonl", "csv", "json", "table"):
        result = invoke("rdb", "keys", str(path), "--format", fmt)
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""
        outputs[fmt] = result.stdout
    lines = [json.loads(line) for line in outputs["jsonl"].splitlines()]
    assert json.loads(outputs["json"]) == lines
    assert len(lines) == stats.keys
    rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
    assert [r["key"] for r in rows] == [r["key"] for r in lines]
    assert f"Keys ({stats.keys:,})" in outputs["table"]


def test_progress_is_only_drawn_for_a_person(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from keyscope.cli.formats import progress_wanted

    class Tty(io.StringIO):
        def __init__(self, tty: bool) -> None:
            super().__init__()
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    for out, err, wanted in ((True, True, True), (False, True, False), (True, False, False)):
        monkeypatch.setattr(sys, "stdout", Tty(out))
        monkeypatch.setattr(sys, "stderr", Tty(err))
        assert progress_wanted() is wanted
