"""What the book's ipywidgets apps share: figures shown as PNG, and text made safe for HTML."""

from __future__ import annotations

import html
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt


def png_of(fig, dpi: int) -> bytes:
    """The figure as PNG bytes, closed afterwards. The apps show their figures as PNG: no
    dependence on the notebook's matplotlib backend, and the widget's state alone says what
    is shown."""
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=dpi)
    plt.close(fig)
    return png.getvalue()


def picture_widget() -> widgets.Image:
    return widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="900px"))


def escaped(text) -> str:
    """``text`` (or an error) as HTML text."""
    return html.escape(str(text), quote=False)
