"""One palette for every picture: a colour *and* a marker shape per cluster.

Colours are the Okabe–Ito set (Okabe & Ito, 2008), which stays distinguishable
for the common forms of colour blindness, extended with two colours from Paul
Tol's palettes (wine and indigo) and black, so ten clusters get ten colours.
Colour is never the only cue: each cluster also has its own marker shape, and
:data:`GREYSCALE_COLORS` gives every cluster a grey of clearly different
lightness for slides printed or projected in black and white.

Cluster ``j`` (0-based) always gets the same style in every view::

    >>> from kmeans_tutor.palette import cluster_style
    >>> cluster_style(0)
    ('#0072B2', 'o')
    >>> cluster_style(1, greyscale=True)
    ('#9e9e9e', 's')

Beyond ten clusters, colours repeat but the (colour, marker) pair stays unique
up to 100 clusters, because the marker cycle is shifted by one on each lap.

This module only builds colour values; it never touches pyplot state.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LinearSegmentedColormap, ListedColormap, to_hex, to_rgb

__all__ = [
    "OKABE_ITO",
    "CLUSTER_COLORS",
    "CLUSTER_MARKERS",
    "GREYSCALE_COLORS",
    "UNASSIGNED",
    "cluster_style",
    "cluster_colors",
    "cluster_markers",
    "edge_color",
    "lightness",
    "to_greyscale",
    "region_cmap",
    "probability_cmap",
]

#: The eight Okabe–Ito colours, by name.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

#: Cluster colours in the order clusters use them. The first few alternate
#: dark and light (blue, orange, green, vermillion) so that even a greyscale
#: copy separates small k; yellow, pale on white, comes late. Wine and indigo
#: (Paul Tol) are the two extra colours; black is last because it competes
#: with the black outline of the centre markers.
CLUSTER_COLORS = (
    OKABE_ITO["blue"],            # L* 46
    OKABE_ITO["orange"],          # L* 71
    OKABE_ITO["bluish green"],    # L* 58
    OKABE_ITO["vermillion"],      # L* 54
    OKABE_ITO["reddish purple"],  # L* 61
    OKABE_ITO["sky blue"],        # L* 70
    OKABE_ITO["yellow"],          # L* 89
    "#882255",                    # wine, L* 32
    "#332288",                    # indigo, L* 22
    OKABE_ITO["black"],           # L* 0
)

#: One marker shape per cluster; filled shapes only, so a hollow ring can
#: mean "highlighted" and a hollow shape "where the centre was".
CLUSTER_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<")

#: Greys for greyscale output, one per cluster, ordered so that neighbouring
#: clusters differ by at least ~20 L* (and the first four by ~30).
GREYSCALE_COLORS = (
    "#1a1a1a",  # L* 9
    "#9e9e9e",  # L* 65
    "#555555",  # L* 36
    "#cccccc",  # L* 82
    "#333333",  # L* 21
    "#7a7a7a",  # L* 51
    "#b5b5b5",  # L* 74
    "#444444",  # L* 29
    "#8c8c8c",  # L* 58
    "#000000",  # L* 0
)

#: Points before the first assignment belong to no cluster.
UNASSIGNED = "#BBBBBB"


def cluster_style(j: int, *, greyscale: bool = False) -> tuple[str, str]:
    """Colour (hex) and marker of cluster ``j`` (0-based).

    Parameters
    ----------
    j : int
        Cluster index, ``j >= 0``.
    greyscale : bool, default=False
        Use :data:`GREYSCALE_COLORS` instead of the colours.

    Returns
    -------
    colour : str
        ``"#rrggbb"``.
    marker : str
        A matplotlib marker code.

    Examples
    --------
    >>> cluster_style(2)
    ('#009E73', '^')
    >>> cluster_style(12)   # colours repeat, markers are shifted: still unique
    ('#009E73', 'D')
    """
    j = int(j)
    if j < 0:
        raise ValueError(f"Cluster index must be >= 0; got {j}.")
    colours = GREYSCALE_COLORS if greyscale else CLUSTER_COLORS
    n = len(CLUSTER_MARKERS)
    lap = j // len(colours)
    return colours[j % len(colours)], CLUSTER_MARKERS[(j + lap) % n]


def cluster_colors(k: int, *, greyscale: bool = False) -> list[str]:
    """The colours of clusters 0..k-1."""
    return [cluster_style(j, greyscale=greyscale)[0] for j in range(k)]


def cluster_markers(k: int) -> list[str]:
    """The marker shapes of clusters 0..k-1."""
    return [cluster_style(j)[1] for j in range(k)]


def edge_color(colour, factor: float = 0.6) -> str:
    """A darker shade of ``colour`` (each RGB channel × factor), for outlines
    that keep pale fills such as yellow visible on white."""
    rgb = np.asarray(to_rgb(colour)) * factor
    return to_hex(rgb)


def lightness(colour) -> float:
    """CIE L* lightness (0 black … 100 white) of a colour: what is left of it
    in greyscale."""
    rgb = np.asarray(to_rgb(colour))
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    y = float(lin @ np.array([0.2126, 0.7152, 0.0722]))
    return 116.0 * y ** (1 / 3) - 16.0 if y > 216 / 24389 else y * 24389 / 27


def to_greyscale(colour) -> str:
    """The grey of the same lightness as ``colour`` (what a greyscale printer shows)."""
    L = lightness(colour)
    y = ((L + 16) / 116) ** 3 if L > 8 else L * 27 / 24389
    v = 12.92 * y if y <= 0.0031308 else 1.055 * y ** (1 / 2.4) - 0.055
    return to_hex((v, v, v))


def region_cmap(k: int, *, greyscale: bool = False) -> ListedColormap:
    """A colormap whose value ``j`` (with norm ``vmin=-0.5, vmax=k-0.5``) is
    cluster ``j``'s colour; used for nearest-centre regions and label images."""
    return ListedColormap(cluster_colors(max(k, 1), greyscale=greyscale), name=f"clusters{k}")


def probability_cmap() -> LinearSegmentedColormap:
    """Light grey → vermillion → black, of steadily falling lightness, so that
    "more likely" reads as "darker" in colour and in greyscale alike."""
    return LinearSegmentedColormap.from_list(
        "kmeans_tutor_probability", ["#d9d9d9", OKABE_ITO["vermillion"], "#000000"])
