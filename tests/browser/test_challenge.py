"""Lesson 5's "beat k-means++" challenge in a real Chromium: clicks on its picture place the
centres, Run shows where the run stands among the restarts, and a new try keeps the best.

One server on the real ``lessons/`` folder and one page of lesson 5 for the module, at
1280×720. The tests run in file order on that page.
"""

from __future__ import annotations

from functools import partial

import io
import re

import pytest
from tests.browser.waiting import wait_until as _wait_until
from tests.browser.waiting import wait_until_steady

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSON = "05_initialisation.ipynb"
CHANGE_TIMEOUT = 30.0  # the first Run also makes the 400 restarts
MPL_CANVAS = ".jupyter-matplotlib-figure canvas"
# Where to click, as fractions of the canvas (x from the left, y from the top): inside the
# picture of the customers, which fills the left third of the figure.
INSIDE_THE_PICTURE = [(0.12, 0.3), (0.12, 0.7), (0.2, 0.5), (0.3, 0.3), (0.3, 0.7)]
ON_THE_HISTOGRAMS = (0.85, 0.5)
VERDICT = re.compile(r"matches or beats (\d+) % of k-means\+\+ runs and (\d+) % of random-start runs")


@pytest.fixture(scope="module")
def lesson_page(lesson_alone):
    """Lesson 5 on a server of its own, loaded once."""
    with lesson_alone(LESSON) as page:
        yield page


wait_until = partial(_wait_until, timeout=CHANGE_TIMEOUT, interval=0.25)


def run_button(page):
    return page.locator("button.widget-button", has_text=re.compile(r"^\s*Run\s*$"))


def challenge(page):
    return page.locator(".kt-fit-app", has=run_button(page)).first


def pixels(locator) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(locator.screenshot(animations="disabled"))) as im:
        return im.convert("RGB").tobytes()


def click_canvas(page, fx: float, fy: float):
    """A left click at a fraction of the figure (the top canvas takes the mouse)."""
    canvas = challenge(page).locator(MPL_CANVAS).first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)


def app_text(page) -> str:
    return challenge(page).inner_text()


def test_the_lesson_shows_the_challenge_and_asks_for_a_prediction(lesson_page):
    page = lesson_page
    assert page.get_by_text("Challenge: can you beat k-means++?").count() == 1
    assert page.get_by_text("do you think you can beat most k-means++ runs?").count() == 1
    app = challenge(page)
    canvas = app.locator(MPL_CANVAS).first
    canvas.scroll_into_view_if_needed()
    wait_until(lambda: (b := canvas.bounding_box()) and b["width"] > 600, "the challenge's figure")
    wait_until(lambda: len(set(pixels(canvas)[::3 * 97])) > 8, "the picture of the customers")
    assert "Click 5 centres on the plot to start (0 of 5 placed)." in app_text(page)
    assert not VERDICT.search(app_text(page))  # nothing revealed before a run
    # What the challenge shows is folded away until the student has played.
    after = page.locator("details", has_text="Once you have played")
    assert after.count() == 1 and after.evaluate("el => el.open") is False
    assert not page.get_by_text("Put one centre on each of the five groups").is_visible()


def test_clicks_place_centres_and_run_shows_a_percentile(lesson_page):
    page = lesson_page
    for i, (fx, fy) in enumerate(INSIDE_THE_PICTURE[:4], start=1):
        click_canvas(page, fx, fy)
        wait_until(lambda: f"({i} of 5 placed)" in app_text(page), f"centre {i} to be placed")
    click_canvas(page, *INSIDE_THE_PICTURE[4])
    wait_until(lambda: "All 5 centres placed: press Run" in app_text(page), "all five centres placed")
    canvas = challenge(page).locator(MPL_CANVAS).first
    before = wait_until_steady(lambda: pixels(canvas), "the fifth centre to be drawn")

    run_button(page).click()
    # The verdict, then the counts and the best try, each its own update: wait for all.
    def verdict_shown():
        text = app_text(page)
        return VERDICT.search(text) and "Your best: inertia" in text and "count as the same result" in text and text

    text = wait_until(verdict_shown, "the verdict after Run")
    assert all(0 <= int(p) <= 100 for p in VERDICT.search(text).groups())
    assert re.search(r"Your best: inertia [\d.]+ \(try 1 of 1\)", text), text
    wait_until(lambda: pixels(canvas) != before, "the run and the histograms to be drawn")


def test_wrong_clicks_are_explained_and_a_new_try_keeps_the_best(lesson_page):
    page = lesson_page
    best = re.search(r"Your best: inertia ([\d.]+)", app_text(page)).group(1)
    click_canvas(page, *ON_THE_HISTOGRAMS)
    wait_until(lambda: "Click inside the picture of the data (left)" in app_text(page),
               "the message about a click outside the picture")
    click_canvas(page, *INSIDE_THE_PICTURE[0])  # the run is on screen: no sixth centre
    wait_until(lambda: "Your run is on screen: press “Clear my centres”" in app_text(page),
               "the message about a click after the run")

    page.locator("button.widget-button", has_text="Clear my centres").click()

    def fresh_try():
        text = app_text(page)
        return ("Click 5 centres on the plot to start (0 of 5 placed)." in text
                and not VERDICT.search(text.split("Your best")[0]))

    wait_until(fresh_try, "a fresh try, with the last run's verdict gone")
    assert f"Your best: inertia {best} (try 1 of 1)" in app_text(page)


def test_a_centre_can_be_typed_without_the_mouse(lesson_page):
    page = lesson_page
    box = challenge(page).get_by_placeholder("e.g. -1.3, 1.1")
    box.click()
    page.keyboard.type("-1.3, 1.1")
    page.keyboard.press("Enter")
    wait_until(lambda: "(1 of 5 placed)" in app_text(page), "the typed centre to be placed")
    box.fill("far, away")
    page.keyboard.press("Enter")
    wait_until(lambda: "Type a centre as two numbers" in app_text(page), "the message about bad text")
    # Nothing placed by the bad text: the picture's description still lists one centre.
    assert "your centres placed so far: (-1.3, 1.1)." in app_text(page)


def test_what_the_challenge_shows_opens_after_playing(lesson_page):
    page = lesson_page
    summary = page.locator("details summary", has_text="Once you have played")
    summary.scroll_into_view_if_needed()
    summary.click()
    wait_until(lambda: page.get_by_text("Put one centre on each of the five groups").is_visible(),
               "the folded explanation to open")
