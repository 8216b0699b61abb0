"""K-means as a generator of steps (Lloyd's algorithm, one half-step at a time).

In plain English:

1. **Seed**: choose k starting centres.
2. **Assign**: every point joins the cluster of its nearest centre.
3. **Update**: every centre moves to the mean of the points in its cluster.
4. Repeat 2–3 until an assignment changes nothing (or the centres barely move,
   or we run out of iterations).

Each half-step can only lower the inertia (the total squared distance of points
to their centres): assigning to the nearest centre can only shorten each
distance, and the mean is the point that minimises the squared distances to a
group. There are finitely many ways to split n points into k groups, so the
loop must stop — though maybe in a local optimum, which is why the start matters.

The stopping rules match scikit-learn's Lloyd implementation exactly, so the
same initial centres give the same labels, centres, inertia and iteration count.
Like scikit-learn, the loop works on the data minus their mean: distances do not
change when every point moves by the same amount, but rounding does — data far
from the origin (a column of values near 10⁹) would otherwise lose the digits
that tell points apart. Steps report centres in the caller's units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from .kernels import exact_inertia, lloyd_state
from .seeding import INIT_METHODS, seed_steps
from .steps import AssignStep, ConvergedStep, EmptyClusterEvent, Step, UpdateStep
from .trace import Trace
from .validation import (
    check_array,
    check_centers,
    check_choice,
    check_n_clusters,
    check_positive_int,
    check_random_state,
    check_tol,
)

__all__ = ["kmeans_steps", "run_kmeans", "KMeansRun", "EMPTY_CLUSTER_POLICIES"]

EMPTY_CLUSTER_POLICIES = ("relocate", "keep")


@dataclass
class KMeansRun:
    """An iterator over the steps of one K-means run, plus what it was run on.

    Returned by :func:`kmeans_steps`. Iterate it (once) to get the steps, or
    call :meth:`trace` (before taking any step) to collect them all.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        The validated data (the caller's array itself when it was float64 and
        C-contiguous; the steps never change it).
    feature_names : ndarray of str or None
        Column names when X was a DataFrame.
    params : dict
        The run's settings, including the integer ``random_state`` actually used.
    """

    X: np.ndarray
    feature_names: np.ndarray | None
    params: dict
    _steps: Iterator[Step] = field(repr=False)
    _taken: int = field(default=0, repr=False)

    def __iter__(self):
        return self

    def __next__(self) -> Step:
        step = next(self._steps)
        self._taken += 1
        return step

    @property
    def seed(self) -> int | None:
        """The integer seed of the run (None if driven by a caller's Generator)."""
        return self.params["random_state"]

    def trace(self) -> Trace:
        """Run to the end and return a :class:`~kmeans_tutor.core.trace.Trace`.

        Raises
        ------
        RuntimeError
            When steps were already taken from this run: the trace would miss them.
        """
        if self._taken:
            raise RuntimeError(f"This run has already been stepped through ({self._taken} steps "
                               f"taken), so its trace would be incomplete; start a new run with "
                               f"kmeans_steps(...) or use run_kmeans(...).")
        return Trace(list(self), params=self.params, feature_names=self.feature_names)


def _check_init(init, k: int, d: int):
    """A method name, a checked (k, d) array, or a callable."""
    if isinstance(init, str):
        return check_choice(init, "init", INIT_METHODS)
    if callable(init):
        return init
    if init is None:
        raise TypeError(f"init must be one of {INIT_METHODS}, a (k, d) array or a callable; got None.")
    return check_centers(init, k, d)


def kmeans_steps(X, n_clusters, *, init="k-means++", random_state=None, max_iter=300,
                 tol=1e-4, empty_cluster="relocate", n_local_trials=None) -> KMeansRun:
    """Run K-means one half-step at a time.

    All inputs are checked here, before the first step, so a bad argument fails
    at the call and never halfway through a run.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Numeric data; DataFrame column names are kept for display.
    n_clusters : int
        Number of clusters k, 1 ≤ k ≤ number of distinct points.
    init : {"k-means++", "random", "farthest"}, ndarray of shape (k, d) or callable
        How to choose the starting centres. An array places them by hand; a
        callable is called as ``init(X, n_clusters, rng)`` and must return a
        ``(k, d)`` array.
    random_state : None, int or numpy.random.Generator
        Seed. None draws a fresh integer seed and records it in
        ``params["random_state"]`` and on every seeding step, so any run can
        be replayed.
    max_iter : int, default=300
        Most Lloyd iterations (assign + update) to run.
    tol : float, default=1e-4
        Stop when the summed squared centre shift is at most
        ``tol × mean feature variance`` (scikit-learn's rule).
    empty_cluster : {"relocate", "keep"}, default="relocate"
        What to do when a cluster loses all its points: move its centre to the
        point farthest from its own centre (scikit-learn), or leave it where it is.
    n_local_trials : int, optional
        k-means++ candidates per centre; 1 is vanilla k-means++, default
        ``2 + floor(ln k)`` (greedy, as scikit-learn).

    Returns
    -------
    run : KMeansRun
        An iterator of :class:`~kmeans_tutor.core.steps.Step` objects: k seeding
        steps, then assign/update pairs (with an empty-cluster event before an
        update when needed), then a :class:`~kmeans_tutor.core.steps.ConvergedStep`.

    Examples
    --------
    >>> from kmeans_tutor import kmeans_steps
    >>> X = [[1, 1], [1, 2], [8, 8], [9, 8]]
    >>> for step in kmeans_steps(X, 2, init=[[1, 1], [1, 2]]):
    ...     print(step.phase, step.iteration)
    seed 0
    seed 0
    assign 1
    update 1
    assign 2
    update 2
    assign 3
    converged 3
    """
    X, feature_names = check_array(X)
    k = check_n_clusters(n_clusters, X)
    settings = check_settings(k, X.shape[1], init=init, max_iter=max_iter, tol=tol,
                              empty_cluster=empty_cluster, n_local_trials=n_local_trials)
    return start_run(X, feature_names, random_state=random_state, **settings)


def check_settings(k, n_features, *, init, max_iter, tol, empty_cluster, n_local_trials) -> dict:
    """Validate everything but the data and the seed; returns the clean settings."""
    return dict(
        n_clusters=k,
        init=_check_init(init, k, n_features),
        max_iter=check_positive_int(max_iter, "max_iter"),
        tol=check_tol(tol),
        empty_cluster=check_choice(empty_cluster, "empty_cluster", EMPTY_CLUSTER_POLICIES),
        n_local_trials=None if n_local_trials is None
        else check_positive_int(n_local_trials, "n_local_trials"),
    )


def start_run(X, feature_names, *, n_clusters, init, random_state, max_iter, tol, empty_cluster,
              n_local_trials) -> KMeansRun:
    """A run on data and settings that are already validated (see check_settings)."""
    rng, seed = check_random_state(random_state)
    method = init if isinstance(init, str) else ("manual" if isinstance(init, np.ndarray) else "callable")
    if method == "callable":
        # Called now, so that a bad init function fails at the call, not at the first step.
        init = check_centers(init(X, n_clusters, rng), n_clusters, X.shape[1],
                             name="the init callable's result")
    params = dict(n_clusters=n_clusters, init=method, random_state=seed, max_iter=max_iter, tol=tol,
                  empty_cluster=empty_cluster, n_local_trials=n_local_trials)
    steps = _steps(X, n_clusters, init, rng, seed, max_iter, tol, empty_cluster, n_local_trials,
                   method)
    return KMeansRun(X=X, feature_names=feature_names, params=params, _steps=steps)


def run_kmeans(X, n_clusters, **kwargs) -> Trace:
    """Run K-means to the end and return its :class:`~kmeans_tutor.core.trace.Trace`.

    Takes the same arguments as :func:`kmeans_steps`.

    Examples
    --------
    >>> trace = run_kmeans([[0, 0], [0, 1], [5, 5], [5, 6]], 2, random_state=0)
    >>> trace.final.phase, trace.n_iter
    ('converged', 2)
    """
    return kmeans_steps(X, n_clusters, **kwargs).trace()


def _relocate(X, centers, labels, empty):
    """Rows that empty clusters jump to: the points farthest from their own
    centres, in scikit-learn's order (so results match it exactly)."""
    dist = ((X - centers[labels]) ** 2).sum(axis=1)  # scikit-learn's expression: same ties
    if dist.max() == 0:  # every point sits on its centre: no point can start a new cluster
        return None
    n_empty = empty.shape[0]
    return np.argpartition(dist, -n_empty)[: -n_empty - 1 : -1].astype(np.intp)


def _empty_clusters(X, units, centers, shown, labels, state, empty, policy, *, index, iteration,
                    inertia) -> EmptyClusterEvent:
    """What happens to clusters left with no points: each centre jumps to one of the
    points farthest from their own centres ("relocate", and those points move into
    it), or stays where it is ("keep")."""
    rows = _relocate(units.centred(X), centers, labels, empty) if policy == "relocate" else None
    if rows is not None:
        state.move_points(rows, empty.astype(labels.dtype))
        targets = X[rows].copy()
    else:
        policy, targets = "keep", shown[empty].copy()
    return EmptyClusterEvent(index=index, iteration=iteration, centers=shown, labels=labels,
                             inertia=inertia, clusters=empty.astype(np.intp), policy=policy,
                             relocated_to=rows, new_centers=targets)


class _Units:
    """The data's mean, the origin of every computation, and the way back to
    the caller's units.

    Every distance is computed on ``X − mean`` (scikit-learn does the same):
    the distances are the same, but the rounding is not — for data far from
    the origin, ``||c||² − 2 x·c`` would cancel away the digits that separate
    the points. The kernels subtract the mean block by block (they take it as
    their ``origin``), so the centred data are never held whole next to X;
    the caller's X is never changed. Centres go back to the caller's units
    as ``c + mean``.
    """

    def __init__(self, X: np.ndarray):
        self.mean = X.mean(axis=0)  # (d,)

    def centred(self, X: np.ndarray) -> np.ndarray:
        """X − mean as a new (n, d) array, for the rare whole-data computations."""
        return X - self.mean

    def caller(self, centers: np.ndarray) -> np.ndarray:
        """Centres of the centred data in the caller's units."""
        return centers + self.mean

    def inside(self, centers: np.ndarray) -> np.ndarray:
        """Centres given in the caller's units, on the centred data."""
        return centers - self.mean


def _update(X, units, centers, shown, labels, state, empty_cluster, index, it, assign_inertia):
    """Step 3 of one iteration: an empty-cluster event if a cluster emptied, then the update.

    Yields those steps; returns ``(centers, shown, shifts, inertia, relocated, index)`` for
    the next iteration (centres centred and as shown, each centre's move, the inertia after
    the update, whether a point was relocated, the next step's index).
    """
    step_labels = labels
    relocated = False
    empty = np.flatnonzero(state.counts == 0)
    if empty.size:
        event = _empty_clusters(X, units, centers, shown, labels, state, empty, empty_cluster,
                                index=index, iteration=it, inertia=assign_inertia)
        if event.relocated_to is not None:
            relocated = True
            step_labels = state.labels.astype(labels.dtype)
        yield event
        index += 1
    means, counts = state.means()
    filled = counts > 0
    new_centers = centers.copy()  # a cluster left empty (policy "keep") stays put
    new_centers[filled] = means[filled]
    moves = new_centers - centers  # (k, d)
    shifts = np.sqrt(np.einsum("kd,kd->k", moves, moves))
    inertia = state.inertia(new_centers)
    new_shown = units.caller(new_centers)
    yield UpdateStep(index=index, iteration=it, centers=new_shown, labels=step_labels,
                     inertia=inertia, previous_centers=shown, shifts=shifts,
                     previous_inertia=assign_inertia)
    return new_centers, new_shown, shifts, inertia, relocated, index + 1


def _steps(X, k, init, rng, seed, max_iter, tol, empty_cluster, n_local_trials,
           method) -> Iterator[Step]:
    """The generator behind kmeans_steps; inputs are validated."""
    units = _Units(X)
    origin = units.mean
    index = 0
    # --- 1. Seed ---------------------------------------------------------------
    # Distances are measured on the centred data; the steps show rows of X or
    # the given centres, and the loop starts from the same centres, centred.
    rows = []
    for step in seed_steps(X, k, init, rng, seed, n_local_trials, origin=origin, given_as=method):
        rows.append(step.chosen)
        yield step
        index += 1
    centers = X[rows] - origin if step.chosen >= 0 else units.inside(step.centers)  # (k, d)

    # Tolerance in data units: tol × mean variance of the features, computed
    # on X itself as scikit-learn does (np.var centres the data internally).
    tol_abs = float(np.mean(np.var(X, axis=0)) * tol) if tol > 0 else 0.0
    state = lloyd_state(X, k, origin)  # labels and per-cluster sums, kept up to date
    inertia = None  # inertia after the last update step
    relocated = False  # did the last update relocate a point?
    reason = "max_iter"
    shown = units.caller(centers)  # the centres as steps report them
    for it in range(1, max_iter + 1):
        # --- 2. Assign: each point to its nearest centre ----------------------
        first = state.labels is None
        labels, changed = state.assign(centers)
        if relocated:
            # Compare with the last assignment, not with the relocation's
            # relabelling (scikit-learn's convergence test does the same).
            changed = np.flatnonzero(labels != last_assigned)
            relocated = False
        if not first and changed.size == 0:
            labels = last_assigned  # the same labels: the steps share one (read-only) array
        assign_inertia = state.inertia(centers)
        yield AssignStep(index=index, iteration=it, centers=shown, labels=labels,
                         inertia=assign_inertia, changed=changed, previous_inertia=inertia)
        index += 1
        if not first and changed.size == 0:
            # Nothing moved, so the update would leave every centre where it is.
            yield ConvergedStep(index=index, iteration=it, centers=shown, labels=labels,
                                inertia=exact_inertia(X, centers, labels, origin=origin),
                                reason="labels", n_iter=it)
            return
        last_assigned = labels

        # --- 3. Update: each centre to the mean of its points -----------------
        centers, shown, shifts, inertia, relocated, index = yield from _update(
            X, units, centers, shown, labels, state, empty_cluster, index, it, assign_inertia)
        state.centres_moved(shifts)
        if float(np.dot(shifts, shifts)) <= tol_abs:
            reason = "tol"
            break

    # --- 4. Stopped on the tolerance or max_iter: refresh the labels so that
    # they match the final centres (scikit-learn does the same).
    labels, _ = state.assign(centers)
    changed = np.flatnonzero(labels != last_assigned)
    if changed.size == 0:
        labels = last_assigned
    yield AssignStep(index=index, iteration=it, centers=shown, labels=labels,
                     inertia=state.inertia(centers), changed=changed, previous_inertia=inertia,
                     final=True)
    index += 1
    yield ConvergedStep(index=index, iteration=it, centers=shown, labels=labels,
                        inertia=exact_inertia(X, centers, labels, origin=origin), reason=reason,
                        n_iter=it)
