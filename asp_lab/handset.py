"""Attention with parameters set by hand, and how many frames it uses: chapter 2's maths.

Chapter 2 runs ASP's three steps before any network is trained, with ``W, b, v, k`` chosen
so that we know what the attention should do: score a frame by its loudness. The effective
number of frames, ``1 / sum_t alpha_t^2``, says how many frames the weights really average.
"""

from __future__ import annotations

import numpy as np
import torch


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
    weights, 1 when all the weight is on one frame. Chapter 2, step 2."""
    alpha = np.asarray(alpha, dtype=np.float64).ravel()
    return float(1.0 / np.sum(alpha**2))
