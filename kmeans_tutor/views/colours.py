"""Pictures of colour quantisation: the photo and its k colours, and pixels in colour space.

- :class:`QuantisedView` — the original picture and the picture in k colours side by
  side, with the palette underneath: one bar per colour, painted that colour, as tall
  as its share of the pixels.
- :class:`ColourSpaceView` — a sample of pixels as points in colour space, seen on two
  planes (red × green and blue × green, levels 0–255), each point painted its own
  colour (or its centre's), with the centres of a K-means step as large outlined
  swatches and, after an update, the path each centre moved.

Both are built once on their Axes and then only update their artists from what
they are given (pictures, a palette, a step): they compute nothing themselves.
"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection

__all__ = ["QuantisedView", "ColourSpaceView", "CHANNELS", "PLANES", "describe_colour"]

#: The three channels, in array order.
CHANNELS = ("red", "green", "blue")
#: The two planes of colour space drawn, as (x channel, y channel).
PLANES = ((0, 1), (2, 1))
_LEVELS = (-6, 261)  # axis limits: 0–255 with a margin for the swatches


def _rgb(levels) -> np.ndarray:
    """RGB levels 0–255 as matplotlib colours (0–1)."""
    return np.clip(np.asarray(levels, dtype=np.float64) / 255.0, 0.0, 1.0)


def _edge(levels) -> np.ndarray:
    """An outline that shows against the colour: black on light colours, white on dark."""
    rgb = _rgb(levels).reshape(-1, 3)
    light = rgb @ np.array([0.299, 0.587, 0.114]) > 0.45
    return np.where(light[:, None], 0.0, 1.0).repeat(3, axis=1)


_NAMED = {  # a few plain names for a colour's description (nearest by RGB distance)
    "black": (0, 0, 0), "dark grey": (80, 80, 80), "grey": (128, 128, 128),
    "light grey": (200, 200, 200), "white": (255, 255, 255), "red": (200, 30, 30),
    "dark red": (110, 20, 20), "orange": (235, 140, 50), "light orange": (245, 190, 140),
    "brown": (120, 70, 30), "yellow": (230, 210, 40), "olive": (120, 120, 40),
    "green": (40, 150, 50), "dark green": (20, 70, 30), "teal": (30, 110, 110),
    "dark teal": (15, 50, 55), "light blue": (140, 190, 230), "blue": (40, 80, 200),
    "navy": (20, 30, 90), "purple": (120, 50, 150), "pink": (230, 140, 180),
}


def describe_colour(levels) -> str:
    """A plain name for a colour (the nearest of a short list), for text alternatives."""
    levels = np.asarray(levels, dtype=np.float64)
    names = list(_NAMED)
    table = np.array([_NAMED[n] for n in names], dtype=np.float64)
    return names[int(((table - levels) ** 2).sum(axis=1).argmin())]


class QuantisedView:
    """The original and the k-colour picture side by side, and the palette under them.

    Parameters
    ----------
    ax_original, ax_quantised, ax_palette : Axes
    """

    def __init__(self, ax_original, ax_quantised, ax_palette):
        self.axes = (ax_original, ax_quantised, ax_palette)
        blank = np.ones((2, 2, 3), dtype=np.uint8) * 255
        self.original = ax_original.imshow(blank, interpolation="antialiased")
        self.quantised = ax_quantised.imshow(blank, interpolation="antialiased")
        for ax in (ax_original, ax_quantised):
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        ax_original.set_title("Original", fontsize=12)
        ax_quantised.set_title("", fontsize=12)
        self.bars = []  # one per colour, made when a palette first needs it, then kept
        ax_palette.set_ylabel("% of pixels", fontsize=10)
        ax_palette.set_title("The palette: one bar per colour (a centre), as tall as its share "
                             "of the pixels", fontsize=11)
        ax_palette.set_xticks([])
        ax_palette.spines[["top", "right"]].set_visible(False)
        self.draw(blank, blank, np.zeros((0, 3)), np.zeros(0))

    @property
    def artists(self) -> list:
        return [self.original, self.quantised, *self.bars]

    def draw(self, original, quantised, palette, shares, *, title: str = ""):
        """Show two pictures (uint8, (h, w, 3)) and the palette, largest share first."""
        for im, picture in ((self.original, original), (self.quantised, quantised)):
            h, w = picture.shape[:2]
            im.set_data(picture)
            im.set_extent((-0.5, w - 0.5, h - 0.5, -0.5))
            im.axes.set_xlim(-0.5, w - 0.5)
            im.axes.set_ylim(h - 0.5, -0.5)
        self.axes[1].set_title(title, fontsize=12)
        order = np.argsort(-np.asarray(shares), kind="stable")
        k = len(order)
        self._make_bars(k)
        for i, bar in enumerate(self.bars):
            if i < k:
                j = order[i]
                bar.set_height(100.0 * float(shares[j]))
                bar.set_facecolor(_rgb(palette[j]))
                bar.set_visible(True)
            else:
                bar.set_visible(False)
        ax = self.axes[2]
        ax.set_xlim(0.3, max(k, 2) + 0.7)
        top = 100.0 * float(np.max(shares)) if k else 1.0
        ax.set_ylim(0, top * 1.08)

    def _make_bars(self, k: int):
        """At least ``k`` bars (a new bar is seen by :attr:`artists` from then on)."""
        have = len(self.bars)
        if k > have:
            self.bars.extend(self.axes[2].bar(np.arange(have, k) + 1, np.zeros(k - have), width=0.85,
                                              edgecolor="0.25", linewidth=0.8))


class ColourSpaceView:
    """Pixels as points in colour space, on two planes, with a K-means step's centres.

    Parameters
    ----------
    axes : pair of Axes
        One per plane of :data:`PLANES`.
    marker_size : float, default=3.5
        Points' size (points); the centres are drawn much larger, outlined.
    """

    def __init__(self, axes, *, marker_size: float = 3.5):
        self.axes = tuple(axes)
        self.points, self.centres, self.paths = [], [], []
        self._own = np.zeros((0, 3))
        self._sample = np.zeros((0, 3))
        self.paint = "own"
        for ax, (cx, cy) in zip(self.axes, PLANES):
            ax.set_facecolor("0.93")
            self.points.append(ax.scatter([], [], s=marker_size, linewidths=0, zorder=2,
                                          rasterized=True))
            self.paths.append(ax.add_collection(LineCollection([], colors="black", linewidths=1.6,
                                                               zorder=3)))
            self.centres.append(ax.scatter([], [], s=170, marker="s", linewidths=2.0, zorder=4))
            ax.set_xlim(*_LEVELS)
            ax.set_ylim(*_LEVELS)
            ax.set_aspect("equal")
            ticks = [0, 64, 128, 192, 255]
            ax.set_xticks(ticks)
            ax.set_yticks(ticks)
            ax.set_xlabel(f"{CHANNELS[cx]} level (0–255)", fontsize=10)
            ax.set_ylabel(f"{CHANNELS[cy]} level (0–255)", fontsize=10)
            ax.set_title(f"{CHANNELS[cx].capitalize()} × {CHANNELS[cy]}", fontsize=12)

    @property
    def artists(self) -> list:
        return [*self.points, *self.paths, *self.centres]

    def set_points(self, sample):
        """The pixels to show, shape (n, 3), levels 0–255 (drawn in their own colour)."""
        self._sample = np.asarray(sample, dtype=np.float64)
        self._own = _rgb(self._sample)
        for pts, (cx, cy) in zip(self.points, PLANES):
            pts.set_offsets(self._sample[:, [cx, cy]])
            pts.set_facecolors(self._own)

    def draw(self, step, *, paint: str = "own"):
        """Show one step: its centres, where they came from (update), and the points' paint.

        ``paint="centre"`` paints each point its centre's colour once points have
        centres (from the first assign step on): the colour it gets in the picture.
        """
        centres = np.asarray(step.centers, dtype=np.float64)
        labels = step.labels
        by_centre = paint == "centre" and labels is not None
        faces = _rgb(np.rint(centres))[labels] if by_centre else self._own
        previous = getattr(step, "previous_centers", None)
        for pts, path, swatch, (cx, cy) in zip(self.points, self.paths, self.centres, PLANES):
            pts.set_facecolors(faces)
            swatch.set_offsets(centres[:, [cx, cy]])
            swatch.set_facecolors(_rgb(centres))
            swatch.set_edgecolors(_edge(centres))
            if previous is not None:
                prev = np.asarray(previous, dtype=np.float64)
                path.set_segments([np.array([p[[cx, cy]], c[[cx, cy]]]) for p, c in zip(prev, centres)])
            else:
                path.set_segments([])
        self.paint = "centre" if by_centre else "own"
