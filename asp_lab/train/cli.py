"""The ``train`` options, shared by ``asp-lab train`` and ``python -m asp_lab.train``."""

from __future__ import annotations

import argparse

from .config import SEEN_NOISES, TrainConfig
from .loop import train
from .shipping import train_all


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``train`` options (shared by ``asp-lab train`` and ``python -m asp_lab.train``).
    Chapter 5."""
    d = TrainConfig()
    p.add_argument("--pooling", choices=("stats", "asp-scalar", "asp-channel"),
                   default=d.pooling)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--noise-aug", action=argparse.BooleanOptionalAction, default=d.noise_aug,
                   help=f"corrupt crops with the seen noises {', '.join(SEEN_NOISES)}, "
                   "generated families and pauses (default: on)")
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
    p.add_argument("--jobs", type=int, default=1,
                   help="with --all: train this many models at once, one thread each")
    p.add_argument("--keep-existing", action="store_true",
                   help="with --all: skip models already exported to --out")


def run_from_args(args: argparse.Namespace) -> int:
    if args.all:
        train_all(out=args.out, steps=None if args.steps == TrainConfig().steps else args.steps,
                  keep_existing=args.keep_existing,
                  device="cpu" if args.device == "auto" else args.device,
                  threads=args.threads, jobs=args.jobs)
        return 0
    cfg = TrainConfig(pooling=args.pooling, seed=args.seed, noise_aug=args.noise_aug,
                      steps=args.steps, batch_size=args.batch_size, lr=args.lr)
    res = train(cfg, out=args.out, resume=args.resume, device=args.device,
                stop_after=args.stop_after, checkpoint_every=args.checkpoint_every,
                evaluate=args.eval, data_root=args.data_root, threads=args.threads,
                workers=args.workers, compile=args.compile)
    if res["checkpoint"] is not None:
        m, prov = res["provenance"]["metrics"], res["provenance"]
        extra = f", EER {m['eer']:.4f}" if "eer" in m else ""
        loss = m["final_train_loss"]
        extra = (f", final loss {loss:.3f}" if loss is not None else "") + extra
        rate = prov["steps_per_second"]
        extra = (f", {rate:.2f} steps/s" if rate else "") + extra
        print(f"{res['checkpoint']}: {prov['steps']} steps in {prov['wall_seconds']:.1f} s{extra}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m asp_lab.train",
        description="Training small x-vector models on the shipped data: statistics "
                    "pooling against ASP.")
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))
