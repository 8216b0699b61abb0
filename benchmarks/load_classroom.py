"""A class of 30 students on one laptop's lesson server: latency, errors and memory.

Run with ``python benchmarks/load_classroom.py`` (about 3–5 minutes; needs ``psutil``, and
for ``--clients browser`` Debian's ``chromium`` and ``playwright``). Not part of ``make
bench``: it is long and loads the machine on purpose.

What it does
------------
1. Starts Voilà on the real ``lessons/`` folder exactly as ``kmeans-tutor serve`` does
   (the copy with its fixed figures drawn in advance, :mod:`kmeans_tutor.server.predrawn`)
   (:func:`kmeans_tutor.server.serve.build_voila_command` and :func:`~kmeans_tutor.server.serve.voila_env`;
   127.0.0.1, a free port) with short cull settings for the run: ``cull_interval`` 10 s,
   ``cull_idle_timeout`` 60 s, and no cap on kernels, so that every student is measured.
   ``--pool-size N`` preheats N kernels for each lesson of ``--lessons``, as ``kmeans-tutor
   serve --preheat N`` does for every lesson (``--fill-delay`` seconds before a kernel handed
   out is replaced); the students come once those kernels have run their lessons. With no
   pool the server renders progressively, as ``kmeans-tutor serve`` does then.
   ``--pool-size 0,8`` runs one class cold and then one preheated, and prints both rows.
2. 30 students open the lessons of ``--lessons`` (default 4; e.g. ``2,4,5,6`` or ``all``,
   the students spread over them in turn) at random times within 10 s. Each has a kernel of
   their own. Once the lesson is usable, a student whose lesson has a "step" button (the
   steppers of lessons 2 and 4, the comparison of lesson 5) clicks it 8 times
   (``--clicks``; "start" when the run is at its end),
   once a second, like a person reading the picture; other lessons are only opened.
3. Per student: time to interactive, and (widget-protocol students) until every figure of
   the page has its first picture; per click, click → new picture. Errors: a failed
   load or render, a missing "step" button, a click without a new picture within 15 s.
4. Memory (psutil): RSS of the Voilà server and the sum over its kernels (RSS, and PSS, which
   splits shared library pages between the kernels and so adds up honestly), at start, at the
   peak (sampled every second) and after the students leave: all connections are closed,
   then the script waits until the culler has shut every student's kernel down (or
   60 + 2×10 + 30 s). Preheated kernels that replaced the ones handed out stay: they are the
   pool for the next students.
5. CPU (psutil): the seconds the server and its kernels spent until every student was done
   (each kernel's own, from its start, as last sampled), and how many first pictures of
   figures were kept by then. Each class starts on a store of kept tables
   (``KMEANS_TUTOR_TABLES``) holding this machine's tables and no picture but those the
   lessons' preparation keeps (lesson 4's quiz), as a server no page has been opened on;
   ``--keep-nothing`` keeps neither, to compare with.
   Kernels are forked from a template, as ``kmeans-tutor serve`` forks them
   (:mod:`kmeans_tutor.server.kernel_fork`; ``--no-fork`` starts each the usual way): the
   kernels' memory and CPU include their stand-ins and the template (its start too), and
   "per kernel" divides by the number of kernels, not of processes.

Two kinds of students (``--clients``)
-------------------------------------
``protocol`` (the default): a widget-protocol client per student, no browser. It loads the
page over HTTP (the server runs the lesson in the student's kernel while it streams the
HTML), connects to the kernel's websocket with the protocol the page's JavaScript uses,
fetches every widget's state over the ``jupyter.widget.control`` comm, introduces itself
to each ipympl figure as the figure's view does, and clicks "step" by sending the button's
click event. Time to interactive ends when the widget states have arrived; click → picture
ends when the kernel's new image arrives. A progressively rendered page arrives before its
lesson has run: the client then asks for the run over Voilà's execution socket, as the page's
script does, and time to interactive also waits for the last cell. That is all the server and
the kernels see of a browser. What it leaves out is the browser's own work (parsing the widget bundle, drawing),
which in a classroom runs on each student's machine; ``bench_browser.py`` measures it for
one page (about 70 ms from click to pixels).

``browser``: one headless Chromium, a browser context (own cookies, own kernel) per student,
measured in the page as in ``bench_browser.py`` (time to interactive = navigation start →
loading screen gone, "step" shown, first picture drawn; click → new picture = from the
click to the first animation frame whose pixels differ). On this 2-core machine 30 Chromium
pages compete with the server and the 30 kernels for the same two cores: with all 30
arriving within 10 s, most pages were not usable after 150 s even with 30 preheated kernels
(the server had nothing left to do; Chromium was the bottleneck). So browsers come in
batches of 10 (``--batch-size``; 0 = all at once), the next batch once the previous one has
finished its clicks; finished students keep their page, and so their kernel, open until
everyone leaves. Browser latencies are an upper bound for a 2-core teacher laptop.

Traffic stays on this machine: the server listens on 127.0.0.1 only, and Chromium runs with
the background-networking flags from VOILA_NOTES.md plus a host-resolver rule that makes
every host name except 127.0.0.1 unresolvable. The script stops the server (and the
browser) on its own, within a fixed time budget.

Writes ``benchmarks/results/classroom.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _serving import (  # noqa: E402  (benchmarks/_serving.py)
    free_port, kept_pictures, optimised_kernels, prepare_as_new, store_without_pictures, wait_port)
from kmeans_tutor.server.serve import DEFAULT_FILL_DELAY, build_voila_command, list_lessons, voila_env  # noqa: E402

RESULTS = Path(__file__).parent / "results"
#: Lessons with a "step" button (the steppers of lessons 2 and 4, the comparison of lesson 5):
#: their page must show it, and their students click it.
STEP_LESSONS = {"02_meet_the_mall_customers.ipynb", "04_kmeans_step_by_step.ipynb", "05_initialisation.ipynb"}
CHROMIUM = os.environ.get("KMEANS_TUTOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 # Nothing but the local server can be reached by name.
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
PICTURE = ".jupyter-matplotlib-figure canvas"
CULL_INTERVAL = 10
CULL_IDLE_TIMEOUT = 60
LOAD_TIMEOUT_S = 150
CLASS_BUDGET_S = 240  # from the first arrival until everyone leaves, at most
CLICK_TIMEOUT_MS = 15_000
WS_PROTOCOL = "v1.kernel.websocket.jupyter.org"
#: What the lesson template writes into each app's width box: the app's width on a 1280 × 720
#: screen and the window's height (see kmeans_tutor.widgets.figure.FigureFit).
APP_SIZE = "1260x720"

# True once the first picture has been drawn (some pixel is not transparent). Eight rows are
# read, not the whole canvas: the probe must not take the page's time (see bench_open.py).
PICTURE_DRAWN_JS = """
(sel) => {
  const c = document.querySelector(sel);
  if (!c || !c.width || !c.height) return false;
  const context = c.getContext("2d");
  for (let r = 0; r < 8; r++) {
    const d = context.getImageData(0, Math.floor((r + 0.5) * c.height / 8), c.width, 1).data;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
  }
  return false;
}
"""

HAS_STEP_JS = "[...document.querySelectorAll('button')].some(b => b.textContent.trim() === 'step')"

# Click "step" n times, `pause` ms apart; per click the ms until the picture's pixels change
# (NaN when they did not change within `timeout` ms; null once the button is disabled).
CLICK_TIMES_JS = """
async ([n, sel, pause, timeout]) => {
  // The picture scaled into a small canvas, as bench_browser.py reads it: reading the whole
  // canvas on every animation frame would itself take the page's time.
  const small = document.createElement("canvas");
  small.width = 480; small.height = 240;
  const smallContext = small.getContext("2d", {willReadFrequently: true});
  const pixels = () => {
    const c = document.querySelector(sel);
    if (!c || !c.width) return new Uint32Array(0);
    smallContext.clearRect(0, 0, small.width, small.height);
    smallContext.drawImage(c, 0, 0, small.width, small.height);
    return new Uint32Array(smallContext.getImageData(0, 0, small.width, small.height).data.buffer);
  };
  const differs = (a, b) => {
    if (a.length !== b.length) return true;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return true;
    return false;
  };
  const button = [...document.querySelectorAll("button")].find(b => b.textContent.trim() === "step");
  const times = [];
  for (let i = 0; i < n; i++) {
    if (!button || button.disabled) { times.push(null); continue; }
    const before = pixels();
    const t0 = performance.now();
    button.click();
    const ok = await new Promise((resolve) => {
      const poll = () => {
        if (differs(pixels(), before)) return resolve(true);
        if (performance.now() - t0 > timeout) return resolve(false);
        requestAnimationFrame(poll);
      };
      requestAnimationFrame(poll);
    });
    times.push(ok ? performance.now() - t0 : NaN);
    await new Promise(r => setTimeout(r, pause));
  }
  return times;
}
"""


def percentile(values, q: float):
    """The q-th percentile (0–100, linear interpolation) of the finite values, or None."""
    xs = sorted(v for v in values if v is not None and v == v)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


class Memory:
    """RSS of the server process and of its kernels (every process under it), sampled."""

    def __init__(self, pid: int):
        self.server = psutil.Process(pid)
        self.samples: list[dict] = []
        self.t0 = time.monotonic()
        self.cpu_by_pid: dict[int, float] = {}  # the last CPU seconds seen of each kernel
        self.cpu_other: dict[int, float] = {}  # ... of each stand-in, and of the kernels' template
        self.server_cpu0 = self._cpu(self.server)

    @staticmethod
    def _cpu(process: psutil.Process) -> float:
        t = process.cpu_times()
        return t.user + t.system

    def _role(self, process: psutil.Process) -> str:
        """"kernel", or the "stand-in" of a forked kernel, or the "template" it was forked from
        (:mod:`kmeans_tutor.server.kernel_fork`): a forked kernel shows the template's command
        line, but is the template's child, not the server's."""
        cmdline = process.cmdline()
        if not any(part.endswith("kernel_fork.py") for part in cmdline):
            return "kernel"
        if "--template" not in cmdline:
            return "stand-in"
        return "template" if process.ppid() == self.server.pid else "kernel"

    def sample(self) -> dict:
        server = self.server.memory_info().rss
        kernels, pss, n = 0, 0, 0
        for child in self.server.children(recursive=True):
            try:
                full = child.memory_full_info()  # PSS: shared library pages split between kernels
                kernels += full.rss  # stand-ins and the template included
                pss += getattr(full, "pss", full.rss)
                role = self._role(child)
                n += role == "kernel"
                (self.cpu_by_pid if role == "kernel" else self.cpu_other)[child.pid] = self._cpu(child)
            except psutil.Error:
                pass
        s = {"t_s": round(time.monotonic() - self.t0, 1), "server_mb": server / 2**20,
             "kernels_mb": kernels / 2**20, "kernels_pss_mb": pss / 2**20, "kernels": n}
        self.samples.append(s)
        return s

    async def run(self, stop: asyncio.Event, period: float = 1.0) -> None:
        while not stop.is_set():
            self.sample()
            try:
                await asyncio.wait_for(stop.wait(), period)
            except asyncio.TimeoutError:
                pass

    def kernel_ids(self) -> set[str]:
        """Ids of the kernels running now (from their connection file's name)."""
        ids = set()
        for child in self.server.children(recursive=True):
            try:
                ids.update(re.findall(r"kernel-([0-9a-f-]{36})\.json", " ".join(child.cmdline())))
            except psutil.Error:
                pass
        return ids

    def kernels_idle(self, window: float = 2.0) -> bool:
        """Whether the kernels together used under 5% of a core over ``window`` seconds."""
        def cpu() -> float:
            total = 0.0
            for child in self.server.children(recursive=True):
                try:
                    t = child.cpu_times()
                    total += t.user + t.system
                except psutil.Error:
                    pass
            return total

        before = cpu()
        time.sleep(window)
        return cpu() - before < 0.05 * window

    def cpu(self) -> dict:
        """CPU seconds the server and its kernels spent since the start, as last sampled.

        A kernel's seconds are its own from its start (as of the last sample before it
        ended); the server's are counted from the moment this object was made.
        """
        kernels = list(self.cpu_by_pid.values())
        return {"server_s": round(self._cpu(self.server) - self.server_cpu0, 2),
                # with the stand-ins and the template of forked kernels (the template's start too)
                "kernels_s": round(sum(kernels) + sum(self.cpu_other.values()), 2),
                "per_kernel_s": {"p50": round(percentile(kernels, 50), 2),
                                 "max": round(max(kernels), 2)} if kernels else None}

    def peak(self) -> dict:
        return max(self.samples, key=lambda s: s["server_mb"] + s["kernels_mb"])


async def student(record: dict, browser, url: str, delay: float, clicks: int,
                  finished: asyncio.Event, leave: asyncio.Event) -> None:
    """One student: arrive after `delay` s, open the lesson, click "step", stay until `leave`."""
    await asyncio.sleep(delay)
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.on("pageerror", lambda exc: record["errors"].append(f"page exception: {exc}"))
    try:
        start = time.perf_counter()
        response = await page.goto(url, wait_until="commit", timeout=LOAD_TIMEOUT_S * 1000)
        if response is None or not response.ok:
            raise RuntimeError(f"HTTP {response and response.status}")
        await page.wait_for_selector("#loading", state="detached", timeout=LOAD_TIMEOUT_S * 1000)
        # Progressive rendering: a placeholder stands for each cell until its output comes.
        await page.wait_for_function("!document.querySelector('.voila-skeleton-container')",
                                     timeout=LOAD_TIMEOUT_S * 1000, polling=50)
        if record["lesson"] in STEP_LESSONS:
            await page.wait_for_function(HAS_STEP_JS, timeout=LOAD_TIMEOUT_S * 1000, polling=50)
        if record["lesson"] in STEP_LESSONS or await page.locator(PICTURE).count():
            await page.wait_for_function(PICTURE_DRAWN_JS, arg=PICTURE, timeout=LOAD_TIMEOUT_S * 1000,
                                         polling=100)
        record["tti_s"] = time.perf_counter() - start
        record["kernel_id"] = json.loads(await page.locator("#jupyter-config-data").text_content())["kernelId"]
        bad = page.locator('.voila-error, [data-mime-type="application/vnd.jupyter.stderr"]')
        if await bad.count():
            record["errors"].append("rendered with errors: " + " | ".join(await bad.all_inner_texts())[:300])
        await page.wait_for_timeout(1000)  # the student looks at the first picture
        if record["lesson"] not in STEP_LESSONS:
            clicks = 0  # a lesson without a stepping app is only opened
        times = await page.evaluate(CLICK_TIMES_JS, [clicks, PICTURE, 1000, CLICK_TIMEOUT_MS])
        record["click_ms"] = [t for t in times if t is not None]
        canvases = client.models("MPLCanvasModel")
        if canvases and all(c in client.first_picture_at for c in canvases):
            # Every figure of the page drawn: what a student sees as the lesson's pictures.
            record["pictures_s"] = max(client.first_picture_at[c] for c in canvases) - start
        lost = sum(1 for t in record["click_ms"] if t != t)
        if lost:
            record["errors"].append(f"{lost} click(s) without a new picture within {CLICK_TIMEOUT_MS} ms")
        if clicks and not record["click_ms"]:
            record["errors"].append("the step button was disabled from the start")
    except Exception as exc:  # noqa: BLE001 - every failure is a data point
        record["errors"].append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finished.set()
    await leave.wait()
    await context.close()


# --- protocol students ---------------------------------------------------------------------
#
# What the lesson page's JavaScript does, without a browser: fetch the page (the server runs
# the lesson in the student's kernel while it streams the HTML), connect to the kernel's
# websocket, ask for every widget's state over the "jupyter.widget.control" comm, introduce
# itself to each ipympl canvas as the canvas view does ("refresh", "send_image_mode",
# "initialized"; "draw" whenever the kernel asks, "refresh" after every resize message), write each app's width into its width box as
# the lesson template does, then click "step" by sending the button's "click" event. Click → picture is the time until the kernel sends the new image bytes.


def _kernel_message(msg_type: str, content: dict, session: str, metadata: dict | None = None) -> dict:
    return {"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "student",
                       "session": session, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                       "version": "5.3"},
            "parent_header": {}, "metadata": metadata or {}, "content": content, "channel": "shell", "buffers": []}


class WidgetClient:
    """One student's websocket to their kernel, speaking the widget protocol."""

    def __init__(self, ws, session: str):
        self.ws, self.session = ws, session
        self.states: dict[str, dict] = {}
        self.images = asyncio.Queue()  # (time, comm_id) of every picture the kernel sends
        self._states_ready = asyncio.Event()
        self._waiting: set[str] = set()  # canvases asked to draw, picture not yet here
        self.first_picture_at: dict[str, float] = {}  # canvas -> when its first picture came
        self.received: dict[str, int] = {}  # ipympl messages by type, for diagnosis
        self._reader = asyncio.create_task(self._read())

    async def send_comm(self, comm_id: str, data: dict, msg_type: str = "comm_msg", metadata=None, **extra) -> None:
        from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

        msg = _kernel_message(msg_type, {"comm_id": comm_id, "data": data, **extra}, self.session, metadata)
        pack = lambda part: json.dumps(part).encode()  # noqa: E731
        await self.ws.write_message(serialize_msg_to_ws_v1(msg, "shell", pack), binary=True)

    async def _read(self) -> None:
        from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1

        while True:
            raw = await self.ws.read_message()
            if raw is None:
                return
            channel, parts = deserialize_msg_from_ws_v1(raw)
            header = json.loads(parts[0])
            if channel != "iopub" or header.get("msg_type") != "comm_msg":
                continue
            content = json.loads(parts[3])
            data = content.get("data", {})
            if data.get("method") == "update_states":
                self.states.update(data["states"])
                self._states_ready.set()
            elif data.get("method") == "update" and content["comm_id"] in self.states:
                self.states[content["comm_id"]].setdefault("state", {}).update(data.get("state", {}))
            elif data.get("method") == "custom" and isinstance(data.get("content", {}).get("data"), str):
                kind = json.loads(data["content"]["data"]).get("type")  # ipympl: JSON in a string
                self.received[kind] = self.received.get(kind, 0) + 1
                if kind == "binary":
                    self._waiting.discard(content["comm_id"])
                    self.first_picture_at.setdefault(content["comm_id"], time.perf_counter())
                    self.images.put_nowait((time.perf_counter(), content["comm_id"]))
                elif kind == "resize":
                    # As ipympl's page: the canvas takes the new size and asks to be refreshed.
                    await self.send_comm(content["comm_id"], {"method": "custom", "content": {"type": "refresh"}})
                elif kind == "draw" and content["comm_id"] not in self._waiting:
                    # As the canvas view: ask for the picture, then no more until it comes.
                    self._waiting.add(content["comm_id"])
                    await self.send_comm(content["comm_id"], {"method": "custom", "content": {"type": "draw"}})

    async def load_widgets(self, timeout: float) -> None:
        control = uuid.uuid4().hex
        # ipywidgets' control comm checks the protocol version it is opened with.
        await self.send_comm(control, {}, "comm_open", metadata={"version": "1.0.0"},
                             target_name="jupyter.widget.control")
        await self.send_comm(control, {"method": "request_states"})
        await asyncio.wait_for(self._states_ready.wait(), timeout)
        for comm_id in self.models("MPLCanvasModel"):
            for kind in ("refresh", "send_image_mode", "initialized"):
                await self.send_comm(comm_id, {"method": "custom", "content": {"type": kind}})
        for comm_id in self.models("TextModel"):
            if "kt-fit-probe" in self.states[comm_id].get("state", {}).get("_dom_classes", []):
                await self.send_comm(comm_id, {"method": "update", "state": {"value": APP_SIZE},
                                               "buffer_paths": []})

    def models(self, name: str, **state) -> list[str]:
        return [mid for mid, m in self.states.items() if m.get("model_name") == name
                and all(m.get("state", {}).get(k) == v for k, v in state.items())]

    async def click(self, button_id: str, timeout: float) -> float:
        """Click and return the ms until the next picture arrives (NaN if none in time)."""
        while not self.images.empty():
            self.images.get_nowait()
        t0 = time.perf_counter()
        await self.send_comm(button_id, {"method": "custom", "content": {"event": "click"}})
        try:
            t1, _ = await asyncio.wait_for(self.images.get(), timeout)
        except asyncio.TimeoutError:
            return float("nan")
        return (t1 - t0) * 1000

    def close(self) -> None:
        self._reader.cancel()
        self.ws.close()


async def run_cells(ws_base: str, kernel_id: str, record: dict) -> None:
    """Run a progressively rendered lesson: Voilà's execution socket, until the last cell's output."""
    from tornado.websocket import websocket_connect

    ws = await websocket_connect(ws_base + f"/voila/execution/{kernel_id}", max_message_size=64 * 2**20)
    try:
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while time.monotonic() < deadline:
            raw = await asyncio.wait_for(ws.read_message(), deadline - time.monotonic())
            if raw is None:
                raise RuntimeError("the execution socket closed before the lesson had run")
            message = json.loads(raw)
            action, payload = message.get("action"), message.get("payload", {})
            if action == "initialized":
                await ws.write_message(json.dumps({"action": "execute", "payload": {"kernel_id": kernel_id}}))
            elif action == "execution_error":
                raise RuntimeError(f"execution error: {payload.get('error')}")
            elif action == "execution_result":
                outputs = payload.get("output_cell", {}).get("outputs", [])
                if any(o.get("output_type") == "error" or o.get("name") == "stderr" for o in outputs):
                    record["errors"].append(f"cell {payload['cell_index']} rendered with errors")
                if payload["cell_index"] == payload["total_cell"] - 1:
                    return
        raise RuntimeError(f"the lesson did not run within {LOAD_TIMEOUT_S} s")
    finally:
        ws.close()


async def protocol_student(record: dict, base_url: str, url: str, delay: float, clicks: int,
                           finished: asyncio.Event, leave: asyncio.Event) -> None:
    """One student as a widget-protocol client: arrive, load, click "step", stay until `leave`."""
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    await asyncio.sleep(delay)
    client = None
    try:
        start = time.perf_counter()
        response = await AsyncHTTPClient().fetch(HTTPRequest(url, request_timeout=LOAD_TIMEOUT_S),
                                                 raise_error=False)
        if response.code != 200:
            raise RuntimeError(f"HTTP {response.code}")
        page = response.body.decode()
        if "voila-error" in page or "application/vnd.jupyter.stderr" in page:
            record["errors"].append("rendered with errors")
        kernel_id = record["kernel_id"] = re.search(r'"kernelId": "([0-9a-f-]{36})"', page).group(1)
        session = uuid.uuid4().hex
        ws_base = base_url.replace("http://", "ws://", 1)
        # The kernel websocket protocol the lesson page's JavaScript speaks.
        ws = await websocket_connect(ws_base + f"/api/kernels/{kernel_id}/channels?session_id={session}",
                                     subprotocols=[WS_PROTOCOL], max_message_size=64 * 2**20)
        client = WidgetClient(ws, session)
        if re.search(r'"progressiveRendering": true', page):
            # The page came before the lesson ran: ask for the run, as the page's script does.
            record["first_page_s"] = time.perf_counter() - start
            await run_cells(ws_base, kernel_id, record)
        await client.load_widgets(timeout=LOAD_TIMEOUT_S)
        steps = client.models("ButtonModel", description="step")
        # The button back to the start of the run ("reset" in earlier versions of the app).
        resets = client.models("ButtonModel", description="start") or client.models("ButtonModel", description="reset")
        if record["lesson"] in STEP_LESSONS and (not steps or not resets):
            raise RuntimeError('no "step" or "start" button among the widgets')
        record["tti_s"] = time.perf_counter() - start
        await asyncio.sleep(1.0)  # the student looks at the first picture
        record["first_pictures"] = client.received.get("binary", 0)  # sent to the page so far
        for _ in range(clicks if steps and resets else 0):
            # At the end of the run "step" is disabled: start the run again with "start".
            at_end = client.states[steps[0]]["state"].get("disabled")
            record["click_ms"].append(await client.click(resets[0] if at_end else steps[0],
                                                         CLICK_TIMEOUT_MS / 1000))
            await asyncio.sleep(1.0)
        canvases = client.models("MPLCanvasModel")
        if canvases and all(c in client.first_picture_at for c in canvases):
            # Every figure of the page drawn: what a student sees as the lesson's pictures.
            record["pictures_s"] = max(client.first_picture_at[c] for c in canvases) - start
        lost = sum(1 for t in record["click_ms"] if t != t)
        if lost:
            record["errors"].append(f"{lost} click(s) without a new picture within {CLICK_TIMEOUT_MS} ms")
    except Exception as exc:  # noqa: BLE001 - every failure is a data point
        record["errors"].append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
    finished.set()
    await leave.wait()
    if client is not None:
        client.close()


async def run(args) -> dict:
    from playwright.async_api import async_playwright
    from tornado.httpclient import AsyncHTTPClient

    # Tornado's client runs 10 requests at a time by default; every student loads at once.
    AsyncHTTPClient.configure(None, max_clients=max(10, args.students))

    port = free_port()
    # The command and environment `kmeans-tutor serve` uses; no cap, so that every
    # student is measured (the cap has its own test).
    # With no pool, Voilà renders progressively, as kmeans-tutor serve does then.
    # The lessons as kmeans-tutor serve serves them: their fixed figures drawn in advance.
    # (On a machine where it never ran: the first pictures its preparation keeps, and no other.)
    prepared_dir = tempfile.TemporaryDirectory(prefix="classroom-prepared-")
    lessons_dir, prepared = prepare_as_new(ROOT / "lessons", Path(prepared_dir.name))
    cmd = build_voila_command(lessons_dir, port=port, cull_interval=CULL_INTERVAL,
                              cull_idle_timeout=CULL_IDLE_TIMEOUT, max_kernels=0,
                              preheat={name: args.pool_size for name in args.lessons}, fill_delay=args.fill_delay,
                              optimize_kernels=args.optimize, fork_start=not args.no_fork)
    base = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.gettempdir()) / f"classroom-voila-{port}.log"
    log = open(log_path, "wb")
    # The class opens on a server that has kept no first picture of any figure yet: the
    # first students' kernels draw them, the later ones are sent the kept pictures.
    # (--keep-nothing: no table or picture kept at all, for comparison.)
    store_dir = tempfile.TemporaryDirectory(prefix="classroom-store-")
    store = store_without_pictures(Path(store_dir.name), prepared)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**voila_env(), "KMEANS_TUTOR_TABLES": "off" if args.keep_nothing else str(store)})
    result: dict = {}
    try:
        wait_port(port, proc)
        memory = Memory(proc.pid)
        # Let the server (and the kernel pool, if any) settle before the "start" figure.
        t_up = time.monotonic()
        pooled = args.pool_size * len(args.lessons)
        settle_until = t_up + (60 + 10 * pooled if pooled else 3)
        pool_ready_s = None
        while time.monotonic() < settle_until:
            memory.sample()
            # The pool is ready once its kernels are started and have run the lesson
            # (their CPU time stops growing).
            if pooled and log_path.read_text(errors="replace").count("Kernel pool of") >= len(args.lessons):
                if memory.kernels_idle():
                    pool_ready_s = time.monotonic() - t_up
                    break
            await asyncio.sleep(1)
        if args.pool_size and pool_ready_s is None:
            raise RuntimeError(f"the pools of {args.pool_size} kernels per lesson were not ready in time; "
                               f"see {log_path}")
        start = memory.sample()
        print(f"server up on 127.0.0.1:{port}; start: server {start['server_mb']:.0f} MB, "
              f"{start['kernels']} kernel(s) {start['kernels_mb']:.0f} MB", flush=True)

        stop_sampling = asyncio.Event()
        sampler = asyncio.create_task(memory.run(stop_sampling))
        async with async_playwright() as pw:
            browser = None
            if args.clients == "browser":
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            leave = asyncio.Event()
            rng = random.Random(0)
            t_open = time.monotonic()
            tasks, records, batch_size = [], [], args.batch_size or args.students
            all_finished = []
            # Each batch arrives within `arrival_s`; the next batch comes once it is done.
            # Finished students keep their page (and kernel) open until everyone leaves.
            for first in range(0, args.students, batch_size):
                ids = range(first, min(first + batch_size, args.students))
                delays = sorted(rng.uniform(0, args.arrival_s) for _ in ids)
                finished = [asyncio.Event() for _ in ids]
                all_finished += finished
                # Students spread over the lessons in turn.
                batch = [{"student": i, "batch": first // batch_size, "arrived_s": round(d, 2),
                          "lesson": args.lessons[i % len(args.lessons)],
                          "kernel_id": None, "tti_s": None, "click_ms": [], "errors": []} for i, d in zip(ids, delays)]
                records += batch
                if browser is not None:
                    tasks += [asyncio.create_task(student(r, browser, f"{base}/voila/render/{r['lesson']}",
                                                          d, args.clicks, f, leave))
                              for r, d, f in zip(batch, delays, finished)]
                else:
                    tasks += [asyncio.create_task(protocol_student(r, base, f"{base}/voila/render/{r['lesson']}",
                                                                   d, args.clicks, f, leave))
                              for r, d, f in zip(batch, delays, finished)]
                remaining = CLASS_BUDGET_S - (time.monotonic() - t_open)
                try:
                    await asyncio.wait_for(asyncio.gather(*(f.wait() for f in finished)),
                                           max(1.0, min(LOAD_TIMEOUT_S + args.arrival_s + 60, remaining)))
                except asyncio.TimeoutError:
                    print("class time over: some students did not finish", flush=True)
                s = memory.sample()
                print(f"  students {ids[0] + 1}-{ids[-1] + 1} done at {time.monotonic() - t_open:.0f} s; "
                      f"{s['kernels']} kernels, {s['kernels_mb']:.0f} MB", flush=True)
            in_class = memory.sample()
            class_cpu = memory.cpu()  # the students' work, before anyone leaves
            pictures_at_end = kept_pictures(store)
            student_kernels = {r["kernel_id"] for r in records if r.get("kernel_id")}
            print(f"all students done after {time.monotonic() - t_open:.0f} s; "
                  f"{in_class['kernels']} kernels, {in_class['kernels_mb']:.0f} MB", flush=True)
            leave.set()
            for record, task, done in zip(records, tasks, all_finished):
                if not done.is_set():
                    task.cancel()
                    record["errors"].append(f"did not finish within the class time ({CLASS_BUDGET_S} s)")
            await asyncio.gather(*tasks, return_exceptions=True)
            t_left = time.monotonic()
            if browser is not None:
                await browser.close()
        print("students left (pages closed); waiting for the culler ...", flush=True)

        # Reclaimed once every student kernel is gone (replacements for preheated kernels
        # that were handed out stay: they are the pool, waiting for the next class).
        deadline = t_left + CULL_IDLE_TIMEOUT + 2 * CULL_INTERVAL + 30
        reclaimed_after = None
        while time.monotonic() < deadline:
            await asyncio.sleep(2)
            if not student_kernels & memory.kernel_ids():
                reclaimed_after = time.monotonic() - t_left
                break
        await asyncio.sleep(2)
        stop_sampling.set()
        await sampler
        after = memory.sample()
        peak = memory.peak()

        ttis = [r["tti_s"] for r in records]
        clicks = [t for r in records for t in r["click_ms"]]
        errors = [e for r in records for e in r["errors"]]
        server_log = log_path.read_text(errors="replace")
        live = [s["kernels"] for s in memory.samples]
        result = {
            "lessons": args.lessons,
            "progressive_rendering": not pooled,
            "time_to_interactive_by_lesson_s": {
                name: {"p50": percentile([r["tti_s"] for r in records if r["lesson"] == name], 50),
                       "p95": percentile([r["tti_s"] for r in records if r["lesson"] == name], 95)}
                for name in args.lessons},
            # Until every figure of the page had its first picture (protocol students).
            "pictures_s": {"p50": percentile([r.get("pictures_s") for r in records], 50),
                           "p95": percentile([r.get("pictures_s") for r in records], 95),
                           "completed": sum(1 for r in records if r.get("pictures_s") is not None)},
            "first_page_s": {"p50": percentile([r.get("first_page_s") for r in records], 50),
                             "p95": percentile([r.get("first_page_s") for r in records], 95)},
            "clients": args.clients,
            "students": args.students,
            "arrival_window_s": args.arrival_s,
            "clicks_per_student": args.clicks,
            "batch_size": args.batch_size or args.students,
            "pool_size": args.pool_size,
            "kernels_optimised": args.optimize, "forked": not args.no_fork,
            "keep_nothing": args.keep_nothing,
            "fill_delay_s": args.fill_delay if args.pool_size else None,
            "pool_ready_after_s": pool_ready_s,
            "preheated_pages": server_log.count("Using pre-heated kernel"),
            "cull_interval_s": CULL_INTERVAL,
            "cull_idle_timeout_s": CULL_IDLE_TIMEOUT,
            "machine": {"cpus": os.cpu_count(), "ram_gb": round(psutil.virtual_memory().total / 2**30, 1)},
            "time_to_interactive_s": {"p50": percentile(ttis, 50), "p95": percentile(ttis, 95),
                                      "max": percentile(ttis, 100),
                                      "completed": sum(1 for t in ttis if t is not None)},
            "click_to_picture_ms": {"p50": percentile(clicks, 50), "p95": percentile(clicks, 95),
                                    "max": percentile(clicks, 100), "n": len(clicks)},
            # Pictures a page was sent before its first click, by lesson (each figure needs one).
            "first_pictures_by_lesson": {
                name: percentile([r.get("first_pictures") for r in records if r["lesson"] == name], 50)
                for name in args.lessons},
            "cpu_s": class_cpu,
            "pictures_kept": pictures_at_end,
            "pictures_prepared": len(prepared),
            "errors": len(errors),
            "error_messages": errors[:50],
            "server_log_tracebacks": server_log.count("Traceback"),
            "server_log_traceback_excerpts": traceback_excerpts(server_log),
            "memory_mb": {
                "start": start, "peak": peak, "after_leaving": after,
                "max_live_kernels": max(live),
                "per_kernel_at_peak": (peak["kernels_mb"] / peak["kernels"]) if peak["kernels"] else None,
                "per_kernel_pss_at_peak": (peak["kernels_pss_mb"] / peak["kernels"]) if peak["kernels"] else None,
                "kernels_reclaimed_after_s": reclaimed_after,
            },
            "students_detail": records,
            "memory_timeline": memory.samples,
        }
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        store_dir.cleanup()
        prepared_dir.cleanup()
    return result


def table(r: dict) -> str:
    m = r["memory_mb"]
    tti, clk = r["time_to_interactive_s"], r["click_to_picture_ms"]
    fmt = lambda v, spec: "—" if v is None else format(v, spec)  # noqa: E731
    rows = [
        ("lessons", ", ".join(r["lessons"]) + (" (progressive rendering)" if r["progressive_rendering"] else "")),
        ("students / arrival window", f"{r['students']} {r['clients']} clients in batches of {r['batch_size']}, "
                                      f"each within {r['arrival_window_s']:g} s"
                                      + (f", {r['pool_size']} preheated (ready after {r['pool_ready_after_s']:.0f} s, "
                                         f"{r['preheated_pages']} pages used one, refill after {r['fill_delay_s']:g} s)"
                                         if r["pool_size"] else ", no preheat")),
        ("time to interactive p50 / p95 / max",
         f"{fmt(tti['p50'], '.1f')} / {fmt(tti['p95'], '.1f')} / {fmt(tti['max'], '.1f')} s "
         f"({tti['completed']}/{r['students']} loaded)"),
        *((f"  {name[:28]} p50 / p95", f"{fmt(t['p50'], '.1f')} / {fmt(t['p95'], '.1f')} s")
          for name, t in r["time_to_interactive_by_lesson_s"].items() if len(r["lessons"]) > 1),
        ("every picture of the page in, p50 / p95",
         f"{fmt(r.get('pictures_s', {}).get('p50'), '.1f')} / {fmt(r.get('pictures_s', {}).get('p95'), '.1f')} s "
         f"({r.get('pictures_s', {}).get('completed', 0)} pages with figures)"),
        ("page arrived (progressive) p50 / p95", f"{fmt(r['first_page_s']['p50'], '.1f')} / "
                                                 f"{fmt(r['first_page_s']['p95'], '.1f')} s"),
        ("click → new picture p50 / p95 / max",
         f"{fmt(clk['p50'], '.0f')} / {fmt(clk['p95'], '.0f')} / {fmt(clk['max'], '.0f')} ms ({clk['n']} clicks)"),
        ("first pictures kept", f"{r.get('pictures_kept', '—')} ({r.get('pictures_prepared', 0)} at the start, "
                                "kept as the lessons were prepared)"),
        ("pictures a page was sent before its first click, p50",
         ", ".join(f"{name[:2]}: {fmt(n, '.0f')}" for name, n in r.get("first_pictures_by_lesson", {}).items())),
        ("CPU until all were done: server / kernels",
         f"{r['cpu_s']['server_s']:.1f} s / {r['cpu_s']['kernels_s']:.1f} s"
         + (f" (a kernel p50 {r['cpu_s']['per_kernel_s']['p50']:.2f} s, max {r['cpu_s']['per_kernel_s']['max']:.2f} s)"
            if r["cpu_s"]["per_kernel_s"] else "")),
        ("errors (goal 0)", f"{r['errors']}   (server-log tracebacks: {r['server_log_tracebacks']})"),
    ]
    for name in ("start", "peak", "after_leaving"):
        s = m[name]
        rows.append((f"memory {name.replace('_', ' ')}",
                     f"server {s['server_mb']:.0f} MB + {s['kernels']} kernels {s['kernels_mb']:.0f} MB "
                     f"= {s['server_mb'] + s['kernels_mb']:.0f} MB"))
    rows.append(("per kernel at peak (RSS / PSS)", f"{fmt(m['per_kernel_at_peak'], '.0f')} MB / "
                 f"{fmt(m['per_kernel_pss_at_peak'], '.0f')} MB"))
    rows.append(("idle kernels culled after", (f"{m['kernels_reclaimed_after_s']:.0f} s" if m["kernels_reclaimed_after_s"]
                  is not None else "not within the wait") + f" (timeout {r['cull_idle_timeout_s']} s, "
                  f"interval {r['cull_interval_s']} s)"))
    width = max(len(a) for a, _ in rows)
    return "\n".join(f"{a:<{width}}  {b}" for a, b in rows)


def traceback_excerpts(log: str, limit: int = 5, context: int = 40) -> list[str]:
    """The first ``limit`` tracebacks of a server log, each with the line before it (the
    log line saying what failed) and up to ``context`` lines of the traceback."""
    lines = log.splitlines()
    starts = [i for i, line in enumerate(lines) if "Traceback" in line][:limit]
    return ["\n".join(lines[max(0, i - 1):i + context]) for i in starts]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--clients", choices=["protocol", "browser"], default="protocol",
                        help="widget-protocol clients (default) or Chromium pages; see the module docstring")
    parser.add_argument("--arrival-s", type=float, default=10.0, help="students arrive within this many seconds")
    parser.add_argument("--clicks", type=int, default=8, help='clicks on "step" per student')
    parser.add_argument("--batch-size", type=int, default=None,
                        help="students arriving together (0: all at once; default: all at once for "
                             "protocol clients, 10 for browsers); see the module docstring")
    parser.add_argument("--lessons", default="4",
                        help="lesson numbers the students open, spread over them in turn, e.g. 2,4,5,6, "
                             "or all (default 4)")
    parser.add_argument("--pool-size", default="0",
                        help="preheated kernels for each of --lessons, as kmeans-tutor serve --preheat P "
                             "(0: none, progressive rendering); several, e.g. 0,8, run one class each")
    parser.add_argument("--fill-delay", type=float, default=DEFAULT_FILL_DELAY,
                        help="seconds before a preheated kernel that was handed out is replaced "
                             f"(default {DEFAULT_FILL_DELAY}, as kmeans-tutor serve)")
    parser.add_argument("--keep-nothing", action="store_true",
                        help="the server keeps no table and no first picture (KMEANS_TUTOR_TABLES=off), "
                             "to compare with")
    parser.add_argument("--plain-kernels", action="store_true",
                        help="kernels as plain python ('kmeans-tutor serve --no-optimize')")
    parser.add_argument("--no-fork", action="store_true",
                        help="kernels not forked from a template ('kmeans-tutor serve --no-fork-start')")
    args = parser.parse_args(argv)
    args.optimize = optimised_kernels(args.plain_kernels)
    if args.batch_size is None:
        args.batch_size = 0 if args.clients == "protocol" else 10
    lessons = {n: paths[0].name for n, paths in list_lessons(ROOT / "lessons").items() if n > 0}
    try:
        wanted = sorted(lessons) if args.lessons == "all" else [int(n) for n in args.lessons.split(",")]
        args.lessons = [lessons[n] for n in wanted]
        pool_sizes = [int(n) for n in args.pool_size.split(",")]
    except (ValueError, KeyError) as exc:
        parser.error(f"--lessons takes lesson numbers from {sorted(lessons)}, --pool-size whole numbers ({exc})")
    results = []
    for pool_size in pool_sizes:
        args.pool_size = pool_size
        result = asyncio.run(run(args))
        print()
        print(table(result))
        if result["error_messages"]:
            print("\nfirst errors:\n  " + "\n  ".join(result["error_messages"][:10]))
        results.append(result)
    if len(results) > 1:
        print("\n" + summary(results))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "classroom.json"
    out.write_text(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0 if all(r["errors"] == 0 for r in results) else 1


def summary(results: list[dict]) -> str:
    """One line per class: the rows of the goal table (time to interactive p50 / p95, errors)."""
    lines = []
    for r in results:
        tti = r["time_to_interactive_s"]
        how = (f"preheated ({r['pool_size']} per lesson)" if r["pool_size"] else "cold (progressive rendering)")
        lines.append(f"{r['students']} students within {r['arrival_window_s']:g} s, lessons "
                     f"{', '.join(name[:2] for name in r['lessons'])}, {how}: usable after p50 "
                     f"{tti['p50'] or float('nan'):.1f} s / p95 {tti['p95'] or float('nan'):.1f} s, "
                     f"{r['errors']} errors")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
