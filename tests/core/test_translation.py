"""Translation invariance: moving every point by the same offset changes nothing but the
centres (by that offset). K-means computes on the data minus their mean, so data far from
the origin keep the digits that tell their points apart."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmeans_tutor import KMeans, kmeans_plusplus, run_kmeans
from kmeans_tutor.core import kernels

# Coordinates on a grid of 1/1024: exactly representable after adding any integer
# offset up to 1e9 (whose float64 spacing is 2**-23), so X + c is exact.
GRID = 1024.0


def _blobs(seed, n, d, k):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, size=(k, d))
    X = centres[rng.integers(k, size=n)] + rng.normal(scale=1.0, size=(n, d))
    return np.round(X * GRID) / GRID


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 200), d=st.integers(1, 20),
       k=st.integers(1, 6), offset=st.integers(-10**9, 10**9),
       init=st.sampled_from(["k-means++", "random", "farthest"]),
       bounded=st.booleans())
def test_offset_changes_nothing_but_the_centres(seed, n, d, k, offset, init, bounded):
    X = _blobs(seed, n, d, k)
    shifted = X + float(offset)
    assert np.array_equal(shifted - float(offset), X)  # the offset itself is exact
    saved = kernels.SMALL_ROWS
    try:
        kernels.SMALL_ROWS = 0 if bounded else 10**9  # both kernels
        a = run_kmeans(X, k, init=init, random_state=seed)
        b = run_kmeans(shifted, k, init=init, random_state=seed)
    finally:
        kernels.SMALL_ROWS = saved
    assert [s.phase for s in a] == [s.phase for s in b]
    np.testing.assert_array_equal(a.final.labels, b.final.labels)
    assert a.n_iter == b.n_iter
    assert b.inertia == pytest.approx(a.inertia, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(b.final.centers - offset, a.final.centers, atol=1e-6)
    for trace in (a, b):
        values = [s.inertia for s in trace if s.inertia is not None]
        assert all(later <= earlier * (1 + 1e-9) + 1e-12 for earlier, later in zip(values, values[1:]))


def test_two_blobs_far_from_the_origin():
    """The case that used to fail: 1e9 away, the run stalled at max_iter with inertia
    1907.65 and 93 of 200 points not at their nearest centre."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, size=(100, 2)), rng.normal(6, 1, size=(100, 2))])
    far = X + 1e9
    near = run_kmeans(X - X.mean(axis=0), 2, random_state=0)
    run = run_kmeans(far, 2, random_state=0)
    assert run.final.reason == "labels" and run.n_iter == near.n_iter
    assert run.inertia == pytest.approx(near.inertia, rel=1e-6)
    d2 = ((far[:, None, :] - run.final.centers[None]) ** 2).sum(-1)
    assert np.mean(d2.argmin(axis=1) == run.final.labels) > 0.99
    # The estimator, k-means++ and predict agree far away too.
    km = KMeans(2, random_state=0).fit(far)
    np.testing.assert_array_equal(km.predict(far), km.labels_)
    centres, rows = kmeans_plusplus(far, 2, random_state=0)
    assert len(set(rows.tolist())) == 2


def test_large_and_small_kernels_agree_in_20_dimensions_far_away():
    X = _blobs(3, 300, 20, 4) + 1e6
    saved = kernels.SMALL_ROWS
    try:
        kernels.SMALL_ROWS = 0
        bounded = run_kmeans(X, 4, random_state=1)
        kernels.SMALL_ROWS = 10**9
        plain = run_kmeans(X, 4, random_state=1)
    finally:
        kernels.SMALL_ROWS = saved
    np.testing.assert_array_equal(bounded.final.labels, plain.final.labels)
    assert bounded.n_iter == plain.n_iter
