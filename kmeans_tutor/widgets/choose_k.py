"""Choosing k: the elbow, the silhouette and the clusters side by side.

The learner picks a data set, its features and whether to standardise them;
the app fits K-means for k = 1 … k_max once (with a progress bar), marks the
elbow Kneedle finds on the inertia curve, and shows, for the k on the
slider, every point's silhouette and the clusters themselves. The readouts
say which k the elbow suggests, which k has the best mean silhouette, and say
so in a sentence when the two disagree.

Two layers, as in every app of this package:

- :class:`ChooseKModel` — a traitlets model with no widgets: set its inputs
  (``dataset``, ``features``, ``scaled``, ``k_max``, ``seed``, ``k``) and read
  its outputs (``scores``, ``table``, ``knee``, ``knee_k``, ``best_silhouette_k``,
  ``labels``, ``silhouettes``, ...). Every number is computed here, so the
  views only draw. Tests drive it directly.
- :class:`ChooseKApp` — an ``ipywidgets.VBox`` with the controls, the
  readouts and one ipympl figure (elbow | silhouette | clusters) created once.

>>> model = ChooseKModel(k_max=6)
>>> model.table["k"].tolist(), model.knee_k
([1, 2, 3, 4, 5, 6], 3)
>>> model.k = 4
>>> round(model.silhouette, 3)
0.494
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

import ipywidgets as widgets
import numpy as np
import traitlets
from traitlets import Any, Bool, Float, Instance, Int, observe, validate

from ..core.choosing import elbow_knee, elbow_scores
from ..core.estimator import KMeans
from ..core.metrics import silhouette_samples
from ..core.steps import format_inertia
from ..core.validation import MAX_SEED
from ..core.trace import Trace
from ..data.kept import kept_table
from ..data.mall import DEFAULT_FEATURES
from ..data.resolver import UPLOAD
from ..views.analysis import ElbowView, SilhouetteView
from ..views.step_views import StepView
from .base import DataModel, message_html, quiet, warning_html
from .controls import DataChoice, figure_alt, hidden_html, live_region
from .figure import FigureFit, PresenterView, app_figure, plain_text, refresh
from .sending import sent_when_built
from .shared_styles import shared_layout, styled

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ChooseKModel", "ChooseKApp", "K_MAX_RANGE"]

_N_INIT = 10  # restarts per k, in the table and for the selected k alike
#: k_max from 3 (Kneedle needs 3 points) to 15 (beyond, the slider gets crowded).
K_MAX_RANGE = (3, 15)


class ChooseKModel(DataModel):
    """State of the choose-k app: the data choice, the elbow table, the chosen k.

    Inputs (set them; everything else follows)
    ------------------------------------------
    dataset, features, scaled, n_samples
        The data (see :class:`~kmeans_tutor.widgets.base.DataModel`); any
        number of Mall columns.
    k_max : int
        The table covers k = 1 … k_max (3 to 15).
    seed : int
        ``random_state`` of every fit.
    k : int
        The selected number of clusters, 2 … k_max (the silhouette needs two).

    Changing a data input (dataset, features, scaled, k_max, seed) recomputes
    the table; changing ``k`` only fits that k (cached per k). To change
    several data inputs with one recomputation, use :meth:`hold`.

    Outputs
    -------
    scores : dict of ndarray
        ``elbow_scores(X, range(1, k_max + 1), n_init=10, random_state=seed)``:
        the columns k, inertia, silhouette and seconds. For the package's own
        data sets the table is computed once per machine and read back after
        (:mod:`~kmeans_tutor.data.kept`): the same numbers, and ``seconds``
        then times the fits of the run that made it.
    table : DataFrame
        The same numbers as ``elbow(...)`` makes them, built on first use
        (the app itself draws from ``scores``, without pandas).
    knee : Knee or None
        ``elbow_knee(scores)``: the elbow Kneedle finds; ``knee_k`` its k.
    best_silhouette_k : int or None
        The k with the highest mean silhouette in the table.
    labels, centers : ndarray
        The fit for the selected k: ``KMeans(k, n_init=10, random_state=seed)``,
        the same fit as the table's row for k.
    history : Trace
        Every step of that fit (its last step is drawn).
    silhouettes : ndarray of shape (n_samples,)
        ``silhouette_samples(X, labels)``; ``silhouette`` is their mean.
    inertia : float
    advice : str
        One sentence comparing elbow and silhouette ("" when they agree).
    message, message_level
        Why the last data choice could not be used; the other outputs then
        keep their last good values.
    progress, progress_total : int
        k values fitted so far / to fit, while the table is being made.
    busy : bool
        True while the table is being computed.
    revision : int
        Goes up by one each time the outputs are complete and consistent (a
        new table, or a new k): the one signal views redraw on.
    """

    k_max = Int(10)

    scores = Instance(dict, allow_none=True)
    knee = Any(None)
    best_silhouette_k = Any(None)
    labels = Instance(np.ndarray, allow_none=True)
    centers = Instance(np.ndarray, allow_none=True)
    history = Instance(Trace, allow_none=True)
    silhouettes = Instance(np.ndarray, allow_none=True)
    inertia = Float(math.nan)
    silhouette = Float(math.nan)
    advice = traitlets.Unicode("")
    progress = Int(0)
    progress_total = Int(0)
    busy = Bool(False)

    _settings = DataModel._data_settings + ("k_max", "seed")  # k only re-selects

    def __init__(self, dataset="mall", features=None, *, scaled=True, k_max=10, seed=0, k=None):
        self._fits: dict[int, KMeans] = {}
        self._table = (None, None)  # (scores, the DataFrame made of them)
        self._selected_k = None
        self._computing = False
        settings = dict(dataset=dataset, scaled=scaled, k_max=k_max, seed=seed)
        if features is not None:
            settings["features"] = features
        try:
            super().__init__(**settings)
        except traitlets.TraitError as exc:
            raise ValueError(str(exc)) from None
        if self.message_level == "error":  # a programming error in the arguments: loud
            raise ValueError(self.message)
        if k is not None:
            if k > self.k_max:
                raise ValueError(f"k = {k} is larger than k_max = {self.k_max}.")
            try:
                self.k = k
            except traitlets.TraitError as exc:
                raise ValueError(str(exc)) from None
        else:
            self.k = self.knee_k or self.best_silhouette_k or 2

    # --- validation ------------------------------------------------------------------
    @validate("k_max")
    def _check_k_max(self, proposal):
        lo, hi = K_MAX_RANGE
        if not lo <= proposal["value"] <= hi:
            raise traitlets.TraitError(f"k_max must be between {lo} and {hi}, got {proposal['value']}.")
        return proposal["value"]

    @validate("k")
    def _check_k(self, proposal):
        if proposal["value"] < 2:
            raise traitlets.TraitError(f"k must be at least 2 (a silhouette compares clusters), "
                                       f"got {proposal['value']}.")
        return proposal["value"]

    # --- recomputation -----------------------------------------------------------------
    @property
    def knee_k(self) -> int | None:
        """The k of the elbow (None when the curve has none)."""
        return None if self.knee is None else int(self.knee.x)

    def _clear(self):
        """A bad choice keeps the last good outputs on screen (the message says why)."""

    def _compute(self):
        """Make the elbow table for the current data choice, then fit the selected k."""
        X = self.data.X
        self.busy = self._computing = True
        try:
            self.progress, self.progress_total = 0, self.k_max
            scores = self._elbow_scores(X)
            self._fits = {}
            if self.k > self.k_max:  # a smaller range: the slider's k falls to its end
                self.k = self.k_max
            sil = scores["silhouette"]
            self.knee = elbow_knee(scores)
            self.best_silhouette_k = (None if np.isnan(sil).all()
                                      else int(scores["k"][np.nanargmax(sil)]))
            self.scores = scores
            self._select()
        finally:
            self.busy = self._computing = False
        return "", ""

    def _elbow_scores(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """The elbow table for X, computed once per machine for the package's own data
        sets (:mod:`~kmeans_tutor.data.kept`); a student's file is never kept."""
        k_max, seed = self.k_max, self.seed

        def compute():
            return elbow_scores(X, range(1, k_max + 1), n_init=_N_INIT, random_state=seed,
                                progress=self._on_progress)

        if self.data.source in (UPLOAD, "csv"):
            return compute()
        scores, was_kept = kept_table("elbow", (X, k_max, _N_INIT, seed), compute,
                                      lambda table: _usable_scores(table, k_max))
        if was_kept:
            self._on_progress(k_max, k_max, k_max)
        return scores

    def _on_progress(self, done, total, k):
        self.progress_total = total
        self.progress = done

    def fit_for(self, k: int) -> KMeans:
        """The fitted KMeans for k on the current data (cached)."""
        if k not in self._fits:
            self._fits[k] = KMeans(n_clusters=k, n_init=_N_INIT, random_state=self.seed).fit(self.X)
        return self._fits[k]

    @observe("k")
    def _k_changed(self, change):
        if self.scores is not None and change["new"] != self._selected_k and not self._computing:
            self._select()
            self.revision += 1

    def _select(self):
        """Fit the selected k and score it."""
        km = self.fit_for(self.k)
        labels = np.asarray(km.labels_)
        self.centers = km.cluster_centers_
        self.history = km.history_
        self.inertia = float(km.inertia_)
        self.silhouettes = silhouette_samples(self.X, labels)
        self.silhouette = float(np.mean(self.silhouettes))
        self.advice = self._advice()
        self.labels = labels
        self._selected_k = self.k

    def _advice(self) -> str:
        """A sentence when the elbow and the silhouette point at different k."""
        knee, best = self.knee_k, self.best_silhouette_k
        if knee is None and best is not None:
            return (f"The inertia curve has no clear elbow, so the elbow method cannot choose; "
                    f"the silhouette prefers k = {best}.")
        if knee is None or best is None or knee == best:
            return ""
        edge = (f" (the largest k tried: the silhouette may keep rising beyond it)"
                if best == self.k_max else "")
        return (f"The elbow suggests k = {knee} but the mean silhouette is highest at "
                f"k = {best}{edge}: the two methods measure different things (how much inertia "
                f"one more cluster saves vs. how well points sit inside their clusters). Look at "
                f"both pictures, and at what the clusters mean, before choosing.")

    @property
    def table(self) -> pd.DataFrame | None:
        """The elbow table as a DataFrame (the ``scores``, made into one on first use)."""
        scores, table = self._table
        if scores is not self.scores:
            import pandas as pd  # here, not at the top: pandas costs a kernel 0.2 s and 32 MB

            table = None if self.scores is None else pd.DataFrame(self.scores)
            self._table = (self.scores, table)
        return table

    @property
    def row(self) -> pd.Series:
        """The table's row for the selected k."""
        return self.table.loc[self.table["k"] == self.k].iloc[0]


def _usable_scores(table: dict, k_max: int) -> bool:
    """Whether a kept elbow table is one :func:`elbow_scores` could have made for k = 1 … k_max."""
    kinds = {"k": np.int64, "inertia": np.float64, "silhouette": np.float64, "seconds": np.float64}
    if set(table) != set(kinds):
        return False
    if any(table[name].dtype != kind or table[name].shape != (k_max,) for name, kind in kinds.items()):
        return False
    inertia, sil = table["inertia"], table["silhouette"]
    known = sil[~np.isnan(sil)]
    return bool(np.array_equal(table["k"], np.arange(1, k_max + 1))
                and np.isfinite(inertia).all() and (inertia >= 0).all()
                and ((known >= -1) & (known <= 1)).all() and np.isnan(sil[0]))


# ------------------------------------------------------------------------------- view


class ChooseKApp(widgets.VBox):
    """Elbow, silhouette and clusters for the k on a slider.

    Parameters
    ----------
    dataset : str, default="mall"
        "mall" or a synthetic data set.
    features : tuple of str, default=("Annual Income (k$)", "Spending Score (1-100)")
        Mall columns to cluster on (synthetic sets are always x and y).
    scaled : bool, default=True
        Standardise the Mall columns first.
    k_max : int, default=10
        Fit k = 1 … k_max (3 to 15).
    seed : int, default=0
    k : int, optional
        The k on the slider at start; default: the elbow's suggestion.
    figsize : (float, float), default=(12, 4.2)
        Inches; the figure is drawn at 80 dpi.

    Attributes
    ----------
    model : ChooseKModel
    fig : matplotlib Figure
        One ipympl figure: elbow | silhouette | clusters; created once.
    elbow_view, silhouette_view, step_view
        The views drawn on it (rebuilt when the data choice changes, updated
        with ``draw`` when k changes).

    Examples
    --------
    In a notebook or a Voilà lesson::

        from kmeans_tutor.widgets.choose_k import ChooseKApp
        ChooseKApp()
    """

    @sent_when_built
    def __init__(self, dataset="mall", features=DEFAULT_FEATURES, *, scaled=True, k_max=10,
                 seed=0, k=None, figsize=(12.0, 4.2), **kwargs):
        super().__init__(**kwargs)
        self.model = m = ChooseKModel(dataset, features, scaled=scaled, k_max=k_max, seed=seed, k=k)

        # Controls.
        self.data_row = DataChoice(m, multiple=True)
        self._k_max = styled(widgets.BoundedIntText, value=m.k_max, min=K_MAX_RANGE[0], max=K_MAX_RANGE[1],
                                                     description="k up to", tooltip="Fit every k from 1 to this",
                                                     layout=shared_layout(width="150px"))
        self._seed = styled(widgets.BoundedIntText, value=m.seed, min=0, max=MAX_SEED, description="seed",
                                                    tooltip="The random seed of every fit",
                                                    layout=shared_layout(width="170px"))
        self._progress = styled(widgets.IntProgress, value=m.progress_total, min=0, max=max(m.progress_total, 1),
                                                     description="fitting", bar_style="success",
                                                     tooltip="Fits done for k = 1 … k up to",
                                                     layout=shared_layout(width="300px"))
        self._k = styled(widgets.IntSlider, value=m.k, min=2, max=m.k_max, description="k",
                                            continuous_update=False, tooltip="The number of clusters to look at",
                                            layout=shared_layout(width="420px"))
        self._readout = live_region()
        self._message = styled(widgets.HTML)
        self._figure_alt = figure_alt()

        # The figure, once: three panels re-made only when the data change.
        self.fig = app_figure(figsize, layout="constrained")
        self.elbow_view = self.silhouette_view = self.step_view = None
        self._views_scores = None
        self._build_views()
        self._draw_selected()
        self._show_readout()

        settings = widgets.HBox([self._k_max, self._seed, self._progress],
                                layout=shared_layout(flex_flow="row wrap", align_items="center"))
        self.fit = FigureFit(self.fig)
        self.presenter = PresenterView(self, self.fit, [self.data_row, settings])
        self.children = [
            self.presenter.bar,
            self.data_row,
            settings,
            self._k,
            self._readout,
            self._message,
            self._figure_alt,
            self.fig.canvas,
        ]
        self._wire()

    def _report(self, text: str):
        """Show a problem under the controls (an unexpected one, caught by quiet())."""
        self._message.value = warning_html(text)

    # --- wiring --------------------------------------------------------------------------
    def _wire(self):
        """Every handler, in one place: widgets → model, model → widgets and figure."""
        self._k_max.observe(quiet(lambda ch: self._set_model("k_max", int(ch["new"])), self._report), names="value")
        self._seed.observe(quiet(lambda ch: self._set_model("seed", int(ch["new"])), self._report), names="value")
        self._k.observe(quiet(lambda ch: self._set_model("k", int(ch["new"])), self._report), names="value")
        self.model.observe(quiet(self._on_progress, self._report), names=["progress", "progress_total"])
        self.model.observe(quiet(self._on_revision, self._report), names="revision")
        self.model.observe(quiet(self._on_k_model, self._report), names="k")

    # widgets → model
    def _set_model(self, name, value):
        try:
            setattr(self.model, name, value)
        except traitlets.TraitError as exc:
            self._message.value = warning_html(str(exc))

    # model → widgets
    def _on_progress(self, change):
        self._progress.max = max(self.model.progress_total, 1)
        self._progress.value = self.model.progress

    def _on_revision(self, change):
        m = self.model
        if m.scores is not self._views_scores:  # new data: new panels
            self._k.max = m.k_max
            self._build_views()
        self._draw_selected()
        self._show_readout()
        self._message.value = message_html(m)  # last: the page has what it speaks of

    def _on_k_model(self, change):
        self._k.value = change["new"]

    # --- helpers ---------------------------------------------------------------------------
    def _build_views(self):
        """(Re)make the three panels on the one figure for the current data."""
        m = self.model
        fig = self.fig
        fig.clear()
        ax_elbow, ax_sil, ax_clusters = fig.subplots(1, 3, width_ratios=[1.15, 1.0, 1.0])
        # finalize() lists the selected-k star in the legend only once it is drawn.
        self.elbow_view = ElbowView(m.scores, ax_elbow, knee=m.knee).draw(m.k).finalize()
        self.silhouette_view = SilhouetteView(ax_sil).finalize()
        d = m.X.shape[1]
        self.step_view = StepView(m.X, m.k_max, ax=ax_clusters,
                                  feature_names=[plain_text(n) for n in m.data.axis_labels],
                                  projection="pca" if d > 2 else None, show_caption=False)
        self.step_view.finalize(legend=None)
        self._views_scores = m.scores

    def _draw_selected(self):
        """Highlight the selected k and draw its silhouettes and clusters."""
        m = self.model
        self.elbow_view.draw(m.k)
        self.silhouette_view.draw(m.labels, m.silhouettes)
        self.silhouette_view.ax.set_title(f"Silhouettes at k = {m.k}", pad=16)
        self.step_view.draw(m.history[-1])
        units = f" ({m.units})" if m.units else ""
        self.step_view.ax.set_title(f"The {m.k} clusters{units}", fontsize=10)
        refresh(self.fig)

    def _show_readout(self):
        m = self.model
        knee = "no clear elbow" if m.knee_k is None else f"<b>k = {m.knee_k}</b>"
        best = "–" if m.best_silhouette_k is None else f"<b>k = {m.best_silhouette_k}</b>"
        rows = [
            f"Elbow (Kneedle) suggests: {knee}",
            f"Best mean silhouette: {best}",
            f"At k = {m.k}: mean silhouette <b>{m.silhouette:.3f}</b>, "
            f"inertia {format_inertia(m.inertia)}",
        ]
        text = " &nbsp;·&nbsp; ".join(rows)
        if m.advice:
            text += f"<br><i>{html.escape(m.advice)}</i>"
        self._readout.value = (f"<div role='status' aria-live='polite' aria-atomic='true' "
                               f"style='line-height:1.6'>{text}</div>")
        self._figure_alt.value = hidden_html(self.figure_text)

    @property
    def figure_text(self) -> str:
        """The three pictures in words (their text alternative), for the k on screen."""
        m = self.model
        knee = "no clear elbow" if m.knee_k is None else f"the elbow at k = {m.knee_k}"
        units = f", in {m.units}" if m.units else ""
        return (f"Pictures. Left: the inertia of the fit for each k from 1 to {m.k_max}, with "
                f"{knee}; k = {m.k} is starred at inertia {format_inertia(m.inertia)}. Middle: the "
                f"silhouette of every point at k = {m.k}, cluster by cluster, mean {m.silhouette:.3f}. "
                f"Right: the data coloured by its {m.k} clusters{units}.")

    # --- read-only handles for tests and lesson text -------------------------------------
    @property
    def readout(self) -> str:
        """The HTML of the readouts (for tests and checks)."""
        return self._readout.value

    @property
    def message(self) -> str:
        return self._message.value
