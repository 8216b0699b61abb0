"""Every bad input fails at the call with a message that names the problem."""

import numpy as np
import pandas as pd
import pytest

from kmeans_tutor import KMeans, kmeans_plusplus, kmeans_steps

GOOD = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0], [9.0, 0.0]])


@pytest.mark.parametrize("X,error,match", [
    (np.arange(5.0), ValueError, r"must be 2-D.*1-D array of shape \(5,\).*reshape"),
    (np.zeros((2, 2, 2)), ValueError, r"must be 2-D.*3-D"),
    (np.empty((0, 2)), ValueError, r"empty: shape \(0, 2\)"),
    (np.empty((3, 0)), ValueError, r"empty: shape \(3, 0\)"),
    (np.array([[1.0, 2.0]]), ValueError, r"1 row; K-means needs at least 2"),
    (np.array([[1.0, np.nan], [2.0, 3.0]]), ValueError, r"NaN at row 0, column 1"),
    (np.array([[1.0, 2.0], [np.inf, 3.0]]), ValueError, r"infinite value at row 1, column 0"),
    (np.array([[1 + 1j, 2], [3, 4]]), TypeError, r"complex"),
    (np.array([["a", "b"], ["c", "d"]]), TypeError, r"not numeric: row 0, column 0 holds 'a'"),
    (np.array([[1, "x"], [2, 3]], dtype=object), TypeError, r"row 0, column 1 holds 'x'"),
    ("not data", TypeError, r"2-D array or DataFrame, got str"),
    (None, TypeError, r"got NoneType"),
    ([[1, 2], [3]], ValueError, r"could not be read as a 2-D array"),
    (pd.Series([1.0, 2.0, 3.0]), ValueError, r"Series"),
])
def test_bad_data(X, error, match):
    with pytest.raises(error, match=match):
        kmeans_steps(X, 1)


def test_dataframe_errors_name_the_column_and_row():
    df = pd.DataFrame({"Age": [20, 30, 40], "City": ["Leeds", "York", "Hull"]}, index=[101, 102, 103])
    with pytest.raises(TypeError, match=r"column 'City' is not numeric.*'Leeds' at row 101"):
        kmeans_steps(df, 2)
    df = pd.DataFrame({"Age": [20, np.nan, 40], "Income": [1, 2, 3]}, index=[101, 102, 103])
    with pytest.raises(ValueError, match=r"NaN at row 102, column 'Age'"):
        kmeans_steps(df, 2)
    df = pd.DataFrame({"z": np.array([1 + 2j, 3, 4])})
    with pytest.raises(TypeError, match=r"column 'z' holds complex"):
        kmeans_steps(df, 2)


@pytest.mark.parametrize("k,error,match", [
    (0, ValueError, r"n_clusters must be at least 1, got 0"),
    (-3, ValueError, r"at least 1, got -3"),
    (2.5, TypeError, r"n_clusters must be an integer, got 2.5"),
    (2.0, TypeError, r"must be an integer"),
    ("3", TypeError, r"must be an integer"),
    (True, TypeError, r"must be an integer"),
    (6, ValueError, r"n_clusters=6 is larger than the number of points \(5\)"),
])
def test_bad_k(k, error, match):
    with pytest.raises(error, match=match):
        kmeans_steps(GOOD, k)


def test_k_larger_than_distinct_points():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match=r"n_clusters=3 is larger than the number of distinct points \(2\)"):
        kmeans_steps(X, 3)


@pytest.mark.parametrize("init", ["k-means++", "random", "farthest"])
def test_all_points_identical(init):
    X = np.ones((50, 3))
    with pytest.raises(ValueError, match=r"All 50 points are identical.*zero total D²"):
        kmeans_steps(X, 2, init=init)
    # One cluster of identical points is fine and finite.
    trace = kmeans_steps(X, 1, init=init, random_state=0).trace()
    np.testing.assert_array_equal(trace.final.centers, [[1.0, 1.0, 1.0]])
    assert trace.final.inertia == 0.0


@pytest.mark.parametrize("init,error,match", [
    (np.zeros((3, 2)), ValueError, r"init array has shape \(3, 2\); expected .* \(2, 2\)"),
    (np.zeros((2, 3)), ValueError, r"init array has shape \(2, 3\)"),
    (np.zeros(2), ValueError, r"init array has shape \(2,\)"),
    (np.array([[0.0, np.nan], [1.0, 1.0]]), ValueError, r"non-finite value at centre 0, feature 1"),
    (np.array([[0.0, np.inf], [1.0, 1.0]]), ValueError, r"non-finite"),
    ([["a", "b"], ["c", "d"]], TypeError, r"init array must be numeric"),
    ("kmeans++", ValueError, r"Unknown init 'kmeans\+\+'; choose one of 'k-means\+\+', 'random', 'farthest'"),
    (None, TypeError, r"init must be one of"),
])
def test_bad_init(init, error, match):
    with pytest.raises(error, match=match):
        kmeans_steps(GOOD, 2, init=init)


def test_bad_init_callable_result():
    with pytest.raises(ValueError, match=r"init callable's result array has shape \(1, 2\)"):
        list(kmeans_steps(GOOD, 2, init=lambda X, k, rng: X[:1], random_state=0))


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(max_iter=0), ValueError, r"max_iter must be at least 1, got 0"),
    (dict(max_iter=-1), ValueError, r"max_iter must be at least 1"),
    (dict(max_iter=2.5), TypeError, r"max_iter must be an integer"),
    (dict(tol=-1e-3), ValueError, r"tol must be a finite number ≥ 0, got -0.001"),
    (dict(tol=np.nan), ValueError, r"tol must be a finite number"),
    (dict(tol="small"), TypeError, r"tol must be a number"),
    (dict(random_state="abc"), TypeError, r"random_state must be None, an integer seed or a numpy Generator; got 'abc'"),
    (dict(random_state=-1), ValueError, r"random_state must be between 0 and 4294967295, got -1"),
    (dict(random_state=2**40), ValueError, r"between 0 and"),
    (dict(random_state=1.5), TypeError, r"random_state must be"),
    (dict(empty_cluster="drop"), ValueError, r"Unknown empty_cluster 'drop'; choose one of 'relocate', 'keep'"),
    (dict(n_local_trials=0), ValueError, r"n_local_trials must be at least 1"),
])
def test_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        kmeans_steps(GOOD, 2, **kwargs)


def test_errors_come_at_the_call_not_at_the_first_step():
    """kmeans_steps is checked eagerly: nothing is iterated before the error."""
    with pytest.raises(ValueError):
        kmeans_steps(GOOD, 0)


def test_estimator_and_kmeans_plusplus_validate_too():
    with pytest.raises(ValueError, match=r"n_clusters must be at least 1"):
        KMeans(n_clusters=0).fit(GOOD)
    with pytest.raises(ValueError, match=r"n_init must be 'auto' or a positive integer"):
        KMeans(n_clusters=2, n_init="many").fit(GOOD)
    with pytest.raises(ValueError, match=r"n_init must be at least 1"):
        KMeans(n_clusters=2, n_init=0).fit(GOOD)
    with pytest.raises(ValueError, match=r"NaN"):
        kmeans_plusplus(np.array([[np.nan, 1.0], [1.0, 1.0]]), 1)
    for method in ("predict", "transform", "score"):
        # scikit-learn's NotFittedError is both: code catching either keeps working.
        with pytest.raises(ValueError, match=r"not fitted yet"):
            getattr(KMeans(2), method)(GOOD)
        with pytest.raises(AttributeError, match=r"not fitted yet"):
            getattr(KMeans(2), method)(GOOD)
    km = KMeans(2, random_state=0).fit(GOOD)
    with pytest.raises(ValueError, match=r"X has 3 features, but KMeans was fitted with 2"):
        km.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Invalid parameter 'k' for KMeans"):
        km.set_params(k=3)


def test_bad_input_leaves_the_callers_data_untouched():
    X = GOOD.copy()
    with pytest.raises(ValueError):
        kmeans_steps(X, 9)
    np.testing.assert_array_equal(X, GOOD)
    init = np.array([[0.0, 0.0], [5.0, 5.0]])
    list(kmeans_steps(X, 2, init=init, random_state=0))
    np.testing.assert_array_equal(init, [[0.0, 0.0], [5.0, 5.0]])
    np.testing.assert_array_equal(X, GOOD)
