"""From clusters to customer segments: profiles, personas and a download.

The learner clusters the Mall customers with K-means (k, features, scaling,
seed) and reads the result the way a marketing team would: a profile table
(size, share, mean age/income/spending, gender mix), bar charts of the same,
a card per segment with its name, persona and recommendations, and a link
that downloads every customer with their cluster as ``segments.csv``.

Numbering: what the learner reads counts clusters from 1 — the profile
table's rows and the cards say "Cluster 1" … "Cluster k", like the step
captions and the StepView legend. The data stay 0-based like scikit-learn:
``labels``, the index of ``profiles`` and ``segments``, and the ``cluster``
column of ``labelled`` and of the download (Cluster 1 is ``cluster == 0``;
a note under the link says so).

Two layers:

- :class:`SegmentsModel` — traitlets, no widgets: inputs ``k``,
  ``features``, ``scaled``, ``seed``; outputs ``labels``, ``profiles``
  (:func:`~kmeans_tutor.profiles.cluster_profiles`), ``segments``
  (:func:`~kmeans_tutor.profiles.describe_segments`) and ``labelled``.
- :class:`SegmentsApp` — an ``ipywidgets.VBox``: controls, the profile
  table, one ipympl figure created once, the persona cards and the link.

>>> from kmeans_tutor.widgets.segments import SegmentsModel
>>> model = SegmentsModel(k=5)
>>> model.segments["persona"].tolist()[:2]
['Affluent target customers', 'Budget-conscious']
"""

from __future__ import annotations

import base64
import html
import math
import re

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets
from traitlets import Bool, Float, HasTraits, Instance, Int, Tuple, Unicode, observe, validate

from ..estimator import KMeans
from ..palette import cluster_style, edge_color
from ..profiles import cluster_profiles, describe_segments
from ._common import batched, warning_html
from .upload import UploadRow

__all__ = ["SegmentsModel", "SegmentsApp", "download_link", "MALL_FEATURES", "CSV_NAME"]

#: The numeric Mall columns a learner may cluster on.
MALL_FEATURES = ("Age", "Annual Income (k$)", "Spending Score (1-100)")
_DEFAULT_FEATURES = ("Annual Income (k$)", "Spending Score (1-100)")
_LABELS = {"Age": "Age", "Annual Income (k$)": "Annual income", "Spending Score (1-100)": "Spending score"}
_N_INIT = 10
# Column names of row identifiers: "id", "ID", "customer_id", "Customer ID", "CustomerID".
_ID_LIKE = re.compile(r"(?i:(^|[\s_-])id)$|[a-z]ID$")
_K_RANGE = (2, 10)
_MAX_SEED = 2**32 - 1
#: File name the download link suggests.
CSV_NAME = "segments.csv"


class SegmentsModel(HasTraits):
    """State of the segments app: one K-means fit of the Mall data and its reading.

    Inputs
    ------
    k : int
        Number of clusters, 1 … n_customers (the app's slider: 2 … 10).
    features : tuple of str
        Columns to cluster on, at least one, from ``feature_choices``.
    scaled : bool
        Standardise the features (z-scores) before clustering.
    seed : int
        ``random_state`` of the fit.

    Any input change refits; :meth:`hold` batches several changes into one fit.

    Data
    ----
    data : DataFrame
        The customers (``load_mall_customers()``), never changed; or a
        learner's own CSV after :meth:`use_data`.
    feature_choices : tuple of str
        The columns ``features`` may name: :data:`MALL_FEATURES`, or the
        uploaded file's numeric columns.
    data_name : str
        "Mall Customers" or the uploaded file's name (escape before showing).

    Outputs
    -------
    X : ndarray of shape (n_customers, n_features)
        What was clustered (scaled if asked).
    labels, centers : ndarray
        ``KMeans(k, n_init=10, random_state=seed).fit(X)``; centres in the
        units of X.
    inertia : float
    profiles : DataFrame
        ``cluster_profiles(data, labels)``: size, share, mean of every numeric
        column (all of them, not only the clustered ones) and the gender mix.
    segments : DataFrame
        ``describe_segments(profiles)``: name, persona, description,
        recommendations, summary, size, share.
    labelled : DataFrame
        ``data`` plus a ``cluster`` (0-based, as ``labels``) and a ``segment``
        (name) column, indexed by CustomerID: what the download holds.
    error : str
        Why the last inputs could not be used ("" when all is well).
    revision : int
        Goes up by one each time the outputs are complete: the views' signal.
    """

    k = Int(5)
    features = Tuple(default_value=_DEFAULT_FEATURES)
    scaled = Bool(True)
    seed = Int(0)

    data = Instance(pd.DataFrame)
    feature_choices = Tuple(default_value=MALL_FEATURES)
    data_name = Unicode("Mall Customers")
    X = Instance(np.ndarray, allow_none=True)
    labels = Instance(np.ndarray, allow_none=True)
    centers = Instance(np.ndarray, allow_none=True)
    inertia = Float(math.nan)
    profiles = Instance(pd.DataFrame, allow_none=True)
    segments = Instance(pd.DataFrame, allow_none=True)
    labelled = Instance(pd.DataFrame, allow_none=True)
    error = Unicode("")
    revision = Int(0)

    def __init__(self, k=5, features=_DEFAULT_FEATURES, *, scaled=True, seed=0, data=None):
        super().__init__()
        from ..data import load_mall_customers

        self._holding = 0
        self._mall = data is None  # the Mall frame goes through mall_features (Gender etc.)
        self.data = load_mall_customers() if data is None else data
        try:
            with self.hold():
                self.k = k
                self.features = (features,) if isinstance(features, str) else tuple(features)
                self.scaled = scaled
                self.seed = seed
        except traitlets.TraitError as exc:
            raise ValueError(str(exc)) from None
        if self.error:
            raise ValueError(self.error)

    @validate("features")
    def _check_features(self, proposal):
        value = tuple(proposal["value"])
        if not value:
            raise traitlets.TraitError("Pick at least one feature to cluster on.")
        choices = tuple(self.feature_choices)
        unknown = [f for f in value if f not in choices]
        if unknown:
            what = "a Mall feature" if choices == MALL_FEATURES else "a numeric column of your file"
            raise traitlets.TraitError(f"{unknown[0]!r} is not {what}; choose from "
                                       f"{', '.join(map(repr, choices))}.")
        if len(set(value)) != len(value):
            raise traitlets.TraitError(f"features lists a column more than once: {value!r}.")
        return value

    @validate("k")
    def _check_k(self, proposal):
        if proposal["value"] < 1:
            raise traitlets.TraitError(f"k must be at least 1, got {proposal['value']}.")
        return proposal["value"]

    @validate("seed")
    def _check_seed(self, proposal):
        if not 0 <= proposal["value"] <= _MAX_SEED:
            raise traitlets.TraitError(f"seed must be between 0 and {_MAX_SEED}, got {proposal['value']}.")
        return proposal["value"]

    def hold(self):
        """Change several inputs, then refit once (nothing is refitted if the block raises)."""
        return batched(self, self.refit)

    @observe("k", "features", "scaled", "seed")
    def _inputs_changed(self, change):
        if not self._holding:
            self.refit()

    def refit(self):
        """Fit K-means for the current inputs and read the clusters."""
        from ..preprocessing import mall_features, standardize

        try:
            if self._mall:
                X = mall_features(self.data, columns=list(self.features)).to_numpy(dtype=np.float64)
            else:
                X = self.data[list(self.features)].to_numpy(dtype=np.float64)
            if self.scaled:
                X, _ = standardize(X)
            km = KMeans(n_clusters=self.k, n_init=_N_INIT, random_state=self.seed).fit(X)
            labels = np.asarray(km.labels_).astype(np.int64)
            profiles = cluster_profiles(self.data, labels)
            segments = describe_segments(profiles)
        except (ValueError, TypeError) as exc:  # e.g. k above the number of distinct points
            self.error = str(exc)
            return
        labelled = self.data.copy()
        labelled["cluster"] = labels
        labelled["segment"] = segments["name"].reindex(labels).to_numpy()
        self.X, self.labels, self.centers = X, labels, km.cluster_centers_
        self.inertia = float(km.inertia_)
        self.profiles, self.segments, self.labelled = profiles, segments, labelled
        self.error = ""
        self.revision += 1

    def use_data(self, frame: pd.DataFrame, name: str = "", features=None):
        """Cluster a learner's own data (a :func:`~kmeans_tutor.data.load_csv` frame).

        Every numeric column of ``frame`` becomes a feature choice; ``features``
        defaults to the first two (one if that is all there is), passing over
        ID-like names. One refit. If it fails (e.g. k above the number of
        distinct points), everything is put back as it was and ValueError
        says why.
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"frame must be a DataFrame; got {type(frame).__name__}.")
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        if not numeric:
            raise ValueError("The file has no numeric column to cluster on.")
        if features is None:
            plain = [c for c in numeric if not _ID_LIKE.search(c)] or numeric
            features = plain[:2]
        features = (features,) if isinstance(features, str) else tuple(features)
        if not features or len(set(features)) != len(features) or not set(features) <= set(numeric):
            raise ValueError(f"Choose one or more different numeric columns of the file; got {features!r}.")
        old = (self._mall, self.data, self.feature_choices, self.features, self.data_name)
        with self.hold():
            self._mall = False
            self.data = frame
            self.feature_choices = tuple(numeric)
            self.features = tuple(features)
            self.data_name = str(name)
        if self.error:
            problem = self.error
            with self.hold():
                self._mall, self.data = old[0], old[1]
                self.feature_choices, self.features, self.data_name = old[2], old[3], old[4]
            raise ValueError(f"{problem} (k is {self.k}: lower it, then upload the file again.)")

    def to_csv(self) -> str:
        """The labelled customers as CSV text (CustomerID first)."""
        return self.labelled.to_csv(index=True, lineterminator="\n")


# ------------------------------------------------------------------------------- HTML


def _cluster_number(cluster) -> int:
    """The number a learner reads for cluster id ``cluster`` (0-based): 1 … k."""
    return int(cluster) + 1


def _profile_table_html(profiles: pd.DataFrame, segments: pd.DataFrame) -> str:
    """The profile table as styled HTML, one row per cluster.

    Rows are numbered 1 … k (index name "cluster"), each number in its
    cluster's colour; ``profiles`` itself keeps its 0-based index.
    """
    table = profiles.copy()
    table.insert(0, "segment", segments["name"].map(lambda v: html.escape(str(v))))
    # Column names may come from a learner's file: escaped here, as the Styler does not.
    table.columns = [html.escape(str(c)) for c in table.columns]
    table.index = pd.Index([_cluster_number(c) for c in profiles.index], name="cluster")
    formats = {"size": "{:.0f}", "share": "{:.0%}"}
    for c in table.columns:
        if ": " in str(c):
            formats[c] = "{:.0%}"
        elif c not in formats and c != "segment":
            formats[c] = "{:.1f}"

    def colour_ids(index):  # index holds the numbers 1 … k: cluster id = number − 1
        return [f"color: {cluster_style(int(c) - 1)[0]}; font-weight: bold" for c in index]

    try:
        styler = (table.style.format(formats).apply_index(colour_ids)
                  .set_table_attributes("class='kt-profiles'")
                  .set_table_styles([{"selector": "td, th", "props": "padding: 2px 8px;"}]))
        return styler.to_html()
    except ImportError:  # pandas' Styler needs jinja2 (Voilà brings it)
        return table.to_html(float_format=lambda v: f"{v:.2f}", escape=False)  # escaped above


def _cards_html(segments: pd.DataFrame) -> str:
    """One card per segment: "Cluster 1" … "Cluster k", name, persona, description,
    recommendations, in the cluster's colour."""
    cards = []
    for cluster, row in segments.iterrows():
        colour = cluster_style(int(cluster))[0]
        recs = "".join(f"<li>{html.escape(r)}</li>" for r in row["recommendations"])
        cards.append(
            f"<div style='border: 1px solid {edge_color(colour)}; border-left: 6px solid {colour};"
            f" border-radius: 4px; padding: 6px 10px; margin: 4px;"
            f" width: 300px; display: inline-block; vertical-align: top'>"
            f"<div style='font-weight: bold'>Cluster {_cluster_number(cluster)}: "
            f"{html.escape(row['name'])}</div>"
            f"<div style='font-style: italic'>{html.escape(row['persona'])}</div>"
            f"<div style='font-size: 90%; color: #444'>{html.escape(row['summary'])}</div>"
            f"<div>{html.escape(row['description'])}</div>"
            f"<ul style='margin: 4px 0 0 0; padding-left: 18px'>{recs}</ul></div>")
    return "<div>" + "".join(cards) + "</div>"


def download_link(csv_text: str, filename: str = CSV_NAME, label: str | None = None) -> str:
    """An HTML link that downloads ``csv_text`` from the page itself.

    The file travels inside the link as a base64 ``data:`` URL, so nothing is
    written on the server.
    """
    payload = base64.b64encode(csv_text.encode("utf-8")).decode("ascii")
    label = html.escape(label or f"Download {filename}")
    return (f"<a download=\"{html.escape(filename)}\" href=\"data:text/csv;base64,{payload}\" "
            f"target=\"_blank\">{label}</a>")


# ------------------------------------------------------------------------------- view


class SegmentsApp(widgets.VBox):
    """Cluster the Mall customers and read the segments.

    Parameters
    ----------
    k : int, default=5
        Clusters at start (the slider runs 2 … 10).
    features : tuple of str, default=("Annual Income (k$)", "Spending Score (1-100)")
        Mall columns to cluster on, from Age, Annual Income (k$) and
        Spending Score (1-100).
    scaled : bool, default=True
    seed : int, default=0
    figsize : (float, float), default=(10, 6.4)
        Inches; drawn at 80 dpi.

    Attributes
    ----------
    model : SegmentsModel
    fig : matplotlib Figure
        Created once: the mean of every feature per cluster on top, cluster
        sizes and gender mix below; those bar charts are cleared and redrawn
        on every change.

    Examples
    --------
    In a notebook or a Voilà lesson::

        from kmeans_tutor.widgets.segments import SegmentsApp
        SegmentsApp(k=5)
    """

    def __init__(self, k=5, features=_DEFAULT_FEATURES, *, scaled=True, seed=0,
                 figsize=(10.0, 6.4), **kwargs):
        super().__init__(**kwargs)
        from ._figure import app_figure

        if not _K_RANGE[0] <= k <= _K_RANGE[1]:
            raise ValueError(f"k must be between {_K_RANGE[0]} and {_K_RANGE[1]} here, got {k}.")
        self.model = m = SegmentsModel(k, features, scaled=scaled, seed=seed)

        self._k = widgets.IntSlider(value=m.k, min=_K_RANGE[0], max=_K_RANGE[1], description="k",
                                    continuous_update=False, layout=widgets.Layout(width="360px"))
        self._upload = UploadRow(self._use_upload)
        self._feature_names = list(m.feature_choices)
        self._feature_boxes = self._make_feature_boxes()
        self._scaled = widgets.Checkbox(value=m.scaled, description="standardise features",
                                        indent=False, layout=widgets.Layout(width="auto"))
        self._seed = widgets.BoundedIntText(value=m.seed, min=0, max=_MAX_SEED, description="seed",
                                            layout=widgets.Layout(width="170px"))
        self._message = widgets.HTML()
        self._table = widgets.HTML()
        self._cards = widgets.HTML()
        self._download = widgets.HTML()
        self._download_note = widgets.HTML(
            "<small>In the file, the <code>cluster</code> column counts from 0 (like "
            "scikit-learn's labels): Cluster 1 above is <code>cluster = 0</code>.</small>")

        # One figure: a subfigure for profile_bars (it makes its own panels),
        # one for sizes and gender mix.
        self.fig = app_figure(figsize, layout="constrained")
        top, bottom = self.fig.subfigures(2, 1, height_ratios=[1.0, 1.0])
        self._bars_fig = top
        self._ax_sizes, self._ax_gender = bottom.subplots(1, 2)
        self._features_row = widgets.HBox([widgets.Label("Cluster on:"), *self._feature_boxes, self._scaled],
                                          layout=widgets.Layout(flex_flow="row wrap"))
        self._redraw()

        self.children = [
            widgets.HBox([self._k, self._seed]),
            self._upload,
            self._features_row,
            self._message,
            widgets.HTML("<b>Profiles</b> (means in the original units)"),
            self._table,
            self.fig.canvas,
            widgets.HTML("<b>Segments</b>"),
            self._cards,
            self._download,
            self._download_note,
        ]
        self._wire()

    def _wire(self):
        """Every handler, in one place."""
        self._k.observe(lambda ch: self._set_model("k", int(ch["new"])), names="value")
        for box in self._feature_boxes:
            box.observe(self._on_feature, names="value")
        self._scaled.observe(lambda ch: self._set_model("scaled", bool(ch["new"])), names="value")
        self._seed.observe(lambda ch: self._set_model("seed", int(ch["new"])), names="value")
        self.model.observe(self._on_revision, names="revision")
        self.model.observe(self._on_error, names="error")

    # widgets → model
    def _set_model(self, name, value):
        try:
            setattr(self.model, name, value)
        except traitlets.TraitError as exc:
            self._message.value = warning_html(str(exc))

    def _make_feature_boxes(self) -> list:
        """One checkbox per column the model may cluster on (labels are plain text)."""
        return [widgets.Checkbox(value=f in self.model.features, description=_LABELS.get(f, str(f)),
                                 indent=False, layout=widgets.Layout(width="auto"))
                for f in self._feature_names]

    def _use_upload(self, frame, name):
        """A learner's CSV: refit on it, then offer its numeric columns as the checkboxes."""
        self.model.use_data(frame, name)  # raises ValueError (shown by the upload row) if unusable
        for box in self._feature_boxes:
            box.unobserve(self._on_feature, names="value")
        self._feature_names = list(self.model.feature_choices)
        self._feature_boxes = self._make_feature_boxes()
        for box in self._feature_boxes:
            box.observe(self._on_feature, names="value")
        self._features_row.children = [widgets.Label("Cluster on:"), *self._feature_boxes, self._scaled]

    def _on_feature(self, change):
        chosen = tuple(f for f, b in zip(self._feature_names, self._feature_boxes) if b.value)
        if not chosen:  # at least one: put the tick back
            box = change["owner"]
            box.unobserve(self._on_feature, names="value")
            box.value = True
            box.observe(self._on_feature, names="value")
            self._message.value = warning_html("Keep at least one feature ticked.")
            return
        self._set_model("features", chosen)

    # model → view
    def _on_revision(self, change):
        self._message.value = ""
        self._redraw()

    def _on_error(self, change):
        if change["new"]:
            self._message.value = warning_html(change["new"])

    def _redraw(self):
        from ..analysis_views import cluster_sizes, gender_mix, profile_bars
        from ._figure import refresh

        m = self.model
        profiles = m.profiles
        if not m._mall:  # a learner's column names are plain text: no matplotlib mathtext
            profiles = profiles.rename(columns=lambda c: str(c).replace("$", r"\$"))
        # Small bar charts: clearing and redrawing the same axes is cheap and simple.
        self._bars_fig.clear()
        profile_bars(profiles, self._bars_fig)
        for ax in (self._ax_sizes, self._ax_gender):
            ax.clear()
        cluster_sizes(profiles, self._ax_sizes)
        try:
            gender_mix(profiles, self._ax_gender)
        except ValueError:  # an uploaded file has no category column to show
            ax = self._ax_gender
            ax.set_xticks([])
            ax.set_yticks([])
            ax.text(0.5, 0.5, "No category column\n(e.g. Gender) in this data.", ha="center",
                    va="center", transform=ax.transAxes, color="0.4")
        refresh(self.fig)

        self._table.value = _profile_table_html(m.profiles, m.segments)
        self._cards.value = _cards_html(m.segments)
        n, k = len(m.labelled), int(m.profiles.shape[0])
        self._download.value = download_link(
            m.to_csv(), CSV_NAME,
            f"⬇ Download {CSV_NAME} ({n} {'customers' if m._mall else 'rows'}, {k} clusters)")

    # --- read-only handles for tests and lesson text -------------------------------------
    @property
    def table_html(self) -> str:
        return self._table.value

    @property
    def cards_html(self) -> str:
        return self._cards.value

    @property
    def download_html(self) -> str:
        return self._download.value

    @property
    def message(self) -> str:
        return self._message.value

    @property
    def upload_row(self) -> UploadRow:
        """The "bring your own CSV" row (tests set ``upload_row.upload.value``)."""
        return self._upload

    @property
    def feature_boxes(self) -> dict:
        """Column name → its checkbox (the file's columns after an upload)."""
        return dict(zip(self._feature_names, self._feature_boxes))

