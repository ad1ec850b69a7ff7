"""Detection error trade-off (DET) plots: chapter 5's verification results."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

#: Error rates (fractions) ticked on both axes of a DET plot.
DET_TICKS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4)


def det_plot(
    ax,
    fpr,
    fnr,
    label: str | None = None,
    limits: tuple[float, float] = (0.001, 0.5),
    ticks=DET_TICKS,
    **line_kwargs,
):
    """Draw a detection error trade-off (DET) curve on ``ax``: the miss rate against the
    false-acceptance rate, both on normal-deviate (probit) axes, ticked in percent. Chapter 5.

    A rate ``p`` is drawn at ``Phi^-1(p)`` (``scipy.stats.norm.ppf``), so that two normal
    score distributions give a straight line. Points with a rate of 0 or 1 (at infinity on
    these axes) are left out. The dotted diagonal is ``P_miss = P_fa``: a curve crosses it
    at its equal error rate.

    Args:
        fpr, fnr: ``(K,)`` false-acceptance and miss rates (fractions), e.g. from
            :func:`asp_lab.metrics.det_curve`.
        limits: ``(low, high)`` rates shown on both axes.
        line_kwargs: passed to ``ax.plot`` (colour, line style, ...).

    Returns the line.
    """
    fpr, fnr = np.asarray(fpr, dtype=float), np.asarray(fnr, dtype=float)
    if fpr.shape != fnr.shape or fpr.ndim != 1:
        raise ValueError(f"fpr and fnr must be 1-D of one length, got {fpr.shape}, {fnr.shape}")
    if not 0 < limits[0] < limits[1] < 1:
        raise ValueError(f"limits must satisfy 0 < low < high < 1, got {limits}")
    inside = (fpr > 0) & (fpr < 1) & (fnr > 0) & (fnr < 1)
    (line,) = ax.plot(norm.ppf(fpr[inside]), norm.ppf(fnr[inside]), label=label, **line_kwargs)
    low, high = norm.ppf(limits)
    ax.plot([low, high], [low, high], color="#555555", linestyle=":", linewidth=1)
    shown = [t for t in ticks if limits[0] <= t <= limits[1]]
    labels = [f"{100 * t:g}" for t in shown]
    ax.set_xticks(norm.ppf(shown), labels)
    ax.set_yticks(norm.ppf(shown), labels)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")
    ax.set_xlabel("false-acceptance rate (%), normal-deviate scale")
    ax.set_ylabel("miss rate (%), normal-deviate scale")
    ax.grid(alpha=0.3)
    return line
