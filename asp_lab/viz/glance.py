"""Chapter 6 at a glance: where several models put their weight on one noisy utterance, and
how much of it the noise gets over many utterances.

:func:`attention_glance` draws the utterance's spectrogram with, under it on the same time
axis, one colour band per model (each output frame's weight over the uniform share
``1/T'``), the noise segment marked on all of them; beside the bands, one bar per model:
the noise segment's share of the attention over its uniform share (1 = statistics
pooling), with its interval.
"""

from __future__ import annotations

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np

from .figures import MODEL_COLOURS, spectrogram

__all__ = ["attention_glance"]


def attention_glance(
    S,
    weights: dict,
    shares: dict,
    segment: tuple[float, float] | None = None,
    hop_seconds: float = 0.01,
    title: str | None = None,
    share_label: str = "attention on the noise\n/ its uniform share",
    figsize: tuple[float, float] = (9, 5.2),
    span: float | None = None,
):
    """One utterance's spectrogram, each model's weights as a colour band under it, and each
    model's relative attention on the noise segment as a bar. Chapter 6.

    Args:
        S: ``(n_bands, T)`` log-mel frames of the (noisy) utterance.
        weights: model -> ``(times (T',), alpha (T',))`` as
            :func:`asp_lab.analysis.frame_attention` returns them; band ``m`` shows
            ``alpha * T'`` (1 = the uniform share) at the output frames' centre times, on a
            logarithmic colour scale centred on 1.
        shares: model -> ``(mean, low, high)``: the segment's attention over its uniform
            share and its interval (e.g. over utterances), drawn as a horizontal bar beside
            the model's band; the dotted line at 1 is statistics pooling. ``share_label``
            is the bars' axis label (say over what the interval runs).
        segment: ``(start, end)`` seconds of the noise, marked by dashed lines.
        span: the colour scale runs from ``1/span`` to ``span`` times the uniform share
            (default: the largest ratio in ``weights``, at least 2).

    Returns ``(fig, axes)``, ``axes`` a dict: ``"frames"`` (the spectrogram), ``"bands"``
    (model -> its band's axes, whose only image is the band), ``"bars"`` (the bar chart,
    whose bars are in ``weights``' order, top to bottom).
    """
    S = np.asarray(S)
    if S.ndim != 2:
        raise ValueError(f"S must have shape (n_bands, T), got {S.shape}")
    if list(shares) != list(weights):
        raise ValueError(f"shares must name the models of weights, in order: {list(weights)}, "
                         f"got {list(shares)}")
    rows = {}
    for name, (times, alpha) in weights.items():
        times, alpha = np.asarray(times, dtype=float), np.asarray(alpha, dtype=float)
        if times.shape != alpha.shape or alpha.ndim != 1 or alpha.size < 2:
            raise ValueError(f"weights[{name!r}] must be (times, alpha) of one shape (T',), "
                             f"got {times.shape} and {alpha.shape}")
        rows[name] = (times, alpha * alpha.size)
    if span is None:
        ratios = np.concatenate([np.abs(np.log(np.maximum(r, 1e-12))) for _, r in rows.values()])
        span = max(2.0, float(np.exp(ratios.max())))
    norm = mcolors.LogNorm(vmin=1 / span, vmax=span)

    n = len(rows)
    fig = plt.figure(figsize=figsize, layout="constrained")
    grid = fig.add_gridspec(n + 2, 2, height_ratios=[3.0] + [0.7] * n + [0.18],
                            width_ratios=[3.0, 1.25])
    ax_frames = fig.add_subplot(grid[0, 0])
    image = spectrogram(ax_frames, S, hop_seconds=hop_seconds, colorbar=False)
    ax_frames.set_xlabel("")
    ax_frames.tick_params(labelbottom=False)
    corner = fig.add_subplot(grid[0, 1])
    corner.axis("off")
    fig.colorbar(image, cax=corner.inset_axes((0.0, 0.05, 0.1, 0.9)),
                 label="log mel power\n(natural log)")
    bands = {}
    for k, (name, (times, ratio)) in enumerate(rows.items()):
        ax = fig.add_subplot(grid[1 + k, 0], sharex=ax_frames)
        step = (times[-1] - times[0]) / (times.size - 1)
        band = ax.imshow(ratio[None, :], aspect="auto", interpolation="nearest", cmap="PuOr_r",
                         norm=norm, extent=(times[0] - step / 2, times[-1] + step / 2, 0, 1))
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize="small",
                      color=MODEL_COLOURS.get(name, "black"))
        if k < n - 1:
            ax.tick_params(labelbottom=False)
        bands[name] = ax
    ax.set_xlabel("time (s)")
    if segment is not None:
        for ax, colour in [(ax_frames, "white"), *((b, "black") for b in bands.values())]:
            for edge in segment:
                ax.axvline(edge, color=colour, linestyle="--", linewidth=1.2)
    cax = fig.add_subplot(grid[n + 1, 0])
    ticks = [t for t in (0.25, 0.5, 1, 2, 4, 8) if 1 / span <= t <= span]
    bar = fig.colorbar(band, cax=cax, orientation="horizontal")
    bar.ax.xaxis.set_major_locator(mticker.FixedLocator(ticks))
    bar.ax.xaxis.set_major_formatter(mticker.FixedFormatter([f"{t:g}" for t in ticks]))
    bar.ax.xaxis.set_minor_locator(mticker.NullLocator())
    bar.set_label("weight / uniform share 1/T' (log scale)")

    ax_bars = fig.add_subplot(grid[1:n + 1, 1])
    names = list(shares)
    means = np.array([shares[m][0] for m in names], dtype=float)
    low = np.array([shares[m][1] for m in names], dtype=float)
    high = np.array([shares[m][2] for m in names], dtype=float)
    y = np.arange(n)[::-1]  # the first model on top, beside its band
    ax_bars.barh(y, means, height=0.6, color=[MODEL_COLOURS.get(m, "#9467bd") for m in names],
                 xerr=[means - low, high - means], capsize=3, ecolor="#555555")
    ax_bars.axvline(1.0, color="#555555", linestyle=":", linewidth=1.5)
    ax_bars.set_yticks(y, names, fontsize="small")
    ax_bars.set_ylim(-0.5, n - 0.5)
    ax_bars.set_xlim(0, max(1.2, 1.1 * float(np.nanmax(high))))
    ax_bars.set_xlabel(share_label, fontsize="small")
    ax_bars.grid(axis="x", alpha=0.3)
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig, {"frames": ax_frames, "bands": bands, "bars": ax_bars}
