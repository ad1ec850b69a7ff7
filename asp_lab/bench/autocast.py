"""Autocast errors (chapter 7, after chapter 4): each layer's pooled mean and standard
deviation under ``torch.autocast`` with bfloat16 and with float16, against float32.

Frames with mean 0 and with a mean of 10 standard deviations, where a one-pass variance
loses the spread (chapter 4).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .layers import ATTENTION_CHANNELS, DTYPES, HEADLINE, LAYERS
from .timing import resolve_device

#: Mean of the frames, in standard deviations, for the autocast errors.
AUTOCAST_OFFSETS = (0.0, 10.0)


def autocast_errors(names: Sequence[str], size: tuple[int, int, int] = HEADLINE,
                    device: str = "cpu", attention_channels: int = ATTENTION_CHANNELS,
                    seed: int = 0) -> dict:
    """Relative error of each layer's pooled mean and standard deviation under autocast.
    Chapter 7 (the benchmark's float32 runs), after chapter 4's numerics.

    Returns ``{layer: {"bfloat16" | "float16": {"offset <m>": {"mu", "sigma", "finite"}}}}``
    for frames ``m + N(0, 1)``: ``|mu_amp - mu_32| / |mu_32|`` (vector norms), the same for
    sigma, and whether every pooled value was finite. A layer that cannot run is left out.
    """
    dev = resolve_device(device)
    B, C, T = size
    out: dict = {}
    for name in names:
        torch.manual_seed(seed)
        try:
            layer = LAYERS[name][0](C, attention_channels).to(dev).eval()
        except Exception:  # e.g. SpeechBrain absent; run() records the reason
            continue
        errors: dict = {}
        for offset in AUTOCAST_OFFSETS:
            gen = torch.Generator().manual_seed(seed)
            h = (torch.randn(B, C, T, generator=gen) + offset).to(dev)
            with torch.no_grad():
                ref = layer(h).double()
                for dt in ("bfloat16", "float16"):
                    with torch.autocast(dev.type, dtype=DTYPES[dt]):
                        got = layer(h).double()
                    rel = [float((got[:, k] - ref[:, k]).norm() / ref[:, k].norm())
                           for k in (slice(0, C), slice(C, 2 * C))]
                    errors.setdefault(dt, {})[f"offset {offset:g}"] = {
                        "mu": rel[0], "sigma": rel[1], "finite": bool(torch.isfinite(got).all())}
        out[name] = errors
    return out
