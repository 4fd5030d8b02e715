"""The web page's budgets in a real browser: what the first load transfers, and text contrast (WCAG AA).

Contrast is computed the way WCAG 2.1 defines it, from the colours Chromium
resolved: each visible text's colour against the background it is painted
on (the nearest ancestor with a background colour, blended where colours are
translucent), in every view, in the light and the dark scheme.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.browser import Browser, Served, browser, served, web_library
from tests.e2e.test_web_page import go, search
from tests.integration.api.conftest import api_models
from tests.integration.conftest import decoder

__all__ = ["api_models", "browser", "decoder", "served", "web_library"]  # fixtures, imported to be shared, not copied

pytestmark = pytest.mark.timeout(180)

FIRST_LOAD_BUDGET = 150_000  # bytes transferred by the first load, thumbnails excepted
VIEWS = ("search", "timeline", "map", "duplicates", "folders", "status")

# Every visible text run in the shown view (and the header), with its contrast ratio and whether it is large text.
CONTRAST = """() => {
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, below) => { const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + below[i] * (1 - a)).concat([1]); };
  const background = el => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let colour = [255, 255, 255, 1];  // the canvas behind everything
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const luminance = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (l1 + 0.05) / (l2 + 0.05); };
  const found = [];
  const roots = [document.querySelector('header'), document.querySelector('section.view:not([hidden])')];
  for (const root of roots.filter(Boolean)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
      const el = text.parentElement;
      if (!text.textContent.trim() || !el || el.closest('[hidden], .visually-hidden, [disabled]')) continue;
      const rect = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (!rect.width || !rect.height || style.visibility !== 'visible' || Number(style.opacity) === 0) continue;
      const bg = background(el);
      const fg = over(parse(style.color), bg);
      const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
      found.push({text: text.textContent.trim().slice(0, 40), tag: el.tagName, cls: el.className,
                  ratio: ratio(fg, bg), large: size >= 24 || (bold && size >= 18.66)});
    }
  }
  return found;
}"""


def test_the_first_load_transfers_under_150_kb(browser: Browser, served: Served) -> None:
    context = browser.page.context.browser.new_context(viewport={"width": 1100, "height": 700})
    try:
        page = context.new_page()
        page.goto(served.url + "/", wait_until="networkidle")
        entries = page.evaluate(
            """() => [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]
                 .map(e => ({name: e.name, bytes: e.transferSize}))"""
        )
    finally:
        context.close()
    counted = [e for e in entries if "/thumbnail" not in e["name"]]
    total = sum(e["bytes"] for e in counted)
    assert any(e["name"].endswith(".js") for e in counted) and any(e["name"].endswith(".css") for e in counted)
    assert 0 < total <= FIRST_LOAD_BUDGET, counted


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_passes_wcag_aa_in_every_view(browser: Browser, served: Served, scheme: str) -> None:
    page = browser.page
    page.emulate_media(color_scheme=scheme)
    failures: list[dict[str, Any]] = []
    try:
        for view in VIEWS:
            page = go(browser, served, view)
            if view == "search":
                search(page, "a photo")
                page.wait_for_selector("#results li.tile")
                page.hover("#results li.tile >> nth=0")  # the score shown on hover is text too
            texts = page.evaluate(CONTRAST)
            assert texts, f"no text found in the {view} view"
            failures += [{**t, "view": view} for t in texts if t["ratio"] < (3.0 if t["large"] else 4.5)]
    finally:
        page.emulate_media(color_scheme="light")
    assert failures == [], failures
