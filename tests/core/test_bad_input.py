"""Every bad input fails at the call with a message that names the problem."""

import numpy as np
import pandas as pd
import pytest

from kmeans_tutor import KMeans, kmeans_plusplus, kmeans_steps, run_kmeans

GOOD = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0], [9.0, 0.0]])


@pytest.mark.parametrize("X,error,match", [
    (np.arange(5.0), ValueError, r"must be 2-D.*1-D array of shape \(5,\).*reshape"),
    (np.zeros((2, 2, 2)), ValueError, r"must be 2-D.*3-D"),
    (np.empty((0, 2)), ValueError, r"empty: 0 sample\(s\) \(shape=\(0, 2\)\)"),
    (np.empty((3, 0)), ValueError, r"empty: 0 feature\(s\) \(shape=\(3, 0\)\)"),
    (np.array([[1.0, 2.0]]), ValueError, r"1 row \(n_samples = 1\); K-means needs at least 2"),
    (np.array([[1.0, np.nan], [2.0, 3.0]]), ValueError, r"NaN at row 0, column 1"),
    (np.array([[1.0, 2.0], [np.inf, 3.0]]), ValueError, r"infinite value at row 1, column 0"),
    (np.array([[1 + 1j, 2], [3, 4]]), TypeError, r"complex"),
    (np.array([["a", "b"], ["c", "d"]]), TypeError, r"not numeric: row 0, column 0 holds 'a'"),
    (np.array([[1, "x"], [2, 3]], dtype=object), TypeError, r"row 0, column 1 holds 'x'"),
    ("not data", TypeError, r"2-D array or DataFrame \(rows × features\), got str"),
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
        kmeans_steps(GOOD, 2, init=lambda X, k, rng: X[:1], random_state=0)  # at the call


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
    with pytest.raises(ValueError, match=r"X has 3 features, but KMeans is expecting 2 features as input"):
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


# --------------------------------------------------------------------- the trust pass


def test_signed_zero_is_one_point():
    # 0.0 and -0.0 are the same value: two distinct points, not three.
    with pytest.raises(ValueError, match=r"number of distinct points \(2\)"):
        kmeans_steps([[0.0], [-0.0], [1.0]], 3)
    with pytest.raises(ValueError, match=r"number of distinct points \(2\)"):
        kmeans_steps([[0.0], [0.0], [1.0]], 3)


@pytest.mark.parametrize("X", [
    [[1e300, 0.0], [-1e300, 1.0], [0.0, 2.0]],
    [[1e200, 0.0], [-1e200, 1.0], [0.0, 2.0]],
    [[1.7e308, 0.0], [-1.7e308, 1.0], [0.0, 2.0]],
])
def test_values_whose_squared_distances_overflow_are_refused_naming_the_column(X):
    with pytest.raises(ValueError, match=r"column 0 spans .* overflow float64"):
        kmeans_steps(X, 2)
    with pytest.raises(ValueError, match=r"overflow float64"):
        KMeans(2).fit(X)


def test_query_points_far_from_the_centres_are_refused():
    km = KMeans(2, random_state=0).fit(GOOD)
    for method in ("predict", "transform", "score"):
        with pytest.raises(ValueError, match="overflow float64"):
            getattr(km, method)([[1e200, 0.0]])
    assert np.isfinite(km.score(GOOD))


def test_huge_values_close_together_are_fine():
    run = run_kmeans([[1e200, 0.0], [1e200, 1.0], [1e200, 2.0], [1e200, 3.0]], 2, random_state=0)
    assert np.isfinite(run.final.centers).all() and np.isfinite(run.inertia)
    assert run.to_json()  # no inf anywhere


@pytest.mark.parametrize("X,error,match", [
    ({(1, 2), (3, 4)}, TypeError, r"got set"),
    ({"a": [1, 2]}, TypeError, r"got dict"),
    ((row for row in [[1, 2], [3, 4]]), TypeError, r"got generator"),
    (np.array([[10**400, 1], [2, 3]], dtype=object), ValueError, r"too large for a float64"),
    (np.ma.masked_array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], mask=[[0, 0], [1, 0], [0, 0]]),
     ValueError, r"masked array with 1 masked value"),
    (pd.DataFrame([[1, 2], [3, 4]], columns=["a", "a"]), ValueError, r"more than one column named 'a'"),
    (np.array([[1 + 1j, 2], [3, 4]]), ValueError, r"Complex data not supported"),
])
def test_odd_containers_get_a_clear_message(X, error, match):
    with pytest.raises(error, match=match):
        kmeans_steps(X, 2)


def test_unmasked_masked_array_is_used():
    X = np.ma.masked_array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0]], mask=False)
    assert run_kmeans(X, 2, random_state=0).n_iter >= 1


def test_sparse_input_says_it_is_not_supported():
    sparse = pytest.importorskip("scipy.sparse")
    for make in (sparse.csr_matrix, sparse.csr_array):
        with pytest.raises(TypeError, match=r"sparse input is not supported"):
            KMeans(2).fit(make(np.eye(3)))


def test_complex_init_is_refused_like_complex_data():
    with pytest.raises(TypeError, match="Complex data not supported"):
        kmeans_steps(GOOD, 2, init=np.array([[0 + 1j, 0], [5, 5]]))


def test_a_callable_init_is_called_and_checked_at_the_call():
    calls = []

    def init(X, k, rng):
        calls.append(k)
        return X[:k]

    run = kmeans_steps(GOOD, 2, init=init, random_state=0)
    assert calls == [2] and run.params["init"] == "callable"
    assert next(run).method == "callable"
    with pytest.raises(TypeError, match="init callable's result array must be numeric"):
        kmeans_steps(GOOD, 2, init=lambda X, k, rng: "centres")


def test_trace_of_a_used_run_is_refused():
    run = kmeans_steps(GOOD, 2, random_state=0)
    next(run)
    with pytest.raises(RuntimeError, match="already been stepped through"):
        run.trace()
    assert len(kmeans_steps(GOOD, 2, random_state=0).trace()) > 0
