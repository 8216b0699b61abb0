"""Small synthetic 2-D data sets that show where K-means works and where it fails.

Each ``make_*`` function draws a seeded, offline data set and returns a
:class:`Dataset` carrying the points, the true groups, a title, a sentence or
two on what it teaches about K-means, and a suggested number of clusters.
The same ``random_state`` always gives the same points.

>>> ds = load_dataset("rings")
>>> ds.X.shape, ds.suggested_k
((600, 2), 3)
>>> list_datasets()["name"].tolist()[:3]
['blobs', 'uniform', 'gaussian_mixture']
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..core.validation import check_choice, check_positive_int, check_random_state

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Dataset",
    "DATASETS",
    "list_datasets",
    "dataset_titles",
    "load_dataset",
    "make_blobs",
    "make_uniform",
    "make_gaussian_mixture",
    "make_smiley",
    "make_pimpled_smiley",
    "make_density_bars",
    "make_packed_circles",
    "make_rings",
    "make_anisotropic",
    "make_unequal_variance",
    "make_unequal_sizes",
]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A teaching data set: points, their true groups, and what they show.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"rings"``.
    X : ndarray of shape (n_samples, 2), float64
        The points (read-only).
    y : ndarray of shape (n_samples,), int64, or None
        The true group of each point (read-only); None when there are no
        groups (``uniform``).
    feature_names : tuple of str
        ``("x", "y")``.
    title : str
        A short title for a plot.
    teaches : str
        What the data set shows about K-means, in 1-3 sentences.
    suggested_k : int
        A number of clusters to try first (the number of true groups, when
        there are groups).
    random_state : int or None
        The seed the points were drawn with (None if a Generator was given).

    Examples
    --------
    >>> ds = make_blobs(n_samples=60, centers=3, random_state=1)
    >>> ds.X.shape, sorted(set(ds.y.tolist())), ds.suggested_k
    ((60, 2), [0, 1, 2], 3)
    """

    name: str
    X: np.ndarray  # (n, 2)
    y: np.ndarray | None  # (n,)
    feature_names: tuple = ("x", "y")
    title: str = ""
    teaches: str = ""
    suggested_k: int = 2
    random_state: int | None = None

    def __post_init__(self):
        # Frozen means frozen: the arrays are private read-only copies.
        X = np.array(self.X, dtype=np.float64)
        X.flags.writeable = False
        object.__setattr__(self, "X", X)
        if self.y is not None:
            y = np.array(self.y, dtype=np.int64)
            y.flags.writeable = False
            object.__setattr__(self, "y", y)
        object.__setattr__(self, "feature_names", tuple(self.feature_names))

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    def to_frame(self) -> pd.DataFrame:
        """The points as a DataFrame with columns x, y and (when known) group."""
        import pandas as pd  # here, not at the top: pandas costs a kernel 0.2 s and 32 MB

        df = pd.DataFrame(np.array(self.X), columns=list(self.feature_names))
        if self.y is not None:
            df["group"] = np.array(self.y)
        return df

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, n_samples={self.n_samples}, "
                f"suggested_k={self.suggested_k}, title={self.title!r})")


# Title, what it teaches, and the default suggested k of each data set.
_INFO: dict[str, tuple[str, str, int]] = {
    "blobs": (
        "Well-separated blobs",
        "K-means' home ground: round groups of similar size and spread, far apart. With the "
        "right k it finds them from almost any start.",
        4),
    "uniform": (
        "Uniform points (no clusters)",
        "There are no groups here, yet K-means always returns k clusters: it cuts the plane into "
        "k cells around its centres whatever the data. A clustering is not proof that clusters exist.",
        4),
    "gaussian_mixture": (
        "Overlapping Gaussian mixture",
        "Three overlapping groups with different shapes and sizes. K-means draws straight borders "
        "halfway between centres, so points in the overlap go to the nearest centre, not the most "
        "likely group, and the tilted group is cut into.",
        3),
    "smiley": (
        "Smiley face",
        "Groups defined by shape, not by closeness to a centre. K-means cuts the face outline into "
        "arcs and gives pieces of it to the eyes and mouth: it finds compact blobs, not outlines.",
        4),
    "pimpled_smiley": (
        "Smiley face with pimples",
        "The smiley plus three small, very dense pimples. Each pimple is many points in one spot, so "
        "it pulls a centre close to it, and that cluster also takes in pieces of the face around it: "
        "K-means weighs groups by their number of points, not by how distinct they look.",
        7),
    "density_bars": (
        "Bars of different density",
        "Three side-by-side bars, each far denser than the last. K-means has no notion of density: "
        "it only sums squared distances, so it pays to spend extra centres on the dense bar and let "
        "the sparse ones share.",
        3),
    "packed_circles": (
        "Packed circles",
        "Ten equal disks that touch, with no gap between them. K-means can separate them because each "
        "is round and the same size, but a poor start puts two centres in one disk and leaves two "
        "disks sharing one; compare the inertia of several runs (n_init).",
        10),
    "rings": (
        "Concentric rings",
        "Three rings around one centre. K-means cuts concentric rings into wedges because it only "
        "knows distance to a centre, and all three rings share the same centre.",
        3),
    "anisotropic": (
        "Stretched, tilted groups",
        "Three long, thin, parallel groups. K-means assumes round clusters (plain Euclidean distance "
        "in every direction), so it cuts across the long groups; standardizing the axes does not "
        "undo a tilt.",
        3),
    "unequal_variance": (
        "Groups of unequal spread",
        "A tight group, a medium one and a wide one. The border between two centres lies halfway "
        "between them, so the outer points of the wide group are handed to its tighter neighbours.",
        3),
    "unequal_sizes": (
        "Groups of unequal size",
        "One big group and two small ones, all equally spread. Splitting the big group lowers inertia "
        "more than keeping the two small ones apart, so K-means' best answer cuts the big group in "
        "two and merges the small ones: it favours clusters of similar size.",
        3),
}


# ----------------------------------------------------------------------------- helpers


def _check_n(n_samples, min_samples: int) -> int:
    """n_samples as an int, at least min_samples (one point per group)."""
    n = check_positive_int(n_samples, "n_samples")
    if n < min_samples:
        raise ValueError(f"n_samples must be at least {min_samples} for this data set (one point "
                         f"per group), got {n}.")
    return n


def _check_positive_float(value, name: str) -> float:
    """A finite number > 0."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}.")
    return float(value)


def _split(n: int, weights) -> np.ndarray:
    """n split into integer parts proportional to weights (largest remainder), each at least 1."""
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    counts = np.maximum(np.floor(n * w).astype(np.int64), 1)
    # Hand out (or take back) the rest by largest remainder, never going below 1.
    remainder = n * w - counts
    while counts.sum() < n:
        i = int(np.argmax(remainder))
        counts[i] += 1
        remainder[i] -= 1
    while counts.sum() > n:
        candidates = np.flatnonzero(counts > 1)
        i = candidates[np.argmin(remainder[candidates])]
        counts[i] -= 1
        remainder[i] += 1
    return counts


def _disk(rng, n: int, center, radius: float) -> np.ndarray:
    """n points uniform in a disk, shape (n, 2) (sqrt of a uniform radius keeps density even)."""
    r = radius * np.sqrt(rng.uniform(size=n))
    t = rng.uniform(0, 2 * np.pi, size=n)
    return np.asarray(center) + np.column_stack([r * np.cos(t), r * np.sin(t)])


def _arc(rng, n: int, center, radius: float, start: float, stop: float, width: float) -> np.ndarray:
    """n points along a circular arc (angles in radians) with Gaussian radial noise, shape (n, 2)."""
    t = rng.uniform(start, stop, size=n)
    r = radius + width * rng.standard_normal(n)
    return np.asarray(center) + np.column_stack([r * np.cos(t), r * np.sin(t)])


def _gaussian(rng, n: int, mean, cov) -> np.ndarray:
    """n points from a 2-D normal distribution, shape (n, 2)."""
    return rng.multivariate_normal(mean, cov, size=n, method="cholesky")


def _rotation(degrees: float) -> np.ndarray:
    """2×2 rotation matrix."""
    a = np.deg2rad(degrees)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def _finish(name: str, parts, rng, seed, suggested_k=None, grouped: bool = True) -> Dataset:
    """Stack the groups' points, shuffle them, and wrap them in a Dataset."""
    X = np.concatenate(parts, axis=0)
    y = np.concatenate([np.full(len(p), g, dtype=np.int64) for g, p in enumerate(parts)])
    # Shuffle so that the first rows are not all one group (it matters for "random" seeding demos).
    order = rng.permutation(len(X))
    title, teaches, k = _INFO[name]
    return Dataset(name=name, X=X[order], y=y[order] if grouped else None, title=title,
                   teaches=teaches, suggested_k=suggested_k or k, random_state=seed)


# ----------------------------------------------------------------------------- data sets


def make_blobs(n_samples: int = 300, centers: int = 4, cluster_std: float = 1.0,
               random_state=0) -> Dataset:
    """Round, well-separated Gaussian blobs of equal size and spread.

    The centres are drawn at random in a square that grows with their number,
    keeping the layout (of a few tried) whose closest pair is farthest apart.

    Parameters
    ----------
    n_samples : int, default=300
    centers : int, default=4
        Number of blobs (``suggested_k``).
    cluster_std : float, default=1.0
        Standard deviation of each blob.
    random_state : None, int or numpy.random.Generator, default=0

    Returns
    -------
    Dataset
        ``X`` of shape (n_samples, 2); ``y`` the blob of each point.

    Examples
    --------
    >>> make_blobs(n_samples=100, centers=2).X.shape
    (100, 2)
    """
    centers = check_positive_int(centers, "centers")
    n = _check_n(n_samples, centers)
    std = _check_positive_float(cluster_std, "cluster_std")
    rng, seed = check_random_state(random_state)
    half = std * (4 + 3 * np.sqrt(centers))
    best, best_gap = None, -1.0
    for _ in range(30):
        C = rng.uniform(-half, half, size=(centers, 2))
        gap = np.inf if centers == 1 else min(
            np.linalg.norm(C[i] - C[j]) for i in range(centers) for j in range(i))
        if gap > best_gap:
            best, best_gap = C, gap
    counts = _split(n, np.ones(centers))
    parts = [c + std * rng.standard_normal((m, 2)) for c, m in zip(best, counts)]
    return _finish("blobs", parts, rng, seed, suggested_k=centers)


def make_uniform(n_samples: int = 300, random_state=0) -> Dataset:
    """Points spread uniformly over a square: no clusters at all (``y`` is None).

    Examples
    --------
    >>> ds = make_uniform(n_samples=50)
    >>> ds.X.shape, ds.y is None
    ((50, 2), True)
    """
    n = _check_n(n_samples, 1)
    rng, seed = check_random_state(random_state)
    return _finish("uniform", [rng.uniform(-5, 5, size=(n, 2))], rng, seed, grouped=False)


def make_gaussian_mixture(n_samples: int = 500, random_state=0) -> Dataset:
    """Three overlapping Gaussian groups of different size, spread and tilt.

    Half the points are in a wide round group, 30% in a tilted elongated group
    and 20% in a small tight group; their edges overlap.

    Examples
    --------
    >>> ds = make_gaussian_mixture(random_state=3)
    >>> ds.X.shape, ds.suggested_k
    ((500, 2), 3)
    """
    n = _check_n(n_samples, 3)
    rng, seed = check_random_state(random_state)
    tilt = _rotation(35) @ np.diag([2.2 ** 2, 0.5 ** 2]) @ _rotation(35).T
    groups = [((-2.5, -0.5), np.eye(2) * 1.5 ** 2), ((2.5, 2.0), tilt), ((2.0, -2.5), np.eye(2) * 0.6 ** 2)]
    counts = _split(n, [0.5, 0.3, 0.2])
    parts = [_gaussian(rng, m, mean, cov) for (mean, cov), m in zip(groups, counts)]
    return _finish("gaussian_mixture", parts, rng, seed)


def _smiley_parts(rng, counts) -> list:
    """Face outline, left eye, right eye and mouth of a smiley of radius 4."""
    face, left, right, mouth = counts
    return [
        _arc(rng, face, (0, 0), 4.0, 0, 2 * np.pi, 0.15),                      # outline
        _gaussian(rng, left, (-1.5, 1.4), np.eye(2) * 0.3 ** 2),               # left eye
        _gaussian(rng, right, (1.5, 1.4), np.eye(2) * 0.3 ** 2),               # right eye
        _arc(rng, mouth, (0, 0.2), 2.3, np.deg2rad(205), np.deg2rad(335), 0.12),  # smile
    ]


def make_smiley(n_samples: int = 600, random_state=0) -> Dataset:
    """A smiley face: a circular outline, two round eyes and a smiling mouth arc.

    Groups (``y``): 0 outline (55% of points), 1 left eye, 2 right eye (10%
    each), 3 mouth (25%).

    Examples
    --------
    >>> ds = make_smiley(n_samples=200)
    >>> sorted(set(ds.y.tolist()))
    [0, 1, 2, 3]
    """
    n = _check_n(n_samples, 4)
    rng, seed = check_random_state(random_state)
    return _finish("smiley", _smiley_parts(rng, _split(n, [0.55, 0.1, 0.1, 0.25])), rng, seed)


def make_pimpled_smiley(n_samples: int = 750, random_state=0) -> Dataset:
    """The smiley face plus three small, very dense pimples on the cheeks and forehead.

    Groups (``y``): 0-3 as in :func:`make_smiley` (80% of the points), 4-6 the
    pimples (about 7% each, packed into a spot of radius ~0.1).

    Examples
    --------
    >>> ds = make_pimpled_smiley()
    >>> ds.suggested_k, int((ds.y >= 4).sum())
    (7, 150)
    """
    n = _check_n(n_samples, 7)
    rng, seed = check_random_state(random_state)
    counts = _split(n, [0.44, 0.08, 0.08, 0.2, 0.2 / 3, 0.2 / 3, 0.2 / 3])
    parts = _smiley_parts(rng, counts[:4])
    for center, m in zip([(-2.6, -0.6), (2.7, -0.3), (0.4, 3.0)], counts[4:]):
        parts.append(_gaussian(rng, m, center, np.eye(2) * 0.1 ** 2))
    return _finish("pimpled_smiley", parts, rng, seed)


def make_density_bars(n_samples: int = 600, random_state=0) -> Dataset:
    """Three vertical bars side by side, each denser than the one to its left.

    The bars are equally wide (1.5) and tall (6), a gap of 0.5 apart, and hold
    about 1/8, 2/8 and 5/8 of the points, uniformly spread.

    Examples
    --------
    >>> ds = make_density_bars()
    >>> [int((ds.y == g).sum()) for g in range(3)]
    [75, 150, 375]
    """
    n = _check_n(n_samples, 3)
    rng, seed = check_random_state(random_state)
    counts = _split(n, [1, 2, 5])
    parts = [np.column_stack([rng.uniform(left, left + 1.5, m), rng.uniform(-3, 3, m)])
             for left, m in zip([-2.75, -0.75, 1.25], counts)]
    return _finish("density_bars", parts, rng, seed)


def make_packed_circles(n_samples: int = 800, random_state=0) -> Dataset:
    """Ten equal disks packed in rows of 3, 4 and 3, each touching its neighbours.

    Disks have radius 1 and centres 2 apart on a hexagonal grid; points are
    uniform inside each disk.

    Examples
    --------
    >>> ds = make_packed_circles()
    >>> ds.suggested_k, len(set(ds.y.tolist()))
    (10, 10)
    """
    n = _check_n(n_samples, 10)
    rng, seed = check_random_state(random_state)
    centres = [(x, y * np.sqrt(3)) for y, xs in ((-1, (-2, 0, 2)), (0, (-3, -1, 1, 3)), (1, (-2, 0, 2)))
               for x in xs]
    counts = _split(n, np.ones(len(centres)))
    parts = [_disk(rng, m, c, 1.0) for c, m in zip(centres, counts)]
    return _finish("packed_circles", parts, rng, seed)


def make_rings(n_samples: int = 600, noise: float = 0.12, random_state=0) -> Dataset:
    """Three concentric rings of radius 1, 2.5 and 4.

    Each ring gets points in proportion to its length (so all are equally
    dense along the ring); ``noise`` is the standard deviation of the radius.

    Examples
    --------
    >>> ds = make_rings()
    >>> r = np.hypot(ds.X[:, 0], ds.X[:, 1])
    >>> [round(float(r[ds.y == g].mean()), 1) for g in range(3)]
    [1.0, 2.5, 4.0]
    """
    n = _check_n(n_samples, 3)
    noise = _check_positive_float(noise, "noise")
    rng, seed = check_random_state(random_state)
    radii = [1.0, 2.5, 4.0]
    parts = [_arc(rng, m, (0, 0), r, 0, 2 * np.pi, noise) for r, m in zip(radii, _split(n, radii))]
    return _finish("rings", parts, rng, seed)


def make_anisotropic(n_samples: int = 450, random_state=0) -> Dataset:
    """Three long, thin, parallel groups, tilted by 30 degrees.

    Each group has standard deviation 3 along its length and 0.35 across,
    and neighbouring groups are 2 apart across their width.

    Examples
    --------
    >>> ds = make_anisotropic()
    >>> ev = np.linalg.eigvalsh(np.cov(ds.X[ds.y == 0].T))
    >>> bool(ev[1] / ev[0] > 20)
    True
    """
    n = _check_n(n_samples, 3)
    rng, seed = check_random_state(random_state)
    R = _rotation(30)
    cov = R @ np.diag([3.0 ** 2, 0.35 ** 2]) @ R.T
    across = R @ np.array([0.0, 1.0])
    parts = [_gaussian(rng, m, offset * 2.0 * across, cov)
             for offset, m in zip((-1, 0, 1), _split(n, [1, 1, 1]))]
    return _finish("anisotropic", parts, rng, seed)


def make_unequal_variance(n_samples: int = 450, random_state=0) -> Dataset:
    """Three round groups of equal size but standard deviations 0.4, 1.0 and 2.5.

    Examples
    --------
    >>> ds = make_unequal_variance()
    >>> [round(float(ds.X[ds.y == g].std(axis=0).mean()), 1) for g in range(3)]
    [0.4, 1.0, 2.3]
    """
    n = _check_n(n_samples, 3)
    rng, seed = check_random_state(random_state)
    groups = [((-3.5, 2.5), 0.4), ((-1.0, -3.0), 1.0), ((3.0, 1.0), 2.5)]
    parts = [mean + std * rng.standard_normal((m, 2))
             for (mean, std), m in zip(groups, _split(n, [1, 1, 1]))]
    return _finish("unequal_variance", parts, rng, seed)


def make_unequal_sizes(n_samples: int = 600, random_state=0) -> Dataset:
    """One big group (80% of the points) and two small ones (15% and 5%) side by side.

    All three have the same spread (standard deviation 1), so the big one
    differs only in how many points it holds. The small groups are 3.2 apart:
    close enough that K-means' lowest-inertia answer merges them.

    Examples
    --------
    >>> ds = make_unequal_sizes()
    >>> np.bincount(ds.y).tolist()
    [480, 90, 30]
    """
    n = _check_n(n_samples, 3)
    rng, seed = check_random_state(random_state)
    groups = [(-1.5, 0.0), (4.0, 1.6), (4.0, -1.6)]
    parts = [np.asarray(mean) + rng.standard_normal((m, 2))
             for mean, m in zip(groups, _split(n, [0.8, 0.15, 0.05]))]
    return _finish("unequal_sizes", parts, rng, seed)


# ----------------------------------------------------------------------------- registry


#: Every data set by name, in teaching order.
DATASETS: dict[str, Callable[..., Dataset]] = {
    "blobs": make_blobs,
    "uniform": make_uniform,
    "gaussian_mixture": make_gaussian_mixture,
    "smiley": make_smiley,
    "pimpled_smiley": make_pimpled_smiley,
    "density_bars": make_density_bars,
    "packed_circles": make_packed_circles,
    "rings": make_rings,
    "anisotropic": make_anisotropic,
    "unequal_variance": make_unequal_variance,
    "unequal_sizes": make_unequal_sizes,
}


def list_datasets() -> pd.DataFrame:
    """One row per data set: name, title, suggested_k and what it teaches.

    Returns
    -------
    DataFrame of shape (n_datasets, 4)

    Examples
    --------
    >>> table = list_datasets()
    >>> list(table.columns), len(table)
    (['name', 'title', 'suggested_k', 'teaches'], 11)
    """
    import pandas as pd  # only for the table; dataset_titles() gives the names without pandas

    rows = [(name, *_INFO[name][:1], _INFO[name][2], _INFO[name][1]) for name in DATASETS]
    return pd.DataFrame(rows, columns=["name", "title", "suggested_k", "teaches"])


def dataset_titles() -> dict[str, str]:
    """Name → title of every data set, in the order of :func:`list_datasets`.

    >>> list(dataset_titles().items())[0]
    ('blobs', 'Well-separated blobs')
    """
    return {name: _INFO[name][0] for name in DATASETS}


def load_dataset(name: str, n_samples: int | None = None, random_state=0) -> Dataset:
    """Draw a data set by name.

    Parameters
    ----------
    name : str
        One of ``DATASETS`` (spaces and hyphens are read as underscores, case
        is ignored: "Pimpled smiley" works).
    n_samples : int, optional
        Number of points; default: the data set's own default.
    random_state : None, int or numpy.random.Generator, default=0

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        An unknown name (the message lists the valid ones).

    Examples
    --------
    >>> load_dataset("smiley", n_samples=100).X.shape
    (100, 2)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {name!r} ({type(name).__name__}).")
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    check_choice(key if key in DATASETS else name, "dataset", tuple(DATASETS))
    make = DATASETS[key]
    if n_samples is None:
        return make(random_state=random_state)
    return make(n_samples=n_samples, random_state=random_state)
