"""asp_lab: attentive statistics pooling, step by step.

The library under the asp_lab book. ``asp_lab.pooling`` holds the three steps of ASP
(scores, weights, weighted moments) and the pooling layers built from them.
"""

from . import pooling
from .inference import embed, frame_attention, load_model
from .pooling import AttentiveStatisticsPooling, StatisticsPooling

__version__ = "0.1.0"
__all__ = [
    "pooling",
    "AttentiveStatisticsPooling",
    "StatisticsPooling",
    "load_model",
    "embed",
    "frame_attention",
    "__version__",
]
