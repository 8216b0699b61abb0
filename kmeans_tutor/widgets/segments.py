"""From clusters to customer segments: profiles, personas and a download.

The learner clusters the Mall customers (or their own CSV) with K-means (k,
features, scaling, seed) and reads the result the way a marketing team would:
a profile table (size, share, mean age/income/spending, gender mix), bar
charts of the same, a card per segment with its name, persona and
recommendations, and a link that downloads every customer with their cluster
as ``segments.csv``.

Numbering: everything the learner reads counts clusters from 1 — the
profile table's rows, the cards ("Cluster 1" … "Cluster k", like the step
captions and the StepView legend) and the ``cluster`` column of ``labelled``
and of the download (Cluster 1 is ``cluster == 1``). Only the model's
internals stay 0-based like scikit-learn: ``labels`` and the index of
``profiles`` and ``segments``.

Two layers:

- :class:`SegmentsModel` — traitlets, no widgets: inputs ``k``,
  ``features``, ``scaled``, ``seed`` (and the data choice of
  :class:`~kmeans_tutor.widgets.base.DataModel`); outputs ``labels``,
  ``profiles`` (:func:`~kmeans_tutor.data.profiles.cluster_profiles`),
  ``segments`` (:func:`~kmeans_tutor.data.profiles.describe_segments`) and
  ``labelled``.
- :class:`SegmentsApp` — an ``ipywidgets.VBox``: controls, the profile
  table, one ipympl figure created once, the persona cards and the link.

>>> model = SegmentsModel(k=5)
>>> model.segments["persona"].tolist()[:2]
['Affluent target customers', 'Budget-conscious']
"""

from __future__ import annotations

import base64
import html
import math
from typing import TYPE_CHECKING

import ipywidgets as widgets
import numpy as np
import traitlets
from traitlets import Float, Instance

from ..core.estimator import KMeans
from ..core.validation import MAX_SEED, is_dataframe
from ..data.mall import DEFAULT_FEATURES, MALL_COLUMNS, MALL_FEATURES, MALL_TITLE, mall_columns
from ..data.export import safe_csv, safe_csv_columns
from ..data.profiles import ClusterTable, cluster_profiles, describe_segments, learner_labels, profile_tables
from ..data.resolver import MALL
from ..views.analysis import cluster_sizes, gender_mix, profile_bars
from ..views.palette import cluster_style, edge_color
from .base import DataModel, message_html, quiet, warning_html
from .controls import DataChoice, figure_alt, hidden_html, live_html, live_region
from .figure import FigureFit, PresenterView, app_figure, plain_text, refresh
from .sending import sent_when_built
from .upload import UploadRow
from .shared_styles import shared_layout, styled

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SegmentsModel", "SegmentsApp", "download_link", "CSV_NAME", "K_RANGE"]

_N_INIT = 10
#: The k slider's range.
K_RANGE = (2, 10)
#: File name the download link suggests.
CSV_NAME = "segments.csv"


class SegmentsModel(DataModel):
    """State of the segments app: one K-means fit and its reading.

    Inputs
    ------
    k : int
        Number of clusters, 1 … number of distinct points (the app's slider: 2 … 10).
    features : tuple of str
        Columns to cluster on, at least one (Mall columns, or an uploaded
        file's numeric columns after :meth:`use_upload`).
    scaled : bool
        Standardise the features (z-scores) before clustering.
    seed : int
        ``random_state`` of the fit.

    Any input change refits; :meth:`hold` batches several changes into one fit.

    Outputs
    -------
    labels, centers : ndarray
        ``KMeans(k, n_init=10, random_state=seed).fit(X)``; centres in the
        units of X.
    inertia : float
    profiles : DataFrame
        ``cluster_profiles(data.frame, labels)``: size, share, mean of every
        numeric column (all of them, not only the clustered ones) and the
        gender mix.
    segments : DataFrame
        ``describe_segments(profiles, overall=data.frame)``: name, persona,
        description, recommendations, summary, size, share.
    labelled : DataFrame
        The customers plus a ``cluster`` (1 … k, as on the cards: ``labels + 1``)
        and a ``segment`` (name) column: what the download holds.
    profile_table, segment_table : ClusterTable or DataFrame
        The same two tables as the app draws them. For the Mall customers they
        are :class:`~kmeans_tutor.data.profiles.ClusterTable` s made without
        pandas (:func:`~kmeans_tutor.data.profiles.profile_tables`), and
        ``profiles``, ``segments`` and ``labelled`` are made from them only when
        read: the app never loads pandas (0.2 s and 30 MB of a lesson's kernel).
        For a learner's file, pandas is loaded already, and they are the DataFrames.
    message, message_level
        Why the last inputs could not be used ("" when all is well); the
        outputs then keep their last good values.
    revision : int
        Goes up by one each time the outputs are complete: the views' signal.
    """

    labels = Instance(np.ndarray, allow_none=True)
    centers = Instance(np.ndarray, allow_none=True)
    inertia = Float(math.nan)

    def __init__(self, k=5, features=DEFAULT_FEATURES, *, scaled=True, seed=0):
        self.profile_table = self.segment_table = None
        self._shown = None  # the ChosenData the outputs describe (the last good inputs')
        self._frames: dict = {}  # output name → (what it was made from, the DataFrame)
        try:
            super().__init__(k=k, features=features, scaled=scaled, seed=seed)
        except traitlets.TraitError as exc:
            raise ValueError(str(exc)) from None
        if self.message_level == "error":  # a programming error in the arguments: loud
            raise ValueError(self.message)

    @property
    def data_name(self) -> str:
        """"Mall Customers" or the uploaded file's name (escape before showing)."""
        return MALL_TITLE if self.is_mall else self.uploaded_name

    @property
    def feature_choices(self) -> tuple[str, ...]:
        """The columns ``features`` may name."""
        if self.is_upload and self.uploaded is not None:
            import pandas as pd  # already loaded: the upload is a DataFrame

            return tuple(c for c in self.uploaded.columns if pd.api.types.is_numeric_dtype(self.uploaded[c]))
        return MALL_FEATURES

    def _clear(self):
        """A bad choice keeps the last good outputs on screen (the message says why)."""

    def _compute(self):
        """Fit K-means for the current inputs and read the clusters."""
        data = self.data
        km = KMeans(n_clusters=self.k, n_init=_N_INIT, random_state=self.seed).fit(data.X)
        labels = np.asarray(km.labels_).astype(np.int64)
        if data.source == MALL:
            profiles, segments = profile_tables(_mall_profile_columns(), labels)
        else:
            profiles = cluster_profiles(data.frame, labels)
            segments = describe_segments(profiles, overall=data.frame)
        self.labels, self.centers = labels, km.cluster_centers_
        self.inertia = float(km.inertia_)
        self.profile_table, self.segment_table, self._shown = profiles, segments, data
        return "", ""

    # --- the tables as DataFrames, made when read ------------------------------------------
    def _made(self, name: str, source, make):
        """The output ``name`` made by ``make()`` from ``source``, once per source."""
        if source is None:
            return None
        made = self._frames.get(name)
        if made is None or made[0] is not source:
            made = self._frames[name] = (source, make())
        return made[1]

    @property
    def profiles(self) -> pd.DataFrame | None:
        table = self.profile_table
        return table if table is None or is_dataframe(table) else self._made("profiles", table, table.to_frame)

    @property
    def segments(self) -> pd.DataFrame | None:
        table = self.segment_table
        return table if table is None or is_dataframe(table) else self._made("segments", table, table.to_frame)

    @property
    def labelled(self) -> pd.DataFrame | None:
        def make():
            labelled = self._shown.frame.copy()
            labelled["cluster"] = learner_labels(self.labels)  # 1 … k, as the cards say
            labelled["segment"] = self.segments["name"].reindex(self.labels).to_numpy()
            return labelled

        return self._made("labelled", self.segment_table, make)

    def to_csv(self) -> str:
        """The labelled customers as CSV text (their index first); text cells a
        spreadsheet would run as formulas are neutralised (:func:`~kmeans_tutor.data.export.safe_csv`).

        For the Mall customers the text is written without pandas, the same text. Like
        every output, it describes the last inputs that could be used."""
        if self._shown.source != MALL:
            return safe_csv(self.labelled)
        columns = mall_columns()
        names = dict(zip(self.segment_table.index.tolist(), self.segment_table["name"]))
        return safe_csv_columns({"CustomerID": columns["CustomerID"],
                                 **{c: columns[c] for c in MALL_COLUMNS},
                                 "cluster": learner_labels(self.labels),
                                 "segment": [names[label] for label in self.labels.tolist()]})


def _mall_profile_columns() -> dict:
    """The Mall columns a profile reads, in the order of ``load_mall_customers()``'s columns."""
    columns = mall_columns()
    return {c: columns[c] for c in MALL_COLUMNS}


# ------------------------------------------------------------------------------- HTML


def _cluster_number(cluster) -> int:
    """The number a learner reads for cluster id ``cluster`` (0-based): 1 … k."""
    return int(cluster) + 1


def _profile_table_html(profiles: ClusterTable | pd.DataFrame, segments: ClusterTable | pd.DataFrame) -> str:
    """The profile table as HTML, one row per cluster.

    Rows are numbered 1 … k (the "cluster" column), each number in its cluster's colour;
    ``profiles`` itself keeps its 0-based index. Then the segment's name, the size, the
    share (a percentage), the means (one decimal) and the shares of each category
    (percentages, the columns named "column: value").

    The table is written out here: pandas' Styler would cost the lesson's kernel 0.04 s
    and 3 MB (jinja2 and its templates) for these few rows. Every text is escaped: column
    names and segment names may come from a learner's file.
    """
    columns = [str(c) for c in profiles.columns]
    head = "".join(f"<th{' class=kt-name' if c == 'segment' else ''}>{html.escape(c)}</th>"
                   for c in ("cluster", "segment", *columns))
    values = [list(profiles[c]) for c in profiles.columns]
    names = list(segments["name"])
    rows = []
    for i, cluster in enumerate(profiles.index.tolist()):
        colour = cluster_style(int(cluster))[0]
        cells = [f"<th class='row_heading' style='color: {colour}; font-weight: bold'>"
                 f"{_cluster_number(cluster)}</th>",
                 f"<td class='kt-name'>{html.escape(str(names[i]))}</td>"]
        cells += [f"<td>{_profile_cell(column, column_values[i])}</td>"
                  for column, column_values in zip(columns, values)]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return ("<style>.kt-profiles th, .kt-profiles td { padding: 2px 8px; text-align: right; }"
            " .kt-profiles .kt-name { text-align: left; }</style>"
            f"<table class='kt-profiles'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _profile_cell(column: str, value) -> str:
    """One number of the profile table as the learner reads it ("—" when there is none)."""
    value = float(value)
    if not math.isfinite(value):
        return "—"
    if column == "size":
        return f"{value:.0f}"
    if column == "share" or ": " in column:
        return f"{value:.0%}"
    return f"{value:.1f}"


def _cards_html(segments: ClusterTable | pd.DataFrame) -> str:
    """One card per segment: "Cluster 1" … "Cluster k", name, persona, description,
    recommendations, in the cluster's colour."""
    cards = []
    columns = {c: list(segments[c]) for c in ("name", "persona", "summary", "description", "recommendations")}
    for i, cluster in enumerate(segments.index.tolist()):
        row = {c: values[i] for c, values in columns.items()}
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

    @sent_when_built
    def __init__(self, k=5, features=DEFAULT_FEATURES, *, scaled=True, seed=0,
                 figsize=(10.0, 6.4), **kwargs):
        super().__init__(**kwargs)
        if not K_RANGE[0] <= k <= K_RANGE[1]:
            raise ValueError(f"k must be between {K_RANGE[0]} and {K_RANGE[1]} here, got {k}.")
        self.model = m = SegmentsModel(k, features, scaled=scaled, seed=seed)

        self._k = styled(widgets.IntSlider, value=m.k, min=K_RANGE[0], max=K_RANGE[1], description="k",
                                            continuous_update=False, tooltip="The number of segments",
                                            layout=shared_layout(width="360px"))
        self._upload = UploadRow(lambda frame, name: m.use_upload(frame, name))
        self.data_row = DataChoice(m, multiple=True, datasets=[(MALL_TITLE, MALL)])
        self._seed = styled(widgets.BoundedIntText, value=m.seed, min=0, max=MAX_SEED, description="seed",
                                                    tooltip="The random seed of the fit",
                                                    layout=shared_layout(width="170px"))
        self._message = styled(widgets.HTML)
        self._status = live_region()
        self._figure_alt = figure_alt()
        self._table = styled(widgets.HTML)
        self._cards = styled(widgets.HTML)
        self._download = styled(widgets.HTML)

        # One figure: a subfigure for profile_bars (it makes its own panels),
        # one for sizes and gender mix.
        self.fig = app_figure(figsize, layout="constrained")
        top, bottom = self.fig.subfigures(2, 1, height_ratios=[1.0, 1.0])
        self._bars_fig = top
        self._ax_sizes, self._ax_gender = bottom.subplots(1, 2)
        self._redraw()

        self.fit = FigureFit(self.fig)
        self.presenter = PresenterView(self, self.fit, [self._seed, self._upload, self.data_row])
        self.children = [
            self.presenter.bar,
            widgets.HBox([self._k, self._seed],
                         layout=shared_layout(flex_flow="row wrap", align_items="center")),
            self._upload,
            self.data_row,
            self._message,
            self._status,
            styled(widgets.HTML, "<b>Profiles</b> (means in the original units)"),
            self._table,
            self._figure_alt,
            self.fig.canvas,
            styled(widgets.HTML, "<b>Segments</b>"),
            self._cards,
            self._download,
        ]
        self._wire()

    def _report(self, text: str):
        """Show a problem under the controls (an unexpected one, caught by quiet())."""
        self._message.value = warning_html(text)

    def _wire(self):
        """Every handler, in one place."""
        self._k.observe(quiet(lambda ch: self._set_model("k", int(ch["new"])), self._report), names="value")
        self._seed.observe(quiet(lambda ch: self._set_model("seed", int(ch["new"])), self._report), names="value")
        self.model.observe(quiet(self._on_revision, self._report), names="revision")

    # widgets → model
    def _set_model(self, name, value):
        try:
            setattr(self.model, name, value)
        except traitlets.TraitError as exc:
            self._message.value = warning_html(str(exc))

    # model → view
    def _on_revision(self, change):
        if self.model.message_level != "error":
            self._redraw()
        self._message.value = message_html(self.model)  # last: the page has what it speaks of

    def _redraw(self):
        m = self.model
        # Column names are drawn as plain text: no matplotlib mathtext.
        profiles = m.profile_table.rename(columns=plain_text)
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

        self._table.value = _profile_table_html(m.profile_table, m.segment_table)
        sizes = ", ".join(f"{int(v):,}" for v in m.profile_table["size"])
        n, k = len(m.labels), len(m.profile_table)
        self._status.value = live_html(f"{k} clusters of {n:,} "
                                       f"{'customers' if m.is_mall else 'rows'}; sizes in cluster "
                                       f"order: {sizes}.")
        self._figure_alt.value = hidden_html(
            "Bar charts of the table above: the mean of each feature per cluster (top); the number "
            f"of {'customers' if m.is_mall else 'rows'} per cluster ({sizes}) and, when the data "
            "have one, the mix of a category such as Gender per cluster (bottom).")
        self._cards.value = _cards_html(m.segment_table)
        self._download.value = download_link(
            m.to_csv(), CSV_NAME,
            f"⬇ Download {CSV_NAME} ({n} {'customers' if m.is_mall else 'rows'}, {k} clusters)")

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
    def status(self) -> str:
        """HTML of the one-line summary read out to screen readers after each change."""
        return self._status.value

    @property
    def upload_row(self) -> UploadRow:
        """The "bring your own CSV" row (tests set ``upload_row.upload.value``)."""
        return self._upload

    @property
    def feature_boxes(self) -> dict:
        """Column name → its checkbox (the file's columns after an upload)."""
        return self.data_row.column_boxes

