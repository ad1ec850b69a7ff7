"""Chapter 2's attention explorer: the loudness attention of chapter 2 on a real utterance,
with the score scale ``v`` and the temperature ``tau`` on sliders. Needs a running kernel; its
static twin is :func:`asp_lab.viz.attention_slider_figure`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
import torch

from .. import data, features, pooling, viz
from ..handset import effective_frames, loudness_attention
from .common import picture_widget, png_of

#: The test-other utterances the chapter 2 explorer offers (5 to 7 s each, 3 F and 2 M).
EXPLORER_UTTERANCES = (
    "3080-5032-0004",
    "2033-164914-0003",
    "1998-15444-0001",
    "2609-156975-0005",
    "3331-159605-0003",
)


def explorer_paths(utterances: Sequence[str | os.PathLike] | None) -> dict:
    """``{name: path}`` of the explorer's utterances: test-other names or audio files.
    Raises ``ValueError`` naming an item that is neither, or when there is none."""
    known = {u.name: u.path for u in data.utterances("test-other")}
    paths = {}
    for item in EXPLORER_UTTERANCES if utterances is None else utterances:
        if os.fspath(item) in known:
            paths[os.fspath(item)] = known[os.fspath(item)]
        elif os.path.isfile(item):
            paths[os.path.basename(os.fspath(item)).rsplit(".", 1)[0]] = item
        else:
            raise ValueError(
                f"utterance {item!r} is neither a test-other name (e.g. {next(iter(known))!r}) "
                f"nor an audio file"
            )
    if not paths:
        raise ValueError("utterances is empty: give at least one name or path")
    return paths


def loudness_alpha(S: np.ndarray, scale: float, temperature: float) -> np.ndarray:
    """Chapter 2's loudness attention on frames ``S: (C, T)``: ``alpha = softmax(e / tau)``
    with ``v = scale``, as ``(T,)``."""
    h = torch.from_numpy(S)[None]  # (1, C, T)
    W, b, v, k = loudness_attention(h, scale)
    e = pooling.attention_scores(h, W, b, v, k)  # (1, T)
    return pooling.attention_weights(e / temperature)[0].numpy()  # (T,)


def attention_explorer(utterances: Sequence[str | os.PathLike] | None = None):
    """An ipywidgets app: pick an utterance, the score scale ``v`` and the temperature ``tau``;
    it redraws the log-mel spectrogram with ``alpha = softmax(e / tau)`` over it and the
    effective number of frames. Chapter 2, "Try it".

    Args:
        utterances: test-other utterance names (``"3080-5032-0004"``) or paths to audio
            files; default :data:`EXPLORER_UTTERANCES`.

    Returns:
        An ``ipywidgets.VBox``; display it in a notebook.
    """
    paths = explorer_paths(utterances)
    frames_cache: dict[str, np.ndarray] = {}

    def log_mel_of(name: str) -> np.ndarray:
        if name not in frames_cache:
            frames_cache[name] = features.log_mel(data.load_audio(paths[name]))
        return frames_cache[name]

    choose = widgets.Dropdown(options=list(paths), description="utterance")
    scale = widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.05,
                                   description="scale v", continuous_update=False)
    temperature = widgets.FloatLogSlider(value=1.0, base=10, min=-2, max=2, step=0.05,
                                         description="temperature τ", continuous_update=False,
                                         style={"description_width": "initial"})
    summary, picture = widgets.HTML(), picture_widget()

    def redraw(_change=None) -> None:
        S = log_mel_of(choose.value)
        alpha = loudness_alpha(S, scale.value, temperature.value)
        n_eff = effective_frames(alpha)
        summary.value = (
            f"effective number of frames 1/Σα² = <b>{n_eff:.1f}</b> of T = {alpha.size} "
            f"({100 * n_eff / alpha.size:.1f}%)"
        )
        fig = viz.attention_on_spectrogram(
            S, alpha, features.HOP_SECONDS,
            title=f"{choose.value}: α = softmax(e / τ), v = {scale.value:.3g}, "
            f"τ = {temperature.value:.3g}",
        )
        picture.value = png_of(fig, dpi=100)

    for control in (choose, scale, temperature):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([choose, scale, temperature]), summary, picture])
