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
  its outputs (``table``, ``knee_k``, ``best_silhouette_k``, ``labels``,
  ``silhouette``, ...). Tests drive it directly.
- :class:`ChooseKApp` — an ``ipywidgets.VBox`` with the controls, the
  readouts and one ipympl figure (elbow | silhouette | clusters) created once.

>>> from kmeans_tutor.widgets.choose_k import ChooseKModel
>>> model = ChooseKModel(k_max=6)
>>> model.table["k"].tolist(), model.knee_k
([1, 2, 3, 4, 5, 6], 3)
>>> model.k = 4
>>> round(model.silhouette, 3)
0.494
"""

from __future__ import annotations

import contextlib
import html
import math

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets
from traitlets import Any, Bool, Float, HasTraits, Instance, Int, Tuple, Unicode, observe, validate

from ..choosing import elbow, suggest_k
from ..estimator import KMeans
from ..metrics import silhouette_score
from ._common import batched, warning_html

__all__ = ["ChooseKModel", "ChooseKApp", "MALL_FEATURES", "DATASET_CHOICES"]

#: The numeric Mall columns a learner may cluster on.
MALL_FEATURES = ("Age", "Annual Income (k$)", "Spending Score (1-100)")
_DEFAULT_FEATURES = ("Annual Income (k$)", "Spending Score (1-100)")
_N_INIT = 10  # restarts per k, in the table and for the selected k alike
_K_MAX_RANGE = (3, 15)  # Kneedle needs 3 points; beyond 15 the slider gets crowded
_MAX_SEED = 2**32 - 1


def _dataset_names() -> tuple[str, ...]:
    from ..datasets import DATASETS

    return ("mall", *DATASETS)


#: Names accepted by ``dataset``: "mall" and the synthetic sets of
#: :func:`kmeans_tutor.datasets.list_datasets`.
DATASET_CHOICES = _dataset_names()


def _columns_of(dataset: str) -> tuple[str, ...]:
    """The feature names a learner can pick for a data set."""
    if dataset == "mall":
        return MALL_FEATURES
    return ("x", "y")


def _default_features(dataset: str) -> tuple[str, ...]:
    return _DEFAULT_FEATURES if dataset == "mall" else ("x", "y")


def _load(dataset: str, features, scaled: bool, seed: int) -> np.ndarray:
    """The data to cluster, float64 (n, d): the chosen columns, z-scored if asked.

    Synthetic data sets are drawn with their own fixed seed (0), so changing
    the K-means seed changes the fits, never the points.
    """
    if dataset == "mall":
        from ..preprocessing import mall_features

        X = mall_features(columns=list(features)).to_numpy(dtype=np.float64)
    else:
        from ..datasets import load_dataset

        ds = load_dataset(dataset, random_state=0)
        cols = [ds.feature_names.index(f) for f in features]
        X = np.array(ds.X[:, cols], dtype=np.float64)
    if scaled:
        from ..preprocessing import standardize

        X, _ = standardize(X)
    return np.ascontiguousarray(X, dtype=np.float64)


class ChooseKModel(HasTraits):
    """State of the choose-k app: the data choice, the elbow table, the chosen k.

    Inputs (set them; everything else follows)
    ------------------------------------------
    dataset : str
        "mall" or a synthetic data set name (:data:`DATASET_CHOICES`).
    features : tuple of str
        Columns to cluster on: Mall columns (:data:`MALL_FEATURES`) or
        ``("x", "y")`` for synthetic data. At least one.
    scaled : bool
        Standardise every feature (z-scores) before clustering.
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
    X : ndarray of shape (n_samples, n_features)
        The data clustered (scaled if asked).
    feature_names : tuple of str
    table : DataFrame
        ``choosing.elbow(X, range(1, k_max + 1), n_init=10, random_state=seed)``.
    knee_k : int or None
        ``choosing.suggest_k(table)``: the elbow Kneedle finds.
    best_silhouette_k : int or None
        The k with the highest mean silhouette in the table.
    labels, centers : ndarray
        The fit for the selected k: ``KMeans(k, n_init=10, random_state=seed)``,
        the same fit as the table's row for k.
    history : Trace
        Every step of that fit (its last step is drawn).
    inertia, silhouette : float
        Of the selected k; ``silhouette = metrics.silhouette_score(X, labels)``.
    advice : str
        One sentence comparing elbow and silhouette ("" when they agree).
    error : str
        Why the last data choice could not be used ("" when all is well);
        the other outputs then keep their last good values.
    progress, progress_total : int
        k values fitted so far / to fit, while the table is being made.
    busy : bool
        True while the table is being computed.
    revision : int
        Goes up by one each time the outputs are complete and consistent (a
        new table, or a new k): the one signal views redraw on.
    """

    dataset = Unicode("mall")
    features = Tuple(default_value=_DEFAULT_FEATURES)
    scaled = Bool(True)
    k_max = Int(10)
    seed = Int(0)
    k = Int(5)

    X = Instance(np.ndarray, allow_none=True)
    feature_names = Tuple()
    table = Instance(pd.DataFrame, allow_none=True)
    knee_k = Any(None)
    best_silhouette_k = Any(None)
    labels = Instance(np.ndarray, allow_none=True)
    centers = Instance(np.ndarray, allow_none=True)
    history = Any(None)
    inertia = Float(math.nan)
    silhouette = Float(math.nan)
    advice = Unicode("")
    error = Unicode("")
    progress = Int(0)
    progress_total = Int(0)
    busy = Bool(False)
    revision = Int(0)

    def __init__(self, dataset="mall", features=None, *, scaled=True, k_max=10, seed=0, k=None):
        super().__init__()
        self._holding = 0
        self._fits: dict[int, KMeans] = {}
        try:
            with self.hold():
                self.dataset = dataset
                if features is None:
                    features = _default_features(self.dataset)
                self.features = (features,) if isinstance(features, str) else tuple(features)
                self.scaled = scaled
                self.k_max = k_max
                self.seed = seed
                if k is not None:
                    self.k = k
        except traitlets.TraitError as exc:
            raise ValueError(str(exc)) from None
        # A programming error in the arguments should be loud, not a message.
        if self.error:
            raise ValueError(self.error)
        if k is not None and k > self.k_max:
            raise ValueError(f"k = {k} is larger than k_max = {self.k_max}.")
        if k is None:
            self.k = self.knee_k or self.best_silhouette_k or 2

    # --- validation ------------------------------------------------------------------
    @validate("dataset")
    def _check_dataset(self, proposal):
        value = proposal["value"]
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        if key not in DATASET_CHOICES:
            raise traitlets.TraitError(f"Unknown dataset {value!r}; choose from "
                                       f"{', '.join(DATASET_CHOICES)}.")
        return key

    @validate("features")
    def _check_features(self, proposal):
        value = tuple(proposal["value"])
        if not value:
            raise traitlets.TraitError("Pick at least one feature to cluster on.")
        if not all(isinstance(f, str) for f in value):
            raise traitlets.TraitError(f"features must be column names (text), got {value!r}.")
        if len(set(value)) != len(value):
            raise traitlets.TraitError(f"features lists a column more than once: {value!r}.")
        return value

    @validate("k_max")
    def _check_k_max(self, proposal):
        lo, hi = _K_MAX_RANGE
        if not lo <= proposal["value"] <= hi:
            raise traitlets.TraitError(f"k_max must be between {lo} and {hi}, got {proposal['value']}.")
        return proposal["value"]

    @validate("seed")
    def _check_seed(self, proposal):
        if not 0 <= proposal["value"] <= _MAX_SEED:
            raise traitlets.TraitError(f"seed must be between 0 and {_MAX_SEED}, got {proposal['value']}.")
        return proposal["value"]

    @validate("k")
    def _check_k(self, proposal):
        if proposal["value"] < 2:
            raise traitlets.TraitError(f"k must be at least 2 (a silhouette compares clusters), "
                                       f"got {proposal['value']}.")
        return proposal["value"]

    # --- recomputation -----------------------------------------------------------------
    def hold(self):
        """Change several data inputs, then recompute once::

            with model.hold():
                model.dataset = "blobs"
                model.features = ("x", "y")

        Nothing is recomputed if the block raises.
        """
        return batched(self, self.recompute)

    @observe("dataset", "features", "scaled", "k_max", "seed")
    def _data_changed(self, change):
        if not self._holding:
            self.recompute()

    @observe("k")
    def _k_changed(self, change):
        if not self._holding and self.table is not None:
            self._select()

    def _check_choice(self):
        """The data choice as a readable problem, or ""."""
        known = _columns_of(self.dataset)
        unknown = [f for f in self.features if f not in known]
        if unknown:
            return (f"{', '.join(map(repr, unknown))} is not a feature of the {self.dataset!r} data; "
                    f"choose from {', '.join(map(repr, known))}.")
        return ""

    def recompute(self):
        """Make the elbow table for the current data choice, then fit the selected k."""
        problem = self._check_choice()
        if problem:
            self.error = problem
            return
        try:
            X = _load(self.dataset, self.features, self.scaled, self.seed)
            self.busy = True
            self.progress, self.progress_total = 0, self.k_max
            table = elbow(X, range(1, self.k_max + 1), n_init=_N_INIT, random_state=self.seed,
                          progress=self._on_progress)
        except (ValueError, TypeError) as exc:  # e.g. too few distinct points for k_max
            self.error = str(exc)
            return
        finally:
            self.busy = False
        self._fits = {}
        if self.k > self.k_max:  # a smaller range: the slider's k falls to its end
            self._holding += 1  # no fit for the old table
            try:
                self.k = self.k_max
            finally:
                self._holding -= 1
        self.X = X
        self.feature_names = tuple(self.features)
        sil = table["silhouette"]
        self.knee_k = suggest_k(table)
        self.best_silhouette_k = int(table.loc[sil.idxmax(), "k"]) if sil.notna().any() else None
        self.error = ""
        self.table = table
        self._select()

    def _on_progress(self, done, total, k):
        self.progress_total = total
        self.progress = done

    def fit_for(self, k: int) -> KMeans:
        """The fitted KMeans for k on the current data (cached)."""
        if k not in self._fits:
            self._fits[k] = KMeans(n_clusters=k, n_init=_N_INIT, random_state=self.seed).fit(self.X)
        return self._fits[k]

    def _select(self):
        """Fit the selected k and score it."""
        km = self.fit_for(self.k)
        labels = np.asarray(km.labels_)
        self.centers = km.cluster_centers_
        self.history = km.history_
        self.inertia = float(km.inertia_)
        self.silhouette = silhouette_score(self.X, labels)
        self.advice = self._advice()
        self.labels = labels
        self.revision += 1  # last: every output is ready for the views

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
    def row(self) -> pd.Series:
        """The table's row for the selected k."""
        return self.table.loc[self.table["k"] == self.k].iloc[0]


# ------------------------------------------------------------------------------- view


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "–"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


class ChooseKApp(widgets.VBox):
    """Elbow, silhouette and clusters for the k on a slider.

    Parameters
    ----------
    dataset : str, default="mall"
        "mall" or a synthetic data set (:data:`DATASET_CHOICES`).
    features : tuple of str, default=("Annual Income (k$)", "Spending Score (1-100)")
        Columns to cluster on (for synthetic data: ``("x", "y")``, the default
        when another data set is chosen).
    scaled : bool, default=True
        Standardise the features first.
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

    def __init__(self, dataset="mall", features=_DEFAULT_FEATURES, *, scaled=True, k_max=10,
                 seed=0, k=None, figsize=(12.0, 4.2), **kwargs):
        super().__init__(**kwargs)
        from ._figure import app_figure

        ds = str(dataset).strip().lower().replace("-", "_").replace(" ", "_")
        if ds != "mall" and tuple(features) == _DEFAULT_FEATURES:
            features = None  # the Mall default means nothing for synthetic data
        self.model = ChooseKModel(dataset, features, scaled=scaled, k_max=k_max, seed=seed, k=k)
        m = self.model

        # Controls.
        self._dataset = widgets.Dropdown(options=list(DATASET_CHOICES), value=m.dataset,
                                         description="Data", layout=widgets.Layout(width="230px"))
        self._feature_boxes = {
            name: [widgets.Checkbox(value=f in m.features, description=f, indent=False,
                                    layout=widgets.Layout(width="auto"))
                   for f in _columns_of(name)]
            for name in ("mall", "xy")
        }
        self._features = widgets.HBox(self._boxes_for(m.dataset))
        self._scaled = widgets.Checkbox(value=m.scaled, description="standardise features",
                                        indent=False, layout=widgets.Layout(width="auto"))
        self._k_max = widgets.BoundedIntText(value=m.k_max, min=_K_MAX_RANGE[0],
                                             max=_K_MAX_RANGE[1], description="k up to",
                                             layout=widgets.Layout(width="150px"))
        self._seed = widgets.BoundedIntText(value=m.seed, min=0, max=_MAX_SEED, description="seed",
                                            layout=widgets.Layout(width="170px"))
        self._progress = widgets.IntProgress(value=m.progress_total, min=0, max=max(m.progress_total, 1),
                                             description="fitting", bar_style="success",
                                             layout=widgets.Layout(width="300px"))
        self._k = widgets.IntSlider(value=m.k, min=2, max=m.k_max, description="k",
                                    continuous_update=False, layout=widgets.Layout(width="420px"))
        self._readout = widgets.HTML()
        self._message = widgets.HTML()

        # The figure, once: three panels re-made only when the data change.
        self.fig = app_figure(figsize, layout="constrained")
        self.elbow_view = self.silhouette_view = self.step_view = None
        self._views_table = None
        self._build_views()
        self._draw_selected()
        self._show_readout()

        self.children = [
            widgets.HBox([self._dataset, self._features, self._scaled]),
            widgets.HBox([self._k_max, self._seed, self._progress]),
            self._k,
            self._readout,
            self._message,
            self.fig.canvas,
        ]
        self._wire()

    # --- wiring --------------------------------------------------------------------------
    def _wire(self):
        """Every handler, in one place: widgets → model, model → widgets and figure."""
        self._dataset.observe(self._on_dataset, names="value")
        for boxes in self._feature_boxes.values():
            for box in boxes:
                box.observe(self._on_feature, names="value")
        self._scaled.observe(lambda ch: self._set_model("scaled", ch["new"]), names="value")
        self._k_max.observe(self._on_k_max, names="value")
        self._seed.observe(lambda ch: self._set_model("seed", int(ch["new"])), names="value")
        self._k.observe(lambda ch: self._set_model("k", int(ch["new"])), names="value")

        self.model.observe(self._on_progress, names=["progress", "progress_total"])
        self.model.observe(self._on_revision, names="revision")
        self.model.observe(self._on_error, names="error")
        self.model.observe(self._on_k_model, names="k")

    # widgets → model
    def _set_model(self, name, value):
        try:
            setattr(self.model, name, value)
        except traitlets.TraitError as exc:
            self._message.value = warning_html(str(exc))

    def _on_dataset(self, change):
        name = change["new"]
        self._features.children = self._boxes_for(name)
        wanted = _default_features(name)
        with self._quiet_boxes():
            for box in self._features.children:
                box.value = box.description in wanted
        with self.model.hold():
            self.model.dataset = name
            self.model.features = wanted

    def _on_feature(self, change):
        chosen = tuple(b.description for b in self._features.children if b.value)
        if not chosen:  # at least one: put the tick back
            with self._quiet_boxes():
                change["owner"].value = True
            self._message.value = warning_html("Keep at least one feature ticked.")
            return
        self._set_model("features", chosen)

    def _on_k_max(self, change):
        k_max = int(change["new"])
        self._set_model("k_max", k_max)

    # model → widgets
    def _on_progress(self, change):
        self._progress.max = max(self.model.progress_total, 1)
        self._progress.value = self.model.progress

    def _on_revision(self, change):
        self._message.value = ""  # a good result replaces any old warning
        if self.model.table is not self._views_table:  # new data: new panels
            self._k.max = self.model.k_max
            self._build_views()
        self._draw_selected()
        self._show_readout()

    def _on_k_model(self, change):
        self._k.value = change["new"]

    def _on_error(self, change):
        self._message.value = warning_html(change["new"]) if change["new"] else ""

    # --- helpers ---------------------------------------------------------------------------
    def _boxes_for(self, dataset):
        return self._feature_boxes["mall" if dataset == "mall" else "xy"]

    @contextlib.contextmanager
    def _quiet_boxes(self):
        """Tick boxes from code without the tick reaching the model."""
        for boxes in self._feature_boxes.values():
            for box in boxes:
                box.unobserve(self._on_feature, names="value")
        try:
            yield
        finally:
            for boxes in self._feature_boxes.values():
                for box in boxes:
                    box.observe(self._on_feature, names="value")

    def _build_views(self):
        """(Re)make the three panels on the one figure for the current data."""
        from ..analysis_views import ElbowView, SilhouetteView
        from ..views import StepView

        m = self.model
        fig = self.fig
        fig.clear()
        ax_elbow, ax_sil, ax_clusters = fig.subplots(1, 3, width_ratios=[1.15, 1.0, 1.0])
        # finalize() lists the selected-k star in the legend only once it is drawn.
        self.elbow_view = ElbowView(m.table, ax_elbow).draw(m.k).finalize()
        self.silhouette_view = SilhouetteView(m.X, ax_sil).finalize()
        d = m.X.shape[1]
        self.step_view = StepView(m.X, m.k_max, ax=ax_clusters, feature_names=list(m.feature_names),
                                  projection="pca" if d > 2 else None, show_caption=False)
        self.step_view.finalize(legend=None)
        self._views_table = m.table

    def _draw_selected(self):
        """Highlight the selected k and draw its silhouettes and clusters."""
        from ._figure import refresh

        m = self.model
        self.elbow_view.draw(m.k)
        self.silhouette_view.draw(m.labels)
        self.silhouette_view.ax.set_title(f"Silhouettes at k = {m.k}", pad=16)
        self.step_view.draw(m.history[-1])
        scaled = "standardised" if m.scaled else "raw units"
        self.step_view.ax.set_title(f"The {m.k} clusters ({scaled})", fontsize=10)
        refresh(self.fig)

    def _show_readout(self):
        m = self.model
        knee = "no clear elbow" if m.knee_k is None else f"<b>k = {m.knee_k}</b>"
        best = "–" if m.best_silhouette_k is None else f"<b>k = {m.best_silhouette_k}</b>"
        rows = [
            f"Elbow (Kneedle) suggests: {knee}",
            f"Best mean silhouette: {best}",
            f"At k = {m.k}: mean silhouette <b>{m.silhouette:.3f}</b>, "
            f"inertia {_fmt(m.inertia)}",
        ]
        text = " &nbsp;·&nbsp; ".join(rows)
        if m.advice:
            text += f"<br><i>{html.escape(m.advice)}</i>"
        self._readout.value = f"<div style='line-height:1.6'>{text}</div>"

    # --- read-only handles for tests and lesson text -------------------------------------
    @property
    def readout(self) -> str:
        """The HTML of the readouts (for tests and checks)."""
        return self._readout.value

    @property
    def message(self) -> str:
        return self._message.value

