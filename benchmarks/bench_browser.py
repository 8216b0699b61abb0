"""Browser benchmarks of the served stepper, in a real Voilà server and headless Chromium.

Run with ``make bench`` (needs Debian's ``chromium`` and the ``playwright`` package).

1. Click on "step" → new picture in the browser, 10,000 points, median of 20 clicks:
   our StepperApp (ipympl canvas, artists updated in place) against the anchor, a
   naive app that re-plots a fresh matplotlib figure into an Output widget as a PNG
   on every click — both measured in the same run. Goal: ours ≤ 100 ms.
2. Time until a lesson is interactive (the page's loading screen gone and the step
   button visible): cold (a kernel started for the page, rendered progressively as
   ``kmeans-tutor serve`` does when nothing is preheated) and with preheated kernels.
   Goal: ≤ 2 s preheated. ``bench_open.py`` measures every lesson this way, and when its
   text first shows, against a one-button page.

The time of a click is measured inside the page: from the click to the first
animation frame in which the picture on screen differs from before the click — for our
canvas, its pixels scaled into a small canvas (reading the whole canvas as a data URL on
every frame, as this benchmark once did, cost about 25 ms a poll and added to our time);
for the naive app, its new image once loaded (not merely once its source is set).

Where a click's time goes (10k points, 1242 × 519 canvas, 2-core machine, read from the
websocket frames): 15–35 ms until the kernel has the click (page → Voilà → kernel); 25–45 ms
to draw the changed artists and encode the changed pixels as a PNG (about 6 ms of it
encoding, see ``kmeans_tutor.widgets.figure.png_bytes``); then the page decodes and paints
the picture. ipympl also re-encodes its whole canvas as a data URL after every frame
(``handle_binary`` → ``toDataURL``: a still copy for notebooks saved with their widgets, which
a page never is): the lesson template skips that, 7–27 ms a click. Measured so, a click takes
63–96 ms against the naive app's 178–289 ms (0.33–0.35×; 0.41× with the copy made, in the
same run). Below that: fewer messages per click.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from _serving import free_port, wait_port  # benchmarks/_serving.py
from kmeans_tutor.server.serve import build_voila_command, voila_env

RESULTS = Path(__file__).parent / "results"
CHROMIUM = os.environ.get("KMEANS_TUTOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
N_POINTS = 10_000
CLICKS = 20

OURS = """\
from kmeans_tutor.widgets.stepper import StepperApp
StepperApp(dataset="uniform", n_samples=10_000, k=8, init="random", seed=0)
"""

NAIVE = """\
import ipywidgets as widgets
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
import matplotlib.pyplot as plt
from IPython.display import display
from kmeans_tutor import load_dataset, run_kmeans

X = load_dataset("uniform", n_samples=10_000).X
trace = run_kmeans(X, 8, init="random", random_state=0)
state = {"i": 0}
out = widgets.Output()
button = widgets.Button(description="step")

def show(i):
    step = trace[i]
    fig, ax = plt.subplots(figsize=(5, 5), dpi=80)
    colour = "grey" if step.labels is None else step.labels
    ax.scatter(X[:, 0], X[:, 1], c=colour, s=4, cmap="tab10")
    ax.scatter(step.centers[:, 0], step.centers[:, 1], c="k", s=120, marker="X")
    ax.set_title(step.describe()[:60])
    with out:
        out.clear_output(wait=True)
        display(fig)
    plt.close(fig)

def on_click(_):
    state["i"] = min(state["i"] + 1, len(trace) - 1)
    show(state["i"])

button.on_click(on_click)
show(0)
widgets.VBox([button, out])
"""

# In the page: click "step" n times; for each, the ms until the picture's pixels change.
CLICK_TIMES_JS = """
async ([n, pictureSelector]) => {
  const picture = () => document.querySelector(pictureSelector);
  // What is on screen, cheaply: a canvas is scaled into a small one and its pixels read (a
  // toDataURL of the whole canvas on every animation frame would itself cost ~25 ms a poll);
  // an image counts once its new source has loaded, not when the source is set.
  const small = document.createElement("canvas");
  small.width = 480; small.height = 240;
  const smallContext = small.getContext("2d", {willReadFrequently: true});
  const snapshot = () => {
    const el = picture();
    if (!el) return "";
    if (el.tagName !== "CANVAS") return el.complete && el.naturalWidth > 0 ? el.getAttribute("src") : "loading";
    smallContext.drawImage(el, 0, 0, small.width, small.height);
    const d = smallContext.getImageData(0, 0, small.width, small.height).data;
    let h1 = 0, h2 = 0;
    for (let i = 0; i < d.length; i += 1) { h1 = (h1 * 31 + d[i]) | 0; h2 = (h2 + d[i] * (i % 251 + 1)) | 0; }
    return h1 + ":" + h2;
  };
  const button = [...document.querySelectorAll("button")].find(b => b.textContent.trim() === "step");
  const times = [];
  for (let i = 0; i < n; i++) {
    const before = snapshot();
    const t0 = performance.now();
    button.click();
    const ok = await new Promise((resolve) => {
      const poll = () => {
        const now = snapshot();
        if (now !== before && now !== "loading") return resolve(true);
        if (performance.now() - t0 > 10000) return resolve(false);
        requestAnimationFrame(poll);
      };
      requestAnimationFrame(poll);
    });
    times.push(ok ? performance.now() - t0 : NaN);
    await new Promise(r => setTimeout(r, 300));  // let the kernel go idle between clicks
  }
  return times;
}
"""


def _write_notebooks(folder: Path):
    for name, source in (("ours.ipynb", OURS), ("naive.ipynb", NAIVE)):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(source)]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / name)


class Server:
    """A Voilà server on the benchmark notebooks, stopped on exit."""

    def __init__(self, folder: Path, extra_args=()):
        self.port = free_port()
        cmd = build_voila_command(folder, port=self.port, extra_args=list(extra_args))
        self.log = open(folder / f"voila-{self.port}.log", "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=voila_env())
        wait_port(self.port, self.proc)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _open(browser, url: str) -> float:
    """Open a lesson page; seconds until it is interactive. Returns (page, seconds)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    start = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=120_000)
    page.wait_for_selector("#loading", state="detached", timeout=120_000)
    page.wait_for_function(
        "[...document.querySelectorAll('button')].some(b => b.textContent.trim() === 'step')",
        timeout=120_000, polling=50)
    return page, time.perf_counter() - start


def click_times(browser, url: str, picture: str) -> list[float]:
    page, _ = _open(browser, url)
    page.wait_for_selector(picture, timeout=60_000)
    page.wait_for_timeout(1500)  # the first picture in place
    times = page.evaluate(CLICK_TIMES_JS, [CLICKS, picture])
    page.close()
    return times


def main():
    from playwright.sync_api import sync_playwright

    results = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        folder = Path(tmp)
        _write_notebooks(folder)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with Server(folder) as server:
            ours = click_times(browser, f"{server.url}/voila/render/ours.ipynb",
                               ".jupyter-matplotlib-figure canvas")
            naive = click_times(browser, f"{server.url}/voila/render/naive.ipynb",
                                ".widget-output img")
            cold = []
            for _ in range(3):
                page, seconds = _open(browser, f"{server.url}/voila/render/ours.ipynb")
                cold.append(seconds)
                page.close()
        with Server(folder, ["--preheat_kernel=True", "--pool_size=1"]) as server:
            time.sleep(20)  # let the pool fill
            hot = []
            for _ in range(3):
                page, seconds = _open(browser, f"{server.url}/voila/render/ours.ipynb")
                hot.append(seconds)
                page.close()
                time.sleep(15)  # the pool refills
        browser.close()
    results = {
        "click_to_picture_ms": {"ours": ours, "naive": naive,
                                "ours_median": statistics.median(ours),
                                "naive_median": statistics.median(naive)},
        "time_to_interactive_s": {"cold": cold, "preheated": hot},
    }
    o, n = results["click_to_picture_ms"]["ours_median"], results["click_to_picture_ms"]["naive_median"]
    print(f"click → new picture, {N_POINTS:,} points, median of {CLICKS}: ours {o:.0f} ms, "
          f"naive PNG-in-Output {n:.0f} ms → naive ÷ ours = {n / o:.1f}× (goal: ours ≤ 100 ms)")
    print(f"time until interactive: cold median {statistics.median(cold):.2f} s, "
          f"preheated median {statistics.median(hot):.2f} s (goal ≤ 2 s preheated)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "browser.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
