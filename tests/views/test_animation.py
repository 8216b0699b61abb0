"""Animations: one frame per step, every export format, clear errors."""

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402
from PIL import Image, ImageSequence  # noqa: E402

from kmeans_tutor import kmeans_steps, run_kmeans  # noqa: E402
from kmeans_tutor.views.animation import SUPPORTED_FORMATS, StepAnimation, animate, save_animation  # noqa: E402
from kmeans_tutor.core.steps import SeedStep  # noqa: E402

SMALL = dict(figsize=(4, 2), dpi=40)  # tiny frames keep the exports fast


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    means = np.array([[0.0, 0.0], [6.0, 1.0], [2.0, 7.0]])
    return means[rng.integers(3, size=90)] + 1.8 * rng.normal(size=(90, 2))


@pytest.fixture(scope="module")
def trace(X):
    tr = run_kmeans(X, 3, random_state=4)
    assert len(tr) >= 8
    return tr


def _xy(line):
    return np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])


def test_animate_returns_a_funcanimation_with_one_frame_per_step(X, trace):
    before = plt.get_fignums()
    anim = animate(trace, X, fps=5, **SMALL)
    assert isinstance(anim, FuncAnimation) and isinstance(anim, StepAnimation)
    assert anim._save_count == len(trace) == len(anim.steps)
    assert anim.fps == 5 and anim.dpi == 40
    assert plt.get_fignums() == before  # not a pyplot figure: nothing left open
    assert anim.inertia_view is not None and anim.picture.seeding is not None


def test_each_frame_draws_its_step(X, trace):
    anim = animate(trace, X, voronoi=True, **SMALL)
    for i, step in enumerate(trace):
        anim.draw_step(i)
        assert list(anim.inertia_view.cursor.get_xdata()) == [step.index] * 2
        # Shaded: the k-means++ picks after the first (the first is uniform, drawn plain).
        seeding = isinstance(step, SeedStep) and step.center_index > 0
        assert anim.picture.seeding.scatter.get_visible() == seeding
        assert all(line.get_visible() != seeding for line in anim.picture.view.point_lines)
        if seeding:
            np.testing.assert_array_equal(np.asarray(anim.picture.seeding.scatter.get_array()),
                                          step.probabilities)
        elif step.labels is not None:
            for j, line in enumerate(anim.picture.view.point_lines):
                assert len(line.get_xdata()) == int(np.sum(step.labels == j))
        m = step.n_clusters
        np.testing.assert_array_equal(_xy(anim.picture.view.center_lines[m - 1]), step.centers[m - 1:m])
        assert " ".join(anim.caption.get_text().split()) == " ".join(step.describe().split())


def test_animate_takes_a_run_or_a_list_of_steps(X):
    anim = animate(kmeans_steps(X, 3, random_state=0), **SMALL)  # the run brings its X
    assert anim.steps[-1].phase == "converged"
    steps = list(run_kmeans(X, 3, random_state=0))
    assert len(animate(steps, X, inertia=False, seeding="plain", **SMALL).steps) == len(steps)


def test_animate_needs_x_for_a_trace(trace):
    with pytest.raises(ValueError, match=r"needs the data X.*animate\(trace, X\)"):
        animate(trace)
    with pytest.raises(ValueError, match="seeding must be"):
        animate(trace, np.zeros((90, 2)), seeding="fancy")


def test_hand_placed_centres_outside_the_data_stay_in_view(X):
    init = np.array([[0.0, 0.0], [6.0, 1.0], [40.0, -30.0]])
    tr = run_kmeans(X, 3, init=init)
    anim = animate(tr, X, **SMALL)
    (x0, x1), (y0, y1) = anim.picture.limits
    assert x0 < 40 < x1 and y0 < -30 < y1


def test_gif_has_exactly_one_frame_per_step(X, trace, tmp_path):
    path = save_animation(animate(trace, X, **SMALL), tmp_path / "run.gif", progress=False)
    with Image.open(path) as im:
        frames = sum(1 for _ in ImageSequence.Iterator(im))
        assert im.info["duration"] == 250  # 4 fps
    assert frames == len(trace)


def test_mp4_export(X, trace, tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    path = save_animation(animate(trace, X, **SMALL), tmp_path / "run.mp4", fps=10, progress=False)
    n_frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert n_frames == len(trace)
    assert seconds == pytest.approx(len(trace) / 10, abs=0.15)


def test_html_export_is_self_contained(X, trace, tmp_path):
    path = save_animation(animate(trace, X, **SMALL), tmp_path / "run.html", progress=False)
    html = path.read_text()
    assert html.count("data:image/png;base64,") == len(trace)
    assert "<script" in html and 'src="http' not in html


def test_save_straight_from_a_trace_with_progress_bar(X, trace, tmp_path, capsys):
    save_animation(trace, tmp_path / "direct.gif", X=X, progress=True, **SMALL)
    assert "Saving direct.gif" in capsys.readouterr().err
    with Image.open(tmp_path / "direct.gif") as im:
        assert im.size == (160, 80)


def test_bad_suffix_lists_the_supported_formats(X, trace, tmp_path):
    anim = animate(trace, X, **SMALL)
    with pytest.raises(ValueError) as err:
        save_animation(anim, tmp_path / "run.avi")
    for suffix in SUPPORTED_FORMATS:
        assert suffix in str(err.value)
    with pytest.raises(ValueError, match="without suffix"):
        save_animation(anim, tmp_path / "run")
    with pytest.raises(TypeError, match="only when saving a run"):
        save_animation(anim, tmp_path / "run.gif", X=X)


def test_mp4_without_imageio_ffmpeg_says_how_to_install(X, trace, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # makes the import fail
    with pytest.raises(ImportError, match=r'pip install "kmeans-tutor\[mp4\]"'):
        save_animation(trace, tmp_path / "run.mp4", X=X, **SMALL)
    assert not (tmp_path / "run.mp4").exists()
