"""The book's figures and page helpers, one idea per module, bottom to top:

- :mod:`~asp_lab.viz.book`: what every chapter uses to put results on the page (``glue``,
  tables, plotly figures, lines of source, audio players);
- :mod:`~asp_lab.viz.figures`: matplotlib pictures (waveforms, spectrograms, attention drawn
  on the spectrogram's time axis); :mod:`~asp_lab.viz.glance`: chapter 6's figure at a
  glance (several models' weights as colour bands under one spectrogram, their share on the
  noise as bars); :mod:`~asp_lab.viz.det`: chapter 5's DET plots;
- :mod:`~asp_lab.viz.controls`: sliders and menus of the static twins, laid out for phones;
- :mod:`~asp_lab.viz.attention_twin` and :mod:`~asp_lab.viz.noise_twin`: the static twins of
  the widgets of chapters 2 and 6 (plotly figures that need no kernel).

Every name is also here, as ``asp_lab.viz.NAME``.
"""

from .attention_twin import attention_slider_figure
from .book import BOOK_BUILD_ENV, audio_html, glue, show_plotly, show_table, source_from
from .det import DET_TICKS, det_plot
from .figures import (
    MODEL_COLOURS,
    attention_on_spectrogram,
    frames_and_curve,
    spectrogram,
    spectrogram_attention,
    waveform,
)
from .glance import attention_glance
from .noise_twin import noise_attention_twin

__all__ = [
    "BOOK_BUILD_ENV",
    "DET_TICKS",
    "MODEL_COLOURS",
    "attention_glance",
    "attention_on_spectrogram",
    "attention_slider_figure",
    "audio_html",
    "det_plot",
    "frames_and_curve",
    "glue",
    "noise_attention_twin",
    "show_plotly",
    "show_table",
    "source_from",
    "spectrogram",
    "spectrogram_attention",
    "waveform",
]
