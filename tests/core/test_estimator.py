"""The scikit-learn-style estimator."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans as SkKMeans
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kmeans_tutor import KMeans, Trace

NUMERIC = ["Age", "Annual Income (k$)", "Spending Score (1-100)"]


def test_defaults_match_scikit_learn():
    ours, theirs = KMeans().get_params(), SkKMeans().get_params()
    for name in ["n_clusters", "init", "n_init", "max_iter", "tol", "random_state"]:
        assert ours[name] == theirs[name], name
    assert ours["empty_cluster"] == "relocate"


def test_fit_attributes(mall):
    km = KMeans(5, random_state=0).fit(mall[NUMERIC])
    assert km.cluster_centers_.shape == (5, 3)
    assert km.labels_.shape == (200,) and set(km.labels_) == set(range(5))
    assert km.n_features_in_ == 3
    assert list(km.feature_names_in_) == NUMERIC
    assert isinstance(km.history_, Trace) and km.history_.final.inertia == km.inertia_
    assert km.n_iter_ == km.history_.n_iter
    assert km.history_.feature_names == NUMERIC
    np.testing.assert_array_equal(km.predict(mall[NUMERIC]), km.labels_)
    assert km.score(mall[NUMERIC]) == pytest.approx(-km.inertia_)
    dist = km.transform(mall[NUMERIC])
    expected = np.sqrt(((mall[NUMERIC].to_numpy()[:, None] - km.cluster_centers_[None]) ** 2).sum(-1))
    np.testing.assert_allclose(dist, expected)
    np.testing.assert_array_equal(km.fit_predict(mall[NUMERIC]), km.labels_)


def test_restarts_table_and_replay(mall):
    X = mall[NUMERIC]
    km = KMeans(5, init="random", n_init=8, random_state=1).fit(X)
    table = km.restarts_
    assert len(table) == 8 and table["kept"].sum() == 1
    assert table.loc[table["kept"], "inertia"].iloc[0] == km.inertia_ == table["inertia"].min()
    # Any restart can be replayed on its own from its seed.
    seed = int(table.loc[table["kept"], "seed"].iloc[0])
    from kmeans_tutor import run_kmeans
    assert run_kmeans(X, 5, init="random", random_state=seed).final.inertia == km.inertia_


def test_n_init_auto():
    X = np.random.default_rng(0).normal(size=(100, 2))
    assert len(KMeans(3, random_state=0).fit(X).restarts_) == 1
    assert len(KMeans(3, init="random", random_state=0).fit(X).restarts_) == 10
    assert len(KMeans(3, init="farthest", random_state=0).fit(X).restarts_) == 10
    assert len(KMeans(3, init=X[:3], n_init=5).fit(X).restarts_) == 1


def test_same_random_state_same_fit():
    X = np.random.default_rng(0).normal(size=(300, 2))
    a = KMeans(4, n_init=3, random_state=7).fit(X)
    b = KMeans(4, n_init=3, random_state=7).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.history_ == b.history_


def test_clone_and_pipeline():
    X = np.random.default_rng(0).normal(size=(300, 3)) * [1, 10, 100]
    km = KMeans(3, n_init=4, random_state=2, empty_cluster="keep")
    copy = clone(km)
    assert copy is not km and copy.get_params() == km.get_params()
    pipe = make_pipeline(StandardScaler(), KMeans(3, n_init=4, random_state=2))
    labels = pipe.fit_predict(X)
    inner = pipe.named_steps["kmeans"]
    np.testing.assert_array_equal(labels, inner.labels_)
    np.testing.assert_array_equal(pipe.predict(X), labels)
    assert pipe.transform(X).shape == (300, 3)
    Z = StandardScaler().fit_transform(X)
    ref = KMeans(3, n_init=4, random_state=2).fit(Z)
    np.testing.assert_allclose(inner.cluster_centers_, ref.cluster_centers_)
    assert clone(pipe).get_params()["kmeans__n_init"] == 4


def test_set_params_and_repr():
    km = KMeans().set_params(n_clusters=3, init="random")
    assert km.n_clusters == 3 and repr(km) == "KMeans(init='random', n_clusters=3)"
    assert repr(KMeans(init=np.zeros((2, 2)))) == "KMeans(init=array(2, 2))"


def test_best_of_50_restarts_reaches_scikit_learns_best(mall):
    """On the 4 raw Mall columns (gender 0/1), k = 5, 50 restarts."""
    X = mall.assign(Gender=(mall["Gender"] == "Female").astype(float))[["Gender"] + NUMERIC].to_numpy()
    ours = KMeans(n_clusters=5, n_init=50, random_state=0).fit(X)
    theirs = SkKMeans(n_clusters=5, n_init=50, random_state=0).fit(X)
    assert ours.inertia_ <= theirs.inertia_ * (1 + 1e-10)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-6)


# --------------------------------------------------------------------- scikit-learn's own checks


def test_scikit_learn_check_estimator_passes():
    from sklearn.utils.estimator_checks import check_estimator

    results = check_estimator(KMeans(), on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert not failed, failed


def test_unfitted_error_is_scikit_learns_when_scikit_learn_is_in_use():
    from sklearn.exceptions import NotFittedError as SkNotFittedError

    from kmeans_tutor import NotFittedError

    with pytest.raises(SkNotFittedError):
        KMeans(2).predict([[0.0, 0.0]])
    with pytest.raises(NotFittedError):
        KMeans(2).transform([[0.0, 0.0]])


def test_algorithm_and_feature_names_out():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0]])
    km = KMeans(2, algorithm="lloyd", random_state=0).fit(X)
    assert km.get_feature_names_out().tolist() == ["kmeans0", "kmeans1"]
    with pytest.raises(ValueError, match="Unknown algorithm 'elkan'"):
        KMeans(2, algorithm="elkan").fit(X)


def test_standardizer_clones_and_sits_in_a_pipeline():
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline

    from kmeans_tutor import Standardizer

    assert clone(Standardizer()).get_params() == {}
    X = np.array([[1.0, 100.0], [2.0, 300.0], [9.0, 100.0], [10.0, 300.0]])
    pipe = make_pipeline(Standardizer(), KMeans(2, random_state=0)).fit(X)
    assert len(set(pipe.predict(X).tolist())) == 2
    with pytest.raises(ValueError, match="Invalid parameter 'with_mean'"):
        Standardizer().set_params(with_mean=False)
