"""Rows of controls the apps share: the data choice, and the transport buttons.

:class:`DataChoice` is linked both ways to any :class:`~kmeans_tutor.widgets.base.DataModel`:
a widget change sets the model (one restart), a model change (from code, or
from another widget) moves the widgets. :class:`Transport` drives any
:class:`~kmeans_tutor.widgets.base.RunModel`: start, back, step, play/pause,
to the end, and a timeline, with the keys shown under them.

Also here, for every app: :func:`live_region` and :func:`live_html` (the step
sentence as an ARIA live region, read out by screen readers at each step) and
:func:`figure_alt` with :func:`hidden_html` (a picture's text alternative,
present for screen readers but not drawn).

>>> from kmeans_tutor.widgets.stepper import StepperModel
>>> model = StepperModel()
>>> row = DataChoice(model)
>>> row.choose_dataset("rings")
>>> model.dataset, model.feature_names
('rings', ('x', 'y'))
"""

from __future__ import annotations

import contextlib
import html
from typing import TYPE_CHECKING

import ipywidgets as widgets
import traitlets

from ..data.mall import DEFAULT_FEATURES, MALL_FEATURES, MALL_SHORT_NAMES
from ..data.resolver import MALL, UPLOAD, dataset_choices
from .base import quiet, warning_html
from .shared_styles import set_display, shared_layout, styled

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DataChoice", "Transport", "KEYS", "keys_html", "live_html", "hidden_html", "live_region",
           "figure_alt"]

_HIDDEN = "none"

#: Keys the lesson pages give the stepping apps (see the Voilà template): key → button role.
KEYS = (("←", "back"), ("→", "step"), ("space", "play / pause"), ("Home", "start"), ("End", "end"))
#: CSS class of an app the keys drive, and of each transport button (the template clicks them).
KEYS_APP_CLASS = "kt-keys-app"
KEY_CLASSES = {"back": "kt-key-back", "step": "kt-key-step", "play": "kt-key-play",
               "start": "kt-key-start", "end": "kt-key-end", "reveal": "kt-key-reveal"}
#: CSS class of the HTML widget that holds an app's step sentence (an ARIA live region).
LIVE_CLASS = "kt-live"


def keys_html(player: bool = True, picture_keys: bool = True, extra=()) -> str:
    """The keys line shown under a transport ("Keys: ← back · → step · …").

    ``picture_keys``: the app's picture also takes ← → space Home End once
    clicked (the only way in JupyterLab, which runs no page script of ours).
    ``extra``: more (key, what) pairs, e.g. ``[("R", "reveal")]`` in prediction mode.
    """
    keys = [(k, what) for k, what in KEYS if player or what != "play / pause"] + list(extra)
    parts = " · ".join(f"<kbd>{html.escape(k)}</kbd> {html.escape(what)}" for k, what in keys)
    where = "on the lesson page, anywhere outside a text box"
    if picture_keys:
        where += "; in JupyterLab, click the picture first"
    return (f"<span class='kt-keys' style='color:#444;font-size:0.92em'>Keys: {parts} "
            f"<span style='color:#666'>({where})</span></span>")


def live_html(sentence: str) -> str:
    """A step sentence inside a polite ARIA live region (screen readers read each new one)."""
    return (f"<div role='status' aria-live='polite' aria-atomic='true' class='kt-sentence' "
            f"style='font-size:1.05em;padding:2px 0'>{html.escape(sentence)}</div>")


def hidden_html(text: str) -> str:
    """Text for screen readers only (a figure's description): present, but not drawn."""
    return (f"<div class='kt-figure-alt' style='position:absolute;width:1px;height:1px;"
            f"overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap'>"
            f"{html.escape(text)}</div>")


def live_region() -> widgets.HTML:
    """An HTML widget for a step sentence; its element is the live region the template marks."""
    w = styled(widgets.HTML)
    w.add_class(LIVE_CLASS)
    return w


def figure_alt() -> widgets.HTML:
    """An HTML widget holding a figure's text alternative (screen readers only)."""
    w = styled(widgets.HTML)
    w.add_class("kt-figure-alt-box")
    return w


def _set_model(model, **values) -> str:
    """Set model traits in one batch; returns the refusal's text ("" when accepted)."""
    try:
        with model.hold():
            for name, value in values.items():
                setattr(model, name, value)
    except (traitlets.TraitError, ValueError, TypeError) as exc:
        return str(exc)
    return ""


class DataChoice(widgets.HBox):
    """Data set dropdown, the columns to cluster on, and a "standardise" box.

    Parameters
    ----------
    model : DataModel
    multiple : bool, default=False
        False: two dropdowns, x and y (an app that plots the two columns it
        clusters). True: one check box per column (an app that may cluster
        on any number of them).
    datasets : list of (label, name), optional
        Default: Mall Customers and every synthetic set
        (:func:`~kmeans_tutor.data.resolver.dataset_choices`).

    Notes
    -----
    Choosing for x the column that y shows (or the reverse) swaps the two, so
    the row can never ask for the same column twice; the last ticked box
    cannot be unticked. Columns are offered for the Mall data and an uploaded
    file; the synthetic sets are always x and y, in one unit, and are never
    rescaled, so both the columns and the "standardise" box are hidden for
    them. When the model has an uploaded file, a "Your CSV" entry joins the
    dropdown. The row remembers the columns chosen for Mall and for the file,
    so switching back and forth keeps both. A refusal from the model is shown
    under the row, never raised from a handler.
    """

    def __init__(self, model, *, multiple: bool = False, datasets=None, **kwargs):
        kwargs.setdefault("layout", shared_layout(flex_flow="row wrap", align_items="center"))
        super().__init__(**kwargs)
        self.model = model
        self.multiple = bool(multiple)
        self._syncing = False
        self._base_options = list(datasets) if datasets is not None else dataset_choices()
        self._remembered = {MALL: tuple(model.features) if model.is_mall else DEFAULT_FEATURES}
        options = self._dataset_options()
        known = model.dataset in {name for _, name in options}  # else blank; the model explains
        self._dataset = styled(widgets.Dropdown, options=options, value=model.dataset if known else None,
                                                 description="Data", tooltip="Which data to cluster",
                                                 style={"description_width": "initial"},
                                                 layout=shared_layout(width="250px"))
        narrow = dict(style={"description_width": "initial"}, layout=shared_layout(width="235px"))
        self._x = styled(widgets.Dropdown, description="x", tooltip="The column on the horizontal axis", **narrow)
        self._y = styled(widgets.Dropdown, description="y", tooltip="The column on the vertical axis", **narrow)
        self._boxes = widgets.HBox(layout=shared_layout(flex_flow="row wrap"))
        self._scaled = styled(widgets.Checkbox, value=model.scaled, description="standardise (z-scores)",
                                                tooltip="Put every column on the same scale: its distance "
                                                        "from the mean in standard deviations",
                                                indent=False, layout=shared_layout(width="auto"))
        self._error = styled(widgets.HTML, layout=shared_layout(display=_HIDDEN))
        columns = [self._boxes] if self.multiple else [self._x, self._y]
        self.children = [self._dataset, *columns, self._scaled, self._error]
        self._show_columns(model.dataset)
        self._wire()

    # --- wiring ---------------------------------------------------------------------------
    def _wire(self):
        """Widgets → model and model → widgets, in one place."""
        self._dataset.observe(quiet(self._on_dataset), names="value")
        self._x.observe(quiet(self._on_axis), names="value")
        self._y.observe(quiet(self._on_axis), names="value")
        self._scaled.observe(quiet(self._on_scaled), names="value")
        self.model.observe(quiet(self._on_model), names=["dataset", "features", "scaled"])
        self.model.observe(quiet(self._on_upload), names=["uploaded", "uploaded_name"])

    @contextlib.contextmanager
    def _quiet(self):
        """Move widgets from code without the move reaching the model again."""
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = False

    def _set(self, **values):
        """Set model traits in one batch; a refusal is shown, and the widgets put back."""
        problem = _set_model(self.model, **values)
        self._show_error(problem)
        if problem:
            self._on_model(None)

    def choose_dataset(self, name: str):
        """Choose a data set as the dropdown would (for lessons and tests)."""
        self._dataset.value = name

    def _on_dataset(self, change):
        if self._syncing:
            return
        new, old = change["new"], self.model.dataset
        if new in (MALL, UPLOAD) and new != old:
            # Mall and the uploaded file have their own columns: restore the ones chosen before.
            if old in self._remembered:
                self._remembered[old] = tuple(self.model.features)
            self._set(dataset=new, features=self._remembered.get(new, self.model.features))
        else:
            self._set(dataset=new)

    def _on_axis(self, change):
        if self._syncing:
            return
        x, y = self._x.value, self._y.value
        if x == y:  # the learner picked the other axis' column: swap the two
            with self._quiet():
                if change["owner"] is self._x:
                    self._y.value = change["old"]
                else:
                    self._x.value = change["old"]
            x, y = self._x.value, self._y.value
        self._set(features=(x, y))

    def _on_box(self, change):
        if self._syncing:
            return
        chosen = tuple(box.column for box in self._boxes.children if box.value)
        if not chosen:  # at least one: put the tick back
            with self._quiet():
                change["owner"].value = True
            self._show_error("Keep at least one column ticked.")
            return
        self._set(features=chosen)

    def _on_scaled(self, change):
        if not self._syncing:
            self._set(scaled=bool(change["new"]))

    def _on_upload(self, change):
        """A new file: offer it in the data set dropdown, with its columns."""
        m = self.model
        self._remembered.pop(UPLOAD, None)
        if m.uploaded is not None and m.is_upload:
            self._remembered[UPLOAD] = tuple(m.features)
        with self._quiet():
            self._dataset.options = self._dataset_options()
            self._dataset.value = m.dataset if m.dataset in {v for _, v in self._dataset.options} else None
        self._on_model(None)

    def _on_model(self, change):
        m = self.model
        with self._quiet():
            if m.dataset in {v for _, v in self._dataset.options}:
                self._dataset.value = m.dataset
            if m.dataset in (MALL, UPLOAD):
                self._remembered[m.dataset] = tuple(m.features)
            self._scaled.value = bool(m.scaled)
        self._show_columns(m.dataset)

    # --- what is shown ----------------------------------------------------------------------
    def _dataset_options(self) -> list:
        """The data sets offered: the given ones, plus "Your CSV" once a file is loaded."""
        options = list(self._base_options)
        if self.model.uploaded is not None:
            name = str(self.model.uploaded_name or "")
            short = name if len(name) <= 30 else name[:27] + "…"
            # A Dropdown label is plain text in the browser, never HTML.
            options.append((f"Your CSV: {short}" if short else "Your CSV", UPLOAD))
        return options

    def _columns_for(self, dataset) -> tuple:
        """The columns offered for a data set (none for the synthetic ones)."""
        frame = self.model.uploaded
        if dataset == UPLOAD and frame is not None:
            import pandas as pd  # already loaded: the upload is a DataFrame

            return tuple(str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]))
        if dataset == MALL:
            return tuple(MALL_FEATURES)
        return ()

    def _show_columns(self, dataset):
        """The column pickers for the data set, set to the model's features."""
        columns = self._columns_for(dataset)
        chosen = [f for f in self.model.features if f in columns]
        with self._quiet():
            if self.multiple:
                if tuple(b.column for b in self._boxes.children) != columns:
                    self._boxes.children = [self._box(c) for c in columns]
                for box in self._boxes.children:
                    box.value = box.column in chosen
            elif len(columns) >= 2:
                if tuple(self._x.options) != columns:
                    self._x.options = self._y.options = columns
                x, y = (chosen + [c for c in columns if c not in chosen])[:2]
                self._x.value, self._y.value = x, y
        own = bool(columns)
        set_display(self._boxes, None if own and self.multiple else _HIDDEN)
        for choice in (self._x, self._y):
            set_display(choice, None if own and not self.multiple else _HIDDEN)
        set_display(self._scaled, None if own else _HIDDEN)

    def _box(self, column: str) -> widgets.Checkbox:
        label = MALL_SHORT_NAMES.get(column, column)
        box = styled(widgets.Checkbox, value=False, description=label, indent=False,
                                       tooltip=f"Cluster on {column}", layout=shared_layout(width="auto"))
        box.column = column
        box.observe(quiet(self._on_box), names="value")
        return box

    def _show_error(self, text):
        self._error.value = warning_html(text) if text else ""
        set_display(self._error, None if text else _HIDDEN)

    # --- read-only handles for tests and lesson text ---------------------------------------
    @property
    def error(self) -> str:
        """The last refusal shown under the row ("" when none)."""
        return self._error.value

    @property
    def column_boxes(self) -> dict:
        """Column → its check box (``multiple=True``)."""
        return {box.column: box for box in self._boxes.children}


class Transport(widgets.VBox):
    """Start, back, step, play/pause, to the end, and a timeline, for a RunModel.

    Parameters
    ----------
    model : RunModel
    player : bool, default=True
        Offer play/pause and a speed slider (the model needs a ``speed`` trait).
    picture_keys : bool, default=True
        The app's picture takes the keys too (said in the keys line).

    The buttons only call the model; the app redraws on the model's ``index``.
    Buttons are disabled where they would do nothing (back at the start, step
    at the end). Play/pause is one toggle: pausing keeps the step on screen,
    playing again goes on from it (from step 0 only when paused on the last
    step); "start" is the only way back to step 0.

    Each button carries a CSS class (:data:`KEY_CLASSES`) and the transport
    the class ``kt-transport``: the lesson template clicks them for the keys
    ← → space Home End, shown on screen under the buttons (:func:`keys_html`).
    The browser-side timer is an ``ipywidgets.Play`` kept out of sight.
    """

    def __init__(self, model, *, player: bool = True, picture_keys: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        btn = shared_layout(width="auto")
        self.reset = styled(widgets.Button, description="start", icon="fast-backward",
                                            tooltip="Back to step 0 of this run (key: Home)", layout=btn)
        self.back = styled(widgets.Button, description="back", icon="step-backward",
                                           tooltip="One half-step back (key: ←)", layout=btn)
        self.step = styled(widgets.Button, description="step", icon="step-forward", button_style="primary",
                                           tooltip="One half-step forward (key: →)", layout=btn)
        self.end = styled(widgets.Button, description="run to convergence", icon="fast-forward",
                                          tooltip="Jump to the last step (key: End)", layout=btn)
        self.timeline = styled(widgets.IntSlider, value=0, min=0, max=max(model.last_index, 1),
                                                  description="timeline", continuous_update=True,
                                                  tooltip="Drag to any step of the run",
                                                  layout=shared_layout(width="98%"))
        for button, role in ((self.reset, "start"), (self.back, "back"), (self.step, "step"),
                             (self.end, "end")):
            button.add_class(KEY_CLASSES[role])
        self.add_class("kt-transport")
        row = [self.reset, self.back, self.step]
        self.play = self.speed = self.play_pause = None
        if player:
            self.play_pause = styled(widgets.ToggleButton, value=False, description="play", icon="play",
                                                           tooltip="Play the run from this step (key: space)",
                                                           layout=btn)
            self.play_pause.add_class(KEY_CLASSES["play"])
            # The timer: a Play widget ticks in the browser; its own buttons are not shown.
            self.play = styled(widgets.Play, value=0, min=0, max=max(model.last_index, 1), step=1,
                                             interval=self._interval(), show_repeat=False,
                                             tooltip="Play / pause", layout=shared_layout(display=_HIDDEN))
            self.speed = styled(widgets.FloatSlider, value=model.speed, min=0.5, max=10.0, step=0.5,
                                                     description="steps/s", readout_format=".1f",
                                                     tooltip="How many steps per second when playing",
                                                     layout=shared_layout(width="250px"))
            row += [self.play_pause, self.play]
        row.append(self.end)
        if self.speed is not None:
            row.append(self.speed)
        self.keys_line = styled(widgets.HTML, keys_html(player, picture_keys))
        self.children = [widgets.HBox(row, layout=shared_layout(flex_flow="row wrap",
                                                                 align_items="center")),
                         self.timeline, self.keys_line]
        self._wire()

    def _wire(self):
        m = self.model
        self.reset.on_click(quiet(lambda _: m.reset()))
        self.back.on_click(quiet(lambda _: m.back()))
        self.step.on_click(quiet(lambda _: m.step()))
        self.end.on_click(quiet(lambda _: m.to_end()))
        self.timeline.observe(quiet(lambda ch: m.goto(ch["new"])), names="value")
        if self.play is not None:
            self.play.observe(quiet(self._on_tick), names="value")
            traitlets.link((self.play, "playing"), (m, "playing"))
            traitlets.link((self.play_pause, "value"), (m, "playing"))
            traitlets.link((self.speed, "value"), (m, "speed"))
            m.observe(quiet(lambda ch: setattr(self.play, "interval", self._interval())), names="speed")
            m.observe(quiet(self._on_playing), names="playing")

    def _on_tick(self, change):
        """A tick of the player moves the model (only while playing: the timer never rewinds it)."""
        if self.model.playing:
            self.model.goto(change["new"])

    def _on_playing(self, change):
        """Play on: the timer continues from the step on screen. Paused: the step stays."""
        playing = bool(change["new"])
        if playing:
            self.play.value = self.model.index
        self.play_pause.description = "pause" if playing else "play"
        self.play_pause.icon = "pause" if playing else "play"
        self.play_pause.tooltip = ("Pause here; the step stays on screen (key: space)" if playing
                                   else "Play the run from this step (key: space)")

    def toggle(self):
        """Play/pause, as the button (and the space key) would."""
        if self.play_pause is not None and self.model.n_steps > 0:
            self.model.playing = not self.model.playing

    def _interval(self) -> int:
        """Player tick in ms: never below 100 (the Play widget has no back-pressure)."""
        return int(max(100, round(1000.0 / self.model.speed)))

    def new_run(self):
        """A new run: ranges first, then values (so no clamp fires a goto)."""
        last = max(self.model.n_steps - 1, 1)
        for w in (self.timeline, self.play):
            if w is not None:
                w.value = 0
                w.max = last

    def show(self):
        """Follow the model's step and enable what makes sense there."""
        m = self.model
        running = m.n_steps > 0
        if running:
            self.timeline.value = m.index
            if self.play is not None:
                self.play.value = m.index
        self.back.disabled = self.reset.disabled = not running or m.at_start
        self.step.disabled = self.end.disabled = not running or m.at_end
        self.timeline.disabled = not running
        if self.play is not None:
            self.play.disabled = self.play_pause.disabled = not running
