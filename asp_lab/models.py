"""A small x-vector encoder with a pluggable pooling layer, and the AAM-softmax head that
trains it.

The encoder follows the x-vector TDNN (Snyder et al., 2018), scaled down:

    log-mel (B, n_mels, T)
      -> 5 frame layers: Conv1d (kernel 5/3/3/1/1, dilation 1/2/3/1/1), each ReLU + BatchNorm
      -> frame features h (B, P, T')                      T' = T - 14 (valid convolutions)
      -> pooling: statistics or attentive statistics     (B, 2P)
      -> segment layer: Linear + ReLU + BatchNorm         (B, E)
      -> embedding: Linear                                (B, E)

The convolutions are *valid* (no padding), as in Kaldi's x-vector: each layer only looks at
real frames, and output frame ``t'`` sees input frames ``t' .. t' + 14`` (a 15-frame, 150 ms
context), centred on input frame ``t' + FRAME_OFFSET``. An utterance of ``L`` valid frames
has ``L - 14`` valid frame features, so zero-padding a batch changes nothing in eval mode.
(In training mode batch norm's statistics include padded frames: train on equal-length
crops, as :func:`asp_lab.data.random_crop` with ``(d, d)`` gives.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .pooling import AttentiveStatisticsPooling, StatisticsPooling, uniform_weights

__all__ = [
    "POOLINGS",
    "FRAME_LAYERS",
    "CONTEXT",
    "FRAME_OFFSET",
    "TDNN",
    "build_model",
    "AAMSoftmax",
    "pooling_of",
    "check_compatible",
    "save_checkpoint",
    "load_checkpoint",
    "count_parameters",
]

POOLINGS = ("stats", "asp-scalar", "asp-channel")

#: (kernel size, dilation) of the five frame layers, as in the x-vector TDNN.
FRAME_LAYERS = ((5, 1), (3, 2), (3, 3), (1, 1), (1, 1))
#: Frames the valid convolutions remove: sum of (kernel - 1) * dilation = 4 + 4 + 6 = 14.
CONTEXT = sum((k - 1) * d for k, d in FRAME_LAYERS)
#: Output frame t' is centred on input frame t' + FRAME_OFFSET (7 frames, 70 ms, later).
FRAME_OFFSET = CONTEXT // 2


class TDNN(nn.Module):
    """The x-vector encoder: frame layers, a pooling layer, segment layer, embedding.

    Args:
        pooling: a :class:`~asp_lab.pooling.StatisticsPooling` or an
            :class:`~asp_lab.pooling.AttentiveStatisticsPooling` over ``pool_channels``.
        n_mels: input feature channels; channels: width of frame layers 1-4;
        pool_channels: ``P``, width of frame layer 5, the features that are pooled;
        embed_dim: ``E``, the size of the embedding.

    Chapter 5; chapters 3 and 7 time it.
    """

    def __init__(
        self,
        pooling: nn.Module,
        n_mels: int = 40,
        channels: int = 256,
        pool_channels: int = 512,
        embed_dim: int = 128,
    ) -> None:
        super().__init__()
        widths = [n_mels] + [channels] * 4 + [pool_channels]
        self.frame_layers = nn.Sequential(
            *[
                nn.Sequential(
                    nn.Conv1d(c_in, c_out, kernel_size=k, dilation=d),
                    nn.ReLU(),
                    nn.BatchNorm1d(c_out),
                )
                for c_in, c_out, (k, d) in zip(widths[:-1], widths[1:], FRAME_LAYERS, strict=True)
            ]
        )
        self.pooling = pooling
        self.segment = nn.Sequential(
            nn.Linear(2 * pool_channels, embed_dim), nn.ReLU(), nn.BatchNorm1d(embed_dim)
        )
        self.embedding = nn.Linear(embed_dim, embed_dim)
        self.n_mels, self.embed_dim = n_mels, embed_dim

    @property
    def pooling_name(self) -> str:
        """``"stats"``, ``"asp-scalar"`` or ``"asp-channel"``."""
        if isinstance(self.pooling, AttentiveStatisticsPooling):
            return f"asp-{self.pooling.mode}"
        return "stats"

    @staticmethod
    def output_lengths(lengths: torch.Tensor) -> torch.Tensor:
        """Valid frame features for ``lengths`` valid input frames: ``lengths - 14``."""
        return lengths - CONTEXT

    def forward(
        self,
        features: torch.Tensor,
        lengths: torch.Tensor | Sequence[int] | None = None,
        return_attention: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``features: (B, n_mels, T)`` log-mel frames -> embeddings ``(B, E)``.

        Args:
            lengths: optional ``(B,)`` valid input frames per row (each ``15 .. T``).
            return_attention: also return the pooling weights over the ``T' = T - 14``
                frame features: ``(B, T')`` (``(B, P, T')`` for ``asp-channel``), summing to
                1 over the valid frames, 0 on padding. Statistics pooling returns its
                uniform weights ``1 / (lengths - 14)``.
        """
        if features.dim() != 3 or features.shape[1] != self.n_mels:
            raise ValueError(
                f"features must have shape (B, n_mels={self.n_mels}, T), "
                f"got {tuple(features.shape)}"
            )
        B, _, T = features.shape
        if T <= CONTEXT:
            raise ValueError(
                f"features have T={T} frames; the encoder needs at least {CONTEXT + 1}"
            )
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=features.device)
            if lengths.shape != (B,):
                raise ValueError(f"lengths must have shape ({B},), got {tuple(lengths.shape)}")
            for i, n in enumerate(lengths.tolist()):
                if not CONTEXT < n <= T:
                    raise ValueError(
                        f"lengths[{i}]={n}: expected {CONTEXT + 1} <= length <= T={T} frames"
                    )
            lengths = self.output_lengths(lengths)
        h = self.frame_layers(features)  # (B, P, T - 14)
        if isinstance(self.pooling, AttentiveStatisticsPooling):
            pooled, alpha = self.pooling(h, lengths, return_attention=True)
        else:
            pooled = self.pooling(h, lengths)
            alpha = uniform_weights(B, h.shape[-1], lengths, device=h.device)
        embedding = self.embedding(self.segment(pooled))
        return (embedding, alpha) if return_attention else embedding


def build_model(
    pooling: str,
    n_mels: int = 40,
    channels: int = 256,
    pool_channels: int = 512,
    embed_dim: int = 128,
    attention_channels: int = 128,
) -> TDNN:
    """A :class:`TDNN` with the named pooling: ``"stats"`` (Snyder et al., 2018),
    ``"asp-scalar"`` (one weight per frame, Okabe et al., 2018) or ``"asp-channel"`` (one
    weight per frame and channel, as in ECAPA-TDNN). The arguments are kept on the model as
    ``model.config``, so a checkpoint can rebuild it. Chapters 3 and 5."""
    if pooling == "stats":
        layer = StatisticsPooling()
    elif pooling in ("asp-scalar", "asp-channel"):
        layer = AttentiveStatisticsPooling(
            pool_channels, attention_channels, mode=pooling.removeprefix("asp-")
        )
    else:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    model = TDNN(layer, n_mels, channels, pool_channels, embed_dim)
    model.config = dict(
        pooling=pooling, n_mels=n_mels, channels=channels, pool_channels=pool_channels,
        embed_dim=embed_dim, attention_channels=attention_channels,
    )
    return model


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters. Chapter 3."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# ------------------------------------------------------------------------ the classifier


class AAMSoftmax(nn.Module):
    """Additive angular margin softmax (ArcFace: Deng et al., 2019, arXiv:1801.07698; for
    speaker embeddings: Xiang et al., 2019, arXiv:1906.07317).

    Each class ``j`` has a weight vector ``w_j``; ``cos theta_j`` is the cosine between the
    embedding and ``w_j``. The logit of the true class ``y`` becomes ``s cos(theta_y + m)``,
    the others ``s cos theta_j``: the true class must win by an angle ``m`` (radians) on the
    unit sphere, and ``s`` sets the softmax's sharpness. With ``m = 0`` and ``s = 1`` the
    logits are plain cosines.

    ``embeddings: (B, E)``, ``labels: (B,)`` class indices -> :meth:`logits` ``(B, n_classes)``;
    calling the module returns the cross-entropy loss of those logits.

    Chapter 5.
    """

    def __init__(
        self, embed_dim: int, n_classes: int, margin: float = 0.2, scale: float = 30.0
    ) -> None:
        super().__init__()
        if not 0 <= margin < math.pi / 2:
            raise ValueError(f"margin must be an angle in [0, pi/2) radians, got {margin}")
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self.weight = nn.Parameter(torch.empty(n_classes, embed_dim))
        nn.init.xavier_uniform_(self.weight)
        self.margin, self.scale = margin, scale

    def cosine(self, embeddings: torch.Tensor) -> torch.Tensor:
        """``(B, n_classes)`` cosines between each embedding and each class weight."""
        return F.linear(F.normalize(embeddings, dim=1), F.normalize(self.weight, dim=1))

    def logits(self, embeddings: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """``s cos theta``, with ``cos(theta_y + m)`` at each row's label if labels are given."""
        cos = self.cosine(embeddings)
        if labels is None:
            return self.scale * cos
        sin = (1.0 - cos.square()).clamp(min=1e-12).sqrt()
        cos_m = cos * math.cos(self.margin) - sin * math.sin(self.margin)  # cos(theta + m)
        # Past theta = pi - m, cos(theta + m) would rise again; use a linear penalty there
        # so the target logit keeps falling as theta grows (as in ArcFace's code).
        cos_m = torch.where(
            cos > -math.cos(self.margin), cos_m, cos - math.sin(self.margin) * self.margin
        )
        target = F.one_hot(labels, cos.shape[1]).bool()
        return self.scale * torch.where(target, cos_m, cos)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The mean cross-entropy loss over the batch."""
        return F.cross_entropy(self.logits(embeddings, labels), labels)


# -------------------------------------------------------------------------- checkpoints


def pooling_of(state_dict: dict) -> str:
    """The pooling a :class:`TDNN` state dict was saved from, read off its keys:
    ``"stats"`` (no pooling parameters), ``"asp-scalar"`` (``pooling.v`` is ``(A,)``) or
    ``"asp-channel"`` (``pooling.v`` is ``(P, A)``). Chapter 5."""
    v = state_dict.get("pooling.v")
    if v is None:
        return "stats"
    return "asp-scalar" if v.dim() == 1 else "asp-channel"


def check_compatible(model: nn.Module, state_dict: dict, pooling: str | None = None) -> None:
    """Raise a ValueError naming both poolings, and the differing keys, if ``state_dict``
    does not fit ``model`` (``pooling`` is the checkpoint's, read off the keys if None).
    Chapter 5."""
    ours = model.state_dict()
    theirs = pooling if pooling is not None else pooling_of(state_dict)
    mine = getattr(model, "pooling_name", "unknown")
    missing = sorted(set(ours) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(ours))
    shapes = [
        f"{k}: {tuple(state_dict[k].shape)} vs {tuple(ours[k].shape)}"
        for k in sorted(set(ours) & set(state_dict))
        if state_dict[k].shape != ours[k].shape
    ]
    if theirs != mine or missing or unexpected or shapes:
        raise ValueError(
            f"checkpoint with pooling {theirs!r} does not fit a model with pooling {mine!r}: "
            f"missing keys {missing[:6]}, unexpected keys {unexpected[:6]}, "
            f"shape mismatches {shapes[:6]}"
        )


def save_checkpoint(model: TDNN, path, **extra) -> None:
    """Save ``model.config``, the state dict and any ``extra`` entries (e.g. ``epoch``).
    Chapter 5."""
    torch.save({"config": model.config, "state_dict": model.state_dict(), **extra}, path)


def load_checkpoint(path_or_checkpoint, model: TDNN | None = None) -> TDNN:
    """A model with a checkpoint's weights, in eval mode.

    ``path_or_checkpoint`` is a file from :func:`save_checkpoint`, its loaded dict, or a bare
    state dict (then ``model`` is required). With ``model`` the weights go into it after
    :func:`check_compatible`; without, the model is rebuilt from the saved config.

    Chapter 5.
    """
    ckpt = path_or_checkpoint
    if not isinstance(ckpt, dict):
        ckpt = torch.load(ckpt, map_location="cpu", weights_only=True)
    state = ckpt.get("state_dict", ckpt)
    config = ckpt.get("config")
    if model is None:
        if config is None:
            raise ValueError("a bare state dict has no config: pass the model to load it into")
        model = build_model(**config)
    check_compatible(model, state, config["pooling"] if config else None)
    model.load_state_dict(state)
    return model.eval()
