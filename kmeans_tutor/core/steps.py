"""The step vocabulary: one frozen dataclass per kind of K-means step.

Every view, widget, lesson and log in kmeans-tutor speaks in these steps. Each
step carries everything needed to draw it alone — the centres, the labels, the
inertia and what changed — so a view can jump to any step without replaying
the ones before it, and scrubbing backwards is free.

A run of K-means yields, in order::

    SeedStep × k            one per centre chosen (random, k-means++, farthest, manual)
    AssignStep              iteration 1: every point joins its nearest centre
    UpdateStep              iteration 1: every centre moves to the mean of its points
    (EmptyClusterEvent)     only when a cluster lost all its points, before the update
    AssignStep, UpdateStep  iteration 2, 3, ...
    ConvergedStep           why it stopped, how many iterations, final inertia

Arrays inside a step are read-only; steps compare equal when their fields
(arrays included) are equal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

__all__ = [
    "Step",
    "SeedStep",
    "AssignStep",
    "UpdateStep",
    "EmptyClusterEvent",
    "ConvergedStep",
    "STEP_TYPES",
    "as_steps",
    "format_inertia",
]


def format_inertia(x: float | None) -> str:
    """An inertia as every screen shows it: "44,448.5" (one decimal from 100 on),
    "65.58" (four significant digits below), "—" when there is none."""
    if x is None or not np.isfinite(x):
        return "—"
    if abs(x) >= 100:
        return f"{x:,.1f}"
    return f"{x:,.4g}"


_fmt = format_inertia


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


@dataclass(frozen=True, eq=False)
class Step:
    """Common base of every step.

    Attributes
    ----------
    index : int
        Position of the step in its run (0 for the first seeding pick).
    iteration : int
        Lloyd iteration the step belongs to; 0 during seeding.
    centers : ndarray of shape (n_centers, n_features)
        Centres as they stand *after* this step. During seeding only the centres
        chosen so far are present, so ``n_centers`` grows from 1 to k.
    labels : ndarray of shape (n_samples,) or None
        Cluster of every point after this step; None before the first assignment.
    inertia : float or None
        Sum of squared distances of points to their centres after this step;
        None before the first assignment.
    """

    phase: ClassVar[str] = "step"

    index: int
    iteration: int
    centers: np.ndarray  # (k, d)
    labels: np.ndarray | None  # (n,)
    inertia: float | None

    def __post_init__(self):
        # Freeze the arrays too: a step is a record, never a scratch buffer.
        for value in self.__dict__.values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
                    return False
                if a.dtype != b.dtype or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # mutable-looking contents (arrays): not hashable

    @property
    def n_clusters(self) -> int:
        """Number of centres present in this step."""
        return int(self.centers.shape[0])

    def describe(self) -> str:  # pragma: no cover - every subclass overrides
        """One plain-English sentence a student can read."""
        raise NotImplementedError

    def __repr__(self):
        parts = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                parts.append(f"{f.name}=<{v.dtype} array {v.shape}>")
            else:
                parts.append(f"{f.name}={v!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


@dataclass(frozen=True, eq=False, repr=False)
class SeedStep(Step):
    """One initial centre chosen.

    Attributes
    ----------
    method : {"random", "k-means++", "farthest", "manual", "callable"}
        How the centre was chosen.
    center_index : int
        Which centre this is (0-based); ``centers`` holds centres 0..center_index.
    chosen : int
        Row of X that became the centre, or -1 when the centre was given
        (manual placement or a callable init) rather than picked from the data.
    probabilities : ndarray of shape (n_samples,) or None
        k-means++ only: the probability each point had of being drawn,
        D(x)² / Σ D² (uniform for the first centre).
    potential : float or None
        k-means++ and farthest only: total D² before this pick (None for the first).
    closest_dist_sq : ndarray of shape (n_samples,) or None
        Farthest-point init only: each point's squared distance to the nearest
        centre chosen so far (None for the first pick).
    candidates : ndarray of shape (n_local_trials,) or None
        Greedy k-means++ only: the rows tried as this centre.
    candidate_potentials : ndarray of shape (n_local_trials,) or None
        Greedy k-means++ only: the potential (total D²) each candidate would give;
        the lowest wins.
    seed : int or None
        The integer seed of the run, so it can be reproduced; None when the run
        was driven by a caller's Generator.
    """

    phase: ClassVar[str] = "seed"

    method: str = "k-means++"
    center_index: int = 0
    chosen: int = -1
    probabilities: np.ndarray | None = None  # (n,)
    potential: float | None = None
    closest_dist_sq: np.ndarray | None = None  # (n,)
    candidates: np.ndarray | None = None  # (t,)
    candidate_potentials: np.ndarray | None = None  # (t,)
    seed: int | None = None

    @property
    def center(self) -> np.ndarray:
        """The centre chosen in this step, shape (n_features,)."""
        return self.centers[self.center_index]

    def describe(self) -> str:
        c = self.center_index + 1
        if self.method in ("manual", "callable"):
            how = "placed by hand" if self.method == "manual" else "given by the init function"
            return f"Seeding · centre {c} {how}."
        point = f"point #{self.chosen}"
        if self.method == "random":
            return f"Seeding · centre {c}: {point} picked uniformly at random."
        if self.method == "farthest":
            if self.closest_dist_sq is None:
                return f"Seeding · centre {c}: {point} picked at random to start."
            d = float(np.sqrt(self.closest_dist_sq[self.chosen]))
            return (f"Seeding · centre {c}: {point}, the point farthest from the "
                    f"centres so far (distance {d:,.3g}).")
        # k-means++
        if self.potential is None:
            return f"Seeding · centre {c}: {point} picked uniformly at random (k-means++ starts anywhere)."
        p = float(self.probabilities[self.chosen])
        sentence = (f"Seeding · centre {c}: {point} drawn with probability {p:.2%}, "
                    f"proportional to its squared distance to the nearest centre")
        if self.candidates is not None and len(self.candidates) > 1:
            sentence += (f"; best of {len(self.candidates)} candidates, total D² "
                         f"{_fmt(self.potential)} → {_fmt(float(self.candidate_potentials.min()))}")
        return sentence + "."


@dataclass(frozen=True, eq=False, repr=False)
class AssignStep(Step):
    """Every point joins its nearest centre.

    Attributes
    ----------
    changed : ndarray of shape (n_changed,)
        Rows whose cluster differs from the previous assignment (all rows on the
        first assignment).
    previous_inertia : float or None
        Inertia just before this step (same centres, previous labels); None on
        the first assignment.
    final : bool
        True for the last refresh after the loop stopped on the tolerance or
        max_iter, so that labels match the final centres (as scikit-learn does).
    """

    phase: ClassVar[str] = "assign"

    changed: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.intp))  # (m,)
    previous_inertia: float | None = None
    final: bool = False

    @property
    def n_changed(self) -> int:
        """Number of points that changed cluster."""
        return int(self.changed.shape[0])

    def describe(self) -> str:
        head = ("Final assign" if self.final else f"Iteration {self.iteration} · assign")
        if self.previous_inertia is None:
            return (f"{head}: each of the {len(self.labels):,} points joined its nearest "
                    f"centre; inertia {_fmt(self.inertia)}.")
        if self.n_changed == 0:
            what = "no point changed cluster"
        else:
            what = f"{_plural(self.n_changed, 'point')} moved to a nearer centre"
        return f"{head}: {what}; inertia {_fmt(self.previous_inertia)} → {_fmt(self.inertia)}."


@dataclass(frozen=True, eq=False, repr=False)
class UpdateStep(Step):
    """Every centre moves to the mean of its points.

    Attributes
    ----------
    previous_centers : ndarray of shape (n_clusters, n_features)
        Centres before the move.
    shifts : ndarray of shape (n_clusters,)
        Euclidean distance each centre moved.
    previous_inertia : float
        Inertia before the move (the assign step's inertia).
    """

    phase: ClassVar[str] = "update"

    previous_centers: np.ndarray = None  # (k, d)
    shifts: np.ndarray = None  # (k,)
    previous_inertia: float | None = None

    @property
    def max_shift(self) -> float:
        """Largest distance any centre moved."""
        return float(self.shifts.max()) if self.shifts.size else 0.0

    def describe(self) -> str:
        moved = int(np.count_nonzero(self.shifts > 0))
        if moved == 0:
            return (f"Iteration {self.iteration} · update: no centre moved — each already sits at "
                    f"the mean of its points; inertia {_fmt(self.inertia)}.")
        return (f"Iteration {self.iteration} · update: {_plural(moved, 'centre')} moved to the "
                f"mean of {'its' if moved == 1 else 'their'} points (largest shift "
                f"{self.max_shift:,.3g}); inertia {_fmt(self.previous_inertia)} → {_fmt(self.inertia)}.")


@dataclass(frozen=True, eq=False, repr=False)
class EmptyClusterEvent(Step):
    """One or more clusters were left with no points after an assignment.

    ``centers`` and ``labels`` are those of the assignment just made; the
    following :class:`UpdateStep` carries out what the policy decided.

    Attributes
    ----------
    clusters : ndarray of shape (n_empty,)
        The clusters that have no points.
    policy : {"relocate", "keep"}
        What is done about them.
    relocated_to : ndarray of shape (n_empty,) or None
        "relocate": the row each empty centre jumps to — the points farthest
        from their own centres, as scikit-learn does.
    new_centers : ndarray of shape (n_empty, n_features)
        Where each empty cluster's centre will be after the update.
    """

    phase: ClassVar[str] = "empty"

    clusters: np.ndarray = None  # (e,)
    policy: str = "relocate"
    relocated_to: np.ndarray | None = None  # (e,)
    new_centers: np.ndarray = None  # (e, d)

    def describe(self) -> str:
        names = ", ".join(str(int(c) + 1) for c in self.clusters)
        which = f"Cluster {names} has" if len(self.clusters) == 1 else f"Clusters {names} have"
        head = f"Iteration {self.iteration} · empty cluster: {which} no points"
        if self.policy == "keep":
            return f"{head}; {'its centre stays' if len(self.clusters) == 1 else 'their centres stay'} where {'it is' if len(self.clusters) == 1 else 'they are'}."
        rows = ", ".join(f"#{int(r)}" for r in self.relocated_to)
        return (f"{head}; {'its centre jumps' if len(self.clusters) == 1 else 'their centres jump'} "
                f"to point {rows}, the farthest from {'its' if len(self.clusters) == 1 else 'their'} own centre.")


CONVERGENCE_REASONS = {
    "labels": "no point changed cluster",
    "tol": "the centres moved less than the tolerance",
    "max_iter": "the iteration limit was reached",
}


@dataclass(frozen=True, eq=False, repr=False)
class ConvergedStep(Step):
    """The run has stopped.

    Attributes
    ----------
    reason : {"labels", "tol", "max_iter"}
        "labels": an assignment changed no label (strict convergence);
        "tol": the summed squared centre shift fell within the tolerance;
        "max_iter": the iteration limit was reached.
    n_iter : int
        Number of Lloyd iterations run (as scikit-learn's ``n_iter_``).
    """

    phase: ClassVar[str] = "converged"

    reason: str = "labels"
    n_iter: int = 0

    def describe(self) -> str:
        why = CONVERGENCE_REASONS[self.reason]
        verb = "Stopped" if self.reason == "max_iter" else "Converged"
        return (f"{verb} after {_plural(self.n_iter, 'iteration')}: {why}; "
                f"final inertia {_fmt(self.inertia)}.")


#: phase name → step class, for logs and JSON.
STEP_TYPES: dict[str, type[Step]] = {
    cls.phase: cls for cls in (SeedStep, AssignStep, UpdateStep, EmptyClusterEvent, ConvergedStep)
}


def as_steps(obj) -> list[Step]:
    """A list of steps from a Trace, a run, a single step or any iterable of steps.

    Raises
    ------
    TypeError
        When something in it is not a :class:`Step`.
    """
    if isinstance(obj, Step):
        return [obj]
    try:
        steps = list(obj)
    except TypeError:
        raise TypeError(f"Expected steps (a Trace, a run or a list of steps); got {type(obj).__name__}.") from None
    for s in steps:
        if not isinstance(s, Step):
            raise TypeError(f"Expected steps (a Trace, a run or a list of steps); found {type(s).__name__}.")
    return steps
