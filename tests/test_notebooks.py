"""The notebooks as sources: each ``.py`` (jupytext percent, what we edit) has its ``.ipynb``
(what Colab and the book open), in sync and without outputs; each chapter ends with exercises
and hidden solutions; and ruff is happy with the code.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys

import jupytext
import nbformat
import pytest
from conftest import REPO, chapter_files

NOTEBOOKS = REPO / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("*.py"))
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$", re.MULTILINE)


def _ids(paths):
    return [p.name for p in paths]


def test_there_are_notebooks_and_the_toc_chapters_have_sources():
    assert SOURCES, f"no notebooks/*.py in {NOTEBOOKS}"
    for chapter in chapter_files():
        assert (REPO / f"{chapter}.py").is_file(), f"_toc.yml lists {chapter}, which has no .py"


def test_every_py_has_its_ipynb_and_back():
    py = {p.stem for p in NOTEBOOKS.glob("*.py")}
    ipynb = {p.stem for p in NOTEBOOKS.glob("*.ipynb")}
    assert py - ipynb == set(), f"no .ipynb for {sorted(py - ipynb)}: run `make sync`"
    assert ipynb - py == set(), f"no .py source for {sorted(ipynb - py)}"


def _without_cell_ids(nb: dict) -> dict:
    # Cell ids are random: jupytext (through nbformat) makes new ones on every conversion, so
    # they cannot match; everything else must. (test_ipynb_is_valid checks the ids are valid.)
    nb = copy.deepcopy(nb)
    for cell in nb.get("cells", []):
        cell.pop("id", None)
    return nb


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_ipynb_is_what_jupytext_makes_from_the_py(source):
    target = source.with_suffix(".ipynb")
    assert target.is_file(), f"{target.name} is missing: run `make sync`"
    expected = json.loads(jupytext.writes(jupytext.read(source), fmt="ipynb"))
    actual = json.loads(target.read_text())
    exp_cells, act_cells = expected["cells"], actual["cells"]
    stale = f"{target.name} is stale: run `jupytext --to ipynb notebooks/{source.name}`"
    assert [(c["cell_type"], c["source"]) for c in act_cells] == [
        (c["cell_type"], c["source"]) for c in exp_cells
    ], stale
    assert _without_cell_ids(actual) == _without_cell_ids(expected), stale


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_ipynb_is_valid_has_no_outputs_and_runs_python3(source):
    target = source.with_suffix(".ipynb")
    nb = nbformat.read(target, as_version=4)
    nbformat.validate(nb)  # includes: every cell has a unique, well-formed id
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, f"{target.name}: cells {dirty} have outputs or execution counts"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", (
        f"{target.name}: kernelspec is not python3 (use the header in notes/common.md)"
    )


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_chapter_ends_with_exercises_and_hidden_solutions(source):
    nb = jupytext.read(source)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    headings = [
        (m.start(), m.group(2))
        for m in HEADING.finditer(markdown)
        if not _inside_fence(markdown, m.start())
    ]
    assert headings, f"{source.name} has no headings"
    start, last = headings[-1]
    assert last.lower().startswith("exercises"), (
        f"{source.name}: the last section is '{last}', not 'Exercises'"
    )
    solutions = markdown[start:].count(":class: dropdown")
    assert solutions >= 2, (
        f"{source.name}: the Exercises section has {solutions} hidden solutions "
        f"(```{{admonition}} Solution + :class: dropdown), at least 2 expected"
    )


def _inside_fence(text: str, pos: int) -> bool:
    """Whether ``pos`` lies inside a ``` or ~~~ fenced block (a '#' there is no heading)."""
    fences = re.findall(r"^\s*(```|~~~)", text[:pos], flags=re.MULTILINE)
    return len(fences) % 2 == 1


def _ruff(*paths: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", *paths], cwd=REPO, capture_output=True, text=True
    )


def test_ruff_passes_on_the_library_and_tests():
    result = _ruff("asp_lab", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_passes_on_the_notebook_sources():
    result = _ruff("notebooks")
    assert result.returncode == 0, result.stdout + result.stderr
