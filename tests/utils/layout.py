"""Checks of a drawn page for the browser tests: text that overlaps, in charts and out of them.

Each takes a CSS selector of the part of the page to look at and answers what it found, for
the test to assert on: ``chart_labels`` per ECharts chart (the labels drawn, the pairs whose
boxes meet, the category labels ECharts hid to avoid an overlap), ``text_layout`` for the
text outside the charts (the pairs of text runs that meet, and figures or badges broken
over two lines).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

# Boxes of the text ECharts drew in each chart, as drawn (turned with a rotated label: four
# corners in page coordinates), and the pairs that meet (separating-axis test, 1 px slack).
CHART_OVERLAPS = """
(selector) => {
  const corners = (d) => {
    const r = d.getBoundingRect();
    const m = d.transform || [1, 0, 0, 1, 0, 0];
    const [x0, y0, x1, y1] = [r.x, r.y, r.x + r.width, r.y + r.height];
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
      .map(([x, y]) => [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]]);
  };
  const apart = (a, b) => [a, b].some((poly) => poly.some((p, i) => {
    const q = poly[(i + 1) % 4];
    const len = Math.hypot(q[0] - p[0], q[1] - p[1]) || 1;
    const axis = [(p[1] - q[1]) / len, (q[0] - p[0]) / len];
    const span = (c) => c.map(([x, y]) => x * axis[0] + y * axis[1]);
    const sa = span(a), sb = span(b);
    return Math.max(...sa) <= Math.min(...sb) + 1 || Math.max(...sb) <= Math.min(...sa) + 1;
  }));
  const charts = [];
  document.querySelectorAll(`${selector} figure`).forEach((figure) => {
    const box = figure.querySelector(".chart");
    const chart = box && echarts.getInstanceByDom(box);
    if (!chart) return;
    const labels = [];
    chart.getZr().storage.getDisplayList().forEach((d) => {
      if (d.type !== "tspan" || d.invisible || !d.style || !d.style.text) return;
      const r = d.getBoundingRect();
      if (r.width < 1 || r.height < 1) return;
      labels.push({ text: String(d.style.text), c: corners(d) });
    });
    const overlaps = [];
    for (let i = 0; i < labels.length; i += 1) {
      for (let j = i + 1; j < labels.length; j += 1) {
        if (!apart(labels[i].c, labels[j].c)) overlaps.push([labels[i].text, labels[j].text]);
      }
    }
    // Category labels ECharts hid to avoid an overlap count as missing: each must be drawn.
    const axis = (chart.getOption().xAxis || [])[0];
    const drawn = new Set(labels.map((l) => l.text));
    const categories = axis && axis.type === "category" ? axis.data : [];
    const missing = categories.filter((c) => !drawn.has(String(c)));
    charts.push({ chart: figure.dataset.testid, labels: labels.length, overlaps, missing });
  });
  return charts;
}
"""

# Boxes of every run of text outside the charts; pairs of different text nodes that meet;
# figures, numbers and badges that the layout broke over more than one line.
TEXT_OVERLAPS = """
(selector) => {
  const meet = (a, b) => a.left + 1 < b.right && b.left + 1 < a.right
    && a.top + 1 < b.bottom && b.top + 1 < a.bottom;
  const root = document.querySelector(selector);
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const runs = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim() || node.parentElement.closest(".chart")) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    Array.from(range.getClientRects()).forEach((r) => {
      if (r.width >= 1 && r.height >= 1) runs.push({ node, text: node.textContent, r });
    });
  }
  const overlaps = [];
  for (let i = 0; i < runs.length; i += 1) {
    for (let j = i + 1; j < runs.length; j += 1) {
      if (runs[i].node !== runs[j].node && meet(runs[i].r, runs[j].r)) {
        overlaps.push([runs[i].text, runs[j].text]);
      }
    }
  }
  const broken = [];
  root.querySelectorAll("td.num, th, .status, .stat-value, .stat-label, dt").forEach((e) => {
    const range = document.createRange();
    range.selectNodeContents(e);
    const rects = Array.from(range.getClientRects()).filter((r) => r.width >= 1);
    const lines = new Set(rects.map((r) => Math.round(r.top)));
    if (lines.size > 1) broken.push(e.textContent);
  });
  return { runs: runs.length, overlaps, broken };
}
"""


def chart_labels(page: Page, selector: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(CHART_OVERLAPS, selector)
    return found


def text_layout(page: Page, selector: str) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate(TEXT_OVERLAPS, selector)
    return found
