"""The choose-k app, driven from Python: set widget values, read the model and the artists."""

import math

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ipympl")
pytestmark = pytest.mark.usefixtures("restore_backend")

from kmeans_tutor.core.choosing import elbow, suggest_k
from kmeans_tutor.data.synthetic import load_dataset
from kmeans_tutor.core.estimator import KMeans
from kmeans_tutor.core.metrics import silhouette_score
from kmeans_tutor.data.preprocessing import standardize
from kmeans_tutor.widgets.choose_k import ChooseKApp, ChooseKModel

FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]




@pytest.fixture(scope="module")
def mall_X(mall):
    return standardize(mall[FEATURES].to_numpy(dtype=float))[0]


@pytest.fixture(scope="module")
def expected_table(mall_X):
    return elbow(mall_X, range(1, 11), n_init=10, random_state=0)


@pytest.fixture(scope="module")
def app():
    return ChooseKApp()


def _same_table(got, expected):
    cols = ["k", "inertia", "silhouette"]  # "seconds" is wall time
    pd.testing.assert_frame_equal(got[cols].reset_index(drop=True),
                                  expected[cols].reset_index(drop=True))


def test_table_equals_elbow_for_the_same_data_and_seed(app, expected_table, mall_X):
    _same_table(app.model.table, expected_table)
    np.testing.assert_array_equal(app.model.X, mall_X)
    assert app.model.feature_names == tuple(FEATURES)


def test_knee_marker_sits_at_suggest_k(app, expected_table):
    knee = suggest_k(expected_table)
    assert knee == 5
    assert app.model.knee_k == knee
    assert list(app.elbow_view.knee_marker.get_xdata()) == [knee]
    assert f"Elbow (Kneedle) suggests: <b>k = {knee}</b>" in app.readout
    best = int(expected_table.loc[expected_table["silhouette"].idxmax(), "k"])
    assert app.model.best_silhouette_k == best
    assert f"Best mean silhouette: <b>k = {best}</b>" in app.readout


def test_starts_at_the_elbow_and_they_agree():
    m = ChooseKModel()
    assert m.k == m.knee_k == m.best_silhouette_k == 5
    assert m.advice == ""


@pytest.mark.parametrize("k", [3, 7, 2])
def test_k_slider_updates_the_silhouette_readout(app, mall_X, expected_table, k):
    app._k.value = k
    m = app.model
    labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit(mall_X).labels_
    expected = silhouette_score(mall_X, labels)
    assert m.k == k
    np.testing.assert_array_equal(m.labels, labels)
    assert m.silhouette == pytest.approx(expected, rel=1e-12)
    assert f"At k = {k}: mean silhouette <b>{expected:.3f}</b>" in app.readout
    # Same fit as the table's row for k.
    row = expected_table.loc[expected_table["k"] == k].iloc[0]
    assert m.silhouette == pytest.approx(row["silhouette"], rel=1e-12)
    assert m.inertia == pytest.approx(row["inertia"], rel=1e-12)
    # Every view followed: elbow star, silhouette mean line, clusters drawn from the last step.
    assert list(app.elbow_view.selected_marker.get_xdata()) == [k]
    assert app.silhouette_view.score_ == pytest.approx(expected, rel=1e-12)
    assert app.silhouette_view.mean_line.get_xdata()[0] == pytest.approx(expected, rel=1e-12)
    counts = [len(line.get_xdata()) for line in app.step_view.point_lines]
    assert counts == np.bincount(labels, minlength=10).tolist()


def test_one_figure_for_the_whole_life(app):
    fig, canvas = app.fig, app.fig.canvas
    app._k.value = 4
    app._seed.value = 1
    assert app.fig is fig and app.fig.canvas is canvas
    assert len(fig.axes) == 4  # elbow, its twin for the silhouette, silhouettes, clusters
    assert canvas in app.children
    app._seed.value = 0


def test_seed_recomputes_the_table(app, mall_X):
    app._seed.value = 3
    try:
        _same_table(app.model.table, elbow(mall_X, range(1, 11), n_init=10, random_state=3))
        labels = KMeans(n_clusters=app.model.k, n_init=10, random_state=3).fit(mall_X).labels_
        np.testing.assert_array_equal(app.model.labels, labels)
    finally:
        app._seed.value = 0


def test_progress_bar_follows_the_elbow_callback():
    model = ChooseKModel(k_max=4)
    seen = []
    model.observe(lambda ch: seen.append(ch["new"]), names="progress")
    model.seed = 1
    assert seen == [0, 1, 2, 3, 4]
    assert model.progress_total == 4 and not model.busy

    app = ChooseKApp(k_max=4)
    app._seed.value = 2
    assert app._progress.value == app._progress.max == 4


def test_unscaled_and_three_features_and_disagreement(mall):
    app = ChooseKApp(k_max=8)
    app.data_row._scaled.value = False
    raw = mall[FEATURES].to_numpy(dtype=float)
    _same_table(app.model.table, elbow(raw, range(1, 9), n_init=10, random_state=0))

    app.data_row._scaled.value = True
    app.data_row.column_boxes["Age"].value = True  # + Age
    m = app.model
    assert m.features == ("Age", *FEATURES)
    X3 = standardize(mall[["Age", *FEATURES]].to_numpy(dtype=float))[0]
    table = elbow(X3, range(1, 9), n_init=10, random_state=0)
    _same_table(m.table, table)
    assert m.knee_k == suggest_k(table)
    assert m.best_silhouette_k != m.knee_k  # on these three features the two disagree
    assert m.advice.startswith(f"The elbow suggests k = {m.knee_k} but the mean silhouette")
    assert "measure different things" in app.readout
    assert app.step_view.projection.kind == "pca"


def test_at_least_one_feature_stays_ticked():
    app = ChooseKApp(k_max=4)
    boxes = list(app.data_row.column_boxes.values())
    boxes[1].value = False
    assert app.model.features == ("Spending Score (1-100)",)
    boxes[2].value = False  # the last one
    assert boxes[2].value is True
    assert app.model.features == ("Spending Score (1-100)",)
    assert "at least one column" in app.data_row.error
    assert app.model.table["k"].tolist() == [1, 2, 3, 4]


def test_synthetic_dataset_and_smaller_k_max():
    app = ChooseKApp(k_max=6)
    app.data_row.choose_dataset("blobs")
    m = app.model
    assert m.feature_names == ("x", "y")
    assert app.data_row._boxes.layout.display == "none"  # synthetic sets are always x and y
    X = np.array(load_dataset("blobs").X)  # drawn in one unit: never rescaled
    _same_table(m.table, elbow(X, range(1, 7), n_init=10, random_state=0))

    app._k.value = 6
    app._k_max.value = 4  # k falls to the end of the shorter range
    assert m.k == 4 and app._k.value == 4 and app._k.max == 4
    assert m.table["k"].tolist() == [1, 2, 3, 4]
    assert m.silhouette == pytest.approx(silhouette_score(m.X, m.labels))


def test_model_without_widgets():
    m = ChooseKModel(k_max=5, k=3)
    assert m.k == 3 and m.table["k"].tolist() == [1, 2, 3, 4, 5]
    assert m.row["k"] == 3 and math.isclose(m.row["silhouette"], m.silhouette)
    with m.hold():
        m.dataset = "rings"
        m.features = ("x", "y")
        m.scaled = False
    assert m.X.shape == (600, 2) and m.message == ""


@pytest.mark.parametrize("kwargs, match", [
    (dict(dataset="nope"), "Unknown data set"),
    (dict(features=("Height",)), "Unknown Mall column 'Height'"),
    (dict(features=()), "at least one feature"),
    (dict(k_max=2), "k_max"),
    (dict(k=1), "at least 2"),
    (dict(k_max=5, k=7), "larger than k_max"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ChooseKModel(**kwargs)


def test_the_elbow_table_of_the_packages_data_is_computed_once_per_machine(tmp_path, monkeypatch):
    from kmeans_tutor.widgets import choose_k

    monkeypatch.setenv("KMEANS_TUTOR_TABLES", str(tmp_path))
    calls, compute = [], choose_k.elbow_scores

    def counting(X, ks, **kwargs):
        calls.append((max(ks), kwargs["random_state"]))
        return compute(X, ks, **kwargs)

    monkeypatch.setattr(choose_k, "elbow_scores", counting)
    first = ChooseKModel(k_max=6)
    again = ChooseKModel(k_max=6)
    assert calls == [(6, 0)]
    for name in ("k", "inertia", "silhouette", "seconds"):
        np.testing.assert_array_equal(again.scores[name], first.scores[name])
    assert (again.knee_k, again.best_silhouette_k, again.k) == (first.knee_k, first.best_silhouette_k, first.k)
    np.testing.assert_array_equal(again.labels, first.labels)
    assert again.progress == again.progress_total == 6 and not again.busy

    again.seed = 4  # another seed, another table: computed, then kept too
    assert calls == [(6, 0), (6, 4)]
    ChooseKModel(k_max=6, seed=4)
    ChooseKModel(k_max=7)  # another range: another table
    ChooseKModel(k_max=6, scaled=False)  # other data
    assert calls == [(6, 0), (6, 4), (7, 0), (6, 0)]


def test_a_students_file_is_never_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("KMEANS_TUTOR_TABLES", str(tmp_path / "tables"))
    frame = pd.DataFrame({"height": np.arange(30.0) % 7, "weight": np.arange(30.0) % 5})
    model = ChooseKModel(k_max=4)
    kept_before = sorted((tmp_path / "tables").iterdir())
    model.use_upload(frame, "mine.csv")
    assert model.dataset == "upload" and model.scores["k"].tolist() == [1, 2, 3, 4]
    assert sorted((tmp_path / "tables").iterdir()) == kept_before
    path = tmp_path / "mine.csv"
    frame.to_csv(path, index=False)
    model.dataset = str(path)
    assert model.scores["k"].tolist() == [1, 2, 3, 4]
    assert sorted((tmp_path / "tables").iterdir()) == kept_before
