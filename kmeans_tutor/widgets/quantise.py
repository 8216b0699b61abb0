"""Lesson 9's app: a photo reduced to k colours by K-means, and the run in colour space.

Every pixel is a point in colour space (its red, green and blue levels, 0–255).
K-means learns k colours from a sample of the pixels; every pixel of the photo is
then painted with its nearest colour. The app shows the photo and its k-colour
version side by side with the palette, and lets the learner step through the run
on the sampled pixels, drawn in colour space. A learner may upload a picture of
their own (PNG, JPEG, GIF, BMP, WebP; read in memory, never saved).

Two layers, as in every app of this package:

- :class:`QuantiseModel` — traitlets, no widgets: the picture, ``k``, the seeding,
  the result (:class:`~kmeans_tutor.data.images.Quantised`) and the step on screen.
- :class:`QuantiseApp` — an ``ipywidgets.VBox`` with the controls and two ipympl
  figures created once (the pictures and palette; colour space).

>>> m = QuantiseModel(k=4)
>>> m.result.k, len(set(map(tuple, m.result.image.reshape(-1, 3)))) <= 4
(4, True)
>>> m.k = 40
>>> m.result is None, m.message_level
(True, 'error')
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
import traitlets
from traitlets import Enum, Instance, Int, Unicode

from ..core.steps import Step, format_inertia
from ..data.errors import DataError
from ..data.images import (MAX_IMAGE_BYTES, SAMPLE_PIXELS, Quantised, decode_image,
                           load_sample_photo, quantise, sample_pixels)
from ..views.colours import CHANNELS, PLANES, ColourSpaceView, QuantisedView, describe_colour
from .base import AppModel, Stepping, message_html, quiet, step_readout, warning_html
from .controls import KEYS_APP_CLASS, Transport, figure_alt, hidden_html, live_html, live_region
from .figure import Blitter, FigureFit, PresenterView, app_figure, freeze_layout, refresh, short_name
from .sending import sent_when_built
from .shared_styles import shared_layout, styled

__all__ = ["QuantiseModel", "QuantiseApp", "K_RANGE", "SEEDINGS", "PHOTO_NAME"]

#: Fewest and most colours the app offers.
K_RANGE = (2, 32)
#: Seeding choices: (label, init).
SEEDINGS = (("k-means++", "k-means++"), ("random points", "random"))
#: What the course's photo is called on screen.
PHOTO_NAME = "the dahlia photo"


class QuantiseModel(AppModel, Stepping):
    """A picture, k and a seeding in; the picture in k colours and the run's steps out.

    Settings: ``picture``, ``k``, ``init``, ``seed`` (any change runs K-means again).

    Traits
    ------
    picture : ndarray of shape (height, width, 3), uint8
        The picture (default: the course's photo); set it with :meth:`use_upload`
        or directly with an RGB array.
    picture_name : str
        What the picture is called on screen (as given: escape it before showing it).
    k : int
        Number of colours, from 2 to 32.
    init : {"k-means++", "random"}
    seed : int
        Seeds the pixel sample and the seeding.
    result : Quantised or None
        The picture in k colours and the run on the sample (None when a setting is invalid).
    index : int
        The step of the run on screen (clamped; 0 after every change).
    """

    picture = Instance(np.ndarray)
    picture_name = Unicode(PHOTO_NAME)
    k = Int(8)
    init = Enum(tuple(init for _, init in SEEDINGS), default_value="k-means++")
    seed = Int(0)
    result = Instance(Quantised, allow_none=True)

    _settings = ("picture", "k", "init", "seed")

    def __init__(self, picture=None, *, k: int = 8, init: str = "k-means++", seed: int = 0,
                 picture_name: str = PHOTO_NAME):
        self._n_colours: tuple = (None, None, 0)  # (picture, seed, different colours of its sample)
        picture = load_sample_photo() if picture is None else np.asarray(picture)
        super().__init__(picture=picture, picture_name=str(picture_name), k=k, init=init, seed=seed)

    # --- the run ------------------------------------------------------------------------------
    def sample_colours(self, picture=None) -> int:
        """How many different colours the sampled pixels of a picture hold (the most k can be)."""
        picture = self.picture if picture is None else picture
        cached, seed, n = self._n_colours
        if cached is not picture or seed != self.seed:
            sample = sample_pixels(picture, SAMPLE_PIXELS, random_state=self.seed)
            n = len(np.unique(sample, axis=0))
            self._n_colours = (picture, self.seed, n)
        return n

    def _check(self) -> str:
        lo, hi = K_RANGE
        if not lo <= self.k <= hi:
            return f"k = {self.k} is outside this app's range: choose from {lo} to {hi} colours."
        if not 0 <= self.seed <= 2**32 - 1:
            return f"The seed must be a whole number from 0 to 4,294,967,295; got {self.seed:,}."
        try:
            n = self.sample_colours()
        except ValueError as exc:  # a picture set from code that is not (height, width, 3) levels
            return str(exc)
        if self.k > n:
            return (f"The sampled pixels of this picture hold only {n} different colours: "
                    f"choose k ≤ {n}.")
        return ""

    def _compute(self):
        self.result = quantise(self.picture, self.k, init=self.init, random_state=self.seed)
        return "", ""

    def _clear(self):
        self.result = None

    def _publish(self):
        self.index = 0

    # --- a learner's picture ------------------------------------------------------------------
    def use_upload(self, content, name: str = ""):
        """Show a learner's picture file (its bytes): one restart.

        Raises DataError, changing nothing, when the file cannot be used: not an
        image we open, damaged, too large, or with fewer different colours than k.
        """
        picture = decode_image(content)
        n = self.sample_colours(picture)
        if n < 2:
            raise DataError("This picture has a single colour: there is nothing to group.")
        if self.k > n:
            raise DataError(f"This picture's sampled pixels hold only {n} different colours, "
                            f"fewer than k = {self.k}: lower k, then upload it again.")
        with self.hold():
            self.picture = picture
            self.picture_name = str(name) or "your picture"

    def use_photo(self):
        """Back to the course's photo."""
        with self.hold():
            self.picture = load_sample_photo()
            self.picture_name = PHOTO_NAME

    # --- the step on screen (moves: see Stepping) ------------------------------------------------
    def _length(self) -> int:
        return len(self.result.trace) if self.result is not None else 0

    @property
    def current(self) -> Step | None:
        """The step on screen (None when there is no run)."""
        return self.result.trace[self.index] if self.result is not None else None


# ------------------------------------------------------------------------------ the app


# ipywidgets labels the upload button "<description> (<files chosen>)"; show the description alone.
_UPLOAD_CSS = ("<style>.kt-image-upload { font-size: 0 !important; }"
               ".kt-image-upload i { font-size: var(--jp-widgets-font-size, 13px); margin-right: 0.4em; }"
               ".kt-image-upload::after { content: 'Your picture'; "
               "font-size: var(--jp-widgets-font-size, 13px); }</style>")
_ACCEPT = ".png,.jpg,.jpeg,.gif,.bmp,.webp,image/png,image/jpeg,image/gif,image/bmp,image/webp"
_PAINTS = (("their own colour", "own"), ("their centre's colour", "centre"))
#: The formats named to a learner (all in IMAGE_FORMATS).
_FORMAT_NAMES = ("PNG", "JPEG", "GIF", "BMP", "WebP")


def _n_colours(picture: np.ndarray) -> int:
    """Different colours in a picture."""
    flat = picture.reshape(-1, 3).astype(np.uint32)
    return len(np.unique((flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]))


class QuantiseApp(widgets.VBox):
    """A photo in k colours (k-means on its pixels), its palette, and the run in colour space.

    Parameters
    ----------
    k : int, default=8
        Colours, 2 … 32 (slider).
    init : {"k-means++", "random"}, default="k-means++"
    seed : int, default=0
        Seeds the pixel sample and the seeding.
    picture : ndarray of shape (h, w, 3), optional
        Default: the course's photo.
    figsize, space_figsize : (float, float)
        Inches at 80 dpi.

    Attributes
    ----------
    model : QuantiseModel
    fig, space_fig : Figure
        The pictures and palette; the colour space. Each created once.
    pictures : QuantisedView
    space : ColourSpaceView
    transport : Transport
    fit : FigureFit
    presenter : PresenterView
    """

    @sent_when_built
    def __init__(self, k: int = 8, init: str = "k-means++", seed: int = 0, picture=None, *,
                 figsize=(11.0, 5.6), space_figsize=(11.0, 5.0), **kwargs):
        super().__init__(**kwargs)
        self.model = m = QuantiseModel(picture, k=k, init=init, seed=seed)
        lo, hi = K_RANGE
        self._k = styled(widgets.IntSlider, value=min(max(m.k, lo), hi), min=lo, max=hi, description="k colours",
                                            continuous_update=False, style={"description_width": "initial"},
                                            tooltip="How many colours K-means finds (the number of clusters)",
                                            layout=shared_layout(width="360px"))
        self._init = styled(widgets.Dropdown, options=list(SEEDINGS), value=m.init, description="Seeding",
                                              tooltip="How the starting centres are chosen",
                                              style={"description_width": "initial"},
                                              layout=shared_layout(width="230px"))
        self._upload = styled(widgets.FileUpload, accept=_ACCEPT, multiple=False, description="Your picture",
                                                  tooltip=f"A photo of your own ({', '.join(_FORMAT_NAMES)}), "
                                                          f"up to {MAX_IMAGE_BYTES // (1024 * 1024)} MB; "
                                                          "read in memory, never saved",
                                                  layout=shared_layout(width="auto"))
        self._upload.add_class("kt-image-upload")
        self._photo = styled(widgets.Button, description="the dahlia", icon="image",
                                             tooltip="Back to the course's photo",
                                             layout=shared_layout(width="auto"))
        self._upload_status = styled(widgets.HTML)
        self._message = styled(widgets.HTML)
        self._readout = styled(widgets.HTML)
        self._paint = styled(widgets.ToggleButtons, options=list(_PAINTS), value="own", description="Paint points",
                                                    tooltip="Paint each point its own colour, or the colour of "
                                                            "its centre (what it becomes in the picture)",
                                                    style={"description_width": "initial", "button_width": "auto"})
        self.transport = Transport(m, player=False, picture_keys=False)
        self._caption = live_region()
        self._step_readout = styled(widgets.HTML)
        self._figure_alt, self._space_alt = figure_alt(), figure_alt()

        # --- figures, once ---
        self.fig = app_figure(figsize)
        grid = self.fig.add_gridspec(2, 2, height_ratios=(4.2, 1.4))
        self.pictures = QuantisedView(self.fig.add_subplot(grid[0, 0]), self.fig.add_subplot(grid[0, 1]),
                                      self.fig.add_subplot(grid[1, :]))
        self.space_fig = app_figure(space_figsize)
        self.space = ColourSpaceView(self.space_fig.subplots(1, 2))
        freeze_layout(self.space_fig)
        self._shown_picture = self._laid_out = None
        self._colour_count: tuple = (None, 0)  # (picture, its number of different colours)
        # What changes with k and with each step is redrawn alone over a snapshot of the rest:
        # the k-colour picture and the palette; the centres (and the points, painted by centre).
        ax_quantised, ax_palette = self.pictures.axes[1:]
        self._blit = Blitter(self.fig, lambda: [self.pictures.quantised, ax_quantised.title, ax_palette])
        self._space_blit = Blitter(self.space_fig, self._space_dynamic)

        row = dict(layout=shared_layout(flex_flow="row wrap", align_items="center"))
        settings = widgets.HBox([self._k, self._init], **row)
        uploads = widgets.HBox([self._upload, styled(widgets.HTML, _UPLOAD_CSS), self._photo, self._upload_status],
                               **row)
        self.fit = FigureFit(self.fig, self.space_fig)
        self.presenter = PresenterView(self, self.fit, [uploads, self._paint])
        self.children = [
            self.presenter.bar, settings, uploads, self._message, self._readout,
            self._figure_alt, self.fig.canvas,
            styled(widgets.HTML, f"<h4 style='margin:10px 0 2px'>Inside the run: {SAMPLE_PIXELS:,} of the "
                                 "pixels in colour space</h4>"),
            styled(widgets.HTML, _SPACE_NOTE), self._paint, self.transport, self._step_readout, self._caption,
            self._space_alt, self.space_fig.canvas,
        ]
        self.add_class(KEYS_APP_CLASS)
        self._show_upload_hint()
        self._on_restart()
        self._wire()

    def _report(self, text: str):
        self._message.value = warning_html(text)

    # --- wiring ------------------------------------------------------------------------------
    def _wire(self):
        """Every handler, in one place: widgets → model, model → widgets and figures."""
        m = self.model
        self._k.observe(quiet(lambda ch: self._set("k", int(ch["new"])), self._report), names="value")
        self._init.observe(quiet(lambda ch: self._set("init", ch["new"]), self._report), names="value")
        self._paint.observe(quiet(lambda ch: self._show_step(), self._report), names="value")
        self._photo.on_click(quiet(lambda _: self._use_photo(), self._report))
        self._upload_handler = quiet(self._on_upload, self._report)
        self._upload.observe(self._upload_handler, names="value")
        m.observe(quiet(lambda ch: self._show_step(), self._report), names="index")
        m.observe(quiet(self._on_restart, self._report), names="revision")

    def _set(self, name, value):
        """Set a model setting; a refusal becomes a message, never an exception."""
        try:
            setattr(self.model, name, value)
        except (traitlets.TraitError, ValueError, TypeError) as exc:
            self._report(str(exc))

    def _on_upload(self, change):
        value = change["new"]
        if not value:
            return  # emptied below
        name = ""
        try:
            if not isinstance(value, (tuple, list)) or len(value) != 1 or not isinstance(value[0], dict):
                raise DataError("Upload one picture at a time.")
            record = value[0]
            name = str(record.get("name") or "")
            self.model.use_upload(record.get("content"), name)
        except (DataError, ValueError, TypeError, traitlets.TraitError) as exc:
            head = f"Could not use {short_name(name)}" if name else "Could not use this upload"
            self._upload_status.value = warning_html(
                f"{head}: {str(exc).splitlines()[0]} The picture on screen is unchanged.")
        else:
            self._upload_status.value = (f"<span style='color:#1b5e20'>✔ Showing "
                                         f"{html.escape(short_name(self.model.picture_name))}.</span>")
        finally:
            # Drop the bytes; an empty value also lets the learner pick the same file again.
            self._upload.unobserve(self._upload_handler, names="value")
            try:
                self._upload.value = ()
            finally:
                self._upload.observe(self._upload_handler, names="value")

    def _use_photo(self):
        self.model.use_photo()
        self._show_upload_hint()

    def _show_upload_hint(self):
        self._upload_status.value = (
            f"<span style='color:#555'>Try a photo of your own ({', '.join(_FORMAT_NAMES)}, up to "
            f"{MAX_IMAGE_BYTES // (1024 * 1024)} MB); it stays in this page and is never saved.</span>")

    # model → widgets and figures
    def _on_restart(self, change=None):
        m = self.model
        if K_RANGE[0] <= m.k <= K_RANGE[1]:
            self._k.value = m.k
        self._init.value = m.init
        self.transport.new_run()
        if m.picture is not self._shown_picture and m.result is not None:
            self.space.set_points(m.result.sample)
            self._shown_picture = m.picture
            self._space_blit.track()  # new points: the next picture is drawn in full
        self._show_pictures()
        self._show_step()
        self._message.value = message_html(m)  # last: the page has what it speaks of

    def _show_pictures(self):
        m, q = self.model, self.model.result
        if q is None:
            self.pictures.draw(m.picture, np.full_like(m.picture, 255), np.zeros((0, 3)), np.zeros(0),
                               title="(no result: see the message above)")
            self._readout.value = ""
        else:
            self.pictures.draw(m.picture, q.image, q.palette, q.shares,
                               title=f"In {q.k} colours (k = {q.k})")
            self._readout.value = self._readout_html(q)
        h, w = m.picture.shape[:2]
        self.pictures.axes[0].set_title(f"Original: {short_name(m.picture_name, 30)}, {w} × {h} pixels",
                                        fontsize=12)
        self._figure_alt.value = hidden_html(self.figure_text)
        if m.picture is not self._laid_out:  # a new picture: lay out and draw everything again
            freeze_layout(self.fig)
            self._laid_out = m.picture
            self._blit.track()
            refresh(self.fig)
        else:
            self._blit.update()

    def _readout_html(self, q: Quantised) -> str:
        n = len(q.sample)
        return (f"<div style='line-height:1.5'>Inertia of the run: <b>{format_inertia(q.trace.final.inertia)}"
                f"</b> — the sum, over the {n:,} sampled pixels, of each one's squared distance "
                f"to its centre, in colour levels² (each channel runs 0–255). Over the whole picture "
                f"a pixel is on average <b>{q.rms_error:.1f} levels</b> from its new colour "
                f"(root mean square); {self._picture_colours():,} different colours became "
                f"{len(np.unique(q.palette, axis=0))}.</div>")

    def _picture_colours(self) -> int:
        """Different colours of the picture on screen (counted once per picture)."""
        picture = self.model.picture
        if self._colour_count[0] is not picture:
            self._colour_count = (picture, _n_colours(picture))
        return self._colour_count[1]

    def _show_step(self):
        m = self.model
        self.transport.show()
        step = m.current
        if step is None:
            self._caption.value = live_html("")
            self._step_readout.value = ""
            self._space_alt.value = hidden_html("No run to show.")
            self._space_blit.update()
            return
        self.space.draw(step, paint=self._paint.value)
        self._step_readout.value = step_readout(step, m.n_steps)
        self._caption.value = live_html(step.describe())
        self._space_alt.value = hidden_html(self.space_text)
        self._space_blit.update()

    def _space_dynamic(self) -> list:
        """The colour space's artists that change from step to step."""
        moving = [*self.space.centres, *self.space.paths]
        return moving + (list(self.space.points) if self._paint.value == "centre" else [])

    # --- read-only views of the screen, for tests and lesson checks --------------------------
    @property
    def message(self) -> str:
        return self._message.value

    @property
    def upload_status(self) -> str:
        return self._upload_status.value

    @property
    def upload(self) -> widgets.FileUpload:
        """The FileUpload widget (tests set its ``value``)."""
        return self._upload

    @property
    def readout(self) -> str:
        return self._readout.value

    @property
    def caption(self) -> str:
        return self._caption.value

    @property
    def figure_text(self) -> str:
        """The pictures in words (their text alternative)."""
        m, q = self.model, self.model.result
        h, w = m.picture.shape[:2]
        text = f"The original picture, {m.picture_name}, {w} by {h} pixels"
        if q is None:
            return text + "."
        order = np.argsort(-q.shares, kind="stable")[:5]
        main = ", ".join(f"{describe_colour(q.palette[j])} {q.shares[j]:.0%}" for j in order)
        return (f"{text}, beside the same picture in {q.k} colours. Its palette, largest share "
                f"first: {main}{', …' if q.k > 5 else ''}.")

    @property
    def space_text(self) -> str:
        """The colour-space picture in words, for the step on screen."""
        step = self.model.current
        if step is None:
            return "No run to show."
        planes = " and ".join(f"{CHANNELS[x]} against {CHANNELS[y]}" for x, y in PLANES)
        paint = "its centre's" if self.space.paint == "centre" else "its own"
        centres = f"{step.n_clusters} centre{'' if step.n_clusters == 1 else 's'}"
        return (f"{len(self.model.result.sample):,} sampled pixels as points, {planes}, each painted "
                f"{paint} colour; {centres} drawn as large squares. "
                f"Step {step.index}: {step.describe()}")


_SPACE_NOTE = ("<div style='color:#333;max-width:72em'>Each dot is one pixel, placed by its levels of "
               "red, green and blue (0–255): colour space has three axes, so you see it from two sides, "
               "red against green and blue against green. The large squares are the centres, painted "
               "their own colour; after an update step, a line shows how far each one moved. "
               "Step through the run, or jump to its end.</div>")
