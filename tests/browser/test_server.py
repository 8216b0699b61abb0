"""The lesson server, end to end: what it serves, what it refuses, and widget comms.

Runs against ``voila_server`` (``kmeans-tutor serve`` on a generated one-lesson folder,
see conftest.py). The HTTP checks use urllib, or raw requests for odd methods and paths;
the page checks use Chromium.

Refusals are answers, not accidents: links in the lessons folder that lead out of it are
not followed (404, and not listed), and malformed requests get a 4xx without a traceback
in the server's log.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def http_get(url: str) -> tuple[int, bytes]:
    """Status and body of a GET, without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def looks_like_notebook(body: bytes) -> bool:
    """Whether a response body is a notebook file's JSON (it has cells)."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and "cells" in data


# --- the listing ---------------------------------------------------------------------


def test_the_root_url_is_the_course_page_and_starts_no_kernel(page, voila_server, sample_lessons):
    kernels_before = voila_server.kernels_started()
    response = page.goto("/")
    assert response is not None and response.status == 200
    # Lesson 1 of the folder, by its short address; the link leading out is not listed.
    link = page.locator("a[href='/lesson/1']")
    assert link.count() == 1
    assert page.locator("a[href='/lesson/2']").count() == 0
    assert ".ipynb" not in page.content()
    assert sample_lessons.helper not in page.content()
    # /voila/tree (Voilà's file list) leads to the course page too.
    page.goto("/voila/tree")
    assert page.url.rstrip("/") == voila_server.url
    assert voila_server.kernels_started() == kernels_before


def test_a_lesson_opens_at_its_short_address_and_file_links_lead_there(page, voila_server):
    response = page.goto("/lesson/01_click.ipynb")
    assert response is not None and response.ok
    assert page.url == f"{voila_server.url}/lesson/1"
    page.wait_for_selector("#loading", state="detached", timeout=90_000)
    page.get_by_role("button", name="Click me").wait_for(state="visible", timeout=30_000)
    for path, status in [("/lesson/9", 404), ("/lesson/abc", 404), ("/lesson/00_index.ipynb", 302)]:
        code, _ = http_get(f"{voila_server.url}{path}")
        assert code == status, path


# --- refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, forbidden",
    [
        ("?theme=dark", b"theme-dark.css"),
        ("?template=classic", b"voila/templates/classic/"),
        ("?template=reveal", b"voila/templates/reveal/"),
    ],
)
def test_query_string_theme_and_template_overrides_are_ignored(voila_server, query, forbidden):
    # Voilà does not reject the query: with the overrides locked it ignores it and
    # renders the configured light theme and kmeans-tutor template (lab's, minus its CDN
    # links), exactly as without it.
    status, body = http_get(f"{voila_server.url}/voila/render/01_click.ipynb{query}")
    assert status == 200
    assert forbidden not in body
    assert b"theme-light.css" in body
    assert b"voila/templates/kmeans-tutor/" in body
    # The course page has no theme or template to switch.
    status, body = http_get(f"{voila_server.url}/{query}")
    assert status == 200 and b'href="/lesson/1"' in body and forbidden not in body


@pytest.mark.parametrize(
    "path",
    [
        "/files/{nb}",
        "/static/{nb}",
        "/api/contents/{nb}",
        "/voila/files/{nb}",
        "/voila/files/./{nb}",
        "/voila/files/{NB}",
        "/voila/static/{nb}",
        "/voila/static/../{nb}",
        "/voila/templates/{nb}",
        "/voila/templates/lab/static/..%2f..%2f..%2f{nb}",
        "/voila/api/contents/{nb}",
        "/voila/api/contents/{nb}?format=text",
        "/voila/api/contents/{nb}?format=base64",
        "/voila/files/{py}",
        "/voila/api/contents/{py}",
    ],
)
def test_sources_are_not_downloadable(voila_server, sample_lessons, path):
    nb, py = sample_lessons.lesson, sample_lessons.helper
    path = path.format(nb=nb, NB=nb.upper(), py=py)
    status, body = http_get(voila_server.url + path)
    assert sample_lessons.source_marker.encode() not in body, f"{path} leaked source (HTTP {status})"
    assert not looks_like_notebook(body), f"{path} returned the notebook (HTTP {status})"
    if path.startswith("/voila/api/contents/") and status == 200:
        # The listing API may describe the file, but without its content.
        assert json.loads(body)["content"] is None
    else:
        assert status in (403, 404), f"{path}: unexpected HTTP {status}"


# --- links that lead out of the lessons folder ------------------------------------------


def test_the_listing_leaves_out_links_that_lead_outside(voila_server, sample_lessons):
    status, body = http_get(f"{voila_server.url}/voila/api/contents/")
    assert status == 200
    names = {entry["name"] for entry in json.loads(body)["content"]}
    assert sample_lessons.lesson in names
    assert not names & {sample_lessons.linked_dir, sample_lessons.linked_lesson}, names


@pytest.mark.parametrize("path", [
    "/voila/api/contents/{dir}",
    "/voila/api/contents/{dir}/{nb}",
    "/voila/api/contents/{link}",
    "/voila/tree/{dir}",
    "/voila/render/{link}",
    "/voila/render/{dir}/{nb}",
    "/voila/files/{dir}/{png}",
])
def test_links_that_lead_outside_are_not_followed(voila_server, sample_lessons, path):
    lessons = sample_lessons
    path = path.format(dir=lessons.linked_dir, nb=lessons.outside_lesson, link=lessons.linked_lesson,
                       png=lessons.outside_picture)
    before = voila_server.kernels_started()
    status, body = http_get(voila_server.url + path)
    assert status in (403, 404), f"{path}: HTTP {status}"
    assert lessons.source_marker.encode() not in body
    assert voila_server.kernels_started() == before  # the notebook outside was not run


# --- malformed requests: an answer, not a traceback -------------------------------------------


@pytest.mark.parametrize("method, path, expected", [
    ("GET", "/logout", 404),
    ("GET", "/voila/api/contents/{nb}/checkpoints", 404),
    ("GET", "/voila/api/contents/{nb}/checkpoints/x", 404),
    ("GET", "/voila/templates/..%2f..%2f..%2fetc%2fpasswd", 404),
    ("GET", "/voila/templates/lab/static/..%2f..%2f..%2f..%2fetc%2fpasswd", 404),
    ("GET", "/voila/templates/lab", 404),
    ("GET", "/voila/templates/", 404),
    ("GET", "/voila/templates/no-such-template/static/x.js", 404),
    ("GET", "/voila/api/themes/", 404),
    ("GET", "/voila/labextensions/", 404),
    ("GET", "/api/kernels/00000000-0000-0000-0000-000000000000/channels", 404),
    ("GET", "/voila/render/%00", 400),
    ("GET", "/voila/files/%00", 400),
    ("GET", "/voila/tree/%ff", 400),
    ("FOO", "/", 405),
    ("PROPFIND", "/voila/render/{nb}", 405),
])
def test_malformed_requests_get_4xx_without_a_traceback(voila_server, sample_lessons, raw_request,
                                                       wait_for_log, method, path, expected):
    path = path.format(nb=sample_lessons.lesson)
    start = len(voila_server.log())
    status, _ = raw_request(voila_server, method, path)
    assert status == expected
    # Tornado logs a request once it is answered, after any traceback it caused.
    wait_for_log(voila_server, re.escape(f"{status} {method} {path} ("), start=start, timeout=30)
    new = voila_server.log()[start:]
    assert "Traceback" not in new and "Uncaught exception" not in new, new


def test_binds_loopback_only(voila_server):
    port = voila_server.port
    # Another loopback address reaches a 0.0.0.0 listener but not a 127.0.0.1 one.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.2", port), timeout=2).close()
    if not sys.platform.startswith("linux"):
        return
    listening = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                listening.append(address)
    assert listening, f"nothing listens on port {port}"
    # 0100007F is 127.0.0.1 in /proc's little-endian hex.
    assert set(listening) == {"0100007F"}, f"port {port} listens on {listening}"


# --- a lesson page in Chromium -------------------------------------------------------


@pytest.fixture(scope="module")
def click_page(module_page, open_lesson, sample_lessons):
    # The override query rides along, to check the rendered page ignores it too.
    return open_lesson(module_page, sample_lessons.lesson, query="?theme=dark&template=classic")


def test_lesson_page_ignores_theme_and_template_query(click_page):
    assert click_page.locator("body").get_attribute("data-jp-theme-name") == "JupyterLab Light"
    hrefs = click_page.eval_on_selector_all("link[rel=stylesheet]", "els => els.map(e => e.href)")
    assert not [h for h in hrefs if "/templates/classic/" in h or "theme-dark" in h], hrefs


def test_lesson_page_hides_code(click_page, sample_lessons):
    assert sample_lessons.source_marker not in click_page.content()
    assert click_page.get_by_text("Click test").is_visible()  # markdown is shown


def test_button_click_reaches_kernel_and_back(click_page):
    label = click_page.locator(".widget-label")
    assert label.inner_text() == "not clicked yet"
    click_page.locator(".widget-button", has_text="Click me").click()
    click_page.locator(".widget-label", has_text="clicked 1 time(s)").wait_for(timeout=30_000)
    click_page.locator(".widget-button").click()
    click_page.locator(".widget-label", has_text="clicked 2 time(s)").wait_for(timeout=30_000)


def test_the_servers_lesson_kernels_are_forked_from_its_template(click_page, voila_server):
    """Every kernel the server started for a page is a copy of the template the server
    started (tests/server/test_kernel_fork.py), run lean through kernel_launch.main
    (tests/server/test_kernel_launch.py)."""
    import psutil

    under_server = psutil.Process(voila_server.proc.pid).children(recursive=True)
    stand_ins = [k for k in under_server
                 if any(re.search(r"kernel-[0-9a-f-]{36}\.json$", part) for part in k.cmdline())]
    # a forked kernel shows the template's command line, but is the template's child
    templates = [k for k in under_server if "--template" in k.cmdline()
                 and "--template" not in psutil.Process(k.ppid()).cmdline()]
    assert stand_ins, "the lesson page's kernel is not running"
    assert len(templates) == 1, [k.cmdline() for k in under_server]
    forked = templates[0].children()
    assert len(forked) == len(stand_ins)
    for stand_in in stand_ins:
        cmd = stand_in.cmdline()
        assert cmd[1:3] == ["-I", "-S"] and cmd[3].endswith("kernel_fork.py"), cmd
        assert "ipykernel_launcher" not in " ".join(cmd)
