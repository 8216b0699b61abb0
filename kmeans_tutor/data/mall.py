"""The Mall Customers data: the file, its columns and every constant about it.

The 200 customers of a shopping mall — gender, age, annual income (k$) and a
spending score from 1 to 100 — are the story of the lessons. Everything the
package knows about them lives here: the file, the column names, which of them
a learner may cluster on, their units, and the gender codes.

Two ways in: :func:`load_mall_customers` (a DataFrame, any copy of the file,
checked cell by cell) and :func:`mall_columns` (the bundled file as numpy
columns, for the apps: same names and values, without loading pandas, which
costs a lesson kernel 0.2 s of CPU and 32 MB).
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.validation import check_choice, is_dataframe
from ._table import MISSING_TOKENS, cell_error, cell_problems, convert_cells, parse_table
from .errors import DataError, problem
from .preprocessing import encode_categories

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MALL_TITLE",
    "MALL_COLUMNS",
    "MALL_FEATURES",
    "DEFAULT_FEATURES",
    "MALL_UNITS",
    "MALL_SHORT_NAMES",
    "MALL_GENDER_CATEGORIES",
    "MALL_FILE",
    "load_mall_customers",
    "mall_columns",
    "mall_features",
]

#: How the data set is called on screen.
MALL_TITLE = "Mall Customers"
#: Columns of :func:`load_mall_customers`, in order (the index is CustomerID).
MALL_COLUMNS = ("Gender", "Age", "Annual Income (k$)", "Spending Score (1-100)")
#: The numeric columns a learner may cluster on.
MALL_FEATURES = MALL_COLUMNS[1:]
#: The two columns the story clusters on first: income against spending score.
DEFAULT_FEATURES = ("Annual Income (k$)", "Spending Score (1-100)")
#: The unit of every numeric column, as an axis label shows it.
MALL_UNITS = {"Age": "years", "Annual Income (k$)": "k$", "Spending Score (1-100)": "score 1–100"}
#: Short names for check boxes and sentences.
MALL_SHORT_NAMES = {"Age": "Age", "Annual Income (k$)": "Annual income",
                    "Spending Score (1-100)": "Spending score"}
#: Gender codes used by :func:`mall_features` (fixed, so any subset gets the same codes).
MALL_GENDER_CATEGORIES = ("Male", "Female")
#: The file's name, in the checkout's data/ folder and inside the installed package.
MALL_FILE = "mall_customers.csv"


def _mall_file() -> tuple[bytes, str]:
    """The bytes of the Mall Customers CSV and where they came from: the
    package's data/_files folder (installed wheel) first, then the checkout's data/."""
    packaged = importlib.resources.files(__package__) / "_files" / MALL_FILE
    if packaged.is_file():
        return packaged.read_bytes(), str(packaged)
    checkout = Path(__file__).resolve().parents[2] / "data" / MALL_FILE
    if checkout.is_file():
        return checkout.read_bytes(), str(checkout)
    raise FileNotFoundError(
        f"The Mall Customers data ({MALL_FILE}) was not found: looked in the package "
        f"({packaged}) and in the checkout ({checkout}). Reinstall kmeans-tutor, or pass "
        f"load_mall_customers(path=...) to a copy of the file.")


def load_mall_customers(path=None) -> pd.DataFrame:
    """The 200 "Mall Customers": gender, age, annual income and spending score.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        A copy of the file to read instead of the packaged one. Its gender
        column may be called ``Genre`` (as in the common copies) or ``Gender``.

    Returns
    -------
    DataFrame of shape (200, 4)
        Index ``CustomerID`` (int64); columns ``Gender`` (text, "Male" or
        "Female"), ``Age``, ``Annual Income (k$)`` and ``Spending Score
        (1-100)`` (int64 when every value is a whole number, else float64).

    Raises
    ------
    FileNotFoundError
        The file is not found.
    DataError
        A column is missing, a numeric cell is missing or not a number, or a
        CustomerID is repeated or not a whole number (naming row and column).

    Examples
    --------
    >>> df = load_mall_customers()
    >>> df.shape, df.index.name
    ((200, 4), 'CustomerID')
    >>> df["Gender"].value_counts().to_dict()
    {'Female': 112, 'Male': 88}
    """
    import pandas as pd  # here, not at the top: the apps read mall_columns() without pandas

    raw, where = _mall_file() if path is None else _copy_of_mall_file(path)
    try:
        table = parse_table(raw)
    except DataError as exc:
        raise DataError(f"{where}: {exc.summary}", exc.problems, exc.hint) from None
    gender_col = _gender_column(table, where)
    numbers, gender = _mall_cells(table, gender_col, where)
    ids = _customer_ids(table, numbers.pop("CustomerID"), where)
    df = pd.DataFrame({"Gender": gender}, index=pd.Index(ids, name="CustomerID"))
    for name in MALL_FEATURES:
        values = numbers[name]
        df[name] = values.astype(np.int64) if np.all(values == np.round(values)) else values
    return df


def mall_columns() -> dict[str, np.ndarray]:
    """The bundled Mall Customers file as numpy columns, read without pandas.

    The values, names and dtypes of ``load_mall_customers()``: its index as
    ``"CustomerID"`` (int64) and every column of :data:`MALL_COLUMNS`
    (``"Gender"`` as an object array of text; the numeric columns int64 when
    every value is a whole number, else float64). The file ships with the
    package and is trusted, so it is split as plain CSV, once per process;
    :func:`load_mall_customers` checks any copy cell by cell.

    Returns
    -------
    dict of str to read-only ndarray of shape (200,)

    Examples
    --------
    >>> columns = mall_columns()
    >>> columns["Annual Income (k$)"][:3], columns["Gender"][0]
    (array([15, 15, 16]), 'Male')
    """
    return dict(_bundled_columns())


@functools.cache
def _bundled_columns() -> dict[str, np.ndarray]:
    """Split the bundled file into columns, renaming "Genre" to "Gender"."""
    raw, where = _mall_file()
    header, *rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header = ["Gender" if name.strip() == "Genre" else name.strip() for name in header]
    cells = {name: [row[j].strip() for row in rows if row] for j, name in enumerate(header)}
    if set(header) != {"CustomerID", *MALL_COLUMNS}:
        raise DataError(f"{where} is not the Mall Customers file (columns {header}).")
    columns = {"CustomerID": np.array(cells["CustomerID"], dtype=np.float64).astype(np.int64),
               "Gender": np.array(cells["Gender"], dtype=object)}
    for name in MALL_FEATURES:
        values = np.array(cells[name], dtype=np.float64)
        columns[name] = values.astype(np.int64) if np.all(values == np.round(values)) else values
    for values in columns.values():
        values.flags.writeable = False
    return columns


def _copy_of_mall_file(path) -> tuple[bytes, Path]:
    where = Path(path)
    if not where.is_file():
        raise FileNotFoundError(f"No Mall Customers file at '{where}'.")
    return where.read_bytes(), where


def _gender_column(table, where) -> str:
    """The gender column's name ("Genre" in most copies); every expected column must be there."""
    columns = table.columns
    gender_names = [c for c in ("Gender", "Genre") if c in columns]
    required = ["CustomerID", *MALL_FEATURES]
    absent = [c for c in required if c not in columns] + ([] if gender_names else ["Gender (or Genre)"])
    if absent:
        raise DataError(f"{where} is not the Mall Customers file: missing column"
                        f"{'s' if len(absent) > 1 else ''} {', '.join(map(repr, absent))} "
                        f"(found {', '.join(map(repr, columns))}).",
                        [problem(None, None, c, None, "column not found") for c in absent])
    if len(gender_names) > 1:
        raise DataError(f"{where} has both a 'Gender' and a 'Genre' column; keep one.")
    return gender_names[0]


def _mall_cells(table, gender_col: str, where) -> tuple[dict, list]:
    """The numeric columns (CustomerID included) as floats and the genders as text,
    with the same checks and messages as load_csv."""
    columns = table.columns
    problems, numbers = [], {}
    for name in ("CustomerID", *MALL_FEATURES):
        j = columns.index(name)
        values, is_missing, is_text, is_infinite = convert_cells(table.cells[:, [j]], MISSING_TOKENS)
        problems += cell_problems(table, j, name, is_missing[:, 0], is_text[:, 0], is_infinite[:, 0])
        numbers[name] = values[:, 0]
    g = columns.index(gender_col)
    gender = [str(v).strip() for v in table.cells[:, g]]
    for i, v in enumerate(gender):
        if v.lower() in MISSING_TOKENS:
            problems.append(problem(table.rows[i], table.lines[i], gender_col, table.cells[i, g],
                                    "missing value"))
    if problems:
        problems.sort(key=lambda p: p["row"])
        err = cell_error(problems, table.separator, "drop")
        raise DataError(f"{where}: {err.summary}", err.problems, err.hint)
    return numbers, gender


def _customer_ids(table, ids: np.ndarray, where) -> np.ndarray:
    """CustomerID as int64: distinct whole numbers."""
    c = table.columns.index("CustomerID")
    problems = [problem(table.rows[i], table.lines[i], "CustomerID", table.cells[i, c], "is not a whole number")
                for i in np.flatnonzero(ids != np.round(ids))]
    _, first = np.unique(ids, return_index=True)
    for i in sorted(set(range(len(ids))) - set(first.tolist())):
        problems.append(problem(table.rows[i], table.lines[i], "CustomerID", table.cells[i, c],
                                "repeats an earlier CustomerID"))
    if problems:
        raise DataError(f"{where}: the CustomerID column must hold distinct whole numbers:", problems)
    return ids.astype(np.int64)


def mall_features(df=None, columns=None, gender: str = "encode") -> pd.DataFrame:
    """The Mall Customers data as a numeric matrix ready for clustering.

    Parameters
    ----------
    df : DataFrame, optional
        The Mall data as returned by ``load_mall_customers()`` (loaded when
        not given).
    columns : list of str, optional
        Which columns to keep, in order. Default: all four (Gender, Age,
        Annual Income (k$), Spending Score (1-100)), or the three numeric ones
        when ``gender="drop"``.
    gender : {"encode", "drop"}, default="encode"
        Encode Gender as Male → 0, Female → 1, or leave it out.

    Returns
    -------
    DataFrame of shape (n_customers, n_columns), float64
        Same index (CustomerID) as ``df``. Not standardized: pass it to
        :func:`standardize` before clustering.

    Examples
    --------
    >>> X = mall_features(gender="drop")
    >>> list(X.columns), X.shape
    (['Age', 'Annual Income (k$)', 'Spending Score (1-100)'], (200, 3))
    >>> mall_features()["Gender"].value_counts().to_dict()
    {1.0: 112, 0.0: 88}
    """
    import pandas as pd  # the result is a DataFrame

    check_choice(gender, "gender", ("encode", "drop"))
    if df is None:
        df = load_mall_customers()
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be the Mall Customers DataFrame, got {type(df).__name__}.")
    if columns is None:
        columns = [c for c in MALL_COLUMNS if not (gender == "drop" and c == "Gender")]
    else:
        columns = [columns] if isinstance(columns, str) else list(columns)
        unknown = [c for c in columns if c not in MALL_COLUMNS]
        if unknown:
            raise ValueError(f"Unknown Mall column{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(map(repr, unknown))}; choose from "
                             f"{', '.join(map(repr, MALL_COLUMNS))}.")
        if gender == "drop" and "Gender" in columns:
            raise ValueError("columns includes 'Gender' but gender='drop'; use gender='encode' to keep it.")
    absent = [c for c in columns if c not in df.columns]
    if absent:
        raise ValueError(f"df has no column{'s' if len(absent) > 1 else ''} {', '.join(map(repr, absent))} "
                         f"(it has {', '.join(map(repr, map(str, df.columns)))}); pass the DataFrame "
                         f"from load_mall_customers().")
    out = pd.DataFrame(index=df.index)
    for c in columns:
        if c == "Gender":
            codes, _ = encode_categories(df["Gender"], categories=list(MALL_GENDER_CATEGORIES))
            out[c] = codes.astype(np.float64)
        else:
            out[c] = pd.to_numeric(df[c]).astype(np.float64)
    return out
