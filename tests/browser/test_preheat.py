"""Preheated kernels for every lesson: a lesson other than the first opens from its pool.

One server, ``kmeans-tutor serve --preheat 1``, on a folder holding copies of two real
lessons (2 and 6; the whole course would keep a 2-core CI machine busy for minutes while
its pools fill). Each lesson gets a pool of one kernel that has already run it; opening
lesson 6 takes its preheated kernel, and the page shows the lesson's text and pictures.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSONS_DIR = Path(__file__).resolve().parents[2] / "lessons"
POOLED = ("02_meet_the_mall_customers.ipynb", "06_choosing_k.ipynb")
OPENED = POOLED[1]
# True once the page shows at least one interactive figure, every figure's picture has
# pixels and every image has loaded. An ipympl figure is two stacked canvases: the picture
# and, above it, a transparent one for the zoom rectangle and the grab handle; only the
# picture (the figure's first canvas) is read.
PICTURES_DRAWN_JS = """
() => {
  const shown = el => el.offsetParent !== null;
  const figures = [...document.querySelectorAll('.jupyter-matplotlib-figure')].filter(shown);
  const images = [...document.querySelectorAll('#rendered_cells img')].filter(shown);
  if (!figures.length) return false;
  const painted = figures.every(fig => {
    const el = fig.querySelector('canvas');
    if (!el || !el.width || !el.height) return false;
    const d = el.getContext("2d").getImageData(0, 0, el.width, el.height).data;
    for (let i = 3; i < d.length; i += 4 * 97) if (d[i] !== 0) return true;
    return false;
  });
  return painted && images.every(img => img.complete && img.naturalWidth > 0);
}
"""


# True once the first picture of every app is as wide as the app (less its 8 px of margins).
FITTED_JS = """
() => {
  const apps = [...document.querySelectorAll('.kt-fit-app')];
  return apps.length > 0 && apps.every(app => {
    const canvas = app.querySelector('.jupyter-matplotlib-figure canvas');
    return canvas && Math.abs(app.clientWidth - 8 - canvas.getBoundingClientRect().width) <= 2;
  });
}
"""

# For each picture: whether the corner of its top canvas is painted (ipympl's grab handle).
RESIZE_HANDLES_JS = """
() => [...document.querySelectorAll('.jupyter-matplotlib-figure')].map(fig => {
  const canvases = fig.querySelectorAll('canvas');
  const top = canvases[canvases.length - 1];
  const d = top.getContext('2d').getImageData(top.width - 6, top.height - 6, 4, 4).data;
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
  return false;
})
"""


@pytest.fixture(scope="module")
def preheated_server(start_server, tmp_path_factory, wait_for_log):
    folder = tmp_path_factory.mktemp("two-lessons")
    for name in POOLED:
        shutil.copy(LESSONS_DIR / name, folder / name)
    log_path = tmp_path_factory.mktemp("preheat-log") / "server.log"
    with start_server(folder, log_path, extra_args=["--preheat", "1"]) as server:
        # Both pools filled: each kernel has run its lesson.
        for name in POOLED:
            wait_for_log(server, rf"Kernel pool of {re.escape(name)} is filled with 1 kernel", timeout=240)
        yield server


def test_startup_says_what_is_preheated(preheated_server):
    assert "Preheating 1 kernel for each of the 2 lessons (2 kernels, about 0.4 GB" in preheated_server.log()
    assert "Progressive rendering is activated" not in preheated_server.log()


def test_a_lesson_other_than_the_first_opens_from_its_pool(preheated_server, browser, wait_for_log):
    context = browser.new_context(base_url=preheated_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        response = page.goto("/lesson/6", timeout=90_000)
        assert response is not None and response.ok
        used = wait_for_log(preheated_server, rf"Using pre-heated kernel: ([0-9a-f-]{{36}}) for {re.escape(OPENED)}")
        page.wait_for_selector("#loading", state="detached", timeout=60_000)
        # The page's kernel is the preheated one, and no other kernel was started for it.
        kernel_id = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
        assert kernel_id == used[0]
        # Its text...
        heading = page.locator(".jp-RenderedMarkdown h1").first
        assert heading.is_visible() and "Choosing k" in heading.inner_text()
        # ... and its pictures, with no error anywhere.
        page.wait_for_function(PICTURES_DRAWN_JS, timeout=60_000, polling=200)
        errors = page.locator('.voila-error, [data-mime-type="application/vnd.jupyter.stderr"]')
        assert errors.count() == 0, "\n".join(errors.all_inner_texts())
        # The app's picture becomes as wide as the app, and no picture has the grab handle
        # of a canvas resizable by hand.
        page.wait_for_function(FITTED_JS, timeout=30_000, polling=200)
        handles = page.evaluate(RESIZE_HANDLES_JS)
        assert handles and not any(handles), handles
    finally:
        context.close()
