"""DDP on one machine without torchrun: :func:`launch_local` starts the ranks itself.

Chapter 7 uses it to show that two processes train the same model as one.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch
import torch.multiprocessing as mp

from .config import TrainConfig
from .loop import train


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (for the ranks to meet). Chapter 7."""
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
    final weights to ``<out>/rank<r>.weights.pt``; returns those state dicts. Chapter 7."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["LOCAL_WORLD_SIZE"] = str(nprocs)
    try:
        mp.spawn(_local_worker, args=(nprocs, free_port(), cfg, str(out), kwargs),
                 nprocs=nprocs, join=True)
    finally:
        os.environ.pop("LOCAL_WORLD_SIZE", None)
    return [torch.load(out / f"rank{r}.weights.pt", weights_only=True) for r in range(nprocs)]
