"""The "beat k-means++" challenge: place the centres yourself, then see where your run stands.

The learner clicks k starting centres on the picture of the data (as the
stepper's "place the centres yourself" seeding does), presses Run, and K-means
runs to convergence from there. Their final inertia is then placed among the
final inertias of many k-means++ restarts and many random-start restarts on
the same data and k: "Your run matches or beats 62 % of k-means++ runs and
91 % of random-start runs". Runs within 0.1 % of each other's inertia count as
the same result (:data:`~kmeans_tutor.widgets.compare.SAME_GROUPING_RTOL`, the
rule of the race in the compare app). "Clear my centres" starts a new try; the
best try is kept until k or the data change.

The restarts are made once per data and k, on the first Run (200 of each
seeding on the 200 Mall customers take about half a second on 2 cores), so
the page opens at once.

Two layers, as in every app of this package:

- :class:`ChallengeModel` — traitlets, no widgets: a
  :class:`~kmeans_tutor.widgets.stepper.StepperModel` whose seeding is always
  "place the centres yourself", plus the tries.
- :class:`ChallengeApp` — an ``ipywidgets.VBox`` with the buttons, the
  verdict and one ipympl figure created once: the run on the left (your
  starting centres marked), the two histograms on the right.

>>> m = ChallengeModel(k=2, dataset="blobs", n_restarts=20)
>>> m.place(-5, 0), m.place(5, 0)
(True, True)
>>> attempt = m.run()
>>> sorted(attempt.standings)
['k-means++', 'random']
"""

from __future__ import annotations

import html
import math
import re
import time
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import traitlets
from matplotlib.lines import Line2D
from traitlets import Enum, Float, Instance, Int

from ..core.restarts import MAX_RESTARTS, Standing, restart_inertias, standing
from ..core.steps import format_inertia
from ..core.trace import Trace
from ..data.mall import DEFAULT_FEATURES
from ..views.composite import StepPicture
from ..views.restarts import RestartHistograms, StartMarks
from .base import DataModel, info_html, message_html, quiet, warning_html
from .compare import INIT_COLORS, SAME_GROUPING_RTOL
from .controls import figure_alt, hidden_html, live_html, live_region
from .figure import Blitter, FigureFit, PresenterView, app_figure, freeze_layout, plain_text, refresh, short_name
from .sending import sent_when_built
from .stepper import StepperModel
from .shared_styles import shared_layout, styled

__all__ = ["ChallengeModel", "ChallengeApp", "Attempt", "CHALLENGE_INITS", "RESTART_NAMES",
           "percent_words", "parse_point"]

#: The seedings a try is compared with, in display order (top, bottom).
CHALLENGE_INITS = ("k-means++", "random")
#: How the verdict and the histograms name each seeding's runs.
RESTART_NAMES = {"k-means++": "k-means++ runs", "random": "random-start runs"}


@dataclass(frozen=True, eq=False)
class Attempt:
    """One try: where the learner started, where K-means stopped, how it stands.

    Attributes
    ----------
    number : int
        1 for the first try (since k or the data last changed), 2 for the next…
    starts : ndarray of shape (k, 2)
        The centres the learner placed.
    trace : Trace
        The run from them, to convergence.
    standings : dict of seeding → Standing
        Where its final inertia stands among that seeding's restarts.
    """

    number: int
    starts: np.ndarray
    trace: Trace
    standings: dict

    @property
    def inertia(self) -> float:
        return float(self.trace.final.inertia)

    @property
    def n_iter(self) -> int:
        return int(self.trace.final.n_iter)

    def percent(self, init: str) -> float:
        """Share (0 … 100) of that seeding's runs this try matches or beats."""
        return self.standings[init].percent


def percent_words(p: float) -> str:
    """A share as the verdict says it: whole percents, but never "100 %" unless
    every run was matched or beaten, and never "0 %" unless none was."""
    if p >= 100.0:
        return "100 %"
    if p <= 0.0:
        return "0 %"
    return f"{min(max(round(p), 1), 99)} %"


class ChallengeModel(StepperModel):
    """Centres placed by hand, one run from them, and where it stands among restarts.

    Settings (any change starts a new try): ``dataset``, ``features``,
    ``scaled``, ``n_samples``, ``k`` (see :class:`DataModel`) and
    ``manual_centers`` (place them with :meth:`place`). Changing ``k`` or the
    data also forgets the best try.

    State
    -----
    trace : Trace or None
        The run from the placed centres, once all k are placed (not shown
        before :meth:`run`: predict first).
    attempt : Attempt or None
        The try on screen, after :meth:`run`.
    best : Attempt or None
        The try with the lowest final inertia so far.
    tries : int
        Tries run so far.
    restarts_seconds : float
        How long the last set of restarts took to make (NaN before one).

    Examples
    --------
    >>> m = ChallengeModel(k=2, dataset="blobs", n_restarts=20)
    >>> m.message
    'Click 2 centres on the plot to start (0 of 2 placed).'
    >>> m.run() is None, m.message
    (True, 'Place all 2 centres first (0 of 2 placed), then press Run.')
    """

    init = Enum(("manual",), default_value="manual")
    attempt = Instance(Attempt, allow_none=True)
    best = Instance(Attempt, allow_none=True)
    tries = Int(0)
    restarts_seconds = Float(math.nan)

    inits = CHALLENGE_INITS

    def __init__(self, dataset="mall", features=DEFAULT_FEATURES, *, scaled=True, k=5, n_samples=None,
                 n_restarts=200):
        n_restarts = int(n_restarts)
        if not 1 <= n_restarts <= MAX_RESTARTS:
            raise ValueError(f"n_restarts must be from 1 to {MAX_RESTARTS:,}; got {n_restarts:,}.")
        self.n_restarts = n_restarts
        self._restarts: dict = {}  # (data_key, k, n_restarts) → {seeding: final inertias}
        super().__init__(dataset, features, scaled=scaled, k=k, init="manual", n_samples=n_samples)

    def _follow(self, change):
        # A new k or new data: the centres and the best try belonged to the old ones.
        if change["name"] in (*DataModel._data_settings, "k"):
            self.manual_centers = []
            self.best = None
            self.tries = 0

    def _publish(self):
        super()._publish()
        self.attempt = None  # new centres (or settings): the last try's run is not theirs

    def _compute(self):
        message, level = super()._compute()
        if self.trace is not None:
            word = "centre" if self.k == 1 else "centres"
            return f"All {self.k} {word} placed: press Run to run K-means from them.", "info"
        return message, level

    # --- placing ---------------------------------------------------------------------------
    def place(self, x: float, y: float) -> bool:
        """Place one centre at (x, y), in the units of :attr:`X`; False (with a
        message saying why, nothing changed) when it cannot be placed."""
        try:
            x, y = float(x), float(y)
        except (TypeError, ValueError):
            x = y = math.nan
        if not self.data_ok:
            return False  # the settings' own message says what to fix
        if self.add_center(x, y):
            return True
        if self.attempt is not None:
            self.report("Your run is on screen: press “Clear my centres” to try again.")
        elif self.trace is not None:
            self.report(f"All {self.k} centres are placed: press Run, or “Clear my centres” to "
                        f"place them again.")
        else:
            self.report("A centre needs a place on the picture; click inside it.")
        return False

    @property
    def data_ok(self) -> bool:
        """Whether the data and k can be used (else ``message`` says why)."""
        return not self._check()

    def try_again(self):
        """Remove the placed centres for a new try (the best try is kept)."""
        if self.manual_centers:
            self.clear_centers()
        else:
            self.restart()  # nothing to remove: still put the message back

    # --- running ---------------------------------------------------------------------------
    @property
    def restarts_ready(self) -> bool:
        """Whether the restarts for this data and k are made already."""
        return (self.data_key, self.k, self.n_restarts) in self._restarts

    def restart_runs(self) -> dict:
        """Final inertias of ``n_restarts`` runs of each seeding on this data and k
        (:func:`~kmeans_tutor.core.restarts.restart_inertias`, seeds 0, 1, 2, …),
        made on first use and then kept for this data and k."""
        key = (self.data_key, self.k, self.n_restarts)
        if key not in self._restarts:
            start = time.perf_counter()
            self._restarts[key] = {init: restart_inertias(self.X, self.k, init, n_restarts=self.n_restarts)
                                   for init in self.inits}
            self.restarts_seconds = time.perf_counter() - start
        return self._restarts[key]

    def run(self) -> Attempt | None:
        """Run K-means from the placed centres and place the result among the restarts.

        Returns the :class:`Attempt` (also in ``attempt``; ``best`` follows),
        or None with a message when centres are missing.
        """
        if self.trace is None:
            if self.data_ok:
                placed = len(self.manual_centers)
                self.report(f"Place all {self.k} centres first ({placed} of {self.k} placed), then "
                            f"press Run.")
            return None
        if self.attempt is not None:
            return self.attempt  # the same centres give the same run
        runs = self.restart_runs()
        inertia = float(self.trace.final.inertia)
        standings = {init: standing(inertia, runs[init], rtol=SAME_GROUPING_RTOL) for init in self.inits}
        attempt = Attempt(number=self.tries + 1, starts=np.array(self.manual_centers, dtype=np.float64),
                          trace=self.trace, standings=standings)
        with self.hold_trait_notifications():
            self.tries = attempt.number
            if self.best is None or attempt.inertia < self.best.inertia:
                self.best = attempt
            self.attempt = attempt
            self.message, self.message_level = self._next_step(attempt), "info"
        return attempt

    @staticmethod
    def _next_step(attempt: Attempt) -> str:
        """What to try next, after a try."""
        if all(s.n_better == 0 and s.n_worse == 0 for s in attempt.standings.values()):
            return ("Every run of both seedings ended at this same result: with this k, the start "
                    "makes no difference. Try a larger k.")
        if all(s.n_better == 0 for s in attempt.standings.values()):
            return ("No run did better than yours. Now try a bad start: can you make K-means get "
                    "stuck? Press “Clear my centres”.")
        return "Press “Clear my centres” to try again: can you find a start that ends lower?"

    # --- in words --------------------------------------------------------------------------
    def verdict(self, attempt: Attempt | None = None) -> str:
        """The try in one sentence ("Your run … matches or beats 62 % of k-means++ runs …")."""
        a = self.attempt if attempt is None else attempt
        if a is None:
            return ""
        shares = " and ".join(f"{percent_words(a.percent(i))} of {RESTART_NAMES[i]}" for i in self.inits)
        return (f"Your run ended at inertia {format_inertia(a.inertia)} after {a.n_iter} "
                f"iteration{'s' if a.n_iter != 1 else ''}: it matches or beats {shares}.")

    def best_words(self) -> str:
        """The best try so far in one sentence ("" before the first)."""
        b = self.best
        if b is None:
            return ""
        shares = ", ".join(f"{percent_words(b.percent(i))} of {RESTART_NAMES[i]}" for i in self.inits)
        tries = f"try {b.number} of {self.tries}"
        return f"Your best: inertia {format_inertia(b.inertia)} ({tries}) — matches or beats {shares}."

    def counts_words(self, attempt: Attempt | None = None) -> str:
        """The counts behind the percents ("k-means++: 124 of 200 ended higher, 76 the same, 0 lower…")."""
        a = self.attempt if attempt is None else attempt
        if a is None:
            return ""
        parts = []
        for init in self.inits:
            s: Standing = a.standings[init]
            parts.append(f"{init}: {s.n_worse} of {s.n_runs} ended higher, {s.n_same} the same, "
                         f"{s.n_better} lower")
        return "; ".join(parts) + "."


# ------------------------------------------------------------------------------ the app


_WAITING = ("The final inertias of\n{n} k-means++ runs and\n{n} random-start runs\n"
            "appear here after your\nfirst Run.")


class ChallengeApp(widgets.VBox):
    """Place k centres by hand, run K-means, and see where the run stands among restarts.

    Parameters
    ----------
    dataset : str, default="mall"
    features : pair of str, default=("Annual Income (k$)", "Spending Score (1-100)")
        Mall columns (ignored for synthetic data).
    k : int, default=5
    scaled : bool, default=True
        Z-score the Mall columns.
    n_samples : int, optional
        Points of a synthetic data set.
    n_restarts : int, default=200
        Restarts of each seeding to compare with.
    figsize : (float, float), default=(11.0, 4.4)
        Inches at 80 dpi.

    Attributes
    ----------
    model : ChallengeModel
    fig : Figure
        The one ipympl figure: the run (left), the histograms (right).
    panel : StepPicture or None
        The picture of the data and the run (rebuilt when the data or k change).
    marks : StartMarks or None
        The starting centres and their paths on it.
    histograms : RestartHistograms
    run_button, clear_button : Button
    fit : FigureFit
    presenter : PresenterView

    Examples
    --------
    In a notebook cell or a Voilà lesson, the app is the cell's last expression::

        from kmeans_tutor.widgets.challenge import ChallengeApp
        ChallengeApp(dataset="mall", k=5)
    """

    @sent_when_built
    def __init__(self, dataset="mall", features=DEFAULT_FEATURES, k=5, scaled=True, n_samples=None, *,
                 n_restarts=200, figsize=(11.0, 4.4), **kwargs):
        super().__init__(**kwargs)
        self.model = m = ChallengeModel(dataset, features, scaled=scaled, k=k, n_samples=n_samples,
                                        n_restarts=n_restarts)
        auto = shared_layout(width="auto")
        self._k = styled(widgets.IntSlider, value=min(max(m.k, 1), 10), min=1, max=10, description="k",
                                            continuous_update=False,
                                            tooltip="The number of clusters (a new k starts the challenge afresh)",
                                            layout=shared_layout(width="260px"))
        self.run_button = styled(widgets.Button, description="Run", icon="play", button_style="success", layout=auto,
                                                 tooltip="Run K-means from your centres to convergence and "
                                                         "compare the result with many restarts")
        self.clear_button = styled(widgets.Button, description="Clear my centres", icon="eraser", layout=auto,
                                                   tooltip="Remove your centres and place them again "
                                                           "(your best try is kept)")
        self._typed = styled(widgets.Text, value="", placeholder="e.g. -1.3, 1.1", continuous_update=False,
                                           description="or type a centre (x, y)",
                                           style={"description_width": "initial"},
                                           tooltip="Place a centre without the mouse: its two coordinates, in the "
                                                   "units on the axes, then Enter",
                                           layout=shared_layout(width="330px"))
        self._message = styled(widgets.HTML)
        self._verdict = live_region()
        self._counts = styled(widgets.HTML)
        self._best = styled(widgets.HTML)
        self._figure_alt = figure_alt()

        # --- the figure, once ---
        self.fig = app_figure(figsize)
        grid = self.fig.add_gridspec(2, 2, width_ratios=[1.25, 1.0])
        self._ax_run = self.fig.add_subplot(grid[:, 0])
        top = self.fig.add_subplot(grid[0, 1])
        bottom = self.fig.add_subplot(grid[1, 1], sharex=top)
        top.tick_params(labelbottom=False)
        self.histograms = RestartHistograms(
            {"k-means++": top, "random": bottom}, colors=INIT_COLORS,
            titles={i: f"{m.n_restarts} {RESTART_NAMES[i]}" for i in m.inits},
            xlabel=self._xlabel(), empty_note=_WAITING.format(n=m.n_restarts))
        self.panel: StepPicture | None = None
        self.marks: StartMarks | None = None
        self._panel_key = None
        # A placed centre changes only the picture of the data: a blit (12–20 ms at a 1280 px
        # page's width), not a full draw of all three axes (80–150 ms). New histograms are
        # drawn in full.
        self._blitter = Blitter(self.fig, self._dynamic_artists)
        self._histograms_shown = None  # what the histograms show: (runs, your run, your best)

        row = widgets.HBox([self._k, self.run_button, self.clear_button, self._typed],
                           layout=shared_layout(flex_flow="row wrap", align_items="center"))
        self.fit = FigureFit(self.fig)
        self.presenter = PresenterView(self, self.fit, [self._k, self._typed, self._counts])
        # The verdict and the best try above the picture, the counts behind them under it:
        # at 1280 × 720 the buttons and the whole picture fit on one screen.
        self.children = [self.presenter.bar, row, self._message, self._verdict, self._best,
                         self._figure_alt, self.fig.canvas, self._counts]
        self._on_restart()
        self._wire()

    def _report(self, text: str):
        """Show a problem under the buttons (an unexpected one, caught by quiet())."""
        self._message.value = warning_html(text)

    def _xlabel(self) -> str:
        units = self.model.units
        unit = "z-score units" if units == "z-scores" else units
        return f"final inertia{f' ({unit})' if unit else ''}\nlower is better"

    # --- wiring ------------------------------------------------------------------------------
    def _wire(self):
        """Every handler, in one place: widgets → model, model → widgets and figure."""
        m = self.model
        self._k.observe(quiet(self._on_k, self._report), names="value")
        self.run_button.on_click(quiet(lambda _: self._on_run(), self._report))
        self.clear_button.on_click(quiet(lambda _: m.try_again(), self._report))
        self._typed.observe(quiet(self._on_typed, self._report), names="value")
        m.observe(quiet(self._on_restart, self._report), names="revision")
        m.observe(quiet(self._on_attempt, self._report), names="attempt")
        m.observe(quiet(self._on_message, self._report), names=["message", "message_level"])
        canvas = self.fig.canvas
        manager = getattr(canvas, "manager", None)
        if manager is not None and getattr(manager, "key_press_handler_id", None) is not None:
            # matplotlib's default keys ("l" log scale, "q" close, "s" save…) mean nothing here.
            canvas.mpl_disconnect(manager.key_press_handler_id)
            manager.key_press_handler_id = None
        canvas.mpl_connect("button_press_event", quiet(self._on_click, self._report))

    def _on_k(self, change):
        try:
            self.model.k = int(change["new"])
        except (traitlets.TraitError, ValueError, TypeError) as exc:
            self._message.value = warning_html(str(exc))

    def _on_click(self, event):
        """A left click on the picture places a centre; anywhere else, say where to click."""
        if getattr(event, "button", 1) not in (1, None):
            return
        if self.panel is None:
            return  # the data cannot be shown: the message says why
        if not self.panel.contains(event):
            self.model.report("Click inside the picture of the data (left) to place a centre.")
            return
        self.model.place(float(event.xdata), float(event.ydata))

    def _on_typed(self, change):
        """A centre typed as "x, y" (Enter): placed like a click, if it lies on the picture."""
        typed = str(change["new"]).strip()
        if not typed or self.panel is None:
            return
        try:
            x, y = parse_point(typed, self.panel.limits)
        except ValueError as exc:
            self.model.report(str(exc))
            return
        if self.model.place(x, y):
            self._typed.value = ""  # ready for the next one

    def _on_run(self):
        m = self.model
        if m.trace is not None and m.attempt is None and not m.restarts_ready:
            # The first Run makes the restarts (well under a second): say so while it does.
            self._message.value = info_html(f"Running K-means from your centres, and {m.n_restarts} "
                                            f"k-means++ and {m.n_restarts} random-start runs to "
                                            f"compare with…")
        self.run_button.disabled = True
        try:
            m.run()  # a new try is drawn by _on_attempt
        finally:
            self.run_button.disabled = False
        self._message.value = message_html(m)

    def _on_attempt(self, change):
        if change["new"] is not None:  # a restart (attempt back to None) draws in _on_restart
            self._show()

    def _on_message(self, change=None):
        self._message.value = message_html(self.model)

    # model → widgets and figure
    def _on_restart(self, change=None):
        """New centres or settings: sync k, rebuild the picture if needed, draw."""
        m = self.model
        if 1 <= m.k <= 10 and self._k.value != m.k:
            self._k.value = m.k
        self._build_panel()
        self._show()

    def _build_panel(self):
        """(Re)make the picture of the data when the data or k changed."""
        m = self.model
        if not m.data_ok:
            return  # the message says why; keep the last picture
        key = (m.data_key, m.k)
        if key == self._panel_key:
            return
        data = m.data
        names = [plain_text(n) for n in data.axis_labels]
        self._ax_run.clear()
        self.panel = StepPicture(data.X, m.k, ax=self._ax_run, feature_names=names, legend=None,
                                 shade_seeding=False, title=self._title())
        self.marks = StartMarks(self._ax_run, m.k)
        handles = [*StartMarks.legend_handles()[:1],
                   *_centre_handle(), StartMarks.legend_handles()[1]]
        self._ax_run.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                            borderaxespad=0.0, fontsize=9.6, frameon=False, handletextpad=0.3,
                            columnspacing=1.0)
        self._panel_key = key
        self.histograms.axes["random"].set_xlabel(self._xlabel())
        self._lay_out()
        self._blitter.track()

    def _lay_out(self):
        """Lay the figure out for pictures like the ones to come, then keep it.

        Empty histograms get limits like the runs' (three-digit ticks), so that the
        layout leaves room for them; a second pass sees the tick labels of the
        resized axes (the picture keeps its aspect, so it may get more ticks).
        """
        if self.histograms.limits is None:  # hidden ticks still take their place in the layout
            for ax in self.histograms.axes.values():
                ax.set_xlim(60.0, 120.0)  # a tick label at each end: room for both
                ax.set_ylim(0.0, 200.0)
        freeze_layout(self.fig)
        freeze_layout(self.fig)

    def _title(self) -> str:
        m = self.model
        data = m.data
        own = m.is_mall or m.is_upload
        return plain_text(f"{short_name(data.title)} · {m.units}" if own else data.title)

    def _show(self):
        """Draw the try on screen (or the centres placed so far) and every readout."""
        m = self.model
        a = m.attempt
        if self.panel is not None and self._panel_key == (m.data_key, m.k):
            if a is not None:
                self.panel.title = f"Your run: inertia {format_inertia(a.inertia)}"
                self.panel.draw(a.trace.final)
                self.marks.draw(a.trace)
            else:
                self.panel.title = self._title()
                self.panel.draw(m.preview())
                self.marks.draw(starts=m.manual_centers)
        runs = m.restart_runs() if a is not None else None
        if runs is None and m.best is not None:
            runs = m.restart_runs()  # cached: keep showing the picture a try has already revealed
        shown = (runs, None if a is None else a.inertia, None if m.best is None else m.best.inertia)
        new_histograms = not _same_histograms(shown, self._histograms_shown)
        if new_histograms:
            self.histograms.draw(*shown)
            self._histograms_shown = shown
        # The message goes last: when it says what to do next, the browser has every other
        # readout of this try already (updates reach the page in the order they are made).
        self._verdict.value = live_html(m.verdict())
        self._counts.value = (f"<span style='color:#555'>{html.escape(m.counts_words())} Runs within 0.1 % "
                              f"of your inertia count as the same result.</span>" if a is not None else "")
        self._best.value = info_html(m.best_words()) if m.best is not None else ""
        self._figure_alt.value = hidden_html(self.figure_text)
        self._message.value = message_html(m)
        if new_histograms:
            refresh(self.fig)  # new bars, limits and ticks: the whole figure
        else:
            self._blitter.update()

    def _dynamic_artists(self) -> list:
        """What a placed centre or a run changes in the picture of the data (its points,
        centres, title, and the crosses and paths), pasted by the blitter onto a snapshot of
        the rest (axes, ticks, legend, histograms)."""
        if self.panel is None:
            return []
        return [*self.panel.artists, *self.marks.artists]

    # --- read-only views of the screen, for tests and lesson checks --------------------------
    @property
    def message(self) -> str:
        return self._message.value

    @property
    def verdict(self) -> str:
        """HTML of the verdict (an ARIA live region)."""
        return self._verdict.value

    @property
    def best_text(self) -> str:
        return self._best.value

    @property
    def counts_text(self) -> str:
        return self._counts.value

    @property
    def figure_text(self) -> str:
        """The picture in words (its text alternative)."""
        m = self.model
        a = m.attempt
        placed = "; ".join(f"({x:.3g}, {y:.3g})" for x, y in m.manual_centers) or "none yet"
        if a is None:
            text = f"Picture, left: the data in grey, with your centres placed so far: {placed}. "
            if m.best is None:
                return text + "Right: empty until your first run."
            return text + (f"Right: histograms of the final inertia of {m.n_restarts} runs of each "
                           f"seeding, with your best, {format_inertia(m.best.inertia)}, marked.")
        return (f"Picture, left: your run from the centres you placed, {placed}, converged with "
                f"inertia {format_inertia(a.inertia)}; crosses mark your starts, dotted lines the path "
                f"of each centre. Right: histograms of the final inertia of {m.n_restarts} k-means++ runs "
                f"(top) and {m.n_restarts} random-start runs (bottom), with your run and your best "
                f"({format_inertia(m.best.inertia)}) marked. {m.counts_words()}")


def _same_histograms(a, b) -> bool:
    """Whether two (runs, your run, your best) show the same histograms: the same runs
    (one object, made once per data and k) and the same two marks."""
    return a is not None and b is not None and a[0] is b[0] and a[1:] == b[1:]


def parse_point(text: str, limits) -> tuple[float, float]:
    """Two numbers typed as "x, y" (a comma, a semicolon or spaces between), inside
    ``limits`` ((x0, x1), (y0, y1)); ValueError with a message a learner can act on.

    >>> parse_point("-1.3, 1.1", ((-2, 3), (-2, 2)))
    (-1.3, 1.1)
    """
    (x0, x1), (y0, y1) = limits
    where = f"x from {x0:.2f} to {x1:.2f}, y from {y0:.2f} to {y1:.2f}"
    parts = [p for p in re.split(r"[,;\s]+", str(text)[:100].strip()) if p]
    try:
        x, y = (float(p) for p in parts)
    except ValueError:
        raise ValueError(f"Type a centre as two numbers, x and y, e.g. “-1.3, 1.1” ({where}).") from None
    if not (math.isfinite(x) and math.isfinite(y) and x0 <= x <= x1 and y0 <= y <= y1):
        raise ValueError(f"That centre is off the picture: type one with {where}.")
    return x, y


def _centre_handle() -> list:
    """The legend entry of a centre where K-means stopped (shape: its cluster)."""
    return [Line2D([], [], ls="none", marker="o", ms=9, mfc="0.6", mec="black", mew=1.8,
                   label="where K-means moved it")]
