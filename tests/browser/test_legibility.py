"""Legible on a projector, in a real Chromium at 1280×720, at 100 % and 150 % zoom.

Every lesson: no horizontal scrolling (nothing wider than the page), the app's main picture
takes most of the content width, prose at a readable measure. Lesson 4: the presenter
view switch makes the picture larger and tucks the settings away, and the picture follows
the window when it is resized. 150 % zoom on a
1280×720 screen is a CSS viewport of 853×480 at a device scale factor of 1.5.

One server on the real ``lessons/`` folder for the module; each lesson is loaded once
per zoom (each load costs a kernel).
"""

from __future__ import annotations

from functools import partial

from pathlib import Path

import pytest
from tests.browser.waiting import wait_until as _wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSONS_DIR = Path(__file__).resolve().parents[2] / "lessons"
LESSONS = sorted(p.name for p in LESSONS_DIR.glob("[0-9][0-9]_*.ipynb") if not p.name.startswith("00"))
ZOOMS = {"100%": ({"width": 1280, "height": 720}, 1.0), "150%": ({"width": 853, "height": 480}, 1.5)}
FIT_TIMEOUT = 40.0  # seconds for the page to report its width and the new picture to arrive

MEASURE = """() => {
  const doc = document.documentElement;
  const out = {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, apps: [], prose: 0};
  for (const app of document.querySelectorAll('.kt-fit-app')) {
    const cell = app.closest('.jp-Cell') || app.parentElement;
    const cs = getComputedStyle(cell);
    const column = cell.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const canvas = app.querySelector('.jupyter-matplotlib-figure canvas');
    const r = canvas ? canvas.getBoundingClientRect() : {width: 0, height: 0, right: 0};
    out.apps.push({column: column, width: r.width, height: r.height, right: r.right});
  }
  for (const p of document.querySelectorAll('.jp-RenderedMarkdown p')) {
    out.prose = Math.max(out.prose, p.getBoundingClientRect().width / parseFloat(getComputedStyle(p).fontSize));
  }
  return out;
}"""


@pytest.fixture(scope="module")
def lessons_server(start_server, tmp_path_factory):
    """``kmeans-tutor serve`` on the real lessons folder, for this module."""
    log_path = tmp_path_factory.mktemp("legibility-server") / "server.log"
    with start_server(LESSONS_DIR, log_path) as server:
        yield server


@pytest.fixture(scope="module", params=list(ZOOMS))
def zoomed(request, browser, lessons_server):
    viewport, scale = ZOOMS[request.param]
    context = browser.new_context(base_url=lessons_server.url, viewport=viewport,
                                  device_scale_factor=scale)
    context.set_default_timeout(30_000)
    yield context
    context.close()


wait_until = partial(_wait_until, timeout=FIT_TIMEOUT, interval=0.25)


def fitted(page):
    """The page's measures, once the app's picture is drawn and has followed the page width."""
    page.wait_for_selector(".kt-fit-app .jupyter-matplotlib-figure canvas", timeout=FIT_TIMEOUT * 1000)

    def ready():
        m = page.evaluate(MEASURE)
        # Fitted: as wide as the column, less the figure's own margins.
        return m if m["apps"] and all(a["width"] >= a["column"] - 40 for a in m["apps"]) else None
    try:
        return wait_until(ready, "the pictures to follow the page width")
    except pytest.fail.Exception:  # the test's own checks then say what is wrong
        return page.evaluate(MEASURE)


@pytest.mark.parametrize("lesson", LESSONS)
def test_no_horizontal_scrolling_and_pictures_fill_the_column(zoomed, open_lesson, lesson):
    page = zoomed.new_page()
    try:
        open_lesson(page, lesson)
        m = fitted(page)  # every lesson 1–7 has an app
        assert m["apps"], f"{lesson}: no app on the page"
        page.wait_for_timeout(500)
        m = page.evaluate(MEASURE)
        assert m["scrollWidth"] <= m["clientWidth"], f"{lesson} scrolls sideways: {m}"
        for app in m["apps"]:
            assert app["width"] >= 0.6 * app["column"], f"{lesson}: picture too narrow: {app}"
            assert app["right"] <= m["clientWidth"] + 1, f"{lesson}: picture cut off: {app}"
        assert m["prose"] <= 85, f"{lesson}: prose lines of {m['prose']:.0f} em"
    finally:
        page.close()


def test_presenter_view_enlarges_the_picture_and_tucks_settings_away(zoomed, open_lesson):
    page = zoomed.new_page()
    try:
        open_lesson(page, "04_kmeans_step_by_step.ipynb")
        before = fitted(page)["apps"][0]
        app = page.locator(".kt-fit-app").first
        settings = app.locator(".widget-dropdown").first
        assert settings.is_visible()
        switch = app.locator(".kt-presenter-switch")
        assert switch.get_attribute("title")  # a tooltip
        page.wait_for_timeout(500)
        before = page.evaluate(MEASURE)["apps"][0]
        switch.click()
        after = wait_until(lambda: (lambda a: a if a["height"] > before["height"] * 1.05 else None)(
            page.evaluate(MEASURE)["apps"][0]), "the picture to grow")
        assert after["width"] >= 0.99 * before["width"]  # as wide (the first fit may still be settling)
        wait_until(lambda: not settings.is_visible(), "the settings to be tucked away")
        assert app.locator(".kt-key-step").is_visible()  # the step controls stay
        m = page.evaluate(MEASURE)
        assert m["scrollWidth"] <= m["clientWidth"]
        switch.click()
        wait_until(lambda: abs(page.evaluate(MEASURE)["apps"][0]["height"] - before["height"]) < 3,
                   "the picture to shrink back")
        wait_until(settings.is_visible, "the settings to come back")

        # The window gets narrower: the picture follows it, with no sideways scrolling.
        size = page.viewport_size
        page.set_viewport_size({"width": int(size["width"] * 0.8), "height": size["height"]})
        narrow = wait_until(lambda: (lambda m: m if m["apps"][0]["width"] < after["width"] - 50
                                     and m["apps"][0]["width"] >= m["apps"][0]["column"] - 40 else None)(
            page.evaluate(MEASURE)), "the picture to follow the window")
        assert narrow["scrollWidth"] <= narrow["clientWidth"]
    finally:
        page.close()
