"""An app's canvases as ipympl's page drives them, message for message: every picture the
page needs arrives, and none arrives twice.

:class:`IpymplPage` plays the page's side of jupyter-matplotlib 0.10 (``mpl_widget.ts``):
it opens with "refresh", "send_image_mode" and "initialized"; answers every resize message
with a "refresh" (keeping its last picture meanwhile); asks for a picture when the kernel
says there is one to draw, unless it is still waiting for one; and stops waiting when a
picture arrives.
"""

from __future__ import annotations

import json
from io import BytesIO

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from tests.widgets.test_kept_pictures import APPS as LESSON_APPS
from tests.widgets.test_kept_pictures import canvases


class IpymplPage:
    """The page's model of one canvas: what it is sent, what it shows, what it asks."""

    def __init__(self, canvas):
        self.canvas = canvas
        self.inbox: list = []
        self.pictures: list[np.ndarray] = []  # every picture it was sent, as painted
        self.mode = canvas._image_mode
        self.waiting = False
        canvas._send = lambda msg, buffers=None: self.inbox.append((msg, buffers))

    def ask(self, kind: str):
        self.canvas._msg_callbacks(self.canvas, {"type": kind}, [])

    def open(self):
        for kind in ("refresh", "send_image_mode", "initialized"):
            self.ask(kind)

    def handle(self) -> bool:
        """Handle the oldest message from the kernel; False when there is none."""
        if not self.inbox:
            return False
        msg, buffers = self.inbox.pop(0)
        if msg.get("method") == "update":
            self.mode = msg["state"].get("_image_mode", self.mode)
            return True
        kind = json.loads(msg["content"]["data"])["type"]
        if kind == "binary":
            picture = np.asarray(Image.open(BytesIO(bytes(buffers[0]))).convert("RGBA"))
            if self.mode == "diff":
                picture = np.where(picture[:, :, 3:] != 0, picture, self.pictures[-1])
            self.pictures.append(picture)
            self.waiting = False
        elif kind == "resize":
            self.ask("refresh")
        elif kind == "draw" and not self.waiting:
            self.waiting = True
            self.ask("draw")
        return True


def settle(pages):
    """Let the pages and the kernel talk until neither has anything left to say."""
    while any([page.handle() for page in pages]):
        pass


def as_drawn_now(canvas) -> np.ndarray:
    """The figure drawn from scratch now (the moving artists of a blitted figure included)."""
    canvas.figure.stale = True
    FigureCanvasAgg.draw(canvas)
    return np.asarray(canvas.get_renderer().buffer_rgba()).copy()


#: The lessons' apps with a figure whose picture depends on the page's width, and the quiz, whose does not.
APPS = {name: LESSON_APPS[name] for name in ("stepper", "challenge", "quiz")}
#: Where the app runs: a notebook, a Voilà kernel started for the page, one started before it.
KERNELS = {"notebook": None, "page": "False", "preheated": "True"}


@pytest.mark.slow
@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("name", list(APPS))
def test_a_page_gets_every_picture_it_needs_and_none_twice(name, kernel, monkeypatch, tmp_path):
    if KERNELS[kernel] is None:
        monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    else:
        monkeypatch.setenv("VOILA_PREHEAT", KERNELS[kernel])
    monkeypatch.setenv("KMEANS_TUTOR_TABLES", str(tmp_path / "kept"))
    app = APPS[name]()
    pages = [IpymplPage(c) for c in canvases(app)]
    for page in pages:
        page.open()
    fit = getattr(app, "fit", None)
    if fit is not None:  # the lesson template reports the app's width once it is laid out
        fit.probe.value = "1100x700"
    settle(pages)

    def check(when):
        for page in pages:
            shown = page.pictures
            assert shown, f"{when}: no picture"
            assert np.array_equal(shown[-1], as_drawn_now(page.canvas)), f"{when}: not the figure as it is"
            repeats = sum(np.array_equal(a, b) for a, b in zip(shown, shown[1:]))
            assert repeats == 0, f"{when}: the same picture sent {repeats + 1} times"
            assert not page.waiting and not page.inbox

    check("opened")
    if fit is not None:
        fit.probe.value = "820x700"  # the window is made narrower: a new size, a new picture
        settle(pages)
        check("resized")
    if name == "stepper":
        for _ in range(2):
            app.transport.step.click()  # each step: one new picture
            settle(pages)
        check("stepped")
    # The page is closed just after the kernel sent it a resize message (its refresh never
    # comes) and then a picture; the same canvases are shown in a new page (a notebook opened
    # again). Its first refresh may be taken for the one that never came, yet it gets each
    # picture: the kernel answers its "initialized" with a resize message of its own.
    for page in pages:
        page.canvas.manager.resize(*page.canvas.figure.bbox.size, forward=False)
        page.inbox.clear()
        page.ask("draw")
        assert page.inbox
    again = [IpymplPage(page.canvas) for page in pages]
    for page in again:
        page.open()
    settle(again)
    for old, new in zip(pages, again):
        assert new.pictures and np.array_equal(new.pictures[-1], old.pictures[-1])
        assert np.array_equal(new.pictures[-1], as_drawn_now(new.canvas))
