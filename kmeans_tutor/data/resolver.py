"""Which data? One answer for every app and the command line.

A learner (or a command) chooses data in words: the Mall customers on two or
more of their columns, a synthetic teaching set, or a CSV file (a path, or the
bytes of an upload already read by :func:`~kmeans_tutor.data.csv_loader.load_csv`);
scaled to z-scores or in the columns' own units. :func:`resolve_data` turns
that choice into a :class:`ChosenData`: the matrix to cluster, the feature
names, the axis labels in the right units, the frame to profile (every
column, in its own units, built on first use) and a title.

The rules, in one place:

- **Mall**: any of its numeric columns (:data:`~kmeans_tutor.data.mall.MALL_FEATURES`),
  income and spending score by default.
- **Synthetic sets** are drawn in one unit on both axes with a fixed seed
  (0): they are never rescaled (standardising would change the shapes they
  teach) and never change with the K-means seed.
- **A CSV**: its numeric columns; by default every one except identifiers
  (:func:`~kmeans_tutor.data.csv_loader.looks_like_id`). Text columns with few
  categories (e.g. Gender) join the frame to profile.
- ``scaled=True`` z-scores the columns (Mall and CSV), because their units
  differ; axis labels then say "z-score".

>>> data = resolve_data("mall")
>>> data.X.shape, data.feature_names, data.axis_labels[0]
((200, 2), ('Annual Income (k$)', 'Spending Score (1-100)'), 'Annual Income (z-score)')
>>> resolve_data("mall", scaled=False).units, resolve_data("rings").units
('raw units', '')
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..core.validation import is_dataframe
from .csv_loader import load_csv, looks_like_id
from .mall import DEFAULT_FEATURES, MALL_FEATURES, MALL_TITLE, load_mall_customers, mall_columns
from .preprocessing import Standardizer
from .synthetic import DATASETS, dataset_titles, load_dataset

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ChosenData", "resolve_data", "source_key", "dataset_choices", "UPLOAD", "MALL"]

MALL = "mall"
#: The ``source`` of a learner's uploaded CSV (its frame is given to :func:`resolve_data`).
UPLOAD = "upload"
#: Most distinct texts a column may hold to be profiled as a category.
MAX_CATEGORIES = 12


@dataclass(frozen=True, eq=False)
class ChosenData:
    """A data choice, resolved: what to cluster, and how to show and profile it.

    Attributes
    ----------
    source : str
        "mall", a synthetic set's name, "upload" or "csv".
    X : ndarray of shape (n_samples, n_features), float64, C-contiguous
        What K-means runs on (z-scores when ``scaled``). Read-only.
    raw : ndarray of shape (n_samples, n_features)
        The same columns in their own units. Read-only.
    feature_names : tuple of str
        The columns, named as in the source.
    axis_labels : tuple of str
        What an axis showing each column says, units included ("Age (z-score)").
    scaled : bool
        Whether X holds z-scores.
    make_frame : callable
        Builds :attr:`frame` (called once, on first use).
    title : str
        "Mall Customers", the synthetic set's title, or the file's name.
    scaler : Standardizer or None
        The fitted scaler when ``scaled``.
    suggested_k : int or None
        A synthetic set's number of true groups.
    file_text : DataFrame or None
        For a CSV file, the cells' own text (see :attr:`as_read`).
    notes : str
        What reading the source left out and why ("" when nothing), e.g. a
        column of numbers written with thousands separators.

    The tables, :attr:`frame` and :attr:`as_read`, are made on first use:
    an app that only draws the points never loads pandas (it costs a lesson
    kernel 0.2 s of CPU and 32 MB).
    """

    source: str
    X: np.ndarray
    raw: np.ndarray
    feature_names: tuple
    axis_labels: tuple
    scaled: bool
    make_frame: Callable[[], pd.DataFrame] = field(repr=False)
    title: str = ""
    scaler: Standardizer | None = field(default=None, repr=False)
    suggested_k: int | None = None
    file_text: pd.DataFrame | None = field(default=None, repr=False)
    notes: str = ""

    def __post_init__(self):
        for name in ("X", "raw"):
            value = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            value.flags.writeable = False
            object.__setattr__(self, name, value)

    @functools.cached_property
    def frame(self) -> pd.DataFrame:
        """Every row with every column worth profiling, in its own units (the
        Mall's Gender included), indexed like the source."""
        return self.make_frame()

    @property
    def as_read(self) -> pd.DataFrame:
        """Every row and column as the source holds it — for a CSV file, the cells'
        own text (so that writing a result back keeps "0001" as "0001"); for the
        other sources, :attr:`frame`."""
        return self.frame if self.file_text is None else self.file_text

    @property
    def units(self) -> str:
        """"z-scores", "raw units" (each column in its own), or "" for a synthetic
        set (one unit on both axes: nothing to say)."""
        if self.source not in (MALL, UPLOAD, "csv"):
            return ""
        return "z-scores" if self.scaled else "raw units"

    @property
    def caption(self) -> str:
        """One line naming the data, the columns and the units."""
        parts = [self.title, ", ".join(self.feature_names)] + ([self.units] if self.units else [])
        return " · ".join(parts)

    @property
    def n_distinct(self) -> int:
        """How many distinct points X holds (the most clusters it allows)."""
        return int(np.unique(self.X + 0.0, axis=0).shape[0])


def source_key(name: str) -> str:
    """A data set name as the registry spells it ("Pimpled smiley" → "pimpled_smiley")."""
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


def dataset_choices() -> list[tuple[str, str]]:
    """(label, name) of every data set an app offers: Mall Customers, then the synthetic sets."""
    return [(MALL_TITLE, MALL), *((title, name) for name, title in dataset_titles().items())]


def resolve_data(source: str = MALL, features=None, *, scaled: bool = True, n_samples: int | None = None,
                 frame: pd.DataFrame | None = None, name: str = "") -> ChosenData:
    """Turn a data choice into the data to cluster (see the module docstring for the rules).

    Parameters
    ----------
    source : str or path-like, default "mall"
        "mall"; a synthetic set's name (:func:`~kmeans_tutor.data.synthetic.list_datasets`);
        "upload" together with ``frame``; or the path of a CSV file.
    features : sequence of str, optional
        The columns to cluster on, at least one. Default: income and spending
        score for Mall, x and y for a synthetic set, every non-identifier
        numeric column of a CSV.
    scaled : bool, default True
        Z-score the columns (Mall and CSV only).
    n_samples : int, optional
        Points drawn for a synthetic set (default: its own).
    frame : DataFrame, optional
        With ``source="upload"``: the file as :func:`~kmeans_tutor.data.csv_loader.load_csv`
        read it — its numeric columns, and optionally the text columns it left
        out (``report.left_out``) to profile.
    name : str, default ""
        The uploaded file's name, for the title.

    Returns
    -------
    ChosenData

    Raises
    ------
    ValueError
        An unknown data set or column, no feature, a repeated feature, or a
        file that cannot be used (:class:`~kmeans_tutor.data.errors.DataError`).
    """
    if not isinstance(source, (str, Path)):
        raise TypeError(f"source must be a data set name or a CSV path, got {type(source).__name__}.")
    key = source_key(source) if isinstance(source, str) else ""
    if key in (MALL, "mall_customers"):
        return _mall(_features(features, MALL_FEATURES, DEFAULT_FEATURES, "Mall column"), scaled)
    if key in DATASETS:
        return _synthetic(key, features, n_samples)
    if key == UPLOAD:
        if frame is None:
            raise ValueError("No CSV file is loaded yet: upload one, or choose another data set.")
        return _table(UPLOAD, frame, features, scaled, name or "Your CSV")
    path = Path(source)
    if not path.exists():
        raise ValueError(f"{str(source)!r} is neither a data set ({MALL!r}, "
                         f"{', '.join(sorted(DATASETS))}) nor an existing CSV file.")
    numbers, report = load_csv(path, duplicates="keep", with_report=True)
    data = _table("csv", numbers.join(report.left_out), features, scaled, path.name)
    return dataclasses.replace(data, file_text=report.text, notes=report.describe())


# ----------------------------------------------------------------------------- the sources


def _features(features, available, default, what: str) -> tuple[str, ...]:
    """The chosen columns as a tuple: at least one, distinct, all available."""
    if features is None:
        return tuple(default)
    features = (features,) if isinstance(features, str) else tuple(features)
    if not features:
        raise ValueError("Choose at least one column to cluster on.")
    if not all(isinstance(f, str) for f in features):
        raise ValueError(f"Columns are named by text; got {features!r}.")
    if len(set(features)) != len(features):
        raise ValueError(f"Each column can be chosen once; got {features!r}.")
    unknown = [f for f in features if f not in available]
    if unknown:
        raise ValueError(f"Unknown {what} {unknown[0]!r}; choose from {', '.join(map(repr, available))}.")
    return features


def _mall(features: tuple, scaled: bool) -> ChosenData:
    """The bundled Mall numbers, read without pandas; the frame to profile is
    ``load_mall_customers()``, loaded only when asked for."""
    columns = mall_columns()
    raw = np.column_stack([columns[f] for f in features]).astype(np.float64)
    X, scaler = _scale(raw, scaled)
    return ChosenData(MALL, X, raw, features, _axis_labels(features, scaled), scaled,
                      load_mall_customers, MALL_TITLE, scaler)


def _synthetic(key: str, features, n_samples) -> ChosenData:
    ds = load_dataset(key, n_samples=n_samples, random_state=0)
    features = _features(features, ds.feature_names, ds.feature_names, "column of this data set")
    cols = [ds.feature_names.index(f) for f in features]
    X = np.array(ds.X[:, cols])
    return ChosenData(key, X, X, features, features, False, lambda: ds.to_frame()[list(features)],
                      ds.title, None, ds.suggested_k)


def _table(source: str, frame: pd.DataFrame, features, scaled: bool, title: str) -> ChosenData:
    """A file's numeric columns to cluster; its text columns with few categories to profile."""
    if not is_dataframe(frame):
        raise TypeError(f"frame must be a DataFrame (from load_csv); got {type(frame).__name__}.")
    import pandas as pd  # already loaded: frame is a DataFrame

    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    if not numeric:
        raise ValueError("The file has no numeric column to cluster on.")
    plain = [c for c in numeric if not looks_like_id(c)] or numeric
    features = _features(features, numeric, plain, "column of your file")
    raw = frame[list(features)].to_numpy(dtype=np.float64)
    X, scaler = _scale(raw, scaled)
    few = [c for c in frame.columns if c not in numeric and 1 < frame[c].nunique() <= MAX_CATEGORIES]
    profiled = frame[few + numeric]
    return ChosenData(source, X, raw, features, _axis_labels(features, scaled), scaled,
                      lambda: profiled, title, scaler)


# ----------------------------------------------------------------------------- helpers


def _scale(raw: np.ndarray, scaled: bool):
    """(X, scaler): z-scores when asked, else the raw numbers."""
    if not scaled:
        return raw, None
    scaler = Standardizer()
    return scaler.fit_transform(raw), scaler


_UNIT = re.compile(r"\s*\(([^()]*)\)\s*$")


def _axis_labels(features: tuple, scaled: bool) -> tuple[str, ...]:
    """Axis labels that say the units: "Age (z-score)" for scaled columns, the column's
    own name (its unit in brackets, e.g. "Annual Income (k$)") otherwise."""
    if not scaled:
        return tuple(features)
    return tuple(f"{_UNIT.sub('', f) or f} (z-score)" for f in features)
