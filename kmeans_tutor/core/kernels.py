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
    "compiled_steps",
    "COMPILED_ROWS",
    "USE_COMPILED",
]

BLOCK_ROWS = 8192  # rows per block: a (block, k) distance table stays in cache
ASSIGN_BLOCK_ROWS = 1 << 16  # rows per block of LloydState.assign for d ≤ 2 (fewer for larger d)
SMALL_ROWS = 20_000  # below this many rows, SmallLloydState is faster than LloydState
# From this many rows LloydState runs its steps compiled (see compiled_steps): below it an
# iteration takes a few milliseconds in numpy passes, and importing Numba (half a second,
# some 120 MB of the process) does not pay. No lesson's data comes near; an uploaded CSV
# (2 MB at most) only when its rows are a few characters long.
COMPILED_ROWS = 250_000
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


def _sq_norms(A: np.ndarray) -> np.ndarray:
    """||a||² of every row of A, shape (m,), summed column by column.

    For the few columns of most lesson data this is several times faster
    than :func:`_row_sq_norms`; the two may differ in the last bit, so it
    is used only where the bounded kernel pads its bounds (and for the
    sums of squares behind its inertia), never where ties are decided.
    """
    if A.shape[1] > 8:
        return _row_sq_norms(A)
    out = A[:, 0] * A[:, 0]
    for j in range(1, A.shape[1]):
        out += A[:, j] * A[:, j]
    return out


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


def _rows(X: np.ndarray, start: int, stop: int, origin: np.ndarray | None) -> np.ndarray:
    """Rows start..stop of X − origin (X itself when there is no origin).

    The kernels that take an ``origin`` measure on the shifted data block by
    block, so that the whole of X − origin never has to be held at once; a
    block of X − origin has the same bits as the same rows of the full array.
    """
    return X[start:stop] if origin is None else _minus(X[start:stop], origin)


def _minus(x: np.ndarray, origin: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """x (m, d) − origin (d,), the same bits as ``x - origin``.

    For few columns it subtracts column by column: broadcast over m short
    rows, numpy would run its inner loop once per row, several times slower.
    """
    if x.shape[1] > 8:
        return np.subtract(x, origin, out=out)
    out = np.empty_like(x) if out is None else out
    for j in range(x.shape[1]):
        np.subtract(x[:, j], origin[j], out=out[:, j])
    return out


def sq_dist_to_point(X: np.ndarray, point: np.ndarray, *, origin: np.ndarray | None = None
                     ) -> np.ndarray:
    """Squared distance of every row of X − origin to one point, shape (n,)."""
    out = np.empty(X.shape[0])

    def block(s, e):
        _row_sq_norms(_rows(X, s, e, origin) - point, out=out[s:e])

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


def exact_inertia(X: np.ndarray, centers: np.ndarray, labels: np.ndarray, *,
                  origin: np.ndarray | None = None) -> float:
    """Σ ||x − c_label||² in the exact difference form (used for final results),
    with x a row of X − origin when an origin is given."""

    def block(s, e):
        diff = _rows(X, s, e, origin) - centers[labels[s:e]]
        return float(np.einsum("ij,ij->", diff, diff))

    return float(sum(_map_blocks(block, X.shape[0])))


# --------------------------------------------------------------------------- Lloyd state

# Relative slack on the bounds: far above rounding error (~1e-16), far below any
# real gap between distances. It can only make a point be re-checked, never
# keep a wrong label.
_SLACK = 1e-10

# The bounds are stored in single precision, rounded outwards (an upper bound
# up, a lower bound down), so that they stay valid bounds: 8 bytes a point
# instead of 16. A bound that is a little looser only makes a point be
# re-checked; the labels still come from the full-precision scores.
#
# Rounding outwards: a float32 cast, rounded to nearest, is within a factor
# (1 ± 2⁻²⁴) of the exact value when the result is a normal number, and within
# 2⁻¹⁵⁰ of it below that. So the value is first moved outwards by 2⁻²² of
# itself plus 2⁻¹⁴⁹ (in float64, whose own rounding is far smaller), then cast:
# the cast cannot undo that move. Values beyond the float32 range are first
# capped at its edge on the side where the cap is still a bound.
_BOUND = np.float32
_OUTWARDS = 2.0**-22  # relative move, 4× the float32 rounding
_TINY = 2.0**-149  # absolute move, 2× the rounding below float32's normal range
_HUGE = _BOUND(np.finfo(np.float32).max)

# Centre moves so small that their squares underflow may be measured as 0:
# every move is padded by this much more than such a rounding can hide.
_TINY_MOVE = 2.0**-500

# The same numbers for the compiled assign step: slack, relative and absolute move, cap.
_ROUNDING = np.array([_SLACK, _OUTWARDS, _TINY, float(_HUGE)])
_ROUNDING.flags.writeable = False

#: Whether :class:`LloydState` runs its assign steps compiled
#: (:mod:`kmeans_tutor.core.compiled`, with Numba) rather than in numpy passes; the labels
#: are the same. ``KMEANS_TUTOR_COMPILED=off`` runs the numpy passes; so does a Python
#: where Numba cannot be imported.
USE_COMPILED = os.environ.get("KMEANS_TUTOR_COMPILED", "").strip().lower() not in ("off", "0", "no")
_COMPILED = None  # the compiled steps once imported, False where Numba could not be


def _read_only(*arrays):
    """C-contiguous read-only views of arrays the compiled step only reads: Numba compiles
    (and caches) one version of it per kind of array, read-only or not, so every call
    passes the same kinds (see :func:`kmeans_tutor.core.compiled.compile_now`)."""
    views = [np.ascontiguousarray(a).view() for a in arrays]
    for view in views:
        view.flags.writeable = False
    return views


def compiled_steps():
    """The compiled steps of :class:`LloydState` (the module :mod:`kmeans_tutor.core.compiled`),
    or None when they are switched off (:data:`USE_COMPILED`) or Numba cannot be imported.
    Imported on first use: Numba costs a process half a second and some 120 MB, which
    only runs of :data:`COMPILED_ROWS` rows or more pay."""
    global _COMPILED
    if not USE_COMPILED:
        return None
    if _COMPILED is None:
        try:
            from . import compiled
        except Exception:  # no Numba, or one that does not work with this numpy
            compiled = False
        _COMPILED = compiled
    return _COMPILED or None


def _round_up(a: np.ndarray) -> np.ndarray:
    """a (float64) as float32, each value moved up to an upper bound of it."""
    a = np.maximum(a, -_HUGE)  # below the float32 range: its lowest value
    move = np.abs(a)
    move *= _OUTWARDS
    move += _TINY
    move += a
    with np.errstate(over="ignore"):  # above the float32 range: inf, still a bound
        return move.astype(_BOUND)


def _round_down(a: np.ndarray) -> np.ndarray:
    """a (float64) as float32, each value moved down to a lower bound of it."""
    a = np.minimum(a, _HUGE)  # above the float32 range (inf too): its largest value
    move = np.abs(a)
    move *= -_OUTWARDS
    move -= _TINY
    move += a
    with np.errstate(over="ignore"):  # below the float32 range: -inf, still a bound
        return move.astype(_BOUND)


class LloydState:
    """Labels and per-cluster sums of one Lloyd run, updated incrementally.

    The assign step must find every point's nearest centre. Checking all k
    centres for all n points every time is what costs; most points, after the
    first iterations, cannot possibly change cluster. Hamerly's bounds (2010)
    prove it cheaply: for each point keep

    - an upper bound on the distance to its own centre, and
    - a lower bound on the distance to any *other* centre.

    When centres move, the triangle inequality says the distance to a centre
    changes by at most that centre's move, and any distance by at most the
    largest move δ. So the state keeps the ``drift`` D = Σ δ over all updates so
    far and, for each centre c, its own drift D_c = Σ of its moves, and stores
    each point's bounds as they were measured, shifted by the drifts of that
    moment:

    - ``upper`` = upper bound − D_c(then), c the point's centre: the own distance
      now is ≤ upper + D_c(now);
    - ``lower`` = lower bound + D(then): other distances now are ≥ lower − D(now).

    A point keeps its label when ``upper + D_c < lower − D``, that is when
    ``upper − lower < −D − D_c``, or when ``upper + D_c`` is below half the gap
    from its centre to the next centre; both thresholds are one number per
    centre. (A centre that barely moves leaves its points' upper bounds nearly
    as tight as they were, however far another centre went: on the benchmark's
    1M uniform points, a quarter fewer points are measured again.) The pass
    over the points only reads the bounds; they are written only for the
    points that are measured again. Only the points that the bounds cannot
    settle are re-scanned against every centre, exactly as a plain Lloyd step
    would, so the labels are the same as a full scan (ties included: a re-scanned
    point whose two nearest scores are within the pad of each other takes the label
    its whole block's scores give it, see :meth:`_nearest`).

    The steps are written here as numpy passes over blocks of points: the form to
    read. Where Numba can be imported (it is a dependency), the same steps run as one
    compiled loop per block (:mod:`kmeans_tutor.core.compiled`) for data of
    :data:`COMPILED_ROWS` rows or more (see also :data:`USE_COMPILED`),
    which reads each point once instead of once per pass: on the benchmark's million
    points an iteration takes about a third of the time. The labels, the sums and
    every step of a trace are the same bits either way.

    The per-cluster count, sum and sum of squares are updated only for the
    points that moved, so the update step and the inertia cost O(k·d) instead
    of O(n·d). Every distance is measured on X − origin (the caller passes the
    data's mean, see :mod:`~kmeans_tutor.core.lloyd`), which keeps the rounding
    of those sums small; the shift is applied block by block.

    Memory: besides X, the state keeps two float32 bounds and one compact
    label per point (9 bytes a point for k ≤ 127); ``||x||²`` is computed
    for the rows being re-scanned only.
    """

    def __init__(self, X: np.ndarray, n_clusters: int, origin: np.ndarray | None = None):
        self.X = X
        self.origin = origin  # (d,) or None: distances are measured on X − origin
        self.k = n_clusters
        n, d = X.shape
        self.dtype = label_dtype(n_clusters)
        self.labels = None  # (n,) compact integers: current labels
        self.counts = np.zeros(n_clusters, dtype=np.int64)  # (k,)
        self.sums = np.zeros((n_clusters, d))  # (k, d) Σ x
        self.sq_sums = np.zeros(n_clusters)  # (k,) Σ ||x||²
        self.upper = np.empty(n, dtype=_BOUND)  # (n,) upper bound − own drift when measured
        self.lower = np.empty(n, dtype=_BOUND)  # (n,) lower bound + drift when measured
        self.drift = 0.0  # Σ of the largest centre move of every update so far
        self.own_drift = np.zeros(n_clusters)  # (k,) Σ of each centre's own moves so far

    # --- bounds relative to the drift -------------------------------------------
    def _stored_upper(self, own, labels):
        """Upper bounds ``own`` (float64) on the distances to the centres ``labels``,
        measured now, stored as ``own − own_drift[label]``.

        The (1 ± _SLACK) factors move the result past the rounding of the
        subtraction (own and the drifts are never negative), then it is rounded up.
        """
        return _round_up(own * (1 + _SLACK) - self.own_drift.take(labels) * (1 - _SLACK))

    def _stored_lower(self, second):
        """Lower bounds ``second`` (float64, ≥ 0) measured now, stored as
        ``second + drift``, moved down past the rounding of the sum."""
        return _round_down((second + self.drift) * (1 - _SLACK))

    def _store(self, rows, labels, own, second):
        """Store both bounds of some rows (an index array or a slice) now in clusters
        ``labels``."""
        self.upper[rows] = self._stored_upper(own, labels)
        self.lower[rows] = self._stored_lower(second)

    # --- the assign step ------------------------------------------------------
    def _nearest(self, x, centers, c_sq, rows=None):
        """Nearest centre of rows x (b, d), an upper bound on the distance to
        it and a lower bound on the distance to the runner-up (float64).

        The bounds add ||x||² back to the scores and are padded by far more
        than the rounding error of that expanded form.

        ``rows``: the rows of X that x holds, when x is not a whole block of the full
        scan. A row whose two nearest scores are then within the pad of each other (a
        tie, or nearly one) takes the label the full scan gives it
        (:meth:`_full_scan_labels`): scores taken for a few rows on their own may differ
        from the full scan's in the last bit (numpy multiplies a single row another
        way), and so break a tie otherwise. The bounds hold for either label.
        """
        lab, best, second = _nearest_two(_scores_by_centre(x, centers, c_sq))
        x_sq = _sq_norms(x)
        pad = _SLACK * (x_sq + c_sq.max())
        if rows is not None:
            close = ~(second - best > pad)
            if close.any():
                lab[close] = self._full_scan_labels(rows[close], centers, c_sq)
        best += x_sq
        best += pad
        own = np.sqrt(np.maximum(best, 0.0, out=best), out=best)
        second += x_sq
        second -= pad
        second = np.sqrt(np.maximum(second, 0.0, out=second), out=second)
        return lab, own, second

    def _full_scan_labels(self, rows, centers, c_sq):
        """The labels the full scan gives some rows of X (ascending): the argmin of
        :func:`center_scores` over the whole block of :data:`BLOCK_ROWS` rows that
        holds each row, the blocks the first assignment scans."""
        out = np.empty(rows.size, dtype=np.intp)
        starts = rows - rows % BLOCK_ROWS
        for start in np.unique(starts):
            pick = starts == start
            x = _rows(self.X, start, min(start + BLOCK_ROWS, self.X.shape[0]), self.origin)
            out[pick] = center_scores(x, centers, c_sq)[rows[pick] - start].argmin(axis=1)
        return out

    def _take(self, rows):
        """Some rows of X − origin, shape (len(rows), d)."""
        x = self.X.take(rows, axis=0)
        return x if self.origin is None else _minus(x, self.origin, out=x)

    @staticmethod
    def _own_distance(x, centers, labels):
        """Distance of rows x (m, d) to their own centres, padded upwards by
        far more than its rounding error: an upper bound, shape (m,)."""
        diff = np.subtract(x, centers.take(labels.astype(np.intp), axis=0))
        own = _sq_norms(diff)
        np.sqrt(own, out=own)
        own *= 1 + _SLACK
        return own

    def _sums_of(self, x, labels):
        """Counts, sums and sums of squares of rows x (m, d), per cluster."""
        k = self.k
        return (np.bincount(labels, minlength=k), cluster_sums(x, labels, k),
                cluster_sums(_sq_norms(x), labels, k))

    def _changes(self, x, old, new):
        """How the counts, sums and sums of squares change when rows x (m, d)
        move from clusters ``old`` to clusters ``new``."""
        k = self.k
        x_sq = _sq_norms(x)
        return (np.bincount(new, minlength=k) - np.bincount(old, minlength=k),
                cluster_sums(x, new, k) - cluster_sums(x, old, k),
                cluster_sums(x_sq, new, k) - cluster_sums(x_sq, old, k))

    def _apply(self, changes):
        """Add changes from :meth:`_changes` (a list, applied in its order)."""
        for counts, sums, sq_sums in changes:
            self.counts += counts
            self.sums += sums
            self.sq_sums += sq_sums

    def _move(self, rows, old, new):
        """Move rows from clusters ``old`` to clusters ``new`` in the sums."""
        self._apply([self._changes(self._take(rows), old, new)])

    def _first_assign(self, centers):
        """Scan every point; build labels, bounds and the sums from scratch."""
        n = self.X.shape[0]
        self.labels = np.empty(n, dtype=self.dtype)
        c_sq = np.einsum("kd,kd->k", centers, centers)
        compiled = self._compiled()

        def block(s, e):
            x = _rows(self.X, s, e, self.origin)
            if compiled is None:  # the whole block, as the full scan takes it
                lab, own, second = self._nearest(x, centers, c_sq)
                self._store(slice(s, e), lab, own, second)
                self.labels[s:e] = lab
            else:
                self._first_assign_compiled(compiled.nearest_block, s, e, x, centers, c_sq)
            return self._sums_of(x, self.labels[s:e])

        parts = _map_blocks(block, n)  # in row order, however many threads ran them
        self.counts = sum(p[0] for p in parts).astype(np.int64)
        self.sums = sum(p[1] for p in parts)
        self.sq_sums = sum(p[2] for p in parts)

    def _first_assign_compiled(self, kernel, s, e, x, centers, c_sq):
        """Labels and bounds of block s..e (rows x of X − origin) from the compiled scan
        (:func:`kmeans_tutor.core.compiled.nearest_block`); the rows it cannot call
        (near-ties) are scanned by :meth:`_nearest`."""
        unsure = np.empty(e - s, dtype=np.int32)  # rows from s
        n_unsure = kernel(*_read_only(self.X, self._origin(), centers, c_sq, self.own_drift), self.drift,
                          s, e, _ROUNDING, self.labels, self.upper, self.lower, unsure)
        if n_unsure:
            rows = s + unsure[:n_unsure].astype(np.intp)
            lab, own, second = self._nearest(x[rows - s], centers, c_sq, rows=rows)
            self._store(rows, lab, own, second)
            self.labels[rows] = lab

    def _compiled(self):
        """The compiled steps for data this large, or None (see :data:`COMPILED_ROWS`)."""
        return compiled_steps() if self.X.shape[0] >= COMPILED_ROWS else None

    def _origin(self):
        """The origin of the distances, (d,): zeros when there is none."""
        return self.origin if self.origin is not None else np.zeros(self.X.shape[1])

    def _unsettled(self, s, e, tests, upper=None, rows=None):
        """Which rows of block s..e have bounds, loosened by the drift, that
        do not prove that they keep their centre: a mask, shape (e − s,).

        With ``rows`` (from s), the test of just those rows with new upper
        bounds ``upper``. ``tests`` are float32 thresholds, each below the
        exact value it stands for; a float32 difference is rounded to nearest,
        which never carries it across a float32 threshold, so both tests are exact.
        """
        pair, own_vs_gap = tests
        lab, lower = self.labels[s:e], self.lower[s:e]
        if rows is None:
            upper = self.upper[s:e]
        else:
            lab, lower = lab.take(rows), lower.take(rows)
        # upper + D_c < half the gap from the own centre c to the next one (Hamerly's
        # second test), or upper + D_c < lower − D: no other centre can be closer.
        # (A float32 difference beyond float32's range is ±inf: still on the right side.)
        unsettled = upper >= own_vs_gap.take(lab)
        with np.errstate(over="ignore"):
            unsettled &= np.subtract(upper, lower) >= pair.take(lab)
        return unsettled

    def _tighten(self, s, e, unsettled, centers, tests):
        """Measure the true distance of the unsettled rows of block s..e to
        their own centre, store it as their upper bound and test again.

        Returns the rows (from s) still unsettled, and the rows of X − origin
        of the whole block when it was measured whole (None otherwise).
        """
        lab = self.labels[s:e]
        if 2 * np.count_nonzero(unsettled) > e - s:
            # Many rows: measuring the whole block in order is cheaper than
            # picking the rows out (and any upper bound may be tightened).
            x = _rows(self.X, s, e, self.origin)
            self.upper[s:e] = self._stored_upper(self._own_distance(x, centers, lab), lab)
            return np.flatnonzero(self._unsettled(s, e, tests)), x
        rows = np.flatnonzero(unsettled)
        lab = lab.take(rows)
        upper = self._stored_upper(self._own_distance(self._take(s + rows), centers, lab), lab)
        self.upper[s + rows] = upper
        return rows[self._unsettled(s, e, tests, upper, rows)], None

    def _tests(self, centers):
        """The float32 thresholds of :meth:`_unsettled`."""
        half_gap = 0.5 * _nearest_other(centers) * (1 - _SLACK)  # (k,), a little below the truth
        D, own = self.drift, self.own_drift
        # −D − D_c and half_gap − D_c, moved down past the rounding of the sums (k,).
        pair = _round_down(-(D + own) * (1 + _SLACK))
        own_vs_gap = _round_down(half_gap * (1 - _SLACK) - own * (1 + _SLACK))
        return pair, own_vs_gap

    def assign(self, centers: np.ndarray):
        """Nearest centre for every point.

        Returns
        -------
        labels : ndarray of shape (n,), compact integer dtype
            The state's current labels. The state never writes into an array
            it has handed out (it changes a copy), so the caller may keep it
            and set it read-only; when no label changed it is the same array
            as the previous call's.
        changed : ndarray of shape (n_changed,)
            Rows whose label changed (all rows the first time).
        """
        n = self.X.shape[0]
        if self.labels is None:
            self._first_assign(centers)
            return self.labels, np.arange(n, dtype=np.intp)

        c_sq = np.einsum("kd,kd->k", centers, centers)  # (k,)
        tests = self._tests(centers)
        compiled = self._compiled()

        def block(s, e):
            if compiled is None:
                found = self._assign_block(s, e, centers, c_sq, tests)
            else:
                found = self._assign_block_compiled(compiled.assign_block, s, e, centers, c_sq, tests)
            if found is None:
                return None
            rows, old, new, x = found
            # 4. The block's share of the update to the per-cluster sums.
            return s + rows, new, self._changes(x, old, new)

        # Blocks run on the pool; their results come back in row order, and are
        # applied in that order, so threads change no bit of the result.
        # Blocks of (block, d) rows stay near the same size in bytes whatever d is.
        block_rows = max(1, ASSIGN_BLOCK_ROWS * 2 // max(2, self.X.shape[1]))
        parts = [p for p in _map_blocks(block, n, block_rows=block_rows) if p is not None]
        if not parts:
            return self.labels, np.empty(0, dtype=np.intp)
        changed, new = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        self._apply([p[2] for p in parts])
        if changed.size:
            self.labels = self.labels.copy()  # copy on write: the old array may be a step's
            self.labels[changed] = new
        return self.labels, changed

    def _rescan(self, s, e, rows, centers, c_sq, x=None):
        """Scan rows (from s) of block s..e against every centre, like a plain Lloyd
        step, and store their bounds. Returns the rows that changed label, their old
        and new labels and their rows of X − origin, or None when none changed."""
        if x is None:
            x = self._take(s + rows)
        old = self.labels[s:e].take(rows)
        new, own, second = self._nearest(x, centers, c_sq, rows=s + rows)
        self._store(s + rows, new, own, second)
        moved = np.flatnonzero(new != old)
        if moved.size == 0:
            return None
        return rows[moved], old[moved], new[moved], x.take(moved, axis=0)

    def _assign_block(self, s, e, centers, c_sq, tests):
        """The assign step for block s..e, in numpy passes: see :meth:`_rescan`."""
        # 1. Points whose bounds prove they keep their centre are done.
        unsettled = self._unsettled(s, e, tests)
        if not unsettled.any():
            return None
        # 2. Tighten the upper bound to the true distance, test again.
        rows, x_block = self._tighten(s, e, unsettled, centers, tests)
        if rows.size == 0:
            return None
        # 3. Scan the rest against every centre.
        return self._rescan(s, e, rows, centers, c_sq,
                            None if x_block is None else x_block.take(rows, axis=0))

    def _assign_block_compiled(self, kernel, s, e, centers, c_sq, tests):
        """The same as :meth:`_assign_block`, in one compiled loop
        (:func:`kmeans_tutor.core.compiled.assign_block`); the rows it cannot call
        (near-ties) are scanned by :meth:`_rescan`. The moved rows come back in row
        order, as from :meth:`_assign_block`, so the sums add them up in the same order."""
        pair, own_vs_gap = tests
        moved = np.empty(e - s, dtype=np.int32)  # rows from s (a block is far below 2³¹ rows)
        moved_to = np.empty(e - s, dtype=self.dtype)
        unsure = np.empty(e - s, dtype=np.int32)
        n_moved, n_unsure = kernel(*_read_only(self.X, self._origin(), centers, c_sq, self.labels),
                                   self.upper, self.lower, *_read_only(own_vs_gap, pair, self.own_drift),
                                   self.drift, s, e, _ROUNDING, moved, moved_to, unsure)
        rows, new = moved[:n_moved].astype(np.intp), moved_to[:n_moved]
        found = (rows, self.labels[s:e].take(rows), new, self._take(s + rows)) if n_moved else None
        unsure_found = (self._rescan(s, e, unsure[:n_unsure].astype(np.intp), centers, c_sq)
                        if n_unsure else None)
        if found is None or unsure_found is None:
            return found or unsure_found
        rows = np.concatenate([found[0], unsure_found[0]])
        order = np.argsort(rows, kind="stable")
        return (rows[order], *(np.concatenate([a, b])[order] for a, b in zip(found[1:], unsure_found[1:])))

    # --- after the update step ------------------------------------------------
    def centres_moved(self, shifts: np.ndarray):
        """Add each centre's move (k,) to its own drift, and the largest to the drift.

        Each move is padded past the rounding of its computation, and each sum
        is moved one float up, so that a drift grows by at least the move.
        """
        moves = np.asarray(shifts, dtype=np.float64) * (1 + _SLACK) + _TINY_MOVE
        self.own_drift = np.nextafter(self.own_drift + moves, np.inf)
        self.drift = float(np.nextafter(self.drift + moves.max(), np.inf))

    def move_points(self, rows: np.ndarray, clusters: np.ndarray):
        """Put each row into the given cluster (empty-cluster relocation)."""
        old = self.labels[rows]
        self._move(rows, old, clusters)
        self.labels = self.labels.copy()  # copy on write, as in assign
        self.labels[rows] = clusters
        # Upper bound 0: the point now is its centre; lower bound 0: unknown,
        # so that the point is re-checked next time.
        self._store(rows, clusters, np.zeros(rows.size), np.zeros(rows.size))

    def means(self):
        """Per-cluster means (rows of empty clusters are left 0) and counts."""
        return _means(self.sums, self.counts), self.counts.copy()

    def inertia(self, centers: np.ndarray) -> float:
        """Σ_j Σ_{i in j} ||x_i − c_j||² from the per-cluster sums, O(k·d):
        Σ||x − c||² = Σ||x||² − 2 c·Σx + n||c||²."""
        per_cluster = (self.sq_sums - 2 * np.einsum("kd,kd->k", centers, self.sums)
                       + self.counts * np.einsum("kd,kd->k", centers, centers))
        return float(np.maximum(per_cluster, 0.0).sum())


def _nearest_other(centers: np.ndarray) -> np.ndarray:
    """Each centre's distance to the nearest other centre, shape (k,) (inf for k = 1).

    Centres are compared a few rows at a time, so that a k in the thousands holds no
    (k, k, d) table of differences."""
    k, d = centers.shape
    out = np.empty(k)
    step = max(1, (1 << 19) // max(1, k * d))
    for s in range(0, k, step):
        e = min(s + step, k)
        diff = centers[s:e, None, :] - centers[None, :, :]
        gaps = np.sqrt(np.einsum("ikd,ikd->ik", diff, diff))  # (e − s, k)
        gaps[np.arange(e - s), np.arange(s, e)] = np.inf
        out[s:e] = gaps.min(axis=1)
    return out


def _scores_by_centre(x: np.ndarray, centers: np.ndarray, c_sq: np.ndarray) -> np.ndarray:
    """:func:`center_scores` laid out one centre per row, shape (k, m).

    Its very bits, copied into this layout so that :func:`_nearest_two` walks
    each centre's m contiguous values. (The product taken in this layout,
    ``(-2C) @ x.T``, may round otherwise: BLAS can pick another kernel for it,
    with or without fused multiply-adds, and ties would then be broken apart
    from the full scan's.)
    """
    return np.ascontiguousarray(center_scores(x, centers, c_sq).T)


def _nearest_two(by_centre: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every column of scores (k, m): the index of the smallest value,
    that value, and the second-smallest value.

    The index is argmin's (the lowest index on an exact tie); with two equal
    smallest values the second equals the first; for k = 1 it is inf. Every
    operation runs over one centre's m contiguous values.
    """
    k, m = by_centre.shape
    best = by_centre[0].copy()
    second = np.full(m, np.inf)
    larger = np.empty(m)
    for column in by_centre[1:]:
        np.maximum(best, column, out=larger)  # the larger of (best so far, this centre)
        np.minimum(second, larger, out=second)
        np.minimum(best, column, out=best)
    nearest = np.full(m, k - 1, dtype=np.intp)
    for j in range(k - 2, -1, -1):  # downwards, so the lowest index is written last
        np.copyto(nearest, j, where=by_centre[j] == best)
    return nearest, best, second


class SmallLloydState:
    """The same job as :class:`LloydState` for small data, done plainly.

    Below a few thousand points bookkeeping costs more than it saves, so every
    assignment scans all points and the sums are recomputed from scratch, in
    row order, exactly as scikit-learn's Lloyd kernel adds them up — so that
    from the same centres even exact ties (points halfway between two
    centres, common on integer grids) fall the same way.
    """

    def __init__(self, X: np.ndarray, n_clusters: int, origin: np.ndarray | None = None):
        self.X = X if origin is None else X - origin  # small: shifted once, kept whole
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


def lloyd_state(X: np.ndarray, n_clusters: int, origin: np.ndarray | None = None):
    """The labels-and-sums keeper suited to the size of X, measuring on X − origin."""
    if X.shape[0] < SMALL_ROWS:
        return SmallLloydState(X, n_clusters, origin)
    return LloydState(X, n_clusters, origin)
