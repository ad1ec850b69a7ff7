"""Chapter 6's experiment: which frames does a trained attention trust when part of an
utterance is noise?

:func:`noise_attention` puts a noise into one segment of a test-other utterance (added to
the speech, or replacing it), reads the model's weights and measures the share of attention
on the noise frames against their uniform share. :func:`noise_attention_grid` runs that over
utterances, noise kinds, SNRs and models; :func:`precompute_attention_grid` stores the grid
the book reads (``python -m asp_lab.experiments.attention_grid precompute``).
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from .. import data
from ..constants import SAMPLE_RATE
from ..inference import (
    EVAL_THREADS,
    attention_mass,
    frame_attention,
    load_model,
    output_frame_mask,
    prepare_waveform,
    relative_mass,
    threads,
)
from ..models import TDNN
from ..noises import add_noise, noise_excerpt, noise_kinds, noise_rng, noise_segment
from ..provenance import CHECKPOINT_DIR, git_commit
from .measures import frame_energy_db, frame_snr_db, quiet_relative_mass, spearman, to_output_frames

#: The stored grid of chapter 6 (:func:`precompute_attention_grid` writes it).
ATTENTION_GRID = CHECKPOINT_DIR / "attention_grid.json"
#: The grid's settings: models (every seed of the noise-augmented ASP models, and the one
#: trained without noise), SNRs in dB, and the models measured with added noise too.
GRID_MODELS = ("asp-scalar", "asp-channel", "asp-scalar-clean", "asp-scalar-seed1",
               "asp-scalar-seed2", "asp-channel-seed1", "asp-channel-seed2")
GRID_SNRS = (-5.0, 0.0, 5.0, 10.0, 20.0)
GRID_ADD_MODELS = ("asp-scalar", "asp-channel", "asp-scalar-clean")
#: Digits kept in the stored grid.
GRID_DECIMALS = 6


def training_noises(name: str) -> list[str]:
    """The noises a shipped model was trained with (its ``train_config``), ``[]`` for a
    model trained without noise augmentation (``asp-scalar-clean``). Chapter 6."""
    stem = name if "-seed" in name else f"{name}-seed0"
    path = CHECKPOINT_DIR / f"{stem}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no record {path} of a shipped model {name!r}")
    config = json.loads(path.read_text())["train_config"]
    return list(config["noises"]) if config.get("noise_aug") else []


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
    """Noise into one segment, then the model's weights. Chapter 6.

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


def clean_attention_stats(model: TDNN, waveform, quiet_fraction: float = 0.2) -> dict:
    """Where a model's weights go in clean speech: ``quiet_relative_mass`` (the quietest
    ``quiet_fraction`` of frames, :func:`quiet_relative_mass`), ``energy_spearman`` (rank
    correlation of ``alpha_t`` with the frame energy in dB) and ``n_eff_share`` (``1 /
    sum alpha_t^2`` over ``T'``). Chapter 6."""
    times, alpha = frame_attention(model, waveform)
    energy = to_output_frames(frame_energy_db(prepare_waveform(waveform, SAMPLE_RATE)),
                              alpha.size)
    return {"quiet_relative_mass": quiet_relative_mass(alpha, energy, quiet_fraction),
            "energy_spearman": spearman(alpha, energy),
            "n_eff_share": float(1.0 / np.sum(alpha**2) / alpha.size)}


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
    :func:`asp_lab.data.utterances` order). Chapter 6."""
    utt = data.utterances("test-other", root)[utterance_index]
    speech = data.cached_audio(utt.path)
    start, length = noise_segment(speech.size, fraction, position)
    with threads(EVAL_THREADS):
        out = noise_attention(_model(model), speech, kind, snr_db, start, length, mode,
                              noise_rng(seed, utterance_index, kind), root)
    return out["relative_mass"]


def _one_utterance(loaded: dict, speech, i: int, kinds, snrs, mode, seed, fraction, position,
                   local_snr: bool, root, mass: dict, corr: dict) -> None:
    """Every kind, SNR and model on utterance ``i``, appended to ``mass`` (and ``corr``)."""
    start, length = noise_segment(speech.size, fraction, position)
    for kind in kinds:
        excerpt = noise_excerpt(kind, length, noise_rng(seed, i, kind), root)
        for j, snr in enumerate(snrs):
            mixed, frame_mask = data.mix_noise(speech, excerpt, snr, start, length, mode=mode)
            local = frame_snr_db(speech, mixed) if local_snr else None
            for name, model in loaded.items():
                _, alpha = frame_attention(model, mixed)
                mass[name][kind][j].append(round(relative_mass(alpha, frame_mask), GRID_DECIMALS))
                if local is not None:
                    seg = output_frame_mask(frame_mask, alpha.size)
                    rho = spearman(alpha[seg], to_output_frames(local, alpha.size)[seg])
                    corr[name][kind][j].append(round(rho, GRID_DECIMALS))


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
    kind ``k``, one noise excerpt (drawn by :func:`asp_lab.noises.noise_rng`) fills the
    segment (:func:`asp_lab.noises.noise_segment`: the middle third by default) at every
    SNR; each model's weights give :func:`asp_lab.inference.relative_mass` on the output
    frames whose centre lies in the segment. Chapter 6.

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
    with threads(EVAL_THREADS):
        for count, i in enumerate(indices):
            _one_utterance(loaded, data.cached_audio(utts[i].path), i, kinds, snrs, mode, seed,
                           fraction, position, local_snr, root, mass, corr)
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
    utterance: ``{stat: {model: [value per utterance]}}`` and the settings. Chapter 6."""
    utts = data.utterances("test-other", root)
    indices = list(range(len(utts))) if utterances is None else [int(i) for i in utterances]
    stats: dict = {key: {} for key in ("quiet_relative_mass", "energy_spearman", "n_eff_share")}
    with threads(EVAL_THREADS):
        for name in models:
            model = _model(name)
            rows = [clean_attention_stats(model, data.cached_audio(utts[i].path), quiet_fraction)
                    for i in indices]
            for key in stats:
                stats[key][name] = [round(r[key], GRID_DECIMALS) for r in rows]
    return {"quiet_fraction": quiet_fraction, "models": list(models),
            "utterances": [utts[i].name for i in indices], **stats}


def _provenance(seconds: float) -> dict:
    """What made the grid: code, library versions, threads, seed, time taken."""
    return {
        "produced_by": "asp_lab.experiments.attention_grid.precompute_attention_grid "
                       "(python -m asp_lab.experiments.attention_grid precompute)",
        "git_commit": git_commit(),
        "code_sha256": {f"asp_lab/experiments/{Path(__file__).name}": data.sha256(Path(__file__))},
        "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
        "machine": platform.machine(), "threads": EVAL_THREADS,
        "data_sha256sums_sha256": data.sha256(data.default_root() / "SHA256SUMS"),
        "seed": 0, "noise_choice": "noise_rng(seed, utterance_index, kind): one excerpt per "
                                   "utterance and kind, the same at every SNR",
        "training_noises": {m: training_noises(m) for m in GRID_MODELS},
        "decimals": GRID_DECIMALS, "seconds": round(seconds, 1),
    }


def precompute_attention_grid(out: str | os.PathLike = ATTENTION_GRID, utterances=None,
                              progress: bool = True) -> dict:
    """Compute chapter 6's grid with the shipped models and write it to ``out`` (JSON).

    Holds: ``replace`` (noise replacing the middle third, :data:`GRID_MODELS`, every noise
    kind, :data:`GRID_SNRS`), ``add`` (noise added there, :data:`GRID_ADD_MODELS`, with
    the local-SNR correlation), ``clean`` (:func:`clean_attention_grid`) and ``provenance``.
    Every utterance of test-other by default (about 5 minutes on one CPU thread).
    """
    start = time.perf_counter()
    grid = {
        "replace": noise_attention_grid(GRID_MODELS, utterances=utterances, mode="replace",
                                        progress=progress),
        "add": noise_attention_grid(GRID_ADD_MODELS, utterances=utterances, mode="add",
                                    local_snr=True, progress=progress),
        "clean": clean_attention_grid(GRID_MODELS, utterances=utterances),
    }
    grid["provenance"] = _provenance(time.perf_counter() - start)
    Path(out).write_text(json.dumps(grid, separators=(",", ":")) + "\n")
    return grid


def load_attention_grid(path: str | os.PathLike = ATTENTION_GRID) -> dict:
    """The stored grid of :func:`precompute_attention_grid`. Chapter 6."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run "
                                f"`python -m asp_lab.experiments.attention_grid precompute`")
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m asp_lab.experiments.attention_grid")
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

    sys.exit(main())
