"""Key names written by an attacker, rendered by Chromium: no script of theirs runs (issue 18, 3).

One real Redis holds keys named as markup, script breakers, ``javascript:`` URLs, quotes,
U+2028, bidi overrides, invalid UTF-8 and a 20 KB name. The console runs every analysis on
it (big keys, hot keys, expired keys, offline) and shows each result page, with the pointer
over every chart (the prefix treemap's tooltip takes HTML); then ``keyscope rdb report
--html`` of the same server's RDB is opened from disk and hovered the same way. A watcher
installed before any page script records every element or attribute that could run code
(``on*`` handlers, ``javascript:`` URLs, script/img/svg/iframe/style elements added after
load) and every Content-Security-Policy violation; the payloads would also set
``document.title`` and ``window.__pwned``. Each must stay untouched, and the names must be
shown as text.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from keyscope.domain.names import name_bytes
from tests.utils.browser import artifact, launch, sign_in_and_register
from tests.utils.dcs import AK, SK, SignedClient
from tests.utils.servers import RedisServer, start_server
from tests.utils.service import running_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

KEYSCOPE = str(Path(sys.executable).with_name("keyscope"))
RUN = "document.title='PWNED';window.__pwned=1"
TREEMAP_PREFIX = f'<img src=x onerror="{RUN}">'
"""Issue 18's reproduction: keys ``<img ...>:sub:N`` make this a node of the prefix treemap."""

HOSTILE: list[bytes] = [
    *(f"{TREEMAP_PREFIX}:sub:{n}".encode() for n in range(5)),
    f"</script><script>{RUN}</script>".encode(),
    f"javascript:{RUN}".encode(),
    f'"\'><svg onload="{RUN}">'.encode(),
    f"' onmouseover='{RUN}' x='".encode(),
    f"line\u2028sep\u2029</script><script>{RUN}</script>".encode(),
    f"bidi \u202e<img src=x onerror={RUN}>\u202c gpj.exe".encode(),
    b"\xff\xfe<script>" + RUN.encode() + b"</script>",
    f"{{a|x}}{{b}}<style>*{{display:none}}</style><iframe src=javascript:{RUN}>".encode(),
    f'=HYPERLINK("javascript:{RUN}")'.encode(),
    b"<b>" + b"L" * 20_000 + f"<img src=x onerror={RUN}>".encode(),
    b"\xff\xfe\x80",  # issue 18's pair: three bytes, and the same text spelled out
    b"\\xff\\xfe\\x80",
]

WATCH = """
(() => {
  const flagged = [];
  window.__flagged = flagged;
  document.addEventListener("securitypolicyviolation",
    (e) => flagged.push(`csp ${e.violatedDirective} ${e.sample}`), true);
  const RISKY = new Set(["SCRIPT", "IMG", "SVG", "IFRAME", "OBJECT", "EMBED", "STYLE", "LINK",
                         "META", "BASE"]);
  let loaded = false;
  document.addEventListener("DOMContentLoaded", () => { loaded = true; });
  const check = (node) => {
    if (node.nodeType !== 1) return;
    for (const el of [node, ...node.querySelectorAll("*")]) {
      for (const a of el.attributes) {
        if (/^on/i.test(a.name) || /^\\s*javascript:/i.test(a.value)) {
          flagged.push(`attribute ${el.tagName} ${a.name}`);
        }
      }
      if (loaded && RISKY.has(el.tagName.toUpperCase())) flagged.push(`element ${el.tagName}`);
    }
  };
  new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach(check)))
    .observe(document, { childList: true, subtree: true });
  window.alert = window.confirm = window.prompt = () => { flagged.push("dialog"); };
})();
"""


@pytest.fixture
def hostile_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_server(tmp_path / "hostile", extra=["--maxmemory-policy", "allkeys-lfu"])
    with server.client() as c:
        c.config_set("repl-diskless-sync-delay", "0")
        c.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")  # expired keys wait for the scan
        pipe = c.pipeline(transaction=False)
        for name in HOSTILE:
            pipe.set(name, b"v" * 12_000)  # a big key by the DCS rule
            pipe.set(b"gone:" + name, b"v", px=20)  # reclaimed by the expired-key scan
        for _ in range(1_500):  # hot, whatever LFULogIncr draws
            for name in HOSTILE:
                pipe.get(name)
        pipe.execute()
    time.sleep(0.1)
    yield server
    server.stop()


def _watched(page: Page) -> list[str]:
    page.add_init_script(WATCH)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: (errors.append(f"dialog {dialog.message}"), dialog.dismiss()))
    return errors


def _hover_charts(page: Page) -> str:
    """The pointer over a grid of points of every chart; the text the tooltips showed."""
    shown: list[str] = []
    for card in page.locator("[data-rendered=true]").all():
        card.scroll_into_view_if_needed()
        box = card.locator("canvas").first.bounding_box()
        if box is None:
            continue
        for fx in (0.1, 0.3, 0.5, 0.7, 0.9):
            for fy in (0.15, 0.4, 0.6, 0.85):
                page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
                page.wait_for_timeout(40)
                shown.append(card.inner_text())
    return "\n".join(shown)


def _assert_nothing_ran(page: Page, errors: list[str], title: str) -> None:
    assert page.evaluate("window.__flagged") == []
    assert page.evaluate("window.__pwned") is None
    assert page.title() == title
    assert errors == []


def _result_page(page: Page, kind: str) -> None:
    page.click(f"[data-testid=tab-{kind}]")
    page.click(f"[data-testid=run-{kind}]")
    page.wait_for_selector("[data-testid=history-row] .status-success", timeout=120_000)
    page.click("[data-testid=result-link]")
    page.wait_for_selector("[data-testid=result] table tbody tr")


def test_hostile_key_names_run_no_script_on_any_console_result_page(
    tmp_path: Path, hostile_redis: RedisServer
) -> None:
    with running_app(tmp_path) as (_app, signed), launch() as browser:
        base = str(signed.http.base_url).rstrip("/")
        context = browser.new_context(
            viewport={"width": 1360, "height": 1000}, accept_downloads=True
        )
        page = context.new_page()
        errors = _watched(page)
        sign_in_and_register(page, base, AK, SK, hostile_redis.address)
        instance = page.url.split("#/i/")[1].split("/")[0]
        texts: dict[str, str] = {}
        tooltips = ""
        for kind in ("expire", "bigkey", "hotkey", "offline"):  # expire first: SCAN reclaims
            _result_page(page, kind)
            if kind == "offline":
                page.wait_for_selector("[data-testid=chart-prefix-treemap][data-rendered=true]")
            tooltips += _hover_charts(page)
            texts[kind] = page.inner_text("[data-testid=result]")
            if kind == "expire":
                texts["reclaimed"] = page.inner_text("[data-testid=result-num]")
            if kind in ("bigkey", "hotkey", "offline"):
                with page.expect_download() as info:
                    page.click("[data-testid=download-csv]")
                info.value.save_as(tmp_path / f"{kind}.csv")
            page.screenshot(path=str(artifact(f"hostile-{kind}.png")), full_page=True)
            page.goto(f"{base}/console#/i/{instance}/{kind}")
        _assert_nothing_ran(page, errors, "keyscope console")
        _check_api_has_every_name(signed, instance)

    for kind in ("bigkey", "hotkey"):
        assert "</script><script>" in texts[kind] and "javascript:" in texts[kind]
        assert "\\xff\\xfe<script>" in texts[kind]
        rows = texts[kind].splitlines()
        assert any(r.startswith("\\xff\\xfe\\x80\t") for r in rows)
        assert any(r.startswith("\\\\xff\\\\xfe\\\\x80\t") for r in rows)
    assert texts["reclaimed"] == str(len(HOSTILE))
    for kind, field in (("bigkey", "name"), ("hotkey", "name"), ("offline", "key")):
        _check_download(tmp_path / f"{kind}.csv", field)
    assert TREEMAP_PREFIX in texts["offline"]
    assert TREEMAP_PREFIX in tooltips  # the treemap's tooltip showed the prefix, as text


def _check_download(path: Path, field: str) -> None:
    """The console's CSV: no cell a spreadsheet would run, every key's exact bytes."""
    data = path.read_bytes()
    assert b"\x00" not in data and data.count(b"\r\n") == data.count(b"\n")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    assert all(not v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for v in r.values())
    keys = {name_bytes(r[field], r[f"{field}_base64"].removeprefix("'") or None) for r in rows}
    assert {k for k in keys if not k.startswith(b"gone:")} == set(HOSTILE)  # the RDB has both


def _check_api_has_every_name(signed: SignedClient, instance: str) -> None:
    listing = signed.request("GET", f"/instances/{instance}/bigkey-tasks").json()
    task = listing["records"][0]["id"]
    keys = signed.request("GET", f"/instances/{instance}/bigkey-task/{task}").json()["keys"]
    assert len(keys) == len(HOSTILE)


def test_hostile_key_names_run_no_script_in_the_html_report(
    tmp_path: Path, hostile_redis: RedisServer
) -> None:
    with hostile_redis.client() as c:
        c.save()
    page_file = tmp_path / "r.html"
    made = subprocess.run(
        [KEYSCOPE, "rdb", "report", str(hostile_redis.workdir / "dump.rdb"), "--html",
         str(page_file), "--format", "csv"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    with launch() as browser:
        context = browser.new_context(
            viewport={"width": 1360, "height": 1000}, accept_downloads=True
        )
        page = context.new_page()
        errors = _watched(page)
        page.goto(page_file.as_uri())
        page.wait_for_selector("[data-testid=chart-prefix-treemap][data-rendered=true] canvas")
        tooltips = _hover_charts(page)
        shown = page.inner_text("[data-testid=largest-keys-table]")
        scripts = page.locator("script").count()
        with page.expect_download() as info:  # downloads still work under the page's policy
            page.click("[data-testid=download-csv]")
        info.value.save_as(tmp_path / "report.csv")
        page.screenshot(path=str(artifact("hostile-report.png")), full_page=True)
        _assert_nothing_ran(page, errors, "keyscope report: dump.rdb")

    assert scripts == 4  # the chart library, the view, the data and the start: no other
    assert TREEMAP_PREFIX in tooltips
    assert "</script><script>" in shown and "\\xff\\xfe<script>" in shown
    _check_download(tmp_path / "report.csv", "key")
