"""The book's ipywidgets apps, one section per chapter.

Each app needs a running kernel (JupyterLab, Colab). The built book cannot run them, so
each has a static twin in its chapter: a plotly figure with precomputed states, built by a
function in :mod:`asp_lab.viz`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch

# ------------------------------------------ chapter 2: attention explorer (ASP step by step)

#: The test-other utterances the chapter 2 explorer offers (5 to 7 s each, 3 F and 2 M).
EXPLORER_UTTERANCES = (
    "3080-5032-0004",
    "2033-164914-0003",
    "1998-15444-0001",
    "2609-156975-0005",
    "3331-159605-0003",
)


def loudness_attention(
    h: torch.Tensor, scale: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The untrained attention of chapter 2, which scores a frame by its loudness.

    ``e_t = v^T f(W h_t + b) + k`` with one hidden unit (``A = 1``): ``W = 1/C`` averages
    the ``C`` log-mel bands (the frame's loudness, natural log of power), ``b`` subtracts the
    median loudness of the utterance, ``f = ReLU`` sets every frame below the median to 0,
    ``v = scale`` converts nats above the median into score, and ``k = 0``.

    Args:
        h: ``(1, C, T)`` log-mel frames of one utterance.
        scale: ``v``, score per nat of loudness above the median.

    Returns:
        ``W: (1, C)``, ``b: (1,)``, ``v: (1,)``, ``k: ()``, in ``h``'s dtype, ready for
        :func:`asp_lab.pooling.attention_scores`.
    """
    if h.dim() != 3 or h.shape[0] != 1:
        raise ValueError(f"h must hold one utterance, shape (1, C, T), got {tuple(h.shape)}")
    C = h.shape[1]
    W = torch.full((1, C), 1.0 / C, dtype=h.dtype)
    threshold = h.mean(dim=1).median()  # median frame loudness
    b = -threshold.reshape(1)
    v = torch.tensor([scale], dtype=h.dtype)
    k = torch.tensor(0.0, dtype=h.dtype)
    return W, b, v, k


def effective_frames(alpha: torch.Tensor | np.ndarray) -> float:
    """``1 / sum_t alpha_t^2`` for weights ``alpha: (T,)`` summing to 1: ``T`` for uniform
    weights, 1 when all the weight is on one frame."""
    alpha = np.asarray(alpha, dtype=np.float64).ravel()
    return float(1.0 / np.sum(alpha**2))


def attention_explorer(utterances: Sequence[str | os.PathLike] | None = None):
    """An ipywidgets app: pick an utterance, the score scale ``v`` and the temperature ``tau``;
    it redraws the log-mel spectrogram with ``alpha = softmax(e / tau)`` over it and the
    effective number of frames.

    Args:
        utterances: test-other utterance names (``"3080-5032-0004"``) or paths to audio
            files; default :data:`EXPLORER_UTTERANCES`.

    Returns:
        An ``ipywidgets.VBox``; display it in a notebook.
    """
    import io

    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from . import data, features, pooling, viz

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
    frames_cache: dict[str, np.ndarray] = {}

    def log_mel_of(name: str) -> np.ndarray:
        if name not in frames_cache:
            frames_cache[name] = features.log_mel(data.load_audio(paths[name]))
        return frames_cache[name]

    choose = widgets.Dropdown(options=list(paths), description="utterance")
    scale = widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.05,
                                   description="scale v", continuous_update=False)
    temperature = widgets.FloatLogSlider(value=1.0, base=10, min=-2, max=2, step=0.05,
                                         description="temperature τ", continuous_update=False)
    summary = widgets.HTML()
    # The figure goes in as PNG bytes: no dependence on the notebook's matplotlib backend,
    # and the widget's state alone says what is shown.
    picture = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="900px"))

    def redraw(_change=None) -> None:
        S = log_mel_of(choose.value)
        h = torch.from_numpy(S)[None]  # (1, C, T)
        W, b, v, k = loudness_attention(h, scale.value)
        e = pooling.attention_scores(h, W, b, v, k)  # (1, T)
        alpha = pooling.attention_weights(e / temperature.value)[0].numpy()  # (T,)
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
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=100)
        plt.close(fig)
        picture.value = png.getvalue()

    for control in (choose, scale, temperature):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([choose, scale, temperature]), summary, picture])
