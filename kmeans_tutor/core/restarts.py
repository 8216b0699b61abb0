"""Many restarts of one seeding, and where one run stands among them.

K-means stops in a local optimum that depends on its start. To see how good
one run is — say, a start a learner placed by hand — compare its final
inertia with the final inertias of many restarts of a seeding on the same
data and k. :func:`restart_inertias` makes that distribution (one run per
seed of a fixed sequence, so it is the same every time) and
:func:`standing` places one inertia in it.

Ties: two runs whose final inertias are within :data:`SAME_RESULT_RTOL`
(0.1 %) of each other count as the same result — on the scaled Mall data
(k = 5) the best grouping ends at 65.57 or 65.58, a customer or two apart,
while the next local optimum is about 50 % higher.

>>> from kmeans_tutor import load_mall_customers, standardize
>>> X, _ = standardize(load_mall_customers()[["Annual Income (k$)", "Spending Score (1-100)"]])
>>> runs = restart_inertias(X, 5, "random", n_restarts=20)
>>> runs.shape
(20,)
>>> standing(65.57, runs).percent
100.0
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .estimator import KMeans
from .validation import MAX_SEED, check_array, check_n_clusters, check_positive_int

__all__ = ["SAME_RESULT_RTOL", "MAX_RESTARTS", "restart_seeds", "restart_inertias", "Standing",
           "standing"]

#: Final inertias within this fraction of each other (0.1 %) count as the same result.
SAME_RESULT_RTOL = 1e-3
#: Most restarts :func:`restart_inertias` makes in one call.
MAX_RESTARTS = 10_000


def restart_seeds(n_restarts: int, first_seed: int = 0) -> np.ndarray:
    """The seeds of :func:`restart_inertias`: ``first_seed, first_seed + 1, …``.

    Returns
    -------
    ndarray of shape (n_restarts,), dtype int64
    """
    n = check_positive_int(n_restarts, "n_restarts")
    if n > MAX_RESTARTS:
        raise ValueError(f"n_restarts must be at most {MAX_RESTARTS:,}; got {n:,}.")
    if isinstance(first_seed, (bool, np.bool_)) or not isinstance(first_seed, numbers.Integral):
        raise TypeError(f"first_seed must be a whole number; got {first_seed!r}.")
    first = int(first_seed)
    if first < 0 or first + n - 1 > MAX_SEED:
        raise ValueError(f"Seeds {first:,} … {first + n - 1:,} must lie from 0 to {MAX_SEED:,}.")
    return np.arange(first, first + n, dtype=np.int64)


def restart_inertias(X, n_clusters, init="k-means++", *, n_restarts=200, first_seed=0) -> np.ndarray:
    """Final inertias of ``n_restarts`` independent runs of one seeding.

    Run ``r`` is ``KMeans(n_clusters, init=init, n_init=1,
    random_state=first_seed + r).fit(X)``: one restart each, seeds in a
    fixed sequence, so the distribution is reproducible and any run in it can
    be replayed alone.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
    n_clusters : int
    init : {"k-means++", "random", "farthest"} or callable, default="k-means++"
        The seeding (an array of centres would make every run the same).
    n_restarts : int, default=200
        Runs to make (1 … :data:`MAX_RESTARTS`). 200 runs on the 200 Mall
        customers with k = 5 take about 0.3 s.
    first_seed : int, default=0
        Seed of the first run.

    Returns
    -------
    ndarray of shape (n_restarts,)
        The final inertia of each run, in the order of the seeds.

    Examples
    --------
    >>> X = [[0, 0], [0, 1], [1, 0], [9, 9], [9, 8], [8, 9]]
    >>> restart_inertias(X, 2, n_restarts=3).round(3).tolist()
    [2.667, 2.667, 2.667]
    """
    X, _ = check_array(X)
    k = check_n_clusters(n_clusters, X)
    if isinstance(init, np.ndarray) or not (isinstance(init, str) or callable(init)):
        raise TypeError("init must be a seeding method or a callable: one array of centres "
                        "would make every restart the same run.")
    seeds = restart_seeds(n_restarts, first_seed)
    out = np.empty(seeds.size, dtype=np.float64)
    for r, seed in enumerate(seeds):
        out[r] = KMeans(k, init=init, n_init=1, random_state=int(seed)).fit(X).inertia_
    return out


@dataclass(frozen=True)
class Standing:
    """Where one final inertia stands among many runs' (lower inertia is better).

    Attributes
    ----------
    n_worse : int
        Runs that ended worse: higher by more than the tie tolerance.
    n_same : int
        Runs that ended at the same result (within the tolerance).
    n_better : int
        Runs that ended better: lower by more than the tolerance.
    """

    n_worse: int
    n_same: int
    n_better: int

    @property
    def n_runs(self) -> int:
        return self.n_worse + self.n_same + self.n_better

    @property
    def n_matched_or_beaten(self) -> int:
        """Runs this one is at least as good as (the same result counts)."""
        return self.n_worse + self.n_same

    @property
    def percent(self) -> float:
        """Share of the runs this one is at least as good as, 0 … 100: 100 when no
        run did better, 0 when every run did better."""
        return 100.0 * self.n_matched_or_beaten / self.n_runs


def standing(inertia: float, inertias, *, rtol: float = SAME_RESULT_RTOL) -> Standing:
    """Count the runs that ended worse, the same and better than ``inertia``.

    A run counts as the same result when its final inertia differs from
    ``inertia`` by at most ``rtol × inertia`` (0.1 % by default); lower by
    more is better, higher by more is worse.

    Parameters
    ----------
    inertia : float
        The final inertia to place (finite, ≥ 0).
    inertias : array-like of shape (n_runs,)
        The final inertias of the runs to compare with (at least one, finite).
    rtol : float, default=SAME_RESULT_RTOL
        Relative tolerance of a tie (0 ≤ rtol < 1).

    Returns
    -------
    Standing
        ``.percent`` is the share of runs it matches or beats.

    Examples
    --------
    >>> s = standing(10.0, [9.0, 10.005, 11.0, 12.0])
    >>> s.n_better, s.n_same, s.n_worse, s.percent
    (1, 1, 2, 75.0)
    """
    value = float(inertia)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"inertia must be a finite number ≥ 0; got {inertia!r}.")
    runs = np.asarray(inertias, dtype=np.float64).ravel()
    if runs.size == 0:
        raise ValueError("inertias is empty: there are no runs to compare with.")
    if not np.isfinite(runs).all():
        raise ValueError("inertias must all be finite numbers.")
    rtol = float(rtol)
    if not 0.0 <= rtol < 1.0:
        raise ValueError(f"rtol must be from 0 up to (not including) 1; got {rtol!r}.")
    slack = rtol * value
    n_better = int(np.count_nonzero(runs < value - slack))
    n_worse = int(np.count_nonzero(runs > value + slack))
    return Standing(n_worse=n_worse, n_same=runs.size - n_better - n_worse, n_better=n_better)
