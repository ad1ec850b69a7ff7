"""The book's figures: matplotlib for pictures, plotly for the static twins of widgets.

Each function draws one kind of figure with labelled axes and units; the notebooks add
titles and captions.
"""

from __future__ import annotations

import os

#: Set by ``make book``: the site loads plotly.js once from its static folder, so figures
#: are written without their own copy of the library.
BOOK_BUILD_ENV = "ASP_LAB_BOOK_BUILD"


def show_plotly(fig, div_id: str | None = None):
    """Display a plotly figure so that it works both in the built book and in a notebook.

    In the book build (``ASP_LAB_BOOK_BUILD`` set) it returns an HTML fragment that relies on
    the site's own ``plotly.min.js`` (listed in ``_config.yml``), so the page works offline
    and plotly.js is not repeated per figure. Elsewhere (JupyterLab, Colab) it returns the
    figure itself, which the notebook renders natively. ``div_id`` names the figure's
    ``<div>`` in the built page (plotly generates a random one otherwise).
    """
    if os.environ.get(BOOK_BUILD_ENV):
        from IPython.display import HTML

        html = fig.to_html(
            include_plotlyjs=False, full_html=False, config={"responsive": True},
            div_id=div_id,  # a stable id lets the browser tests find the figure
        )
        return HTML(html)
    return fig


def waveform(ax, x, sample_rate: int = 16_000, title: str | None = None, color: str = "tab:blue"):
    """Plot a mono waveform ``x: (samples,)`` against time in seconds on ``ax``.

    The y axis is the amplitude as the file stores it (full scale is +-1). Returns the line.
    """
    import numpy as np

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

    Frame ``t`` is centred at ``t * hop_seconds`` seconds (as ``features.frame_times``), band
    0 is at the bottom. The x axis is time in seconds, the y axis the mel band index; the
    colour bar (if ``colorbar``) carries ``label``. Returns the ``AxesImage``.
    """
    import numpy as np

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


# ------------------------------------------------ chapter 2: attention on the time axis


def frames_and_curve(
    S,
    hop_seconds: float = 0.01,
    figsize: tuple[float, float] = (9, 5),
    height_ratios: tuple[float, float] = (1.2, 1.0),
    cmap: str = "viridis",
    label: str = "log mel power (natural log)",
):
    """A figure with the frames ``S: (n_bands, T)`` on top and an empty axes below, both on
    the same time axis in seconds, for a per-frame quantity (scores, weights, ...).

    The colour bar spans both rows so that their time axes line up. Returns
    ``(fig, ax_frames, ax_curve)``; draw on ``ax_curve`` against ``features.frame_times(T)``.
    """
    import matplotlib.pyplot as plt

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

    Used by the chapter 2 widget (``asp_lab.widgets.attention_explorer``).
    """
    import matplotlib.patheffects as pe
    import matplotlib.pyplot as plt
    import numpy as np

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


def attention_slider_figure(
    states: dict,
    temperatures,
    hop_seconds: float = 0.01,
    active: int | None = None,
):
    """The static twin of the chapter 2 widget: a plotly figure, no kernel needed.

    Args:
        states: utterance name -> dict with ``loudness: (T,)`` (mean log-mel per frame,
            natural log), ``threshold`` (float, the score's threshold in the same unit) and
            ``alphas: (n_temperatures, T)`` (the weights at each temperature, each row
            summing to 1).
        temperatures: the ``n_temperatures`` temperatures, in the rows' order.
        hop_seconds: seconds between frames.
        active: index of the temperature shown first (default: the one closest to 1).

    Returns:
        A ``plotly.graph_objects.Figure``: frame loudness on top, ``alpha_t`` below; a
        slider per utterance picks the temperature (only the chosen utterance's slider is
        visible) and a drop-down menu picks the utterance. The title gives the effective
        number of frames ``1 / sum alpha_t^2``.
    """
    import numpy as np
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    temperatures = [float(t) for t in temperatures]
    if active is None:
        active = int(np.argmin([abs(np.log(t)) for t in temperatures]))
    names = list(states)
    per_utterance = 3 + len(temperatures)  # loudness, threshold, uniform, one alpha per tau
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        row_heights=[0.35, 0.65])

    def title(name: str, j: int) -> str:
        alpha = np.asarray(states[name]["alphas"][j], dtype=float)
        n_eff = 1.0 / float(np.sum(alpha**2))
        return (f"{name}: temperature τ = {temperatures[j]:g}, effective frames "
                f"1/Σα² = {n_eff:.1f} of T = {alpha.size}")

    def y_range(name: str, j: int) -> list[float]:
        alpha = np.asarray(states[name]["alphas"][j], dtype=float)
        return [0.0, 1.1 * max(float(alpha.max()), 1.0 / alpha.size)]

    def visible(u: int, j: int) -> list[bool]:
        flags = [False] * (len(names) * per_utterance)
        for i in range(3):
            flags[u * per_utterance + i] = True
        flags[u * per_utterance + 3 + j] = True
        return flags

    for u, name in enumerate(names):
        state = states[name]
        loudness = np.asarray(state["loudness"], dtype=np.float32)
        alphas = np.asarray(state["alphas"], dtype=np.float32)
        if alphas.shape != (len(temperatures), loudness.size):
            raise ValueError(
                f"states[{name!r}]['alphas'] must have shape (n_temperatures, T) = "
                f"({len(temperatures)}, {loudness.size}), got {alphas.shape}"
            )
        frames, end = loudness.size, (loudness.size - 1) * hop_seconds
        show = u == 0
        fig.add_trace(go.Scatter(
            x0=0.0, dx=hop_seconds, y=loudness, mode="lines", visible=show,
            line={"color": "#555555", "width": 1}, name="frame loudness (mean log mel)",
            hovertemplate="t = %{x:.2f} s<br>loudness = %{y:.2f}<extra></extra>",
        ), row=1, col=1)
        fig.add_trace(go.Scatter(
            x=[0.0, end], y=[state["threshold"]] * 2, mode="lines", visible=show,
            line={"color": "#ff7f0e", "dash": "dash", "width": 1.5},
            name="threshold (median loudness)", hoverinfo="skip",
        ), row=1, col=1)
        fig.add_trace(go.Scatter(
            x=[0.0, end], y=[1.0 / frames] * 2, mode="lines", visible=show,
            line={"color": "black", "dash": "dot", "width": 1.5},
            name="uniform 1/T", hoverinfo="skip",
        ), row=2, col=1)
        for j, tau in enumerate(temperatures):
            fig.add_trace(go.Scatter(
                x0=0.0, dx=hop_seconds, y=alphas[j], mode="lines",
                visible=show and j == active, showlegend=False,
                line={"color": "#1f77b4", "width": 1.5}, name=f"α_t, τ = {tau:g}",
                hovertemplate="t = %{x:.2f} s<br>α<sub>t</sub> = %{y:.2e}<extra></extra>",
            ), row=2, col=1)

    sliders = []
    for u, name in enumerate(names):
        steps = [
            {"method": "update", "label": f"{tau:g}",
             "args": [{"visible": visible(u, j)},
                      {"title.text": title(name, j), "yaxis2.range": y_range(name, j)}]}
            for j, tau in enumerate(temperatures)
        ]
        sliders.append({
            "active": active, "steps": steps, "visible": u == 0, "name": name,
            "currentvalue": {"prefix": "temperature τ = "}, "pad": {"t": 45},
        })
    buttons = []
    for u, name in enumerate(names):
        layout = {"title.text": title(name, active), "yaxis2.range": y_range(name, active)}
        for i in range(len(names)):
            layout[f"sliders[{i}].visible"] = i == u
        layout[f"sliders[{u}].active"] = active
        buttons.append({"method": "update", "label": name,
                        "args": [{"visible": visible(u, active)}, layout]})
    fig.update_layout(
        title={"text": title(names[0], active), "font": {"size": 14}},
        sliders=sliders,
        updatemenus=[{"type": "dropdown", "buttons": buttons, "active": 0,
                      "x": 1.0, "xanchor": "right", "y": 1.16, "yanchor": "top"}],
        height=520, margin={"t": 110, "b": 40, "l": 70, "r": 20},
        legend={"orientation": "h", "x": 0, "y": 1.06, "xanchor": "left", "yanchor": "bottom"},
        template="plotly_white",
    )
    fig.update_yaxes(title_text="loudness (ln power)", row=1, col=1)
    fig.update_yaxes(title_text="weight α<sub>t</sub>", range=y_range(names[0], active),
                     row=2, col=1)
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    return fig
