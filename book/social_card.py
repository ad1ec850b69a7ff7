"""Draw the book's social card, book/_static/social-card.png (1200 x 630 px): the picture a
link to the site shows when shared (og:image, set in _config.yml).

It is chapter 2's figure in small: a LibriSpeech utterance's log-mel frames with the
loudness attention weights over them. Run ``make social-card`` (or
``python book/social_card.py``) after changing it; the PNG is committed.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from asp_lab import data, features, pooling  # noqa: E402

OUT = Path(__file__).resolve().parent / "_static" / "social-card.png"
UTTERANCE = "3080-5032-0004"  # chapter 2's utterance
WIDTH_PX, HEIGHT_PX, DPI = 1200, 630, 100


def main() -> Path:
    utterance = {u.name: u for u in data.utterances("test-other")}[UTTERANCE]
    S = features.log_mel(data.load_audio(utterance.path))  # (C, T)
    loud = S.mean(axis=0)  # (T,) mean log-mel per frame
    scores = torch.from_numpy(np.maximum(loud - np.median(loud), 0.0))[None]  # (1, T)
    alpha = pooling.attention_weights(scores, torch.tensor([S.shape[1]]))[0].numpy()
    times = features.frame_times(S.shape[1])

    fig = plt.figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor="white")
    fig.text(0.05, 0.88, "asp_lab", fontsize=40, weight="bold", color="#1a1a1a")
    fig.text(0.05, 0.79, "attentive statistics pooling, step by step", fontsize=24, color="#333333")
    ax = fig.add_axes((0.05, 0.1, 0.9, 0.62))
    ax.imshow(
        S,
        origin="lower",
        aspect="auto",
        cmap="gray",
        extent=(times[0], times[-1], -0.5, S.shape[0] - 0.5),
    )
    ax.set_xticks([])
    ax.set_yticks([])
    weights = ax.twinx()
    weights.plot(times, alpha, color="tab:orange", linewidth=2.2)
    weights.axhline(1 / alpha.size, color="white", linestyle="--", linewidth=1.5)
    weights.set_ylim(0, alpha.max() * 1.1)
    weights.set_yticks([])
    fig.text(
        0.05,
        0.035,
        "attention weights (orange) over a LibriSpeech utterance's log-mel "
        "frames; dashed: uniform 1/T",
        fontsize=14,
        color="#555555",
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=DPI, facecolor="white")
    plt.close(fig)
    return OUT


if __name__ == "__main__":
    print(main())
