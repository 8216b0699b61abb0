"""Take the screenshots in docs/: the course page and every lesson, at 1280×720.

    .venv/bin/python docs/screenshots.py            # all pages, 100 % zoom
    .venv/bin/python docs/screenshots.py --zoom 1.5 --out /tmp/shots   # as on a projector at 150 %

It serves the lessons with ``kmeans-tutor serve`` on a free port of 127.0.0.1, opens each
page in headless Chromium (Debian's ``chromium``; ``--chromium PATH`` for another), waits
until the lesson has run and its pictures have arrived, and writes

* ``course-page.png`` — the root URL;
* ``lesson-NN.png`` — lesson NN, scrolled to its first app (the part a class looks at);
* ``lesson-04-stepper.png`` — lesson 4's stepper after three steps (the README's picture);
* ``lesson-04-predict.png`` — lesson 4's prediction section after a reveal: hits, misses and
  false alarms.

It also reports, for each page, whether anything is wider than the window (it should
never be). The script is for maintainers: run it after changing how a lesson looks, and
look at the pictures before committing them.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
from _serving import free_port, wait_port  # noqa: E402

LESSONS = sorted(p.name for p in (ROOT / "lessons").glob("[0-9][0-9]_*.ipynb") if not p.name.startswith("00"))
WIDTH, HEIGHT = 1280, 720


def wait_for_pictures(page, timeout_ms: int = 120_000) -> None:
    """Until Voilà has run the lesson and every interactive picture shows something."""
    page.wait_for_selector("#loading", state="detached", timeout=timeout_ms)
    # Rendered progressively, each cell keeps a placeholder until its output has arrived.
    page.wait_for_function("() => !document.querySelector('.voila-skeleton-container')",
                           timeout=timeout_ms, polling=100)
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('.jupyter-matplotlib-figure canvas'))
                 .every(c => c.width > 50 && c.height > 50)""", timeout=timeout_ms)
    page.wait_for_timeout(1500)  # the last frames of the pictures


def overflow(page) -> int:
    """How many CSS pixels the page is wider than its window (0 when nothing sticks out)."""
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs"), help="folder for the pictures (default: docs/)")
    parser.add_argument("--zoom", type=float, default=1.0, help="browser zoom, e.g. 1.5 for 150 %%")
    parser.add_argument("--chromium", default=os.environ.get("KMEANS_TUTOR_CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--only", nargs="*", help="lesson numbers to take (default: all)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "kmeans_tutor.cli", "serve", "--no-browser", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    problems = []
    try:
        wait_port(port, server)
        url = f"http://127.0.0.1:{port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            context = browser.new_context(
                viewport={"width": round(WIDTH / args.zoom), "height": round(HEIGHT / args.zoom)},
                device_scale_factor=args.zoom)
            page = context.new_page()
            page.goto(url + "/")
            page.screenshot(path=str(out / "course-page.png"))
            print(f"course-page.png  overflow {overflow(page)} px")
            for name in LESSONS:
                number = int(name[:2])
                if args.only and str(number) not in args.only:
                    continue
                page = context.new_page()
                page.goto(f"{url}/lesson/{number}", timeout=120_000)
                wait_for_pictures(page)
                wide = overflow(page)
                first_app = page.locator(".jupyter-matplotlib").first
                if first_app.count():
                    first_app.scroll_into_view_if_needed()
                    page.evaluate("window.scrollBy(0, -120)")
                page.screenshot(path=str(out / f"lesson-{number:02d}.png"))
                print(f"lesson-{number:02d}.png  overflow {wide} px")
                if wide > 0:
                    problems.append(f"lesson {number} is {wide} px wider than the window")
                if number == 4:
                    predicting(page, out / "lesson-04-predict.png")
                    stepper(page, out / "lesson-04-stepper.png")
                page.close()
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    for problem in problems:
        print("problem:", problem, file=sys.stderr)
    return 1 if problems else 0


def stepper(page, path: Path) -> None:
    """Lesson 4's stepper after three steps, for the README (a taller window: the whole app)."""
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": 1100})
    page.wait_for_timeout(2000)  # the pictures follow the new window size
    app = page.locator(".kt-keys-app").first
    app.scroll_into_view_if_needed()
    step = app.locator(".kt-key-step").first
    for _ in range(3):
        step.click()
        time.sleep(0.8)
    page.wait_for_timeout(1500)
    app.screenshot(path=str(path))
    print(f"{path.name}")


def predicting(page, path: Path) -> None:
    """Lesson 4's prediction section after a reveal, as a class sees it (the window's size).

    The points to click are found on a twin of the app made here, fitted to the same width:
    half of the points that change cluster and two that stay, so the picture shows hits,
    misses and false alarms."""
    from kmeans_tutor.widgets.stepper import StepperApp

    app = page.locator(".kt-keys-app").nth(1)
    app.scroll_into_view_if_needed()
    twin = StepperApp(dataset="gaussian_mixture", k=3, init="k-means++", seed=0, predict=True)
    twin.fit.probe.value = f"{app.bounding_box()['width']:.0f}x{page.viewport_size['height']}"
    m = twin.model
    while not (m.question_kind == "assign" and m.trace[m.question].n_changed > 2):
        m.step()
        app.locator(".kt-key-step").first.click()
        time.sleep(0.8)
    changed = m.trace[m.question].changed
    stayed = [i for i in np.argsort(np.linalg.norm(m.X - m.X[changed].mean(axis=0), axis=1))
              if i not in changed][:2]
    twin.fig.canvas.draw()  # places the axes as the page's picture has them (equal aspect)
    to_figure = twin.fig.transFigure.inverted().transform
    canvas = app.locator(".jupyter-matplotlib-figure canvas").first
    canvas.scroll_into_view_if_needed()
    for i in [*changed[: len(changed) // 2], *stayed]:
        fx, fy = to_figure(twin.panel.ax.transData.transform(m.X[i]))
        box = canvas.bounding_box()
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + (1 - fy) * box["height"])
        time.sleep(0.5)
    app.locator(".kt-key-reveal").first.click()
    page.wait_for_timeout(2500)
    app.locator(".kt-predict").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(path))
    print(f"{path.name}")


if __name__ == "__main__":
    sys.exit(main())
