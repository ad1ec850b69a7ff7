"""Everything about trained models under one name, as the chapters import it.

``from asp_lab import analysis`` gathers the names of :mod:`asp_lab.inference` (load a
model, embed, read its attention), :mod:`asp_lab.evaluation` (verification on test-other),
:mod:`asp_lab.noises` (noises of every kind, and where they go) and chapter 6's experiment
(:mod:`asp_lab.experiments`); each lives, and is documented, in its own module.
``python -m asp_lab.analysis precompute`` recomputes chapter 6's grid.
"""

from __future__ import annotations

from .evaluation import SUBSET_FOR_TESTS, evaluate
from .experiments.attention_grid import (
    ATTENTION_GRID,
    GRID_ADD_MODELS,
    GRID_DECIMALS,
    GRID_MODELS,
    GRID_SNRS,
    clean_attention_grid,
    clean_attention_stats,
    grid_entry,
    load_attention_grid,
    main,
    noise_attention,
    noise_attention_grid,
    precompute_attention_grid,
    training_noises,
)
from .experiments.measures import (
    frame_energy_db,
    frame_snr_db,
    mean_interval,
    quiet_relative_mass,
    spearman,
    to_output_frames,
)
from .inference import (
    EVAL_THREADS,
    MODEL_NAMES,
    attention_mass,
    channel_attention,
    embed,
    frame_attention,
    load_model,
    min_samples,
    output_frame_mask,
    pooled_statistics,
    relative_mass,
)
from .noises import (
    BABBLE_TALKERS,
    HUM_HZ,
    SYNTH_NOISES,
    add_noise,
    noise_excerpt,
    noise_kinds,
    noise_rng,
    noise_segment,
    synth_noise,
)
from .provenance import CHECKPOINT_DIR

__all__ = [
    "MODEL_NAMES", "EVAL_THREADS", "SUBSET_FOR_TESTS", "CHECKPOINT_DIR", "min_samples",
    "load_model", "embed", "frame_attention", "channel_attention", "pooled_statistics",
    "output_frame_mask", "attention_mass", "relative_mass", "evaluate",
    "SYNTH_NOISES", "HUM_HZ", "BABBLE_TALKERS", "synth_noise", "noise_kinds", "noise_excerpt",
    "noise_rng", "noise_segment", "add_noise",
    "frame_energy_db", "frame_snr_db", "to_output_frames", "quiet_relative_mass", "spearman",
    "mean_interval",
    "ATTENTION_GRID", "GRID_MODELS", "GRID_SNRS", "GRID_ADD_MODELS", "GRID_DECIMALS",
    "training_noises", "noise_attention", "clean_attention_stats", "grid_entry",
    "noise_attention_grid", "clean_attention_grid", "precompute_attention_grid",
    "load_attention_grid",
]

if __name__ == "__main__":
    import sys

    sys.exit(main())
