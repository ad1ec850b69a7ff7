"""What chapter 6 measures of a model's weights, frame by frame: energy and local SNR of
each frame, attention on the quietest frames, rank correlation, and intervals of means.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from scipy.stats import t as student

from ..constants import HOP_SECONDS, SAMPLE_RATE, WIN_SECONDS
from ..inference import relative_mass
from ..models import CONTEXT, FRAME_OFFSET

__all__ = ["frame_energy_db", "frame_snr_db", "to_output_frames", "quiet_relative_mass",
           "spearman", "mean_interval"]


def frame_energy_db(waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Energy of each log-mel frame in dB, ``10 log10(mean x^2)`` over its 25 ms window
    centred on sample ``t * hop`` (zero-padded at the ends): ``(T,)``, ``T = 1 + samples //
    hop`` as :func:`asp_lab.features.log_mel` (1e-10 is added before the log). Chapter 6."""
    x = np.asarray(waveform, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"waveform must be mono and non-empty, shape (samples,), got {x.shape}")
    hop, win = round(HOP_SECONDS * sample_rate), round(WIN_SECONDS * sample_rate)
    padded = np.pad(x**2, (win // 2, win - win // 2))
    cumulative = np.concatenate([[0.0], np.cumsum(padded)])
    starts = np.arange(1 + x.size // hop) * hop
    power = (cumulative[starts + win] - cumulative[starts]) / win
    return 10 * np.log10(np.maximum(power, 0.0) + 1e-10)


def frame_snr_db(speech: np.ndarray, mixed: np.ndarray, sample_rate: int = SAMPLE_RATE
                 ) -> np.ndarray:
    """Per-frame SNR in dB of ``mixed = speech + noise``: speech energy over noise energy in
    each frame's window (:func:`frame_energy_db`), ``(T,)``; ``+inf`` where there is no
    noise. Chapter 6."""
    speech = np.asarray(speech, dtype=np.float64)
    noise = np.asarray(mixed, dtype=np.float64) - speech
    s, n = frame_energy_db(speech, sample_rate), frame_energy_db(noise, sample_rate)
    return np.where(n > -99.0, s - n, np.inf)


def to_output_frames(values, frames: int) -> np.ndarray:
    """Per-log-mel-frame ``values (T' + 14,)`` at the model's ``frames`` output frames
    ``(T',)``: output frame ``t'`` takes input frame ``t' + FRAME_OFFSET``, its centre (as
    :func:`asp_lab.inference.output_frame_mask` does for masks). Chapter 6."""
    values = np.asarray(values)
    if values.shape != (frames + CONTEXT,):
        raise ValueError(f"values must have shape ({frames + CONTEXT},) (T' + {CONTEXT} "
                         f"log-mel frames), got {values.shape}")
    return values[FRAME_OFFSET : FRAME_OFFSET + frames]


def quiet_relative_mass(alpha, energy_db, fraction: float = 0.2) -> float:
    """:func:`relative_mass` on the quietest ``fraction`` of the output frames.

    ``alpha: (T',)``; ``energy_db: (T',)`` (already at the output frames, see
    :func:`to_output_frames`) or ``(T' + 14,)``. Ties are broken by time. Chapter 6."""
    alpha = np.asarray(alpha, dtype=np.float64)
    energy = np.asarray(energy_db, dtype=np.float64)
    if energy.size == alpha.size + CONTEXT:
        energy = to_output_frames(energy, alpha.size)
    k = max(1, int(round(fraction * alpha.size)))
    mask = np.zeros(alpha.size, dtype=bool)
    mask[np.argsort(energy, kind="stable")[:k]] = True
    return relative_mass(alpha, mask)


def spearman(x, y) -> float:
    """Spearman's rank correlation of two ``(T,)`` arrays (nan if either is constant).
    Chapter 6."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of the same length, got {x.shape}, {y.shape}")
    rx, ry = rankdata(x), rankdata(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def mean_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean of ``values (n,)`` and its Student-t interval,
    ``mean -+ t_{(1+level)/2, n-1} s / sqrt(n)`` (``s`` the sample standard deviation).
    Chapter 6."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size < 2 or not np.all(np.isfinite(v)):
        raise ValueError(f"need at least 2 finite values, got {v.size} ({v[:5]}...)")
    mean = float(v.mean())
    half = float(student.ppf((1 + level) / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return mean, mean - half, mean + half
