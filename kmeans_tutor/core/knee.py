"""Finding the elbow of a curve with Kneedle (Satopää et al., 2011).

An elbow is where a curve stops dropping fast and starts dropping slowly: on
an inertia-versus-k curve, the k after which more clusters buy little. Kneedle
makes "where it bends most" precise in five moves:

1. (optionally) smooth y;
2. squeeze x and y into [0, 1];
3. flip the curve so that it always rises and bends like a knee (concave);
4. subtract the straight line: ``difference = y_normalized - x_normalized``.
   The diagonal joins the two ends, so the difference curve is largest where
   the curve is farthest above that line: the knee;
5. walk along the difference curve; after a local maximum, if the curve drops
   below ``maximum - S × (average x step)`` before the next local minimum,
   that maximum was a knee. The sensitivity ``S`` says how big a drop counts.

This is a faithful port of the ``kneed`` package's ``KneeLocator`` (v0.9,
including its quirks), so the same input gives the same knee; the result keeps
every intermediate curve so that a view can draw the whole picture.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .validation import check_choice, check_positive_int

__all__ = ["Knee", "find_knee", "CURVES", "DIRECTIONS", "INTERP_METHODS"]

CURVES = ("convex", "concave")
DIRECTIONS = ("increasing", "decreasing")
INTERP_METHODS = ("interp1d", "polynomial")


@dataclass(frozen=True)
class Knee:
    """What Kneedle found on a curve, and every curve it drew to find it.

    Arrays are read-only. "Difference space" is the normalised, flipped
    picture in which the knee is a maximum of ``y_difference``; in it, the
    knee sits at ``x = norm_knee``.

    Attributes
    ----------
    x, y : number or None
        The knee (elbow) on the original curve, as given (not smoothed);
        None when there is none.
    index : int or None
        Position of the knee in the caller's ``x``.
    norm_knee, norm_knee_y : float or None
        The knee in difference space (``norm_knee_y`` on ``y_normalized``).
    x_normalized, y_normalized : ndarray of shape (n_points,)
        The curve scaled to [0, 1] and flipped to a rising knee.
    x_difference, y_difference : ndarray of shape (n_points,)
        The difference curve ``y_normalized - x_normalized``.
    y_smoothed : ndarray of shape (n_points,)
        y after step 1 (y itself for "interp1d").
    maxima_indices, minima_indices : ndarray of int
        Local maxima / minima of the difference curve (plateaus included).
    thresholds : ndarray of shape (n_maxima,)
        The drop line after each local maximum:
        ``y_difference[maxima] - S × mean step of x_normalized``.
    all_knees, all_knees_y : tuple of float
        Every knee found on the way (more than one only with ``online=True``).
    S, curve, direction, interp_method, online
        The settings used.
    """

    x: float | None
    y: float | None
    index: int | None
    norm_knee: float | None
    norm_knee_y: float | None
    x_normalized: np.ndarray
    y_normalized: np.ndarray
    x_difference: np.ndarray
    y_difference: np.ndarray
    y_smoothed: np.ndarray
    maxima_indices: np.ndarray
    minima_indices: np.ndarray
    thresholds: np.ndarray
    all_knees: tuple
    all_knees_y: tuple
    S: float
    curve: str
    direction: str
    interp_method: str
    online: bool

    @property
    def found(self) -> bool:
        """Whether there is a knee."""
        return self.x is not None

    # kneed's names for people who think in elbows
    @property
    def elbow(self):
        return self.x

    @property
    def elbow_y(self):
        return self.y


# --------------------------------------------------------------------------- checks


def _check_curve(x, y):
    """x and y as float arrays sorted by x, plus the sort order.

    Returns (x_sorted, y_sorted, order, x_values, y_values) where the last
    two keep the caller's numbers (sorted) with their own type, for reporting
    the knee.
    """
    arrays = []
    for values, name in ((x, "x"), (y, "y")):
        if values is None or isinstance(values, (str, bytes, numbers.Number)):
            raise TypeError(f"{name} must be a 1-D sequence of numbers, got {type(values).__name__}.")
        arr = np.asarray(values)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D; got shape {arr.shape}.")
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}.")
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{name} must be finite; {name}[{i}] is {arr[i]}.")
        arrays.append(arr)
    x_values, y_values = arrays
    if len(x_values) != len(y_values):
        raise ValueError(f"x and y must be the same length; got "
                         f"{len(x_values)} and {len(y_values)}.")
    if len(x_values) < 3:
        raise ValueError(f"A knee needs a curve of at least 3 points; got {len(x_values)}.")
    order = np.argsort(x_values, kind="stable")  # the curve is the same in any order
    x_values, y_values = x_values[order], y_values[order]
    same = np.flatnonzero(np.diff(x_values) == 0)
    if same.size:
        raise ValueError(f"x values must be distinct; {x_values[same[0]].item()!r} "
                         f"appears more than once.")
    if np.ptp(y_values) == 0:
        raise ValueError(f"y is constant ({y_values[0].item()!r} everywhere): a flat "
                         f"curve has no knee.")
    return x_values.astype(np.float64), y_values.astype(np.float64), order, x_values, y_values


def _check_S(S) -> float:
    if isinstance(S, (bool, np.bool_)) or not isinstance(S, numbers.Real):
        raise TypeError(f"S (sensitivity) must be a number, got {S!r} ({type(S).__name__}).")
    if not np.isfinite(S) or S < 0:
        raise ValueError(f"S (sensitivity) must be a finite number ≥ 0, got {S}.")
    return float(S)


# --------------------------------------------------------------------------- Kneedle


def _read_only(a) -> np.ndarray:
    """A read-only copy, so that a Knee cannot be changed behind a view's back."""
    a = np.array(a)
    a.flags.writeable = False
    return a


def _normalize(a: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] (a is not constant)."""
    return (a - a.min()) / (a.max() - a.min())


def _to_rising_knee(y: np.ndarray, direction: str, curve: str) -> np.ndarray:
    """Flip a normalised curve so that it rises and bends like a knee (kneed's transform_y)."""
    if direction == "decreasing":
        return np.flip(y) if curve == "concave" else y.max() - y
    if curve == "convex":
        return np.flip(y.max() - y)
    return y


def _local_extrema(a: np.ndarray, compare) -> np.ndarray:
    """Indices where compare(a[i], a[i-1]) and compare(a[i], a[i+1]) hold, ends
    compared with themselves (scipy's argrelextrema, order=1, mode="clip")."""
    before = np.concatenate((a[:1], a[:-1]))
    after = np.concatenate((a[1:], a[-1:]))
    return np.flatnonzero(compare(a, before) & compare(a, after))


def _walk(y_difference, maxima, minima, thresholds, online):
    """Kneedle's walk along the difference curve; the knee positions found, in order.

    After a local maximum, a drop below its threshold before the next local
    minimum marks that maximum as a knee. Offline, the first knee ends the walk.
    """
    n = len(y_difference)
    is_max = np.zeros(n, dtype=bool)
    is_max[maxima] = True
    is_min = np.zeros(n, dtype=bool)
    is_min[minima] = True
    knees = []
    n_maxima_seen = 0
    threshold, threshold_index = None, None
    detecting = True
    for i in range(maxima[0], n - 1):  # the last point has no next point to drop to
        if is_max[i]:
            threshold, threshold_index = thresholds[n_maxima_seen], i
            n_maxima_seen += 1
            detecting = True
        if is_min[i]:  # a point on a plateau can be both: the minimum wins
            threshold = 0.0
            detecting = False
        if detecting and y_difference[i + 1] < threshold:
            knees.append(threshold_index)
            if not online:
                break
    return knees


def find_knee(x, y, S=1.0, curve="convex", direction="decreasing", interp_method="interp1d",
              online=False, *, polynomial_degree=7) -> Knee:
    """Find the knee (or elbow) of a curve with the Kneedle algorithm.

    Same algorithm, defaults aside, as ``kneed.KneeLocator`` (v0.9): for the
    same input it finds the same knee and the same difference curve. Here the
    defaults suit an inertia-versus-k curve (convex, decreasing).

    Parameters
    ----------
    x : array-like of shape (n_points,)
        Distinct, finite x values (e.g. k), at least 3; sorted here if needed.
    y : array-like of shape (n_points,)
        Finite y values (e.g. inertia), not all equal.
    S : float, default=1.0
        Sensitivity ≥ 0: how far (in average x steps) the difference curve
        must drop after a maximum to call it a knee. Larger S is more
        conservative; 0 accepts the first maximum that is followed by any drop.
    curve : {"convex", "concave"}, default="convex"
        "convex" bends like an elbow from below (⌞-shaped when decreasing),
        "concave" like a knee from above.
    direction : {"increasing", "decreasing"}, default="decreasing"
    interp_method : {"interp1d", "polynomial"}, default="interp1d"
        "interp1d" uses y as given; "polynomial" first smooths y with a
        least-squares polynomial of degree ``polynomial_degree``.
    online : bool, default=False
        False: return the first knee found. True: keep walking and return the
        last one (``all_knees`` lists them all).
    polynomial_degree : int, default=7
        Only for "polynomial"; needs more points than the degree.

    Returns
    -------
    Knee
        ``knee.x`` is the knee's x (None if there is none); the other fields
        hold the normalised and difference curves for drawing.

    Examples
    --------
    >>> from kmeans_tutor import find_knee
    >>> k = [1, 2, 3, 4, 5, 6, 7, 8]
    >>> inertia = [1000, 500, 200, 160, 130, 110, 95, 85]
    >>> knee = find_knee(k, inertia)
    >>> knee.x, knee.index
    (3, 2)
    """
    x_sorted, y_sorted, order, x_values, y_values = _check_curve(x, y)
    S = _check_S(S)
    check_choice(curve, "curve", CURVES)
    check_choice(direction, "direction", DIRECTIONS)
    check_choice(interp_method, "interp_method", INTERP_METHODS)
    if not isinstance(online, (bool, np.bool_)):
        raise TypeError(f"online must be True or False, got {online!r}.")
    n = len(x_sorted)

    # 1. Smooth (or not).
    if interp_method == "polynomial":
        degree = check_positive_int(polynomial_degree, "polynomial_degree")
        if n <= degree:
            raise ValueError(f"polynomial_degree={degree} needs more than {degree} points; "
                             f"the curve has {n}. Lower the degree or use 'interp1d'.")
        y_smoothed = np.polyval(np.polyfit(x_sorted, y_sorted, degree), x_sorted)
        if np.ptp(y_smoothed) == 0:
            raise ValueError("The smoothed curve is flat: it has no knee.")
    else:
        y_smoothed = y_sorted.copy()

    # 2–3. Normalise to [0, 1] and flip to a rising knee. Flipping y by position
    # mirrors the curve only on evenly spaced x, so x is mirrored by value too.
    x_normalized = _normalize(x_sorted)
    y_normalized = _to_rising_knee(_normalize(y_smoothed), direction, curve)
    flipped = (direction, curve) in (("decreasing", "concave"), ("increasing", "convex"))
    if flipped:
        x_normalized = np.flip(1.0 - x_normalized)

    # 4. The difference curve: how far the curve rises above the diagonal.
    y_difference = y_normalized - x_normalized
    x_difference = x_normalized.copy()
    maxima = _local_extrema(y_difference, np.greater_equal)
    minima = _local_extrema(y_difference, np.less_equal)

    # 5. After each maximum, the line the curve must drop below to make it a knee.
    thresholds = y_difference[maxima] - S * np.abs(np.diff(x_normalized).mean())
    found = _walk(y_difference, maxima, minima, thresholds, online) if maxima.size else []

    # A position in difference space is the mirrored position on the curve
    # when it was flipped; kneed keeps each knee once, in the order found.
    knees, knees_y, positions = [], [], []
    for t in found:
        p = n - 1 - t if flipped else t
        knee_x = x_values[p].item()
        if knee_x not in knees:
            knees.append(knee_x)
            knees_y.append(y_values[p].item())
            positions.append((p, t))

    if positions:
        p, t = positions[-1] if online else positions[0]
        knee_x, knee_y, index = x_values[p].item(), y_values[p].item(), int(order[p])
        norm_knee, norm_knee_y = float(x_normalized[t]), float(y_normalized[t])
    else:
        knee_x = knee_y = index = norm_knee = norm_knee_y = None
    return Knee(x=knee_x, y=knee_y, index=index, norm_knee=norm_knee, norm_knee_y=norm_knee_y,
                x_normalized=_read_only(x_normalized), y_normalized=_read_only(y_normalized),
                x_difference=_read_only(x_difference), y_difference=_read_only(y_difference),
                y_smoothed=_read_only(y_smoothed), maxima_indices=_read_only(maxima),
                minima_indices=_read_only(minima), thresholds=_read_only(thresholds),
                all_knees=tuple(knees), all_knees_y=tuple(knees_y), S=S, curve=curve,
                direction=direction, interp_method=interp_method, online=bool(online))
