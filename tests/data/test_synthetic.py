"""Synthetic teaching data sets (kmeans_tutor.data.synthetic)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from kmeans_tutor.data.synthetic import (
    DATASETS,
    Dataset,
    list_datasets,
    load_dataset,
    make_anisotropic,
    make_blobs,
    make_density_bars,
    make_packed_circles,
    make_pimpled_smiley,
    make_rings,
    make_smiley,
    make_unequal_sizes,
    make_unequal_variance,
)

NAMES = list(DATASETS)
EXPECTED = ["blobs", "uniform", "gaussian_mixture", "smiley", "pimpled_smiley", "density_bars",
            "packed_circles", "rings", "anisotropic", "unequal_variance", "unequal_sizes"]


def test_registry_has_every_data_set_in_teaching_order():
    assert NAMES == EXPECTED
    for name, make in DATASETS.items():
        assert make.__name__ == f"make_{name}"
        assert make.__doc__ and len(make.__doc__.strip()) > 40, name


@pytest.mark.parametrize("name", NAMES)
def test_every_data_set_is_well_formed(name):
    ds = load_dataset(name)
    assert isinstance(ds, Dataset) and ds.name == name
    assert ds.X.dtype == np.float64 and ds.X.ndim == 2 and ds.X.shape[1] == 2
    assert 200 <= ds.n_samples <= 1500  # classroom-sized
    assert np.isfinite(ds.X).all()
    assert ds.feature_names == ("x", "y")
    assert isinstance(ds.suggested_k, int) and ds.suggested_k >= 1
    assert ds.title and ds.teaches
    assert 1 <= ds.teaches.count(". ") + 1 <= 3  # 1-3 sentences
    assert ds.random_state == 0
    if name == "uniform":
        assert ds.y is None
    else:
        assert ds.y.shape == (ds.n_samples,) and ds.y.dtype == np.int64
        groups = np.unique(ds.y)
        assert groups.tolist() == list(range(len(groups)))  # codes 0..g-1, every group present
        assert ds.suggested_k == len(groups)
    # Points are not distinct by accident of rounding: plenty of distinct rows.
    assert len(np.unique(ds.X, axis=0)) == ds.n_samples


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_points_other_seed_other_points(name):
    a, b, c = load_dataset(name, random_state=3), load_dataset(name, random_state=3), load_dataset(name, random_state=4)
    np.testing.assert_array_equal(a.X, b.X)
    if a.y is not None:
        np.testing.assert_array_equal(a.y, b.y)
    assert a.X.shape == c.X.shape and not np.array_equal(a.X, c.X)


@pytest.mark.parametrize("name", NAMES)
def test_n_samples_and_generator(name):
    ds = load_dataset(name, n_samples=97, random_state=np.random.default_rng(1))
    assert ds.X.shape == (97, 2)
    assert ds.y is None or ds.y.shape == (97,)
    assert ds.random_state is None  # a Generator has no seed to report


def test_dataset_is_frozen_and_read_only():
    ds = load_dataset("blobs")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.X = np.zeros((2, 2))
    with pytest.raises(ValueError, match="read-only"):
        ds.X[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        ds.y[0] = 1


def test_to_frame():
    df = load_dataset("rings", n_samples=30).to_frame()
    assert list(df.columns) == ["x", "y", "group"] and len(df) == 30
    assert list(load_dataset("uniform", n_samples=10).to_frame().columns) == ["x", "y"]


def test_list_datasets_table():
    table = list_datasets()
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["name", "title", "suggested_k", "teaches"]
    assert table["name"].tolist() == NAMES
    for row in table.itertuples():
        ds = load_dataset(row.name, n_samples=50)
        assert (row.title, row.suggested_k, row.teaches) == (ds.title, ds.suggested_k, ds.teaches)
    assert "wedges" in table.set_index("name").loc["rings", "teaches"]


def test_load_dataset_names():
    with pytest.raises(ValueError, match=r"Unknown dataset 'donut'; choose one of 'blobs', .*'unequal_sizes'"):
        load_dataset("donut")
    with pytest.raises(TypeError, match="name must be a string"):
        load_dataset(3)
    assert load_dataset("Pimpled smiley", n_samples=50).name == "pimpled_smiley"
    assert load_dataset("density-bars", n_samples=50).name == "density_bars"


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least 10"):
        make_packed_circles(n_samples=5)
    with pytest.raises(TypeError, match="n_samples must be an integer"):
        make_rings(n_samples=10.5)
    with pytest.raises(ValueError, match="noise must be a finite number > 0"):
        make_rings(noise=-1)
    with pytest.raises(TypeError, match="random_state"):
        make_smiley(random_state="seed")
    with pytest.raises(ValueError, match="centers must be at least 1"):
        make_blobs(centers=0)


# ---------------------------------------------------------------------- geometry


def _radius(X):
    return np.hypot(X[:, 0], X[:, 1])


def test_blobs_are_separated_and_match_centers():
    ds = make_blobs(n_samples=400, centers=5, cluster_std=0.5, random_state=2)
    assert ds.suggested_k == 5 and np.bincount(ds.y).tolist() == [80] * 5
    means = np.array([ds.X[ds.y == g].mean(axis=0) for g in range(5)])
    gaps = [np.linalg.norm(means[i] - means[j]) for i in range(5) for j in range(i)]
    assert min(gaps) > 6 * 0.5


def test_rings_radii_are_separated():
    ds = make_rings()
    r = _radius(ds.X)
    for g in range(2):
        assert r[ds.y == g].max() < r[ds.y == g + 1].min()
    np.testing.assert_allclose([np.median(r[ds.y == g]) for g in range(3)], [1, 2.5, 4], atol=0.05)
    # Equal density along each ring: points in proportion to radius.
    np.testing.assert_allclose(np.bincount(ds.y) / ds.n_samples, np.array([1, 2.5, 4]) / 7.5, atol=0.01)


def test_unequal_sizes_are_unequal():
    ds = make_unequal_sizes()
    sizes = np.bincount(ds.y)
    assert sizes.tolist() == [480, 90, 30]
    spreads = [ds.X[ds.y == g].std(axis=0).mean() for g in range(3)]
    np.testing.assert_allclose(spreads, 1.0, atol=0.2)  # only the sizes differ


def test_anisotropic_groups_are_long_thin_and_parallel():
    ds = make_anisotropic()
    directions = []
    for g in range(3):
        values, vectors = np.linalg.eigh(np.cov(ds.X[ds.y == g].T))
        assert values[1] / values[0] > 25
        directions.append(vectors[:, 1] * np.sign(vectors[0, 1]))
    for d in directions:
        assert abs(d @ directions[0]) > 0.99
        assert np.degrees(np.arctan2(d[1], d[0])) == pytest.approx(30, abs=5)


def test_unequal_variance_spreads():
    ds = make_unequal_variance()
    spreads = [ds.X[ds.y == g].std(axis=0).mean() for g in range(3)]
    assert spreads[0] < 0.6 < spreads[1] < 1.5 < spreads[2]


def test_smiley_has_outline_eyes_and_mouth():
    ds = make_smiley()
    face, left, right, mouth = (ds.X[ds.y == g] for g in range(4))
    np.testing.assert_allclose(np.median(_radius(face)), 4.0, atol=0.05)
    assert left[:, 0].mean() < -1 and right[:, 0].mean() > 1                # eyes left and right
    assert left[:, 1].mean() > 1 and right[:, 1].mean() > 1                 # ... in the upper half
    assert mouth[:, 1].max() < 0 and mouth[:, 0].min() < -1.5 < 1.5 < mouth[:, 0].max()  # smile below
    assert mouth[np.abs(mouth[:, 0]) < 0.3, 1].mean() < mouth[np.abs(mouth[:, 0]) > 1.5, 1].mean()  # curves up


def test_pimpled_smiley_pimples_are_small_and_dense():
    ds = make_pimpled_smiley()
    for g in (4, 5, 6):
        pimple = ds.X[ds.y == g]
        assert len(pimple) == 50
        assert pimple.std(axis=0).max() < 0.15
        assert _radius(pimple.mean(axis=0)[None])[0] < 3.8  # on the face
    eye_spread = ds.X[ds.y == 1].std(axis=0).max()
    assert eye_spread > 2 * ds.X[ds.y == 4].std(axis=0).max()


def test_density_bars_are_vertical_with_different_densities():
    ds = make_density_bars()
    counts = np.bincount(ds.y)
    assert counts[0] < counts[1] < counts[2]
    lefts = []
    for g in range(3):
        bar = ds.X[ds.y == g]
        width, height = np.ptp(bar, axis=0)
        assert height > 3 * width  # tall and thin
        lefts.append(bar[:, 0].min())
    assert lefts == sorted(lefts)
    for g in range(2):
        assert ds.X[ds.y == g, 0].max() < ds.X[ds.y == g + 1, 0].min()


def test_packed_circles_touch_but_do_not_overlap():
    ds = make_packed_circles()
    centres = np.array([ds.X[ds.y == g].mean(axis=0) for g in range(10)])
    for g in range(10):
        assert np.linalg.norm(ds.X[ds.y == g] - centres[g], axis=1).max() < 1.15
    d = np.linalg.norm(centres[:, None] - centres[None], axis=2)
    np.fill_diagonal(d, np.inf)
    np.testing.assert_allclose(d.min(axis=1), 2.0, atol=0.2)  # every disk has a touching neighbour


# ------------------------------------------------------- what the data sets teach


def _best_kmeans(X, k):
    from sklearn.cluster import KMeans

    return KMeans(k, n_init=10, random_state=0).fit(X)


def _ari(a, b):
    from sklearn.metrics import adjusted_rand_score

    return adjusted_rand_score(a, b)


def test_kmeans_finds_blobs():
    ds = load_dataset("blobs")
    assert _ari(ds.y, _best_kmeans(ds.X, ds.suggested_k).labels_) == pytest.approx(1.0)


def test_kmeans_cuts_rings_into_wedges():
    ds = load_dataset("rings")
    labels = _best_kmeans(ds.X, 3).labels_
    assert _ari(ds.y, labels) < 0.05
    outer = ds.y == 2
    assert len(np.unique(labels[outer])) == 3  # the outer ring is shared by all three clusters


def test_kmeans_best_answer_merges_the_small_groups():
    ds = load_dataset("unequal_sizes")
    labels = _best_kmeans(ds.X, 3).labels_
    small = np.bincount(labels[ds.y > 0], minlength=3) / (ds.y > 0).sum()
    big = np.bincount(labels[ds.y == 0], minlength=3) / (ds.y == 0).sum()
    assert small.max() > 0.95                         # both small groups in one cluster
    assert np.sort(big)[-2:].min() > 0.3              # the big group cut in two
    assert big[np.argmax(small)] < 0.05


def test_kmeans_spends_centres_on_the_dense_bar():
    ds = load_dataset("density_bars")
    centres = _best_kmeans(ds.X, 3).cluster_centers_
    dense_left = ds.X[ds.y == 2, 0].min()
    assert (centres[:, 0] > dense_left).sum() == 2
