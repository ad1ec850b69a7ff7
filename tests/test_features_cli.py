"""asp_lab.features (log-mel frames, frame times) and the `asp-lab data` command."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asp_lab import cli, data, features


@settings(max_examples=15, deadline=None)
@given(n=st.integers(400, 8000), seed=st.integers(0, 2**31 - 1))
def test_log_mel_shape_dtype_and_finite(n, seed):
    wave = np.random.default_rng(seed).normal(0, 0.1, n).astype(np.float32)
    mel = features.log_mel(wave)
    assert mel.shape == (features.N_MELS, 1 + n // 160) == (40, 1 + n // 160)
    assert mel.dtype == np.float32 and np.isfinite(mel).all()


def test_log_mel_finite_on_silence_padded_speech():
    speech = data.load_audio(data.utterances("test-other")[0].path)[:16_000]
    wave = np.concatenate([np.zeros(8_000, np.float32), speech, np.zeros(16_000, np.float32)])
    mel = features.log_mel(wave)
    assert mel.shape == (40, 1 + wave.size // 160)
    assert np.isfinite(mel).all()
    # the silent frames sit at the log floor, far below the speech frames
    floor = np.log(features.LOG_FLOOR)
    assert mel[:, :45].max() == pytest.approx(floor, abs=1e-3)
    assert mel[:, -50:].max() == pytest.approx(floor, abs=1e-3)
    assert mel[:, 55:145].max() > floor + 5


@pytest.mark.parametrize("n", [0, 1, 399])
def test_log_mel_too_short_raises(n):
    with pytest.raises(ValueError, match=rf"{n} samples.*400 samples"):
        features.log_mel(np.ones(n, np.float32))


def test_log_mel_rejects_stereo():
    with pytest.raises(ValueError, match="mono"):
        features.log_mel(np.ones((2, 1600), np.float32))


@pytest.mark.parametrize("frames", [1, 2, 17, 1000])
def test_frame_times_every_10_ms(frames):
    t = features.frame_times(frames)
    assert t.shape == (frames,) and t[0] == 0
    np.testing.assert_allclose(np.diff(t), 0.010, rtol=0, atol=1e-12)


def test_frame_times_cover_the_waveform():
    n = 16_000 * 3 + 77
    T = features.log_mel(np.random.default_rng(0).normal(0, 0.1, n).astype(np.float32)).shape[1]
    t = features.frame_times(T)
    assert t[-1] <= n / 16_000 < t[-1] + 0.010


def test_cli_data_prints_counts(capsys):
    assert cli.main(["data"]) == 0
    out = capsys.readouterr().out
    assert f"{data.verify()} files match" in out
    assert "train-clean-100: 251 speakers, 251 utterances" in out
    assert "test-other: 10 speakers, 100 utterances" in out
    for name in data.noise_names():
        assert name in out


def test_cli_data_reports_a_bad_root(tmp_path, capsys):
    root = tmp_path / "data"
    line = next(
        line for line in (data.default_root() / "SHA256SUMS").read_text().splitlines()
        if "test-other" in line
    )
    name = line.split(maxsplit=1)[1].strip()
    (root / name).parent.mkdir(parents=True)
    shutil.copyfile(data.default_root() / name, root / name)
    with open(root / name, "ab") as fh:
        fh.write(b"\0")
    (root / "SHA256SUMS").write_text(line + "\n")
    assert cli.main(["data", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "error" in err and name.split("/")[-1] in err
