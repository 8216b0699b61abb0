"""The real lessons, served by ``kmeans-tutor serve`` and used in headless Chromium.

One server on ``lessons/`` for the module, and one page per lesson: each page load costs a
kernel, so a lesson is opened once and every check of that lesson runs on that page
(the tests run in lesson order; the previous lesson's page is closed when the next opens).

For every lesson: it renders with no Voilà error and no error output, its widgets and
pictures appear, and answering a quiz question shows feedback. Besides:

* the course page links every lesson in order, and its first link opens lesson 1;
* lesson 4: "step" changes the stepper's readout and picture, "back" restores both;
* lesson 5: a small race of restarts reports its results.
"""

from __future__ import annotations

from functools import partial

import io
import re
from pathlib import Path

import pytest
from tests.browser.waiting import wait_until as _wait_until
from tests.browser.waiting import wait_until_steady

pytestmark = pytest.mark.browser

BROWSER_DIR = Path(__file__).resolve().parent
LESSONS_DIR = BROWSER_DIR.parents[1] / "lessons"
INDEX = "00_index.ipynb"
LESSONS = sorted(p.name for p in LESSONS_DIR.glob("[0-9][0-9]_*.ipynb") if p.name != INDEX)

ERROR_OUTPUT = '[data-mime-type="application/vnd.jupyter.stderr"]'
MPL_CANVAS = ".jupyter-matplotlib-figure canvas"
# An ipympl figure stacks two canvases: its picture, then a transparent one on top for the
# zoom rectangle. Counting figures means counting pictures.
MPL_PICTURE = ".jupyter-matplotlib-figure canvas:first-of-type"
STATIC_IMAGE = ".jp-RenderedImage img"
CHANGE_TIMEOUT = 20.0  # seconds for the kernel to answer a click and the picture to arrive


@pytest.fixture(scope="module")
def lessons_server(start_server, tmp_path_factory):
    """``kmeans-tutor serve`` on the real lessons folder, for this module."""
    log_path = tmp_path_factory.mktemp("lessons-server") / "server.log"
    with start_server(LESSONS_DIR, log_path) as server:
        yield server


class LessonPages:
    """Opens each lesson once, keeps only the current one open."""

    def __init__(self, context, open_lesson):
        self.context = context
        self.open_lesson = open_lesson
        self.name = None
        self.page = None
        self.requests: list[str] = []

    def adopt(self, name: str, page) -> None:
        """Use an already loaded page (e.g. reached by a link) as lesson ``name``."""
        if self.page is not None and self.page is not page:
            self.page.close()
        self.name, self.page = name, page

    def get(self, name: str):
        if self.name != name:
            page = self.context.new_page()
            self.open_lesson(page, name)
            self.adopt(name, page)
        return self.page

    def close(self):
        if self.page is not None:
            self.page.close()


@pytest.fixture(scope="module")
def lessons(browser, lessons_server, open_lesson):
    context = browser.new_context(base_url=lessons_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    pages = LessonPages(context, open_lesson)
    # Every request any lesson page makes, for test_no_page_asks_another_host (last in this file).
    context.on("request", lambda request: pages.requests.append(request.url))
    yield pages
    pages.close()
    context.close()


# --------------------------------------------------------------------------- helpers


wait_until = partial(_wait_until, timeout=CHANGE_TIMEOUT, interval=0.25)


def pixels(locator) -> bytes:
    """The element's picture as raw RGB bytes (PNG encoders may differ; pixels do not)."""
    from PIL import Image

    with Image.open(io.BytesIO(locator.screenshot(animations="disabled"))) as im:
        return im.convert("RGB").tobytes()


def button(scope, label: str):
    """The ipywidgets Button whose text is ``label`` (its icon glyph is not part of the
    match: the accessible name includes it, so ``get_by_role(name=...)`` does not work)."""
    return scope.locator("button.widget-button", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))


def steady_pixels(locator, timeout: float = CHANGE_TIMEOUT):
    """The element's pixels once two screenshots in a row agree (no frame in flight)."""
    return wait_until_steady(lambda: pixels(locator), "the picture to settle", timeout=timeout)


def check_rendered(page, name: str, *, figures: int = 0, images: int = 0):
    """No error anywhere, widgets shown, pictures drawn."""
    assert page.locator(".voila-error").count() == 0
    errors = page.locator(ERROR_OUTPUT)
    assert errors.count() == 0, f"{name} shows error output:\n" + "\n".join(errors.all_inner_texts())
    # Widget views are made by the page's widget manager after the render is complete.
    widgets = page.locator(".jupyter-widgets")
    wait_until(lambda: widgets.count() > 0, f"the widgets of {name}")
    if figures:
        # ipympl canvases: app figures arrive over the widget comm after the page loads.
        canvases = page.locator(MPL_PICTURE)
        wait_until(lambda: canvases.count() >= figures, f"{figures} interactive figure(s) in {name}")
        for i in range(canvases.count()):
            box = wait_until(lambda: (b := canvases.nth(i).bounding_box()) and b["width"] > 50 and b,
                             f"figure {i} of {name} to be drawn")
            assert box["height"] > 50
            # Drawn, not just sized: a blank canvas is one colour throughout.
            wait_until(lambda: len(set(pixels(canvases.nth(i))[::3 * 97])) > 8,
                       f"figure {i} of {name} to show a picture before any click")
    if images:
        assert page.locator(STATIC_IMAGE).count() >= images, f"{name}: static pictures missing"


def first_question(page):
    """The card of the page's first quiz question (prompt, picture, options, feedback)."""
    # radio box < RadioButtons widget < the question's card
    return page.locator(".widget-radio-box").first.locator("xpath=../..")


def answer_first_question(page, name: str):
    """Pick an option of the lesson's first quiz question; feedback must appear."""
    card = first_question(page)
    card.scroll_into_view_if_needed()
    card.locator(".widget-radio-box input[type=radio]").first.check()
    wait_until(lambda: re.search(r"Correct|Not quite", card.inner_text()),
               f"quiz feedback in {name}")
    score = page.locator(".widget-html", has_text="Score:").first
    wait_until(lambda: re.search(r"\b[01] of \d+ right first time · 1 of \d+ answered", score.inner_text()),
               f"the quiz score in {name}")


# --------------------------------------------------------------------------- the course page


def test_the_course_page_links_every_lesson_and_opens_lesson_1(lessons, lessons_server):
    page = lessons.context.new_page()
    response = page.goto("/")
    assert response is not None and response.ok
    links = page.locator("main a[href^='/lesson/']")
    hrefs = [links.nth(i).evaluate("a => a.href") for i in range(links.count())]
    expected = [f"{lessons_server.url}/lesson/{int(name[:2])}" for name in LESSONS]
    # The lessons in order, by their short addresses; no file name a student could see.
    assert hrefs == expected
    assert ".ipynb" not in page.inner_text("body")
    assert page.title() == "K-means, one step at a time · course page"
    # Following the first link renders lesson 1 (and that page serves lesson 1's checks).
    with page.expect_navigation(timeout=90_000):
        links.first.click()
    page.wait_for_selector("#loading", state="detached", timeout=90_000)
    page.wait_for_function("() => !document.querySelector('.voila-skeleton-container')",
                           timeout=90_000, polling=100)  # every cell has run
    assert page.url == expected[0]
    assert page.title().startswith("Lesson 1 · ")
    lessons.adopt(LESSONS[0], page)


# --------------------------------------------------------------------------- the lessons


def test_lesson_1(lessons):
    name = "01_unsupervised_learning.ipynb"
    page = lessons.get(name)
    check_rendered(page, name, figures=1, images=1)
    answer_first_question(page, name)


def test_lesson_2(lessons):
    name = "02_meet_the_mall_customers.ipynb"
    page = lessons.get(name)
    check_rendered(page, name, figures=1, images=3)
    answer_first_question(page, name)


def test_lesson_3(lessons):
    name = "03_scaling_features.ipynb"
    page = lessons.get(name)
    check_rendered(page, name, figures=1, images=1)
    answer_first_question(page, name)


def test_lesson_4_stepper_steps_forward_and_back(lessons):
    name = "04_kmeans_step_by_step.ipynb"
    page = lessons.get(name)
    # The stepper, the prediction stepper, and one picture per "which centre?" question.
    check_rendered(page, name, figures=5, images=2)
    step_button = button(page, "step").first  # the first stepper (a second one asks for predictions)
    app = page.locator(".widget-vbox", has=step_button).first
    readout = app.locator(".widget-html", has_text="phase").first
    canvas = app.locator(MPL_CANVAS).first
    canvas.scroll_into_view_if_needed()

    before_text = readout.inner_text()
    before = steady_pixels(canvas)
    assert re.search(r"step\s+0\s*/", before_text), before_text

    step_button.click()
    wait_until(lambda: readout.inner_text() != before_text, "the readout to change after 'step'")
    assert re.search(r"step\s+1\s*/", readout.inner_text())
    wait_until(lambda: pixels(canvas) != before, "the picture to change after 'step'")
    after = steady_pixels(canvas)
    assert after != before

    button(app, "back").click()
    wait_until(lambda: readout.inner_text() == before_text, "the readout to return after 'back'")
    wait_until(lambda: pixels(canvas) == before, "the picture to return after 'back'")

    # The first question is "which centre?": answering reveals the distances on its picture.
    picture = first_question(page).locator(MPL_CANVAS).first
    picture.scroll_into_view_if_needed()
    unanswered = steady_pixels(picture)
    answer_first_question(page, name)
    # A wrong answer gets a hint (the distances would give the answer away); the answer
    # found, the picture shows them.
    card = first_question(page)
    radios = card.locator(".widget-radio-box input[type=radio]")
    for i in range(1, radios.count()):
        if re.search(r"Correct|The answer is", card.inner_text()):
            break
        before = card.inner_text()
        radios.nth(i).check()
        wait_until(lambda: card.inner_text() != before, f"feedback on try {i + 1}")
    assert re.search(r"Correct|The answer is", card.inner_text())
    wait_until(lambda: pixels(picture) != unanswered, "the quiz picture to show the distances")


def test_lesson_4_stepper_takes_an_uploaded_csv(lessons):
    """A student's own CSV, chosen with the browser's file dialog: used if good, refused
    with a reason (and nothing lost) if not."""
    name = "04_kmeans_step_by_step.ipynb"
    page = lessons.get(name)
    app = page.locator(".widget-vbox", has=button(page, "step")).first
    upload_button = app.locator(".widget-upload").first

    def upload(name: str, data: bytes):
        # The button opens the browser's file dialog; Playwright answers it.
        with page.expect_file_chooser() as chooser:
            upload_button.click()
        chooser.value.set_files(files=[{"name": name, "mimeType": "text/csv", "buffer": data}])

    status = app.locator(".widget-html", has_text=re.compile("CSV file|Loaded|Could not use")).first
    readout = app.locator(".widget-html", has_text="phase").first
    canvas = app.locator(MPL_CANVAS).first
    canvas.scroll_into_view_if_needed()
    before = steady_pixels(canvas)

    rows = "\n".join(f"{150 + (i * 7) % 40},{50 + (i * 11) % 30},{'ab'[i % 2]}" for i in range(40))
    upload("heights.csv", f"height,weight,team\n{rows}\n".encode())
    status.locator("text=Loaded heights.csv").wait_for(timeout=CHANGE_TIMEOUT * 1000)
    assert "40 rows, 2 numeric columns (height, weight)" in status.inner_text()
    assert "Columns left out: 'team' (text, not numbers)" in status.inner_text()
    # The picture's text alternative (written after the picture's data) describes the new points.
    alt = app.locator(".kt-figure-alt").first
    wait_until(lambda: re.search(r"40 points, height\b.* across and weight\b.* up", alt.text_content() or ""),
               "the stepper to show the uploaded points")
    wait_until(lambda: pixels(canvas) != before, "the picture to show the uploaded points")
    after_good = steady_pixels(canvas)
    shown = readout.inner_text()

    upload("broken.csv", b"height,weight\n170,60\n180,seventy\n165,55\n")
    status.locator("text=Could not use broken.csv").wait_for(timeout=CHANGE_TIMEOUT * 1000)
    problem = status.inner_text()
    assert "the data on screen are unchanged" in problem
    assert "seventy" in problem and "weight" in problem, problem
    assert readout.inner_text() == shown
    assert steady_pixels(canvas) == after_good


def test_lesson_5_race(lessons):
    name = "05_initialisation.ipynb"
    page = lessons.get(name)
    # The two runs side by side, and the race.
    check_rendered(page, name, figures=2, images=1)
    race_button = button(page, "run the race")
    app = page.locator(".widget-vbox", has=race_button).first
    results = app.locator(".widget-html", has_text=re.compile(r"inertia")).last
    before = results.inner_text()
    assert "Best inertia found" not in before

    # A small race: the fewest restarts the slider allows, typed into its readout.
    restarts = app.locator(".widget-slider", has_text="restarts").first
    box = restarts.locator(".widget-readout")
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("10")
    page.keyboard.press("Enter")
    wait_until(lambda: box.inner_text().strip() == "10", "the restarts slider to read 10")

    race_button.click()
    text = wait_until(lambda: (t := results.inner_text()) and "Best inertia found" in t and t,
                      "the race results")
    assert re.search(r"of 10 runs", text), text
    answer_first_question(page, name)


def test_lesson_6(lessons):
    name = "06_choosing_k.ipynb"
    page = lessons.get(name)
    check_rendered(page, name, figures=1, images=1)
    answer_first_question(page, name)


def test_lesson_7(lessons):
    name = "07_from_clusters_to_customers.ipynb"
    page = lessons.get(name)
    check_rendered(page, name, figures=1)
    answer_first_question(page, name)


def test_lesson_8(lessons):
    name = "08_where_kmeans_goes_wrong.ipynb"
    page = lessons.get(name)
    check_rendered(page, name, figures=1)
    # Six "predict first" pictures, each with a text alternative, drawn before any answer.
    pictures = page.locator("img[alt*='groupings A and B']")
    wait_until(lambda: pictures.count() == 6, "the six groupings pictures of lesson 8")
    assert all(pictures.nth(i).evaluate("img => img.naturalWidth > 300") for i in range(6))
    answer_first_question(page, name)


# --------------------------------------------------------------------------- last: what the pages asked for


def test_prose_and_figures_drawn_in_advance_come_before_the_kernel(browser, lessons_server):
    """Lesson 2 as a student opens it cold: the text, the two tables and the three figures
    drawn in advance are all in the page before anything comes from the kernel (the page
    sends every cell before it starts the kernel), then the app arrives."""
    assert "figures not drawn in advance" not in lessons_server.log()  # every lesson prepared
    context = browser.new_context(base_url=lessons_server.url, viewport={"width": 1280, "height": 720})
    page = context.new_page()
    try:
        page.goto("/lesson/2", wait_until="commit", timeout=90_000)
        page.get_by_role("heading", name="Lesson 2 · Meet the Mall Customers").wait_for(
            state="visible", timeout=30_000)
        drawn = page.locator(f"#rendered_cells {STATIC_IMAGE}")
        # The page may still be arriving: wait for the last drawn figure, then look.
        page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length >= n",
            arg=[f"#rendered_cells {STATIC_IMAGE}", 3], timeout=30_000, polling=50)
        assert page.locator(".jupyter-widgets").count() == 0  # nothing from the kernel yet
        assert drawn.count() == 3
        assert page.locator("#rendered_cells table.dataframe").count() == 2  # head() and describe()
        page.wait_for_selector("#loading", state="detached", timeout=90_000)
        page.wait_for_function("() => !document.querySelector('.voila-skeleton-container')",
                               timeout=90_000, polling=100)
        # The stepper, from the kernel (its figure may follow the cell's other outputs).
        page.wait_for_selector(".jupyter-matplotlib-figure", timeout=30_000)
        assert drawn.count() == 3
        assert page.evaluate("() => [...document.querySelectorAll('#rendered_cells img')]"
                             ".every(i => i.complete && i.naturalWidth > 0)")
    finally:
        context.close()



# Counts the canvas encodings ipympl asks for after each new picture (its handle_binary),
# under whatever the page itself puts in front of toDataURL.
COUNT_IPYMPL_ENCODINGS = """
window.ktEncodings = 0;
const encode = HTMLCanvasElement.prototype.toDataURL;
HTMLCanvasElement.prototype.toDataURL = function () {
  if (/handle_binary/.test(new Error().stack || "")) window.ktEncodings += 1;
  return encode.apply(this, arguments);
};
"""


def test_pictures_are_not_encoded_again_in_the_page(browser, lessons_server):
    """Each new picture of a figure reaches the screen without ipympl re-encoding its whole
    canvas as a data URL (a still copy for saved notebooks, never used by a page); a
    canvas the page itself encodes still gets its real PNG."""
    context = browser.new_context(base_url=lessons_server.url, viewport={"width": 1280, "height": 720})
    context.add_init_script(COUNT_IPYMPL_ENCODINGS)
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        page.goto("/lesson/1", timeout=90_000)
        page.wait_for_selector("#loading", state="detached", timeout=90_000)
        step_button = button(page, "step").first
        step_button.wait_for(timeout=90_000)
        canvas = page.locator(".widget-vbox", has=step_button).first.locator(MPL_CANVAS).first
        canvas.scroll_into_view_if_needed()
        for i in range(3):
            before = steady_pixels(canvas)
            step_button.click()
            wait_until(lambda: pixels(canvas) != before, f"picture {i + 1} after 'step'")
        assert page.evaluate("window.ktEncodings") == 0
        own = page.evaluate("""() => {
            const c = document.createElement("canvas"); c.width = 4; c.height = 3;
            c.getContext("2d").fillRect(0, 0, 4, 3);
            return c.toDataURL(); }""")
        assert own.startswith("data:image/png;base64,") and len(own) > 40, own
    finally:
        context.close()


def test_no_page_asks_another_host(lessons, lessons_server):
    """The course page and every lesson (opened by the tests above) load nothing from elsewhere:
    no fonts, scripts, styles or pictures from another server."""
    for name in LESSONS:
        lessons.get(name)
    foreign = [url for url in lessons.requests
               if not url.startswith((lessons_server.url + "/", "data:", "blob:", "about:"))]
    assert lessons.requests and not foreign, foreign[:10]
    assert any(url.rstrip("/") == lessons_server.url for url in lessons.requests)  # the course page

