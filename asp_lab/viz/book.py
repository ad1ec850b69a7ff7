"""What every chapter uses to put its results on the page: numbers the prose quotes, tables,
plotly figures, lines of source, and inlined audio players.

Each helper renders alike in JupyterLab, Colab and the built book.
"""

from __future__ import annotations

import base64
import html
import inspect
import io
import os
import textwrap

import IPython.display
import numpy as np
import soundfile
from IPython.display import HTML

#: Set by ``make book``: the site loads plotly.js once from its static folder, so figures
#: are written without their own copy of the library.
BOOK_BUILD_ENV = "ASP_LAB_BOOK_BUILD"


def glue(name: str, value, display: bool = False) -> None:
    """Store a value that the chapter's prose quotes (myst-nb's ``glue``). Every chapter.

    numpy and torch scalars become Python numbers, so the prose's glue role can format
    them (``name:.3f``). Outside the book build (JupyterLab, Colab without myst-nb) nothing
    is stored.
    """
    value = value.item() if hasattr(value, "item") else value
    try:
        from myst_nb import glue as myst_glue  # only where the book is built
    except ImportError:
        return
    myst_glue(name, value, display=display)


def source_from(function, first: str) -> str:
    """The lines of ``function``'s source from the first one containing ``first`` to its end,
    dedented: the lines of a step that compute it, shown in a chapter as they run
    (chapter 2, steps 1 and 3).

    Raises ``ValueError`` naming the function when no line contains ``first``."""
    lines = inspect.getsource(function).splitlines()
    start = next((i for i, line in enumerate(lines) if first in line), None)
    if start is None:
        raise ValueError(f"no line of {function.__qualname__} contains {first!r}")
    return textwrap.dedent("\n".join(lines[start:]))


def show_table(header: list[str], rows: list[list]) -> None:
    """Display a small HTML table that renders alike in Jupyter, Colab and the book
    (chapters 3 to 7).

    ``rows`` are lists of cells (strings or numbers, HTML allowed); the first cell of a row
    names it, the others stay on one line so that numbers and shapes do not wrap."""
    head = "".join(f'<th scope="col">{h}</th>' for h in header)
    cell = '<td style="white-space: nowrap">{}</td>'
    body = "".join(f"<tr><td>{row[0]}</td>" + "".join(cell.format(c) for c in row[1:]) + "</tr>"
                   for row in rows)
    IPython.display.display(HTML(f'<table class="table"><thead><tr>{head}</tr></thead>'
                 f"<tbody>{body}</tbody></table>"))


def show_plotly(fig, div_id: str | None = None):
    """Display a plotly figure so that it works both in the built book and in a notebook:
    the static twins of chapters 2 and 6.

    In the book build (``ASP_LAB_BOOK_BUILD`` set) it returns an HTML fragment that relies on
    the site's own ``plotly.min.js`` (listed in ``_config.yml``), so the page works offline
    and plotly.js is not repeated per figure. Elsewhere (JupyterLab, Colab) it returns the
    figure itself, which the notebook renders natively. ``div_id`` names the figure's
    ``<div>`` in the built page (plotly generates a random one otherwise).
    """
    if not os.environ.get(BOOK_BUILD_ENV):
        return fig
    return HTML(fig.to_html(
        include_plotlyjs=False, full_html=False, config={"responsive": True},
        div_id=div_id,  # a stable id lets the browser tests find the figure
    ))


def audio_html(waveform, sample_rate: int = 16_000, label: str = "", rate: int | None = None
               ) -> str:
    """An HTML ``<audio>`` player with the sound inlined as a WAV ``data:`` URI (16-bit PCM,
    mono), so a page plays it offline and without a file beside it. Chapter 6 and its
    explorer.

    Args:
        waveform: ``(samples,)`` float audio at ``sample_rate``; it is scaled down if its
            peak exceeds full scale.
        label: the text shown above the player (and its accessible name).
        rate: resample to this rate first (e.g. 8000 to halve the size); default: keep.
    """
    x = np.asarray(waveform, dtype=np.float32)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"waveform must be mono and non-empty, shape (samples,), got {x.shape}")
    if rate is not None and rate != sample_rate:
        import librosa  # slow to import, and only this path needs it

        x = librosa.resample(x, orig_sr=sample_rate, target_sr=rate).astype(np.float32)
        sample_rate = rate
    peak = float(np.max(np.abs(x)))
    if peak > 0.99:
        x = x * (0.99 / peak)
    buffer = io.BytesIO()
    soundfile.write(buffer, x, sample_rate, format="WAV", subtype="PCM_16")
    uri = "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    name = html.escape(label or "audio clip")
    # A plain <div> and <p>: the theme greys out <figcaption> text too much to read on the
    # output area's background in its dark mode.
    return (f'<div class="asp-audio" style="margin: 0.4em 0">'
            f'<p style="margin: 0 0 0.2em 0">{name}</p>'
            f'<audio controls preload="metadata" aria-label="{name}" src="{uri}"></audio>'
            f"</div>")
