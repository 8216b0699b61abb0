"""Watching an app's figure as a page would: which changes are drawn in full, and whether a
blitted picture is exactly what a full redraw gives."""

from __future__ import annotations

import numpy as np


class FrameWatch:
    """``fig``'s canvas as once the page's canvas is ready, after its first (full) picture.

    :attr:`full_draws` lists every full draw of the figure from then on (clear it before the
    change to look at); :meth:`blitted_then_full` gives the pixels the change left, then the
    pixels of a full redraw of the same figure.
    """

    def __init__(self, monkeypatch, fig):
        self.canvas = canvas = fig.canvas
        canvas.send_binary = lambda data: None
        canvas.syncing_data_url = False  # as once the page's canvas is ready
        canvas.draw()  # the page's first picture: a full draw, which the blitter keeps
        self.full_draws: list = []
        figure_draw = type(fig).draw
        monkeypatch.setattr(type(fig), "draw", lambda f, r: self.full_draws.append(f) or figure_draw(f, r))

    def pixels(self) -> np.ndarray:
        return np.asarray(self.canvas.get_renderer().buffer_rgba())

    def blitted_then_full(self) -> tuple[np.ndarray, np.ndarray]:
        blitted = self.pixels().copy()
        self.canvas.draw()
        return blitted, self.pixels()
