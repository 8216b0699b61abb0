"""Input checks for the public edge.

Public functions call these once and hand clean, float64, C-contiguous arrays to
the private kernels, which trust their input. Every error names what is wrong:
the row, the column, the value.
"""

from __future__ import annotations

import numbers
import secrets

import numpy as np
import pandas as pd

__all__ = [
    "check_array",
    "check_n_clusters",
    "check_random_state",
    "check_positive_int",
    "check_tol",
    "check_choice",
    "check_centers",
]

MAX_SEED = 2**32 - 1


def _show(value) -> str:
    """repr of a cell or label, without numpy's type wrapper (np.str_('a') → 'a')."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _column_name(feature_names, j: int) -> str:
    if feature_names is not None:
        return f"column {feature_names[j]!r}"
    return f"column {j}"


def _row_name(index, i: int) -> str:
    if index is not None:
        return f"row {_show(index[i])}"
    return f"row {i}"


def check_array(X, *, name: str = "X", min_samples: int = 2):
    """Check and convert a 2-D numeric data set.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Numeric data. DataFrame column names are kept as feature names.
    name : str, default="X"
        How to call the data in error messages.
    min_samples : int, default=2
        Fewest rows accepted.

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
        Text, object, categorical, complex or otherwise non-numeric data.
    ValueError
        Not 2-D, empty, too few rows, or NaN / infinite values (the message
        names the first bad row and column).
    """
    feature_names = None
    index = None
    if isinstance(X, pd.Series):
        raise ValueError(f"{name} must be 2-D (rows × features); got a pandas Series. "
                         f"Use a DataFrame, e.g. series.to_frame().")
    if isinstance(X, pd.DataFrame):
        feature_names = np.asarray([str(c) for c in X.columns], dtype=object)
        index = X.index
        for col in X.columns:
            dtype = X[col].dtype
            if pd.api.types.is_bool_dtype(dtype):
                continue
            if not pd.api.types.is_numeric_dtype(dtype):
                bad = X[col][pd.to_numeric(X[col], errors="coerce").isna() & X[col].notna()]
                example = f" (e.g. {_show(bad.iloc[0])} at row {_show(bad.index[0])})" if len(bad) else ""
                raise TypeError(f"{name} column {str(col)!r} is not numeric (dtype {dtype}){example}; "
                                f"encode or drop it before clustering.")
            if pd.api.types.is_complex_dtype(dtype):
                raise TypeError(f"{name} column {str(col)!r} holds complex numbers; K-means needs real numbers.")
        X = X.to_numpy()
    elif not isinstance(X, np.ndarray):
        if X is None or isinstance(X, (str, bytes, numbers.Number)):
            raise TypeError(f"{name} must be a 2-D array or DataFrame, got {type(X).__name__}.")
        try:
            X = np.asarray(X)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(f"{name} could not be read as a 2-D array: {exc}") from None

    if X.ndim != 2:
        hint = " Reshape a single feature with X.reshape(-1, 1)." if X.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (rows × features); got a {X.ndim}-D array "
                         f"of shape {X.shape}.{hint}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {X.shape}; it needs at least one row and one feature.")
    if X.dtype.kind == "c":
        raise TypeError(f"{name} holds complex numbers (dtype {X.dtype}); K-means needs real numbers.")
    if X.dtype.kind in "OUSV":
        # Text is refused even when it looks like a number: parse files with load_csv.
        for (i, j), v in np.ndenumerate(X):
            if not isinstance(v, numbers.Real):
                raise TypeError(f"{name} is not numeric: {_row_name(index, i)}, "
                                f"{_column_name(feature_names, j)} holds {_show(v)}.")
    elif X.dtype.kind not in "biuf":
        raise TypeError(f"{name} is not numeric (dtype {X.dtype}).")
    X = np.ascontiguousarray(X, dtype=np.float64)

    if not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))[0]
        i, j = int(bad[0]), int(bad[1])
        what = "NaN" if np.isnan(X[i, j]) else "an infinite value"
        n_bad = int((~np.isfinite(X)).sum())
        more = f" ({n_bad} non-finite values in all)" if n_bad > 1 else ""
        raise ValueError(f"{name} contains {what} at {_row_name(index, i)}, "
                         f"{_column_name(feature_names, j)}{more}; remove or fill missing values first.")
    if X.shape[0] < min_samples:
        raise ValueError(f"{name} has {X.shape[0]} row{'s' if X.shape[0] != 1 else ''}; "
                         f"K-means needs at least {min_samples}.")
    return X, feature_names


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
        seen.add(row.tobytes())
        if len(seen) >= k:
            return True, len(seen)
    size = min(n, max(4 * k, 1024))
    while True:
        m = np.unique(X[:size], axis=0).shape[0]
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
