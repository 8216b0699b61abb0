"""The K-means stepper: watch one run half a step at a time, forwards and backwards.

The learner chooses the data, k, the seeding and the seed, then steps through
the run: every seeding pick, every assign step, every update step, to
convergence. Each step is drawn alone from what it carries, so going back is
as cheap as going forward, and the timeline slider scrubs anywhere.

Two layers, as in every app of this package:

- :class:`~kmeans_tutor.widgets.models.StepperModel` — traitlets, no
  widgets: the settings, the recorded run (``trace``) and the step on screen
  (``index``). Tests drive it directly.
- :class:`StepperApp` — an ``ipywidgets.VBox`` with the controls, the
  readouts and one ipympl figure created once: the step on the left (a
  :class:`~kmeans_tutor.views.StepView`, with a
  :class:`~kmeans_tutor.views.SeedingView` for k-means++/farthest picks) and
  the inertia staircase on the right (:class:`~kmeans_tutor.views.InertiaView`).

Drawing costs: a step only updates artists (``set_data``, about a
millisecond at 10,000 points). After a click the picture is rendered and sent
at once (one trip to the browser). While playing, the app only announces a new
picture (``draw_idle``) and the browser asks for it when ready — ipympl keeps
at most one frame in flight, so a slow connection skips frames instead of
queueing them. The player ticks at most 10 times a second (≥ 100 ms).

>>> from kmeans_tutor.widgets.stepper import StepperApp
>>> app = StepperApp(dataset="blobs", k=3, seed=1)   # doctest: +SKIP
>>> app                                              # doctest: +SKIP
"""

from __future__ import annotations

import html
import math

import ipywidgets as widgets
import traitlets
from matplotlib.text import Text

from ..steps import AssignStep
from ..views import InertiaView, SeedingView, StepView
from ._data_choice import DataChoice
from ._common import info_html, warning_html
from ._figure import Blitter, app_figure
from .models import DEFAULT_FEATURES, INIT_CHOICES, StepperModel, dataset_choices
from .upload import UploadRow

__all__ = ["StepperApp"]

#: Dropdown labels of the seeding methods.
INIT_LABELS = {
    "k-means++": "k-means++",
    "random": "random points",
    "farthest": "farthest point",
    "manual": "place the centres yourself",
}
_PHASE_NAMES = {"seed": "seeding", "assign": "assign", "update": "update",
                "empty": "empty cluster", "converged": "converged"}
_SEEDING_HINT = "Seeding: bigger, darker points are likelier picks (chance ∝ D²)"
_FARTHEST_HINT = "Seeding: darker points are farther from every centre so far"
_MAX_SHADED = 5_000  # points shaded during seeding (a scatter: slow beyond this)


# ------------------------------------------------------------------------------ helpers


def fmt_inertia(x) -> str:
    """An inertia for a readout: thousands separators, 4 significant digits below 100."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:,.1f}" if abs(x) >= 100 else f"{x:.4g}"


def freeze_layout(fig):
    """Lay the figure out once (constrained layout), then keep the positions, so
    that no frame shifts the axes and no frame pays for the layout again."""
    fig.set_layout_engine("constrained")
    fig.get_layout_engine().execute(fig)
    fig.set_layout_engine("none")


class StepPanel:
    """One Axes showing any step: a StepView, plus a SeedingView on the same
    axes for the seeding picks that have a shading (k-means++, farthest).

    Built on an existing Axes (cleared first); ``draw(step)`` only updates
    artists.
    """

    def __init__(self, ax, X, k, *, feature_names=None, voronoi=False, title="", legend="right"):
        ax.clear()
        self.ax = ax
        self.title = title
        self.view = StepView(X, k, ax=ax, feature_names=feature_names, voronoi=voronoi,
                             show_caption=False)
        self.seeding = SeedingView(X, ax=ax, feature_names=feature_names, n_clusters=k,
                                   show_caption=False, show_centers=False, limits=self.view.limits,
                                   max_points=_MAX_SHADED)
        self.seeding.set_visible(False)
        self._shading = False
        self.view.finalize(title=title, legend=legend)
        ax.title.set_fontsize(9.5)

    @property
    def limits(self):
        return self.view.limits

    def contains(self, event) -> bool:
        return event.inaxes is self.ax and event.xdata is not None and event.ydata is not None

    def draw(self, step):
        """Show one step; the title says how to read a shaded seeding pick."""
        values, _ = SeedingView.shading(step)
        # The first pick of k-means++ is uniform: nothing to shade yet.
        shade = values is not None and step.center_index > 0
        if shade != self._shading:
            self.seeding.set_visible(shade)
            self.view.set_points_visible(not shade)
            self._shading = shade
        if shade:
            self.seeding.draw(step)
            self.ax.set_title(_SEEDING_HINT if step.method == "k-means++" else _FARTHEST_HINT)
        else:
            self.ax.set_title(self.title)
        self.view.draw(step)


def step_readout(step, n_steps: int) -> str:
    """Phase, iteration, inertia and points changed of one step, as HTML."""
    changed = (f"{step.n_changed:,}" if isinstance(step, AssignStep) and step.previous_inertia is not None
               else "all (first assignment)" if isinstance(step, AssignStep) else "—")
    parts = [
        f"step <b>{step.index} / {n_steps - 1}</b>",
        f"phase <b>{_PHASE_NAMES.get(step.phase, step.phase)}</b>",
        f"iteration <b>{step.iteration}</b>",
        f"inertia <b>{fmt_inertia(step.inertia)}</b>",
        f"points changed <b>{changed}</b>",
    ]
    return " &nbsp;·&nbsp; ".join(parts)


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
    panel : StepPanel
        The step on the left axes (rebuilt when the data, k or Voronoi change).
    inertia_view : InertiaView or None
        The inertia staircase on the right (rebuilt for each new run).

    Keyboard (when the plot has focus — click it once): ← back, → step,
    space play/pause.

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
        self._data = DataChoice(m)
        self._upload = UploadRow(lambda frame, name: m.use_upload(frame, name))
        self._k = widgets.IntSlider(value=min(max(m.k, 1), 10), min=1, max=10, description="k",
                                    continuous_update=False, layout=widgets.Layout(width="260px"))
        self._init = widgets.Dropdown(options=[(INIT_LABELS[i], i) for i in INIT_CHOICES], value=m.init,
                                      description="Seeding", layout=widgets.Layout(width="300px"))
        self._seed = widgets.IntText(value=m.seed, description="seed",
                                     layout=widgets.Layout(width="170px"))
        self._new_seed = widgets.Button(description="new seed", icon="random",
                                        tooltip="Draw a fresh random seed and restart",
                                        layout=widgets.Layout(width="110px"))
        self._voronoi = widgets.Checkbox(value=self._voronoi_on, description="nearest-centre regions",
                                         indent=False, layout=widgets.Layout(width="auto"))
        self._clear = widgets.Button(description="clear centres", icon="eraser",
                                     tooltip="Remove the centres you placed and place them again",
                                     layout=widgets.Layout(width="130px"))

        # --- transport ---
        btn = widgets.Layout(width="auto")
        self._reset = widgets.Button(description="reset", icon="fast-backward", tooltip="Back to step 0", layout=btn)
        self._back = widgets.Button(description="back", icon="step-backward", tooltip="One half-step back (←)", layout=btn)
        self._step = widgets.Button(description="step", icon="step-forward", tooltip="One half-step forward (→)",
                                    button_style="primary", layout=btn)
        self._play = widgets.Play(value=0, min=0, max=max(m.last_index, 1), step=1,
                                  interval=self._interval(), show_repeat=False,
                                  tooltip="Play / pause (space)")
        self._speed = widgets.FloatSlider(value=m.speed, min=0.5, max=10.0, step=0.5,
                                          description="steps/s", readout_format=".1f",
                                          layout=widgets.Layout(width="250px"))
        self._end = widgets.Button(description="run to convergence", icon="fast-forward",
                                   tooltip="Jump to the last step", layout=btn)
        self._timeline = widgets.IntSlider(value=0, min=0, max=max(m.last_index, 1), description="timeline",
                                           continuous_update=True, layout=widgets.Layout(width="98%"))

        # --- readouts ---
        self._readout = widgets.HTML()
        self._caption = widgets.HTML()
        self._seed_line = widgets.HTML()
        self._message = widgets.HTML()

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

        self.children = [
            self._data,
            self._upload,
            widgets.HBox([self._k, self._init, self._seed, self._new_seed, self._voronoi, self._clear],
                         layout=widgets.Layout(flex_flow="row wrap", align_items="center")),
            widgets.HBox([self._reset, self._back, self._step, self._play, self._speed, self._end],
                         layout=widgets.Layout(flex_flow="row wrap", align_items="center")),
            self._timeline,
            self._readout,
            self._caption,
            self._seed_line,
            self._message,
            self.fig.canvas,
        ]
        self._on_restart()
        self._wire()

    # --- wiring ------------------------------------------------------------------------------
    def _wire(self):
        """Every handler, in one place: widgets → model, model → widgets and figure."""
        m = self.model
        # settings
        self._k.observe(lambda ch: self._set("k", int(ch["new"])), names="value")
        self._init.observe(lambda ch: self._set("init", ch["new"]), names="value")
        self._seed.observe(lambda ch: self._set("seed", int(ch["new"])), names="value")
        self._new_seed.on_click(lambda _: self._call(m.new_seed))
        self._voronoi.observe(self._on_voronoi, names="value")
        self._clear.on_click(lambda _: self._call(m.clear_centers))
        # transport
        self._reset.on_click(lambda _: self._call(m.reset))
        self._back.on_click(lambda _: self._call(m.back))
        self._step.on_click(lambda _: self._call(m.step))
        self._end.on_click(lambda _: self._call(m.to_end))
        self._play.observe(lambda ch: self._call(m.goto, ch["new"]), names="value")
        self._timeline.observe(lambda ch: self._call(m.goto, ch["new"]), names="value")
        traitlets.link((self._play, "playing"), (m, "playing"))
        traitlets.link((self._speed, "value"), (m, "speed"))
        # model → view
        m.observe(self._on_index, names="index")
        m.observe(self._on_restart, names="revision")
        m.observe(self._on_speed, names="speed")
        # the plot: clicks place centres, keys step
        canvas = self.fig.canvas
        manager = getattr(canvas, "manager", None)
        if manager is not None and getattr(manager, "key_press_handler_id", None) is not None:
            # matplotlib's default keys ("l" log scale, "q" close, "s" save…) mean nothing here.
            canvas.mpl_disconnect(manager.key_press_handler_id)
            manager.key_press_handler_id = None
        canvas.mpl_connect("button_press_event", self._on_click)
        canvas.mpl_connect("key_press_event", self._on_key)

    # widgets → model
    def _set(self, name, value):
        """Set a model setting; a refusal becomes a message, never an exception."""
        try:
            setattr(self.model, name, value)
        except (traitlets.TraitError, ValueError, TypeError) as exc:
            self._message.value = warning_html(str(exc))

    def _call(self, method, *args):
        try:
            method(*args)
        except (traitlets.TraitError, ValueError, TypeError) as exc:  # pragma: no cover - defensive
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
        self._call(m.add_center, float(event.xdata), float(event.ydata))

    def _on_key(self, event):
        """← back, → step, space play/pause (when the plot has focus)."""
        key = getattr(event, "key", None)
        m = self.model
        if key == "left":
            self._call(m.back)
        elif key == "right":
            self._call(m.step)
        elif key in (" ", "space"):
            if m.trace is not None:
                m.playing = not m.playing

    # model → widgets and figure
    def _interval(self) -> int:
        """Player tick in ms: never below 100 (the Play widget has no back-pressure)."""
        return int(max(100, round(1000.0 / self.model.speed)))

    def _on_speed(self, change):
        self._play.interval = self._interval()

    def _on_restart(self, change=None):
        """A new run (or a message): sync the controls, rebuild what depends on it, draw."""
        m = self.model
        self._shown_revision = m.revision
        self._sync_controls()
        n = m.n_steps
        # The Play and timeline ranges first, the values after (so no clamp fires a goto).
        last = max(n - 1, 1)
        for w in (self._timeline, self._play):
            w.value = 0
            w.max = last
        self._build_panel()
        self._build_inertia()
        self._blitter.track()
        if m.message:
            self._message.value = (warning_html(m.message) if m.message_level == "error"
                                   else info_html(m.message))
        else:
            self._message.value = ""
        self._show_step()

    def _dynamic_artists(self) -> list:
        """What changes from one step to the next (redrawn by the blitter)."""
        out = []
        if self.panel is not None:
            out += self.panel.view.artists + self.panel.seeding.artists + [self.panel.ax.title]
        if self.inertia_view is not None:
            out += [self.inertia_view.cursor, self.inertia_view.current]
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
        self._speed.value = m.speed
        self._voronoi.value = self._voronoi_on
        self._clear.layout.display = None if m.init == "manual" else "none"

    def _build_panel(self):
        """(Re)make the step panel when the data, k or the Voronoi option changed."""
        m = self.model
        try:
            X, names = m.X, m.feature_names
        except (ValueError, TypeError):
            return  # the message says why; keep the last picture
        if m.k < 1 or m.k > X.shape[0]:
            return
        key = (m.data_key, m.k, self._voronoi_on)
        if key == self._panel_key:
            return
        if m.is_mall:
            title = f"Mall customers · {m.units}"
        elif m.is_upload:
            name = m.uploaded_name if len(m.uploaded_name) <= 40 else m.uploaded_name[:39] + "…"
            title = f"{name or 'Your CSV'} · {m.units}"
            # A learner's names are plain text: "$" must not start matplotlib mathtext.
            title = title.replace("$", r"\$")
            names = [str(n).replace("$", r"\$") for n in names]
        else:
            title = dict((name, label) for label, name in dataset_choices()).get(m.dataset, "")
        self.panel = StepPanel(self._ax_step, X, m.k, feature_names=list(names),
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
            self.inertia_view = InertiaView(m.trace, ax=ax).finalize()
        self._inertia_trace = m.trace
        freeze_layout(self.fig)

    def _show_step(self):
        """Draw the step on screen and update every readout (artists only, then a blit)."""
        m = self.model
        step = m.current
        running = step is not None
        if running:
            self._timeline.value = m.index
            self._play.value = m.index
        self._back.disabled = self._reset.disabled = not running or m.at_start
        self._step.disabled = self._end.disabled = not running or m.at_end
        self._play.disabled = self._timeline.disabled = not running
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
            self._caption.value = ""
        else:
            self._readout.value = step_readout(step, m.n_steps)
            sentence = self.panel.view.sentence if self.panel is not None else step.describe()
            self._caption.value = (f"<div style='font-size:1.05em;padding:2px 0'>"
                                   f"{html.escape(sentence)}</div>")
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
    def message(self) -> str:
        """HTML of the current message (an error, or what to do next)."""
        return self._message.value

    @property
    def upload_row(self) -> UploadRow:
        """The "bring your own CSV" row (tests set ``upload_row.upload.value``)."""
        return self._upload
