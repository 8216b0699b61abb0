"""Large data: chunked assignment keeps memory near O(n·d + block·k)."""

import tracemalloc

import numpy as np

from kmeans_tutor import kmeans_steps
from kmeans_tutor.core.kernels import BLOCK_ROWS, assign_labels


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
