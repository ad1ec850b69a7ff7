"""What a training crop goes through: the corruption recipe that gives attention something
to learn (chapter 5).

Attention can only learn to skip frames that carry no speaker if training shows it such
frames. So a corrupted crop gets, most often, a 20-60 % segment *replaced* by noise (no
speech left there), otherwise noise added to a segment or over the whole crop, at -5 to
20 dB, and now and then a pause (the segment replaced by a faint floor). The noise is one
of the two seen recordings or a fresh sample of a generated family
(:func:`generated_noise`). Every choice is a field of :class:`~asp_lab.train.TrainConfig`,
and every pooling is trained with the same recipe, so comparisons stay fair.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..constants import SAMPLE_RATE
from ..mixing import mix_noise
from .config import GENERATED_NOISES, TrainConfig

__all__ = ["GENERATED_NOISES", "generated_noise", "corrupt"]


def _shaped(samples: int, gain, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """White Gaussian noise whose spectrum is multiplied by ``gain(frequencies in Hz)``."""
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    freqs = np.fft.rfftfreq(samples, 1 / sample_rate)
    return np.fft.irfft(spectrum * gain(np.maximum(freqs, freqs[1] if samples > 1 else 1.0)),
                        samples)


def generated_noise(kind: str, samples: int, rng: np.random.Generator,
                    sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A fresh excerpt of a generated training noise family, ``(samples,)`` float32, peak
    0.5 (:func:`~asp_lab.mixing.mix_noise` rescales it to the SNR anyway). Chapter 5.

    * ``"coloured"``: Gaussian noise with power ``~ f^-beta``, ``beta`` drawn from
      -2 to -0.5 (rising, "blue") or from 1.6 to 2.5 (steeper than pink, "brown");
      pink (``beta = 1``) itself stays unseen;
    * ``"band"``: white noise band-passed to a random band, centre 200 Hz to 5 kHz
      (log-uniform), 0.5 to 2 octaves wide;
    * ``"modulated"``: white noise whose amplitude swings at 1 to 12 Hz, depth 0.5 to 1;
    * ``"tones"``: 2 to 6 steady sine tones at random, unrelated frequencies from 150 Hz to
      4 kHz (not a harmonic series like mains hum), random amplitudes and phases.
    """
    if samples < 1:
        raise ValueError(f"samples must be positive, got {samples}")
    t = np.arange(samples) / sample_rate
    if kind == "coloured":
        beta = rng.uniform(-2.0, -0.5) if rng.random() < 0.5 else rng.uniform(1.6, 2.5)
        x = _shaped(samples, lambda f: f ** (-beta / 2), rng, sample_rate)
    elif kind == "band":
        centre = np.exp(rng.uniform(np.log(200.0), np.log(5000.0)))
        half = rng.uniform(0.5, 2.0) / 2
        x = _shaped(samples, lambda f: (np.abs(np.log2(f / centre)) <= half).astype(float),
                    rng, sample_rate)
    elif kind == "modulated":
        rate, depth = rng.uniform(1.0, 12.0), rng.uniform(0.5, 1.0)
        envelope = 1 + depth * np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi))
        x = rng.standard_normal(samples) * envelope
    elif kind == "tones":
        freqs = np.exp(rng.uniform(np.log(150.0), np.log(4000.0), rng.integers(2, 7)))
        x = sum(rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
                for f in freqs)
    else:
        raise ValueError(f"unknown generated noise {kind!r}; known: {', '.join(GENERATED_NOISES)}")
    peak = np.max(np.abs(x))
    return (0.5 * x / peak if peak > 0 else x).astype(np.float32)


def corrupt(crop: np.ndarray, recordings, cfg: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    """One corrupted training crop, every choice drawn from ``rng`` (chapter 5):

    1. where: with probability ``whole_crop_prob`` the whole crop (noise added), otherwise
       a segment of ``segment_fraction`` of it, *replaced* with probability
       ``replace_prob``, else with the noise added;
    2. what: with probability ``pause_prob`` (segments only) a pause, the segment replaced
       by a faint white floor ``pause_snr_db`` below the speech; otherwise, with
       probability ``generated_prob``, a generated family (:func:`generated_noise`), else
       one of the seen ``recordings`` from a random place;
    3. how loud: an SNR uniform in ``snr_db`` (:func:`~asp_lab.mixing.mix_noise` defines it
       for each mode).
    """
    n = crop.size
    if not recordings and not cfg.generated_noises:
        return crop
    if rng.random() < cfg.whole_crop_prob:
        start, length, mode = 0, n, "add"
    else:
        length = max(1, int(rng.uniform(*cfg.segment_fraction) * n))
        start = int(rng.integers(0, n - length + 1))
        mode = "replace" if rng.random() < cfg.replace_prob else "add"
    if length < n and rng.random() < cfg.pause_prob:
        mode, noise = "replace", rng.standard_normal(length).astype(np.float32)
        snr = float(rng.uniform(*cfg.pause_snr_db))
    else:
        if cfg.generated_noises and (not recordings or rng.random() < cfg.generated_prob):
            kind = cfg.generated_noises[int(rng.integers(len(cfg.generated_noises)))]
            noise = generated_noise(kind, length, rng)
        else:
            noise = recordings[int(rng.integers(len(recordings)))]
        snr = float(rng.uniform(*cfg.snr_db))
    with contextlib.suppress(ValueError):  # a silent segment has no SNR: keep it clean
        crop, _ = mix_noise(crop, noise, snr, start, length, mode=mode, rng=rng)
    return crop
