"""The kernel websocket refuses code: only widget (comm) messages reach a lesson's kernel.

Standalone Voilà tells jupyter_server to let through only ``comm_*``,
``kernel_info_request`` and ``shutdown_request`` from a browser; anything else, above
all an ``execute_request``, is logged ("... which is not allowed. Ignoring.") and dropped.
These tests check that on the real server: a lesson page is opened in Chromium (so that
Voilà starts its kernel and writes the kernel id into the page), then an attacker who
knows the id connects to ``/api/kernels/<id>/channels`` — from Python, and from the
page's own JavaScript — and sends an ``execute_request`` whose code would create a marker
file and change the page's label. Neither may happen; a ``kernel_info_request`` sent
right after on the same socket must be answered, which proves the socket was live.

The sockets speak the ``v1.kernel.websocket.jupyter.org`` protocol, like lesson pages: the
server refuses the older JSON ("legacy") protocol outright, which is tested too.

DNS rebinding: a page on someone else's site whose name is made to resolve to 127.0.0.1
sends that name in the ``Host`` header. The server answers 403 to every route for any name
that is not its own (loopback here), kernel websockets included, and no kernel starts;
Chromium is made to resolve such a name to 127.0.0.1 to show it from a real browser.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1, serialize_msg_to_ws_v1

from kmeans_tutor.server.lesson_kernels import WS_PROTOCOL

pytestmark = pytest.mark.browser

websocket = pytest.importorskip("websocket", reason="needs websocket-client")

REFUSED = 'Received message of type "execute_request", which is not allowed. Ignoring.'
WAIT_AFTER_REPLY_S = 3.0  # after kernel_info_reply, how long a late execute_reply may take
REPLY_TIMEOUT_S = 30.0


def attack_code(marker) -> str:
    """Code that, if it ever ran in the kernel, leaves traces we can see."""
    return (
        f"open({str(marker)!r}, 'w').write('pwned')\n"
        "import ipywidgets\n"
        "for w in list(ipywidgets.Widget.widgets.values()):\n"
        "    if isinstance(w, ipywidgets.Label):\n"
        "        w.value = 'PWNED'\n"
    )


def message(msg_type: str, content: dict, channel: str, session: str) -> dict:
    """A Jupyter message, with the channel it goes to."""
    return {
        "header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "attacker",
                   "session": session, "date": "2024-01-01T00:00:00.000000Z", "version": "5.3"},
        "parent_header": {},
        "metadata": {},
        "content": content,
        "buffers": [],
        "channel": channel,
    }


def to_wire(msg: dict) -> bytes:
    """``msg`` as a v1 websocket frame."""
    return serialize_msg_to_ws_v1(msg, msg["channel"], lambda part: json.dumps(part).encode())


def from_wire(frame: bytes) -> dict:
    """A v1 websocket frame as a message (header, parent_header, metadata, content)."""
    channel, parts = deserialize_msg_from_ws_v1(frame)
    header, parent, metadata, content = (json.loads(part) for part in parts[:4])
    return {"channel": channel, "header": header, "parent_header": parent, "metadata": metadata,
            "content": content}


def execute_request(code: str, channel: str, session: str) -> dict:
    return message("execute_request", {"code": code, "silent": False, "store_history": False,
                                       "user_expressions": {}, "allow_stdin": False,
                                       "stop_on_error": True}, channel, session)


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lesson_page(module_page, open_lesson, sample_lessons):
    return open_lesson(module_page, sample_lessons.lesson)


@pytest.fixture(scope="module")
def kernel_channels_url(lesson_page, voila_server) -> str:
    """``ws://127.0.0.1:PORT/api/kernels/<id>/channels`` of the page's kernel, read from the page."""
    config = json.loads(lesson_page.locator("#jupyter-config-data").text_content())
    kernel_id = config["kernelId"]
    assert kernel_id, config
    base = config.get("baseUrl", "/")
    return voila_server.url.replace("http://", "ws://", 1) + f"{base.rstrip('/')}/api/kernels/{kernel_id}/channels"


# --- assertions shared by both routes ----------------------------------------------------


def assert_not_executed(replies, execute_id: str, info_id: str, marker, page, voila_server):
    """``replies``: (msg_type, parent msg_id, content status or None) of every message received."""
    about_execute = [r for r in replies if r[1] == execute_id]
    # Not even a "busy" status or an execute_input: the request never reached the kernel.
    assert about_execute == [], f"the kernel answered the execute_request: {about_execute}"
    info = [r for r in replies if r[1] == info_id and r[0] == "kernel_info_reply"]
    assert info and info[0][2] == "ok", f"no kernel_info_reply: the socket was not live ({replies[:20]})"

    deadline = time.monotonic() + WAIT_AFTER_REPLY_S
    while time.monotonic() < deadline:
        assert not marker.exists(), "the execute_request ran: the marker file exists"
        time.sleep(0.2)
    assert not marker.exists(), "the execute_request ran: the marker file exists"
    assert "PWNED" not in page.locator(".widget-label").inner_text()

    log_deadline = time.monotonic() + 10
    while REFUSED not in voila_server.log() and time.monotonic() < log_deadline:
        time.sleep(0.2)
    assert REFUSED in voila_server.log(), "the server log does not show the execute_request refused"


# --- from Python ----------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["shell", "control"])
def test_execute_request_over_websocket_is_ignored(kernel_channels_url, lesson_page, voila_server,
                                                   tmp_path, channel):
    marker = tmp_path / f"pwned-{channel}"
    session = uuid.uuid4().hex
    execute = execute_request(attack_code(marker), channel, session)
    info = message("kernel_info_request", {}, "shell", session)
    ws = websocket.create_connection(f"{kernel_channels_url}?session_id={session}",
                                     timeout=REPLY_TIMEOUT_S, subprotocols=[WS_PROTOCOL])
    replies = []
    try:
        ws.send_binary(to_wire(execute))
        # Shell requests are handled in order: had the execute_request got through, its
        # reply would come before this one's.
        ws.send_binary(to_wire(info))
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        got_info_at = None
        while time.monotonic() < deadline:
            if got_info_at is not None and time.monotonic() > got_info_at + WAIT_AFTER_REPLY_S:
                break
            ws.settimeout(0.5)
            try:
                raw = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            msg = from_wire(raw)
            parent = (msg.get("parent_header") or {}).get("msg_id")
            replies.append((msg["header"]["msg_type"], parent, msg.get("content", {}).get("status")))
            if parent == info["header"]["msg_id"] and msg["header"]["msg_type"] == "kernel_info_reply":
                got_info_at = time.monotonic()
    finally:
        ws.close()
    assert_not_executed(replies, execute["header"]["msg_id"], info["header"]["msg_id"], marker,
                        lesson_page, voila_server)


# --- from the page's own JavaScript -----------------------------------------------------------

PAGE_ATTACK_JS = """
async ([url, protocol, execute, info, timeoutMs, afterMs]) => {
  // The v1 kernel websocket framing: part count and offsets (8-byte little-endian),
  // then the channel and the JSON parts.
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
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("websocket did not open"));
  });
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
    if (gotInfo !== null && performance.now() - gotInfo > afterMs) break;
    await new Promise(r => setTimeout(r, 100));
  }
  ws.close();
  return replies;
}
"""


def test_execute_request_from_page_javascript_is_ignored(kernel_channels_url, lesson_page, voila_server,
                                                        tmp_path):
    marker = tmp_path / "pwned-page"
    session = uuid.uuid4().hex
    execute = execute_request(attack_code(marker), "shell", session)
    info = message("kernel_info_request", {}, "shell", session)
    replies = lesson_page.evaluate(
        PAGE_ATTACK_JS,
        [f"{kernel_channels_url}?session_id={session}", WS_PROTOCOL, execute, info,
         REPLY_TIMEOUT_S * 1000, WAIT_AFTER_REPLY_S * 1000],
    )
    replies = [tuple(r) for r in replies]
    assert_not_executed(replies, execute["header"]["msg_id"], info["header"]["msg_id"], marker,
                        lesson_page, voila_server)


def test_legacy_websocket_protocol_is_refused(kernel_channels_url, lesson_page, voila_server):
    # Voilà would spin on the first picture sent over it (see kmeans_tutor.server.lesson_kernels).
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(f"{kernel_channels_url}?session_id={uuid.uuid4().hex}",
                                    timeout=REPLY_TIMEOUT_S)
    assert info.value.status_code == 400
    assert f"Refused a kernel websocket without the {WS_PROTOCOL} protocol" in voila_server.log()


def test_widgets_still_work_after_the_attempts(lesson_page):
    # The kernel is alive and the comm route (the one the lesson needs) still works.
    lesson_page.locator(".widget-button", has_text="Click me").click()
    lesson_page.locator(".widget-label", has_text="clicked 1 time(s)").wait_for(timeout=30_000)


# --- DNS rebinding: requests for someone else's name ----------------------------------------

FOREIGN_HOST = "evil.example.com"
REFUSED_HOST = "does not answer to the name"
NO_KERNEL = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize("method, path", [
    ("GET", "/"),
    ("GET", "/voila/render/{lesson}"),
    ("GET", "/voila/tree/"),
    ("GET", "/voila/api/contents/"),
    ("GET", "/voila/static/voila.js"),
    ("GET", "/voila/templates/lab/static/voila.js"),
    ("GET", "/voila/files/picture.png"),
    ("GET", "/voila/labextensions/@jupyter-widgets/jupyterlab-manager/package.json"),
    ("GET", "/api/kernels/{kernel}"),
    ("POST", "/voila/api/shutdown/{kernel}"),
    ("DELETE", "/api/kernels/{kernel}"),
    ("FOO", "/"),
])
@pytest.mark.parametrize("port", [True, False], ids=["with-port", "without-port"])
def test_a_foreign_host_is_refused_on_every_route(voila_server, sample_lessons, raw_request, method, path, port):
    path = path.format(lesson=sample_lessons.lesson, kernel=NO_KERNEL)
    host = f"{FOREIGN_HOST}:{voila_server.port}" if port else FOREIGN_HOST
    before = voila_server.kernels_started()
    status, body = raw_request(voila_server, method, path, host=host)
    assert status == 403, (path, status, body[:300])
    assert REFUSED_HOST.encode() in body and sample_lessons.source_marker.encode() not in body
    assert voila_server.kernels_started() == before  # the lesson was not run


@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}", "localhost"])
def test_this_servers_own_names_are_served(voila_server, raw_request, host):
    # The same request as above, for a name of this (loopback) server.
    status, body = raw_request(voila_server, "GET", "/voila/static/voila.js", host=host.format(port=voila_server.port))
    assert status == 200 and REFUSED_HOST.encode() not in body


def test_a_foreign_host_cannot_open_a_kernel_websocket(kernel_channels_url, voila_server):
    url = f"{kernel_channels_url}?session_id={uuid.uuid4().hex}"
    for host in (FOREIGN_HOST, f"{FOREIGN_HOST}:{voila_server.port}"):
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            websocket.create_connection(url, timeout=REPLY_TIMEOUT_S, subprotocols=[WS_PROTOCOL], host=host,
                                        origin=f"http://{host}")
        assert info.value.status_code == 403
    # The same socket for the server's own name opens (the page's kernel is alive).
    websocket.create_connection(url, timeout=REPLY_TIMEOUT_S, subprotocols=[WS_PROTOCOL]).close()
    assert f"Refused a request for host '{FOREIGN_HOST}" in voila_server.log()


def test_a_rebound_name_gets_403_in_chromium(browser, voila_server, sample_lessons, rebind_host):
    # What a victim's browser does once the attacker's name points at 127.0.0.1.
    context = browser.new_context()
    try:
        page = context.new_page()
        before = voila_server.kernels_started()
        response = page.goto(f"http://{rebind_host}:{voila_server.port}/voila/render/{sample_lessons.lesson}")
        assert response is not None and response.status == 403
        assert REFUSED_HOST in page.content()
        # Nor can the attacker's page reach the API with its own origin.
        status = page.evaluate("async () => (await fetch('/voila/api/contents/')).status")
        assert status == 403
        assert voila_server.kernels_started() == before
    finally:
        context.close()
