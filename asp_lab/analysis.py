"""Using a trained model: load it, embed an utterance, read its attention, evaluate it.

    model = load_model("asp-scalar")                      # a shipped checkpoint, eval mode
    vector = embed(model, waveform, 16000)                # numpy (E,)
    times, alpha = frame_attention(model, waveform, sr)   # numpy (T',), alpha sums to 1
    relative_mass(alpha, noise_mask)                      # > 1: more than a uniform share

Output frame ``t'`` of the encoder sees input frames ``t' .. t' + 14`` and is centred on
input frame ``t' + FRAME_OFFSET``, i.e. at ``(t' + 7) * 10 ms``; :func:`frame_attention`
returns those centre times. Everything here runs the model in eval mode without gradients.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import time
import warnings
import zlib
from functools import cache
from pathlib import Path

import numpy as np
import torch

from . import data, metrics
from .data import SAMPLE_RATE, AudioError
from .features import HOP_SECONDS, WIN_SECONDS
from .features import model_input as features
from .models import CONTEXT, FRAME_OFFSET, TDNN, load_checkpoint
from .provenance import CHECKPOINT_DIR, git_commit

__all__ = [
    "MODEL_NAMES",
    "EVAL_THREADS",
    "SUBSET_FOR_TESTS",
    "min_samples",
    "load_model",
    "embed",
    "frame_attention",
    "channel_attention",
    "output_frame_mask",
    "attention_mass",
    "relative_mass",
    "evaluate",
]

#: The shipped models :func:`load_model` knows by name (each seed 0; add ``-seed1`` or
#: ``-seed2`` for the other seeds of the noise-augmented ones).
MODEL_NAMES = ("stats", "asp-scalar", "asp-channel", "asp-scalar-clean")
#: Evaluation runs with this many CPU threads, so its numbers repeat on a machine (one
#: thread also keeps it fast on a machine shared with other work).
EVAL_THREADS = 1
#: Utterances per speaker in the quick evaluation the tests repeat (40 utterances, 780 trials).
SUBSET_FOR_TESTS = 4


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
    log-mel frames, i.e. ``14 * 160 = 2240`` samples (0.14 s)."""
    return CONTEXT * round(HOP_SECONDS * SAMPLE_RATE)


def _prepare(waveform, sample_rate: int) -> np.ndarray:
    """Mono float32 at 16 kHz, with :func:`asp_lab.data.load_audio`'s checks."""
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
        import librosa

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

    audio = _prepare(waveform, sample_rate)
    model.eval()
    with torch.no_grad():
        feats = features(torch.tensor(audio, device=_device(model)))
        return model(feats, return_attention=attention)


def embed(model: TDNN, waveform, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The speaker embedding of one utterance: ``waveform (samples,)`` -> numpy ``(E,)``.

    Audio at another rate is resampled to 16 kHz (with a warning); too-short, empty or
    silent audio raises :class:`asp_lab.data.AudioError`.
    """
    return _run(model, waveform, sample_rate, False)[0].float().cpu().numpy()


def _times(frames: int) -> np.ndarray:
    return (np.arange(frames) + FRAME_OFFSET) * HOP_SECONDS


def channel_attention(model: TDNN, waveform, sample_rate: int = SAMPLE_RATE):
    """The pooling weights of every channel: ``(times (T',), alpha (K, T'))``, numpy
    float64, each row summing to 1. ``K = P`` channels for ``asp-channel``; ``K = 1`` for
    ``asp-scalar`` (one weight per frame) and ``stats`` (uniform weights)."""
    _, alpha = _run(model, waveform, sample_rate, True)
    alpha = alpha[0].double().cpu().numpy()  # (T',) or (P, T')
    alpha = np.atleast_2d(alpha)
    return _times(alpha.shape[-1]), alpha / alpha.sum(axis=-1, keepdims=True)


def frame_attention(model: TDNN, waveform, sample_rate: int = SAMPLE_RATE):
    """The pooling weight of each output frame: ``(times (T',), alpha (T',))`` numpy.

    ``times`` are the frames' centres in seconds, ``(t' + FRAME_OFFSET) * 0.01``; alpha
    sums to 1 (for ``asp-channel`` it is the mean over channels of the per-channel
    weights, see :func:`channel_attention`; for ``stats`` it is uniform).
    """
    times, alpha = channel_attention(model, waveform, sample_rate)
    alpha = alpha.mean(axis=0)
    return times, alpha / alpha.sum()


def output_frame_mask(mask, frames: int) -> np.ndarray:
    """A boolean mask over the ``frames`` output frames (``T'``) from a mask over either
    those frames or the ``T' + 14`` log-mel frames (as :func:`asp_lab.data.mix_noise`
    returns it): output frame ``t'`` takes the value of input frame ``t' + FRAME_OFFSET``."""
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
    (see :func:`output_frame_mask`)."""
    alpha = np.asarray(alpha, dtype=np.float64)
    if alpha.ndim != 1:
        raise ValueError(f"alpha must be 1-D (T',), got shape {alpha.shape}")
    return float(alpha[output_frame_mask(mask, alpha.size)].sum())


def relative_mass(alpha, mask) -> float:
    """:func:`attention_mass` divided by the masked frames' uniform share ``|mask| / T'``:
    1 means as much attention as statistics pooling gives them, 0.5 half as much."""
    alpha = np.asarray(alpha, dtype=np.float64)
    m = output_frame_mask(mask, alpha.size)
    if not m.any():
        raise ValueError("mask selects no frame: the uniform share is 0")
    return attention_mass(alpha, m) / (m.sum() / alpha.size)


# ----------------------------------------------------------------------------- evaluation


@cache
def _audio(path) -> np.ndarray:
    audio = data.load_audio(path)
    audio.setflags(write=False)
    return audio


@contextlib.contextmanager
def _threads(n: int):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def evaluate(
    model: TDNN,
    noise: str | None = None,
    snr_db: float | None = None,
    seed: int = 0,
    per_speaker: int | None = None,
    bootstrap: int = 1000,
    root: str | None = None,
    return_scores: bool = False,
) -> dict:
    """Speaker verification on test-other: every pair of utterances, cosine scores.

    Each utterance is embedded whole, on the CPU with :data:`EVAL_THREADS` threads, so the
    numbers repeat exactly on a machine. With ``noise`` the named noise is added to the
    whole of each utterance at ``snr_db`` (from a random place in the noise recording,
    drawn with ``default_rng([seed, i])`` for utterance ``i``).

    Args:
        per_speaker: use only the first this many utterances of each speaker.
        bootstrap: rounds of the speaker bootstrap for 95 % intervals (0: none).

    Returns:
        a dict with ``eer``, ``min_dcf_0.01``, ``min_dcf_0.05``, their ``*_ci``
        ``[low, high]`` (with bootstrap), trial counts and the settings; with
        ``return_scores`` also ``scores``, ``labels``, ``speakers_a``, ``speakers_b``.
    """
    if (noise is None) != (snr_db is None):
        raise ValueError(f"give both noise and snr_db, or neither; got {noise!r}, {snr_db!r}")
    start = time.perf_counter()
    utts = data.utterances("test-other", root)
    if per_speaker is not None:
        counts: dict[str, int] = {}
        keep = []
        for u in utts:
            counts[u.speaker] = counts.get(u.speaker, 0) + 1
            if counts[u.speaker] <= per_speaker:
                keep.append(u)
        utts = keep
    audio = [_audio(u.path) for u in utts]
    noise_audio = data.load_noise(noise, root) if noise is not None else None
    model = model.cpu().eval()
    embeddings = []
    with _threads(EVAL_THREADS):
        for i, wave in enumerate(audio):
            if noise_audio is not None:
                wave, _ = data.mix_noise(wave, noise_audio, snr_db, 0, wave.size,
                                         rng=np.random.default_rng([seed, i]))
            embeddings.append(embed(model, wave))
    emb = np.stack(embeddings)
    pairs = np.array(list(itertools.combinations(range(len(utts)), 2)))
    spk = np.array([u.speaker for u in utts])
    scores = metrics.cosine_scores(emb[pairs[:, 0]], emb[pairs[:, 1]])
    labels = spk[pairs[:, 0]] == spk[pairs[:, 1]]
    out: dict = {
        "noise": noise, "snr_db": snr_db, "seed": seed, "utterances": len(utts),
        "trials": int(labels.size), "target_trials": int(labels.sum()),
        "eer": metrics.eer(scores, labels)[0],
        "min_dcf_0.01": metrics.min_dcf(scores, labels, p_target=0.01),
        "min_dcf_0.05": metrics.min_dcf(scores, labels, p_target=0.05),
    }
    if bootstrap:
        a, b = spk[pairs[:, 0]], spk[pairs[:, 1]]
        fns = {"eer": metrics.eer,
               "min_dcf_0.01": lambda s, y: metrics.min_dcf(s, y, p_target=0.01),
               "min_dcf_0.05": lambda s, y: metrics.min_dcf(s, y, p_target=0.05)}
        for key, fn in fns.items():
            _, low, high = metrics.bootstrap_ci(fn, scores, labels, a, b, n=bootstrap, seed=seed)
            out[f"{key}_ci"] = [low, high]
        out["bootstrap"] = {"rounds": bootstrap, "level": 0.95, "resampled": "speakers"}
    out["seconds"] = round(time.perf_counter() - start, 2)
    if return_scores:
        out.update(scores=scores, labels=labels, speakers_a=spk[pairs[:, 0]],
                   speakers_b=spk[pairs[:, 1]])
    return out


# ------------------------------------------------------- chapter 6: attention under noise
#
# Which frames does a trained attention trust when part of an utterance is noise? The
# functions below put a noise into one segment of a test-other utterance (added to the
# speech, or replacing it), read the model's weights and measure the share of attention
# on the noise frames against their uniform share. ``noise_attention_grid`` runs that over
# utterances, noise kinds, SNRs and models; ``precompute_attention_grid`` stores the grid
# the book reads (``python -m asp_lab.analysis precompute``).

__all__ += [
    "SYNTH_NOISES",
    "ATTENTION_GRID",
    "synth_noise",
    "noise_kinds",
    "training_noises",
    "noise_excerpt",
    "noise_rng",
    "noise_segment",
    "add_noise",
    "noise_attention",
    "frame_energy_db",
    "frame_snr_db",
    "to_output_frames",
    "quiet_relative_mass",
    "spearman",
    "mean_interval",
    "clean_attention_stats",
    "pooled_statistics",
    "grid_entry",
    "noise_attention_grid",
    "clean_attention_grid",
    "precompute_attention_grid",
    "load_attention_grid",
]

#: Noises made by :func:`synth_noise` rather than recorded; no model here trained on them.
SYNTH_NOISES = ("hum", "clicks", "chirp", "babble")
#: The stored grid of chapter 6 (``python -m asp_lab.analysis precompute`` writes it).
ATTENTION_GRID = CHECKPOINT_DIR / "attention_grid.json"
#: The grid's settings: models (every seed of the noise-augmented ASP models, and the one
#: trained without noise), SNRs in dB, and the models measured with added noise too.
GRID_MODELS = ("asp-scalar", "asp-channel", "asp-scalar-clean", "asp-scalar-seed1",
               "asp-scalar-seed2", "asp-channel-seed1", "asp-channel-seed2")
GRID_SNRS = (-5.0, 0.0, 5.0, 10.0, 20.0)
GRID_ADD_MODELS = ("asp-scalar", "asp-channel", "asp-scalar-clean")
#: Mains frequency (Hz) of the ``hum`` noise, and how many talkers make the ``babble``.
HUM_HZ = 50.0
BABBLE_TALKERS = 6
#: Digits kept in the stored grid.
GRID_DECIMALS = 6


@cache
def _noise(name: str, root) -> np.ndarray:
    noise = data.load_noise(name, root)
    noise.setflags(write=False)
    return noise


def synth_noise(
    kind: str,
    seconds: float,
    rng: np.random.Generator | int | None = None,
    sample_rate: int = SAMPLE_RATE,
    root: str | os.PathLike | None = None,
) -> np.ndarray:
    """A noise of a kind that no shipped model was trained on: ``(round(seconds * rate),)``
    float32, peak amplitude 0.5 (:func:`asp_lab.data.mix_noise` rescales it anyway).

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
        harmonics = np.arange(1, int(1000 // HUM_HZ) + 1)
        phases = rng.uniform(0, 2 * np.pi, harmonics.size)
        x = sum(np.sin(2 * np.pi * HUM_HZ * k * t + p) / k
                for k, p in zip(harmonics, phases, strict=True))
    elif kind == "clicks":
        x = 0.003 * rng.standard_normal(n)
        burst = round(0.005 * sample_rate)
        shape = np.exp(-np.arange(burst) / (0.001 * sample_rate))
        for position in rng.integers(0, n, rng.poisson(10 * seconds)):
            click = rng.choice([-1, 1]) * rng.uniform(0.3, 1.0) * shape
            click = click * rng.standard_normal(burst)
            end = min(n, position + burst)
            x[position:end] += click[: end - position]
    elif kind == "chirp":
        from scipy.signal import chirp

        period = 0.5
        local = (t + rng.uniform(0, period)) % period
        x = chirp(local, f0=200.0, t1=period, f1=4000.0, method="logarithmic")
    elif kind == "babble":
        utts = data.utterances("train-clean-100", root)
        x = np.zeros(n)
        for index in rng.choice(len(utts), size=BABBLE_TALKERS, replace=False):
            talker = data.load_audio(utts[index].path).astype(np.float64)  # not cached
            start = int(rng.integers(0, talker.size))
            piece = np.take(talker, np.arange(start, start + n), mode="wrap")
            x += piece / max(np.sqrt(np.mean(piece**2)), 1e-9)
    else:
        raise ValueError(f"unknown synthetic noise {kind!r}; known: {', '.join(SYNTH_NOISES)}")
    x = np.asarray(x, dtype=np.float64)
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def noise_kinds(root: str | os.PathLike | None = None) -> list[str]:
    """Every noise kind :func:`noise_excerpt` knows: the recorded noises in ``data/noise``
    (sorted), then :data:`SYNTH_NOISES`."""
    return list(data.noise_names(root)) + list(SYNTH_NOISES)


def training_noises(name: str) -> list[str]:
    """The noises a shipped model was trained with (its ``train_config``), ``[]`` for a
    model trained without noise augmentation (``asp-scalar-clean``)."""
    stem = name if "-seed" in name else f"{name}-seed0"
    path = CHECKPOINT_DIR / f"{stem}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no record {path} of a shipped model {name!r}")
    config = json.loads(path.read_text())["train_config"]
    return list(config["noises"]) if config.get("noise_aug") else []


def noise_excerpt(
    kind: str,
    samples: int,
    rng: np.random.Generator | int | None = None,
    root: str | os.PathLike | None = None,
) -> np.ndarray:
    """``samples`` samples of a noise kind, ``(samples,)`` float32: a recorded noise from a
    random place (wrapping around at its end), or a fresh :func:`synth_noise`."""
    rng = np.random.default_rng(rng)
    if kind in SYNTH_NOISES:
        return synth_noise(kind, samples / SAMPLE_RATE, rng, root=root)
    recorded = data.noise_names(root)
    if kind not in recorded:
        raise ValueError(f"unknown noise {kind!r}; known: {', '.join(noise_kinds(root))}")
    noise = _noise(kind, None if root is None else str(root))
    start = int(rng.integers(0, noise.size))
    return np.take(noise, np.arange(start, start + samples), mode="wrap").astype(np.float32)


def noise_rng(seed: int, utterance_index: int, kind: str) -> np.random.Generator:
    """The generator that picks the noise for one utterance and kind; the same at every SNR,
    so the SNRs of a grid are paired (the same noise excerpt, louder or quieter)."""
    return np.random.default_rng([seed, utterance_index, zlib.crc32(kind.encode())])


def noise_segment(samples: int, fraction: float = 1 / 3, position: float = 0.5) -> tuple[int, int]:
    """``(start, length)`` in samples of a segment ``fraction`` of an utterance long;
    ``position`` 0 puts it at the start, 0.5 in the middle, 1 at the end (the defaults:
    the middle third)."""
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
    (T,))``, the mask over log-mel frames (map it with :func:`output_frame_mask`)."""
    excerpt = noise_excerpt(kind, length, rng, root)
    return data.mix_noise(speech, excerpt, snr_db, start, length, mode=mode)


def noise_attention(
    model: TDNN,
    speech: np.ndarray,
    kind: str,
    snr_db: float,
    start: int,
    length: int,
    mode: str = "replace",
    rng: np.random.Generator | int | None = None,
    root: str | os.PathLike | None = None,
) -> dict:
    """Noise into one segment, then the model's weights.

    Returns a dict: ``mixed (samples,)``, ``times (T',)``, ``alpha (T',)``, ``mask (T',)``
    (output frames whose centre lies in the noise), ``mass`` (their share of attention),
    ``uniform`` (their share under uniform weights) and ``relative_mass`` (``mass /
    uniform``).
    """
    mixed, frame_mask = add_noise(speech, kind, snr_db, start, length, mode, rng, root)
    times, alpha = frame_attention(model, mixed)
    mask = output_frame_mask(frame_mask, alpha.size)
    mass = attention_mass(alpha, mask)
    uniform = float(mask.mean())
    return {"mixed": mixed, "times": times, "alpha": alpha, "mask": mask, "mass": mass,
            "uniform": uniform, "relative_mass": mass / uniform if uniform else float("nan")}


def frame_energy_db(waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Energy of each log-mel frame in dB, ``10 log10(mean x^2)`` over its 25 ms window
    centred on sample ``t * hop`` (zero-padded at the ends): ``(T,)``, ``T = 1 + samples //
    hop`` as :func:`asp_lab.features.log_mel` (1e-10 is added before the log)."""

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
    noise."""
    speech = np.asarray(speech, dtype=np.float64)
    noise = np.asarray(mixed, dtype=np.float64) - speech
    s, n = frame_energy_db(speech, sample_rate), frame_energy_db(noise, sample_rate)
    return np.where(n > -99.0, s - n, np.inf)


def to_output_frames(values, frames: int) -> np.ndarray:
    """Per-log-mel-frame ``values (T' + 14,)`` at the model's ``frames`` output frames
    ``(T',)``: output frame ``t'`` takes input frame ``t' + FRAME_OFFSET``, its centre (as
    :func:`output_frame_mask` does for masks)."""
    values = np.asarray(values)
    if values.shape != (frames + CONTEXT,):
        raise ValueError(f"values must have shape ({frames + CONTEXT},) (T' + {CONTEXT} "
                         f"log-mel frames), got {values.shape}")
    return values[FRAME_OFFSET : FRAME_OFFSET + frames]


def quiet_relative_mass(alpha, energy_db, fraction: float = 0.2) -> float:
    """:func:`relative_mass` on the quietest ``fraction`` of the output frames.

    ``alpha: (T',)``; ``energy_db: (T',)`` (already at the output frames, see
    :func:`to_output_frames`) or ``(T' + 14,)``. Ties are broken by time."""
    alpha = np.asarray(alpha, dtype=np.float64)
    energy = np.asarray(energy_db, dtype=np.float64)
    if energy.size == alpha.size + CONTEXT:
        energy = to_output_frames(energy, alpha.size)
    k = max(1, int(round(fraction * alpha.size)))
    mask = np.zeros(alpha.size, dtype=bool)
    mask[np.argsort(energy, kind="stable")[:k]] = True
    return relative_mass(alpha, mask)


def spearman(x, y) -> float:
    """Spearman's rank correlation of two ``(T,)`` arrays (nan if either is constant)."""
    from scipy.stats import rankdata

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of the same length, got {x.shape}, {y.shape}")
    rx, ry = rankdata(x), rankdata(y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def mean_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean of ``values (n,)`` and its Student-t interval,
    ``mean -+ t_{(1+level)/2, n-1} s / sqrt(n)`` (``s`` the sample standard deviation)."""
    from scipy.stats import t as student

    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size < 2 or not np.all(np.isfinite(v)):
        raise ValueError(f"need at least 2 finite values, got {v.size} ({v[:5]}...)")
    mean = float(v.mean())
    half = float(student.ppf((1 + level) / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return mean, mean - half, mean + half


def clean_attention_stats(model: TDNN, waveform, quiet_fraction: float = 0.2) -> dict:
    """Where a model's weights go in clean speech: ``quiet_relative_mass`` (the quietest
    ``quiet_fraction`` of frames, :func:`quiet_relative_mass`), ``energy_spearman`` (rank
    correlation of ``alpha_t`` with the frame energy in dB) and ``n_eff_share`` (``1 /
    sum alpha_t^2`` over ``T'``)."""
    times, alpha = frame_attention(model, waveform)
    energy = to_output_frames(frame_energy_db(_prepare(waveform, SAMPLE_RATE)), alpha.size)
    return {"quiet_relative_mass": quiet_relative_mass(alpha, energy, quiet_fraction),
            "energy_spearman": spearman(alpha, energy),
            "n_eff_share": float(1.0 / np.sum(alpha**2) / alpha.size)}


def pooled_statistics(model: TDNN, waveform, sample_rate: int = SAMPLE_RATE):
    """The pooling layer's output for one utterance, split: ``(mu (P,), sigma (P,))`` numpy,
    the weighted mean and standard deviation of the frame features."""

    audio = _prepare(waveform, sample_rate)
    model.eval()
    with torch.no_grad():
        h = model.frame_layers(features(torch.tensor(audio, device=_device(model))))
        pooled = model.pooling(h)[0].double().cpu().numpy()
    half = pooled.size // 2
    return pooled[:half], pooled[half:]


def _model(model: TDNN | str) -> TDNN:
    return load_model(model) if isinstance(model, str) else model


def grid_entry(
    model: TDNN | str,
    utterance_index: int,
    kind: str,
    snr_db: float,
    mode: str = "replace",
    seed: int = 0,
    fraction: float = 1 / 3,
    position: float = 0.5,
    root: str | os.PathLike | None = None,
) -> float:
    """One entry of :func:`noise_attention_grid`, computed alone: the relative attention
    mass on the noise segment of test-other utterance ``utterance_index`` (in
    :func:`asp_lab.data.utterances` order)."""
    utt = data.utterances("test-other", root)[utterance_index]
    speech = _audio(utt.path)
    start, length = noise_segment(speech.size, fraction, position)
    with _threads(EVAL_THREADS):
        out = noise_attention(_model(model), speech, kind, snr_db, start, length, mode,
                              noise_rng(seed, utterance_index, kind), root)
    return out["relative_mass"]


def noise_attention_grid(
    models=GRID_MODELS,
    kinds=None,
    snrs=GRID_SNRS,
    utterances=None,
    mode: str = "replace",
    seed: int = 0,
    fraction: float = 1 / 3,
    position: float = 0.5,
    local_snr: bool = False,
    root: str | os.PathLike | None = None,
    progress: bool = False,
) -> dict:
    """Relative attention mass on a noise segment over utterances, noise kinds, SNRs, models.

    For test-other utterance ``i`` (all 100 by default, or the given indices) and noise
    kind ``k``, one noise excerpt (drawn by :func:`noise_rng`) fills the segment
    (:func:`noise_segment`: the middle third by default) at every SNR; each model's weights
    give :func:`relative_mass` on the output frames whose centre lies in the segment.

    Returns a dict with the settings and ``relative_mass[model][kind]``: a list over SNRs of
    lists over utterances; with ``local_snr`` (for ``mode="add"``) also
    ``local_snr_spearman`` alike: the rank correlation, over the segment's frames, of
    ``alpha_t`` with the frame's own SNR (:func:`frame_snr_db`).
    """
    start_time = time.perf_counter()
    kinds = list(kinds) if kinds is not None else noise_kinds(root)
    utts = data.utterances("test-other", root)
    indices = list(range(len(utts))) if utterances is None else [int(i) for i in utterances]
    loaded = {name: _model(name) for name in models}
    mass = {m: {k: [[] for _ in snrs] for k in kinds} for m in loaded}
    corr = {m: {k: [[] for _ in snrs] for k in kinds} for m in loaded}
    with _threads(EVAL_THREADS):
        for count, i in enumerate(indices):
            speech = _audio(utts[i].path)
            start, length = noise_segment(speech.size, fraction, position)
            for kind in kinds:
                excerpt = noise_excerpt(kind, length, noise_rng(seed, i, kind), root)
                for j, snr in enumerate(snrs):
                    mixed, frame_mask = data.mix_noise(speech, excerpt, snr, start, length,
                                                       mode=mode)
                    local = frame_snr_db(speech, mixed) if local_snr else None
                    for name, model in loaded.items():
                        _, alpha = frame_attention(model, mixed)
                        mass[name][kind][j].append(
                            round(relative_mass(alpha, frame_mask), GRID_DECIMALS))
                        if local is not None:
                            seg = output_frame_mask(frame_mask, alpha.size)
                            rho = spearman(alpha[seg], to_output_frames(local, alpha.size)[seg])
                            corr[name][kind][j].append(round(rho, GRID_DECIMALS))
            if progress:
                print(f"  {mode}: utterance {count + 1}/{len(indices)} "
                      f"({time.perf_counter() - start_time:.0f} s)", flush=True)
    out = {"mode": mode, "seed": seed, "fraction": fraction, "position": position,
           "snrs": [float(s) for s in snrs], "kinds": kinds, "models": list(loaded),
           "utterances": [utts[i].name for i in indices], "utterance_indices": indices,
           "relative_mass": mass}
    if local_snr:
        out["local_snr_spearman"] = corr
    out["seconds"] = round(time.perf_counter() - start_time, 1)
    return out


def clean_attention_grid(models=GRID_MODELS, utterances=None, quiet_fraction: float = 0.2,
                         root: str | os.PathLike | None = None) -> dict:
    """:func:`clean_attention_stats` of every model on every (or the given) clean test-other
    utterance: ``{stat: {model: [value per utterance]}}`` and the settings."""
    utts = data.utterances("test-other", root)
    indices = list(range(len(utts))) if utterances is None else [int(i) for i in utterances]
    stats: dict = {key: {} for key in ("quiet_relative_mass", "energy_spearman", "n_eff_share")}
    with _threads(EVAL_THREADS):
        for name in models:
            model = _model(name)
            rows = [clean_attention_stats(model, _audio(utts[i].path), quiet_fraction)
                    for i in indices]
            for key in stats:
                stats[key][name] = [round(r[key], GRID_DECIMALS) for r in rows]
    return {"quiet_fraction": quiet_fraction, "models": list(models),
            "utterances": [utts[i].name for i in indices], **stats}


def _code_version() -> dict:

    return {"git_commit": git_commit(), "analysis_py_sha256": data.sha256(Path(__file__))}


def precompute_attention_grid(out: str | os.PathLike = ATTENTION_GRID, utterances=None,
                              progress: bool = True) -> dict:
    """Compute chapter 6's grid with the shipped models and write it to ``out`` (JSON).

    Holds: ``replace`` (noise replacing the middle third, :data:`GRID_MODELS`, every noise
    kind, :data:`GRID_SNRS`), ``add`` (noise added there, :data:`GRID_ADD_MODELS`, with
    the local-SNR correlation), ``clean`` (:func:`clean_attention_grid`) and ``provenance``
    (code version, library versions, threads, seed, time taken). Every utterance of
    test-other by default (about 5 minutes on one CPU thread).
    """
    import platform

    start = time.perf_counter()
    grid = {
        "replace": noise_attention_grid(GRID_MODELS, utterances=utterances, mode="replace",
                                        progress=progress),
        "add": noise_attention_grid(GRID_ADD_MODELS, utterances=utterances, mode="add",
                                    local_snr=True, progress=progress),
        "clean": clean_attention_grid(GRID_MODELS, utterances=utterances),
    }
    grid["provenance"] = {
        "produced_by": "asp_lab.analysis.precompute_attention_grid "
                       "(python -m asp_lab.analysis precompute)",
        **_code_version(),
        "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
        "machine": platform.machine(), "threads": EVAL_THREADS,
        "data_sha256sums_sha256": data.sha256(data.default_root() / "SHA256SUMS"),
        "seed": 0, "noise_choice": "noise_rng(seed, utterance_index, kind): one excerpt per "
                                   "utterance and kind, the same at every SNR",
        "training_noises": {m: training_noises(m) for m in GRID_MODELS},
        "decimals": GRID_DECIMALS, "seconds": round(time.perf_counter() - start, 1),
    }
    Path(out).write_text(json.dumps(grid, separators=(",", ":")) + "\n")
    return grid


def load_attention_grid(path: str | os.PathLike = ATTENTION_GRID) -> dict:
    """The stored grid of :func:`precompute_attention_grid`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python -m asp_lab.analysis precompute`")
    return json.loads(path.read_text())


def _main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m asp_lab.analysis")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("precompute", help="compute chapter 6's attention grid and store it")
    p.add_argument("--out", default=str(ATTENTION_GRID), help="where to write the JSON")
    p.add_argument("--utterances", type=int, default=None,
                   help="only the first N test-other utterances (default: all)")
    args = parser.parse_args(argv)
    utts = None if args.utterances is None else range(args.utterances)
    grid = precompute_attention_grid(args.out, utterances=utts)
    print(f"wrote {args.out} in {grid['provenance']['seconds']} s")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main())
