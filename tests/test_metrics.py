"""Verification metrics: EER, minDCF, DET curve, speaker bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asp_lab import metrics

try:
    from sklearn.metrics import roc_curve
except ImportError:  # scikit-learn is optional: the sweep below is then the only reference
    roc_curve = None


def sweep_eer(scores: np.ndarray, labels: np.ndarray) -> float:
    """Reference EER by brute force: FPR and FNR at +inf and at every score, then the
    crossing of the straight segment where FNR - FPR changes sign."""
    thresholds = np.r_[np.inf, np.sort(np.unique(scores))[::-1]]
    fpr = np.array([np.mean(scores[~labels] >= t) for t in thresholds])
    fnr = np.array([np.mean(scores[labels] < t) for t in thresholds])
    return crossing(fpr, fnr)


def crossing(fpr: np.ndarray, fnr: np.ndarray) -> float:
    for i in range(1, len(fpr)):
        d0, d1 = fnr[i - 1] - fpr[i - 1], fnr[i] - fpr[i]
        if d1 <= 0 < d0:
            t = d0 / (d0 - d1)
            return fpr[i - 1] + t * (fpr[i] - fpr[i - 1])
    raise AssertionError("no crossing")


def synthetic(n_target=300, n_non=2000, shift=2.0, seed=0, ties=False):
    rng = np.random.default_rng(seed)
    scores = np.r_[rng.normal(shift, 1, n_target), rng.normal(0, 1, n_non)]
    if ties:
        scores = np.round(scores, 1)  # many equal scores across the two classes
    labels = np.r_[np.ones(n_target, bool), np.zeros(n_non, bool)]
    return scores, labels


# --------------------------------------------------------------------------------- EER


def test_eer_perfect_separation_is_zero():
    rate, threshold = metrics.eer([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])
    assert rate == 0.0
    assert 0.2 < threshold <= 0.8  # a threshold that separates the classes


def test_eer_reversed_is_one():
    assert metrics.eer([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])[0] == pytest.approx(1.0)


def test_eer_constant_score_is_half():
    assert metrics.eer(np.full(10, 0.3), [1] * 3 + [0] * 7)[0] == pytest.approx(0.5)


def test_eer_four_trials_by_hand():
    # targets 0.9, 0.7, 0.2; one non-target 0.5. Threshold walking down from +inf:
    #   theta   FPR   FNR   FNR - FPR
    #   +inf    0     1      1
    #   0.9     0     2/3    2/3
    #   0.7     0     1/3    1/3     <- last point with FNR > FPR
    #   0.5     1     1/3   -2/3     <- first point with FNR <= FPR
    # Segment 0.7 -> 0.5 meets FPR = FNR at t = (1/3) / (1/3 + 2/3) = 1/3:
    #   EER = 0 + 1/3 * (1 - 0) = 1/3, threshold = 0.7 + 1/3 * (0.5 - 0.7) = 0.6333...
    rate, threshold = metrics.eer([0.9, 0.7, 0.2, 0.5], [1, 1, 1, 0])
    assert rate == pytest.approx(1 / 3)
    assert threshold == pytest.approx(0.7 - 0.2 / 3)


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "tied"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eer_matches_independent_roc(seed, ties):
    scores, labels = synthetic(seed=seed, ties=ties)
    rate, _ = metrics.eer(scores, labels)
    assert rate == pytest.approx(sweep_eer(scores, labels), abs=1e-12)
    if roc_curve is not None:
        fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
        assert rate == pytest.approx(crossing(fpr, 1 - tpr), abs=1e-12)


def test_scikit_learn_reference_available():
    """Not a failure without scikit-learn; records whether the second reference ran."""
    if roc_curve is None:
        pytest.skip("scikit-learn is not installed: EER checked against the sorted sweep only")


def test_eer_invariant_to_monotone_transform_and_order():
    scores, labels = synthetic(seed=3)
    perm = np.random.default_rng(0).permutation(scores.size)
    base = metrics.eer(scores, labels)[0]
    assert metrics.eer(np.exp(scores), labels)[0] == pytest.approx(base)
    assert metrics.eer(scores[perm], labels[perm])[0] == pytest.approx(base)


def test_eer_accepts_torch():
    scores, labels = synthetic(seed=4)
    assert metrics.eer(torch.tensor(scores), torch.tensor(labels))[0] == pytest.approx(
        metrics.eer(scores, labels)[0]
    )


@pytest.mark.parametrize(
    "scores, labels, match",
    [
        ([0.1, 0.2], [1, 0, 1], "same length"),
        ([0.1, 0.2], [1, 1], "no non-target"),
        ([0.1, 0.2], [0, 0], "no target"),
        ([0.1, np.nan, 0.3], [1, 0, 1], "NaN"),
        ([0.1, 0.2], [1, 2], "0/1 or bool"),
    ],
    ids=["lengths", "no-nontarget", "no-target", "nan", "bad-label"],
)
@pytest.mark.parametrize("fn", [metrics.eer, metrics.min_dcf, metrics.det_curve])
def test_bad_trials_raise(fn, scores, labels, match):
    with pytest.raises(ValueError, match=match):
        fn(scores, labels)


# ------------------------------------------------------------------------------ minDCF


def test_min_dcf_perfect_separation_is_zero():
    assert metrics.min_dcf([3.0, 2.0, -1.0, -2.0], [1, 1, 0, 0]) == 0.0


@pytest.mark.parametrize("p_target", [0.001, 0.01, 0.05, 0.5])
@pytest.mark.parametrize("shift", [0.0, 1.0, 3.0, -2.0])
def test_min_dcf_at_most_one(p_target, shift):
    scores, labels = synthetic(shift=shift, seed=5)
    assert 0.0 <= metrics.min_dcf(scores, labels, p_target=p_target) <= 1.0


def test_min_dcf_by_hand():
    # The 4-trial case above, p_target = 0.5, unit costs: C_default = 0.5.
    # DCF/0.5 = FNR + FPR at the points: +inf 1, 0.9 2/3, 0.7 1/3, 0.5 4/3, 0.2 1.
    value, threshold = metrics.min_dcf(
        [0.9, 0.7, 0.2, 0.5], [1, 1, 1, 0], p_target=0.5, return_threshold=True
    )
    assert value == pytest.approx(1 / 3)
    assert threshold == 0.7


def test_min_dcf_is_minimum_over_thresholds():
    scores, labels = synthetic(seed=6)
    p, c_miss, c_fa = 0.01, 1.0, 1.0
    best = min(
        (c_miss * p * np.mean(scores[labels] < t) + c_fa * (1 - p) * np.mean(scores[~labels] >= t))
        / min(c_miss * p, c_fa * (1 - p))
        for t in np.r_[np.inf, np.unique(scores)]
    )
    assert metrics.min_dcf(scores, labels) == pytest.approx(best)


def test_min_dcf_rejects_bad_prior():
    with pytest.raises(ValueError, match="p_target"):
        metrics.min_dcf([0.1, 0.2], [1, 0], p_target=1.0)


# ------------------------------------------------------------------------------ DET


def test_det_curve_monotone_and_consistent_with_eer():
    scores, labels = synthetic(seed=7)
    fpr, fnr, thresholds = metrics.det_curve(scores, labels)
    assert len(fpr) == len(fnr) == len(thresholds) == np.unique(scores).size
    assert np.all(np.diff(thresholds) > 0)
    assert np.all(np.diff(fpr) <= 0) and np.all(np.diff(fnr) >= 0)
    assert fpr[0] == 1.0 and fnr[0] == 0.0  # lowest threshold accepts everything
    # the EER lies between the rates at the two DET points around the crossing
    rate = metrics.eer(scores, labels)[0]
    k = np.argmax(fnr >= fpr)
    assert min(fpr[k], fnr[k - 1]) <= rate <= max(fnr[k], fpr[k - 1])


# ------------------------------------------------------------------------ cosine scores


def test_cosine_scores():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    b = np.array([[3.0, 0.0], [-1.0, -1.0], [0.0, 5.0]])
    np.testing.assert_allclose(metrics.cosine_scores(a, b), [1.0, -1.0, 0.0], atol=1e-12)
    assert metrics.cosine_scores(torch.tensor([1.0, 1.0]), np.array([1.0, 0.0])).shape == (1,)
    with pytest.raises(ValueError, match="same shape"):
        metrics.cosine_scores(a, b[:2])
    with pytest.raises(ValueError, match="all zeros"):
        metrics.cosine_scores(a, np.zeros_like(b))


# -------------------------------------------------------------------------- bootstrap


def speaker_trials(n_speakers=10, per_speaker=6, seed=0):
    """All pairs of utterances of n_speakers, scores with a per-speaker offset (so trials
    sharing a speaker are correlated, as in real data)."""
    rng = np.random.default_rng(seed)
    spk = np.repeat(np.arange(n_speakers), per_speaker)
    offset = rng.normal(0, 0.5, n_speakers)
    i, j = np.triu_indices(spk.size, k=1)
    labels = spk[i] == spk[j]
    scores = rng.normal(0, 1, i.size) + 2.0 * labels + offset[spk[i]] + offset[spk[j]]
    return scores, labels, spk[i], spk[j]


def test_bootstrap_contains_point_and_is_deterministic():
    scores, labels, sa, sb = speaker_trials()
    point, low, high = metrics.bootstrap_ci(metrics.eer, scores, labels, sa, sb, n=200, seed=3)
    assert point == metrics.eer(scores, labels)[0]
    assert low <= point <= high and low < high
    assert metrics.bootstrap_ci(metrics.eer, scores, labels, sa, sb, n=200, seed=3) == (
        point, low, high
    )
    other = metrics.bootstrap_ci(metrics.eer, scores, labels, sa, sb, n=200, seed=4)
    assert other != (point, low, high)


def test_bootstrap_min_dcf_and_wider_level():
    scores, labels, sa, sb = speaker_trials(seed=1)
    p90 = metrics.bootstrap_ci(metrics.min_dcf, scores, labels, sa, sb, n=200, level=0.90)
    p99 = metrics.bootstrap_ci(metrics.min_dcf, scores, labels, sa, sb, n=200, level=0.99)
    assert p99[1] <= p90[1] <= p90[0] <= p90[2] <= p99[2]


def test_bootstrap_multiplicity():
    # Record what each round feeds the metric: speakers 0, 1, 2; one trial of each kind.
    seen = []

    def record(scores, labels):
        seen.append((sorted(scores.tolist()), labels.sum()))
        return 0.0

    scores = np.array([1.0, 2.0, 3.0, 4.0])  # targets 0-0 and 1-1, non-targets 0-1 and 1-2
    labels = np.array([1, 1, 0, 0])
    sa, sb = np.array([0, 1, 0, 1]), np.array([0, 1, 1, 2])
    metrics.bootstrap_ci(record, scores, labels, sa, sb, n=50, seed=0)
    rng = np.random.default_rng(0)
    rounds = seen[:-1]  # the last call is the point estimate on all trials
    checked = 0
    for _ in range(500):
        c = np.bincount(rng.integers(0, 3, 3), minlength=3)
        copies = [c[0], c[1], c[0] * c[1], c[1] * c[2]]
        y = np.repeat(labels, copies)
        if y.all() or not y.any():
            continue
        assert rounds[checked] == (sorted(np.repeat(scores, copies).tolist()), y.sum())
        checked += 1
        if checked == len(rounds):
            break
    assert checked == 50


def test_bootstrap_errors():
    scores, labels, sa, sb = speaker_trials()
    with pytest.raises(ValueError, match="one speaker per trial"):
        metrics.bootstrap_ci(metrics.eer, scores, labels, sa[:-1], sb)
    with pytest.raises(ValueError, match="level"):
        metrics.bootstrap_ci(metrics.eer, scores, labels, sa, sb, level=95)


# ------------------------------------------------------------ the paired EER difference


def test_paired_difference_of_a_system_with_itself_is_exactly_zero():
    scores, labels, sa, sb = speaker_trials()
    assert metrics.paired_eer_difference(scores, scores, labels, sa, sb, n=100) == (0.0, 0.0, 0.0)


def test_paired_difference_is_the_eer_difference_and_swapping_negates_it():
    scores, labels, sa, sb = speaker_trials(seed=2)
    other = scores + np.random.default_rng(5).normal(0, 1.0, scores.size)  # a noisier system
    d, low, high = metrics.paired_eer_difference(scores, other, labels, sa, sb, n=200, seed=1)
    assert d == metrics.eer(other, labels)[0] - metrics.eer(scores, labels)[0]
    assert low <= d <= high and low < high
    back = metrics.paired_eer_difference(other, scores, labels, sa, sb, n=200, seed=1)
    assert back == pytest.approx((-d, -high, -low), abs=1e-12)


def test_paired_difference_is_narrower_than_independent_intervals():
    # Two systems that share each speaker's offset: pairing cancels what they share.
    scores, labels, sa, sb = speaker_trials(n_speakers=12, seed=3)
    other = scores + np.random.default_rng(6).normal(0, 0.3, scores.size)
    _, low, high = metrics.paired_eer_difference(scores, other, labels, sa, sb, n=300)
    widths = [np.diff(metrics.bootstrap_ci(metrics.eer, s, labels, sa, sb, n=300)[1:])[0]
              for s in (scores, other)]
    assert high - low < np.hypot(*widths)


def test_paired_difference_errors():
    scores, labels, sa, sb = speaker_trials()
    with pytest.raises(ValueError, match="same trials"):
        metrics.paired_eer_difference(scores, scores[:-1], labels, sa, sb)
    with pytest.raises(ValueError, match="one speaker per trial"):
        metrics.paired_eer_difference(scores, scores, labels, sa[:-1], sb)
