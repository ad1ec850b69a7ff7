"""The site as GitHub Pages serves it: over HTTP, under /asp_lab/ (the ``site`` fixture, a
loopback server that the tests start and stop). Every page answers, every internal link and
asset it names answers too (and a link's #anchor exists on its page), the 404 page works at
any depth under the prefix, and the Colab and download buttons lead to the chapter's notebook.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from functools import cache
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup
from conftest import REPO, book_config, pages_prefix, toc_files

#: Attributes that name something the page links to or loads.
URL_ATTRIBUTES = (("a", "href"), ("link", "href"), ("script", "src"), ("img", "src"),
                  ("source", "src"), ("audio", "src"), ("iframe", "src"))


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@cache
def soup_of(url: str) -> BeautifulSoup:
    status, body = fetch(url)
    assert status == 200, f"{url}: HTTP {status}"
    return BeautifulSoup(body, "html.parser")


def pages(site) -> list[str]:
    return sorted(p.relative_to(site.html).as_posix() for p in site.html.rglob("*.html")
                  if not p.relative_to(site.html).as_posix().startswith("_static/"))


def internal_urls(site, page_url: str) -> set[str]:
    """Every URL on the page that the site itself must serve (no external hosts, no data:)."""
    out = set()
    for tag, attr in URL_ATTRIBUTES:
        for node in soup_of(page_url).find_all(tag):
            value = node.get(attr)
            if not value or value.startswith(("data:", "mailto:", "javascript:", "#")):
                continue
            url = urljoin(page_url, value)
            if urlsplit(url).netloc == urlsplit(site.base).netloc:
                out.add(url)
    return out


def test_every_page_is_served(site):
    names = pages(site)
    for toc in toc_files():
        assert f"{toc}.html" in names, f"{toc} is in _toc.yml but not in the site"
    for name in names:
        status, _ = fetch(site.url(name))
        assert status == 200, f"{name}: HTTP {status} from {site.url(name)}"
    status, body = fetch(site.base)  # the folder's index.html: a redirect to the first page
    assert status == 200, f"{site.base}: HTTP {status}"
    target = re.search(rb'http-equiv="refresh" content="0; url=([^"]+)"', body, re.I)
    if target:
        assert fetch(urljoin(site.base, target.group(1).decode()))[0] == 200, target.group(1)
    else:
        assert b"<html" in body.lower(), f"{site.base} is neither a page nor a redirect"


@pytest.mark.parametrize("name", [f"{p}.html" for p in toc_files()] + ["404.html"])
def test_every_link_and_asset_of_a_page_is_served(site, name):
    page_url = site.url(name)
    broken, anchors = [], []
    for url in sorted(internal_urls(site, page_url)):
        target, fragment = urldefrag(url)
        if not target.startswith(site.base):
            broken.append(f"{url} (outside {site.base})")
            continue
        status, _ = fetch(target)
        if status != 200:
            broken.append(f"{url} (HTTP {status})")
        elif fragment and target.endswith(".html"):
            ids = {n.get("id") for n in soup_of(target).find_all(id=True)}
            names = {n.get("name") for n in soup_of(target).find_all(attrs={"name": True})}
            if fragment not in ids | names:
                anchors.append(url)
    assert not broken, f"{name} names what the site does not serve:\n" + "\n".join(broken)
    assert not anchors, f"{name} links to anchors that do not exist:\n" + "\n".join(anchors)


@pytest.mark.parametrize("missing", ["no-such-page.html", "notebooks/no-such/deeper/page"])
def test_a_missing_page_gets_the_404_page_with_its_assets(site, missing):
    status, body = fetch(site.url(missing))
    assert status == 404
    assert body == (site.html / "404.html").read_bytes(), "not the site's own 404 page"
    soup = BeautifulSoup(body, "html.parser")
    assets = [urljoin(site.url(missing), n.get("href") or n.get("src"))
              for n in soup.find_all(["link", "script", "img"])
              if (n.get("href") or n.get("src") or "").startswith("/")]
    assert assets, "the 404 page loads no asset of the site"
    for url in assets:
        assert fetch(url)[0] == 200, f"the 404 page at {missing} loads {url}, which is missing"
    links = [urljoin(site.url(missing), a["href"]) for a in soup.find_all("a", href=True)
             if not a["href"].startswith(("http", "#", "mailto:"))]
    assert site.base + "index.html" in links or site.base in links, (
        f"the 404 page has no link back to the book's first page: {links}"
    )


def test_404_page_renders_in_a_browser_under_the_prefix(site, chromium_paths):
    from test_browser import assert_renders, open_page, start_chrome

    drv = start_chrome(chromium_paths)
    try:
        errors = open_page(drv, site, "notebooks/deep/no-such-page.html")
        errors = [e for e in errors if "404 (File not found)" not in e
                  and "status of 404" not in e]  # the page itself answers 404, as on Pages
        assert_renders(drv, "404")
        sheets = drv.execute_script("return document.styleSheets.length")
        assert sheets > 2, f"the 404 page loaded {sheets} style sheets: its CSS is missing"
    finally:
        drv.quit()
    assert not errors, "console errors on the 404 page:\n" + "\n".join(errors)


def sources(notebook: dict) -> list[str]:
    return ["".join(c["source"]) for c in notebook["cells"]]


def _chapters():
    return [p for p in toc_files() if p.startswith("notebooks/")]


@pytest.mark.parametrize("chapter", _chapters())
def test_colab_and_download_buttons_lead_to_the_chapters_notebook(site, chapter):
    repo = book_config()["repository"]
    soup = soup_of(site.url(f"{chapter}.html"))
    colab = [a["href"] for a in soup.select('a[title="Launch on Colab"]')]
    owner_name = urlsplit(repo["url"]).path.strip("/")
    assert colab == [f"https://colab.research.google.com/github/{owner_name}/blob/"
                     f"{repo['branch']}/{chapter}.ipynb"], colab

    downloads = {urljoin(site.url(f"{chapter}.html"), a["href"])
                 for a in soup.select("a[download], a.btn-download-source-button, "
                                      "a.btn-download-notebook-button")}
    assert downloads, f"{chapter}: no download button"
    notebook = json.loads((REPO / f"{chapter}.ipynb").read_text())
    served_notebook = False
    for url in downloads:
        status, body = fetch(url)
        assert status == 200, f"{chapter}: the download button's {url} gives HTTP {status}"
        if url.endswith(".ipynb"):
            assert sources(json.loads(body)) == sources(notebook), f"{url} is not {chapter}"
            served_notebook = True
    assert served_notebook, f"{chapter}: no button downloads the notebook: {sorted(downloads)}"


def test_the_server_is_loopback_and_the_prefix_is_the_repository(site):
    assert urlsplit(site.base).hostname == "127.0.0.1"
    assert urlsplit(site.base).path == "/" + pages_prefix() + "/"
    status, _ = fetch(site.origin + "/index.html")  # outside the prefix: nothing is there
    assert status == 404
