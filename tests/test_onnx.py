"""The shipped models as ONNX graphs (asp_lab.export): onnxruntime on the exported graph gives
what the library gives, on real speech and on inputs a reader's browser may send."""

from __future__ import annotations

import json

import numpy as np
import pytest

import asp_lab
from asp_lab import analysis, data, export
from asp_lab.features import log_mel_torch

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

#: Largest difference allowed between the graph's weights and the library's (the page's
#: figures must match the library's to this, too). Measured: at most 3e-5.
ALPHA_TOL = 1e-4
#: Largest relative difference (in norm) between the graph's embedding and embed's: both
#: are float32, with ONNX's DFT in place of torch's FFT. Measured: at most 1.4e-4.
EMBED_RTOL = 1e-3


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx")
    records = export.export_all(out)
    return out, records


@pytest.fixture(scope="module")
def speech():
    return data.load_audio(data.utterances("test-other")[0].path)


def inputs(speech: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    loud = speech / np.abs(speech).max()  # peak at full scale
    return {
        "speech": speech,
        "shortest": speech[: analysis.min_samples()],
        "one frame more": speech[: analysis.min_samples() + 160],
        "60 s": np.resize(speech, export.MAX_SECONDS * data.SAMPLE_RATE),
        "full scale": loud,
        "clipped noise": np.clip(3 * rng.standard_normal(32_000), -1, 1),
        "near silence": 1e-4 * rng.standard_normal(32_000),
        "an odd length": speech[:12_345],
    }


def run(session, wave: np.ndarray):
    return session.run(None, {"wave": np.asarray(wave, np.float32)[None]})


@pytest.mark.parametrize("name", analysis.MODEL_NAMES)
def test_graph_equals_embed_and_frame_attention(exported, speech, name):
    folder, _ = exported
    session = ort.InferenceSession(str(folder / f"{name}.onnx"))
    model = asp_lab.load_model(name)
    for case, wave in inputs(speech).items():
        wave = np.asarray(wave, np.float32)
        embedding, alpha, alpha_map, mel = run(session, wave)
        want = asp_lab.embed(model, wave)
        times, want_alpha = asp_lab.frame_attention(model, wave)
        _, want_map = analysis.channel_attention(model, wave)
        error = np.linalg.norm(embedding - want) / np.linalg.norm(want)
        assert error < EMBED_RTOL, f"{name}, {case}: embedding differs by {error:.2e} (relative)"
        assert alpha.shape == want_alpha.shape, f"{name}, {case}: {alpha.shape} frames"
        np.testing.assert_allclose(alpha, want_alpha, rtol=0, atol=ALPHA_TOL,
                                   err_msg=f"{name}, {case}: alpha")
        np.testing.assert_allclose(alpha_map, want_map, rtol=0, atol=ALPHA_TOL,
                                   err_msg=f"{name}, {case}: alpha_map")
        assert abs(float(alpha.sum()) - 1) < 1e-5
        want_mel = log_mel_torch(wave)[0].numpy()
        # natural-log units: 0.05 is 5 % of one band's power in one frame, at worst
        np.testing.assert_allclose(mel, want_mel, rtol=0, atol=5e-2, err_msg=f"{name}: log_mel")
        assert np.abs(mel - want_mel).mean() < 1e-3, f"{name}, {case}: log_mel"


def test_channel_model_gives_one_row_per_channel(exported, speech):
    folder, _ = exported
    _, alpha, alpha_map, _ = run(ort.InferenceSession(str(folder / "asp-channel.onnx")), speech)
    model = asp_lab.load_model("asp-channel")
    assert alpha_map.shape == (model.pooling.channels, alpha.size)
    np.testing.assert_allclose(alpha_map.sum(axis=1), 1.0, atol=1e-5)
    assert alpha_map.std(axis=0).max() > 0, "channels that all agree would be scalar attention"


def test_silence_gives_uniform_weights_where_the_library_refuses(exported):
    """embed raises on an all-zero waveform; the graph stays finite and gives every frame
    the same weight (the page itself refuses silence, as the library does)."""
    folder, _ = exported
    zeros = np.zeros(32_000, np.float32)
    with pytest.raises(data.AudioError, match="silent"):
        asp_lab.embed(asp_lab.load_model("asp-scalar"), zeros)
    for name in analysis.MODEL_NAMES:
        embedding, alpha, _, _ = run(ort.InferenceSession(str(folder / f"{name}.onnx")), zeros)
        assert np.isfinite(embedding).all(), name
        np.testing.assert_allclose(alpha, 1 / alpha.size, rtol=1e-5, err_msg=name)


def test_graph_takes_no_shorter_waveform_than_the_model(exported):
    folder, _ = exported
    session = ort.InferenceSession(str(folder / "asp-scalar.onnx"))
    with pytest.raises(Exception):  # noqa: B017  (onnxruntime's own error types)
        run(session, np.ones(analysis.min_samples() - 160, np.float32))


def test_export_is_reproducible_and_listed(exported, tmp_path):
    folder, records = exported
    again = export.export_onnx("asp-scalar", tmp_path / "asp-scalar.onnx")
    assert (tmp_path / "asp-scalar.onnx").read_bytes() == (folder / "asp-scalar.onnx").read_bytes()
    listed = json.loads((folder / "models.json").read_text())["models"]
    assert [m["name"] for m in listed] == list(analysis.MODEL_NAMES)
    assert {m["pooling"] for m in listed} == {"stats", "asp-scalar", "asp-channel"}
    assert again["bytes"] == listed[1]["bytes"] and records[1]["file"] == "asp-scalar.onnx"
    assert all(m["bytes"] < 2_000_000 for m in listed), "a model too heavy for a web page"


def test_cli_exports_one_model(tmp_path, capsys):
    from asp_lab.cli import main

    assert main(["export-onnx", "--out", str(tmp_path), "--model", "stats"]) == 0
    assert (tmp_path / "stats.onnx").is_file()
    assert "stats" in capsys.readouterr().out
