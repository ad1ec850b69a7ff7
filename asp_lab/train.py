"""Training small x-vector models on the shipped data: statistics pooling against ASP.

One *step* draws a batch of equal-length random crops (2-3 s) of the 251 train-clean-100
utterances (one speaker each, so 251 classes), adds one of the two *seen* training noises
to some of them (``doing_the_dishes`` and ``white_noise``, at 0-20 dB SNR, over the whole
crop or a random segment; ``running_tap`` and ``pink_noise`` stay unseen for testing),
computes log-mel features with per-utterance mean normalisation (:func:`features`), and
takes one Adam step on the AAM-softmax loss (:class:`asp_lab.models.AAMSoftmax`).

Everything a step draws comes from ``numpy.random.default_rng([seed, step, rank])``, so a
run is reproducible, a resumed run continues exactly as an uninterrupted one, and each
DDP rank draws different crops. Run it as

    asp-lab train --pooling asp-scalar --seed 0 --out runs/       # one model
    torchrun --nproc-per-node 2 -m asp_lab.train --pooling stats  # DDP (gloo / nccl)
    python -m asp_lab.train --all --out asp_lab/checkpoints       # `make models`

Each run writes ``<out>/<name>.pt`` (model, head, optimiser, step: resumable with
``--resume``) and ``<out>/<name>.json``, its provenance (git commit, command line, data
checksum, seed, wall time, device, torch version, steps, metrics, training curve).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import math
import os
import platform
import random
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from . import data
from .data import SAMPLE_RATE, mix_noise, random_crop
from .features import LogMel
from .features import model_input as features  # the name chapter 5 used first
from .models import TDNN, AAMSoftmax, build_model, count_parameters
from .provenance import CHECKPOINT_DIR, git_commit

__all__ = [
    "SEEN_NOISES",
    "UNSEEN_NOISES",
    "TrainConfig",
    "features",
    "amp_policy",
    "learning_rate",
    "draw_batch",
    "train",
    "launch_local",
    "export_checkpoint",
    "train_all",
    "main",
]

SEEN_NOISES = ("doing_the_dishes", "white_noise")  #: added in training
UNSEEN_NOISES = ("running_tap", "pink_noise")  #: kept for testing only


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in its checkpoint and provenance).

    The model is deliberately small (about 0.1 M parameters) so that one model trains in a
    few minutes on two CPU cores; ``channels`` etc. are :func:`asp_lab.models.build_model`'s.
    """

    pooling: str = "asp-scalar"
    seed: int = 0
    noise_aug: bool = True
    steps: int = 1200
    batch_size: int = 32  #: over all DDP ranks together
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup: float = 0.05  #: fraction of the steps with a linear learning-rate warm-up
    channels: int = 64
    pool_channels: int = 128
    embed_dim: int = 128
    attention_channels: int = 32
    margin: float = 0.2  #: AAM margin: 0 until ``margin_ramp[0]`` of the steps, then
    margin_ramp: tuple[float, float] = (0.2, 0.5)  #: rising linearly to full by ``[1]``
    scale: float = 30.0
    crop_seconds: tuple[float, float] = (2.0, 3.0)
    noise_prob: float = 0.6
    snr_db: tuple[float, float] = (0.0, 20.0)
    whole_crop_prob: float = 0.5  #: of the noisy crops, how many get noise throughout
    noises: tuple[str, ...] = SEEN_NOISES
    n_speakers: int | None = None  #: use only the first N training speakers (tests)
    log_every: int = 10
    grad_clip: float = 5.0

    def __post_init__(self) -> None:
        self.crop_seconds = tuple(self.crop_seconds)
        self.snr_db = tuple(self.snr_db)
        self.margin_ramp = tuple(self.margin_ramp)
        self.noises = tuple(self.noises)
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch_size must be positive, got {self.steps}, "
                             f"{self.batch_size}")

    @property
    def name(self) -> str:
        """``<pooling>[-clean]-seed<seed>``, e.g. ``asp-scalar-seed0``."""
        return f"{self.pooling}{'' if self.noise_aug else '-clean'}-seed{self.seed}"

    def model_kwargs(self) -> dict:
        return dict(pooling=self.pooling, channels=self.channels,
                    pool_channels=self.pool_channels, embed_dim=self.embed_dim,
                    attention_channels=self.attention_channels)


# ------------------------------------------------------------------------------ features


# ---------------------------------------------------------------------- data in memory


@cache
def _audio(path: Path) -> np.ndarray:
    audio = data.load_audio(path)
    audio.setflags(write=False)
    return audio


@cache
def _noise(name: str, root: str | None) -> np.ndarray:
    noise = data.load_noise(name, root)
    noise.setflags(write=False)
    return noise


def load_training_data(cfg: TrainConfig, root: str | None = None):
    """(audio, speakers, noises): the training utterances as float32 arrays, loaded once
    per process (about 200 MB for all 251), their speakers, and the training noises."""
    utts = data.utterances("train-clean-100", root)[: cfg.n_speakers]
    audio = tuple(_audio(u.path) for u in utts)
    speakers = tuple(u.speaker for u in utts)
    noises = tuple(_noise(n, root) for n in cfg.noises) if cfg.noise_aug else ()
    return audio, speakers, noises


def draw_batch(
    audio: Sequence[np.ndarray],
    noises: Sequence[np.ndarray],
    cfg: TrainConfig,
    step: int,
    rank: int = 0,
    world_size: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One rank's batch for ``step``: ``(B, samples)`` float32 crops and ``(B,)`` labels.

    ``B = batch_size // world_size`` speakers are drawn without replacement (with, if there
    are fewer speakers), one duration for the whole batch, then a crop of each speaker's
    utterance (an utterance shorter than the duration is tiled). With ``noise_aug`` each
    crop gets, with probability ``noise_prob``, a seen noise at a uniform SNR in ``snr_db``
    over the whole crop or over a random 20-80 % segment.
    """
    rng = np.random.default_rng([cfg.seed, step, rank])
    B = max(1, cfg.batch_size // world_size)
    labels = rng.choice(len(audio), size=B, replace=B > len(audio))
    seconds = float(rng.uniform(*cfg.crop_seconds))
    n = round(seconds * SAMPLE_RATE)
    batch = np.empty((B, n), dtype=np.float32)
    for i, label in enumerate(labels):
        crop = random_crop(audio[label], (seconds, seconds), rng)
        if crop.size < n:
            crop = np.resize(crop, n)  # tile the (one) utterance shorter than the crop
        if noises and rng.random() < cfg.noise_prob:
            noise = noises[int(rng.integers(len(noises)))]
            snr = float(rng.uniform(*cfg.snr_db))
            if rng.random() < cfg.whole_crop_prob:
                start, length = 0, n
            else:
                length = max(1, int(rng.uniform(0.2, 0.8) * n))
                start = int(rng.integers(0, n - length + 1))
            with contextlib.suppress(ValueError):  # a silent segment has no SNR: keep clean
                crop, _ = mix_noise(crop, noise, snr, start, length, rng=rng)
        batch[i] = crop
    return torch.from_numpy(batch), torch.from_numpy(labels.astype(np.int64))


class StepBatches(torch.utils.data.Dataset):
    """Item ``i`` is the batch of step ``first + i`` (:func:`draw_batch`), so that a
    ``DataLoader`` with worker processes draws the very batches the main process would,
    in order, while the model trains on the previous ones."""

    def __init__(self, audio, noises, cfg: TrainConfig, first: int, last: int,
                 rank: int = 0, world_size: int = 1) -> None:
        self.audio, self.noises, self.cfg = audio, noises, cfg
        self.first, self.last, self.rank, self.world_size = first, last, rank, world_size

    def __len__(self) -> int:
        return max(0, self.last - self.first)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= i < len(self):
            raise IndexError(f"step {self.first + i} is outside {self.first}..{self.last - 1}")
        return draw_batch(self.audio, self.noises, self.cfg, self.first + i, self.rank,
                          self.world_size)


# ------------------------------------------------------------------- optimisation parts


class Trainable(nn.Module):
    """The encoder and its AAM head as one module, so DDP keeps both in sync."""

    def __init__(self, encoder: TDNN, head: AAMSoftmax) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, feats: torch.Tensor, labels: torch.Tensor):
        emb = self.encoder(feats).float()
        loss = nn.functional.cross_entropy(self.head.logits(emb, labels), labels)
        with torch.no_grad():  # accuracy of the nearest class by cosine, without the margin
            correct = (self.head.cosine(emb).argmax(dim=1) == labels).sum()
        return loss, correct


def learning_rate(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up over ``warmup * steps``, then a cosine decay to 5 % of ``lr``."""
    warm = max(1, round(cfg.warmup * cfg.steps))
    if step < warm:
        return cfg.lr * (step + 1) / warm
    progress = (step - warm) / max(1, cfg.steps - warm)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


def margin_at(step: int, cfg: TrainConfig) -> float:
    """The AAM margin: 0 for the first ``margin_ramp[0]`` of the steps (the classes form
    as with a plain cosine softmax), then rising linearly to ``margin`` at ``margin_ramp[1]``."""
    begin, end = (f * cfg.steps for f in cfg.margin_ramp)
    if step >= end or end <= begin:
        return cfg.margin if step >= begin else 0.0
    return cfg.margin * max(0.0, (step - begin) / (end - begin))


@dataclass(frozen=True)
class AmpPolicy:
    """How a step runs under automatic mixed precision."""

    enabled: bool
    dtype: torch.dtype = torch.float32
    grad_scaler: bool = False  #: float16 needs loss scaling; bfloat16 does not


def amp_policy(device_type: str, bf16_supported: bool | None = None) -> AmpPolicy:
    """No AMP on the CPU; on CUDA bfloat16 where the GPU supports it, else float16 with a
    GradScaler. ``bf16_supported`` overrides the query (for tests)."""
    if device_type != "cuda":
        return AmpPolicy(False)
    if bf16_supported is None:
        # native support only (Ampere on): emulated bfloat16 on older GPUs is slow
        bf16_supported = torch.cuda.is_bf16_supported(including_emulation=False)
    if bf16_supported:
        return AmpPolicy(True, torch.bfloat16, False)
    return AmpPolicy(True, torch.float16, True)


def resolve_device(device: str, local_rank: int = 0) -> torch.device:
    """``auto`` is CUDA when available, else the CPU; ``cuda`` fails clearly without one."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if device != "cpu":
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    return torch.device("cpu")


def set_threads(local_world_size: int = 1, threads: int | None = None) -> int:
    """Share the machine's cores between the local processes: ``cores // processes``
    threads each (at least 1), or ``threads`` if given (never more than that share: on a
    busy machine 1 thread can be much faster than 2 that wait for each other). Returns
    the thread count."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    share = max(1, (cores or 1) // max(1, local_world_size))
    threads = share if threads is None else max(1, min(threads, share))
    torch.set_num_threads(threads)
    return threads


def seed_everything(seed: int, device: torch.device) -> None:
    """Seed python, numpy and torch, and ask torch for deterministic kernels (on CUDA only
    warn where none exists, and set the cuBLAS workspace that determinism needs)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")


# ---------------------------------------------------------------------------- provenance


def data_checksum(root: str | None = None) -> str:
    """SHA-256 of the data's ``SHA256SUMS`` file: one hash that pins every data file."""
    path = data._root(root) / "SHA256SUMS"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "unknown"


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"cpu: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def _command_line() -> str:
    """How this process was started, e.g. ``python -m asp_lab.train --all``."""
    prog = Path(sys.argv[0])
    as_module = prog.name == "train.py" and prog.parent.name == "asp_lab"
    return " ".join(["python -m asp_lab.train" if as_module else prog.name, *sys.argv[1:]])


def _save_json(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    tmp.replace(path)


# ------------------------------------------------------------------------------- training


def _dist_env() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment, or (0, 1, 0)."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))


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
    """Train one model; return ``{"model", "checkpoint", "provenance"}``.

    Args:
        out: folder for ``<name>.pt`` and ``<name>.json`` (rank 0 writes); None saves nothing.
        resume: a checkpoint of this function to continue from (same config).
        stop_after: stop after this step (a resumable checkpoint is written), as if the run
            were interrupted; the schedule still runs to ``cfg.steps``.
        checkpoint_every: also save every this many steps (0: only at the end).
        evaluate: evaluate on clean test-other at the end (EER, minDCF in the provenance).
        progress: show a tqdm bar (default: on a terminal, on rank 0, unless ``CI=true``).
        init_method, rank, world_size: for DDP without torchrun (see :func:`launch_local`);
            by default read from torchrun's environment (``RANK``, ``WORLD_SIZE``).
        threads: CPU threads per process (default and maximum: cores // local processes).
        workers: ``DataLoader`` worker processes that draw the next batches while the model
            trains (0: draw each batch in the training loop). The batches are the same.
        compile: run the model (encoder and head) through ``torch.compile``.
    """
    if workers < 0:
        raise ValueError(f"workers must be 0 or more, got {workers}")
    env_rank, env_world, local_rank = _dist_env()
    rank = env_rank if rank is None else rank
    world_size = env_world if world_size is None else world_size
    if init_method is not None or world_size == 1:
        local_rank = rank  # launch_local: all ranks on this machine
    dev = resolve_device(device, local_rank)
    distributed = world_size > 1
    own_group = distributed and not dist.is_initialized()
    if own_group:
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo",
                                init_method=init_method or "env://",
                                rank=rank, world_size=world_size)
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world_size))
    threads = set_threads(local_world if dev.type == "cpu" else 1, threads)
    seed_everything(cfg.seed, dev)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)

    audio, _, noises = load_training_data(cfg, data_root)
    torch.manual_seed(cfg.seed)  # every rank starts from the same weights
    encoder = build_model(**cfg.model_kwargs())
    head = AAMSoftmax(cfg.embed_dim, len(audio), margin=0.0, scale=cfg.scale)
    net = Trainable(encoder, head).to(dev)
    logmel = LogMel().to(dev)
    optim = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    amp = amp_policy(dev.type)
    scaler = torch.amp.GradScaler(dev.type, enabled=amp.grad_scaler)

    step, curve, elapsed = 0, [], 0.0
    running = [0.0, 0, 0, 0]  # loss sum, correct, examples, steps since the last log entry
    if resume is not None:
        ckpt = torch.load(resume, map_location="cpu", weights_only=False)
        saved = TrainConfig(**ckpt["train_config"])
        if dataclasses.asdict(saved) != dataclasses.asdict(cfg):
            diff = {k: (v, getattr(cfg, k)) for k, v in dataclasses.asdict(saved).items()
                    if v != getattr(cfg, k)}
            raise ValueError(f"{resume} was trained with another config; differences "
                             f"(checkpoint, now): {diff}")
        encoder.load_state_dict(ckpt["state_dict"])
        head.load_state_dict(ckpt["head"])
        optim.load_state_dict(ckpt["optimizer"])
        scaler.load_state_dict(ckpt["scaler"])
        step, curve, elapsed = ckpt["step"], ckpt["curve"], ckpt["wall_seconds"]
        running = ckpt["running"]

    model = nn.parallel.DistributedDataParallel(net) if distributed else net
    if compile:
        model = torch.compile(model)
    last = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
    first = step
    batches = torch.utils.data.DataLoader(
        StepBatches(audio, noises, cfg, step, last, rank, world_size), batch_size=None,
        num_workers=workers, pin_memory=dev.type == "cuda", prefetch_factor=4 if workers else None)
    out = Path(out) if out is not None else None
    if out is not None and rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    if progress is None:
        progress = sys.stderr.isatty() and os.environ.get("CI") != "true"
    from tqdm.auto import tqdm

    bar = tqdm(total=cfg.steps, initial=step, desc=cfg.name, mininterval=2.0,
               disable=not progress or rank != 0, dynamic_ncols=True)
    start = time.perf_counter()
    run_loss, run_correct, run_seen, run_steps = running
    net.train()

    def save(path: Path) -> None:
        torch.save({
            "config": encoder.config, "state_dict": encoder.state_dict(),
            "head": head.state_dict(), "optimizer": optim.state_dict(),
            "scaler": scaler.state_dict(), "step": step, "curve": curve,
            "running": [run_loss, run_correct, run_seen, run_steps],
            "train_config": dataclasses.asdict(cfg),
            "wall_seconds": elapsed + time.perf_counter() - start,
        }, path)

    for wave, labels in batches:  # the batches of steps first..last-1, in order
        wave, labels = wave.to(dev, non_blocking=True), labels.to(dev, non_blocking=True)
        for group in optim.param_groups:
            group["lr"] = learning_rate(step, cfg)
        head.margin = margin_at(step, cfg)
        with torch.no_grad():
            feats = features(wave, logmel)
        with torch.autocast(dev.type, dtype=amp.dtype, enabled=amp.enabled):
            loss, correct = model(feats, labels)
        optim.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optim)
        nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
        scaler.step(optim)
        scaler.update()
        step += 1
        run_loss += float(loss.detach())
        run_correct += int(correct)
        run_seen += labels.numel()
        run_steps += 1
        if step % cfg.log_every == 0 or step == cfg.steps:
            curve.append({"step": step, "loss": run_loss / run_steps,
                          "accuracy": run_correct / run_seen, "lr": learning_rate(step - 1, cfg),
                          "margin": head.margin})
            bar.set_postfix(loss=f"{run_loss / run_steps:.3f}")
            if not progress and rank == 0 and step % max(cfg.log_every, cfg.steps // 10) == 0:
                print(f"{cfg.name}: step {step}/{cfg.steps}, loss {run_loss / run_steps:.3f}, "
                      f"accuracy {run_correct / run_seen:.3f}, "
                      f"{elapsed + time.perf_counter() - start:.0f} s", flush=True)
            run_loss, run_correct, run_seen, run_steps = 0.0, 0, 0, 0
        bar.update(1)
        if out is not None and rank == 0 and checkpoint_every and step % checkpoint_every == 0:
            save(out / f"{cfg.name}.pt")
    bar.close()
    run_seconds = time.perf_counter() - start
    if distributed:  # DDP syncs buffers at each forward; make the final BN statistics rank 0's
        for buf in net.buffers():
            dist.broadcast(buf, 0)
    wall = elapsed + time.perf_counter() - start
    if not math.isfinite(curve[-1]["loss"] if curve else 0.0):
        raise FloatingPointError(f"{cfg.name}: the training loss is not finite: {curve[-1]}")

    encoder.eval()
    provenance = {
        "name": cfg.name,
        "git_commit": git_commit(),
        "command": _command_line(),
        "data_sha256sums_sha256": data_checksum(data_root),
        "seed": cfg.seed,
        "wall_seconds": round(wall, 2),
        "device": device_description(dev),
        "threads": threads,
        "world_size": world_size,
        "amp": str(amp.dtype).removeprefix("torch.") if amp.enabled else "off",
        "workers": workers,
        "compile": compile,
        "steps_per_second": round((step - first) / run_seconds, 3) if step > first else None,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "steps": step,
        "parameters": count_parameters(encoder),
        "train_config": dataclasses.asdict(cfg),
        "metrics": {"final_train_loss": curve[-1]["loss"] if curve else None,
                    "final_train_accuracy": curve[-1]["accuracy"] if curve else None},
        "curve": curve,
    }
    if evaluate and step == cfg.steps and rank == 0:
        from .analysis import evaluate as run_eval

        res = run_eval(encoder.cpu(), bootstrap=0)
        provenance["metrics"].update(
            {k: res[k] for k in ("eer", "min_dcf_0.01", "min_dcf_0.05")})
    path = None
    if out is not None and rank == 0:
        path = out / f"{cfg.name}.pt"
        save(path)
        provenance["checkpoint_sha256"] = data.sha256(path)
        _save_json(out / f"{cfg.name}.json", provenance)
    if distributed:
        dist.barrier()
        if own_group:
            dist.destroy_process_group()
    return {"model": encoder.cpu(), "checkpoint": path, "provenance": provenance}


# ---------------------------------------------------------------- DDP without torchrun


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _local_worker(rank: int, world_size: int, port: int, cfg: TrainConfig, out: str,
                  kwargs: dict) -> None:
    result = train(cfg, out=out if rank == 0 else None, rank=rank, world_size=world_size,
                   init_method=f"tcp://127.0.0.1:{port}", **kwargs)
    torch.save(result["model"].state_dict(), Path(out) / f"rank{rank}.weights.pt")


def launch_local(cfg: TrainConfig, nprocs: int, out: str | os.PathLike, **kwargs) -> list[dict]:
    """Train with ``nprocs`` DDP processes on this machine (gloo on the CPU), started with
    ``torch.multiprocessing.spawn`` on a free port of 127.0.0.1. Each rank also saves its
    final weights to ``<out>/rank<r>.weights.pt``; returns those state dicts."""
    import torch.multiprocessing as mp

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["LOCAL_WORLD_SIZE"] = str(nprocs)
    try:
        mp.spawn(_local_worker, args=(nprocs, free_port(), cfg, str(out), kwargs),
                 nprocs=nprocs, join=True)
    finally:
        os.environ.pop("LOCAL_WORLD_SIZE", None)
    return [torch.load(out / f"rank{r}.weights.pt", weights_only=True) for r in range(nprocs)]


# ------------------------------------------------------------------ shipping checkpoints


def export_checkpoint(src: str | os.PathLike, dest: str | os.PathLike) -> int:
    """Copy a training checkpoint without its head and optimiser state (what
    :func:`asp_lab.load_model` needs: ``config``, ``state_dict``, ``train_config``, ``step``).
    Returns the size in bytes."""
    ckpt = torch.load(src, map_location="cpu", weights_only=False)
    slim = {k: ckpt[k] for k in ("config", "state_dict", "train_config", "step")}
    torch.save(slim, dest)
    return Path(dest).stat().st_size


def step_times(cfg: TrainConfig, poolings: Sequence[str] = ("stats", "asp-scalar",
               "asp-channel"), steps: int = 30, warmup: int = 5, data_root=None) -> dict:
    """Median seconds per training step (forward, backward, optimiser; and the same with
    the batch drawing and features included) for each pooling, on identical batches,
    interleaved round by round so a busy machine slows all of them alike."""
    audio, _, noises = load_training_data(cfg, data_root)
    logmel = LogMel()
    torch.manual_seed(0)
    nets = {}
    for p in poolings:
        c = dataclasses.replace(cfg, pooling=p)
        net = Trainable(build_model(**c.model_kwargs()), AAMSoftmax(cfg.embed_dim, len(audio)))
        nets[p] = (net.train(), torch.optim.AdamW(net.parameters(), lr=1e-4))
    compute = {p: [] for p in poolings}
    full = {p: [] for p in poolings}
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


#: The shipped models: three poolings x three seeds with noise augmentation, and
#: ASP-scalar without it (seed 0).
SHIPPED = tuple(
    [TrainConfig(pooling=p, seed=0) for p in ("stats", "asp-scalar", "asp-channel")]
    + [TrainConfig(pooling="asp-scalar", seed=0, noise_aug=False)]
    + [TrainConfig(pooling=p, seed=s) for s in (1, 2)
       for p in ("stats", "asp-scalar", "asp-channel")]
)


def train_all(out: str | os.PathLike = CHECKPOINT_DIR, work: str | os.PathLike | None = None,
              steps: int | None = None, keep_existing: bool = False, device: str = "cpu",
              progress: bool | None = None, threads: int | None = None) -> dict:
    """``make models``: train every :data:`SHIPPED` model, evaluate it (clean and under
    each noise at 0, 5, 10 dB), export slim checkpoints and write ``<out>/results.json``.

    The full (resumable) checkpoints go to ``work`` (a temporary folder by default).
    ``keep_existing`` skips models whose exported checkpoint and provenance already exist.
    """
    from .analysis import SUBSET_FOR_TESTS, evaluate

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
    for cfg in configs:
        ship = out / f"{cfg.name}.pt"
        prov_path = out / f"{cfg.name}.json"
        if keep_existing and ship.is_file() and prov_path.is_file() and \
                cfg.name in old.get("models", {}):
            print(f"{cfg.name}: kept", flush=True)
            results["models"][cfg.name] = old["models"][cfg.name]
            continue
        print(f"{cfg.name}: training {cfg.steps} steps ...", flush=True)
        res = train(cfg, out=work, device=device, progress=progress, threads=threads)
        model = res["model"].eval()
        prov = res["provenance"]
        t0 = time.perf_counter()
        entry = {"train_config": prov["train_config"], "wall_seconds": prov["wall_seconds"],
                 "parameters": prov["parameters"], "curve": prov["curve"]}
        clean = evaluate(model)
        entry["clean"] = {k: v for k, v in clean.items() if k not in ("scores",)}
        entry["noisy"] = {}
        for noise in (*SEEN_NOISES, *UNSEEN_NOISES):
            for snr in (0, 5, 10):
                r = evaluate(model, noise=noise, snr_db=snr, bootstrap=0)
                entry["noisy"][f"{noise}@{snr}dB"] = {
                    "noise": noise, "snr_db": snr, "seen": noise in SEEN_NOISES,
                    "eer": r["eer"], "min_dcf_0.01": r["min_dcf_0.01"],
                    "min_dcf_0.05": r["min_dcf_0.05"]}
        subset = evaluate(model, per_speaker=SUBSET_FOR_TESTS, bootstrap=0)
        entry["test_subset"] = {"per_speaker": SUBSET_FOR_TESTS, "utterances": subset["utterances"],
                               "eer": subset["eer"],
                                "min_dcf_0.01": subset["min_dcf_0.01"]}
        entry["eval_seconds"] = round(time.perf_counter() - t0, 2)
        size = export_checkpoint(res["checkpoint"], ship)
        entry["checkpoint_bytes"] = size
        prov["metrics"].update({"eer": clean["eer"], "min_dcf_0.01": clean["min_dcf_0.01"],
                                "min_dcf_0.05": clean["min_dcf_0.05"]})
        prov["checkpoint_sha256"] = data.sha256(ship)
        prov["exported_from"] = "full training checkpoint, head and optimiser state removed"
        _save_json(prov_path, prov)
        results["models"][cfg.name] = entry
        print(f"{cfg.name}: EER {clean['eer']:.4f} [{clean['eer_ci'][0]:.4f}, "
              f"{clean['eer_ci'][1]:.4f}], {prov['wall_seconds']:.0f} s training, "
              f"{entry['eval_seconds']:.0f} s eval, {size / 1e6:.2f} MB", flush=True)
        results["summary"] = summarise(results["models"])
        _save_json(results_path, results)
    results["summary"] = summarise(results["models"])
    results["make_models_seconds"] = round(time.perf_counter() - total_start, 1)
    results["torch"] = torch.__version__
    results["git_commit"] = git_commit()
    results["data_sha256sums_sha256"] = data_checksum()
    _save_json(results_path, results)
    if default_work:  # the full checkpoints were only a means to the exported ones
        shutil.rmtree(work, ignore_errors=True)
    return results


def summarise(models: dict) -> dict:
    """Mean and spread over seeds of each group's clean EER and minDCF, and noisy EER."""
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
        noisy = {}
        for cond in entries[0]["noisy"]:
            vals = [e["noisy"][cond]["eer"] for e in entries]
            noisy[cond] = float(np.mean(vals))
        row["noisy_eer_mean"] = noisy
        row["train_seconds_mean"] = float(np.mean([e["wall_seconds"] for e in entries]))
        summary[group] = row
    return summary


# ------------------------------------------------------------------------- command line


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``train`` options (shared by ``asp-lab train`` and ``python -m asp_lab.train``)."""
    d = TrainConfig()
    p.add_argument("--pooling", choices=("stats", "asp-scalar", "asp-channel"),
                   default=d.pooling)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--noise-aug", action=argparse.BooleanOptionalAction, default=d.noise_aug,
                   help=f"add the seen noises {', '.join(SEEN_NOISES)} (default: on)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--out", default="runs", help="folder for <name>.pt and <name>.json")
    p.add_argument("--resume", default=None, metavar="CKPT",
                   help="continue from a checkpoint of the same config")
    p.add_argument("--stop-after", type=int, default=None,
                   help="stop after this step (resumable), as if interrupted")
    p.add_argument("--checkpoint-every", type=int, default=0)
    p.add_argument("--eval", action=argparse.BooleanOptionalAction, default=True,
                   help="evaluate on clean test-other at the end (default: on)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads per process (default and maximum: cores // processes)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--workers", type=int, default=0,
                   help="DataLoader processes that draw batches ahead (default: 0, none)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--all", action="store_true",
                   help="train, evaluate and export every shipped model (make models)")
    p.add_argument("--keep-existing", action="store_true",
                   help="with --all: skip models already exported to --out")


def run_from_args(args: argparse.Namespace) -> int:
    if args.all:
        train_all(out=args.out, steps=None if args.steps == TrainConfig().steps else args.steps,
                  keep_existing=args.keep_existing,
                  device="cpu" if args.device == "auto" else args.device,
                  threads=args.threads)
        return 0
    cfg = TrainConfig(pooling=args.pooling, seed=args.seed, noise_aug=args.noise_aug,
                      steps=args.steps, batch_size=args.batch_size, lr=args.lr)
    res = train(cfg, out=args.out, resume=args.resume, device=args.device,
                stop_after=args.stop_after, checkpoint_every=args.checkpoint_every,
                evaluate=args.eval, data_root=args.data_root, threads=args.threads,
                workers=args.workers, compile=args.compile)
    if res["checkpoint"] is not None:
        m = res["provenance"]["metrics"]
        extra = f", EER {m['eer']:.4f}" if "eer" in m else ""
        loss = m["final_train_loss"]
        extra = (f", final loss {loss:.3f}" if loss is not None else "") + extra
        rate = res["provenance"]["steps_per_second"]
        extra = (f", {rate:.2f} steps/s" if rate else "") + extra
        print(f"{res['checkpoint']}: {res['provenance']['steps']} steps in "
              f"{res['provenance']['wall_seconds']:.1f} s{extra}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m asp_lab.train",
                                     description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
