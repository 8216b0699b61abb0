"""Fixtures for tests that drive served lessons in a real headless Chromium.

* ``voila_server``: a session-wide ``kmeans-tutor serve`` on a free port, serving a
  tiny generated lesson folder (``sample_lessons``, which also holds links that lead out
  of it), with short cull and connect-grace settings.
  ``start_server(folder, log_path, extra_args=())`` (the fixture behind it) starts one
  on any folder with any options, e.g. the real lessons.
* Playwright (pytest-playwright's ``browser``/``page``) launches Debian's
  ``/usr/bin/chromium`` (override with ``KMEANS_TUTOR_CHROMIUM``) with flags that stop
  it from calling home, and that resolve ``REBIND_HOST`` to 127.0.0.1 (what a DNS
  rebinding attacker arranges). ``base_url`` is the server's, so ``page.goto("/")`` works.
* ``open_lesson(page, "01_x.ipynb")`` loads a lesson and waits until it is ready.

Without Playwright, pytest-playwright or Chromium, tests that need a browser are
skipped, unless ``KMEANS_TUTOR_REQUIRE_BROWSER=1`` (set by CI), which makes them fail.

Environment knobs: ``KMEANS_TUTOR_TEST_CULL_INTERVAL`` (default 5 s),
``KMEANS_TUTOR_TEST_CULL_IDLE_TIMEOUT`` (default 30 s) and
``KMEANS_TUTOR_TEST_CONNECT_GRACE`` (default 30 s) for the test server.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

BROWSER_DIR = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("KMEANS_TUTOR_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("KMEANS_TUTOR_REQUIRE_BROWSER", "") == "1"
# A name of someone else's site that Chromium resolves to 127.0.0.1, as DNS rebinding makes
# a victim's browser do (.test is reserved: it never resolves for real).
REBIND_HOST = "rebind.kmeans-tutor.test"
CHROMIUM_ARGS = [
    "--no-sandbox",  # runs as root in CI, where the sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    f"--host-resolver-rules=MAP {REBIND_HOST} 127.0.0.1",
]
# Fixtures that mean "this test drives a browser".
_BROWSER_FIXTURES = {"browser", "page", "context", "new_context", "module_page", "launch_browser"}

# A string that sits only in a code cell's source of the test lesson: it must never
# reach a response (sources are stripped; notebooks are not downloadable).
SOURCE_MARKER = "SOURCE-MARKER-do-not-serve-7f3a9c"
TEST_LESSON = "01_click.ipynb"
# In the name of a folder and a notebook outside the lessons folder that links lead to.
OUTSIDE_MARKER = "outside-the-lessons-4d1e"


# --- browser availability ------------------------------------------------------------


def browser_problem(config: pytest.Config) -> str | None:
    """Why a browser test cannot run here, or None when it can."""
    if importlib.util.find_spec("playwright") is None:
        return "the Python package 'playwright' is not installed (pip install playwright pytest-playwright)"
    if not config.pluginmanager.hasplugin("playwright"):
        return "the pytest plugin 'pytest-playwright' is not installed or not loaded (pip install pytest-playwright)"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set KMEANS_TUTOR_CHROMIUM)"
    return None


def pytest_collection_modifyitems(config, items):
    # Everything in tests/browser is a browser test, even a module that forgot pytestmark.
    for item in items:
        if BROWSER_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Runs before fixtures are set up, so a missing pytest-playwright (no `page`
    # fixture at all) is reported here too, not as "fixture 'page' not found".
    if not _BROWSER_FIXTURES & set(item.fixturenames):
        return
    problem = browser_problem(item.config)
    if problem is None:
        return
    if REQUIRE_BROWSER:
        pytest.fail(f"KMEANS_TUTOR_REQUIRE_BROWSER=1 but {problem}", pytrace=False)
    pytest.skip(f"browser test: {problem}")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options (``--headed``, ``--slowmo``) plus Debian's Chromium."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": list(CHROMIUM_ARGS)}


# --- test lessons ----------------------------------------------------------------------


def write_click_lesson(path: Path) -> Path:
    """A one-cell lesson: a Button and a Label that counts the clicks."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Click test\n\nA button and a label."),
        nbformat.v4.new_code_cell(
            f"# {SOURCE_MARKER}\n"
            "import ipywidgets as widgets\n"
            "button = widgets.Button(description='Click me')\n"
            "label = widgets.Label('not clicked yet')\n"
            "clicks = 0\n"
            "def on_click(_):\n"
            "    global clicks\n"
            "    clicks += 1\n"
            "    label.value = f'clicked {clicks} time(s)'\n"
            "button.on_click(on_click)\n"
            "widgets.VBox([button, label])"
        ),
    ]
    nbformat.write(nb, str(path))
    return path


@dataclass(frozen=True)
class LessonFolder:
    """The generated lesson folder and what the tests need to know about it."""

    path: Path
    lesson: str = TEST_LESSON  # the notebook's file name
    helper: str = "helper.py"  # a Python file next to it
    source_marker: str = SOURCE_MARKER  # in both files' source only
    # Links in the folder that lead out of it, to a folder holding a notebook and a picture.
    linked_dir: str = f"{OUTSIDE_MARKER}-dir"
    linked_lesson: str = f"02_{OUTSIDE_MARKER}.ipynb"
    outside_lesson: str = f"{OUTSIDE_MARKER}.ipynb"  # in the linked folder
    outside_picture: str = f"{OUTSIDE_MARKER}.png"  # in the linked folder


@pytest.fixture(scope="session")
def sample_lessons(tmp_path_factory) -> LessonFolder:
    """A lesson folder made for the harness: ``01_click.ipynb``, a ``helper.py``, and two links
    that lead outside it (to a folder and to a notebook), which the server must not follow."""
    folder = tmp_path_factory.mktemp("lessons")
    lessons = LessonFolder(folder)
    write_click_lesson(folder / TEST_LESSON)
    (folder / "helper.py").write_text(f"# {SOURCE_MARKER}\n")
    outside = tmp_path_factory.mktemp("outside")
    write_click_lesson(outside / lessons.outside_lesson)
    (outside / lessons.outside_picture).write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / lessons.linked_dir).symlink_to(outside, target_is_directory=True)
    (folder / lessons.linked_lesson).symlink_to(outside / lessons.outside_lesson)
    return lessons


# --- the server ----------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class VoilaServer:
    """A running lesson server."""

    url: str  # http://127.0.0.1:PORT, no trailing slash
    host: str
    port: int
    lessons_dir: Path
    proc: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(errors="replace")

    def kernels_started(self) -> int:
        """How many kernels the server has started so far (its log says each)."""
        return len(re.findall(r"Kernel started: ", self.log()))


def _wait_for_port(host: str, port: int, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _stop_group(proc: subprocess.Popen) -> None:
    """Stop the server and Voilà under it (its own process group); Voilà shuts its kernels down."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def start_lesson_server(lessons_dir, log_path: Path, *, extra_args=(), startup_timeout: float = 90.0):
    """Run ``kmeans-tutor serve`` on ``lessons_dir`` at a free port; yield a :class:`VoilaServer`."""
    host = "127.0.0.1"
    port = free_port(host)
    cmd = [
        sys.executable, "-m", "kmeans_tutor.cli", "serve",
        "--no-browser",
        "--port", str(port),
        "--lessons-dir", str(lessons_dir),
        "--cull-interval", os.environ.get("KMEANS_TUTOR_TEST_CULL_INTERVAL", "5"),
        "--cull-idle-timeout", os.environ.get("KMEANS_TUTOR_TEST_CULL_IDLE_TIMEOUT", "30"),
        "--connect-grace", os.environ.get("KMEANS_TUTOR_TEST_CONNECT_GRACE", "30"),
        "--show-tracebacks",
        *extra_args,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("KMEANS_TUTOR_REQUIRE_BROWSER", None)
    with open(log_path, "wb") as log:
        # Its own session, so teardown can stop the CLI and Voilà together.
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = VoilaServer(f"http://{host}:{port}", host, port, Path(lessons_dir), proc, Path(log_path))
    try:
        if not _wait_for_port(host, port, proc, startup_timeout):
            raise RuntimeError(
                f"the lesson server did not open port {port} within {startup_timeout:g} s "
                f"(exit code {proc.poll()}); its output:\n{server.log()}"
            )
        yield server
    finally:
        _stop_group(proc)


@pytest.fixture(scope="session")
def start_server():
    """:func:`start_lesson_server`, for a module that needs a server of its own."""
    return start_lesson_server


@pytest.fixture(scope="session")
def voila_server(sample_lessons, tmp_path_factory):
    """A lesson server on the generated test lessons, shared by the whole session."""
    log_path = tmp_path_factory.mktemp("voila-log") / "server.log"
    with start_lesson_server(sample_lessons.path, log_path) as server:
        yield server


@pytest.fixture(scope="session")
def rebind_host() -> str:
    """A foreign name that this session's Chromium resolves to 127.0.0.1 (DNS rebinding)."""
    return REBIND_HOST


def _raw_request(server: VoilaServer, method: str, path: str, host: str | None = None,
                 headers: dict | None = None) -> tuple[int, bytes]:
    """Status and body of one request to ``server`` sent exactly as given: any method, the
    path unnormalised (``..%2f`` stays), ``Host`` as given (default: the server's own)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=90)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host or f"{server.host}:{server.port}")
        for name, value in {"Content-Length": "0", **(headers or {})}.items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _wait_for_log(server: VoilaServer, pattern: str, count: int = 1, timeout: float = 90.0,
                  start: int = 0) -> list[str]:
    """Wait until the server log (from character ``start`` on) holds ``count`` matches of
    ``pattern``; return them all."""
    deadline = time.monotonic() + timeout
    while True:
        found = re.findall(pattern, server.log()[start:])
        if len(found) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(found) >= count, f"no {count}× {pattern!r} within {timeout:g} s; log:\n{server.log()[-3000:]}"
    return found


@pytest.fixture(scope="session")
def raw_request():
    """``raw_request(server, method, path, host=None, headers=None) -> (status, body)``: one
    request sent exactly as given (odd methods, unnormalised paths, any Host)."""
    return _raw_request


@pytest.fixture(scope="session")
def wait_for_log():
    """``wait_for_log(server, pattern, count=1, timeout=90, start=0) -> matches``: wait until the
    server log holds ``count`` matches of ``pattern`` (from character ``start`` on)."""
    return _wait_for_log


@pytest.fixture(scope="session")
def base_url(voila_server) -> str:
    """Playwright resolves ``page.goto("/...")`` against the test server."""
    return voila_server.url


# --- pages ---------------------------------------------------------------------------------


LOAD_TIMEOUT_MS = 90_000  # cold render is ~5 s on 2 cores; leave room for a busy CI box

# True when no code cell is waiting for a widget: Voilà's progressive renderer empties a
# cell's placeholder and marks the cell as having outputs as soon as they arrive, but
# keeps a widget view back until the widget's model is registered in the page; until
# then the cell's output area is empty.
NO_WIDGET_PENDING_JS = """
() => ![...document.querySelectorAll('[cell-index] > .jp-CodeCell:not(.jp-mod-noOutputs)')]
  .some(cell => {
    const areas = [...cell.querySelectorAll('.jp-Cell-outputArea')];
    return areas.length > 0 && areas.every(area => area.children.length === 0);
  })
"""


def _open_lesson(page, notebook: str, query: str = "", timeout: float = LOAD_TIMEOUT_MS):
    """Load ``/voila/render/<notebook>`` and wait until Voilà has finished rendering it."""
    response = page.goto(f"/voila/render/{notebook}{query}", timeout=timeout)
    assert response is not None and response.ok, f"GET {notebook}: HTTP {response and response.status}"
    page.wait_for_selector("#loading", state="detached", timeout=timeout)
    # Rendered progressively (no preheated kernel), the page is shown before its cells
    # have run: each cell keeps a placeholder until its output has arrived.
    page.wait_for_function("() => !document.querySelector('.voila-skeleton-container')",
                           timeout=timeout, polling=100)
    # A cell's placeholder goes when its outputs arrive, but a widget among them is shown
    # only once the page has the widget's model, perhaps a moment later.
    page.wait_for_function(NO_WIDGET_PENDING_JS, timeout=timeout, polling=100)
    # A failed render shows .voila-error; an exception in a cell shows as an
    # error output (stderr mime type) instead, so look for both.
    errors = page.locator('.voila-error, [data-mime-type="application/vnd.jupyter.stderr"]')
    assert errors.count() == 0, f"{notebook} rendered with errors:\n" + "\n".join(errors.all_inner_texts())
    return page


@pytest.fixture(scope="session")
def open_lesson():
    """``open_lesson(page, "01_x.ipynb", query="")``: load a lesson and wait until it is ready.

    Each load starts a kernel: reuse one page per lesson in a module (``module_page``).
    """
    return _open_lesson


@pytest.fixture(scope="session")
def lesson_alone(browser, start_server, tmp_path_factory):
    """``with lesson_alone("04_x.ipynb") as page``: one lesson of the real lessons folder on a
    server of its own, loaded in a 1280 × 720 page (for a module that clicks a lot in one app)."""

    @contextmanager
    def serve(notebook: str):
        log_path = tmp_path_factory.mktemp("lesson-server") / "server.log"
        with start_server(Path(__file__).resolve().parents[2] / "lessons", log_path) as server:
            context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 720})
            context.set_default_timeout(30_000)
            try:
                page = context.new_page()
                _open_lesson(page, notebook)
                yield page
            finally:
                context.close()

    return serve


@pytest.fixture(scope="module")
def module_page(browser, base_url):
    """One page for a whole test module (each lesson load costs a kernel)."""
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()
