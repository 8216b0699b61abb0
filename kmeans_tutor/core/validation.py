"""Input checks for the public edge.

Public functions call these once and hand clean, float64, C-contiguous arrays to
the private kernels, which trust their input. Every error names what is wrong:
the row, the column, the value.

pandas is not imported here: :func:`is_dataframe` and :func:`is_series`
recognise its objects without loading it (importing pandas costs a lesson
kernel 0.2 s of CPU and 32 MB), since none can exist before it is loaded.
"""

from __future__ import annotations

import numbers
import secrets
import sys
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ComplexDataError",
    "check_array",
    "check_query",
    "check_n_clusters",
    "check_random_state",
    "check_positive_int",
    "check_tol",
    "check_choice",
    "check_centers",
    "is_dataframe",
    "is_series",
]

MAX_SEED = 2**32 - 1


def is_dataframe(obj) -> bool:
    """Whether ``obj`` is a pandas DataFrame, without importing pandas.

    Until something has imported pandas no DataFrame can exist, so the answer
    is False without loading it.

    >>> is_dataframe([[1.0, 2.0]])
    False
    """
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(obj, pandas.DataFrame)


def is_series(obj) -> bool:
    """Whether ``obj`` is a pandas Series, without importing pandas (see :func:`is_dataframe`)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(obj, pandas.Series)


def _show(value, limit: int = 60) -> str:
    """repr of a cell or label, without numpy's type wrapper (np.str_('a') → 'a'), cut to ``limit``."""
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _column_name(feature_names, j: int) -> str:
    if feature_names is not None:
        return f"column {feature_names[j]!r}"
    return f"column {j}"


def _row_name(index, i: int) -> str:
    if index is not None:
        return f"row {_show(index[i])}"
    return f"row {i}"


class ComplexDataError(TypeError, ValueError):
    """Complex numbers where real ones are needed: a TypeError (the data have the
    wrong kind) that is also a ValueError, as scikit-learn raises for them."""


#: Largest squared distance K-means may meet: beyond it sums overflow float64 (1.8e308).
MAX_SQUARED_SPAN = 1e300


def check_array(X, *, name: str = "X", min_samples: int = 2, distances: bool = True):
    """Check and convert a 2-D numeric data set.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Numeric data. DataFrame column names are kept as feature names.
    name : str, default="X"
        How to call the data in error messages.
    min_samples : int, default=2
        Fewest rows accepted.
    distances : bool, default=True
        The data will be measured with squared distances: refuse values so
        large or so spread that those overflow float64. False (e.g. to scale
        such data) accepts every finite value.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64, C-contiguous
        The data; the caller's array itself when it already is float64 and
        C-contiguous (no copy).
    feature_names : ndarray of str or None
        Column names of a DataFrame input, else None.

    Raises
    ------
    TypeError
        Text, object, categorical, complex (:class:`ComplexDataError`, also a
        ValueError) or otherwise non-numeric data; a sparse matrix; a set,
        dict, generator or other object that is not a table.
    ValueError
        Not 2-D, empty, too few rows, NaN / infinite / masked values, values
        so large that squared distances would overflow, or a DataFrame with two
        columns of the same name (the message names the first bad row and column).
    """
    feature_names, index = None, None
    if is_series(X):
        raise ValueError(f"{name} must be 2-D (rows × features); got a pandas Series. "
                         f"Reshape your data: use a DataFrame, e.g. series.to_frame().")
    if is_dataframe(X):
        feature_names, index = _check_frame_columns(X, name), X.index
        X = X.to_numpy()
    else:
        X = _as_array(X, name)
    _check_shape(X, name, min_samples)
    X = _as_float(X, name, index, feature_names)
    _check_finite(X, name, index, feature_names)
    if distances:
        _check_span(X, name, feature_names)
    return X, feature_names


def _check_frame_columns(X: pd.DataFrame, name: str) -> np.ndarray:
    """A DataFrame's column names, after checking every column holds real numbers."""
    import pandas as pd  # already loaded: X is a DataFrame

    names = [str(c) for c in X.columns]
    repeated = sorted({c for c in names if names.count(c) > 1}) if len(set(names)) < len(names) else []
    if repeated:
        raise ValueError(f"{name} has more than one column named {repeated[0]!r}; give every "
                         f"column its own name.")
    for j, dtype in enumerate(X.dtypes):
        column = X.iloc[:, j]
        if pd.api.types.is_bool_dtype(dtype):
            continue
        if pd.api.types.is_complex_dtype(dtype):
            raise ComplexDataError(f"Complex data not supported: {name} column {names[j]!r} holds "
                                   f"complex numbers; K-means needs real numbers.")
        if not pd.api.types.is_numeric_dtype(dtype):
            bad = column[pd.to_numeric(column, errors="coerce").isna() & column.notna()]
            example = f" (e.g. {_show(bad.iloc[0])} at row {_show(bad.index[0])})" if len(bad) else ""
            raise TypeError(f"{name} column {names[j]!r} is not numeric (dtype {dtype}){example}; "
                            f"encode or drop it before clustering.")
    return np.asarray(names, dtype=object)


def _as_array(X, name: str) -> np.ndarray:
    """Any array-like as a numpy array; tables only (no scalars, sets, dicts, generators, sparse)."""
    if _is_sparse(X):
        raise TypeError(f"{name} is a sparse matrix ({type(X).__name__}); sparse input is not "
                        f"supported: K-means here works on dense arrays. Use X.toarray() if it "
                        f"fits in memory.")
    if isinstance(X, np.ma.MaskedArray):
        if np.ma.count_masked(X):
            raise ValueError(f"{name} is a masked array with {np.ma.count_masked(X)} masked "
                             f"value(s); fill them (X.filled(value)) or drop those rows first.")
        return np.asarray(X.data)
    if isinstance(X, np.ndarray):
        return X
    if X is None or isinstance(X, (str, bytes, numbers.Number, set, frozenset, dict)) \
            or (hasattr(X, "__next__") and not hasattr(X, "__len__")):
        raise TypeError(f"{name} must be a 2-D array or DataFrame (rows × features), "
                        f"got {type(X).__name__}.")
    try:
        return np.asarray(X)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise ValueError(f"{name} could not be read as a 2-D array: {exc}") from None


def _is_sparse(X) -> bool:
    """A scipy.sparse matrix or array, recognised without importing SciPy."""
    return type(X).__module__.startswith("scipy.sparse") or hasattr(X, "tocsr")


def _check_shape(X: np.ndarray, name: str, min_samples: int) -> None:
    if X.ndim != 2:
        hint = (" Reshape your data: X.reshape(-1, 1) for a single feature, or "
                "X.reshape(1, -1) for a single sample.") if X.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (rows × features); got a {X.ndim}-D array "
                         f"of shape {X.shape}.{hint}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty: 0 sample(s) (shape={X.shape}) while a minimum of 1 "
                         f"is required; it needs at least one row.")
    if X.shape[1] == 0:
        raise ValueError(f"{name} is empty: 0 feature(s) (shape={X.shape}) while a minimum of 1 "
                         f"is required; it needs at least one feature.")
    if X.shape[0] < max(min_samples, 1):
        rows = f"{X.shape[0]} row{'s' if X.shape[0] != 1 else ''} (n_samples = {X.shape[0]})"
        raise ValueError(f"{name} has {rows}; K-means needs at least {max(min_samples, 1)}.")


def _as_float(X: np.ndarray, name: str, index, feature_names) -> np.ndarray:
    """X as C-contiguous float64; complex, text and other objects refused by position."""
    if X.dtype.kind == "c":
        raise ComplexDataError(f"Complex data not supported: {name} holds complex numbers "
                               f"(dtype {X.dtype}); K-means needs real numbers.")
    if X.dtype.kind in "OUSV":
        # Text is refused even when it looks like a number: parse files with load_csv.
        for (i, j), v in np.ndenumerate(X):
            if isinstance(v, (complex, np.complexfloating)):
                raise ComplexDataError(f"Complex data not supported: {name} {_row_name(index, i)}, "
                                       f"{_column_name(feature_names, j)} holds {_show(v)}.")
            if not isinstance(v, numbers.Real):
                raise TypeError(f"{name} is not numeric: {_row_name(index, i)}, "
                                f"{_column_name(feature_names, j)} holds {_show(v)} (float() "
                                f"argument must be a string or a real number, not "
                                f"'{type(v).__name__}').")
            try:
                float(v)
            except OverflowError:
                raise ValueError(f"{name} {_row_name(index, i)}, {_column_name(feature_names, j)} "
                                 f"holds {_show(v)}, too large for a float64 number.") from None
    elif X.dtype.kind not in "biuf":
        raise TypeError(f"{name} is not numeric (dtype {X.dtype}).")
    return np.ascontiguousarray(X, dtype=np.float64)


def _check_finite(X: np.ndarray, name: str, index, feature_names) -> None:
    if not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))[0]
        i, j = int(bad[0]), int(bad[1])
        what = "NaN" if np.isnan(X[i, j]) else "an infinite value"
        n_bad = int((~np.isfinite(X)).sum())
        more = f" ({n_bad} non-finite values in all)" if n_bad > 1 else ""
        raise ValueError(f"{name} contains {what} at {_row_name(index, i)}, "
                         f"{_column_name(feature_names, j)}{more}; remove or fill missing values first.")


def _check_span(X: np.ndarray, name: str, feature_names) -> None:
    """Values whose squared distances (and sums of them) fit in float64."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    # Inertia adds up n squared distances, each at most the sum of squared column spans;
    # the mean adds up n values. Both must stay far from float64's limit. Values are
    # scaled by 2**-520 first, so that neither a span nor its square can overflow here.
    with np.errstate(over="ignore"):
        span = hi * _TINY - lo * _TINY
        too_far = X.shape[0] * float(np.sum(span ** 2)) > MAX_SQUARED_SPAN * _TINY * _TINY
        too_big = X.shape[0] * (np.maximum(np.abs(lo), np.abs(hi)) * _TINY) > 1e300 * _TINY
    if too_far or too_big.any():
        j = int(np.argmax(span)) if too_far else int(np.argmax(too_big))
        raise ValueError(f"{name} {_column_name(feature_names, j)} spans {lo[j]:.3g} … {hi[j]:.3g}: "
                         f"squared distances between such values overflow float64 (above 1e308). "
                         f"Divide the column by a power of ten first.")


_TINY = 2.0 ** -520  # a power of two: scaling by it is exact


def check_query(X, centers: np.ndarray, *, name: str = "X"):
    """Points to compare with fitted centres: valid data whose squared distances
    to every centre fit in float64. Returns (X, feature_names) like check_array."""
    X, names = check_array(X, name=name, min_samples=1)
    if X.shape[1] == centers.shape[1]:
        reach = np.abs(X).max(axis=0) * _TINY + np.abs(centers).max(axis=0) * _TINY
        if float(np.sum(reach ** 2)) > MAX_SQUARED_SPAN * _TINY * _TINY:
            j = int(np.argmax(reach))
            raise ValueError(f"{name} {_column_name(names, j)} holds values so far from the centres "
                             f"that squared distances overflow float64; check the data's units.")
    return X, names


def check_positive_int(value, name: str) -> int:
    """An integer ≥ 1 (bools and floats refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}.")
    return int(value)


def check_tol(tol) -> float:
    """A finite real number ≥ 0."""
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, numbers.Real):
        raise TypeError(f"tol must be a number, got {tol!r} ({type(tol).__name__}).")
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number ≥ 0, got {tol}.")
    return float(tol)


def check_choice(value, name: str, choices) -> str:
    """One of a fixed set of names."""
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"Unknown {name} {value!r}; choose one of {listed}.")
    return value


def _has_at_least_distinct(X: np.ndarray, k: int) -> tuple[bool, int]:
    """Whether X has at least k distinct rows, and how many were found.

    Looks at a growing prefix so that large data with plenty of distinct rows
    is answered after reading only a few of them.
    """
    n = X.shape[0]
    # Usually the first rows already hold k distinct points: look there first.
    seen = set()
    for row in X[: 4 * k]:
        seen.add((row + 0.0).tobytes())  # + 0.0: -0.0 and 0.0 are the same point
        if len(seen) >= k:
            return True, len(seen)
    size = min(n, max(4 * k, 1024))
    while True:
        m = np.unique(X[:size] + 0.0, axis=0).shape[0]
        if m >= k or size == n:
            return m >= k, m
        size = min(n, size * 8)


def check_n_clusters(n_clusters, X: np.ndarray) -> int:
    """k must be an integer with 1 ≤ k ≤ number of distinct points of X."""
    k = check_positive_int(n_clusters, "n_clusters")
    n = X.shape[0]
    if k > n:
        raise ValueError(f"n_clusters={k} is larger than the number of points ({n}).")
    enough, m = _has_at_least_distinct(X, k)
    if not enough:
        if m == 1:
            raise ValueError(f"All {n} points are identical, so there is nothing to split into "
                             f"{k} clusters (k-means++ would find zero total D²). Use n_clusters=1 "
                             f"or check the data.")
        raise ValueError(f"n_clusters={k} is larger than the number of distinct points ({m}); "
                         f"duplicate rows cannot become separate centres.")
    return k


def check_random_state(random_state) -> tuple[np.random.Generator, int | None]:
    """Turn a seed into a Generator, remembering the integer seed.

    None draws a fresh seed from the operating system and returns it, so that
    every run can be reproduced from what is shown on screen.
    """
    if random_state is None:
        seed = secrets.randbits(32)  # fresh entropy from the operating system
        return np.random.default_rng(seed), seed
    if isinstance(random_state, np.random.Generator):
        return random_state, None
    if isinstance(random_state, np.random.RandomState):
        seed = int(random_state.randint(0, MAX_SEED, dtype=np.int64))
        return np.random.default_rng(seed), seed
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state, numbers.Integral):
        raise TypeError(f"random_state must be None, an integer seed or a numpy Generator; "
                        f"got {random_state!r} ({type(random_state).__name__}).")
    if not 0 <= random_state <= MAX_SEED:
        raise ValueError(f"random_state must be between 0 and {MAX_SEED}, got {random_state}.")
    return np.random.default_rng(int(random_state)), int(random_state)


def check_centers(centers, n_clusters: int, n_features: int, *, name: str = "init") -> np.ndarray:
    """A (k, d) array of finite initial centres."""
    if np.iscomplexobj(centers):
        raise ComplexDataError(f"Complex data not supported: {name} holds complex numbers; "
                               f"centres need real coordinates.")
    try:
        C = np.array(centers, dtype=np.float64)  # copy: the caller keeps theirs
    except (TypeError, ValueError):
        raise TypeError(f"{name} array must be numeric, shape ({n_clusters}, {n_features}).") from None
    if C.ndim != 2 or C.shape != (n_clusters, n_features):
        raise ValueError(f"{name} array has shape {C.shape}; expected (n_clusters, n_features) = "
                         f"({n_clusters}, {n_features}).")
    if not np.isfinite(C).all():
        i, j = np.argwhere(~np.isfinite(C))[0]
        raise ValueError(f"{name} array has a non-finite value at centre {i}, feature {j}: {C[i, j]}.")
    return C
