"""Pictures for the "beat k-means++" challenge: where a run stands among many restarts.

:class:`RestartHistograms` draws the final inertias of many restarts, one
histogram per seeding on the same x axis, with the learner's run and their
best run so far as labelled lines. :class:`StartMarks` marks, on a picture of
the converged run, where the learner placed each centre and the path that
centre took. Both are built once and only update their artists in ``draw``.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from matplotlib.figure import Figure
>>> top, bottom = Figure().subplots(2, 1, sharex=True)
>>> view = RestartHistograms({"k-means++": top, "random": bottom})
>>> _ = view.draw({"k-means++": [65.6, 65.6, 98.4], "random": [65.6, 98.4, 120.0]}, yours=70.0, best=65.6)
>>> view.your_line["k-means++"].get_xdata()
[70.0, 70.0]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib import rcParams
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from ..core.steps import format_inertia
from ..core.trace import Trace
from .palette import CLUSTER_COLORS, cluster_colors, edge_color

__all__ = ["RestartHistograms", "StartMarks", "YOUR_RUN_COLOR", "YOUR_BEST_COLOR"]

#: The learner's run (a solid line) and their best run so far (dashed).
YOUR_RUN_COLOR = "#000000"
YOUR_BEST_COLOR = "#882255"
_MAX_BINS = 30


class RestartHistograms:
    """Final inertias of many restarts: one histogram per seeding, the same x axis.

    Parameters
    ----------
    axes : mapping of seeding name → Axes
        One Axes per seeding, top to bottom (share their x axis for the same
        ticks; the view also gives them the same limits).
    colors : mapping of seeding name → colour, optional
        Default: the first cluster colours, in order.
    titles : mapping of seeding name → str, optional
        Each Axes' title (default: "<name> restarts").
    xlabel : str, default="final inertia (lower is better)"
        Under the bottom Axes.
    empty_note : str
        Shown on the top Axes until there is something to draw.

    Attributes
    ----------
    stairs : dict of name → StepPatch
        The bars (filled) of each seeding.
    your_line, best_line : dict of name → Line2D
        The learner's run and best run, a vertical line on every Axes.
    your_label, best_label : Text
        Their labels, on the top Axes.
    """

    def __init__(self, axes: Mapping, *, colors: Mapping | None = None, titles: Mapping | None = None,
                 xlabel: str = "final inertia (lower is better)",
                 empty_note: str = "Place your centres and press Run."):
        self.axes = dict(axes)
        names = list(self.axes)
        colors = dict(colors) if colors is not None else dict(zip(names, CLUSTER_COLORS))
        self.titles = dict(titles) if titles is not None else {n: f"{n} restarts" for n in names}
        self.stairs, self.edges, self.your_line, self.best_line = {}, {}, {}, {}
        for name, ax in self.axes.items():
            c = colors[name]
            self.stairs[name] = ax.stairs([0.0], [0.0, 1.0], fill=True, alpha=0.4, color=c, zorder=2)
            self.edges[name] = ax.stairs([0.0], [0.0, 1.0], fill=False, lw=1.5, color=edge_color(c, 0.8),
                                         zorder=3)
            self.best_line[name] = ax.axvline(0.0, color=YOUR_BEST_COLOR, ls="--", lw=2.0, zorder=4)
            self.your_line[name] = ax.axvline(0.0, color=YOUR_RUN_COLOR, lw=2.2, zorder=5)
            ax.set_ylabel("runs")
            ax.set_title(self.titles[name], fontsize=10.5)
        top, bottom = self.axes[names[0]], self.axes[names[-1]]
        bottom.set_xlabel(xlabel)
        on_top = blended_transform_factory(top.transData, top.transAxes)  # x: inertia, y: axes
        text = dict(xycoords=on_top, textcoords="offset points", xytext=(4, 0), fontsize=10, va="top",
                    zorder=6, annotation_clip=False, linespacing=1.1,
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85))
        self.your_label = top.annotate("", (0.0, 0.95), color=YOUR_RUN_COLOR, fontweight="bold", **text)
        self.best_label = top.annotate("", (0.0, 0.55), color=YOUR_BEST_COLOR, **text)
        self.note = top.text(0.5, 0.5, empty_note, transform=top.transAxes, ha="center", va="center",
                             color="0.4", fontsize=10.5, linespacing=1.5)
        for label in (self.your_label, self.best_label, self.note):
            label.set_in_layout(False)  # they move with the data: the layout must not make room for them
        self.limits: tuple[float, float] | None = None
        self.clear()

    @property
    def artists(self) -> list:
        return [*self.stairs.values(), *self.edges.values(), *self.your_line.values(),
                *self.best_line.values(), self.your_label, self.best_label, self.note]

    def clear(self):
        """Nothing to show yet: only the note (no axes, whose numbers would mean nothing)."""
        for artist in self.artists:
            artist.set_visible(False)
        self.show_axes(False)
        self.note.set_visible(True)

    def show_axes(self, on: bool):
        """Show or hide the axes' frames, ticks and labels (hidden while there are no runs).

        Hidden means drawn in no colour: they keep their place, so a layout made
        while they are hidden still leaves room for them.
        """
        for ax in self.axes.values():
            ink = {True: rcParams["xtick.color"], False: "none"}[bool(on)]
            ax.tick_params(which="both", colors=ink)
            ax.xaxis.label.set_color(rcParams["axes.labelcolor"] if on else "none")
            ax.yaxis.label.set_color(rcParams["axes.labelcolor"] if on else "none")
            for spine in ax.spines.values():
                spine.set_edgecolor(rcParams["axes.edgecolor"] if on else "none")

    def draw(self, inertias: Mapping | None, yours: float | None = None, best: float | None = None) -> list:
        """Show the runs' final inertias, and the learner's run and best run (when given).

        Parameters
        ----------
        inertias : mapping of seeding name → array of final inertias, or None
            None clears the picture.
        yours, best : float, optional
            The learner's last run and their best run so far.
        """
        if inertias is None:
            self.clear()
            return self.artists
        self.note.set_visible(False)
        self.show_axes(True)
        runs = {name: np.asarray(inertias[name], dtype=np.float64) for name in self.axes}
        everything = np.concatenate(list(runs.values()))
        # Common bins for every seeding, so the bars compare directly.
        edges = np.histogram_bin_edges(everything, bins=min(_MAX_BINS, max(5, everything.size // 8)))
        marks = [v for v in (yours, best) if v is not None]
        lo, hi = min([edges[0], *marks]), max([edges[-1], *marks])
        pad = 0.04 * (hi - lo) if hi > lo else 1.0
        self.limits = (lo - pad, hi + pad)
        for name, ax in self.axes.items():
            counts, _ = np.histogram(runs[name], bins=edges)
            for artist in (self.stairs[name], self.edges[name]):
                artist.set_data(counts, edges)
                artist.set_visible(True)
            ax.set_xlim(*self.limits)
            ax.set_ylim(0, max(int(counts.max()), 1) * 1.3)
            for line, value in ((self.your_line[name], yours), (self.best_line[name], best)):
                line.set_visible(value is not None)
                if value is not None:
                    line.set_xdata([value, value])
        self._label(yours, best)
        return self.artists

    def _label(self, yours, best):
        """Name the two lines on the top Axes (two short lines of text each), on the side
        of the line with more room."""
        same = yours is not None and best is not None and yours == best
        for label, value, words in ((self.your_label, yours, "your run = your best" if same else "your run"),
                                    (self.best_label, None if same else best, "your best")):
            label.set_visible(value is not None)
            if value is None:
                continue
            lo, hi = self.limits
            right = (value - lo) / (hi - lo) > 0.6
            label.xy = (value, label.xy[1])
            label.xyann = (-4, 0) if right else (4, 0)
            label.set_horizontalalignment("right" if right else "left")
            label.set_text(f"{words}\n{format_inertia(value)}")


class StartMarks:
    """Where the learner placed each centre, and the path it took to where K-means stopped.

    Parameters
    ----------
    ax : Axes
        The picture of the run (e.g. a
        :class:`~kmeans_tutor.views.composite.StepPicture`'s).
    n_clusters : int
    greyscale : bool, default=False

    Attributes
    ----------
    start_line : Line2D
        A cross at every starting centre.
    path_lines : list of Line2D
        One dotted line per centre, through its place after every update step.
    """

    def __init__(self, ax, n_clusters: int, *, greyscale: bool = False):
        self.ax = ax
        self.path_lines = []
        for c in cluster_colors(int(n_clusters), greyscale=greyscale):
            line, = ax.plot([], [], ls=(0, (1.5, 1.5)), lw=2.0, color=edge_color(c, 0.75), zorder=5)
            self.path_lines.append(line)
        self.start_line, = ax.plot([], [], ls="none", marker="X", ms=10, mfc="white", mec="black",
                                   mew=1.5, zorder=7)

    @property
    def artists(self) -> list:
        return [*self.path_lines, self.start_line]

    @staticmethod
    def legend_handles() -> list:
        """Legend entries for the crosses and the paths."""
        return [Line2D([], [], ls="none", marker="X", ms=10, mfc="white", mec="black", mew=1.6,
                       label="where you put a centre"),
                Line2D([], [], ls=(0, (1.5, 1.5)), lw=2.0, color="0.35", label="its path")]

    def draw(self, trace: Trace | None = None, starts=None) -> list:
        """Mark a run's start and paths (``trace``), only the starts, or nothing.

        ``starts`` (array of shape (m, 2)): centres placed so far, with no run
        yet. ``trace``: a run from placed centres; its first seeding step's
        centres are the starts.
        """
        for line in self.path_lines:
            line.set_data([], [])
        if trace is None:
            xy = np.empty((0, 2)) if starts is None else np.asarray(starts, dtype=np.float64).reshape(-1, 2)
            self.start_line.set_data(xy[:, 0], xy[:, 1])
            return self.artists
        # The centres after seeding, then after every update step: each centre's path.
        seeded = [step for step in trace if step.phase == "seed"][-1]
        places = [seeded.centers, *(step.centers for step in trace if step.phase == "update")]
        path = np.stack([np.asarray(c, dtype=np.float64) for c in places])  # (positions, k, 2)
        for j, line in enumerate(self.path_lines[: path.shape[1]]):
            line.set_data(path[:, j, 0], path[:, j, 1])
        self.start_line.set_data(path[0, :, 0], path[0, :, 1])
        return self.artists
