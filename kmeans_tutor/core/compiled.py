"""The bounded assign step of :class:`~kmeans_tutor.core.kernels.LloydState`, compiled.

:class:`~kmeans_tutor.core.kernels.LloydState` written with numpy is the readable version:
read it first. Each of its steps (test the bounds, measure the own distance, test again,
scan every centre, store the new bounds) is a numpy pass over a block of points, and a
pass that keeps only some points must gather them first. On a million points, most of an
iteration goes into those passes and gathers, not into arithmetic. :func:`assign_block`
does the same steps for one point at a time, in one loop compiled by Numba, so every
point is read once and only what is needed is computed; it releases the GIL, so the
kernels' thread pool runs blocks on every core.

Every label is still the full scan's (:func:`~kmeans_tutor.core.kernels.center_scores`,
ties included). The loop computes its scores in its own order, so they may differ from
BLAS's in the last bits; a point whose two smallest scores are closer than the bounds'
pad (far wider than any such difference) is not decided here but handed back, and
LloydState gives it the label the full scan's scores of its block give it (an exact tie,
such as a point halfway between two centres on a grid, is always handed back). For every
other point, both orders agree which centre is nearest. The bounds it stores are the
numpy version's, computed in float64 and rounded outwards to float32 the same way.

This module imports Numba, which takes about half a second and some 120 MB of the
process; it is imported only for runs of :data:`~kmeans_tutor.core.kernels.COMPILED_ROWS`
rows or more (no lesson's data comes near; an uploaded CSV, 2 MB at most, only when its
rows are a few characters long). Compiling the loop takes a few
seconds; ``make`` does it once after installing (:func:`compile_now`), else the first large
run does. Numba keeps it in its cache (``__pycache__`` beside this file, or Numba's cache
folder when that cannot be written), from which later processes load it in a fraction of
a second.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["assign_block", "compile_now", "nearest_block"]


@numba.njit(nogil=True, cache=True, inline="always")
def _up(a, outwards, tiny, huge):
    """a (float64) as float32, moved up to an upper bound of it (see ``kernels._round_up``)."""
    a = max(a, -huge)
    return np.float32(a + (abs(a) * outwards + tiny))


@numba.njit(nogil=True, cache=True, inline="always")
def _down(a, outwards, tiny, huge):
    """a (float64) as float32, moved down to a lower bound of it (see ``kernels._round_down``)."""
    a = min(a, huge)
    return np.float32(a - (abs(a) * outwards + tiny))


@numba.njit(nogil=True, cache=True, inline="always")
def _scan(X, i, origin, centers, c_sq, c_sq_max, own_drift, drift, rounding, x, upper, lower):
    """Row i of X − origin against every centre: its nearest centre, with both its bounds
    stored, or −1 (nothing stored) when the two nearest scores are too close to call.

    The score of centre c is ||c||² − 2 x·c, as :func:`~kmeans_tutor.core.kernels.center_scores`
    has it; ``x`` is scratch space for the row. The bounds add ||x||² back and are padded as
    in ``LloydState._nearest``; the pad also decides what is too close to call.
    """
    slack, outwards, tiny, huge = rounding[0], rounding[1], rounding[2], rounding[3]
    k, d = centers.shape
    x_sq = 0.0
    for j in range(d):
        x[j] = X[i, j] - origin[j]
        x_sq += x[j] * x[j]
    best = np.inf
    second = np.inf
    nearest = 0
    for c in range(k):
        score = 0.0
        for j in range(d):
            score += x[j] * (-2.0 * centers[c, j])
        score += c_sq[c]
        second = min(second, max(best, score))
        nearest = c if score < best else nearest
        best = min(best, score)
    pad = slack * (x_sq + c_sq_max)
    if not second - best > pad:  # too close to call (or not a number: overflow)
        return -1
    own = np.sqrt(max(best + x_sq + pad, 0.0))
    runner_up = np.sqrt(max(second + x_sq - pad, 0.0))
    upper[i] = _up(own * (1.0 + slack) - own_drift[nearest] * (1.0 - slack), outwards, tiny, huge)
    lower[i] = _down((runner_up + drift) * (1.0 - slack), outwards, tiny, huge)
    return nearest


@numba.njit(nogil=True, cache=True)
def assign_block(X, origin, centers, c_sq, labels, upper, lower, own_vs_gap, pair, own_drift,
                 drift, start, stop, rounding, moved, moved_to, unsure):
    """The assign step for rows ``start``..``stop`` of X, in place of LloydState's numpy passes.

    (1) Rows whose stored bounds, with the drifts, prove that they keep their centre are
    done. (2) The others have their own distance measured and stored as their upper
    bound, and are tested again. (3) The rest are scanned against every centre, and both
    their bounds are stored. A scanned row whose nearest centre is certain and new is
    written to ``moved`` (its row from ``start``) and ``moved_to`` (its new label); one
    whose two nearest scores are too close to call is written to ``unsure``, for the numpy
    scan. ``labels`` is only read.

    Each stage first lists the rows the next one needs, without branching on them, then
    works through the list: a branch on every point, taken at random, would cost more
    than the tests themselves.

    ``rounding`` holds the bounds' relative slack, the relative and absolute moves of the
    float32 rounding, and float32's largest value. Returns (number moved, number unsure).
    """
    slack, outwards, tiny, huge = rounding[0], rounding[1], rounding[2], rounding[3]
    d = centers.shape[1]
    # 1. Unsettled: upper + D_c not below half the gap to the next centre, nor below lower − D.
    rows = np.empty(stop - start, dtype=np.int32)  # rows from start
    n = 0
    for i in range(start, stop):
        lab = labels[i]
        u = upper[i]
        rows[n] = i - start
        n += (u >= own_vs_gap[lab]) & (np.float32(u - lower[i]) >= pair[lab])
    # 2. The true own distance (padded upwards), stored as the upper bound; test again.
    m = 0
    for r in range(n):
        i = start + rows[r]
        lab = labels[i]
        d2 = 0.0
        for j in range(d):
            t = (X[i, j] - origin[j]) - centers[lab, j]
            d2 += t * t
        own = np.sqrt(d2) * (1.0 + slack)
        u = _up(own * (1.0 + slack) - own_drift[lab] * (1.0 - slack), outwards, tiny, huge)
        upper[i] = u
        rows[m] = i - start
        m += (u >= own_vs_gap[lab]) & (np.float32(u - lower[i]) >= pair[lab])
    # 3. Every centre.
    c_sq_max = c_sq.max()
    x = np.empty(d)
    n_moved = 0
    n_unsure = 0
    for r in range(m):
        i = start + rows[r]
        nearest = _scan(X, i, origin, centers, c_sq, c_sq_max, own_drift, drift, rounding, x, upper, lower)
        if nearest < 0:
            unsure[n_unsure] = rows[r]
            n_unsure += 1
        elif nearest != labels[i]:
            moved[n_moved] = rows[r]
            moved_to[n_moved] = nearest
            n_moved += 1
    return n_moved, n_unsure


@numba.njit(nogil=True, cache=True)
def nearest_block(X, origin, centers, c_sq, own_drift, drift, start, stop, rounding, labels, upper,
                  lower, unsure):
    """The first assignment of rows ``start``..``stop``: each row's nearest centre written to
    ``labels``, its bounds stored; the rows too close to call are written to ``unsure``
    (from ``start``), for the numpy scan, and their labels are left alone. Returns how many."""
    c_sq_max = c_sq.max()
    x = np.empty(centers.shape[1])
    n_unsure = 0
    for i in range(start, stop):
        nearest = _scan(X, i, origin, centers, c_sq, c_sq_max, own_drift, drift, rounding, x, upper, lower)
        if nearest < 0:
            unsure[n_unsure] = i - start
            n_unsure += 1
        else:
            labels[i] = nearest
    return n_unsure


def compile_now() -> None:
    """Compile the loop for every label type :class:`~kmeans_tutor.core.kernels.LloydState`
    uses (or load it from Numba's cache), so that no run pays for it: ``make`` runs this
    after installing (``python -m kmeans_tutor.core.compiled``)."""
    def read_only(a):
        a.flags.writeable = False
        return a

    X, origin, centers, c_sq, own_drift = (read_only(np.zeros(shape)) for shape in ((1, 1), 1, (1, 1), 1, 1))
    thresholds = read_only(np.zeros(1, dtype=np.float32))
    rounding = read_only(np.array([1e-10, 2.0**-22, 2.0**-149, float(np.finfo(np.float32).max)]))
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        labels = read_only(np.zeros(1, dtype=dtype))
        assign_block(X, origin, centers, c_sq, labels, np.zeros(1, dtype=np.float32),
                     np.zeros(1, dtype=np.float32), thresholds, thresholds, own_drift, 0.0, 0, 1,
                     rounding, np.zeros(1, dtype=np.int32), np.zeros(1, dtype=dtype),
                     np.zeros(1, dtype=np.int32))
        nearest_block(X, origin, centers, c_sq, own_drift, 0.0, 0, 1, rounding, np.zeros(1, dtype=dtype),
                      np.zeros(1, dtype=np.float32), np.zeros(1, dtype=np.float32), np.zeros(1, dtype=np.int32))


if __name__ == "__main__":
    from kmeans_tutor.core import compiled  # this module by its name, whose loop Numba caches

    compiled.compile_now()
