"""Chapter 6's library code: synthetic noises, noise in one segment, attention mass on it at
the model's output frames, the stored attention grid (recomputed here, entry by entry), the
noise explorer's callbacks without a front end, and ``asp-lab attend``."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile

from asp_lab import analysis, cli, data, widgets
from asp_lab.analysis import (
    ATTENTION_GRID,
    SYNTH_NOISES,
    add_noise,
    frame_energy_db,
    mean_interval,
    noise_segment,
    output_frame_mask,
    synth_noise,
)
from asp_lab.data import SAMPLE_RATE, AudioError
from asp_lab.features import HOP_SECONDS, log_mel
from asp_lab.models import CONTEXT, FRAME_OFFSET

HOP = round(HOP_SECONDS * SAMPLE_RATE)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return data.cached_audio(data.utterances("test-other")[0].path)


@pytest.fixture(scope="module")
def grid() -> dict:
    return analysis.load_attention_grid()


# ------------------------------------------------------------------------ synthetic noises


@pytest.mark.parametrize("kind", SYNTH_NOISES)
def test_synth_noise_is_mono_finite_audible_and_repeatable(kind):
    x = synth_noise(kind, 1.5, rng=3)
    assert x.shape == (round(1.5 * SAMPLE_RATE),) and x.dtype == np.float32
    assert np.all(np.isfinite(x)) and np.isclose(np.abs(x).max(), 0.5)
    assert np.array_equal(x, synth_noise(kind, 1.5, rng=3))
    assert not np.array_equal(x, synth_noise(kind, 1.5, rng=4))


def _spectrum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    power = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    return np.fft.rfftfreq(x.size, 1 / SAMPLE_RATE), power


def test_hum_is_50_hz_and_its_harmonics():
    freqs, power = _spectrum(synth_noise("hum", 2.0, rng=0))
    peaks = freqs[np.argsort(power)[-20:]]
    assert np.allclose(peaks / 50.0, np.round(peaks / 50.0), atol=0.02)  # multiples of 50 Hz
    assert 50.0 in np.round(peaks) and power[freqs > 1100].sum() < 1e-6 * power.sum()


def test_clicks_are_sparse_and_chirp_rises():
    x = synth_noise("clicks", 2.0, rng=0)
    kurtosis = np.mean(x**4) / np.mean(x**2) ** 2
    assert kurtosis > 50, f"clicks should be impulsive (kurtosis {kurtosis:.0f})"
    y = synth_noise("chirp", 0.5, rng=np.random.default_rng(1))
    S = log_mel(y)  # (40, 51): the sweep moves up through the mel bands within a period
    bands = S.argmax(axis=0)
    rises = np.diff(bands)
    assert (rises >= 0).mean() > 0.8, "the chirp's strongest band should mostly rise"


def test_babble_sums_several_talkers_and_names_unknown_kinds():
    x = synth_noise("babble", 2.0, rng=0)
    assert np.sqrt(np.mean(x**2)) > 0.05  # dense, unlike one talker's pauses
    with pytest.raises(ValueError, match="hum, clicks, chirp, babble"):
        synth_noise("thunder", 1.0)
    with pytest.raises(ValueError, match="unknown noise 'thunder'"):
        analysis.noise_excerpt("thunder", 100)


def test_noise_kinds_and_training_noises():
    kinds = analysis.noise_kinds()
    assert kinds[:4] == data.noise_names() and kinds[4:] == list(SYNTH_NOISES)
    assert analysis.training_noises("asp-scalar") == ["doing_the_dishes", "white_noise"]
    assert analysis.training_noises("asp-channel-seed2") == ["doing_the_dishes", "white_noise"]
    assert analysis.training_noises("asp-scalar-clean") == []


# ------------------------------------------------------------- segments, masks and frames


def test_noise_segment_is_the_middle_third_by_default():
    assert noise_segment(3000) == (1000, 1000)
    assert noise_segment(3000, 0.5, 0.0) == (0, 1500)
    assert noise_segment(3000, 0.5, 1.0) == (1500, 1500)
    with pytest.raises(ValueError):
        noise_segment(3000, 0.0)


def test_mask_reaches_the_output_frames_through_frame_offset(speech):
    start, length = noise_segment(speech.size)
    mixed, frame_mask = add_noise(speech, "white_noise", 0.0, start, length, rng=0)
    T = 1 + speech.size // HOP
    assert frame_mask.shape == (T,) and log_mel(mixed).shape[1] == T
    out = output_frame_mask(frame_mask, T - CONTEXT)  # (T',)
    centres = (np.arange(T - CONTEXT) + FRAME_OFFSET) * HOP  # output frame centres, samples
    assert np.array_equal(out, (centres >= start) & (centres < start + length))
    # replace mode: nothing but noise in the segment, speech untouched outside it
    assert np.array_equal(mixed[:start], speech[:start])
    assert np.array_equal(mixed[start + length:], speech[start + length:])


def test_relative_mass_of_statistics_pooling_is_exactly_one(speech):
    model = analysis.load_model("stats")
    start, length = noise_segment(speech.size)
    out = analysis.noise_attention(model, speech, "hum", 0.0, start, length, rng=0)
    assert out["relative_mass"] == pytest.approx(1.0, abs=1e-9)
    assert out["uniform"] == pytest.approx(out["mask"].mean())


def test_frame_energy_and_snr_per_frame():
    x = np.zeros(SAMPLE_RATE, dtype=np.float32)
    x[8000:] = 0.1  # silence, then a constant at -20 dB
    energy = frame_energy_db(x)
    assert energy.shape == (1 + x.size // HOP,)
    assert np.allclose(energy[:45], -100.0) and np.allclose(energy[55:-2], -20.0, atol=1e-6)
    noise = np.full_like(x, 0.01)  # -40 dB
    snr = analysis.frame_snr_db(x, x + noise)
    assert np.allclose(snr[55:-2], 20.0, atol=1e-3)
    assert np.all(np.isinf(analysis.frame_snr_db(x, x)))


def test_quiet_mass_spearman_and_intervals():
    alpha = np.array([0.1, 0.1, 0.3, 0.5])
    energy = np.array([1.0, 2.0, 3.0, 4.0])
    assert analysis.quiet_relative_mass(alpha, energy, fraction=0.5) == pytest.approx(0.4)
    assert analysis.spearman(alpha[1:], energy[1:]) == pytest.approx(1.0)
    assert np.isnan(analysis.spearman(np.ones(4), energy))
    mean, low, high = mean_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and high - mean == pytest.approx(mean - low)
    assert high - mean == pytest.approx(4.302652729911275 / np.sqrt(3))  # t(0.975, 2)


# ------------------------------------------------------------------- the stored grid


def test_grid_file_is_small_complete_and_says_how_it_was_made(grid):
    assert ATTENTION_GRID.stat().st_size < 1_000_000
    prov = grid["provenance"]
    for key in ("produced_by", "git_commit", "torch", "threads", "seed",
                "data_sha256sums_sha256", "training_noises"):
        assert key in prov, key
    # the code's own hash: code_sha256 (a grid made when the grid lived in analysis.py has
    # analysis_py_sha256 instead)
    assert "code_sha256" in prov or "analysis_py_sha256" in prov
    assert prov["data_sha256sums_sha256"] == data.sha256(data.default_root() / "SHA256SUMS")
    names = [u.name for u in data.utterances("test-other")]
    for section, models in (("replace", analysis.GRID_MODELS), ("add", analysis.GRID_ADD_MODELS)):
        part = grid[section]
        assert part["mode"] == section and part["utterances"] == names
        assert part["models"] == list(models) and part["kinds"] == analysis.noise_kinds()
        assert part["snrs"] == list(analysis.GRID_SNRS)
        for m in models:
            values = np.array([part["relative_mass"][m][k] for k in part["kinds"]])
            assert values.shape == (8, 5, 100) and np.all((values >= 0) & np.isfinite(values))
    assert set(grid["clean"]["quiet_relative_mass"]) == set(analysis.GRID_MODELS)


#: Entries recomputed from scratch: (section, model, kind, SNR, utterance index).
SPOT_CHECKS = [
    ("replace", "asp-scalar", "doing_the_dishes", 0.0, 7),
    ("replace", "asp-channel", "babble", -5.0, 42),
    ("replace", "asp-scalar-clean", "hum", 20.0, 99),
    ("replace", "asp-channel-seed2", "clicks", 10.0, 63),
    ("add", "asp-scalar", "chirp", 5.0, 15),
    ("add", "asp-scalar-clean", "running_tap", 0.0, 88),
]


@pytest.mark.parametrize("section,model,kind,snr,u", SPOT_CHECKS)
def test_grid_entries_recompute_to_the_stored_values(grid, section, model, kind, snr, u):
    part = grid[section]
    stored = part["relative_mass"][model][kind][part["snrs"].index(snr)][u]
    live = analysis.grid_entry(model, u, kind, snr, mode=section)
    assert live == pytest.approx(stored, abs=1e-4)


def test_grid_function_matches_the_file_on_a_small_slice(grid):
    """The grid function itself (not only grid_entry) on two utterances and two kinds."""
    small = analysis.noise_attention_grid(["asp-scalar"], kinds=["white_noise", "chirp"],
                                          snrs=[0.0, 20.0], utterances=[3, 50], mode="add",
                                          local_snr=True)
    part = grid["add"]
    for kind in ("white_noise", "chirp"):
        for j, snr in enumerate((0.0, 20.0)):
            for n, u in enumerate((3, 50)):
                stored = part["relative_mass"]["asp-scalar"][kind][part["snrs"].index(snr)][u]
                rho = part["local_snr_spearman"]["asp-scalar"][kind][part["snrs"].index(snr)][u]
                assert small["relative_mass"]["asp-scalar"][kind][j][n] == pytest.approx(
                    stored, abs=1e-4)
                assert small["local_snr_spearman"]["asp-scalar"][kind][j][n] == pytest.approx(
                    rho, abs=1e-4)
    assert small["utterances"] == [grid["add"]["utterances"][3], grid["add"]["utterances"][50]]


def test_clean_stats_recompute(grid, speech):
    stats = analysis.clean_attention_stats(analysis.load_model("asp-channel"), speech)
    for key, value in stats.items():
        assert value == pytest.approx(grid["clean"][key]["asp-channel"][0], abs=1e-4), key


# ---------------------------------------------------------- the explorer, without a front end


def _wav_bytes(x: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, x, rate, format="WAV")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def explorer():
    return widgets.NoiseAttentionExplorer(utterances=list(widgets.EXPLORER_UTTERANCES[:2]))


def test_explorer_starts_with_white_noise_in_the_middle_third(explorer):
    state = explorer.state
    assert state["noise"] == "white_noise" and state["model"] == "asp-scalar"
    assert 0 < state["mass"] < state["uniform"] < 1 and state["relative_mass"] < 1
    assert "attention on the noise frames" in explorer.summary.value
    assert explorer.picture.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'src="data:audio/wav;base64,' in explorer.player.value


def test_explorer_controls_update_the_state(explorer):
    first = explorer.state
    explorer.snr.value = 20  # an observer calls update()
    quieter = explorer.state
    assert quieter["relative_mass"] != first["relative_mass"]
    explorer.position.value = 0.0
    assert explorer.state["segment"][0] == 0.0
    explorer.model.value = "stats"
    assert explorer.state["relative_mass"] == pytest.approx(1.0)
    explorer.noise.value = widgets.NO_NOISE
    state = explorer.update()  # called directly, as a front end's event would
    assert state["mass"] is None and state["segment"] is None
    assert state["cosine_to_clean"] == pytest.approx(1.0, abs=1e-5)
    assert "attention on the noise" not in explorer.summary.value
    explorer.noise.value, explorer.model.value = "babble", "asp-channel"
    explorer.mode.value = "add"
    assert explorer.state["noise"] == "babble" and explorer.state["model"] == "asp-channel"
    assert 0 < explorer.state["mu_change"] and 0 < explorer.state["cosine_to_clean"] < 1


def test_explorer_upload_of_a_recording_and_of_garbage(explorer):
    rng = np.random.default_rng(0)
    recording = (0.1 * rng.standard_normal(22050 * 2)).astype(np.float32)  # 2 s at 22.05 kHz
    assert explorer.load_upload("mine.wav", _wav_bytes(recording, 22050))
    assert explorer.utterance.value == "upload: mine.wav"
    assert explorer.state["utterance"] == "upload: mine.wav"
    assert explorer.state["times"].size == 1 + 2 * SAMPLE_RATE // HOP - CONTEXT
    assert "Loaded mine.wav" in explorer.message.value

    before = explorer.state
    assert not explorer.load_upload("notes.txt", b"this is not audio")
    assert "Could not use notes.txt" in explorer.message.value
    assert "cannot read 'notes.txt' as audio" in explorer.message.value
    assert explorer.state is before and explorer.utterance.value == "upload: mine.wav"
    assert not explorer.load_upload("click.wav", _wav_bytes(np.ones(100, np.float32), 16000))
    assert "too short" in explorer.message.value or "long" in explorer.message.value


def test_explorer_upload_event_takes_ipywidgets_8_values(explorer):
    rng = np.random.default_rng(1)
    content = _wav_bytes((0.1 * rng.standard_normal(16000)).astype(np.float32), 16000)
    explorer._on_upload({"new": ({"name": "event.wav", "content": memoryview(content)},)})
    assert explorer.utterance.value == "upload: event.wav"


def test_explorer_upload_event_takes_ipywidgets_7_values(explorer):
    rng = np.random.default_rng(2)
    content = _wav_bytes((0.1 * rng.standard_normal(16000)).astype(np.float32), 16000)
    value = {"seven.wav": {"metadata": {"name": "seven.wav", "type": "audio/wav",
                                        "size": len(content)}, "content": content}}
    explorer._on_upload({"new": value})
    assert explorer.utterance.value == "upload: seven.wav"
    assert explorer.state["utterance"] == "upload: seven.wav"


def test_uploaded_files_reads_both_formats_alike():
    content = b"RIFF...."
    v8 = ({"name": "a.wav", "type": "audio/wav", "size": 8, "content": memoryview(content),
           "last_modified": 0},)
    v7 = {"a.wav": {"metadata": {"name": "a.wav"}, "content": content}}
    assert widgets.uploaded_files(v8) == widgets.uploaded_files(v7) == [("a.wav", content)]
    assert widgets.uploaded_files(()) == widgets.uploaded_files({}) == []


def test_on_colab_the_explorer_uploads_through_colabs_dialog(monkeypatch):
    """Colab's FileUpload drops files of about 1 MB and more (ipywidgets#3452): there the
    button opens google.colab.files.upload, which a stub answers here with a 2.6 MB file."""
    import sys
    import types

    import ipywidgets

    rng = np.random.default_rng(3)
    big = _wav_bytes((0.1 * rng.standard_normal(44100 * 30)).astype(np.float32), 44100)
    assert len(big) > 2 * 2**20  # 30 s at 44.1 kHz, 16-bit
    asked = []
    google, colab = types.ModuleType("google"), types.ModuleType("google.colab")
    colab.files = types.SimpleNamespace(upload=lambda: asked.append(1) or {"long.wav": big})
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    app = widgets.NoiseAttentionExplorer(utterances=list(widgets.EXPLORER_UTTERANCES[:1]))
    assert isinstance(app.upload, ipywidgets.Button)
    app.upload.click()  # what a reader's click does
    assert asked == [1]
    assert app.utterance.value == "upload: long.wav"
    assert "Loaded long.wav: 30.00 s" in app.message.value


def test_decode_audio_errors_name_the_file():
    with pytest.raises(AudioError, match="'x.flac'"):
        widgets.decode_audio(b"\x00" * 100, "x.flac")
    with pytest.raises(AudioError, match="silent"):
        widgets.decode_audio(_wav_bytes(np.zeros(8000, np.float32), 16000), "quiet.wav")


# ------------------------------------------------------------------------- asp-lab attend


def test_attend_draws_the_figure(tmp_path, capsys):
    path = data.utterances("test-other")[0].path
    out = tmp_path / "attention.png"
    assert cli.main(["attend", str(path), "--model", "asp-channel", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    printed = capsys.readouterr().out
    assert path.name in printed and "effective frames" in printed and str(out) in printed


@pytest.mark.parametrize("content", [b"definitely not audio", None])
def test_attend_unreadable_file_exits_2_naming_it(tmp_path, capsys, content):
    path = tmp_path / "broken.wav"
    if content is not None:
        path.write_bytes(content)
    code = cli.main(["attend", str(path), "--out", str(tmp_path / "a.png")])
    err = capsys.readouterr().err
    assert code == 2 and str(path) in err and err.startswith("asp-lab attend: error:")
    assert not (tmp_path / "a.png").exists()


def test_attend_unknown_model_exits_2(tmp_path, capsys):
    path = data.utterances("test-other")[0].path
    assert cli.main(["attend", str(path), "--model", "nope", "--out", str(tmp_path / "a.png")]) == 2
    assert "no model 'nope'" in capsys.readouterr().err


def test_grid_json_is_plain_json():
    text = ATTENTION_GRID.read_text()
    assert json.loads(text)["replace"]["seed"] == 0
