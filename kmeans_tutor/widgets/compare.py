"""Random vs k-means++ seeding, side by side on the same data, and a race of restarts.

Top: the same data, k and seed run twice — random seeding on the left,
k-means++ on the right — stepped in lockstep by one set of controls (a side
that has converged waits on its last step). Bottom: a race — N restarts of
each seeding with seeds ``seed … seed + N − 1`` — with histograms of the
final inertia and of the iteration counts, the best inertia found and the
share of each seeding's runs that reached the best grouping (final inertia
within :data:`SAME_GROUPING_RTOL` of the best: the same groups, give or take a
customer or two, whatever numbers the clusters got).

Two layers, as in every app of this package:

- :class:`CompareModel` — traitlets, no widgets.
- :class:`CompareApp` — an ``ipywidgets.VBox`` with the controls and two
  ipympl figures created once (the runs; the race).

>>> m = CompareModel(k=5, seed=0)
>>> table = m.race(20)
>>> table.groupby("init").size().to_dict()
{'k-means++': 20, 'random': 20}
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

import ipywidgets as widgets
import numpy as np
import traitlets
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from traitlets import Bool, Float, Int

from ..core.lloyd import run_kmeans
from ..core.steps import Step, format_inertia
from ..core.validation import MAX_SEED
from ..data.mall import DEFAULT_FEATURES
from ..views.composite import StepPicture
from ..views.palette import CLUSTER_COLORS, edge_color
from .base import DataFrameTrait, RunModel, message_html, quiet, step_readout, warning_html
from .controls import (KEYS_APP_CLASS, DataChoice, Transport, figure_alt, hidden_html, live_html,
                       live_region)
from .figure import Blitter, FigureFit, PresenterView, app_figure, freeze_layout, plain_text, refresh
from .sending import sent_when_built
from .shared_styles import shared_layout, styled

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CompareModel", "CompareApp", "COMPARE_INITS", "SAME_GROUPING_RTOL"]

#: The two seedings the app races, in display order (left, right).
COMPARE_INITS = ("random", "k-means++")
#: A race run "reached the best grouping" when its final inertia is within this
#: fraction of the best run's (0.1 %). Runs that end a customer or two apart
#: (65.57 vs 65.58 on the scaled Mall data, k = 5) count as one grouping; the
#: next local optimum there is about 50 % higher, far outside it.
SAME_GROUPING_RTOL = 1e-3


class CompareModel(RunModel):
    """Random vs k-means++ seeding on the same data and seed, in lockstep, plus a race.

    Settings: ``dataset``, ``features``, ``scaled``, ``n_samples``, ``k``,
    ``seed`` (any change recomputes both runs and clears the race).

    State
    -----
    traces : dict of init → Trace
        ``run_kmeans(X, k, init=init, random_state=seed)`` for each of
        :data:`COMPARE_INITS`; empty when the settings are invalid.
    index : int
        Shared step index, up to the longer run's last step; each side shows
        ``min(index, its own last step)``.
    race_results : DataFrame or None
        After :meth:`race`: one row per run (init, run, seed, inertia, n_iter).
    best_inertia : float
        Lowest final inertia of any run of the race (NaN before one).
    shares : dict of init → float
        Share of each init's runs that reached the best grouping: final
        inertia within :data:`SAME_GROUPING_RTOL` (0.1 %) of ``best_inertia``.
    progress, progress_total : int
        Runs done / to do while racing.

    Examples
    --------
    >>> m = CompareModel(k=5, seed=0)
    >>> table = m.race(20)
    >>> table.groupby("init").size().to_dict()
    {'k-means++': 20, 'random': 20}
    >>> 0 <= m.shares["random"] <= 1
    True
    """

    traces = traitlets.Dict()
    race_results = DataFrameTrait()
    best_inertia = Float(math.nan)
    shares = traitlets.Dict()
    progress = Int(0)
    progress_total = Int(0)
    racing = Bool(False)

    inits = COMPARE_INITS
    n_features = (2, 2)  # both pictures show the two columns K-means uses

    def __init__(self, dataset="mall", features=DEFAULT_FEATURES, *, scaled=True, k=5, seed=0,
                 n_samples=None):
        super().__init__(dataset=dataset, features=tuple(features), scaled=scaled, k=k, seed=seed,
                         n_samples=n_samples)

    def _clear(self):
        self.traces = {}
        self._clear_race()

    def _compute(self):
        X = self.X
        self.traces = {init: run_kmeans(X, self.k, init=init, random_state=self.seed)
                       for init in self.inits}
        self._clear_race()
        return "", ""

    def _clear_race(self):
        self.race_results = None
        self.best_inertia = math.nan
        self.shares = {}
        self.progress = 0

    def _length(self) -> int:
        return max((len(t) for t in self.traces.values()), default=0)

    def index_of(self, init: str) -> int:
        """The step index shown for one init: the shared index, clamped to its run."""
        return min(self.index, len(self.traces[init]) - 1)

    def current(self, init: str) -> Step | None:
        """The step on screen for one init (None when there is no run)."""
        if init not in self.traces:
            return None
        return self.traces[init][self.index_of(init)]

    def finished(self, init: str) -> bool:
        """Whether that side has reached its last step (it waits there for the other)."""
        return init in self.traces and self.index >= len(self.traces[init]) - 1

    # --- race ---------------------------------------------------------------------------------
    def race(self, n_runs: int = 100, progress=None) -> pd.DataFrame | None:
        """Run each init ``n_runs`` times, with seeds ``seed … seed + n_runs − 1``.

        Parameters
        ----------
        n_runs : int
            Restarts per init (1 … 10,000).
        progress : callable, optional
            Called as ``progress(done, total)`` now and then during the race
            (and once at the end, with ``done == total``).

        Returns
        -------
        DataFrame or None
            One row per run: ``init``, ``run``, ``seed``, ``inertia``,
            ``n_iter``; also stored in ``race_results``. None (and
            ``message`` says why) when the settings are invalid.
        """
        import pandas as pd  # here, not at the top: pandas costs a kernel 0.2 s and 32 MB

        n_runs = int(n_runs)
        problem = ""
        if not 1 <= n_runs <= 10_000:
            problem = f"The number of restarts must be from 1 to 10,000; got {n_runs:,}."
        elif not self.traces:
            problem = self.message or "Fix the settings first."
        elif self.seed + n_runs - 1 > MAX_SEED:
            problem = f"Seeds {self.seed:,} … {self.seed + n_runs - 1:,} go past {MAX_SEED:,}; choose a smaller seed."
        if problem:
            self.report(problem)
            return None
        X = self.X
        total = n_runs * len(self.inits)
        every = max(total // 50, 1)  # about 50 progress updates, whatever N is
        self.racing = True
        self.progress, self.progress_total = 0, total
        rows, done = [], 0
        try:
            for init in self.inits:
                for r in range(n_runs):
                    seed = self.seed + r
                    last = run_kmeans(X, self.k, init=init, random_state=seed).final
                    rows.append((init, r, seed, float(last.inertia), int(last.n_iter)))
                    done += 1
                    if done % every == 0 or done == total:
                        self.progress = done
                        if progress is not None:
                            progress(done, total)
        finally:
            self.racing = False
        table = pd.DataFrame(rows, columns=["init", "run", "seed", "inertia", "n_iter"])
        best = float(table["inertia"].min())
        # Same grouping, not the same last digit: a run one customer away from
        # the best ends a hair higher and still counts.
        reached = table["inertia"].to_numpy() <= best * (1.0 + SAME_GROUPING_RTOL)
        shares = {init: float(reached[(table["init"] == init).to_numpy()].mean()) for init in self.inits}
        with self.hold_trait_notifications():
            self.best_inertia = best
            self.shares = shares
            self.race_results = table
        return table


# ------------------------------------------------------------------------------ the app


_TITLES = {"random": "random seeding", "k-means++": "k-means++ seeding"}
#: One palette colour per seeding, in the race histograms and readouts.
INIT_COLORS = {"random": CLUSTER_COLORS[1], "k-means++": CLUSTER_COLORS[0]}
_RUNS_RANGE = (10, 500)


class _RaceView:
    """Histograms of final inertia and iteration counts, one outline per seeding.

    Built once on two Axes (``ax.stairs`` artists, empty); ``draw(table, best)``
    only sets their data and the axis limits.
    """

    def __init__(self, ax_inertia, ax_iter, inits=COMPARE_INITS):
        self.axes = (ax_inertia, ax_iter)
        self.inits = tuple(inits)
        self.stairs = {}
        for ax, what in ((ax_inertia, "inertia"), (ax_iter, "n_iter")):
            for init in self.inits:
                c = INIT_COLORS[init]
                self.stairs[what, init] = ax.stairs([0.0], [0.0, 1.0], fill=True, alpha=0.35, color=c,
                                                    zorder=2)
                self.stairs[what, init, "edge"] = ax.stairs([0.0], [0.0, 1.0], fill=False, lw=1.6,
                                                            color=edge_color(c, 0.8), zorder=3)
            ax.set_ylabel("runs")
        self.best_line = ax_inertia.axvline(0.0, color="black", ls="--", lw=1.2, zorder=4)
        ax_inertia.set_xlabel("final inertia (lower is better)")
        ax_iter.set_xlabel("iterations to converge (one = an assign and an update step)")
        ax_inertia.set_title("Final inertia of each run", fontsize=10)
        ax_iter.set_title("Iterations of each run", fontsize=10)
        handles = [Patch(fc=INIT_COLORS[i], alpha=0.5, ec=edge_color(INIT_COLORS[i], 0.8), label=i)
                   for i in self.inits]
        ax_inertia.legend(handles=[*handles, Line2D([], [], color="black", ls="--", label="best found")],
                          loc="upper right", fontsize=8)
        ax_iter.legend(handles=handles, loc="upper right", fontsize=8)
        self.notes = [ax.text(0.5, 0.5, "Press “run the race”.", transform=ax.transAxes, ha="center",
                              va="center", color="0.45") for ax in self.axes]
        self.clear()

    def clear(self):
        for key, artist in self.stairs.items():
            artist.set_visible(False)
        self.best_line.set_visible(False)
        for note in self.notes:
            note.set_visible(True)

    def draw(self, table, best):
        if table is None:
            self.clear()
            return
        for note in self.notes:
            note.set_visible(False)
        inertia = table["inertia"].to_numpy()
        n_iter = table["n_iter"].to_numpy()
        # Common bins for both seedings, so the bars can be compared directly.
        edges = {"inertia": np.histogram_bin_edges(inertia, bins=min(30, max(5, len(table) // 8))),
                 "n_iter": np.arange(n_iter.min() - 0.5, n_iter.max() + 1.5)}
        top = {"inertia": 1, "n_iter": 1}
        for init in self.inits:
            sel = (table["init"] == init).to_numpy()
            for what, values in (("inertia", inertia[sel]), ("n_iter", n_iter[sel])):
                counts, e = np.histogram(values, bins=edges[what])
                top[what] = max(top[what], int(counts.max()) if counts.size else 0)
                for key in ((what, init), (what, init, "edge")):
                    self.stairs[key].set_data(counts, e)
                    self.stairs[key].set_visible(True)
        for ax, what in zip(self.axes, ("inertia", "n_iter")):
            e = edges[what]
            pad = 0.03 * (e[-1] - e[0])  # keep the best-inertia line off the frame
            ax.set_xlim(e[0] - pad, e[-1] + pad)
            ax.set_ylim(0, top[what] * 1.15)
        self.best_line.set_xdata([best, best])
        self.best_line.set_visible(True)


class CompareApp(widgets.VBox):
    """Random vs k-means++ seeding in lockstep, and a race of many restarts.

    Parameters
    ----------
    dataset : str, default="mall"
    features : pair of str, default=("Annual Income (k$)", "Spending Score (1-100)")
        Mall columns (ignored for synthetic data).
    k : int, default=5
    seed : int, default=0
        Both runs use it; the race uses ``seed … seed + N − 1``.
    scaled : bool, default=True
        Z-score the Mall columns.
    n_samples : int, optional
        Points of a synthetic data set.
    n_runs : int, default=100
        Restarts per seeding in the race (10 … 500 on the slider).
    figsize, race_figsize : (float, float)
        Inches at 80 dpi.

    Attributes
    ----------
    model : CompareModel
    fig, race_fig : Figure
        The runs (two step panels) and the race (two histograms); each created once.
    panels : dict of init → StepPicture
    transport : Transport
    fit : FigureFit
        Makes the figures follow the page width.
    presenter : PresenterView
        The "Presenter view" switch (first row): a larger picture and sentence, settings tucked away.

    Examples
    --------
    In a notebook cell or a Voilà lesson, the app is the cell's last expression::

        from kmeans_tutor.widgets.compare import CompareApp
        CompareApp(dataset="mall", k=5, seed=0)
    """

    @sent_when_built
    def __init__(self, dataset="mall", features=DEFAULT_FEATURES, k=5, seed=0, scaled=True,
                 n_samples=None, *, n_runs=100, figsize=(11.0, 4.4), race_figsize=(11.0, 3.2), **kwargs):
        super().__init__(**kwargs)
        self.model = m = CompareModel(dataset, features, scaled=scaled, k=k, seed=seed,
                                      n_samples=n_samples)

        # --- settings ---
        self.data_row = DataChoice(m)
        self._k = styled(widgets.IntSlider, value=min(max(m.k, 1), 10), min=1, max=10, description="k",
                                            continuous_update=False, tooltip="The number of clusters",
                                            layout=shared_layout(width="260px"))
        self._seed = styled(widgets.IntText, value=m.seed, description="seed",
                                             tooltip="The random seed of both runs: the same seed gives the "
                                                     "same pair of runs",
                                             layout=shared_layout(width="170px"))
        self._new_seed = styled(widgets.Button, description="new seed", icon="random",
                                                tooltip="Draw a fresh random seed and restart both runs",
                                                layout=shared_layout(width="110px"))

        # --- transport ---
        self.transport = Transport(m, player=False, picture_keys=False)
        btn = shared_layout(width="auto")

        # --- readouts ---
        self._readouts = {init: styled(widgets.HTML) for init in m.inits}
        self._captions = {init: live_region() for init in m.inits}
        self._seed_line = styled(widgets.HTML)
        self._message = styled(widgets.HTML)
        self._figure_alt = figure_alt()
        self._race_alt = figure_alt()

        # --- race ---
        lo, hi = _RUNS_RANGE
        self._n_runs = styled(widgets.IntSlider, value=min(max(int(n_runs), lo), hi), min=lo, max=hi, step=10,
                                                 description="restarts", continuous_update=False,
                                                 tooltip="How many runs of each seeding the race makes",
                                                 layout=shared_layout(width="320px"))
        self._race = styled(widgets.Button, description="run the race", icon="flag-checkered",
                                            button_style="success", layout=btn,
                                            tooltip="Run both seedings many times and compare their results")
        self._progress = styled(widgets.IntProgress, value=0, min=0, max=1, description="progress",
                                                     tooltip="Runs of the race done so far",
                                                     bar_style="info", layout=shared_layout(width="300px"))
        self._race_text = styled(widgets.HTML)

        # --- figures, once ---
        self.fig = app_figure(figsize)
        self._axes = dict(zip(m.inits, self.fig.subplots(1, 2)))
        self.panels = {}
        self._blitter = Blitter(self.fig, self._dynamic_artists)  # a step: 20 ms, not a 90 ms full draw
        self._panel_key = None
        self.race_fig = app_figure(race_figsize)
        self._race_view = _RaceView(*self.race_fig.subplots(1, 2))
        freeze_layout(self.race_fig)
        self._shown_revision = -1

        row = dict(layout=shared_layout(flex_flow="row wrap", align_items="center"))
        sides = widgets.HBox([widgets.VBox([self._readouts[i], self._captions[i]],
                                           layout=shared_layout(flex="1 1 320px", min_width="0"))
                              for i in m.inits], layout=shared_layout(flex_flow="row wrap"))
        settings = widgets.HBox([self._k, self._seed, self._new_seed], **row)
        self.fit = FigureFit(self.fig, self.race_fig)
        self.presenter = PresenterView(self, self.fit, [self.data_row, settings, self._seed_line])
        self.children = [
            self.presenter.bar,
            self.data_row,
            settings,
            self.transport,
            sides,
            self._seed_line,
            self._message,
            self._figure_alt,
            self.fig.canvas,
            styled(widgets.HTML, "<h4 style='margin:8px 0 2px'>Race: many restarts of each seeding</h4>"),
            widgets.HBox([self._n_runs, self._race, self._progress], **row),
            self._race_text,
            self._race_alt,
            self.race_fig.canvas,
        ]
        self.add_class(KEYS_APP_CLASS)
        self._on_restart()
        self._wire()

    def _report(self, text: str):
        """Show a problem under the controls (an unexpected one, caught by quiet())."""
        self._message.value = warning_html(text)

    # --- wiring ------------------------------------------------------------------------------
    def _wire(self):
        """Every handler, in one place: widgets → model, model → widgets and figures."""
        m = self.model
        self._k.observe(quiet(lambda ch: self._set("k", int(ch["new"])), self._report), names="value")
        self._seed.observe(quiet(lambda ch: self._set("seed", int(ch["new"])), self._report), names="value")
        self._new_seed.on_click(quiet(lambda _: m.new_seed(), self._report))
        self._race.on_click(quiet(self._on_race, self._report))
        m.observe(quiet(self._on_index, self._report), names="index")
        m.observe(quiet(self._on_restart, self._report), names="revision")
        m.observe(quiet(self._on_race_results, self._report), names="race_results")

    def _set(self, name, value):
        """Set a model setting; a refusal becomes a message, never an exception."""
        try:
            setattr(self.model, name, value)
        except (traitlets.TraitError, ValueError, TypeError) as exc:
            self._message.value = warning_html(str(exc))

    def _on_race(self, _=None):
        """Run the race, with the progress bar moving (the kernel sends each update at once)."""
        lo, hi = _RUNS_RANGE
        if not lo <= self._n_runs.value <= hi:  # the slider's limits changed from the page
            self._report(f"The number of restarts must be from {lo} to {hi}.")
            return
        self._race.disabled = True
        self._progress.max = max(self._n_runs.value * len(self.model.inits), 1)
        self._progress.value = 0
        self._progress.bar_style = "info"

        def progress(done, total):
            self._progress.max = total
            self._progress.value = done

        try:
            table = self.model.race(self._n_runs.value, progress=progress)
        finally:
            self._race.disabled = False
        if table is None:
            self._message.value = warning_html(self.model.message)
        else:
            self._progress.bar_style = "success"

    # model → widgets and figures
    def _on_restart(self, change=None):
        m = self.model
        self._shown_revision = m.revision
        if 1 <= m.k <= 10:
            self._k.value = m.k
        self._seed.value = m.seed
        self.transport.new_run()
        self._build_panels()
        self._progress.value = 0
        self._on_race_results()
        self._show_step()
        self._message.value = message_html(m)  # last: the page has what it speaks of

    def _on_index(self, change):
        if self._shown_revision == self.model.revision:
            self._show_step()

    def _build_panels(self):
        """(Re)make both step panels when the data or k changed."""
        m = self.model
        if not m.traces:
            return
        key = (m.data_key, m.k)
        if key == self._panel_key:
            return
        names = [plain_text(n) for n in m.data.axis_labels]
        for init, ax in self._axes.items():
            ax.clear()
            self.panels[init] = StepPicture(m.X, m.k, ax=ax, feature_names=names, title=_TITLES[init],
                                            legend="right" if init == m.inits[-1] else None)
        self._panel_key = key
        freeze_layout(self.fig)
        self._blitter.track()

    def _dynamic_artists(self) -> list:
        """What changes from one step to the next (the panels' points, centres and titles),
        pasted by the blitter onto a snapshot of the rest (axes, ticks, legend)."""
        return [a for panel in self.panels.values() for a in panel.artists]

    def _show_step(self):
        m = self.model
        running = bool(m.traces)
        self.transport.show()
        for init in m.inits:
            step = m.current(init)
            if step is None:
                self._readouts[init].value = f"<b>{html.escape(init)}</b>: no run"
                self._captions[init].value = live_html("")
                continue
            self.panels[init].draw(step)
            waiting = " &nbsp;<i>(converged — waiting)</i>" if m.finished(init) and not m.at_end else ""
            colour = INIT_COLORS[init]
            self._readouts[init].value = (f"<b style='color:{edge_color(colour, 0.8)}'>{html.escape(init)}</b>"
                                          f" &nbsp;{step_readout(step, len(m.traces[init]))}{waiting}")
            self._captions[init].value = live_html(f"{_TITLES[init].capitalize()}: "
                                                   f"{self.panels[init].view.sentence}")
        self._seed_line.value = (f"<span style='color:#444'>seed {m.seed} for both runs: the same "
                                 f"random numbers, which each seeding uses its own way, so the two "
                                 f"sides start from different centres. Seed {m.seed} again gives "
                                 f"these same two runs.</span>")
        self._figure_alt.value = hidden_html(self.figure_text)
        self._blitter.update()

    def _on_race_results(self, change=None):
        m = self.model
        self._race_view.draw(m.race_results, m.best_inertia)
        self._race_text.value = self._race_summary()
        self._race_alt.value = hidden_html(
            "Race pictures: histograms of the final inertia and of the iterations of every run, one "
            "colour per seeding. " + (self._race_plain() if m.race_results is not None
                                       else "Empty until the race is run."))
        refresh(self.race_fig)

    def _race_plain(self) -> str:
        """The race summary as plain text (for the pictures' text alternative)."""
        m = self.model
        table = m.race_results
        n = int((table["init"] == m.inits[0]).sum())
        parts = [f"{init}: {round(m.shares[init] * n)} of {n} runs reached the best grouping" for init in m.inits]
        return f"Best inertia found {format_inertia(m.best_inertia)}; " + "; ".join(parts) + "." 

    def _race_summary(self) -> str:
        m = self.model
        table = m.race_results
        if table is None:
            return ("<span style='color:#666'>Each seeding runs N times, one run per seed: "
                    f"{m.seed}, {m.seed + 1}, {m.seed + 2} and so on. The lower the final inertia, "
                    "the better.</span>")
        n = int((table["init"] == m.inits[0]).sum())
        parts = []
        for init in m.inits:
            share = m.shares[init]
            iters = table.loc[table["init"] == init, "n_iter"]
            parts.append(f"<b style='color:{edge_color(INIT_COLORS[init], 0.8)}'>{html.escape(init)}</b>: "
                         f"{round(share * n)} of {n} runs ({share:.0%}), median {int(iters.median())} "
                         f"iterations")
        return (f"Best inertia found: <b>{format_inertia(m.best_inertia)}</b> (seeds {m.seed} to "
                f"{m.seed + n - 1}). Runs that reached the best grouping (within 0.1 % of the best "
                "inertia: the same groups, give or take a customer) — " + "; ".join(parts) + ".")

    # --- read-only views of the screen, for tests and lesson checks --------------------------
    def readout(self, init: str) -> str:
        """HTML of one side's readout."""
        return self._readouts[init].value

    def caption(self, init: str) -> str:
        """HTML of one side's step sentence (an ARIA live region)."""
        return self._captions[init].value

    @property
    def figure_text(self) -> str:
        """The two step pictures in words (their text alternative), for the step on screen."""
        m = self.model
        parts = []
        for init in m.inits:
            step = m.current(init)
            if step is None or init not in self.panels:
                parts.append(f"{_TITLES[init]}: no run.")
                continue
            parts.append(f"{_TITLES[init].capitalize()}, step {step.index}: "
                         f"{self.panels[init].view.sentence}")
        return "Pictures side by side, the same data and k. " + " ".join(parts)

    @property
    def race_text(self) -> str:
        return self._race_text.value

    @property
    def message(self) -> str:
        return self._message.value
