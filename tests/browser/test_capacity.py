"""A full lesson server, preheated kernels and pages that need no outside server.

One server for the module: ``kmeans-tutor serve --lesson 1 --preheat 1 --max-kernels 2``
on the generated one-lesson folder. Two students fit (the preheated kernel, then its
replacement); the third gets the "Lesson server full" page, in a real Chromium.
"""

from __future__ import annotations

import re
import time

import pytest

pytestmark = pytest.mark.browser

POOL_FILLED = "Kernel pool of {lesson} is filled"


def wait_for_log(server, pattern: str, count: int = 1, timeout: float = 90.0) -> list[str]:
    """Wait until the server log holds ``count`` matches of ``pattern``; return them all."""
    deadline = time.monotonic() + timeout
    while True:
        found = re.findall(pattern, server.log())
        if len(found) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(found) >= count, f"no {count}× {pattern!r} within {timeout:g} s; log:\n{server.log()[-3000:]}"
    return found


@pytest.fixture(scope="module")
def full_server(start_server, sample_lessons, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("capacity-log") / "server.log"
    with start_server(sample_lessons.path, log_path,
                             extra_args=["--lesson", "1", "--preheat", "1", "--max-kernels", "2"]) as server:
        wait_for_log(server, re.escape(POOL_FILLED.format(lesson=sample_lessons.lesson)))
        yield server


@pytest.fixture(scope="module")
def student(browser, full_server):
    """``student()`` opens a new browser context (a new student) on the full server."""
    contexts = []

    def new_student():
        context = browser.new_context(base_url=full_server.url)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(60_000)
        return page

    yield new_student
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def first_page(student, full_server, sample_lessons, open_lesson):
    """The first student: the page, and every URL it requested."""
    page = student()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    open_lesson(page, sample_lessons.lesson)
    page.locator(".widget-button", has_text="Click me").wait_for()
    page.wait_for_load_state("networkidle")
    return page, requests


def test_first_student_gets_the_preheated_kernel(first_page, full_server, sample_lessons):
    page, _ = first_page
    started = re.findall(r"Kernel started: ([0-9a-f-]{36})", full_server.log())
    used = wait_for_log(full_server, rf"Using pre-heated kernel: ([0-9a-f-]{{36}}) for {re.escape(sample_lessons.lesson)}")
    # The kernel handed out is the one started before anybody came, and it works.
    assert used[0] == started[0]
    page.locator(".widget-button", has_text="Click me").click()
    page.locator(".widget-label", has_text="clicked 1 time(s)").wait_for(timeout=30_000)


def test_lesson_page_needs_nothing_but_this_server(first_page, full_server):
    page, requests = first_page
    outside = [url for url in requests if not url.startswith(full_server.url + "/")
               and not url.startswith(("data:", "blob:"))]
    assert requests and not outside, outside
    # Icons still work: Font Awesome (with its font) comes with the widget bundle.
    loaded = page.evaluate("""async () => {
        const i = document.createElement("i");
        i.className = "fa fa-step-forward";
        document.body.appendChild(i);
        const family = getComputedStyle(i, "::before").fontFamily;
        const faces = await document.fonts.load('900 16px "Font Awesome 5 Free"');
        i.remove();
        return [family, faces.length];
    }""")
    assert "Font Awesome" in loaded[0] and loaded[1] > 0, loaded


def test_third_student_gets_a_clear_full_page(first_page, student, full_server, sample_lessons, open_lesson):
    # The preheated kernel was replaced once the first student took it: 2 of 2 in use.
    wait_for_log(full_server, r"Kernel started: ", count=2)
    second = student()
    open_lesson(second, sample_lessons.lesson)  # takes the replacement
    second.locator(".widget-button", has_text="Click me").wait_for()
    wait_for_log(full_server, r"Refused a new kernel: 2 of 2 in use")  # its replacement did not fit

    third = student()
    response = third.goto(f"/voila/render/{sample_lessons.lesson}")
    assert response is not None and response.status == 503
    heading = third.locator(".voila-error h1")
    assert heading.inner_text() == "503: Lesson server full"
    message = third.locator(".kmeans-tutor-full").inner_text()
    assert "already has 2 lessons open, the most it is set up for (2)" in message
    assert "Close lesson tabs you are not using" in message
    # The students already in keep working.
    first = first_page[0]
    first.locator(".widget-button", has_text="Click me").click()
    first.locator(".widget-label", has_text="clicked 2 time(s)").wait_for(timeout=30_000)
    assert "Traceback" not in full_server.log()
