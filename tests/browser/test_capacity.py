"""A full lesson server, preheated kernels, pages that need no outside server, and kernels
whose page never connects.

One server for the first tests: ``kmeans-tutor serve --lesson 1 --preheat 1 --max-kernels 2``
on the generated one-lesson folder. Two students fit (the preheated kernel, then its
replacement); the third gets the "Lesson server full" page, in a real Chromium.

Another for the connect grace: ``--max-kernels 3 --connect-grace 3`` and culling an hour
away, so that only the grace can give a slot back within the tests' waits. Lessons fetched
without a browser (as a link preview or ``curl`` does) hold their slot only until the grace
runs out; a lesson open in Chromium keeps its kernel (and its slot, whichever test runs
first: hence room for three).
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

POOL_FILLED = "Kernel pool of {lesson} is filled"
GRACE_S = 3  # the grace server's --connect-grace
SHUT_DOWN = "Shut down kernel {kernel}: no page connected to it"  # logged once its slot is free


@pytest.fixture(scope="module")
def full_server(start_server, sample_lessons, tmp_path_factory, wait_for_log):
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


def test_first_student_gets_the_preheated_kernel(first_page, full_server, sample_lessons, wait_for_log):
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


def test_third_student_gets_a_clear_full_page(first_page, student, full_server, sample_lessons, open_lesson,
                                              wait_for_log):
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


# --- kernels whose page never connects -----------------------------------------------------------


@pytest.fixture(scope="module")
def grace_server(start_server, sample_lessons, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("grace-log") / "server.log"
    with start_server(sample_lessons.path, log_path,
                      extra_args=["--max-kernels", "3", "--connect-grace", str(GRACE_S),
                                  "--cull-idle-timeout", "3600", "--cull-interval", "3600"]) as server:
        yield server


def fetch_without_browser(server, lesson, raw_request) -> tuple[int, str | None]:
    """GET a lesson as a link preview does: the status, and the id of the kernel it started."""
    status, body = raw_request(server, "GET", f"/voila/render/{lesson}")
    found = re.search(rb'"kernelId": "([0-9a-f-]{36})"', body)
    return status, found and found.group(1).decode()


def fetch_two(server, lesson, raw_request) -> list[str]:
    """Fetch the lesson twice without a browser; the two kernels started."""
    kernels = []
    for _ in range(2):
        status, kernel = fetch_without_browser(server, lesson, raw_request)
        assert status == 200 and kernel
        kernels.append(kernel)
    return kernels


def test_lessons_fetched_without_a_browser_give_their_slots_back(grace_server, sample_lessons, raw_request,
                                                                 wait_for_log):
    # Before: both kernels held their slots until culling (here an hour away).
    first = fetch_two(grace_server, sample_lessons.lesson, raw_request)
    for kernel in first:
        wait_for_log(grace_server, re.escape(SHUT_DOWN.format(kernel=kernel)))
        assert raw_request(grace_server, "GET", f"/api/kernels/{kernel}")[0] == 404  # gone
    # Both slots are free again (a third may be held by the other test's open page).
    again = fetch_two(grace_server, sample_lessons.lesson, raw_request)
    for kernel in again:  # and they leave them free for the next test
        wait_for_log(grace_server, re.escape(SHUT_DOWN.format(kernel=kernel)))


def test_a_lesson_open_in_the_browser_keeps_its_kernel(grace_server, browser, sample_lessons, open_lesson,
                                                       raw_request, wait_for_log):
    context = browser.new_context(base_url=grace_server.url)
    try:
        page = context.new_page()
        open_lesson(page, sample_lessons.lesson)
        page.locator(".widget-button", has_text="Click me").wait_for()
        config = page.locator("#jupyter-config-data").text_content()
        connected = re.search(r'"kernelId": "([0-9a-f-]{36})"', config).group(1)
        # Two lessons fetched without a browser after it: each is shut down after the grace,
        # by then far past the page's own (which started earlier) had it not connected.
        assert raw_request(grace_server, "GET", f"/api/kernels/{connected}")[0] == 200
        for _ in range(2):
            status, kernel = fetch_without_browser(grace_server, sample_lessons.lesson, raw_request)
            assert status == 200 and kernel
            wait_for_log(grace_server, re.escape(SHUT_DOWN.format(kernel=kernel)))
        assert SHUT_DOWN.format(kernel=connected) not in grace_server.log()
        page.locator(".widget-button", has_text="Click me").click()
        page.locator(".widget-label", has_text="clicked 1 time(s)").wait_for(timeout=30_000)
    finally:
        context.close()
