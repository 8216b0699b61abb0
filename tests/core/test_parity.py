"""Parity with scikit-learn's Lloyd K-means from the same initial centres.

scikit-learn is the oracle here only; the package never imports it.
"""

import numpy as np
import pytest
from sklearn.cluster import KMeans as SkKMeans
from sklearn.preprocessing import StandardScaler

from kmeans_tutor import EmptyClusterEvent, run_kmeans
from kmeans_tutor.core import kernels

NUMERIC = ["Age", "Annual Income (k$)", "Spending Score (1-100)"]


def _blobs(seed, n=600, d=2, k=5):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(k, d))
    return centres[rng.integers(k, size=n)] + rng.normal(scale=1.5, size=(n, d))


def _datasets(mall):
    raw = mall[NUMERIC].to_numpy(float)
    four = mall.assign(Gender=(mall["Gender"] == "Female").astype(float))[["Gender"] + NUMERIC]
    rng = np.random.default_rng(7)
    aniso = rng.normal(size=(500, 2)) @ np.array([[0.6, -0.6], [-0.4, 0.8]])
    return {
        "mall-raw": raw,
        "mall-scaled": StandardScaler().fit_transform(raw),
        "mall-4-columns": four.to_numpy(float),
        "mall-income-score": mall[NUMERIC[1:]].to_numpy(float),
        "blobs-2d": _blobs(0),
        "blobs-5d": _blobs(1, n=800, d=5, k=6),
        "uniform": np.random.default_rng(2).uniform(size=(700, 2)),
        "anisotropic": aniso,
    }


def assert_same_as_sklearn(X, trace, *, max_iter=300, tol=1e-4):
    k = trace.params["n_clusters"]
    initial = trace[k - 1].centers  # the last seeding step holds all k centres
    sk = SkKMeans(n_clusters=k, init=initial, n_init=1, max_iter=max_iter, tol=tol,
                  algorithm="lloyd").fit(X)
    final = trace.final
    np.testing.assert_array_equal(final.labels, sk.labels_)
    scale = np.abs(X).max()
    np.testing.assert_allclose(final.centers, sk.cluster_centers_, rtol=1e-10, atol=1e-10 * scale)
    assert final.inertia == pytest.approx(sk.inertia_, rel=1e-10)
    assert final.n_iter == sk.n_iter_


@pytest.mark.parametrize("init", ["k-means++", "random", "farthest"])
@pytest.mark.parametrize("k", [2, 3, 5, 8])
def test_parity_on_every_dataset(mall, init, k):
    for name, X in _datasets(mall).items():
        for seed in range(2):
            trace = run_kmeans(X, k, init=init, random_state=seed)
            assert_same_as_sklearn(X, trace)


@pytest.mark.parametrize("max_iter,tol", [(1, 1e-4), (2, 0.0), (5, 0.0), (300, 0.0), (300, 1e-2), (300, 0.5)])
def test_parity_on_stopping_rules(mall, max_iter, tol):
    for name, X in _datasets(mall).items():
        trace = run_kmeans(X, 6, init="random", random_state=11, max_iter=max_iter, tol=tol)
        assert_same_as_sklearn(X, trace, max_iter=max_iter, tol=tol)


def test_parity_when_a_cluster_empties():
    # Centres placed so that two of them get no points at the first assignment:
    # both are relocated to the points farthest from their centres.
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(0, 1, size=(100, 2)), rng.normal(8, 1, size=(100, 2))])
    init = np.array([[0.0, 0.0], [8.0, 8.0], [40.0, 40.0], [-40.0, 45.0]])
    trace = run_kmeans(X, 4, init=init)
    events = [s for s in trace if isinstance(s, EmptyClusterEvent)]
    assert events and events[0].clusters.tolist() == [2, 3]
    assert_same_as_sklearn(X, trace)


@pytest.mark.parametrize("compiled", [False, True], ids=["numpy passes", "compiled"])
@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_parity_with_the_bounded_kernel(mall, monkeypatch, init, compiled):
    """The Hamerly-bounded kernel (used for large data), in numpy passes and compiled,
    gives the same answers."""
    monkeypatch.setattr(kernels, "SMALL_ROWS", 0)
    monkeypatch.setattr(kernels, "USE_COMPILED", compiled)
    monkeypatch.setattr(kernels, "COMPILED_ROWS", 0)
    for name, X in _datasets(mall).items():
        for k in (3, 8):
            trace = run_kmeans(X, k, init=init, random_state=k)
            assert_same_as_sklearn(X, trace)
    trace = run_kmeans(_blobs(4, n=30_000, k=8), 8, init=init, random_state=0)
    assert_same_as_sklearn(_blobs(4, n=30_000, k=8), trace)


def test_parity_on_a_run_large_enough_to_be_compiled():
    # Past COMPILED_ROWS, as a user's large data set runs: far from the origin, with
    # some integer columns (ties), from the same centres as scikit-learn.
    rng = np.random.default_rng(11)
    n = kernels.COMPILED_ROWS + 1_000
    X = np.column_stack([_blobs(5, n=n, k=8), rng.integers(0, 4, size=n)]) + [1e5, -3e5, 0]
    trace = run_kmeans(X, 8, init="k-means++", random_state=2, max_iter=40)
    assert kernels.compiled_steps() is not None
    assert_same_as_sklearn(X, trace, max_iter=40)


def _cascades(trace) -> bool:
    """Whether a relocation took the only point of another cluster (that cluster is then
    left empty: kmeans-tutor keeps its centre, scikit-learn moves it — see the README)."""
    for s in trace:
        if isinstance(s, EmptyClusterEvent) and s.relocated_to is not None:
            sizes = np.bincount(s.labels, minlength=s.n_clusters)
            if np.any(sizes[s.labels[s.relocated_to]] <= 1):
                return True
    return False


def _tied_grid(rng):
    """Small integer grids: many points exactly halfway between two centres."""
    n, d = int(rng.integers(4, 120)), int(rng.integers(1, 4))
    X = rng.integers(-4, 5, size=(n, d)).astype(float)
    if rng.random() < 0.3:
        X = X * 0.5 + 1e3  # the same grid, far from the origin
    distinct = np.unique(X, axis=0)
    k = int(rng.integers(1, min(8, len(distinct)) + 1))
    if rng.random() < 0.3:  # hand-placed centres on the grid: empty clusters happen
        init = np.round(rng.uniform(-6, 6, size=(k, d))) + (1e3 if X.mean() > 500 else 0.0)
    else:
        init = distinct[rng.choice(len(distinct), k, replace=False)]
    return X, init


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("tol", [0.0, 1e-4])
def test_parity_on_tied_integer_grids(seed, tol):
    """Exact ties are broken as scikit-learn breaks them: same labels, centres, inertia
    and iteration count from the same initial centres."""
    rng = np.random.default_rng(seed)
    checked = 0
    for _ in range(60):
        X, init = _tied_grid(rng)
        trace = run_kmeans(X, len(init), init=init, tol=tol)
        if _cascades(trace):
            continue
        assert_same_as_sklearn(X, trace, tol=tol)
        checked += 1
    assert checked >= 50


def test_one_cluster_of_identical_rows_takes_one_iteration():
    X = np.full((10, 2), 3.7)
    trace = run_kmeans(X, 1, random_state=0)
    assert trace.n_iter == 1 and trace.inertia == 0.0
    assert_same_as_sklearn(X, trace)
