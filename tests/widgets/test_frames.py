"""The frames an app figure sends: the fast encoder gives the same pictures as matplotlib's."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from kmeans_tutor.widgets import figure as figure_module
from kmeans_tutor.widgets.figure import FRAME_GAP, app_figure, png_bytes
from kmeans_tutor.widgets.stepper import StepperApp


def decode(data: bytes) -> np.ndarray:
    image = Image.open(BytesIO(data))
    assert image.mode == "RGBA"
    return np.asarray(image)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (57, 131)])
def test_png_bytes_round_trips_any_picture(shape):
    rng = np.random.default_rng(sum(shape))
    rgba = rng.integers(0, 256, (*shape, 4), dtype=np.uint8)
    assert np.array_equal(decode(png_bytes(rgba)), rgba)


def test_png_bytes_refuses_what_is_not_rgba():
    with pytest.raises(ValueError, match=r"\(h, w, 4\)"):
        png_bytes(np.zeros((4, 4, 3), np.uint8))


def frames(app) -> list[tuple[str, np.ndarray]]:
    """Every frame the app's canvas sends from now on, as (mode, pixels)."""
    canvas = app.fig.canvas
    sent = []

    def send(data):
        sent.append((canvas._current_image_mode, decode(data)))

    canvas.send_binary = send
    canvas.syncing_data_url = False  # as once the page's canvas is ready
    return sent


class Clock:
    """time.monotonic for the figure module, moved by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(figure_module.time, "monotonic", clock)
    return clock


def test_steps_are_sent_as_diffs_that_paint_the_true_picture(clock):
    app = StepperApp(dataset="blobs", k=3, init="random", seed=0)
    sent = frames(app)
    canvas = app.fig.canvas
    canvas.draw()  # a full draw is sent at once
    mode, screen = sent[-1]
    assert mode == "full"
    screen = screen.copy()
    for _ in range(4):
        clock.now += 1.0  # a learner looking at each step
        app.model.step()
        mode, pixels = sent[-1]
        assert mode == "diff"
        changed = pixels[..., 3] != 0  # a diff frame is transparent where nothing changed
        assert changed.any() and not changed.all()
        screen[changed] = pixels[changed]
        truth = np.asarray(canvas.get_renderer().buffer_rgba())
        assert np.array_equal(screen, truth)  # the page shows exactly what the kernel drew


def test_a_resized_figure_is_sent_whole():
    fig = app_figure((4, 3))
    fig.add_subplot().plot([0, 1], [1, 0])
    sent = frames(type("App", (), {"fig": fig}))
    canvas = fig.canvas
    canvas.draw()
    fig.set_size_inches(5, 3)
    canvas.draw()
    mode, pixels = sent[-1]
    assert mode == "full"
    assert pixels.shape[:2] == np.asarray(canvas.get_renderer().buffer_rgba()).shape[:2] == (round(3 * fig.dpi), round(5 * fig.dpi))


def test_frames_in_quick_succession_are_sent_whole(clock):
    """The page drops a frame that is still loading when the next one arrives: a lost diff
    would leave a picture of no step at all, a lost whole frame costs nothing."""
    app = StepperApp(dataset="blobs", k=3, init="random", seed=0)
    sent = frames(app)
    app.fig.canvas.draw()
    modes = []
    for gap in (1.0, FRAME_GAP / 3, FRAME_GAP / 3, 1.0, FRAME_GAP * 1.01):
        clock.now += gap
        app.model.step()
        modes.append(sent[-1][0])
    assert modes == ["diff", "full", "full", "diff", "diff"]
    screen = sent[-1][1]
    assert screen.shape[:2] == np.asarray(app.fig.canvas.get_renderer().buffer_rgba()).shape[:2]


def test_the_same_whole_picture_is_sent_again_without_encoding_it_again(clock, monkeypatch):
    """After each resize message the page asks for the whole picture again: the last PNG is
    sent if nothing changed, and a new one as soon as anything did (a step, even after a
    diff frame)."""
    app = StepperApp(dataset="blobs", k=3, init="random", seed=0)
    sent = frames(app)
    canvas = app.fig.canvas
    encoded = []
    monkeypatch.setattr(figure_module, "png_bytes", lambda rgba, level=1: encoded.append(1) or png_bytes(rgba, level))

    def whole_again():
        canvas._force_full = True  # the page's "refresh"
        canvas._png_is_old = True
        canvas.manager.refresh_all()
        return sent[-1]

    canvas.draw()
    assert len(encoded) == 1 and sent[-1][0] == "full"
    for _ in range(2):
        mode, pixels = whole_again()
        assert mode == "full" and len(encoded) == 1  # the same bytes, not encoded again
        assert np.array_equal(pixels, np.asarray(canvas.get_renderer().buffer_rgba()))
    clock.now += 1.0
    app.model.step()  # a diff frame: the page's picture is no longer the kept PNG
    assert sent[-1][0] == "diff" and len(encoded) == 2
    mode, pixels = whole_again()
    assert mode == "full" and len(encoded) == 3
    assert np.array_equal(pixels, np.asarray(canvas.get_renderer().buffer_rgba()))
    whole_again()
    assert len(encoded) == 3
