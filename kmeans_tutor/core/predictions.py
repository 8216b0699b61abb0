"""Scoring a learner's predictions of the next K-means step (numpy only).

Before an **assign** step the learner marks the points they think will change
cluster; before an **update** step they guess where one centre will go. This
module compares a prediction with what the step really did and keeps the
running score of a run. It knows nothing about widgets or pictures: the
stepper's model calls it, and the tests call it directly.

>>> import numpy as np
>>> before = np.array([0, 0, 1, 1, 1])
>>> after = np.array([0, 1, 1, 0, 1])        # points 1 and 3 changed cluster
>>> outcome = score_assign(before, after, marked=[1, 4])
>>> outcome.hits.tolist(), outcome.misses.tolist(), outcome.false_alarms.tolist()
([1], [3], [4])
>>> guess = score_centre(2, guess=[1.0, 1.0], truth=[1.3, 1.4])
>>> round(guess.error, 3)
0.5
>>> score = PredictionScore().add(outcome).add(guess)
>>> score.summary()
'Assign steps: 1 hit, 1 miss, 1 false alarm · Centre guesses: mean error 0.5'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["AssignOutcome", "CentreOutcome", "Skipped", "PredictionScore", "score_assign",
           "score_centre", "nearest_point"]


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _rows(values) -> np.ndarray:
    """Sorted unique point indices, read-only (for frozen records)."""
    rows = np.unique(np.asarray(values, dtype=np.intp).ravel())
    rows.setflags(write=False)
    return rows


@dataclass(frozen=True, eq=False)
class AssignOutcome:
    """What a learner marked before an assign step, against what changed.

    Attributes
    ----------
    hits : ndarray of shape (h,)
        Marked and changed cluster.
    misses : ndarray of shape (m,)
        Changed cluster but not marked.
    false_alarms : ndarray of shape (f,)
        Marked but stayed in their cluster.
    said_none : bool
        The learner answered "none will change" (nothing marked).
    """

    hits: np.ndarray
    misses: np.ndarray
    false_alarms: np.ndarray
    said_none: bool = False
    kind = "assign"

    @property
    def n_changed(self) -> int:
        """How many points really changed cluster."""
        return int(self.hits.size + self.misses.size)

    @property
    def perfect(self) -> bool:
        """Every changed point marked and nothing else (a right "none" included)."""
        return self.misses.size == 0 and self.false_alarms.size == 0

    def summary(self) -> str:
        """The outcome in one short line, e.g. "3 hits, 1 miss, 0 false alarms"."""
        if self.said_none:
            return ("Right: no point changed cluster." if self.n_changed == 0 else
                    f"You said none would change; {_plural(self.n_changed, 'point')} did.")
        return (f"{_plural(self.hits.size, 'hit')}, {_plural(self.misses.size, 'miss', 'misses')}, "
                f"{_plural(self.false_alarms.size, 'false alarm')}.")


@dataclass(frozen=True, eq=False)
class CentreOutcome:
    """A guess of where one centre goes in an update step.

    Attributes
    ----------
    centre : int
        Which centre (0-based).
    guess : ndarray of shape (d,)
    truth : ndarray of shape (d,)
        Where the centre really went: the mean of its points.
    error : float
        Euclidean distance from the guess to the truth, in the data's units.
    """

    centre: int
    guess: np.ndarray
    truth: np.ndarray
    error: float
    kind = "update"

    def summary(self) -> str:
        return f"Your guess was {self.error:.3g} from where centre {self.centre + 1} went."


@dataclass(frozen=True)
class Skipped:
    """A step shown without a prediction (stepped past, or revealed with nothing marked)."""

    kind: str  # "assign" or "update"


def score_assign(previous_labels, labels, marked, *, said_none: bool = False) -> AssignOutcome:
    """Compare the points a learner marked with the points that changed cluster.

    Parameters
    ----------
    previous_labels, labels : array-like of int, shape (n,)
        Each point's cluster before and after the assign step.
    marked : array-like of int
        Indices of the points the learner marked (duplicates are ignored).
    said_none : bool, default=False
        The learner answered "none will change" (``marked`` must then be empty).

    Returns
    -------
    AssignOutcome

    Examples
    --------
    >>> o = score_assign([0, 1, 1], [0, 1, 1], [], said_none=True)
    >>> o.perfect, o.summary()
    (True, 'Right: no point changed cluster.')
    """
    before = np.asarray(previous_labels).ravel()
    after = np.asarray(labels).ravel()
    if before.shape != after.shape:
        raise ValueError(f"previous_labels and labels differ in length: {before.size} vs {after.size}.")
    marked = _rows(marked)
    if marked.size and (marked[0] < 0 or marked[-1] >= after.size):
        raise ValueError(f"Marked points must be indices 0 … {after.size - 1}.")
    if said_none and marked.size:
        raise ValueError("A \"none will change\" answer marks no point.")
    changed = np.flatnonzero(before != after)
    return AssignOutcome(hits=_rows(np.intersect1d(changed, marked)),
                         misses=_rows(np.setdiff1d(changed, marked)),
                         false_alarms=_rows(np.setdiff1d(marked, changed)),
                         said_none=bool(said_none))


def score_centre(centre: int, guess, truth) -> CentreOutcome:
    """How far a guessed position is from where a centre really went.

    >>> score_centre(0, [0, 0], [3, 4]).error
    5.0
    """
    g = np.array(guess, dtype=np.float64).ravel()
    t = np.array(truth, dtype=np.float64).ravel()
    if g.shape != t.shape:
        raise ValueError(f"The guess has {g.size} coordinates, the centre {t.size}.")
    if not np.all(np.isfinite(g)):
        raise ValueError("A guess needs finite coordinates.")
    g.setflags(write=False)
    t.setflags(write=False)
    return CentreOutcome(centre=int(centre), guess=g, truth=t, error=float(np.linalg.norm(g - t)))


def nearest_point(points, at, radius: float) -> int | None:
    """Index of the point nearest to ``at``, or None when none is within ``radius``.

    ``points`` (n, 2) and ``at`` (2,) in the same units (e.g. screen pixels).

    >>> nearest_point([[0, 0], [10, 0]], [8, 1], radius=5)
    1
    >>> nearest_point([[0, 0], [10, 0]], [5, 9], radius=5) is None
    True
    """
    P = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if P.shape[0] == 0:
        return None
    d2 = np.sum((P - np.asarray(at, dtype=np.float64).reshape(1, 2)) ** 2, axis=1)
    i = int(np.argmin(d2))
    return i if d2[i] <= float(radius) ** 2 else None


@dataclass(frozen=True)
class PredictionScore:
    """The running score of one run: immutable, :meth:`add` returns a new score.

    Attributes
    ----------
    hits, misses, false_alarms : int
        Summed over the assign steps predicted.
    assign_steps : int
        Assign steps predicted (marks or "none").
    right_none : int
        "None will change" answers that were right.
    centre_errors : tuple of float
        The error of every centre guess, in the data's units.
    skipped : int
        Steps shown without a prediction.
    """

    hits: int = 0
    misses: int = 0
    false_alarms: int = 0
    assign_steps: int = 0
    right_none: int = 0
    centre_errors: tuple = field(default_factory=tuple)
    skipped: int = 0

    def add(self, outcome) -> "PredictionScore":
        """The score with one more outcome (AssignOutcome, CentreOutcome or Skipped)."""
        fields = dict(self.__dict__)
        if isinstance(outcome, AssignOutcome):
            fields["hits"] += int(outcome.hits.size)
            fields["misses"] += int(outcome.misses.size)
            fields["false_alarms"] += int(outcome.false_alarms.size)
            fields["assign_steps"] += 1
            fields["right_none"] += int(outcome.said_none and outcome.n_changed == 0)
        elif isinstance(outcome, CentreOutcome):
            fields["centre_errors"] = (*self.centre_errors, float(outcome.error))
        elif isinstance(outcome, Skipped):
            fields["skipped"] += 1
        else:
            raise TypeError(f"Not a prediction outcome: {type(outcome).__name__}.")
        return PredictionScore(**fields)

    @property
    def mean_error(self) -> float | None:
        """Mean error of the centre guesses (None before the first)."""
        return float(np.mean(self.centre_errors)) if self.centre_errors else None

    @property
    def empty(self) -> bool:
        return self.assign_steps == 0 and not self.centre_errors and self.skipped == 0

    def summary(self) -> str:
        """The score in one line, e.g.
        "Assign steps: 12 hits, 3 misses, 2 false alarms · Centre guesses: mean error 0.21"."""
        parts = []
        if self.assign_steps:
            part = (f"Assign steps: {_plural(self.hits, 'hit')}, {_plural(self.misses, 'miss', 'misses')}, "
                    f"{_plural(self.false_alarms, 'false alarm')}")
            if self.right_none:
                part += f", {self.right_none} right “none”"
            parts.append(part)
        if self.centre_errors:
            parts.append(f"Centre guesses: mean error {self.mean_error:.3g}")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        return " · ".join(parts) if parts else "No predictions yet."
