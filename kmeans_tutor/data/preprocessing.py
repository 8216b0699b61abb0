"""Getting features ready for K-means: z-scores and category codes.

K-means measures plain Euclidean distance, so a feature measured in large
units (income in k$) outweighs one in small units (age in years) unless both
are put on the same scale first. :class:`Standardizer` does that, exactly as
scikit-learn's ``StandardScaler`` does (population standard deviation,
``ddof=0``). :class:`CategoryEncoder` turns a text column such as Gender into
integer codes and says which code means what.

pandas is imported inside the functions that use it, not at the top: a
lesson kernel that never builds a table is spared it (0.2 s of CPU and 32 MB).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from ..core.estimator import NotFittedError
from ..core.validation import check_array, is_dataframe

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Standardizer", "standardize", "CategoryEncoder", "encode_categories"]

_EPS = np.finfo(np.float64).eps


def _column_label(names, j: int) -> str:
    """'column 'Age'' for a named column, 'column 2' otherwise."""
    return f"column {str(names[j])!r}" if names is not None else f"column {j}"


def _constant_columns(X: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Which columns are constant, up to rounding: scikit-learn's rule
    (variance no larger than the float error of computing it)."""
    n = X.shape[0]
    upper = n * _EPS * var + (n * mean * _EPS) ** 2
    return (var <= upper) | (X.max(axis=0) == X.min(axis=0))


def _power_of_two_units(A: np.ndarray) -> np.ndarray:
    """Per column, a power of two near its largest magnitude. Dividing by it is exact
    (no rounding), and keeps squares and sums of values up to 1e308 from overflowing."""
    top = np.abs(A).max(axis=0)
    _, exponent = np.frexp(np.where(top > 0, top, 1.0))  # top = m · 2**exponent, 0.5 ≤ m < 1
    return np.ldexp(1.0, exponent - 1)  # values / unit fall in [-2, 2]


class Standardizer:
    """Z-scores: subtract each feature's mean, divide by its standard deviation.

    The standard deviation is the population one (``ddof=0``), as in
    ``sklearn.preprocessing.StandardScaler``, so both give the same numbers.
    A DataFrame in gives a DataFrame out (same index and columns); an array in
    gives an array out.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    scale_ : ndarray of shape (n_features,)
        Standard deviation of each feature (ddof=0).
    var_ : ndarray of shape (n_features,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Only when fitted on a DataFrame.

    Raises
    ------
    ValueError
        At fit: a constant column (it has no spread to divide by), NaN, or fewer
        than 2 rows. At transform: a different number of features, or
        different column names, than at fit.
    TypeError
        Non-numeric data.

    Examples
    --------
    >>> import numpy as np
    >>> s = Standardizer().fit(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> s.mean_, s.scale_
    (array([ 2., 20.]), array([ 1., 10.]))
    >>> s.transform(np.array([[2.0, 40.0]]))
    array([[0., 2.]])
    >>> s.inverse_transform(np.array([[0.0, 2.0]]))
    array([[ 2., 40.]])
    """

    # --- scikit-learn parameter protocol (no parameters: clone() makes a fresh one) ---------
    def get_params(self, deep=True) -> dict:
        """Parameters of this estimator: none (scikit-learn convention)."""
        return {}

    def set_params(self, **params) -> "Standardizer":
        """Set parameters by name; a Standardizer has none, so any name is refused."""
        if params:
            raise ValueError(f"Invalid parameter {next(iter(params))!r} for Standardizer; it has none.")
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "mean_")

    def fit(self, X, y=None) -> "Standardizer":
        """Learn each feature's mean and standard deviation from X, shape (n_samples, n_features)."""
        A, names = check_array(X, name="X", min_samples=2, distances=False)
        # Work in power-of-two units: exact, and no overflow for values near 1e308.
        units = _power_of_two_units(A)
        B = A / units
        mean = B.mean(axis=0)
        var = ((B - mean) ** 2).mean(axis=0)  # two passes: no cancellation error
        constant = _constant_columns(B, mean, var)
        if constant.any():
            parts = []
            for j in np.flatnonzero(constant):
                lo, hi = A[:, j].min(), A[:, j].max()
                what = (f"every value is {lo:g}" if lo == hi
                        else f"values differ only by rounding noise, from {lo!r} to {hi!r}")
                parts.append(f"{_column_label(names, j)} is constant ({what})")
            raise ValueError(f"{'; '.join(parts)}; it cannot be scaled (there is no spread to divide "
                             f"by) — drop {'it' if len(parts) == 1 else 'them'}.")
        self.mean_ = mean * units
        self.scale_ = np.sqrt(var) * units
        with np.errstate(over="ignore"):  # an infinite variance is stated as such
            self.var_ = var * units ** 2
        self._units = units
        self.n_features_in_ = A.shape[1]
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def _check(self, X, name: str):
        """Validated (array, names) of a matrix with the fitted features."""
        if not hasattr(self, "mean_"):
            raise NotFittedError("This Standardizer is not fitted yet; call fit(X) first.")
        A, names = check_array(X, name=name, min_samples=1, distances=False)
        fitted = getattr(self, "feature_names_in_", None)
        if A.shape[1] != self.n_features_in_:
            listed = f" ({', '.join(map(repr, fitted))})" if fitted is not None else ""
            raise ValueError(f"{name} has {A.shape[1]} feature{'s' if A.shape[1] != 1 else ''}, but "
                             f"this Standardizer was fitted with {self.n_features_in_}{listed}.")
        if fitted is not None and names is not None and list(names) != list(fitted):
            if set(names) == set(fitted):
                raise ValueError(f"{name} has the fitted columns in a different order: "
                                 f"{list(names)} instead of {list(fitted)}.")
            raise ValueError(f"{name} has columns {list(names)}, but this Standardizer was fitted "
                             f"on {list(fitted)}.")
        return A

    @staticmethod
    def _wrap(values: np.ndarray, like):
        """values shaped like `like`: a DataFrame with its index and columns, or an array."""
        if is_dataframe(like):
            import pandas as pd  # already loaded: like is a DataFrame

            return pd.DataFrame(values, index=like.index, columns=like.columns)
        return values

    def transform(self, X):
        """Z-scores of X, shape (n_samples, n_features): ``(X - mean_) / scale_``."""
        A, u = self._check(X, "X"), self._units
        return self._wrap((A / u - self.mean_ / u) / (self.scale_ / u), X)

    def fit_transform(self, X, y=None):
        """Fit on X, then return its z-scores, shape (n_samples, n_features)."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        """Back to the original units, shape (n_samples, n_features): ``Z * scale_ + mean_``."""
        Z_, u = self._check(Z, "Z"), self._units
        return self._wrap((Z_ * (self.scale_ / u) + self.mean_ / u) * u, Z)

    def summary(self) -> pd.DataFrame:
        """The fitted mean and standard deviation of each feature, one row per feature."""
        import pandas as pd

        if not hasattr(self, "mean_"):
            raise NotFittedError("This Standardizer is not fitted yet; call fit(X) first.")
        names = getattr(self, "feature_names_in_", None)
        index = list(names) if names is not None else list(range(self.n_features_in_))
        return pd.DataFrame({"mean": self.mean_, "scale": self.scale_},
                            index=pd.Index(index, name="feature"))

    def __repr__(self) -> str:
        if not hasattr(self, "mean_"):
            return "Standardizer()"
        return f"Standardizer(fitted on {self.n_features_in_} features)"


def standardize(X):
    """Z-score every feature of X, and return the fitted Standardizer too.

    Parameters
    ----------
    X : ndarray or DataFrame of shape (n_samples, n_features)

    Returns
    -------
    Z : ndarray or DataFrame of shape (n_samples, n_features)
        Same type as X; each column has mean 0 and standard deviation 1.
    standardizer : Standardizer
        Use it to put new points or centres on the same scale
        (``transform``) or back into the original units (``inverse_transform``).

    Examples
    --------
    >>> Z, s = standardize([[1.0], [2.0], [3.0]])
    >>> Z.ravel().round(4).tolist(), round(float(s.scale_[0]), 4)
    ([-1.2247, 0.0, 1.2247], 0.8165)
    """
    s = Standardizer()
    return s.fit_transform(X), s


# ----------------------------------------------------------------------------- categories


def _is_missing(value) -> bool:
    """None, NaN/NA, or a blank string."""
    import pandas as pd

    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-like values are not "missing"
        return False


def _row(label) -> str:
    """A row label for a message: 11 rather than np.int64(11)."""
    return repr(label.item() if isinstance(label, np.generic) else label)


def _as_series(values, what: str = "values") -> pd.Series:
    """A 1-D pandas Series from a Series, a one-column DataFrame, a list or a 1-D array."""
    import pandas as pd

    if isinstance(values, pd.Series):
        return values
    if isinstance(values, pd.DataFrame):
        if values.shape[1] == 1:
            return values.iloc[:, 0]
        raise TypeError(f"{what} must be one column (a Series, e.g. df['Gender']); got a DataFrame "
                        f"with {values.shape[1]} columns.")
    if values is None or isinstance(values, (str, bytes)) or np.isscalar(values):
        raise TypeError(f"{what} must be a column of values (Series, list or 1-D array); "
                        f"got {type(values).__name__}.")
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D; got shape {arr.shape}.")
    return pd.Series(arr)


class CategoryEncoder:
    """Integer codes for a column of categories, with the mapping kept and shown.

    Parameters
    ----------
    categories : list, optional
        The categories in code order (the first gets 0). Default: the order
        in which they first appear in the data given to ``fit``.

    Attributes
    ----------
    categories_ : list
        Categories in code order.
    mapping_ : dict
        Category -> code.
    name_ : str or None
        The name of the fitted Series (used by ``describe``).

    Raises
    ------
    ValueError
        A missing value (naming its row), a value not among ``categories``
        (naming the value and row), or repeated or missing ``categories``.
    TypeError
        Not a 1-D column of values.

    Examples
    --------
    >>> import pandas as pd
    >>> enc = CategoryEncoder().fit(pd.Series(["Male", "Male", "Female"], name="Gender"))
    >>> enc.describe()
    'Gender: Male → 0, Female → 1'
    >>> enc.transform(pd.Series(["Female", "Male"])).tolist()
    [1, 0]
    """

    def __init__(self, categories=None):
        self.categories = categories

    def fit(self, values) -> "CategoryEncoder":
        """Learn the categories of a column, shape (n_samples,)."""
        import pandas as pd

        s = _as_series(values)
        self._check_missing(s)
        if self.categories is None:
            categories = list(pd.unique(s.to_numpy(dtype=object)))
        else:
            categories = self._check_categories(self.categories)
        self.categories_ = categories
        self.mapping_ = {c: i for i, c in enumerate(categories)}
        self.name_ = None if s.name is None else str(s.name)
        if self.categories is not None:
            self._codes(s)  # values outside the given categories are an error now, not later
        return self

    @staticmethod
    def _check_categories(categories) -> list:
        """The given categories as a list: non-empty, no missing values, no repeats."""
        if isinstance(categories, (str, bytes)) or not hasattr(categories, "__iter__"):
            raise TypeError(f"categories must be a list, e.g. ['Male', 'Female']; got {categories!r}.")
        categories = list(categories)
        if not categories:
            raise ValueError("categories is empty; give at least one category.")
        if any(_is_missing(c) for c in categories):
            raise ValueError(f"categories contains a missing value: {categories!r}.")
        repeated = [c for i, c in enumerate(categories) if c in categories[:i]]
        if repeated:
            raise ValueError(f"categories lists {', '.join(map(repr, repeated))} more than once.")
        return categories

    def _label(self, s: pd.Series) -> str:
        """How to call the column in messages."""
        name = s.name if s.name is not None else getattr(self, "name_", None)
        return f"column {str(name)!r}" if name is not None else "the values"

    def _check_missing(self, s: pd.Series) -> None:
        """Raise if any value is missing, naming the rows."""
        bad = [i for i, v in zip(s.index, s.to_numpy(dtype=object)) if _is_missing(v)]
        if bad:
            rows = ", ".join(map(_row, bad[:10])) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
            raise ValueError(f"{self._label(s)} has {len(bad)} missing value{'s' if len(bad) > 1 else ''} "
                             f"(row{'s' if len(bad) > 1 else ''} {rows}); fill or drop "
                             f"{'them' if len(bad) > 1 else 'it'} before encoding.")

    def _codes(self, s: pd.Series) -> np.ndarray:
        """Codes of a checked Series; unknown values are an error naming value and row."""
        values = s.to_numpy(dtype=object)
        codes = np.empty(len(values), dtype=np.int64)
        unknown = []
        for i, v in enumerate(values):
            try:
                codes[i] = self.mapping_[v]
            except (KeyError, TypeError):
                unknown.append(i)
        if unknown:
            i = unknown[0]
            v = values[i]
            known = ", ".join(map(repr, self.categories_))
            near = [c for c in self.categories_
                    if isinstance(c, str) and isinstance(v, str) and c.strip().lower() == v.strip().lower()]
            hint = f" (did you mean {near[0]!r}? check spaces and capitals)" if near else ""
            more = f"; {len(unknown) - 1} more row{'s' if len(unknown) > 2 else ''} have unknown values" \
                if len(unknown) > 1 else ""
            raise ValueError(f"{self._label(s)}: unknown category {v!r} at row {_row(s.index[i])}{hint}. "
                             f"Known categories: {known}{more}.")
        return codes

    def transform(self, values) -> pd.Series:
        """Integer codes, shape (n_samples,), with the same index and name as the input."""
        import pandas as pd

        if not hasattr(self, "mapping_"):
            raise NotFittedError("This CategoryEncoder is not fitted yet; call fit(values) first.")
        s = _as_series(values)
        self._check_missing(s)
        return pd.Series(self._codes(s), index=s.index, name=s.name, dtype=np.int64)

    def fit_transform(self, values) -> pd.Series:
        """Fit, then return the codes, shape (n_samples,)."""
        return self.fit(values).transform(values)

    def inverse_transform(self, codes) -> pd.Series:
        """Categories back from codes, shape (n_samples,)."""
        import pandas as pd

        if not hasattr(self, "mapping_"):
            raise NotFittedError("This CategoryEncoder is not fitted yet; call fit(values) first.")
        s = _as_series(codes, "codes")
        out = []
        for i, c in zip(s.index, s.to_numpy(dtype=object)):
            # Whole-number floats are accepted: mall_features() gives float codes.
            whole = isinstance(c, numbers.Integral) or (isinstance(c, numbers.Real) and float(c).is_integer())
            if isinstance(c, (bool, np.bool_)) or not whole or not 0 <= c < len(self.categories_):
                raise ValueError(f"code {_row(c)} at row {_row(i)} is not one of 0..{len(self.categories_) - 1}.")
            out.append(self.categories_[int(c)])
        return pd.Series(out, index=s.index, name=s.name if s.name is not None else self.name_,
                         dtype=object)

    def describe(self) -> str:
        """The mapping in words, e.g. ``"Gender: Male → 0, Female → 1"``."""
        if not hasattr(self, "mapping_"):
            return "CategoryEncoder (not fitted)"
        pairs = ", ".join(f"{c} → {i}" for c, i in self.mapping_.items())
        return f"{self.name_}: {pairs}" if self.name_ is not None else pairs

    __str__ = describe

    def __repr__(self) -> str:
        if not hasattr(self, "mapping_"):
            return f"CategoryEncoder(categories={self.categories!r})"
        return f"CategoryEncoder({self.describe()!r})"


def encode_categories(series, categories=None):
    """Integer codes for a column of categories, and the mapping used.

    Parameters
    ----------
    series : Series or 1-D array-like of shape (n_samples,)
        Text (or other) categories; no missing values.
    categories : list, optional
        Categories in code order. Default: order of first appearance.

    Returns
    -------
    codes : Series of int64, shape (n_samples,)
        Same index and name as ``series``.
    mapping : dict
        Category -> code.

    Examples
    --------
    >>> import pandas as pd
    >>> codes, mapping = encode_categories(pd.Series(["Male", "Female", "Male"], name="Gender"))
    >>> codes.tolist(), mapping
    ([0, 1, 0], {'Male': 0, 'Female': 1})
    >>> encode_categories(["b", "a"], categories=["a", "b"])[0].tolist()
    [1, 0]
    """
    enc = CategoryEncoder(categories)
    codes = enc.fit_transform(series)
    return codes, dict(enc.mapping_)
