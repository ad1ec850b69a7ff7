"""Every chapter on Colab's own package versions, installed the way the chapters do it there.

`make colab-env` builds ``.venv-colab`` from tests/colab/colab-versions.txt: Colab's versions of
what asp_lab imports (ipywidgets 7.7.1, IPython 7.34, ipykernel 6.17, numpy 2.1.3, plotly 5.24,
...), but with this machine's Python (3.11, not Colab's 3.13) and torch 2.13's CPU build (Colab
ships 2.11 with CUDA, which has no wheel here). The tests below then do what a reader on Colab
does, with a stub ``google.colab`` module:

- each chapter's first cell installs asp_lab from a copy of this checkout (``pip install
  --no-deps``, for real), and no package Colab ships changes version;
- every notebook runs end to end in a kernel of that environment (nbclient), outside the book
  build, so the live widgets are built;
- each widget's callbacks are driven as a reader's moves would drive them (utterance,
  temperature, noise, SNR, model, an upload in ipywidgets 7's and 8's formats, and the
  Colab upload dialog).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import nbformat
import pytest
from conftest import REPO

COLAB_VENV = REPO / ".venv-colab"
COLAB_PYTHON = COLAB_VENV / "bin" / "python"
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 900

pytestmark = pytest.mark.colab

# Runs first in every kernel: what Colab has and this machine lacks. files.upload answers
# with a 2 s recording at 44.1 kHz in stereo, as Colab's dialog would return a reader's file.
STUB = '''
import io as _io, sys as _sys, types as _types
import numpy as _np, soundfile as _sf
_google, _colab = _types.ModuleType("google"), _types.ModuleType("google.colab")
def _upload():
    _buffer = _io.BytesIO()
    _rng = _np.random.default_rng(0)
    _sf.write(_buffer, 0.1 * _rng.standard_normal((88200, 2)), 44100, format="WAV")
    COLAB_UPLOADS.append("mine.wav")
    return {"mine.wav": _buffer.getvalue()}
COLAB_UPLOADS = []
_colab.files = _types.SimpleNamespace(upload=_upload)
_google.colab = _colab
_sys.modules["google"], _sys.modules["google.colab"] = _google, _colab
'''

# Appended to a chapter: a reader's moves on its widget, each checked by what it changes.
DRIVE = {
    "02_asp_step_by_step": '''
choose, scale, temperature = explorer.children[0].children
summary, picture = explorer.children[1], explorer.children[2]
seen = {(summary.value, picture.value)}
for control, value in ((temperature, 10.0), (temperature, 0.05), (scale, 5.0),
                       (choose, choose.options[-1])):
    control.value = value
    assert (summary.value, picture.value) not in seen, f"{control.description} changed nothing"
    seen.add((summary.value, picture.value))
print("DRIVEN", len(seen))
''',
    "06_attention_noise": '''
import io, ipywidgets, numpy as np, soundfile as sf
e = explorer
first = e.state
for control, value in ((e.snr, 20), (e.noise, "babble"), (e.mode, "add"), (e.position, 0.0),
                       (e.length, 0.6), (e.model, "asp-channel"), (e.model, "stats"),
                       (e.utterance, e.utterance.options[1])):
    before = e.state
    control.value = value
    assert e.state is not before, f"moving {control.description} did not update the app"
assert e.state["model"] == "stats" and abs(e.state["relative_mass"] - 1.0) < 1e-6
assert isinstance(e.upload, ipywidgets.Button), "on Colab the upload is Colab's dialog"
e.upload.click()
assert COLAB_UPLOADS == ["mine.wav"] and e.utterance.value == "upload: mine.wav", e.message.value
buffer = io.BytesIO()
sf.write(buffer, 0.1 * np.random.default_rng(1).standard_normal(16000), 16000, format="WAV")
content = buffer.getvalue()
e._on_upload({"new": {"seven.wav": {"metadata": {"name": "seven.wav"}, "content": content}}})
assert e.utterance.value == "upload: seven.wav", e.message.value
e._on_upload({"new": ({"name": "eight.wav", "content": memoryview(content)},)})
assert e.utterance.value == "upload: eight.wav", e.message.value
assert e.state["utterance"] == "upload: eight.wav" and e.picture.value[:4] == b"\\x89PNG"
print("DRIVEN", e.state["model"])
''',
}


def _freeze() -> dict[str, str]:
    out = subprocess.run([str(COLAB_PYTHON), "-m", "pip", "list", "--format=json",
                          "--disable-pip-version-check"], capture_output=True, text=True,
                         check=True).stdout
    return {p["name"].lower(): p["version"] for p in json.loads(out)}


def _colab_pins() -> dict[str, str]:
    text = (REPO / "tests" / "colab" / "colab-versions.txt").read_text()
    return dict(re.findall(r"^([\w.-]+)==(\S+)$", text, re.M))


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """A working directory as Colab's: the repository copied to ``asp_lab_repo`` (what the
    setup cell's clone gives, from this working tree), and a kernel spec for .venv-colab."""
    if not COLAB_PYTHON.is_file():
        message = "no .venv-colab: run `make colab-env` (make test does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("colab")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (work / "asp_lab_repo" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, work / "asp_lab_repo" / name)
    spec = work / "jupyter" / "kernels" / "colab"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(COLAB_PYTHON), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab's versions", "language": "python"}))
    return work


@pytest.fixture(scope="module")
def before(colab):
    subprocess.run([str(COLAB_PYTHON), "-m", "pip", "uninstall", "--yes", "--quiet", "asp_lab"],
                   capture_output=True)
    return _freeze()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_runs_on_colabs_versions(path, colab, before, monkeypatch):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(STUB))
    if path.stem in DRIVE:
        nb.cells.append(nbformat.v4.new_code_cell(DRIVE[path.stem]))
    monkeypatch.setenv("JUPYTER_PATH", str(colab / "jupyter"))
    for name in ("ASP_LAB_BOOK_BUILD", "ASP_LAB_DATA", "PYTHONPATH"):  # a reader's kernel
        monkeypatch.delenv(name, raising=False)
    client = NotebookClient(nb, kernel_name="colab", timeout=CELL_TIMEOUT_S,
                            resources={"metadata": {"path": str(colab)}})
    client.execute()

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "GPU: none" in text, "the setup cell did not run as on Colab"
    if path.stem in DRIVE:
        assert "DRIVEN" in text, "the widget was not driven"
    for bad in ("Traceback", "ImportError", "DeprecationWarning", "is deprecated"):
        assert bad not in text, f"{path.stem} printed {bad!r}:\n{text[-3000:]}"

    after = _freeze()
    assert "asp-lab" in after or "asp_lab" in after, "the setup cell did not install asp_lab"
    changed = {name: (version, after.get(name)) for name, version in before.items()
               if after.get(name) != version}
    assert not changed, f"installing asp_lab changed packages Colab ships: {changed}"
    for name, version in _colab_pins().items():
        if name != "torch":
            assert after.get(name.lower()) == version, f"{name} is not Colab's {version}"
