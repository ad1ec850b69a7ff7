"""Page weight: what a reader downloads to open each page of the built book.

For every toc page: its HTML plus every local file it references (scripts, stylesheets,
preloads, icons, images, audio, video), each counted once per page. Not counted: what those
files load in turn (fonts from the CSS, MathJax's lazily loaded components) and remote URLs.
A page may weigh at most ``PAGE_LIMIT``; a chapter at most ``CHAPTER_LIMIT`` unless it is in
``ALLOWED_HEAVY`` with a reason. plotly.js must be loaded once from ``_static/plotly.min.js``,
never inlined into a page (``asp_lab.viz.show_plotly`` writes figures without it).

``pytest -s tests/test_site_weight.py`` prints the table of page sizes.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup
from conftest import PLOTLY_JS, chapter_files, toc_files

pytestmark = pytest.mark.book

MB = 1_000_000
PAGE_LIMIT = 15 * MB
CHAPTER_LIMIT = 5 * MB
#: Chapters allowed above CHAPTER_LIMIT (still under PAGE_LIMIT): page -> why.
ALLOWED_HEAVY: dict[str, str] = {
    "notebooks/02_asp_step_by_step": (
        "its static widget needs plotly.js (4.9 MB, one file that the browser caches for every "
        "page with a plotly figure); without it the chapter weighs about 5.2 MB"
    ),
    "notebooks/06_attention_noise": (
        "its static widget needs plotly.js (4.9 MB, cached across pages) and the page inlines "
        "four noisy clips and the clean one as 16 kHz WAV players (1.5 MB, so readers hear "
        "what the models heard); without plotly.js it weighs about 6 MB, 3.5 MB of which "
        "every page of the site loads"
    ),
}
#: Link relations that make the browser fetch the file when the page opens.
FETCHED_RELS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut", "apple-touch-icon"}


def local_file(page: Path, url: str) -> Path | None:
    """The file a URL in ``page`` refers to, or None if it is remote, data: or an anchor."""
    parts = urlsplit(url)
    if not url or parts.scheme or parts.netloc or not parts.path:
        return None
    return (page.parent / unquote(parts.path)).resolve()


def page_assets(page: Path) -> tuple[set[Path], list[str]]:
    """The local files ``page`` makes the browser fetch, and the references that are missing."""
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    urls = [
        tag.get("src", "")
        for tag in soup.find_all(
            ["script", "img", "audio", "video", "source", "track", "iframe", "embed"]
        )
    ]
    urls += [tag.get("poster", "") for tag in soup.find_all("video")]
    urls += [tag.get("data", "") for tag in soup.find_all("object")]
    urls += [
        link.get("href", "")
        for link in soup.find_all("link")
        if FETCHED_RELS & {r.lower() for r in (link.get("rel") or [])}
    ]
    found, missing = set(), []
    for url in urls:
        target = local_file(page, url)
        if target is None:
            continue
        if target.is_file():
            found.add(target)
        else:
            missing.append(url)
    return found, missing


def page_weight(html: Path, name: str) -> tuple[int, int, int, list[str]]:
    """(total bytes, HTML bytes, number of assets, missing references) of one page."""
    page = html / f"{name}.html"
    assert page.is_file(), f"{page} was not built"
    assets, missing = page_assets(page)
    own = page.stat().st_size
    return own + sum(a.stat().st_size for a in assets), own, len(assets), missing


def table(rows: list[tuple[str, int, int, int]]) -> str:
    lines = [f"{'page':40} {'total MB':>9} {'html MB':>8} {'assets':>6}"]
    lines += [f"{n:40} {t / MB:9.2f} {h / MB:8.2f} {a:6d}" for n, t, h, a in rows]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def weights(built_book) -> dict[str, tuple[int, int, int, list[str]]]:
    result = {name: page_weight(built_book, name) for name in toc_files()}
    print("\npage weights (HTML + the local files it references):")
    print(table([(n, t, h, a) for n, (t, h, a, _) in result.items()]))
    return result


def test_pages_are_not_too_heavy(weights):
    sizes = table([(n, t, h, a) for n, (t, h, a, _) in weights.items()])
    chapters = set(chapter_files())
    problems = []
    for name, (total, _, _, missing) in weights.items():
        if missing:
            problems.append(f"{name}: references missing files {missing[:5]}")
        if total > PAGE_LIMIT:
            problems.append(f"{name}: {total / MB:.2f} MB > {PAGE_LIMIT / MB:.0f} MB for any page")
        elif name in chapters and total > CHAPTER_LIMIT and name not in ALLOWED_HEAVY:
            problems.append(
                f"{name}: {total / MB:.2f} MB > {CHAPTER_LIMIT / MB:.0f} MB for a chapter "
                f"(make its figures lighter, or list it in ALLOWED_HEAVY with a reason)"
            )
    assert not problems, "\n".join(problems) + "\n\n" + sizes


def test_allow_list_has_reasons_and_names_chapters():
    for name, reason in ALLOWED_HEAVY.items():
        assert name in chapter_files(), f"ALLOWED_HEAVY names {name}, which is not a chapter"
        assert isinstance(reason, str) and len(reason.split()) >= 3, f"{name}: give a reason"


def plotly_signatures() -> list[str]:
    """Long stretches of plotly.min.js's own source: one in a page means it was inlined."""
    source = PLOTLY_JS.read_text(encoding="utf-8")
    assert len(source) > 1_000_000, f"{PLOTLY_JS} does not look like plotly.js"
    return [source[int(len(source) * f) :][:200] for f in (0.25, 0.5, 0.75)]


def test_plotly_js_is_never_inlined(built_book):
    signatures = plotly_signatures()
    inlined = []
    for name in toc_files():
        text = (built_book / f"{name}.html").read_text(encoding="utf-8")
        if any(s in text for s in signatures) or "plotly.js v" in text:
            inlined.append(name)
    assert not inlined, f"pages with plotly.js inlined into their HTML: {inlined}"


def test_plotly_figures_load_the_sites_plotly_js(built_book):
    checked = 0
    for name in toc_files():
        page = built_book / f"{name}.html"
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        if not soup.select("div.plotly-graph-div"):
            continue
        checked += 1
        scripts = [local_file(page, s["src"]) for s in soup.find_all("script", src=True)]
        plotly = [s for s in scripts if s is not None and s.name.startswith("plotly")]
        expected = (built_book / "_static" / "plotly.min.js").resolve()
        assert plotly == [expected], (
            f"{name}: plotly figures, but plotly.js is loaded from {plotly} "
            f"instead of once from _static/plotly.min.js"
        )
        remote = [
            s["src"]
            for s in soup.find_all("script", src=True)
            if "plotly" in s["src"] and urlsplit(s["src"]).netloc
        ]
        assert not remote, f"{name}: plotly.js from a CDN: {remote}"
    assert checked, "no page has a plotly figure: is chapter 2's static widget gone?"
