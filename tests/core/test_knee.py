"""Kneedle: the same knee and the same curves as the kneed package, and clear errors.

kneed is the oracle here only; the package never imports it.
"""

import dataclasses
import warnings

import numpy as np
import pytest
from kneed import DataGenerator, KneeLocator
from sklearn.cluster import KMeans as SkKMeans

from kmeans_tutor.data import load_mall_customers
from kmeans_tutor.core.knee import Knee, find_knee


def _inertia_curve(X, ks=range(1, 11)):
    """A real elbow curve: scikit-learn's best-of-10 inertia for each k."""
    ks = np.asarray(list(ks))
    return ks, np.array([SkKMeans(k, n_init=10, random_state=0).fit(X).inertia_ for k in ks])


def _curves():
    rng = np.random.default_rng(0)
    mall = load_mall_customers()[["Annual Income (k$)", "Spending Score (1-100)"]].to_numpy(float)
    centres = rng.uniform(-10, 10, size=(4, 2))
    blobs = centres[rng.integers(4, size=300)] + rng.normal(size=(300, 2))
    x = np.linspace(1, 10, 30)
    uneven = np.sort(rng.choice(np.arange(1, 100), size=25, replace=False)).astype(float)
    return {
        # name: (x, y, curve, direction)
        "mall-inertia": (*_inertia_curve(mall), "convex", "decreasing"),
        "blobs-inertia": (*_inertia_curve(blobs, range(1, 13)), "convex", "decreasing"),
        "figure2": (*DataGenerator.figure2(), "concave", "increasing"),
        "convex-increasing": (*DataGenerator.convex_increasing(), "convex", "increasing"),
        "convex-decreasing": (*DataGenerator.convex_decreasing(), "convex", "decreasing"),
        "concave-decreasing": (*DataGenerator.concave_decreasing(), "concave", "decreasing"),
        "concave-increasing": (*DataGenerator.concave_increasing(), "concave", "increasing"),
        "log": (x, np.log(x), "concave", "increasing"),
        "exp-decay-uneven-x": (uneven, np.exp(-uneven / 15), "convex", "decreasing"),
        "square-uneven-x": (uneven, uneven ** 2, "convex", "increasing"),
        "minus-square": (x, -x ** 2, "concave", "decreasing"),
        "noisy-1/x": (x, 1 / x + rng.normal(scale=0.02, size=x.size), "convex", "decreasing"),
        "noisy-log": (x, np.log(x) + rng.normal(scale=0.05, size=x.size), "concave", "increasing"),
        "noisy-gaussian-cdf": (*DataGenerator.noisy_gaussian(N=200), "concave", "increasing"),
    }


CURVES = _curves()


def _kneed(x, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kneed warns when it finds no knee
        return KneeLocator(x, y, **kwargs)


def assert_same_as_kneed(knee: Knee, kl: KneeLocator):
    assert knee.x == kl.knee
    assert knee.y == kl.knee_y
    assert knee.norm_knee == kl.norm_knee
    assert knee.norm_knee_y == kl.norm_knee_y
    assert list(knee.all_knees) == list(kl.all_knees)
    assert list(knee.all_knees_y) == list(kl.all_knees_y)
    np.testing.assert_array_equal(knee.x_normalized, kl.x_normalized)
    np.testing.assert_array_equal(knee.y_normalized, kl.y_normalized)
    np.testing.assert_array_equal(knee.x_difference, kl.x_difference)
    np.testing.assert_array_equal(knee.y_difference, kl.y_difference)
    np.testing.assert_array_equal(knee.y_smoothed, kl.Ds_y)
    np.testing.assert_array_equal(knee.maxima_indices, kl.maxima_indices)
    np.testing.assert_array_equal(knee.minima_indices, kl.minima_indices)
    np.testing.assert_array_equal(knee.thresholds, kl.Tmx)


@pytest.mark.parametrize("online", [False, True])
@pytest.mark.parametrize("S", [0.0, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("name", list(CURVES))
def test_same_knee_and_curves_as_kneed(name, S, online):
    x, y, curve, direction = CURVES[name]
    for interp_method in ("interp1d", "polynomial"):
        kwargs = dict(S=S, curve=curve, direction=direction, interp_method=interp_method,
                      online=online)
        assert_same_as_kneed(find_knee(x, y, **kwargs), _kneed(x, y, **kwargs))


def test_parity_is_not_vacuous():
    # kneed finds a knee on every curve above, and on the noisy ones S moves it.
    for x, y, curve, direction in CURVES.values():
        assert _kneed(x, y, curve=curve, direction=direction).knee is not None
    x, y, curve, direction = CURVES["noisy-log"]
    assert len({_kneed(x, y, S=S, curve=curve, direction=direction).knee for S in (0, 1, 3)}) == 3


def test_known_knees():
    x, y, curve, direction = CURVES["figure2"]
    knee = find_knee(x, y, curve=curve, direction=direction)
    assert knee.x == pytest.approx(0.222222, abs=1e-6)  # the Kneedle paper's figure 2
    assert knee.index == 2 and knee.y == y[2] and knee.found
    mall_k, mall_inertia = CURVES["mall-inertia"][:2]
    assert find_knee(mall_k, mall_inertia).x == 5  # the five Mall segments
    assert find_knee(mall_k, mall_inertia).elbow == 5


def test_no_knee_on_a_straight_line():
    x = np.arange(1.0, 11.0)
    for curve in ("convex", "concave"):
        for direction, y in (("increasing", 2 * x + 1), ("decreasing", 30 - 3 * x)):
            knee = find_knee(x, y, curve=curve, direction=direction)
            kl = _kneed(x, y, curve=curve, direction=direction)
            assert kl.knee is None
            assert knee.x is None and knee.y is None and knee.index is None and not knee.found
            assert_same_as_kneed(knee, kl)


def test_large_sensitivity_finds_no_knee():
    x, y = CURVES["noisy-1/x"][:2]
    assert find_knee(x, y, S=0.0).x is not None
    knee = find_knee(x, y, S=50.0)
    assert knee.x is None
    assert_same_as_kneed(knee, _kneed(x, y, S=50.0, curve="convex", direction="decreasing"))


def test_online_finds_every_knee():
    x = np.arange(1.0, 41.0)
    y = 100 / x - np.where(x > 20, 20 * (1 - np.exp(-(x - 20) / 2)), 0.0)  # a second drop at 20
    knee = find_knee(x, y, online=True)
    assert knee.all_knees == (6.0, 23.0) and knee.x == 23.0
    assert_same_as_kneed(knee, _kneed(x, y, curve="convex", direction="decreasing", online=True))
    assert find_knee(x, y).x == 6.0  # offline: the first knee


def test_unsorted_x_gives_the_same_knee_and_index_into_the_callers_x():
    x, y = CURVES["mall-inertia"][:2]
    shuffle = np.random.default_rng(1).permutation(len(x))
    knee = find_knee(x[shuffle], y[shuffle])
    assert knee.x == 5 and x[shuffle][knee.index] == 5 and knee.y == y[x == 5][0]
    np.testing.assert_array_equal(knee.y_difference, find_knee(x, y).y_difference)


def test_knee_is_frozen_and_its_arrays_read_only():
    knee = find_knee(*CURVES["log"][:2], curve="concave", direction="increasing")
    with pytest.raises(dataclasses.FrozenInstanceError):
        knee.x = 3
    with pytest.raises(ValueError, match="read-only"):
        knee.y_difference[0] = 1.0
    assert knee.S == 1.0 and knee.curve == "concave" and knee.interp_method == "interp1d"
    assert len(knee.thresholds) == len(knee.maxima_indices)


def test_python_numbers_out():
    knee = find_knee([1, 2, 3, 4, 5, 6], [100, 40, 15, 10, 8, 7])
    assert type(knee.x) is int and type(knee.y) is int and type(knee.index) is int
    assert type(knee.norm_knee) is float


# --------------------------------------------------------------------------- bad input

X = [1, 2, 3, 4, 5]
Y = [10, 5, 3, 2, 1.5]


@pytest.mark.parametrize("x,y,error,match", [
    ([1, 2, 3, 4], Y, ValueError, r"x and y must be the same length; got 4 and 5"),
    ([1, 2], [3, 1], ValueError, r"at least 3 points; got 2"),
    ([1, 2, np.nan, 4, 5], Y, ValueError, r"x must be finite; x\[2\] is nan"),
    (X, [10, 5, np.inf, 2, 1], ValueError, r"y must be finite; y\[2\] is inf"),
    ([1, 2, 2, 4, 5], Y, ValueError, r"x values must be distinct; 2 appears more than once"),
    (X, [3, 3, 3, 3, 3], ValueError, r"y is constant \(3 everywhere\)"),
    (["a", "b", "c"], [1, 2, 3], TypeError, r"x must hold real numbers"),
    (X, None, TypeError, r"y must be a 1-D sequence of numbers, got NoneType"),
    (np.ones((5, 2)), Y, ValueError, r"x must be 1-D; got shape \(5, 2\)"),
])
def test_bad_curve(x, y, error, match):
    with pytest.raises(error, match=match):
        find_knee(x, y)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(S=-1), ValueError, r"S \(sensitivity\) must be a finite number ≥ 0, got -1"),
    (dict(S=np.nan), ValueError, r"S \(sensitivity\) must be a finite number"),
    (dict(S="high"), TypeError, r"S \(sensitivity\) must be a number, got 'high'"),
    (dict(curve="elbow"), ValueError, r"Unknown curve 'elbow'; choose one of 'convex', 'concave'"),
    (dict(direction="down"), ValueError, r"Unknown direction 'down'"),
    (dict(interp_method="spline"), ValueError, r"Unknown interp_method 'spline'"),
    (dict(online="yes"), TypeError, r"online must be True or False"),
    (dict(interp_method="polynomial"), ValueError,
     r"polynomial_degree=7 needs more than 7 points; the curve has 5"),
    (dict(interp_method="polynomial", polynomial_degree=0), ValueError,
     r"polynomial_degree must be at least 1"),
])
def test_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        find_knee(X, Y, **kwargs)
