"""``asp-lab bench`` and ``python -m asp_lab.bench``: the options, and a run from them
(chapter 7)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .layers import ATTENTION_CHANNELS, DEFAULT_SIZES, DTYPES, LAYERS
from .report import plot, table
from .runner import run

DESCRIPTION = ("Forward+backward time and peak memory of pooling layers at ECAPA-like "
               "sizes.")


def _size(text: str) -> tuple[int, int, int]:
    try:
        B, C, T = (int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a size is B,C,T (three integers), got {text!r}") from None
    return B, C, T


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``asp-lab bench``. Chapter 7 (section 6 names them)."""
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default: cpu)")
    p.add_argument("--dtype", default="float32", choices=list(DTYPES),
                   help="dtype of the input and of every layer's parameters")
    p.add_argument("--sizes", nargs="+", type=_size, default=list(DEFAULT_SIZES),
                   metavar="B,C,T", help="sizes to run (default: 32,512,200 32,512,300 "
                   "32,1536,200 32,1536,300)")
    p.add_argument("--repeats", type=int, default=10, help="timed steps per layer and size")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--layers", nargs="+", default=None, choices=list(LAYERS),
                   help="only these layers (default: all)")
    p.add_argument("--attention-channels", type=int, default=ATTENTION_CHANNELS)
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory pass")
    p.add_argument("--no-autocast", action="store_true",
                   help="skip the bfloat16/float16 autocast errors (float32 runs)")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument("--plot", default=None, help="save the bar chart here (e.g. bench.png)")


def run_from_args(args: argparse.Namespace) -> int:
    """``asp-lab bench``: run, print the table, write the JSON and the plot if asked.
    Chapter 7 (how its recorded runs were made)."""
    result = run(args.sizes, device=args.device, dtype=args.dtype, repeats=args.repeats,
                 warmup=args.warmup, layers=args.layers,
                 attention_channels=args.attention_channels, memory=not args.no_memory,
                 progress=lambda message: print(message, file=sys.stderr, flush=True),
                 autocast=not args.no_autocast)
    print(table(result))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
        print(f"-> {args.out}")
    if args.plot:
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        plot(result, args.plot)
        print(f"-> {args.plot}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m asp_lab.bench [options]``, the same as ``asp-lab bench``. Chapter 7."""
    parser = argparse.ArgumentParser(prog="python -m asp_lab.bench",
                                     description=DESCRIPTION)
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))
