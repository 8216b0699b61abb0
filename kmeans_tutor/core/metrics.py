"""How good is a clustering? Four numbers, each answering a slightly different question.

- **inertia**: total squared distance of every point to its own centre. What
  K-means minimises; it always drops as k grows, so it cannot choose k alone.
- **silhouette**: for each point, how much closer it is to its own cluster
  than to the next-nearest one, from -1 (wrong cluster) to +1 (well inside).
- **Calinski-Harabasz**: spread *between* clusters over spread *within* them,
  scaled for k and n (higher is better).
- **Davies-Bouldin**: for each cluster, its worst "look-alike" ratio
  (size of both / distance between them), averaged (lower is better).

Definitions and edge cases are those of scikit-learn's functions of the same
names, so the numbers can be checked against it.
"""

from __future__ import annotations

import numbers

import numpy as np

from .kernels import cluster_sums, exact_inertia
from .validation import check_array, check_positive_int, check_random_state

__all__ = [
    "inertia",
    "silhouette_samples",
    "silhouette_score",
    "calinski_harabasz_score",
    "davies_bouldin_score",
]

# Floats per block of the pairwise-distance table (8 MB): memory stays bounded
# however many points there are, and a block this size is also the fastest.
_BLOCK_FLOATS = 1 << 20

# Pairs closer than this fraction of the block's largest ‖x‖² + ‖y‖² (squared
# distance) are recomputed exactly (see _silhouette_parts).
_NEAR_ZERO = 1e-10


# --------------------------------------------------------------------------- checks


def _show(value) -> str:
    return repr(value.item() if isinstance(value, np.generic) else value)


def _label_array(labels, n_samples: int) -> np.ndarray:
    """labels as a 1-D array of n_samples integer-valued numbers (any dtype)."""
    if labels is None or isinstance(labels, (str, bytes, numbers.Number)):
        raise TypeError(f"labels must be a 1-D array of cluster labels, got {type(labels).__name__}.")
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"labels must be 1-D (one cluster label per row of X); got shape {arr.shape}."
                         + (" Use labels.ravel()." if arr.ndim == 2 and 1 in arr.shape else ""))
    if arr.shape[0] != n_samples:
        raise ValueError(f"labels has {arr.shape[0]} entries but X has {n_samples} rows; "
                         f"give one label per row.")
    if arr.dtype.kind == "O":  # e.g. a list mixing ints and None
        for i, v in enumerate(arr):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
                raise TypeError(f"labels must be integers; labels[{i}] is {_show(v)}.")
        arr = arr.astype(np.float64)
    if arr.dtype.kind == "b":
        return arr.astype(np.intp)
    if arr.dtype.kind in "iu":
        return arr
    if arr.dtype.kind != "f":
        raise TypeError(f"labels must be integers, got dtype {arr.dtype} "
                        f"(e.g. labels[0] = {_show(arr[0])}).")
    bad = np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))
    if bad.size:
        i = int(bad[0])
        what = "NaN" if np.isnan(arr[i]) else _show(arr[i])
        raise ValueError(f"labels must be whole numbers; labels[{i}] is {what}.")
    return arr


def _encode_labels(labels, n_samples: int) -> tuple[np.ndarray, int]:
    """Re-number any integer labels as 0..m-1; return the codes and m."""
    values, codes = np.unique(_label_array(labels, n_samples), return_inverse=True)
    return codes.astype(np.intp, copy=False).ravel(), len(values)


def _check_n_labels(n_labels: int, n_samples: int, *, what: str = "distinct labels", hint: str = "") -> None:
    """scikit-learn's rule: a score needs 2 to n_samples - 1 clusters."""
    if not 2 <= n_labels <= n_samples - 1:
        raise ValueError(f"Number of clusters is {n_labels} ({what}); for {n_samples} points the "
                         f"score needs 2 to n_samples - 1 = {n_samples - 1} clusters (inclusive).{hint}")


def _check_X_labels(X, labels):
    """Validated X and labels re-encoded as 0..m-1, with 2 ≤ m ≤ n - 1."""
    X, _ = check_array(X)
    codes, m = _encode_labels(labels, X.shape[0])
    _check_n_labels(m, X.shape[0])
    return X, codes, m


# --------------------------------------------------------------------------- inertia


def inertia(X, labels, centers) -> float:
    """Sum of squared distances of each point to the centre of its own cluster.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Cluster of each point: integers in ``0 .. n_clusters - 1`` that index
        the rows of ``centers``.
    centers : array-like of shape (n_clusters, n_features)

    Returns
    -------
    float
        ``Σ_i ‖X[i] - centers[labels[i]]‖²``, summed in this difference form
        (never expanded), so it is exact to rounding.

    Examples
    --------
    >>> from kmeans_tutor import inertia
    >>> inertia([[0, 0], [0, 2], [10, 0]], [0, 0, 1], [[0, 1], [10, 0]])
    2.0
    """
    X, _ = check_array(X, min_samples=1)
    centers, _ = check_array(centers, name="centers", min_samples=1)
    if centers.shape[1] != X.shape[1]:
        raise ValueError(f"centers have {centers.shape[1]} features but X has {X.shape[1]}.")
    labels = _label_array(labels, X.shape[0])
    k = centers.shape[0]
    bad = np.flatnonzero((labels < 0) | (labels >= k))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"labels[{i}] = {_show(labels[i])} does not name a centre; with {k} "
                         f"centres, labels must be 0 to {k - 1}.")
    return exact_inertia(X, centers, labels.astype(np.intp))


# --------------------------------------------------------------------------- silhouette


def _silhouette_parts(X: np.ndarray, codes: np.ndarray, n_labels: int):
    """Per point: a = mean distance to the rest of its own cluster, b = smallest
    mean distance to another cluster, and the size of its own cluster.

    Works on row blocks of the n × n distance table, so memory stays near
    _BLOCK_FLOATS + O(n·(d + 1)) floats however large n is.
    """
    n = X.shape[0]
    # Sort the points by cluster: then each cluster is a run of columns, and
    # the per-cluster distance sums of a block are one np.add.reduceat.
    order = np.argsort(codes, kind="stable")
    own = codes[order]  # (n,) sorted cluster of each sorted row
    counts = np.bincount(codes, minlength=n_labels)  # (m,) every cluster non-empty
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))  # (m,) first column of each cluster

    # Distances do not change when every point is shifted, so centre the data:
    # ‖x‖² - 2x·y + ‖y‖² then cancels far less for data far from the origin.
    Y = X[order] - X.mean(axis=0)  # (n, d)
    sq = np.einsum("ij,ij->i", Y, Y)  # (n,) ‖y‖²
    # One matrix product gives ‖x‖² - 2x·y + ‖y‖² for a whole block:
    # [-2x, 1, ‖x‖²] · [y, ‖y‖², 1] = -2x·y + ‖y‖² + ‖x‖².
    left = np.column_stack([-2.0 * Y, np.ones(n), sq])  # (n, d + 2)
    right = np.ascontiguousarray(np.column_stack([Y, sq, np.ones(n)]).T)  # (d + 2, n)

    a = np.empty(n)
    b = np.empty(n)
    block = max(1, _BLOCK_FLOATS // n)
    buffer = np.empty((min(block, n), n))  # reused by every block
    for s in range(0, n, block):
        e = min(s + block, n)
        D = np.matmul(left[s:e], right, out=buffer[: e - s])  # (rows, n) squared distances
        # Trap: the expanded form cancels when x ≈ y, so a point's distance to
        # itself or to a duplicate comes out as ~1e-8·‖x‖ (or even < 0) instead
        # of 0. Redo those few near-zero pairs in the exact difference form;
        # that also removes every negative, so no clipping is needed.
        tiny = np.flatnonzero(D < _NEAR_ZERO * (sq[s:e].max() + sq.max()))
        if tiny.size:
            i, j = np.divmod(tiny, n)
            diff = Y[s + i] - Y[j]  # (n_tiny, d)
            D.flat[tiny] = np.einsum("ij,ij->i", diff, diff)
        np.sqrt(D, out=D)
        sums = np.add.reduceat(D, starts, axis=1)  # (rows, m) distance sums per cluster
        rows = np.arange(e - s)
        own_block = own[s:e]
        # a: the point's own distance (0) is in the sum, so divide by size - 1.
        a[s:e] = sums[rows, own_block] / np.maximum(counts[own_block] - 1, 1)
        sums /= counts
        sums[rows, own_block] = np.inf  # b looks at the other clusters only
        b[s:e] = sums.min(axis=1)

    # Back to the caller's row order.
    a_out, b_out, size = np.empty(n), np.empty(n), np.empty(n, dtype=np.intp)
    a_out[order], b_out[order], size[order] = a, b, counts[own]
    return a_out, b_out, size


def _silhouette(X: np.ndarray, codes: np.ndarray, n_labels: int) -> np.ndarray:
    """Silhouette of every point; inputs are validated."""
    a, b, size = _silhouette_parts(X, codes, n_labels)
    top = np.maximum(a, b)
    s = np.zeros_like(a)
    # s = 0 for a point alone in its cluster (a is undefined), and when a = b = 0
    # (duplicates of the point in both clusters): scikit-learn's conventions.
    ok = (size > 1) & (top > 0)
    s[ok] = (b[ok] - a[ok]) / top[ok]
    return s


def silhouette_samples(X, labels) -> np.ndarray:
    """Silhouette coefficient of every point (Euclidean distance).

    For point i in cluster C, let ``a`` be its mean distance to the other
    points of C and ``b`` its smallest mean distance to the points of another
    cluster. Then ``s = (b - a) / max(a, b)``: near +1 well inside its
    cluster, near 0 on a border, negative when another cluster is closer.
    A point alone in its cluster gets ``s = 0``.

    Rows are processed in blocks, so 100 000 points never need the full
    n × n distance table (memory stays near 8 MB plus a few copies of X).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Cluster of each point: any integers (e.g. 3, 7, 9); 2 to
        n_samples - 1 distinct values.

    Returns
    -------
    ndarray of shape (n_samples,)
        Values in [-1, 1].

    Examples
    --------
    >>> from kmeans_tutor import silhouette_samples
    >>> X = [[0, 0], [0, 1], [5, 0], [5, 1]]
    >>> silhouette_samples(X, [0, 0, 1, 1]).round(3).tolist()
    [0.802, 0.802, 0.802, 0.802]
    """
    X, codes, m = _check_X_labels(X, labels)
    return _silhouette(X, codes, m)


def silhouette_score(X, labels, *, sample_size=None, random_state=None) -> float:
    """Mean silhouette coefficient over all points (or over a random sample).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Cluster of each point: any integers; 2 to n_samples - 1 distinct values.
    sample_size : int, optional
        Score only this many points, drawn without replacement
        (``rng.choice(n_samples, sample_size, replace=False)``) and compared
        with each other only. Between 2 and n_samples. Default: all points.
    random_state : None, int or numpy.random.Generator, default=None
        Seed for the sample; ignored without ``sample_size``.

    Returns
    -------
    float
        In [-1, 1]; higher means tighter, better separated clusters.

    Examples
    --------
    >>> from kmeans_tutor import silhouette_score
    >>> X = [[0, 0], [0, 1], [5, 0], [5, 1], [5, 2]]
    >>> round(silhouette_score(X, [0, 0, 1, 1, 1]), 3)
    0.766
    """
    X, _ = check_array(X)
    n = X.shape[0]
    codes, m = _encode_labels(labels, n)
    _check_n_labels(m, n)
    if sample_size is not None:
        size = check_positive_int(sample_size, "sample_size")
        if not 2 <= size <= n:
            raise ValueError(f"sample_size must be between 2 and n_samples = {n}, got {size}.")
        rng, _ = check_random_state(random_state)
        pick = rng.choice(n, size, replace=False)
        X, (codes, m) = X[pick], _encode_labels(codes[pick], size)
        _check_n_labels(m, size, what=f"distinct labels among the {size} sampled points",
                        hint=" Try a larger sample_size.")
    return float(np.mean(_silhouette(X, codes, m)))


# --------------------------------------------------------------------------- other scores


def _centroids(X: np.ndarray, codes: np.ndarray, n_labels: int):
    """Mean of every cluster, shape (m, d), and its size, shape (m,)."""
    counts = np.bincount(codes, minlength=n_labels)
    return cluster_sums(X, codes, n_labels) / counts[:, None], counts


def calinski_harabasz_score(X, labels) -> float:
    """Calinski-Harabasz score: between-cluster over within-cluster dispersion.

    ``CH = [B / (k - 1)] / [W / (n - k)]`` with ``B = Σ_c n_c ‖mean_c - mean‖²``
    and ``W = Σ_i ‖x_i - mean_{c(i)}‖²`` (the inertia at the cluster means).
    Higher is better. When every cluster is a single repeated point (W = 0)
    the score is 1.0, as in scikit-learn.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Any integers; 2 to n_samples - 1 distinct values.

    Returns
    -------
    float

    Examples
    --------
    >>> from kmeans_tutor import calinski_harabasz_score
    >>> calinski_harabasz_score([[0, 0], [0, 2], [4, 0], [4, 2]], [0, 0, 1, 1])
    8.0
    """
    X, codes, k = _check_X_labels(X, labels)
    n = X.shape[0]
    means, counts = _centroids(X, codes, k)
    between = float(counts @ ((means - X.mean(axis=0)) ** 2).sum(axis=1))
    within = exact_inertia(X, means, codes)
    if within == 0.0:
        return 1.0
    return between * (n - k) / (within * (k - 1.0))


def davies_bouldin_score(X, labels) -> float:
    """Davies-Bouldin score: the average "worst look-alike" ratio of each cluster.

    With ``s_c`` the mean distance of cluster c's points to its centroid and
    ``d_cj`` the distance between centroids c and j,
    ``DB = mean over c of max over j ≠ c of (s_c + s_j) / d_cj``.
    Lower is better; 0 is the minimum. As in scikit-learn, the score is 0.0
    when all ``s_c`` or all ``d_cj`` are ≈ 0 (``np.allclose(…, 0)``: at most
    1e-8), and pairs of clusters with the same centroid are skipped.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Any integers; 2 to n_samples - 1 distinct values.

    Returns
    -------
    float

    Examples
    --------
    >>> from kmeans_tutor import davies_bouldin_score
    >>> davies_bouldin_score([[0, 0], [0, 2], [4, 0], [4, 2]], [0, 0, 1, 1])
    0.5
    """
    X, codes, k = _check_X_labels(X, labels)
    means, counts = _centroids(X, codes, k)
    diff = X - means[codes]  # (n, d)
    spread = np.bincount(codes, weights=np.sqrt(np.einsum("ij,ij->i", diff, diff)),
                         minlength=k) / counts  # (k,) s_c

    # Centroid distances in blocks of rows, so that many clusters never need a k × k table.
    worst = np.empty(k)
    largest_gap = 0.0
    block = max(1, _BLOCK_FLOATS // k)
    for s in range(0, k, block):
        e = min(s + block, k)
        gap = np.zeros((e - s, k))  # (rows, k) squared centroid distances
        for j in range(X.shape[1]):
            gap += np.subtract.outer(means[s:e, j], means[:, j]) ** 2
        np.sqrt(gap, out=gap)
        largest_gap = max(largest_gap, float(gap.max()))
        gap[gap == 0] = np.inf  # the cluster itself, and clusters sharing its centroid
        worst[s:e] = ((spread[s:e, None] + spread) / gap).max(axis=1)

    if np.allclose(spread, 0) or largest_gap <= 1e-8:  # scikit-learn's np.allclose(..., 0)
        return 0.0
    return float(worst.mean())
