"""Give the bibliography's entries an ARIA role that screen readers and axe-core accept.

Docutils writes the references page's citations as ``<div role="list" class="citation-list">``
holding ``<div class="citation" role="doc-biblioentry">``. DPUB-ARIA 1.1 deprecated
``doc-biblioentry``, so the list has no ``listitem`` children (axe-core's critical
"aria-required-children"). Each entry becomes a plain ``role="listitem"``.
"""

from __future__ import annotations

OLD_ROLE = 'role="doc-biblioentry"'
NEW_ROLE = 'role="listitem"'


def _fix_roles(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body")
    if body and OLD_ROLE in body:
        context["body"] = body.replace(OLD_ROLE, NEW_ROLE)


def setup(app):
    app.connect("html-page-context", _fix_roles)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
