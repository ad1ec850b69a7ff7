"""Publishing the book: the GitHub Actions workflow that builds it and deploys it to GitHub
Pages, ``make publish`` (by hand, with ghp-import), and the README's links to the site, its
build badge and Colab, all derived from ``_config.yml``'s ``repository.url``.

The workflow is validated against the GitHub-workflow JSON schema (check-jsonschema ships
it, so the check runs offline), and its structure with yaml.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from conftest import REPO, book_config, chapter_files

WORKFLOW = REPO / ".github" / "workflows" / "book.yml"
CHAPTER_2 = "notebooks/02_asp_step_by_step"


def workflow() -> dict:
    assert WORKFLOW.is_file(), f"{WORKFLOW} is missing"
    return yaml.safe_load(WORKFLOW.read_text())


def triggers(wf: dict) -> dict:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    on = wf.get("on", wf.get(True))
    assert isinstance(on, dict), f"the workflow's `on:` should be a mapping, got {on!r}"
    return on


def steps(job: dict) -> list[dict]:
    return job.get("steps") or []


def uses(job: dict, action: str) -> list[dict]:
    return [s for s in steps(job) if str(s.get("uses", "")).split("@")[0] == action]


def repo_slug() -> tuple[str, str]:
    url = book_config()["repository"]["url"]
    parts = urlsplit(url).path.strip("/").removesuffix(".git").split("/")
    assert urlsplit(url).netloc == "github.com" and len(parts) == 2, (
        f"_config.yml repository.url is not a GitHub repository URL: {url}"
    )
    return parts[0], parts[1]


# ------------------------------------------------------------------------------ the workflow


def _check_workflow_schema(path: Path) -> subprocess.CompletedProcess:
    # check-jsonschema ships SchemaStore's GitHub-workflow schema, so this runs offline.
    # (actionlint would be stricter, but its PyPI wrapper downloads the binary from GitHub
    # at install time, which these machines cannot reach.)
    exe = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run(
        [str(exe), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True, text=True, timeout=120,
    )


def test_workflow_matches_the_github_workflow_schema():
    proc = _check_workflow_schema(WORKFLOW)
    assert proc.returncode == 0, f"check-jsonschema:\n{proc.stdout}{proc.stderr}"


def test_schema_check_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    text = WORKFLOW.read_text()
    broken.write_text(text.replace("runs-on:", "runs_on:", 1))  # a typo GitHub would reject
    assert text != broken.read_text()
    assert _check_workflow_schema(broken).returncode != 0


def test_workflow_runs_on_main_pushes_and_pull_requests():
    on = triggers(workflow())
    assert "pull_request" in on, "the book should be built on pull requests"
    assert (on.get("push") or {}).get("branches") == ["main"], (
        f"the workflow should run on pushes to main: push = {on.get('push')!r}"
    )


def test_workflow_builds_with_make_book_and_caches_execution():
    jobs = workflow()["jobs"]
    assert "build" in jobs, f"no `build` job: {list(jobs)}"
    build = jobs["build"]
    runs = " ".join(str(s.get("run", "")) for s in steps(build))
    assert re.search(r"(^|\s)make book(\s|$)", runs), (
        f"the build job must run `make book`: {runs!r}"
    )
    assert "jupyter-book build" not in runs, "build through `make book`, not jupyter-book directly"

    (python,) = uses(build, "actions/setup-python")
    assert str(python["with"]["python-version"]) == "3.11"

    caches = uses(build, "actions/cache")
    assert caches, "the notebooks' execution cache is not restored (actions/cache)"
    cache = caches[0]["with"]
    assert "_build/.jupyter_cache" in str(cache["path"]).split()
    assert "_build/.cache-fingerprint" in str(cache["path"]).split(), (
        "restore the cache's fingerprint with it, or `make book` clears the cache every time"
    )
    for keyed_on in ("notebooks/*.ipynb", "asp_lab/**", "requirements.txt"):
        assert keyed_on in cache["key"], f"the cache key does not hash {keyed_on}: {cache['key']}"

    (upload,) = uses(build, "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "_build/html"
    assert not uses(build, "actions/deploy-pages"), "the build job must not deploy"


def test_workflow_deploys_only_on_pushes_to_main():
    wf = workflow()
    deployers = {name: job for name, job in wf["jobs"].items() if uses(job, "actions/deploy-pages")}
    assert list(deployers) == ["deploy"], f"jobs that deploy: {list(deployers)}"
    deploy = deployers["deploy"]
    condition = " ".join(str(deploy.get("if", "")).split())
    assert "github.event_name == 'push'" in condition, f"deploy's if: {condition!r}"
    assert "github.ref == 'refs/heads/main'" in condition, f"deploy's if: {condition!r}"
    assert deploy.get("needs") in ("build", ["build"])
    assert deploy.get("permissions") == {"pages": "write", "id-token": "write"}
    environment = deploy.get("environment")
    name = environment.get("name") if isinstance(environment, dict) else environment
    assert name == "github-pages"
    assert deploy.get("concurrency") or wf.get("concurrency"), "no concurrency group"
    # Nothing else may write: the workflow's default token only reads.
    assert wf.get("permissions") == {"contents": "read"}


def test_workflow_pins_every_action_to_a_major_version():
    for name, job in workflow()["jobs"].items():
        for step in steps(job):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), (
                    f"job {name}: {step['uses']!r} is not pinned to a version (owner/name@vN)"
                )


# --------------------------------------------------------------------- make publish, README


def test_make_publish_uses_ghp_import():
    makefile = (REPO / "Makefile").read_text()
    target = re.search(r"^publish:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert target, "the Makefile has no `publish` target"
    assert "ghp-import -n -p -f _build/html" in target.group(1)
    requirements = (REPO / "requirements.txt").read_text().splitlines()
    assert any(re.fullmatch(r"ghp-import==[\d.]+", line.strip()) for line in requirements), (
        "ghp-import is not pinned (==) in requirements.txt"
    )


def test_readme_links_agree_with_config():
    owner, name = repo_slug()
    readme = (REPO / "README.md").read_text()
    badge = f"https://github.com/{owner}/{name}/actions/workflows/{WORKFLOW.name}/badge.svg"
    assert badge in readme, f"README has no build badge {badge}"
    site = f"https://{owner}.github.io/{name}/"
    assert site in readme, f"README does not link the site {site}"
    branch = book_config()["repository"].get("branch", "main")
    assert CHAPTER_2 in chapter_files()
    colab = (
        f"https://colab.research.google.com/github/{owner}/{name}/blob/{branch}/{CHAPTER_2}.ipynb"
    )
    assert f"]({colab})" in readme, f"README has no 'Open in Colab' badge linking {colab}"
    assert (REPO / f"{CHAPTER_2}.ipynb").is_file()
    # No link to another owner's copy of the repository or site.
    for url in re.findall(r"https://(?:github\.com|[\w-]+\.github\.io)/[\w./-]+", readme):
        assert f"{owner}/{name}" in url or url.startswith(f"https://{owner}.github.io/{name}"), (
            f"README links {url}, which is not {owner}/{name}"
        )


# ---------------------------------------------------------- a shared link, the favicon, 404


def test_pages_describe_themselves_for_shared_links(built_book, toc_page):
    from bs4 import BeautifulSoup
    from PIL import Image

    owner, name = repo_slug()
    site = f"https://{owner}.github.io/{name}/"
    assert book_config()["sphinx"]["config"]["ogp_site_url"] == site
    soup = BeautifulSoup(
        (built_book / f"{toc_page}.html").read_text(encoding="utf-8"), "html.parser"
    )
    og = {m["property"]: m.get("content", "") for m in soup.find_all("meta", property=True)}
    assert og.get("og:url") == f"{site}{toc_page}.html", f"{toc_page}: og:url {og.get('og:url')!r}"
    for key in ("og:title", "og:description", "og:image", "og:image:alt"):
        assert og.get(key, "").strip(), f"{toc_page}: no {key}"
    assert og["og:image"].startswith(site), og["og:image"]
    card = built_book / og["og:image"].removeprefix(site)
    assert card.is_file(), f"the card {og['og:image']} is not in the site ({card})"
    assert Image.open(card).size == (1200, 630), f"{card} is not 1200 x 630 px"
    icons = [link["href"] for link in soup.find_all("link", rel="icon")]
    assert icons and (built_book / f"{toc_page}.html").parent.joinpath(icons[0]).is_file(), (
        f"{toc_page}: favicon {icons}"
    )


def test_site_has_a_404_page(built_book):
    from bs4 import BeautifulSoup

    _, name = repo_slug()
    page = built_book / "404.html"
    assert page.is_file(), "no 404.html at the site's root (GitHub Pages serves it)"
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    assert "Page not found" in soup.get_text()
    # Served for any missing URL, so its links must not be relative to where it lives.
    for tag, attr in (("link", "href"), ("script", "src"), ("a", "href")):
        for el in soup.find_all(tag, **{attr: True}):
            url = el[attr]
            if urlsplit(url).scheme or url.startswith("#"):
                continue
            assert url.startswith(f"/{name}/"), f"404.html: relative {tag} {attr}={url!r}"
