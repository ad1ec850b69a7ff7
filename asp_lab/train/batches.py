"""The training batches: random crops of the training speakers, most of them corrupted.

One step draws a batch of equal-length random crops (2-3 s) of the 251 train-clean-100
utterances (one speaker each, so 251 classes) and corrupts most of them with
:func:`asp_lab.train.recipe.corrupt` (a segment replaced by noise or a pause, or noise
added, from the seen recordings and generated families, at -5 to 20 dB). Everything a step
draws comes from ``numpy.random.default_rng([seed, step, rank])``: a run is reproducible, a
resumed run continues exactly, and each DDP rank draws different crops. Chapter 5.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .. import data
from ..data import SAMPLE_RATE, random_crop
from ..folds import training_speakers
from .config import TrainConfig
from .recipe import corrupt


def load_training_data(cfg: TrainConfig, root: str | None = None):
    """(audio, speakers, noises): the training utterances as float32 arrays, loaded once
    per process (about 200 MB for all 251), their speakers, and the recorded training
    noises (the generated ones are made afresh for each crop).
    Chapter 5."""
    utts = data.utterances("train-clean-100", root)
    if cfg.folds is not None:  # cross-validation: leave one fold of speakers out
        keep = training_speakers(cfg.folds, cfg.held_out, root)
        utts = [u for u in utts if u.speaker in keep]
    utts = utts[: cfg.n_speakers]
    audio = tuple(data.cached_audio(u.path) for u in utts)
    speakers = tuple(u.speaker for u in utts)
    noises = tuple(data.cached_noise(n, root) for n in cfg.noises) if cfg.noise_aug else ()
    return audio, speakers, noises


def draw_batch(
    audio: Sequence[np.ndarray],
    noises: Sequence[np.ndarray],
    cfg: TrainConfig,
    step: int,
    rank: int = 0,
    world_size: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One rank's batch for ``step``: ``(B, samples)`` float32 crops and ``(B,)`` labels.

    ``B = batch_size // world_size`` speakers are drawn without replacement (with, if there
    are fewer speakers), one duration for the whole batch, then a crop of each speaker's
    utterance (an utterance shorter than the duration is tiled). With ``noise_aug`` each
    crop is, with probability ``noise_prob``, corrupted (:func:`~asp_lab.train.recipe.corrupt`).

    Chapter 5.
    """
    rng = np.random.default_rng([cfg.seed, step, rank])
    B = max(1, cfg.batch_size // world_size)
    labels = rng.choice(len(audio), size=B, replace=B > len(audio))
    seconds = float(rng.uniform(*cfg.crop_seconds))
    n = round(seconds * SAMPLE_RATE)
    batch = np.empty((B, n), dtype=np.float32)
    for i, label in enumerate(labels):
        crop = random_crop(audio[label], (seconds, seconds), rng)
        if crop.size < n:
            crop = np.resize(crop, n)  # tile the (one) utterance shorter than the crop
        if cfg.noise_aug and rng.random() < cfg.noise_prob:
            crop = corrupt(crop, noises, cfg, rng)
        batch[i] = crop
    return torch.from_numpy(batch), torch.from_numpy(labels.astype(np.int64))


class StepBatches(torch.utils.data.Dataset):
    """Item ``i`` is the batch of step ``first + i`` (:func:`draw_batch`), so that a
    ``DataLoader`` with worker processes draws the very batches the main process would,
    in order, while the model trains on the previous ones. Chapter 7."""

    def __init__(self, audio, noises, cfg: TrainConfig, first: int, last: int,
                 rank: int = 0, world_size: int = 1) -> None:
        self.audio, self.noises, self.cfg = audio, noises, cfg
        self.first, self.last, self.rank, self.world_size = first, last, rank, world_size

    def __len__(self) -> int:
        return max(0, self.last - self.first)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= i < len(self):
            raise IndexError(f"step {self.first + i} is outside {self.first}..{self.last - 1}")
        return draw_batch(self.audio, self.noises, self.cfg, self.first + i, self.rank,
                          self.world_size)
