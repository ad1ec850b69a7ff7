"""``make models``: train every shipped model, evaluate it, and export slim checkpoints.

:data:`SHIPPED` lists them (three poolings x three seeds with noise augmentation, and
ASP-scalar without it); :func:`train_all` writes ``asp_lab/checkpoints/`` and its
``results.json``, which chapter 5 reads.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .. import data
from ..evaluation import SUBSET_FOR_TESTS, evaluate
from ..features import LogMel
from ..features import model_input as features
from ..models import AAMSoftmax, build_model
from ..provenance import CHECKPOINT_DIR, git_commit
from .batches import draw_batch, load_training_data
from .config import SEEN_NOISES, UNSEEN_NOISES, TrainConfig
from .jobs import run_jobs
from .loop import Trainable, train
from .runtime import data_checksum, save_json, set_threads

#: The share of each test utterance that the segmental conditions corrupt (its middle).
SEGMENT = 1 / 3

#: The shipped models: three poolings x three seeds with noise augmentation, and
#: ASP-scalar without it (seed 0).
SHIPPED = tuple(
    [TrainConfig(pooling=p, seed=0) for p in ("stats", "asp-scalar", "asp-channel")]
    + [TrainConfig(pooling="asp-scalar", seed=0, noise_aug=False)]
    + [TrainConfig(pooling=p, seed=s) for s in (1, 2)
       for p in ("stats", "asp-scalar", "asp-channel")]
)


def export_checkpoint(src: str | os.PathLike, dest: str | os.PathLike) -> int:
    """Copy a training checkpoint without its head and optimiser state (what
    :func:`asp_lab.load_model` needs: ``config``, ``state_dict``, ``train_config``, ``step``).
    Returns the size in bytes. Chapter 5."""
    ckpt = torch.load(src, map_location="cpu", weights_only=False)
    slim = {k: ckpt[k] for k in ("config", "state_dict", "train_config", "step")}
    torch.save(slim, dest)
    return Path(dest).stat().st_size


def step_times(cfg: TrainConfig, poolings: Sequence[str] = ("stats", "asp-scalar",
               "asp-channel"), steps: int = 30, warmup: int = 5, data_root=None) -> dict:
    """Median seconds per training step (forward, backward, optimiser; and the same with
    the batch drawing and features included) for each pooling, on identical batches,
    interleaved round by round so a busy machine slows all of them alike. Chapter 5."""
    audio, _, noises = load_training_data(cfg, data_root)
    logmel = LogMel()
    torch.manual_seed(0)
    nets = {}
    for p in poolings:
        c = dataclasses.replace(cfg, pooling=p)
        net = Trainable(build_model(**c.model_kwargs()), AAMSoftmax(cfg.embed_dim, len(audio)))
        nets[p] = (net.train(), torch.optim.AdamW(net.parameters(), lr=1e-4))
    compute: dict = {p: [] for p in poolings}
    full: dict = {p: [] for p in poolings}
    for i in range(warmup + steps):
        for p in poolings if i % 2 == 0 else reversed(poolings):
            net, optim = nets[p]
            t0 = time.perf_counter()
            wave, labels = draw_batch(audio, noises, cfg, i)
            with torch.no_grad():
                feats = features(wave, logmel)
            t1 = time.perf_counter()
            loss, _ = net(feats, labels)
            optim.zero_grad()
            loss.backward()
            optim.step()
            t2 = time.perf_counter()
            if i >= warmup:
                compute[p].append(t2 - t1)
                full[p].append(t2 - t0)
    med = {p: float(np.median(compute[p])) for p in poolings}
    med_full = {p: float(np.median(full[p])) for p in poolings}
    return {
        "what": ("median seconds per training step over "
                 f"{steps} interleaved steps, batch {cfg.batch_size}, "
                 f"{torch.get_num_threads()} CPU threads; 'model' = forward + backward + "
                 "AdamW, 'with_data' adds drawing the batch and log-mel features"),
        "model_seconds": med,
        "with_data_seconds": med_full,
        "ratio_vs_stats_model": {p: med[p] / med["stats"] for p in poolings},
        "ratio_vs_stats_with_data": {p: med_full[p] / med_full["stats"] for p in poolings},
    }


def evaluate_shipped(model) -> dict:
    """What ``results.json`` holds of one model: clean test-other with intervals, each
    noise at 0, 5 and 10 dB over whole utterances ("noisy"), in the middle third of each
    utterance, replacing or added to the speech, at 0 and 5 dB ("segmental"), and the
    tests' quick subset. Chapter 5."""
    clean = evaluate(model)
    entry: dict = {"clean": {k: v for k, v in clean.items() if k != "scores"}, "noisy": {}}
    for noise in (*SEEN_NOISES, *UNSEEN_NOISES):
        for snr in (0, 5, 10):
            r = evaluate(model, noise=noise, snr_db=snr, bootstrap=0)
            entry["noisy"][f"{noise}@{snr}dB"] = {
                "noise": noise, "snr_db": snr, "seen": noise in SEEN_NOISES,
                "eer": r["eer"], "min_dcf_0.01": r["min_dcf_0.01"],
                "min_dcf_0.05": r["min_dcf_0.05"]}
    entry["segmental"] = {}
    for noise in (*SEEN_NOISES, *UNSEEN_NOISES):
        for mode in ("replace", "add"):
            for snr in (0, 5):
                r = evaluate(model, noise=noise, snr_db=snr, mode=mode, fraction=SEGMENT,
                             bootstrap=0)
                entry["segmental"][f"{noise}:{mode}@{snr}dB"] = {
                    "noise": noise, "snr_db": snr, "mode": mode, "fraction": SEGMENT,
                    "seen": noise in SEEN_NOISES, "eer": r["eer"],
                    "min_dcf_0.01": r["min_dcf_0.01"], "min_dcf_0.05": r["min_dcf_0.05"]}
    subset = evaluate(model, per_speaker=SUBSET_FOR_TESTS, bootstrap=0)
    entry["test_subset"] = {"per_speaker": SUBSET_FOR_TESTS, "utterances": subset["utterances"],
                            "eer": subset["eer"], "min_dcf_0.01": subset["min_dcf_0.01"]}
    return entry


def ship_one(cfg: TrainConfig, out: Path, work: Path, device: str, progress, threads) -> dict:
    """Train one shipped model, evaluate it, export its slim checkpoint and its record.
    Chapter 5."""
    print(f"{cfg.name}: training {cfg.steps} steps ...", flush=True)
    res = train(cfg, out=work, device=device, progress=progress, threads=threads)
    model, prov = res["model"].eval(), res["provenance"]
    t0 = time.perf_counter()
    entry = {"train_config": prov["train_config"], "wall_seconds": prov["wall_seconds"],
             "parameters": prov["parameters"], "curve": prov["curve"], **evaluate_shipped(model)}
    entry["eval_seconds"] = round(time.perf_counter() - t0, 2)
    ship = out / f"{cfg.name}.pt"
    entry["checkpoint_bytes"] = size = export_checkpoint(res["checkpoint"], ship)
    clean = entry["clean"]
    prov["metrics"].update({k: clean[k] for k in ("eer", "min_dcf_0.01", "min_dcf_0.05")})
    prov["checkpoint_sha256"] = data.sha256(ship)
    prov["exported_from"] = "full training checkpoint, head and optimiser state removed"
    save_json(out / f"{cfg.name}.json", prov)
    print(f"{cfg.name}: EER {clean['eer']:.4f} [{clean['eer_ci'][0]:.4f}, "
          f"{clean['eer_ci'][1]:.4f}], {prov['wall_seconds']:.0f} s training, "
          f"{entry['eval_seconds']:.0f} s eval, {size / 1e6:.2f} MB", flush=True)
    return entry


def train_all(out: str | os.PathLike = CHECKPOINT_DIR, work: str | os.PathLike | None = None,
              steps: int | None = None, keep_existing: bool = False, device: str = "cpu",
              progress: bool | None = None, threads: int | None = None,
              jobs: int = 1) -> dict:
    """``make models``: train every :data:`SHIPPED` model, evaluate it (clean and under
    each noise at 0, 5, 10 dB), export slim checkpoints and write ``<out>/results.json``.

    The full (resumable) checkpoints go to ``work`` (a temporary folder by default).
    ``keep_existing`` skips models whose exported checkpoint and provenance already exist.
    ``jobs`` trains that many models at once, one process and one thread each
    (:func:`~asp_lab.train.jobs.run_jobs`; the numbers are those of ``threads=1``).

    Chapter 5.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    default_work = work is None
    work = Path(tempfile.gettempdir()) / "asp_lab_models" if default_work else Path(work)
    work.mkdir(parents=True, exist_ok=True)
    total_start = time.perf_counter()
    results_path = out / "results.json"
    old = json.loads(results_path.read_text()) if results_path.is_file() else {}
    results: dict = {"models": {}}
    configs = [c if steps is None else dataclasses.replace(c, steps=steps) for c in SHIPPED]
    set_threads(threads=threads)
    print(f"step times ({torch.get_num_threads()} threads) ...", flush=True)
    results["step_time"] = step_times(configs[0])
    print(json.dumps(results["step_time"]["ratio_vs_stats_model"]), flush=True)
    todo = []
    for cfg in configs:
        shipped = (out / f"{cfg.name}.pt").is_file() and (out / f"{cfg.name}.json").is_file()
        if keep_existing and shipped and cfg.name in old.get("models", {}):
            print(f"{cfg.name}: kept", flush=True)
            results["models"][cfg.name] = old["models"][cfg.name]
        else:
            todo.append(cfg)

    def finished(i: int, entry: dict) -> None:  # save as each model is done
        results["models"][todo[i].name] = entry
        results["summary"] = summarise(results["models"])
        save_json(results_path, results)

    alone = jobs == 1
    run_jobs(ship_one, [(cfg, out, work, device, progress if alone else False,
                         threads if alone else 1) for cfg in todo], jobs, finished)
    results["models"] = {c.name: results["models"][c.name] for c in configs}
    results.update(summary=summarise(results["models"]),
                   make_models_seconds=round(time.perf_counter() - total_start, 1),
                   torch=torch.__version__, git_commit=git_commit(),
                   data_sha256sums_sha256=data_checksum())
    save_json(results_path, results)
    if default_work:  # the full checkpoints were only a means to the exported ones
        shutil.rmtree(work, ignore_errors=True)
    return results


def summarise(models: dict) -> dict:
    """Mean and spread over seeds of each group's clean EER and minDCF, and noisy EER.
    Chapter 5."""
    groups: dict[str, list[dict]] = {}
    for name, entry in models.items():
        groups.setdefault(name.rsplit("-seed", 1)[0], []).append(entry)
    summary = {}
    for group, entries in groups.items():
        row: dict = {"seeds": len(entries)}
        for key in ("eer", "min_dcf_0.01", "min_dcf_0.05"):
            vals = [e["clean"][key] for e in entries]
            row[key] = {"mean": float(np.mean(vals)), "min": float(min(vals)),
                        "max": float(max(vals)), "per_seed": vals}
        row["noisy_eer_mean"] = {cond: float(np.mean([e["noisy"][cond]["eer"] for e in entries]))
                                 for cond in entries[0]["noisy"]}
        row["train_seconds_mean"] = float(np.mean([e["wall_seconds"] for e in entries]))
        summary[group] = row
    return summary
