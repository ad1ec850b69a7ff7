"""Crops, noise mixing at an SNR, verification trials, and torch log-mel against librosa."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asp_lab import data, features

HOP = round(features.HOP_SECONDS * data.SAMPLE_RATE)  # 160 samples


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return data.load_audio(data.utterances("test-other")[0].path)


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return data.load_noise("doing_the_dishes")


def snr(signal: np.ndarray, noise: np.ndarray) -> float:
    return 10 * np.log10(np.mean(signal.astype(np.float64) ** 2) / np.mean(noise**2))


# ---------------------------------------------------------------------------- trials


def test_trial_counts():
    trials = data.trials("test-other")
    assert len(trials) == 4950
    assert sum(t.target for t in trials) == 450
    assert sum(not t.target for t in trials) == 4500
    assert len({frozenset((t.a.path, t.b.path)) for t in trials}) == 4950  # unordered, distinct
    assert all(t.a.path != t.b.path for t in trials)
    assert all(t.target == (t.a.speaker == t.b.speaker) for t in trials)


# ------------------------------------------------------------------------------ crops


def test_random_crop_length_and_determinism(speech):
    ramp = np.arange(speech.size)  # a crop of a ramp shows where it came from
    for seed in range(5):
        crop = data.random_crop(ramp, (2.0, 3.0), rng=seed)
        assert 2.0 * data.SAMPLE_RATE <= crop.size <= 3.0 * data.SAMPLE_RATE
        np.testing.assert_array_equal(crop, np.arange(crop[0], crop[0] + crop.size))
        np.testing.assert_array_equal(crop, data.random_crop(ramp, (2.0, 3.0), rng=seed))
    starts = {int(data.random_crop(ramp, rng=seed)[0]) for seed in range(20)}
    assert len(starts) > 10  # the start moves
    assert data.random_crop(speech, (2.5, 2.5), rng=0).size == 40_000


def test_random_crop_short_waveform_returned_whole():
    short = np.arange(1000, dtype=np.float32)
    np.testing.assert_array_equal(data.random_crop(short, (2.0, 3.0), rng=0), short)
    with pytest.raises(ValueError, match="seconds_range"):
        data.random_crop(short, (3.0, 2.0))


# ---------------------------------------------------------------------------- mixing


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0, 30.0])
def test_add_mode_measured_snr(speech, noise, snr_db):
    start, length = 16_000, 24_000
    mixed, _ = data.mix_noise(speech, noise, snr_db, start, length, mode="add", rng=1)
    segment = slice(start, start + length)
    added = mixed[segment].astype(np.float64) - speech[segment]
    assert snr(speech[segment], added) == pytest.approx(snr_db, abs=0.01)
    np.testing.assert_array_equal(mixed[:start], speech[:start])
    np.testing.assert_array_equal(mixed[start + length :], speech[start + length :])


@pytest.mark.parametrize("snr_db", [0.0, 10.0])
def test_replace_mode(speech, noise, snr_db):
    start, length = 8_000, 16_000
    mixed, _ = data.mix_noise(speech, noise, snr_db, start, length, mode="replace")
    segment = slice(start, start + length)
    # the noise's RMS sits snr_db below the speech's RMS over the whole utterance
    assert snr(speech, mixed[segment]) == pytest.approx(snr_db, abs=0.01)
    # without rng the excerpt starts at the noise's sample 0, so it is a scaled copy
    np.testing.assert_allclose(
        mixed[segment] / np.std(mixed[segment]), noise[:length] / np.std(noise[:length]),
        rtol=1e-4, atol=1e-4,
    )
    np.testing.assert_array_equal(mixed[:start], speech[:start])  # speech outside untouched
    np.testing.assert_array_equal(mixed[start + length :], speech[start + length :])


def test_frame_mask_marks_frames_whose_centre_is_noise(speech, noise):
    start, length = 1_000, 3_210  # samples 1000 .. 4209
    mixed, mask = data.mix_noise(speech, noise, 0.0, start, length)
    T = features.log_mel(speech).shape[1]
    assert mask.shape == (T,) and mask.dtype == bool
    # centres t * 160: frame 7 (1120) is the first inside, frame 26 (4160) the last
    np.testing.assert_array_equal(np.flatnonzero(mask), np.arange(7, 27))
    # the masked frames are the ones whose centre sample changed
    changed = mixed != speech
    centres = np.arange(T) * HOP
    np.testing.assert_array_equal(mask, changed[np.minimum(centres, speech.size - 1)])


def test_rng_picks_the_noise_offset(speech, noise):
    a, _ = data.mix_noise(speech, noise, 5.0, 0, 8000, rng=0)
    b, _ = data.mix_noise(speech, noise, 5.0, 0, 8000, rng=0)
    c, _ = data.mix_noise(speech, noise, 5.0, 0, 8000, rng=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_short_noise_is_tiled(speech):
    noise = np.sin(np.arange(500) / 7.0) + 0.1  # 500 samples, shorter than the segment
    mixed, _ = data.mix_noise(speech, noise, 0.0, 0, 2000, mode="replace")
    np.testing.assert_allclose(mixed[:500], mixed[500:1000], rtol=1e-6)
    np.testing.assert_allclose(mixed[:500], mixed[1500:2000], rtol=1e-6)


@pytest.mark.parametrize(
    "start, length, match",
    [
        (-1, 100, "outside"),
        (0, -5, "positive"),
        (0, 0, "positive"),
        (10, 10**9, "outside"),
    ],
    ids=["negative-start", "negative-length", "empty", "past-the-end"],
)
def test_bad_segment_raises(speech, noise, start, length, match):
    with pytest.raises(ValueError, match=match):
        data.mix_noise(speech, noise, 0.0, start, length)


def test_other_mixing_errors(speech, noise):
    with pytest.raises(ValueError, match="mode"):
        data.mix_noise(speech, noise, 0.0, 0, 100, mode="mix")
    with pytest.raises(ValueError, match="silent"):
        data.mix_noise(np.zeros(1000), noise, 0.0, 0, 100)
    with pytest.raises(TypeError):
        data.mix_noise(speech, noise, 0.0, 0.5, 100)  # sample indices, not seconds


# --------------------------------------------------------------------- torch log-mel


def test_log_mel_torch_matches_librosa(speech):
    """Both sides compute a float32 FFT (librosa: numpy's pocketfft, torch: its own), which
    agree to about 1e-7 of a frame's largest power. In the log domain an absolute power
    error becomes a relative one, so the difference grows where the power is tiny; above
    log-power -10 (power > 4.5e-5, the audible part) 1e-3 is a wide margin (we measure
    about 2e-5), and the whole spectrogram, near-silent bins included, stays within 1e-2."""
    reference = features.log_mel(speech)
    ours = features.log_mel_torch(torch.from_numpy(speech))
    assert ours.shape == (1, *reference.shape) and ours.dtype == torch.float32
    diff = np.abs(ours[0].numpy() - reference)
    loud = reference > -10
    assert loud.mean() > 0.2  # enough of the utterance is above the threshold to matter
    assert diff[loud].max() < 1e-3
    assert diff.max() < 1e-2


def test_log_mel_torch_batch_with_zero_padding(speech):
    """Zero padding a batch leaves each row's own frames unchanged (librosa pads with zeros)."""
    short = speech[: 16_000 + 37]
    batch = torch.zeros(2, 20_000)
    batch[0] = torch.from_numpy(speech[:20_000])
    batch[1, : short.size] = torch.from_numpy(short)
    out = features.LogMel()(batch)
    lengths = features.frame_lengths(torch.tensor([20_000, short.size]))
    assert out.shape == (2, 40, int(lengths[0]))
    n = int(lengths[1])
    assert n == features.log_mel(short).shape[1]
    torch.testing.assert_close(out[1, :, :n], features.log_mel_torch(torch.from_numpy(short))[0])
