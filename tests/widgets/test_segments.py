"""The segments app, driven from Python: profiles, personas, bar charts and the download."""

import base64
import html
import io
import re

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ipympl")
pytestmark = pytest.mark.usefixtures("restore_backend")

from kmeans_tutor.core.estimator import KMeans
from kmeans_tutor.data.preprocessing import standardize
from kmeans_tutor.data.profiles import cluster_profiles, describe_segments
from kmeans_tutor.data.mall import MALL_FEATURES
from kmeans_tutor.widgets.segments import SegmentsApp, SegmentsModel, download_link

FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]




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
    # Rows are numbered 1 … 5 for cluster ids 0 … 4 (the data keep 0 … 4).
    assert app.model.profiles.index.tolist() == [0, 1, 2, 3, 4]
    assert _row_numbers(table) == [1, 2, 3, 4, 5]


def _table_cells(table_html):
    """The profile table's header and body rows, as lists of cell texts."""
    head = re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", table_html.split("<tbody>")[0])
    body = [re.findall(r"<t[hd](?:\s[^>]*)?>(.*?)</t[hd]>", row)
            for row in re.findall(r"<tr>(.*?)</tr>", table_html.split("<tbody>")[1])]
    return head, body


def test_every_cell_of_the_profile_table_reads_as_the_profile_says(app):
    """Sizes whole, shares and category mixes as percentages, means to one decimal."""
    profiles, segments = app.model.profiles, app.model.segments
    head, body = _table_cells(app.table_html)
    assert head == ["cluster", "segment", *profiles.columns]
    assert len(body) == len(profiles)
    for (cluster, row), cells in zip(profiles.iterrows(), body):
        expected = [str(cluster + 1), html.escape(segments.loc[cluster, "name"]),
                    f"{row['size']:.0f}", f"{row['share']:.0%}"]
        for column in profiles.columns[2:]:
            expected.append(f"{row[column]:.0%}" if ": " in column else f"{row[column]:.1f}")
        assert cells == expected
    assert "20%" in body[0] and "86.5" in body[0]  # cluster 1 of the Mall: 39 customers, 86.5 k$


def test_a_learners_column_names_are_shown_as_text_in_the_table(mall):
    frame = mall.rename(columns={"Age": "<img src=x onerror=alert(1)>"})
    model = SegmentsModel(k=3)
    model.use_upload(frame, "shop.csv", features=["<img src=x onerror=alert(1)>", "Annual Income (k$)"])
    from kmeans_tutor.widgets.segments import _profile_table_html

    table = _profile_table_html(model.profiles, model.segments)
    assert "<img" not in table
    assert "&lt;img src=x onerror=alert(1)&gt;" in table


def test_the_segments_lesson_never_loads_the_pandas_styler():
    """The table is written by hand: jinja2 and the Styler cost a kernel 0.04 s and 3 MB."""
    import subprocess
    import sys

    code = ("import os; os.environ['MPLBACKEND'] = 'agg'; import sys\n"
            "from kmeans_tutor.widgets.segments import SegmentsApp\n"
            "SegmentsApp(k=5)\n"
            "print(sorted(m for m in ('jinja2', 'pandas.io.formats.style') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_personas_equal_describe_segments(app, mall):
    expected = describe_segments(cluster_profiles(mall, _fit(mall)), overall=mall)
    pd.testing.assert_frame_equal(app.model.segments, expected)
    assert sorted(expected["persona"]) == sorted([
        "Affluent target customers", "Budget-conscious", "Careful spenders",
        "Middle-income regulars", "Impulsive buyers"])
    cards = app.cards_html
    for cluster, row in expected.iterrows():
        assert f"Cluster {cluster + 1}: {html.escape(row['name'])}<" in cards
        for text in (row["name"], row["persona"], row["description"], *row["recommendations"]):
            assert html.escape(text) in cards


def _row_numbers(table_html):
    """The row labels of the profile table's body, as ints."""
    body = table_html.split("<tbody>", 1)[1]
    return [int(v) for v in re.findall(r"<th[^>]*row_heading[^>]*>\s*(-?\d+)\s*</th>", body)]


def test_cluster_numbers_start_at_1_like_step_view_and_captions(app, mall):
    """Table and cards say Cluster 1 … k, as the StepView legend and captions do; the CSV stays 0-based."""
    import matplotlib.pyplot as plt

    from kmeans_tutor.views.palette import cluster_style
    from kmeans_tutor.core.steps import EmptyClusterEvent
    from kmeans_tutor.views import StepView

    m = app.model
    k = len(m.profiles)
    view = StepView(m.X, k, ax=plt.figure().subplots()).finalize()
    legend = [t.get_text() for t in view.ax.get_legend().get_texts()][:k]
    numbers = [int(text.removeprefix("cluster ")) for text in legend]
    assert numbers == list(range(1, k + 1))
    event = EmptyClusterEvent(index=0, iteration=1, centers=m.centers, labels=m.labels, inertia=1.0,
                              clusters=np.array([0]), policy="keep", new_centers=m.centers[:1])
    assert "Cluster 1 has no points" in event.describe()

    assert _row_numbers(app.table_html) == numbers
    assert re.findall(r"Cluster (\d+): ", app.cards_html) == [str(n) for n in numbers]
    # Each number keeps its cluster's colour: number n is cluster id n - 1.
    assert f"color: {cluster_style(0)[0]}" in app.table_html
    for n in numbers:
        card = re.search(rf"border-left: 6px solid (#\w+);[^<]*'><div style='font-weight: bold'>"
                         rf"Cluster {n}: ", app.cards_html)
        assert card and card.group(1) == cluster_style(n - 1)[0]
    # The download numbers clusters like the cards: Cluster 1 is cluster 1 in the file,
    # so no note is needed to translate.
    _, csv = _decode_link(app.download_html)
    assert sorted(csv["cluster"].unique()) == list(range(1, k + 1))
    name0 = m.segments.loc[0, "name"]
    assert f"Cluster 1: {html.escape(name0)}<" in app.cards_html
    assert set(csv.loc[csv["cluster"] == 1, "segment"]) == {name0}
    assert "counts from 0" not in app.cards_html + app.download_html


def test_download_decodes_to_the_labelled_customers(app, mall):
    name, csv = _decode_link(app.download_html)
    assert name == "segments.csv"
    labels = _fit(mall)
    assert len(csv) == len(mall) == 200
    assert csv.index.tolist() == mall.index.tolist()
    pd.testing.assert_frame_equal(csv[list(mall.columns)], mall, check_dtype=False)
    np.testing.assert_array_equal(csv["cluster"].to_numpy(), labels + 1)  # 1 … k
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
        np.testing.assert_array_equal(csv["cluster"].to_numpy(), labels + 1)
        assert "(200 customers, 4 clusters)" in app.download_html
    finally:
        app._k.value = 5


def test_features_scaled_and_seed(mall):
    app = SegmentsApp(k=3)
    fig = app.fig
    app.feature_boxes["Age"].value = True  # + Age
    assert app.model.features == MALL_FEATURES
    np.testing.assert_array_equal(app.model.labels, _fit(mall, 3, MALL_FEATURES))
    app.data_row._scaled.value = False
    np.testing.assert_array_equal(app.model.labels, _fit(mall, 3, MALL_FEATURES, scaled=False))
    app._seed.value = 7
    np.testing.assert_array_equal(app.model.labels, _fit(mall, 3, MALL_FEATURES, False, 7))
    assert app.fig is fig


def test_at_least_one_feature_stays_ticked():
    app = SegmentsApp(k=2)
    app.feature_boxes["Annual Income (k$)"].value = False
    assert app.model.features == ("Spending Score (1-100)",)
    app.feature_boxes["Spending Score (1-100)"].value = False
    assert app.feature_boxes["Spending Score (1-100)"].value is True
    assert app.model.features == ("Spending Score (1-100)",)
    assert "at least one column" in app.data_row.error


def test_model_without_widgets(mall):
    m = SegmentsModel(k=3, features="Age", scaled=False, seed=1)
    np.testing.assert_array_equal(m.labels, _fit(mall, 3, ["Age"], False, 1))
    assert m.labelled["cluster"].tolist() == (m.labels + 1).tolist()
    revision = m.revision
    with m.hold():
        m.k = 4
        m.seed = 2
    assert m.revision == revision + 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(features=()), "at least one feature"),
    (dict(features=("Gender",)), "Unknown Mall column 'Gender'"),
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


@pytest.mark.parametrize("k, seed, features, scaled", [
    (5, 0, FEATURES, True), (2, 3, FEATURES, False), (9, 1, ["Age", "Spending Score (1-100)"], True),
    (6, 7, ["Age", "Annual Income (k$)", "Spending Score (1-100)"], True)])
def test_the_mall_path_without_pandas_shows_the_numbers_of_the_dataframe_path(mall, k, seed, features, scaled):
    """For the Mall customers the app reads ClusterTables made without pandas; every table,
    card and byte of the download equals what the DataFrame functions make of the same fit."""
    from kmeans_tutor.data.export import safe_csv
    from kmeans_tutor.data.profiles import ClusterTable
    from kmeans_tutor.widgets.segments import _cards_html, _profile_table_html

    model = SegmentsModel(k=k, features=tuple(features), scaled=scaled, seed=seed)
    assert isinstance(model.profile_table, ClusterTable) and isinstance(model.segment_table, ClusterTable)
    labels = _fit(mall, k, features, scaled, seed)
    np.testing.assert_array_equal(model.labels, labels)
    profiles = cluster_profiles(mall, labels)
    segments = describe_segments(profiles, overall=mall)
    pd.testing.assert_frame_equal(model.profiles, profiles, check_exact=True)
    pd.testing.assert_frame_equal(model.segments, segments, check_exact=True)
    assert _profile_table_html(model.profile_table, model.segment_table) == _profile_table_html(profiles, segments)
    assert _cards_html(model.segment_table) == _cards_html(segments)
    labelled = mall.copy()
    labelled["cluster"] = np.asarray(labels, dtype=np.int64) + 1
    labelled["segment"] = segments["name"].reindex(labels).to_numpy()
    pd.testing.assert_frame_equal(model.labelled, labelled)
    assert model.to_csv() == safe_csv(labelled)


def test_the_download_of_the_mall_neutralises_formulas_as_safe_csv_does(monkeypatch):
    from kmeans_tutor.data import profiles as profiles_module
    from kmeans_tutor.data.export import safe_csv

    model = SegmentsModel(k=3)
    names = list(model.segment_table["name"])
    names[0] = '=HYPERLINK("http://x", "click")'
    model.segment_table = profiles_module.ClusterTable(
        model.segment_table.index, {**{c: model.segment_table[c] for c in model.segment_table.columns},
                                    "name": names})
    text = model.to_csv()
    assert "'=HYPERLINK(" in text and "\n=" not in text and ",=" not in text
    assert text == safe_csv(model.labelled)


@pytest.mark.parametrize("start_on_mall", [True, False])
def test_after_inputs_that_cannot_be_used_every_output_still_describes_the_last_good_ones(start_on_mall):
    frame = pd.DataFrame({"height": np.arange(40.0) % 9, "weight": np.arange(40.0) % 7,
                          "team": ["a", "b"] * 20})
    model = SegmentsModel(k=3)
    if not start_on_mall:
        model.use_upload(frame, "mine.csv")
    before = (model.to_csv(), model.labelled.copy(), model.segments.copy())
    if start_on_mall:
        model.features = ("Age", "No such column")
    else:
        model.dataset = "mall"  # the file's columns are no Mall columns: refused
    assert model.message_level == "error" and "column" in model.message
    assert model.to_csv() == before[0]
    pd.testing.assert_frame_equal(model.labelled, before[1])
    pd.testing.assert_frame_equal(model.segments, before[2])
    assert len(model.to_csv().splitlines()) == (200 if start_on_mall else 40) + 1
