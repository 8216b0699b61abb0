"""Invariants of K-means, checked by hypothesis on many small random data sets."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kmeans_tutor import AssignStep, EmptyClusterEvent, Trace, UpdateStep
from kmeans_tutor.core import kernels
from kmeans_tutor import run_kmeans as _run_kmeans

RTOL = 1e-9  # room for floating-point rounding only


@st.composite
def problems(draw):
    """Small data (often with ties and duplicates), a valid k and run settings."""
    n = draw(st.integers(3, 40))
    d = draw(st.integers(1, 3))
    integer_grid = draw(st.booleans())  # integer data: many exact ties
    elements = (st.integers(-5, 5).map(float) if integer_grid
                else st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False))
    X = draw(arrays(np.float64, (n, d), elements=elements))
    distinct = len(np.unique(X, axis=0))
    k = draw(st.integers(1, min(6, distinct)))
    init = draw(st.sampled_from(["k-means++", "random", "farthest", "manual"]))
    if init == "manual":
        # Hand-placed centres may be anywhere, which exercises empty clusters.
        init = draw(arrays(np.float64, (k, d), elements=st.floats(-1e3, 1e3)))
    return dict(X=X, n_clusters=k, init=init,
                random_state=draw(st.integers(0, 2**32 - 1)),
                tol=draw(st.sampled_from([0.0, 1e-4, 0.1])),
                max_iter=draw(st.integers(1, 50)),
                empty_cluster=draw(st.sampled_from(["relocate", "keep"])))


def run_kmeans(**p):
    """Run with every assignment kernel: bounded and compiled, bounded in numpy passes,
    and plain. The two bounded ones must give the very same trace; the plain one must
    agree with them but for ties."""
    saved = kernels.SMALL_ROWS, kernels.COMPILED_ROWS, kernels.USE_COMPILED
    try:
        kernels.SMALL_ROWS = kernels.COMPILED_ROWS = 0  # bounded and compiled, even on tiny data
        bounded = _run_kmeans(**p)
        kernels.USE_COMPILED = False  # its numpy passes
        numpy_passes = _run_kmeans(**p)
        kernels.SMALL_ROWS = 10**9  # plain full scan
        plain = _run_kmeans(**p)
    finally:
        kernels.SMALL_ROWS, kernels.COMPILED_ROWS, kernels.USE_COMPILED = saved
    assert bounded == numpy_passes  # every step, every field, every bit
    _agree_but_for_ties(bounded, plain, p["X"])
    return bounded if p["random_state"] % 2 else plain


def _agree_but_for_ties(a, b, X):
    """The two kernels give the same labels at every step, but where a point sits
    exactly between two centres (integer grids make many such ties): the kernels'
    per-cluster sums round differently, so a tie may fall either way. From the
    first step where they differ, every point they label differently must be at
    such a tie, and the runs may then part. A relocation of empty clusters moves the
    points farthest from their centres, so there the tie is between equally far points."""
    previous = None
    for sa, sb in zip(a, b):
        assert sa.phase == sb.phase
        if sa.labels is None or np.array_equal(sa.labels, sb.labels):
            previous = sa
            continue
        rows = np.flatnonzero(sa.labels != sb.labels)
        if sa.phase == "update" and previous is not None and previous.phase == "empty":
            # The two runs relocated different points: all of them equally far from
            # their centres before the relocation (the runs agreed until then).
            far = ((X[rows] - previous.centers[previous.labels[rows]]) ** 2).sum(axis=1)
            np.testing.assert_allclose(far, far.max(), rtol=1e-9, atol=1e-9 * _scale(X) / len(X))
            return
        da = ((X[rows] - sa.centers[sa.labels[rows]]) ** 2).sum(axis=1)
        db = ((X[rows] - sb.centers[sb.labels[rows]]) ** 2).sum(axis=1)
        np.testing.assert_allclose(da, db, rtol=1e-9, atol=1e-9 * _scale(X) / len(X))
        return
    assert a.phases() == b.phases()


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _scale(X):
    return max(1.0, float((X ** 2).sum()))


@SETTINGS
@given(problems())
def test_inertia_never_rises(p):
    trace = run_kmeans(**p)
    values = [s.inertia for s in trace if s.inertia is not None]
    tol = RTOL * _scale(p["X"])
    assert all(b <= a + tol for a, b in zip(values, values[1:])), values


@SETTINGS
@given(problems())
def test_assign_gives_each_point_its_nearest_centre(p):
    X = p["X"]
    for s in run_kmeans(**p):
        if isinstance(s, AssignStep):
            d2 = ((X[:, None, :] - s.centers[None]) ** 2).sum(-1)  # (n, k)
            own = d2[np.arange(len(X)), s.labels]
            np.testing.assert_array_less(own - d2.min(axis=1), RTOL * _scale(X) + 1e-12)
            # Beyond rounding, the nearest centre — rounding measured in the frame K-means
            # computes in (the data minus their mean), point by point.
            mean = X.mean(axis=0)
            size = ((X - mean) ** 2).sum(axis=1) + ((s.centers - mean) ** 2).sum(axis=1).max()
            assert np.all(own - d2.min(axis=1) <= 1e-12 * size)
            np.testing.assert_allclose(s.inertia, own.sum(), rtol=1e-9, atol=1e-9)


@SETTINGS
@given(problems())
def test_update_moves_each_nonempty_centre_to_its_mean(p):
    X = p["X"]
    for s in run_kmeans(**p):
        if isinstance(s, UpdateStep):
            for j in range(s.n_clusters):
                members = X[s.labels == j]
                if len(members):
                    np.testing.assert_allclose(s.centers[j], members.mean(axis=0),
                                               rtol=1e-9, atol=1e-9 * np.abs(X).max())
                else:
                    np.testing.assert_array_equal(s.centers[j], s.previous_centers[j])
            assert np.isfinite(s.centers).all()


@SETTINGS
@given(problems())
def test_same_seed_same_steps_and_exact_json_round_trip(p):
    a = run_kmeans(**p)
    b = run_kmeans(**p)
    assert a == b
    again = Trace.from_json(a.to_json())
    assert again == a
    assert [s.describe() for s in again] == [s.describe() for s in a]


@SETTINGS
@given(problems())
def test_run_always_ends_with_finite_centres(p):
    trace = run_kmeans(**p)
    last = trace.final
    assert last.phase == "converged" and 1 <= last.n_iter <= p["max_iter"]
    assert np.isfinite(last.centers).all() and last.centers.shape == (p["n_clusters"], p["X"].shape[1])
    for s in trace:
        if isinstance(s, EmptyClusterEvent):
            assert len(s.clusters) >= 1


def test_kernels_may_relocate_different_but_equally_far_points():
    """A relocation tie (found by hypothesis): every candidate is 1 from its centre, and
    the kernels' rounding picks different ones, and both runs are accepted."""
    X = np.array([0.0] * 12 + [-2.0, -3.0] + [-4.0] * 5 + [5.0, 5.0]).reshape(-1, 1)
    run_kmeans(X=X, n_clusters=5, init=np.zeros((5, 1)), random_state=0, tol=0.0, max_iter=2,
               empty_cluster="relocate")
