"""Where and how a run executes: the device, threads, seeds, mixed precision, its record.

Chapter 7 explains the device and AMP choices; chapter 5's runs record what is here.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import data


def resolve_device(device: str, local_rank: int = 0) -> torch.device:
    """``auto`` is CUDA when available, else the CPU; ``cuda`` fails clearly without one.
    Chapter 7."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if device != "cpu":
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    return torch.device("cpu")


@dataclass(frozen=True)
class AmpPolicy:
    """How a step runs under automatic mixed precision. Chapter 7."""

    enabled: bool
    dtype: torch.dtype = torch.float32
    grad_scaler: bool = False  #: float16 needs loss scaling; bfloat16 does not


def amp_policy(device_type: str, bf16_supported: bool | None = None) -> AmpPolicy:
    """No AMP on the CPU; on CUDA bfloat16 where the GPU supports it, else float16 with a
    GradScaler. ``bf16_supported`` overrides the query (for tests). Chapter 7, section 3."""
    if device_type != "cuda":
        return AmpPolicy(False)
    if bf16_supported is None:
        # native support only (Ampere on): emulated bfloat16 on older GPUs is slow
        bf16_supported = torch.cuda.is_bf16_supported(including_emulation=False)
    if bf16_supported:
        return AmpPolicy(True, torch.bfloat16, False)
    return AmpPolicy(True, torch.float16, True)


def set_threads(local_world_size: int = 1, threads: int | None = None) -> int:
    """Share the machine's cores between the local processes: ``cores // processes``
    threads each (at least 1), or ``threads`` if given (never more than that share: on a
    busy machine 1 thread can be much faster than 2 that wait for each other). Returns
    the thread count. Chapter 7."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    share = max(1, (cores or 1) // max(1, local_world_size))
    threads = share if threads is None else max(1, min(threads, share))
    torch.set_num_threads(threads)
    return threads


def seed_everything(seed: int, device: torch.device) -> None:
    """Seed python, numpy and torch, and ask torch for deterministic kernels (on CUDA only
    warn where none exists, and set the cuBLAS workspace that determinism needs). Chapter 5."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")


def dist_env() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment, or (0, 1, 0). Chapter 7."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))


# ---------------------------------------------------------------------------- the record


def data_checksum(root: str | None = None) -> str:
    """SHA-256 of the data's ``SHA256SUMS`` file: one hash that pins every data file.
    Chapter 5."""
    path = data._root(root) / "SHA256SUMS"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "unknown"


def device_description(device: torch.device) -> str:
    """The GPU's name, or the CPU and its threads, for a run's record. Chapter 7."""
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    n = torch.get_num_threads()
    return f"cpu: {platform.processor() or platform.machine()}, {n} thread{'' if n == 1 else 's'}"


def command_line() -> str:
    """How this process was started, e.g. ``python -m asp_lab.train --all``. Chapter 5."""
    prog = Path(sys.argv[0])
    as_module = prog.name == "__main__.py" and prog.parent.name == "train" and \
        prog.parent.parent.name == "asp_lab"
    return " ".join(["python -m asp_lab.train" if as_module else prog.name, *sys.argv[1:]])


def save_json(path: Path, obj) -> None:
    """Write ``obj`` as JSON through a temporary file, so a reader never sees half of it.
    Chapter 5."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    tmp.replace(path)
