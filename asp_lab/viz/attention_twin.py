"""The static twin of chapter 2's attention explorer: the loudness attention of a few
utterances, precomputed at every combination of the score scale ``v`` and the temperature
``tau``, as a plotly figure that needs no kernel.

Each utterance has a fixed set of traces (its loudness, the threshold, the uniform share
``1/T``) and one ``alpha_t`` trace per ``(v, tau)``. Plotly cannot combine two sliders, so
each utterance has a temperature slider per scale and a scale slider per temperature, drawn
in the same two places: moving one shows the right trace and swaps in the copy of the other
slider that belongs to the new position, set to the same value as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .controls import (
    SLIDER_PX,
    menu_at_top_right,
    one_of,
    paper_y,
    slider,
    step,
    title_below_toolbar,
)

FIXED = 3  # traces per utterance before its weights: loudness, threshold, uniform 1/T
HEIGHT, TOP, BOTTOM = 720, 125, 270  # px: the figure, the margins above and below the plots


@dataclass(frozen=True)
class Grid:
    """Where each state's trace and each slider sits in the figure."""

    names: list[str]
    scales: list[float]
    temperatures: list[float]

    @property
    def per_utterance(self) -> int:
        return FIXED + len(self.scales) * len(self.temperatures)

    def first_trace(self, u: int) -> int:
        return u * self.per_utterance

    def trace(self, u: int, i: int, j: int) -> int:
        """The ``alpha_t`` trace of utterance ``u`` at scale ``i`` and temperature ``j``."""
        return self.first_trace(u) + FIXED + i * len(self.temperatures) + j

    def tau_slider(self, u: int, i: int) -> int:
        return u * (len(self.scales) + len(self.temperatures)) + i

    def v_slider(self, u: int, j: int) -> int:
        return self.tau_slider(u, len(self.scales)) + j

    def visible(self, u: int, i: int, j: int) -> list[bool]:
        """Flags for the traces of utterance ``u`` (see :meth:`traces`)."""
        flags = [True] * FIXED + [False] * (self.per_utterance - FIXED)
        flags[self.trace(u, i, j) - self.first_trace(u)] = True
        return flags

    def traces(self, u: int) -> list[int]:
        return list(range(self.first_trace(u), self.first_trace(u) + self.per_utterance))


def checked_alphas(states: dict, n_scales: int, n_temperatures: int) -> dict[str, np.ndarray]:
    """Each state's weights as ``(n_scales, n_temperatures, T)`` float32; ``(n_temperatures,
    T)`` is taken as one scale. Raises ``ValueError`` naming the state of another shape."""
    out = {}
    for name, state in states.items():
        alphas = np.asarray(state["alphas"], dtype=np.float32)
        frames = np.asarray(state["loudness"]).size
        if alphas.ndim == 2 and n_scales == 1:
            alphas = alphas[None]
        if alphas.shape != (n_scales, n_temperatures, frames):
            raise ValueError(
                f"states[{name!r}]['alphas'] must have shape (n_scales, n_temperatures, T) = "
                f"({n_scales}, {n_temperatures}, {frames}), got {alphas.shape}")
        out[name] = alphas
    return out


def closest_to_one(values: list[float]) -> int:
    """The index of the value closest to 1 on a log scale (the default first state)."""
    return int(np.argmin([abs(np.log(x)) for x in values]))


def state_title(name: str, alpha: np.ndarray, v: float | None, tau: float) -> str:
    """The title of one state: its setting, then the effective number of frames."""
    n_eff = 1.0 / float(np.sum(alpha.astype(np.float64) ** 2))
    setting = f"τ = {tau:g}" if v is None else f"v = {v:g}, τ = {tau:g}"
    return (f"{name}: {setting}<br>effective frames 1/Σα² = {n_eff:.1f} of T = "
            f"{alpha.size}")


def y_range(alpha: np.ndarray) -> list[float]:
    """The weights' axis for one state: from 0 to a little above its largest weight (or the
    uniform share ``1/T``, whichever is larger)."""
    return [0.0, 1.1 * max(float(alpha.max()), 1.0 / alpha.size)]


def add_utterance(fig, state: dict, alphas: np.ndarray, grid: Grid, shown: tuple | None,
                  hop_seconds: float) -> None:
    """Add one utterance's traces: loudness and threshold on top, the uniform share and one
    ``alpha_t`` per ``(v, tau)`` below. ``shown``: the ``(i, j)`` visible first, or None."""
    loudness = np.asarray(state["loudness"], dtype=np.float32)
    frames, end = loudness.size, (loudness.size - 1) * hop_seconds
    first = shown is not None
    fig.add_trace(go.Scatter(
        x0=0.0, dx=hop_seconds, y=loudness, mode="lines", visible=first,
        line={"color": "#555555", "width": 1}, name="frame loudness (mean log mel)",
        hovertemplate="t = %{x:.2f} s<br>loudness = %{y:.2f}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(
        x=[0.0, end], y=[state["threshold"]] * 2, mode="lines", visible=first,
        line={"color": "#ff7f0e", "dash": "dash", "width": 1.5},
        name="threshold (median loudness)", hoverinfo="skip"), row=1, col=1)
    fig.add_trace(go.Scatter(
        x=[0.0, end], y=[1.0 / frames] * 2, mode="lines", visible=first,
        line={"color": "black", "dash": "dot", "width": 1.5}, name="uniform 1/T",
        hoverinfo="skip"), row=2, col=1)
    for i, v in enumerate(grid.scales):
        for j, tau in enumerate(grid.temperatures):
            fig.add_trace(go.Scatter(
                x0=0.0, dx=hop_seconds, y=alphas[i, j], mode="lines",
                visible=shown == (i, j), showlegend=False,
                line={"color": "#1f77b4", "width": 1.5}, name=f"α_t, v = {v:g}, τ = {tau:g}",
                hovertemplate="t = %{x:.2f} s<br>α<sub>t</sub> = %{y:.2e}<extra></extra>",
            ), row=2, col=1)


def state_layout(grid: Grid, alphas: dict, u: int, i: int, j: int, show_v: bool) -> dict:
    """The layout of one state: its title and the weights' axis."""
    name = grid.names[u]
    alpha = alphas[name][i, j]
    v = grid.scales[i] if show_v else None
    return {"title.text": state_title(name, alpha, v, grid.temperatures[j]),
            "yaxis2.range": y_range(alpha)}


def swap_sliders(first: int, count: int, shown: int, active: int) -> dict:
    """Layout keys that show copy ``shown`` of ``count`` sliders (from ``first`` on), at step
    ``active``, and hide the other copies."""
    keys = {f"sliders[{first + n}].visible": flag for n, flag in enumerate(one_of(count, shown))}
    keys[f"sliders[{first + shown}].active"] = active
    return keys


def utterance_sliders(grid: Grid, alphas: dict, u: int, start: tuple, show_v: bool,
                      plot_px: float) -> list[dict]:
    """Utterance ``u``'s temperature sliders (one per scale), then its scale sliders (one per
    temperature); the copies for ``start = (i, j)`` are visible when ``u`` is 0."""
    n_v, n_tau = len(grid.scales), len(grid.temperatures)
    tau_sliders = [slider(
        [step(f"{tau:g}", grid.visible(u, i, j),
              {**state_layout(grid, alphas, u, i, j, show_v),
               **swap_sliders(grid.v_slider(u, 0), n_tau, j, i)}, grid.traces(u))
         for j, tau in enumerate(grid.temperatures)],
        active=start[1], prefix="temperature τ = ", visible=u == 0 and i == start[0],
        name=grid.names[u]) for i in range(n_v)]
    v_sliders = [slider(
        [step(f"{v:g}", grid.visible(u, i, j),
              {**state_layout(grid, alphas, u, i, j, show_v),
               **swap_sliders(grid.tau_slider(u, 0), n_v, i, j)}, grid.traces(u))
         for i, v in enumerate(grid.scales)],
        active=start[0], prefix="scale v = ", visible=show_v and u == 0 and j == start[1],
        y=paper_y(40 + SLIDER_PX, plot_px), pad_top=10, name=grid.names[u])
        for j in range(n_tau)]
    return tau_sliders + v_sliders


def utterance_menu(grid: Grid, alphas: dict, start: tuple, show_v: bool) -> dict:
    """The drop-down that picks the utterance, shown at the starting ``(v, tau)``."""
    i, j = start
    total = len(grid.names) * grid.per_utterance
    buttons = []
    for u, name in enumerate(grid.names):
        layout = state_layout(grid, alphas, u, i, j, show_v)
        for w in range(len(grid.names)):
            for n in range(len(grid.scales)):
                layout[f"sliders[{grid.tau_slider(w, n)}].visible"] = w == u and n == i
            for m in range(len(grid.temperatures)):
                layout[f"sliders[{grid.v_slider(w, m)}].visible"] = show_v and w == u and m == j
        layout[f"sliders[{grid.tau_slider(u, i)}].active"] = j
        layout[f"sliders[{grid.v_slider(u, j)}].active"] = i
        visible = [False] * total
        visible[grid.traces(u)[0]:grid.traces(u)[-1] + 1] = grid.visible(u, i, j)
        buttons.append(step(name, visible, layout))
    return menu_at_top_right(buttons)


def attention_slider_figure(
    states: dict,
    temperatures,
    hop_seconds: float = 0.01,
    active: int | None = None,
    scales=None,
    active_scale: int | None = None,
):
    """The static twin of chapter 2's attention explorer: a plotly figure, no kernel needed.

    Args:
        states: utterance name -> dict with ``loudness: (T,)`` (mean log-mel per frame,
            natural log), ``threshold`` (float, the score's threshold in the same unit) and
            ``alphas: (n_scales, n_temperatures, T)``, the weights at each scale ``v`` and
            temperature ``tau``, each row summing to 1 (``(n_temperatures, T)`` without
            ``scales``).
        temperatures: the ``n_temperatures`` temperatures, in the rows' order.
        hop_seconds: seconds between frames.
        active: index of the temperature shown first (default: the one closest to 1).
        scales: the ``n_scales`` scales ``v``, in the rows' order; None: one scale, not shown
            (no scale slider).
        active_scale: index of the scale shown first (default: the one closest to 1).

    Returns:
        A ``plotly.graph_objects.Figure``: frame loudness on top, ``alpha_t`` below; a
        temperature slider and a scale slider pick the state, a drop-down menu the
        utterance. The title gives the setting and the effective number of frames
        ``1 / sum alpha_t^2``; the weights' axis is scaled to each state's largest weight.
    """
    temperatures = [float(t) for t in temperatures]
    show_v = scales is not None
    scales = [float(v) for v in scales] if show_v else [1.0]
    grid = Grid(list(states), scales, temperatures)
    alphas = checked_alphas(states, len(scales), len(temperatures))
    start = (closest_to_one(scales) if active_scale is None else active_scale,
             closest_to_one(temperatures) if active is None else active)

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        row_heights=[0.35, 0.65])
    for u, name in enumerate(grid.names):
        add_utterance(fig, states[name], alphas[name], grid, start if u == 0 else None,
                      hop_seconds)
    plot_px = HEIGHT - TOP - BOTTOM
    sliders = [s for u in range(len(grid.names))
               for s in utterance_sliders(grid, alphas, u, start, show_v, plot_px)]
    first = state_layout(grid, alphas, 0, *start, show_v)
    fig.update_layout(
        title=title_below_toolbar(first["title.text"], HEIGHT),
        sliders=sliders, updatemenus=[utterance_menu(grid, alphas, start, show_v)],
        height=HEIGHT, margin={"t": TOP, "b": BOTTOM, "l": 70, "r": 20},
        # At the very bottom, below the sliders: nothing overlaps when a phone narrows it.
        legend={"orientation": "h", "x": 0, "y": 0.0, "xanchor": "left", "yanchor": "bottom",
                "yref": "container"},
        template="plotly_white",
    )
    fig.update_yaxes(title_text="loudness (ln power)", row=1, col=1)
    fig.update_yaxes(title_text="weight α<sub>t</sub>", range=first["yaxis2.range"], row=2, col=1)
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    return fig
