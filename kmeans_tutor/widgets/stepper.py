"""The K-means stepper: watch one run half a step at a time, forwards and backwards.

The learner chooses the data, k, the seeding and the seed, then steps through
the run: every seeding pick, every assign step, every update step, to
convergence. Each step is drawn alone from what it carries, so going back is
as cheap as going forward, and the timeline slider scrubs anywhere.

Two layers, as in every app of this package:

- :class:`StepperModel` — traitlets, no widgets: the settings, the recorded
  run (``trace``) and the step on screen (``index``). Tests drive it directly.
- :class:`StepperApp` — an ``ipywidgets.VBox`` with the controls, the
  readouts and one ipympl figure created once: the step on the left (a
  :class:`~kmeans_tutor.views.composite.StepPicture`) and the inertia
  staircase on the right (:class:`~kmeans_tutor.views.analysis.InertiaSoFar`),
  drawn up to the step on screen unless the learner ticks "show whole run".

Drawing costs: a step only updates artists (``set_data``, about a
millisecond at 10,000 points). After a click the picture is rendered and sent
at once (one trip to the browser). While playing, the app only announces a new
picture (``draw_idle``) and the browser asks for it when ready — ipympl keeps
at most one frame in flight, so a slow connection skips frames instead of
queueing them. The player ticks at most 10 times a second (≥ 100 ms).

>>> m = StepperModel(init="manual", k=2, dataset="blobs")
>>> m.trace is None, m.message
(True, 'Click 2 centres on the plot to start (0 of 2 placed).')
"""

from __future__ import annotations

import html
import math

import ipywidgets as widgets
import numpy as np
import traitlets
from matplotlib.text import Text
from traitlets import Enum, Float, Instance, List, observe, validate

from ..core.lloyd import kmeans_steps
from ..core.steps import SeedStep, Step, format_inertia
from ..core.trace import Trace
from ..data.mall import DEFAULT_FEATURES
from ..views.analysis import InertiaSoFar
from ..views.composite import StepPicture
from .base import DataModel, RunModel, message_html, quiet, step_readout, warning_html
from .controls import (KEYS_APP_CLASS, DataChoice, Transport, figure_alt, hidden_html, live_html,
                       live_region)
from .figure import (Blitter, FigureFit, PresenterView, app_figure, freeze_layout, plain_text,
                     short_name)
from .upload import UploadRow

__all__ = ["StepperModel", "StepperApp", "INIT_CHOICES", "INIT_LABELS"]

#: Seeding methods of the stepper; "manual" means the learner clicks the centres.
INIT_CHOICES = ("k-means++", "random", "farthest", "manual")
#: Dropdown labels of the seeding methods.
INIT_LABELS = {
    "k-means++": "k-means++",
    "random": "random points",
    "farthest": "farthest point",
    "manual": "place the centres yourself",
}


class StepperModel(RunModel):
    """One K-means run, stepped half a step at a time.

    Settings (any change restarts the run at step 0)
    -------------------------------------------------
    dataset, features, scaled, n_samples
        The data (see :class:`DataModel`).
    k : int
        Number of clusters.
    init : {"k-means++", "random", "farthest", "manual"}
        Seeding. "manual": the learner places the k centres
        (:meth:`add_center`); the run starts when the k-th is placed.
    seed : int
        ``random_state`` of the run (0 … 2³²−1).
    manual_centers : list of [x, y]
        Centres placed so far, in the units of :attr:`X`.

    State
    -----
    trace : Trace or None
        Every step of the run, to convergence; None while the settings are
        invalid or manual centres are still missing.
    index : int
        The step on screen (always clamped to the run).
    playing : bool
        The app's player is running (the model itself has no timer).
    speed : float
        Steps per second while playing (0.5 … 10).

    Examples
    --------
    >>> m = StepperModel(init="manual", k=2, dataset="blobs")
    >>> m.trace is None, m.message
    (True, 'Click 2 centres on the plot to start (0 of 2 placed).')
    >>> m.add_center(0, 0), m.add_center(5, 5)
    (True, True)
    >>> m.current.describe()
    'Seeding · centre 1 placed by hand.'
    """

    init = Enum(INIT_CHOICES, default_value="k-means++")
    manual_centers = List()
    trace = Instance(Trace, allow_none=True)
    speed = Float(2.0)

    n_features = (2, 2)  # the picture shows the two columns K-means uses
    _settings = DataModel._settings + ("init", "manual_centers")

    def __init__(self, dataset="mall", features=DEFAULT_FEATURES, *, scaled=True, k=5,
                 init="k-means++", seed=0, n_samples=None, manual_centers=(), speed=2.0):
        super().__init__(dataset=dataset, features=tuple(features), scaled=scaled, k=k, init=init,
                         seed=seed, n_samples=n_samples, manual_centers=[list(c) for c in manual_centers],
                         speed=speed)

    def _follow(self, change):
        # Centres placed by hand belong to the data (and k) they were placed on.
        name = change["name"]
        if name in DataModel._data_settings and self.manual_centers:
            self.manual_centers = []
        elif name == "k" and len(self.manual_centers) > self.k:
            self.manual_centers = self.manual_centers[: self.k]

    @validate("speed")
    def _clamp_speed(self, proposal):
        return float(min(max(proposal["value"], 0.5), 10.0))

    @validate("manual_centers")
    def _check_centres(self, proposal):
        out = []
        for c in proposal["value"]:
            x, y = (float(v) for v in c)
            if not (math.isfinite(x) and math.isfinite(y)):
                raise traitlets.TraitError(f"A centre needs finite coordinates; got {c!r}.")
            out.append([x, y])
        return out

    # --- manual centres -----------------------------------------------------------------------
    @property
    def needs_centers(self) -> int:
        """How many more centres the learner must place (0 unless init is "manual")."""
        if self.init != "manual":
            return 0
        return max(self.k - len(self.manual_centers), 0)

    def add_center(self, x: float, y: float) -> bool:
        """Place one centre by hand (init "manual"); the k-th one starts the run.

        Returns False (and changes nothing) when not in manual mode or when k
        centres are already placed.
        """
        if self.init != "manual" or len(self.manual_centers) >= self.k:
            return False
        if not (math.isfinite(float(x)) and math.isfinite(float(y))):
            return False
        self.manual_centers = [*self.manual_centers, [float(x), float(y)]]
        return True

    def clear_centers(self):
        """Remove every centre placed by hand (the run stops until k are placed again)."""
        self.manual_centers = []

    def preview(self) -> Step:
        """A step to draw while centres are being placed: the data, unassigned,
        and the centres so far."""
        C = np.array(self.manual_centers, dtype=np.float64).reshape(-1, 2)
        return SeedStep(index=0, iteration=0, centers=C, labels=None, inertia=None,
                        method="manual", center_index=max(len(C) - 1, 0), chosen=-1, seed=None)

    # --- run ------------------------------------------------------------------------------------
    def _clear(self):
        self.trace = None

    def _compute(self):
        if self.init == "manual":
            missing = self.needs_centers
            if missing:
                self.trace = None
                placed = len(self.manual_centers)
                word = "centre" if self.k == 1 else "centres"
                return (f"Click {self.k} {word} on the plot to start ({placed} of {self.k} placed)."
                        if placed == 0 else
                        f"Click {missing} more {'centre' if missing == 1 else 'centres'} on the plot "
                        f"({placed} of {self.k} placed)."), "info"
            init = np.array(self.manual_centers, dtype=np.float64)
        else:
            init = self.init
        self.trace = kmeans_steps(self.X, self.k, init=init, random_state=self.seed).trace()
        return "", ""

    def _length(self) -> int:
        return 0 if self.trace is None else len(self.trace)

    @property
    def current(self) -> Step | None:
        """The step on screen (None when there is no run)."""
        return None if self.trace is None else self.trace[self.index]

    @property
    def seed_used(self) -> int | None:
        """The integer seed of the run on screen (``trace.params["random_state"]``)."""
        return None if self.trace is None else self.trace.params.get("random_state")

    @observe("playing")
    def _play_from_start_at_end(self, change):
        # Pressing play on the last step replays the run from the start.
        if change["new"] and self.trace is not None and self.at_end:
            self.index = 0


# ------------------------------------------------------------------------------ the app


class StepperApp(widgets.VBox):
    """Step through one K-means run: seeding, assign, update, … converged.

    Parameters
    ----------
    dataset : str, default="mall"
        "mall" (Mall Customers) or a synthetic data set
        (:func:`~kmeans_tutor.datasets.list_datasets`).
    features : pair of str, default=("Annual Income (k$)", "Spending Score (1-100)")
        Mall columns to cluster on (ignored for synthetic data, which are x, y).
    k : int, default=5
    init : {"k-means++", "random", "farthest", "manual"}, default="k-means++"
        "manual": the learner clicks the k centres on the plot.
    seed : int, default=0
    scaled : bool, default=True
        Z-score the Mall columns.
    voronoi : bool, default=False
        Tint each nearest-centre region.
    n_samples : int, optional
        Points drawn for a synthetic data set.
    speed : float, default=2.0
        Steps per second when playing (0.5 … 10).
    figsize : (float, float), default=(11.0, 4.6)
        Inches at 80 dpi.

    Attributes
    ----------
    model : StepperModel
    fig : Figure
        The one ipympl figure (``fig.canvas`` is in the layout).
    panel : StepPicture
        The step on the left axes (rebuilt when the data, k or Voronoi change).
    transport : Transport
        Start, back, step, play/pause, to the end, speed, timeline.
    fit : FigureFit
        Makes the figures follow the page width.
    presenter : PresenterView
        The "Presenter view" switch (first row): a larger picture and sentence, settings tucked away.
    inertia_view : InertiaSoFar or None
        The inertia staircase on the right, up to the step on screen (rebuilt
        for each new run).

    Keyboard: ← back, → step, space play/pause, Home start, End the last
    step. On a lesson page the keys work anywhere outside a text box (the
    page's script clicks the buttons); in JupyterLab click the picture first.
    The step sentence is an ARIA live region (screen readers read each new
    one) and the picture has a text description that follows the step.

    Examples
    --------
    In a notebook cell or a Voilà lesson, the app is the cell's last expression::

        from kmeans_tutor.widgets.stepper import StepperApp
        StepperApp(dataset="mall", k=5, seed=0)
    """

    def __init__(self, dataset="mall", features=DEFAULT_FEATURES, k=5, init="k-means++", seed=0,
                 scaled=True, voronoi=False, n_samples=None, *, speed=2.0, figsize=(11.0, 4.6),
                 **kwargs):
        super().__init__(**kwargs)
        self.model = m = StepperModel(dataset, features, scaled=scaled, k=k, init=init, seed=seed,
                                      n_samples=n_samples, speed=speed)
        self._voronoi_on = bool(voronoi)

        # --- settings ---
        self.data_row = DataChoice(m)
        self._upload = UploadRow(lambda frame, name: m.use_upload(frame, name))
        self._k = widgets.IntSlider(value=min(max(m.k, 1), 10), min=1, max=10, description="k",
                                    continuous_update=False, tooltip="The number of clusters",
                                    layout=widgets.Layout(width="260px"))
        self._init = widgets.Dropdown(options=[(INIT_LABELS[i], i) for i in INIT_CHOICES], value=m.init,
                                      description="Seeding", tooltip="How the first centres are chosen",
                                      layout=widgets.Layout(width="300px"))
        self._seed = widgets.IntText(value=m.seed, description="seed",
                                     tooltip="The random seed: the same seed gives the same run",
                                     layout=widgets.Layout(width="170px"))
        self._new_seed = widgets.Button(description="new seed", icon="random",
                                        tooltip="Draw a fresh random seed and restart",
                                        layout=widgets.Layout(width="110px"))
        self._voronoi = widgets.Checkbox(value=self._voronoi_on, description="nearest-centre regions",
                                         tooltip="Tint the area nearest to each centre",
                                         indent=False, layout=widgets.Layout(width="auto"))
        self._clear = widgets.Button(description="clear centres", icon="eraser",
                                     tooltip="Remove the centres you placed and place them again",
                                     layout=widgets.Layout(width="130px"))

        # --- transport ---
        self.transport = Transport(m, player=True)

        # --- readouts ---
        self._readout = widgets.HTML()
        self._caption = live_region()
        self._seed_line = widgets.HTML()
        self._message = widgets.HTML()
        self._whole_run = widgets.Checkbox(value=False, description="show whole run",
                                           tooltip="Draw the inertia of every step, including the "
                                                   "steps not reached yet",
                                           indent=False, layout=widgets.Layout(width="auto"))
        self._figure_alt = figure_alt()

        # --- the figure, once ---
        self.fig = app_figure(figsize)
        self._ax_step, self._ax_inertia = self.fig.subplots(1, 2, width_ratios=[1.35, 1.0])
        self._blitter = Blitter(self.fig, self._dynamic_artists)
        self.panel = None
        self.inertia_view = None
        self._panel_key = None
        self._inertia_trace = None
        self._placeholder: Text | None = None
        self._shown_revision = -1

        settings = widgets.HBox([self._k, self._init, self._seed, self._new_seed, self._voronoi, self._clear],
                                layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.fit = FigureFit(self.fig)
        self.presenter = PresenterView(self, self.fit, [self.data_row, self._upload, settings,
                                                        self._seed_line, self._whole_run])
        self.children = [
            self.presenter.bar,
            self.data_row,
            self._upload,
            settings,
            self.transport,
            self._readout,
            self._caption,
            self._seed_line,
            self._message,
            self._whole_run,
            self._figure_alt,
            self.fig.canvas,
        ]
        self.add_class(KEYS_APP_CLASS)
        self.add_class("kt-picture-keys")  # its picture takes the keys itself once focused
        self._on_restart()
        self._wire()

    def _report(self, text: str):
        """Show a problem under the controls (an unexpected one, caught by quiet())."""
        self._message.value = warning_html(text)

    # --- wiring ------------------------------------------------------------------------------
    def _wire(self):
        """Every handler, in one place: widgets → model, model → widgets and figure."""
        m = self.model
        # settings
        self._k.observe(quiet(lambda ch: self._set("k", int(ch["new"])), self._report), names="value")
        self._init.observe(quiet(lambda ch: self._set("init", ch["new"]), self._report), names="value")
        self._seed.observe(quiet(lambda ch: self._set("seed", int(ch["new"])), self._report), names="value")
        self._new_seed.on_click(quiet(lambda _: m.new_seed(), self._report))
        self._voronoi.observe(quiet(self._on_voronoi, self._report), names="value")
        self._clear.on_click(quiet(lambda _: m.clear_centers(), self._report))
        self._whole_run.observe(quiet(self._on_whole_run, self._report), names="value")
        # model → view
        m.observe(quiet(self._on_index, self._report), names="index")
        m.observe(quiet(self._on_restart, self._report), names="revision")
        # the plot: clicks place centres, keys step
        canvas = self.fig.canvas
        manager = getattr(canvas, "manager", None)
        if manager is not None and getattr(manager, "key_press_handler_id", None) is not None:
            # matplotlib's default keys ("l" log scale, "q" close, "s" save…) mean nothing here.
            canvas.mpl_disconnect(manager.key_press_handler_id)
            manager.key_press_handler_id = None
        canvas.mpl_connect("button_press_event", quiet(self._on_click, self._report))
        canvas.mpl_connect("key_press_event", quiet(self._on_key, self._report))

    # widgets → model
    def _set(self, name, value):
        """Set a model setting; a refusal becomes a message, never an exception."""
        try:
            setattr(self.model, name, value)
        except (traitlets.TraitError, ValueError, TypeError) as exc:
            self._message.value = warning_html(str(exc))

    def _on_voronoi(self, change):
        self._voronoi_on = bool(change["new"])
        self._on_restart()

    def _on_click(self, event):
        """A click on the step axes places a centre (seeding "place the centres yourself")."""
        m = self.model
        if m.init != "manual" or self.panel is None or not self.panel.contains(event):
            return
        if getattr(event, "button", 1) not in (1, None):  # left button only
            return
        m.add_center(float(event.xdata), float(event.ydata))

    def _on_key(self, event):
        """← back, → step, space play/pause, Home start, End last step (when the plot has focus)."""
        key = getattr(event, "key", None)
        m = self.model
        if key == "left":
            m.back()
        elif key == "right":
            m.step()
        elif key in (" ", "space"):
            self.transport.toggle()
        elif key == "home":
            m.reset()
        elif key == "end":
            m.to_end()

    def _on_whole_run(self, change):
        """Show the inertia of every step, or only up to the step on screen."""
        if self.inertia_view is not None:
            self.inertia_view.set_show_all(bool(change["new"]))
            self._figure_alt.value = hidden_html(self.figure_text)
            self._blitter.update(immediate=not self.model.playing)

    # model → widgets and figure
    def _on_restart(self, change=None):
        """A new run (or a message): sync the controls, rebuild what depends on it, draw."""
        m = self.model
        self._shown_revision = m.revision
        self._sync_controls()
        self.transport.new_run()
        self._build_panel()
        self._build_inertia()
        self._blitter.track()
        self._message.value = message_html(m)
        self._show_step()

    def _dynamic_artists(self) -> list:
        """What changes from one step to the next (redrawn by the blitter)."""
        out = []
        if self.panel is not None:
            out += self.panel.artists
        if self.inertia_view is not None:
            out += self.inertia_view.artists  # the staircase grows with the step on screen
        return out

    def _on_index(self, change):
        if self._shown_revision != self.model.revision:
            return  # a restart is under way: _on_restart draws once it is complete
        self._show_step()

    def _sync_controls(self):
        m = self.model
        if 1 <= m.k <= 10:
            self._k.value = m.k
        self._init.value = m.init
        self._seed.value = m.seed
        self._voronoi.value = self._voronoi_on
        self._clear.layout.display = None if m.init == "manual" else "none"

    def _build_panel(self):
        """(Re)make the step panel when the data, k or the Voronoi option changed."""
        m = self.model
        try:
            data = m.data
        except (ValueError, TypeError):
            return  # the message says why; keep the last picture
        if m.k < 1 or m.k > data.X.shape[0]:
            return
        key = (m.data_key, m.k, self._voronoi_on)
        if key == self._panel_key:
            return
        own_units = m.is_mall or m.is_upload
        title = plain_text(f"{short_name(data.title)} · {m.units}" if own_units else data.title)
        names = [plain_text(n) for n in data.axis_labels]
        self._ax_step.clear()
        self.panel = StepPicture(data.X, m.k, ax=self._ax_step, feature_names=names,
                                 voronoi=self._voronoi_on, title=title)
        self._panel_key = key
        self._inertia_trace = None  # the layout is redone below with the inertia panel

    def _build_inertia(self):
        """A new inertia staircase for a new run (or a placeholder while there is none)."""
        m = self.model
        if m.trace is self._inertia_trace and self.inertia_view is not None:
            return
        ax = self._ax_inertia
        ax.clear()
        self._placeholder = None
        if m.trace is None:
            self.inertia_view = None
            ax.set_xticks([])
            ax.set_yticks([])
            self._placeholder = ax.text(0.5, 0.5, "The inertia of every step\nappears here once the run starts.",
                                        ha="center", va="center", transform=ax.transAxes, color="0.4")
        else:
            self.inertia_view = InertiaSoFar(m.trace, ax=ax, show_all=self._whole_run.value).finalize()
        self._inertia_trace = m.trace
        freeze_layout(self.fig)

    def _show_step(self):
        """Draw the step on screen and update every readout (artists only, then a blit)."""
        m = self.model
        step = m.current
        running = step is not None
        self.transport.show()
        if self.panel is not None:
            if running:
                self.panel.draw(step)
            elif m.init == "manual" and self._panel_key == (m.data_key, m.k, self._voronoi_on):
                self.panel.draw(m.preview())  # the data and the centres placed so far
        if self.inertia_view is not None and step is not None:
            self.inertia_view.draw(step)
        self._show_readouts(step)
        self._blitter.update(immediate=not m.playing)

    def _show_readouts(self, step):
        m = self.model
        if step is None:
            self._readout.value = "<span style='color:#666'>no run yet</span>"
            self._caption.value = live_html("")
        else:
            self._readout.value = step_readout(step, m.n_steps)
            sentence = self.panel.view.sentence if self.panel is not None else step.describe()
            self._caption.value = live_html(sentence)
        self._figure_alt.value = hidden_html(self.figure_text)
        if m.init == "manual":
            seed = ("centres placed by hand — no randomness: the same clicks give the same run")
        elif m.seed_used is not None:
            seed = f"seed {m.seed_used} — rerun with the same seed to reproduce"
        else:
            seed = f"seed {m.seed}"
        self._seed_line.value = f"<span style='color:#444'>{html.escape(seed)}</span>"

    # --- read-only views of the screen, for tests and lesson checks --------------------------
    @property
    def readout(self) -> str:
        """HTML of the step readout (step, phase, iteration, inertia, points changed)."""
        return self._readout.value

    @property
    def caption(self) -> str:
        """HTML of the step's sentence (``describe()``)."""
        return self._caption.value

    @property
    def seed_text(self) -> str:
        return self._seed_line.value

    @property
    def figure_text(self) -> str:
        """The picture in words (its text alternative for screen readers), for the step on screen."""
        m = self.model
        step = m.current
        if step is None or self.panel is None:
            return "Picture: the data, with no run yet. " + (m.message or "")
        n = m.X.shape[0]
        x_name, y_name = (str(name) for name in m.data.axis_labels[:2])
        centres = "; ".join(f"centre {j + 1} at ({c[0]:.3g}, {c[1]:.3g})"
                            for j, c in enumerate(step.centers))
        text = (f"Picture, left: {n:,} points, {x_name} across and {y_name} up, at step {step.index} "
                f"of {m.n_steps - 1}. {self.panel.view.sentence} Centres: {centres}. ")
        view = self.inertia_view
        if view is not None:
            shown = view.inertias[view.indices <= view.shown_upto]
            if shown.size:
                which = "of the whole run" if view.show_all else "so far"
                text += (f"Right: the inertia after each step {which}, from {format_inertia(shown[0])} "
                         f"down to {format_inertia(shown[-1])}.")
            else:
                text += "Right: the inertia chart, empty until the first assign step."
        return text

    @property
    def message(self) -> str:
        """HTML of the current message (an error, or what to do next)."""
        return self._message.value

    @property
    def upload_row(self) -> UploadRow:
        """The "bring your own CSV" row (tests set ``upload_row.upload.value``)."""
        return self._upload
