"""The three steps of attentive statistics pooling, each an equation of chapter 2 in a few
lines after its input check.

1. :func:`attention_scores`:   e_t = v^T f(W h_t + b) + k
2. :func:`attention_weights`:  alpha_t = exp(e_t) / sum_tau exp(e_tau), padding masked
3. :func:`weighted_moments`:   mu = sum_t alpha_t h_t,  sigma = sqrt(sum_t alpha_t (h_t - mu)^2)

(Okabe et al., 2018, arXiv:1803.10963; channel-wise scores as in ECAPA-TDNN, Desplanques et
al., 2020, arXiv:2005.07143.) Statistics pooling is step 3 with :func:`uniform_weights`.
The layers (:mod:`asp_lab.pooling.layers`) compute the same with :mod:`asp_lab.pooling.fast`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .checks import check_frames, check_lengths, valid_frames

#: Floor on the variance before the square root. It keeps the gradient of sigma finite
#: when a channel is constant (d sqrt(x)/dx is infinite at 0; see pytorch issue #4320).
#: The moments are accumulated in at least float32, where 1e-12 is representable.
VAR_FLOOR = 1e-12


def attention_scores(
    h: torch.Tensor,
    W: torch.Tensor,
    b: torch.Tensor,
    v: torch.Tensor,
    k: torch.Tensor | float = 0.0,
    f: Callable[[torch.Tensor], torch.Tensor] = torch.relu,
    context: torch.Tensor | None = None,
) -> torch.Tensor:
    """Step 1, the scores: ``e_t = v^T f(W h_t + b) + k``.

    Args:
        h: ``(B, C, T)`` frame features.
        W: ``(A, C)`` projection to ``A`` attention channels; b: ``(A,)`` its bias.
        v: ``(A,)`` for one score per frame (Okabe et al. 2018: ``e`` is ``(B, T)``), or
           ``(C_out, A)`` for one score per frame and channel (ECAPA-TDNN: ``(B, C_out, T)``).
        k: scalar, or ``(C_out,)`` with a ``(C_out, A)`` ``v``. It shifts every score of a
           row by the same amount, so the softmax of step 2 cancels it.
        f: the non-linearity (ReLU in Okabe et al.; ECAPA uses ReLU, batch norm, tanh).
        context: optional ``(B, A)`` term added to ``W h_t + b`` at every frame: global
           context ``W_mu mu + W_sigma sigma``, computed once per utterance.

    Returns:
        e: ``(B, T)`` if ``v`` is 1-D, else ``(B, C_out, T)``.

    Chapter 2, step 1.
    """
    check_frames(h)
    C = h.shape[1]
    if W.dim() != 2 or W.shape[1] != C:
        raise ValueError(f"W must have shape (A, C) with C={C} channels of h, got {tuple(W.shape)}")
    A = W.shape[0]
    if b.shape != (A,):
        raise ValueError(f"b must have shape (A,) = ({A},), got {tuple(b.shape)}")
    if v.dim() not in (1, 2) or v.shape[-1] != A:
        raise ValueError(f"v must have shape (A,) or (C_out, A) with A={A}, got {tuple(v.shape)}")
    if context is not None and context.shape != (h.shape[0], A):
        raise ValueError(
            f"context must have shape (B, A) = ({h.shape[0]}, {A}), got {tuple(context.shape)}"
        )
    z = torch.einsum("ac,bct->bat", W, h) + b[:, None]  # W h_t + b at every frame: (B, A, T)
    if context is not None:
        z = z + context[:, :, None].to(z.dtype)  # the same context at every frame
    k = torch.as_tensor(k, dtype=z.dtype, device=z.device)
    if v.dim() == 1:
        return torch.einsum("a,bat->bt", v, f(z)) + k  # one score per frame: (B, T)
    return torch.einsum("ca,bat->bct", v, f(z)) + k[..., None]  # per frame and channel


def attention_weights(
    e: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None = None
) -> torch.Tensor:
    """Step 2, the weights: a softmax of the scores over time, ``alpha_t = exp(e_t) / sum exp(e)``.

    Padded frames (``t >= lengths[b]``) get a score of ``-inf`` before the softmax, so their
    weight is exactly 0 and the valid frames' weights sum to 1. The softmax subtracts each
    row's largest score first, so scores of any size are safe; it runs in float32 at least.

    Args:
        e: ``(B, T)`` scores, or ``(B, C, T)`` (one per frame and channel).
        lengths: optional ``(B,)`` valid frame counts, each in ``1..T``.

    Returns:
        alpha: the same shape and dtype as ``e``; sums to 1 over time.

    Chapter 2, step 2.
    """
    if not isinstance(e, torch.Tensor) or e.dim() not in (2, 3):
        shape = tuple(e.shape) if isinstance(e, torch.Tensor) else type(e).__name__
        raise ValueError(f"e must have shape (B, T) or (B, C, T), got {shape}")
    B, T = e.shape[0], e.shape[-1]
    lengths = check_lengths(lengths, B, T, e.device)
    dtype = e.dtype
    # Padding first, so that whatever scores padding got, they are ignored.
    e = mask_padding(e, None if lengths is None else valid_frames(lengths, T))
    if torch.isnan(e).any():
        raise ValueError("e contains NaN scores on valid frames")
    if (e == float("inf")).any():
        raise ValueError("e contains +inf scores; the softmax of such a row is undefined")
    empty = (e == float("-inf")).all(dim=-1)
    if empty.any():
        row = tuple(int(i) for i in empty.nonzero()[0])
        raise ValueError(f"row {row} of e has no valid frame: every score is -inf or padding")
    return torch.softmax(e, dim=-1).to(dtype)


def mask_padding(e: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
    """Scores in float32 at least, ``-inf`` on padding (``valid``: ``(B, T)`` or None).
    Chapter 2, step 2."""
    e = e.to(torch.promote_types(e.dtype, torch.float32))
    if valid is None:
        return e
    return e.masked_fill(~(valid if e.dim() == 2 else valid[:, None, :]), float("-inf"))


def uniform_weights(
    batch: int, frames: int, lengths: torch.Tensor | Sequence[int] | None = None, device=None
) -> torch.Tensor:
    """``(B, T)`` weights ``1 / lengths[b]`` on the valid frames and 0 on padding.
    Chapter 2 (statistics pooling as ASP)."""
    return attention_weights(torch.zeros(batch, frames, device=device), lengths)


def weighted_moments(h: torch.Tensor, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Step 3, the weighted mean and standard deviation over time.

    ``mu = sum_t alpha_t h_t`` and ``sigma = sqrt(sum_t alpha_t (h_t - mu)^2)``: two passes
    over the frames, the second on deviations from the mean. The one-pass shortcut
    ``sqrt(sum alpha h^2 - mu^2)`` subtracts two large, nearly equal numbers when the mean
    is large against the spread, and loses the spread to rounding (chapter 4).

    The sums run in at least float32 (float16 and bfloat16 inputs are upcast, the results
    cast back), and the variance is floored at ``VAR_FLOOR`` so the gradient of sigma stays
    finite where a channel is constant. The weights are divided by their sum (in float32):
    weights rounded to float16 or bfloat16 no longer sum to exactly one, and an error
    ``delta`` in that sum would shift mu by ``delta * mu`` and add ``(delta * mu)^2`` to the
    variance (chapter 4).

    Args:
        h: ``(B, C, T)`` frame features.
        alpha: ``(B, T)`` one weight per frame, or ``(B, C, T)`` one per frame and channel;
            non-negative, summing to 1 over time up to rounding (as ``attention_weights``
            returns).

    Returns:
        mu, sigma: ``(B, C)`` each, in ``h``'s dtype.
    """
    check_frames(h)
    B, C, T = h.shape
    if not isinstance(alpha, torch.Tensor) or alpha.dim() not in (2, 3):
        shape = tuple(alpha.shape) if isinstance(alpha, torch.Tensor) else type(alpha).__name__
        raise ValueError(f"alpha must have shape (B, T) or (B, C, T), got {shape}")
    expected = (B, T) if alpha.dim() == 2 else (B, C, T)
    if tuple(alpha.shape) != expected:
        raise ValueError(
            f"alpha of shape {tuple(alpha.shape)} does not match h of shape {(B, C, T)}: "
            f"expected {expected}"
        )
    acc = torch.promote_types(h.dtype, torch.float32)
    a = alpha.to(acc)
    if (a < 0).any():
        raise ValueError("alpha has negative weights; weights must be non-negative")
    total = a.sum(dim=-1, keepdim=True)
    if (total <= 0).any():
        raise ValueError("alpha has a row whose weights sum to 0; it weights no frame")
    a = a / total  # sums to one in float32, even if alpha was rounded to half precision
    x = h.to(acc)
    zero = a == 0 if a.dim() == 3 else (a == 0)[:, None, :]
    if zero.any():  # a frame of weight 0 adds nothing, whatever its value (even NaN)
        x = x.masked_fill(zero, 0.0)
    sum_t = "bct,bt->bc" if a.dim() == 2 else "bct,bct->bc"  # sum over frames t of a_t x_t
    with torch.autocast(x.device.type, enabled=False):  # the sums stay in float32 at least
        mu = torch.einsum(sum_t, x, a)  # first pass: mu = sum_t alpha_t h_t
        var = torch.einsum(sum_t, (x - mu[:, :, None]) ** 2, a)  # second: sum alpha (h - mu)^2
        sigma = var.clamp(min=VAR_FLOOR).sqrt()
    return mu.to(h.dtype), sigma.to(h.dtype)
