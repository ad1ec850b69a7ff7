"""Using a trained model: load it, embed an utterance, read its attention.

    model = load_model("asp-scalar")                      # a shipped checkpoint, eval mode
    vector = embed(model, waveform, 16000)                # numpy (E,)
    times, alpha = frame_attention(model, waveform, sr)   # numpy (T',), alpha sums to 1
    relative_mass(alpha, noise_mask)                      # > 1: more than a uniform share

Output frame ``t'`` of the encoder sees input frames ``t' .. t' + 14`` and is centred on
input frame ``t' + FRAME_OFFSET``, i.e. at ``(t' + 7) * 10 ms``; :func:`frame_attention`
returns those centre times. Everything here runs the model in eval mode without gradients.
Chapters 3, 5 and 6 read trained models through it.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from .constants import HOP_SECONDS, SAMPLE_RATE
from .data import AudioError
from .features import model_input as features
from .models import CONTEXT, FRAME_OFFSET, TDNN, load_checkpoint
from .provenance import CHECKPOINT_DIR

__all__ = [
    "MODEL_NAMES",
    "EVAL_THREADS",
    "threads",
    "min_samples",
    "prepare_waveform",
    "load_model",
    "embed",
    "frame_attention",
    "channel_attention",
    "pooled_statistics",
    "output_frame_mask",
    "attention_mass",
    "relative_mass",
]

#: The shipped models :func:`load_model` knows by name (each seed 0; add ``-seed1`` or
#: ``-seed2`` for the other seeds of the noise-augmented ones).
MODEL_NAMES = ("stats", "asp-scalar", "asp-channel", "asp-scalar-clean")
#: Evaluation runs with this many CPU threads, so its numbers repeat on a machine (one
#: thread also keeps it fast on a machine shared with other work).
EVAL_THREADS = 1


@contextlib.contextmanager
def threads(n: int):
    """Run the block with ``n`` torch CPU threads, then restore the count. Chapters 5 to 7."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


# ------------------------------------------------------------------------------ loading


def _available() -> list[str]:
    return sorted(p.stem for p in CHECKPOINT_DIR.glob("*.pt"))


def load_model(name: str | os.PathLike, model: TDNN | None = None) -> TDNN:
    """A trained model in eval mode, on the CPU.

    Args:
        name: a shipped model, ``"stats"``, ``"asp-scalar"``, ``"asp-channel"`` or
            ``"asp-scalar-clean"`` (seed 0; ``"asp-scalar-seed1"`` etc. for other seeds),
            or the path of a checkpoint file.
        model: load the weights into this model instead of building one from the
            checkpoint's config; a model of another pooling or size raises a ValueError
            naming both.

    Chapters 3, 5 and 6.
    """
    path = Path(name)
    if not path.suffix == ".pt" or not path.is_file():
        stem = str(name) if "-seed" in str(name) else f"{name}-seed0"
        path = CHECKPOINT_DIR / f"{stem}.pt"
        if not path.is_file():
            known = list(MODEL_NAMES) + [n for n in _available() if not n.endswith("-seed0")]
            raise FileNotFoundError(
                f"no model {str(name)!r}: known names are {', '.join(known)} "
                f"(or give the path of a .pt checkpoint); looked for {path}"
            )
    return load_checkpoint(path, model)


# ---------------------------------------------------------------------------- waveforms


def min_samples() -> int:
    """The shortest waveform (16 kHz samples) the encoder takes: ``CONTEXT + 1`` = 15
    log-mel frames, i.e. ``14 * 160 = 2240`` samples (0.14 s). Chapter 6."""
    return CONTEXT * round(HOP_SECONDS * SAMPLE_RATE)


def prepare_waveform(waveform, sample_rate: int) -> np.ndarray:
    """Mono float32 at 16 kHz, with :func:`asp_lab.data.load_audio`'s checks.
    Chapter 6 (the reader's own recordings)."""
    if isinstance(waveform, torch.Tensor):
        waveform = waveform.detach().cpu().numpy()
    audio = np.asarray(waveform, dtype=np.float32)
    if audio.ndim == 2:
        axis = int(np.argmin(audio.shape))  # the channel axis is the short one
        warnings.warn(f"waveform of shape {audio.shape}: {audio.shape[axis]} channels mixed "
                      f"down to mono", stacklevel=3)
        audio = audio.mean(axis=axis)
    if audio.ndim != 1:
        raise AudioError(f"waveform must be mono, shape (samples,), got {audio.shape}")
    if audio.size == 0:
        raise AudioError("waveform is empty (0 samples)")
    if not np.all(np.isfinite(audio)):
        raise AudioError(f"waveform contains {int((~np.isfinite(audio)).sum())} NaN/inf samples")
    if sample_rate != SAMPLE_RATE:
        if sample_rate <= 0:
            raise AudioError(f"sample_rate must be positive, got {sample_rate}")
        import librosa  # slow to import; only for audio at another rate

        warnings.warn(f"waveform resampled from {sample_rate} Hz to {SAMPLE_RATE} Hz",
                      stacklevel=3)
        audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=SAMPLE_RATE)
        audio = audio.astype(np.float32)
    need = min_samples()
    if audio.size < need:
        raise AudioError(
            f"waveform is {audio.size / SAMPLE_RATE:.3f} s long ({audio.size} samples at "
            f"{SAMPLE_RATE} Hz); the model needs at least {need / SAMPLE_RATE:.3f} s "
            f"({need} samples, {CONTEXT + 1} frames of 10 ms)"
        )
    if not np.any(audio):
        raise AudioError(f"waveform is silent: all {audio.size} samples are zero")
    return audio


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _run(model: TDNN, waveform, sample_rate: int, attention: bool):

    audio = prepare_waveform(waveform, sample_rate)
    model.eval()
    with torch.no_grad():
        feats = features(torch.tensor(audio, device=_device(model)))
        return model(feats, return_attention=attention)


def embed(model: TDNN, waveform, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The speaker embedding of one utterance: ``waveform (samples,)`` -> numpy ``(E,)``.

    Audio at another rate is resampled to 16 kHz (with a warning); too-short, empty or
    silent audio raises :class:`asp_lab.data.AudioError`.

    Chapter 5.
    """
    return _run(model, waveform, sample_rate, False)[0].float().cpu().numpy()


def _times(frames: int) -> np.ndarray:
    return (np.arange(frames) + FRAME_OFFSET) * HOP_SECONDS


def channel_attention(model: TDNN, waveform, sample_rate: int = SAMPLE_RATE):
    """The pooling weights of every channel: ``(times (T',), alpha (K, T'))``, numpy
    float64, each row summing to 1. ``K = P`` channels for ``asp-channel``; ``K = 1`` for
    ``asp-scalar`` (one weight per frame) and ``stats`` (uniform weights). Chapters 3 and 6."""
    _, alpha = _run(model, waveform, sample_rate, True)
    alpha = alpha[0].double().cpu().numpy()  # (T',) or (P, T')
    alpha = np.atleast_2d(alpha)
    return _times(alpha.shape[-1]), alpha / alpha.sum(axis=-1, keepdims=True)


def frame_attention(model: TDNN, waveform, sample_rate: int = SAMPLE_RATE):
    """The pooling weight of each output frame: ``(times (T',), alpha (T',))`` numpy.

    ``times`` are the frames' centres in seconds, ``(t' + FRAME_OFFSET) * 0.01``; alpha
    sums to 1 (for ``asp-channel`` it is the mean over channels of the per-channel
    weights, see :func:`channel_attention`; for ``stats`` it is uniform).

    Chapter 6.
    """
    times, alpha = channel_attention(model, waveform, sample_rate)
    alpha = alpha.mean(axis=0)
    return times, alpha / alpha.sum()


def output_frame_mask(mask, frames: int) -> np.ndarray:
    """A boolean mask over the ``frames`` output frames (``T'``) from a mask over either
    those frames or the ``T' + 14`` log-mel frames (as :func:`asp_lab.data.mix_noise`
    returns it): output frame ``t'`` takes the value of input frame ``t' + FRAME_OFFSET``.
    Chapter 6."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 1:
        raise ValueError(f"mask must be 1-D, got shape {mask.shape}")
    if mask.size == frames:
        return mask
    if mask.size == frames + CONTEXT:
        return mask[FRAME_OFFSET : FRAME_OFFSET + frames]
    raise ValueError(
        f"mask has {mask.size} entries; expected {frames} (one per output frame) or "
        f"{frames + CONTEXT} (one per log-mel frame)"
    )


def attention_mass(alpha, mask) -> float:
    """The share of attention on the masked frames: ``sum(alpha[mask])``.

    ``alpha: (T',)`` weights summing to 1; ``mask: (T',)`` or ``(T' + 14,)`` booleans
    (see :func:`output_frame_mask`). Chapter 6."""
    alpha = np.asarray(alpha, dtype=np.float64)
    if alpha.ndim != 1:
        raise ValueError(f"alpha must be 1-D (T',), got shape {alpha.shape}")
    return float(alpha[output_frame_mask(mask, alpha.size)].sum())


def relative_mass(alpha, mask) -> float:
    """:func:`attention_mass` divided by the masked frames' uniform share ``|mask| / T'``:
    1 means as much attention as statistics pooling gives them, 0.5 half as much. Chapter 6."""
    alpha = np.asarray(alpha, dtype=np.float64)
    m = output_frame_mask(mask, alpha.size)
    if not m.any():
        raise ValueError("mask selects no frame: the uniform share is 0")
    return attention_mass(alpha, m) / (m.sum() / alpha.size)


def pooled_statistics(model: TDNN, waveform, sample_rate: int = SAMPLE_RATE):
    """The pooling layer's output for one utterance, split: ``(mu (P,), sigma (P,))`` numpy,
    the weighted mean and standard deviation of the frame features. Chapter 6."""

    audio = prepare_waveform(waveform, sample_rate)
    model.eval()
    with torch.no_grad():
        h = model.frame_layers(features(torch.tensor(audio, device=_device(model))))
        pooled = model.pooling(h)[0].double().cpu().numpy()
    half = pooled.size // 2
    return pooled[:half], pooled[half:]


