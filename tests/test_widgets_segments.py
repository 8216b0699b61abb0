"""The segments app, driven from Python: profiles, personas, bar charts and the download."""

import base64
import html
import io
import re

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ipympl")

from kmeans_tutor.estimator import KMeans
from kmeans_tutor.preprocessing import standardize
from kmeans_tutor.profiles import cluster_profiles, describe_segments
from kmeans_tutor.widgets.segments import MALL_FEATURES, SegmentsApp, SegmentsModel, download_link

FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]


@pytest.fixture(scope="module", autouse=True)
def _restore_backend():
    """The apps switch pyplot to ipympl; put the test session's backend back."""
    import matplotlib
    import matplotlib.pyplot as plt

    old = matplotlib.get_backend()
    yield
    plt.close("all")
    plt.switch_backend(old)


@pytest.fixture(scope="module")
def app():
    return SegmentsApp()


def _fit(mall, k=5, features=FEATURES, scaled=True, seed=0):
    X = mall[list(features)].to_numpy(dtype=float)
    if scaled:
        X = standardize(X)[0]
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit(X).labels_


def _decode_link(link_html):
    match = re.fullmatch(r'<a download="([^"]+)" href="data:text/csv;base64,([A-Za-z0-9+/=]+)" '
                         r'target="_blank">(.*)</a>', link_html)
    assert match, link_html
    name, payload, _ = match.groups()
    return name, pd.read_csv(io.StringIO(base64.b64decode(payload).decode("utf-8")),
                             index_col="CustomerID")


def test_profile_table_equals_cluster_profiles_of_the_fit(app, mall):
    labels = _fit(mall)
    np.testing.assert_array_equal(app.model.labels, labels)
    expected = cluster_profiles(mall, labels)
    pd.testing.assert_frame_equal(app.model.profiles, expected)
    # The HTML table shows every cluster's size and segment name.
    table = app.table_html
    for cluster, row in expected.iterrows():
        assert f">{int(row['size'])}<" in table
    for name in app.model.segments["name"]:
        assert html.escape(name) in table


def test_personas_equal_describe_segments(app, mall):
    expected = describe_segments(cluster_profiles(mall, _fit(mall)))
    pd.testing.assert_frame_equal(app.model.segments, expected)
    assert sorted(expected["persona"]) == sorted([
        "Affluent target customers", "Budget-conscious", "Careful spenders",
        "Middle-income regulars", "Impulsive buyers"])
    cards = app.cards_html
    for _, row in expected.iterrows():
        for text in (row["name"], row["persona"], row["description"], *row["recommendations"]):
            assert html.escape(text) in cards


def test_download_decodes_to_the_labelled_customers(app, mall):
    name, csv = _decode_link(app.download_html)
    assert name == "segments.csv"
    labels = _fit(mall)
    assert len(csv) == len(mall) == 200
    assert csv.index.tolist() == mall.index.tolist()
    pd.testing.assert_frame_equal(csv[list(mall.columns)], mall, check_dtype=False)
    np.testing.assert_array_equal(csv["cluster"].to_numpy(), labels)
    names = app.model.segments["name"]
    assert csv["segment"].tolist() == names.reindex(labels).tolist()


def test_k_slider_refits_and_redraws_the_bars(app, mall):
    app._k.value = 4
    try:
        labels = _fit(mall, k=4)
        np.testing.assert_array_equal(app.model.labels, labels)
        profiles = cluster_profiles(mall, labels)
        pd.testing.assert_frame_equal(app.model.profiles, profiles)
        # Bars are redrawn on the same figure, not piled up.
        sizes = [p.get_height() for p in app._ax_sizes.patches]
        assert sizes == profiles["size"].astype(float).tolist()
        assert len(app._bars_fig.axes) == 3  # one panel per numeric feature
        assert all(len(ax.patches) == 4 for ax in app._bars_fig.axes)
        assert len(app._ax_gender.patches) == 2 * 4  # Female and Male per cluster
        _, csv = _decode_link(app.download_html)
        np.testing.assert_array_equal(csv["cluster"].to_numpy(), labels)
        assert "(200 customers, 4 clusters)" in app.download_html
    finally:
        app._k.value = 5


def test_features_scaled_and_seed(mall):
    app = SegmentsApp(k=3)
    fig = app.fig
    app._feature_boxes[0].value = True  # + Age
    assert app.model.features == MALL_FEATURES
    np.testing.assert_array_equal(app.model.labels, _fit(mall, 3, MALL_FEATURES))
    app._scaled.value = False
    np.testing.assert_array_equal(app.model.labels, _fit(mall, 3, MALL_FEATURES, scaled=False))
    app._seed.value = 7
    np.testing.assert_array_equal(app.model.labels, _fit(mall, 3, MALL_FEATURES, False, 7))
    assert app.fig is fig


def test_at_least_one_feature_stays_ticked():
    app = SegmentsApp(k=2)
    app._feature_boxes[1].value = False
    assert app.model.features == ("Spending Score (1-100)",)
    app._feature_boxes[2].value = False
    assert app._feature_boxes[2].value is True
    assert app.model.features == ("Spending Score (1-100)",)
    assert "at least one feature" in app.message


def test_model_without_widgets(mall):
    m = SegmentsModel(k=3, features="Age", scaled=False, seed=1)
    np.testing.assert_array_equal(m.labels, _fit(mall, 3, ["Age"], False, 1))
    assert m.labelled["cluster"].tolist() == m.labels.tolist()
    revision = m.revision
    with m.hold():
        m.k = 4
        m.seed = 2
    assert m.revision == revision + 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(features=()), "at least one feature"),
    (dict(features=("Gender",)), "not a Mall feature"),
    (dict(k=0), "at least 1"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SegmentsModel(**kwargs)


def test_download_link_escapes_and_round_trips():
    link = download_link("a,b\n1,<x>\n", "my file.csv", label="<b>get</b>")
    assert "&lt;b&gt;get&lt;/b&gt;" in link and "<b>" not in link
    payload = re.search(r"base64,([^\"]+)", link).group(1)
    assert base64.b64decode(payload).decode() == "a,b\n1,<x>\n"
