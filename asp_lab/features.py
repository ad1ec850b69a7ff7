"""From a waveform to frames: log-mel filterbank features.

A 25 ms window every 10 ms gives 100 frames a second; each frame is ``n_mels`` log
energies. These are the ``(C, T)`` frames the book pools in chapters 1 and 2 before any
network is trained.
"""

from __future__ import annotations

import numpy as np

from .data import SAMPLE_RATE

N_MELS = 40
WIN_SECONDS = 0.025
HOP_SECONDS = 0.010
LOG_FLOOR = 1e-6  #: added to the mel energies before the log, so silence stays finite


def log_mel(
    waveform: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    n_mels: int = N_MELS,
    win_seconds: float = WIN_SECONDS,
    hop_seconds: float = HOP_SECONDS,
) -> np.ndarray:
    """Log-mel features of a mono waveform, ``(n_mels, T)`` float32, natural log of power.

    ``T = 1 + len(waveform) // hop`` frames (centred windows), one every ``hop_seconds``.
    """
    import librosa

    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim != 1:
        raise ValueError(f"waveform must be mono, shape (samples,), got {waveform.shape}")
    win = round(win_seconds * sample_rate)
    hop = round(hop_seconds * sample_rate)
    if waveform.size < win:
        raise ValueError(
            f"waveform has {waveform.size} samples ({waveform.size / sample_rate * 1000:.1f} ms); "
            f"at least one {win_seconds * 1000:g} ms window ({win} samples) is needed"
        )
    mel = librosa.feature.melspectrogram(
        y=waveform, sr=sample_rate, n_fft=win, hop_length=hop, n_mels=n_mels,
        fmin=20.0, fmax=sample_rate / 2, power=2.0,
    )
    return np.log(mel + LOG_FLOOR).astype(np.float32)


def frame_times(frames: int, hop_seconds: float = HOP_SECONDS) -> np.ndarray:
    """Centre time in seconds of each of ``frames`` frames, ``(T,)``."""
    return np.arange(frames) * hop_seconds
