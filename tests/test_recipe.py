"""The training recipe (asp_lab.train.recipe), the speaker folds and the evaluation's
corrupted conditions: properties, not snapshots."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from asp_lab import data, evaluation, folds
from asp_lab import train as T
from asp_lab.train.recipe import corrupt, generated_noise


@pytest.mark.parametrize("kind", T.GENERATED_NOISES)
def test_every_generated_family_is_a_finite_fresh_excerpt(kind):
    a = generated_noise(kind, 16000, np.random.default_rng(0))
    b = generated_noise(kind, 16000, np.random.default_rng(1))
    assert a.shape == (16000,) and a.dtype == np.float32 and np.isfinite(a).all()
    assert np.isclose(np.abs(a).max(), 0.5) and not np.allclose(a, b)


def test_generated_families_are_none_of_the_unseen_noises():
    assert not set(T.GENERATED_NOISES) & set(T.UNSEEN_NOISES)
    cfg = T.TrainConfig()
    assert not set(cfg.noises) & set(T.UNSEEN_NOISES)


def test_band_noise_keeps_its_energy_inside_one_band():
    x = generated_noise("band", 32000, np.random.default_rng(3)).astype(float)
    power = np.abs(np.fft.rfft(x)) ** 2
    top = np.sort(power)[::-1]
    assert top[: power.size // 4].sum() > 0.99 * power.sum()  # 2 octaves at most of 8 kHz


def _one_changed_run(clean: np.ndarray, mixed: np.ndarray) -> tuple[int, int]:
    changed = np.flatnonzero(clean != mixed)
    return int(changed[0]), int(changed[-1] + 1 - changed[0])


@pytest.mark.parametrize("seed", range(6))
def test_a_replaced_segment_is_one_stretch_of_the_drawn_length(seed):
    cfg = T.TrainConfig(whole_crop_prob=0.0, replace_prob=1.0, pause_prob=0.0)
    crop = np.random.default_rng(seed).standard_normal(32000).astype(np.float32) * 0.1
    mixed = corrupt(crop.copy(), (), cfg, np.random.default_rng(seed))
    start, length = _one_changed_run(crop, mixed)
    low, high = cfg.segment_fraction
    assert low * crop.size - 1 <= length <= high * crop.size + 1
    outside = np.r_[0:start, start + length:crop.size]
    assert np.array_equal(mixed[outside], crop[outside])  # speech outside it is untouched


def test_a_pause_is_a_faint_floor():
    cfg = T.TrainConfig(whole_crop_prob=0.0, replace_prob=1.0, pause_prob=1.0)
    crop = np.random.default_rng(0).standard_normal(32000).astype(np.float32) * 0.1
    mixed = corrupt(crop.copy(), (), cfg, np.random.default_rng(0))
    start, length = _one_changed_run(crop, mixed)
    seg = mixed[start:start + length].astype(float)
    level = 10 * np.log10(np.mean(crop.astype(float) ** 2) / np.mean(seg**2))
    assert cfg.pause_snr_db[0] - 0.1 <= level <= cfg.pause_snr_db[1] + 0.1


def test_clean_training_corrupts_nothing():
    cfg = dataclasses.replace(T.TrainConfig(n_speakers=4, batch_size=4), noise_aug=False)
    audio, _, noises = T.load_training_data(cfg)
    wave, labels = T.draw_batch(audio, noises, cfg, step=0)
    for row, label in zip(wave.numpy(), labels.tolist(), strict=True):
        assert np.isin(row[:50], audio[label]).all()


@pytest.mark.parametrize("bad", [dict(replace_prob=1.5), dict(segment_fraction=(0.5, 0.2)),
                                 dict(folds=3), dict(held_out=0)])
def test_a_config_that_makes_no_sense_is_refused(bad):
    with pytest.raises(ValueError):
        T.TrainConfig(**bad)


def test_folds_partition_the_speakers_and_balance_sex():
    k = 3
    split = folds.speaker_folds(k)
    every = [s for f in split for s in f]
    assert len(every) == len(set(every)) == 251
    assert max(map(len, split)) - min(map(len, split)) <= 1
    sex = data.speakers()
    women = [sum(sex[s] == "F" for s in f) for f in split]
    assert max(women) - min(women) <= 1
    for held in range(k):
        train = folds.training_speakers(k, held)
        assert not train & set(split[held]) and len(train) + len(split[held]) == 251
    cfg = T.TrainConfig(folds=k, held_out=1)
    _, speakers, _ = T.load_training_data(cfg)
    assert set(speakers) == folds.training_speakers(k, 1)
    assert cfg.name == "asp-scalar-fold1of3-seed0"


def test_pieces_do_not_overlap_and_have_one_length():
    utts = data.utterances("train-clean-100")[:5]
    got = evaluation.pieces(utts, 4.0)
    n = 4 * data.SAMPLE_RATE
    for u in utts:
        mine = [p for p in got if p.path == u.path]
        assert len(mine) == data.cached_audio(u.path).size // n
        assert all(p.stop - p.start == n for p in mine)
        assert all(a.stop <= b.start for a, b in zip(mine, mine[1:], strict=False))


def test_a_corrupted_third_leaves_the_rest_of_the_utterance_alone():
    wave = data.cached_audio(evaluation.trial_utterances()[0].path)
    for mode in ("replace", "add"):
        mixed = evaluation.corrupted(wave, 0, "white_noise", 0.0, mode, 1 / 3)
        start, length = _one_changed_run(wave, mixed)
        assert abs(length - wave.size / 3) <= 2 and abs(start - wave.size / 3) <= 2
    with pytest.raises(ValueError, match="whole"):
        evaluation.corrupted(wave, 0, "white_noise", 0.0, "replace", 1.0)
