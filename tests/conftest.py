"""Shared fixtures: the book, built once per test session, and the pages that ``_toc.yml`` lists.

The build goes to the repository's ``_build/`` (so ``make book``'s execution cache makes it
fast), or to ``$ASP_LAB_TEST_BUILD_DIR/_build/`` when that is set (for a private build while
developing: ``ASP_LAB_TEST_BUILD_DIR=/tmp/site pytest tests/test_book.py``). The build log is
saved beside the html as ``_build/book-build.log``.

Tests that take an argument named ``toc_page`` run once per page of ``_toc.yml``, and those
that take ``chapter_page`` once per chapter (a toc page under ``notebooks/``).
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
BUILD_DIR_ENV = "ASP_LAB_TEST_BUILD_DIR"
BUILD_LOG = "book-build.log"  # written in the _build folder, beside html/
BUILD_TIMEOUT_S = 3600  # a hung kernel must not hang CI forever
PLOTLY_JS = REPO / "book" / "_static" / "plotly.min.js"
MATHJAX_DIR = REPO / "book" / "_static" / "mathjax"  # _config.yml's mathjax_path points here
MATHJAX_PARTS = ("input", "output", "ui", "a11y", "adaptors", "sre")  # as the Makefile copies
ARTIFACTS = REPO / "tests" / "artifacts"  # screenshots (gitignored)
LIVE_DIR = REPO / "book" / "_static" / "live"  # the live widget's models, audio, runtime
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# --------------------------------------------------------------------------- the table of contents


def toc_files(toc: Path = REPO / "_toc.yml") -> list[str]:
    """Every page of the toc, root first, as paths without suffix (``notebooks/01_frames``)."""
    data = yaml.safe_load(toc.read_text())
    files: list[str] = []

    def walk(node) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict):
            if "glob" in node:
                raise ValueError(f"{toc}: 'glob' entries are not supported by the tests: {node}")
            for key in ("root", "file"):
                if key in node:
                    files.append(re.sub(r"\.(md|ipynb|rst)$", "", str(node[key])))
            for key in ("parts", "chapters", "sections"):
                walk(node.get(key) or [])

    walk(data)
    if not files:
        raise ValueError(f"{toc} lists no pages")
    return files


def chapter_files() -> list[str]:
    """The toc pages that are notebooks (the chapters), e.g. ``notebooks/02_asp_step_by_step``."""
    return [f for f in toc_files() if f.startswith("notebooks/")]


def book_config() -> dict:
    return yaml.safe_load((REPO / "_config.yml").read_text())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "toc_page" in metafunc.fixturenames:
        metafunc.parametrize("toc_page", toc_files())
    if "chapter_page" in metafunc.fixturenames:
        metafunc.parametrize("chapter_page", chapter_files())


# --------------------------------------------------------------------------------- the built book


def build_root() -> Path:
    """Where ``jupyter-book build`` writes its ``_build/`` folder (its ``--path-output``)."""
    env = os.environ.get(BUILD_DIR_ENV)
    return Path(env).resolve() if env else REPO


def ensure_static_assets() -> None:
    """Put the site's own plotly.js and MathJax in book/_static, as the Makefile does.

    Both come from Python packages in requirements.txt (plotly; django-static-mathjax, whose
    wheel holds MathJax 3), so the built site needs no CDN.
    """
    import plotly

    source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not PLOTLY_JS.is_file() or not filecmp.cmp(source, PLOTLY_JS, shallow=False):
        PLOTLY_JS.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, PLOTLY_JS)

    if not (MATHJAX_DIR / "tex-mml-chtml.js").is_file():
        try:
            import mathjax
        except ImportError:
            pytest.fail(
                "MathJax is missing: `pip install -r requirements.txt` "
                "(django-static-mathjax) or run `make test`",
                pytrace=False,
            )
        es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
        shutil.rmtree(MATHJAX_DIR, ignore_errors=True)
        MATHJAX_DIR.mkdir(parents=True)
        shutil.copyfile(es5 / "tex-mml-chtml.js", MATHJAX_DIR / "tex-mml-chtml.js")
        for part in MATHJAX_PARTS:
            shutil.copytree(es5 / part, MATHJAX_DIR / part)

    # The live widget (book/try_it.md): the ONNX models and recordings from asp_lab, and
    # onnxruntime-web from npm, which only the Makefile fetches.
    if not (LIVE_DIR / "models" / "models.json").is_file():
        from asp_lab import export

        export.export_all(LIVE_DIR / "models")
        export.copy_site_audio(LIVE_DIR / "audio")
    if not (LIVE_DIR / "ort" / "ort.wasm.min.js").is_file():
        pytest.fail("onnxruntime-web is missing from book/_static/live/ort: run `make assets`",
                    pytrace=False)


#: Log lines that say WARNING but are no warning about the book: ipykernel 7 prints this
#: notice on its stderr each time myst-nb starts a kernel (over local TCP, as nbclient does).
KERNEL_NOTICE = "[IPKernelApp] WARNING | Kernel is running over TCP without encryption."


def read_build_log(html: Path) -> str:
    """The saved log of the session's build (ANSI colours removed)."""
    return ANSI.sub("", (html.parent / BUILD_LOG).read_text(errors="replace"))


def build_problems(log: str) -> list[str]:
    """The log's WARNING and ERROR lines, less the kernel's notice."""
    return [
        line
        for line in log.splitlines()
        if ("WARNING" in line or "ERROR" in line) and not line.startswith(KERNEL_NOTICE)
    ]


def _failure_summary(log: str) -> str:
    """What a reader of a failed build needs: its warnings, the failing cell, the log's end."""
    lines = log.splitlines()
    parts = ["warnings and errors:", *build_problems(log)[:30]]
    for i, line in enumerate(lines):
        if "An error occurred while executing the following cell" in line:
            parts += ["", "the failing cell:", *lines[i : i + 30]]
            break
    parts += ["", "the log's end:", *lines[-25:]]
    return "\n".join(parts)


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the book once for the session and return its html folder.

    ``--all`` makes Sphinx re-read every page (the notebooks' outputs still come from the
    execution cache): an incremental build would skip unchanged pages and so hide the
    warnings they gave last time.
    """
    ensure_static_assets()
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    if not jupyter_book.is_file():
        pytest.fail(f"jupyter-book not found next to {sys.executable}; run `make install`")
    root = build_root()
    build = root / "_build"
    build.mkdir(parents=True, exist_ok=True)
    log = build / BUILD_LOG
    cmd = [str(jupyter_book), "build", str(REPO), "--warningiserror", "--keep-going", "--all"]
    if root != REPO:
        cmd += ["--path-output", str(root)]
    env = {**os.environ, "ASP_LAB_BOOK_BUILD": "1"}
    with log.open("w") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        try:
            proc = subprocess.run(
                cmd,
                cwd=REPO,
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                timeout=BUILD_TIMEOUT_S,
            )
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = f"timeout after {BUILD_TIMEOUT_S} s"
    html = build / "html"
    if code != 0 or not (html / "index.html").is_file():
        pytest.fail(
            f"the book build failed (exit {code}); full log in {log}\n"
            + _failure_summary(read_build_log(html)),
            pytrace=False,
        )
    return html


# ------------------------------------------------------------------------------------ the browser


@pytest.fixture(scope="session")
def chromium_paths() -> tuple[str, str]:
    """Debian's chromium and chromedriver. Missing: a failure under CI=true, else a skip."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium and chromedriver:
        return chromium, chromedriver
    missing = " and ".join(
        n for n, p in [("chromium", chromium), ("chromedriver", chromedriver)] if not p
    )
    message = (
        f"{missing} not on PATH: install them (Debian: apt-get install chromium "
        f"chromium-driver, or `make browser`) to run the browser tests"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(message)


# ------------------------------------------------------------------ the site as Pages serves it


class PagesServer:
    """``_build/html`` served over HTTP on loopback the way GitHub Pages serves the project
    site: under ``/<repository name>/`` (``base``), a folder's ``index.html`` for its URL, and
    the site's own ``404.html`` with status 404 for any path that does not exist.
    """

    def __init__(self, html: Path, prefix: str) -> None:
        import http.server
        import threading

        self.html, self.prefix = html, prefix

        class Handler(http.server.SimpleHTTPRequestHandler):
            def translate_path(self, path: str) -> str:
                from urllib.parse import unquote, urlsplit

                path = unquote(urlsplit(path).path)
                if not path.startswith(f"/{prefix}/"):
                    return str(html / "__outside_the_site__" / "missing")  # Pages: 404
                return str(html.joinpath(*[p for p in path[len(prefix) + 2:].split("/")
                                           if p not in ("", ".", "..")]))

            def send_error(self, code, message=None, explain=None):
                page = html / "404.html"
                if code != 404 or not page.is_file():
                    return super().send_error(code, message, explain)
                body = page.read_bytes()
                self.send_response(404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def log_message(self, *args):  # keep pytest's output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.base = f"{self.origin}/{prefix}/"

    def url(self, name: str = "") -> str:
        return self.base + name

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def pages_prefix() -> str:
    """The path GitHub Pages serves the site under: the repository's name."""
    return book_config()["repository"]["url"].rstrip("/").rsplit("/", 1)[-1]


@pytest.fixture(scope="session")
def site(built_book):
    """The built site over HTTP at ``http://127.0.0.1:PORT/asp_lab/``, as Pages serves it."""
    server = PagesServer(built_book, pages_prefix())
    try:
        yield server
    finally:
        server.close()
