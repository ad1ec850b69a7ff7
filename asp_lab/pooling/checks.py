"""The input checks of the pooling steps and layers: each names what is wrong with ``h``
(its type, shape, dtype, a NaN or inf and where it is) or with ``lengths``.

A step checks its input every time it is called; a layer checks ``h`` once per forward
(:func:`asp_lab.pooling.layers.prepare`), with one sum for "all finite?" (chapter 7).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def check_frames(h: torch.Tensor, name: str = "h") -> None:
    """``h`` is a finite floating-point ``(B, C, T)`` tensor with ``T >= 1``, or an error says
    which of these it is not. Chapter 2 (every step's input); chapter 7 counts them."""
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


def check_lengths(
    lengths: torch.Tensor | Sequence[int] | None, batch: int, frames: int, device: torch.device
) -> torch.Tensor | None:
    """``lengths`` as a ``(B,)`` int64 tensor on ``device``; raise naming any bad entry.
    Chapter 1 (padding and masks)."""
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


def valid_frames(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, T) boolean mask, True where frame t < lengths[b]. Chapter 1 (padding and masks)."""
    return torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]
