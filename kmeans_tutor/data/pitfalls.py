"""Where K-means goes wrong: the data sets of lesson 8 and the groupings a student chooses from.

Each :class:`Pitfall` names a synthetic data set (:mod:`kmeans_tutor.data.synthetic`), the
assumption of K-means that it breaks, and what to try instead. :func:`candidate_groupings`
gives two groupings of its points for a "which one will K-means find?" question:

* the groups the data were made from (what a person sees);
* K-means' own answer (best of 10 restarts with k-means++, :class:`~kmeans_tutor.KMeans`).

They are shown under the letters A and B; where K-means' answer goes is fixed per data set
(:attr:`Pitfall.kmeans_letter`) and varies across the lesson. A third, made-up grouping
would not do: any grouping into k convex cells is one K-means could find from some start,
so it would make the question ambiguous rather than harder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.estimator import KMeans
from .synthetic import DATASETS, Dataset

__all__ = ["Pitfall", "PITFALLS", "Candidates", "candidate_groupings", "pitfall_named"]


@dataclass(frozen=True)
class Pitfall:
    """One data set on which K-means' answer differs from the groups a person sees."""

    dataset: str  #: a name in :data:`kmeans_tutor.data.synthetic.DATASETS`
    assumption: str  #: the assumption of K-means the data break, as a short phrase
    explanation: str  #: why K-means' answer looks the way it does
    try_instead: str  #: what to try instead, in words
    kmeans_letter: str = "A"  #: where K-means' answer is shown, "A" or "B" (varied across the lesson)

    @property
    def made_letter(self) -> str:
        """Where the groups the data were made from are shown: the other letter."""
        return "B" if self.kmeans_letter == "A" else "A"


PITFALLS: tuple[Pitfall, ...] = (
    Pitfall("rings", "clusters are round blobs around a centre",
            "All three rings have the same middle, so no centre can stand for one ring: K-means cuts "
            "the plane into wedges around its centres, and each wedge takes a piece of every ring.",
            "A method that follows chains of near neighbours (single-linkage or DBSCAN), or a feature "
            "that turns rings into blobs: the distance from the middle.", kmeans_letter="B"),
    Pitfall("anisotropic", "clusters are round: as wide in every direction",
            "K-means measures plain distance, the same in every direction, so it prefers round "
            "clusters and cuts straight across the long, thin groups.",
            "Undo the stretch before clustering (e.g. whiten the data), or use a Gaussian mixture, "
            "which learns each group's shape.", kmeans_letter="A"),
    Pitfall("unequal_variance", "clusters have a similar spread",
            "The border between two centres lies halfway between them, so the outer points of the "
            "wide group are handed to its tighter neighbours.",
            "A Gaussian mixture, which learns each group's spread; or accept the borders and look at "
            "the points near them with care.", kmeans_letter="A"),
    Pitfall("unequal_sizes", "clusters have a similar number of points",
            "Splitting the big group lowers the inertia more than keeping the two small ones apart, "
            "so K-means' best answer cuts the big group in two and puts the small ones together.",
            "More clusters (a larger k) and then merging, or a method that does not count points, "
            "such as a Gaussian mixture or DBSCAN.", kmeans_letter="B"),
    Pitfall("smiley", "clusters are compact blobs, not outlines",
            "The face is an outline: its points are far from one another. K-means finds compact "
            "blobs, so it cuts the outline into arcs and gives pieces of it to the eyes and mouth.",
            "A method that follows chains of near neighbours (single-linkage or DBSCAN).", kmeans_letter="A"),
    Pitfall("density_bars", "clusters have a similar density",
            "K-means has no notion of density: it only sums squared distances, so it spends two "
            "centres on the dense bar, where many points are close together, and lets the sparse bars share.",
            "A density-based method (DBSCAN), or more clusters followed by merging.", kmeans_letter="B"),
)


@dataclass(frozen=True)
class Candidates:
    """Two groupings of one data set, under the letters A and B."""

    data: Dataset
    k: int
    groupings: dict  #: letter → labels (0 … k−1)
    kmeans: str  #: the letter of K-means' answer
    made: str  #: the letter of the groups the data were made from
    inertia: float  #: K-means' inertia


def candidate_groupings(name: str, *, random_state: int = 0) -> Candidates:
    """The two groupings for the data set ``name`` (see the module docstring).

    Parameters
    ----------
    name : str
        A data set of :data:`PITFALLS`.
    random_state : int, default=0
        Seed of the data set and of K-means.

    Examples
    --------
    >>> c = candidate_groupings("rings")
    >>> sorted(c.groupings), c.kmeans != c.made
    (['A', 'B'], True)
    """
    pitfall = pitfall_named(name)
    data = DATASETS[name](random_state=random_state)
    k = data.suggested_k
    model = KMeans(k, n_init=10, random_state=random_state).fit(data.X)
    groupings = {pitfall.kmeans_letter: model.labels_, pitfall.made_letter: np.asarray(data.y)}
    return Candidates(data=data, k=k, groupings={letter: groupings[letter] for letter in "AB"},
                      kmeans=pitfall.kmeans_letter, made=pitfall.made_letter,
                      inertia=float(model.inertia_))


def pitfall_named(name: str) -> Pitfall:
    """The :class:`Pitfall` of data set ``name``; a ValueError names the known ones."""
    for pitfall in PITFALLS:
        if pitfall.dataset == name:
            return pitfall
    known = ", ".join(p.dataset for p in PITFALLS)
    raise ValueError(f"{name!r} is not one of lesson 8's data sets: {known}.")
