"""A class of 30 students on one laptop's lesson server: latency, errors and memory.

Run with ``python benchmarks/load_classroom.py`` (about 4–6 minutes; needs Debian's
``chromium``, ``playwright`` and ``psutil``). Not part of ``make bench``: it is long and
loads the machine on purpose.

What it does
------------
1. Starts Voilà on the real ``lessons/`` folder with :func:`kmeans_tutor.serve.build_voila_command`
   (127.0.0.1, a free port, ``--Voila.port_retries=0``) and short cull settings for the run:
   ``cull_interval`` 10 s, ``cull_idle_timeout`` 60 s. ``--pool-size N`` adds
   ``--preheat_kernel=True --pool_size=N``, with the other lessons denied a pool (Voilà
   keeps one pool per notebook of the folder).
2. 30 students open ``04_kmeans_step_by_step.ipynb``, at random times within a 10 s window
   for each batch (see Batches below). Each is a
   separate browser context (own cookies, own kernel). Once the lesson is interactive
   (loading screen gone, "step" button shown, first picture drawn) the student clicks
   "step" 8 times, about one click a second like a person reading the picture.
3. Per student: time to interactive (navigation start → interactive) and, per click,
   click → new picture, measured in the page as in ``bench_browser.py``: from the click to
   the first animation frame in which the pixels of the first
   ``.jupyter-matplotlib-figure canvas`` differ from before the click. Errors: a failed
   load or render (``.voila-error`` / error output), an uncaught page exception, a click
   whose picture did not change within 15 s.
4. Memory (psutil): RSS of the Voilà server and the sum over its kernels (RSS, and PSS, which
   splits shared library pages between the kernels and so adds up honestly), at start, at the
   peak (sampled every second) and after the students leave: all pages are closed, then
   the script waits until the culler has shut the idle kernels down (or 60 + 2×10 + 30 s).
   A kernel that has already been idle for more than 60 s when its tab closes goes at the
   culler's next check.

Batches: by default the 30 students come in 3 batches of 10 (``--batch-size``; 0 = all at
once). Each batch arrives within 10 s, and the next batch comes once the previous one has
finished its clicks. Finished students keep their page, and so their kernel, open until
everyone leaves, so the memory peak is still that of 30 live kernels. All pages run in one
headless Chromium (one context per student; 30 pages take only a few GB of the 24 GB).
The batches are needed because of CPU, not memory. On this 2-core machine Chromium (parsing
the widget bundle, drawing 30 pages) competes with the server and the 30 kernels for the
same two cores; in a classroom that browser work runs on the students' machines. With all
30 arriving within 10 s, 8 of the 30 pages were not interactive after 180 s (p50 111 s for
the 22 that loaded). Some of those kernels were culled before their page connected: a
loading page has no connection yet, and the run's 60 s cull timeout is short. With batches
of 10 all 30 load. The latencies here are an upper bound for a 2-core teacher laptop; the
memory figures are not affected.

Traffic stays on this machine: the server listens on 127.0.0.1 only, and Chromium runs with
the background-networking flags from VOILA_NOTES.md plus a host-resolver rule that makes
every host name except 127.0.0.1 unresolvable. The script stops the server and the browser
on its own, within a fixed time budget.

Writes ``benchmarks/results/classroom.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kmeans_tutor.serve import build_voila_command  # noqa: E402

RESULTS = Path(__file__).parent / "results"
LESSON = "04_kmeans_step_by_step.ipynb"
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

# True once the first picture has been drawn (some pixel is not transparent).
PICTURE_DRAWN_JS = """
(sel) => {
  const c = document.querySelector(sel);
  if (!c || !c.width || !c.height) return false;
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4 * 97) if (d[i] !== 0) return true;
  return false;
}
"""

# Click "step" n times, `pause` ms apart; per click the ms until the picture's pixels change
# (NaN when they did not change within `timeout` ms; null once the button is disabled).
CLICK_TIMES_JS = """
async ([n, sel, pause, timeout]) => {
  const pixels = () => {
    const c = document.querySelector(sel);
    if (!c || !c.width) return new Uint32Array(0);
    return new Uint32Array(c.getContext("2d").getImageData(0, 0, c.width, c.height).data.buffer);
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Voilà exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"Voilà did not open port {port} in {timeout:g} s")


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

    def sample(self) -> dict:
        server = self.server.memory_info().rss
        kernels, pss, n = 0, 0, 0
        for child in self.server.children(recursive=True):
            try:
                full = child.memory_full_info()  # PSS: shared library pages split between kernels
                kernels += full.rss
                pss += getattr(full, "pss", full.rss)
                n += 1
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
        await page.wait_for_function(
            "[...document.querySelectorAll('button')].some(b => b.textContent.trim() === 'step')",
            timeout=LOAD_TIMEOUT_S * 1000, polling=50)
        await page.wait_for_function(PICTURE_DRAWN_JS, arg=PICTURE, timeout=LOAD_TIMEOUT_S * 1000,
                                     polling=100)
        record["tti_s"] = time.perf_counter() - start
        bad = page.locator('.voila-error, [data-mime-type="application/vnd.jupyter.stderr"]')
        if await bad.count():
            record["errors"].append("rendered with errors: " + " | ".join(await bad.all_inner_texts())[:300])
        await page.wait_for_timeout(1000)  # the student looks at the first picture
        times = await page.evaluate(CLICK_TIMES_JS, [clicks, PICTURE, 1000, CLICK_TIMEOUT_MS])
        record["click_ms"] = [t for t in times if t is not None]
        lost = sum(1 for t in record["click_ms"] if t != t)
        if lost:
            record["errors"].append(f"{lost} click(s) without a new picture within {CLICK_TIMEOUT_MS} ms")
        if not record["click_ms"]:
            record["errors"].append("the step button was disabled from the start")
    except Exception as exc:  # noqa: BLE001 - every failure is a data point
        record["errors"].append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finished.set()
    await leave.wait()
    await context.close()


async def run(args) -> dict:
    from playwright.async_api import async_playwright

    port = free_port()
    extra = []
    if args.pool_size:
        # Voilà keeps a pool per notebook of the folder; preheat only the measured lesson.
        extra = ["--preheat_kernel=True", f"--pool_size={args.pool_size}",
                 f"--VoilaKernelManager.preheat_denylist=^(?!(.*/)?{LESSON[:3]})"]
    cmd = build_voila_command(ROOT / "lessons", port=port, cull_interval=CULL_INTERVAL,
                              cull_idle_timeout=CULL_IDLE_TIMEOUT, extra_args=extra)
    url = f"http://127.0.0.1:{port}/voila/render/{LESSON}"
    log_path = Path(tempfile.gettempdir()) / f"classroom-voila-{port}.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    result: dict = {}
    try:
        wait_port(port, proc)
        memory = Memory(proc.pid)
        # Let the server (and a kernel pool, if any) settle before the "start" figure.
        settle_until = time.monotonic() + (20 + 15 * args.pool_size if args.pool_size else 3)
        while time.monotonic() < settle_until:
            s = memory.sample()
            if args.pool_size and s["kernels"] >= args.pool_size and time.monotonic() > settle_until - 10:
                break
            await asyncio.sleep(1)
        start = memory.sample()
        print(f"server up on 127.0.0.1:{port}; start: server {start['server_mb']:.0f} MB, "
              f"{start['kernels']} kernel(s) {start['kernels_mb']:.0f} MB", flush=True)

        stop_sampling = asyncio.Event()
        sampler = asyncio.create_task(memory.run(stop_sampling))
        async with async_playwright() as pw:
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
                batch = [{"student": i, "batch": first // batch_size, "arrived_s": round(d, 2),
                          "tti_s": None, "click_ms": [], "errors": []} for i, d in zip(ids, delays)]
                records += batch
                tasks += [asyncio.create_task(student(r, browser, url, d, args.clicks, f, leave))
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
            print(f"all students done after {time.monotonic() - t_open:.0f} s; "
                  f"{in_class['kernels']} kernels, {in_class['kernels_mb']:.0f} MB", flush=True)
            leave.set()
            for record, task, done in zip(records, tasks, all_finished):
                if not done.is_set():
                    task.cancel()
                    record["errors"].append(f"did not finish within the class time ({CLASS_BUDGET_S} s)")
            await asyncio.gather(*tasks, return_exceptions=True)
            t_left = time.monotonic()
            await browser.close()
        print("students left (pages closed); waiting for the culler ...", flush=True)

        baseline = start["kernels"]
        deadline = t_left + CULL_IDLE_TIMEOUT + 2 * CULL_INTERVAL + 30
        reclaimed_after = None
        while time.monotonic() < deadline:
            await asyncio.sleep(2)
            if memory.samples[-1]["kernels"] <= baseline:
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
            "lesson": LESSON,
            "students": args.students,
            "arrival_window_s": args.arrival_s,
            "clicks_per_student": args.clicks,
            "batch_size": args.batch_size or args.students,
            "pool_size": args.pool_size,
            "cull_interval_s": CULL_INTERVAL,
            "cull_idle_timeout_s": CULL_IDLE_TIMEOUT,
            "machine": {"cpus": os.cpu_count(), "ram_gb": round(psutil.virtual_memory().total / 2**30, 1)},
            "time_to_interactive_s": {"p50": percentile(ttis, 50), "p95": percentile(ttis, 95),
                                      "max": percentile(ttis, 100),
                                      "completed": sum(1 for t in ttis if t is not None)},
            "click_to_picture_ms": {"p50": percentile(clicks, 50), "p95": percentile(clicks, 95),
                                    "max": percentile(clicks, 100), "n": len(clicks)},
            "errors": len(errors),
            "error_messages": errors[:50],
            "server_log_tracebacks": server_log.count("Traceback"),
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
    return result


def table(r: dict) -> str:
    m = r["memory_mb"]
    tti, clk = r["time_to_interactive_s"], r["click_to_picture_ms"]
    fmt = lambda v, spec: "—" if v is None else format(v, spec)  # noqa: E731
    rows = [
        ("students / arrival window", f"{r['students']} in batches of {r['batch_size']}, "
                                      f"each within {r['arrival_window_s']:g} s"
                                      + (f", pool {r['pool_size']}" if r["pool_size"] else ", no preheat")),
        ("time to interactive p50 / p95 / max",
         f"{fmt(tti['p50'], '.1f')} / {fmt(tti['p95'], '.1f')} / {fmt(tti['max'], '.1f')} s "
         f"({tti['completed']}/{r['students']} loaded)"),
        ("click → new picture p50 / p95 / max",
         f"{fmt(clk['p50'], '.0f')} / {fmt(clk['p95'], '.0f')} / {fmt(clk['max'], '.0f')} ms ({clk['n']} clicks)"),
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--arrival-s", type=float, default=10.0, help="students arrive within this many seconds")
    parser.add_argument("--clicks", type=int, default=8, help='clicks on "step" per student')
    parser.add_argument("--batch-size", type=int, default=10,
                        help="students arriving together (0: all at once); see the module docstring")
    parser.add_argument("--pool-size", type=int, default=0, help="preheated kernels (0: none)")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    print()
    print(table(result))
    if result["error_messages"]:
        print("\nfirst errors:\n  " + "\n  ".join(result["error_messages"][:10]))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "classroom.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
