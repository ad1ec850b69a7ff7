"""What a step optimises: the encoder with its AAM-softmax head, the learning-rate
schedule and the margin's ramp. Chapter 5.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..models import TDNN, AAMSoftmax
from .config import TrainConfig


class Trainable(nn.Module):
    """The encoder and its AAM head as one module, so DDP keeps both in sync. Chapter 5."""

    def __init__(self, encoder: TDNN, head: AAMSoftmax) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, feats: torch.Tensor, labels: torch.Tensor):
        emb = self.encoder(feats).float()
        loss = nn.functional.cross_entropy(self.head.logits(emb, labels), labels)
        with torch.no_grad():  # accuracy of the nearest class by cosine, without the margin
            correct = (self.head.cosine(emb).argmax(dim=1) == labels).sum()
        return loss, correct


def learning_rate(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up over ``warmup * steps``, then a cosine decay to 5 % of ``lr``.
    Chapter 5."""
    warm = max(1, round(cfg.warmup * cfg.steps))
    if step < warm:
        return cfg.lr * (step + 1) / warm
    progress = (step - warm) / max(1, cfg.steps - warm)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


def margin_at(step: int, cfg: TrainConfig) -> float:
    """The AAM margin: 0 for the first ``margin_ramp[0]`` of the steps (the classes form
    as with a plain cosine softmax), then rising linearly to ``margin`` at ``margin_ramp[1]``.
    Chapter 5."""
    begin, end = (f * cfg.steps for f in cfg.margin_ramp)
    if step >= end or end <= begin:
        return cfg.margin if step >= begin else 0.0
    return cfg.margin * max(0.0, (step - begin) / (end - begin))
