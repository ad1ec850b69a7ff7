"""The book's figures: matplotlib for pictures, plotly for the static twins of widgets.

Each function draws one kind of figure with labelled axes and units; the notebooks add
titles and captions.
"""

from __future__ import annotations

import os

#: Set by ``make book``: the site loads plotly.js once from its static folder, so figures
#: are written without their own copy of the library.
BOOK_BUILD_ENV = "ASP_LAB_BOOK_BUILD"


def show_plotly(fig):
    """Display a plotly figure so that it works both in the built book and in a notebook.

    In the book build (``ASP_LAB_BOOK_BUILD`` set) it returns an HTML fragment that relies on
    the site's own ``plotly.min.js`` (listed in ``_config.yml``), so the page works offline
    and plotly.js is not repeated per figure. Elsewhere (JupyterLab, Colab) it returns the
    figure itself, which the notebook renders natively.
    """
    if os.environ.get(BOOK_BUILD_ENV):
        from IPython.display import HTML

        html = fig.to_html(
            include_plotlyjs=False, full_html=False, config={"responsive": True}
        )
        return HTML(html)
    return fig
