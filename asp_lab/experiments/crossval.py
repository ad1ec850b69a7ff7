"""Chapter 5's comparison with the power to tell: cross-validation over the 251 training
speakers, and the shipped models on test-other, under every condition of
:data:`~asp_lab.experiments.paired.CONDITIONS`.

Ten test-other speakers cannot separate poolings whose EERs differ by a point. So the 251
train-clean-100 speakers are split into :data:`FOLDS` folds (:func:`asp_lab.folds.speaker_folds`);
each pooling trains, with the shipped recipe, on all folds but one, and is tested on the
speakers left out. Each of them has one recording, cut into non-overlapping
:data:`PIECE_SECONDS`-second pieces that are scored against each other, so a target trial
compares two stretches of one session (as test-other's do: one session per speaker).
``make experiments`` writes :data:`COMPARISON`; a test retrains one run and checks that it
reproduces its stored numbers exactly.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from .. import data, metrics
from ..evaluation import Piece, pieces, trial_utterances
from ..folds import speaker_folds
from ..inference import load_model
from ..provenance import CHECKPOINT_DIR, git_commit
from ..train.config import TrainConfig
from ..train.jobs import run_jobs
from ..train.loop import train
from ..train.runtime import data_checksum, save_json
from .paired import (
    CONDITIONS,
    TrialSet,
    baseline_embeddings,
    bootstrap_eers,
    condition_embeddings,
    pair_trials,
)

#: The cross-validation's settings: folds, seeds per fold and pooling, the poolings, and the
#: length of the pieces each held-out recording is cut into.
FOLDS = 3
SEEDS = (0,)
POOLINGS = ("stats", "asp-scalar", "asp-channel")
PIECE_SECONDS = 4.0
#: The comparisons reported: each ASP against statistics pooling, each pooling against the
#: no-network baseline, and (test-other only) noise training against none.
PAIRS = [("asp-scalar", "stats"), ("asp-channel", "stats"), ("stats", "baseline"),
         ("asp-scalar", "baseline"), ("asp-channel", "baseline")]
COMPARISON = CHECKPOINT_DIR / "comparison.json"
ROUNDS = 1000


def crossval_configs(folds: int = FOLDS, seeds=SEEDS, steps: int | None = None) -> list:
    """The runs: every pooling, seed and held-out fold, with the shipped recipe (only
    ``steps`` may be changed, for tests). Chapter 5."""
    extra = {} if steps is None else {"steps": steps}
    return [TrainConfig(pooling=p, seed=s, folds=folds, held_out=f, **extra)
            for f in range(folds) for s in seeds for p in POOLINGS]


def held_out_pieces(folds: int, held_out: int, root=None) -> list[Piece]:
    """The pieces of the recordings of fold ``held_out``'s speakers. Chapter 5."""
    keep = set(speaker_folds(folds, root)[held_out])
    utts = [u for u in data.utterances("train-clean-100", root) if u.speaker in keep]
    return pieces(utts, PIECE_SECONDS)


def score_conditions(embeddings, items) -> dict[str, np.ndarray]:
    """``{condition: (N,) cosine scores}`` of every pair of ``items``, with
    ``embeddings(items, condition)`` giving their ``(len(items), E)`` embeddings."""
    pairs = pair_trials([u.speaker for u in items])[0]
    out = {}
    for name, condition in CONDITIONS.items():
        emb = embeddings(items, condition)
        out[name] = metrics.cosine_scores(emb[pairs[:, 0]], emb[pairs[:, 1]])
    return out


def _measures(scores: dict, labels: np.ndarray) -> dict:
    return {"eer": {c: metrics.eer(s, labels)[0] for c, s in scores.items()},
            "min_dcf_0.01": {c: metrics.min_dcf(s, labels, p_target=0.01)
                             for c, s in scores.items()}}


def crossval_run(cfg: TrainConfig, root=None) -> dict:
    """Train one run on one thread and score its held-out pieces under every condition:
    its record (training time, final loss, EER and minDCF per condition) and ``scores``.
    Chapter 5."""
    start = time.perf_counter()
    res = train(cfg, out=None, device="cpu", progress=False, threads=1, data_root=root)
    seconds = time.perf_counter() - start
    items = held_out_pieces(cfg.folds, cfg.held_out, root)
    model = res["model"]
    scores = score_conditions(lambda it, c: condition_embeddings(model, it, c), items)
    labels = pair_trials([u.speaker for u in items])[1]
    last = res["provenance"]["curve"][-1]
    print(f"{cfg.name}: {seconds:.0f} s, clean EER {metrics.eer(scores['clean'], labels)[0]:.4f}",
          flush=True)
    return {"name": cfg.name, "pooling": cfg.pooling, "seed": cfg.seed, "fold": cfg.held_out,
            "train_seconds": round(seconds, 1), "final_loss": last["loss"],
            **_measures(scores, labels), "scores": scores}


def _compare(sets_by_condition: dict, pairs, rounds: int) -> dict:
    out = {}
    for k, (name, sets) in enumerate(sets_by_condition.items()):
        result = bootstrap_eers(sets, pairs, rounds=rounds, seed=k)
        result["min_dcf_0.01"] = {
            s: float(np.mean([metrics.min_dcf(r, ts.labels, p_target=0.01)
                              for ts in sets for r in ts.scores[s]]))
            for s in sets[0].scores}
        out[name] = result
    return out


def crossval(folds: int = FOLDS, seeds=SEEDS, steps: int | None = None, jobs: int = 1,
             rounds: int = ROUNDS, root=None) -> dict:
    """Every cross-validation run (:func:`crossval_configs`), ``jobs`` at once, then each
    condition's paired bootstrap over the folds' speakers and runs. Chapter 5."""
    configs = crossval_configs(folds, seeds, steps)
    runs = run_jobs(crossval_run, [(c, root) for c in configs], jobs)
    sets: dict[str, list[TrialSet]] = {name: [] for name in CONDITIONS}
    pieces_per_fold = []
    for fold in range(folds):
        items = held_out_pieces(folds, fold, root)
        pieces_per_fold.append(len(items))
        _, labels, spk_a, spk_b = pair_trials([u.speaker for u in items])
        base = score_conditions(baseline_embeddings, items)
        mine = [r for r in runs if r["fold"] == fold]
        for name in CONDITIONS:
            ts = TrialSet(labels, spk_a, spk_b)
            for p in POOLINGS:
                ts.scores[p] = [r["scores"][name] for r in mine if r["pooling"] == p]
            ts.scores["baseline"] = [base[name]]
            sets[name].append(ts)
    folds_ = speaker_folds(folds, root)
    return {
        "folds": folds, "seeds": list(seeds), "poolings": list(POOLINGS),
        "piece_seconds": PIECE_SECONDS, "speakers": sum(len(f) for f in folds_),
        "speakers_per_fold": [len(f) for f in folds_], "pieces_per_fold": pieces_per_fold,
        "trials_per_fold": [int(s.labels.size) for s in sets["clean"]],
        "target_trials_per_fold": [int(s.labels.sum()) for s in sets["clean"]],
        "steps": configs[0].steps,
        "runs": {r["name"]: {k: v for k, v in r.items() if k != "scores"} for r in runs},
        "results": _compare(sets, PAIRS, rounds),
    }


def shipped_comparison(rounds: int = ROUNDS, root=None) -> dict:
    """The shipped models (every seed) and the baseline on test-other's 4,950 trials, under
    every condition, with the same paired bootstrap. Chapter 5."""
    items = trial_utterances(root=root)
    _, labels, spk_a, spk_b = pair_trials([u.speaker for u in items])
    systems = {p: [f"{p}-seed{s}" for s in (0, 1, 2)] for p in POOLINGS}
    systems["asp-scalar-clean"] = ["asp-scalar-clean-seed0"]
    scores: dict = {s: [] for s in systems}
    for s, names in systems.items():
        for name in names:
            model = load_model(name)
            scores[s].append(score_conditions(
                lambda it, c, m=model: condition_embeddings(m, it, c), items))
    base = score_conditions(baseline_embeddings, items)
    sets = {}
    for name in CONDITIONS:
        ts = TrialSet(labels, spk_a, spk_b, {s: [r[name] for r in runs]
                                             for s, runs in scores.items()})
        ts.scores["baseline"] = [base[name]]
        sets[name] = [ts]
    pairs = [*PAIRS, ("asp-scalar", "asp-scalar-clean")]
    return {"utterances": len(items), "speakers": len(set(spk_a) | set(spk_b)),
            "trials": int(labels.size), "target_trials": int(labels.sum()),
            "models": systems, "results": _compare(sets, pairs, rounds)}


def _provenance(seconds: float, jobs: int) -> dict:
    return {"produced_by": "python -m asp_lab.experiments.crossval (make experiments)",
            "git_commit": git_commit(), "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "machine": platform.machine(),
            "threads_per_run": 1, "jobs": jobs, "data_sha256sums_sha256": data_checksum(),
            "seconds": round(seconds, 1)}


def run_comparison(out: str | os.PathLike = COMPARISON, folds: int = FOLDS, seeds=SEEDS,
                   steps: int | None = None, jobs: int = 1, rounds: int = ROUNDS) -> dict:
    """``make experiments``: :func:`shipped_comparison` and :func:`crossval`, written to
    ``out`` with their provenance. Chapter 5."""
    start = time.perf_counter()
    conditions = {k: None if v is None else {**v, "kinds": list(v["kinds"])}
                  for k, v in CONDITIONS.items()}
    result = {"conditions": conditions, "test_other": shipped_comparison(rounds)}
    print("test-other done", flush=True)
    result["crossval"] = crossval(folds, seeds, steps, jobs, rounds)
    result["provenance"] = _provenance(time.perf_counter() - start, jobs)
    save_json(Path(out), result)
    return result


def load_comparison(path: str | os.PathLike = COMPARISON) -> dict:
    """The stored comparison (:func:`run_comparison`). Chapter 5."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run `make experiments`")
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m asp_lab.experiments.crossval")
    parser.add_argument("--out", default=str(COMPARISON))
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--steps", type=int, default=None, help="shorter runs, for a trial")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once, one thread each")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="bootstrap rounds")
    args = parser.parse_args(argv)
    res = run_comparison(args.out, args.folds, tuple(args.seeds), args.steps, args.jobs,
                         args.rounds)
    print(f"wrote {args.out} in {res['provenance']['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
