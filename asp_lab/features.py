"""From a waveform to frames: log-mel filterbank features.

A 25 ms window every 10 ms gives 100 frames a second; each frame is ``n_mels`` log
energies. These are the ``(C, T)`` frames the book pools in chapters 1 and 2 before any
network is trained.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import nn

from .constants import HOP_SECONDS, N_MELS, SAMPLE_RATE, WIN_SECONDS

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

    Chapter 1 derives it; chapters 2 to 6 draw it.
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
    """Centre time in seconds of each of ``frames`` frames, ``(T,)``. Chapters 1 to 3."""
    return np.arange(frames) * hop_seconds


# ------------------------------------------------------------- the same features in torch


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """``(n_mels, n_fft // 2 + 1)`` float32: librosa's mel filters (Slaney scale and area
    normalisation, 20 Hz to Nyquist), exactly those :func:`log_mel` applies. Built once per
    setting and cached; treat the array as read-only. Chapter 1."""
    import librosa

    fb = librosa.filters.mel(
        sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=20.0, fmax=sample_rate / 2
    )
    fb.setflags(write=False)
    return fb


class LogMel(nn.Module):
    """:func:`log_mel` as a torch module, batched, differentiable, on any device.

    The window (periodic Hann, 25 ms) and the mel filterbank are buffers, so ``.to(device)``
    moves them with the module. Same framing as :func:`log_mel`: centred frames, the
    waveform padded with ``n_fft // 2`` zeros at each end (librosa's ``pad_mode="constant"``),
    one frame every 10 ms, natural log of mel power plus ``LOG_FLOOR``.

    ``waveform: (B, samples)`` or ``(samples,)`` -> ``(B, n_mels, T)`` with
    ``T = 1 + samples // hop`` (``B = 1`` for a 1-D input). Because the padding is zeros,
    a batch of waveforms zero-padded to a common length gives each one's own frames for
    ``t < 1 + samples_b // hop`` (see :func:`frame_lengths`); the later frames are padding.

    Chapters 5 and 7 (the model's front end).
    """

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        n_mels: int = N_MELS,
        win_seconds: float = WIN_SECONDS,
        hop_seconds: float = HOP_SECONDS,
    ) -> None:
        super().__init__()
        self.sample_rate, self.n_mels = sample_rate, n_mels
        self.n_fft = round(win_seconds * sample_rate)
        self.hop = round(hop_seconds * sample_rate)
        fb = torch.from_numpy(mel_filterbank(sample_rate, self.n_fft, n_mels).copy())
        self.register_buffer("filterbank", fb, persistent=False)  # (n_mels, n_fft // 2 + 1)
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        if waveform.dim() == 1:
            waveform = waveform[None]
        if waveform.dim() != 2:
            raise ValueError(
                f"waveform must have shape (B, samples) or (samples,), got {tuple(waveform.shape)}"
            )
        if waveform.shape[-1] < self.n_fft:
            raise ValueError(
                f"waveform has {waveform.shape[-1]} samples; at least one window "
                f"({self.n_fft} samples) is needed"
            )
        spec = torch.stft(
            waveform.float(), n_fft=self.n_fft, hop_length=self.hop, window=self.window,
            center=True, pad_mode="constant", return_complex=True,
        )  # (B, n_fft // 2 + 1, T)
        power = spec.real.square() + spec.imag.square()
        return torch.log(torch.matmul(self.filterbank, power) + LOG_FLOOR)  # (B, n_mels, T)


@lru_cache(maxsize=8)
def _log_mel_module(sample_rate: int, n_mels: int, win_seconds: float, hop_seconds: float):
    return LogMel(sample_rate, n_mels, win_seconds, hop_seconds)


def log_mel_torch(
    waveform: torch.Tensor,
    sample_rate: int = SAMPLE_RATE,
    n_mels: int = N_MELS,
    win_seconds: float = WIN_SECONDS,
    hop_seconds: float = HOP_SECONDS,
) -> torch.Tensor:
    """:func:`log_mel` in torch: ``waveform (B, samples)`` or ``(samples,)`` -> float32
    ``(B, n_mels, T)``, ``T = 1 + samples // hop`` (``B = 1`` for a 1-D input), on the
    waveform's device. Uses a cached :class:`LogMel`; for training, keep a ``LogMel`` in
    the model instead. Chapter 5."""
    if not isinstance(waveform, torch.Tensor):
        waveform = torch.as_tensor(np.asarray(waveform, dtype=np.float32))
    module = _log_mel_module(sample_rate, n_mels, win_seconds, hop_seconds)
    return module.to(waveform.device)(waveform)


def frame_lengths(samples: torch.Tensor, hop_seconds: float = HOP_SECONDS,
                  sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Frame counts ``1 + samples // hop`` of centred frames, for a ``(B,)`` tensor of
    waveform lengths in samples (the ``lengths`` a model takes for a zero-padded batch).
    Chapter 1 (padding and masks)."""
    hop = round(hop_seconds * sample_rate)
    return 1 + torch.as_tensor(samples) // hop


def model_input(waveform: torch.Tensor, logmel: LogMel | None = None) -> torch.Tensor:
    """What every model here sees: log-mel frames with the utterance's mean removed.
    Chapter 5.

    ``waveform: (B, samples)`` or ``(samples,)`` -> ``(B, 40, T)`` float32, ``T = 1 +
    samples // 160``. Subtracting each mel band's mean over time (cepstral mean
    normalisation) removes a fixed channel gain, as x-vector recipes do.
    """
    x = log_mel_torch(waveform) if logmel is None else logmel(waveform)
    return x - x.mean(dim=-1, keepdim=True)
