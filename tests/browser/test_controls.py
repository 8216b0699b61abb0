"""Controls in a real Chromium: keys with no prior click, pause that keeps the step, the
step sentence as a live region, and a quiz that takes a second try.

One server on the real ``lessons/`` folder and one page of lesson 4 (the stepper and its
"which centre?" quiz) for the whole module, at 1280×720. The tests run in file order on
that page: keys first, on a page nobody has clicked yet.
"""

from __future__ import annotations

from functools import partial

import re
import time

import pytest
from tests.browser.waiting import wait_until as _wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSON = "04_kmeans_step_by_step.ipynb"
CHANGE_TIMEOUT = 20.0


@pytest.fixture(scope="module")
def lesson_page(lesson_alone):
    """Lesson 4 on a server of its own, loaded once."""
    with lesson_alone(LESSON) as page:
        yield page


wait_until = partial(_wait_until, timeout=CHANGE_TIMEOUT, interval=0.2)


def stepper(page):
    return page.locator(".kt-keys-app").first


def step_number(page) -> int:
    """The step on screen, read from the readout ("step 3 / 21")."""
    text = stepper(page).locator(".widget-html", has_text="phase").first.inner_text()
    match = re.search(r"step\s+(\d+)\s*/\s*(\d+)", text)
    assert match, text
    return int(match.group(1))


def last_step(page) -> int:
    text = stepper(page).locator(".widget-html", has_text="phase").first.inner_text()
    return int(re.search(r"step\s+\d+\s*/\s*(\d+)", text).group(1))


def wait_for_step(page, n: int, what: str):
    wait_until(lambda: step_number(page) == n, f"{what} (step {n}; on {step_number(page)})")


def wait_for_shown_step(page, n: int, what: str):
    """Wait until step n is on screen with all its words: the readout, then the step
    sentence and last the picture's description (each is its own update)."""
    wait_for_step(page, n, what)
    alt = stepper(page).locator(".kt-figure-alt").first
    wait_until(lambda: f"at step {n} of" in (alt.text_content() or ""),
               f"{what}: the sentence and the picture's description of step {n}")


def press(page, key: str):
    """Press a key as a learner would: the page takes at most five keys a second."""
    time.sleep(0.25)
    page.keyboard.press(key)


def live_text(page) -> str:
    return stepper(page).locator(".kt-live").first.inner_text().strip()


def test_keys_step_the_app_without_clicking_it_first(lesson_page):
    page = lesson_page
    focused = page.evaluate("document.activeElement && document.activeElement.tagName")
    assert focused in ("BODY", None)  # nothing clicked: the page has the keys
    keys_line = stepper(page).locator(".kt-keys").first.inner_text()
    for key in ("←", "→", "space", "Home", "End"):
        assert key in keys_line
    assert step_number(page) == 0
    press(page, "ArrowRight")
    wait_for_step(page, 1, "→ to step")
    press(page, "ArrowRight")
    wait_for_step(page, 2, "→ to step again")
    press(page, "ArrowLeft")
    wait_for_step(page, 1, "← to go back")
    press(page, "End")
    wait_for_step(page, last_step(page), "End to go to the last step")
    press(page, "Home")
    wait_for_step(page, 0, "Home to go to step 0")
    press(page, " ")
    play = stepper(page).locator(".kt-key-play").first
    wait_until(lambda: "pause" in play.inner_text(), "space to start playing")
    press(page, " ")
    wait_until(lambda: "play" in play.inner_text(), "space to pause")


def test_the_step_sentence_is_a_live_region_that_changes_each_step(lesson_page):
    page = lesson_page
    region = stepper(page).locator(".kt-live").first
    assert region.get_attribute("aria-live") == "polite"
    assert region.get_attribute("role") == "status"
    press(page, "Home")
    wait_for_shown_step(page, 0, "Home")
    seen = [live_text(page)]
    for n in (1, 2, 3):
        press(page, "ArrowRight")
        wait_for_shown_step(page, n, "→")
        seen.append(live_text(page))
    assert len(set(seen)) == 4 and all(seen)
    # The region is the widget's own element: the same node before and after a step.
    handle = region.element_handle()
    press(page, "ArrowRight")
    wait_for_shown_step(page, 4, "→")
    assert page.evaluate("el => el.isConnected && el.getAttribute('aria-live')", handle) == "polite"
    # The picture has a text description that follows the step.
    assert "at step 4 of" in stepper(page).locator(".kt-figure-alt").first.text_content()


def test_pause_keeps_the_step(lesson_page):
    page = lesson_page
    app = stepper(page)
    app.locator(".kt-key-start").first.click()
    wait_for_step(page, 0, "start")
    play = app.locator(".kt-key-play").first
    play.click()
    wait_until(lambda: step_number(page) >= 2, "playing to reach step 2")
    play.click()  # pause
    wait_until(lambda: "play" in play.inner_text(), "the button to read 'play' again")
    time.sleep(1.0)  # a tick in flight may land; after that the step must stay
    paused_at = step_number(page)
    time.sleep(1.5)
    assert step_number(page) == paused_at and paused_at >= 2
    play.click()  # play goes on from there, not from 0
    wait_until(lambda: step_number(page) > paused_at, "playing to go on from the paused step")
    play.click()
    wait_until(lambda: "play" in play.inner_text(), "pause again")
    assert step_number(page) > 0


def test_a_quiz_accepts_a_second_try(lesson_page):
    page = lesson_page
    card = page.locator(".widget-radio-box").first.locator("xpath=../..")
    card.scroll_into_view_if_needed()
    radios = card.locator(".widget-radio-box input[type=radio]")
    feedback = card.locator(".kt-quiz-feedback").first
    radios.nth(0).check()
    wait_until(lambda: feedback.inner_text().strip(), "feedback on the first answer")
    first = feedback.inner_text()
    if "Correct" in first:
        pytest.skip("the first option is right here: no second try to make")
    assert "Hint" in first and "The answer is" not in first
    found = False
    for i in range(1, radios.count()):
        before = feedback.inner_text()
        radios.nth(i).check()
        wait_until(lambda: feedback.inner_text() != before or "Correct" in before,
                   f"feedback on try {i + 1}")
        if "Correct" in feedback.inner_text():
            found = True
            break
        if "The answer is" in feedback.inner_text():
            break
    assert found, feedback.inner_text()
    score = page.locator(".kt-quiz-score").first.inner_text()
    assert re.search(r"0 of \d+ right first time · 1 of \d+ answered", score), score


def test_tab_reaches_the_transport_buttons_in_order(lesson_page):
    page = lesson_page
    app = stepper(page)
    app.locator(".kt-key-start").first.click()
    wait_for_step(page, 0, "start")
    press(page, "ArrowRight")
    press(page, "ArrowRight")
    wait_for_step(page, 2, "→ twice (start and back enabled)")
    app.locator(".kt-key-start").first.focus()
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(page.evaluate(
            "() => { const el = document.activeElement.closest('[class*=kt-key-]') || document.activeElement;"
            " return Array.from(el.classList).find(c => c.startsWith('kt-key-')) || el.tagName; }"))
    assert order == ["kt-key-back", "kt-key-step", "kt-key-play", "kt-key-end"], order
