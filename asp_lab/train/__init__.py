"""Training small x-vector models on the shipped data: statistics pooling against ASP.

    config.py        TrainConfig: everything that defines a run (chapter 5)
    batches.py       random crops of the 251 training speakers, some with a seen noise
    runtime.py       device, threads, seeds, mixed precision (chapter 7), the run's record
    loop.py          train(): the encoder and its AAM head, AdamW, one process or DDP
    distributed.py   launch_local(): DDP on one machine without torchrun (chapter 7)
    shipping.py      train_all(): `make models`, the shipped checkpoints and results.json
    cli.py           the options of `asp-lab train` and `python -m asp_lab.train`

Run it as

    asp-lab train --pooling asp-scalar --seed 0 --out runs/       # one model
    torchrun --nproc-per-node 2 -m asp_lab.train --pooling stats  # DDP (gloo / nccl)
    python -m asp_lab.train --all --out asp_lab/checkpoints       # `make models`

Each run writes ``<out>/<name>.pt`` (model, head, optimiser, step: resumable with
``--resume``) and ``<out>/<name>.json``, its provenance (git commit, command line, data
checksum, seed, wall time, device, torch version, steps, metrics, training curve).
"""

from ..features import model_input as features  # the name chapter 5 used first
from ..models import build_model
from .batches import StepBatches, draw_batch, load_training_data
from .cli import add_arguments, main, run_from_args
from .config import GENERATED_NOISES, SEEN_NOISES, UNSEEN_NOISES, TrainConfig
from .distributed import free_port, launch_local
from .loop import Trainable, learning_rate, margin_at, train
from .runtime import (
                      AmpPolicy,
                      amp_policy,
                      data_checksum,
                      device_description,
                      resolve_device,
                      seed_everything,
                      set_threads,
)
from .shipping import SHIPPED, evaluate_shipped, export_checkpoint, step_times, summarise, train_all

__all__ = [
    "SEEN_NOISES", "UNSEEN_NOISES", "GENERATED_NOISES", "SHIPPED", "TrainConfig", "AmpPolicy",
    "StepBatches",
    "Trainable", "features", "build_model", "amp_policy", "resolve_device", "set_threads",
    "seed_everything", "data_checksum", "device_description", "learning_rate", "margin_at",
    "load_training_data", "draw_batch", "train", "free_port", "launch_local",
    "export_checkpoint", "step_times", "evaluate_shipped", "summarise", "train_all",
    "add_arguments", "run_from_args", "main",
]
