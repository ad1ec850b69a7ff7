"""Noises of every kind, and where in an utterance they go (chapter 6).

The recorded noises in ``data/noise`` and noises made here (:func:`synth_noise`: mains
hum, clicks, chirps, babble) that no shipped model was trained on; :func:`noise_excerpt`
gives a stretch of any of them, :func:`noise_segment` the place it fills, and
:func:`add_noise` mixes it in with :func:`asp_lab.data.mix_noise`.
"""

from __future__ import annotations

import os
import zlib

import numpy as np
from scipy.signal import chirp

from . import data
from .constants import SAMPLE_RATE

__all__ = ["SYNTH_NOISES", "HUM_HZ", "BABBLE_TALKERS", "synth_noise", "noise_kinds",
           "noise_excerpt", "noise_rng", "noise_segment", "add_noise"]

#: Noises made by :func:`synth_noise` rather than recorded; no model here trained on them.
SYNTH_NOISES = ("hum", "clicks", "chirp", "babble")
#: Mains frequency (Hz) of the ``hum`` noise, and how many talkers make the ``babble``.
HUM_HZ = 50.0
BABBLE_TALKERS = 6


def _hum(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """:data:`HUM_HZ` and its harmonics up to 1 kHz, the k-th at amplitude 1/k, random phases."""
    harmonics = np.arange(1, int(1000 // HUM_HZ) + 1)
    phases = rng.uniform(0, 2 * np.pi, harmonics.size)
    return sum(np.sin(2 * np.pi * HUM_HZ * k * t + p) / k
               for k, p in zip(harmonics, phases, strict=True))


def _clicks(n: int, seconds: float, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """About 10 impulses a second: 5 ms bursts decaying with 1 ms, over a faint floor."""
    x = 0.003 * rng.standard_normal(n)
    burst = round(0.005 * sample_rate)
    shape = np.exp(-np.arange(burst) / (0.001 * sample_rate))
    for position in rng.integers(0, n, rng.poisson(10 * seconds)):
        click = rng.choice([-1, 1]) * rng.uniform(0.3, 1.0) * shape
        click = click * rng.standard_normal(burst)
        end = min(n, position + burst)
        x[position:end] += click[: end - position]
    return x


def _chirp(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Logarithmic sweeps from 200 Hz to 4 kHz, one every 0.5 s, from a random point."""
    period = 0.5
    local = (t + rng.uniform(0, period)) % period
    return chirp(local, f0=200.0, t1=period, f1=4000.0, method="logarithmic")


def _babble(n: int, rng: np.random.Generator, root) -> np.ndarray:
    """:data:`BABBLE_TALKERS` train-clean-100 speakers at once, each at the same RMS."""
    utts = data.utterances("train-clean-100", root)
    x = np.zeros(n)
    for index in rng.choice(len(utts), size=BABBLE_TALKERS, replace=False):
        talker = data.load_audio(utts[index].path).astype(np.float64)  # not cached
        start = int(rng.integers(0, talker.size))
        piece = np.take(talker, np.arange(start, start + n), mode="wrap")
        x += piece / max(np.sqrt(np.mean(piece**2)), 1e-9)
    return x


def synth_noise(
    kind: str,
    seconds: float,
    rng: np.random.Generator | int | None = None,
    sample_rate: int = SAMPLE_RATE,
    root: str | os.PathLike | None = None,
) -> np.ndarray:
    """A noise of a kind that no shipped model was trained on: ``(round(seconds * rate),)``
    float32, peak amplitude 0.5 (:func:`asp_lab.data.mix_noise` rescales it anyway).
    Chapter 6.

    * ``"hum"``: mains hum, :data:`HUM_HZ` (50 Hz) and its harmonics up to 1 kHz, the k-th
      at amplitude 1/k, each with a random phase;
    * ``"clicks"``: sparse impulses, on average 10 a second at random times, each a 5 ms
      burst of white noise decaying with a 1 ms time constant, of random sign and size,
      over a faint white floor about 50 dB below the clicks' peaks;
    * ``"chirp"``: logarithmic sweeps from 200 Hz to 4 kHz, one every 0.5 s, from a random
      point of the sweep;
    * ``"babble"``: :data:`BABBLE_TALKERS` (6) talkers at once, random excerpts of as many
      different train-clean-100 speakers, each scaled to the same RMS, summed.
    """
    rng = np.random.default_rng(rng)
    n = int(round(seconds * sample_rate))
    if n < 1:
        raise ValueError(f"seconds must give at least one sample, got {seconds}")
    t = np.arange(n) / sample_rate
    if kind == "hum":
        x = _hum(t, rng)
    elif kind == "clicks":
        x = _clicks(n, seconds, rng, sample_rate)
    elif kind == "chirp":
        x = _chirp(t, rng)
    elif kind == "babble":
        x = _babble(n, rng, root)
    else:
        raise ValueError(f"unknown synthetic noise {kind!r}; known: {', '.join(SYNTH_NOISES)}")
    x = np.asarray(x, dtype=np.float64)
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def noise_kinds(root: str | os.PathLike | None = None) -> list[str]:
    """Every noise kind :func:`noise_excerpt` knows: the recorded noises in ``data/noise``
    (sorted), then :data:`SYNTH_NOISES`. Chapter 6."""
    return list(data.noise_names(root)) + list(SYNTH_NOISES)


def noise_excerpt(
    kind: str,
    samples: int,
    rng: np.random.Generator | int | None = None,
    root: str | os.PathLike | None = None,
) -> np.ndarray:
    """``samples`` samples of a noise kind, ``(samples,)`` float32: a recorded noise from a
    random place (wrapping around at its end), or a fresh :func:`synth_noise`. Chapter 6."""
    rng = np.random.default_rng(rng)
    if kind in SYNTH_NOISES:
        return synth_noise(kind, samples / SAMPLE_RATE, rng, root=root)
    recorded = data.noise_names(root)
    if kind not in recorded:
        raise ValueError(f"unknown noise {kind!r}; known: {', '.join(noise_kinds(root))}")
    noise = data.cached_noise(kind, None if root is None else str(root))
    start = int(rng.integers(0, noise.size))
    return np.take(noise, np.arange(start, start + samples), mode="wrap").astype(np.float32)


def noise_rng(seed: int, utterance_index: int, kind: str) -> np.random.Generator:
    """The generator that picks the noise for one utterance and kind; the same at every SNR,
    so the SNRs of a grid are paired (the same noise excerpt, louder or quieter). Chapter 6."""
    return np.random.default_rng([seed, utterance_index, zlib.crc32(kind.encode())])


def noise_segment(samples: int, fraction: float = 1 / 3, position: float = 0.5) -> tuple[int, int]:
    """``(start, length)`` in samples of a segment ``fraction`` of an utterance long;
    ``position`` 0 puts it at the start, 0.5 in the middle, 1 at the end (the defaults:
    the middle third). Chapter 6."""
    if not 0 < fraction <= 1 or not 0 <= position <= 1:
        raise ValueError(f"need 0 < fraction <= 1 and 0 <= position <= 1, got {fraction}, "
                         f"{position}")
    length = min(samples, max(1, int(round(samples * fraction))))
    return int(round((samples - length) * position)), length


def add_noise(
    speech: np.ndarray,
    kind: str,
    snr_db: float,
    start: int,
    length: int,
    mode: str = "replace",
    rng: np.random.Generator | int | None = None,
    root: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`asp_lab.data.mix_noise` with a noise of any kind (:func:`noise_kinds`): the
    excerpt is drawn by :func:`noise_excerpt`. Returns ``(mixed (samples,), frame_mask
    (T,))``, the mask over log-mel frames (map it with
    :func:`asp_lab.inference.output_frame_mask`). Chapter 6."""
    excerpt = noise_excerpt(kind, length, rng, root)
    return data.mix_noise(speech, excerpt, snr_db, start, length, mode=mode)
