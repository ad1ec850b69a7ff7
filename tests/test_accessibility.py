"""Accessibility of the built site: every image has a specific alt text, and axe-core finds
no serious or critical violation on any toc page, in the light theme or the dark one.

Chapter figures get their alt text from their cell's metadata, in the notebook's ``.py``
header (``# %% mystnb={"image": {"alt": "..."}}``; myst-nb's per-cell image options).
axe-core's ``axe.min.js`` (4.4.3) comes from the ``axe-core-python`` package (requirements.txt);
the axe checks run in the same headless Chromium as tests/test_browser.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import ARTIFACTS
from test_browser import _settle, driver, open_page  # noqa: F401 (driver is a fixture)

#: alt texts that say nothing about the picture.
GENERIC_ALT = {"png", "image", "output", "figure", "img", "picture", "plot", "chart", "graph"}
#: axe rules allowed to report serious/critical violations, by rule id, each with why. Only
#: for the theme's own markup that the book cannot change.
ALLOWED_RULES: dict[str, str] = {}
THEMES = ("light", "dark")


def axe_source() -> str:
    try:
        import axe_core_python
    except ImportError:
        pytest.fail("axe-core-python is missing: `pip install -r requirements.txt`")
    return (Path(axe_core_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ alt text


def bad_alt(alt: str | None) -> str | None:
    """Why ``alt`` is no alt text for a figure, or None if it is fine."""
    text = (alt or "").strip()
    if not text:
        return "no alt text"
    if text.lower().strip(".") in GENERIC_ALT:
        return f"generic alt text {text!r}"
    if re.search(r"\.(png|jpe?g|svg|gif|webp)$", text, re.I) or "_images/" in text:
        return f"alt text is a file name {text!r}"
    return None


@pytest.mark.book
def test_every_image_has_specific_alt_text(built_book, toc_page):
    soup = BeautifulSoup(
        (built_book / f"{toc_page}.html").read_text(encoding="utf-8"), "html.parser"
    )
    problems = [
        f"{img.get('src', '')[:80]}: {why}"
        for img in soup.find_all("img")
        if (why := bad_alt(img.get("alt"))) is not None
    ]
    assert not problems, f"{toc_page}: images without a real alt text:\n" + "\n".join(problems)


def test_bad_alt_recognises_useless_alt_texts():
    assert bad_alt("") and bad_alt(None) and bad_alt("PNG") and bad_alt("output")
    assert bad_alt("../_images/0b3d63e1649b.png")
    assert bad_alt("Waveform of one utterance: amplitude against time in seconds.") is None


# ---------------------------------------------------------------------------------- axe-core

SET_THEME = """
const mode = arguments[0];
localStorage.setItem('mode', mode);
localStorage.setItem('theme', mode);
document.documentElement.dataset.mode = mode;
document.documentElement.dataset.theme = mode;
"""

RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']})
  .then(r => done(JSON.stringify(r.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary || ''}))
  })))))
  .catch(e => done(JSON.stringify({error: String(e)})));
"""


def axe_violations(drv, html, page: str, theme: str) -> list[dict]:
    import json

    errors = open_page(drv, html, f"{page}.html")
    assert not errors, f"{page}: console errors:\n" + "\n".join(errors)
    drv.execute_script(SET_THEME, theme)
    drv.refresh()
    _settle(drv)
    drv.execute_script(SET_THEME, theme)  # in case the theme's script read another value
    _settle(drv)
    got = drv.execute_script("return document.documentElement.dataset.theme")
    assert got == theme, f"{page}: the page's theme is {got!r}, not {theme!r}"
    drv.execute_script(axe_source())
    result = json.loads(drv.execute_async_script(RUN_AXE))
    assert not (isinstance(result, dict) and "error" in result), f"axe failed: {result}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    drv.get_screenshot_as_file(str(ARTIFACTS / f"axe_{theme}_{page.replace('/', '_')}.png"))
    return result


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} elements)")
        for node in v["nodes"][:4]:
            summary = " ".join(node["summary"].split())[:200]
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


@pytest.mark.browser
@pytest.mark.parametrize("theme", THEMES)
def test_axe_finds_no_serious_violations(driver, site, toc_page, theme):  # noqa: F811
    violations = axe_violations(driver, site, toc_page, theme)
    serious = [
        v
        for v in violations
        if v["impact"] in ("serious", "critical") and v["id"] not in ALLOWED_RULES
    ]
    assert not serious, (
        f"{toc_page} ({theme} theme): serious or critical accessibility violations:\n"
        + describe(serious)
        + "\n\nall violations axe found:\n"
        + describe(violations)
    )
