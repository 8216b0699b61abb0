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

Prediction mode ("Predict each step") asks before each assign and update step:
the learner marks the points that will change cluster (a click, or a loop
dragged round several), or clicks where the ringed centre will go; "Reveal"
(key R) shows the step with the prediction scored
(:mod:`~kmeans_tutor.core.predictions`) and drawn over it
(:class:`~kmeans_tutor.views.predictions.PredictionOverlay`). The model keeps
what was revealed and the score of the run; the app only wires the clicks.

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
import time

import ipywidgets as widgets
import numpy as np
import traitlets
from matplotlib.backend_bases import MouseButton
from matplotlib.text import Text
from traitlets import Bool, Dict, Enum, Float, Instance, List, observe, validate

from ..core.lloyd import kmeans_steps
from ..core.predictions import (AssignOutcome, CentreOutcome, PredictionScore, Skipped, score_assign,
                                score_centre)
from ..core.steps import AssignStep, SeedStep, Step, UpdateStep, format_inertia
from ..core.trace import Trace
from ..data.mall import DEFAULT_FEATURES
from ..views.analysis import InertiaSoFar
from ..views.composite import StepPicture
from ..views.predictions import PREDICTION_KEY, PredictionOverlay, point_at_pixel, points_in_lasso
from .base import DataModel, RunModel, message_html, quiet, step_readout, warning_html
from .controls import (KEY_CLASSES, KEYS_APP_CLASS, DataChoice, Transport, figure_alt, hidden_html,
                       keys_html, live_html, live_region)
from .figure import (Blitter, FigureFit, PresenterView, app_figure, freeze_layout, plain_text,
                     short_name)
from .sending import sent_when_built
from .upload import UploadRow
from .shared_styles import set_display, shared_layout, styled

__all__ = ["StepperModel", "StepperApp", "INIT_CHOICES", "INIT_LABELS"]


def _count(n: int, one: str) -> str:
    return f"{n:,} {one if n == 1 else one + 's'}"

#: Seeding methods of the stepper; "manual" means the learner clicks the centres.
INIT_CHOICES = ("k-means++", "random", "farthest", "manual")
#: Shortest time between two pictures of a loop being drawn, in seconds.
LASSO_FRAME_S = 0.15
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

    Prediction mode (no restart; a new run starts a fresh score)
    -----------------------------------------------------------
    predict : bool
        Ask the learner to predict each assign and update step before it is
        shown (not the seeding steps, nor the first assignment, where every
        point joins a centre for the first time).
    marked : list of int
        Points marked as "will change cluster" for the next assign step.
    guess : list
        ``[x, y]``: where the learner thinks the ringed centre goes in the next
        update step (``[]`` before a click).
    results : dict of int → outcome
        Every step revealed so far: an AssignOutcome, a CentreOutcome or
        Skipped (shown without a prediction). A step in here is never asked again.
    score : PredictionScore
        The running score of the run.

    Examples
    --------
    >>> m = StepperModel(init="manual", k=2, dataset="blobs")
    >>> m.trace is None, m.message
    (True, 'Click 2 centres on the plot to start (0 of 2 placed).')
    >>> m.add_center(0, 0), m.add_center(5, 5)
    (True, True)
    >>> m.current.describe()
    'Seeding · centre 1 placed by hand.'

    Prediction mode: before the last assign step of this run, say that no point will change.

    >>> m = StepperModel(dataset="blobs", k=3, seed=1, predict=True)
    >>> m.goto(4)
    >>> m.question, m.question_kind
    (5, 'assign')
    >>> m.answer_none(), m.index, m.score.summary()
    (True, 5, 'Assign steps: 0 hits, 0 misses, 0 false alarms, 1 right “none” · 1 skipped')
    """

    init = Enum(INIT_CHOICES, default_value="k-means++")
    manual_centers = List()
    trace = Instance(Trace, allow_none=True)
    speed = Float(2.0)
    predict = Bool(False)
    marked = List()
    guess = List()
    results = Dict()
    score = Instance(PredictionScore, args=())

    n_features = (2, 2)  # the picture shows the two columns K-means uses
    _settings = DataModel._settings + ("init", "manual_centers")

    def __init__(self, dataset="mall", features=DEFAULT_FEATURES, *, scaled=True, k=5,
                 init="k-means++", seed=0, n_samples=None, manual_centers=(), speed=2.0, predict=False):
        super().__init__(dataset=dataset, features=tuple(features), scaled=scaled, k=k, init=init,
                         seed=seed, n_samples=n_samples, manual_centers=[list(c) for c in manual_centers],
                         speed=speed, predict=bool(predict))

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

    # --- prediction mode --------------------------------------------------------------------------
    def _publish(self):
        super()._publish()
        # A new run: nothing revealed, a fresh score.
        self.results, self.score, self.marked, self.guess = {}, PredictionScore(), [], []

    def asked(self, i: int) -> str | None:
        """"assign" or "update" when prediction mode asks about step ``i``; None for the
        other steps (seeding, the first assignment, an empty cluster, converged)."""
        if self.trace is None or not 0 < i < len(self.trace):
            return None
        step = self.trace[i]
        if isinstance(step, UpdateStep):
            return "update"
        if isinstance(step, AssignStep) and self.trace[i - 1].labels is not None:
            return "assign"
        return None

    @property
    def question(self) -> int | None:
        """The step the learner is asked to predict now (the next one), or None."""
        i = self.index + 1
        if not self.predict or self.asked(i) is None or i in self.results:
            return None
        return i

    @property
    def question_kind(self) -> str | None:
        """"assign", "update" or None: what the learner is asked now."""
        q = self.question
        return None if q is None else self.asked(q)

    def target_centre(self, i: int | None = None) -> int | None:
        """The centre asked about in update step ``i`` (default: the question):
        the one that moves furthest."""
        i = self.question if i is None else i
        if i is None or self.asked(i) != "update":
            return None
        return int(np.argmax(self.trace[i].shifts))

    @property
    def target_position(self) -> np.ndarray | None:
        """Where the centre asked about is now, shape (2,) (None unless an update is asked)."""
        j = self.target_centre()
        return None if j is None else np.asarray(self.trace[self.question].previous_centers[j])

    def toggle_mark(self, i: int) -> bool:
        """Mark point ``i`` as "will change cluster", or unmark it; False when no assign step is asked."""
        i = int(i)
        if self.question_kind != "assign" or not 0 <= i < self.X.shape[0]:
            return False
        self.marked = sorted(set(self.marked) ^ {i})
        return True

    def mark(self, rows) -> int:
        """Mark several points (a lasso); returns how many were newly marked."""
        if self.question_kind != "assign":
            return 0
        n = self.X.shape[0]
        new = {int(r) for r in np.asarray(rows, dtype=np.intp).ravel() if 0 <= r < n} - set(self.marked)
        if new:
            self.marked = sorted(set(self.marked) | new)
        return len(new)

    def clear_marks(self):
        """Forget the marks (or the guess) for the question on screen."""
        self.marked, self.guess = [], []

    def set_guess(self, x: float, y: float) -> bool:
        """Guess where the ringed centre goes; False when no update step is asked."""
        x, y = float(x), float(y)
        if self.question_kind != "update" or not (math.isfinite(x) and math.isfinite(y)):
            return False
        self.guess = [x, y]
        return True

    def reveal(self, *, none: bool = False) -> bool:
        """Show the asked step and score the prediction; False when nothing is asked.

        ``none=True`` answers "no point will change cluster". An assign step
        with nothing marked (and not "none"), or an update step with no guess,
        is shown and counted as skipped, not wrong.
        """
        q = self.question
        if q is None:
            return False
        step, kind = self.trace[q], self.asked(q)
        if kind == "assign" and (self.marked or none):
            outcome = score_assign(self.trace[q - 1].labels, step.labels, [] if none else self.marked,
                                   said_none=none)
        elif kind == "update" and self.guess:
            j = self.target_centre(q)
            outcome = score_centre(j, self.guess, step.centers[j])
        else:
            outcome = Skipped(kind)
        self._record(q, outcome)
        self.index = q
        return True

    def answer_none(self) -> bool:
        """Answer "none will change" and reveal; False unless an assign step is asked."""
        if self.question_kind != "assign":
            return False
        self.marked = []
        return self.reveal(none=True)

    def _record(self, i: int, outcome):
        self.results = {**self.results, i: outcome}
        self.score = self.score.add(outcome)

    @observe("index")
    def _passed_questions(self, change):
        # Marks belong to the question of the step they were made on.
        if self.marked or self.guess:
            self.marked, self.guess = [], []
        if not self.predict or self.trace is None:
            return
        # A step reached without a reveal was shown unasked: skipped, never asked again.
        for i in range(change["old"] + 1, change["new"] + 1):
            kind = self.asked(i)
            if kind is not None and i not in self.results:
                self._record(i, Skipped(kind))
        if self.playing and self.question is not None:
            self.playing = False  # the player waits at each question

    # --- what prediction mode says -------------------------------------------------------------
    @property
    def prompt(self) -> str:
        """What to do now, in one short sentence ("" when prediction mode is off)."""
        if not self.predict or self.trace is None:
            return ""
        q, kind = self.question, self.question_kind
        if kind == "assign":
            return (f"Step {q}: which points will change cluster? Click them or drag a loop round "
                    f"them, then Reveal (key R).")
        if kind == "update":
            j = self.target_centre() + 1
            return (f"Step {q}: where will centre {j} go? (Ringed: it moves furthest.) Click there, "
                    f"then Reveal (key R).")
        nxt = self.index + 1
        if nxt >= len(self.trace):
            return "Run finished. Change k, the seed or the data for a new run and a fresh score."
        if nxt in self.results:
            return f"Step {nxt} is already revealed: step on to see it again."
        if isinstance(self.trace[nxt], SeedStep):
            return "Seeding steps are not asked: step on."
        if isinstance(self.trace[nxt], AssignStep):
            return "Next, every point joins its nearest centre for the first time: step on; questions follow."
        return "Nothing to predict here: step on."

    @property
    def result_text(self) -> str:
        """How the prediction of the step on screen went, and why the step did what it did
        ("" when the step was not asked)."""
        return " ".join(part for part in self.result_parts if part)

    @property
    def result_parts(self) -> tuple[str, str]:
        """(how the prediction went, why the step did what it did), or ("", "")."""
        outcome = self.results.get(self.index) if self.predict else None
        if outcome is None:
            return "", ""
        if isinstance(outcome, AssignOutcome):
            head = outcome.summary()
        elif isinstance(outcome, CentreOutcome):
            units = {"z-scores": " z-score units", "raw units": " (in the data's units)"}.get(self.units, "")
            head = f"Your guess was {outcome.error:.2g}{units} from where centre {outcome.centre + 1} went."
        else:
            head = "Shown without a prediction."
        return head, self.why(self.index)

    def why(self, i: int) -> str:
        """One sentence on why step ``i`` (an assign or update step) did what it did."""
        step = self.trace[i]
        if isinstance(step, UpdateStep):
            j = self.target_centre(i)
            n = int(np.sum(step.labels == j))
            return (f"A centre moves to the mean of its points: centre {j + 1} went to the average of "
                    f"its {_count(n, 'point')}, {step.shifts[j]:.2g} from where it was.")
        changed = np.asarray(step.changed)
        if changed.size == 0:
            return ("No point changed: each point's own centre is still its nearest, so K-means has "
                    "converged.")
        joined = np.bincount(step.labels[changed], minlength=self.k)
        c = int(np.argmax(joined))
        these = "This point is" if changed.size == 1 else f"These {changed.size:,} points are"
        to = (f"centre {c + 1}" if joined[c] == changed.size else
              f"another centre ({joined[c]:,} to centre {c + 1})")
        return (f"{these} now nearer to {to} than to their old centre, because the last update moved "
                f"the centres.")

    @observe("predict")
    def _predict_switched(self, change):
        self.marked, self.guess = [], []
        if change["new"] and self.playing and self.question is not None:
            self.playing = False


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
    predict : bool, default=False
        Start with prediction mode on ("Predict each step"): before each
        assign step the learner marks the points that will change cluster
        (click a point, or drag a loop round many; "None will change" is an
        answer), before each update step they click where the ringed centre
        goes; "Reveal" (key R) shows the step with the prediction scored.

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
    overlay : PredictionOverlay or None
        Marks, guesses and revealed predictions, on the step's axes.

    Keyboard: ← back, → step, space play/pause, Home start, End the last
    step, R reveal (prediction mode). On a lesson page the keys work anywhere outside a text box (the
    page's script clicks the buttons); in JupyterLab click the picture first.
    The step sentence is an ARIA live region (screen readers read each new
    one) and the picture has a text description that follows the step.

    Examples
    --------
    In a notebook cell or a Voilà lesson, the app is the cell's last expression::

        from kmeans_tutor.widgets.stepper import StepperApp
        StepperApp(dataset="mall", k=5, seed=0)
    """

    @sent_when_built
    def __init__(self, dataset="mall", features=DEFAULT_FEATURES, k=5, init="k-means++", seed=0,
                 scaled=True, voronoi=False, n_samples=None, *, speed=2.0, figsize=(11.0, 4.6),
                 predict=False, **kwargs):
        super().__init__(**kwargs)
        self.model = m = StepperModel(dataset, features, scaled=scaled, k=k, init=init, seed=seed,
                                      n_samples=n_samples, speed=speed, predict=predict)
        self._voronoi_on = bool(voronoi)

        # --- settings ---
        self.data_row = DataChoice(m)
        self._upload = UploadRow(lambda frame, name: m.use_upload(frame, name))
        self._k = styled(widgets.IntSlider, value=min(max(m.k, 1), 10), min=1, max=10, description="k",
                                            continuous_update=False, tooltip="The number of clusters",
                                            layout=shared_layout(width="260px"))
        self._init = styled(widgets.Dropdown, options=[(INIT_LABELS[i], i) for i in INIT_CHOICES], value=m.init,
                                              description="Seeding", tooltip="How the first centres are chosen",
                                              layout=shared_layout(width="300px"))
        self._seed = styled(widgets.IntText, value=m.seed, description="seed",
                                             tooltip="The random seed: the same seed gives the same run",
                                             layout=shared_layout(width="170px"))
        self._new_seed = styled(widgets.Button, description="new seed", icon="random",
                                                tooltip="Draw a fresh random seed and restart",
                                                layout=shared_layout(width="110px"))
        self._voronoi = styled(widgets.Checkbox, value=self._voronoi_on, description="nearest-centre regions",
                                                 tooltip="Tint the area nearest to each centre",
                                                 indent=False, layout=shared_layout(width="auto"))
        self._clear = styled(widgets.Button, description="clear centres", icon="eraser",
                                             tooltip="Remove the centres you placed and place them again",
                                             layout=shared_layout(width="130px"))

        # --- transport ---
        self.transport = Transport(m, player=True)
        self._prediction = self._prediction_row()

        # --- readouts ---
        self._readout = styled(widgets.HTML)
        self._caption = live_region()
        self._seed_line = styled(widgets.HTML)
        self._message = styled(widgets.HTML)
        self._whole_run = styled(widgets.Checkbox, value=False, description="show whole run",
                                                   tooltip="Draw the inertia of every step, including the "
                                                           "steps not reached yet",
                                                   indent=False, layout=shared_layout(width="auto"))
        self._figure_alt = figure_alt()

        # --- the figure, once ---
        self.fig = app_figure(figsize)
        self._ax_step, self._ax_inertia = self.fig.subplots(1, 2, width_ratios=[1.35, 1.0])
        self._blitter = Blitter(self.fig, self._dynamic_artists)
        self.panel = None
        self.overlay = None
        self.inertia_view = None
        self._panel_key = None
        self._inertia_trace = None
        self._placeholder: Text | None = None
        self._shown_revision = -1

        settings = widgets.HBox([self._k, self._init, self._seed, self._new_seed, self._voronoi, self._clear],
                                layout=shared_layout(flex_flow="row wrap", align_items="center"))
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
            self._prediction,
            self.fig.canvas,
        ]
        self.add_class(KEYS_APP_CLASS)
        self.add_class("kt-picture-keys")  # its picture takes the keys itself once focused
        self._on_restart()
        self._wire()

    def _prediction_row(self) -> widgets.VBox:
        """The prediction-mode switch, its buttons, the question, the outcome and the score."""
        self._lasso = None  # the loop being drawn (data units), while the button is held
        self._lasso_frame = 0.0  # when the loop was last sent to the browser
        self._drawn_index = -1  # the step the picture shows
        def btn():  # a layout each: hiding one button must not hide the others
            return shared_layout(width="auto")

        self._predict = styled(widgets.ToggleButton,
            value=self.model.predict, description="Predict each step", icon="question-circle",
            tooltip="Before each assign and update step, predict it; then reveal it and see your score",
            layout=btn())
        self._reveal = styled(widgets.Button, description="Reveal", icon="eye", button_style="warning",
                                              tooltip="Show the next step with your prediction scored (key: R)",
                                              layout=btn())
        self._reveal.add_class(KEY_CLASSES["reveal"])
        self._none = styled(widgets.Button, description="None will change", icon="ban", layout=btn(),
                                            tooltip="Answer that no point will change cluster, and reveal")
        self._clear_marks = styled(widgets.Button, description="clear marks", icon="eraser",
                                                   tooltip="Unmark every point (or forget your guess)",
                                                   layout=shared_layout(width="170px"))
        self._prompt = styled(widgets.HTML)
        self._result = live_region()  # read out at each reveal, like the step sentence
        self._score = styled(widgets.HTML)
        self._prompt.add_class("kt-predict-prompt")
        self._result.add_class("kt-predict-result")
        self._score.add_class("kt-predict-score")
        buttons = widgets.HBox([self._predict, self._reveal, self._none, self._clear_marks, self._score],
                               layout=shared_layout(flex_flow="row wrap", align_items="center"))
        box = widgets.VBox([buttons, self._result, self._prompt])
        box.add_class("kt-predict")
        return box

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
        # prediction mode
        self._predict.observe(quiet(lambda ch: setattr(m, "predict", bool(ch["new"])), self._report),
                              names="value")
        self._reveal.on_click(quiet(lambda _: m.reveal(), self._report))
        self._none.on_click(quiet(lambda _: m.answer_none(), self._report))
        self._clear_marks.on_click(quiet(lambda _: m.clear_marks(), self._report))
        m.observe(quiet(self._on_prediction, self._report), names=["marked", "guess", "predict"])
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
        canvas.mpl_connect("motion_notify_event", quiet(self._on_drag, self._report))
        canvas.mpl_connect("button_release_event", quiet(self._on_release, self._report))
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
        """A click on the step axes places a centre (seeding "place the centres yourself"),
        starts a mark or a loop (an assign step asked), or moves the guess (an update step asked)."""
        m = self.model
        if self.panel is None or not self.panel.contains(event):
            return
        if getattr(event, "button", 1) not in (1, None):  # left button only
            return
        x, y = float(event.xdata), float(event.ydata)
        if m.init == "manual" and m.needs_centers:
            m.add_center(x, y)
        elif getattr(event, "dblclick", False):
            return  # the page's echo of two clicks, each already handled
        elif m.question_kind == "assign":
            self._lasso = [(x, y)]  # a click or a loop: told apart when the button is released
        elif m.question_kind == "update":
            self.guess_at(x, y)

    def _on_drag(self, event):
        """While the button is held after a click on the picture, draw the loop."""
        if self._lasso is None or self.overlay is None or not self.panel.contains(event):
            return
        held = getattr(event, "buttons", None)
        if held is not None and MouseButton.LEFT not in held:
            return  # a late report of a move made before the press (the page throttles moves)
        self._lasso.append((float(event.xdata), float(event.ydata)))
        # The page shows one picture at a time and drops a frame that arrives while the
        # last one is still loading: send the growing loop a few times a second only.
        now = time.monotonic()
        if now - self._lasso_frame >= LASSO_FRAME_S:
            self._lasso_frame = now
            self.overlay.show_lasso(self._lasso)
            self._blitter.update(immediate=True)

    def _on_release(self, event):
        """A short press marks the nearest point; a loop marks every point inside it."""
        verts, self._lasso = self._lasso, None
        if verts is None or self.overlay is None:
            return
        self.overlay.show_lasso([])
        marked = list(self.model.marked)
        pixels = self._ax_step.transData.transform(np.asarray(verts, dtype=float))
        if np.ptp(pixels, axis=0).max() < 8:  # hardly moved: a click
            self.mark_at(*verts[0])
        else:
            self.mark_lasso(verts)
        if self.model.marked == marked:  # nothing new to draw but the loop gone (else drawn already)
            self._draw_prediction()

    # the functions a click and a loop call (tests call them too)
    def mark_at(self, x: float, y: float) -> int | None:
        """Mark or unmark the point nearest to (x, y) (data units), if it is within
        a few pixels on screen; returns its index, or None."""
        if self.model.question_kind != "assign" or self.panel is None:
            return None
        i = point_at_pixel(self._ax_step, self.model.X, x, y)
        if i is not None:
            self.model.toggle_mark(i)
        return i

    def mark_lasso(self, vertices) -> int:
        """Mark every point inside the loop ``vertices`` (data units); returns how many were new."""
        return self.model.mark(points_in_lasso(self.model.X, vertices))

    def guess_at(self, x: float, y: float) -> bool:
        """Guess that the ringed centre goes to (x, y) (data units)."""
        return self.model.set_guess(x, y)

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
        elif key in ("r", "R"):
            m.reveal()

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
        self._show_step()
        self._message.value = message_html(m)  # last: the page has what it speaks of

    def _dynamic_artists(self) -> list:
        """What changes from one step to the next (redrawn by the blitter)."""
        out = []
        if self.panel is not None:
            out += self.panel.artists
        if self.overlay is not None:
            out += self.overlay.artists
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
        set_display(self._clear, None if m.init == "manual" else "none")

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
        self.overlay = PredictionOverlay(self._ax_step, marker_size=self.panel.view.marker_size)
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
        self._show_prediction()
        self._drawn_index = m.index
        self._blitter.update(immediate=not m.playing)

    def _on_prediction(self, change):
        m = self.model
        # Marks cleared by a new step are drawn with that step: one picture, not two.
        if self._shown_revision == m.revision and self._drawn_index == m.index:
            self._draw_prediction()

    def _draw_prediction(self):
        self._show_prediction()
        self._blitter.update(immediate=True)

    def _show_prediction(self):
        """The prediction row and the overlay, for the step on screen and the question after it."""
        m = self.model
        on = m.predict and m.trace is not None
        self._predict.value = m.predict
        self.transport.keys_line.value = keys_html(True, True, [("R", "reveal")] if on else ())
        kind = m.question_kind
        for w in (self._reveal, self._none, self._clear_marks, self._prompt, self._result, self._score):
            set_display(w, None if on else "none")
        self._reveal.disabled = kind is None
        self._none.disabled = kind != "assign"
        self._clear_marks.disabled = not (m.marked or m.guess)
        # The count is here, in a button of fixed width: nothing above the picture moves while marking.
        self._clear_marks.description = (f"clear marks ({len(m.marked)})" if m.marked else
                                         "clear guess" if kind == "update" else "clear marks")
        self._prompt.value = (f"<div style='font-size:1.1em;line-height:1.3;font-weight:600;color:#0b5394'>"
                              f"{html.escape(m.prompt)}</div>")
        outcome = m.results.get(m.index) if on else None
        head, why = m.result_parts
        key = ""
        if isinstance(outcome, AssignOutcome):
            key = " · ".join(PREDICTION_KEY[name] for name in ("hit", "miss", "false"))
        elif isinstance(outcome, Skipped) and outcome.kind == "assign":
            key = PREDICTION_KEY["changed"]
        # Each entry of the key wraps as a whole (no "✕" alone at the end of a line).
        key = html.escape(key).replace(" ", "&nbsp;").replace("&nbsp;·&nbsp;", " · ")
        key = f" &nbsp; <span style='color:#444'>{key}</span>" if key else ""
        self._result.value = (f"<div style='font-size:1.05em;line-height:1.35'><b>{html.escape(head)}</b>{key}"
                              f"<br>{html.escape(why)}</div>" if head else "")
        self._score.value = (f"<div style='font-size:1.05em;padding-left:8px'>Score this run: "
                             f"<b>{html.escape(m.score.summary())}</b></div>")
        self._draw_overlay(on, outcome)

    def _draw_overlay(self, on: bool, outcome):
        """Marks, the ringed centre and the guess; the step's revealed prediction until
        the learner starts answering the next question."""
        m, overlay = self.model, self.overlay
        if overlay is None:
            return
        if not on or self._panel_key != (m.data_key, m.k, self._voronoi_on):
            overlay.clear()
            return
        answering = bool(m.marked or m.guess)
        changed = None
        if isinstance(outcome, Skipped) and outcome.kind == "assign":
            changed = m.current.changed
        if answering or isinstance(outcome, Skipped):
            outcome = None
        guess = m.guess if m.guess else None
        overlay.show(m.X, outcome=outcome, changed=None if answering else changed, marks=m.marked,
                     target=m.target_position, guess=guess)

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
        return text + self._prediction_words()

    def _prediction_words(self) -> str:
        """What the prediction overlay shows, in words ("" when prediction mode is off)."""
        m = self.model
        if not m.predict or m.trace is None:
            return ""
        outcome = m.results.get(m.index)
        if m.marked:
            return f" Marked as changing: {_count(len(m.marked), 'point')} (rings)."
        if m.guess:
            return f" Your guess for centre {m.target_centre() + 1}: ({m.guess[0]:.3g}, {m.guess[1]:.3g})."
        if isinstance(outcome, AssignOutcome):
            return (f" Over the points: {_count(outcome.hits.size, 'hit')} (thick rings), "
                    f"{outcome.misses.size:,} missed (squares), {_count(outcome.false_alarms.size, 'false alarm')} "
                    f"(crosses).")
        if isinstance(outcome, CentreOutcome):
            return (f" Your guess is joined by a dashed line to where centre {outcome.centre + 1} went, "
                    f"{outcome.error:.2g} away.")
        if isinstance(outcome, Skipped) and outcome.kind == "assign":
            return " Squares mark the points that changed cluster."
        return ""

    @property
    def message(self) -> str:
        """HTML of the current message (an error, or what to do next)."""
        return self._message.value

    @property
    def upload_row(self) -> UploadRow:
        """The "bring your own CSV" row (tests set ``upload_row.upload.value``)."""
        return self._upload
