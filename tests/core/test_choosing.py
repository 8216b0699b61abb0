"""Choosing k: the elbow table and the suggested k."""

import numpy as np
import pandas as pd
import pytest
from kneed import KneeLocator
from sklearn import metrics as sk

from kmeans_tutor.core.choosing import elbow, suggest_k
from kmeans_tutor.data import load_mall_customers
from kmeans_tutor.core.estimator import KMeans
from kmeans_tutor.core.metrics import silhouette_score


@pytest.fixture(scope="module")
def income_score():
    return load_mall_customers()[["Annual Income (k$)", "Spending Score (1-100)"]]


@pytest.fixture(scope="module")
def blobs():
    """Five well-separated blobs of 60 points."""
    rng = np.random.default_rng(5)
    centres = np.array([[0, 0], [20, 0], [0, 20], [20, 20], [40, 10]], dtype=float)
    return np.repeat(centres, 60, axis=0) + rng.normal(size=(300, 2))


@pytest.fixture(scope="module")
def mall_table(income_score):
    return elbow(income_score, n_init=10, random_state=0)


def test_table_layout(mall_table):
    assert list(mall_table.columns) == ["k", "inertia", "silhouette", "seconds"]
    assert mall_table["k"].tolist() == list(range(1, 11))
    assert mall_table["k"].dtype == np.int64
    assert all(mall_table[c].dtype == np.float64 for c in ["inertia", "silhouette", "seconds"])
    assert np.isnan(mall_table["silhouette"].iloc[0])  # k = 1 has no silhouette
    assert mall_table["silhouette"].iloc[1:].between(-1, 1).all()
    assert (mall_table["seconds"] > 0).all() and np.isfinite(mall_table["seconds"]).all()


def test_rows_are_the_estimators_fits_and_sklearns_silhouette(income_score, mall_table):
    X = income_score.to_numpy(float)
    for row in mall_table.itertuples():
        model = KMeans(n_clusters=row.k, n_init=10, random_state=0).fit(X)
        assert row.inertia == model.inertia_
        if row.k > 1:
            assert row.silhouette == pytest.approx(sk.silhouette_score(X, model.labels_), rel=1e-10)


def test_mall_elbow_and_silhouette_agree_on_five(mall_table):
    assert suggest_k(mall_table) == 5
    assert mall_table.loc[mall_table["silhouette"].idxmax(), "k"] == 5
    kl = KneeLocator(mall_table["k"], mall_table["inertia"], curve="convex", direction="decreasing")
    assert suggest_k(mall_table) == kl.knee


def test_inertia_never_rises_with_k_on_separated_blobs(blobs):
    table = elbow(blobs, ks=range(1, 9), n_init=10, random_state=3)
    assert (np.diff(table["inertia"]) <= 0).all()
    assert table["inertia"].iloc[0] > 100 * table["inertia"].iloc[4]  # the big drop ends at k = 5
    assert table.loc[table["silhouette"].idxmax(), "k"] == 5
    # Kneedle measures the bend against the straight line from k = 1 to k = 8, and
    # here the curve is farthest above it at k = 3: the same answer as kneed's.
    kl = KneeLocator(table["k"], table["inertia"], curve="convex", direction="decreasing")
    assert suggest_k(table) == kl.knee == 3


def test_ks_in_the_given_order(blobs):
    table = elbow(blobs, ks=[4, 2, 7], random_state=0)
    assert table["k"].tolist() == [4, 2, 7]
    assert table.set_index("k").loc[4, "inertia"] == KMeans(4, n_init=10, random_state=0).fit(blobs).inertia_


def test_no_silhouette(blobs):
    table = elbow(blobs, ks=[1, 2, 3], silhouette=False)
    assert table["silhouette"].isna().all()
    assert table["inertia"].notna().all()


def test_silhouette_on_one_sample_for_every_k(blobs):
    table = elbow(blobs, ks=[2, 3, 5], sample_size=80, random_state=4)
    for row in table.itertuples():
        labels = KMeans(row.k, random_state=4).fit(blobs).labels_
        # the same draw as silhouette_score's, with the same seed
        assert row.silhouette == silhouette_score(blobs, labels, sample_size=80, random_state=4)
    full = elbow(blobs, ks=[2, 3, 5], random_state=4)
    assert not np.allclose(table["silhouette"], full["silhouette"], rtol=1e-6)


def test_progress_is_called_once_per_k(blobs):
    calls = []
    elbow(blobs, ks=[3, 1, 6], progress=lambda done, total, k: calls.append((done, total, k)))
    assert calls == [(1, 3, 3), (2, 3, 1), (3, 3, 6)]


def test_same_seed_same_table(blobs):
    a = elbow(blobs, ks=range(1, 7), init="random", n_init=2, random_state=11)
    b = elbow(blobs, ks=range(1, 7), init="random", n_init=2, random_state=11)
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"))
    c = elbow(blobs, ks=range(1, 7), init="random", n_init=1, random_state=12)
    assert not a["inertia"].equals(c["inertia"])  # the seed matters


def test_k_equal_to_n_has_no_silhouette():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [9.0, 0.0]])
    table = elbow(X, ks=[2, 3, 4])
    assert table["silhouette"].notna().tolist() == [True, True, False]
    assert table["inertia"].iloc[-1] == 0.0


def test_dataframe_and_array_give_the_same_table(income_score):
    a = elbow(income_score, ks=[2, 5], random_state=1)
    b = elbow(income_score.to_numpy(), ks=[2, 5], random_state=1)
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"))


# --------------------------------------------------------------------------- suggest_k


def test_suggest_k_by_hand_and_without_an_elbow():
    table = pd.DataFrame({"k": [1, 2, 3, 4, 5, 6], "inertia": [900.0, 400, 120, 100, 85, 75]})
    assert suggest_k(table) == 3
    assert type(suggest_k(table)) is int
    line = pd.DataFrame({"k": range(1, 8), "inertia": [70.0, 60, 50, 40, 30, 20, 10]})
    assert suggest_k(line) is None
    assert suggest_k(table, S=20.0) is None  # too demanding


# --------------------------------------------------------------------------- bad input

X6 = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0], [9.0, 0.0], [9.0, 1.0]])


@pytest.mark.parametrize("ks,error,match", [
    ([], ValueError, r"ks is empty"),
    ([2, 0], ValueError, r"ks\[1\] must be at least 1, got 0"),
    ([2, -3], ValueError, r"ks\[1\] must be at least 1, got -3"),
    ([2.5], TypeError, r"ks\[0\] must be an integer, got 2.5"),
    ([True, 2], TypeError, r"ks\[0\] must be an integer"),
    ([1, 7], ValueError, r"ks\[1\] = 7 is larger than the number of points \(6\)"),
    ([3, 2, 3], ValueError, r"ks lists k = 3 more than once"),
    ("123", TypeError, r"ks must be an iterable of integers"),
    (5, TypeError, r"ks must be an iterable of integers such as range\(1, 11\), got 5"),
])
def test_bad_ks(ks, error, match):
    with pytest.raises(error, match=match):
        elbow(X6, ks=ks)


def test_k_above_the_number_of_distinct_points():
    X = np.array([[0.0, 0.0]] * 3 + [[1.0, 1.0]] * 3)
    with pytest.raises(ValueError, match=r"ks includes k = 3, too many for X: .*distinct points \(2\)"):
        elbow(X, ks=[1, 2, 3])


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(sample_size=1), ValueError, r"sample_size must be between 2 and n_samples = 6, got 1"),
    (dict(sample_size=7), ValueError, r"between 2 and n_samples = 6, got 7"),
    (dict(sample_size=3.0), TypeError, r"sample_size must be an integer"),
    (dict(progress="bar"), TypeError, r"progress must be a function progress\(done, total, k\)"),
    (dict(silhouette="yes"), TypeError, r"silhouette must be True or False"),
    (dict(init=np.zeros((2, 2))), TypeError, r"one array of centres cannot serve every k"),
    (dict(init="kmeans++"), ValueError, r"kmeans\+\+"),
    (dict(random_state="seed"), TypeError, r"random_state must be"),
])
def test_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        elbow(X6, ks=[1, 2], **kwargs)


def test_bad_data():
    with pytest.raises(ValueError, match=r"NaN at row 1, column 0"):
        elbow([[0, 0], [np.nan, 1], [3, 3]], ks=[1, 2])


@pytest.mark.parametrize("table,error,match", [
    ([[1, 10.0], [2, 5.0], [3, 4.0]], TypeError, r"table must be a DataFrame with columns 'k' and 'inertia'"),
    (pd.DataFrame({"k": [1, 2, 3], "sse": [9.0, 4, 3]}), ValueError,
     r"table has no column 'inertia'.*found \['k', 'sse'\]"),
    (pd.DataFrame({"k": [1, 2], "inertia": [9.0, 4]}), ValueError,
     r"at least 3 values of k; the table has 2 rows"),
    (pd.DataFrame({"k": [1, 2, 3], "inertia": [9.0, np.nan, 3]}), ValueError,
     r"table\['inertia'\] must hold finite numbers; it is nan at k = 2"),
    (pd.DataFrame({"k": [1, 2, 2], "inertia": [9.0, 4, 3]}), ValueError, r"x values must be distinct; 2"),
])
def test_bad_tables(table, error, match):
    with pytest.raises(error, match=match):
        suggest_k(table)


def test_bad_sensitivity():
    table = pd.DataFrame({"k": [1, 2, 3, 4], "inertia": [9.0, 4, 3, 2.5]})
    with pytest.raises(ValueError, match=r"S \(sensitivity\) must be a finite number ≥ 0, got -0.5"):
        suggest_k(table, S=-0.5)
