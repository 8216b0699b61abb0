"""Private numeric kernels. Inputs are validated by the callers: X is float64,
C-contiguous, finite, shape (n, d); centres are float64 (k, d).

The assignment kernel works on blocks of rows so that memory stays near
O(n·d + block·k) however large n is, and spreads the blocks over a small
thread pool (numpy releases the GIL inside matmul and reductions).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

BLOCK_ROWS = 8192  # rows per block: a (block, k) distance table stays in cache
_POOL: ThreadPoolExecutor | None = None


def _n_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _pool() -> ThreadPoolExecutor:
    """A process-wide pool, created on first use."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(_n_threads(), thread_name_prefix="kmeans-tutor")
    return _POOL


def label_dtype(n_clusters: int) -> np.dtype:
    """Smallest signed integer type that holds labels 0..k-1."""
    for dt in (np.int8, np.int16, np.int32):
        if n_clusters <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.int64)


def _blocks(n: int, block: int = BLOCK_ROWS):
    return [(s, min(s + block, n)) for s in range(0, n, block)]


def _map_blocks(func, n: int, block_rows: int = BLOCK_ROWS):
    """Run func(start, stop) over row blocks, in threads when there are several."""
    spans = _blocks(n, block_rows)
    if len(spans) < 2 or _n_threads() == 1:
        return [func(s, e) for s, e in spans]
    return list(_pool().map(lambda se: func(*se), spans))


def assign_labels(X: np.ndarray, centers: np.ndarray, out: np.ndarray | None = None):
    """Nearest centre of every row and the total squared distance to it.

    Distances are compared as ||c||² - 2 x·c (the ||x||² term does not change
    which centre is nearest), exactly as scikit-learn's Lloyd kernel does, so
    ties are broken the same way: the lowest centre index wins. The inertia is
    then summed in the exact difference form ||x - c||².

    Returns
    -------
    labels : ndarray of shape (n,), compact integer dtype
    inertia : float
    """
    n = X.shape[0]
    k = centers.shape[0]
    labels = out if out is not None else np.empty(n, dtype=label_dtype(k))
    minus_2ct = -2.0 * centers.T  # (d, k)
    c_sq = np.einsum("kd,kd->k", centers, centers)  # (k,)

    def block(s, e):
        x = X[s:e]  # (m, d) view, no copy of X
        dist = x @ minus_2ct  # (m, k)
        dist += c_sq
        lab = dist.argmin(axis=1)
        labels[s:e] = lab
        diff = x - centers[lab]  # (m, d)
        return float(np.einsum("ij,ij->", diff, diff))

    inertia = float(sum(_map_blocks(block, n)))
    return labels, inertia


def cluster_sums(X: np.ndarray, labels: np.ndarray, n_clusters: int):
    """Per-cluster sum of rows and count of rows.

    Returns
    -------
    sums : ndarray of shape (k, d)
    counts : ndarray of shape (k,), int64
    """
    counts = np.bincount(labels, minlength=n_clusters)
    sums = np.empty((n_clusters, X.shape[1]))
    for j in range(X.shape[1]):
        sums[:, j] = np.bincount(labels, weights=X[:, j], minlength=n_clusters)
    return sums, counts


def sq_dist_to_own_center(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Squared distance of every row to the centre of its own cluster, shape (n,)."""
    out = np.empty(X.shape[0])

    def block(s, e):
        diff = X[s:e] - centers[labels[s:e]]
        out[s:e] = np.einsum("ij,ij->i", diff, diff)

    _map_blocks(block, X.shape[0])
    return out


def sq_dist_to_point(X: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Squared distance of every row to one point, shape (n,)."""
    out = np.empty(X.shape[0])

    def block(s, e):
        diff = X[s:e] - point
        out[s:e] = np.einsum("ij,ij->i", diff, diff)

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
    """Σ ||x - c_label||² in the exact difference form (used for final results)."""

    def block(s, e):
        diff = X[s:e] - centers[labels[s:e]]
        return float(np.einsum("ij,ij->", diff, diff))

    return float(sum(_map_blocks(block, X.shape[0])))


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
    re-scanned, exactly as a plain Lloyd step would, so the labels are the same
    as a full scan (ties included).

    The per-cluster count, sum and sum of squares (all relative to the data
    mean, to keep rounding small) are updated only for the points that moved,
    so the update step and the inertia cost O(k·d) instead of O(n·d). Means
    come from plain sums (exact on integer data); the inertia from sums taken
    around the data mean, which keeps its rounding error small.
    """

    def __init__(self, X: np.ndarray, n_clusters: int):
        self.X = X
        self.k = n_clusters
        n, d = X.shape
        self.dtype = label_dtype(n_clusters)
        self.mean = X.mean(axis=0)  # (d,) reference point for the sums
        self.labels = None  # (n,) intp: current labels (fast to index with)
        self.counts = np.zeros(n_clusters, dtype=np.int64)  # (k,)
        self.raw_sums = np.zeros((n_clusters, d))  # (k, d) Σ x, for the means
        self.sums = np.zeros((n_clusters, d))  # (k, d) Σ (x - mean), for the inertia
        self.sq_sums = np.zeros(n_clusters)  # (k,) Σ ||x - mean||²
        self.x_sq = np.empty(n)  # (n,) ||x||², for expanded distances
        _map_blocks(lambda s, e: np.einsum("ij,ij->i", X[s:e], X[s:e], out=self.x_sq[s:e]), n)
        self.upper = np.empty(n)  # (n,)
        self.lower = np.empty(n)  # (n,)
        self.shifts = None  # (k,) centre moves not yet applied to the bounds

    # --- the assign step ------------------------------------------------------
    def _nearest(self, x, x_sq, centers, c_sq):
        """Nearest centre of rows x (b, d), an upper bound on the distance to
        it and a lower bound on the distance to the runner-up.

        Distances are compared in scikit-learn's form ||c||² - 2 x·c (same
        ties, same choice); the bounds add ||x||² back and are padded by far
        more than the rounding error of that expanded form.
        """
        dist = x @ (-2.0 * centers.T)  # (b, k)
        dist += c_sq
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

    def _add(self, rows, labels, sign):
        """Add (sign=+1) or remove (-1) rows from their clusters' sums."""
        k = self.k
        x = self.X[rows]  # (m, d)
        xc = x - self.mean
        self.counts += sign * np.bincount(labels, minlength=k)
        for j in range(x.shape[1]):
            self.raw_sums[:, j] += sign * np.bincount(labels, weights=x[:, j], minlength=k)
            self.sums[:, j] += sign * np.bincount(labels, weights=xc[:, j], minlength=k)
        self.sq_sums += sign * np.bincount(labels, weights=np.einsum("ij,ij->i", xc, xc), minlength=k)

    def _first_assign(self, centers):
        """Scan every point; build labels, bounds and the sums from scratch."""
        n, d = self.X.shape
        k = self.k
        self.labels = np.empty(n, dtype=np.intp)
        c_sq = np.einsum("kd,kd->k", centers, centers)

        def block(s, e):
            x = self.X[s:e]
            lab, self.upper[s:e], self.lower[s:e] = self._nearest(x, self.x_sq[s:e], centers, c_sq)
            self.labels[s:e] = lab
            xc = x - self.mean
            raw, sums = np.empty((k, d)), np.empty((k, d))
            for j in range(d):
                raw[:, j] = np.bincount(lab, weights=x[:, j], minlength=k)
                sums[:, j] = np.bincount(lab, weights=xc[:, j], minlength=k)
            return (np.bincount(lab, minlength=k), raw, sums,
                    np.bincount(lab, weights=np.einsum("ij,ij->i", xc, xc), minlength=k))

        parts = _map_blocks(block, n)
        self.counts = sum(p[0] for p in parts).astype(np.int64)
        self.raw_sums = sum(p[1] for p in parts)
        self.sums = sum(p[2] for p in parts)
        self.sq_sums = sum(p[3] for p in parts)

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
            upper[rows] = np.sqrt(np.einsum("ij,ij->i", diff, diff)) * (1 + _SLACK)
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
        filled = self.counts > 0
        means = np.zeros_like(self.sums)
        means[filled] = self.raw_sums[filled] / self.counts[filled, None]
        return means, self.counts.copy()

    def inertia(self, centers: np.ndarray) -> float:
        """Σ_j Σ_{i in j} ||x_i - c_j||² from the per-cluster sums, O(k·d).

        With y = x - mean and b = c - mean: Σ||y - b||² = Σ||y||² - 2 b·Σy + n||b||².
        """
        b = centers - self.mean  # (k, d)
        per_cluster = (self.sq_sums - 2 * np.einsum("kd,kd->k", b, self.sums)
                       + self.counts * np.einsum("kd,kd->k", b, b))
        return float(np.maximum(per_cluster, 0.0).sum())


class SmallLloydState:
    """The same job as :class:`LloydState` for small data, done plainly.

    Below a few thousand points bookkeeping costs more than it saves, so every
    assignment scans all points and every sum is recomputed exactly.
    """

    def __init__(self, X: np.ndarray, n_clusters: int):
        self.X = X
        self.k = n_clusters
        self.dtype = label_dtype(n_clusters)
        self.labels = None  # (n,) intp
        self.counts = None  # (k,)

    def assign(self, centers):
        dist = self.X @ (-2.0 * centers.T)  # (n, k): ||c||² - 2 x·c, scikit-learn's comparison
        dist += np.einsum("kd,kd->k", centers, centers)
        new = dist.argmin(axis=1)
        if self.labels is None:
            changed = np.arange(new.shape[0], dtype=np.intp)
        else:
            changed = np.flatnonzero(new != self.labels)
        self.labels = new
        self.counts = np.bincount(new, minlength=self.k)
        return new.astype(self.dtype), changed

    def centres_moved(self, shifts):
        pass

    def move_points(self, rows, clusters):
        self.labels[rows] = clusters
        self.counts = np.bincount(self.labels, minlength=self.k)

    def means(self):
        d = self.X.shape[1]
        sums = np.empty((self.k, d))
        for j in range(d):
            sums[:, j] = np.bincount(self.labels, weights=self.X[:, j], minlength=self.k)
        filled = self.counts > 0
        sums[filled] /= self.counts[filled, None]
        sums[~filled] = 0.0
        return sums, self.counts.copy()

    def inertia(self, centers):
        diff = self.X - centers[self.labels]
        return float(np.einsum("ij,ij->", diff, diff))


SMALL_ROWS = 20_000  # below this, SmallLloydState is faster


def lloyd_state(X: np.ndarray, n_clusters: int):
    """The labels-and-sums keeper suited to the size of X."""
    if X.shape[0] < SMALL_ROWS:
        return SmallLloydState(X, n_clusters)
    return LloydState(X, n_clusters)
