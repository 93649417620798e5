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
