"""The pooling's fast path (chapter 7): the same formulas as :mod:`asp_lab.pooling.steps`,
computed with fewer passes over the ``(B, C, T)`` frames and fewer copies of them kept.

- ``W h_t + b`` at every frame as a kernel-size-1 convolution (as ECAPA-TDNN writes it);
- the weighted sums as ``einsum`` batched dot products, with no ``(B, C, T)`` product;
- the two-pass moments with a hand-written backward that keeps no deviations.

No checks here: the layers check their input once before they call these.
``tests/test_pooling.py`` proves each equal to its step to rounding.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .steps import VAR_FLOOR


def scores(h, W, b, v, k, f, context=None) -> torch.Tensor:
    """Step 1, ``e_t = v^T f(W h_t + b) + k``, on the convolution and without checks.
    Chapter 7 derives it (equal to chapter 2's step 1)."""
    z = at_every_frame(W, h, b)  # (B, A, T): W h_t + b for every frame t
    if context is not None:
        z = z + context[:, :, None].to(z.dtype)  # broadcast over time, no (B, 3C, T) tensor
    k = torch.as_tensor(k, dtype=z.dtype, device=z.device)
    if v.dim() == 1:  # one score per frame: (B, T)
        return at_every_frame(v[None, :], f(z), k.reshape(1)).squeeze(1)
    return at_every_frame(v, f(z), k.expand(v.shape[0]))  # one per frame and channel


def at_every_frame(W: torch.Tensor, h: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``W h_t + b`` for every frame ``t``: ``(A, C)``, ``(B, C, T)``, ``(A,)`` -> ``(B, A, T)``.

    That is a convolution with kernel size 1, as ECAPA-TDNN writes it (``nn.Conv1d``).
    PyTorch's convolution kernels add the bias in the same pass, and on the CPU that builds
    the book they ran it faster than ``torch.matmul(W, h) + b[:, None]`` (chapter 7 times
    both)."""
    return nn.functional.conv1d(h, W[:, :, None], b)


def weighted_sum(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """``sum_t a_t x_t``: ``(B, C, T)`` frames, ``(B, T)`` or ``(B, C, T)`` weights -> ``(B, C)``.

    As an ``einsum`` it is a batched dot product, with no ``(B, C, T)`` product in memory.
    Chapter 7."""
    return torch.einsum("bct,bt->bc" if a.dim() == 2 else "bct,bct->bc", x, a)


class _Moments(torch.autograd.Function):
    """``mu`` and ``sigma`` of ``x: (B, C, T)`` under weights ``a`` that sum to one over time,
    with the gradient written out by hand (chapter 7).

    Autograd would keep the deviations ``h_t - mu`` and their squares, two ``(B, C, T)``
    tensors, from the forward pass to the backward. Writing the backward keeps neither: it
    recomputes the deviations ``d_t = h_t - mu`` once and uses

    - ``d mu / d h_t = a_t`` and ``d var / d h_t = 2 a_t d_t`` (the path through ``mu``
      adds ``-2 a_t sum_s a_s d_s``, which is 0 because the ``a_s`` sum to one);
    - ``d mu / d a_t = h_t`` and ``d var / d a_t = d_t^2`` (the path through ``mu`` is
      again 0);
    - ``d sigma / d var = 1 / (2 sigma)``, and 0 where the variance was floored.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.autocast(x.device.type, enabled=False):  # sums stay in x's dtype
            mu = weighted_sum(x, a)  # first pass
            var = weighted_sum((x - mu[:, :, None]).square_(), a)  # second pass
            sigma = var.clamp(min=VAR_FLOOR).sqrt()
        ctx.save_for_backward(x, a, mu, sigma)
        return mu, sigma

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_mu: torch.Tensor, grad_sigma: torch.Tensor):
        x, a, mu, sigma = ctx.saved_tensors
        grad_var = torch.where(sigma > math.sqrt(VAR_FLOOR), grad_sigma / (2 * sigma), 0.0)
        d = x - mu[:, :, None]  # the deviations h_t - mu, (B, C, T)
        grad_x = grad_a = None
        if ctx.needs_input_grad[1]:  # dL/da_t = grad_mu h_t + grad_var d_t^2
            grad_a = d.square().mul_(grad_var[:, :, None]).addcmul_(x, grad_mu[:, :, None])
            if a.dim() == 2:  # one weight per frame: its gradient sums over the channels
                grad_a = grad_a.sum(dim=1)
        if ctx.needs_input_grad[0]:  # dL/dh_t = a_t (grad_mu + 2 grad_var d_t)
            w = a if a.dim() == 3 else a[:, None, :]
            grad_x = d.mul_(2 * grad_var[:, :, None]).add_(grad_mu[:, :, None]).mul_(w)
        return grad_x, grad_a


def moments(x: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Step 3 with the hand-written backward and without checks: ``x`` in float32 or
    float64, ``a`` summing to one in the same dtype, no NaN or inf in ``x`` where ``a`` is
    0. Chapter 7 derives it (equal to chapter 2's step 3)."""
    return _Moments.apply(x, a)


def equal_weights(valid: torch.Tensor | None, batch: int, frames: int, like: torch.Tensor):
    """``(B, T)`` weights ``1 / n_b`` on the valid frames, in ``like``'s dtype and device.
    Chapter 7."""
    if valid is None:
        return torch.full((batch, frames), 1.0 / frames, dtype=like.dtype, device=like.device)
    w = valid.to(like.dtype)
    return w / w.sum(dim=1, keepdim=True)
