"""What defines a training run: :class:`TrainConfig`, saved in every checkpoint and record.

Chapter 5 trains with it; ``make models`` trains the shipped models with its defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

SEEN_NOISES = ("doing_the_dishes", "white_noise")  #: added in training
UNSEEN_NOISES = ("running_tap", "pink_noise")  #: kept for testing only


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in its checkpoint and provenance).

    The model is deliberately small (about 0.1 M parameters) so that one model trains in a
    few minutes on two CPU cores; ``channels`` etc. are :func:`asp_lab.models.build_model`'s.
    Chapter 5.
    """

    pooling: str = "asp-scalar"
    seed: int = 0
    noise_aug: bool = True
    steps: int = 1200
    batch_size: int = 32  #: over all DDP ranks together
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup: float = 0.05  #: fraction of the steps with a linear learning-rate warm-up
    channels: int = 64
    pool_channels: int = 128
    embed_dim: int = 128
    attention_channels: int = 32
    margin: float = 0.2  #: AAM margin: 0 until ``margin_ramp[0]`` of the steps, then
    margin_ramp: tuple[float, float] = (0.2, 0.5)  #: rising linearly to full by ``[1]``
    scale: float = 30.0
    crop_seconds: tuple[float, float] = (2.0, 3.0)
    noise_prob: float = 0.6
    snr_db: tuple[float, float] = (0.0, 20.0)
    whole_crop_prob: float = 0.5  #: of the noisy crops, how many get noise throughout
    noises: tuple[str, ...] = SEEN_NOISES
    n_speakers: int | None = None  #: use only the first N training speakers (tests)
    log_every: int = 10
    grad_clip: float = 5.0

    def __post_init__(self) -> None:
        self.crop_seconds = tuple(self.crop_seconds)
        self.snr_db = tuple(self.snr_db)
        self.margin_ramp = tuple(self.margin_ramp)
        self.noises = tuple(self.noises)
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch_size must be positive, got {self.steps}, "
                             f"{self.batch_size}")

    @property
    def name(self) -> str:
        """``<pooling>[-clean]-seed<seed>``, e.g. ``asp-scalar-seed0``."""
        return f"{self.pooling}{'' if self.noise_aug else '-clean'}-seed{self.seed}"

    def model_kwargs(self) -> dict:
        return dict(pooling=self.pooling, channels=self.channels,
                    pool_channels=self.pool_channels, embed_dim=self.embed_dim,
                    attention_channels=self.attention_channels)
