"""Speaker verification metrics: cosine scores, EER, minDCF, the DET curve, and bootstrap
confidence intervals that resample speakers.

A *trial* compares two utterances and gets a *score*; its *label* says whether both come from
the same speaker (a target trial, label 1) or not (a non-target trial, label 0). Convention
everywhere here: a higher score means "more likely the same speaker", and a trial is
accepted when ``score >= threshold``. At a threshold ``theta``

    P_fa(theta)   = FPR = (non-target trials with score >= theta) / (non-target trials)
    P_miss(theta) = FNR = (target trials with score < theta) / (target trials)

Both are step functions of ``theta`` that change only at the observed scores, so the ROC is
the finite set of points obtained by putting the threshold at each distinct score, plus the
point ``theta = +inf`` (accept nothing: FPR 0, FNR 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "cosine_scores", "eer", "min_dcf", "det_curve", "bootstrap_ci", "paired_eer_difference",
]


def cosine_scores(emb_a, emb_b) -> np.ndarray:
    """Cosine similarity of paired embeddings, row by row.

    Args:
        emb_a, emb_b: ``(N, D)`` arrays (numpy or torch) holding trial ``i``'s two
            embeddings in row ``i``; or ``(D,)`` for a single trial.

    Returns:
        ``(N,)`` float64 scores in ``[-1, 1]`` (``(1,)`` for a single trial).

    Chapter 5.
    """
    a = np.atleast_2d(_to_numpy(emb_a)).astype(np.float64)
    b = np.atleast_2d(_to_numpy(emb_b)).astype(np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(
            f"emb_a and emb_b must both be (N, D) with the same shape, "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    for name, x in (("emb_a", a), ("emb_b", b)):
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name} contains NaN or inf")
        norms = np.linalg.norm(x, axis=1)
        if np.any(norms == 0):
            raise ValueError(f"row {int(np.argmin(norms))} of {name} is all zeros: no direction")
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    return np.clip((a * b).sum(axis=1), -1.0, 1.0)


# ----------------------------------------------------------------------------- the ROC


def _check_trials(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    """``scores`` as float64 and ``labels`` as bool, both ``(N,)``; raise on anything wrong."""
    scores = np.asarray(_to_numpy(scores), dtype=np.float64)
    labels = np.asarray(_to_numpy(labels))
    if scores.ndim != 1 or labels.ndim != 1:
        raise ValueError(
            f"scores and labels must be 1-D (one per trial), "
            f"got shapes {scores.shape} and {labels.shape}"
        )
    if scores.shape != labels.shape:
        raise ValueError(
            f"scores and labels must have the same length, got {scores.size} scores "
            f"and {labels.size} labels"
        )
    if np.isnan(scores).any():
        raise ValueError(
            f"scores contain {int(np.isnan(scores).sum())} NaN values "
            f"(first at trial {int(np.flatnonzero(np.isnan(scores))[0])})"
        )
    if labels.dtype != bool:
        if not np.isin(labels, (0, 1)).all():
            raise ValueError(f"labels must be 0/1 or bool, got values {np.unique(labels)[:5]}")
        labels = labels.astype(bool)
    n_target = int(labels.sum())
    if n_target == 0:
        raise ValueError(f"no target trials among {labels.size}: every label is 0")
    if n_target == labels.size:
        raise ValueError(f"no non-target trials among {labels.size}: every label is 1")
    return scores, labels


def _roc(scores: np.ndarray, labels: np.ndarray):
    """FPR, FNR at thresholds ``[+inf, s_1, s_2, ...]``, the distinct scores in decreasing
    order. Ties are handled exactly: trials with equal scores enter together."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    last_of_run = np.r_[s[1:] != s[:-1], True]  # the last index of each run of equal scores
    tp = np.cumsum(y)[last_of_run]  # targets accepted at threshold s[i]
    fp = np.cumsum(~y)[last_of_run]  # non-targets accepted
    n_t, n_n = int(labels.sum()), int((~labels).sum())
    fpr = np.r_[0.0, fp / n_n]
    fnr = np.r_[1.0, 1.0 - tp / n_t]
    thresholds = np.r_[np.inf, s[last_of_run]]
    return fpr, fnr, thresholds


def eer(scores, labels) -> tuple[float, float]:
    """Equal error rate: where the false-acceptance and false-rejection rates meet.

    Exact from the ROC: walking the thresholds down from ``+inf``, FPR rises and FNR falls.
    Let ``i`` be the first ROC point with ``FNR_i <= FPR_i``. The EER is where the straight
    segment from point ``i-1`` to point ``i`` crosses the line ``FPR = FNR``:

        d = FNR - FPR,   t = d_{i-1} / (d_{i-1} - d_i),   EER = FPR_{i-1} + t (FPR_i - FPR_{i-1})

    (linear interpolation between neighbouring ROC points, not the ROC convex hull; ``t`` is
    in ``(0, 1]``, and ``t = 1`` means point ``i`` itself has FPR = FNR). The returned
    threshold is interpolated between the two bounding scores with the same ``t``; where the
    upper bound is the ``+inf`` point it is the highest score. So perfect separation gives
    0, a constant score 0.5, and every non-target scoring above every target 1.

    Args:
        scores: ``(N,)`` trial scores, higher = more likely target.
        labels: ``(N,)`` 1/True for target trials, 0/False for non-target trials.

    Returns:
        (eer, threshold): the rate in ``[0, 1]`` and the score threshold at the crossing.

    Chapter 5 derives it.
    """
    fpr, fnr, thr = _roc(*_check_trials(scores, labels))
    d = fnr - fpr  # starts at 1 (threshold +inf), ends at -1 (threshold = lowest score)
    i = int(np.argmax(d <= 0))
    t = d[i - 1] / (d[i - 1] - d[i])
    rate = fpr[i - 1] + t * (fpr[i] - fpr[i - 1])
    upper = thr[i - 1] if np.isfinite(thr[i - 1]) else thr[i]
    return float(rate), float(upper + t * (thr[i] - upper))


def min_dcf(
    scores,
    labels,
    p_target: float = 0.01,
    c_miss: float = 1.0,
    c_fa: float = 1.0,
    return_threshold: bool = False,
) -> float | tuple[float, float]:
    """Minimum normalised detection cost, as in the NIST speaker recognition evaluations.

    ``DCF(theta) = c_miss p_target P_miss(theta) + c_fa (1 - p_target) P_fa(theta)``, divided
    by ``C_default = min(c_miss p_target, c_fa (1 - p_target))``, the cost of the better of
    "accept every trial" and "reject every trial" without looking at the score. The minimum
    runs over every ROC threshold, both extremes included, so the result is at most 1, and
    0 only if a threshold separates targets from non-targets perfectly.

    Returns:
        the minimum normalised DCF; with ``return_threshold`` also the threshold reaching it
        (``+inf`` if rejecting everything is best, the lowest score if accepting everything).

    Chapter 5.
    """
    if not 0.0 < p_target < 1.0:
        raise ValueError(f"p_target must lie strictly between 0 and 1, got {p_target}")
    if c_miss <= 0 or c_fa <= 0:
        raise ValueError(f"c_miss and c_fa must be positive, got {c_miss} and {c_fa}")
    fpr, fnr, thr = _roc(*_check_trials(scores, labels))
    cost = c_miss * p_target * fnr + c_fa * (1.0 - p_target) * fpr
    cost = cost / min(c_miss * p_target, c_fa * (1.0 - p_target))
    i = int(np.argmin(cost))
    return (float(cost[i]), float(thr[i])) if return_threshold else float(cost[i])


def det_curve(scores, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points of the detection error trade-off (DET) curve.

    Returns:
        (fpr, fnr, thresholds), each ``(K,)`` for the ``K`` distinct scores in increasing
        order: at ``thresholds[k]`` (accept ``score >= thresholds[k]``) the false-acceptance
        rate is ``fpr[k]`` (decreasing in k) and the miss rate ``fnr[k]`` (increasing).
        A DET plot draws ``fnr`` against ``fpr`` on normal-deviate (probit) axes, e.g.
        ``scipy.stats.norm.ppf``; points with a rate of 0 or 1 lie at infinity there.

    Chapter 5.
    """
    fpr, fnr, thr = _roc(*_check_trials(scores, labels))
    return fpr[1:][::-1].copy(), fnr[1:][::-1].copy(), thr[1:][::-1].copy()


# ------------------------------------------------------------------ confidence intervals


def bootstrap_ci(
    metric_fn: Callable,
    scores,
    labels,
    speakers_a: Sequence,
    speakers_b: Sequence,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """A percentile bootstrap interval for a metric, resampling speakers rather than trials.

    Chapter 5 (every interval of its tables). Trials that share a speaker are not
    independent, so resampling trials gives intervals that are too narrow. Each bootstrap
    round instead draws as many speakers as there are, with replacement, from the speakers
    found in ``speakers_a`` and ``speakers_b``; speaker ``s`` drawn ``c_s`` times stands for
    ``c_s`` distinct copies. A trial is kept when both its sides were drawn, with multiplicity:

    * a non-target trial between speakers ``a != b`` appears ``c_a * c_b`` times (every copy
      of ``a`` against every copy of ``b``);
    * a target trial of speaker ``s`` appears ``c_s`` times (each copy against itself; two
      different copies of one speaker would be a "non-target" that is really a target, so
      such pairs are not formed).

    Rounds that lack target or non-target trials are drawn again (up to ``10 n`` draws).

    Args:
        metric_fn: ``metric_fn(scores, labels)`` -> float, or a tuple whose first element is
            used (so :func:`eer` can be passed as is).
        scores, labels: ``(N,)`` as for :func:`eer`.
        speakers_a, speakers_b: ``(N,)`` the speaker of each trial's two sides.
        n: bootstrap rounds; seed: for ``numpy.random.default_rng``; level: e.g. 0.95.

    Returns:
        (point, low, high): the metric on all trials, and the ``(1 - level) / 2`` and
        ``(1 + level) / 2`` quantiles of its bootstrap distribution.
    """
    scores, labels = _check_trials(scores, labels)
    ia, ib, n_speakers = _speaker_index(speakers_a, speakers_b, scores.size)
    if n < 1:
        raise ValueError(f"n must be a positive number of bootstrap rounds, got {n}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")

    def metric(s: np.ndarray, y: np.ndarray) -> float:
        value = metric_fn(s, y)
        return float(value[0] if isinstance(value, tuple) else value)

    rng = np.random.default_rng(seed)
    values = []
    for copies in _speaker_rounds(rng, ia, ib, n_speakers, labels, n):
        values.append(metric(np.repeat(scores, copies), np.repeat(labels, copies)))
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return metric(scores, labels), float(low), float(high)


def paired_eer_difference(
    scores_a,
    scores_b,
    labels,
    speakers_a: Sequence,
    speakers_b: Sequence,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """``EER(b) - EER(a)`` of two systems scored on the same trials, with a paired
    speaker-bootstrap interval.

    Chapter 5, "A paired comparison". Each bootstrap round resamples speakers as
    :func:`bootstrap_ci` does and computes both systems' EER on the *same* resampled trials,
    so a speaker who is hard for both counts against both alike; the interval is then
    narrower than one built from two independent intervals.

    Args:
        scores_a, scores_b: ``(N,)`` the two systems' scores of the same trials, in one order.
        labels, speakers_a, speakers_b, n, seed, level: as for :func:`bootstrap_ci`.

    Returns:
        (difference, low, high): ``EER(b) - EER(a)`` on all trials and its interval; a
        positive difference means system b makes more errors.
    """
    if np.shape(_to_numpy(scores_a)) != np.shape(_to_numpy(scores_b)):
        raise ValueError(
            f"scores_a and scores_b must score the same trials, "
            f"got shapes {np.shape(_to_numpy(scores_a))} and {np.shape(_to_numpy(scores_b))}"
        )
    scores_a, labels = _check_trials(scores_a, labels)
    scores_b, _ = _check_trials(scores_b, labels)

    def difference(index: np.ndarray, y: np.ndarray) -> float:
        i = index.astype(int)  # the resampled trials' numbers: look up both systems' scores
        return eer(scores_b[i], y)[0] - eer(scores_a[i], y)[0]

    trial_numbers = np.arange(labels.size, dtype=float)
    return bootstrap_ci(difference, trial_numbers, labels, speakers_a, speakers_b,
                        n=n, seed=seed, level=level)


def _speaker_index(speakers_a, speakers_b, n_trials: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Each trial's two speakers as indices ``0 .. S-1`` into the distinct speakers, and S."""
    spk_a = np.asarray(speakers_a)
    spk_b = np.asarray(speakers_b)
    if spk_a.shape != (n_trials,) or spk_b.shape != (n_trials,):
        raise ValueError(
            f"speakers_a and speakers_b must hold one speaker per trial ({n_trials}), "
            f"got shapes {spk_a.shape} and {spk_b.shape}"
        )
    names, index = np.unique(np.r_[spk_a, spk_b], return_inverse=True)
    return index[:n_trials], index[n_trials:], names.size


def _speaker_rounds(rng, ia: np.ndarray, ib: np.ndarray, n_speakers: int,
                    labels: np.ndarray, n: int):
    """Yield ``n`` arrays of copies per trial, one per bootstrap round (see
    :func:`bootstrap_ci`), skipping rounds without a target or without a non-target trial."""
    same = ia == ib
    kept = 0
    for _ in range(10 * n):
        counts = np.bincount(rng.integers(0, n_speakers, n_speakers), minlength=n_speakers)
        copies = np.where(same, counts[ia], counts[ia] * counts[ib])
        y = np.repeat(labels, copies)
        if y.all() or not y.any():
            continue  # no non-target or no target trial this round: undefined, draw again
        yield copies
        kept += 1
        if kept == n:
            return
    raise ValueError(
        f"only {kept} of {10 * n} bootstrap draws held both target and non-target "
        f"trials: too few speakers ({n_speakers}) to resample"
    )


def _to_numpy(x):
    """numpy view of a numpy array, list or (CPU or GPU, maybe grad-tracking) torch tensor."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return x
