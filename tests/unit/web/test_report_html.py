"""The self-contained HTML report: everything inlined, user data unable to break out."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from keyscope.web.report import render_report_html

REPORT = {
    "largest_key_prefixes": [{"key_prefix": "user", "type": "hash", "bytes": 10, "num": 2}],
    "largest_keys": [
        {"key": "</script><script>alert(1)</script>", "type": "string", "bytes": 9,
         "num_of_elem": 9},
        {"key": "a&b<!--c", "type": "string", "bytes": 8, "num_of_elem": 8},
    ],
    "total_bytes": 17,
    "total_num": 2,
    "type_bytes": [{"type": "string", "bytes": 17}],
    "type_num": [{"type": "string", "num": 2}],
}  # fmt: skip


class _Links(HTMLParser):
    """Every src or href attribute of the page's elements (script bodies are not markup)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [f"{tag} {v}" for k, v in attrs if k in ("src", "href")]


def _data(page: str) -> str:
    found = re.search(r'<script id="report-data" type="application/json">(.*?)</script>', page,
                      re.S)  # fmt: skip
    assert found is not None
    return found.group(1)


def test_report_inlines_the_chart_library_and_loads_nothing() -> None:
    page = render_report_html(REPORT, title="dump.rdb", now=datetime(2026, 1, 1, tzinfo=UTC))
    assert "echarts" in page and "KeyscopeView" in page
    links = _Links()
    links.feed(page)
    assert links.links == []
    assert "2026-01-01 00:00 UTC" in page


def test_key_names_cannot_close_the_data_element_and_survive_intact() -> None:
    page = render_report_html(REPORT, title="<b>dump</b>.rdb")
    data = _data(page)
    assert "<" not in data and ">" not in data and "&" not in data
    assert json.loads(data) == REPORT
    assert "<title>keyscope report: &lt;b&gt;dump&lt;/b&gt;.rdb</title>" in page


class _Scripts(HTMLParser):
    """The page's executable inline scripts (their exact text) and its CSP meta."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.policy: str | None = None
        self._in: bool = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "meta" and named.get("http-equiv") == "Content-Security-Policy":
            self.policy = named.get("content")
        if tag == "script" and named.get("type") != "application/json":
            self._in = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in = False

    def handle_data(self, data: str) -> None:
        if self._in:
            self.scripts[-1] += data


def test_report_policy_runs_only_its_own_scripts_and_fetches_nothing() -> None:
    import base64
    import hashlib

    page = render_report_html(REPORT, title="dump.rdb")
    parsed = _Scripts()
    parsed.feed(page)
    assert parsed.policy is not None
    directives = dict(d.strip().split(" ", 1) for d in parsed.policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
    allowed = directives["script-src"].split()
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in parsed.scripts
    ]
    assert len(parsed.scripts) == 3
    assert sorted(allowed) == sorted(hashes)  # no 'unsafe-inline', no other source
    assert page.index("Content-Security-Policy") < page.index("<script")
