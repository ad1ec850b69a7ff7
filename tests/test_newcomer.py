"""What a newcomer runs: the README's two commands, in the README's order, and CI the same.

`make book` and then `make test` must give the pages that `make test` checks; so the execution
cache may never keep a page computed by another library, other checkpoints or other installed
packages (`make cache-check`, run by both).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO


def readme_commands() -> list[str]:
    block = re.search(r"## Two commands.*?```bash\n(.*?)```", (REPO / "README.md").read_text(),
                      re.S)
    assert block, "README.md has no '## Two commands' section with a bash block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_readme_says_make_book_then_make_test():
    assert readme_commands() == ["make book", "make test"]


def test_ci_runs_what_the_readme_says_in_its_order():
    lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    commands = [line for line in lines if line.startswith("make")]
    assert commands == readme_commands(), f".ci/run runs {commands}"


def test_book_installs_what_the_book_shows():
    """Chapter 7 compares with SpeechBrain: `make book` installs it, not only `make test`."""
    out = subprocess.run(["make", "-n", "-B", "book"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    assert "speechbrain==" in out, "make book does not install SpeechBrain (bench-deps)"
    assert out.index("speechbrain==") < out.index("jupyter-book build")


def _cache_check(build: Path) -> str:
    return subprocess.run(["make", "-s", "cache-check", f"BUILD_DIR={build}"], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture
def build_dir(tmp_path):
    if not (REPO / ".venv" / ".installed").is_file() or not shutil.which("make"):
        pytest.skip("needs the project's .venv (make install)")
    return tmp_path / "_build"


def test_cache_survives_only_while_nothing_it_depends_on_changes(build_dir):
    cache = build_dir / ".jupyter_cache"

    def fill():
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "entry").write_text("a notebook's outputs")

    fill()
    assert "clearing" in _cache_check(build_dir), "a cache without a fingerprint was kept"
    assert not cache.exists()
    fill()
    assert _cache_check(build_dir) == ""
    assert (cache / "entry").is_file(), "the cache was cleared although nothing changed"

    fingerprint = build_dir / ".cache-fingerprint"
    lines = fingerprint.read_text().splitlines()
    assert any(line.startswith("torch==") for line in lines), "pip freeze is not in it"
    assert any("asp_lab/pooling/" in line for line in lines), "the library's files are not in it"
    for changed in (
        [re.sub(r"^numpy==.*", "numpy==1.0.0", line) for line in lines],  # another numpy
        [line.replace(line.split()[0], "0" * 64) if "checkpoints/" in line else line
         for line in lines],  # another checkpoint
    ):
        assert changed != lines
        fingerprint.write_text("\n".join(changed) + "\n")
        assert "clearing" in _cache_check(build_dir)
        assert not cache.exists(), "a cache filled by other packages or checkpoints was kept"
        fill()
