"""What the benchmark measures (chapter 7): the layers, the sizes, the dtypes.

Every layer is built by ``builder(C, A)`` (``C`` channels, ``A`` attention channels) and maps
``h: (B, C, T)`` to ``(B, 2C)``. Ratios "vs SpeechBrain" compare a layer with the
SpeechBrain layer of the same global-context setting (:data:`SPEECHBRAIN_REF`).
``asp-ecapa`` (``-gc``) is asp_lab's layer in SpeechBrain's configuration (channel-wise,
scores through ReLU, batch norm and tanh): the same function as ``speechbrain-asp``
(``-gc``), so the ratio between the two compares like with like
(``tests/test_pooling_speechbrain.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .. import blog
from ..pooling import AttentiveStatisticsPooling, StatisticsPooling
from ..reference import WeSpeakerASTP, load_speechbrain_asp

SCHEMA = "asp_lab.bench/1"
#: (B, C, T): ECAPA-TDNN's pooling sees C = 1536 channels (3 x 512, the multi-layer
#: aggregation); C = 512 is a smaller encoder. T = 200 / 300 frames are 2 s / 3 s crops.
DEFAULT_SIZES: tuple[tuple[int, int, int], ...] = (
    (32, 512, 200), (32, 512, 300), (32, 1536, 200), (32, 1536, 300),
)
HEADLINE = (32, 1536, 300)  #: the size at which the targets are checked
ATTENTION_CHANNELS = 128
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class _SpeechBrainASP(nn.Module):
    """SpeechBrain's layer with the output squeezed to ``(B, 2C)`` like the others."""

    def __init__(self, cls: type[nn.Module], channels: int, attention_channels: int,
                 global_context: bool) -> None:
        super().__init__()
        self.inner = cls(channels, attention_channels=attention_channels,
                         global_context=global_context)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.inner(h).squeeze(-1)


def _asp(mode: str, gc: bool) -> Callable[[int, int], nn.Module]:
    return lambda C, A: AttentiveStatisticsPooling(C, A, mode=mode, global_context=gc)


def _asp_ecapa(gc: bool) -> Callable[[int, int], nn.Module]:
    """asp_lab's layer computing SpeechBrain's function: ReLU, batch norm, then tanh."""
    return lambda C, A: AttentiveStatisticsPooling(C, A, mode="channel", global_context=gc,
                                                   batch_norm=True, tanh=True)


def _speechbrain(gc: bool) -> Callable[[int, int], nn.Module]:
    def build(C: int, A: int) -> nn.Module:
        cls, reason = load_speechbrain_asp()
        if cls is None:
            raise ImportError(reason)
        return _SpeechBrainASP(cls, C, A, gc)

    return build


def _blog(C: int, A: int) -> nn.Module:
    if A != 128:
        raise ValueError(f"the post's block has 128 attention channels, asked for {A}")
    return blog.ASP(C)


#: name -> (builder(C, A), global context?, description). Ratios "vs SpeechBrain" compare a
#: layer with the SpeechBrain layer of the same global-context setting.
LAYERS: dict[str, tuple[Callable[[int, int], nn.Module], bool, str]] = {
    "stats": (lambda C, A: StatisticsPooling(), False, "asp_lab StatisticsPooling"),
    "asp-scalar": (_asp("scalar", False), False, "asp_lab ASP, one weight per frame"),
    "asp-scalar-gc": (_asp("scalar", True), True, "asp_lab ASP scalar, global context"),
    "asp-channel": (_asp("channel", False), False, "asp_lab ASP, one weight per channel"),
    "asp-channel-gc": (_asp("channel", True), True, "asp_lab ASP channel, global context"),
    "asp-ecapa": (_asp_ecapa(False), False,
                  "asp_lab ASP channel, SpeechBrain's scoring (ReLU, batch norm, tanh)"),
    "asp-ecapa-gc": (_asp_ecapa(True), True,
                     "asp_lab ASP channel, global context, SpeechBrain's scoring"),
    "blog-asp": (_blog, False, "the post's block (asp_lab.blog.ASP)"),
    "wespeaker-astp": (lambda C, A: WeSpeakerASTP(C, A), False,
                       "WeSpeaker ASTP (reimplemented in asp_lab.bench)"),
    "wespeaker-astp-gc": (lambda C, A: WeSpeakerASTP(C, A, True), True,
                          "WeSpeaker ASTP, global context by concatenation"),
    "speechbrain-asp": (_speechbrain(False), False, "SpeechBrain ECAPA_TDNN ASP"),
    "speechbrain-asp-gc": (_speechbrain(True), True,
                           "SpeechBrain ECAPA_TDNN ASP, global context (its default)"),
}
SPEECHBRAIN_REF = {False: "speechbrain-asp", True: "speechbrain-asp-gc"}
