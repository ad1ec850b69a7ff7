"""The static twin of chapter 6's noise explorer: noise replacing part of an utterance, each
model's attention precomputed at a few SNRs, as a plotly figure that needs no kernel.

The frame energy is on top and one row of ``alpha_t`` per model below, all model rows on one
vertical scale so that their weights compare at a glance; the noise is shaded. A slider picks
the SNR and a drop-down menu the case (utterance and noise). Above each model's row, its
attention on the noise relative to the uniform share.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .controls import menu_at_top_right, slider, step, title_below_toolbar
from .figures import MODEL_COLOURS

ROW_PX, TOP, BOTTOM = 125, 120, 120  # px: a row of the figure, the margins around the plots


def checked_case(c: int, case: dict, snrs: list[float], models: list[str],
                 frame_offset: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Case ``c``'s energy ``(n_snrs, T)`` and weights ``model -> (n_snrs, T')`` as float32,
    ``T' = T - 2 * frame_offset``. Raises ``ValueError`` naming the array of another shape."""
    energy = np.asarray(case["energy"], dtype=np.float32)
    if energy.ndim != 2 or energy.shape[0] != len(snrs):
        raise ValueError(f"cases[{c}]['energy'] must have one row per SNR "
                         f"({len(snrs)}), got shape {energy.shape}")
    frames = energy.shape[1] - 2 * frame_offset  # T' = T - 14
    alphas = {}
    for m in models:
        alphas[m] = np.asarray(case["alphas"][m], dtype=np.float32)
        if alphas[m].shape != (len(snrs), frames):
            raise ValueError(f"cases[{c}]['alphas'][{m!r}] must have shape (n_snrs, T') = "
                             f"({len(snrs)}, {frames}), got {alphas[m].shape}")
    return energy, alphas


def add_case(fig, energy: np.ndarray, alphas: dict, models: list[str], snrs: list[float],
             shown: int | None, hop_seconds: float, frame_offset: int) -> None:
    """Add one case's traces: the uniform share in each model row, then per SNR the energy
    and one ``alpha_t`` per model. ``shown``: the SNR visible first, or None."""
    frames = energy.shape[1] - 2 * frame_offset
    end = (frames + frame_offset - 1) * hop_seconds
    for r in range(2, len(models) + 2):
        fig.add_trace(go.Scatter(
            x=[frame_offset * hop_seconds, end], y=[1.0 / frames] * 2, mode="lines",
            visible=shown is not None, showlegend=False, hoverinfo="skip",
            name="uniform 1/T'", line={"color": "#555555", "dash": "dot", "width": 1.5}),
            row=r, col=1)
    for j, snr in enumerate(snrs):
        fig.add_trace(go.Scatter(
            x0=0.0, dx=hop_seconds, y=energy[j], mode="lines", visible=shown == j,
            showlegend=False, name=f"energy, {snr:g} dB", line={"color": "#555555", "width": 1},
            hovertemplate="t = %{x:.2f} s<br>%{y:.1f} dB<extra></extra>"), row=1, col=1)
        for r, m in enumerate(models, start=2):
            fig.add_trace(go.Scatter(
                x0=frame_offset * hop_seconds, dx=hop_seconds, y=alphas[m][j], mode="lines",
                visible=shown == j, showlegend=False, name=f"{m}, {snr:g} dB",
                line={"color": MODEL_COLOURS.get(m, "#1f77b4"), "width": 1.3},
                hovertemplate="t = %{x:.2f} s<br>α<sub>t</sub> = %{y:.2e}<extra></extra>",
            ), row=r, col=1)


def case_title(case: dict, snr: float) -> str:
    return f"{case['label']}<br>SNR {snr:g} dB"


def row_note(model: str, mass: float) -> str:
    """What stands above a model's row: its attention on the noise against uniform weights."""
    return f"<b>{model}</b>: on the noise {mass:.2f} × the uniform share"


def row_notes(texts: list[str]) -> list[dict]:
    """One annotation above each model's row, saying ``texts[n]`` first (steps change it)."""
    return [{"text": text, "xref": "paper", "x": 0.0, "xanchor": "left",
             "yref": f"y{r} domain", "y": 1.0, "yanchor": "bottom", "showarrow": False,
             "font": {"size": 11}} for r, text in enumerate(texts, start=2)]


def state_layout(case: dict, models: list[str], snrs: list[float], j: int) -> dict:
    """The layout of one state: its title and the notes above the model rows."""
    out = {"title.text": case_title(case, snrs[j])}
    for n, m in enumerate(models):
        out[f"annotations[{n}].text"] = row_note(m, case["masses"][m][j])
    return out


def case_layout(alphas: dict, segment: tuple[float, float], rows: int) -> dict:
    """What a case sets once: the noise shaded in every row, and one vertical scale for all
    the model rows, from 0 to a little above the case's largest weight."""
    top = 1.1 * max(float(a.max()) for a in alphas.values())
    out = {f"yaxis{r}.range": [0.0, top] for r in range(2, rows + 1)}
    out["shapes"] = [{"type": "rect", "xref": "x", "yref": f"y{'' if r == 1 else r} domain",
                      "x0": segment[0], "x1": segment[1], "y0": 0, "y1": 1,
                      "fillcolor": "#999999", "opacity": 0.3, "line": {"width": 0},
                      "layer": "below"} for r in range(1, rows + 1)]
    return out


def case_visible(models: list[str], snrs: list[float], j: int) -> list[bool]:
    """Flags for one case's traces (in :func:`add_case`'s order) showing SNR ``j``."""
    per_snr = 1 + len(models)
    flags = [True] * len(models) + [False] * (len(snrs) * per_snr)
    for n in range(per_snr):
        flags[len(models) + j * per_snr + n] = True
    return flags


def snr_sliders(cases: list[dict], models: list[str], snrs: list[float], active: int
                ) -> list[dict]:
    """One SNR slider per case (only the first case's is visible); each step updates only
    its case's traces."""
    per_case = len(models) + len(snrs) * (1 + len(models))
    return [slider([step(f"{snr:g}", case_visible(models, snrs, j),
                         state_layout(case, models, snrs, j),
                         list(range(c * per_case, (c + 1) * per_case)))
                    for j, snr in enumerate(snrs)],
                   active=active, prefix="SNR (dB) = ", visible=c == 0)
            for c, case in enumerate(cases)]


def case_menu(cases: list[dict], alphas: list[dict], models: list[str], snrs: list[float],
              active: int) -> dict:
    """The drop-down that picks the case, shown at SNR ``active`` with its own slider."""
    per_case = len(models) + len(snrs) * (1 + len(models))
    rows = 1 + len(models)
    buttons = []
    for c, case in enumerate(cases):
        layout = {**state_layout(case, models, snrs, active),
                  **case_layout(alphas[c], case["segment"], rows),
                  **{f"sliders[{i}].visible": i == c for i in range(len(cases))},
                  f"sliders[{c}].active": active}
        visible = [False] * (len(cases) * per_case)
        visible[c * per_case:(c + 1) * per_case] = case_visible(models, snrs, active)
        buttons.append(step(case["label"], visible, layout))
    return menu_at_top_right(buttons)


def noise_attention_twin(
    cases: list[dict],
    snrs,
    models,
    hop_seconds: float = 0.01,
    frame_offset: int = 7,
    active: int | None = None,
):
    """The static twin of chapter 6's noise explorer: a plotly figure, no kernel needed.

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
        per model below (one vertical scale for all of them), the noise segment shaded; a
        slider picks the SNR and a drop-down menu the case (utterance and noise); above each
        model's row, its attention on the noise relative to the uniform share ("on the noise
        0.53 × the uniform share": 0.53 times the share that uniform weights give it).
    """
    snrs, models = [float(s) for s in snrs], list(models)
    active = int(np.argmin(np.abs(snrs))) if active is None else active
    rows = 1 + len(models)
    checked = [checked_case(c, case, snrs, models, frame_offset) for c, case in enumerate(cases)]
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        row_heights=[0.7] + [1.0] * len(models))
    for c, (energy, alphas) in enumerate(checked):
        add_case(fig, energy, alphas, models, snrs, active if c == 0 else None, hop_seconds,
                 frame_offset)

    sliders = snr_sliders(cases, models, snrs, active)
    menu = case_menu(cases, [alphas for _, alphas in checked], models, snrs, active)
    height = ROW_PX * rows + TOP + BOTTOM
    first = {**state_layout(cases[0], models, snrs, active),
             **case_layout(checked[0][1], cases[0]["segment"], rows)}
    notes = row_notes([first[f"annotations[{n}].text"] for n in range(len(models))])
    fig.update_layout(
        title=title_below_toolbar(first["title.text"], height, size=13),
        sliders=sliders, updatemenus=[menu], annotations=notes,
        shapes=first["shapes"], height=height,
        margin={"t": TOP, "b": BOTTOM, "l": 60, "r": 20}, template="plotly_white",
    )
    fig.update_yaxes(title_text="energy (dB)", row=1, col=1)
    for r in range(2, rows + 1):
        fig.update_yaxes(title_text="α<sub>t</sub>", range=first[f"yaxis{r}.range"], row=r, col=1)
    fig.update_xaxes(title_text="time (s)", row=rows, col=1)
    return fig
