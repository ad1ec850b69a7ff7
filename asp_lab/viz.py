"""The book's figures: matplotlib for pictures, plotly for the static twins of widgets.

Each function draws one kind of figure with labelled axes and units; the notebooks add
titles and captions.
"""

from __future__ import annotations

import os

#: Set by ``make book``: the site loads plotly.js once from its static folder, so figures
#: are written without their own copy of the library.
BOOK_BUILD_ENV = "ASP_LAB_BOOK_BUILD"


def glue(name: str, value, display: bool = False) -> None:
    """Store a value that the chapter's prose quotes (myst-nb's ``glue``).

    numpy and torch scalars become Python numbers, so ``{glue:text}`name:.3f``` formats
    them. Outside the book build (JupyterLab, Colab without myst-nb) nothing is stored.
    """
    value = value.item() if hasattr(value, "item") else value
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=display)


def source_from(function, first: str) -> str:
    """The lines of ``function``'s source from the first one containing ``first`` to its end,
    dedented: the lines of a step that compute it, shown in a chapter as they run.

    Raises ``ValueError`` naming the function when no line contains ``first``."""
    import inspect
    import textwrap

    lines = inspect.getsource(function).splitlines()
    start = next((i for i, line in enumerate(lines) if first in line), None)
    if start is None:
        raise ValueError(f"no line of {function.__qualname__} contains {first!r}")
    return textwrap.dedent("\n".join(lines[start:]))


def show_table(header: list[str], rows: list[list]) -> None:
    """Display a small HTML table that renders alike in Jupyter, Colab and the book.

    ``rows`` are lists of cells (strings or numbers, HTML allowed); the first cell of a row
    names it, the others stay on one line so that numbers and shapes do not wrap."""
    from IPython.display import HTML, display

    head = "".join(f'<th scope="col">{h}</th>' for h in header)
    cell = '<td style="white-space: nowrap">{}</td>'
    body = "".join(f"<tr><td>{row[0]}</td>" + "".join(cell.format(c) for c in row[1:]) + "</tr>"
                   for row in rows)
    display(HTML(f'<table class="table"><thead><tr>{head}</tr></thead>'
                 f"<tbody>{body}</tbody></table>"))


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
        return (f"{name}: temperature τ = {temperatures[j]:g}<br>effective frames "
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
    # Title (two lines) at the top, the menu just above the plots, the legend at the very
    # bottom, below the slider: nothing overlaps when a phone narrows the figure.
    fig.update_layout(
        title={"text": title(names[0], active), "font": {"size": 14}, "x": 0.01,
               "xanchor": "left", "y": 0.93, "yref": "container", "yanchor": "top"},
        sliders=sliders,
        updatemenus=[{"type": "dropdown", "buttons": buttons, "active": 0,
                      "x": 1.0, "xanchor": "right", "y": 1.03, "yanchor": "bottom"}],
        height=600, margin={"t": 120, "b": 150, "l": 70, "r": 20},
        legend={"orientation": "h", "x": 0, "y": 0.0, "xanchor": "left", "yanchor": "bottom",
                "yref": "container"},
        template="plotly_white",
    )
    fig.update_yaxes(title_text="loudness (ln power)", row=1, col=1)
    fig.update_yaxes(title_text="weight α<sub>t</sub>", range=y_range(names[0], active),
                     row=2, col=1)
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    return fig


# ------------------------------------------------ chapter 6: attention under noise

#: Colours of the chapter 6 models (colour-blind safe; no red/green pair).
MODEL_COLOURS = {"stats": "#7f7f7f", "asp-scalar": "#1f77b4", "asp-channel": "#ff7f0e",
                 "asp-scalar-clean": "#000000"}


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

    Args:
        curves: label -> ``(times (T',), alpha (T',))`` as
            :func:`asp_lab.analysis.frame_attention` returns them (centre times of the
            output frames); the dotted line is each curve's uniform share ``1/T'``.
        segment: ``(start, end)`` seconds of a noise segment, shaded grey below and marked
            by dashed white lines on the frames.

    Returns ``(fig, ax_frames, ax_curve)``.
    """
    import numpy as np

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


def audio_html(waveform, sample_rate: int = 16_000, label: str = "", rate: int | None = None
               ) -> str:
    """An HTML ``<audio>`` player with the sound inlined as a WAV ``data:`` URI (16-bit PCM,
    mono), so a page plays it offline and without a file beside it.

    Args:
        waveform: ``(samples,)`` float audio at ``sample_rate``; it is scaled down if its
            peak exceeds full scale.
        label: the text shown above the player (and its accessible name).
        rate: resample to this rate first (e.g. 8000 to halve the size); default: keep.
    """
    import base64
    import html
    import io

    import numpy as np
    import soundfile

    x = np.asarray(waveform, dtype=np.float32)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"waveform must be mono and non-empty, shape (samples,), got {x.shape}")
    if rate is not None and rate != sample_rate:
        import librosa

        x = librosa.resample(x, orig_sr=sample_rate, target_sr=rate).astype(np.float32)
        sample_rate = rate
    peak = float(np.max(np.abs(x)))
    if peak > 0.99:
        x = x * (0.99 / peak)
    buffer = io.BytesIO()
    soundfile.write(buffer, x, sample_rate, format="WAV", subtype="PCM_16")
    uri = "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    name = html.escape(label or "audio clip")
    # A plain <div> and <p>: the theme greys out <figcaption> text too much to read on the
    # output area's background in its dark mode.
    return (f'<div class="asp-audio" style="margin: 0.4em 0">'
            f'<p style="margin: 0 0 0.2em 0">{name}</p>'
            f'<audio controls preload="metadata" aria-label="{name}" src="{uri}"></audio>'
            f"</div>")


def noise_attention_twin(
    cases: list[dict],
    snrs,
    models,
    hop_seconds: float = 0.01,
    frame_offset: int = 7,
    active: int | None = None,
):
    """The static twin of the chapter 6 widget: a plotly figure, no kernel needed.

    Args:
        cases: one dict per utterance and noise kind, each with ``label`` (str),
            ``energy: (n_snrs, T)`` (frame energy of the noisy utterance in dB, one row per
            SNR), ``alphas``: model -> ``(n_snrs, T')`` weights (``T' = T - 14``), ``masses``:
            model -> ``(n_snrs,)`` relative attention mass on the noise, and ``segment``:
            ``(start, end)`` of the noise in seconds.
        snrs: the SNRs in dB, in the rows' order; models: the models, one row of the figure
            each; frame_offset: output frame ``t'`` is centred at ``(t' + frame_offset) *
            hop_seconds``; active: the SNR shown first (default: the one closest to 0 dB).

    Returns:
        A ``plotly.graph_objects.Figure``: the frame energy on top, one row of ``alpha_t``
        per model below, the noise segment shaded; a slider picks the SNR and a drop-down
        menu the case (utterance and noise); the title gives each model's attention on the
        noise relative to the uniform share ("scalar 0.53" for ``asp-scalar``: 0.53 times the
        share that uniform weights give it).
    """
    import numpy as np
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    snrs, models = [float(s) for s in snrs], list(models)
    if active is None:
        active = int(np.argmin(np.abs(snrs)))
    rows = 1 + len(models)
    per_snr = 1 + len(models)  # energy + one alpha per model
    per_case = len(models) + len(snrs) * per_snr  # uniform lines first
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.05,
                        row_heights=[0.7] + [1.0] * len(models))

    def title(c: int, j: int) -> str:
        parts = [f"{m.removeprefix('asp-')} {cases[c]['masses'][m][j]:.2f}" for m in models]
        return (f"{cases[c]['label']}, SNR {snrs[j]:g} dB<br>on the noise, × uniform share: "
                f"{' · '.join(parts)}")

    def visible(c: int, j: int) -> list[bool]:
        flags = [False] * (len(cases) * per_case)
        base = c * per_case
        for i in range(len(models)):
            flags[base + i] = True
        for i in range(per_snr):
            flags[base + len(models) + j * per_snr + i] = True
        return flags

    def ranges(c: int) -> dict:
        out = {}
        for r, m in enumerate(models, start=2):
            top = float(np.max(cases[c]["alphas"][m]))
            out[f"yaxis{r}.range"] = [0.0, 1.1 * top]
        return out

    def shapes(c: int) -> list[dict]:
        start, end = cases[c]["segment"]
        return [{"type": "rect", "xref": "x", "yref": f"y{'' if r == 1 else r} domain",
                 "x0": start, "x1": end, "y0": 0, "y1": 1, "fillcolor": "#999999",
                 "opacity": 0.3, "line": {"width": 0}, "layer": "below"}
                for r in range(1, rows + 1)]

    for c, case in enumerate(cases):
        energy = np.asarray(case["energy"], dtype=np.float32)
        if energy.shape[0] != len(snrs):
            raise ValueError(f"cases[{c}]['energy'] must have one row per SNR "
                             f"({len(snrs)}), got shape {energy.shape}")
        frames = energy.shape[1] - 2 * frame_offset  # T' = T - 14
        end = (frames + frame_offset - 1) * hop_seconds
        for r in range(2, rows + 1):
            fig.add_trace(go.Scatter(
                x=[frame_offset * hop_seconds, end], y=[1.0 / frames] * 2, mode="lines",
                visible=c == 0, showlegend=False, hoverinfo="skip", name="uniform 1/T'",
                line={"color": "#555555", "dash": "dot", "width": 1.5}), row=r, col=1)
        for j, snr in enumerate(snrs):
            show = c == 0 and j == active
            fig.add_trace(go.Scatter(
                x0=0.0, dx=hop_seconds, y=energy[j], mode="lines", visible=show,
                showlegend=False, name=f"energy, {snr:g} dB",
                line={"color": "#555555", "width": 1},
                hovertemplate="t = %{x:.2f} s<br>%{y:.1f} dB<extra></extra>"), row=1, col=1)
            for r, m in enumerate(models, start=2):
                alpha = np.asarray(case["alphas"][m][j], dtype=np.float32)
                if alpha.size != frames:
                    raise ValueError(f"cases[{c}]['alphas'][{m!r}][{j}] has {alpha.size} "
                                     f"weights, expected T' = {frames}")
                fig.add_trace(go.Scatter(
                    x0=frame_offset * hop_seconds, dx=hop_seconds, y=alpha, mode="lines",
                    visible=show, showlegend=False, name=f"{m}, {snr:g} dB",
                    line={"color": MODEL_COLOURS.get(m, "#1f77b4"), "width": 1.3},
                    hovertemplate="t = %{x:.2f} s<br>α<sub>t</sub> = %{y:.2e}<extra></extra>",
                ), row=r, col=1)

    sliders = []
    for c in range(len(cases)):
        steps = [{"method": "update", "label": f"{snr:g}",
                  "args": [{"visible": visible(c, j)}, {"title.text": title(c, j)}]}
                 for j, snr in enumerate(snrs)]
        sliders.append({"active": active, "steps": steps, "visible": c == 0,
                        "currentvalue": {"prefix": "SNR (dB) = "}, "pad": {"t": 40}})
    buttons = []
    for c, case in enumerate(cases):
        layout = {"title.text": title(c, active), "shapes": shapes(c), **ranges(c)}
        for i in range(len(cases)):
            layout[f"sliders[{i}].visible"] = i == c
        layout[f"sliders[{c}].active"] = active
        buttons.append({"method": "update", "label": case["label"],
                        "args": [{"visible": visible(c, active)}, layout]})
    fig.update_layout(
        title={"text": title(0, active), "font": {"size": 13}, "x": 0.01, "xanchor": "left",
               "y": 0.985, "yref": "container", "yanchor": "top", "pad": {"t": 6}},
        sliders=sliders, shapes=shapes(0),
        updatemenus=[{"type": "dropdown", "buttons": buttons, "active": 0, "x": 0.0,
                      "xanchor": "left", "y": 1.03, "yanchor": "bottom",
                      "pad": {"t": 0, "b": 0}}],
        height=125 * rows + 200, margin={"t": 130, "b": 40, "l": 80, "r": 20},
        template="plotly_white",
    )
    for key, value in ranges(0).items():
        fig.layout[key.split(".")[0]].range = value
    fig.update_yaxes(title_text="energy (dB)", row=1, col=1)
    for r, m in enumerate(models, start=2):
        fig.update_yaxes(title_text=f"α<sub>t</sub>: {m}", row=r, col=1)
    fig.update_xaxes(title_text="time (s)", row=rows, col=1)
    return fig


# ------------------------------------------------ chapter 5: verification results

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
    false-acceptance rate, both on normal-deviate (probit) axes, ticked in percent.

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
    import numpy as np
    from scipy.stats import norm

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
