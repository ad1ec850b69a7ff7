"""Chapter 5's comparison (asp_lab.experiments.crossval, paired): the paired bootstrap's
EER is metrics.eer's, the stored comparison.json matches the code that writes it, and one
cross-validation run, retrained here, reproduces its stored numbers exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from asp_lab import metrics
from asp_lab.experiments import crossval as cv
from asp_lab.experiments.paired import CONDITIONS, TrialSet, _Ranked, bootstrap_eers, pair_trials
from asp_lab.provenance import CHECKPOINT_DIR
from asp_lab.train.runtime import data_checksum

COMP = cv.load_comparison()
RESULTS = json.loads((CHECKPOINT_DIR / "results.json").read_text())


def test_a_rounds_eer_is_the_eer_of_the_repeated_trials():
    rng = np.random.default_rng(0)
    _, labels, a, b = pair_trials(np.repeat(np.arange(9), 3).astype(str))
    scores = np.round(rng.standard_normal(labels.size) + labels, 1)  # many ties
    ranked = _Ranked(scores, labels)
    for _ in range(50):
        copies = rng.integers(0, 3, labels.size)
        copies[np.flatnonzero(labels)[0]] = copies[np.flatnonzero(~labels)[0]] = 1
        assert ranked.eer(copies) == metrics.eer(np.repeat(scores, copies),
                                                 np.repeat(labels, copies))[0]


def test_a_paired_difference_is_zero_for_a_system_against_itself_and_signed():
    rng = np.random.default_rng(1)
    _, labels, a, b = pair_trials(np.repeat(np.arange(12), 4).astype(str))
    good = labels + 0.5 * rng.standard_normal(labels.size)
    bad = labels + 2.0 * rng.standard_normal(labels.size)
    ts = TrialSet(labels, a, b, {"good": [good], "same": [good.copy()], "bad": [bad]})
    out = bootstrap_eers([ts], [("good", "same"), ("good", "bad")], rounds=200)
    assert out["differences"]["good - same"]["ci"] == [0.0, 0.0]
    d = out["differences"]["good - bad"]
    assert d["eer"] < 0 and d["ci"][1] < 0 and d["p_below_zero"] == 1.0


def test_the_stored_comparison_holds_every_condition_system_and_run():
    assert list(COMP["conditions"]) == list(CONDITIONS)
    for section in ("test_other", "crossval"):
        results = COMP[section]["results"]
        assert list(results) == list(CONDITIONS)
        for r in results.values():
            assert set(r["systems"]) >= {*cv.POOLINGS, "baseline"}
            for s in r["systems"].values():
                assert 0 <= s["eer_ci"][0] <= s["eer_ci"][1] <= 1
            assert {f"{a} - {b}" for a, b in cv.PAIRS} <= set(r["differences"])
    runs = cv.crossval_configs(COMP["crossval"]["folds"], COMP["crossval"]["seeds"])
    assert set(COMP["crossval"]["runs"]) == {c.name for c in runs}
    assert COMP["crossval"]["speakers"] == 251 and COMP["crossval"]["steps"] == runs[0].steps
    assert COMP["provenance"]["data_sha256sums_sha256"] == data_checksum()


def test_test_other_means_are_those_of_the_shipped_models():
    clean = COMP["test_other"]["results"]["clean"]["systems"]
    for pooling in cv.POOLINGS:
        assert clean[pooling]["eer"] == pytest.approx(RESULTS["summary"][pooling]["eer"]["mean"],
                                                      abs=1e-12)


def test_one_cross_validation_run_reproduces_exactly():
    """Retrains the first run (statistics pooling, fold 0) with the shipped recipe: a few
    minutes on one CPU thread."""
    cfg = cv.crossval_configs(COMP["crossval"]["folds"], COMP["crossval"]["seeds"])[0]
    stored = COMP["crossval"]["runs"][cfg.name]
    again = cv.crossval_run(cfg)
    assert again["final_loss"] == stored["final_loss"]
    for measure in ("eer", "min_dcf_0.01"):
        for condition in CONDITIONS:
            assert again[measure][condition] == pytest.approx(stored[measure][condition],
                                                              abs=1e-12), (measure, condition)
