"""Multi-head attentive statistics pooling: between one weight per frame and one per channel.

Chapter 3 derives it. ``H`` heads share the scoring network's hidden layer ``f(W h_t + b)``;
head ``j`` has its own ``v_j`` and ``k_j``, so it is a scalar attention (one weight per
frame), and it weights the ``C / H`` channels of group ``j``:

    e_{t,j} = v_j^T f(W h_t + b) + k_j                      scores,  (B, H, T)
    alpha_{t,j} = softmax over t of e_{t,j}                weights, (B, H, T)
    mu_c = sum_t alpha_{t,g(c)} h_{t,c}, sigma_c likewise   g(c) = c // (C / H)

The heads' weighted means and standard deviations are concatenated over the channel
groups, not averaged, so the output is ``(B, 2C)`` as for the other poolings. ``H = 1`` is
the scalar attention of Okabe et al. (2018); ``H = C`` is the channel-wise attention of
ECAPA-TDNN (Desplanques et al., 2020) without its global context.

Heads over channel groups follow India et al. (2019, "Self multi-head attention for speaker
recognition", arXiv:1906.09890) and WeSpeaker's ``MHASTP`` (wespeaker/models/pooling_layers.py),
which concatenate the groups' pooled statistics. Unlike them, every head here scores the
whole frame through the one shared hidden layer; in their form head ``j`` sees only the
channels of its own group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .pooling import attention_scores, attention_weights, weighted_moments

__all__ = ["MultiHeadAttentiveStatisticsPooling"]


class MultiHeadAttentiveStatisticsPooling(nn.Module):
    """``h: (B, C, T)`` -> ``(B, 2C)``: ``[mu, sigma]``, channel group ``j`` weighted by head ``j``.

    Args:
        channels: ``C``, the channels of the frame features.
        heads: ``H``, the number of heads; it must divide ``C`` (each head weights
            ``C / H`` consecutive channels).
        attention_channels: ``A``, the hidden size of the shared scoring network
            (``W: (A, C)``, ``b: (A,)``); the heads' ``v`` is ``(H, A)``, ``k`` is ``(H,)``.

    Chapter 3.
    """

    def __init__(self, channels: int, heads: int, attention_channels: int = 128) -> None:
        super().__init__()
        if channels < 1 or heads < 1 or attention_channels < 1:
            raise ValueError(
                f"channels, heads and attention_channels must be positive, "
                f"got {channels}, {heads} and {attention_channels}"
            )
        if channels % heads:
            raise ValueError(
                f"heads={heads} must divide channels={channels}: each head weights "
                f"channels / heads channels"
            )
        self.channels, self.heads, self.attention_channels = channels, heads, attention_channels
        C, H, A = channels, heads, attention_channels
        # Initialised like AttentiveStatisticsPooling (and nn.Linear): uniform in +-1/sqrt(fan_in).
        self.W = nn.Parameter(_uniform((A, C), C))
        self.b = nn.Parameter(_uniform((A,), C))
        self.v = nn.Parameter(_uniform((H, A), A))
        self.k = nn.Parameter(_uniform((H,), A))

    def forward(
        self,
        h: torch.Tensor,
        lengths: torch.Tensor | Sequence[int] | None = None,
        return_attention: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``h: (B, C, T)`` -> pooled ``(B, 2C)``; with ``return_attention`` also the heads'
        weights ``(B, H, T)`` (each head's row sums to 1 over the valid frames, 0 on padding).

        ``lengths``: optional ``(B,)`` valid frame counts; padded frames change nothing.
        """
        if not isinstance(h, torch.Tensor) or h.dim() != 3 or h.shape[1] != self.channels:
            shape = tuple(h.shape) if isinstance(h, torch.Tensor) else type(h).__name__
            raise ValueError(
                f"h must have shape (B, C={self.channels}, T) for this pooling, got {shape}"
            )
        e = attention_scores(h, self.W, self.b, self.v, self.k)  # (B, H, T)
        # The weights stay in float32 (or float64) up to the moments, even for half inputs.
        alpha = attention_weights(e.to(torch.promote_types(e.dtype, torch.float32)), lengths)
        per_channel = alpha.repeat_interleave(self.channels // self.heads, dim=1)  # (B, C, T)
        mu, sigma = weighted_moments(h, per_channel)
        pooled = torch.cat([mu, sigma], dim=1)
        return (pooled, alpha.to(h.dtype)) if return_attention else pooled

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, heads={self.heads}, "
            f"attention_channels={self.attention_channels}"
        )


def _uniform(shape: tuple[int, ...], fan_in: int) -> torch.Tensor:
    bound = 1.0 / math.sqrt(fan_in)
    return torch.empty(shape).uniform_(-bound, bound)
