"""The controls of the static twins (plotly figures that stand in for a widget where no
kernel runs: chapters 2 and 6), laid out so that a phone shows them whole.

A twin holds one trace per precomputed state and shows one state at a time: a slider step
or a menu entry is a plotly ``update`` that sets which traces are visible and what the title
says. Plotly cannot combine two sliders; a twin with two (chapter 2's scale and temperature)
keeps one copy of each slider per position of the other and swaps them (see
:mod:`asp_lab.viz.attention_twin`).

Pixel sizes below are CSS pixels of the figure, which is as wide as the page's column (about
360 px on a phone, 680 px on a desktop) and has a fixed height.
"""

from __future__ import annotations

#: Height of plotly's toolbar (the mode bar) at the figure's top right: titles start below it.
TOOLBAR_PX = 44
#: Height of a slider with its current value above and its tick labels below.
SLIDER_PX = 72


def title_below_toolbar(text: str, height: int, size: int = 14) -> dict:
    """``layout.title`` for a figure ``height`` px high: left-aligned, starting just below the
    toolbar, so that a narrow figure does not draw the toolbar over the title."""
    return {"text": text, "font": {"size": size}, "x": 0.01, "xanchor": "left",
            "y": 1 - TOOLBAR_PX / height, "yref": "container", "yanchor": "top"}


def menu_at_top_right(buttons: list[dict], size: int = 12) -> dict:
    """A drop-down menu just above the plots, its right edge on the plots' right edge: a long
    label then grows to the left, over the left margin, never off the page's right edge."""
    return {"type": "dropdown", "buttons": buttons, "active": 0, "x": 1.0, "xanchor": "right",
            "y": 1.02, "yanchor": "bottom", "pad": {"t": 0, "b": 0}, "font": {"size": size}}


def paper_y(px_below: float, plot_px: float) -> float:
    """The paper coordinate ``px_below`` px under the plots' bottom edge, when the plots are
    ``plot_px`` px high (paper coordinates run from 0 at their bottom to 1 at their top)."""
    return -px_below / plot_px


def slider(steps: list[dict], active: int, prefix: str, *, visible: bool = True,
           y: float = 0.0, pad_top: int = 40, name: str | None = None) -> dict:
    """A slider over the plots' width whose top edge is at paper ``y`` (plus ``pad_top`` px),
    its current value shown after ``prefix``."""
    out = {"active": active, "steps": steps, "visible": visible, "x": 0.0, "len": 1.0,
           "xanchor": "left", "y": y, "yanchor": "top", "pad": {"t": pad_top, "b": 0},
           "currentvalue": {"prefix": prefix}}
    if name is not None:
        out["name"] = name
    return out


def step(label: str, visible: list[bool], layout: dict, traces: list[int] | None = None) -> dict:
    """A slider step or menu entry: show the traces flagged in ``visible`` (``traces``: the
    indices those flags are for; default all traces) and apply ``layout``."""
    args = [{"visible": visible}, layout] + ([traces] if traces is not None else [])
    return {"method": "update", "label": label, "args": args}


def one_of(count: int, shown: int) -> list[bool]:
    """``count`` flags, only ``shown`` set: the visibility of one copy among several."""
    return [i == shown for i in range(count)]
