"""Seeding: random, k-means++ (vanilla and greedy), farthest point, given centres."""

import numpy as np
import pytest
from scipy.stats import chisquare

from kmeans_tutor import SeedStep, kmeans_plusplus, kmeans_steps

X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0], [6.0, 5.0], [10.0, 0.0], [3.0, 8.0]])


def seeds(X, k, **kw):
    return [s for s in kmeans_steps(X, k, **kw) if isinstance(s, SeedStep)]


def test_kmeanspp_first_d2_pick_matches_probabilities():
    """Over many seeds, the second centre is drawn with the D² probabilities.

    Expected counts are the sum of each run's probabilities (they depend on the
    first, uniform pick); a chi-square test with a fixed seed set compares them
    with the observed picks.
    """
    runs = 3000
    observed = np.zeros(len(X))
    expected = np.zeros(len(X))
    for seed in range(runs):
        step = seeds(X, 2, init="k-means++", n_local_trials=1, random_state=seed)[1]
        observed[step.chosen] += 1
        expected += step.probabilities
        d2 = ((X - step.centers[0]) ** 2).sum(axis=1)
        np.testing.assert_allclose(step.probabilities, d2 / d2.sum())
    assert expected.sum() == pytest.approx(runs)
    assert chisquare(observed, expected).pvalue > 1e-3
    # And the test has power: uniform picks would be rejected.
    assert chisquare(np.full(len(X), runs / len(X)), expected).pvalue < 1e-6


def test_kmeanspp_first_pick_is_uniform():
    counts = np.bincount([seeds(X, 1, init="k-means++", random_state=s)[0].chosen
                          for s in range(2100)], minlength=len(X))
    assert chisquare(counts).pvalue > 1e-3


def test_greedy_kmeanspp_keeps_the_best_candidate():
    rng = np.random.default_rng(0)
    Xr = rng.normal(size=(400, 2))
    steps = seeds(Xr, 6, init="k-means++", random_state=3)
    assert all(len(s.candidates) == 2 + int(np.log(6)) for s in steps[1:])
    for prev, s in zip(steps, steps[1:]):
        # Each candidate's potential is the total D² if it were added.
        for cand, pot in zip(s.candidates, s.candidate_potentials):
            d2 = np.min(((Xr[:, None, :] - np.vstack([prev.centers, Xr[cand]])[None]) ** 2).sum(-1), axis=1)
            assert pot == pytest.approx(d2.sum())
        assert s.chosen == s.candidates[np.argmin(s.candidate_potentials)]
        assert s.potential == pytest.approx(np.min(((Xr[:, None] - prev.centers[None]) ** 2).sum(-1), 1).sum())


def test_vanilla_kmeanspp_has_no_candidates():
    steps = seeds(X, 3, init="k-means++", n_local_trials=1, random_state=0)
    assert all(s.candidates is None for s in steps)
    assert steps[0].potential is None and steps[1].potential > 0


def test_random_init_picks_distinct_points():
    Xd = np.vstack([X, X, X])  # every row three times
    for seed in range(20):
        steps = seeds(Xd, 7, init="random", random_state=seed)
        assert len({tuple(c) for c in steps[-1].centers}) == 7
        assert [s.center_index for s in steps] == list(range(7))


def test_farthest_point_init():
    steps = seeds(X, 4, init="farthest", random_state=0)
    for prev, s in zip(steps, steps[1:]):
        d2 = np.min(((X[:, None] - prev.centers[None]) ** 2).sum(-1), axis=1)
        np.testing.assert_allclose(s.closest_dist_sq, d2)
        assert s.chosen == int(np.argmax(d2))
    assert "farthest" in steps[1].describe()


def test_manual_and_callable_init():
    given = np.array([[0.0, 0.0], [5.0, 5.0]])
    steps = seeds(X, 2, init=given, random_state=0)
    assert [s.method for s in steps] == ["manual", "manual"]
    np.testing.assert_array_equal(steps[-1].centers, given)

    def init(data, k, rng):
        return data[:k] + 0.5

    steps = seeds(X, 3, init=init, random_state=0)
    assert steps[-1].method == "callable"
    np.testing.assert_array_equal(steps[-1].centers, X[:3] + 0.5)


def test_kmeans_plusplus_function():
    centers, idx = kmeans_plusplus(X, 3, random_state=0)
    np.testing.assert_array_equal(centers, X[idx])
    assert len(set(idx.tolist())) == 3


def test_seed_is_recorded_for_replay():
    steps = seeds(X, 3, init="k-means++")  # random_state=None: a fresh seed is drawn
    seed = steps[0].seed
    assert isinstance(seed, int) and all(s.seed == seed for s in steps)
    assert seeds(X, 3, init="k-means++", random_state=seed) == steps


def test_kmeanspp_when_squared_distances_underflow():
    """Distinct points whose D² underflows to 0 still give finite, distinct picks."""
    X = np.array([[0.0], [5e-324], [1e-323], [1.5e-323]])
    steps = seeds(X, 3, init="k-means++", random_state=0)
    assert len({s.chosen for s in steps}) == 3
    for s in steps:
        assert np.isfinite(s.probabilities).all()
