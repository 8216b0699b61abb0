"""Views, checked through their artists' data (not pixels), plus a smoke render."""

import dataclasses
import io
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex, to_rgb  # noqa: E402

from kmeans_tutor import run_kmeans  # noqa: E402
from kmeans_tutor.data.resolver import resolve_data  # noqa: E402
from kmeans_tutor.views.palette import (  # noqa: E402
    CLUSTER_MARKERS,
    GREYSCALE_COLORS,
    UNASSIGNED,
    cluster_colors,
    cluster_style,
    lightness,
    to_greyscale,
)
from kmeans_tutor.core.steps import (  # noqa: E402
    AssignStep,
    ConvergedStep,
    EmptyClusterEvent,
    SeedStep,
    UpdateStep,
)
from kmeans_tutor.views import InertiaView, Projection, SeedingView, StepView  # noqa: E402


# --- fixtures ---------------------------------------------------------------------------
def _blobs(n, k, d=2, seed=0, spread=1.0):
    rng = np.random.default_rng(seed)
    means = rng.uniform(-8, 8, size=(k, d))
    return means[rng.integers(k, size=n)] + spread * rng.normal(size=(n, d))


@pytest.fixture(scope="module")
def X():
    return _blobs(240, 4, spread=2.0)


@pytest.fixture(scope="module")
def trace(X):
    return run_kmeans(X, 4, random_state=1)


@pytest.fixture(scope="module")
def empty_trace():
    """A run with an empty-cluster event: one centre starts far from every point."""
    X = np.vstack([_blobs(30, 1, seed=1) - 5, _blobs(30, 1, seed=2) + 5])
    init = np.array([[-5.0, -5.0], [5.0, 5.0], [100.0, 100.0]])
    tr = run_kmeans(X, 3, init=init)
    assert "empty" in tr.phases()
    return X, tr


@pytest.fixture
def ax():
    fig, ax = plt.subplots(figsize=(4, 4), dpi=50)
    yield ax
    plt.close(fig)


def _xy(line):
    return np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])


def _sorted_rows(a):
    a = np.asarray(a, float).reshape(-1, 2)
    return a[np.lexsort(a.T[::-1])]


# --- StepView: points, centres, changes ------------------------------------------------
def test_points_grey_before_first_assignment_then_by_cluster(X, trace, ax):
    view = StepView(X, 4, ax=ax)
    assert view.mode == "points"
    for step in trace:
        view.draw(step)
        if step.labels is None:
            assert _sorted_rows(_xy(view.unassigned_line)).tolist() == _sorted_rows(X).tolist()
            assert to_hex(view.unassigned_line.get_markerfacecolor()) == UNASSIGNED.lower()
            assert all(len(line.get_xdata()) == 0 for line in view.point_lines)
        else:
            assert len(view.unassigned_line.get_xdata()) == 0
            for j, line in enumerate(view.point_lines):
                expected = X[step.labels == j]
                np.testing.assert_array_equal(_sorted_rows(_xy(line)), _sorted_rows(expected))
    assert sum(len(line.get_xdata()) for line in view.point_lines) == len(X)


def test_each_cluster_has_its_palette_colour_and_marker(X, ax):
    view = StepView(X, 4, ax=ax)
    for j, (line, centre) in enumerate(zip(view.point_lines, view.center_lines)):
        colour, marker = cluster_style(j)
        assert to_hex(line.get_markerfacecolor()) == colour.lower()
        assert line.get_marker() == marker == centre.get_marker()
        assert to_hex(centre.get_markerfacecolor()) == colour.lower()
        assert line.get_linestyle() == "None"  # markers only, no connecting line


def test_centres_where_the_step_says(X, trace, ax):
    view = StepView(X, 4, ax=ax)
    for step in trace:
        view.draw(step)
        m = step.n_clusters
        for j, line in enumerate(view.center_lines):
            if j < m:
                np.testing.assert_array_equal(_xy(line), step.centers[j:j + 1])
            else:  # not seeded yet
                assert len(line.get_xdata()) == 0


def test_update_step_shows_old_centres_and_arrows(X, trace, ax):
    view = StepView(X, 4, ax=ax)
    updates = [s for s in trace if isinstance(s, UpdateStep)]
    assert updates
    for step in updates:
        view.draw(step)
        for j in range(4):
            np.testing.assert_array_equal(_xy(view.old_center_lines[j]), step.previous_centers[j:j + 1])
            arrow = view.arrows[j]
            np.testing.assert_array_equal(arrow.xyann, step.previous_centers[j])  # tail: old
            np.testing.assert_array_equal(arrow.xy, step.centers[j])  # head: new
            assert arrow.get_visible() == bool(step.shifts[j] > 0)
    # Any other step clears them.
    view.draw(next(s for s in trace if isinstance(s, AssignStep)))
    assert not any(a.get_visible() for a in view.arrows)
    assert all(len(line.get_xdata()) == 0 for line in view.old_center_lines)


def test_changed_points_highlighted_exactly(X, trace, ax):
    view = StepView(X, 4, ax=ax)
    assigns = [s for s in trace if isinstance(s, AssignStep)]
    assert assigns[0].previous_inertia is None and assigns[0].n_changed == len(X)
    assert any(s.n_changed > 0 for s in assigns[1:]), "the fixture should move some points"
    for step in assigns:
        view.draw(step)
        if step is assigns[0]:
            assert len(view.changed_line.get_xdata()) == 0  # first assignment: no rings
        else:
            np.testing.assert_array_equal(_xy(view.changed_line), X[step.changed].reshape(-1, 2))
    for step in trace:
        if not isinstance(step, AssignStep):
            view.draw(step)
            assert len(view.changed_line.get_xdata()) == 0


def test_highlight_is_capped_and_caption_says_so(X, trace, ax):
    view = StepView(X, 4, ax=ax, max_highlight=2)
    step = next(s for s in trace if isinstance(s, AssignStep) and s.n_changed > 2
                and s.previous_inertia is not None)
    view.draw(step)
    assert 0 < len(view.changed_line.get_xdata()) <= 2
    assert "Ringed: 1 in" in view.caption.text.get_text().replace("\n", " ")


def test_seed_step_marks_the_chosen_point(X, trace, ax):
    view = StepView(X, 4, ax=ax)
    for step in trace:
        view.draw(step)
        if isinstance(step, SeedStep):
            np.testing.assert_array_equal(_xy(view.pick_line), X[[step.chosen]])
        elif not isinstance(step, EmptyClusterEvent):
            assert len(view.pick_line.get_xdata()) == 0


def test_empty_cluster_event_highlights_the_relocated_point(empty_trace, ax):
    X, tr = empty_trace
    view = StepView(X, 3, ax=ax)
    event = next(s for s in tr if isinstance(s, EmptyClusterEvent))
    view.draw(event)
    np.testing.assert_array_equal(_xy(view.pick_line), X[event.relocated_to])
    for i, c in enumerate(event.clusters):
        arrow = view.arrows[c]
        assert arrow.get_visible()
        np.testing.assert_array_equal(arrow.xyann, event.centers[c])
        np.testing.assert_array_equal(arrow.xy, event.new_centers[i])
    assert "empty cluster" in view.caption.text.get_text().replace("\n", " ")


def test_caption_is_the_step_description(X, trace, ax):
    view = StepView(X, 4, ax=ax)
    for step in trace:
        view.draw(step)
        assert " ".join(view.caption.text.get_text().split()) == " ".join(step.describe().split())
    hidden = StepView(X, 4, ax=ax, show_caption=False)
    hidden.draw(trace[-1])
    assert hidden.caption is None


# --- nearest-centre regions ------------------------------------------------------------
def _pixel_labels(image, centers):
    """Recompute the nearest centre of every pixel centre from the image alone."""
    x0, x1, y0, y1 = image.get_extent()
    ny, nx = image.get_array().shape
    xs = x0 + (np.arange(nx) + 0.5) * (x1 - x0) / nx
    ys = y0 + (np.arange(ny) + 0.5) * (y1 - y0) / ny
    px, py = np.meshgrid(xs, ys)  # row 0 = bottom (origin="lower")
    P = np.column_stack([px.ravel(), py.ravel()])
    # The assign step's rule: argmin ||c||² − 2 p·c, ties to the lowest index.
    score = -2.0 * P @ centers.T + (centers**2).sum(axis=1)
    return score.argmin(axis=1).reshape(ny, nx), P


def test_voronoi_image_is_the_nearest_centre_of_each_pixel(X, trace, ax):
    view = StepView(X, 4, ax=ax, voronoi=True, voronoi_resolution=(37, 23))
    image = view.region_image
    assert image.origin == "lower"
    for step in trace:
        view.draw(step)
        labels = np.asarray(image.get_array())
        assert labels.shape == (23, 37)
        expected, P = _pixel_labels(image, step.centers)
        np.testing.assert_array_equal(labels, expected)
        # And it agrees with plain Euclidean distances wherever there is no near-tie.
        d2 = ((P[:, None, :] - step.centers[None]) ** 2).sum(-1)
        srt = np.sort(d2, axis=1)
        clear = (srt[:, 1] - srt[:, 0] > 1e-6) if d2.shape[1] > 1 else np.ones(len(P), bool)
        assert np.array_equal(labels.ravel()[clear], d2.argmin(1)[clear])
    # The image spans exactly the visible area.
    (x0, x1), (y0, y1) = view.limits
    assert tuple(image.get_extent()) == (x0, x1, y0, y1)
    assert ax.get_xlim() == (x0, x1) and ax.get_ylim() == (y0, y1)


def test_voronoi_tie_goes_to_the_lowest_index(ax):
    # Two centres symmetric about x = 0; a pixel column centred exactly on x = 0.
    X = np.array([[-1.0, 0.0], [1.0, 0.0], [-1.0, 1.0], [1.0, 1.0]])
    view = StepView(X, 2, ax=ax, voronoi=True, voronoi_resolution=(3, 2),
                    limits=((-1.5, 1.5), (-1.0, 2.0)))
    tr = run_kmeans(X, 2, init=np.array([[-1.0, 0.5], [1.0, 0.5]]))
    view.draw(tr[-1])
    labels = np.asarray(view.region_image.get_array())
    assert labels[:, 1].tolist() == [0, 0]  # the middle column is equidistant → cluster 0
    assert labels[:, 0].tolist() == [0, 0] and labels[:, 2].tolist() == [1, 1]


# --- density mode ------------------------------------------------------------------------
def test_density_mode_above_threshold_conserves_points(ax):
    X = _blobs(3000, 3, seed=4)
    tr = run_kmeans(X, 3, random_state=0)
    assert StepView(X, 3, ax=ax, density_threshold=3000).mode == "points"
    view = StepView(X, 3, ax=ax, density_threshold=2999, density_bins=(40, 30))
    assert view.mode == "density" and view.point_lines == []
    (x0, x1), (y0, y1) = view.limits
    edges_x, edges_y = np.linspace(x0, x1, 41), np.linspace(y0, y1, 31)
    for step in tr:
        view.draw(step)
        counts = view.density_counts
        assert counts.sum() == len(X)
        if step.labels is None:
            assert counts.shape == (30, 40, 1)
            continue
        assert counts.shape == (30, 40, 3)
        np.testing.assert_array_equal(counts.sum(axis=(0, 1)), np.bincount(step.labels, minlength=3))
        for j in range(3):  # each cluster's histogram, recomputed independently
            pts = X[step.labels == j]
            h, _, _ = np.histogram2d(pts[:, 1], pts[:, 0], bins=[edges_y, edges_x])
            np.testing.assert_array_equal(counts[:, :, j], h)
    # Every non-empty pixel shows its most numerous cluster's colour.
    rgba = np.asarray(view.density_image.get_array())
    total = counts.sum(-1)
    dominant = counts.argmax(-1)
    table = np.round(255 * np.array([to_rgb(c) for c in cluster_colors(3)])).astype(np.uint8)
    filled = total > 0
    np.testing.assert_array_equal(rgba[filled][:, :3], table[dominant[filled]])
    assert np.all(rgba[~filled][:, 3] == 0) and np.all(rgba[filled][:, 3] > 0)


def test_density_mode_still_draws_centres_and_changes(ax):
    X = _blobs(3000, 3, seed=5)
    tr = run_kmeans(X, 3, random_state=2)
    view = StepView(X, 3, ax=ax, density_threshold=100)
    update = next(s for s in tr if isinstance(s, UpdateStep))
    view.draw(update)
    np.testing.assert_array_equal(_xy(view.center_lines[0]), update.centers[:1])
    np.testing.assert_array_equal(view.arrows[0].xyann, update.previous_centers[0])


# --- projections ---------------------------------------------------------------------------
def test_pca_projection_matches_sklearn_up_to_sign(ax):
    from sklearn.decomposition import PCA

    X = _blobs(300, 3, d=5, seed=6) * np.array([1, 3, 0.5, 2, 1])
    tr = run_kmeans(X, 3, random_state=0)
    view = StepView(X, 3, ax=ax, projection="pca", voronoi=True)
    pca = PCA(2).fit(X)
    ref = pca.transform(X)
    signs = np.sign(np.sum(view.xy * ref, axis=0))
    assert set(signs) <= {-1.0, 1.0}
    np.testing.assert_allclose(view.xy, ref * signs, atol=1e-9)
    np.testing.assert_allclose(view.projection.explained_variance_ratio, pca.explained_variance_ratio_)
    step = tr[-1]
    view.draw(step)
    for j in range(3):
        np.testing.assert_allclose(_xy(view.center_lines[j]),
                                   pca.transform(step.centers[j:j + 1]) * signs, atol=1e-9)
    caption = " ".join(view.caption.text.get_text().split())
    assert "approximate" in caption and "5-D" in caption
    assert view.projection.labels[0].startswith("widest direction")  # no "PC1": PCA is not taught
    assert "PC" not in " ".join(view.projection.labels)


def test_features_by_index_and_by_name(ax):
    X = _blobs(100, 2, d=4, seed=7)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    by_name = StepView(df, 2, ax=ax, features=("d", "b"))
    np.testing.assert_array_equal(by_name.xy, X[:, [3, 1]])
    assert by_name.projection.labels == ("d", "b")
    by_index = StepView(X, 2, ax=ax, features=(2, 0))
    np.testing.assert_array_equal(by_index.xy, X[:, [2, 0]])
    tr = run_kmeans(df, 2, random_state=0)
    by_name.draw(tr[-1])
    np.testing.assert_array_equal(_xy(by_name.center_lines[1]), tr[-1].centers[1:2, [3, 1]])
    with pytest.raises(ValueError, match="Unknown feature 'z'"):
        StepView(df, 2, ax=ax, features=("a", "z"))
    with pytest.raises(ValueError, match="two different columns"):
        StepView(X, 2, ax=ax, features=(1, 1))
    with pytest.raises(ValueError, match="out of range"):
        StepView(X, 2, ax=ax, features=(0, 4))
    with pytest.raises(ValueError, match="projection must be"):
        StepView(X, 2, ax=ax, projection="tsne")


def test_projection_object_is_reusable():
    X = _blobs(50, 2, d=3)
    p = Projection(X, projection="pca")
    C = X[:2]
    np.testing.assert_allclose(p.transform(C), (C - X.mean(0)) @ p.components.T)
    assert p.approximate and "spread most" in p.description and "PCA" not in p.description


def test_draw_rejects_a_step_from_other_data(X, trace, ax):
    view = StepView(X[:100], 4, ax=ax)
    with pytest.raises(ValueError, match="view has 100"):
        view.draw(trace[-1])
    with pytest.raises(ValueError, match="built for 2"):
        StepView(X, 2, ax=ax).draw(trace[-1])
    with pytest.raises(TypeError, match="takes a Step"):
        view.draw("assign")


# --- SeedingView -------------------------------------------------------------------------
def test_seeding_view_shades_by_d2_probability(X, ax):
    tr = run_kmeans(X, 4, random_state=3)  # greedy k-means++ (2 + ln 4 = 3 candidates)
    view = SeedingView(X, ax=ax, n_clusters=4)
    for step in (s for s in tr if isinstance(s, SeedStep)):
        view.draw(step)
        np.testing.assert_array_equal(np.asarray(view.scatter.get_array()), step.probabilities)
        np.testing.assert_array_equal(_xy(view.pick_line), X[[step.chosen]])
        for j in range(4):
            line = view.center_lines[j]
            if j <= step.center_index:
                np.testing.assert_array_equal(_xy(line), step.centers[j:j + 1])
            else:
                assert len(line.get_xdata()) == 0
        if step.candidates is None:
            assert len(view.candidate_line.get_xdata()) == 0
            continue
        np.testing.assert_array_equal(_xy(view.candidate_line), X[step.candidates])
        shown = [a for a in view.candidate_labels if a.get_visible()]
        assert len(shown) == len(step.candidates)
        best = int(np.argmin(step.candidate_potentials))
        assert [a.get_fontweight() for a in shown].count("bold") == 1
        assert shown[best].get_fontweight() == "bold"
        np.testing.assert_array_equal(shown[best].xy, X[step.chosen])
        # Bigger probability → bigger marker.
        sizes = view.scatter.get_sizes()
        p = step.probabilities
        assert sizes[np.argmax(p)] == sizes.max() and sizes[np.argmin(p)] == sizes.min()
        # The dashed D(x) segment ends at the pick and at its nearest earlier centre.
        seg = _xy(view.reach_line)
        before = step.centers[:step.center_index]
        nearest = before[np.argmin(((before - X[step.chosen]) ** 2).sum(1))]
        np.testing.assert_array_equal(seg, np.vstack([X[step.chosen], nearest]))


@pytest.mark.parametrize("k", [1, 4, 8, 20])
def test_seeding_view_made_for_k_never_adds_an_artist_while_drawing(X, ax, k):
    # An app blits its steps: a new artist (the labels of greedy k-means++'s candidates,
    # say) would make it redraw the whole figure at the first pick that has candidates.
    view = SeedingView(X, ax=ax, n_clusters=k)
    before = [id(a) for a in view.artists]
    assert not any(a.get_visible() for a in view.candidate_labels)
    seen = 0
    for step in (s for s in run_kmeans(X, k, random_state=1) if isinstance(s, SeedStep)):
        assert [id(a) for a in view.draw(step)] == before
        seen = max(seen, 0 if step.candidates is None else len(step.candidates))
    assert len(view.candidate_labels) == 2 + int(np.log(k))  # greedy k-means++'s trials
    assert seen == (0 if k == 1 else len(view.candidate_labels))  # k = 1: one pick, no candidates


@pytest.mark.parametrize("seed", range(6))
def test_candidate_labels_stay_inside_the_axes(seed):
    # A label up and to the right of a candidate near the right edge ran over the legend
    # beside the axes (or over the title, near the top): it goes to the other side there.
    grid = np.array([(x, y) for x in np.linspace(0, 10, 21) for y in np.linspace(0, 10, 21)])
    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    try:
        view = SeedingView(grid, ax=ax, n_clusters=8)
        shown = 0
        for step in (s for s in run_kmeans(grid, 8, random_state=seed) if isinstance(s, SeedStep)):
            view.draw(step)
            fig.canvas.draw()
            box = ax.get_window_extent()
            for label in (a for a in view.candidate_labels if a.get_visible()):
                extent = label.get_window_extent()
                assert (box.x0 - 1 <= extent.x0 and extent.x1 <= box.x1 + 1
                        and box.y0 - 1 <= extent.y0 and extent.y1 <= box.y1 + 1), label.get_text()
                shown += 1
        assert shown > 0
    finally:
        plt.close(fig)


def _label_clashes(view, step, ax):
    """Pairs of visible candidate labels that overlap, and labels over a candidate's marker or
    outside the axes, as drawn."""
    ax.figure.canvas.draw()
    labels = [a for a in view.candidate_labels if a.get_visible()]
    boxes = [a.get_window_extent() for a in labels]
    marks = ax.transData.transform(view.xy[np.asarray(step.candidates)])
    inside = ax.get_window_extent()
    clashes = [(a.get_text(), b.get_text()) for i, (a, p) in enumerate(zip(labels, boxes))
               for b, q in zip(labels[i + 1:], boxes[i + 1:]) if p.overlaps(q)]
    clashes += [(a.get_text(), "marker") for a, p in zip(labels, boxes)
                for x, y in marks if p.x0 < x < p.x1 and p.y0 < y < p.y1]
    clashes += [(a.get_text(), "edge") for a, p in zip(labels, boxes)
                if not (inside.x0 - 1 <= p.x0 and p.x1 <= inside.x1 + 1
                        and inside.y0 - 1 <= p.y0 and p.y1 <= inside.y1 + 1)]
    return labels, clashes


@pytest.mark.parametrize("where", [(5, 5), (9.5, 5), (9.5, 9.5), (0.5, 0.5), (5, 9.5)])
def test_labels_of_candidates_close_together_cover_neither_each_other_nor_the_candidates(where):
    # Three candidates side by side (the second pick of lesson 4's stepper had "216 ✓" over
    # "235"): each label goes to a side where it covers nothing, inside the axes.
    grid = np.array([(x, y) for x in np.linspace(0, 10, 21) for y in np.linspace(0, 10, 21)])
    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    try:
        view = SeedingView(grid, ax=ax, n_clusters=8)
        step = next(s for s in run_kmeans(grid, 8, random_state=0) if isinstance(s, SeedStep) and s.candidates is not None)
        x, y = where
        near = [(x, y), (x - 0.5, y), (x, y - 0.5)]
        rows = [int(np.argmin(np.hypot(*(grid - p).T))) for p in near]
        step = dataclasses.replace(step, candidates=np.array(rows), candidate_potentials=np.array([235.1, 216.4, 270.3]))
        view.draw(step)
        labels, clashes = _label_clashes(view, step, ax)
        assert sorted(a.get_text() for a in labels) == ["216 ✓", "235", "270"]
        assert clashes == []
    finally:
        plt.close(fig)


def test_the_candidate_labels_of_mall_runs_never_clash():
    X = resolve_data("mall", scaled=True).X
    shown = 0
    for seed in range(10):
        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
        try:
            view = SeedingView(X, ax=ax, n_clusters=5)
            view.finalize()
            for step in (s for s in run_kmeans(X, 5, init="k-means++", random_state=seed)
                         if isinstance(s, SeedStep) and s.candidates is not None):
                view.draw(step)
                labels, clashes = _label_clashes(view, step, ax)
                assert clashes == [], (seed, step.center_index)
                shown += len(labels)
        finally:
            plt.close(fig)
    assert shown == 10 * 4 * 3  # four picks with three candidates each, in every run


def test_seeding_view_farthest_and_random(X, ax):
    far = run_kmeans(X, 3, init="farthest", random_state=0)
    view = SeedingView(X, ax=ax)
    seeds = [s for s in far if isinstance(s, SeedStep)]
    view.draw(seeds[0])
    assert np.all(np.asarray(view.scatter.get_array()) == 0)
    for step in seeds[1:]:
        view.draw(step)
        shade = np.asarray(view.scatter.get_array())
        np.testing.assert_allclose(shade, np.sqrt(step.closest_dist_sq))
        assert step.chosen == int(np.argmax(shade))  # the farthest point is the pick
        np.testing.assert_array_equal(_xy(view.pick_line), X[[step.chosen]])
    rnd = run_kmeans(X, 3, init="random", random_state=0)
    for step in (s for s in rnd if isinstance(s, SeedStep)):
        view.draw(step)
        assert np.ptp(np.asarray(view.scatter.get_array())) == 0  # uniform
        assert np.ptp(view.scatter.get_sizes()) == 0
        np.testing.assert_array_equal(_xy(view.pick_line), X[[step.chosen]])


def test_seeding_view_subsamples_large_data(ax):
    X = _blobs(500, 2, seed=8)
    tr = run_kmeans(X, 2, random_state=0)
    view = SeedingView(X, ax=ax, max_points=100)
    assert view.rows.shape == (100,) and np.all(np.diff(view.rows) > 0)
    view.draw(tr[1])
    np.testing.assert_array_equal(np.asarray(view.scatter.get_array()), tr[1].probabilities[view.rows])


# --- InertiaView --------------------------------------------------------------------------
def test_inertia_staircase_and_cursor(trace, ax):
    view = InertiaView(trace, ax=ax)
    with_inertia = [s for s in trace if s.inertia is not None]
    np.testing.assert_array_equal(view.staircase.get_xdata(), [s.index for s in with_inertia])
    np.testing.assert_array_equal(view.staircase.get_ydata(), [s.inertia for s in with_inertia])
    assert view.staircase.get_drawstyle() == "steps-post"
    assigns = [s for s in trace if isinstance(s, AssignStep)]
    np.testing.assert_array_equal(view.markers["assign"].get_xdata(), [s.index for s in assigns])
    np.testing.assert_array_equal(view.markers["assign"].get_ydata(), [s.inertia for s in assigns])
    updates = [s for s in trace if isinstance(s, UpdateStep)]
    np.testing.assert_array_equal(view.markers["update"].get_ydata(), [s.inertia for s in updates])
    assert view.markers["assign"].get_marker() != view.markers["update"].get_marker()
    assert view.rises.size == 0  # inertia never rises
    for step in trace:
        view.draw(step)
        assert list(view.cursor.get_xdata()) == [step.index, step.index]
        if step.inertia is None:
            assert len(view.current.get_xdata()) == 0
        else:
            assert _xy(view.current).tolist() == [[step.index, step.inertia]]
    view.finalize()
    assert ax.get_title() == "Inertia never rises"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "after assign" in labels and "after update" in labels


def test_inertia_view_log_scale_and_rise_detection(trace, ax):
    InertiaView(list(trace), ax=ax, log=True)
    assert ax.get_yscale() == "log"
    # A doctored step list with a rise is flagged, loudly.
    steps = [s for s in trace if s.inertia is not None][:3]
    fake = AssignStep(index=steps[-1].index + 1, iteration=9, centers=steps[-1].centers,
                      labels=steps[-1].labels, inertia=steps[0].inertia * 2,
                      changed=np.empty(0, dtype=np.intp), previous_inertia=steps[-1].inertia)
    fig, ax2 = plt.subplots()
    view = InertiaView(steps + [fake], ax=ax2).finalize()
    assert view.rises.tolist() == [fake.index]
    assert "ROSE" in ax2.get_title()
    plt.close(fig)


# --- palette --------------------------------------------------------------------------------
def test_palette_styles_are_distinct_and_greyscale_safe():
    styles = [cluster_style(j) for j in range(10)]
    assert len({c for c, _ in styles}) == 10 and [m for _, m in styles] == list(CLUSTER_MARKERS)
    assert len({cluster_style(j) for j in range(100)}) == 100
    greys = [lightness(c) for c in GREYSCALE_COLORS]
    assert all(abs(a - b) >= 10 for a, b in zip(greys, greys[1:]))  # neighbours differ in L*
    assert min(abs(a - b) for i, a in enumerate(greys) for b in greys[i + 1:]) >= 4
    assert abs(lightness(to_greyscale("#E69F00")) - lightness("#E69F00")) < 1.0
    assert cluster_style(3, greyscale=True)[1] == cluster_style(3)[1]
    with pytest.raises(ValueError):
        cluster_style(-1)


def test_palette_import_leaves_pyplot_alone():
    code = ("import sys, kmeans_tutor.views.palette as p; p.cluster_style(0); p.probability_cmap(); "
            "assert 'matplotlib.pyplot' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_greyscale_views_use_greys(X, trace, ax):
    view = StepView(X, 4, ax=ax, greyscale=True)
    view.draw(trace[-1])
    for j, line in enumerate(view.point_lines):
        assert to_hex(line.get_markerfacecolor()) == GREYSCALE_COLORS[j]


# --- smoke: every public view renders -----------------------------------------------------
@pytest.mark.parametrize("kwargs", [dict(), dict(voronoi=True), dict(density_threshold=10),
                                    dict(voronoi=True, greyscale=True, legend="inside")])
def test_smoke_render_step_and_inertia_views(X, trace, kwargs):
    legend = kwargs.pop("legend", "right")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(6, 3), dpi=40)
    view = StepView(X, 4, ax=a1, **kwargs).finalize("title", legend=legend)
    curve = InertiaView(trace, ax=a2).finalize()
    for step in trace:
        assert view.draw(step) and curve.draw(step)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        assert buf.getvalue()[:4] == b"\x89PNG"
    assert view.figure is fig and curve.figure is fig
    plt.close(fig)


def test_smoke_render_seeding_view_all_methods(X):
    fig, ax = plt.subplots(figsize=(3, 3), dpi=40)
    view = SeedingView(X, ax=ax).finalize()
    for init in ("k-means++", "farthest", "random", np.array([[0, 0], [1, 1.0]])):
        tr = run_kmeans(X, 2, init=init, random_state=0)
        for step in tr:  # every kind of step, not only seeding ones
            view.draw(step)
            fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


def test_default_axes_is_current_axes(X, trace):
    fig = plt.figure(figsize=(3, 3), dpi=40)
    try:
        view = StepView(X, 4)
        assert view.ax is plt.gca()
        seeding = SeedingView(X)
        inertia = InertiaView(trace)
        assert seeding.ax is inertia.ax is plt.gca()
        view.draw(trace[0])
        assert isinstance(trace[-1], ConvergedStep)
    finally:
        plt.close(fig)
