"""Many restarts of a seeding, and where one run stands among them (the tie rule)."""


import numpy as np
import pytest

from kmeans_tutor.core.estimator import KMeans
from kmeans_tutor.core.lloyd import run_kmeans
from kmeans_tutor.core.restarts import (SAME_RESULT_RTOL, Standing, restart_inertias, restart_seeds,
                                        standing)
from kmeans_tutor.data.preprocessing import standardize

FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]


@pytest.fixture(scope="module")
def mall_X(mall):
    return standardize(mall[FEATURES].to_numpy(dtype=float))[0]


# --------------------------------------------------------------------------- the restarts


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_each_restart_is_the_estimator_with_that_seed(mall_X, init):
    runs = restart_inertias(mall_X, 5, init, n_restarts=25, first_seed=3)
    expected = [KMeans(5, init=init, n_init=1, random_state=s).fit(mall_X).inertia_ for s in range(3, 28)]
    np.testing.assert_array_equal(runs, expected)


def test_restarts_are_reproducible_and_differ_between_seedings(mall_X):
    plus = restart_inertias(mall_X, 5, "k-means++", n_restarts=60)
    np.testing.assert_array_equal(plus, restart_inertias(mall_X, 5, "k-means++", n_restarts=60))
    rand = restart_inertias(mall_X, 5, "random", n_restarts=60)
    assert not np.array_equal(plus, rand)
    # Both reach the best grouping of the Mall data (65.57) and some runs get stuck higher.
    assert round(min(plus.min(), rand.min()), 2) == 65.57
    assert rand.max() > 1.4 * rand.min()
    # A prefix of a longer sequence is the shorter sequence.
    np.testing.assert_array_equal(restart_inertias(mall_X, 5, "k-means++", n_restarts=10), plus[:10])


def test_a_restart_can_be_replayed_alone(mall_X):
    runs = restart_inertias(mall_X, 4, "random", n_restarts=5, first_seed=100)
    replay = KMeans(4, init="random", n_init=1, random_state=102).fit(mall_X)
    assert runs[2] == replay.inertia_
    assert replay.history_.final.inertia == runs[2]
    assert run_kmeans(mall_X, 4, init=replay.cluster_centers_).final.inertia == pytest.approx(runs[2])


def test_seeds_are_a_fixed_sequence():
    assert restart_seeds(4, 7).tolist() == [7, 8, 9, 10]
    assert restart_seeds(1).tolist() == [0]


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(n_restarts=0), ValueError, "at least 1"),
    (dict(n_restarts=2.5), TypeError, "integer"),
    (dict(n_restarts=10_001), ValueError, "at most 10,000"),
    (dict(first_seed=-1), ValueError, "from 0"),
    (dict(first_seed=2**32 - 1, n_restarts=2), ValueError, "from 0"),
    (dict(first_seed="0"), TypeError, "whole number"),
])
def test_bad_restart_settings_name_the_problem(kwargs, error, words):
    X = [[0, 0], [0, 1], [5, 5], [5, 6]]
    with pytest.raises(error, match=words):
        restart_inertias(X, 2, **kwargs)


def test_restarts_refuse_fixed_centres_and_too_many_clusters():
    X = [[0, 0], [0, 1], [5, 5], [5, 6]]
    with pytest.raises(TypeError, match="every restart the same"):
        restart_inertias(X, 2, np.array([[0, 0], [5, 5]]))
    with pytest.raises(ValueError, match="larger than the number of points"):
        restart_inertias(X, 9)


# --------------------------------------------------------------------------- the standing


def test_standing_counts_worse_same_and_better():
    s = standing(10.0, [8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0])
    assert (s.n_better, s.n_same, s.n_worse) == (2, 1, 5)
    assert s.n_runs == 8 and s.n_matched_or_beaten == 6
    assert s.percent == 75.0


def test_runs_within_a_tenth_of_a_percent_are_the_same_result():
    assert SAME_RESULT_RTOL == 1e-3
    # 65.58 against 65.57 (one customer apart) is a tie either way round.
    assert standing(65.57, [65.58]) == Standing(n_worse=0, n_same=1, n_better=0)
    assert standing(65.58, [65.57]) == Standing(n_worse=0, n_same=1, n_better=0)
    # Just inside and just outside the tolerance.
    assert standing(100.0, [100.099, 99.901]).n_same == 2
    assert standing(100.0, [100.11]).n_worse == 1
    assert standing(100.0, [99.89]).n_better == 1
    # rtol=0: only exact ties are ties.
    assert standing(65.57, [65.58, 65.57], rtol=0.0) == Standing(n_worse=1, n_same=1, n_better=0)


def test_best_of_all_is_100_percent_and_worst_is_0():
    runs = np.array([65.57, 65.58, 98.4, 98.75, 120.0])
    assert standing(65.57, runs).percent == 100.0  # ties with the best count as matched
    assert standing(60.0, runs).percent == 100.0  # better than every run
    assert standing(130.0, runs).percent == 0.0  # worse than every run
    # In the middle: 98.4 is 0.1 % below 98.5 by more than the tolerance, so it is better.
    assert standing(98.5, runs) == Standing(n_worse=2, n_same=0, n_better=3)
    assert standing(98.5, runs).percent == pytest.approx(40.0)


def test_percent_with_all_runs_tied():
    assert standing(5.0, [5.0] * 7).percent == 100.0
    assert standing(5.0, [5.0, 5.0, 4.0, 4.0]).percent == 50.0


@pytest.mark.parametrize("inertia, runs, words", [
    (float("nan"), [1.0], "finite"),
    (-1.0, [1.0], "≥ 0"),
    (1.0, [], "empty"),
    (1.0, [1.0, float("inf")], "finite"),
])
def test_standing_refuses_bad_numbers(inertia, runs, words):
    with pytest.raises(ValueError, match=words):
        standing(inertia, runs)


def test_standing_refuses_a_bad_tolerance():
    with pytest.raises(ValueError, match="rtol"):
        standing(1.0, [1.0], rtol=1.0)
