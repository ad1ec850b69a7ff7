"""Attentive statistics pooling (ASP), one step per function, and the pooling layers built
from them.

Frame features ``h`` are ``(B, C, T)`` tensors, channels first as ``Conv1d`` makes them:
``B`` utterances, ``C`` channels, ``T`` frames. ``lengths`` is an optional ``(B,)`` integer
tensor of valid frame counts; frames at and after ``lengths[b]`` are padding and change
nothing.

The three steps (Okabe et al., 2018, arXiv:1803.10963; channel-wise scores as in
ECAPA-TDNN, Desplanques et al., 2020, arXiv:2005.07143):

1. ``attention_scores``:   e_t = v^T f(W h_t + b) + k
2. ``attention_weights``:  alpha_t = exp(e_t) / sum_tau exp(e_tau), padding masked
3. ``weighted_moments``:   mu = sum_t alpha_t h_t,  sigma = sqrt(sum_t alpha_t (h_t - mu)^2)

Statistics pooling (Snyder et al., 2018) is step 3 with uniform weights 1/T.

Each step function checks its input and names what is wrong. The modules check ``h`` once
and then call unchecked versions of the steps (``_scores``, ``_moments``), so that a
forward pass walks over the ``(B, C, T)`` frames as few times as it can (chapter 7).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

__all__ = [
    "attention_scores",
    "attention_weights",
    "weighted_moments",
    "uniform_weights",
    "StatisticsPooling",
    "AttentiveStatisticsPooling",
]

#: Floor on the variance before the square root. It keeps the gradient of sigma finite
#: when a channel is constant (d sqrt(x)/dx is infinite at 0; see pytorch issue #4320).
#: The moments are accumulated in at least float32, where 1e-12 is representable.
VAR_FLOOR = 1e-12


# ----------------------------------------------------------------------------- checks


def _check_frames(h: torch.Tensor, name: str = "h") -> None:
    if not isinstance(h, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (B, C, T), got {type(h).__name__}")
    if h.dim() != 3:
        raise ValueError(
            f"{name} must have 3 dimensions (B, C, T) = (batch, channels, frames), "
            f"got shape {tuple(h.shape)}"
        )
    if not h.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {h.dtype}")
    if h.shape[-1] < 1:
        raise ValueError(f"{name} has no frames: shape {tuple(h.shape)} has T=0")
    # One NaN or inf makes the sum NaN or inf, so a sum (one read, no copy) answers "all
    # finite?"; only when it says no do we pay for a mask that locates the culprit.
    if not torch.isfinite(h.sum(dtype=torch.float32)):
        bad = ~torch.isfinite(h)
        if bad.any():  # else the sum overflowed: every value is finite, just large
            b, c, t = (int(i) for i in bad.nonzero()[0])
            raise ValueError(
                f"{name} contains NaN or inf ({int(bad.sum())} values; first at "
                f"batch {b}, channel {c}, frame {t}: {h[b, c, t].item()})"
            )


def _check_lengths(
    lengths: torch.Tensor | Sequence[int] | None, batch: int, frames: int, device: torch.device
) -> torch.Tensor | None:
    """``lengths`` as a ``(B,)`` int64 tensor on ``device``; raise naming any bad entry."""
    if lengths is None:
        return None
    lengths = torch.as_tensor(lengths, device=device)
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must hold integer frame counts, got dtype {lengths.dtype}")
    if lengths.shape != (batch,):
        raise ValueError(
            f"lengths must have shape (B,) = ({batch},), one frame count per row, "
            f"got shape {tuple(lengths.shape)}"
        )
    for i, n in enumerate(lengths.tolist()):
        if n < 1:
            raise ValueError(f"lengths[{i}]={n}: every row needs at least one valid frame")
        if n > frames:
            raise ValueError(f"lengths[{i}]={n} exceeds T={frames} frames")
    return lengths.long()


def _valid_frames(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, T) boolean mask, True where frame t < lengths[b]."""
    return torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]


# ------------------------------------------------------------------------ the three steps


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
    """
    _check_frames(h)
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
    return _scores(h, W, b, v, k, f, context)


def _scores(h, W, b, v, k, f, context=None) -> torch.Tensor:
    """``attention_scores`` without the checks (the modules check their input once)."""
    z = _at_every_frame(W, h, b)  # (B, A, T): W h_t + b for every frame t
    if context is not None:
        z = z + context[:, :, None].to(z.dtype)  # broadcast over time, no (B, 3C, T) tensor
    k = torch.as_tensor(k, dtype=z.dtype, device=z.device)
    if v.dim() == 1:  # one score per frame: (B, T)
        return _at_every_frame(v[None, :], f(z), k.reshape(1)).squeeze(1)
    return _at_every_frame(v, f(z), k.expand(v.shape[0]))  # one per frame and channel


def _at_every_frame(W: torch.Tensor, h: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``W h_t + b`` for every frame ``t``: ``(A, C)``, ``(B, C, T)``, ``(A,)`` -> ``(B, A, T)``.

    That is a convolution with kernel size 1, as ECAPA-TDNN writes it (``nn.Conv1d``).
    PyTorch's convolution kernels add the bias in the same pass, and on the CPU that builds
    the book they ran it faster than ``torch.matmul(W, h) + b[:, None]`` (chapter 7 times
    both)."""
    return nn.functional.conv1d(h, W[:, :, None], b)


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
    """
    if not isinstance(e, torch.Tensor) or e.dim() not in (2, 3):
        shape = tuple(e.shape) if isinstance(e, torch.Tensor) else type(e).__name__
        raise ValueError(f"e must have shape (B, T) or (B, C, T), got {shape}")
    B, T = e.shape[0], e.shape[-1]
    lengths = _check_lengths(lengths, B, T, e.device)
    dtype = e.dtype
    # Padding first, so that whatever scores padding got, they are ignored.
    e = _mask_padding(e, None if lengths is None else _valid_frames(lengths, T))
    if torch.isnan(e).any():
        raise ValueError("e contains NaN scores on valid frames")
    if (e == float("inf")).any():
        raise ValueError("e contains +inf scores; the softmax of such a row is undefined")
    empty = (e == float("-inf")).all(dim=-1)
    if empty.any():
        row = tuple(int(i) for i in empty.nonzero()[0])
        raise ValueError(f"row {row} of e has no valid frame: every score is -inf or padding")
    return torch.softmax(e, dim=-1).to(dtype)


def _mask_padding(e: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
    """Scores in float32 at least, ``-inf`` on padding (``valid``: ``(B, T)`` or None)."""
    e = e.to(torch.promote_types(e.dtype, torch.float32))
    if valid is None:
        return e
    return e.masked_fill(~(valid if e.dim() == 2 else valid[:, None, :]), float("-inf"))


def uniform_weights(
    batch: int, frames: int, lengths: torch.Tensor | Sequence[int] | None = None, device=None
) -> torch.Tensor:
    """``(B, T)`` weights ``1 / lengths[b]`` on the valid frames and 0 on padding."""
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
    _check_frames(h)
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
    mu, sigma = _moments(x, a)
    return mu.to(h.dtype), sigma.to(h.dtype)


def _weighted_sum(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """``sum_t a_t x_t``: ``(B, C, T)`` frames, ``(B, T)`` or ``(B, C, T)`` weights -> ``(B, C)``.

    As an ``einsum`` it is a batched dot product, with no ``(B, C, T)`` product in memory."""
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
            mu = _weighted_sum(x, a)  # first pass
            var = _weighted_sum((x - mu[:, :, None]).square_(), a)  # second pass
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


def _moments(x: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``weighted_moments`` without the checks: ``x`` in float32 or float64, ``a`` summing
    to one in the same dtype, no NaN or inf in ``x`` where ``a`` is 0."""
    return _Moments.apply(x, a)


def _equal_weights(valid: torch.Tensor | None, batch: int, frames: int, like: torch.Tensor):
    """``(B, T)`` weights ``1 / n_b`` on the valid frames, in ``like``'s dtype and device."""
    if valid is None:
        return torch.full((batch, frames), 1.0 / frames, dtype=like.dtype, device=like.device)
    w = valid.to(like.dtype)
    return w / w.sum(dim=1, keepdim=True)


def _prepare(h: torch.Tensor, lengths) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Check ``h`` and ``lengths`` once, for a module's forward. Returns ``h`` with 0 on the
    padding (whatever it held, it can then change nothing) and the ``(B, T)`` mask of valid
    frames, or None when no row is padded."""
    _check_frames(h)
    B, _, T = h.shape
    lengths = _check_lengths(lengths, B, T, h.device)
    if lengths is None or bool((lengths == T).all()):
        return h, None
    valid = _valid_frames(lengths, T)
    return h.masked_fill(~valid[:, None, :], 0.0), valid


# ------------------------------------------------------------------------------ modules


class StatisticsPooling(nn.Module):
    """Mean and standard deviation over the valid frames (Snyder et al., 2018).

    ``h: (B, C, T)`` -> ``(B, 2C)``: ``[mu, sigma]``, with the population standard deviation
    (divide by the number of frames), so that it equals ASP with uniform weights exactly.
    """

    def forward(
        self, h: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None = None
    ) -> torch.Tensor:
        h, valid = _prepare(h, lengths)
        x = h.to(torch.promote_types(h.dtype, torch.float32))
        mu, sigma = _moments(x, _equal_weights(valid, h.shape[0], h.shape[-1], like=x))
        return torch.cat([mu, sigma], dim=1).to(h.dtype)


class AttentiveStatisticsPooling(nn.Module):
    """Attentive statistics pooling: weighted mean and standard deviation over time.

    ``h: (B, C, T)`` -> ``(B, 2C)``: ``[mu, sigma]`` under attention weights alpha.

    Args:
        channels: ``C``, the channels of the frame features.
        attention_channels: ``A``, the hidden size of the scoring network (``W: (A, C)``).
        mode: ``"scalar"``, one weight per frame, shared by all channels (Okabe et al.,
            2018); or ``"channel"``, one weight per frame and channel (ECAPA-TDNN, and the
            code of the post this book starts from).
        global_context: join each frame with the utterance's unweighted mean and standard
            deviation before scoring (ECAPA-TDNN). Computed as ``W_h h_t + (W_mu mu +
            W_sigma sigma)``, the second term once per utterance and broadcast over time,
            which equals ``W [h_t; mu; sigma]`` without building a ``(B, 3C, T)`` tensor.
        batch_norm: apply ``BatchNorm1d(A)`` after the ReLU, as the post's prose (and
            Okabe et al.) describe; the post's code has none.
    """

    def __init__(
        self,
        channels: int,
        attention_channels: int = 128,
        mode: str = "scalar",
        global_context: bool = False,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        if mode not in ("scalar", "channel"):
            raise ValueError(f'mode must be "scalar" or "channel", got {mode!r}')
        if channels < 1 or attention_channels < 1:
            raise ValueError(
                f"channels and attention_channels must be positive, "
                f"got {channels} and {attention_channels}"
            )
        self.channels, self.attention_channels = channels, attention_channels
        self.mode, self.global_context = mode, global_context
        C, A = channels, attention_channels
        out = 1 if mode == "scalar" else C
        # Initialised like nn.Conv1d / nn.Linear: uniform in +-1/sqrt(fan_in).
        self.W = nn.Parameter(_uniform((A, C), C))
        self.b = nn.Parameter(_uniform((A,), C))
        self.W_context = nn.Parameter(_uniform((A, 2 * C), 3 * C)) if global_context else None
        self.norm = nn.BatchNorm1d(A) if batch_norm else None
        self.v = nn.Parameter(_uniform((A,) if mode == "scalar" else (out, A), A))
        self.k = nn.Parameter(_uniform(() if mode == "scalar" else (out,), A))

    def f(self, z: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        """The non-linearity between the two affine maps: ReLU, then batch norm if enabled.

        ``z: (B, A, T)``. With ``valid`` (a ``(B, T)`` mask), batch norm sees the valid frames
        only, so that in training mode padding does not enter its batch statistics either.
        """
        z = torch.relu(z)
        if self.norm is None:
            return z
        if valid is None:
            return self.norm(z)
        frames = z.transpose(1, 2)  # (B, T, A)
        out = torch.zeros_like(frames)
        out[valid] = self.norm(frames[valid])  # (N_valid, A): statistics over real frames
        return out.transpose(1, 2)

    def forward(
        self,
        h: torch.Tensor,
        lengths: torch.Tensor | Sequence[int] | None = None,
        return_attention: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``h: (B, C, T)`` -> pooled ``(B, 2C)``, and with ``return_attention`` also alpha:
        ``(B, T)`` in scalar mode, ``(B, C, T)`` in channel mode (0 on padding)."""
        # The three steps, with the input checked once here rather than in each step.
        h, valid = _prepare(h, lengths)
        if h.shape[1] != self.channels:
            raise ValueError(
                f"h has {h.shape[1]} channels but this pooling was built for "
                f"channels={self.channels}: shape {tuple(h.shape)}"
            )
        if h.dtype != self.W.dtype and not torch.is_autocast_enabled(h.device.type):
            raise ValueError(
                f"h is {h.dtype} but this pooling's parameters are {self.W.dtype}: convert "
                f"one to the other (e.g. pool.to({h.dtype})) or run under torch.autocast"
            )
        B, _, T = h.shape
        x = h.to(torch.promote_types(h.dtype, torch.float32))  # the moments' precision
        context = None
        if self.W_context is not None:  # W_mu mu + W_sigma sigma, once per utterance
            mu, sigma = _moments(x, _equal_weights(valid, B, T, like=x))
            context = torch.cat([mu, sigma], dim=1).to(self.W_context.dtype) @ self.W_context.T
        e = _scores(h, self.W, self.b, self.v, self.k, lambda z: self.f(z, valid), context)
        # The weights stay in float32 (or float64) up to the moments, even for half inputs.
        alpha = torch.softmax(_mask_padding(e, valid), dim=-1)
        mu, sigma = _moments(x, alpha)
        pooled = torch.cat([mu, sigma], dim=1).to(h.dtype)
        return (pooled, alpha.to(h.dtype)) if return_attention else pooled

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, attention_channels={self.attention_channels}, "
            f"mode={self.mode!r}, global_context={self.global_context}, "
            f"batch_norm={self.norm is not None}"
        )


def _uniform(shape: tuple[int, ...], fan_in: int) -> torch.Tensor:
    bound = 1.0 / math.sqrt(fan_in)
    return torch.empty(shape).uniform_(-bound, bound)
