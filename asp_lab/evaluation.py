"""Speaker verification on test-other: every pair of utterances, cosine scores, EER and
minDCF with speaker-bootstrap intervals (:mod:`asp_lab.metrics` does the maths).

Chapter 5 evaluates every shipped model with :func:`evaluate`, clean and under noise.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from . import data, metrics
from .inference import EVAL_THREADS, embed, threads
from .models import TDNN

__all__ = ["SUBSET_FOR_TESTS", "trial_utterances", "embed_all", "trial_scores", "evaluate"]

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


def embed_all(model: TDNN, utts, noise: str | None = None, snr_db: float | None = None,
              seed: int = 0, root: str | None = None) -> np.ndarray:
    """``(N, E)`` embeddings of whole utterances on the CPU with :data:`EVAL_THREADS`
    threads; with ``noise``, that noise over the whole of utterance ``i`` at ``snr_db``
    (from a place drawn with ``default_rng([seed, i])``). Chapter 5."""
    noise_audio = data.load_noise(noise, root) if noise is not None else None
    model = model.cpu().eval()
    embeddings = []
    with threads(EVAL_THREADS):
        for i, u in enumerate(utts):
            wave = data.cached_audio(u.path)
            if noise_audio is not None:
                wave, _ = data.mix_noise(wave, noise_audio, snr_db, 0, wave.size,
                                         rng=np.random.default_rng([seed, i]))
            embeddings.append(embed(model, wave))
    return np.stack(embeddings)


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
) -> dict:
    """Speaker verification on test-other: every pair of utterances, cosine scores.

    Each utterance is embedded whole (:func:`embed_all`), so the numbers repeat exactly on
    a machine. With ``noise`` the named noise is added to the whole of each utterance at
    ``snr_db``. Chapter 5.

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
    emb = embed_all(model, utts, noise, snr_db, seed, root)
    t = trial_scores(emb, [u.speaker for u in utts])
    scores, labels = t["scores"], t["labels"]
    out: dict = {"noise": noise, "snr_db": snr_db, "seed": seed, "utterances": len(utts),
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
