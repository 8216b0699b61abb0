"""Prediction mode in a real Chromium: lesson 4's "Predict, then reveal" section.

One server on the real ``lessons/`` folder and one page of lesson 4 at 1280×720. The test
switches prediction mode off and on again in the second stepper (the prediction section),
steps to the first assign question, clicks one of the points that will change cluster on
the picture, reveals with the R key (the page's key script) and checks the score; then guesses a centre with a
click and reveals with the button, and checks that the score grows.

Where to click is worked out on a twin of the lesson's app, made here with the same
settings and fitted to the width the page gave the app.
"""

from __future__ import annotations

import re
import time
from functools import partial

import pytest
from tests.browser.waiting import wait_until as _wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSON = "04_kmeans_step_by_step.ipynb"
APP = dict(dataset="gaussian_mixture", k=3, init="k-means++", seed=0)  # the lesson's prediction app
wait_until = partial(_wait_until, timeout=20.0, interval=0.2)


@pytest.fixture(scope="module")
def lesson_page(lesson_alone):
    """Lesson 4 on a server of its own, loaded once."""
    with lesson_alone(LESSON) as page:
        yield page


def step_number(app) -> int:
    text = app.locator(".widget-html", has_text="phase").first.inner_text()
    match = re.search(r"step\s+(\d+)\s*/", text)
    assert match, text
    return int(match.group(1))


def click_data(page, canvas, twin, xy):
    """Click the page's picture where the twin app draws the data point ``xy``."""
    fx, fy = twin.fig.transFigure.inverted().transform(twin.panel.ax.transData.transform(xy))
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + (1 - fy) * box["height"])


def test_predict_mark_reveal_and_score(lesson_page):
    pytest.importorskip("ipympl")
    from kmeans_tutor.widgets.stepper import StepperApp

    page = lesson_page
    app = page.locator(".kt-keys-app", has=page.locator(".kt-predict")).nth(1)
    app.scroll_into_view_if_needed()
    switch = app.locator(".kt-predict button", has_text="Predict each step").first
    reveal = app.locator(".kt-key-reveal").first
    score = app.locator(".kt-predict-score").first
    prompt = app.locator(".kt-predict-prompt").first

    # The section opens with prediction mode on; off hides the question, on brings it back.
    assert reveal.is_visible() and "Seeding steps are not asked" in prompt.inner_text()
    switch.click()
    wait_until(lambda: not reveal.is_visible(), "Reveal to hide with prediction mode off")
    switch.click()
    wait_until(lambda: reveal.is_visible(), "Reveal to come back with prediction mode on")
    assert "No predictions yet" in score.inner_text()

    # Step to the first assign question (the update question before it is stepped past: skipped).
    twin = StepperApp(**APP, predict=True)
    model = twin.model
    step = app.locator(".kt-key-step").first
    while not (model.question_kind == "assign" and model.trace[model.question].n_changed):
        model.step()
        before = step_number(app)
        step.click()
        wait_until(lambda: step_number(app) == before + 1, f"step {before + 1}")
    wait_until(lambda: "which points will change cluster" in prompt.inner_text(), "the assign question")
    # The score is written after the prompt.
    wait_until(lambda: "1 skipped" in score.inner_text(), "the skipped question in the score")
    first_score = score.inner_text()

    # Click one of the points that will change cluster.
    canvas = app.locator(".jupyter-matplotlib-figure canvas").first
    canvas.scroll_into_view_if_needed()
    twin.fit.probe.value = f"{app.bounding_box()['width']:.0f}x720"
    twin.fig.canvas.draw()  # the axes where the page's picture has them (equal aspect)
    changed = model.trace[model.question].changed
    click_data(page, canvas, twin, model.X[changed[0]])
    clear = app.locator(".kt-predict button", has_text=re.compile(r"clear (marks|guess)")).first
    wait_until(lambda: "(1)" in clear.inner_text(), "the click to mark one point")

    # Reveal with the R key, from the page (not the picture: the focus leaves it first).
    prompt.click()
    assert page.evaluate("document.activeElement.tagName") == "BODY"
    time.sleep(0.3)
    page.keyboard.press("r")
    wait_until(lambda: score.inner_text() != first_score, "the score to change after the reveal")
    misses = len(changed) - 1
    expected = f"1 hit, {misses} miss{'es' if misses != 1 else ''}, 0 false alarms"
    assert expected in score.inner_text(), score.inner_text()
    result = app.locator(".kt-predict-result").first.inner_text()
    assert expected in result and "now nearer to" in result

    # The next question is an update: click a guess, reveal with the button, the score grows.
    wait_until(lambda: "where will centre" in prompt.inner_text(), "the update question")
    model.step()
    assign_score = score.inner_text()
    click_data(page, canvas, twin, model.X.mean(axis=0))
    wait_until(lambda: clear.inner_text().strip() == "clear guess" and not clear.is_disabled(),
               "the guess to be taken")
    reveal.click()
    wait_until(lambda: "Centre guesses: mean error" in score.inner_text(), "the centre guess scored")
    assert score.inner_text() != assign_score
    assert "from where centre" in app.locator(".kt-predict-result").first.inner_text()
