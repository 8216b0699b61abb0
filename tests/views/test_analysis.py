"""Analysis pictures, checked through their artists' data (not pixels), plus a smoke test."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from kmeans_tutor import KMeans  # noqa: E402
from kmeans_tutor.views.analysis import (  # noqa: E402
    CATEGORY_COLORS,
    ElbowView,
    SilhouetteView,
    age_histogram,
    cluster_sizes,
    correlation_heatmap,
    gender_count_plot,
    gender_mix,
    pairwise_scatter,
    profile_bars,
)
from kmeans_tutor.data import load_mall_customers  # noqa: E402
from kmeans_tutor.core.choosing import elbow_knee  # noqa: E402
from kmeans_tutor.core.knee import find_knee  # noqa: E402
from kmeans_tutor.core.metrics import silhouette_samples, silhouette_score  # noqa: E402
from kmeans_tutor.views.palette import cluster_style  # noqa: E402
from kmeans_tutor.data.profiles import cluster_profiles  # noqa: E402

INCOME, SCORE = "Annual Income (k$)", "Spending Score (1-100)"
NUMERIC = ["Age", INCOME, SCORE]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def df():
    return load_mall_customers()


@pytest.fixture(scope="module")
def X(df):
    return df[[INCOME, SCORE]]


@pytest.fixture(scope="module")
def labels5(X):
    return KMeans(5, n_init=10, random_state=0).fit(X).labels_


@pytest.fixture(scope="module")
def profiles(df, labels5):
    return cluster_profiles(df, labels5)


@pytest.fixture(scope="module")
def table(X):
    rows = []
    for k in range(1, 9):
        km = KMeans(k, n_init=3, random_state=0).fit(X)
        rows.append({"k": k, "inertia": km.inertia_,
                     "silhouette": silhouette_score(X, km.labels_) if k > 1 else np.nan})
    return pd.DataFrame(rows)


def _hex(colours):
    return [to_hex(c) for c in colours]


# ----------------------------------------------------------------------------- exploring


def test_gender_bars_are_the_counts(df):
    ax = gender_count_plot(df, plt.figure().subplots())
    assert [p.get_height() for p in ax.patches] == [112, 88]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Female", "Male"]
    assert _hex(p.get_facecolor() for p in ax.patches) == _hex(CATEGORY_COLORS[:2])


def test_gender_count_uses_current_axes(df):
    fig, ax = plt.subplots()
    assert gender_count_plot(df) is ax


@pytest.mark.parametrize("bins", ["auto", 7, range(15, 75, 5)])
def test_age_histogram_counts(df, bins):
    ax = age_histogram(df, plt.figure().subplots(), bins=bins)
    counts, edges = np.histogram(df["Age"], bins=bins)
    np.testing.assert_array_equal([p.get_height() for p in ax.patches], counts)
    np.testing.assert_allclose([p.get_x() for p in ax.patches], edges[:-1])
    assert ax.lines[0].get_xdata()[0] == pytest.approx(df["Age"].mean())


def test_heatmap_is_the_correlation_matrix(df):
    ax = correlation_heatmap(df, plt.figure().subplots())
    corr = df[NUMERIC].corr()
    image = ax.images[0]
    np.testing.assert_allclose(np.asarray(image.get_array()), corr.to_numpy())
    assert image.get_clim() == (-1.0, 1.0)
    assert image.get_cmap().name == "RdBu_r"
    texts = [t.get_text() for t in ax.texts]
    assert texts == [f"{v:.2f}" for v in corr.to_numpy().ravel()]
    assert [t.get_text() for t in ax.get_yticklabels()] == NUMERIC


def test_pairwise_scatter_by_gender(df):
    fig = pairwise_scatter(df, hue="Gender")
    axes = np.array(fig.axes[:9]).reshape(3, 3)
    female = (df["Gender"] == "Female").to_numpy()
    n_scatters = 0
    for i, fy in enumerate(NUMERIC):
        for j, fx in enumerate(NUMERIC):
            ax = axes[i, j]
            if i == j:
                assert not ax.collections and ax.patches  # histograms on the diagonal
                continue
            n_scatters += 1
            f, m = ax.collections
            np.testing.assert_array_equal(f.get_offsets(), df.loc[female, [fx, fy]].to_numpy())
            np.testing.assert_array_equal(m.get_offsets(), df.loc[~female, [fx, fy]].to_numpy())
            assert _hex(f.get_facecolor()) == [CATEGORY_COLORS[0].lower()]
    assert n_scatters == 6
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["Female", "Male"]


def test_pairwise_scatter_by_cluster_corner(df, labels5):
    fig = pairwise_scatter(df, features=[INCOME, SCORE, "Age"], hue=labels5, corner=True)
    axes = np.array(fig.axes[:9]).reshape(3, 3)
    assert [ax.get_visible() for ax in axes[np.triu_indices(3, 1)]] == [False] * 3
    ax = axes[1, 0]  # x = income, y = score
    assert len(ax.collections) == 5
    for j, coll in enumerate(ax.collections):
        np.testing.assert_array_equal(coll.get_offsets(), df.loc[labels5 == j, [INCOME, SCORE]].to_numpy())
        assert _hex(coll.get_facecolor()) == [cluster_style(j)[0].lower()]
    # Cluster ids 0 … 4 are read as 1 … 5, like the step captions.
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["1", "2", "3", "4", "5"]
    assert fig.legends[0].get_title().get_text() == "cluster"


def test_profile_bar_heights_are_the_means(profiles):
    fig = profile_bars(profiles)
    assert len(fig.axes) == 3
    colours = [cluster_style(j)[0].lower() for j in range(5)]
    for ax, f in zip(fig.axes, NUMERIC):
        np.testing.assert_allclose([p.get_height() for p in ax.patches], profiles[f])
        assert _hex(p.get_facecolor() for p in ax.patches) == colours
        assert ax.get_title() == f
        assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4", "5"]


def test_cluster_sizes_and_gender_mix(profiles):
    ax = cluster_sizes(profiles, plt.figure().subplots())
    assert [p.get_height() for p in ax.patches] == profiles["size"].tolist()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4", "5"]
    ax = gender_mix(profiles, plt.figure().subplots())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4", "5"]
    female, male = ax.containers
    np.testing.assert_allclose([p.get_height() for p in female], profiles["Gender: Female"])
    np.testing.assert_allclose([p.get_height() for p in male], profiles["Gender: Male"])
    np.testing.assert_allclose([p.get_y() for p in male], profiles["Gender: Female"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Female", "Male"]


def test_bad_inputs(df, profiles):
    with pytest.raises(ValueError, match="no column 'Sex'"):
        gender_count_plot(df, plt.figure().subplots(), column="Sex")
    with pytest.raises(TypeError, match="not numeric"):
        age_histogram(df, plt.figure().subplots(), column="Gender")
    with pytest.raises(ValueError, match="one value per row"):
        pairwise_scatter(df, hue=[0, 1, 2])
    with pytest.raises(ValueError, match="at least 2"):
        pairwise_scatter(df, features=["Age"])
    with pytest.raises(TypeError, match="cluster_profiles"):
        cluster_sizes(df, plt.figure().subplots())
    with pytest.raises(ValueError, match="no category shares"):
        gender_mix(profiles[["size", "share", "Age"]], plt.figure().subplots())


def test_cluster_numbers_start_at_1_like_step_view_and_captions(df, X, labels5, profiles):
    """Every picture numbers cluster id j as j + 1, as StepView's legend and the captions do."""
    from kmeans_tutor.core.steps import EmptyClusterEvent
    from kmeans_tutor.views import StepView

    view = StepView(X, 5, ax=plt.figure().subplots()).finalize()
    legend = [t.get_text() for t in view.ax.get_legend().get_texts()][:5]
    assert legend == ["cluster 1", "cluster 2", "cluster 3", "cluster 4", "cluster 5"]
    step_numbers = [text.removeprefix("cluster ") for text in legend]
    event = EmptyClusterEvent(index=0, iteration=1, centers=np.zeros((5, 2)), labels=labels5,
                              inertia=1.0, clusters=np.array([0]), policy="keep",
                              new_centers=np.zeros((1, 2)))
    assert "Cluster 1 has no points" in event.describe()  # cluster id 0

    def ticks(ax):
        return [t.get_text() for t in ax.get_xticklabels()]

    assert profiles.index.tolist() == [0, 1, 2, 3, 4]  # the data stay 0-based
    assert ticks(cluster_sizes(profiles, plt.figure().subplots())) == step_numbers
    assert ticks(gender_mix(profiles, plt.figure().subplots())) == step_numbers
    assert all(ticks(ax) == step_numbers for ax in profile_bars(profiles).axes)
    sil = SilhouetteView(plt.figure().subplots()).draw(labels5, silhouette_samples(X, labels5))
    assert [t.get_text() for t in sil._cluster_texts] == step_numbers
    np.testing.assert_array_equal(sil.clusters_, [0, 1, 2, 3, 4])
    fig = pairwise_scatter(df, features=[INCOME, SCORE], hue=labels5)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == step_numbers
    # Only cluster ids are shifted: an integer column other than "cluster" keeps its values,
    # a "cluster" column (as in a labelled CSV) is numbered like the labels.
    small = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0],
                          "visits": [2, 2, 5, 5], "cluster": [0, 0, 1, 1]})
    fig = pairwise_scatter(small, features=["a", "b"], hue="visits")
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["2", "5"]
    fig = pairwise_scatter(small, features=["a", "b"], hue="cluster")
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["1", "2"]
    # Negative ids (e.g. −1 for noise) are shown as they are.
    odd = cluster_profiles(df, np.where(labels5 == 0, -1, labels5))
    assert ticks(cluster_sizes(odd, plt.figure().subplots())) == ["-1", "1", "2", "3", "4"]


# ----------------------------------------------------------------------------- choosing k


def test_elbow_view_data(table):
    view = ElbowView(table, plt.figure().subplots(), knee=elbow_knee(table))
    np.testing.assert_array_equal(view.inertia_line.get_xdata(), table["k"])
    np.testing.assert_allclose(view.inertia_line.get_ydata(), table["inertia"])
    knee = find_knee(table["k"], table["inertia"])
    assert knee.x is not None
    assert list(view.knee_marker.get_xdata()) == [knee.x]
    assert list(view.knee_marker.get_ydata()) == [pytest.approx(knee.y)]
    np.testing.assert_allclose(view.silhouette_line.get_ydata(), table["silhouette"])
    assert view.silhouette_line.axes is view.twin

    # draw only moves the highlight; finalize labels.
    lines_before = len(view.ax.lines)
    view.draw(4)
    inertia4 = table.set_index("k").at[4, "inertia"]
    assert view.selected_marker.get_visible()
    assert list(view.selected_marker.get_xdata()) == [4]
    assert list(view.selected_marker.get_ydata()) == [pytest.approx(inertia4)]
    view.draw(6).draw(None)
    assert not view.selected_marker.get_visible()
    assert len(view.ax.lines) == lines_before
    view.draw(3).finalize()
    assert view.ax.get_xlabel() == "number of clusters k"
    with pytest.raises(ValueError, match="not in the table"):
        view.draw(11)


def test_elbow_view_without_silhouette_or_knee():
    view = ElbowView(pd.DataFrame({"k": [1, 2], "inertia": [10.0, 4.0]}), plt.figure().subplots())
    assert view.twin is None and view.knee is None
    assert list(view.knee_marker.get_xdata()) == []
    view.draw(2).finalize()
    with pytest.raises(ValueError, match="no column 'inertia'"):
        ElbowView(pd.DataFrame({"k": [1, 2]}), plt.figure().subplots())


def _knife_values(view):
    """Per cluster, the silhouettes the step polygon spans (bottom to top).

    A polygon runs (0, y0), (s0, y0), (s0, y0+1), (s1, y0+1), ..., (0, y0+m),
    then repeats its first vertex to close.
    """
    return [path.vertices[1:-2:2, 0] for path in view.knives.get_paths()]


def test_silhouette_knives_are_sorted_silhouettes(X, labels5):
    s = silhouette_samples(X, labels5)
    view = SilhouetteView(plt.figure().subplots())
    view.draw(labels5, s).finalize()
    knives = _knife_values(view)
    assert len(knives) == 5
    for j, values in enumerate(knives):
        np.testing.assert_allclose(values, np.sort(s[labels5 == j]))
    assert view.mean_line.get_xdata()[0] == pytest.approx(silhouette_score(X, labels5))
    assert [t.get_text() for t in view._cluster_texts] == ["1", "2", "3", "4", "5"]
    assert _hex(view.knives.get_facecolor()) == [cluster_style(j)[0].lower() for j in range(5)]
    # Knives do not overlap: each sits above the previous one.
    tops = [path.vertices[:, 1].max() for path in view.knives.get_paths()]
    bottoms = [path.vertices[:, 1].min() for path in view.knives.get_paths()]
    assert all(b > t for t, b in zip(tops, bottoms[1:]))


def test_silhouette_view_only_draws_what_it_is_given(X, labels5, monkeypatch):
    import kmeans_tutor.core.metrics as metrics

    def refuse(*args, **kwargs):
        raise AssertionError("a view must not compute silhouettes")

    labels3 = KMeans(3, random_state=0).fit(X).labels_
    s5, s3 = silhouette_samples(X, labels5), silhouette_samples(X, labels3)
    monkeypatch.setattr(metrics, "silhouette_samples", refuse)
    monkeypatch.setattr(metrics, "silhouette_score", refuse)
    view = SilhouetteView(plt.figure().subplots())
    view.draw(labels5, s5)
    n_artists = len(view.ax.get_children())
    view.draw(labels3, s3)
    assert len(_knife_values(view)) == 3
    assert sum(t.get_visible() for t in view._cluster_texts) == 3
    view.draw(labels5, s5)
    assert len(view.ax.get_children()) == n_artists  # artists are reused
    assert view.score_ == pytest.approx(float(np.mean(s5)))
    with pytest.raises(ValueError, match="same length"):
        view.draw(labels5[:10], s5)
    with pytest.raises(ValueError, match="between -1 and 1"):
        view.draw(labels5, s5 * 3)


def test_elbow_view_marks_the_knee_it_is_given(table):
    view = ElbowView(table, plt.figure().subplots())  # no knee: nothing marked, nothing computed
    assert view.knee is None and list(view.knee_marker.get_xdata()) == []


# ----------------------------------------------------------------------------- smoke


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    return buf.getvalue()


def test_every_picture_renders(df, X, labels5, profiles, table):
    pictures = [
        gender_count_plot(df, plt.figure().subplots()).figure,
        age_histogram(df, plt.figure().subplots()).figure,
        pairwise_scatter(df, hue="Gender"),
        pairwise_scatter(df, hue=labels5, corner=True),
        pairwise_scatter(df),
        correlation_heatmap(df, plt.figure().subplots()).figure,
        profile_bars(profiles),
        cluster_sizes(profiles, plt.figure().subplots()).figure,
        gender_mix(profiles, plt.figure().subplots()).figure,
        ElbowView(table, plt.figure().subplots(), knee=elbow_knee(table)).draw(5).finalize().ax.figure,
        SilhouetteView(plt.figure().subplots()).draw(labels5, silhouette_samples(X, labels5)).finalize().ax.figure,
    ]
    for fig in pictures:
        assert _png(fig).startswith(b"\x89PNG\r\n\x1a\n")
