"""Speaker verification on test-other: every pair of utterances, cosine scores, EER and
minDCF with speaker-bootstrap intervals (:mod:`asp_lab.metrics` does the maths).

Chapter 5 evaluates every shipped model with :func:`evaluate`, clean and under noise.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import data, metrics
from .inference import EVAL_THREADS, embed, threads
from .models import TDNN
from .noises import add_noise, noise_rng, noise_segment

__all__ = ["SUBSET_FOR_TESTS", "trial_utterances", "corrupted", "waveform", "embed_all", "Piece",
           "pieces", "trial_scores", "evaluate"]

#: Utterances per speaker in the quick evaluation the tests repeat (40 utterances, 780 trials).
SUBSET_FOR_TESTS = 4

#: The operating points reported, each a function of (scores, labels).
MEASURES = {
    "eer": lambda s, y: metrics.eer(s, y)[0],
    "min_dcf_0.01": lambda s, y: metrics.min_dcf(s, y, p_target=0.01),
    "min_dcf_0.05": lambda s, y: metrics.min_dcf(s, y, p_target=0.05),
}


def trial_utterances(per_speaker: int | None = None, root: str | None = None):
    """test-other's utterances, or the first ``per_speaker`` of each speaker. Chapter 5."""
    utts = data.utterances("test-other", root)
    if per_speaker is None:
        return utts
    counts: dict[str, int] = {}
    keep = []
    for u in utts:
        counts[u.speaker] = counts.get(u.speaker, 0) + 1
        if counts[u.speaker] <= per_speaker:
            keep.append(u)
    return keep


def corrupted(wave: np.ndarray, i: int, noise: str | None, snr_db: float | None,
              mode: str = "add", fraction: float = 1.0, seed: int = 0, root=None) -> np.ndarray:
    """Utterance ``i``'s waveform as an evaluation condition hears it. Chapters 5 and 6.

    * no ``noise``: clean;
    * ``fraction=1`` (and ``mode="add"``): the noise over the whole utterance at ``snr_db``,
      from a place in the recording drawn with ``default_rng([seed, i])``;
    * ``fraction < 1``: a middle segment that long (:func:`asp_lab.noises.noise_segment`)
      gets the noise, added or replacing the speech (``mode``), from
      :func:`asp_lab.noises.noise_rng`, so every model and SNR hears the same excerpt.
      Any kind of :func:`asp_lab.noises.noise_kinds` can be named.
    """
    if noise is None:
        return wave
    if fraction >= 1:
        if mode != "add":
            raise ValueError(f'noise over the whole utterance can only be added, not {mode!r}')
        return data.mix_noise(wave, data.cached_noise(noise, root), snr_db, 0, wave.size,
                              rng=np.random.default_rng([seed, i]))[0]
    start, length = noise_segment(wave.size, fraction)
    return add_noise(wave, noise, snr_db, start, length, mode, noise_rng(seed, i, noise),
                     root)[0]


def waveform(item) -> np.ndarray:
    """The samples a trial side holds: a whole utterance, or a :class:`Piece` of one
    (samples ``start .. stop - 1``). Chapter 5."""
    return data.cached_audio(item.path)[getattr(item, "start", 0):getattr(item, "stop", None)]


def embed_all(model: TDNN, utts, noise: str | None = None, snr_db: float | None = None,
              seed: int = 0, root: str | None = None, mode: str = "add",
              fraction: float = 1.0) -> np.ndarray:
    """``(N, E)`` embeddings of whole utterances on the CPU with :data:`EVAL_THREADS`
    threads, each (:func:`waveform`: an utterance or a :class:`Piece`) heard as
    :func:`corrupted` makes it. Chapter 5."""
    model = model.cpu().eval()
    embeddings = []
    with threads(EVAL_THREADS):
        for i, u in enumerate(utts):
            wave = corrupted(waveform(u), i, noise, snr_db, mode, fraction, seed, root)
            embeddings.append(embed(model, wave))
    return np.stack(embeddings)


class Piece(NamedTuple):
    """Samples ``start .. stop - 1`` of one recording, a trial side of its own. Chapter 5."""

    speaker: str
    path: Path
    start: int
    stop: int


def pieces(utts, seconds: float = 4.0) -> list[Piece]:
    """Each utterance cut into as many non-overlapping ``seconds``-long pieces as fit (the
    rest of it dropped; an utterance shorter than one piece gives none). Chapter 5's
    cross-validation scores pieces of one recording against each other, so its target
    trials share a session. Chapter 5."""
    n = round(seconds * data.SAMPLE_RATE)
    if n < 1:
        raise ValueError(f"seconds must give at least one sample, got {seconds}")
    out = []
    for u in utts:
        size = data.cached_audio(u.path).size
        out.extend(Piece(u.speaker, u.path, k * n, (k + 1) * n) for k in range(size // n))
    return out


def trial_scores(emb: np.ndarray, speakers) -> dict:
    """Every pair ``i < j`` as a trial: ``scores``, ``labels`` (same speaker) and the two
    sides' speakers ``speakers_a``, ``speakers_b`` (for the speaker bootstrap). Chapter 5."""
    pairs = np.array(list(itertools.combinations(range(len(speakers)), 2)))
    spk = np.asarray(speakers)
    a, b = spk[pairs[:, 0]], spk[pairs[:, 1]]
    return {"scores": metrics.cosine_scores(emb[pairs[:, 0]], emb[pairs[:, 1]]),
            "labels": a == b, "speakers_a": a, "speakers_b": b}


def evaluate(
    model: TDNN,
    noise: str | None = None,
    snr_db: float | None = None,
    seed: int = 0,
    per_speaker: int | None = None,
    bootstrap: int = 1000,
    root: str | None = None,
    return_scores: bool = False,
    mode: str = "add",
    fraction: float = 1.0,
) -> dict:
    """Speaker verification on test-other: every pair of utterances, cosine scores.

    Each utterance is embedded whole (:func:`embed_all`), so the numbers repeat exactly on
    a machine. With ``noise`` the named noise is added to the whole of each utterance at
    ``snr_db``, or, with ``fraction < 1``, put into its middle ``fraction`` (added or, with
    ``mode="replace"``, in place of the speech; :func:`corrupted`). Chapter 5.

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
    utts = trial_utterances(per_speaker, root)
    emb = embed_all(model, utts, noise, snr_db, seed, root, mode, fraction)
    t = trial_scores(emb, [u.speaker for u in utts])
    scores, labels = t["scores"], t["labels"]
    out: dict = {"noise": noise, "snr_db": snr_db, "mode": mode, "fraction": fraction,
                 "seed": seed, "utterances": len(utts),
                 "trials": int(labels.size), "target_trials": int(labels.sum())}
    out.update({key: fn(scores, labels) for key, fn in MEASURES.items()})
    if bootstrap:
        for key, fn in MEASURES.items():
            _, low, high = metrics.bootstrap_ci(fn, scores, labels, t["speakers_a"],
                                                t["speakers_b"], n=bootstrap, seed=seed)
            out[f"{key}_ci"] = [low, high]
        out["bootstrap"] = {"rounds": bootstrap, "level": 0.95, "resampled": "speakers"}
    out["seconds"] = round(time.perf_counter() - start, 2)
    if return_scores:
        out.update(t)
    return out
