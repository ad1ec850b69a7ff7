"""Chapter 5's comparisons: the test conditions, and a paired bootstrap over speakers and
training runs.

A condition (:data:`CONDITIONS`) says how each test utterance is heard: clean, with noise
over the whole of it, or with its middle third corrupted (noise added, or in place of the
speech), at 0 or 5 dB, with noise kinds seen in training or not. :func:`bootstrap_eers`
then compares systems on the same trials: each round resamples the speakers of each trial
set (as :func:`asp_lab.metrics.bootstrap_ci` does) and the training runs of each set, and
computes every system's EER on the very same resampled trials, so a difference between two
systems carries both sources of chance and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..evaluation import corrupted, waveform
from ..features import log_mel_torch
from ..inference import EVAL_THREADS, embed, threads
from ..train.config import SEEN_NOISES, UNSEEN_NOISES

__all__ = ["CONDITIONS", "condition_embeddings", "baseline_embeddings", "TrialSet",
           "pair_trials", "bootstrap_eers"]

#: Each piece of a segmental condition is this share of the utterance: its middle third.
THIRD = 1 / 3


def _conditions() -> dict[str, dict | None]:
    out: dict[str, dict | None] = {"clean": None}
    for snr in (0.0, 5.0):
        for group, kinds in (("seen", SEEN_NOISES), ("unseen", UNSEEN_NOISES)):
            for span, mode, fraction in (("third", "replace", THIRD), ("third", "add", THIRD),
                                         ("whole", "add", 1.0)):
                out[f"{span}:{mode}:{group}@{snr:g}dB"] = dict(
                    kinds=tuple(kinds), snr_db=snr, mode=mode, fraction=fraction, group=group)
    return out


#: ``name -> None`` (clean) or ``{kinds, snr_db, mode, fraction, group}``: utterance ``i``
#: hears ``kinds[i % len(kinds)]``, so a group's two noises each corrupt half the test.
CONDITIONS = _conditions()


def _heard(items, condition: dict | None, seed: int = 0):
    """Each item's waveform under ``condition`` (see :func:`asp_lab.evaluation.corrupted`)."""
    for i, u in enumerate(items):
        wave = waveform(u)
        if condition is not None:
            kind = condition["kinds"][i % len(condition["kinds"])]
            wave = corrupted(wave, i, kind, condition["snr_db"], condition["mode"],
                             condition["fraction"], seed)
        yield wave


def condition_embeddings(model, items, condition: dict | None, seed: int = 0) -> np.ndarray:
    """``(N, E)`` embeddings of ``items`` (utterances or pieces) under one condition.
    Chapter 5."""
    model = model.cpu().eval()
    with threads(EVAL_THREADS):
        return np.stack([embed(model, wave) for wave in _heard(items, condition, seed)])


def baseline_embeddings(items, condition: dict | None, seed: int = 0) -> np.ndarray:
    """``(N, 2 * n_mels)``: the no-network baseline, mean and standard deviation over time
    of each raw log-mel band (chapter 5's "baseline without training")."""
    import torch

    out = []
    with threads(EVAL_THREADS):
        for wave in _heard(items, condition, seed):
            x = log_mel_torch(torch.from_numpy(np.array(wave, dtype=np.float32)))[0]
            out.append(torch.cat([x.mean(-1), x.std(-1)]).numpy())
    return np.stack(out)


@dataclass
class TrialSet:
    """Trials scored by several systems: ``labels``, the two sides' speakers, and
    ``scores[system]``, one ``(N,)`` array per training run (runs paired by position: the
    same seed draws the same batches whatever the pooling). Chapter 5."""

    labels: np.ndarray
    speakers_a: np.ndarray
    speakers_b: np.ndarray
    scores: dict[str, list[np.ndarray]] = field(default_factory=dict)


def pair_trials(speakers) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every pair ``i < j`` of items as a trial, in the order of
    :func:`asp_lab.evaluation.trial_scores`: ``(pairs (N, 2), labels (N,), speakers_a (N,),
    speakers_b (N,))``. Chapter 5."""
    spk = np.asarray(speakers)
    i, j = np.triu_indices(spk.size, k=1)
    return np.stack([i, j], 1), spk[i] == spk[j], spk[i], spk[j]


class _Ranked:
    """One run's scores sorted once, so that each bootstrap round's EER is two cumulative
    sums (the same numbers as :func:`asp_lab.metrics.eer` on the repeated trials)."""

    def __init__(self, scores: np.ndarray, labels: np.ndarray) -> None:
        self.order = np.argsort(-scores, kind="stable")
        s = scores[self.order]
        self.y = labels[self.order]
        self.last = np.r_[s[1:] != s[:-1], True]

    def eer(self, copies: np.ndarray) -> float:
        c = copies[self.order]
        tp = np.cumsum(c * self.y)[self.last]
        fp = np.cumsum(c * ~self.y)[self.last]
        fpr, fnr = np.r_[0.0, fp / fp[-1]], np.r_[1.0, 1.0 - tp / tp[-1]]
        d = fnr - fpr
        i = int(np.argmax(d <= 0))
        t = d[i - 1] / (d[i - 1] - d[i])
        return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def _speaker_copies(rng, ia, ib, n_speakers, labels) -> np.ndarray:
    """One round's copies of each trial (see :func:`asp_lab.metrics.bootstrap_ci`)."""
    for _ in range(1000):
        counts = np.bincount(rng.integers(0, n_speakers, n_speakers), minlength=n_speakers)
        copies = np.where(ia == ib, counts[ia], counts[ia] * counts[ib])
        if (copies * labels).any() and (copies * ~labels).any():
            return copies
    raise ValueError(f"too few speakers ({n_speakers}) to resample")


def bootstrap_eers(sets: list[TrialSet], pairs: list[tuple[str, str]], rounds: int = 1000,
                   seed: int = 0, level: float = 0.95) -> dict:
    """Each system's EER, and the paired difference ``EER(a) - EER(b)`` of each ``(a, b)``
    in ``pairs``, with percentile intervals. Chapter 5.

    The EER of a system is the mean, over trial sets and their runs, of each run's EER on
    its set. Each round resamples, in every set, the speakers (with replacement) and the
    runs (as many as there are, with replacement; a system with one run, such as the
    baseline, keeps it), then recomputes every system's EER on those trials and runs.

    Returns ``{"systems": {name: {"eer", "eer_ci"}}, "differences": {"a - b": {"eer",
    "ci", "p_below_zero"}}, "rounds", "level", "resampled"}``.
    """
    systems = list(sets[0].scores)
    rng = np.random.default_rng(seed)
    ranked, index = [], []
    for ts in sets:
        names, inverse = np.unique(np.r_[ts.speakers_a, ts.speakers_b], return_inverse=True)
        n = ts.labels.size
        index.append((inverse[:n], inverse[n:], names.size))
        ranked.append({s: [_Ranked(r, ts.labels) for r in ts.scores[s]] for s in systems})

    def mean_eer(k: int, system: str, copies: np.ndarray | None, runs: np.ndarray) -> float:
        rr = ranked[k][system]
        picks = runs if len(rr) > 1 else np.zeros(1, int)
        ones = np.ones(sets[k].labels.size, int) if copies is None else copies
        return float(np.mean([rr[r].eer(ones) for r in picks]))

    def estimate(draw) -> dict[str, float]:
        return {s: float(np.mean([mean_eer(k, s, *draw(k)) for k in range(len(sets))]))
                for s in systems}

    point = estimate(lambda k: (None, np.arange(max(len(v) for v in ranked[k].values()))))
    samples = {s: [] for s in systems}
    for _ in range(rounds):
        draws = []
        for k, ts in enumerate(sets):
            copies = _speaker_copies(rng, *index[k], ts.labels)
            n_runs = max(len(v) for v in ranked[k].values())
            draws.append((copies, rng.integers(0, n_runs, n_runs)))
        for s, v in estimate(lambda k, d=draws: d[k]).items():
            samples[s].append(v)
    q = [(1 - level) / 2, (1 + level) / 2]
    out: dict = {"systems": {}, "differences": {}, "rounds": rounds, "level": level,
                 "resampled": "speakers within each trial set, and training runs"}
    for s in systems:
        lo, hi = np.quantile(samples[s], q)
        out["systems"][s] = {"eer": point[s], "eer_ci": [float(lo), float(hi)],
                             "runs": [len(ranked[k][s]) for k in range(len(sets))]}
    for a, b in pairs:
        diff = np.asarray(samples[a]) - np.asarray(samples[b])
        lo, hi = np.quantile(diff, q)
        out["differences"][f"{a} - {b}"] = {
            "eer": point[a] - point[b], "ci": [float(lo), float(hi)],
            "p_below_zero": float(np.mean(diff < 0))}
    return out

