"""Attentive statistics pooling (ASP): the three steps as functions, and the pooling layers.

Frame features ``h`` are ``(B, C, T)`` tensors, channels first as ``Conv1d`` makes them:
``B`` utterances, ``C`` channels, ``T`` frames. ``lengths`` is an optional ``(B,)`` integer
tensor of valid frame counts; frames at and after ``lengths[b]`` are padding and change
nothing.

- :mod:`~asp_lab.pooling.steps`: ``attention_scores`` (e_t = v^T f(W h_t + b) + k),
  ``attention_weights`` (softmax over time, padding masked), ``weighted_moments`` (weighted
  mean and two-pass standard deviation); chapter 2.
- :mod:`~asp_lab.pooling.layers`: ``StatisticsPooling``, ``AttentiveStatisticsPooling``.
- :mod:`~asp_lab.pooling.fast`: the layers' fast path (chapter 7); :mod:`~asp_lab.pooling.checks`:
  the input checks.
"""

from . import checks, fast, layers, steps
from .layers import AttentiveStatisticsPooling, StatisticsPooling
from .steps import (
    VAR_FLOOR,
    attention_scores,
    attention_weights,
    uniform_weights,
    weighted_moments,
)

__all__ = [
    "attention_scores",
    "attention_weights",
    "weighted_moments",
    "uniform_weights",
    "StatisticsPooling",
    "AttentiveStatisticsPooling",
    "VAR_FLOOR",
    "checks",
    "fast",
    "layers",
    "steps",
]
