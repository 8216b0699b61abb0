"""A learner's prediction drawn over a step: marks, a guessed centre, and how they scored.

:class:`PredictionOverlay` lives on the Axes of a
:class:`~kmeans_tutor.views.composite.StepPicture` and owns a fixed set of
artists, made once and updated with ``set_data`` (so a blitting app redraws
only them). Before an assign step it shows the points the learner marked and
the lasso being drawn; after it, the **hits** (marked and changed: a thick
ring), the **misses** (changed, not marked: a square) and the **false alarms**
(marked, unchanged: a cross) — three shapes, so colour is never the only cue.
Before an update step it rings the centre asked about and shows the guess (a
white plus); after it, a dashed line from the guess to where the centre went,
labelled with the distance.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from matplotlib.figure import Figure
>>> from kmeans_tutor.core.predictions import score_assign
>>> ax = Figure().subplots()
>>> overlay = PredictionOverlay(ax, marker_size=5)
>>> xy = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
>>> overlay.show(xy, outcome=score_assign([0, 0, 1], [0, 1, 1], marked=[2]))
>>> overlay.miss_line.get_xydata().tolist(), overlay.false_line.get_xydata().tolist()
([[1.0, 1.0]], [[2.0, 2.0]])
"""

from __future__ import annotations

import numpy as np
from matplotlib.path import Path

from ..core.predictions import AssignOutcome, CentreOutcome, nearest_point
from .palette import OKABE_ITO, edge_color

__all__ = ["PredictionOverlay", "PREDICTION_KEY", "points_in_lasso", "point_at_pixel", "PICK_RADIUS_PX"]

#: How far from a point (in screen pixels) a click still marks it.
PICK_RADIUS_PX = 14.0
_HIT = edge_color(OKABE_ITO["bluish green"], 0.75)
_MISS = OKABE_ITO["vermillion"]
_FALSE = "#222222"
#: What each overlay shape means, for the line of text beside the picture.
PREDICTION_KEY = {"hit": "◯ hit (marked, changed)", "miss": "□ missed (changed, not marked)",
                  "false": "✕ false alarm (marked, stayed)", "changed": "□ changed cluster"}


def points_in_lasso(xy, vertices) -> np.ndarray:
    """Indices of the points of ``xy`` (n, 2) inside the closed lasso ``vertices`` (m, 2)."""
    verts = np.asarray(vertices, dtype=np.float64).reshape(-1, 2)
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if verts.shape[0] < 3 or xy.shape[0] == 0:
        return np.empty(0, dtype=np.intp)
    return np.flatnonzero(Path(verts).contains_points(xy))


def point_at_pixel(ax, xy, x, y, radius: float = PICK_RADIUS_PX) -> int | None:
    """The point of ``xy`` (data units) nearest to the data position (x, y) on
    ``ax``, if it is within ``radius`` CSS pixels on screen; else None."""
    to_screen = ax.transData.transform  # device pixels: CSS pixels × the screen's pixel ratio
    ratio = float(getattr(ax.figure.canvas, "device_pixel_ratio", 1.0) or 1.0)
    return nearest_point(to_screen(np.asarray(xy, dtype=np.float64)), to_screen([[float(x), float(y)]])[0],
                         radius * ratio)


class PredictionOverlay:
    """The prediction layer of a step picture (see the module docstring).

    Parameters
    ----------
    ax : matplotlib Axes
        The step picture's Axes.
    marker_size : float
        The size of the data points' markers (the rings are drawn around them).
    """

    def __init__(self, ax, *, marker_size: float = 5.0):
        self.ax = ax
        ring = 2 * float(marker_size) + 8

        def line(**style):
            artist, = ax.plot([], [], ls="none", **style)
            return artist

        self.marked_line = line(marker="o", ms=ring, mfc="none", mec="black", mew=2.0, zorder=8)
        self.hit_line = line(marker="o", ms=ring, mfc="none", mec=_HIT, mew=3.0, zorder=8)
        self.miss_line = line(marker="s", ms=ring - 1, mfc="none", mec=_MISS, mew=2.4, zorder=8)
        self.false_line = line(marker="X", ms=ring - 2, mfc="none", mec=_FALSE, mew=1.8, zorder=8)
        self.target_line = line(marker="o", ms=30, mfc="none", mec="black", mew=2.6, zorder=9)
        self.guess_line = line(marker="P", ms=17, mfc="white", mec="black", mew=1.8, zorder=10)
        self.error_line, = ax.plot([], [], ls="--", lw=2.0, color="black", zorder=9)
        # The distance, beside the guess (offset in points: it never covers the line).
        self.error_text = ax.annotate("", xy=(0, 0), xytext=(14, -14), textcoords="offset points",
                                      fontsize=11, fontweight="bold", ha="left", va="top", zorder=11,
                                      annotation_clip=False,
                                      bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.5", alpha=0.85))
        self.error_text.set_visible(False)
        self.lasso_line, = ax.plot([], [], ls="-", lw=1.6, color="black", zorder=12)

    @property
    def artists(self) -> list:
        """Every artist of the overlay (for blitting)."""
        return [self.marked_line, self.hit_line, self.miss_line, self.false_line, self.target_line,
                self.error_line, self.guess_line, self.error_text, self.lasso_line]

    def clear(self):
        """Nothing shown (prediction mode off, or a step with nothing asked)."""
        for artist in self.artists:
            if artist is self.error_text:
                artist.set_visible(False)
            else:
                artist.set_data([], [])

    @staticmethod
    def _put(line, xy):
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        line.set_data(xy[:, 0], xy[:, 1])

    def show_lasso(self, vertices):
        """The lasso being drawn (data units); empty to hide it."""
        self._put(self.lasso_line, vertices if len(vertices) else np.empty((0, 2)))

    def show(self, xy, *, outcome=None, changed=None, marks=(), target=None, guess=None):
        """Draw a prediction state; what is not given is hidden.

        Parameters
        ----------
        xy : ndarray of shape (n, 2)
            Every point, in data units.
        outcome : AssignOutcome or CentreOutcome, optional
            A revealed prediction: hits, misses and false alarms, or the guess,
            a dashed line to where the centre went and the distance.
        changed : array of int, optional
            The points that changed in a step revealed without a prediction
            (drawn as squares, like misses).
        marks : array of int
            Points marked for the next assign step.
        target : (x, y), optional
            The centre asked about in the next update step (ringed).
        guess : (x, y), optional
            The learner's guess for it so far.
        """
        self.clear()
        if isinstance(outcome, AssignOutcome):
            self._put(self.hit_line, xy[outcome.hits])
            self._put(self.miss_line, xy[outcome.misses])
            self._put(self.false_line, xy[outcome.false_alarms])
        elif isinstance(outcome, CentreOutcome):
            self._show_error(outcome)
        elif changed is not None:
            self._put(self.miss_line, xy[np.asarray(changed, dtype=np.intp)])
        marks = np.asarray(marks, dtype=np.intp)
        if marks.size:
            self._put(self.marked_line, xy[marks])
        if target is not None:
            self._put(self.target_line, target)
        if guess is not None:
            self._put(self.guess_line, guess)

    def _show_error(self, outcome):
        """The guess, a dashed line to where the centre really went, and the distance."""
        g, t = np.asarray(outcome.guess, dtype=float), np.asarray(outcome.truth, dtype=float)
        self._put(self.guess_line, g)
        self._put(self.error_line, np.vstack([g, t]))
        self.error_text.xy = (float(g[0]), float(g[1]))
        # Beside the guess, on the side away from the nearer edges of the picture.
        (x0, x1), (y0, y1) = self.ax.get_xlim(), self.ax.get_ylim()
        right = (g[0] - x0) > 0.65 * (x1 - x0)
        low = (g[1] - y0) < 0.2 * (y1 - y0)
        self.error_text.set_position((-14 if right else 14, 14 if low else -14))
        self.error_text.set_horizontalalignment("right" if right else "left")
        self.error_text.set_verticalalignment("bottom" if low else "top")
        self.error_text.set_text(f"off by {outcome.error:.2g}")
        self.error_text.set_visible(True)
