"""The numeric kernels: the nearest-centre rule, per-cluster sums, distances.

Every other part of the package that needs "which centre is nearest?" or "the
sum of each cluster's rows" calls these functions, so the Lloyd loop, the
estimator, the quiz and the pictures can never disagree.

Inputs are validated by the callers (:mod:`kmeans_tutor.core.validation`):
X is float64, C-contiguous, finite, shape (n, d); centres are float64 (k, d).

The row-wise kernels work on blocks of rows so that memory stays near
O(n·d + block·k) however large n is, and spread the blocks over a small
thread pool (numpy releases the GIL inside matmul and reductions).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = [
    "BLOCK_ROWS",
    "SMALL_ROWS",
    "label_dtype",
    "center_scores",
    "nearest_centers",
    "assign_labels",
    "cluster_sums",
    "sq_dist_to_own_center",
    "sq_dist_to_point",
    "distances",
    "exact_inertia",
    "LloydState",
    "SmallLloydState",
    "lloyd_state",
]

BLOCK_ROWS = 8192  # rows per block: a (block, k) distance table stays in cache
SMALL_ROWS = 20_000  # below this many rows, SmallLloydState is faster than LloydState
_POOL: ThreadPoolExecutor | None = None


def _n_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _pool() -> ThreadPoolExecutor:
    """A process-wide pool, created on first use."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(_n_threads(), thread_name_prefix="kmeans-tutor")
    return _POOL


def _map_blocks(func, n: int, block_rows: int = BLOCK_ROWS):
    """Run func(start, stop) over row blocks, in threads when there are several."""
    spans = [(s, min(s + block_rows, n)) for s in range(0, n, block_rows)]
    if len(spans) < 2 or _n_threads() == 1:
        return [func(s, e) for s, e in spans]
    return list(_pool().map(lambda se: func(*se), spans))


def label_dtype(n_clusters: int) -> np.dtype:
    """Smallest signed integer type that holds labels 0..k-1."""
    for dt in (np.int8, np.int16, np.int32):
        if n_clusters <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.int64)


# --------------------------------------------------------------------------- the rule


def center_scores(x: np.ndarray, centers: np.ndarray, c_sq: np.ndarray | None = None) -> np.ndarray:
    """``||c||² − 2 x·c`` for every row of x and every centre, shape (m, k).

    This is ``||x − c||²`` minus ``||x||²``, a term that is the same for every
    centre, so the argmin over centres is the nearest centre. It is the form
    scikit-learn's Lloyd kernel compares, so ties are broken the same way.
    """
    scores = x @ (-2.0 * centers.T)  # (m, k)
    scores += np.einsum("kd,kd->k", centers, centers) if c_sq is None else c_sq
    return scores


def nearest_centers(X: np.ndarray, centers: np.ndarray, out: np.ndarray | None = None, *,
                    origin: np.ndarray | None = None) -> np.ndarray:
    """The nearest centre of every row: the assign step's rule, shape (n,).

    The argmin of :func:`center_scores`, so on an exact tie the centre with the
    lowest index wins. Rows and centres are first moved by ``-origin`` (default:
    the centres' mean), so that data far from 0 keep the digits that tell them
    apart. Labels use the smallest integer type that holds k
    (:func:`label_dtype`) unless ``out`` is given.
    """
    n, k = X.shape[0], centers.shape[0]
    labels = out if out is not None else np.empty(n, dtype=label_dtype(k))
    origin = centers.mean(axis=0) if origin is None else origin
    C = centers - origin
    c_sq = np.einsum("kd,kd->k", C, C)

    def block(s, e):
        labels[s:e] = center_scores(X[s:e] - origin, C, c_sq).argmin(axis=1)

    _map_blocks(block, n)
    return labels


def assign_labels(X: np.ndarray, centers: np.ndarray, *, origin: np.ndarray | None = None
                  ) -> tuple[np.ndarray, float]:
    """Nearest centre of every row (:func:`nearest_centers`) and the total
    squared distance to it, summed in the exact difference form ``||x − c||²``.

    Returns
    -------
    labels : ndarray of shape (n,), compact integer dtype
    inertia : float
    """
    labels = nearest_centers(X, centers, origin=origin)
    return labels, exact_inertia(X, centers, labels)


# --------------------------------------------------------------------------- sums


def cluster_sums(values: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """The sum of ``values`` over the rows of each cluster.

    Parameters
    ----------
    values : ndarray of shape (n,) or (n, d)
    labels : ndarray of shape (n,), integers 0..k-1
    n_clusters : int

    Returns
    -------
    ndarray of shape (k,) or (k, d)
        Zero for a cluster with no rows.
    """
    if values.ndim == 1:
        return np.bincount(labels, weights=values, minlength=n_clusters)
    sums = np.empty((n_clusters, values.shape[1]))
    for j in range(values.shape[1]):  # one bincount per column: no (n, k) one-hot table
        sums[:, j] = np.bincount(labels, weights=values[:, j], minlength=n_clusters)
    return sums


# --------------------------------------------------------------------------- distances


def _row_sq_norms(A: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """||a||² of every row of A, shape (m,)."""
    return np.einsum("ij,ij->i", A, A, out=out)


def sq_dist_to_own_center(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Squared distance of every row to the centre of its own cluster, shape (n,)."""
    out = np.empty(X.shape[0])

    def block(s, e):
        _row_sq_norms(X[s:e] - centers[labels[s:e]], out=out[s:e])

    _map_blocks(block, X.shape[0])
    return out


def sq_dist_to_point(X: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Squared distance of every row to one point, shape (n,)."""
    out = np.empty(X.shape[0])

    def block(s, e):
        _row_sq_norms(X[s:e] - point, out=out[s:e])

    _map_blocks(block, X.shape[0])
    return out


def distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Euclidean distance of every row to every centre, shape (n, k)."""
    out = np.empty((X.shape[0], centers.shape[0]))

    def block(s, e):
        diff = X[s:e, None, :] - centers[None, :, :]  # (m, k, d)
        np.sqrt(np.einsum("ikd,ikd->ik", diff, diff), out=out[s:e])

    _map_blocks(block, X.shape[0])
    return out


def exact_inertia(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> float:
    """Σ ||x − c_label||² in the exact difference form (used for final results)."""

    def block(s, e):
        diff = X[s:e] - centers[labels[s:e]]
        return float(np.einsum("ij,ij->", diff, diff))

    return float(sum(_map_blocks(block, X.shape[0])))


# --------------------------------------------------------------------------- Lloyd state

# Relative slack on the bounds: far above rounding error (~1e-16), far below any
# real gap between distances. It can only make a point be re-checked, never
# keep a wrong label.
_SLACK = 1e-10


class LloydState:
    """Labels and per-cluster sums of one Lloyd run, updated incrementally.

    The assign step must find every point's nearest centre. Checking all k
    centres for all n points every time is what costs; most points, after the
    first iterations, cannot possibly change cluster. Hamerly's bounds (2010)
    prove it cheaply: for each point keep

    - ``upper``: an upper bound on the distance to its own centre, and
    - ``lower``: a lower bound on the distance to any *other* centre.

    When a centre moves by δ, the triangle inequality says distances change by
    at most δ: ``upper += δ[own]``, ``lower -= max δ``. A point whose
    ``upper < max(lower, half the gap from its centre to the next centre)``
    keeps its label without computing a single distance. Only the rest are
    re-scanned with :func:`center_scores`, exactly as a plain Lloyd step
    would, so the labels are the same as a full scan (ties included).

    The per-cluster count, sum and sum of squares are updated only for the
    points that moved, so the update step and the inertia cost O(k·d) instead
    of O(n·d). The data are centred by the caller (:mod:`~kmeans_tutor.core.lloyd`),
    which keeps the rounding of those sums small.
    """

    def __init__(self, X: np.ndarray, n_clusters: int):
        self.X = X
        self.k = n_clusters
        n, d = X.shape
        self.dtype = label_dtype(n_clusters)
        self.labels = None  # (n,) intp: current labels (fast to index with)
        self.counts = np.zeros(n_clusters, dtype=np.int64)  # (k,)
        self.sums = np.zeros((n_clusters, d))  # (k, d) Σ x
        self.sq_sums = np.zeros(n_clusters)  # (k,) Σ ||x||²
        self.x_sq = np.empty(n)  # (n,) ||x||², for the bounds
        _map_blocks(lambda s, e: _row_sq_norms(X[s:e], out=self.x_sq[s:e]), n)
        self.upper = np.empty(n)  # (n,)
        self.lower = np.empty(n)  # (n,)
        self.shifts = None  # (k,) centre moves not yet applied to the bounds

    # --- the assign step ------------------------------------------------------
    def _nearest(self, x, x_sq, centers, c_sq):
        """Nearest centre of rows x (b, d), an upper bound on the distance to
        it and a lower bound on the distance to the runner-up.

        The bounds add ||x||² back to the scores and are padded by far more
        than the rounding error of that expanded form.
        """
        dist = center_scores(x, centers, c_sq)  # (b, k)
        lab = dist.argmin(axis=1)
        rows_b = np.arange(x.shape[0])
        pad = _SLACK * (x_sq + c_sq.max())
        own = np.sqrt(np.maximum(dist[rows_b, lab] + x_sq + pad, 0.0))
        if self.k > 1:
            dist[rows_b, lab] = np.inf
            second = np.sqrt(np.maximum(dist.min(axis=1) + x_sq - pad, 0.0))
        else:
            second = np.full(x.shape[0], np.inf)
        return lab, own, second

    def _sums_of(self, rows, labels):
        """Counts, sums and sums of squares of some rows, per cluster."""
        k = self.k
        x = self.X[rows]
        return (np.bincount(labels, minlength=k), cluster_sums(x, labels, k),
                cluster_sums(self.x_sq[rows], labels, k))

    def _add(self, rows, labels, sign):
        """Add (sign=+1) or remove (-1) rows from their clusters' sums."""
        counts, sums, sq_sums = self._sums_of(rows, labels)
        self.counts += sign * counts
        self.sums += sign * sums
        self.sq_sums += sign * sq_sums

    def _first_assign(self, centers):
        """Scan every point; build labels, bounds and the sums from scratch."""
        n = self.X.shape[0]
        self.labels = np.empty(n, dtype=np.intp)
        c_sq = np.einsum("kd,kd->k", centers, centers)

        def block(s, e):
            lab, self.upper[s:e], self.lower[s:e] = self._nearest(self.X[s:e], self.x_sq[s:e], centers, c_sq)
            self.labels[s:e] = lab
            return self._sums_of(slice(s, e), lab)

        parts = _map_blocks(block, n)
        self.counts = sum(p[0] for p in parts).astype(np.int64)
        self.sums = sum(p[1] for p in parts)
        self.sq_sums = sum(p[2] for p in parts)

    def assign(self, centers: np.ndarray):
        """Nearest centre for every point.

        Returns
        -------
        labels : ndarray of shape (n,), compact integer dtype
            A new array (steps keep their own labels).
        changed : ndarray of shape (n_changed,)
            Rows whose label changed (all rows the first time).
        """
        n = self.X.shape[0]
        if self.labels is None:
            self._first_assign(centers)
            return self.labels.astype(self.dtype), np.arange(n, dtype=np.intp)

        c_sq = np.einsum("kd,kd->k", centers, centers)  # (k,)
        gaps = centers[:, None, :] - centers[None, :, :]
        gaps = np.sqrt(np.einsum("ikd,ikd->ik", gaps, gaps))  # (k, k)
        np.fill_diagonal(gaps, np.inf)
        half_gap = 0.5 * gaps.min(axis=1) * (1 - _SLACK)  # (k,)
        shifts = None if self.shifts is None else self.shifts * (1 + _SLACK)
        self.shifts = None

        def block(s, e):
            lab = self.labels[s:e]
            upper, lower = self.upper[s:e], self.lower[s:e]
            # 1. Loosen the bounds by how far the centres moved.
            if shifts is not None:
                upper += shifts.take(lab)
                lower -= shifts.max()
            # 2. Points whose bounds prove they keep their centre are done.
            bound = half_gap.take(lab)
            np.maximum(bound, lower, out=bound)
            rows = np.flatnonzero(upper >= bound)
            if rows.size == 0:
                return None
            # 3. Tighten the upper bound to the true distance, test again.
            diff = self.X[s + rows] - centers[lab[rows]]
            upper[rows] = np.sqrt(_row_sq_norms(diff)) * (1 + _SLACK)
            rows = rows[upper[rows] >= bound[rows]]
            if rows.size == 0:
                return None
            # 4. Scan the rest against every centre, like a plain Lloyd step.
            new, upper[rows], lower[rows] = self._nearest(self.X[s + rows], self.x_sq[s + rows],
                                                          centers, c_sq)
            old = lab[rows]
            moved = new != old
            lab[rows[moved]] = new[moved]
            return s + rows[moved], old[moved], new[moved]

        parts = [p for p in _map_blocks(block, n, block_rows=1 << 16) if p is not None]
        if not parts:
            return self.labels.astype(self.dtype), np.empty(0, dtype=np.intp)
        changed, old, new = (np.concatenate(a) for a in zip(*parts))
        if changed.size:
            self._add(changed, old, -1)
            self._add(changed, new, +1)
        return self.labels.astype(self.dtype), changed

    # --- after the update step ------------------------------------------------
    def centres_moved(self, shifts: np.ndarray):
        """Remember that every centre j moved by shifts[j]; the bounds are
        loosened lazily, in the next assignment's pass over the points."""
        self.shifts = shifts if self.shifts is None else self.shifts + shifts

    def move_points(self, rows: np.ndarray, clusters: np.ndarray):
        """Put each row into the given cluster (empty-cluster relocation)."""
        old = self.labels[rows]
        self._add(rows, old, -1)
        self._add(rows, clusters, +1)
        self.labels[rows] = clusters
        self.upper[rows] = 0.0  # the point now is its centre
        self.lower[rows] = 0.0  # unknown: force a re-check next time

    def means(self):
        """Per-cluster means (rows of empty clusters are left 0) and counts."""
        return _means(self.sums, self.counts), self.counts.copy()

    def inertia(self, centers: np.ndarray) -> float:
        """Σ_j Σ_{i in j} ||x_i − c_j||² from the per-cluster sums, O(k·d):
        Σ||x − c||² = Σ||x||² − 2 c·Σx + n||c||²."""
        per_cluster = (self.sq_sums - 2 * np.einsum("kd,kd->k", centers, self.sums)
                       + self.counts * np.einsum("kd,kd->k", centers, centers))
        return float(np.maximum(per_cluster, 0.0).sum())


class SmallLloydState:
    """The same job as :class:`LloydState` for small data, done plainly.

    Below a few thousand points bookkeeping costs more than it saves, so every
    assignment scans all points and the sums are recomputed from scratch, in
    row order, exactly as scikit-learn's Lloyd kernel adds them up — so that
    from the same centres even exact ties (points halfway between two
    centres, common on integer grids) fall the same way.
    """

    def __init__(self, X: np.ndarray, n_clusters: int):
        self.X = X
        self.k = n_clusters
        self.dtype = label_dtype(n_clusters)
        self.labels = None  # (n,) intp
        self.counts = None  # (k,)
        self.sums = None  # (k, d), recomputed after each assignment

    def assign(self, centers):
        new = center_scores(self.X, centers).argmin(axis=1)
        if self.labels is None:
            changed = np.arange(new.shape[0], dtype=np.intp)
        else:
            changed = np.flatnonzero(new != self.labels)
        self.labels = new
        self.counts = np.bincount(new, minlength=self.k)
        self.sums = cluster_sums(self.X, new, self.k)
        return new.astype(self.dtype), changed

    def centres_moved(self, shifts):
        pass

    def move_points(self, rows, clusters):
        """Put each row into the given (empty) cluster, adjusting the sums as
        scikit-learn does: the row's old cluster loses it, the new one is just it."""
        for row, new in zip(rows, clusters):
            old = self.labels[row]
            self.sums[old] -= self.X[row]
            self.sums[new] = self.X[row]
            self.counts[old] -= 1
            self.counts[new] = 1
            self.labels[row] = new

    def means(self):
        return _means(self.sums, self.counts), self.counts.copy()

    def inertia(self, centers):
        return exact_inertia(self.X, centers, self.labels)


def _means(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-cluster means from sums and counts (0 for an empty cluster). The sums are
    multiplied by 1/count, as scikit-learn does, so the two agree to the last bit."""
    means = np.zeros_like(sums)
    filled = counts > 0
    means[filled] = sums[filled] * (1.0 / counts[filled])[:, None]
    return means


def lloyd_state(X: np.ndarray, n_clusters: int):
    """The labels-and-sums keeper suited to the size of X."""
    if X.shape[0] < SMALL_ROWS:
        return SmallLloydState(X, n_clusters)
    return LloydState(X, n_clusters)
