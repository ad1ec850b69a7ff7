"""The library's imports point down only, read from the source with ast (every import,
those inside functions included, so that a lazy import cannot hide a cycle).

LAYERS lists asp_lab's modules bottom to top: a module may import only modules listed
before it. A new module must be placed in the list.
"""

from __future__ import annotations

import ast

import pytest
from conftest import REPO

PACKAGE = REPO / "asp_lab"

#: Bottom to top: constants and data (and the noises cut from it), features, pooling and
#: the field's reference layers, models, inference and evaluation, training, the
#: experiments (and ``analysis``, which gathers the names the chapters use), the export and
#: the benchmark; figures, widgets and the CLI on top.
LAYERS = (
    "constants", "provenance", "metrics", "blog", "mixing",
    "data", "noises", "folds",
    "features",
    "pooling", "reference", "handset", "variants",
    "models",
    "inference", "evaluation",
    "train",
    "experiments", "analysis", "export",
    "bench",
    "viz", "widgets",
    "cli",
)


def modules() -> dict[str, str]:
    """``{module name: dotted name}`` of asp_lab's modules (``pooling``, ``train.loop``...)."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        if parts:
            out[".".join(parts)] = path
    return out


def imports_of(name: str, path) -> set[str]:
    """The asp_lab modules that module ``name`` imports, anywhere in its source."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    known, found = modules(), set()

    def add(dotted: str) -> None:
        while dotted and dotted not in known:  # asp_lab.pooling.steps -> pooling.steps
            dotted = dotted.rpartition(".")[0]
        if dotted and dotted != name and not name.startswith(dotted + "."):
            found.add(dotted)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "asp_lab":
                    add(alias.name.partition(".")[2])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and node.module.split(".")[0] == "asp_lab":
                target = node.module.partition(".")[2]
            else:
                continue
            # `from . import checks` names submodules; the package it runs first is the
            # importer's own parent, whose __init__ only gathers its submodules' names.
            if target and node.module:
                add(target)
            for alias in node.names:  # from . import data / from .pooling import steps
                sub = f"{target}.{alias.name}" if target else alias.name
                if sub in known:
                    add(sub)
    return found


def graph() -> dict[str, set[str]]:
    return {name: imports_of(name, path) for name, path in modules().items()
            if name != ""}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


#: Inside a package, the same rule: bottom to top.
SUBLAYERS = {
    "pooling": ("checks", "steps", "fast", "layers"),
    "train": ("config", "runtime", "recipe", "batches", "objective", "loop", "distributed", "jobs",
              "shipping",
              "cli", "__main__"),
    "experiments": ("measures", "attention_grid", "paired", "crossval"),
    "viz": ("book", "figures", "glance", "det", "controls", "attention_twin", "noise_twin"),
    "widgets": ("common", "attention", "noise"),
    "reference": ("wespeaker", "speechbrain"),
    "bench": ("layers", "timing", "machine", "autocast", "ratios", "runner", "report", "cli",
              "__main__"),
}


def test_inside_a_package_imports_point_down_too():
    wrong = []
    for package, order in SUBLAYERS.items():
        for a, targets in graph().items():
            if not a.startswith(package + "."):
                continue
            for b in sorted(targets):
                if b.startswith(package + ".") and (
                        order.index(b.split(".")[1]) >= order.index(a.split(".")[1])):
                    wrong.append(f"asp_lab.{a} imports asp_lab.{b}, which is not below it")
    assert not wrong, "\n".join(wrong)


def _layer(name: str) -> int:
    top = name.split(".")[0]
    assert top in LAYERS, f"asp_lab.{name} is in no layer: place it in LAYERS ({__file__})"
    return LAYERS.index(top)


def test_every_import_points_down():
    wrong = [f"asp_lab.{a} imports asp_lab.{b}, which is not below it"
             for a, targets in graph().items() if a != "__init__"
             for b in sorted(targets) if b.split(".")[0] != a.split(".")[0]
             and _layer(b) >= _layer(a)]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("edges, cycle", [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"b"}, "b": set(), "c": {"a", "b"}}, None),
])
def test_find_cycle_finds_cycles(edges, cycle):
    assert find_cycle(edges) == cycle


def test_imports_of_sees_lazy_and_relative_imports(tmp_path):
    """What the graph is read from: a lazy import inside a function counts, and relative
    imports resolve from the importer's own package."""
    source = tmp_path / "probe.py"
    source.write_text("from .. import data\nfrom .config import TrainConfig\n\n"
                      "def f():\n    from ..evaluation import evaluate\n"
                      "    import asp_lab.features\n")
    found = imports_of("train.probe", source)
    assert found == {"data", "train.config", "evaluation", "features"}, found


def test_every_package_ships():
    """A folder of modules that pyproject does not list is left out of a plain install
    (Colab's setup cell installs the clone without -e): every package must be listed."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in PACKAGE.rglob("__init__.py")}
    assert found - listed == set(), f"packages missing from pyproject.toml: {found - listed}"
