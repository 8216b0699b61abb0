"""Choosing the initial centres, one :class:`~kmeans_tutor.core.steps.SeedStep` per centre.

Four ways to start, each a generator over validated input:

- ``random``: k distinct data points drawn uniformly (Forgy's method);
- ``k-means++``: each new centre drawn with probability proportional to D(x)²,
  the squared distance to the nearest centre chosen so far (Arthur &
  Vassilvitskii, 2007); the greedy variant draws several candidates and keeps
  the one that lowers the total D² most, as scikit-learn does;
- ``farthest``: a random first point, then always the point farthest from the
  centres so far (Gonzalez's heuristic: good spread, but it loves outliers);
- given centres: an explicit ``(k, d)`` array (placed by hand) or a callable.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from .kernels import sq_dist_to_point
from .steps import SeedStep
from .validation import (
    check_array,
    check_centers,
    check_n_clusters,
    check_positive_int,
    check_random_state,
)

__all__ = ["kmeans_plusplus", "seed_steps", "local_trials", "INIT_METHODS"]

INIT_METHODS = ("k-means++", "random", "farthest")


def _sq_dist_to_row(X, i, origin):
    """Squared distance of every row to row i, measured on X − origin."""
    if origin is None:
        return sq_dist_to_point(X, X[i])
    return sq_dist_to_point(X, X[i] - origin, origin=origin)


def _random(X, k, rng, seed) -> Iterator[SeedStep]:
    """k distinct rows, drawn without replacement; duplicate values are skipped
    so that no two centres start on the same spot."""
    n = X.shape[0]
    chosen, seen = [], set()
    for i in rng.permutation(n):
        key = (X[i] + 0.0).tobytes()  # + 0.0: -0.0 and 0.0 are the same value
        if key in seen:
            continue
        seen.add(key)
        chosen.append(int(i))
        centers = X[chosen].copy()
        yield SeedStep(index=len(chosen) - 1, iteration=0, centers=centers, labels=None,
                       inertia=None, method="random", center_index=len(chosen) - 1,
                       chosen=int(i), seed=seed)
        if len(chosen) == k:
            return


def _kmeans_plusplus(X, origin, k, rng, seed, n_local_trials) -> Iterator[SeedStep]:
    """D² seeding; greedy when n_local_trials > 1. Inputs are validated and X
    has at least k distinct rows, so the total D² is positive until k are chosen.
    Distances are measured on X − origin (see seed_steps)."""
    n = X.shape[0]
    greedy = n_local_trials > 1
    # First centre: uniform, as every point is equally far from "no centre".
    # (The n equal probabilities are one number seen n times: a read-only
    # broadcast view, not n stored copies.)
    first = int(rng.integers(n))
    chosen = [first]
    yield SeedStep(index=0, iteration=0, centers=X[[first]].copy(), labels=None, inertia=None,
                   method="k-means++", center_index=0, chosen=first,
                   probabilities=np.broadcast_to(1.0 / n, (n,)), seed=seed)
    closest = _sq_dist_to_row(X, first, origin)  # (n,) D² to the nearest chosen centre
    potential = float(closest.sum())
    trials = np.empty((n_local_trials, n))  # D² if each candidate were added; reused every pick
    for c in range(1, k):
        if potential <= 0.0:
            # Distinct points so close that their D² underflows to 0: treat every
            # point not yet chosen as equally far.
            closest = np.ones(n)
            closest[chosen] = 0.0
            potential = float(n - len(chosen))
        probabilities = closest / potential
        # Draw candidates by inverting the cumulative D² (like scikit-learn);
        # the cumulative sum is only needed until the candidates are drawn,
        # so it is written into the first row of `trials`.
        cumulative = np.cumsum(closest, out=trials[0])
        targets = rng.uniform(size=n_local_trials) * cumulative[-1]
        candidates = np.minimum(np.searchsorted(cumulative, targets), n - 1)
        # Each candidate's potential: total D² if it were added.
        for t, idx in enumerate(candidates):
            np.minimum(closest, _sq_dist_to_row(X, idx, origin), out=trials[t])
        potentials = trials.sum(axis=1)
        best = int(np.argmin(potentials))
        pick = int(candidates[best])
        chosen.append(pick)
        yield SeedStep(index=c, iteration=0, centers=X[chosen].copy(), labels=None, inertia=None,
                       method="k-means++", center_index=c, chosen=pick,
                       probabilities=probabilities, potential=potential,
                       candidates=candidates.astype(np.intp) if greedy else None,
                       candidate_potentials=potentials if greedy else None, seed=seed)
        np.copyto(closest, trials[best])
        potential = float(potentials[best])


def _farthest(X, origin, k, rng, seed) -> Iterator[SeedStep]:
    """A random first row, then repeatedly the row farthest from all chosen
    centres (the first one on ties)."""
    n = X.shape[0]
    first = int(rng.integers(n))
    chosen = [first]
    yield SeedStep(index=0, iteration=0, centers=X[[first]].copy(), labels=None, inertia=None,
                   method="farthest", center_index=0, chosen=first, seed=seed)
    closest = _sq_dist_to_row(X, first, origin)
    for c in range(1, k):
        pick = int(np.argmax(closest))
        chosen.append(pick)
        yield SeedStep(index=c, iteration=0, centers=X[chosen].copy(), labels=None, inertia=None,
                       method="farthest", center_index=c, chosen=pick,
                       potential=float(closest.sum()), closest_dist_sq=closest.copy(), seed=seed)
        np.minimum(closest, _sq_dist_to_row(X, pick, origin), out=closest)


def _given(centers, method, seed) -> Iterator[SeedStep]:
    """Centres supplied by the caller, revealed one at a time."""
    for c in range(centers.shape[0]):
        yield SeedStep(index=c, iteration=0, centers=centers[: c + 1].copy(), labels=None,
                       inertia=None, method=method, center_index=c, chosen=-1, seed=seed)


def local_trials(k: int) -> int:
    """How many candidates greedy k-means++ tries for each pick by default: 2 + ⌊ln k⌋,
    as scikit-learn does."""
    return 2 + int(np.log(k))


def seed_steps(X, k, init, rng, seed, n_local_trials=None, *, origin=None,
               given_as: str = "manual") -> Iterator[SeedStep]:
    """The seeding steps for validated input.

    ``init`` is one of :data:`INIT_METHODS`, or a ``(k, d)`` array already checked
    (shown as placed by hand, or ``given_as="callable"`` as given by an init
    function), or a callable ``init(X, n_clusters, rng)`` (its result is checked here).
    Distances are measured on ``X − origin`` (pass the data's mean; default: X
    itself), which keeps the rounding small for data far from 0; the shift is
    applied block by block, so no shifted copy of X is held. The steps'
    centres are rows of X, or the given centres, in the caller's units.
    """
    if isinstance(init, np.ndarray):
        return _given(init, given_as, seed)
    if callable(init):
        result = init(X, k, rng)
        return _given(check_centers(result, k, X.shape[1], name="the init callable's result"),
                      "callable", seed)
    if init == "random":
        return _random(X, k, rng, seed)
    if init == "farthest":
        return _farthest(X, origin, k, rng, seed)
    if n_local_trials is None:
        n_local_trials = local_trials(k)
    return _kmeans_plusplus(X, origin, k, rng, seed, n_local_trials)


def kmeans_plusplus(X, n_clusters, *, random_state=None, n_local_trials=None):
    """Pick initial centres with (greedy) k-means++.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
    n_clusters : int
    random_state : None, int or numpy.random.Generator
    n_local_trials : int, optional
        Candidates tried per centre; 1 is the original k-means++, the default
        ``2 + floor(ln k)`` is scikit-learn's greedy variant.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
    indices : ndarray of shape (n_clusters,)
        Rows of X chosen as centres.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans_tutor import kmeans_plusplus
    >>> X = np.array([[0., 0.], [0., 1.], [10., 10.], [10., 11.]])
    >>> centers, idx = kmeans_plusplus(X, 2, random_state=0)
    >>> sorted(centers[:, 0] > 5)
    [False, True]
    """
    X, _ = check_array(X)
    k = check_n_clusters(n_clusters, X)
    if n_local_trials is not None:
        n_local_trials = check_positive_int(n_local_trials, "n_local_trials")
    rng, seed = check_random_state(random_state)
    steps = list(seed_steps(X, k, "k-means++", rng, seed, n_local_trials, origin=X.mean(axis=0)))
    return steps[-1].centers.copy(), np.array([s.chosen for s in steps])
