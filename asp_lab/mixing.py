"""Cutting and mixing waveforms: a random crop of an utterance, and noise put into one
segment of it at a chosen signal-to-noise ratio (chapters 5 and 6; the browser's mixer in
the book follows :func:`mix_noise` line by line).
"""

from __future__ import annotations

import operator

import numpy as np

from .constants import HOP_SECONDS, SAMPLE_RATE

__all__ = ["random_crop", "mix_noise", "segment_frames"]


def random_crop(
    waveform: np.ndarray,
    seconds_range: tuple[float, float] = (2.0, 3.0),
    rng: np.random.Generator | int | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """A random excerpt of a waveform, for training on short crops.

    The duration is drawn uniformly from ``seconds_range`` (pass ``(d, d)`` for exactly
    ``d`` seconds, e.g. one duration per batch), the start uniformly over the places where
    it fits. A waveform shorter than the drawn duration is returned whole (one shipped
    train-clean-100 utterance is 1.6 s), so the result can be shorter than asked.

    Args:
        waveform: ``(samples,)`` mono audio.
        rng: a ``numpy.random.Generator``, or a seed for one; ``None`` draws a fresh seed.

    Returns:
        ``(n,)`` a view into ``waveform``, ``n = min(samples, round(duration * sample_rate))``.

    Chapter 5 (training crops).
    """
    waveform = np.asarray(waveform)
    if waveform.ndim != 1 or waveform.size == 0:
        raise ValueError(
            f"waveform must be mono and non-empty, shape (samples,), got {waveform.shape}"
        )
    low, high = seconds_range
    if not 0 < low <= high:
        raise ValueError(
            f"seconds_range must be (low, high) with 0 < low <= high, got {seconds_range}"
        )
    rng = np.random.default_rng(rng)
    n = min(waveform.size, max(1, round(rng.uniform(low, high) * sample_rate)))
    start = int(rng.integers(0, waveform.size - n + 1))
    return waveform[start : start + n]


def mix_noise(
    speech: np.ndarray,
    noise: np.ndarray,
    snr_db: float,
    start: int,
    length: int,
    mode: str = "add",
    rng: np.random.Generator | int | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> tuple[np.ndarray, np.ndarray]:
    """Put noise into one segment of an utterance, at a given signal-to-noise ratio.

    The segment is samples ``start .. start + length - 1`` of ``speech`` (sample indices, not
    seconds: multiply seconds by ``sample_rate``). Two modes:

    * ``"add"``: speech plus noise. The noise is scaled so that the speech power *over the
      segment* is ``snr_db`` dB above the noise power: ``10 log10(mean(speech[seg]^2) /
      mean(noise_scaled^2)) = snr_db``. A silent segment has no SNR and raises.
    * ``"replace"``: the segment holds noise only (the speech there is removed), scaled so
      its RMS is the *whole utterance's* speech RMS divided by ``10^(snr_db / 20)``; so at
      0 dB the noise is as loud as the speech on average. Speech outside the segment is
      left untouched in both modes.

    The noise excerpt starts at sample 0 of ``noise``, or at a random sample if ``rng`` is
    given. A noise recording shorter than ``length`` (from that offset) is tiled: it wraps
    around to its beginning as often as needed.

    Args:
        speech: ``(samples,)`` mono speech; noise: ``(noise_samples,)`` mono noise.
        snr_db: the signal-to-noise ratio in dB, as defined by ``mode``.
        rng: a ``numpy.random.Generator`` or seed choosing where in ``noise`` to start.

    Returns:
        (mixed, frame_mask): ``mixed`` float32 ``(samples,)``; ``frame_mask`` bool ``(T,)``
        over the frames of :func:`asp_lab.features.log_mel` (``T = 1 + samples // hop``,
        hop 10 ms), True where the frame's centre sample ``t * hop`` lies in the segment.

    Chapters 5 and 6.
    """
    speech = np.asarray(speech, dtype=np.float64)
    noise = np.asarray(noise)
    start, length = _check_mix(speech, noise, snr_db, start, length, mode)
    offset = 0 if rng is None else int(np.random.default_rng(rng).integers(0, noise.size))
    piece = np.take(noise, np.arange(offset, offset + length), mode="wrap")  # tiles if short
    piece = piece.astype(np.float64)
    noise_power = np.mean(piece**2)
    if noise_power == 0:
        raise ValueError(f"the noise excerpt of {length} samples from sample {offset} is silent")
    segment = slice(start, start + length)
    if mode == "add":
        speech_power = np.mean(speech[segment] ** 2)
        if speech_power == 0:
            raise ValueError(f"speech is silent over [{start}, {start + length}): SNR undefined")
    else:
        speech_power = np.mean(speech**2)
    gain = np.sqrt(speech_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    mixed = speech.copy()
    mixed[segment] = (mixed[segment] if mode == "add" else 0.0) + gain * piece

    return mixed.astype(np.float32), segment_frames(speech.size, start, length, sample_rate)


def _check_mix(speech, noise, snr_db, start, length, mode) -> tuple[int, int]:
    """:func:`mix_noise`'s input checks; returns ``(start, length)`` as ints."""
    if speech.ndim != 1 or noise.ndim != 1 or speech.size == 0 or noise.size == 0:
        raise ValueError(
            f"speech and noise must be mono and non-empty, shape (samples,), "
            f"got {speech.shape} and {noise.shape}"
        )
    start, length = operator.index(start), operator.index(length)
    if length < 1:
        raise ValueError(f"length must be a positive number of samples, got {length}")
    if start < 0 or start + length > speech.size:
        raise ValueError(
            f"segment [start, start + length) = [{start}, {start + length}) lies outside the "
            f"speech waveform of {speech.size} samples"
        )
    if mode not in ("add", "replace"):
        raise ValueError(f'mode must be "add" or "replace", got {mode!r}')
    if not np.isfinite(snr_db):
        raise ValueError(f"snr_db must be a finite number of dB, got {snr_db}")
    return start, length


def segment_frames(samples: int, start: int, length: int,
                   sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The log-mel frames of a ``samples``-long waveform whose centre sample ``t * hop``
    lies in ``[start, start + length)``: bool ``(1 + samples // hop,)``. Chapter 6."""
    hop = round(HOP_SECONDS * sample_rate)
    centres = np.arange(1 + samples // hop) * hop
    return (centres >= start) & (centres < start + length)
