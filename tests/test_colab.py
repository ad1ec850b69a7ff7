"""Every chapter opens on Colab: its first code cell clones the repository, installs asp_lab
from it and points the loader at the clone's data/ when (and only when) it runs on Colab.

The cell is run here in a simulated Colab: a stub ``google.colab`` module, the clone made
from this checkout instead of GitHub, and ``pip install`` recorded instead of run (asp_lab
is already installed in the test environment).
"""

from __future__ import annotations

import subprocess
import sys
import types

import jupytext
import pytest
from conftest import REPO, book_config

from asp_lab import data

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.py"))
TEMPLATE = REPO / "book" / "colab_setup_cell.py"  # the setup cell, written once


def first_code_cell(path) -> str:
    cells = [c for c in jupytext.read(path).cells if c.cell_type == "code"]
    assert cells, f"{path.name} has no code cell"
    return cells[0].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_is_the_colab_setup(path):
    cell = first_code_cell(path)
    url = book_config()["repository"]["url"]
    assert f'ASP_LAB_REPO = "{url}"' in cell, (
        f"{path.name}: the first code cell must be the Colab setup cell, cloning {url} "
        f"(repository.url in _config.yml)"
    )
    assert cell == TEMPLATE.read_text().rstrip("\n"), (
        f"{path.name}: the Colab setup cell differs from book/colab_setup_cell.py, the one "
        f"copy (run make sync)"
    )


def test_make_sync_stamps_the_template_into_a_chapter_that_drifted(tmp_path):
    """A chapter whose setup cell was edited by hand gets the template back; the cells
    around it stay as they were."""
    stamp = _stamp_module()
    text = NOTEBOOKS[0].read_text()
    template = TEMPLATE.read_text()
    drifted = text.replace('if "google.colab" in sys.modules:', 'if False:  # edited', 1)
    assert drifted != text
    assert stamp.stamped(drifted, template, "probe") == text
    with pytest.raises(ValueError, match="no setup cell"):
        stamp.stamped("# %%\nprint(1)\n", template, "probe.py")


def _stamp_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("stamp_colab_cell",
                                                  REPO / "book" / "stamp_colab_cell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_cell(monkeypatch, tmp_path, on_colab: bool) -> list[list[str]]:
    """Run the setup cell in ``tmp_path``; return the commands it ran (clone made locally)."""
    calls: list[list[str]] = []
    real_run = subprocess.run

    def fake_run(cmd, *args, **kwargs):
        calls.append(list(cmd))
        if cmd[:2] == ["git", "clone"]:  # the clone: from this checkout, not from GitHub
            local = [*cmd[:-2], REPO.as_uri(), cmd[-1]]
            return real_run(local, *args, capture_output=True, **kwargs)
        assert cmd[1:4] == ["-m", "pip", "install"], f"unexpected command {cmd}"
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.delenv("ASP_LAB_DATA", raising=False)
    if on_colab:
        google = types.ModuleType("google")
        colab = types.ModuleType("google.colab")
        google.colab = colab
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", colab)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(first_code_cell(NOTEBOOKS[0]), "colab-setup-cell", "exec"), {})
    return calls


def test_setup_cell_on_colab_clones_installs_and_uses_the_clone_data(monkeypatch, tmp_path):
    calls = run_cell(monkeypatch, tmp_path, on_colab=True)
    assert [c[:2] for c in calls] == [["git", "clone"], [sys.executable, "-m"]]
    assert "--depth" in calls[0], "the clone should be shallow"
    assert calls[1][-1] == "./asp_lab_repo", "asp_lab should be installed from the clone"
    assert "--no-deps" in calls[1], "installing asp_lab must not upgrade what Colab ships"
    import os

    root = tmp_path / "asp_lab_repo" / "data"
    assert os.environ["ASP_LAB_DATA"] == str(root)
    assert data.default_root() == root
    assert data.verify() == data.verify(REPO / "data")  # the clone's data is all there


def test_setup_cell_runs_twice_without_cloning_again(monkeypatch, tmp_path):
    run_cell(monkeypatch, tmp_path, on_colab=True)
    calls = run_cell(monkeypatch, tmp_path, on_colab=True)
    assert [c[0] for c in calls] == [sys.executable], "a second run should only reinstall"


def test_setup_cell_does_nothing_elsewhere(monkeypatch, tmp_path):
    import os

    assert run_cell(monkeypatch, tmp_path, on_colab=False) == []
    assert "ASP_LAB_DATA" not in os.environ
    assert list(tmp_path.iterdir()) == []


def test_setup_cell_installs_only_what_is_missing(monkeypatch, tmp_path):
    """A dependency Colab lacks is installed, with asp_lab's bound; the others are left alone."""
    import importlib.metadata

    real_version = importlib.metadata.version

    def version(name):
        if name == "librosa":
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    calls = run_cell(monkeypatch, tmp_path, on_colab=True)
    assert len(calls) == 3, calls
    needs = [n for n in pyproject()["project"]["dependencies"] if n.startswith("librosa")]
    assert calls[2][5:] == needs, f"expected only {needs} to be installed, not {calls[2][5:]}"


def pyproject() -> dict:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text())


def colab_versions() -> dict[str, str]:
    lines = (REPO / "tests" / "colab" / "colab-versions.txt").read_text().splitlines()
    pins = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    return {name.lower(): version for name, version in pins}


def test_pyproject_accepts_every_version_colab_ships():
    from packaging.requirements import Requirement

    shipped = colab_versions()
    for need in map(Requirement, pyproject()["project"]["dependencies"]):
        name = need.name.lower()
        assert name in shipped, f"{name}: add Colab's version to tests/colab/colab-versions.txt"
        assert need.specifier.contains(shipped[name]), (
            f"pyproject.toml asks for {need}; Colab ships {name} {shipped[name]}, so the "
            f"setup cell would run against a version asp_lab does not accept"
        )
