"""``keyscope rdb report FILE --html``: one page that Chromium opens from disk with its charts.

Also the command's contract in a pipe: exit 0 / 1 / 2, and nothing but data on stdout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.utils.browser import artifact, launch
from tests.utils.layout import chart_labels, text_layout
from tests.utils.rdbgen import GenStats, write_rdb
from tests.utils.servers import RedisServer

pytestmark = pytest.mark.e2e

KEYSCOPE = str(Path(sys.executable).with_name("keyscope"))
CHARTS = ("chart-type-memory", "chart-type-count", "chart-size-histogram", "chart-ttl",
          "chart-prefix-treemap")  # fmt: skip


def _keyscope(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KEYSCOPE, *args], capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture(scope="module")
def rdb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenStats]:
    path = tmp_path_factory.mktemp("html") / "mixed.rdb"
    return path, write_rdb(path, keys=3000, dbs=2)


def test_html_report_opens_in_chromium_with_its_charts_drawn(
    rdb: tuple[Path, GenStats], tmp_path: Path
) -> None:
    path, stats = rdb
    page_file = tmp_path / "report.html"
    result = _keyscope("rdb", "report", str(path), "--html", str(page_file))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total_num"] == stats.keys
    html = page_file.read_text(encoding="utf-8")
    assert "<script src=" not in html and "<link" not in html  # nothing outside the file

    with launch() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(page_file.as_uri())
        for chart in CHARTS:
            page.wait_for_selector(f"[data-testid={chart}][data-rendered=true] canvas")
        shown_keys = page.inner_text("[data-testid=total-keys]")
        largest = page.locator("[data-testid=largest-keys-table] tbody tr").count()
        page.mouse.move(1, 1)  # no tooltip over the labels
        page.screenshot(path=str(artifact("html-report.png")), full_page=True)
        charts = chart_labels(page, "body")
        text = text_layout(page, "body")

    assert shown_keys == f"{stats.keys:,}"
    assert largest == 100
    assert sorted(c["chart"] for c in charts) == sorted(CHARTS)
    for chart in charts:  # every label drawn, none over another
        assert chart["labels"] > 0 and chart["overlaps"] == [] and chart["missing"] == [], chart
    assert text["runs"] > 0 and text["overlaps"] == [] and text["broken"] == [], text
    assert all(url.startswith(("file:", "data:", "blob:")) for url in fetched), fetched


def test_piped_report_carries_no_progress_noise(rdb: tuple[Path, GenStats]) -> None:
    path, _stats = rdb
    for fmt in ("json", "csv", "table"):
        result = _keyscope("rdb", "report", str(path), "--format", fmt)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert "\r" not in result.stdout and "\x1b[" not in result.stdout


def test_report_exit_codes_say_bad_usage_or_failed_analysis(
    rdb: tuple[Path, GenStats], tmp_path: Path
) -> None:
    path, _stats = rdb
    assert _keyscope("rdb", "report", str(path), "--format", "xml").returncode == 2
    assert _keyscope("rdb", "report").returncode == 2
    broken = tmp_path / "broken.rdb"
    broken.write_bytes(path.read_bytes()[:5000])
    failed = _keyscope("rdb", "report", str(broken), "--html", str(tmp_path / "never.html"))
    assert failed.returncode == 1
    assert "keyscope:" in failed.stderr
    assert not (tmp_path / "never.html").exists()
    unwritable = _keyscope("rdb", "report", str(path), "--html", str(tmp_path / "no" / "x.html"))
    assert unwritable.returncode == 1
    assert "cannot write" in unwritable.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("rdb", "report"),
        ("rdb", "keys"),
        ("analyze", "bigkeys"),
        ("analyze", "hotkeys"),
        ("analyze", "expire"),
        ("serve",),
        ("worker",),
    ],
    ids=" ".join,
)
def test_every_command_help_shows_an_example(command: tuple[str, ...]) -> None:
    result = _keyscope(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Example" in result.stdout
    assert f"keyscope {' '.join(command)}" in result.stdout


def test_html_report_lists_the_recommendations_with_their_keys_as_text(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    c = redis_server.client()
    c.config_set("hash-max-listpack-entries", "128")
    pipe = c.pipeline(transaction=False)
    for i in range(200):  # past hash-max-listpack-entries, under 512
        pipe.hset(f"<b>h</b>:{i}", mapping={f"f{j}": "v" for j in range(300)})
    pipe.execute()
    c.save()
    page_file = tmp_path / "advice.html"
    dump = redis_server.workdir / "dump.rdb"
    result = _keyscope("rdb", "report", str(dump), "--html", str(page_file))
    assert result.returncode == 0, result.stderr
    (rec,) = json.loads(result.stdout)["recommendations"]
    assert rec["setting"] == {"hash-max-listpack-entries": 512}
    table = _keyscope("rdb", "report", str(dump), "--format", "table")
    assert "Recommendations" in table.stdout and "200" in table.stdout

    with launch() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(page_file.as_uri())
        rows = page.locator("[data-testid=recommendations-table] tbody tr")
        assert rows.count() == 1
        cells = rows.first.locator("td")
        assert "hash-max-listpack-entries 512" in cells.nth(1).inner_text()
        assert "<b>h</b>:" in cells.nth(4).inner_text()  # shown as text, not markup
        assert page.locator("[data-testid=recommendations-table] b").count() == 0
