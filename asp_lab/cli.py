"""The ``asp-lab`` command line.

    asp-lab data [--root DIR]     verify the data against SHA256SUMS and summarise it
"""

from __future__ import annotations

import argparse
import sys

from . import data


def _cmd_data(args: argparse.Namespace) -> int:
    checked = data.verify(args.root)
    print(f"{checked} files match {data._root(args.root) / 'SHA256SUMS'}")
    for subset in ("train-clean-100", "test-other"):
        utts = data.utterances(subset, args.root)
        print(f"{subset}: {len({u.speaker for u in utts})} speakers, {len(utts)} utterances")
    print(f"noise: {', '.join(data.noise_names(args.root))}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="asp-lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("data", help="verify and summarise the speech and noise data")
    p.add_argument("--root", default=None, help="data folder (default: the shipped data/)")
    p.set_defaults(run=_cmd_data)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (data.ChecksumError, data.AudioError, FileNotFoundError) as err:
        print(f"asp-lab {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
