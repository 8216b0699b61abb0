"""Pictures for lesson 8: a data set as a person sees it, and its groupings side by side."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..data.pitfalls import Candidates
from .palette import UNASSIGNED, cluster_style

__all__ = ["data_figure", "groupings_figure"]


def _points(ax, X, labels=None, size: float = 9.0) -> None:
    X = np.asarray(X)
    if labels is None:
        ax.scatter(X[:, 0], X[:, 1], s=size, color=UNASSIGNED, edgecolors="none")
    else:
        for j in np.unique(labels):
            colour, marker = cluster_style(int(j))
            mask = labels == j
            ax.scatter(X[mask, 0], X[mask, 1], s=size * 1.4, color=colour, marker=marker,
                       edgecolors="none", label=f"group {int(j) + 1}")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])


def data_figure(candidates: Candidates, *, figsize=(4.2, 3.6)) -> Figure:
    """The data set in grey: what the student looks at before predicting."""
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.subplots()
    _points(ax, candidates.data.X)
    ax.set_title(f"{candidates.data.title} ({len(candidates.data.X)} points)", fontsize=13)
    return fig


def groupings_figure(candidates: Candidates, *, figsize=(10.0, 4.6)) -> Figure:
    """Groupings A and B of one data set, side by side, each in k colours and shapes."""
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(1, len(candidates.groupings))
    for ax, (letter, labels) in zip(axes, candidates.groupings.items()):
        _points(ax, candidates.data.X, np.asarray(labels))
        ax.set_title(letter, fontsize=18, fontweight="bold")
    fig.suptitle(f"{candidates.data.title}: two ways to make k = {candidates.k} groups", fontsize=14)
    return fig
