"""The pooling layers: statistics pooling and attentive statistics pooling (scalar or
channel-wise, with or without global context), the modules a network uses.

Statistics pooling: Snyder et al., 2018. ASP: Okabe et al., 2018 (scalar weights);
channel-wise weights and global context: ECAPA-TDNN (Desplanques et al., 2020). Shapes:
``h: (B, C, T)`` -> ``(B, 2C)``; frames at and after ``lengths[b]`` change nothing.

A forward pass checks ``h`` once (:func:`prepare`) and then runs the three steps of
:mod:`asp_lab.pooling.steps` on their fast path, :mod:`asp_lab.pooling.fast` (chapter 7),
which the tests prove equal to the steps to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from . import checks, fast
from .steps import mask_padding


def prepare(h: torch.Tensor, lengths) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Check ``h`` and ``lengths`` once, for a module's forward. Returns ``h`` with 0 on the
    padding (whatever it held, it can then change nothing) and the ``(B, T)`` mask of valid
    frames, or None when no row is padded. Chapter 7 (check once)."""
    checks.check_frames(h)
    B, _, T = h.shape
    lengths = checks.check_lengths(lengths, B, T, h.device)
    if lengths is None or bool((lengths == T).all()):
        return h, None
    valid = checks.valid_frames(lengths, T)
    return h.masked_fill(~valid[:, None, :], 0.0), valid



class StatisticsPooling(nn.Module):
    """Mean and standard deviation over the valid frames (Snyder et al., 2018).

    ``h: (B, C, T)`` -> ``(B, 2C)``: ``[mu, sigma]``, with the population standard deviation
    (divide by the number of frames), so that it equals ASP with uniform weights exactly.

    Chapter 1.
    """

    def forward(
        self, h: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None = None
    ) -> torch.Tensor:
        h, valid = prepare(h, lengths)
        x = h.to(torch.promote_types(h.dtype, torch.float32))
        mu, sigma = fast.moments(x, fast.equal_weights(valid, h.shape[0], h.shape[-1], like=x))
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
        tanh: apply tanh last, after the ReLU (and the batch norm): the order of
            ECAPA-TDNN's reference code, SpeechBrain's ``AttentiveStatisticsPooling``
            (``speechbrain/lobes/models/ECAPA_TDNN.py``: a ``TDNNBlock``, which is
            convolution, ReLU, ``BatchNorm1d``, then ``nn.Tanh``, then the convolution to
            the scores). With ``mode="channel", batch_norm=True, tanh=True`` this layer
            computes SpeechBrain's, global context or not, except in training mode on
            padded batches, where SpeechBrain's batch statistics include the padded frames
            and these do not (``tests/test_pooling_speechbrain.py`` copies the weights
            across and compares).

    Chapter 2 (built step by step), 3 (the variants), 4 (numerics), 5 and 6 (inside the
    trained models), 7 (the benchmark).
    """

    def __init__(
        self,
        channels: int,
        attention_channels: int = 128,
        mode: str = "scalar",
        global_context: bool = False,
        batch_norm: bool = False,
        tanh: bool = False,
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
        self.tanh = tanh
        self.v = nn.Parameter(_uniform((A,) if mode == "scalar" else (out, A), A))
        self.k = nn.Parameter(_uniform(() if mode == "scalar" else (out,), A))

    def f(self, z: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        """The non-linearity between the two affine maps: ReLU, then batch norm if enabled,
        then tanh if enabled (SpeechBrain's order).

        ``z: (B, A, T)``. With ``valid`` (a ``(B, T)`` mask), batch norm sees the valid frames
        only, so that in training mode padding does not enter its batch statistics either.
        """
        z = torch.relu(z)
        if self.norm is not None:
            z = self._norm(z, valid)
        return torch.tanh(z) if self.tanh else z

    def _norm(self, z: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
        """Batch norm of ``z: (B, A, T)``, its statistics over the valid frames only."""
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
        # The three steps of asp_lab.pooling.steps, on the fast path (asp_lab.pooling.fast),
        # with the input checked once here rather than in each step.
        h, valid = prepare(h, lengths)
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
            mu, sigma = fast.moments(x, fast.equal_weights(valid, B, T, like=x))
            context = torch.cat([mu, sigma], dim=1).to(self.W_context.dtype) @ self.W_context.T
        e = fast.scores(h, self.W, self.b, self.v, self.k, lambda z: self.f(z, valid), context)
        # The weights stay in float32 (or float64) up to the moments, even for half inputs.
        alpha = torch.softmax(mask_padding(e, valid), dim=-1)
        mu, sigma = fast.moments(x, alpha)
        pooled = torch.cat([mu, sigma], dim=1).to(h.dtype)
        return (pooled, alpha.to(h.dtype)) if return_attention else pooled

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, attention_channels={self.attention_channels}, "
            f"mode={self.mode!r}, global_context={self.global_context}, "
            f"batch_norm={self.norm is not None}" + (", tanh=True" if self.tanh else "")
        )


def _uniform(shape: tuple[int, ...], fan_in: int) -> torch.Tensor:
    bound = 1.0 / math.sqrt(fan_in)
    return torch.empty(shape).uniform_(-bound, bound)
