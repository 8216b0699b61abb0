"""The lessons through JupyterHub, end to end (deploy/jupyterhub/jupyterhub_config.py).

Starts the real Hub, configurable-http-proxy, idle culler and one server per student from
the shipped config, on 127.0.0.1 with free ports and a temporary state folder, then:
two students log in in separate Chromium contexts, each opens lesson 4 through the proxy and
steps the stepper; each student's server is their own process; one student cannot reach the
other's server; an execute_request over the kernel websocket is refused; the idle culler stops
a student's server once it is idle. Every process started is stopped at the end.

Skipped (with the reason) when jupyterhub, jhsingle-native-proxy, jupyterhub-idle-culler,
configurable-http-proxy (``.venv/hub/node``, ``KMEANS_TUTOR_CHP`` or PATH), Playwright or Chromium
is missing (``deploy/jupyterhub/install.sh``, run by ``make hub`` and ``.ci/run``, installs them).
"""

from __future__ import annotations

from functools import partial

import importlib.util
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from tests.browser.waiting import wait_until as _wait_until
from tests.browser.waiting import wait_until_steady

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "jupyterhub" / "jupyterhub_config.py"
CHROMIUM = os.environ.get("KMEANS_TUTOR_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "throw-away-" + uuid.uuid4().hex[:8]
CULL_TIMEOUT = 30  # seconds idle before the culler stops a student's server (600 in the shipped config)
STUDENTS = ("alice", "bob")
WS_PROTOCOL = "v1.kernel.websocket.jupyter.org"
REFUSED = 'Received message of type "execute_request", which is not allowed. Ignoring.'


def _chp() -> str | None:
    for candidate in (os.environ.get("KMEANS_TUTOR_CHP"),
                      str(ROOT / ".venv" / "hub" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"),
                      shutil.which("configurable-http-proxy")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _missing() -> str | None:
    for module, package in (("jupyterhub", "jupyterhub"), ("jhsingle_native_proxy", "jhsingle-native-proxy"),
                            ("jupyterhub_idle_culler", "jupyterhub-idle-culler"),
                            ("playwright", "playwright"), ("pytest_playwright", "pytest-playwright"),
                            ("PIL", "pillow"), ("psutil", "psutil")):
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed (pip install -e '.[hub]')"
    if _chp() is None:
        return ("configurable-http-proxy is not installed (npm install --prefix .venv/hub/node "
                "configurable-http-proxy, or set KMEANS_TUTOR_CHP)")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM}"
    return None


if (_why := _missing()) is not None:
    pytest.skip(f"hub test: {_why}", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


wait_until = partial(_wait_until, timeout=120, interval=0.5)


class Hub:
    def __init__(self, state: Path):
        import psutil

        self.psutil = psutil
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = state / "hub.log"
        env = {
            **os.environ,
            "KMEANS_TUTOR_HUB_DIR": str(state),
            "KMEANS_TUTOR_HUB_PORT": str(self.port),
            "KMEANS_TUTOR_HUB_API_PORT": str(free_port()),
            "KMEANS_TUTOR_PROXY_API_PORT": str(free_port()),
            "KMEANS_TUTOR_HUB_PASSWORD": PASSWORD,
            "KMEANS_TUTOR_CHP": _chp(),
            "KMEANS_TUTOR_CULL_TIMEOUT": str(CULL_TIMEOUT),
            "KMEANS_TUTOR_CULL_EVERY": "5",
            "KMEANS_TUTOR_HUB_ACTIVITY": "5",
            "KMEANS_TUTOR_HUB_LAST_ACTIVITY": "5",
        }
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)], cwd=state, env=env,
            stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True)
        self.seen: dict[int, object] = {}
        try:
            wait_until(self._up, "JupyterHub to answer", timeout=90)
        except BaseException:
            self.stop()
            raise

    def _up(self):
        if self.proc.poll() is not None:
            pytest.fail(f"JupyterHub exited ({self.proc.returncode}):\n{self.log()[-3000:]}")
        try:
            import urllib.request

            with urllib.request.urlopen(self.url + "/hub/api/", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def processes(self):
        """Every live process under the Hub (remembered, so that stop() ends them all)."""
        try:
            kids = self.psutil.Process(self.proc.pid).children(recursive=True)
        except self.psutil.NoSuchProcess:
            kids = []
        for k in kids:
            self.seen.setdefault(k.pid, k)
        return kids

    def student_server(self, name: str):
        """The student's server process (kmeans_singleuser.py), or None."""
        for k in self.processes():
            try:
                if any("kmeans_singleuser.py" in a for a in k.cmdline()) and \
                        k.environ().get("JUPYTERHUB_USER") == name:
                    return k
            except (self.psutil.NoSuchProcess, self.psutil.AccessDenied):
                continue
        return None

    def stop(self):
        self.processes()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        # JupyterHub 6 can hang in "Cleaning up services" on SIGTERM: end what is left.
        for k in list(self.seen.values()) + [self.proc]:
            try:
                k.kill()
            except Exception:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        for k in self.seen.values():
            try:
                k.wait(10)
            except Exception:
                pass
        self.log_file.close()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = Hub(tmp_path_factory.mktemp("hub"))
    yield h
    h.stop()
    alive = [k.pid for k in h.seen.values() if k.is_running() and k.status() != "zombie"]
    assert not alive, f"processes left running after the Hub stopped: {alive}"


@pytest.fixture(scope="module")
def chromium(browser):
    """pytest-playwright's session browser (Debian's Chromium, see conftest.py)."""
    return browser


def login(context, hub, name: str):
    page = context.new_page()
    page.goto(hub.url + "/hub/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    t0 = time.monotonic()
    page.click("input[type=submit], button[type=submit]")
    # The Hub spawns the student's server and lands them on the course page.
    page.wait_for_url(re.compile(rf".*/user/{name}/$"), timeout=120_000)
    page.wait_for_selector("a[href*='lesson/4']", timeout=60_000)
    return page, time.monotonic() - t0


@pytest.fixture(scope="module")
def students(hub, chromium):
    out = {}
    for name in STUDENTS:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        page, seconds = login(context, hub, name)
        out[name] = {"context": context, "page": page, "login_s": seconds}
    yield out
    for s in out.values():
        try:
            s["context"].close()
        except Exception:
            pass


def pixels(locator) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(locator.screenshot(animations="disabled"))) as im:
        return im.convert("RGB").tobytes()


def button(scope, label: str):
    return scope.locator("button.widget-button", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))


@pytest.fixture(scope="module")
def lesson4(students):
    """Each student's page on lesson 4, opened from the course page; seconds to a usable stepper."""
    for name, s in students.items():
        page = s["page"]
        t0 = time.monotonic()
        page.click("a[href*='lesson/4']")
        page.wait_for_url(re.compile(rf".*/user/{name}/lesson/4$"), timeout=60_000)
        button(page, "step").first.wait_for(state="visible", timeout=180_000)
        s["lesson_s"] = time.monotonic() - t0
    return students


def test_each_student_steps_lesson_4_through_the_proxy(lesson4, hub):
    for name, s in lesson4.items():
        page = s["page"]
        assert page.url.startswith(f"{hub.url}/user/{name}/"), page.url
        step = button(page, "step").first
        app = page.locator(".widget-vbox", has=step).first
        readout = app.locator(".widget-html", has_text="phase").first
        canvas = app.locator(".jupyter-matplotlib-canvas-div canvas, canvas").first
        canvas.scroll_into_view_if_needed()
        before_text = readout.inner_text()
        # The first picture may still be on its way (it waits for the page's width).
        before = wait_until_steady(lambda: pixels(canvas), f"{name}: the first picture", timeout=60)
        step.click()
        wait_until(lambda: readout.inner_text() != before_text, f"{name}: the readout to change after 'step'")
        wait_until(lambda: pixels(canvas) != before, f"{name}: the picture to change after 'step'", timeout=60)
        print(f"{name}: course page after login {s['login_s']:.1f} s, lesson 4 usable {s['lesson_s']:.1f} s")


def test_no_editor_file_browser_or_terminal(lesson4, hub):
    page = lesson4["alice"]["page"]
    ctx = lesson4["alice"]["context"]
    for path in ("lab", "tree", "terminals/1", "api/contents", "edit/lessons/04_kmeans_step_by_step.ipynb",
                 "notebooks/lessons/04_kmeans_step_by_step.ipynb", "api/terminals", "api/sessions"):
        r = ctx.request.get(f"{hub.url}/user/alice/{path}", max_redirects=0)
        assert r.status in (403, 404, 405), f"/user/alice/{path}: {r.status}"
    assert page.locator(".jp-Notebook .jp-InputArea-editor, .CodeMirror, .cm-editor").count() == 0


def test_each_student_has_their_own_server_process(lesson4, hub):
    servers = {name: hub.student_server(name) for name in STUDENTS}
    assert all(servers.values()), servers
    pids = {name: p.pid for name, p in servers.items()}
    for name, p in servers.items():
        rss = sum(q.memory_info().rss for q in [p, *p.children(recursive=True)]) / 1e6
        print(f"{name}: {rss:.0f} MB RSS for the student's whole server (proxy, Voila, lesson 4 kernel)")
    assert len(set(pids.values())) == len(STUDENTS), pids
    for name, p in servers.items():
        kernels = [k for k in p.children(recursive=True)
                   if any(re.search(r"kernel-[0-9a-f-]{36}\.json$", a) for a in k.cmdline())]
        assert kernels, f"{name}'s server runs no kernel"
        for k in kernels:  # the Hub's credentials stay with the student's proxy
            assert "JUPYTERHUB_API_TOKEN" not in k.environ(), f"{name}'s kernel holds the Hub API token"
        # and no kernel of this student's runs under the other student's server
        others = [q for n, q in servers.items() if n != name]
        for k in kernels:
            assert all(k.pid not in {c.pid for c in q.children(recursive=True)} for q in others)


def test_a_student_cannot_reach_another_students_server(lesson4, hub):
    ctx = lesson4["alice"]["context"]
    for path in ("", "lesson/4"):
        # bob's server sends alice to the Hub's OAuth, which refuses her: 403, and no lesson.
        r = ctx.request.get(f"{hub.url}/user/bob/{path}")
        assert r.status == 403, f"alice got /user/bob/{path}: {r.status} {r.url}"
        assert "kt-keys-app" not in r.text() and "course page" not in r.text()
    assert "not allowed to access Server at /user/bob/" in hub.log()


ATTACK_JS = """
async ([url, protocol, execute, info, timeoutMs]) => {
  const enc = new TextEncoder(), dec = new TextDecoder();
  const toWire = (msg) => {
    const parts = [msg.channel, ...[msg.header, msg.parent_header, msg.metadata, msg.content]
                   .map(p => JSON.stringify(p))].map(p => enc.encode(p));
    const offsets = [8 * (2 + parts.length)];
    for (const p of parts) offsets.push(offsets[offsets.length - 1] + p.length);
    const buf = new Uint8Array(offsets[offsets.length - 1]);
    const view = new DataView(buf.buffer);
    view.setBigUint64(0, BigInt(offsets.length), true);
    offsets.forEach((o, i) => view.setBigUint64(8 * (i + 1), BigInt(o), true));
    parts.forEach((p, i) => buf.set(p, offsets[i]));
    return buf;
  };
  const fromWire = (data) => {
    const view = new DataView(data);
    const n = Number(view.getBigUint64(0, true));
    const offs = [...Array(n).keys()].map(i => Number(view.getBigUint64(8 * (i + 1), true)));
    const part = (i) => JSON.parse(dec.decode(new Uint8Array(data, offs[i], offs[i + 1] - offs[i])));
    return {header: part(1), parent_header: part(2), content: part(4)};
  };
  const replies = [];
  const ws = new WebSocket(url, [protocol]);
  ws.binaryType = "arraybuffer";
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error("no websocket")); });
  let gotInfo = null;
  ws.onmessage = (event) => {
    const msg = fromWire(event.data);
    const parent = (msg.parent_header || {}).msg_id || null;
    replies.push([msg.header.msg_type, parent, (msg.content || {}).status || null]);
    if (parent === info.header.msg_id && msg.header.msg_type === "kernel_info_reply") gotInfo = performance.now();
  };
  ws.send(toWire(execute));
  ws.send(toWire(info));
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (gotInfo !== null && performance.now() - gotInfo > 3000) break;
    await new Promise(r => setTimeout(r, 100));
  }
  ws.close();
  return replies;
}
"""


def _message(msg_type: str, content: dict, session: str) -> dict:
    return {"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "attacker",
                       "session": session, "date": "2024-01-01T00:00:00.000000Z", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "content": content, "buffers": [], "channel": "shell"}


def test_execute_request_over_the_kernel_websocket_is_refused(lesson4, hub, tmp_path):
    page = lesson4["alice"]["page"]
    config = json.loads(page.locator("#jupyter-config-data").text_content())
    kernel_id, base = config["kernelId"], config.get("baseUrl", "/")
    assert kernel_id and base.rstrip("/").endswith("/user/alice"), config
    url = hub.url.replace("http://", "ws://", 1) + f"{base.rstrip('/')}/api/kernels/{kernel_id}/channels"
    marker = tmp_path / "pwned"
    session = uuid.uuid4().hex
    execute = _message("execute_request", {"code": f"open({str(marker)!r}, 'w').write('pwned')",
                                           "silent": False, "store_history": False, "user_expressions": {},
                                           "allow_stdin": False, "stop_on_error": True}, session)
    info = _message("kernel_info_request", {}, session)
    replies = [tuple(r) for r in page.evaluate(
        ATTACK_JS, [f"{url}?session_id={session}", WS_PROTOCOL, execute, info, 30_000])]
    about_execute = [r for r in replies if r[1] == execute["header"]["msg_id"]]
    assert about_execute == [], f"the kernel answered the execute_request: {about_execute}"
    got_info = [r for r in replies if r[1] == info["header"]["msg_id"] and r[0] == "kernel_info_reply"]
    assert got_info, f"no kernel_info_reply: the socket through the Hub was not live ({replies[:20]})"
    time.sleep(2)
    assert not marker.exists(), "the execute_request ran"
    wait_until(lambda: REFUSED in hub.log(), "the refusal in the student's server log", timeout=15)


def test_the_culler_stops_an_idle_students_server(lesson4, hub):
    server = hub.student_server("alice")
    assert server is not None
    lesson4["alice"]["context"].close()  # alice leaves: no traffic from now on
    t0 = time.monotonic()
    wait_until(lambda: not server.is_running() or server.status() == "zombie",
               "the idle culler to stop alice's server", timeout=CULL_TIMEOUT + 150, interval=2)
    print(f"alice's server culled {time.monotonic() - t0:.0f} s after she left (timeout {CULL_TIMEOUT} s)")
    assert re.search(r"Culling server alice|culling.*alice", hub.log(), re.I), "the culler's log does not name alice"
