"""WeSpeaker's attentive statistics pooling (``ASTP``), reimplemented (chapter 7).

Written here so that no WeSpeaker install is needed; ``tests/test_bench.py`` checks it
against WeSpeaker's formula written out with explicit sums.
"""

from __future__ import annotations

import torch
from torch import nn


class WeSpeakerASTP(nn.Module):
    """WeSpeaker's attentive statistics pooling (``ASTP``), reimplemented for the benchmark.

    Chapter 7.

    A faithful copy of ``ASTP`` in ``wespeaker/models/pooling_layers.py`` of
    https://github.com/wenet-e2e/wespeaker (Apache-2.0; read at commit 6b149b3): channel-wise
    scores through ``Conv1d -> tanh -> Conv1d``; global context by *concatenating* each
    frame with the utterance's mean and standard deviation repeated over time
    (``expand_as`` then ``torch.cat``: a ``(B, 3C, T)`` tensor), the standard deviation
    from ``torch.var`` (unbiased) plus 1e-7; the pooled standard deviation by the one-pass
    ``E[x^2] - mu^2`` clamped at 1e-7. No masking of padded frames (it takes no lengths).
    Only WeSpeaker's 4-D input (ResNet feature maps) is left out.

    ``h: (B, C, T)`` -> ``(B, 2C)``.
    """

    def __init__(self, in_dim: int, bottleneck_dim: int = 128,
                 global_context_att: bool = False) -> None:
        super().__init__()
        self.global_context_att = global_context_att
        self.linear1 = nn.Conv1d(in_dim * 3 if global_context_att else in_dim,
                                 bottleneck_dim, kernel_size=1)  # W and b
        self.linear2 = nn.Conv1d(bottleneck_dim, in_dim, kernel_size=1)  # V and k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.global_context_att:
            context_mean = torch.mean(x, dim=-1, keepdim=True).expand_as(x)
            context_std = torch.sqrt(torch.var(x, dim=-1, keepdim=True) + 1e-7).expand_as(x)
            x_in = torch.cat((x, context_mean, context_std), dim=1)
        else:
            x_in = x
        alpha = torch.tanh(self.linear1(x_in))
        alpha = torch.softmax(self.linear2(alpha), dim=2)
        mean = torch.sum(alpha * x, dim=2)
        var = torch.sum(alpha * (x**2), dim=2) - mean**2
        std = torch.sqrt(var.clamp(min=1e-7))
        return torch.cat([mean, std], dim=1)
