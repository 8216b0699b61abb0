"""Matplotlib views of K-means steps: build once, then ``draw(step)`` many times.

Every view follows the same life cycle (Yellowbrick's fit/draw/finalize):

1. **Build** it once on an Axes (``ax=None`` uses the current Axes). The view
   creates all its artists here, precomputes whatever depends on the data only
   (projected coordinates, pixel grids), and fixes the axis limits.
2. **draw(step)** only updates those artists — ``set_data``, image ``set_data``,
   ``set_text``, visibility — from the step alone. A step carries everything
   that changed (points that switched, where the centres were, the D²
   probabilities), so any step can be drawn in any order: scrubbing backwards
   is free and no K-means is ever re-run here.
3. **finalize()** adds titles, axis labels and the legend.

Three views:

- :class:`StepView` — points coloured and shaped by cluster, centres, the
  centres' moves, the points that changed cluster, optional nearest-centre
  regions; above ``density_threshold`` points a per-cluster density image.
- :class:`SeedingView` — how a seeding pick was made: D² probabilities for
  k-means++, distances for farthest-point, uniform for random.
- :class:`InertiaView` — the inertia after every step as a staircase, with a
  cursor on the current step: inertia never rises.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> >>> from kmeans_tutor import run_kmeans
>>> from kmeans_tutor.views import StepView, InertiaView
>>> X = [[1, 1], [1, 2], [2, 1], [8, 8], [9, 8], [8, 9]]
>>> trace = run_kmeans(X, 2, random_state=0)
>>> fig, (ax1, ax2) = plt.subplots(1, 2)
>>> view = StepView(X, 2, ax=ax1, voronoi=True).finalize()
>>> curve = InertiaView(trace, ax=ax2).finalize()
>>> for step in trace:
...     _ = view.draw(step), curve.draw(step)
>>> plt.close(fig)
"""

from __future__ import annotations

import numbers
import textwrap

import numpy as np
from matplotlib.colors import Normalize, to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..core.kernels import nearest_centers
from ..core.seeding import local_trials
from ..core.steps import AssignStep, EmptyClusterEvent, SeedStep, Step, UpdateStep, as_steps
from ..core.validation import check_array
from .palette import (
    CLUSTER_COLORS,
    OKABE_ITO,
    UNASSIGNED,
    cluster_colors,
    cluster_markers,
    cluster_style,
    edge_color,
    probability_cmap,
    region_cmap,
)

__all__ = ["StepView", "SeedingView", "InertiaView", "Projection", "data_limits"]


# --- shared helpers ------------------------------------------------------------------
def _get_ax(ax):
    """The given Axes, or pyplot's current one."""
    if ax is not None:
        return ax
    # pyplot only when asked for its current Axes: apps, lessons and exports draw on
    # their own Figures, and importing pyplot costs every kernel ~15 ms and its global state.
    import matplotlib.pyplot as plt

    return plt.gca()


def _point_size(n: int) -> float:
    """Marker size (points) that keeps n points readable: 6 at 200 points,
    about 2.3 at 10,000, never below 1.5."""
    return float(np.clip(6.0 * (200.0 / max(n, 1)) ** 0.25, 1.5, 7.0))


def _fmt_num(x: float) -> str:
    """A number for a label: thousands separators, no exponent below 10¹²."""
    if abs(x) >= 100 and abs(x) < 1e12:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def data_limits(xy: np.ndarray, extra: np.ndarray | None = None, *, pad: float = 0.05,
                top: float = 0.0, min_aspect: float = 0.5):
    """Axis limits ``((x0, x1), (y0, y1))`` around projected points.

    Parameters
    ----------
    xy : ndarray of shape (n, 2)
        Projected data.
    extra : ndarray of shape (m, 2), optional
        More points to keep in view (e.g. every centre of a run).
    pad : float, default=0.05
        Margin on each side, as a fraction of the range.
    top : float, default=0.0
        Extra head-room above, as a fraction of the y range (room for a caption).
    min_aspect : float, default=0.5
        Neither range is made narrower than this fraction of the other (the
        narrow one is widened around its middle), so that an equal-aspect
        plot of elongated data is not a sliver.
    """
    pts = xy if extra is None or len(extra) == 0 else np.vstack([xy, extra])
    lo, hi = pts.min(axis=0).astype(float), pts.max(axis=0).astype(float)
    span = hi - lo
    span[span <= 0] = np.maximum(np.abs(lo[span <= 0]) * 0.1, 1.0)  # all equal: open a window
    mid = (lo + hi) / 2
    span = np.maximum(span, min_aspect * span[::-1])
    lo, hi = mid - span / 2 - pad * span, mid + span / 2 + pad * span
    hi[1] += top * span[1]
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def _pixel_centres(limits, shape):
    """Data coordinates of the centre of every pixel of an image with
    ``origin="lower"`` covering ``limits``; shape (ny * nx, 2), row-major."""
    (x0, x1), (y0, y1) = limits
    ny, nx = shape
    xs = x0 + (np.arange(nx) + 0.5) * (x1 - x0) / nx
    ys = y0 + (np.arange(ny) + 0.5) * (y1 - y0) / ny
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def _grid_shape(bins) -> tuple[int, int]:
    """(ny, nx) from an int or an (nx, ny) pair."""
    if isinstance(bins, numbers.Integral):
        nx = ny = int(bins)
    else:
        nx, ny = (int(b) for b in bins)
    if nx < 1 or ny < 1:
        raise ValueError(f"A pixel grid needs at least 1×1 cells; got {bins!r}.")
    return ny, nx


class Projection:
    """How d-dimensional data become the two plotted coordinates.

    Either two columns, picked by index or name (``features=(i, j)``), or the
    first two principal components (``projection="pca"``: the data are
    centred and decomposed with numpy's SVD). Centres go through the same
    affine map, so a projected centre is still the mean of its projected points.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated data (float64).
    features : pair of int or str, default=(0, 1)
        Columns to plot when ``projection`` is None.
    projection : {None, "pca"}
    feature_names : sequence of str, optional

    Attributes
    ----------
    kind : {"features", "pca", "line"}
        "line" for one-dimensional data (plotted along x, y = 0).
    columns : tuple of int
        The plotted columns ("features" and "line").
    mean : ndarray of shape (n_features,)
        "pca": the data mean.
    components : ndarray of shape (2, n_features)
        "pca": unit principal axes; each one's largest loading is positive.
    explained_variance_ratio : ndarray of shape (2,)
        "pca": share of the total variance along each axis.
    approximate : bool
        True when the picture drops dimensions (more than two features): the
        distances seen on screen are then not the ones K-means uses.
    """

    def __init__(self, X: np.ndarray, *, features=(0, 1), projection=None, feature_names=None):
        n, d = X.shape
        self.n_features = d
        if feature_names is not None:
            feature_names = [str(f) for f in feature_names]
            if len(feature_names) != d:
                raise ValueError(f"feature_names has {len(feature_names)} names but X has {d} columns.")
        self.feature_names = feature_names
        self.mean = self.components = self.explained_variance_ratio = None
        if projection is None:
            if d == 1:
                self.kind, self.columns = "line", (0,)
            else:
                self.kind, self.columns = "features", self._resolve(features)
        elif isinstance(projection, str) and projection.lower() == "pca":
            if d < 2:
                raise ValueError("projection='pca' needs at least 2 features; X has 1.")
            self.kind, self.columns = "pca", ()
            self._fit_pca(X)
        else:
            raise ValueError(f"projection must be None or 'pca'; got {projection!r}.")

    def _resolve(self, features) -> tuple[int, int]:
        """Two distinct column indices from indices or names."""
        if features is None:
            features = (0, 1)
        if isinstance(features, (str, bytes)) or len(features) != 2:
            raise ValueError(f"features must be a pair of column indices or names; got {features!r}.")
        cols = []
        for f in features:
            if isinstance(f, str):
                if self.feature_names is None or f not in self.feature_names:
                    known = self.feature_names or "none (X has no column names)"
                    raise ValueError(f"Unknown feature {f!r}; known names: {known}.")
                cols.append(self.feature_names.index(f))
            elif isinstance(f, numbers.Integral) and not isinstance(f, bool):
                if not 0 <= int(f) < self.n_features:
                    raise ValueError(f"Feature index {f} is out of range for X with "
                                     f"{self.n_features} columns.")
                cols.append(int(f))
            else:
                raise TypeError(f"A feature is a column index or name; got {f!r}.")
        if cols[0] == cols[1]:
            raise ValueError(f"features must name two different columns; got {features!r}.")
        return cols[0], cols[1]

    def _fit_pca(self, X):
        """Top two principal axes of X, via the SVD of the R factor of the
        centred data (same right singular vectors as the data itself, but no
        n × d matrix U is ever formed)."""
        self.mean = X.mean(axis=0)
        Xc = X - self.mean
        if Xc.shape[0] > Xc.shape[1]:
            Xc = np.linalg.qr(Xc, mode="r")
        _, s, vt = np.linalg.svd(Xc, full_matrices=False)
        comps = vt[:2].copy()
        # Deterministic signs: each axis' largest loading points the positive way.
        flip = np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])
        comps *= np.where(flip == 0, 1.0, flip)[:, None]
        self.components = comps  # (2, d)
        total = float(np.sum(s**2))
        self.explained_variance_ratio = (s[:2] ** 2 / total) if total > 0 else np.zeros(2)

    @property
    def approximate(self) -> bool:
        return self.n_features > 2

    def transform(self, A) -> np.ndarray:
        """Plot coordinates of rows of A (data or centres), shape (m, 2)."""
        A = np.asarray(A, dtype=float)
        if self.kind == "pca":
            return (A - self.mean) @ self.components.T
        if self.kind == "line":
            return np.column_stack([A[:, 0], np.zeros(A.shape[0])])
        return A[:, list(self.columns)]

    def _name(self, j: int) -> str:
        return self.feature_names[j] if self.feature_names is not None else f"feature {j}"

    @property
    def labels(self) -> tuple[str, str]:
        """Axis labels (x, y)."""
        if self.kind == "pca":
            r = self.explained_variance_ratio
            # Plain words, not "PC1": the lessons do not teach PCA.
            return (f"widest direction ({r[0]:.0%} of the spread)",
                    f"second-widest direction ({r[1]:.0%} of the spread)")
        if self.kind == "line":
            return (self._name(0), "")
        return (self._name(self.columns[0]), self._name(self.columns[1]))

    @property
    def description(self) -> str:
        """One line saying what the picture shows ("" when it shows all the data)."""
        d = self.n_features
        if self.kind == "pca" and d > 2:
            return (f"{d} features seen from the angle where the points spread most "
                    f"({self.explained_variance_ratio.sum():.0%} of the spread shows)")
        if self.kind == "features" and d > 2:
            return f"2 of {d} features"
        return ""


def _make_projection(X, features, projection, feature_names) -> Projection:
    if isinstance(projection, Projection):
        if projection.n_features != X.shape[1]:
            raise ValueError(f"The projection is for {projection.n_features} features; "
                             f"X has {X.shape[1]}.")
        return projection
    return Projection(X, features=features, projection=projection, feature_names=feature_names)


class _Caption:
    """A wrapped sentence in a light box at the top left, inside the axes."""

    def __init__(self, ax, fontsize: float = 8.0):
        self.ax = ax
        self.fontsize = fontsize
        self.text = ax.text(0.012, 0.985, "", transform=ax.transAxes, ha="left", va="top",
                            fontsize=fontsize, zorder=10, clip_on=False,
                            bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="0.75", alpha=0.88))

    def set(self, sentence: str):
        fig = self.ax.figure
        width_pt = fig.get_figwidth() * self.ax.get_position().width * 72 * 0.95
        chars = max(24, int(width_pt / (0.56 * self.fontsize)))
        self.text.set_text(textwrap.fill(sentence, width=chars))


def _check_step(step, n: int, d: int, k: int | None):
    """A step that fits the view's data; errors name the mismatch."""
    if not isinstance(step, Step):
        raise TypeError(f"draw() takes a Step; got {type(step).__name__}.")
    if step.centers.ndim != 2 or step.centers.shape[1] != d:
        raise ValueError(f"The step's centres have {step.centers.shape[-1]} features; "
                         f"the view's data have {d}.")
    if step.labels is not None and step.labels.shape[0] != n:
        raise ValueError(f"The step labels {step.labels.shape[0]:,} points; the view has {n:,}. "
                         f"Build the view on the X the run was made on.")
    if k is not None and step.n_clusters > k:
        raise ValueError(f"The step has {step.n_clusters} centres; the view was built for {k}.")


# --- StepView -------------------------------------------------------------------------
class StepView:
    """Points by cluster, centres and what a step changed, on one Axes.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        The data the run was made on.
    n_clusters : int
        k, the number of clusters of the run.
    ax : matplotlib Axes, optional
        Where to draw; default the current Axes.
    features : pair of int or str, default=(0, 1)
        The two columns to plot (by index or by name) when X has more than two.
    projection : {None, "pca"} or Projection, optional
        "pca" plots the first two principal components instead of two columns.
    feature_names : sequence of str, optional
        Column names (taken from a DataFrame X when not given).
    voronoi : bool, default=False
        Tint each pixel by its nearest centre (the regions the next assign
        step will use). Computed in ``draw`` from the centres only: pixels × k.
    density_threshold : int, default=100_000
        Above this many points, draw a per-cluster density image instead of
        markers, so a frame costs about the same at 1M points as at 10k.
    show_caption : bool, default=True
        Show ``step.describe()`` in a box at the top of the axes.
    greyscale : bool, default=False
        Greys of distinct lightness instead of colours (shapes stay).
    limits : ((x0, x1), (y0, y1)), optional
        Fixed axis limits; default: the data with a margin (and head-room
        for the caption). Pass them when centres may leave the data's box
        (centres placed by hand).
    density_bins : int or (nx, ny), default=200
        Grid of the density image.
    voronoi_resolution : int or (nx, ny), default=200
        Grid of the region image.
    marker_size : float, optional
        Point marker size; default shrinks with n.
    max_highlight : int, default=5_000
        At most this many changed points are ringed; beyond, every m-th one
        (the caption says so).
    equal_aspect : bool, default=True
        Same scale on both axes, so that distances look like what K-means
        measures (unscaled features then show as a thin strip — on purpose).

    Attributes
    ----------
    mode : {"points", "density"}
    point_lines : list of Line2D
        Points mode: one line of markers per cluster (data = the cluster's points).
    unassigned_line : Line2D
        Points mode: every point, grey, before the first assignment.
    center_lines : list of Line2D
        One single-point line per cluster: its centre (empty while not seeded).
    old_center_lines : list of Line2D
        Hollow markers where the centres were (update and empty-cluster steps).
    arrows : list of Annotation
        Arrow ``xyann → xy`` from each old centre to its new place (visible if it moved).
    changed_line : Line2D
        Rings around the points that changed cluster in an assign step.
    pick_line : Line2D
        Ring around the point picked by a seeding step or relocated to an empty cluster.
    region_image, density_image : AxesImage or None
    sentence : str
        The caption of the last step drawn (kept even when ``show_caption`` is
        False, for a caption placed elsewhere).
    density_counts : ndarray of shape (ny, nx, k) or None
        The per-cluster histograms behind the last density frame
        (shape (ny, nx, 1) before the first assignment).
    """

    def __init__(self, X, n_clusters, *, ax=None, features=(0, 1), projection=None,
                 feature_names=None, voronoi=False, density_threshold=100_000, show_caption=True,
                 greyscale=False, limits=None, density_bins=200, voronoi_resolution=200,
                 marker_size=None, max_highlight=5_000, equal_aspect=True):
        X, names = check_array(X, min_samples=1)
        if feature_names is None:
            feature_names = names
        if not isinstance(n_clusters, numbers.Integral) or isinstance(n_clusters, bool) or n_clusters < 1:
            raise ValueError(f"n_clusters must be a positive integer; got {n_clusters!r}.")
        if not isinstance(density_threshold, numbers.Integral) or density_threshold < 0:
            raise ValueError(f"density_threshold must be a non-negative integer; got {density_threshold!r}.")
        self.X = X
        self.n, self.d = X.shape
        self.k = k = int(n_clusters)
        self.greyscale = bool(greyscale)
        self.voronoi = bool(voronoi)
        self.show_caption = bool(show_caption)
        self.max_highlight = int(max_highlight)
        self.projection = _make_projection(X, features, projection, feature_names)
        self.xy = self.projection.transform(X)  # (n, 2), computed once
        self.limits = limits if limits is not None else data_limits(
            self.xy, top=0.16 if show_caption else 0.0,
            min_aspect=0.5 if equal_aspect and self.projection.kind != "line" else 0.0)
        (x0, x1), (y0, y1) = self.limits
        self.ax = ax = _get_ax(ax)
        self.mode = "density" if self.n > density_threshold else "points"
        self.colors = cluster_colors(k, greyscale=self.greyscale)
        self.markers = cluster_markers(k)
        grey = "#c8c8c8" if self.greyscale else UNASSIGNED
        ms = _point_size(self.n) if marker_size is None else float(marker_size)
        self.marker_size = ms
        self._setup_regions(voronoi_resolution)
        self._setup_points(density_bins, grey)
        self._setup_centres()
        self.changed_line, = ax.plot([], [], ls="none", marker="o", ms=2 * ms + 3, mfc="none",
                                     mec="black", mew=0.9, zorder=3)
        self.pick_line, = ax.plot([], [], ls="none", marker="o", ms=21, mfc="none", mec="black",
                                  mew=2.2, zorder=7)
        self.caption = _Caption(ax) if self.show_caption else None
        self.sentence = ""

        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_autoscale_on(False)
        if equal_aspect and self.projection.kind != "line":
            ax.set_aspect("equal", adjustable="box")
        if self.projection.kind == "line":
            ax.set_yticks([])

    def _setup_regions(self, resolution):
        """Nearest-centre regions: a label image over the visible area (Voronoi only)."""
        self.region_image = None
        if not self.voronoi:
            return
        (x0, x1), (y0, y1) = self.limits
        self._region_shape = _grid_shape(resolution)
        self._region_grid = _pixel_centres(self.limits, self._region_shape)  # (p, 2)
        self.region_image = self.ax.imshow(
            np.ma.masked_all(self._region_shape), extent=(x0, x1, y0, y1), origin="lower",
            cmap=region_cmap(self.k, greyscale=self.greyscale), norm=Normalize(-0.5, self.k - 0.5),
            interpolation="nearest", interpolation_stage="rgba", alpha=0.22, zorder=0, aspect="auto")

    def _setup_points(self, density_bins, grey):
        """Points: one Line2D of markers per cluster, or one density image."""
        self.point_lines, self.unassigned_line = [], None
        self.density_image, self.density_counts = None, None
        if self.mode == "density":
            self._setup_density(density_bins, grey)
            return
        ms = self.marker_size
        self.unassigned_line, = self.ax.plot([], [], ls="none", marker="o", ms=ms, mfc=grey,
                                             mec=edge_color(grey, 0.8), mew=0.3, zorder=2)
        for c, m in zip(self.colors, self.markers):
            line, = self.ax.plot([], [], ls="none", marker=m, ms=ms, mfc=c, mec=edge_color(c),
                                 mew=0.4, zorder=2)
            self.point_lines.append(line)

    def _setup_centres(self):
        """Centres, where they were, and arrows between (a fixed set, reused)."""
        (x0, _), (y0, _) = self.limits
        self.old_center_lines, self.arrows, self.center_lines = [], [], []
        for c, m in zip(self.colors, self.markers):
            old, = self.ax.plot([], [], ls="none", marker=m, ms=13, mfc="none", mec=edge_color(c, 0.85),
                                mew=1.6, zorder=4)
            arrow = self.ax.annotate("", xy=(x0, y0), xytext=(x0, y0), xycoords="data", textcoords="data",
                                     annotation_clip=False, zorder=5,
                                     arrowprops=dict(arrowstyle="-|>", color=edge_color(c, 0.85), lw=1.8,
                                                     shrinkA=5, shrinkB=7, mutation_scale=14))
            arrow.set_visible(False)
            centre, = self.ax.plot([], [], ls="none", marker=m, ms=15, mfc=c, mec="black", mew=1.8,
                                   zorder=6)
            self.old_center_lines.append(old)
            self.arrows.append(arrow)
            self.center_lines.append(centre)

    def _setup_density(self, bins, grey):
        """Bin every point once; later frames only count labels per pixel."""
        self._density_shape = ny, nx = _grid_shape(bins)
        (x0, x1), (y0, y1) = self.limits
        ix = np.floor((self.xy[:, 0] - x0) / (x1 - x0) * nx).astype(np.int64)
        iy = np.floor((self.xy[:, 1] - y0) / (y1 - y0) * ny).astype(np.int64)
        np.clip(ix, 0, nx - 1, out=ix)
        np.clip(iy, 0, ny - 1, out=iy)
        self._pixel = iy * nx + ix  # (n,) pixel of every point, row-major, origin lower
        self._pixel_k = self._pixel * self.k  # (n,) so that pixel*k + label is one add per frame
        total = np.bincount(self._pixel, minlength=ny * nx)  # (p,) points per pixel: labels don't change it
        self._total = total
        # Opacity from the (log) number of points in the pixel: fixed for the whole run.
        level = np.log1p(total) / np.log1p(max(int(total.max()), 1))
        self._rgba = np.zeros((ny * nx, 4), dtype=np.uint8)
        self._rgba[:, 3] = np.where(total > 0, np.round(255 * (0.3 + 0.7 * level)), 0).astype(np.uint8)
        # Row j: cluster j's colour; row k: grey for unassigned points.
        self._rgb_table = np.round(255 * np.array([to_rgb(c) for c in [*self.colors, grey]])).astype(np.uint8)
        (x0, x1), (y0, y1) = self.limits
        self.density_image = self.ax.imshow(
            self._rgba.reshape(ny, nx, 4), extent=(x0, x1, y0, y1), origin="lower",
            interpolation="nearest", zorder=1, aspect="auto")

    # --- drawing -----------------------------------------------------------------------
    @property
    def figure(self):
        """The Figure the view draws on."""
        return self.ax.figure

    @property
    def artists(self) -> list:
        """Every artist the view owns (what a blitting animation redraws)."""
        out = [a for a in (self.region_image, self.density_image, self.unassigned_line) if a is not None]
        out += self.point_lines + self.old_center_lines + self.arrows + self.center_lines
        out += [self.changed_line, self.pick_line]
        if self.caption is not None:
            out.append(self.caption.text)
        return out

    def set_points_visible(self, visible: bool):
        """Show or hide the data points (markers or density image), e.g. while
        another view shades them."""
        for a in [self.unassigned_line, self.density_image, *self.point_lines]:
            if a is not None:
                a.set_visible(visible)

    def draw(self, step: Step) -> list:
        """Show one step; returns the artists (for blitting)."""
        _check_step(step, self.n, self.d, self.k)
        C = self.projection.transform(step.centers)  # (m, 2), m ≤ k during seeding
        m = C.shape[0]
        self._draw_points(step.labels)
        for j, line in enumerate(self.center_lines):
            line.set_data(C[j:j + 1, 0], C[j:j + 1, 1]) if j < m else line.set_data([], [])

        # Clear what only some kinds of step show.
        for line, arrow in zip(self.old_center_lines, self.arrows):
            line.set_data([], [])
            arrow.set_visible(False)
        self.changed_line.set_data([], [])
        self.pick_line.set_data([], [])
        note = ""
        if isinstance(step, UpdateStep):
            old = self.projection.transform(step.previous_centers)
            self._draw_moves(range(m), old, C, step.shifts > 0)
        elif isinstance(step, AssignStep):
            # On the first assignment every point "changed": ringing all says nothing.
            if step.previous_inertia is not None:
                note = self._draw_changed(step.changed)
        elif isinstance(step, SeedStep):
            if step.chosen >= 0:
                self._set_points(self.pick_line, np.array([step.chosen]))
        elif isinstance(step, EmptyClusterEvent):
            if step.relocated_to is not None:
                self._set_points(self.pick_line, np.asarray(step.relocated_to))
            clusters = np.asarray(step.clusters)
            new = self.projection.transform(step.new_centers)
            moved = np.any(step.new_centers != step.centers[clusters], axis=1)
            self._draw_moves(clusters, C[clusters], new, moved)

        if self.region_image is not None:
            labels = nearest_centers(self._region_grid, np.ascontiguousarray(C, dtype=np.float64))
            self.region_image.set_data(labels.reshape(self._region_shape))
        sentence = step.describe() + note
        if self.region_image is not None and self.projection.approximate:
            sentence += (f" (Shaded regions: nearest centre in this 2-D view of "
                         f"{self.d}-D data — approximate.)")
        self.sentence = sentence
        if self.caption is not None:
            self.caption.set(sentence)
        return self.artists

    def _set_points(self, line, rows):
        line.set_data(self.xy[rows, 0], self.xy[rows, 1])

    def _draw_points(self, labels):
        """Points by cluster: split rows by label (one stable sort), or count
        labels per pixel in density mode."""
        if self.mode == "density":
            self._draw_density(labels)
            return
        if labels is None:
            self.unassigned_line.set_data(self.xy[:, 0], self.xy[:, 1])
            for line in self.point_lines:
                line.set_data([], [])
            return
        self.unassigned_line.set_data([], [])
        order = np.argsort(labels, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=self.k))])
        for j, line in enumerate(self.point_lines):
            self._set_points(line, order[bounds[j]:bounds[j + 1]])

    def _draw_density(self, labels):
        ny, nx = self._density_shape
        if labels is None:
            counts = self._total[:, None]  # (p, 1): all grey
            self._rgba[:, :3] = self._rgb_table[self.k]
        else:
            counts = np.bincount(self._pixel_k + labels, minlength=ny * nx * self.k)
            counts = counts.reshape(ny * nx, self.k)  # (p, k)
            # Each pixel takes the colour of its most numerous cluster (lowest index on ties).
            self._rgba[:, :3] = self._rgb_table[counts.argmax(axis=1)]
        self.density_counts = counts.reshape(ny, nx, -1)
        self.density_image.set_data(self._rgba.reshape(ny, nx, 4))

    def _draw_moves(self, clusters, old, new, moved):
        """Hollow old centres and an arrow old → new for the given clusters."""
        for i, j in enumerate(clusters):
            self.old_center_lines[j].set_data(old[i:i + 1, 0], old[i:i + 1, 1])
            arrow = self.arrows[j]
            arrow.xy = (float(new[i, 0]), float(new[i, 1]))
            arrow.xyann = (float(old[i, 0]), float(old[i, 1]))
            # A centre that moved only along a hidden dimension has no arrow to show.
            arrow.set_visible(bool(moved[i]) and bool(np.any(old[i] != new[i])))

    def _draw_changed(self, changed) -> str:
        rows = np.asarray(changed)
        note = ""
        if rows.size > self.max_highlight:
            stride = -(-rows.size // self.max_highlight)
            rows = rows[::stride]
            note = f" (Ringed: 1 in {stride} of the points that changed.)"
        self._set_points(self.changed_line, rows)
        return note

    def finalize(self, title=None, *, legend="right", extra_handles=()) -> "StepView":
        """Axis labels, a title and the legend.

        Parameters
        ----------
        title : str, optional
            Default: what the projection shows ("" for plain 2-D data).
        legend : {"right", "inside"}, other matplotlib ``loc``, or None
            "right" puts the legend outside the axes on the right.
        extra_handles : sequence of artists
            More legend entries (e.g. from a view drawn on the same axes).
        """
        ax = self.ax
        xlabel, ylabel = self.projection.labels
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title is None:
            title = self.projection.description
        if title:
            ax.set_title(title, fontsize=12)
        if legend:
            handles = [Line2D([], [], ls="none", marker=m, ms=6, mfc=c, mec=edge_color(c), mew=0.5,
                              label=f"cluster {j + 1}")
                       for j, (c, m) in enumerate(zip(self.colors, self.markers))]
            if self.mode == "density":
                handles.append(Patch(fc="0.6", label="density (colour: main cluster)"))
            handles += [
                Line2D([], [], ls="none", marker="o", ms=9, mfc="0.6", mec="black", mew=1.8,
                       label="centre (shape: cluster)"),
                Line2D([], [], ls="none", marker="o", ms=8, mfc="none", mec="0.4", mew=1.4,
                       label="centre before update"),
                Line2D([], [], ls="none", marker="o", ms=7, mfc="none", mec="black", mew=0.9,
                       label="changed cluster"),
                Line2D([], [], ls="none", marker="o", ms=11, mfc="none", mec="black", mew=2.0,
                       label="picked point"),
            ]
            if self.region_image is not None:
                handles.append(Patch(fc="0.85", label="nearest-centre region"))
            handles += list(extra_handles)
            if legend == "right":
                ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                          borderaxespad=0.0, fontsize=9.6, frameon=False)
            else:
                ax.legend(handles=handles, loc="lower right" if legend == "inside" else legend,
                          fontsize=9.6, framealpha=0.85)
        return self


# --- SeedingView ----------------------------------------------------------------------
#: Beyond this share of an axis, a candidate's label goes to the other side of its point.
_LABEL_EDGE = 0.8
#: Offset (points) of a candidate's label from its point, and its font size.
_LABEL_OFFSET = 6
_LABEL_SIZE = 9


#: Where a candidate's label may go, in order of preference: (on the other side left/right, on the
#: other side up/down, one label height further) from where the axes' edges first put it.
_LABEL_SIDES = ((False, False, 0), (False, True, 0), (True, False, 0), (True, True, 0),
                (False, False, 1), (False, True, 1), (True, False, 1), (True, True, 1))
_LABEL_HEIGHT = 1.6  # a label's height, in font sizes (its box included)


def _label_offset(left: bool, below: bool, further: int) -> tuple[float, float]:
    """The label's offset from its point, in points."""
    dy = _LABEL_OFFSET + further * _LABEL_HEIGHT * _LABEL_SIZE
    return (-_LABEL_OFFSET if left else _LABEL_OFFSET, -dy if below else dy)


def _label_box(ax, xy, text: str, bold: bool, left: bool, below: bool, further: int = 0) -> tuple:
    """The pixels (x0, y0, x1, y1) a candidate's label would cover, placed to the left or
    right of and below or above its point (``further``: one label height further): an
    estimate from the text's length, a little larger than the label as drawn (digits are
    about 0.6 em wide, bold ones 0.7)."""
    scale = ax.figure.dpi / 72  # pixels per point
    size = _LABEL_SIZE * scale
    px, py = ax.transData.transform(xy)
    width = (len(text) * (0.72 if bold else 0.64) + 0.5) * size
    height = _LABEL_HEIGHT * size
    dx, dy = _label_offset(left, below, further)
    x, y = px + dx * scale, py + dy * scale
    x0 = x - width if left else x
    y0 = y + 0.2 * size - height if below else y - 0.4 * size  # hanging from its top, or on its baseline
    return x0, y0, x0 + width, y0 + height


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _inside(box: tuple, bounds) -> bool:
    return bounds.x0 <= box[0] and box[2] <= bounds.x1 and bounds.y0 <= box[1] and box[3] <= bounds.y1


class SeedingView:
    """How a seeding step picked its centre.

    - **k-means++**: every point shaded and sized by the probability it had of
      being picked, D(x)² / Σ D²; for greedy k-means++ the candidates tried,
      each labelled with the total D² it would give (the lowest, bold, wins).
    - **farthest**: points shaded by their distance to the nearest centre so
      far; the farthest one is the pick.
    - **random** (and centres given by hand): uniform grey points, the pick ringed.

    A dashed segment joins the pick to its nearest earlier centre: that is the
    D(x) the probability is built from.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
    ax, features, projection, feature_names, greyscale, limits, marker_size, equal_aspect
        As for :class:`StepView`.
    n_clusters : int, optional
        k; centre markers and greedy k-means++ candidate labels are created up front
        (otherwise when first needed).
    show_caption : bool, default=True
    show_centers : bool, default=True
        Draw the centres chosen so far (turn off when a StepView on the same
        axes already draws them).
    max_points : int, default=20_000
        Above this many points a fixed random subset of that size is shaded
        (``rows`` says which); a scatter of every point would be too slow.

    Attributes
    ----------
    scatter : PathCollection
        The shaded points; ``get_array()`` holds the shading values of ``rows``
        (the probabilities, or the distances) and ``get_sizes()`` their sizes.
    rows : ndarray of shape (n_shown,)
    pick_line, reach_line, candidate_line : Line2D
    candidate_labels : list of Annotation
    center_lines : list of Line2D
    """

    def __init__(self, X, *, ax=None, features=(0, 1), projection=None, feature_names=None,
                 n_clusters=None, show_caption=True, show_centers=True, greyscale=False,
                 limits=None, max_points=20_000, marker_size=None, equal_aspect=True):
        X, names = check_array(X, min_samples=1)
        if feature_names is None:
            feature_names = names
        self.X = X
        self.n, self.d = X.shape
        self.greyscale = bool(greyscale)
        self.show_centers = bool(show_centers)
        self.projection = _make_projection(X, features, projection, feature_names)
        self.xy = self.projection.transform(X)
        self.limits = limits if limits is not None else data_limits(
            self.xy, top=0.16 if show_caption else 0.0,
            min_aspect=0.5 if equal_aspect and self.projection.kind != "line" else 0.0)
        self.ax = ax = _get_ax(ax)
        if self.n > max_points:
            self.rows = np.sort(np.random.default_rng(0).choice(self.n, int(max_points), replace=False))
        else:
            self.rows = np.arange(self.n)
        ms = _point_size(self.n) if marker_size is None else float(marker_size)
        self._size = ms**2  # scatter sizes are in points²
        shown = self.xy[self.rows]
        self.scatter = ax.scatter(shown[:, 0], shown[:, 1], c=np.zeros(len(self.rows)), s=self._size,
                                  cmap=probability_cmap(), norm=Normalize(0.0, 1.0), linewidths=0,
                                  zorder=2)
        self.colorbar = None
        self.reach_line, = ax.plot([], [], ls="--", color="black", lw=1.2, zorder=5)
        self.candidate_line, = ax.plot([], [], ls="none", marker="X", ms=9, mfc="white",
                                       mec="black", mew=1.2, zorder=6)
        self.candidate_labels = []
        self.pick_line, = ax.plot([], [], ls="none", marker="o", ms=21, mfc="none", mec="black",
                                  mew=2.2, zorder=7)
        self.center_lines = []
        if n_clusters is not None:
            # Made up front, so that a step never adds an artist: an app that blits its steps
            # would otherwise redraw the whole figure at the first greedy pick.
            self._ensure_candidate_labels(local_trials(int(n_clusters)))
            if self.show_centers:
                self._ensure_centres(int(n_clusters))
        self.caption = _Caption(ax) if show_caption else None
        (x0, x1), (y0, y1) = self.limits
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_autoscale_on(False)
        if equal_aspect and self.projection.kind != "line":
            ax.set_aspect("equal", adjustable="box")

    @property
    def figure(self):
        return self.ax.figure

    @property
    def artists(self) -> list:
        out = [self.scatter, self.reach_line, self.candidate_line, self.pick_line,
               *self.candidate_labels, *self.center_lines]
        if self.caption is not None:
            out.append(self.caption.text)
        return out

    def set_visible(self, visible: bool):
        """Show or hide everything this view draws."""
        for a in self.artists:
            a.set_visible(visible)
        if visible:  # draw() decides again which optional pieces show
            for a in self.candidate_labels:
                a.set_visible(False)

    def _ensure_candidate_labels(self, m):
        """Grow the pool of (hidden) candidate labels to m."""
        while len(self.candidate_labels) < m:
            self.candidate_labels.append(self.ax.annotate(
                "", xy=(0, 0), xytext=(_LABEL_OFFSET, _LABEL_OFFSET), textcoords="offset points",
                fontsize=_LABEL_SIZE, zorder=8,
                visible=False, bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8)))

    def _ensure_centres(self, m):
        """Grow the pool of centre markers to m (only the first time it is short)."""
        for j in range(len(self.center_lines), m):
            c, mk = cluster_style(j, greyscale=self.greyscale)
            line, = self.ax.plot([], [], ls="none", marker=mk, ms=15, mfc=c, mec="black", mew=1.8,
                                 zorder=6)
            self.center_lines.append(line)

    @staticmethod
    def shading(step) -> tuple[np.ndarray | None, str]:
        """What a seeding step shades the points by: (values of shape (n,) or
        None, description)."""
        if isinstance(step, SeedStep):
            if step.method == "k-means++" and step.probabilities is not None:
                return step.probabilities, "probability of being picked (∝ D²)"
            if step.method == "farthest" and step.closest_dist_sq is not None:
                return np.sqrt(step.closest_dist_sq), "distance to the nearest centre so far"
        return None, "every point equally likely"

    def draw(self, step: Step) -> list:
        """Show one step (any kind: non-seeding steps show plain points)."""
        _check_step(step, self.n, self.d, None)
        values, what = self.shading(step)
        if values is None:
            shown = np.zeros(len(self.rows))
            self.scatter.set_array(shown)
            self.scatter.set_clim(0.0, 1.0)
            self.scatter.set_sizes(np.full(len(self.rows), self._size))
        else:
            shown = np.asarray(values, dtype=float)[self.rows]
            vmax = float(shown.max()) if shown.size else 0.0
            if vmax <= 0 or float(shown.min()) == vmax:
                # All equal (the first k-means++ pick): neutral grey, like random.
                self.scatter.set_clim(vmax, vmax + max(abs(vmax), 1e-300))
                sizes = np.full(len(self.rows), self._size)
            else:
                self.scatter.set_clim(0.0, vmax)
                sizes = self._size * (0.3 + 4.7 * shown / vmax)
            self.scatter.set_array(shown)
            self.scatter.set_sizes(sizes)
        if self.colorbar is not None:
            self.colorbar.set_label(what)

        C = self.projection.transform(step.centers)
        if self.show_centers:
            self._ensure_centres(C.shape[0])
            for j, line in enumerate(self.center_lines):
                line.set_data(C[j:j + 1, 0], C[j:j + 1, 1]) if j < C.shape[0] else line.set_data([], [])

        self.pick_line.set_data([], [])
        self.reach_line.set_data([], [])
        self.candidate_line.set_data([], [])
        for a in self.candidate_labels:
            a.set_visible(False)
        if isinstance(step, SeedStep) and step.chosen >= 0:
            p = self.xy[step.chosen]
            self.pick_line.set_data([p[0]], [p[1]])
            if step.center_index > 0:
                # D(x): from the pick to the nearest of the centres chosen before it.
                before = step.centers[:step.center_index]
                diff = before - self.X[step.chosen]
                q = self.projection.transform(before[[int(np.argmin(np.einsum("kd,kd->k", diff, diff)))]])[0]
                self.reach_line.set_data([p[0], q[0]], [p[1], q[1]])
            if step.candidates is not None:
                self._draw_candidates(step.candidates, step.candidate_potentials)
        if self.caption is not None:
            self.caption.set(step.describe())
        return self.artists

    def _draw_candidates(self, candidates, potentials):
        cand = np.asarray(candidates)
        pts = self.xy[cand]
        self.candidate_line.set_data(pts[:, 0], pts[:, 1])
        best = int(np.argmin(potentials))
        self._ensure_candidate_labels(len(cand))  # made up front for the default number of trials
        (x0, x1), (y0, y1) = self.ax.get_xlim(), self.ax.get_ylim()
        self.ax.apply_aspect()  # where the axes will be drawn (equal axes shrink at the draw)
        bounds = self.ax.bbox
        # Every candidate's marker, and each label once placed: what a label must not cover.
        scale = self.figure.dpi / 72
        taken = [(px - 4 * scale, py - 4 * scale, px + 4 * scale, py + 4 * scale)
                 for px, py in self.ax.transData.transform(pts)]
        for t in sorted(range(len(cand)), key=lambda t: (t != best, t)):  # the winner's label first
            label = self.candidate_labels[t]
            x, y = float(pts[t, 0]), float(pts[t, 1])
            label.xy = (x, y)
            text = _fmt_num(float(potentials[t])) + (" ✓" if t == best else "")
            label.set_text(text)
            label.set_fontweight("bold" if t == best else "normal")
            # Up and to the right of the candidate, unless that runs out of the axes (over a
            # legend beside them, or the title): then to the left, or below. Where that
            # covers another candidate or its label (candidates close together), the first
            # other side that covers nothing and stays inside the axes.
            left = x1 != x0 and (x - x0) / (x1 - x0) > _LABEL_EDGE
            below = y1 != y0 and (y - y0) / (y1 - y0) > _LABEL_EDGE
            sides = [(left != flip_x, below != flip_y, further) for flip_x, flip_y, further in _LABEL_SIDES]
            boxes = (_label_box(self.ax, (x, y), text, t == best, *side) for side in sides)
            chosen, box = next(((side, box) for side, box in zip(sides, boxes)
                                if _inside(box, bounds) and not any(_overlap(box, other) for other in taken)),
                               (sides[0], None))
            taken.append(box or _label_box(self.ax, (x, y), text, t == best, *chosen))
            left, below, further = chosen
            label.xyann = _label_offset(left, below, further)
            label.set_horizontalalignment("right" if left else "left")
            label.set_verticalalignment("top" if below else "baseline")
            label.set_visible(True)

    def finalize(self, title=None, *, colorbar=True, legend=True) -> "SeedingView":
        """Axis labels, title, a colour bar for the shading and a legend."""
        ax = self.ax
        xlabel, ylabel = self.projection.labels
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title is None:
            title = "Seeding" + (f" · {self.projection.description}" if self.projection.description else "")
        ax.set_title(title, fontsize=12)
        if colorbar and self.colorbar is None:
            self.colorbar = self.figure.colorbar(self.scatter, ax=ax, shrink=0.8)
            self.colorbar.set_label("probability of being picked (∝ D²)")
        if legend:
            ax.legend(handles=[
                Line2D([], [], ls="none", marker="o", ms=11, mfc="none", mec="black", mew=2.0,
                       label="picked point"),
                Line2D([], [], ls="none", marker="X", ms=8, mfc="white", mec="black", mew=1.2,
                       label="candidate (total D² if picked)"),
                Line2D([], [], ls="--", color="black", lw=1.2, label="D(x): to nearest centre"),
            ], loc="lower right", fontsize=9.6, framealpha=0.85)
        return self


# --- InertiaView ----------------------------------------------------------------------
_PHASE_STYLE = {  # phase → (marker, colour, legend label)
    "assign": ("o", CLUSTER_COLORS[0], "after assign"),
    "update": ("s", CLUSTER_COLORS[1], "after update"),
    "empty": ("X", OKABE_ITO["vermillion"], "empty-cluster event"),
    "converged": ("*", "black", "converged"),
}


class InertiaView:
    """Inertia after every step, as a staircase, with a cursor on the current step.

    Assign steps are circles, update steps squares: both only ever step down,
    which is the whole convergence argument in one picture.

    Parameters
    ----------
    trace_or_steps : Trace, KMeansRun or sequence of Step
    ax : matplotlib Axes, optional
    log : bool, default=False
        Logarithmic inertia axis (symlog if some inertia is 0).

    Attributes
    ----------
    indices : ndarray of shape (m,)
        Index of every step that has an inertia (seeding steps have none).
    inertias : ndarray of shape (m,)
    staircase : Line2D
        Data (indices, inertias), drawn ``steps-post``.
    markers : dict of phase → Line2D
    cursor : Line2D
        Vertical line at the current step's index.
    current : Line2D
        Ring on the current step's inertia (empty for a seeding step).
    rises : ndarray of int
        Step indices where the inertia went up (should be empty).
    """

    def __init__(self, trace_or_steps, *, ax=None, log=False):
        steps = as_steps(trace_or_steps)
        if not steps:
            raise ValueError("InertiaView needs at least one step.")
        self.ax = ax = _get_ax(ax)
        with_inertia = [s for s in steps if s.inertia is not None]
        self.indices = np.array([s.index for s in with_inertia], dtype=int)
        self.inertias = np.array([s.inertia for s in with_inertia], dtype=float)
        self.phases = [s.phase for s in with_inertia]
        all_idx = [s.index for s in steps]
        self._first, self._last = min(all_idx), max(all_idx)

        seeds = [s.index for s in steps if isinstance(s, SeedStep)]
        self.seeding_span = None
        if seeds:
            self.seeding_span = ax.axvspan(min(seeds) - 0.5, max(seeds) + 0.5, color="0.93", zorder=0,
                                           lw=0)
        self.staircase, = ax.plot(self.indices, self.inertias, drawstyle="steps-post", color="0.45",
                                  lw=1.4, zorder=2)
        self.markers = {}
        phases = np.array(self.phases)
        for phase, (marker, colour, label) in _PHASE_STYLE.items():
            sel = phases == phase
            if np.any(sel):
                self.markers[phase], = ax.plot(self.indices[sel], self.inertias[sel], ls="none",
                                               marker=marker, ms=9 if marker == "*" else 5.5,
                                               mfc=colour, mec=edge_color(colour), mew=0.6,
                                               zorder=3, label=label)
        # A rise beyond rounding would be a bug in the algorithm: make it loud.
        v = self.inertias
        rose = np.diff(v) > 1e-9 * np.abs(v[:-1]) if v.size > 1 else np.zeros(0, dtype=bool)
        self.rises = self.indices[1:][rose]
        self.rise_line, = ax.plot(self.rises, v[1:][rose], ls="none", marker="^", ms=10,
                                  mfc="none", mec=OKABE_ITO["vermillion"], mew=2, zorder=4,
                                  label="inertia rose!")
        self.cursor = ax.axvline(self._first, color="black", lw=1.0, ls="--", zorder=4)
        self.current, = ax.plot([], [], ls="none", marker="o", ms=12, mfc="none", mec="black",
                                mew=1.6, zorder=5)
        ax.set_xlim(self._first - 0.5, self._last + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if log and v.size:
            if np.all(v > 0):
                ax.set_yscale("log")
            else:
                ax.set_yscale("symlog", linthresh=float(v[v > 0].min()) if np.any(v > 0) else 1.0)
        if v.size:
            lo, hi = float(v.min()), float(v.max())
            if not log:
                pad = 0.06 * (hi - lo) if hi > lo else max(abs(hi) * 0.1, 1.0)
                ax.set_ylim(lo - pad, hi + pad)

    @property
    def figure(self):
        return self.ax.figure

    @property
    def artists(self) -> list:
        return [self.staircase, *self.markers.values(), self.rise_line, self.cursor, self.current]

    def draw(self, step: Step) -> list:
        """Move the cursor to ``step.index``."""
        if not isinstance(step, Step):
            raise TypeError(f"draw() takes a Step; got {type(step).__name__}.")
        i = step.index
        self.cursor.set_xdata([i, i])
        if step.inertia is None:
            self.current.set_data([], [])
        else:
            self.current.set_data([i], [step.inertia])
        return self.artists

    def finalize(self, title=None, *, legend=True) -> "InertiaView":
        """Labels, a title that states the invariant, and the legend."""
        ax = self.ax
        ax.set_xlabel("step")
        ax.set_ylabel("inertia\n(Σ squared distance to own centre)", fontsize=9.6)
        if title is None:
            if self.rises.size:
                title = f"Inertia ROSE at step {', '.join(map(str, self.rises))}!"
            else:
                title = "Inertia never rises"
        ax.set_title(title, fontsize=12)
        if legend:
            handles = [*self.markers.values()]
            if self.rises.size:
                handles.append(self.rise_line)
            if self.seeding_span is not None:
                handles.append(Patch(fc="0.93", label="seeding: no inertia"))
            handles.append(Line2D([], [], color="black", lw=1.0, ls="--", label="current step"))
            if ax.get_yscale() == "linear" and self.inertias.size:
                # Headroom for the legend: the staircase starts at its highest point, so
                # without it the legend would cover the first steps of a run.
                lo, hi = ax.get_ylim()
                ax.set_ylim(lo, hi + (0.25 + 0.1 * len(handles)) * (hi - lo))
            ax.legend(handles=handles, loc="upper right", fontsize=9.6, framealpha=0.85)
        return self
