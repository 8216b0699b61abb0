"""Figures for the widget apps: created once, drawn by ipympl in the browser.

ipympl's canvas is itself a widget: it streams the Agg picture to the browser
after ``fig.canvas.draw_idle()`` and sends clicks and key presses back, which
the stepper uses to let a learner place centres by clicking. Figures are made
with pyplot switched off, so nothing is shown twice and no Output widget is
needed (in Voilà a figure created inside an Output callback can stay blank).

Figures follow the page: :class:`FigureFit` resizes an app's figures to the
width its page reports (the lesson template measures each app), scaling the
whole picture so that its text stays legible and nothing is cut off, and
:class:`PresenterView` is the "Presenter view" switch every app shows first.

Every picture costs the kernel a draw, so none is drawn in vain: a page that asks again
for a picture that has not changed gets the last one again (:func:`guard_canvas`), and in a
Voilà page each app figure's first picture waits for the page's width, so the figure is
drawn once, at that width (:meth:`FigureFit.wait_for_width`); in a kernel running a lesson
for a waiting page it is also laid out once, at that width (:func:`freeze_layout`). A first
picture that another kernel on the machine already drew of the same figure, in the same
state and at the same size, is sent as it was kept, without a layout or a draw
(:mod:`kmeans_tutor.widgets.kept_pictures`).
"""

from __future__ import annotations

import json
import math
import os
import time
import types

import ipywidgets as widgets
import matplotlib
import numpy as np
import matplotlib.pyplot as plt
from matplotlib._pylab_helpers import Gcf
from matplotlib.backend_bases import ResizeEvent
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D

from .kept_pictures import png_bytes, send_first_picture
from .shared_styles import set_display, shared_layout, styled

_BACKEND = "module://ipympl.backend_nbagg"


#: What a page may ask of a figure's canvas, and nothing more (see guard_canvas).
CANVAS_MESSAGES = frozenset({
    "closing", "initialized", "set_dpi_ratio", "set_device_pixel_ratio", "resize", "ack", "draw",
    "refresh", "send_image_mode", "supports_binary", "button_press", "button_release", "dblclick",
    "motion_notify", "figure_enter", "figure_leave", "key_press", "key_release", "scroll",
})
MAX_CANVAS_CSS = (1600, 1200)  # largest canvas a page may ask for, in CSS pixels
MAX_PIXEL_RATIO = 2.0  # and its sharpest pixel ratio (a retina screen)
#: Seconds: a frame sent sooner than this after the previous one is sent whole, not as a diff
#: (the page may drop the previous one; see _diff_image).
FRAME_GAP = 0.35
#: Dots per inch of a new app figure. Its size in inches is its design size: a
#: :class:`FigureFit` keeps the inches and changes the dots per inch to match the page,
#: so the whole picture — text, markers, lines — scales with the page width, laid out the same
#: way at every width (10 pt text is about 19 CSS px on a 1280 px wide page).
TEXT_DPI = 96
#: Narrowest and widest a fitted figure gets, in CSS pixels.
FIT_WIDTH = (320, MAX_CANVAS_CSS[0])
#: CSS classes: an app whose figures follow its width, the hidden box its page writes the width
#: into (see the lesson template), and an app in presenter view.
FIT_APP_CLASS = "kt-fit-app"
FIT_PROBE_CLASS = "kt-fit-probe"
PRESENTER_CLASS = "kt-presenter"
#: Seconds an app's figures in a page that is still running its lesson wait for the page's
#: width before they draw their first picture anyway (a page without the lesson template
#: never reports one).
WIDTH_WAIT = 1.0
#: Set to "1" by ``kmeans-tutor serve`` for its kernels: their pages all have the lesson
#: template, which reports every app's width.
PAGE_FIT_ENV = "KMEANS_TUTOR_PAGE_FIT"
#: Seconds to wait for the width in such a page. When a class opens its lessons together, the
#: report can take seconds to reach a busy kernel: drawn at its starting size meanwhile, a
#: figure would be drawn again at the page's, and that second picture could not be one
#: another kernel kept (see :mod:`.kept_pictures`), just when the cores are scarcest.
REPORTED_WIDTH_WAIT = 10.0


def width_wait() -> float:
    """Seconds a first picture waits for its page's width (see :meth:`FigureFit.wait_for_width`)."""
    return REPORTED_WIDTH_WAIT if os.environ.get(PAGE_FIT_ENV) == "1" else WIDTH_WAIT


def running_for_a_page() -> bool:
    """True in a kernel that Voilà started for a page that is waiting for it: Voilà sets
    ``VOILA_PREHEAT`` in every kernel it starts, "False" unless the kernel was started
    in advance (preheated) and ran the lesson before anyone asked for it."""
    return os.environ.get("VOILA_PREHEAT") == "False"


def started_by_voila() -> bool:
    """True in any kernel Voilà started: for a waiting page, or preheated for the next one
    (see :func:`running_for_a_page`). Its apps are shown in a Voilà page, never in a notebook."""
    return os.environ.get("VOILA_PREHEAT") in ("False", "True")


def guard_canvas(canvas) -> None:
    """Check every message a page sends to an ipympl canvas before it is handled.

    ipympl believes the page: one crafted ``resize`` to 8000×8000 px, or a pixel
    ratio of 50, makes the kernel render (and keep) a picture of a gigabyte. Here
    unknown message types are dropped, sizes are clamped to
    :data:`MAX_CANVAS_CSS`, pixel ratios to 0.5 … :data:`MAX_PIXEL_RATIO`. A "draw"
    request is answered with a picture, as ipympl does: the page waits for one before it
    asks again, so a page cannot queue more than one. (The first one may wait for the
    app's width, see :meth:`FigureFit.wait_for_width`.) When nothing has changed since the
    last picture (the page asks again after every resize message, even one that leaves the
    size as it was), that picture is sent again instead of drawing the figure anew. In a
    Voilà kernel a figure's first picture may be one another kernel drew of the same figure
    in the same state (:mod:`kmeans_tutor.widgets.kept_pictures`).

    The page answers every resize message with a "refresh", which makes ipympl ask it for a
    new picture. When the kernel has sent the page a picture of the figure as it is, at
    that size, after the resize message (a first picture waits for the app's width, so it
    usually has), that refresh asks for nothing new and is left unanswered: each such
    picture sent again was the whole PNG (100 kB for a stepper at 1280 px), which the page
    decoded and painted once more (:func:`_refresh_is_redundant`).
    """
    original = canvas._handle_message
    _note_what_the_page_is_sent(canvas)

    def _draw(widget, content, buffers):
        if started_by_voila():  # a first picture may have been drawn by another kernel
            send_first_picture(canvas, lambda: original(widget, content, buffers),
                               laid_out_once=_LayoutOnceAtDraw)
        else:
            original(widget, content, buffers)

    def checked(widget, content, buffers):
        if not isinstance(content, dict) or content.get("type") not in CANVAS_MESSAGES:
            return
        if content["type"] == "refresh" and _refresh_is_redundant(canvas):
            return
        if content["type"] == "draw":
            fit = getattr(canvas, "_kt_fit", None)

            def answer():
                # Drawn in full once the width is known: that picture shows every change
                # made before it, so a later request with nothing new can be answered by it.
                canvas._kt_draw_wanted = False
                _draw(widget, content, buffers)

            if fit is not None and fit.hold(canvas, answer):
                return
            if not getattr(canvas, "_kt_draw_wanted", False) and _picture_is_current(canvas):
                canvas._png_is_old = True
                canvas.manager.refresh_all()  # the same picture, sent again
                return
            canvas._kt_draw_wanted = False
        content = dict(content)
        for key in ("dpi_ratio", "device_pixel_ratio"):
            if key in content:
                content[key] = _clamp(content[key], 0.5, MAX_PIXEL_RATIO, 1.0)
        if content["type"] == "resize":
            content["width"] = _clamp(content.get("width"), 100, MAX_CANVAS_CSS[0], 800)
            content["height"] = _clamp(content.get("height"), 80, MAX_CANVAS_CSS[1], 600)
        if content["type"] == "draw":
            _draw(widget, content, buffers)
            return
        original(widget, content, buffers)
        if content["type"] == "initialized":
            # A page whose kernel was running before it came (preheated) makes its canvas
            # resizable by hand, with a grab handle in the corner; the figure follows the
            # page instead, so the page is told again that it is not.
            canvas.send_state("resizable")

    canvas.on_msg(original, remove=True)
    canvas.on_msg(checked)
    canvas._kt_page_message = checked  # a page's message, as the canvas handles it


def keep_first_pictures() -> int:
    """Draw now, and keep for every kernel on this machine, the first picture of each app
    figure in this kernel whose size does not follow the page (a quiz's pictures), as a page
    at a screen pixel ratio of 1 asks for it. Returns how many figures were asked.

    For the lesson server's preparation (:mod:`kmeans_tutor.server.predrawn`), which runs
    each lesson once before the server starts, as a kernel running it for a page would
    (``VOILA_PREHEAT=False``), with no page. A figure's first picture is laid out and drawn
    in the kernel of the first page that asks for it (0.10–0.15 s for each of lesson 4's
    three quiz pictures, after its cells) and kept; kept now, the first student's kernel
    sends it as every later one does (:mod:`.kept_pictures`). A figure that follows the page
    waits for its width, which only a page knows: its first picture is left to the page.
    Elsewhere (a notebook, a preheated kernel) nothing is drawn.
    """
    if not running_for_a_page():
        return 0
    from ipywidgets.widgets.widget import _instances

    asked = 0
    for widget in list(_instances.values()):
        handle = getattr(widget, "_kt_page_message", None)
        last = getattr(widget, "_last_buff", None)
        if (handle is None or getattr(widget, "_kt_fit", None) is not None or last is None
                or last.size or getattr(widget, "_kt_first_sent", False)):
            continue
        handle(widget, {"type": "draw"}, [])
        asked += 1
    return asked


def _note_what_the_page_is_sent(canvas) -> None:
    """Count the resize messages the page is sent once it has said "initialized" (each one
    it answers with a "refresh"), and note how many it had been sent when it was last sent a
    picture (see :func:`_refresh_is_redundant`)."""
    canvas._kt_resizes = 0  # resize messages sent since the page said "initialized"
    canvas._kt_refreshes_due = 0  # of which the page's refresh has not come yet
    canvas._kt_shown_at = -1  # _kt_resizes when the page was last sent a picture
    send = canvas.send

    def send_and_note(content, buffers=None):
        send(content, buffers)
        try:
            kind = json.loads(content["data"]).get("type") if isinstance(content, dict) else None
        except (KeyError, TypeError, ValueError, AttributeError):
            kind = None
        if kind == "resize" and not getattr(canvas, "syncing_data_url", True):
            canvas._kt_resizes += 1
            canvas._kt_refreshes_due += 1
        elif kind == "binary" and buffers:
            canvas._kt_shown_at = canvas._kt_resizes

    canvas.send = send_and_note


def _refresh_is_redundant(canvas) -> bool:
    """Whether a page's "refresh" is its answer to a resize message after which it was
    already sent a picture of the figure as it is now.

    ipympl's page answers each resize message with a refresh and keeps its last picture
    meanwhile; the kernel answers a refresh by asking for a picture. A refresh that comes
    while a resize's answer is due is taken as that answer (a page that says "initialized"
    is sent a resize, and so always gets its first picture). When the page has been sent a
    picture since the last resize and nothing has changed, it shows the figure as it is:
    nothing to send.
    """
    if getattr(canvas, "_kt_refreshes_due", 0) <= 0:
        return False
    canvas._kt_refreshes_due -= 1
    return (canvas._kt_shown_at == canvas._kt_resizes and not getattr(canvas, "_kt_draw_wanted", False)
            and _picture_is_current(canvas))


def _picture_is_current(canvas) -> bool:
    """True when the canvas's last picture shows the figure as it is now: nothing in it has
    changed since (matplotlib marks a changed figure *stale*) and neither has its size.
    Artists that a :class:`Blitter` animates do not mark the figure stale: they are drawn
    into the picture as they change, or :func:`refresh` asks for a new one."""
    fig = canvas.figure
    w, h = canvas.get_width_height(physical=True)
    last = getattr(canvas, "_last_buff", None)
    return (not fig.stale and getattr(canvas, "_lastKey", None) == (w, h, fig.dpi)
            and last is not None and last.shape == (h, w))


def fast_frames(canvas) -> None:
    """Encode ``canvas``'s frames with :func:`png_bytes` instead of Pillow's defaults.

    The frames are the same as matplotlib's web canvas makes (a "full" picture, or a
    "diff" that holds only the pixels that changed since the last frame, the rest
    transparent, for the page to paint over the old picture); only the encoding is
    faster. A canvas without matplotlib's diff state is left as it is.
    """
    if not all(hasattr(canvas, name) for name in ("_png_is_old", "_force_full", "_last_buff",
                                                     "set_image_mode", "get_renderer")):
        return
    canvas.get_diff_image = types.MethodType(_diff_image, canvas)


def _diff_image(canvas):
    """``FigureCanvasWebAggCore.get_diff_image`` with :func:`png_bytes` as the encoder,
    and a whole picture instead of a diff when frames follow each other closely.

    The page shows a frame once its PNG has loaded, and a frame that arrives while the
    previous one is still loading replaces it: the earlier frame is never shown. A lost
    *diff* would leave a picture that is neither step (broken rings, half-moved points)
    until the next whole frame, so a frame sent within :data:`FRAME_GAP` seconds of the
    previous one is sent whole; a lost frame then costs nothing.
    """
    if not canvas._png_is_old:
        return None
    now = time.monotonic()
    close = now - getattr(canvas, "_kt_sent_at", -math.inf) < FRAME_GAP
    canvas._kt_sent_at = now
    if getattr(canvas, "_kt_undrawn", False):
        # The picture on the page is a first picture kept by another kernel (kept_pictures):
        # this kernel has drawn nothing yet, so that picture is the one to send (again).
        canvas.set_image_mode("full")
        canvas._force_full = canvas._png_is_old = False
        return canvas._kt_full_png
    pixels = np.asarray(canvas.get_renderer().buffer_rgba())
    buff = pixels.view(np.uint32).squeeze(2)
    full = (close or canvas._force_full or buff.shape != canvas._last_buff.shape
            or (pixels[:, :, 3] != 255).any())
    # The same whole picture again (the page asks after each resize message): the last
    # PNG, not a new one of the same pixels (10–15 ms for an app figure).
    same = full and getattr(canvas, "_kt_full_png", None) is not None and np.array_equal(buff, canvas._last_buff)
    canvas.set_image_mode("full" if full else "diff")
    canvas._force_full = False
    canvas._png_is_old = False
    if same:
        return canvas._kt_full_png
    output = buff if full else np.where(buff != canvas._last_buff, buff, 0)
    canvas._last_buff = buff.copy()
    png = png_bytes(output.view(np.uint8).reshape((*output.shape, 4)))
    canvas._kt_full_png = png if full else None
    return png


def _clamp(value, low: float, high: float, default: float) -> float:
    """A number from the page, within [low, high] (default when it is not a number)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return default if value != value else min(max(value, low), high)


def app_figure(figsize=(6.0, 4.5), *, dpi=80, **kwargs) -> Figure:
    """A new ipympl figure for an app: no toolbar, no header.

    ``figsize`` in inches at ``dpi`` gives the starting size in pixels; the
    figure is drawn at :data:`TEXT_DPI`. A :class:`FigureFit` then makes it
    follow the width of the page.
    ``fig.canvas`` is the widget to put in the app's layout. The figure is not
    kept in pyplot's list of figures, so it never appears on its own and
    ``plt.gcf()`` never returns it.
    """
    if matplotlib.get_backend() != _BACKEND:
        plt.switch_backend(_BACKEND)
    width, height = (float(v) * dpi / TEXT_DPI for v in figsize)
    with plt.ioff():
        fig = plt.figure(figsize=(width, height), dpi=TEXT_DPI, **kwargs)
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
    fast_frames(canvas)
    canvas.mpl_connect("resize_event", lambda event: _relayout(fig))
    return fig


def _relayout(fig: Figure) -> None:
    """A frozen layout (see :func:`freeze_layout`) is laid out again for the new size: at
    once, or, in a Voilà kernel for a figure that has not sent a picture yet, at its first
    draw (a first picture kept by another kernel brings its layout along, see kept_pictures)."""
    if not getattr(fig, "_kt_frozen", False):
        return
    last = getattr(fig.canvas, "_last_buff", None)
    if started_by_voila() and last is not None and last.size == 0:
        fig.set_layout_engine(_LayoutOnceAtDraw())
    else:
        freeze_layout(fig)


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
    that no frame shifts the axes and no frame pays for the layout again.

    In a kernel running a lesson for a waiting page the layout is done at the figure's
    next draw instead: its first picture waits for the page's width
    (:meth:`FigureFit.wait_for_width`), so the figure is laid out once, at that width,
    not first at its starting size.
    """
    fig._kt_frozen = True  # laid out again whenever the figure is resized
    if running_for_a_page():
        fig.set_layout_engine(_LayoutOnceAtDraw())
        return
    fig.set_layout_engine("constrained")
    fig.get_layout_engine().execute(fig)
    fig.set_layout_engine("none")


class _LayoutOnceAtDraw(ConstrainedLayoutEngine):
    """Constrained layout at the next draw, then kept (see :func:`freeze_layout`)."""

    def execute(self, fig):
        super().execute(fig)
        fig.set_layout_engine("none")


def draw_ahead(fig: Figure) -> None:
    """In a preheated kernel, draw a figure of a fixed size now, while no page waits for it.

    The page's first request for its picture is then answered with that picture, not with
    a draw (:func:`guard_canvas`): 30–50 ms a quiz picture. Elsewhere nothing is drawn:
    in a kernel running a lesson for a waiting page, the lesson's later cells would wait
    for it. Figures that follow the page's width (:class:`FigureFit`) are not drawn
    ahead, since their size is not known until the page reports it.

    Only Agg draws: ipympl's own draw would also send the picture to a page that is not
    there yet and keep it as the canvas's still image (``_data_url``) without the
    ``data:`` prefix, which the page, once it comes, cannot load (the canvas then stays blank).
    """
    if os.environ.get("VOILA_PREHEAT") != "True":
        return
    canvas = fig.canvas
    FigureCanvasAgg.draw(canvas)
    if hasattr(canvas, "_last_buff"):  # the web canvas's last picture: this one, sent whole
        canvas._last_buff = np.asarray(canvas.get_renderer().buffer_rgba()).view(np.uint32).squeeze(2).copy()
        canvas._kt_full_png = None
        canvas._force_full = True
        canvas._png_is_old = True


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
        canvas._kt_draw_wanted = True  # the page's request must be drawn, not answered from the last picture
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
        fig.canvas.mpl_connect("resize_event", self._on_resize)
        fig.canvas._kt_blitter = self  # a kept first picture comes with its snapshot (kept_pictures)

    def _on_resize(self, event):
        self._background = None  # the old snapshot has the old size

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

    def snapshot(self) -> np.ndarray | None:
        """The pixels (h, w, 4) of the snapshot taken at the last full draw, or None."""
        return None if self._background is None else np.asarray(self._background)

    def take_snapshot(self, rgba: np.ndarray) -> bool:
        """Use ``rgba`` as the snapshot: what another kernel's :meth:`snapshot` gave at the full
        draw of a figure in exactly this state, at this size (see :mod:`.kept_pictures`).
        The next step is then a blit, not a full draw. False if the size is not the figure's."""
        region = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        pixels = np.asarray(region)
        if pixels.shape != np.shape(rgba):
            return False
        pixels[...] = rgba
        self._background = region
        return True

    def _draw_animated(self):
        for artist in self._artists:
            if artist.get_visible() and artist.figure is self.fig and not _empty_line(artist):
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
        canvas._kt_undrawn = False  # the whole picture is in the renderer now, even after a kept one
        canvas.blit(self.fig.bbox)


def _empty_line(artist) -> bool:
    """A line with no points draws nothing (markers for "no changed points", say): skip it."""
    return isinstance(artist, Line2D) and len(artist.get_xdata(orig=True)) == 0


def _css_size(fig: Figure) -> tuple[float, float]:
    """A figure's size in CSS pixels (whatever the screen's pixel ratio)."""
    ratio = getattr(fig.canvas, "device_pixel_ratio", 1.0) or 1.0
    w, h = fig.get_size_inches() * fig.dpi / ratio
    return float(w), float(h)


def fit_figure(fig: Figure, width: float, height: float, design_width: float) -> None:
    """Show ``fig`` at ``width`` × ``height`` CSS pixels, ``design_width`` inches wide.

    The width in inches stays the same and the dots per inch follow the width, so
    the picture keeps its layout and its text grows and shrinks with it; the
    height in inches follows the height asked for. The browser is told the new
    size, a frozen layout is laid out again and a new picture is sent.
    """
    canvas = fig.canvas
    ratio = float(getattr(canvas, "device_pixel_ratio", 1.0) or 1.0)
    width = min(max(float(width), FIT_WIDTH[0]), FIT_WIDTH[1])
    height = min(max(float(height), 80.0), float(MAX_CANVAS_CSS[1]))
    dpi = width / design_width
    fig._original_dpi = dpi  # what matplotlib multiplies by the screen's pixel ratio
    fig._set_dpi(dpi * ratio, forward=False)
    fig.set_size_inches(design_width, height / dpi, forward=False)
    canvas._png_is_old = True
    manager = getattr(canvas, "manager", None)
    if manager is not None:
        manager.resize(*fig.bbox.size, forward=False)
    ResizeEvent("resize_event", canvas)._process()
    canvas.draw_idle()


class FigureFit:
    """An app's figures follow its width on the page (and the window when it is resized).

    The lesson template measures every app box with the class
    :data:`FIT_APP_CLASS` and writes "width x window height" (CSS pixels) into
    the app's hidden :attr:`probe`; each figure is then resized to the width
    (see :func:`fit_figure`: the picture scales as a whole, so its text stays in
    proportion and nothing is cut off), keeping its shape, and never taller than
    most of the window. Sizes are clamped to :data:`FIT_WIDTH` and
    :data:`MAX_CANVAS_CSS`.

    In presenter view :attr:`zoom` (above 1) draws everything larger — text,
    markers, lines — and :attr:`height_scale` (above 1) makes the figures taller.

    Parameters
    ----------
    figures : Figure
        :func:`app_figure` figures of one app, each as wide as the app.
    """

    MAX_WINDOW_SHARE = 0.85  # at most this share of the window's height

    def __init__(self, *figures: Figure):
        self._figures = [(fig, *_css_size(fig), float(fig.get_size_inches()[0])) for fig in figures]
        self.width: float | None = None  # the app's width on the page, once reported
        self.window_height: float | None = None
        self.height_scale = 1.0
        self.zoom = 1.0
        self.probe = styled(widgets.Text, value="", layout=shared_layout(display="none"))
        self.probe.add_class(FIT_PROBE_CLASS)
        self.probe.observe(self._on_probe, names="value")
        self._waiting = False  # first pictures wait for the page's width (wait_for_width)
        self._held: dict = {}  # canvas -> its page's first request for a picture
        self._timer = None

    def wait_for_width(self):
        """In a Voilà page, let each figure's first picture wait for the app's width.

        A page asks every canvas for a picture as soon as it exists, and reports the app's
        width a moment later (the lesson template, once the app is laid out). Drawn at
        once, each figure would be drawn at its starting size, then laid out and drawn
        again at the page's: in a kernel running the lesson for the page, while the
        lesson's later cells wait; in a preheated kernel, while the page's width waits
        behind those first pictures (0.3 s of a preheated lesson 4 page, both steppers
        drawn at a size no one saw). Here the request is answered once the width is known,
        or after :func:`width_wait` seconds: :data:`WIDTH_WAIT` for a page that may never
        report one, :data:`REPORTED_WIDTH_WAIT` for one whose template does. Outside Voilà
        (a notebook, tests) nothing waits.
        """
        if not started_by_voila() or self.width is not None:
            return
        self._waiting = True
        for fig, *_ in self._figures:
            fig.canvas._kt_fit = self

    def hold(self, canvas, answer) -> bool:
        """Keep a page's request for a picture (``answer`` draws it) until the width is
        known; False when there is nothing to wait for."""
        if not self._waiting:
            return False
        self._held[canvas] = answer  # the page asks once, then waits for the picture
        if self._timer is None:
            self._timer = canvas.new_timer(interval=int(width_wait() * 1000))
            self._timer.single_shot = True
            self._timer.add_callback(self.release)
            self._timer.start()
        return True

    def release(self):
        """Answer the requests kept by :meth:`hold`, at the figures' present size."""
        self._waiting = False
        if self._timer is not None:
            self._timer.stop()
        for fig, *_ in self._figures:
            fig.canvas._kt_fit = None
        held, self._held = list(self._held.values()), {}
        for answer in held:
            answer()

    def _on_probe(self, change):
        text = str(change["new"]).strip().lower()
        width, _, height = text.partition("x")
        width = _clamp(width, 0, 10_000, float("nan"))
        if width != width or width <= 0:
            return
        self.width = width
        height = _clamp(height, 0, 10_000, float("nan"))
        self.window_height = height if height == height and height > 0 else None
        self.apply()
        if self._waiting:
            self.release()

    def _entry(self, fig: Figure):
        for entry in self._figures:
            if entry[0] is fig:
                return entry
        raise ValueError("This figure is not fitted here.")

    def target(self, fig: Figure) -> tuple[int, int]:
        """The size (CSS pixels) ``fig`` gets for the current width and height scale."""
        _, w0, h0, _ = self._entry(fig)
        width = w0 if self.width is None else self.width - 8  # the figure's own margins
        width = min(max(width, FIT_WIDTH[0]), FIT_WIDTH[1])
        height = width * h0 / w0 * self.height_scale
        if self.window_height is not None:
            height = min(height, max(self.window_height * self.MAX_WINDOW_SHARE, 200))
        height = min(max(height, 80), MAX_CANVAS_CSS[1])
        return int(round(width)), int(round(height))

    def apply(self):
        """Resize every figure to :meth:`target` (those already there are left alone)."""
        for fig, _, _, design_width in self._figures:
            width, height = self.target(fig)
            w, h = _css_size(fig)
            same_scale = abs(fig.get_size_inches()[0] - design_width / self.zoom) < 1e-3
            if abs(w - width) < 2 and abs(h - height) < 2 and same_scale:
                continue
            fit_figure(fig, width, height, design_width / self.zoom)


class PresenterView:
    """The "Presenter view" switch of an app, for a teacher at the front of a room.

    On: the app box gets the class :data:`PRESENTER_CLASS` (the lesson template
    then widens the page and enlarges the step sentence), the secondary
    controls are tucked away and the figures are drawn larger (``zoom``) and
    taller (``height_scale``). Off: everything is
    put back as it was. The transport and step controls are never touched.

    Parameters
    ----------
    app : ipywidgets.Box
        The app's outer box.
    fit : FigureFit
        The app's figures.
    secondary : list of widgets
        What to tuck away (data choice, seeds, options).
    zoom : float, default=1.1
        How much larger text, markers and lines are drawn.
    height_scale : float, default=1.35
        How much taller the figures get.
    """

    def __init__(self, app, fit: FigureFit, secondary, *, zoom: float = 1.1, height_scale: float = 1.35):
        self.app = app
        self.fit = fit
        self.secondary = [w for w in secondary if w is not None]
        self.zoom = float(zoom)
        self.height_scale = float(height_scale)
        self._display: dict[int, str | None] = {}
        self.button = styled(widgets.ToggleButton,
            value=False, description="Presenter view", icon="television",
            tooltip="For projecting: a bigger picture and step sentence, settings tucked away "
                    "(click again to bring them back)",
            layout=shared_layout(width="auto"))
        self.button.add_class("kt-presenter-switch")
        self.button.observe(self._on_toggle, names="value")
        #: The row to put first in the app: the switch (and the figures' hidden width box).
        self.bar = widgets.HBox([self.button, fit.probe],
                                layout=shared_layout(justify_content="flex-end", flex_flow="row wrap"))
        app.add_class(FIT_APP_CLASS)  # the lesson template reports its width to fit.probe
        fit.wait_for_width()

    @property
    def on(self) -> bool:
        return bool(self.button.value)

    def set(self, on: bool):
        """Switch presenter view on or off, as the button would."""
        self.button.value = bool(on)

    def _on_toggle(self, change):
        on = bool(change["new"])
        if on:
            self.app.add_class(PRESENTER_CLASS)
            for w in self.secondary:
                self._display[id(w)] = w.layout.display
                set_display(w, "none")
            self.fit.height_scale, self.fit.zoom = self.height_scale, self.zoom
        else:
            self.app.remove_class(PRESENTER_CLASS)
            for w in self.secondary:
                set_display(w, self._display.pop(id(w), None))
            self.fit.height_scale, self.fit.zoom = 1.0, 1.0
        self.fit.apply()
