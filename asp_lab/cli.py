"""The ``asp-lab`` command line.

    asp-lab data [--root DIR]     verify the data against SHA256SUMS and summarise it
    asp-lab train --pooling asp-scalar --seed 0 --out runs/    train a speaker-embedding model
    asp-lab eval --model asp-scalar [--noise NAME --snr DB [--third replace]]  EER, minDCF
    asp-lab bench [--device cuda] [--out results.json]   time and memory of pooling layers
    asp-lab attend FILE [--model asp-scalar] [--out attention.png]   spectrogram + attention
    asp-lab export-onnx [--out DIR] [--model NAME ...]   the shipped models as ONNX graphs
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import data


def _cmd_data(args: argparse.Namespace) -> int:
    checked = data.verify(args.root)
    print(f"{checked} files match {data._root(args.root) / 'SHA256SUMS'}")
    for subset in ("train-clean-100", "test-other"):
        utts = data.utterances(subset, args.root)
        print(f"{subset}: {len({u.speaker for u in utts})} speakers, {len(utts)} utterances")
    print(f"noise: {', '.join(data.noise_names(args.root))}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from . import train

    return train.run_from_args(args)


def _cmd_eval(args: argparse.Namespace) -> int:
    from .analysis import evaluate, load_model

    if (args.noise is None) != (args.snr is None):
        raise ValueError("give --noise and --snr together")
    model = load_model(args.model)
    if args.third is not None and args.noise is None:
        raise ValueError("--third needs --noise and --snr")
    res = evaluate(model, noise=args.noise, snr_db=args.snr, seed=args.seed,
                   per_speaker=args.per_speaker, bootstrap=args.bootstrap, root=args.root,
                   mode=args.third or "add", fraction=1.0 if args.third is None else 1 / 3)
    res = {"model": str(args.model), **res}
    text = json.dumps(res, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
        ci = res.get("eer_ci")
        interval = f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""
        print(f"{args.model}: EER {res['eer']:.4f}{interval}, minDCF(0.01) "
              f"{res['min_dcf_0.01']:.4f}, minDCF(0.05) {res['min_dcf_0.05']:.4f} "
              f"over {res['trials']} trials -> {args.out}")
    else:
        print(text)
    return 0


def _cmd_attend(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")  # a file, no window
    import matplotlib.pyplot as plt

    from . import features, viz
    from .analysis import (
        frame_attention,
        frame_energy_db,
        load_model,
        min_samples,
        quiet_relative_mass,
    )

    audio = data.load_audio(args.file)  # an AudioError names the file
    if audio.size < min_samples():
        raise data.AudioError(f"{args.file} is {audio.size / data.SAMPLE_RATE:.3f} s long; "
                              f"the model needs at least {min_samples() / data.SAMPLE_RATE} s")
    model = load_model(args.model)
    times, alpha = frame_attention(model, audio)
    n_eff = 1.0 / float((alpha**2).sum())
    quiet = quiet_relative_mass(alpha, frame_energy_db(audio))
    name = Path(args.file).name
    fig, _, _ = viz.spectrogram_attention(
        features.log_mel(audio), {str(args.model): (times, alpha)},
        title=f"{name}: attention weights of {args.model}")
    fig.savefig(args.out, dpi=120)
    plt.close(fig)
    print(f"{name}: {audio.size / data.SAMPLE_RATE:.2f} s, {alpha.size} frames; effective "
          f"frames {n_eff:.0f} ({n_eff / alpha.size:.0%}); most weight at t = "
          f"{times[alpha.argmax()]:.2f} s ({alpha.max() * alpha.size:.1f}x uniform); the "
          f"quietest 20% of frames get {quiet:.2f}x their uniform share -> {args.out}")
    return 0


def _cmd_export_onnx(args: argparse.Namespace) -> int:
    from . import export

    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as err:
        raise ValueError(f"the ONNX export needs onnx and onnxscript ({err}): "
                         f"pip install -r requirements.txt") from err
    for record in export.export_all(args.out, args.model or export.MODEL_NAMES):
        print(f"{record['name']}: {record['bytes'] / 1e6:.2f} MB in "
              f"{record['export_seconds']:.1f} s -> {Path(args.out) / record['file']}")
    if args.audio:
        index = export.copy_site_audio(args.audio)
        print(f"{len(index['utterances'])} utterances and {len(index['noises'])} noises "
              f"-> {args.audio}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="asp-lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("data", help="verify and summarise the speech and noise data")
    p.add_argument("--root", default=None, help="data folder (default: the shipped data/)")
    p.set_defaults(run=_cmd_data)

    from .train import add_arguments

    p = sub.add_parser("train", help="train a speaker-embedding model on train-clean-100")
    add_arguments(p)
    p.set_defaults(run=_cmd_train)

    p = sub.add_parser("eval", help="speaker verification on test-other: EER, minDCF, intervals")
    p.add_argument("--model", required=True,
                   help="a shipped model (stats, asp-scalar, asp-channel, asp-scalar-clean, "
                        "or e.g. asp-scalar-seed1) or a checkpoint .pt file")
    p.add_argument("--noise", default=None, help="add this noise to every utterance")
    p.add_argument("--snr", type=float, default=None, help="at this SNR in dB")
    p.add_argument("--third", choices=("add", "replace"), default=None,
                   help="put the noise into the middle third only, added to the speech or "
                        "in its place (default: added over the whole utterance)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise placement")
    p.add_argument("--per-speaker", type=int, default=None,
                   help="use only the first N utterances of each speaker")
    p.add_argument("--bootstrap", type=int, default=1000,
                   help="speaker-bootstrap rounds for the 95%% intervals (0: none)")
    p.add_argument("--out", default=None, help="write the JSON here (default: print it)")
    p.add_argument("--root", default=None, help="data folder (default: the shipped data/)")
    p.set_defaults(run=_cmd_eval)

    from .bench import add_arguments as add_bench_arguments
    from .bench import run_from_args as run_bench

    p = sub.add_parser("bench", help="forward+backward time and peak memory of pooling layers")
    add_bench_arguments(p)
    p.set_defaults(run=run_bench)

    p = sub.add_parser("attend", help="draw a recording's spectrogram and a model's attention")
    p.add_argument("file", help="an audio file (WAV, FLAC, OGG, ...; resampled to 16 kHz)")
    p.add_argument("--model", default="asp-scalar",
                   help="a shipped model (asp-scalar, asp-channel, asp-scalar-clean, stats, "
                        "or e.g. asp-scalar-seed1) or a checkpoint .pt file")
    p.add_argument("--out", default="attention.png", help="where to write the figure (PNG)")
    p.set_defaults(run=_cmd_attend)

    p = sub.add_parser("export-onnx", help="export shipped models to ONNX for the book's "
                       "in-browser widget (waveform in; embedding, attention, log-mel out)")
    p.add_argument("--out", default="book/_static/live/models",
                   help="folder for NAME.onnx and models.json (default: the book's)")
    p.add_argument("--model", action="append", default=None,
                   help="a shipped model to export (repeat for more; default: all four)")
    p.add_argument("--audio", default=None,
                   help="also copy the utterances and noises the book's page offers here")
    p.set_defaults(run=_cmd_export_onnx)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (data.ChecksumError, data.AudioError, FileNotFoundError, ValueError) as err:
        print(f"asp-lab {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
