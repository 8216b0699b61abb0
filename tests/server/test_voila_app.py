"""The lesson server's Voilà application: which Host headers, methods and paths it answers.

:class:`HostFilter` is checked with this machine's names and addresses replaced by known
ones; :class:`LessonApplication` is run for real (Tornado on a free port, in a thread)
with a stand-in handler, so that a refusal is seen as an HTTP status. The whole server is
checked end to end in tests/browser (test_security.py, test_server.py).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import http.client
import socket
import threading

import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

from kmeans_tutor.server import voila_app
from kmeans_tutor.server.voila_app import HostFilter, LessonApplication, host_name, is_readable_path

Address = collections.namedtuple("Address", "family address netmask broadcast ptp")


@pytest.fixture
def laptop(monkeypatch):
    """This machine is "teacher-laptop" (FQDN teacher-laptop.school.lan) on 10.1.2.3 and fd00::5."""
    interfaces = {
        "lo": [Address(socket.AF_INET, "127.0.0.1", None, None, None),
               Address(socket.AF_INET6, "::1", None, None, None)],
        "wlan0": [Address(socket.AF_INET, "10.1.2.3", None, None, None),
                  Address(socket.AF_INET6, "fd00::5", None, None, None),
                  Address(socket.AF_INET6, "fe80::1%wlan0", None, None, None),
                  Address(getattr(socket, "AF_PACKET", 17), "02:00:00:00:00:01", None, None, None)],
    }
    monkeypatch.setattr(voila_app.psutil, "net_if_addrs", lambda: interfaces)
    monkeypatch.setattr(voila_app.socket, "gethostname", lambda: "Teacher-Laptop")
    monkeypatch.setattr(voila_app.socket, "getfqdn", lambda: "teacher-laptop.school.lan")
    return interfaces


# --- host names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("header, name", [
    ("localhost", "localhost"), ("LocalHost:8866", "localhost"), ("localhost.:8866", "localhost"),
    ("127.0.0.1:8866", "127.0.0.1"), ("[::1]:8866", "::1"), ("[0:0:0:0:0:0:0:1]", "::1"),
    ("[::ffff:127.0.0.1]:80", "127.0.0.1"), ("[fe80::1%25wlan0]:8866", "fe80::1"),
    ("Example.COM:443", "example.com"),
])
def test_host_name_is_one_spelling(header, name):
    assert host_name(header) == name


@pytest.mark.parametrize("host", [
    "localhost", "localhost:8866", "LOCALHOST.", "127.0.0.1:8866", "127.1.2.3", "[::1]:8866",
    "[0:0::1]", "[::ffff:127.0.0.1]:8866",
])
def test_loopback_names_are_always_allowed(laptop, host):
    assert HostFilter("127.0.0.1").allows(host)
    assert HostFilter("0.0.0.0").allows(host)


@pytest.mark.parametrize("host", [
    "evil.example.com", "evil.example.com:8866", "localhost.evil.example.com", "127.0.0.1.evil.example.com",
    "teacher-laptop:8866", "10.1.2.3:8866", "[fd00::5]:8866", "0.0.0.0:8866", "", "2130706433",
])
def test_a_loopback_server_refuses_every_other_name(laptop, host):
    # Bound to 127.0.0.1, only this machine can connect: its LAN names are not needed,
    # and a rebinding attacker's name never is.
    assert not HostFilter("127.0.0.1").allows(host)


@pytest.mark.parametrize("host", [
    "teacher-laptop:8866", "TEACHER-LAPTOP", "teacher-laptop.school.lan:8866", "10.1.2.3:8866",
    "[fd00::5]:8866", "[fe80::1]:8866",
])
def test_a_network_server_allows_this_machines_names_and_addresses(laptop, host):
    assert HostFilter("0.0.0.0").allows(host)
    assert HostFilter("::").allows(host)


@pytest.mark.parametrize("host", [
    "evil.example.com:8866", "10.1.2.4:8866", "0.0.0.0:8866", "[::]:8866", "teacher-laptop.evil.example.com",
    "school.lan",
])
def test_a_network_server_refuses_other_names(laptop, host):
    assert not HostFilter("0.0.0.0").allows(host)


def test_the_given_host_and_extra_names_are_allowed(laptop):
    named = HostFilter("kmeans.school.lan")
    assert named.allows("kmeans.school.lan:8866") and named.allows("teacher-laptop")
    # Extra names work for a loopback server too (a tunnel, a local alias).
    extra = HostFilter("127.0.0.1", ["Lessons.Local.", "192.168.7.7"])
    assert extra.allows("lessons.local:8866") and extra.allows("192.168.7.7:8866")
    assert not extra.allows("other.local")


def test_an_address_gained_after_start_up_is_allowed_on_the_network_only(laptop):
    network, local = HostFilter("0.0.0.0"), HostFilter("127.0.0.1")
    assert not network.allows("10.9.9.9")
    laptop["wlan1"] = [Address(socket.AF_INET, "10.9.9.9", None, None, None)]  # joined another Wi-Fi
    assert network.allows("10.9.9.9:8866")
    assert not local.allows("10.9.9.9:8866")


@pytest.mark.parametrize("path, readable", [
    ("/voila/render/01_a.ipynb", True), ("/voila/render/caf%C3%A9.ipynb", True), ("/a%20b", True),
    ("/voila/render/%00", False), ("/voila/tree/%ff", False), ("/x%0d%0aSet-Cookie:%20a", False),
    ("/voila/render/%c0%ae%c0%ae/x.ipynb", False),
])
def test_is_readable_path(path, readable):
    assert is_readable_path(path) is readable


# --- the application, over HTTP ---------------------------------------------------------------


class Hello(tornado.web.RequestHandler):
    def get(self, *args):
        self.write("hello")


@pytest.fixture(scope="module")
def app_port():
    """A LessonApplication for a loopback server, with one route ``/(.*)``, on a free port."""
    ready = concurrent.futures.Future()
    stopped = threading.Event()

    async def run():
        app = LessonApplication(HostFilter("127.0.0.1"), handlers=[(r"/(.*)", Hello)])
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets(sockets)
        ready.set_result(sockets[0].getsockname()[1])
        while not stopped.is_set():
            await asyncio.sleep(0.05)
        server.stop()

    # A thread with its own event loop: Playwright's sync API may hold the main thread's.
    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    yield ready.result(timeout=30)
    stopped.set()
    thread.join(timeout=10)


def request(port: int, method: str, path: str, host: str) -> tuple[int, bytes]:
    """Status and body of one request with exactly this method, raw path and Host header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        conn.putheader("Content-Length", "0")
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "OPTIONS", "FOO"])
def test_a_foreign_host_gets_403_whatever_the_method(app_port, method):
    status, body = request(app_port, method, "/voila/static/voila.js", "evil.example.com:8866")
    assert status == 403
    assert b"does not answer to the name 'evil.example.com:8866'" in body


def test_a_loopback_host_reaches_the_handler(app_port):
    assert request(app_port, "GET", "/anything", f"localhost:{app_port}") == (200, b"hello")
    assert request(app_port, "GET", "/anything", f"[::1]:{app_port}") == (200, b"hello")


@pytest.mark.parametrize("method, path, status", [
    ("FOO", "/", 405), ("PROPFIND", "/voila/render/01_a.ipynb", 405),
    ("GET", "/voila/tree/%ff", 400), ("GET", "/voila/render/%00", 400), ("HEAD", "/voila/files/%00", 400),
])
def test_odd_methods_and_unreadable_paths_are_refused_before_routing(app_port, method, path, status):
    assert request(app_port, method, path, "127.0.0.1")[0] == status


# --- templates compiled once -------------------------------------------------------------


def test_every_page_after_the_first_renders_from_compiled_templates(monkeypatch):
    """Voilà makes a new Jinja environment per page: the server compiles each template once,
    and a page rendered from the kept templates is the same page."""
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter

    monkeypatch.setattr(TemplateExporter, "_create_environment", TemplateExporter._create_environment)
    monkeypatch.setattr(voila_app, "_COMPILED", {})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A lesson\n\nSome *prose*."),
                                         nbformat.v4.new_code_cell("1 + 1")])
    plain, _ = HTMLExporter().from_notebook_node(nb)
    voila_app._compile_templates_once()
    voila_app._compile_templates_once()  # once is enough, twice changes nothing
    compiled = []
    original = jinja2.Environment._compile
    monkeypatch.setattr(jinja2.Environment, "_compile",
                        lambda self, source, filename: compiled.append(filename) or original(self, source, filename))
    first, _ = HTMLExporter().from_notebook_node(nb)
    assert compiled  # the first page compiles the templates
    compiled.clear()
    second, _ = HTMLExporter().from_notebook_node(nb)
    assert compiled == []  # a new exporter, a new environment: nothing compiled again
    assert first == second == plain


def test_a_markdown_cell_is_rendered_once_and_again_when_it_changes(tmp_path, monkeypatch):
    """Each Markdown cell's HTML is kept: a second page renders no Markdown and is the same
    page; an edited cell, or one showing an image file, is rendered afresh."""
    import base64
    import concurrent.futures

    import nbformat
    from jupyter_server.services.contents.filemanager import FileContentsManager
    from voila import exporter as voila_exporter
    from voila.exporter import VoilaExporter

    monkeypatch.setattr(VoilaExporter, "markdown2html", VoilaExporter.markdown2html)
    monkeypatch.setattr(voila_app, "RENDERED_MARKDOWN", voila_app.RenderedMarkdown())
    pixel = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
    (tmp_path / "dot.png").write_bytes(pixel)
    cells = [nbformat.v4.new_markdown_cell("# A lesson\n\nSome *prose* and $x^2$."),
             nbformat.v4.new_markdown_cell('<img src="data:image/png;base64,AAAA"/>\n\nA table drawn ahead.'),
             nbformat.v4.new_markdown_cell("A picture: ![dot](dot.png)")]
    nb = nbformat.v4.new_notebook(cells=cells)

    def render():
        exporter = VoilaExporter(template_name="lab", contents_manager=FileContentsManager(root_dir=str(tmp_path)))
        return exporter.from_notebook_node(nb)[0]

    def page():
        # Voilà's templates render asynchronously (Jinja runs its own event loop for a
        # plain render): in a thread of its own, whatever loop the tests left in this one.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(render).result()

    plain = page()
    voila_app._render_markdown_once()
    voila_app._render_markdown_once()  # once is enough, twice changes nothing
    rendered = []
    original = voila_exporter.MarkdownWithMath.render
    monkeypatch.setattr(voila_exporter.MarkdownWithMath, "render",
                        lambda self, source: rendered.append(source) or original(self, source))
    assert page() == plain
    assert len(rendered) == 3  # the first page renders every cell
    rendered.clear()
    assert page() == plain
    assert rendered == ["A picture: ![dot](dot.png)"]  # only the one that reads a file
    rendered.clear()
    (tmp_path / "dot.png").write_bytes(pixel[:-1] + b"!")  # a new picture is seen at once
    assert page() != plain
    nb.cells[0].source = "# A lesson\n\nOther *prose*."
    rendered.clear()
    assert "Other <em>prose</em>" in page()
    assert rendered == ["# A lesson\n\nOther *prose*.", "A picture: ![dot](dot.png)"]


def test_kept_markdown_stays_within_its_limit():
    kept = voila_app.RenderedMarkdown(limit=100)
    keys = [(object, None, "¶", f"text {i}" * 3, "{}") for i in range(10)]
    for key in keys:
        kept.put(key, "<p>" + "x" * 20 + "</p>")
    assert kept._size <= 100
    assert kept.get(keys[0]) is None and kept.get(keys[-1]) is not None  # the oldest went first
    kept.put(keys[1], "y" * 500)  # bigger than the whole limit: not kept
    assert kept.get(keys[1]) is None


def test_an_edited_template_is_compiled_again(tmp_path, monkeypatch):
    import jinja2

    monkeypatch.setattr(voila_app, "_COMPILED", {})
    page = tmp_path / "page.j2"
    page.write_text("Hello {{ name }}")

    def render():
        env = voila_app.keep_compiled_templates(jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path))))
        return env.get_template("page.j2").render(name="class")

    assert render() == "Hello class"
    page.write_text("Good morning {{ name }}")
    assert render() == "Good morning class"
    # Environments that compile differently never share compiled code.
    async_env = voila_app.keep_compiled_templates(jinja2.Environment(enable_async=True))
    sync_env = voila_app.keep_compiled_templates(jinja2.Environment())
    assert async_env.bytecode_cache is not sync_env.bytecode_cache


@pytest.mark.parametrize("options, debug", [([], False), (["--debug"], True),
                                            (["--Voila.log_level=WARN"], False)])
def test_the_servers_logger_makes_no_debug_records_unless_asked(options, debug, tmp_path):
    """traitlets leaves the logger at DEBUG and filters on its handler; here the logger
    itself is at the log level, so a debug call (one per kernel message) costs nothing."""
    import logging

    app = voila_app.LessonVoila()
    try:
        app.initialize([str(tmp_path), "--no-browser", *options])
        assert app.log.isEnabledFor(logging.DEBUG) is debug
        assert app.log.getEffectiveLevel() == min(h.level for h in app.log.handlers)
    finally:
        voila_app.LessonVoila.clear_instance()
