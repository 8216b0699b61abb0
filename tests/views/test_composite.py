"""The one picture of a step: the apps and the animation export draw it the same way."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from kmeans_tutor import SeedStep, load_dataset, run_kmeans  # noqa: E402
from kmeans_tutor.views import StepPicture, animate  # noqa: E402
from kmeans_tutor.views.composite import SEEDING_HINTS, shades  # noqa: E402


@pytest.fixture(scope="module")
def X():
    return load_dataset("blobs", n_samples=120).X


def _state(picture):
    """What the picture shows, as data: visible points per cluster, centres, shading, title."""
    view = picture.view
    return (
        [np.column_stack([l.get_xdata(), l.get_ydata()]).tolist() for l in view.point_lines
         if l.get_visible()],
        [np.column_stack([l.get_xdata(), l.get_ydata()]).tolist() for l in view.center_lines],
        picture.seeding.scatter.get_visible(),
        np.asarray(picture.seeding.scatter.get_array()).tolist() if picture.shaded else None,
        picture.ax.get_title(),
        picture.sentence,
    )


@pytest.mark.parametrize("init", ["k-means++", "farthest", "random"])
def test_a_gif_frame_and_the_app_draw_the_same_picture(X, init):
    trace = run_kmeans(X, 4, init=init, random_state=3)
    anim = animate(trace, X, title="")
    picture = StepPicture(X, 4, ax=Figure().subplots(), limits=anim.picture.limits)
    for i, step in enumerate(trace):
        anim.draw_step(i)
        picture.draw(step)
        assert _state(anim.picture) == _state(picture), (i, step.phase)


def test_only_picks_after_the_first_are_shaded(X):
    trace = run_kmeans(X, 3, init="k-means++", random_state=0)
    picture = StepPicture(X, 3, ax=Figure().subplots(), title="blobs")
    for step in trace:
        picture.draw(step)
        expected = isinstance(step, SeedStep) and step.center_index > 0
        assert picture.shaded == shades(step) == expected
        assert picture.ax.get_title() == (SEEDING_HINTS["k-means++"] if expected else "blobs")
        assert all(l.get_visible() != expected for l in picture.view.point_lines)
