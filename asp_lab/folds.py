"""Cross-validation folds over the training speakers (chapter 5's larger evaluation).

test-other has only ten speakers, too few to tell poolings apart. The 251 train-clean-100
speakers give a larger test: split them into ``k`` folds, train on ``k - 1`` and test on
the speakers of the fold left out. :func:`speaker_folds` makes the split, balanced by sex
and the same on every machine.
"""

from __future__ import annotations

import os

from . import data

__all__ = ["speaker_folds", "training_speakers"]


def speaker_folds(k: int, root: str | os.PathLike | None = None) -> list[list[str]]:
    """The train-clean-100 speakers in ``k`` folds: sorted by sex, then id, and dealt out in
    turn, so the folds differ in size by at most one and in sex balance by at most one.
    Chapter 5."""
    sex = data.speakers(root)
    ids = sorted({u.speaker for u in data.utterances("train-clean-100", root)},
                 key=lambda s: (sex.get(s, "?"), len(s), s))
    if not 2 <= k <= len(ids):
        raise ValueError(f"k must be between 2 and the {len(ids)} speakers, got {k}")
    return [ids[i::k] for i in range(k)]


def training_speakers(k: int, held_out: int, root: str | os.PathLike | None = None) -> set[str]:
    """The speakers a run trains on when fold ``held_out`` of ``k`` is left out. Chapter 5."""
    folds = speaker_folds(k, root)
    if not 0 <= held_out < k:
        raise ValueError(f"held_out must be a fold number from 0 to {k - 1}, got {held_out}")
    return {s for i, fold in enumerate(folds) if i != held_out for s in fold}
