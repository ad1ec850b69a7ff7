"""The training loop: one model, its AAM-softmax head, AdamW, on one process or many (DDP).

Each step takes a batch (:mod:`asp_lab.train.batches`), computes log-mel features with
per-utterance mean normalisation (:func:`asp_lab.features.model_input`), and takes one AdamW
step on the AAM-softmax loss (:class:`asp_lab.models.AAMSoftmax`). Chapter 5 trains with
:func:`train`; chapter 7 runs it on a GPU, under AMP, with DataLoader workers.
"""

from __future__ import annotations

import dataclasses
import math
import os
import platform
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from .. import data, evaluation
from ..features import LogMel
from ..features import model_input as features
from ..models import TDNN, AAMSoftmax, build_model, count_parameters
from ..provenance import git_commit
from .batches import StepBatches, load_training_data
from .config import TrainConfig
from .objective import Trainable, learning_rate, margin_at
from .runtime import (
    amp_policy,
    command_line,
    data_checksum,
    device_description,
    dist_env,
    resolve_device,
    save_json,
    seed_everything,
    set_threads,
)


@dataclasses.dataclass
class _Run:
    """A run's state: what it trains, where it is, and what a checkpoint saves."""

    cfg: TrainConfig
    encoder: TDNN
    head: AAMSoftmax
    net: Trainable
    optim: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    step: int = 0
    curve: list = dataclasses.field(default_factory=list)
    elapsed: float = 0.0  #: seconds before this process (a resumed run's earlier part)
    running: list = dataclasses.field(default_factory=lambda: [0.0, 0, 0, 0])
    start: float = 0.0  #: time.perf_counter() when this process began training

    def wall(self) -> float:
        return self.elapsed + time.perf_counter() - self.start

    def save(self, path: Path) -> None:
        torch.save({
            "config": self.encoder.config, "state_dict": self.encoder.state_dict(),
            "head": self.head.state_dict(), "optimizer": self.optim.state_dict(),
            "scaler": self.scaler.state_dict(), "step": self.step, "curve": self.curve,
            "running": list(self.running), "train_config": dataclasses.asdict(self.cfg),
            "wall_seconds": self.wall(),
        }, path)


def _build(cfg: TrainConfig, classes: int, dev: torch.device) -> _Run:
    torch.manual_seed(cfg.seed)  # every rank starts from the same weights
    encoder = build_model(**cfg.model_kwargs())
    head = AAMSoftmax(cfg.embed_dim, classes, margin=0.0, scale=cfg.scale)
    net = Trainable(encoder, head).to(dev)
    optim = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler(dev.type, enabled=amp_policy(dev.type).grad_scaler)
    return _Run(cfg, encoder, head, net, optim, scaler)


def _resume(run: _Run, path) -> None:
    """Continue from a checkpoint of :func:`train` with the same config."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    saved = dataclasses.asdict(TrainConfig(**ckpt["train_config"]))
    now = dataclasses.asdict(run.cfg)
    if saved != now:
        diff = {k: (v, now[k]) for k, v in saved.items() if v != now[k]}
        raise ValueError(f"{path} was trained with another config; differences "
                         f"(checkpoint, now): {diff}")
    run.encoder.load_state_dict(ckpt["state_dict"])
    run.head.load_state_dict(ckpt["head"])
    run.optim.load_state_dict(ckpt["optimizer"])
    run.scaler.load_state_dict(ckpt["scaler"])
    run.step, run.curve, run.elapsed = ckpt["step"], ckpt["curve"], ckpt["wall_seconds"]
    run.running = ckpt["running"]


def _take_step(run: _Run, model, wave, labels, logmel, dev, amp) -> None:
    """One optimiser step on one batch, then the running loss and accuracy."""
    cfg = run.cfg
    for group in run.optim.param_groups:
        group["lr"] = learning_rate(run.step, cfg)
    run.head.margin = margin_at(run.step, cfg)
    with torch.no_grad():
        feats = features(wave, logmel)
    with torch.autocast(dev.type, dtype=amp.dtype, enabled=amp.enabled):
        loss, correct = model(feats, labels)
    run.optim.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.scaler.unscale_(run.optim)
    nn.utils.clip_grad_norm_(run.net.parameters(), cfg.grad_clip)
    run.scaler.step(run.optim)
    run.scaler.update()
    run.step += 1
    r = run.running
    r[0] += float(loss.detach())
    r[1] += int(correct)
    r[2] += labels.numel()
    r[3] += 1


def _log(run: _Run, bar, quiet_print: bool) -> None:
    """Every ``log_every`` steps: a point on the training curve (and a line without a bar)."""
    cfg, step = run.cfg, run.step
    if step % cfg.log_every and step != cfg.steps:
        return
    loss_sum, correct, seen, steps = run.running
    run.curve.append({"step": step, "loss": loss_sum / steps, "accuracy": correct / seen,
                      "lr": learning_rate(step - 1, cfg), "margin": run.head.margin})
    bar.set_postfix(loss=f"{loss_sum / steps:.3f}")
    if quiet_print and step % max(cfg.log_every, cfg.steps // 10) == 0:
        print(f"{cfg.name}: step {step}/{cfg.steps}, loss {loss_sum / steps:.3f}, "
              f"accuracy {correct / seen:.3f}, {run.wall():.0f} s", flush=True)
    run.running = [0.0, 0, 0, 0]


def _progress(cfg: TrainConfig, first: int, progress, rank: int):
    """Whether to show a bar (default: on a terminal, unless ``CI=true``), and the bar
    (rank 0 only)."""
    if progress is None:
        progress = sys.stderr.isatty() and os.environ.get("CI") != "true"
    return progress, tqdm(total=cfg.steps, initial=first, desc=cfg.name, mininterval=2.0,
                          disable=not progress or rank != 0, dynamic_ncols=True)


def _join(device: str, init_method, rank, world_size):
    """This process's place: ``(device, rank, world_size, own_group)``, the process group
    started when DDP runs without one yet."""
    env_rank, env_world, local_rank = dist_env()
    rank = env_rank if rank is None else rank
    world_size = env_world if world_size is None else world_size
    if init_method is not None or world_size == 1:
        local_rank = rank  # launch_local: all ranks on this machine
    dev = resolve_device(device, local_rank)
    own_group = world_size > 1 and not dist.is_initialized()
    if own_group:
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo",
                                init_method=init_method or "env://",
                                rank=rank, world_size=world_size)
    return dev, rank, world_size, own_group


def _record(run: _Run, dev, threads, world_size, workers, compile, first, seconds,
            data_root) -> dict:
    """The run's provenance: code, command, data, seed, device, speed, config, curve."""
    cfg, curve, amp = run.cfg, run.curve, amp_policy(dev.type)
    return {
        "name": cfg.name, "git_commit": git_commit(), "command": command_line(),
        "data_sha256sums_sha256": data_checksum(data_root), "seed": cfg.seed,
        "wall_seconds": round(run.wall(), 2), "device": device_description(dev),
        "threads": threads, "world_size": world_size,
        "amp": str(amp.dtype).removeprefix("torch.") if amp.enabled else "off",
        "workers": workers, "compile": compile,
        "steps_per_second": round((run.step - first) / seconds, 3) if run.step > first else None,
        "torch": torch.__version__, "python": platform.python_version(), "steps": run.step,
        "parameters": count_parameters(run.encoder), "train_config": dataclasses.asdict(cfg),
        "metrics": {"final_train_loss": curve[-1]["loss"] if curve else None,
                    "final_train_accuracy": curve[-1]["accuracy"] if curve else None},
        "curve": curve,
    }


def train(
    cfg: TrainConfig,
    out: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    device: str = "auto",
    stop_after: int | None = None,
    checkpoint_every: int = 0,
    evaluate: bool = False,
    progress: bool | None = None,
    data_root: str | None = None,
    init_method: str | None = None,
    rank: int | None = None,
    world_size: int | None = None,
    threads: int | None = None,
    workers: int = 0,
    compile: bool = False,
) -> dict:
    """Train one model; return ``{"model", "checkpoint", "provenance"}``. Chapter 5.

    Args:
        out: folder for ``<name>.pt`` and ``<name>.json`` (rank 0 writes); None saves nothing.
        resume: a checkpoint of this function to continue from (same config).
        stop_after: stop after this step (a resumable checkpoint is written), as if the run
            were interrupted; the schedule still runs to ``cfg.steps``.
        checkpoint_every: also save every this many steps (0: only at the end).
        evaluate: evaluate on clean test-other at the end (EER, minDCF in the provenance).
        progress: show a tqdm bar (default: on a terminal, on rank 0, unless ``CI=true``).
        init_method, rank, world_size: for DDP without torchrun (see
            :func:`asp_lab.train.launch_local`); by default read from torchrun's environment.
        threads: CPU threads per process (default and maximum: cores // local processes).
        workers: ``DataLoader`` worker processes that draw the next batches while the model
            trains (0: draw each batch in the training loop). The batches are the same.
        compile: run the model (encoder and head) through ``torch.compile``.
    """
    if workers < 0:
        raise ValueError(f"workers must be 0 or more, got {workers}")
    dev, rank, world_size, own_group = _join(device, init_method, rank, world_size)
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world_size))
    threads = set_threads(local_world if dev.type == "cpu" else 1, threads)
    seed_everything(cfg.seed, dev)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    audio, _, noises = load_training_data(cfg, data_root)
    run = _build(cfg, len(audio), dev)
    logmel, amp = LogMel().to(dev), amp_policy(dev.type)
    if resume is not None:
        _resume(run, resume)
    model = nn.parallel.DistributedDataParallel(run.net) if world_size > 1 else run.net
    model = torch.compile(model) if compile else model
    first, last = run.step, cfg.steps if stop_after is None else min(cfg.steps, stop_after)
    batches = torch.utils.data.DataLoader(
        StepBatches(audio, noises, cfg, first, last, rank, world_size), batch_size=None,
        num_workers=workers, pin_memory=dev.type == "cuda", prefetch_factor=4 if workers else None)
    out = Path(out) if out is not None else None
    if out is not None and rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    progress, bar = _progress(cfg, first, progress, rank)
    run.start = time.perf_counter()
    run.net.train()
    for wave, labels in batches:  # the batches of steps first..last-1, in order
        wave, labels = wave.to(dev, non_blocking=True), labels.to(dev, non_blocking=True)
        _take_step(run, model, wave, labels, logmel, dev, amp)
        _log(run, bar, quiet_print=not progress and rank == 0)
        bar.update(1)
        if out is not None and rank == 0 and checkpoint_every and run.step % checkpoint_every == 0:
            run.save(out / f"{cfg.name}.pt")
    bar.close()
    seconds = time.perf_counter() - run.start
    return _finish(run, dev, out, rank, world_size, own_group, evaluate, data_root,
                   _record(run, dev, threads, world_size, workers, compile, first, seconds,
                           data_root))


def _finish(run: _Run, dev, out, rank, world_size, own_group, evaluate, data_root,
            provenance) -> dict:
    """After the last step: rank 0's batch-norm statistics everywhere, a finite loss, the
    evaluation if asked for, the checkpoint and its record."""
    if world_size > 1:  # DDP syncs buffers at each forward; make the final BN statistics rank 0's
        for buf in run.net.buffers():
            dist.broadcast(buf, 0)
    curve = run.curve
    if not math.isfinite(curve[-1]["loss"] if curve else 0.0):
        raise FloatingPointError(f"{run.cfg.name}: the training loss is not finite: {curve[-1]}")
    encoder = run.encoder.eval()
    if evaluate and run.step == run.cfg.steps and rank == 0:
        res = evaluation.evaluate(encoder.cpu(), bootstrap=0)
        provenance["metrics"].update({k: res[k] for k in ("eer", "min_dcf_0.01", "min_dcf_0.05")})
    path = None
    if out is not None and rank == 0:
        path = out / f"{run.cfg.name}.pt"
        run.save(path)
        provenance["checkpoint_sha256"] = data.sha256(path)
        save_json(out / f"{run.cfg.name}.json", provenance)
    if world_size > 1:
        dist.barrier()
        if own_group:
            dist.destroy_process_group()
    return {"model": encoder.cpu(), "checkpoint": path, "provenance": provenance}
