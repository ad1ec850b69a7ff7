"""Load the site's plotly.js (book/_static/plotly.min.js, 4.9 MB) only on the pages that
show a plotly figure, instead of on every page through ``html_js_files``.

``asp_lab.viz.show_plotly`` writes figures without their own copy of plotly.js, so a page
whose body holds a ``plotly-graph-div`` gets a ``<script>`` for ``_static/plotly.min.js``.
"""

from __future__ import annotations

PLOTLY_JS = "plotly.min.js"


def _add_plotly_js(app, pagename, templatename, context, doctree) -> None:
    if "plotly-graph-div" in context.get("body", ""):
        app.add_js_file(PLOTLY_JS)  # called here, it adds the script to this page only


def setup(app):
    app.connect("html-page-context", _add_plotly_js)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
