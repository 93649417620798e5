"""Make the README's pictures: the console on a real Redis, and a terminal report.

Run from the repository root: ``.venv/bin/python docs/screenshots.py``. It starts its own
redis-server and keyscope on free ports, drives Debian's Chromium headless, and writes
``docs/console.png`` and ``docs/terminal-report.png``.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from rich.console import Console  # noqa: E402
from tests.utils.browser import launch, sign_in_and_register  # noqa: E402
from tests.utils.dcs import AK, SK  # noqa: E402
from tests.utils.rdbgen import write_rdb  # noqa: E402
from tests.utils.servers import start_server  # noqa: E402
from tests.utils.service import running_app  # noqa: E402

from keyscope.analysis.offline import OfflineOptions, analyze_rdb  # noqa: E402
from keyscope.cli.tables import offline_report  # noqa: E402

DOCS = ROOT / "docs"
PREFIXES = ("user", "session", "order:eu", "order:us", "cache:page", "feed", "idx")


def _seed(host: str, port: int) -> None:
    client = redis.Redis(host=host, port=port)
    client.config_set("repl-diskless-sync-delay", "0")
    with client.pipeline(transaction=False) as pipe:
        for i in range(20_000):
            prefix = PREFIXES[i % len(PREFIXES)]
            pipe.set(f"{prefix}:{i}", b"v" * (20 + (i * 37) % 900), ex=(3600 * (i % 5)) or None)
        for i in range(40):
            pipe.hset(f"profile:{i}", mapping={f"f{j}": j for j in range(200 + i * 20)})
            pipe.rpush(f"queue:jobs:{i}", *range(300 + i * 50))
            pipe.zadd(f"board:{i}", {f"m{j}": j for j in range(150 + i * 10)})
            pipe.sadd(f"tags:{i}", *range(100 + i * 30))
        pipe.execute()
    client.close()


def console_png(work: Path) -> None:
    server = start_server(work / "redis")
    try:
        _seed(server.host, server.port)
        with running_app(work) as (_app, signed), launch() as browser:
            base = str(signed.http.base_url).rstrip("/")
            page = browser.new_page(viewport={"width": 1360, "height": 1480})
            sign_in_and_register(page, base, AK, SK, server.address)
            page.click("[data-testid=tab-offline]")
            page.wait_for_selector("[data-testid=offline-node] option", state="attached")
            page.click("[data-testid=run-offline]")
            page.wait_for_selector("[data-testid=history-row] .status-success", timeout=120_000)
            page.click("[data-testid=result-link]")
            page.wait_for_selector("[data-testid=chart-prefix-treemap][data-rendered=true]")
            page.mouse.move(1, 1)  # no tooltip in the picture
            page.screenshot(path=str(DOCS / "console.png"))
    finally:
        server.stop()


def terminal_png(work: Path) -> None:
    rdb = work / "dump.rdb"
    write_rdb(rdb, keys=50_000, dbs=2)
    report = analyze_rdb(rdb, OfflineOptions(top_keys=8, top_prefixes=3))
    console = Console(
        file=io.StringIO(), record=True, width=104, force_terminal=True, color_system="truecolor"
    )
    console.print("[bold]$ keyscope rdb report dump.rdb --format table --top 8 --prefix-top 3[/]")
    offline_report(report.to_dict(), console)
    svg = work / "terminal.svg"
    console.save_svg(str(svg), title="keyscope rdb report")
    with launch() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 600}, device_scale_factor=1)
        page.goto(svg.as_uri())
        size = page.evaluate(
            "(() => { const s = document.querySelector('svg').viewBox.baseVal;"
            " return [Math.ceil(s.width), Math.ceil(s.height)]; })()"
        )
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.screenshot(path=str(DOCS / "terminal-report.png"))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        console_png(Path(tmp) / "console")
        terminal_png(Path(tmp))
    print(f"wrote {DOCS / 'console.png'} and {DOCS / 'terminal-report.png'}")  # noqa: T201


if __name__ == "__main__":
    main()
