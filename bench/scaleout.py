"""Scale-out throughput: offline analyses of 8 backups with 1 and with 2 keyscope workers.

One ``keyscope serve --database-url`` and N ``keyscope worker --concurrency 1`` processes on a
scratch PostgreSQL database (``KEYSCOPE_TEST_POSTGRES_URL`` or 127.0.0.1:5432, as the tests).
8 instances (one redis-server) each get the same generated RDB uploaded as a backup into the
shared backup folder; the figure is the wall time from creating the 8 offline analyses to
the last one succeeding. Writes the section between ``<!-- scaleout:start -->`` and
``<!-- scaleout:end -->`` of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _markdown import write_section  # noqa: E402
from tests.scaleout.fleet import (  # noqa: E402
    Fleet,
    postgres_unreachable_reason,
    scratch_database,
    wait_task,
)
from tests.utils.rdbgen import write_rdb  # noqa: E402
from tests.utils.servers import start_server  # noqa: E402

MD = ROOT / "BENCHMARKS.md"
START, END = "<!-- scaleout:start -->", "<!-- scaleout:end -->"
BACKUPS = 8


def run_fleet(root: Path, rdb: bytes, workers: int, redis_address: str) -> tuple[float, int]:
    """Seconds for the 8 analyses with ``workers`` workers, and the keys each found."""
    with scratch_database() as url:
        fleet = Fleet(root / f"fleet-{workers}", url)
        try:
            fleet.start_api()
            for _ in range(workers):
                fleet.start_worker(concurrency=1)
            client = fleet.client(0)
            jobs: list[tuple[str, str, str]] = []
            for i in range(BACKUPS):
                body = {"name": f"b{i}", "mode": "single", "addresses": [redis_address]}
                instance_id = client.post("/instances", json_body=body).json()["instance_id"]
                base = f"/instances/{instance_id}"
                node = client.get(f"{base}/logical-nodes").json()["nodes"][0]["node_id"]
                uploaded = client.upload(f"{base}/backups/upload", rdb)
                assert uploaded.status_code == 200, uploaded.text
                jobs.append((base, node, uploaded.json()["backup_id"]))
            started = time.monotonic()
            ids = []
            for base, node, backup_id in jobs:
                created = client.post(
                    f"{base}/offline/key-analysis",
                    json_body={"node_id": node, "backup_id": backup_id},
                )
                assert created.status_code == 200, created.text
                ids.append((base, created.json()["task_id"]))
            totals = set()
            for base, task_id in ids:
                done = wait_task(client, f"{base}/offline/key-analysis/{task_id}", timeout=1800)
                assert done["status"] == "success", done
                totals.add(done["total_num"])
            elapsed = time.monotonic() - started
        finally:
            fleet.stop()
    assert len(totals) == 1, totals
    return elapsed, totals.pop()


def section(size_mb: float, keys: int, results: dict[int, float], command: str) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    one, two = results[1], results[2]
    lines = [
        START,
        "## Scale-out: offline analyses spread over workers (bench/scaleout.py)",
        "",
        f"Command: `{command}` — {when}; {os.cpu_count()} CPU(s), Python "
        f"{platform.python_version()}, PostgreSQL on the same machine.",
        "",
        f"{BACKUPS} offline analyses of uploaded backups ({size_mb:.1f} MB RDB, {keys:,} keys "
        "each, `tests/utils/rdbgen.py`), one API process, workers of concurrency 1; wall time "
        "from creating the analyses to the last success.",
        "",
        "| workers | seconds | analyses/min |",
        "|---|---|---|",
    ]
    for workers, seconds in sorted(results.items()):
        lines.append(f"| {workers} | {seconds:.1f} | {BACKUPS * 60 / seconds:.1f} |")
    lines += ["", f"2 workers / 1 worker: **{one / two:.2f}x** the throughput.", END]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=32.0, help="size of each backup (MB)")
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args()
    reason = postgres_unreachable_reason()
    if reason is not None:
        sys.exit(f"bench/scaleout.py needs PostgreSQL: {reason}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "backup.rdb"
        write_rdb(path, size_mb=args.size_mb, seed=0)
        rdb = path.read_bytes()
        server = start_server(root / "redis")
        try:
            results: dict[int, float] = {}
            keys = 0
            for workers in (1, 2):
                results[workers], keys = run_fleet(root, rdb, workers, server.address)
                print(f"{workers} worker(s): {results[workers]:.1f} s ({keys} keys per backup)")
        finally:
            server.stop()
    command = ".venv/bin/python bench/scaleout.py" + (
        f" --size-mb {args.size_mb:g}" if args.size_mb != 32.0 else ""
    )
    text_section = section(len(rdb) / 1e6, keys, results, command)
    print(text_section)
    if not args.no_write:
        write_section(MD, START, END, text_section)


if __name__ == "__main__":
    main()
