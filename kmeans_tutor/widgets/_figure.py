"""Figures for the widget apps: created once, drawn by ipympl in the browser.

ipympl's canvas is itself a widget: it streams the Agg picture to the browser
after ``fig.canvas.draw_idle()`` and sends clicks and key presses back, which
the stepper uses to let a learner place centres by clicking. Figures are made
with pyplot switched off, so nothing is shown twice and no Output widget is
needed (in Voilà a figure created inside an Output callback can stay blank).
"""

from __future__ import annotations

import matplotlib

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

_BACKEND = "module://ipympl.backend_nbagg"


def app_figure(figsize=(6.0, 4.5), *, dpi=80, **kwargs) -> Figure:
    """A new ipympl figure for an app: no toolbar, no header, fixed size.

    ``fig.canvas`` is the widget to put in the app's layout. The figure is not
    registered with pyplot's current-figure machinery beyond its creation, so
    it never appears on its own.
    """
    if matplotlib.get_backend() != _BACKEND:
        plt.switch_backend(_BACKEND)
    with plt.ioff():
        fig = plt.figure(figsize=figsize, dpi=dpi, **kwargs)
    canvas = fig.canvas
    canvas.toolbar_visible = False
    canvas.header_visible = False
    canvas.footer_visible = False
    canvas.resizable = False
    canvas.capture_scroll = False
    return fig


def refresh(fig: Figure) -> None:
    """Ask the browser for a new picture; repeated calls coalesce."""
    fig.canvas.draw_idle()
