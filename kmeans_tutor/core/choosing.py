"""Choosing k: fit K-means for a range of k and look at what changes.

Inertia always drops as k grows (more centres, shorter distances), so "lowest
inertia" would pick k = n. The elbow method looks instead for the k after
which the drop slows down; the silhouette asks whether the points sit well
inside their clusters. :func:`elbow` makes the table for both (a DataFrame;
:func:`elbow_scores` gives the same numbers as numpy columns, without pandas),
and :func:`suggest_k` finds the elbow with Kneedle.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from .validation import check_array, check_n_clusters, check_positive_int, check_random_state, is_dataframe
from .estimator import KMeans
from .knee import Knee, find_knee
from .metrics import silhouette_score

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["elbow", "elbow_scores", "elbow_knee", "suggest_k", "check_elbow_table"]


def _check_ks(ks, n_samples: int) -> list[int]:
    """ks as a list of distinct integers in 1..n_samples, in the caller's order."""
    if isinstance(ks, (str, bytes)) or not isinstance(ks, Iterable):
        raise TypeError(f"ks must be an iterable of integers such as range(1, 11), "
                        f"got {ks!r} ({type(ks).__name__}).")
    ks = list(ks)
    if not ks:
        raise ValueError("ks is empty; give at least one number of clusters, e.g. range(1, 11).")
    seen = set()
    for i, k in enumerate(ks):
        k = check_positive_int(k, f"ks[{i}]")
        if k > n_samples:
            raise ValueError(f"ks[{i}] = {k} is larger than the number of points ({n_samples}).")
        if k in seen:
            raise ValueError(f"ks lists k = {k} more than once; give each k once.")
        seen.add(k)
        ks[i] = k
    return ks


def elbow(X, ks=range(1, 11), *, init="k-means++", n_init=10, random_state=0,
          silhouette=True, sample_size=None, progress=None) -> pd.DataFrame:
    """Fit K-means for every k in ``ks``; tabulate inertia, silhouette and time.

    Each k is fitted with ``KMeans(n_clusters=k, init=init, n_init=n_init,
    random_state=random_state)``, so with an integer seed the table is
    reproducible (apart from ``seconds``).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
    ks : iterable of int, default=range(1, 11)
        Distinct numbers of clusters, each from 1 to n_samples (and no more
        than the number of distinct points). Rows follow this order.
    init : {"k-means++", "random", "farthest"} or callable, default="k-means++"
        Seeding method (an array of centres cannot serve several k).
    n_init : "auto" or int, default=10
        Restarts per k; the best is kept. Several restarts matter here: a
        single unlucky run at one k puts a bump in the curve and moves the
        knee (on the Mall income/score data one k-means++ run at k = 5 can end
        at inertia 66,991 instead of 44,448, and the knee moves to 6).
    random_state : None, int or numpy.random.Generator, default=0
        Seed of every fit (and of the silhouette sample). A Generator is
        shared, so its state advances from one k to the next.
    silhouette : bool, default=True
        Also compute the mean silhouette (the slow part for large data: it
        compares every pair of points).
    sample_size : int, optional
        Score the silhouette on this many points only, the same random points
        for every k (drawn as in :func:`~kmeans_tutor.core.metrics.silhouette_score`).
    progress : callable, optional
        Called as ``progress(done, total, k)`` after each k, e.g. to move a
        progress bar.

    Returns
    -------
    pandas.DataFrame
        One row per k, columns ``k`` (int), ``inertia``, ``silhouette`` and
        ``seconds`` (wall time of that fit). ``silhouette`` is NaN when it is
        not computed or undefined: k = 1, or every scored point in a cluster
        of its own.

    Examples
    --------
    The Mall customers by income and spending score:

    >>> from kmeans_tutor import elbow, load_mall_customers, suggest_k
    >>> X = load_mall_customers()[["Annual Income (k$)", "Spending Score (1-100)"]]
    >>> table = elbow(X, ks=range(1, 11), n_init=10, random_state=0)
    >>> list(table.columns), len(table)
    (['k', 'inertia', 'silhouette', 'seconds'], 10)
    >>> suggest_k(table)
    5
    >>> int(table.loc[table["silhouette"].idxmax(), "k"])
    5
    """
    import pandas as pd  # here, not at the top: pandas costs a kernel 0.2 s and 32 MB

    return pd.DataFrame(elbow_scores(X, ks, init=init, n_init=n_init, random_state=random_state,
                                     silhouette=silhouette, sample_size=sample_size, progress=progress))


def elbow_scores(X, ks=range(1, 11), *, init="k-means++", n_init=10, random_state=0,
                 silhouette=True, sample_size=None, progress=None) -> dict[str, np.ndarray]:
    """The numbers of :func:`elbow` as numpy columns, without pandas.

    Same parameters, same fits, same values: a dict of the columns ``k``
    (int64), ``inertia``, ``silhouette`` and ``seconds`` (float64), one entry
    per k in the order of ``ks``. :func:`elbow_knee` and
    :class:`~kmeans_tutor.views.analysis.ElbowView` accept it as a table.

    >>> scores = elbow_scores([[0, 0], [0, 1], [5, 5], [5, 6]], ks=[1, 2, 3])
    >>> scores["k"].tolist(), scores["inertia"].round(2).tolist()
    ([1, 2, 3], [51.0, 1.0, 0.5])
    """
    X, _ = check_array(X)
    n = X.shape[0]
    ks = _check_ks(ks, n)
    try:
        check_n_clusters(max(ks), X)
    except ValueError as exc:
        raise ValueError(f"ks includes k = {max(ks)}, too many for X: {exc}") from None
    if isinstance(init, np.ndarray) or not (isinstance(init, str) or callable(init)):
        raise TypeError("init must be a method name or a callable here: one array of centres "
                        "cannot serve every k.")
    if not isinstance(silhouette, (bool, np.bool_)):
        raise TypeError(f"silhouette must be True or False, got {silhouette!r}.")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a function progress(done, total, k), got {progress!r}.")

    # The silhouette sample is drawn once, so every k is scored on the same points.
    scored = slice(None)
    if sample_size is not None:
        size = check_positive_int(sample_size, "sample_size")
        if not 2 <= size <= n:
            raise ValueError(f"sample_size must be between 2 and n_samples = {n}, got {size}.")
        rng, _ = check_random_state(random_state)
        scored = rng.choice(n, size, replace=False)
    X_scored = X[scored]

    rows = []
    for done, k in enumerate(ks, start=1):
        start = time.perf_counter()
        model = KMeans(n_clusters=k, init=init, n_init=n_init, random_state=random_state).fit(X)
        seconds = time.perf_counter() - start
        score = np.nan
        if silhouette:
            labels = model.labels_[scored]
            # Undefined (NaN) unless 2 ≤ clusters ≤ points - 1, scikit-learn's range.
            if 2 <= np.unique(labels).size <= X_scored.shape[0] - 1:
                score = silhouette_score(X_scored, labels)
        rows.append((k, float(model.inertia_), score, seconds))
        if progress is not None:
            progress(done, len(ks), k)
    k, inertia, score, seconds = (list(column) for column in zip(*rows))
    return {"k": np.array(k, dtype=np.int64), "inertia": np.array(inertia, dtype=np.float64),
            "silhouette": np.array(score, dtype=np.float64), "seconds": np.array(seconds, dtype=np.float64)}


def suggest_k(table, S=1.0):
    """The elbow of the inertia curve of an :func:`elbow` table, or None.

    Runs :func:`~kmeans_tutor.core.knee.find_knee` on (k, inertia) with
    ``curve="convex", direction="decreasing"``. Call ``find_knee`` directly
    to get the whole Kneedle picture for drawing.

    Parameters
    ----------
    table : pandas.DataFrame
        With columns ``k`` and ``inertia`` and at least 3 rows, as returned
        by :func:`elbow`.
    S : float, default=1.0
        Kneedle's sensitivity; larger is more conservative.

    Returns
    -------
    int or None
        The suggested k, or None when the curve has no elbow.

    Examples
    --------
    >>> import pandas as pd
    >>> from kmeans_tutor import suggest_k
    >>> table = pd.DataFrame({"k": [1, 2, 3, 4, 5, 6],
    ...                       "inertia": [900.0, 400.0, 120.0, 100.0, 85.0, 75.0]})
    >>> suggest_k(table)
    3
    """
    knee = elbow_knee(table, S=S)
    return None if knee is None else int(knee.x)


def elbow_knee(table, S=1.0) -> Knee | None:
    """The Kneedle knee of the inertia curve of an :func:`elbow` table, or None.

    The whole :class:`~kmeans_tutor.core.knee.Knee` (curves, threshold,
    elbow), for drawing it (:class:`~kmeans_tutor.views.analysis.ElbowView`);
    :func:`suggest_k` gives just its k. None when the curve has no elbow.

    Parameters
    ----------
    table : pandas.DataFrame or dict of arrays
        With columns ``k`` and ``inertia`` and at least 3 rows (:func:`elbow`
        or :func:`elbow_scores`).
    S : float, default=1.0
        Kneedle's sensitivity.
    """
    inertia = check_elbow_table(table, min_rows=3)
    if np.all(inertia == inertia[0]):  # a flat curve has no knee (find_knee refuses it)
        return None
    knee = find_knee(np.asarray(table["k"]), inertia, S=S, curve="convex", direction="decreasing")
    return None if knee.x is None else knee


def check_elbow_table(table, *, min_rows: int = 1) -> np.ndarray:
    """Check a table like :func:`elbow` makes; returns its inertia as floats.

    It must be a DataFrame with columns ``k`` and ``inertia`` (or a dict of
    such columns, as :func:`elbow_scores` makes), at least ``min_rows`` rows,
    each k once, and finite inertia.
    """
    frame = is_dataframe(table)
    if not (frame or isinstance(table, Mapping)):
        raise TypeError(f"table must be a DataFrame with columns 'k' and 'inertia' (as returned "
                        f"by elbow), got {type(table).__name__}.")
    columns = list(map(str, table.columns if frame else table))
    missing = [c for c in ("k", "inertia") if c not in columns]
    if missing:
        raise ValueError(f"table has no column {missing[0]!r}; it needs 'k' and 'inertia' "
                         f"(found {columns}).")
    rows = len(table["inertia"])
    if rows < min_rows:
        if min_rows == 1:
            raise ValueError("table is empty: fit at least one k.")
        raise ValueError(f"An elbow needs the inertia of at least {min_rows} values of k; the table "
                         f"has {rows} row{'s' if rows != 1 else ''}.")
    inertia, given, ks = _inertia_column(table, frame)
    bad = np.flatnonzero(~np.isfinite(inertia))
    if bad.size:
        raise ValueError(f"table['inertia'] must hold finite numbers; it is "
                         f"{given[bad[0]]} at k = {ks[bad[0]]}.")
    return inertia


def _inertia_column(table, frame: bool):
    """The inertia as floats (NaN where a cell is not a number), the cells as given, and the ks."""
    given, ks = np.asarray(table["inertia"], dtype=object), np.asarray(table["k"], dtype=object)
    if frame:
        import pandas as pd  # already loaded: table is a DataFrame

        return pd.to_numeric(table["inertia"], errors="coerce").to_numpy(dtype=np.float64), given, ks
    try:
        return np.asarray(table["inertia"], dtype=np.float64), given, ks
    except (TypeError, ValueError):
        raise TypeError("table['inertia'] must hold numbers.") from None
