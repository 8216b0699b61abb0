"""The lesson server, end to end: what it serves, what it refuses, and widget comms.

Runs against ``voila_server`` (``kmeans-tutor serve`` on a generated one-lesson folder,
see conftest.py). The HTTP checks use urllib; the page checks use Chromium.
"""

from __future__ import annotations

import json
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


def test_tree_listing_loads_in_chromium(page, sample_lessons):
    response = page.goto("/")
    assert response is not None and response.status == 200
    # The listing is drawn by JavaScript from /voila/api/contents: seeing the file's name
    # proves the page's scripts ran and talked to the server.
    page.get_by_text(sample_lessons.lesson).wait_for(state="visible", timeout=30_000)
    # Only notebooks are listed, not the Python helper next to them.
    assert page.get_by_text(sample_lessons.helper).count() == 0


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
    status, body = http_get(f"{voila_server.url}/{query}")
    assert status == 200
    assert forbidden not in body
    assert b"theme-light.css" in body
    assert b"voila/templates/kmeans-tutor/" in body


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
        assert status in (403, 404, 500), f"{path}: unexpected HTTP {status}"


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
