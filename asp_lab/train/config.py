"""What defines a training run: :class:`TrainConfig`, saved in every checkpoint and record.

Chapter 5 trains with it; ``make models`` trains the shipped models with its defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

SEEN_NOISES = ("doing_the_dishes", "white_noise")  #: added in training
UNSEEN_NOISES = ("running_tap", "pink_noise")  #: kept for testing only
#: Generated noise families in training (:func:`asp_lab.train.recipe.generated_noise`).
GENERATED_NOISES = ("coloured", "band", "modulated", "tones")


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
    steps: int = 2400
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
    # The corruption recipe (asp_lab.train.recipe.corrupt), the same for every pooling:
    noise_prob: float = 0.7  #: of the crops, how many are corrupted
    whole_crop_prob: float = 0.2  #: of those, noise added over the whole crop; the rest
    segment_fraction: tuple[float, float] = (0.2, 0.6)  #: get a segment this long, which is
    replace_prob: float = 0.7  #: replaced by noise (no speech left there), else noise added
    pause_prob: float = 0.1  #: of the segments, a pause: a faint floor, this far down (dB)
    pause_snr_db: tuple[float, float] = (30.0, 50.0)
    snr_db: tuple[float, float] = (-5.0, 20.0)  #: uniform; mix_noise defines it per mode
    noises: tuple[str, ...] = SEEN_NOISES  #: recorded noises, from data/noise
    generated_noises: tuple[str, ...] = GENERATED_NOISES
    generated_prob: float = 0.5  #: of the noises, the share drawn from a generated family
    n_speakers: int | None = None  #: use only the first N training speakers (tests)
    folds: int | None = None  #: cross-validation: split the speakers into this many folds
    held_out: int | None = None  #: and leave this fold out of training (asp_lab.folds)
    log_every: int = 10
    grad_clip: float = 5.0

    def __post_init__(self) -> None:
        self.crop_seconds = tuple(self.crop_seconds)
        self.snr_db = tuple(self.snr_db)
        self.margin_ramp = tuple(self.margin_ramp)
        self.noises = tuple(self.noises)
        self.segment_fraction = tuple(self.segment_fraction)
        self.pause_snr_db = tuple(self.pause_snr_db)
        self.generated_noises = tuple(self.generated_noises)
        for name in ("noise_prob", "whole_crop_prob", "replace_prob", "pause_prob",
                     "generated_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} is a probability, got {getattr(self, name)}")
        if (self.folds is None) != (self.held_out is None):
            raise ValueError(f"give both folds and held_out, or neither; got {self.folds}, "
                             f"{self.held_out}")
        low, high = self.segment_fraction
        if not 0 < low <= high <= 1:
            raise ValueError(f"segment_fraction must be (low, high) in (0, 1], got "
                             f"{self.segment_fraction}")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch_size must be positive, got {self.steps}, "
                             f"{self.batch_size}")

    @property
    def name(self) -> str:
        """``<pooling>[-clean][-fold<i>of<k>]-seed<seed>``, e.g. ``asp-scalar-seed0``."""
        fold = "" if self.folds is None else f"-fold{self.held_out}of{self.folds}"
        return f"{self.pooling}{'' if self.noise_aug else '-clean'}{fold}-seed{self.seed}"

    def model_kwargs(self) -> dict:
        return dict(pooling=self.pooling, channels=self.channels,
                    pool_channels=self.pool_channels, embed_dim=self.embed_dim,
                    attention_channels=self.attention_channels)
