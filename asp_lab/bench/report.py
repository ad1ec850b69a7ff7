"""A benchmark's results for a reader (chapter 7): the recorded runs, a plain-text table,
a bar chart."""

from __future__ import annotations

import math
import sys
from pathlib import Path

from .autocast import AUTOCAST_OFFSETS


def recorded(pattern: str) -> list[Path]:
    """Recorded results in the repository's ``benchmarks/`` folder that match ``pattern``
    (``"cpu-*.json"``, ``"history/models-*.json"``), sorted by name (the dates sort in
    order). Looked for beside the installed package, then from the working directory: the
    repository root, ``notebooks/``, or Colab's clone ``asp_lab_repo/``.

    Chapters 5 and 7 (they load the recorded runs)."""
    roots = (Path(__file__).resolve().parents[2] / "benchmarks", Path("benchmarks"),
             Path("../benchmarks"), Path("asp_lab_repo/benchmarks"))
    for root in roots:
        if found := sorted(root.glob(pattern)):
            return found
    return []


def table(result: dict) -> str:
    """A plain-text table of every size and layer: time, memory and the ratios. Chapter 7."""

    def fmt(x: float | None, spec: str) -> str:
        return "-" if x is None else format(x, spec)

    lines = []
    for entry in result["results"]:
        lines.append(f"B={entry['B']} C={entry['C']} T={entry['T']}  "
                     f"({result['settings']['device']}, {result['settings']['dtype']})")
        lines.append(f"  {'layer':<20}{'median ms':>10}{'IQR ms':>9}{'peak MiB':>10}"
                     f"{'t/stats':>9}{'m/stats':>9}{'t/SB':>7}{'m/SB':>7}{'fwd GB/s':>10}")
        for name, r in entry["rows"].items():
            mem, rate = r["peak_memory_bytes"], r.get("forward_bytes_per_s")
            lines.append(
                f"  {name:<20}{r['time_median_s'] * 1e3:>10.1f}{r['time_iqr_s'] * 1e3:>9.1f}"
                f"{fmt(None if mem is None else mem / 2**20, '.1f'):>10}"
                f"{fmt(r['time_vs_stats'], '.2f'):>9}{fmt(r['memory_vs_stats'], '.2f'):>9}"
                f"{fmt(r['time_vs_speechbrain'], '.2f'):>7}"
                f"{fmt(r['memory_vs_speechbrain'], '.2f'):>7}"
                f"{fmt(None if rate is None else rate / 1e9, '.1f'):>10}")
    for name, reason in result["skipped"].items():
        lines.append(f"skipped {name}: {reason}")
    if result.get("autocast_errors"):
        lines.append("autocast: relative error of mu / sigma against float32 "
                     f"(frame mean {' and '.join(f'{m:g}' for m in AUTOCAST_OFFSETS)} sd)")
        for name, errors in result["autocast_errors"].items():
            cells = [f"{dt} " + ", ".join(f"{e['mu']:.1e}/{e['sigma']:.1e}"
                                          + ("" if e["finite"] else " NON-FINITE")
                                          for e in by_offset.values())
                     for dt, by_offset in errors.items()]
            lines.append(f"  {name:<20}" + "; ".join(cells))
    for t in result["targets"]:
        if t["ratio"] is None:  # a size or layer this run did not measure
            continue
        met = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        paired = "" if t.get("ratio_paired") is None else f", paired {t['ratio_paired']:.2f}"
        lines.append(f"target {t['target']}: {fmt(t['ratio'], '.2f')}{paired} (limit "
                     f"{t['limit']}) {met}")
    return "\n".join(lines)


#: Okabe-Ito colours (colour-blind safe) by family of layer.
FAMILY_COLORS = {"stats": "#999999", "asp": "#0072B2", "blog": "#E69F00",
                 "wespeaker": "#009E73", "speechbrain": "#CC79A7"}


def plot(result: dict, path: str | Path | None = None, panels_per_row: int = 2):
    """Log-scale bar chart of the median step time per layer (IQR as error bars), one panel
    per size. Saves to ``path`` if given; returns the matplotlib figure. Chapter 7,
    Figure 1."""
    import matplotlib

    if path is not None and "ipykernel" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    entries = result["results"]
    n = len(entries)
    cols = min(panels_per_row, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 0.32 * 10 * rows + 1.2),
                             squeeze=False)
    for ax, entry in zip(axes.flat, entries, strict=False):
        names = list(entry["rows"])
        med = [entry["rows"][k]["time_median_s"] * 1e3 for k in names]
        lo = [m - entry["rows"][k]["time_q1_s"] * 1e3 for m, k in zip(med, names, strict=True)]
        hi = [entry["rows"][k]["time_q3_s"] * 1e3 - m for m, k in zip(med, names, strict=True)]
        colors = [FAMILY_COLORS[k.split("-")[0]] for k in names]
        y = range(len(names))
        left = min(med) / 2  # bars start at the same place in every panel: half the fastest
        ax.barh(y, [m - left for m in med], left=left, xerr=[lo, hi], color=colors, capsize=2)
        for i, k in enumerate(names):
            ratio = entry["rows"][k].get("time_vs_stats")
            if ratio is not None:
                ax.text(med[i] + hi[i], i, f" x{ratio:.1f}", va="center", fontsize=7)
        ax.set_yticks(list(y), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(left, max(m + e for m, e in zip(med, hi, strict=True)) * 1.8)
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel("forward+backward time (ms, log scale); x: time / stats")
        ax.set_title(f"B={entry['B']}, C={entry['C']}, T={entry['T']}", fontsize=10)
        ax.grid(True, axis="x", which="both", alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    s, m = result["settings"], result["machine"]
    fig.suptitle(f"Pooling layers, {s['dtype']} on {m.get('gpu', m['cpu'])} "
                 f"({m['torch_threads']} threads), median and IQR of {s['repeats']} steps",
                 fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
