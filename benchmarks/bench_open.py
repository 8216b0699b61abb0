"""How long a lesson takes to open, for one student, against Voilà's floor.

Run with ``python benchmarks/bench_open.py`` (a few minutes; needs Debian's ``chromium`` and
the ``playwright`` package). Not part of ``make bench``: every page load starts a kernel.

For each way of serving (``--modes``), one Voilà server on a copy of ``lessons/`` plus the
*floor*: a notebook holding one markdown line and one button, the least a Voilà page with a
widget can cost. Each page is opened once per round (``--rounds``, median reported) in a
fresh browser context, one page at a time, so every figure is a single student's:

* **first text**: navigation start → a lesson's prose is on screen (a markdown cell with text,
  not hidden, and no loading screen over it);
* **interactive**: navigation start → the loading screen is gone, every cell has run (no
  placeholder left), every widget and picture is drawn (each ipympl canvas has pixels, each
  image has loaded) and nothing new appeared for 1.5 s — no widget, and no picture
  resized: a picture first drawn at its starting size and then at the page's width counts
  when it has its final size (ipympl shows the old picture stretched meanwhile, so the
  canvas never looks empty). The figure is the last change;
* **kernel CPU**: the CPU seconds the server's kernels spent from the request until the page
  was interactive. Cold, that is the page's whole kernel: its start, the lesson's cells, and
  the work the page asks for when it connects (each figure's first picture at the page's
  width); preheated, only the connecting (the pool is not refilled during a round).

Ways of serving:

``plain``
    Voilà's default, as ``kmeans-tutor serve`` ran before: the page is streamed while the
    lesson runs, behind a "Executing 1 of N" screen, in a kernel started for the page.
``progressive``
    ``--VoilaConfiguration.progressive_rendering=True``: the page arrives first, then the
    cells run and each output appears when it is ready (what ``kmeans-tutor serve`` does when
    no kernel is preheated).

The lessons are served as ``kmeans-tutor serve`` serves them, with their ``static`` cells
drawn in advance (:mod:`kmeans_tutor.server.predrawn`); ``--no-predraw`` serves the
notebooks as written.
``preheated``
    One kernel per page that has already run it (``kernel_pools_config``), as
    ``kmeans-tutor serve --preheat 1`` does. The pool is not refilled during the round, so
    that refills do not compete with the page measured.

Two kinds of visitor (``--visitors``), each measured in every mode:

``first``
    The server keeps no first picture of any figure yet but those its preparation kept (its
    store of kept tables, ``KMEANS_TUTOR_TABLES``, is a fresh folder with this machine's
    tables and the pictures of lesson 4's quiz, drawn as the lessons were prepared in a
    fresh cache, see :mod:`kmeans_tutor.server.predrawn`): every figure that follows the
    page's width is laid out and drawn by the page's kernel, as for the first student to
    open the lesson at that width.
``next``
    The same server restarted on the store the first visitors filled: a figure whose first
    picture a kernel drew before, in the same state and at the same size, is sent that
    picture (:mod:`kmeans_tutor.widgets.kept_pictures`), as for every later student at that
    width. Reported as e.g. "progressive, next".

The floor is measured in every mode, for every visitor; the goal is every lesson ≤ 1.5 × the
floor (interactive, same mode and visitor). Writes ``benchmarks/results/open.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _serving import (  # noqa: E402  (benchmarks/_serving.py)
    free_port, kept_pictures, optimised_kernels, prepare_as_new, store_without_pictures, wait_port)
from kmeans_tutor.server.serve import build_voila_command, list_lessons, voila_env  # noqa: E402

RESULTS = Path(__file__).parent / "results"
CHROMIUM = os.environ.get("KMEANS_TUTOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
KERNEL_FILE = re.compile(r"kernel-[0-9a-f-]{36}\.json$")  # a Jupyter kernel's connection file
FLOOR = "99_floor.ipynb"  # numbered like a lesson, so that it can be preheated like one
MODES = ("plain", "progressive", "preheated")
VISITORS = ("first", "next")
PAGE_TIMEOUT_S = 120
STABLE_MS = 1500

# Polls the page from navigation start; returns {text, interactive} in ms since navigation
# start (performance.now()), or null for what did not happen within the timeout.
OPEN_TIMES_JS = """
async ([stableMs, timeoutMs]) => {
  const shown = (el) => el.offsetParent !== null && el.getClientRects().length > 0;
  const loading = () => {
    const el = document.getElementById("loading");
    return el !== null && getComputedStyle(el).display !== "none";
  };
  const textVisible = () => !loading() && [...document.querySelectorAll(".jp-RenderedMarkdown")]
      .some(el => shown(el) && el.innerText.trim().length > 0);
  // A canvas counts as drawn once some pixel of it is not transparent. The probe must not
  // slow the page it times: it reads eight rows of a canvas, not all of it, and none once the
  // canvas was seen drawn at its size (ipympl paints over a drawn picture; a resize clears it,
  // and changes the size). Reading every pixel of lesson 4's five canvases every 25 ms took
  // 0.7 s of the page's main thread, which the page's own scripts then waited for.
  const seenDrawn = new WeakMap();
  const canvasDrawn = (c) => {
    if (!c.width || !c.height) return false;
    const size = c.width + "x" + c.height;
    if (seenDrawn.get(c) === size) return true;
    const context = c.getContext("2d");
    for (let r = 0; r < 8; r++) {
      const d = context.getImageData(0, Math.floor((r + 0.5) * c.height / 8), c.width, 1).data;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) { seenDrawn.set(c, size); return true; }
    }
    return false;
  };
  const state = () => {
    // Pictures on screen only: one in a closed accordion or tab is drawn when opened.
    const canvases = [...document.querySelectorAll(".jupyter-matplotlib-figure canvas:first-of-type")].filter(shown);
    const images = [...document.querySelectorAll("#rendered_cells img")].filter(shown);
    // Voilà's scripts have started once #loading is gone: only then does a progressively
    // rendered page put a placeholder where each app will be. Before that (1.5 s and more on
    // a slow machine) the page holds its prose and nothing to wait for, and looked ready.
    const ready = document.getElementById("loading") === null && document.querySelector("#rendered_cells") !== null
      && document.querySelectorAll(".voila-skeleton-container").length === 0
      && canvases.every(canvasDrawn) && images.every(i => i.complete && i.naturalWidth > 0);
    const key = [document.querySelectorAll(".jupyter-widgets").length, canvases.length, images.length,
                 document.querySelectorAll(".jp-OutputArea-output").length,
                 canvases.map(c => c.width + "x" + c.height).join(",")].join("/");
    return {ready, key};
  };
  let text = null, changedAt = null, lastKey = null;
  while (performance.now() < timeoutMs) {
    const now = performance.now();
    if (text === null && textVisible()) text = now;
    const s = state();
    if (!s.ready) changedAt = null;
    else if (s.key !== lastKey || changedAt === null) changedAt = now;
    lastKey = s.key;
    if (s.ready && changedAt !== null && now - changedAt >= stableMs && text !== null) {
      // Where the time went: the server's first byte (it starts the kernel first), the end of
      // the page (after the kernel is ready; without progressive rendering, after the run).
      const nav = performance.getEntriesByType("navigation")[0] || {};
      return {text, interactive: changedAt, key: s.key, first_byte: nav.responseStart || null,
              page_end: nav.responseEnd || null};
    }
    await new Promise(r => setTimeout(r, 25));
  }
  return {text, interactive: null, key: lastKey};
}
"""


def write_floor(folder: Path) -> None:
    """The floor: one line of prose and one button."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Floor\n\nOne button, nothing else."),
                nbformat.v4.new_code_cell("import ipywidgets\nipywidgets.Button(description='step')")]
    nbformat.write(nb, str(folder / FLOOR))


def server_command(folder: Path, port: int, mode: str, pages: list[str], optimize: bool = False,
                   fork: bool = True) -> list[str]:
    """``kmeans-tutor serve``'s Voilà command for ``mode`` (no cap: the benchmark measures)."""
    if mode == "preheated":
        return build_voila_command(folder, port=port, max_kernels=0, preheat={name: 1 for name in pages},
                                   fill_delay=86000, optimize_kernels=optimize, fork_start=fork)
    cmd = build_voila_command(folder, port=port, max_kernels=0, preheat=0,  # renders progressively
                              optimize_kernels=optimize, fork_start=fork)
    if mode == "plain":
        cmd = [arg for arg in cmd if not arg.startswith("--VoilaConfiguration.progressive_rendering")]
    return cmd


def wait_idle(proc: subprocess.Popen, expected: int, timeout: float = 600.0) -> float:
    """Wait until ``expected`` kernels run under the server and all are idle; seconds waited."""
    server, t0 = psutil.Process(proc.pid), time.monotonic()

    def cpu(kids):
        total = 0.0
        for k in kids:
            try:
                t = k.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    while time.monotonic() - t0 < timeout:
        kids = server.children(recursive=True)
        before = cpu(kids)
        time.sleep(2)
        if len(kids) >= expected and cpu(kids) - before < 0.1:
            return time.monotonic() - t0
    raise RuntimeError(f"the {expected} preheated kernels were not ready in {timeout:g} s")


def kernel_cpu(proc: subprocess.Popen) -> dict:
    """CPU seconds (user + system) of every process under the server, by process id: the
    kernels, with the stand-ins of forked ones and the template they are forked from (its
    share of a fork is counted with the page that asked for it)."""
    out = {}
    for kid in psutil.Process(proc.pid).children(recursive=True):
        try:
            t = kid.cpu_times()
            out[kid.pid] = t.user + t.system
        except psutil.Error:
            pass
    return out


def open_page(browser, url: str, proc: subprocess.Popen | None = None) -> dict:
    """Open ``url`` in a fresh context; the page's first-text and interactive times in seconds,
    and (given the server's process) the CPU its kernels spent from the request until the page
    was interactive: for a cold page, the whole run of the lesson's kernel, start-up included."""
    before = kernel_cpu(proc) if proc is not None else {}
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(url, wait_until="commit", timeout=PAGE_TIMEOUT_S * 1000)
        times = page.evaluate(OPEN_TIMES_JS, [STABLE_MS, PAGE_TIMEOUT_S * 1000])
        errors = page.locator('.voila-error, [data-mime-type="application/vnd.jupyter.stderr"]').count()
        after = kernel_cpu(proc) if proc is not None else {}
    finally:
        context.close()
    sec = lambda ms: None if ms is None else ms / 1000  # noqa: E731
    cpu = sum(t - before.get(pid, 0.0) for pid, t in after.items()) if proc is not None else None
    return {"text_s": sec(times["text"]), "interactive_s": sec(times["interactive"]),
            "first_byte_s": sec(times.get("first_byte")), "page_end_s": sec(times.get("page_end")),
            "kernel_cpu_s": cpu, "shape": times["key"], "errors": errors}


def run_mode(browser, mode: str, pages: list[str], rounds: int, predraw: bool = True,
             optimize: bool = False, visitors: tuple[str, ...] = VISITORS, fork: bool = True) -> dict:
    """Every page, ``rounds`` times, on a server serving in ``mode`` (its kernels as
    ``python -OO`` with ``optimize``), for each kind of visitor: ``first`` on a server that
    keeps no first picture of any figure yet, ``next`` on a server restarted on the store
    the first visitors filled (see the module docstring). Results by label, e.g.
    ``"progressive"`` and ``"progressive, next"``."""
    labels = {v: mode if v == "first" else f"{mode}, {v}" for v in VISITORS}
    results = {labels[v]: {name: [] for name in pages} for v in visitors}
    phases = VISITORS if "next" in visitors else ("first",)  # next visitors need first ones
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "lessons"
        shutil.copytree(ROOT / "lessons", folder)
        write_floor(folder)
        prepared = []  # the first pictures the preparation keeps
        if predraw:  # as kmeans-tutor serve does: fixed figures drawn once, before the server
            folder, prepared = prepare_as_new(folder, Path(tmp))
        for r in range(rounds):
            store = store_without_pictures(Path(tmp) / f"store-{r}", prepared)
            for visitor in phases:
                if visitor == "first" and kept_pictures(store) > len(prepared):
                    shutil.rmtree(store)
                    store = store_without_pictures(store, prepared)
                label = labels[visitor]
                port = free_port()
                env = {**voila_env(), "KMEANS_TUTOR_TABLES": str(store)}
                with open(Path(tmp) / f"voila-{mode}-{r}-{visitor}.log", "wb") as log:
                    proc = subprocess.Popen(server_command(folder, port, mode, pages, optimize, fork), stdout=log,
                                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
                try:
                    wait_port(port, proc)
                    if mode == "preheated":
                        waited = wait_idle(proc, len(pages))
                        print(f"  {label}: {len(pages)} kernels preheated after {waited:.0f} s", flush=True)
                    else:  # the kernels' template has imported the libraries, as before a class
                        wait_idle(proc, 0)
                    for name in pages:
                        kept = kept_pictures(store)
                        m = open_page(browser, f"http://127.0.0.1:{port}/voila/render/{name}", proc)
                        m["pictures_kept_before"] = kept
                        if label in results:
                            results[label][name].append(m)
                        print(f"  {label} round {r + 1} {name}: first byte {_s(m['first_byte_s'])}, page end "
                              f"{_s(m['page_end_s'])}, first text {_s(m['text_s'])}, interactive "
                              f"{_s(m['interactive_s'])}, kernel CPU {_s(m['kernel_cpu_s'])} "
                              f"({m['shape']}, {kept} pictures kept before, errors {m['errors']})", flush=True)
                        time.sleep(1)
                finally:
                    proc.terminate()
                    try:
                        proc.wait(30)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
    return results


def _s(v) -> str:
    return "—" if v is None else f"{v:.2f} s"


def _median(values):
    xs = [v for v in values if v is not None]
    return statistics.median(xs) if xs else None


def summary(results: dict) -> dict:
    """Per mode and page: median first text and interactive, and interactive ÷ floor."""
    out = {}
    for mode, pages in results.items():
        floor = _median([m["interactive_s"] for m in pages[FLOOR]])
        out[mode] = {}
        for name, runs in pages.items():
            text = _median([m["text_s"] for m in runs])
            ready = _median([m["interactive_s"] for m in runs])
            out[mode][name] = {"first_text_s": text, "interactive_s": ready,
                               "first_byte_s": _median([m["first_byte_s"] for m in runs]),
                               "page_end_s": _median([m["page_end_s"] for m in runs]),
                               "kernel_cpu_s": _median([m.get("kernel_cpu_s") for m in runs]),
                               "x_floor": None if ready is None or not floor else ready / floor,
                               "errors": sum(m["errors"] for m in runs), "runs": len(runs)}
    return out


def table(summ: dict) -> str:
    lines = [f"{'mode':<19} {'page':<38} {'1st byte':>9} {'page end':>9} {'first text':>10} "
             f"{'interactive':>11} {'× floor':>8} {'kernel CPU':>10}"]
    for mode, pages in summ.items():
        for name, s in pages.items():
            x = "—" if s["x_floor"] is None else f"{s['x_floor']:.2f}"
            lines.append(f"{mode:<19} {name:<38} {_s(s['first_byte_s']):>9} {_s(s['page_end_s']):>9} "
                         f"{_s(s['first_text_s']):>10} {_s(s['interactive_s']):>11} {x:>8} "
                         f"{_s(s.get('kernel_cpu_s')):>10}"
                         + (f"  errors {s['errors']}" if s["errors"] else ""))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", default="all",
                        help="lesson numbers to open, e.g. 2,4,5,6 (default: all)")
    parser.add_argument("--modes", default=",".join(MODES), help=f"ways of serving, from {', '.join(MODES)}")
    parser.add_argument("--rounds", type=int, default=1, help="times each page is opened (median reported)")
    parser.add_argument("--no-predraw", action="store_true",
                        help="serve the notebooks as written ('kmeans-tutor serve --no-predraw')")
    parser.add_argument("--visitors", default=",".join(VISITORS),
                        help="first: no first picture kept yet but those the lessons' preparation "
                             "keeps; next: the pictures the first visitors' kernels kept (default: both)")
    parser.add_argument("--plain-kernels", action="store_true",
                        help="kernels as plain python ('kmeans-tutor serve --no-optimize')")
    parser.add_argument("--no-fork", action="store_true",
                        help="kernels not forked from a template ('kmeans-tutor serve --no-fork-start')")
    args = parser.parse_args(argv)
    optimize = optimised_kernels(args.plain_kernels)
    lessons = {n: paths[0].name for n, paths in list_lessons(ROOT / "lessons").items() if n > 0}
    wanted = sorted(lessons) if args.lessons == "all" else [int(n) for n in args.lessons.split(",")]
    pages = [FLOOR] + [lessons[n] for n in wanted]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown mode(s): {', '.join(sorted(unknown))}")
    visitors = tuple(v.strip() for v in args.visitors.split(",") if v.strip())
    if not visitors or set(visitors) - set(VISITORS):
        parser.error(f"--visitors takes {', '.join(VISITORS)}")
    visitors = tuple(v for v in VISITORS if v in visitors)  # first, then next

    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for mode in modes:
            print(f"{mode}:", flush=True)
            results.update(run_mode(browser, mode, pages, args.rounds, predraw=not args.no_predraw,
                                    optimize=optimize, visitors=visitors, fork=not args.no_fork))
        browser.close()
    summ = summary(results)
    print()
    print(table(summ))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "open.json"
    out.write_text(json.dumps({"machine": {"cpus": os.cpu_count(),
                                           "load_avg_at_end": os.getloadavg()},
                               "predrawn": not args.no_predraw, "kernels_optimised": optimize,
                               "summary": summ, "runs": results}, indent=2))
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
