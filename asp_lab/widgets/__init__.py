"""The book's ipywidgets apps, one module per chapter: :mod:`~asp_lab.widgets.attention`
(chapter 2) and :mod:`~asp_lab.widgets.noise` (chapter 6), on what they share
(:mod:`~asp_lab.widgets.common`).

Each app needs a running kernel (JupyterLab, Colab). The built book cannot run them, so
each has a static twin in its chapter: a plotly figure with precomputed states, built by a
function in :mod:`asp_lab.viz`. Every name is also here, as ``asp_lab.widgets.NAME``.
"""

from ..handset import effective_frames, loudness_attention  # chapter 2's maths, kept here too
from .attention import EXPLORER_UTTERANCES, attention_explorer, explorer_paths, loudness_alpha
from .noise import (
    NO_NOISE,
    NOISE_EXPLORER_MODELS,
    UPLOAD_PREFIX,
    NoiseAttentionExplorer,
    decode_audio,
    noise_summary,
    uploaded_files,
)

__all__ = [
    "EXPLORER_UTTERANCES",
    "NOISE_EXPLORER_MODELS",
    "NO_NOISE",
    "UPLOAD_PREFIX",
    "NoiseAttentionExplorer",
    "attention_explorer",
    "decode_audio",
    "effective_frames",
    "explorer_paths",
    "loudness_alpha",
    "loudness_attention",
    "noise_summary",
    "uploaded_files",
]
