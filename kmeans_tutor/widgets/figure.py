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
from matplotlib._pylab_helpers import Gcf
from matplotlib.figure import Figure

_BACKEND = "module://ipympl.backend_nbagg"


#: What a page may ask of a figure's canvas, and nothing more (see guard_canvas).
CANVAS_MESSAGES = frozenset({
    "closing", "initialized", "set_dpi_ratio", "set_device_pixel_ratio", "resize", "ack", "draw",
    "refresh", "send_image_mode", "supports_binary", "button_press", "button_release", "dblclick",
    "motion_notify", "figure_enter", "figure_leave", "key_press", "key_release", "scroll",
})
MAX_CANVAS_CSS = (1600, 1200)  # largest canvas a page may ask for, in CSS pixels
MAX_PIXEL_RATIO = 2.0  # and its sharpest pixel ratio (a retina screen)


def guard_canvas(canvas) -> None:
    """Check every message a page sends to an ipympl canvas before it is handled.

    ipympl believes the page: one crafted ``resize`` to 8000×8000 px, or a pixel
    ratio of 50, makes the kernel render (and keep) a picture of a gigabyte. Here
    unknown message types are dropped, sizes are clamped to
    :data:`MAX_CANVAS_CSS`, pixel ratios to 0.5 … :data:`MAX_PIXEL_RATIO`, and a
    "draw" request only schedules a redraw (so a flood of them costs one).
    """
    original = canvas._handle_message

    def checked(widget, content, buffers):
        if not isinstance(content, dict) or content.get("type") not in CANVAS_MESSAGES:
            return
        content = dict(content)
        for key in ("dpi_ratio", "device_pixel_ratio"):
            if key in content:
                content[key] = _clamp(content[key], 0.5, MAX_PIXEL_RATIO, 1.0)
        if content["type"] == "resize":
            content["width"] = _clamp(content.get("width"), 100, MAX_CANVAS_CSS[0], 800)
            content["height"] = _clamp(content.get("height"), 80, MAX_CANVAS_CSS[1], 600)
        original(widget, content, buffers)

    canvas.on_msg(original, remove=True)
    canvas.on_msg(checked)
    canvas.handle_draw = lambda event: canvas.draw_idle()


def _clamp(value, low: float, high: float, default: float) -> float:
    """A number from the page, within [low, high] (default when it is not a number)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return default if value != value else min(max(value, low), high)


def app_figure(figsize=(6.0, 4.5), *, dpi=80, **kwargs) -> Figure:
    """A new ipympl figure for an app: no toolbar, no header, fixed size.

    ``fig.canvas`` is the widget to put in the app's layout. The figure is not
    kept in pyplot's list of figures, so it never appears on its own and
    ``plt.gcf()`` never returns it.
    """
    if matplotlib.get_backend() != _BACKEND:
        plt.switch_backend(_BACKEND)
    with plt.ioff():
        fig = plt.figure(figsize=figsize, dpi=dpi, **kwargs)
    # Forget it in pyplot: a later plt.plot() must not draw into an app's figure,
    # and re-running a cell must let the old figure be freed. (plt.close would
    # also close the figure's widget.)
    Gcf.figs.pop(fig.number, None)
    canvas = fig.canvas
    canvas.toolbar_visible = False
    canvas.header_visible = False
    canvas.footer_visible = False
    canvas.resizable = False
    canvas.capture_scroll = False
    guard_canvas(canvas)
    return fig


def plain_text(text) -> str:
    """Text to draw as it is: a "$" (in a learner's column name, say) must not
    start matplotlib's mathtext."""
    return str(text).replace("$", r"\$")


def short_name(name: str, limit: int = 40) -> str:
    """A file or data set name cut to ``limit`` characters for a title."""
    name = str(name)
    return name if len(name) <= limit else name[: limit - 1] + "…"


def freeze_layout(fig: Figure) -> None:
    """Lay the figure out once (constrained layout), then keep the positions, so
    that no frame shifts the axes and no frame pays for the layout again."""
    fig.set_layout_engine("constrained")
    fig.get_layout_engine().execute(fig)
    fig.set_layout_engine("none")


def refresh(fig: Figure, *, immediate: bool = True) -> None:
    """Send the browser a new picture of ``fig``.

    ``immediate=True`` renders now and sends the image straight away: one trip
    from kernel to browser, the fastest answer to a click. ``immediate=False``
    (for playback) only tells the browser a new picture exists; it asks for it
    when it is ready, so frames that arrive faster than they can be shown are
    skipped instead of queued.
    """
    canvas = fig.canvas
    # Until the browser's canvas has said "initialized" (ipympl then stops
    # syncing its still-image fallback), only announce; drawing early would
    # race the browser's own set-up of the canvas.
    if immediate and not getattr(canvas, "syncing_data_url", True):
        canvas.draw()
    else:
        canvas.draw_idle()


class Blitter:
    """Redraw only what changes from step to step.

    Most of a frame — axes, ticks, legend, labels — never changes while a run is
    on screen, and text is the slowest thing Agg draws. The blitter marks the
    artists that do change as *animated*, keeps a snapshot of everything else
    (taken after each full draw), and for a new step pastes the snapshot back,
    draws only the animated artists on it and sends that picture.

    Parameters
    ----------
    fig : Figure
        An :func:`app_figure`.
    dynamic : callable
        Returns the artists that change between steps (views' ``artists``,
        a title, a cursor); asked again after every :meth:`track`.
    """

    def __init__(self, fig: Figure, dynamic):
        self.fig = fig
        self._dynamic = dynamic
        self._background = None
        self._artists: list = []
        fig.canvas.mpl_connect("draw_event", self._on_draw)

    def _collect(self) -> list:
        return sorted((a for a in self._dynamic() if a is not None), key=lambda a: a.get_zorder())

    def track(self):
        """Mark the current dynamic artists as animated; call after (re)building views."""
        for artist in self._artists:
            artist.set_animated(False)
        self._artists = self._collect()
        for artist in self._artists:
            artist.set_animated(True)
        self._background = None  # taken again at the next full draw

    def _on_draw(self, event):
        # A full draw leaves animated artists out: snapshot, then add them.
        self._background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        self._draw_animated()

    def _draw_animated(self):
        for artist in self._artists:
            if artist.get_visible() and artist.figure is self.fig:
                self.fig.draw_artist(artist)

    def update(self, *, immediate: bool = True):
        """Show the artists' new state: a blit after a click, a coalesced
        full redraw while playing or before the browser is ready."""
        canvas = self.fig.canvas
        current = self._collect()
        if [id(a) for a in current] != [id(a) for a in self._artists]:
            # A view made new artists while drawing (e.g. candidate labels):
            # track them, and take a new snapshot with a full draw.
            self.track()
        if (not immediate or self._background is None
                or getattr(canvas, "syncing_data_url", True)):
            refresh(self.fig, immediate=immediate)
            return
        canvas.restore_region(self._background)
        self._draw_animated()
        canvas.blit(self.fig.bbox)
