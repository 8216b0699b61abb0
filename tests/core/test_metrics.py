"""Clustering metrics: hand-computed cases, parity with scikit-learn, bounded memory, bad input.

scikit-learn is the oracle here only; the package never imports it.
"""

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk
from sklearn.cluster import KMeans as SkKMeans

from kmeans_tutor.core import metrics
from kmeans_tutor.data import load_mall_customers
from kmeans_tutor.core.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    inertia,
    silhouette_samples,
    silhouette_score,
)

RTOL = 1e-10


def _blobs(seed, n=400, d=2, k=4, sizes=None, spread=10.0):
    """Gaussian blobs; labels 0..k-1 in random order, or given cluster sizes."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-spread, spread, size=(k, d))
    if sizes is None:
        labels = rng.integers(k, size=n)
    else:
        labels = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    return centres[labels] + rng.normal(size=(len(labels), d)), labels


def _cases():
    """(X, labels) pairs covering the shapes scikit-learn's edge cases care about."""
    mall = load_mall_customers()
    income_score = mall[["Annual Income (k$)", "Spending Score (1-100)"]]
    mall_labels = SkKMeans(5, n_init=10, random_state=0).fit(income_score.to_numpy(float)).labels_
    X_uneven, y_uneven = _blobs(3, k=3, sizes=[300, 20, 5])
    X_single, y_single = _blobs(4, n=60, k=3)
    y_single = y_single.copy()
    y_single[[0, 1, 2]] = [10, 11, 12]  # three clusters of one point each
    X_far, y_far = _blobs(7, n=300, k=3)
    return {
        "blobs-2d-k4": _blobs(0),
        "blobs-5d-k7": _blobs(1, n=500, d=5, k=7),
        "blobs-2d-k2": _blobs(2, n=250, k=2),
        "uneven-sizes": (X_uneven, y_uneven),
        "singletons": (X_single, y_single),
        "labels-3-7-9": (_blobs(5, k=3)[0], np.array([3, 7, 9])[_blobs(5, k=3)[1]]),
        "negative-labels": (_blobs(6, k=3)[0], _blobs(6, k=3)[1] - 5),
        "far-from-origin": (X_far + 1e4, y_far),
        "mall-dataframe": (income_score, mall_labels),  # integer data with duplicate rows
        "mall-4-columns-float-labels": (
            mall.assign(Gender=(mall["Gender"] == "Female").astype(float)),
            mall_labels.astype(float),
        ),
    }


CASES = _cases()

# scikit-learn computes distances as ‖x‖² - 2x·y + ‖y‖², which rounds off when
# x ≈ y (a singleton's distance to its own centroid) or when the data sit far
# from the origin. In those cases it is off by 1e-9 to 1e-7, so it is checked
# loosely there, and the plain definition (below) is checked tightly everywhere.
SKLEARN_ROUNDOFF = {
    ("singletons", "davies_bouldin_score"),
    ("far-from-origin", "silhouette_samples"),
    ("far-from-origin", "silhouette_score"),
    ("far-from-origin", "davies_bouldin_score"),
}


def _sk_input(X):
    return X.to_numpy(float) if isinstance(X, pd.DataFrame) else X


def _silhouette_by_definition(X, labels):
    """Silhouettes straight from the definition, with the full n × n table."""
    X, labels = _sk_input(X), np.asarray(labels)
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2))
    s = np.zeros(len(X))
    for i, own in enumerate(labels):
        mine = labels == own
        if mine.sum() == 1:
            continue
        a = D[i, mine].sum() / (mine.sum() - 1)
        b = min(D[i, labels == c].mean() for c in np.unique(labels) if c != own)
        s[i] = (b - a) / max(a, b) if max(a, b) > 0 else 0.0
    return s


def _davies_bouldin_by_definition(X, labels):
    X, labels = _sk_input(X), np.asarray(labels)
    groups = [X[labels == c] for c in np.unique(labels)]
    centroids = [g.mean(axis=0) for g in groups]
    spread = [np.sqrt(((g - c) ** 2).sum(axis=1)).mean() for g, c in zip(groups, centroids)]
    worst = []
    for i, ci in enumerate(centroids):
        worst.append(max((spread[i] + spread[j]) / np.sqrt(((ci - cj) ** 2).sum())
                         for j, cj in enumerate(centroids) if j != i))
    return np.mean(worst)


DEFINITIONS = {
    "silhouette_samples": _silhouette_by_definition,
    "silhouette_score": lambda X, labels: _silhouette_by_definition(X, labels).mean(),
    "davies_bouldin_score": _davies_bouldin_by_definition,
}


@pytest.mark.parametrize("score", ["silhouette_samples", "silhouette_score",
                                   "calinski_harabasz_score", "davies_bouldin_score"])
@pytest.mark.parametrize("name", list(CASES))
def test_scores_match_sklearn(name, score):
    X, labels = CASES[name]
    ours = getattr(metrics, score)(X, labels)
    theirs = getattr(sk, score)(_sk_input(X), labels)
    rtol = 1e-6 if (name, score) in SKLEARN_ROUNDOFF else RTOL
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-12)
    if score in DEFINITIONS:
        np.testing.assert_allclose(ours, DEFINITIONS[score](X, labels), rtol=1e-12, atol=1e-13)


def test_sklearn_roundoff_cases_really_are_roundoff():
    # Guard for SKLEARN_ROUNDOFF: there scikit-learn may stray from the definition (by how
    # much depends on the machine's BLAS; on some it does not stray at all), but only by
    # rounding, never by more than the looser tolerance those cases are given.
    for name, score in SKLEARN_ROUNDOFF:
        X, labels = CASES[name]
        theirs = getattr(sk, score)(_sk_input(X), labels)
        exact = DEFINITIONS[score](X, labels)
        np.testing.assert_allclose(theirs, exact, rtol=1e-6, atol=1e-12, err_msg=f"{name} {score}")


def test_singleton_points_score_zero():
    X, labels = CASES["singletons"]
    s = silhouette_samples(X, labels)
    assert np.all(s[:3] == 0.0)
    assert np.all(s[3:] != 0.0)


def test_hand_computed_silhouette():
    # Point (0, 0): a = 1 (to (0, 1)), b = (5 + √26) / 2 (to the right pair).
    X = [[0, 0], [0, 1], [5, 0], [5, 1]]
    b = (5 + np.sqrt(26)) / 2
    np.testing.assert_allclose(silhouette_samples(X, [0, 0, 1, 1]), (b - 1) / b, rtol=1e-15)


def test_duplicate_points_have_exactly_zero_distance():
    # All points identical: a = b = 0 for everyone, so s = 0 (scikit-learn's convention),
    # not the noise of an expanded ‖x‖² - 2x·y + ‖y‖².
    X = np.full((6, 2), 0.1)
    np.testing.assert_array_equal(silhouette_samples(X, [0, 0, 0, 1, 1, 1]), np.zeros(6))
    # Tight duplicates far from the origin: each cluster sits on one spot, so s = 1 exactly.
    X = np.array([[1e6 + 0.1, 3.3]] * 3 + [[1e6 + 2.3, 7.7]] * 2)
    np.testing.assert_array_equal(silhouette_samples(X, [1, 1, 1, 2, 2]), np.ones(5))


def test_small_blocks_give_the_same_answer(monkeypatch):
    X, labels = CASES["uneven-sizes"]
    expected = sk.silhouette_samples(X, labels)
    n = X.shape[0]
    for budget in (1, 7 * n, 64 * n + 5):  # one row per block; uneven last blocks
        monkeypatch.setattr(metrics, "_BLOCK_FLOATS", budget)
        np.testing.assert_allclose(silhouette_samples(X, labels), expected, rtol=RTOL, atol=1e-12)


def test_davies_bouldin_blocks_over_centroids(monkeypatch):
    X, labels = CASES["blobs-5d-k7"]
    monkeypatch.setattr(metrics, "_BLOCK_FLOATS", 15)  # 2 centroid rows per block
    centroids = np.array([X[labels == c].mean(axis=0) for c in np.unique(labels)])
    if len(np.unique(centroids, axis=0)) < len(centroids):
        # Two clusters share a centroid: we skip that pair (distance exactly 0), while
        # scikit-learn's expanded-form distance leaves ~1e-8 of rounding and divides by it.
        assert np.isfinite(davies_bouldin_score(X, labels))
    else:
        assert davies_bouldin_score(X, labels) == pytest.approx(sk.davies_bouldin_score(X, labels),
                                                                rel=RTOL)


@pytest.mark.parametrize("X,labels", [
    ([[0, 0], [0, 0], [3, 3], [3, 3]], [0, 0, 1, 1]),  # every cluster one repeated point
    ([[0, 0], [2, 2], [1, 1], [10, 10], [12, 12]], [0, 0, 1, 2, 2]),  # clusters 0, 1 share a centroid
    ([[0, 0], [0, 0], [0, 0], [0, 0]], [0, 0, 1, 1]),  # all points the same
])
def test_edge_cases_match_sklearn(X, labels):
    Xa = np.asarray(X, dtype=float)
    assert calinski_harabasz_score(X, labels) == pytest.approx(
        sk.calinski_harabasz_score(Xa, labels), rel=RTOL)
    assert davies_bouldin_score(X, labels) == pytest.approx(sk.davies_bouldin_score(Xa, labels),
                                                            rel=RTOL)
    np.testing.assert_allclose(silhouette_samples(X, labels), sk.silhouette_samples(Xa, labels),
                               rtol=RTOL, atol=1e-12)


def test_hand_computed_calinski_harabasz_and_davies_bouldin():
    X = [[0, 0], [0, 2], [4, 0], [4, 2]]
    # B = 4 · ‖(±2, 0)‖² = 16, W = 4 · 1 = 4, CH = (16 / 1) / (4 / 2) = 8.
    assert calinski_harabasz_score(X, [0, 0, 1, 1]) == 8.0
    # s = 1 for both clusters, centroids 4 apart: DB = (1 + 1) / 4.
    assert davies_bouldin_score(X, [5, 5, 2, 2]) == 0.5
    assert calinski_harabasz_score([[0, 0], [0, 0], [1, 1]], [0, 0, 1]) == 1.0  # W = 0


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_small_integer_data_matches_sklearn(data):
    # Small integer grids: many duplicate points and ties, exact in floating point.
    n = data.draw(st.integers(4, 25))
    d = data.draw(st.integers(1, 3))
    X = np.array(data.draw(st.lists(st.lists(st.integers(-3, 3), min_size=d, max_size=d),
                                    min_size=n, max_size=n)), dtype=float)
    labels = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    if not 2 <= len(np.unique(labels)) <= n - 1:
        labels[:2] = [0, 1]
        labels[2] = labels[3]
    np.testing.assert_allclose(silhouette_samples(X, labels), sk.silhouette_samples(X, labels),
                               rtol=RTOL, atol=1e-12)
    assert calinski_harabasz_score(X, labels) == pytest.approx(
        sk.calinski_harabasz_score(X, labels), rel=RTOL)
    centroids = np.array([X[labels == c].mean(axis=0) for c in np.unique(labels)])
    if len(np.unique(centroids, axis=0)) < len(centroids):
        # Two clusters share a centroid: we skip that pair (distance exactly 0), while
        # scikit-learn's expanded-form distance leaves ~1e-8 of rounding and divides by it.
        assert np.isfinite(davies_bouldin_score(X, labels))
    else:
        assert davies_bouldin_score(X, labels) == pytest.approx(sk.davies_bouldin_score(X, labels),
                                                                rel=RTOL)


# --------------------------------------------------------------------------- silhouette_score


def test_sample_size_scores_the_drawn_subset():
    X, labels = CASES["blobs-2d-k4"]
    pick = np.random.default_rng(11).choice(len(X), 120, replace=False)
    expected = sk.silhouette_score(X[pick], labels[pick])
    assert silhouette_score(X, labels, sample_size=120, random_state=11) == pytest.approx(expected,
                                                                                         rel=RTOL)
    gen = np.random.default_rng(11)
    assert silhouette_score(X, labels, sample_size=120, random_state=gen) == pytest.approx(expected,
                                                                                          rel=RTOL)
    # A different seed draws different points; all points give the full score.
    assert silhouette_score(X, labels, sample_size=120, random_state=12) != pytest.approx(expected)
    assert silhouette_score(X, labels, sample_size=len(X), random_state=3) == pytest.approx(
        sk.silhouette_score(X, labels), rel=RTOL)


# --------------------------------------------------------------------------- 20 000 points


@pytest.fixture(scope="module")
def big():
    """20 000 points in 5 clusters, their silhouettes and the traced memory peak."""
    X, labels = _blobs(9, n=20_000, k=5)
    tracemalloc.start()
    s = silhouette_samples(X, labels)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return X, labels, s, peak


def test_silhouette_of_20000_points_needs_no_n_by_n_table(big):
    X, labels, s, peak = big
    n = len(X)
    full_table = n * n * 8  # 3.2 GB
    # One block of the table (8 MB) plus a few arrays the size of X: about 12 MB.
    assert peak < full_table / 100, f"peak {peak / 1e6:.0f} MB"
    assert peak < 8 * metrics._BLOCK_FLOATS + 30 * X.nbytes, f"peak {peak / 1e6:.0f} MB"
    # Spot-check 40 rows against the definition, in the plain difference form.
    rng = np.random.default_rng(0)
    for i in rng.choice(n, 40, replace=False):
        dist = np.sqrt(((X - X[i]) ** 2).sum(axis=1))
        own = labels == labels[i]
        a = dist[own].sum() / (own.sum() - 1)
        b = min(dist[labels == c].mean() for c in np.unique(labels) if c != labels[i])
        assert s[i] == pytest.approx((b - a) / max(a, b), rel=1e-10)


@pytest.mark.slow
def test_silhouette_of_20000_points_matches_sklearn(big):
    X, labels, s, _ = big
    np.testing.assert_allclose(s, sk.silhouette_samples(X, labels), rtol=RTOL, atol=1e-12)


# --------------------------------------------------------------------------- inertia


@pytest.mark.parametrize("name", ["blobs-2d-k4", "blobs-5d-k7", "far-from-origin"])
def test_inertia_matches_sklearn(name):
    X, _ = CASES[name]
    model = SkKMeans(4, n_init=3, random_state=0).fit(X)
    assert inertia(X, model.labels_, model.cluster_centers_) == pytest.approx(model.inertia_,
                                                                              rel=1e-12)


def test_inertia_by_hand_and_from_a_dataframe():
    assert inertia([[0, 0], [0, 2], [10, 0]], [0, 0, 1], [[0, 1], [10, 0]]) == 2.0
    df = pd.DataFrame({"a": [0.0, 0.0, 10.0], "b": [0.0, 2.0, 0.0]})
    # Unused centres are allowed: a cluster may be empty.
    assert inertia(df, np.array([2, 2, 0]), [[10, 0], [50, 50], [0, 0]]) == 4.0


# --------------------------------------------------------------------------- bad input

X5 = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0], [9.0, 0.0]])
SCORES = [silhouette_samples, silhouette_score, calinski_harabasz_score, davies_bouldin_score]


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("labels,error,match", [
    ([0, 0, 1, 1], ValueError, r"labels has 4 entries but X has 5 rows"),
    ([1, 1, 1, 1, 1], ValueError, r"Number of clusters is 1 .*2 to n_samples - 1 = 4"),
    ([0, 1, 2, 3, 4], ValueError, r"Number of clusters is 5 .*for 5 points"),
    ([0, 0, np.nan, 1, 1], ValueError, r"labels\[2\] is NaN"),
    ([0, 1.5, 1, 1, 0], ValueError, r"whole numbers; labels\[1\] is 1.5"),
    (["a", "a", "b", "b", "b"], TypeError, r"labels must be integers"),
    ([0, 0, None, 1, 1], TypeError, r"labels\[2\] is None"),
    ([[0], [0], [1], [1], [1]], ValueError, r"labels must be 1-D.*shape \(5, 1\).*ravel"),
    (None, TypeError, r"labels must be a 1-D array"),
    (3, TypeError, r"labels must be a 1-D array"),
])
def test_bad_labels(score, labels, error, match):
    with pytest.raises(error, match=match):
        score(X5, labels)


@pytest.mark.parametrize("score", SCORES)
def test_bad_X(score):
    with pytest.raises(ValueError, match=r"NaN at row 1, column 0"):
        score([[0, 0], [np.nan, 1], [5, 5]], [0, 0, 1])
    with pytest.raises(ValueError, match=r"must be 2-D"):
        score(np.arange(5.0), [0, 0, 1, 1, 1])


@pytest.mark.parametrize("sample_size,error,match", [
    (0, ValueError, r"sample_size must be at least 1, got 0"),
    (1, ValueError, r"sample_size must be between 2 and n_samples = 5, got 1"),
    (6, ValueError, r"between 2 and n_samples = 5, got 6"),
    (2.5, TypeError, r"sample_size must be an integer"),
    ("all", TypeError, r"sample_size must be an integer"),
])
def test_bad_sample_size(sample_size, error, match):
    with pytest.raises(error, match=match):
        silhouette_score(X5, [0, 0, 1, 1, 1], sample_size=sample_size, random_state=0)


def test_sample_with_a_single_cluster_says_so():
    X = np.arange(40.0).reshape(20, 2)
    labels = np.r_[np.zeros(19, int), 1]
    with pytest.raises(ValueError, match=r"Number of clusters is 1 \(distinct labels among the 2 "
                                         r"sampled points\).*larger sample_size"):
        for seed in range(50):  # some 2-point samples miss the lone point of cluster 1
            silhouette_score(X, labels, sample_size=2, random_state=seed)


@pytest.mark.parametrize("labels,centers,error,match", [
    ([0, 0, 1, 1, 5], [[0, 0], [5, 5]], ValueError,
     r"labels\[4\] = 5 does not name a centre; with 2 centres, labels must be 0 to 1"),
    ([0, 0, 1, 1, -1], [[0, 0], [5, 5]], ValueError, r"labels\[4\] = -1 does not name"),
    ([0, 0, 1, 1, 1], [[0, 0, 0], [5, 5, 5]], ValueError, r"centers have 3 features but X has 2"),
    ([0, 0, 1, 1, 1], [[0, 0], [np.inf, 5]], ValueError, r"centers contains an infinite value at row 1"),
    ([0, 0, 1, 1], [[0, 0], [5, 5]], ValueError, r"labels has 4 entries but X has 5 rows"),
    ([0, 0, 1, 1, 0.5], [[0, 0], [5, 5]], ValueError, r"labels\[4\] is 0.5"),
])
def test_bad_inertia_input(labels, centers, error, match):
    with pytest.raises(error, match=match):
        inertia(X5, labels, centers)
