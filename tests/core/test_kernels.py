"""Large data: chunked assignment keeps memory near O(n·d + block·k)."""

import tracemalloc

import numpy as np

from kmeans_tutor import kmeans_steps
from kmeans_tutor.core import kernels
from kmeans_tutor.core.kernels import BLOCK_ROWS, assign_labels, center_scores


def test_assignment_never_builds_the_full_distance_table():
    n, k = 400_000, 8
    X = np.random.default_rng(0).normal(size=(n, 2))
    C = X[:k].copy()
    assign_labels(X, C)  # warm the thread pool
    tracemalloc.start()
    labels, _ = assign_labels(X, C)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    full_table = n * k * 8
    assert labels.dtype == np.int8
    # labels (n bytes) + a few (block, k) tables per thread; far below n × k floats.
    assert peak < n + 16 * BLOCK_ROWS * k * 8 < full_table / 2


def test_a_million_points_step_through():
    X = np.random.default_rng(1).uniform(size=(1_000_000, 2))
    run = kmeans_steps(X, 8, init="random", random_state=0, max_iter=3)
    steps = list(run)
    assert steps[-1].phase == "converged" and steps[-1].labels.dtype == np.int8
    assert run.X is X
    assert np.isfinite(steps[-1].centers).all()


def test_scores_by_centre_have_the_bits_of_center_scores():
    # The bounded kernel re-scans rows in a (k, m) layout; its labels must be
    # the full scan's, ties included, so the scores must be the same bits.
    rng = np.random.default_rng(2)
    for d in (1, 2, 3, 5, 8, 17, 40):
        for scale, shift in ((1.0, 0.0), (1e-3, 1e6), (1e4, -3.0)):
            X = rng.normal(size=(20_000, d)) * scale + shift
            C = X[rng.choice(20_000, 9, replace=False)]
            grid = rng.integers(0, 6, size=(5_000, d)).astype(float)  # exact ties
            for x, c in ((X, C), (grid, grid[:9])):
                c_sq = np.einsum("kd,kd->k", c, c)
                for m in (1, 7, 5_000, x.shape[0]):
                    expected = center_scores(x[:m], c, c_sq)
                    got = kernels._scores_by_centre(x[:m], c, c_sq)
                    assert got.shape == (c.shape[0], m)
                    assert np.array_equal(got, expected.T)
                    nearest, best, second = kernels._nearest_two(got)
                    assert np.array_equal(nearest, expected.argmin(axis=1))
                    assert np.array_equal(best, expected.min(axis=1))
                    assert np.array_equal(second, np.sort(expected, axis=1)[:, 1])
