"""The book's pictures in matplotlib: waveforms, spectrograms, and attention weights drawn on
the spectrogram's own time axis.

Each function draws one kind of figure with labelled axes and units; the chapters add
titles and captions.
"""

from __future__ import annotations

import matplotlib.patheffects as pe
import matplotlib.pyplot as plt
import numpy as np

#: Colours of the trained models in chapters 5 and 6 (colour-blind safe; no red/green pair).
MODEL_COLOURS = {"stats": "#7f7f7f", "asp-scalar": "#1f77b4", "asp-channel": "#ff7f0e",
                 "asp-scalar-clean": "#000000"}


def waveform(ax, x, sample_rate: int = 16_000, title: str | None = None, color: str = "tab:blue"):
    """Plot a mono waveform ``x: (samples,)`` against time in seconds on ``ax``. Chapter 1.

    The y axis is the amplitude as the file stores it (full scale is +-1). Returns the line.
    """
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"x must be a mono waveform of shape (samples,), got {x.shape}")
    (line,) = ax.plot(np.arange(x.size) / sample_rate, x, color=color, linewidth=0.5)
    ax.set_xlim(0, x.size / sample_rate)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude (full scale = 1)")
    if title:
        ax.set_title(title)
    return line


def spectrogram(
    ax,
    S,
    hop_seconds: float = 0.01,
    title: str | None = None,
    colorbar: bool = True,
    label: str = "log mel power (natural log)",
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
):
    """Draw frames ``S: (n_bands, T)`` (e.g. ``features.log_mel``) as an image on ``ax``.
    Chapters 1, 2, 3, 5 and 6.

    Frame ``t`` is centred at ``t * hop_seconds`` seconds (as ``features.frame_times``), band
    0 is at the bottom. The x axis is time in seconds, the y axis the mel band index; the
    colour bar (if ``colorbar``) carries ``label``. Returns the ``AxesImage``.
    """
    S = np.asarray(S)
    if S.ndim != 2:
        raise ValueError(f"S must have shape (n_bands, T), got {S.shape}")
    bands, frames = S.shape
    image = ax.imshow(
        S,
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        extent=(-hop_seconds / 2, (frames - 0.5) * hop_seconds, -0.5, bands - 0.5),
    )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mel band")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=label, pad=0.01)
    return image


def frames_and_curve(
    S,
    hop_seconds: float = 0.01,
    figsize: tuple[float, float] = (9, 5),
    height_ratios: tuple[float, float] = (1.2, 1.0),
    cmap: str = "viridis",
    label: str = "log mel power (natural log)",
):
    """A figure with the frames ``S: (n_bands, T)`` on top and an empty axes below, both on
    the same time axis in seconds, for a per-frame quantity (scores, weights, ...). Chapter 2,
    each step.

    The colour bar spans both rows so that their time axes line up. Returns
    ``(fig, ax_frames, ax_curve)``; draw on ``ax_curve`` against ``features.frame_times(T)``.
    """
    fig, (ax_frames, ax_curve) = plt.subplots(
        2, 1, figsize=figsize, sharex=True, layout="constrained",
        gridspec_kw={"height_ratios": height_ratios},
    )
    image = spectrogram(ax_frames, S, hop_seconds=hop_seconds, colorbar=False, cmap=cmap)
    ax_frames.set_xlabel("")
    fig.colorbar(image, ax=[ax_frames, ax_curve], label=label, pad=0.01, fraction=0.03)
    ax_curve.set_xlabel("time (s)")
    ax_curve.grid(alpha=0.3)
    return fig, ax_frames, ax_curve


def attention_on_spectrogram(
    S,
    alpha,
    hop_seconds: float = 0.01,
    title: str | None = None,
    figsize: tuple[float, float] = (9, 3.8),
):
    """Frames ``S: (n_bands, T)`` in grey with the attention weights ``alpha: (T,)`` drawn over
    them (right axis), and the uniform share ``1/T`` dashed. Returns the figure.

    Chapter 2: the attention explorer (``asp_lab.widgets.attention_explorer``).
    """
    S, alpha = np.asarray(S), np.asarray(alpha, dtype=float)
    if alpha.shape != (S.shape[-1],):
        raise ValueError(f"alpha must have shape (T,) = ({S.shape[-1]},), got {alpha.shape}")
    frames = alpha.size
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    image = spectrogram(ax, S, hop_seconds=hop_seconds, colorbar=False, cmap="gray")
    fig.colorbar(image, ax=ax, label="log mel power (natural log)", pad=0.08, fraction=0.03)
    weights = ax.twinx()
    times = np.arange(frames) * hop_seconds
    outline = [pe.Stroke(linewidth=3, foreground="black"), pe.Normal()]
    weights.plot(times, alpha, color="tab:orange", linewidth=1.6, path_effects=outline,
                 label=r"attention weight $\alpha_t$")
    weights.axhline(1 / frames, color="white", linestyle="--", linewidth=1.2,
                    path_effects=outline, label=r"uniform $1/T$")
    weights.set_ylim(0, max(alpha.max(), 1 / frames) * 1.15)
    weights.set_ylabel(r"attention weight $\alpha_t$")
    fig.legend(loc="outside lower center", ncols=2, fontsize="small", frameon=False)
    if title:
        ax.set_title(title)
    return fig


def spectrogram_attention(
    S,
    curves: dict,
    segment: tuple[float, float] | None = None,
    title: str | None = None,
    hop_seconds: float = 0.01,
    figsize: tuple[float, float] = (9, 5),
    segment_label: str = "noise",
):
    """Frames ``S: (n_bands, T)`` on top and attention weights below, on one time axis.
    Chapter 6, its explorer, and ``asp-lab attend``.

    Args:
        curves: label -> ``(times (T',), alpha (T',))`` as
            :func:`asp_lab.analysis.frame_attention` returns them (centre times of the
            output frames); the dotted line is each curve's uniform share ``1/T'``.
        segment: ``(start, end)`` seconds of a noise segment, shaded grey below and marked
            by dashed white lines on the frames.

    Returns ``(fig, ax_frames, ax_curve)``.
    """
    fig, ax_frames, ax_curve = frames_and_curve(S, hop_seconds=hop_seconds, figsize=figsize)
    colours = ["#1f77b4", "#ff7f0e", "#000000", "#9467bd", "#8c564b"]
    top = 0.0
    for (label, (times, alpha)), colour in zip(curves.items(), colours, strict=False):
        alpha = np.asarray(alpha, dtype=float)
        ax_curve.plot(times, alpha, color=MODEL_COLOURS.get(label, colour), linewidth=1,
                      label=label)
        top = max(top, float(alpha.max()))
    if curves:
        frames = np.asarray(next(iter(curves.values()))[1]).size
        ax_curve.axhline(1 / frames, color="#555555", linestyle=":", linewidth=1.5,
                         label="uniform share 1/T'")
    if segment is not None:
        ax_curve.axvspan(*segment, color="#999999", alpha=0.3, linewidth=0, label=segment_label)
        for edge in segment:
            ax_frames.axvline(edge, color="white", linestyle="--", linewidth=1.2)
    ax_curve.set_ylim(0, 1.1 * top if top else 1)
    ax_curve.set_ylabel(r"weight $\alpha_t$")
    ax_curve.legend(loc="upper left", fontsize="small", ncols=3)
    if title:
        ax_frames.set_title(title)
    return fig, ax_frames, ax_curve

