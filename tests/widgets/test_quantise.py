"""Lesson 9's app, driven from Python: a photo in k colours and the run in colour space."""

from __future__ import annotations

import datetime
import html
import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("ipympl")
pytestmark = pytest.mark.usefixtures("restore_backend")

from kmeans_tutor.core.kernels import nearest_centers
from kmeans_tutor.core.steps import AssignStep, ConvergedStep, SeedStep, UpdateStep
from kmeans_tutor.data.errors import DataError
from kmeans_tutor.data.images import load_sample_photo
from kmeans_tutor.views.colours import PLANES
from kmeans_tutor.widgets.quantise import K_RANGE, PHOTO_NAME, QuantiseApp, QuantiseModel


def _value(content: bytes, name="mine.png"):
    """A FileUpload value as ipywidgets 8 sets it after a browser upload."""
    return ({"name": name, "type": "image/png", "size": len(content), "content": memoryview(content),
             "last_modified": datetime.datetime(2024, 6, 1, tzinfo=datetime.timezone.utc)},)


def _png(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8), "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _stripes(n_colours=6, size=(60, 90)) -> np.ndarray:
    """A picture of n vertical stripes, each a different colour."""
    rng = np.random.default_rng(5)
    colours = rng.integers(0, 256, (n_colours, 3))
    cols = np.arange(size[1]) * n_colours // size[1]
    return np.broadcast_to(colours[cols][None, :, :], (*size, 3)).astype(np.uint8).copy()


@pytest.fixture(scope="module")
def app():
    return QuantiseApp(k=8)


# --------------------------------------------------------------------------- the model


@pytest.mark.parametrize("k", [2, 7, 16, 32])
def test_picture_has_at_most_k_colours_each_pixel_its_nearest_final_centre(k):
    m = QuantiseModel(k=k)
    q = m.result
    assert q.k == k and q.image.shape == m.picture.shape
    assert len(np.unique(q.image.reshape(-1, 3), axis=0)) <= k
    final = m.result.trace.final.centers
    labels = nearest_centers(m.picture.reshape(-1, 3).astype(np.float64), np.asarray(final))
    np.testing.assert_array_equal(q.image.reshape(-1, 3), np.rint(final).astype(np.uint8)[labels])


@pytest.mark.parametrize("k", [1, 33, 0, -4, 100])
def test_k_outside_2_to_32_is_explained_and_clears_the_result(k):
    m = QuantiseModel(k=4)
    m.k = k
    assert m.result is None and m.message_level == "error"
    assert "from 2 to 32" in m.message
    m.k = 5
    assert m.result.k == 5 and m.message == ""


def test_the_slider_offers_2_to_32(app):
    assert (app._k.min, app._k.max) == K_RANGE == (2, 32)


def test_seeding_choice_is_used_and_the_stepper_restarts():
    m = QuantiseModel(k=6, init="random")
    assert isinstance(m.current, SeedStep) and m.current.method == "random"
    m.to_end()
    assert m.index > 0
    m.init = "k-means++"
    assert m.index == 0 and m.result.trace[0].method == "k-means++"
    assert all(s.method == "k-means++" for s in m.result.trace if isinstance(s, SeedStep))


def test_steps_walk_through_the_typed_steps_of_the_run():
    m = QuantiseModel(k=4)
    trace = m.result.trace
    phases = [type(m.current)]
    while m.step():
        phases.append(type(m.current))
    assert phases[:4] == [SeedStep] * 4 and phases[4] is AssignStep and phases[5] is UpdateStep
    assert phases[-1] is ConvergedStep and len(phases) == len(trace)
    assert not m.step() and m.at_end
    m.back()
    assert m.index == len(trace) - 2
    m.reset()
    assert m.index == 0 and not m.back()
    m.goto(10_000)
    assert m.index == len(trace) - 1


def test_a_malformed_picture_from_code_is_explained_not_raised():
    m = QuantiseModel(k=4)
    m.picture = np.zeros((5, 5))
    assert m.result is None and m.message_level == "error" and "(height, width, 3)" in m.message


def test_a_picture_with_fewer_colours_than_k_is_refused_and_the_photo_stays():
    m = QuantiseModel(k=8)
    before = m.picture
    with pytest.raises(DataError, match="only 6 different colours, fewer than k = 8"):
        m.use_upload(_png(_stripes(6)), "six.png")
    assert m.picture is before and m.result.k == 8
    m.k = 6
    m.use_upload(_png(_stripes(6)), "six.png")
    assert m.picture_name == "six.png" and m.result.k == 6
    # Six stripes, six colours: K-means finds them exactly.
    assert len(np.unique(m.result.image.reshape(-1, 3), axis=0)) == 6
    np.testing.assert_array_equal(m.result.image, m.picture)


# --------------------------------------------------------------------------- the app


def test_app_shows_both_pictures_the_palette_and_the_inertia(app):
    m = app.model
    original, quantised, _ = app.pictures.axes
    np.testing.assert_array_equal(app.pictures.original.get_array(), m.picture)
    np.testing.assert_array_equal(app.pictures.quantised.get_array(), m.result.image)
    shown = [b for b in app.pictures.bars if b.get_visible()]
    assert len(shown) == m.k
    heights = [b.get_height() for b in shown]
    assert heights == sorted(heights, reverse=True) and sum(heights) == pytest.approx(100.0)
    assert "In 8 colours" in quantised.get_title() and "480 × 320" in original.get_title()
    assert "Inertia of the run" in app.readout and "levels²" in app.readout
    assert "levels</b> from its new colour" in app.readout
    assert "in 8 colours" in app.figure_text


def test_moving_k_redraws_the_picture(app):
    app._k.value = 12
    m = app.model
    assert m.k == 12 and m.result.k == 12
    np.testing.assert_array_equal(app.pictures.quantised.get_array(), m.result.image)
    assert sum(b.get_visible() for b in app.pictures.bars) == 12
    assert "In 12 colours" in app.pictures.axes[1].get_title()
    app._init.value = "random"
    assert m.init == "random" and m.result.trace[0].method == "random"
    app._init.value = "k-means++"
    app._k.value = 8


def test_colour_space_shows_the_sample_in_its_own_colours_and_the_steps_centres(app):
    m = app.model
    sample = m.result.sample
    for pts, (cx, cy) in zip(app.space.points, PLANES):
        np.testing.assert_array_equal(pts.get_offsets(), sample[:, [cx, cy]])
        np.testing.assert_allclose(pts.get_facecolors()[:, :3], sample / 255.0)
    m.reset()
    assert len(app.space.centres[0].get_offsets()) == 1  # one centre picked so far
    m.goto(m.k + 1)                                      # the first update step
    step = m.current
    assert isinstance(step, UpdateStep)
    for swatch, path, (cx, cy) in zip(app.space.centres, app.space.paths, PLANES):
        np.testing.assert_allclose(swatch.get_offsets(), step.centers[:, [cx, cy]])
        np.testing.assert_allclose(swatch.get_facecolors()[:, :3], step.centers / 255.0)
        assert len(path.get_segments()) == m.k            # where each centre came from
    assert "update" in app.caption.lower()
    # Painted by centre: each point takes its centre's colour.
    app._paint.value = "centre"
    faces = app.space.points[0].get_facecolors()[:, :3]
    np.testing.assert_allclose(faces, np.rint(step.centers)[step.labels] / 255.0)
    assert "its centre's colour" in app.space_text
    app._paint.value = "own"
    m.reset()


def test_transport_buttons_move_the_step(app):
    m = app.model
    m.reset()
    app.transport.step.click()
    assert m.index == 1
    app.transport.end.click()
    assert m.at_end and isinstance(m.current, ConvergedStep)
    assert app.transport.step.disabled and not app.transport.back.disabled
    app.transport.reset.click()
    assert m.index == 0


def test_uploading_a_png_shows_it(app):
    m = app.model
    picture = np.random.default_rng(2).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    app.upload.value = _value(_png(picture), "noise.png")
    np.testing.assert_array_equal(m.picture, picture)
    assert m.picture_name == "noise.png" and m.result.k == m.k
    np.testing.assert_array_equal(app.pictures.original.get_array(), picture)
    assert "Showing noise.png" in app.upload_status
    assert app.upload.value == ()  # the bytes are not kept
    app._photo.click()
    assert m.picture_name == PHOTO_NAME
    np.testing.assert_array_equal(m.picture, load_sample_photo())


@pytest.mark.parametrize("content, words", [
    (b"x,y\n1,2\n", "not an image we can read"),
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 30, "not an image we can read"),
])
def test_a_bad_upload_shows_the_message_and_keeps_the_picture(app, content, words):
    m = app.model
    before, result, revision = m.picture, m.result, m.revision
    app.upload.value = _value(content, "<b>notes</b>.txt")
    assert m.picture is before and m.result is result and m.revision == revision
    status = app.upload_status
    assert words in status and "picture on screen is unchanged" in status
    assert html.escape("<b>notes</b>.txt") in status and "<b>notes</b>" not in status
    assert "Traceback" not in status and app.upload.value == ()


def test_upload_of_two_files_is_refused(app):
    m = app.model
    before = m.picture
    app.upload.value = _value(_png(_stripes()), "a.png") + _value(_png(_stripes()), "b.png")
    assert m.picture is before and "one picture at a time" in app.upload_status


def test_text_alternatives_follow_the_screen(app):
    m = app.model
    m.to_end()
    assert f"Step {m.index}" in app.space_text and "Converged" in app.space_text
    assert "beside the same picture in" in app.figure_text
    m.reset()


# --------------------------------------------------------------------------- lesson 9's prose


def test_lesson_9_numbers():
    """The numbers lesson 9 states in words hold for the app's defaults (seed 0)."""
    from kmeans_tutor.core.lloyd import run_kmeans
    from kmeans_tutor.data.images import paint, quantise

    photo = load_sample_photo()
    assert photo.shape[0] * photo.shape[1] == 153_600
    assert len(np.unique(photo.reshape(-1, 3), axis=0)) == 43_681
    # "k = 2: a dark teal (76 % of the pixels) and an orange (24 %)"
    two = quantise(photo, 2)
    assert sorted(np.round(two.shares * 100).astype(int).tolist()) == [24, 76]
    # "neither of the two is exactly the colour of a single pixel of the photo"
    pixels = photo.reshape(-1, 3)
    assert not any((pixels == colour).all(axis=1).any() for colour in two.palette)
    dark = two.palette[np.argmax(two.shares)]
    assert dark.sum() < 150 and dark[1] > dark[0]
    # "At k = 16 ... most of the tallest bars are dark": five of the six largest colours.
    q16, r16 = quantise(photo, 16), quantise(photo, 16, init="random")
    top = q16.palette[np.argsort(-q16.shares)[:6]].astype(int)
    assert (top.sum(axis=1) < 250).sum() == 5
    # "about 1.3 million against 0.85 million levels²", "half as high again"
    assert round(r16.trace.final.inertia / 1e6, 1) == 1.3 and round(q16.trace.final.inertia / 1e6, 2) == 0.85
    assert 1.4 < r16.trace.final.inertia / q16.trace.final.inertia < 1.6
    # "15 of the 16 here are dark background pixels; k-means++ starts only 7 of its 16 there"
    assert (r16.trace[15].centers.sum(axis=1) < 250).sum() == 15
    assert (q16.trace[15].centers.sum(axis=1) < 250).sum() == 7
    # "a pixel ends on average 14.7 levels from its new colour, against 14.9 with the sample"
    full = run_kmeans(photo.reshape(-1, 3).astype(np.float64), 16, random_state=0)
    _, painted = paint(photo, full.final.centers)
    rms_full = np.sqrt(((painted.astype(float) - photo) ** 2).sum(axis=2).mean())
    assert (round(rms_full, 1), round(q16.rms_error, 1)) == (14.7, 14.9)
    # "When does the flower get its red centre back?": a red appears at k = 4, not at k = 3.
    def reds(q):
        return [(int(r), int(g)) for r, g, _ in q.palette if r > 150 and g < 90]
    assert not reds(quantise(photo, 3)) and reds(quantise(photo, 4))
