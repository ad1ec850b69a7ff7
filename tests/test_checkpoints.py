"""The shipped checkpoints and what is recorded about them; load_model, embed, attention."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

import asp_lab
from asp_lab import analysis, cli
from asp_lab import train as T
from asp_lab.analysis import CHECKPOINT_DIR, MODEL_NAMES, SUBSET_FOR_TESTS
from asp_lab.data import SAMPLE_RATE, AudioError, load_audio, mix_noise, utterances
from asp_lab.models import CONTEXT, FRAME_OFFSET, build_model
from asp_lab.train import SHIPPED

RESULTS = json.loads((CHECKPOINT_DIR / "results.json").read_text())


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return load_audio(utterances("test-other")[0].path)[: 3 * SAMPLE_RATE]


@pytest.fixture(scope="module", params=MODEL_NAMES)
def model(request):
    return asp_lab.load_model(request.param)


# ------------------------------------------------------------------- what is shipped


def test_every_shipped_model_is_there_small_and_recorded():
    names = [cfg.name for cfg in SHIPPED]
    assert len(names) == 10
    for name in names:
        path = CHECKPOINT_DIR / f"{name}.pt"
        assert path.is_file(), name
        assert path.stat().st_size < 2_000_000, (name, path.stat().st_size)
        meta = json.loads((CHECKPOINT_DIR / f"{name}.json").read_text())
        assert meta["name"] == name and meta["steps"] == meta["train_config"]["steps"]
        assert meta["checkpoint_sha256"] == asp_lab.data.sha256(path)
        entry = RESULTS["models"][name]
        assert entry["clean"]["eer"] == meta["metrics"]["eer"]
        assert entry["clean"]["trials"] == 4950
        low, high = entry["clean"]["eer_ci"]
        assert low <= entry["clean"]["eer"] <= high
        assert len(entry["noisy"]) == 12  # four noises at 0, 5 and 10 dB
        assert len(entry["segmental"]) == 16  # four noises, replace or add, 0 and 5 dB
        assert T.TrainConfig(**meta["train_config"]).name == name  # every field is TrainConfig's
        assert entry["curve"] and all(np.isfinite(c["loss"]) for c in entry["curve"])
    ratio = RESULTS["step_time"]["ratio_vs_stats_model"]
    assert set(ratio) == {"stats", "asp-scalar", "asp-channel"}


def test_eval_reproduces_the_recorded_eer_exactly(tmp_path, capsys):
    """Evaluation is deterministic: `asp-lab eval` on the shipped asp-scalar model gives
    the EER and minDCF recorded in results.json, on all 4,950 trials (a few seconds)."""
    out = tmp_path / "eval.json"
    code = cli.main(["eval", "--model", "asp-scalar", "--bootstrap", "0", "--out", str(out)])
    assert code == 0 and "EER" in capsys.readouterr().out
    got = json.loads(out.read_text())
    recorded = RESULTS["models"]["asp-scalar-seed0"]["clean"]
    assert got["utterances"] == 100 and got["trials"] == 4950
    for key in ("eer", "min_dcf_0.01", "min_dcf_0.05"):
        assert got[key] == recorded[key], key


def test_eval_of_a_replaced_third_reproduces_the_recorded_eer(tmp_path, capsys):
    out = tmp_path / "eval.json"
    code = cli.main(["eval", "--model", "asp-channel", "--noise", "running_tap", "--snr", "0",
                     "--third", "replace", "--bootstrap", "0", "--out", str(out)])
    got = json.loads(out.read_text())
    recorded = RESULTS["models"]["asp-channel-seed0"]["segmental"]["running_tap:replace@0dB"]
    assert code == 0 and got["mode"] == "replace" and got["fraction"] == pytest.approx(1 / 3)
    assert got["eer"] == recorded["eer"] and got["min_dcf_0.01"] == recorded["min_dcf_0.01"]
    assert cli.main(["eval", "--model", "stats", "--third", "add"]) != 0
    assert "--third needs --noise and --snr" in capsys.readouterr().err


def test_eval_of_the_test_subset_is_recorded_too():
    """The quick subset (first SUBSET_FOR_TESTS utterances per speaker) is recorded for
    checks that must be faster still."""
    model = asp_lab.load_model("asp-scalar")
    got = analysis.evaluate(model, per_speaker=SUBSET_FOR_TESTS, bootstrap=0)
    recorded = RESULTS["models"]["asp-scalar-seed0"]["test_subset"]
    assert got["utterances"] == recorded["utterances"] == 10 * SUBSET_FOR_TESTS
    assert got["eer"] == recorded["eer"] and got["min_dcf_0.01"] == recorded["min_dcf_0.01"]


def test_evaluate_with_noise_is_seeded():
    model = asp_lab.load_model("asp-scalar")
    a = analysis.evaluate(model, noise="pink_noise", snr_db=5, per_speaker=2, bootstrap=0)
    b = analysis.evaluate(model, noise="pink_noise", snr_db=5, per_speaker=2, bootstrap=0)
    assert a["eer"] == b["eer"] and a["trials"] == 190
    with pytest.raises(ValueError, match="noise and snr_db"):
        analysis.evaluate(model, noise="pink_noise")


# ----------------------------------------------------------------------------- loading


def test_load_model_unknown_name_lists_the_known_ones():
    with pytest.raises(FileNotFoundError) as err:
        asp_lab.load_model("ecapa")
    for name in MODEL_NAMES:
        assert name in str(err.value)
    assert "asp-scalar-seed1" in str(err.value)


def test_load_model_by_name_seed_and_path():
    m = asp_lab.load_model("asp-channel")
    assert m.pooling_name == "asp-channel" and not m.training
    m1 = asp_lab.load_model("asp-channel-seed1")
    assert not torch.equal(m.embedding.weight, m1.embedding.weight)
    m2 = asp_lab.load_model(CHECKPOINT_DIR / "asp-channel-seed1.pt")
    assert torch.equal(m1.embedding.weight, m2.embedding.weight)


def test_load_model_into_another_pooling_or_size_names_it():
    cfg = dict(asp_lab.load_model("stats").config)
    with pytest.raises(ValueError, match="'asp-scalar'.*'stats'"):
        asp_lab.load_model("asp-scalar", model=build_model(**{**cfg, "pooling": "stats"}))
    with pytest.raises(ValueError, match="shape mismatches"):
        asp_lab.load_model("stats", model=build_model(**{**cfg, "channels": cfg["channels"] * 2}))


# ----------------------------------------------------------------- embed and attention


def test_embed_shape_and_resampling(speech):
    model = asp_lab.load_model("asp-scalar")
    vec = asp_lab.embed(model, speech, SAMPLE_RATE)
    assert vec.shape == (model.embed_dim,) and vec.dtype == np.float32
    assert np.all(np.isfinite(vec))
    assert np.array_equal(vec, asp_lab.embed(model, torch.from_numpy(speech), SAMPLE_RATE))
    import librosa

    fast = librosa.resample(speech, orig_sr=SAMPLE_RATE, target_sr=32000)
    with pytest.warns(UserWarning, match="resampled from 32000 Hz"):
        vec32 = asp_lab.embed(model, fast, 32000)
    cos = vec32 @ vec / np.linalg.norm(vec32) / np.linalg.norm(vec)
    assert cos > 0.95  # the same speech at twice the rate, brought back to 16 kHz


def test_frame_attention_shapes_and_sum(model, speech):
    times, alpha = asp_lab.frame_attention(model, speech, SAMPLE_RATE)
    frames = 1 + speech.size // 160 - CONTEXT
    assert times.shape == alpha.shape == (frames,)
    assert alpha.sum() == pytest.approx(1.0, abs=1e-9) and (alpha >= 0).all()
    np.testing.assert_allclose(times[:2], [FRAME_OFFSET * 0.01, (FRAME_OFFSET + 1) * 0.01])
    t, full = analysis.channel_attention(model, speech, SAMPLE_RATE)
    rows = model.config["pool_channels"] if model.pooling_name == "asp-channel" else 1
    assert full.shape == (rows, frames)
    np.testing.assert_allclose(full.sum(axis=1), 1.0, atol=1e-9)
    if model.pooling_name == "stats":
        np.testing.assert_allclose(alpha, 1.0 / frames)


def test_too_short_audio_names_its_length():
    model = asp_lab.load_model("stats")
    with pytest.raises(AudioError, match=r"0\.100 s long \(1600 samples.*at least 0\.140 s"):
        asp_lab.embed(model, np.ones(1600, dtype=np.float32) * 0.1)
    with pytest.raises(AudioError, match="silent"):
        asp_lab.frame_attention(model, np.zeros(8000, dtype=np.float32), SAMPLE_RATE)
    with pytest.raises(AudioError, match="empty"):
        asp_lab.embed(model, np.zeros(0, dtype=np.float32))
    # The shortest waveform that works gives one output frame.
    times, alpha = asp_lab.frame_attention(model, np.random.default_rng(0).normal(size=2240))
    assert alpha.shape == (1,) and alpha[0] == pytest.approx(1.0)


def test_attention_mass_of_a_noise_segment(speech):
    model = asp_lab.load_model("asp-scalar")
    noise = asp_lab.data.load_noise("white_noise")
    mixed, mask = mix_noise(speech, noise, 0.0, SAMPLE_RATE, SAMPLE_RATE, rng=0)
    times, alpha = asp_lab.frame_attention(model, mixed, SAMPLE_RATE)
    mass = analysis.attention_mass(alpha, mask)  # a mask over log-mel frames works ...
    out_mask = analysis.output_frame_mask(mask, alpha.size)  # ... as its output frames do
    assert mass == pytest.approx(analysis.attention_mass(alpha, out_mask))
    assert 0 < mass < 1
    # The mask's frames are centred inside the noise segment [1 s, 2 s).
    assert times[out_mask].min() >= 1.0 and times[out_mask].max() < 2.0
    uniform = np.full(alpha.size, 1.0 / alpha.size)
    assert analysis.relative_mass(uniform, out_mask) == pytest.approx(1.0)
    assert analysis.relative_mass(alpha, out_mask) == pytest.approx(
        mass / (out_mask.sum() / alpha.size))
    with pytest.raises(ValueError, match="selects no frame"):
        analysis.relative_mass(alpha, np.zeros(alpha.size, dtype=bool))
    with pytest.raises(ValueError, match="expected"):
        analysis.attention_mass(alpha, np.ones(alpha.size + 3, dtype=bool))


def test_package_exports():
    for name in ("load_model", "embed", "frame_attention", "pooling",
                 "AttentiveStatisticsPooling", "StatisticsPooling"):
        assert name in asp_lab.__all__ and hasattr(asp_lab, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert asp_lab.load_model("asp-scalar-clean").pooling_name == "asp-scalar"
