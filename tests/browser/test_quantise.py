"""Lesson 9 served by ``kmeans-tutor serve`` and used in headless Chromium.

One server on ``lessons/`` and one page for the module (each page load costs a kernel):
the lesson renders without error with both of its pictures; uploading a PNG through the
FileUpload's file input (the dialog its button opens) shows it; uploading a text file shows the one-line
message and leaves the picture as it was; a quiz answer gets feedback.
"""

from __future__ import annotations

import io
import re
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from tests.browser.waiting import wait_until as _wait_until
from tests.browser.waiting import wait_until_steady

pytestmark = pytest.mark.browser

LESSONS_DIR = Path(__file__).resolve().parents[2] / "lessons"
LESSON = "09_colour_quantisation.ipynb"
MPL_CANVAS = ".jupyter-matplotlib-figure canvas"
# An ipympl figure stacks two canvases: its picture, then a transparent one on top for the
# zoom rectangle. Counting figures means counting pictures.
MPL_PICTURE = ".jupyter-matplotlib-figure canvas:first-of-type"
ERROR_OUTPUT = '[data-mime-type="application/vnd.jupyter.stderr"]'
CHANGE_TIMEOUT = 30.0

wait_until = partial(_wait_until, timeout=CHANGE_TIMEOUT, interval=0.25)


@pytest.fixture(scope="module")
def lesson_page(browser, start_server, open_lesson, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("quantise-server") / "server.log"
    with start_server(LESSONS_DIR, log_path) as server:
        context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        page = context.new_page()
        open_lesson(page, LESSON)
        yield page
        context.close()


def pixels(locator) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(locator.screenshot(animations="disabled"))) as im:
        return im.convert("RGB").tobytes()


def steady_pixels(locator) -> bytes:
    """The element's pixels once two screenshots in a row agree (no frame in flight)."""
    return wait_until_steady(lambda: pixels(locator), "the picture to settle", gap=0.4)


def png_bytes() -> bytes:
    """A 60 × 90 picture of smooth colour gradients (thousands of colours)."""
    from PIL import Image

    y, x = np.mgrid[0:60, 0:90]
    gradient = np.stack([x * 255 // 89, y * 255 // 59, 255 - x * 255 // 89], axis=2).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(gradient, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def upload(page, name: str, mime: str, data: bytes):
    """Choose a file with the "Your picture" button, as a learner does.

    ipywidgets' FileUpload keeps its ``input[type=file]`` out of the page (it is never
    attached to the document) and clicks it when the button is clicked: the file dialog
    that opens is that input's, and Playwright sets its files.
    """
    with page.expect_file_chooser() as chooser:
        page.locator(".widget-upload.kt-image-upload").first.click()
    assert chooser.value.element.get_attribute("type") == "file"
    chooser.value.set_files(files=[{"name": name, "mimeType": mime, "buffer": data}])


def status(page):
    return page.locator(".widget-html", has_text=re.compile("Try a photo|Showing|Could not use")).first


def test_lesson_9_renders_with_its_pictures(lesson_page):
    page = lesson_page
    assert page.locator(".voila-error").count() == 0
    assert page.locator(ERROR_OUTPUT).count() == 0
    canvases = page.locator(MPL_PICTURE)
    wait_until(lambda: canvases.count() >= 2, "the two figures of the app")
    for i in range(2):
        box = wait_until(lambda: (b := canvases.nth(i).bounding_box()) and b["width"] > 300 and b,
                         f"figure {i} to be laid out")
        assert box["height"] > 150
        wait_until(lambda: len(set(pixels(canvases.nth(i))[::3 * 97])) > 20, f"figure {i} to be drawn")
    text = page.locator("body").inner_text()
    assert "Inertia of the run" in text and "levels²" in text
    assert re.search(r"step\s+0 / \d+", text)
    assert "Try a photo of your own" in status(page).inner_text()


def test_uploading_a_png_shows_it(lesson_page):
    page = lesson_page
    canvas = page.locator(MPL_CANVAS).first
    canvas.scroll_into_view_if_needed()
    before = steady_pixels(canvas)
    upload(page, "gradient.png", "image/png", png_bytes())
    wait_until(lambda: "Showing gradient.png" in status(page).inner_text(), "the upload to be accepted")
    wait_until(lambda: pixels(canvas) != before, "the picture to show the uploaded file")
    assert page.locator(".voila-error").count() == 0


def test_uploading_a_text_file_shows_the_message_and_keeps_the_picture(lesson_page):
    page = lesson_page
    canvas = page.locator(MPL_CANVAS).first
    before = steady_pixels(canvas)
    upload(page, "notes.txt", "text/plain", b"not a picture\n")
    wait_until(lambda: "Could not use notes.txt" in status(page).inner_text(), "the refusal")
    message = status(page).inner_text()
    assert "This file is not an image we can read (PNG, JPEG, GIF, BMP, WebP)." in message
    assert "The picture on screen is unchanged" in message and "Traceback" not in message
    assert steady_pixels(canvas) == before


def test_a_quiz_answer_gets_feedback(lesson_page):
    page = lesson_page
    card = page.locator(".widget-radio-box").first.locator("xpath=../..")
    card.scroll_into_view_if_needed()
    card.locator(".widget-radio-box input[type=radio]").first.check()
    wait_until(lambda: re.search(r"Correct|Not quite", card.inner_text()), "quiz feedback")
