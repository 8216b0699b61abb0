"""Pictures for the Mall Customers story: explore, choose k, read the segments.

Three kinds of picture, all matplotlib only:

- **exploring the data** — :func:`gender_count_plot`, :func:`age_histogram`,
  :func:`pairwise_scatter`, :func:`correlation_heatmap`;
- **watching a run** — :class:`InertiaSoFar`: the inertia staircase drawn
  only up to the step on screen (no spoilers), the rest on request;
- **choosing k** — :class:`ElbowView` (inertia against k, the knee marked)
  and :class:`SilhouetteView` (every point's silhouette, cluster by cluster);
- **reading the clusters** — :func:`profile_bars`, :func:`cluster_sizes`,
  :func:`gender_mix`, drawn from :func:`~kmeans_tutor.profiles.cluster_profiles`.

Functions draw once on the Axes (or Figure) they are given — ``ax=None``
means the current Axes, ``fig=None`` a new Figure — and return it. The two
views follow the view lifecycle: built once, ``draw(...)`` only updates the
artists they own, ``finalize()`` adds titles, labels and legend.

Clusters take their colour and marker from :mod:`kmeans_tutor.palette`;
categories such as Gender take colours from :data:`CATEGORY_COLORS`, which
stay the same in every picture.

Cluster numbers as the learner reads them count from 1, as in the step
captions and the StepView legend: cluster id ``j`` (0-based, as in
``labels_`` and the index of :func:`~kmeans_tutor.profiles.cluster_profiles`)
is shown as "j + 1" — tick labels, silhouette knives and legends read
1 … k. The data stay 0-based; only the text drawn changes. Labelings with a
negative id (e.g. −1 for noise) are shown as they are.

pandas is imported inside the functions that use it, not at the top: a
lesson kernel that never builds a table is spared it (0.2 s of CPU and 32 MB).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from ..core.choosing import check_elbow_table
from ..core.validation import is_dataframe
from ..data.profiles import ClusterTable, profile_columns
from .palette import CLUSTER_MARKERS, OKABE_ITO, cluster_style, edge_color
from .step_views import InertiaView

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CATEGORY_COLORS",
    "gender_count_plot",
    "age_histogram",
    "pairwise_scatter",
    "correlation_heatmap",
    "profile_bars",
    "cluster_sizes",
    "gender_mix",
    "ElbowView",
    "SilhouetteView",
    "InertiaSoFar",
]

#: Colours of categories (e.g. Female, Male) in the order of their sorted
#: names; chosen apart from the first cluster colours (blue, orange) so that a
#: gender bar is not mistaken for a cluster.
CATEGORY_COLORS = (
    OKABE_ITO["reddish purple"],
    OKABE_ITO["bluish green"],
    OKABE_ITO["sky blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["yellow"],
    OKABE_ITO["orange"],
    OKABE_ITO["blue"],
    OKABE_ITO["black"],
)
_NEUTRAL = "#555555"  # one-group pictures (histograms, a plain scatter)


# ----------------------------------------------------------------------------- helpers


def _axes(ax):
    """ax, or pyplot's current Axes."""
    if ax is not None:
        return ax
    # pyplot only when asked for its current Axes: apps, lessons and exports draw on
    # their own Figures, and importing pyplot costs every kernel ~15 ms and its global state.
    import matplotlib.pyplot as plt

    return plt.gca()


def _figure(fig, size):
    """fig, or a new pyplot Figure of the given size (inches)."""
    if fig is not None:
        return fig
    import matplotlib.pyplot as plt  # only when asked for a new pyplot Figure (see _axes)

    return plt.figure(figsize=size, layout="constrained")


def _check_df(df, what: str = "df") -> pd.DataFrame:
    if not is_dataframe(df):
        raise TypeError(f"{what} must be a pandas DataFrame (e.g. load_mall_customers()), "
                        f"got {type(df).__name__}.")
    if len(df) == 0:
        raise ValueError(f"{what} is empty: there is nothing to plot.")
    return df


def _check_column(df: pd.DataFrame, column) -> pd.Series:
    if column not in df.columns:
        raise ValueError(f"df has no column {column!r}; its columns are "
                         f"{', '.join(map(repr, df.columns))}.")
    return df[column]


def _is_numeric(s) -> bool:
    import pandas as pd

    dtype = s.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _numeric_features(df: pd.DataFrame, features) -> list:
    """The numeric columns to plot: features (checked), or all numeric columns."""
    if features is None:
        features = [c for c in df.columns if _is_numeric(df[c])]
        if not features:
            raise ValueError("df has no numeric column to plot.")
        return features
    features = [features] if isinstance(features, str) else list(features)
    for f in features:
        if not _is_numeric(_check_column(df, f)):
            raise TypeError(f"Column {f!r} is not numeric (dtype {df[f].dtype}); "
                            f"only numeric columns can be plotted here.")
    if len(set(features)) != len(features):
        raise ValueError("features lists a column more than once.")
    return features


def _categories(values) -> list:
    """Distinct values, the declared order of a Categorical, else sorted."""
    import pandas as pd

    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        return list(values.cat.categories)
    unique = pd.unique(np.asarray(values, dtype=object))
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=str)


def _plain_ids(clusters) -> bool:
    """True when every cluster id is a non-negative integer (0, 1, 2, … as from K-means)."""
    return all(isinstance(c, (numbers.Integral, np.integer)) and not isinstance(c, (bool, np.bool_))
               and c >= 0 for c in clusters)


def _style_indices(clusters) -> list[int]:
    """Palette index of each cluster id: the id itself when all ids are
    non-negative integers (so colours match every other view), else the rank."""
    clusters = list(clusters)
    if _plain_ids(clusters):
        return [int(c) for c in clusters]
    return list(range(len(clusters)))


def _cluster_numbers(clusters) -> list[str]:
    """What the learner reads for each cluster id: "1" … "k" for ids 0 … k−1.

    Same rule as :func:`_style_indices`: non-negative integer ids are shown
    plus one (the step captions' and StepView's numbering); any other ids
    (negative, e.g. −1 for noise) are shown as they are.
    """
    clusters = list(clusters)
    if _plain_ids(clusters):
        return [str(int(c) + 1) for c in clusters]
    return [str(c) for c in clusters]


def _category_style(i: int) -> tuple[str, str]:
    """Colour and marker of the i-th category."""
    return CATEGORY_COLORS[i % len(CATEGORY_COLORS)], CLUSTER_MARKERS[i % len(CLUSTER_MARKERS)]


def _groups(df: pd.DataFrame, hue):
    """Split rows by hue: a list of (label, boolean mask, colour, marker), and a legend title.

    hue is None (one group), a column name (categories), or one value per row
    (integer cluster labels take the cluster palette, anything else the
    category colours). Integer labels given as values, or as a column named
    "cluster", are cluster ids and are labelled 1 … k (:func:`_cluster_numbers`);
    other columns keep their own values as labels.
    """
    import pandas as pd

    n = len(df)
    if hue is None:
        return [(None, np.ones(n, dtype=bool), _NEUTRAL, "o")], None
    if isinstance(hue, str) or (not hasattr(hue, "__len__") and hue in df.columns):
        values, title = _check_column(df, hue), str(hue)
        cluster_ids = str(hue) == "cluster"
    else:
        values = hue
        title = "cluster"
        cluster_ids = True
        if isinstance(hue, pd.Series) and hue.name is not None:
            title = str(hue.name)
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"hue must be a column name or hold one value per row of df "
                         f"({n}); got shape {arr.shape}.")
    if pd.isna(pd.Series(arr)).any():
        raise ValueError("hue has missing values; fill or drop them first.")
    if arr.dtype.kind in "iu":
        clusters = np.unique(arr).tolist()
        styles = [cluster_style(j) for j in _style_indices(clusters)]
        names = _cluster_numbers(clusters) if cluster_ids else [str(c) for c in clusters]
    else:
        clusters = _categories(values if isinstance(values, pd.Series) else pd.Series(arr))
        styles = [_category_style(i) for i in range(len(clusters))]
        names = [str(c) for c in clusters]
    arr = arr.astype(object) if arr.dtype.kind not in "iu" else arr
    return [(name, arr == c, colour, marker)
            for c, name, (colour, marker) in zip(clusters, names, styles)], title


def _profile_parts(profiles):
    """Numeric feature columns and category-share columns of a profile table."""
    if not (is_dataframe(profiles) or isinstance(profiles, ClusterTable)) or "size" not in profiles.columns:
        raise TypeError("profiles must be the DataFrame from cluster_profiles(df, labels).")
    if len(profiles) == 0:
        raise ValueError("profiles is empty: there are no clusters to plot.")
    return profile_columns(profiles)


def _cluster_colours(profiles) -> list[str]:
    return [cluster_style(j)[0] for j in _style_indices(list(profiles.index))]


# ----------------------------------------------------------------------------- exploring


def gender_count_plot(df, ax=None, *, column="Gender"):
    """Bar chart of how many customers fall in each category of ``column``.

    Parameters
    ----------
    df : DataFrame
        The customers, e.g. ``load_mall_customers()``.
    ax : matplotlib Axes, optional
        Where to draw; default: the current Axes.
    column : str, default="Gender"

    Returns
    -------
    matplotlib Axes
        One bar per category (sorted names), its count written above it.

    Examples
    --------
    >>> import pandas as pd
    >>> ax = gender_count_plot(pd.DataFrame({"Gender": ["Female", "Male", "Female"]}))
    >>> [int(p.get_height()) for p in ax.patches]
    [2, 1]
    """
    df = _check_df(df)
    ax = _axes(ax)
    values = _check_column(df, column)
    if values.isna().any():
        raise ValueError(f"Column {column!r} has missing values; fill or drop them first.")
    categories = _categories(values)
    counts = [int((values == c).sum()) for c in categories]
    colours = [_category_style(i)[0] for i in range(len(categories))]
    bars = ax.bar(np.arange(len(categories)), counts, color=colours,
                  edgecolor=[edge_color(c) for c in colours], width=0.6)
    ax.bar_label(bars, labels=[f"{c} ({c / len(values):.0%})" for c in counts], padding=2)
    ax.set_xticks(np.arange(len(categories)), [str(c) for c in categories])
    ax.set_ylabel("customers")
    ax.set_xlabel(str(column))
    ax.set_title(f"Customers by {str(column).lower()}")
    ax.set_ylim(0, max(counts) * 1.15)
    return ax


def age_histogram(df, ax=None, bins="auto", *, column="Age"):
    """Histogram of ages (or of any numeric ``column``), with the mean marked.

    Parameters
    ----------
    df : DataFrame
    ax : matplotlib Axes, optional
    bins : int, sequence of edges or str, default="auto"
        As for :func:`numpy.histogram`, e.g. ``range(15, 75, 5)`` for
        five-year age groups.
    column : str, default="Age"

    Returns
    -------
    matplotlib Axes
        Its patches are the bars; their heights equal
        ``numpy.histogram(df[column], bins)[0]``.
    """
    df = _check_df(df)
    ax = _axes(ax)
    values = _check_column(df, column)
    if not _is_numeric(values):
        raise TypeError(f"Column {column!r} is not numeric (dtype {values.dtype}).")
    values = values.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError(f"Column {column!r} has missing or infinite values; fill or drop them first.")
    ax.hist(values, bins=bins, color=OKABE_ITO["sky blue"], edgecolor="white")
    mean = values.mean()
    ax.axvline(mean, color="black", linestyle="--", linewidth=1.2, label=f"mean = {mean:.1f}")
    ax.set_xlabel(str(column))
    ax.set_ylabel("customers")
    ax.set_title(f"Distribution of {str(column).lower()}")
    ax.legend(frameon=False)
    return ax


def pairwise_scatter(df, features=None, hue=None, fig=None, *, corner=False, s=16):
    """Every pair of numeric features as a scatter plot, coloured by group.

    A grid with one row and one column per feature: scatter plots off the
    diagonal (row = y, column = x), the histogram of each feature on it. For
    the Mall data's three numeric columns that is the six pairwise scatter
    plots (each pair seen both ways), with Gender — or cluster labels — as
    colour and marker.

    Parameters
    ----------
    df : DataFrame
    features : list of str, optional
        Numeric columns, at least 2. Default: all numeric columns.
    hue : str or array-like of shape (n_samples,), optional
        A column of df (e.g. "Gender"), or one value per row such as
        ``KMeans(...).labels_`` (integer labels take the cluster palette and
        the legend numbers them 1 … k, like the step captions).
    fig : matplotlib Figure, optional
        An empty Figure to draw on; default: a new one.
    corner : bool, default=False
        Only the lower triangle (each pair once).
    s : float, default=16
        Marker size.

    Returns
    -------
    matplotlib Figure
        ``fig.axes`` holds the d × d panels row by row (hidden ones included
        when ``corner=True``).
    """
    df = _check_df(df)
    features = _numeric_features(df, features)
    if len(features) < 2:
        raise ValueError(f"pairwise_scatter needs at least 2 numeric features; got {features!r}.")
    for f in features:
        if not np.isfinite(df[f].to_numpy(dtype=float)).all():
            raise ValueError(f"Column {f!r} has missing or infinite values; fill or drop them first.")
    groups, title = _groups(df, hue)
    d = len(features)
    fig = _figure(fig, (2.4 * d + 1.2, 2.4 * d))
    axes = fig.subplots(d, d, squeeze=False)
    data = {f: df[f].to_numpy(dtype=float) for f in features}

    for i, fy in enumerate(features):
        for j, fx in enumerate(features):
            ax = axes[i, j]
            if corner and j > i:
                ax.set_visible(False)
                continue
            if i == j:
                # Same edges for every group, so the outlines compare bar for bar.
                edges = np.histogram_bin_edges(data[fx], bins="auto")
                for label, mask, colour, _ in groups:
                    ax.hist(data[fx][mask], bins=edges, histtype="step" if hue is not None else "bar",
                            color=colour, edgecolor=colour if hue is not None else "white",
                            linewidth=1.5 if hue is not None else 0.5)
                ax.set_yticks([])
            else:
                for label, mask, colour, marker in groups:
                    ax.scatter(data[fx][mask], data[fy][mask], s=s, c=colour, marker=marker,
                               edgecolors=edge_color(colour), linewidths=0.4, alpha=0.85,
                               label=None if label is None else str(label))
            if i == d - 1:
                ax.set_xlabel(str(fx))
            else:
                ax.tick_params(labelbottom=False)
            if j == 0 and i != j:
                ax.set_ylabel(str(fy))
            elif j == 0:
                ax.set_ylabel(f"{fy}\n(histogram)")
    if hue is not None:
        handles = [Line2D([], [], linestyle="", marker=marker, color=colour,
                          markeredgecolor=edge_color(colour), label=str(label))
                   for label, _, colour, marker in groups]
        fig.legend(handles=handles, title=title, loc="outside right center", frameon=False)
    fig.suptitle("Every pair of features" + (f", by {title}" if title else ""))
    return fig


def correlation_heatmap(df, ax=None, *, features=None, method="pearson", colorbar=True):
    """Correlation matrix of the numeric columns, as a coloured grid of numbers.

    Parameters
    ----------
    df : DataFrame
    ax : matplotlib Axes, optional
    features : list of str, optional
        Numeric columns; default: all of them.
    method : {"pearson", "spearman", "kendall"}, default="pearson"
        As for :meth:`pandas.DataFrame.corr`.
    colorbar : bool, default=True

    Returns
    -------
    matplotlib Axes
        ``ax.images[0]`` holds ``df[features].corr()`` on a diverging map
        from −1 (blue) through 0 (white) to +1 (red); each cell is written
        out with two decimals.
    """
    df = _check_df(df)
    ax = _axes(ax)
    features = _numeric_features(df, features)
    if method not in ("pearson", "spearman", "kendall"):
        raise ValueError(f"method must be 'pearson', 'spearman' or 'kendall', got {method!r}.")
    corr = df[features].corr(method=method)
    values = corr.to_numpy(dtype=float)
    im = ax.imshow(values, cmap="RdBu_r", vmin=-1.0, vmax=1.0)
    d = len(features)
    for i in range(d):
        for j in range(d):
            v = values[i, j]
            text = "–" if np.isnan(v) else f"{v:.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=10,
                    color="white" if abs(v) > 0.6 else "black")
    ax.set_xticks(np.arange(d), [str(f) for f in features], rotation=30, ha="right")
    ax.set_yticks(np.arange(d), [str(f) for f in features])
    ax.set_title(f"Correlation between features ({method})")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="correlation")
    return ax


# ----------------------------------------------------------------------------- profiles


def profile_bars(profiles, fig=None, *, features=None):
    """One panel per feature: the mean of every cluster as a bar, in cluster colours.

    Parameters
    ----------
    profiles : DataFrame or ClusterTable
        From :func:`~kmeans_tutor.data.profiles.cluster_profiles` (or
        :func:`~kmeans_tutor.data.profiles.profile_tables`).
    fig : matplotlib Figure, optional
        An empty Figure to draw on; default: a new one.
    features : list of str, optional
        Numeric profile columns; default: all of them.

    Returns
    -------
    matplotlib Figure
        One Axes per feature, one bar per cluster (index order), ticked
        1 … k for cluster ids 0 … k−1; a dashed line marks the overall mean
        (the clusters' means weighted by their sizes).
    """
    numeric, _ = _profile_parts(profiles)
    if features is None:
        features = numeric
    else:
        features = [features] if isinstance(features, str) else list(features)
        bad = [f for f in features if f not in numeric]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a numeric feature of the profiles; "
                             f"choose from {numeric!r}.")
    if not features:
        raise ValueError("profiles has no numeric feature to plot.")
    fig = _figure(fig, (3.2 * len(features), 3.4))
    axes = fig.subplots(1, len(features), squeeze=False)[0]
    colours = _cluster_colours(profiles)
    x = np.arange(len(profiles))
    for ax, f in zip(axes, features):
        means = np.asarray(profiles[f], dtype=float)
        ax.bar(x, means, color=colours, edgecolor=[edge_color(c) for c in colours])
        if "size" in profiles.columns:
            sizes = np.asarray(profiles["size"], dtype=float)
            overall = float(sizes @ means / sizes.sum())  # the mean of every customer
            ax.axhline(overall, color="black", linestyle="--", linewidth=1, label="all customers")
            # Headroom above the tallest bar for the legend.
            top, bottom = max(means.max(), overall, 0.0), min(means.min(), overall, 0.0)
            ax.set_ylim(bottom, top + 0.25 * (top - bottom or 1.0))
            ax.legend(loc="upper center", fontsize=9.6, frameon=False)
        ax.set_xticks(x, _cluster_numbers(profiles.index))
        ax.set_xlabel("cluster")
        ax.set_title(str(f))
    axes[0].set_ylabel("mean")
    fig.suptitle("What each cluster looks like on average")
    return fig


def cluster_sizes(profiles, ax=None):
    """Bar chart of how many customers each cluster holds, with its share.

    Parameters
    ----------
    profiles : DataFrame or ClusterTable
        From :func:`~kmeans_tutor.data.profiles.cluster_profiles` (or
        :func:`~kmeans_tutor.data.profiles.profile_tables`).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        One bar per cluster; height = ``profiles["size"]``; ticks 1 … k for
        cluster ids 0 … k−1.
    """
    _profile_parts(profiles)
    ax = _axes(ax)
    colours = _cluster_colours(profiles)
    x = np.arange(len(profiles))
    sizes = np.asarray(profiles["size"], dtype=float)
    bars = ax.bar(x, sizes, color=colours, edgecolor=[edge_color(c) for c in colours])
    share = profiles["share"] if "share" in profiles.columns else sizes / sizes.sum()
    ax.bar_label(bars, labels=[f"{int(n)} ({p:.0%})" for n, p in zip(sizes, share)], padding=2)
    ax.set_xticks(x, _cluster_numbers(profiles.index))
    ax.set_ylim(0, sizes.max() * 1.15)
    ax.set_xlabel("cluster")
    ax.set_ylabel("customers")
    ax.set_title("Cluster sizes")
    return ax


def gender_mix(profiles, ax=None, *, column=None):
    """Stacked bars: the share of each category (e.g. Female, Male) per cluster.

    Parameters
    ----------
    profiles : DataFrame or ClusterTable
        From :func:`~kmeans_tutor.data.profiles.cluster_profiles` (or
        :func:`~kmeans_tutor.data.profiles.profile_tables`) on data with a
        category column.
    ax : matplotlib Axes, optional
    column : str, optional
        Which category column; default: "Gender" if profiled, else the first.

    Returns
    -------
    matplotlib Axes
        One stack per cluster (ticked 1 … k for cluster ids 0 … k−1), one
        segment per category (bottom first, in category order);
        ``ax.containers[i]`` holds category i's bars.
    """
    _, categorical = _profile_parts(profiles)
    if not categorical:
        raise ValueError("profiles has no category shares; profile a DataFrame with a text "
                         "column such as Gender.")
    if column is None:
        column = "Gender" if "Gender" in categorical else next(iter(categorical))
    elif column not in categorical:
        raise ValueError(f"profiles has no shares for {column!r}; it has {list(categorical)!r}.")
    ax = _axes(ax)
    x = np.arange(len(profiles))
    bottom = np.zeros(len(profiles))
    for i, col in enumerate(categorical[column]):
        share = np.asarray(profiles[col], dtype=float)
        colour = _category_style(i)[0]
        label = str(col)[len(str(column)) + 2:]
        bars = ax.bar(x, share, bottom=bottom, color=colour, edgecolor="white", label=label)
        ax.bar_label(bars, labels=[f"{v:.0%}" if v >= 0.08 else "" for v in share],
                     label_type="center", color="white" if i % 2 == 0 else "black", fontsize=10)
        bottom += share
    ax.set_xticks(x, _cluster_numbers(profiles.index))
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(_percent_formatter())
    ax.set_xlabel("cluster")
    ax.set_ylabel("share of the cluster")
    ax.set_title(f"{column} mix per cluster")
    ax.legend(title=str(column), frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def _percent_formatter():
    return PercentFormatter(xmax=1.0)


# ----------------------------------------------------------------------------- choosing k


class ElbowView:
    """Inertia against k, the elbow marked, the chosen k highlighted.

    Built once from a table such as :func:`~kmeans_tutor.core.choosing.elbow`
    makes; the knee comes from :func:`~kmeans_tutor.core.knee.find_knee` (convex,
    decreasing). When the table has a ``silhouette`` column, the mean
    silhouette is drawn against a second y axis on the right.

    Parameters
    ----------
    table : DataFrame or dict of arrays
        Columns ``k`` and ``inertia``, optionally ``silhouette`` (NaN allowed,
        e.g. for k = 1); one row per k (:func:`~kmeans_tutor.core.choosing.elbow`,
        or :func:`~kmeans_tutor.core.choosing.elbow_scores` without pandas).
    ax : matplotlib Axes, optional
        Default: the current Axes.
    knee : Knee, optional
        A precomputed :class:`~kmeans_tutor.core.knee.Knee`; default: found here.

    Attributes
    ----------
    ax, twin : Axes
        ``twin`` is None without a silhouette column.
    knee : Knee or None
        None when the curve is too short (< 3 points) or flat.
    inertia_line, knee_marker, knee_line, selected_marker, selected_line, silhouette_line
        The artists; ``silhouette_line`` is None without silhouettes.

    Examples
    --------
    >>> import pandas as pd
    >>> from kmeans_tutor.core.choosing import elbow_knee
    >>> table = pd.DataFrame({"k": [1, 2, 3, 4, 5, 6],
    ...                       "inertia": [1000, 500, 200, 160, 130, 110]})
    >>> view = ElbowView(table, knee=elbow_knee(table)).draw(k_selected=4).finalize()
    >>> view.knee.x, list(view.selected_marker.get_xdata())
    (3, [4])
    """

    def __init__(self, table, ax=None, *, knee=None):
        check_elbow_table(table)
        order = np.argsort(np.asarray(table["k"]), kind="stable")
        k = np.asarray(table["k"])[order]
        inertia = np.asarray(table["inertia"], dtype=float)[order]
        if len(np.unique(k)) != len(k):
            raise ValueError("table lists some k more than once.")
        self._k, self._inertia = k, inertia
        self.ax = ax = _axes(ax)

        self.knee = knee if knee is not None and knee.x is not None else None

        (self.inertia_line,) = ax.plot(k, inertia, marker="o", color=OKABE_ITO["blue"],
                                       linewidth=2, label="inertia", zorder=3)
        kx = [self.knee.x] if self.knee else []
        ky = [self.knee.y] if self.knee else []
        (self.knee_marker,) = ax.plot(kx, ky, linestyle="", marker="o", markersize=16,
                                      markerfacecolor="none", markeredgecolor=OKABE_ITO["vermillion"],
                                      markeredgewidth=2.5, zorder=4,
                                      label=f"elbow (Kneedle): k = {self.knee.x}" if self.knee else "elbow")
        self.knee_line = ax.axvline(self.knee.x if self.knee else k[0], color=OKABE_ITO["vermillion"],
                                    linestyle=":", linewidth=1.2, visible=self.knee is not None)
        (self.selected_marker,) = ax.plot([], [], linestyle="", marker="*", markersize=18,
                                          color=OKABE_ITO["orange"], markeredgecolor="black",
                                          zorder=5, label="selected k", visible=False)
        self.selected_line = ax.axvline(k[0], color=OKABE_ITO["orange"], linewidth=6, alpha=0.25,
                                        visible=False, zorder=1)

        self.twin = None
        self.silhouette_line = None
        silhouette = np.asarray(table["silhouette"], dtype=float)[order] if "silhouette" in table else None
        if silhouette is not None and not np.isnan(silhouette).all():
            self.twin = ax.twinx()
            (self.silhouette_line,) = self.twin.plot(
                k, silhouette, marker="s", linestyle="--",
                color=OKABE_ITO["bluish green"], label="mean silhouette")
        ax.set_xticks(k)

    def draw(self, k_selected=None):
        """Highlight ``k_selected`` (one of the table's k), or nothing when None.

        Returns
        -------
        ElbowView
            self, so that calls chain.
        """
        if k_selected is None:
            self.selected_marker.set_visible(False)
            self.selected_line.set_visible(False)
            return self
        ks = self._k
        if isinstance(k_selected, (bool, np.bool_)) or not isinstance(k_selected, numbers.Real):
            raise TypeError(f"k_selected must be a number of clusters, got {k_selected!r}.")
        hit = np.flatnonzero(ks == k_selected)
        if not hit.size:
            raise ValueError(f"k_selected = {k_selected!r} is not in the table (k = "
                             f"{', '.join(map(str, ks.tolist()))}).")
        y = float(self._inertia[hit[0]])
        k = ks[hit[0]].item()
        self.selected_marker.set_data([k], [y])
        self.selected_line.set_xdata([k, k])
        self.selected_marker.set_visible(True)
        self.selected_line.set_visible(True)
        return self

    def finalize(self):
        """Title, axis labels and one legend for both y axes."""
        ax = self.ax
        ax.set_title("Elbow method: inertia for each k")
        ax.set_xlabel("number of clusters k")
        ax.set_ylabel("inertia (within-cluster sum of squares)")
        handles = [self.inertia_line]
        if self.knee is not None:
            handles.append(self.knee_marker)
        if self.selected_marker.get_visible():
            handles.append(self.selected_marker)
        if self.twin is not None:
            self.twin.set_ylabel("mean silhouette (higher is better)")
            handles.append(self.silhouette_line)
        # Below the plot: inside, it would hide part of one curve or the other.
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2,
                  frameon=False)
        return self


class SilhouetteView:
    """Every point's silhouette, cluster by cluster: the "knife" plot.

    Each cluster is a band of horizontal bars, one per point, sorted within
    the cluster, in the cluster's colour; a dashed line marks the mean
    silhouette (:func:`~kmeans_tutor.core.metrics.silhouette_score`). A good
    clustering has wide knives that all reach past the line; thin or negative
    slivers are points that sit between clusters. Each knife is numbered on
    its left, 1 … k for cluster ids 0 … k−1 (the step captions' numbering).
    After scikit-learn's gallery example "Selecting the number of clusters
    with silhouette analysis".

    The view computes nothing: give ``draw`` the labels and the silhouettes
    (:func:`~kmeans_tutor.core.metrics.silhouette_samples`).

    Parameters
    ----------
    ax : matplotlib Axes, optional

    Attributes
    ----------
    knives : PolyCollection
        One step-shaped polygon per cluster (cluster order): point i of a
        cluster spans y from ``y0 + i`` to ``y0 + i + 1`` and x from 0 to its
        silhouette.
    mean_line : Line2D
    silhouette_values_ : ndarray of shape (n_samples,)
        The silhouettes last drawn; ``score_`` their mean; ``clusters_`` the
        cluster ids in drawing order (bottom up).

    Examples
    --------
    >>> from kmeans_tutor import silhouette_samples
    >>> X, labels = [[0, 0], [0, 1], [5, 0], [5, 1]], [0, 0, 1, 1]
    >>> view = SilhouetteView().draw(labels, silhouette_samples(X, labels)).finalize()
    >>> round(view.score_, 3)
    0.802
    """

    def __init__(self, ax=None):
        self.ax = ax = _axes(ax)
        self.knives = PolyCollection([], linewidths=0.5, zorder=2)
        ax.add_collection(self.knives)
        ax.axvline(0.0, color="#999999", linewidth=0.8, zorder=1)
        self.mean_line = ax.axvline(0.0, color="black", linestyle="--", linewidth=1.3,
                                    visible=False, zorder=3)
        self.mean_text = ax.text(0.0, 1.0, "", transform=ax.get_xaxis_transform(),
                                 ha="left", va="bottom", fontsize=10, visible=False)
        self._cluster_texts = []
        self.silhouette_values_ = None
        self.score_ = None
        self.clusters_ = None

    def draw(self, labels, silhouettes):
        """Show the silhouettes of the clustering ``labels``.

        Parameters
        ----------
        labels : array-like of shape (n_samples,)
            Cluster of each point.
        silhouettes : array-like of shape (n_samples,)
            Each point's silhouette, e.g. ``silhouette_samples(X, labels)``.

        Returns
        -------
        SilhouetteView
            self, so that calls chain.
        """
        labels = np.asarray(labels)
        s = np.asarray(silhouettes, dtype=float)
        if labels.ndim != 1 or s.shape != labels.shape:
            raise ValueError(f"labels and silhouettes must be 1-D and of the same length; got "
                             f"shapes {labels.shape} and {s.shape}.")
        if not np.all(np.isfinite(s)) or np.any(np.abs(s) > 1):
            raise ValueError("silhouettes must be finite numbers between -1 and 1.")
        clusters = np.unique(labels)
        middles, y0 = self._draw_knives(labels, s, clusters)
        self._number_knives(clusters, middles, s)
        mean = float(s.mean())
        self.mean_line.set_xdata([mean, mean])
        self.mean_line.set_visible(True)
        self.mean_text.set_position((mean, 1.0))
        self.mean_text.set_text(f" mean {mean:.2f}")
        self.mean_text.set_visible(True)
        self.ax.set_xlim(min(-0.1, float(s.min()) - 0.05), 1.0)
        self.ax.set_ylim(0, y0)
        self.silhouette_values_, self.score_, self.clusters_ = s, mean, clusters
        return self

    def _draw_knives(self, labels, s, clusters):
        """One step-shaped polygon per cluster, values rising bottom to top;
        returns the middle of each knife and the top of the last."""
        gap = max(2, round(0.03 * len(labels)))  # blank rows between two knives
        verts, middles = [], []
        y0 = gap
        for c in clusters:
            values = np.sort(s[labels == c])
            m = len(values)
            y = y0 + np.arange(m + 1)
            xs = np.repeat(values, 2)
            ys = np.column_stack([y[:-1], y[1:]]).ravel()
            verts.append(np.column_stack([np.concatenate([[0.0], xs, [0.0]]),
                                          np.concatenate([[y0], ys, [y0 + m]])]))
            middles.append(y0 + m / 2)
            y0 += m + gap
        colours = [cluster_style(j)[0] for j in _style_indices(clusters.tolist())]
        self.knives.set_verts(verts)
        self.knives.set_facecolor(colours)
        self.knives.set_edgecolor([edge_color(c) for c in colours])
        return middles, y0

    def _number_knives(self, clusters, middles, s):
        """Cluster numbers (1 … k) left of the knives: reuse text artists, hide the spare ones."""
        while len(self._cluster_texts) < len(clusters):
            self._cluster_texts.append(self.ax.text(0, 0, "", ha="left", va="center", fontsize=10))
        x_min = min(-0.1, float(s.min()) - 0.05)
        for t, name, y in zip(self._cluster_texts, _cluster_numbers(clusters.tolist()), middles):
            t.set_position((x_min + 0.01 * (1 - x_min), y))
            t.set_text(name)
            t.set_visible(True)
        for t in self._cluster_texts[len(clusters):]:
            t.set_visible(False)

    def finalize(self):
        """Title and axis labels."""
        ax = self.ax
        ax.set_title("Silhouette of every point, by cluster", pad=16)
        ax.set_xlabel("silhouette coefficient (−1 wrong cluster … +1 well inside)")
        ax.set_ylabel("cluster (points sorted within it)")
        ax.set_yticks([])
        return self


# ----------------------------------------------------------------------------- a run so far


class InertiaSoFar(InertiaView):
    """The inertia staircase of a run, drawn only up to the step on screen.

    An :class:`~kmeans_tutor.views.step_views.InertiaView` whose staircase,
    markers and rise warnings stop at the step drawn, so the picture never
    tells a learner what the next step will do. Like every view it draws a step
    from that step alone: going back shortens the staircase again, and the
    picture of a step is the same however it was reached. ``show_all=True``
    draws the whole run at once. The axes keep the limits of the whole run, so
    nothing jumps while stepping.

    Parameters
    ----------
    trace_or_steps : Trace, KMeansRun or sequence of Step
    ax : matplotlib Axes, optional
    show_all : bool, default=False
        Draw every step from the start.
    log : bool, default=False

    Attributes
    ----------
    shown_upto : int
        The last step index drawn.
    show_all : bool

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from kmeans_tutor.core.lloyd import kmeans_steps
    >>> from kmeans_tutor import load_dataset
    >>> trace = kmeans_steps(load_dataset("blobs").X, 3, random_state=0).trace()
    >>> view = InertiaSoFar(trace, ax=Figure().add_subplot())
    >>> _ = view.draw(trace[3])
    >>> int(view.staircase.get_xdata().max()) <= 3
    True
    """

    def __init__(self, trace_or_steps, *, ax=None, show_all=False, log=False):
        super().__init__(trace_or_steps, ax=ax, log=log)
        phases = np.array(self.phases, dtype=object)
        self._by_phase = {phase: phases == phase for phase in self.markers}
        self._step_index = self._first
        self.show_all = bool(show_all)
        self.shown_upto = self._first
        self._reveal(self._last if self.show_all else self._first)

    def set_show_all(self, show_all: bool) -> list:
        """Draw the whole run (True) or only up to the step drawn last (False)."""
        self.show_all = bool(show_all)
        return self._reveal(self._last if self.show_all else self._step_index)

    def draw(self, step) -> list:
        """Move the cursor to ``step.index`` and draw the staircase up to it."""
        out = super().draw(step)
        self._step_index = int(step.index)
        self._reveal(self._last if self.show_all else self._step_index)
        return out

    def _reveal(self, upto: int) -> list:
        """Show the staircase, markers and rises of the steps with index ≤ ``upto``."""
        keep = self.indices <= upto
        self.staircase.set_data(self.indices[keep], self.inertias[keep])
        for phase, line in self.markers.items():
            sel = self._by_phase[phase] & keep
            line.set_data(self.indices[sel], self.inertias[sel])
        rises = self.rises[self.rises <= upto]
        if rises.size:
            where = np.searchsorted(self.indices, rises)
            self.rise_line.set_data(rises, self.inertias[where])
        else:
            self.rise_line.set_data([], [])
        self.shown_upto = int(upto)
        return self.artists
