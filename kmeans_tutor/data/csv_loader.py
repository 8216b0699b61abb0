"""A learner's own CSV file, read into numbers ready for clustering.

Every cell is read as text first and only then converted, so that a bad cell
can be reported by its data row, file line and column instead of surfacing as
a pandas exception. Every problem with the file's content raises
:class:`~kmeans_tutor.data.errors.DataError` (a ``ValueError``), which lists
the problems found; what was left out is said in a :class:`LoadReport`.

Row numbers in messages: *row* is the 1-based data row (the first row under the
header is row 1, blank lines are not counted); *line* is the 1-based line of the
file as a text editor shows it (the header is usually line 1).

pandas is imported inside the functions that use it, not at the top: a
lesson kernel that never builds a table is spared it (0.2 s of CPU and 32 MB).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..core.validation import check_choice, check_positive_int
from ._table import (
    MAX_COLUMNS,
    MISSING_TOKENS,
    Table,
    cell_error,
    cell_problems,
    convert_cells,
    line_of,
    parse_table,
    read_source,
)
from .errors import DataError, plural, problem

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DataError", "LoadReport", "load_csv", "looks_like_id", "MISSING_TOKENS", "MAX_COLUMNS"]

# Column names of row identifiers: "id", "ID", "customer_id", "Customer ID", "CustomerID", "row".
_ID_LIKE = re.compile(r"(?i:(^|[\s_-])id|^row|^index)$|[a-z]ID$")
# Number-like text pandas does not read: thousands separators, currency, percent, spaces.
_DECORATIONS = re.compile(r"[,\s\u00a0\u202f'$€£¥%]")


def looks_like_id(name) -> bool:
    """Whether a column name reads as a row identifier ("id", "CustomerID", "customer_id").

    Identifiers are numbers that mean nothing as distances, so the apps and
    the command line leave them out of the features unless asked for.

    >>> [looks_like_id(c) for c in ["CustomerID", "customer_id", "Customer ID", "Age", "Idaho"]]
    [True, True, True, False, False]
    """
    return bool(_ID_LIKE.search(str(name).strip()))


@dataclass(frozen=True)
class LoadReport:
    """What :func:`load_csv` read, and what it left out and why.

    Attributes
    ----------
    encoding, separator : str
    n_rows_read : int
        Data rows in the file.
    ignored_columns : dict of str → str
        Column → why it is not among the features (text, or numbers written
        in a way that is not read, e.g. ``1,000`` or ``5%``).
    dropped_missing, dropped_duplicates : list of int
        Data rows dropped (``missing="drop"``, ``duplicates="drop"``).
    skipped_blank_lines : list of int
    lines : list of int
        The file line of every row kept.
    left_out : DataFrame
        The ignored columns' cells as text (stripped), for the rows kept,
        indexed like the returned frame (e.g. a Gender column to profile).
    text : DataFrame
        Every column's cells as text (stripped), for the rows kept: the file
        as read, to write back with a result column added.
    """

    encoding: str
    separator: str
    n_rows_read: int
    ignored_columns: dict = field(default_factory=dict)
    dropped_missing: list = field(default_factory=list)
    dropped_duplicates: list = field(default_factory=list)
    skipped_blank_lines: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    left_out: pd.DataFrame | None = field(default=None, repr=False)
    text: pd.DataFrame | None = field(default=None, repr=False)

    def describe(self) -> str:
        """One line on what was left out ("" when nothing was)."""
        parts = [f"{name!r} ({why})" for name, why in self.ignored_columns.items()]
        text = f"Columns left out: {'; '.join(parts)}." if parts else ""
        for rows, what in ((self.dropped_missing, "with missing cells"),
                           (self.dropped_duplicates, "repeating an earlier row")):
            if rows:
                text += f" {plural(len(rows), 'row')} {what} dropped."
        return text.strip()


def load_csv(source, features=None, *, missing: str = "raise", duplicates: str = "raise",
             max_bytes: int | None = None, na_values=(), with_report: bool = False):
    """Read a CSV file of numbers into a float DataFrame ready for clustering.

    Every cell is read as text first and then converted, so that each bad cell
    is reported by row, line and column. Nothing in the file is ever executed.

    Parameters
    ----------
    source : str, pathlib.Path, bytes or file-like
        A path to a CSV file; the file's bytes (e.g. an upload); or an open
        file (binary or text) with a ``read`` method. A header line naming the
        columns is required. Commas separate cells, unless the header has
        none (outside quotes) but has semicolons or tabs. UTF-8 (with or
        without BOM) is tried first, then Windows-1252/Latin-1. A path must
        name a regular file unless ``max_bytes`` is given.
    features : list of str, optional
        The columns to use. Default: every column whose cells look numeric
        (more than half of its non-missing cells are numbers; the others are
        then reported as errors). ID columns look numeric too: name the
        features to leave them out.
    missing : {"raise", "drop"}, default="raise"
        What to do with rows that have a missing cell in a feature column
        (empty, whitespace, ``NA``, ``N/A``, ``?``, ``nan``, ``null``,
        ``none``, ``#N/A`` or ``-``, in any case): report them, or drop those
        rows. Text that is not a number is always reported.
    duplicates : {"raise", "drop", "keep"}, default="raise"
        What to do with rows whose features repeat an earlier row exactly:
        report them (naming which row each repeats), keep only the first,
        or keep them all.
    max_bytes : int, optional
        Refuse input larger than this many bytes.
    na_values : sequence of str, default=()
        Extra cell texts to read as missing (e.g. ``["unknown"]``).
    with_report : bool, default=False
        Also return a :class:`LoadReport`: the columns left out and why, the
        rows dropped, the file line of every row.

    Returns
    -------
    DataFrame of shape (n_samples, n_features), float64
        The features, named as in the header. The index, named ``"row"``, holds
        the 1-based *data row* number of each row (row 1 is the first row under
        the header; blank lines are not counted), so dropped rows leave gaps.
    report : LoadReport
        Only with ``with_report=True``.

    Raises
    ------
    DataError
        Anything wrong with the content: empty file, header only, no header,
        binary or garbled bytes, more than :data:`MAX_COLUMNS` columns,
        repeated column names, rows with extra fields, an unclosed quote,
        unknown feature names, no numeric columns, missing or non-numeric or
        infinite cells, duplicate rows, fewer than 2 rows or fewer than 2
        distinct points, more than ``max_bytes``, or a path that is not a
        regular file. Messages give *row N (line L)*: the data row and the file line.
    TypeError
        ``source`` is not a path, bytes or file-like.

    Examples
    --------
    >>> df, report = load_csv(b"name,age,income\\nAda,19,15\\nBob,21,15.5\\n", with_report=True)
    >>> df.to_dict("index")
    {1: {'age': 19.0, 'income': 15.0}, 2: {'age': 21.0, 'income': 15.5}}
    >>> report.ignored_columns
    {'name': 'text, not numbers'}
    >>> load_csv(b"a,b\\n1,2\\n,4\\n5,6\\n", missing="drop").index.tolist()
    [1, 3]
    """
    import pandas as pd

    check_choice(missing, "missing", ("raise", "drop"))
    check_choice(duplicates, "duplicates", ("raise", "drop", "keep"))
    if max_bytes is not None:
        max_bytes = check_positive_int(max_bytes, "max_bytes")
    tokens = _missing_tokens(na_values)
    features = _check_features_arg(features)

    table = parse_table(read_source(source, max_bytes))
    blocks = convert_cells(table.cells, tokens)  # (values, is_missing, is_text, is_infinite), each (n, m)
    chosen = _choose_columns(table, blocks, features)
    df, lines, dropped_missing = _feature_frame(table, blocks, chosen, missing)
    df, lines, dropped_duplicates = _handle_duplicates(table, df, lines, duplicates)
    if not with_report:
        return df
    chosen_set = set(chosen)
    others = [j for j in range(len(table.columns)) if j not in chosen_set]
    ignored = {table.columns[j]: _why_ignored(table, blocks, j) for j in others}
    text = pd.DataFrame(np.vectorize(str.strip, otypes=[object])(table.cells) if table.cells.size
                        else table.cells, index=pd.Index(table.rows, name="row"),
                        columns=table.columns).loc[df.index]
    report = LoadReport(encoding=table.encoding, separator=table.separator, n_rows_read=len(table.rows),
                        ignored_columns=ignored, dropped_missing=dropped_missing,
                        dropped_duplicates=dropped_duplicates,
                        skipped_blank_lines=table.skipped_blank_lines, lines=[int(x) for x in lines],
                        left_out=text[[table.columns[j] for j in others]], text=text)
    return df, report


# ----------------------------------------------------------------------------- steps of load_csv


def _choose_columns(table: Table, blocks, features) -> list[int]:
    """Positions of the feature columns: the named ones (checked), or every numeric-looking one."""
    columns = table.columns
    _, is_missing, is_text, _ = blocks
    if features is None:
        chosen = [j for j in range(len(columns)) if _looks_numeric(is_missing[:, j], is_text[:, j])]
        if not chosen:
            samples = ", ".join(f"{name!r} (e.g. {str(table.cells[0, j]).strip()!r})"
                                for j, name in enumerate(columns[:8]))
            raise DataError(f"No column of this file looks numeric, so there is nothing to cluster. "
                            f"Columns: {samples}{', ...' if len(columns) > 8 else ''}.",
                            hint=_numbers_hint(table, blocks))
        return chosen
    chosen = _resolve_features(features, columns)
    # An empty or text column asked for by name: one message for the column, not one per cell.
    empty = [j for j in chosen if is_missing[:, j].all()]
    if empty:
        raise DataError(f"{plural(len(empty), 'chosen column is', 'chosen columns are')} empty "
                        f"(every cell is missing): {', '.join(repr(columns[j]) for j in empty)}.",
                        [problem(None, None, columns[j], None, "every cell is missing") for j in empty])
    text_cols = [j for j in chosen if not _looks_numeric(is_missing[:, j], is_text[:, j])]
    if text_cols:
        problems = [problem(None, None, columns[j], None,
                            f"holds text, not numbers (e.g. {_first_text(table, j, is_text[:, j])!r})")
                    for j in text_cols]
        raise DataError(f"{plural(len(text_cols), 'chosen column holds', 'chosen columns hold')} "
                        f"text rather than numbers: {', '.join(repr(columns[j]) for j in text_cols)}.",
                        problems, hint=_numbers_hint(table, blocks, text_cols) or
                        "Leave it out of features, or encode categories as numbers first "
                        "(kmeans_tutor.data.preprocessing.encode_categories).")
    return chosen


def _feature_frame(table: Table, blocks, chosen: list[int], missing: str):
    """The chosen columns as floats, after reporting (or dropping) bad cells.

    Returns the DataFrame indexed by data row, the file line of each row, and
    the rows dropped for missing cells.
    """
    import pandas as pd

    values, is_missing, is_text, is_infinite = blocks
    columns = table.columns
    problems, drop = [], np.zeros(len(table.rows), dtype=bool)
    for j in chosen:
        problems += cell_problems(table, j, columns[j], is_missing[:, j], is_text[:, j],
                                  is_infinite[:, j], report_missing=(missing == "raise"))
        drop |= is_missing[:, j]
    if problems:
        order = {columns[j]: k for k, j in enumerate(chosen)}
        problems.sort(key=lambda p: (p["row"], order[p["column"]]))
        raise cell_error(problems, table.separator, missing)

    df = pd.DataFrame(values[:, chosen], index=pd.Index(table.rows, name="row"),
                      columns=[columns[j] for j in chosen])
    lines = table.lines
    dropped = df.index[drop].tolist() if missing == "drop" else []
    if missing == "drop":
        df, lines = df.loc[~drop], lines[~drop]
    if len(df) < 2:
        extra = f" after dropping {plural(len(dropped), 'row')} with missing values" if dropped else ""
        raise DataError(f"The file has {plural(len(df), 'usable data row')}{extra} "
                        f"({plural(len(table.rows), 'row')} read); K-means needs at least 2.")
    return df, lines, dropped


def _handle_duplicates(table: Table, df: pd.DataFrame, lines, duplicates: str):
    """Report, drop or keep rows that repeat an earlier row; at least 2 distinct points remain."""
    dropped = []
    first_of = _first_occurrence(df)
    repeats = first_of != df.index.to_numpy()
    if repeats.any():
        if duplicates == "raise":
            line = line_of(table)
            values = df.to_numpy()
            dup_problems = [
                problem(row, line[row], None, None,
                        f"repeats row {first} (line {line[first]}): {_point(df.columns, values[i])}")
                for i, row, first in zip(np.flatnonzero(repeats), df.index[repeats], first_of[repeats])]
            shown = ", ".join(map(repr, df.columns[:6])) + (", ..." if df.shape[1] > 6 else "")
            raise DataError(f"{plural(len(dup_problems), 'row repeats', 'rows repeat')} an earlier row "
                            f"exactly (in the columns {shown}).", dup_problems,
                            hint="Pass duplicates='drop' to keep only the first of each, or "
                                 "duplicates='keep' to keep them all.")
        if duplicates == "drop":
            dropped = df.index[repeats].tolist()
            df, lines = df.loc[~repeats], lines[~repeats]
    n_distinct = int((first_of == df.index.to_numpy()).sum()) if duplicates != "drop" else len(df)
    if n_distinct < 2:
        raise DataError(f"All {plural(len(df), 'usable row')} hold the same point "
                        f"({_point(df.columns, df.to_numpy()[0])}); K-means "
                        f"needs at least 2 distinct points.")
    return df, lines, dropped


# ----------------------------------------------------------------------------- helpers


def _point(names, values) -> str:
    """'a=1, b=2' for the first few values of a row."""
    text = ", ".join(f"{c}={v:g}" for c, v in zip(names[:6], values[:6]))
    return text + (", ..." if len(values) > 6 else "")


def _missing_tokens(na_values) -> frozenset:
    """MISSING_TOKENS plus the caller's extra texts, lower-cased."""
    if isinstance(na_values, str):
        na_values = [na_values]
    extra = []
    for v in na_values:
        if not isinstance(v, str):
            raise TypeError(f"na_values must be strings, got {v!r} ({type(v).__name__}).")
        extra.append(v.strip().lower())
    return MISSING_TOKENS | frozenset(extra)


def _check_features_arg(features):
    """None, or a non-empty list of distinct column names (a lone string counts as one)."""
    if features is None:
        return None
    if isinstance(features, str):
        features = [features]
    try:
        features = list(features)
    except TypeError:
        raise TypeError(f"features must be a list of column names, got {features!r}.") from None
    for f in features:
        if not isinstance(f, str):
            raise TypeError(f"features must be column names (str), got {f!r} ({type(f).__name__}).")
    if not features:
        raise DataError("features is empty: name at least one column to cluster on.")
    repeated = sorted(f for f, n in Counter(features).items() if n > 1)
    if repeated:
        raise DataError(f"features names {', '.join(map(repr, repeated))} more than once.")
    return features


def _resolve_features(features, columns) -> list[int]:
    """Column positions of the requested features; unknown names are an error."""
    position = {c: j for j, c in enumerate(columns)}
    unknown = [f for f in features if f.strip() not in position]
    if unknown:
        hints = []
        for f in unknown:
            close = difflib.get_close_matches(f.strip(), columns, n=1) or [
                c for c in columns if f.strip().lower() in c.lower() or c.lower() in f.strip().lower()][:1]
            hints.append(f"{f!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        listed = ", ".join(map(repr, columns[:20])) + (", ..." if len(columns) > 20 else "")
        raise DataError(f"Unknown feature{'s' if len(unknown) > 1 else ''}: {', '.join(hints)}. "
                        f"The file's columns are: {listed}.",
                        [problem(None, None, f, None, "no such column") for f in unknown])
    return [position[f.strip()] for f in features]


def _first_text(table: Table, j: int, is_text) -> str:
    """The first non-numeric cell of column j (or '' if it is all missing)."""
    hits = np.flatnonzero(is_text)
    return str(table.cells[hits[0], j]).strip() if len(hits) else ""


def _looks_numeric(is_missing, is_text) -> bool:
    """Numbers are more than half of the non-missing cells (so a typo does not hide a column)."""
    n_present = int((~is_missing).sum())
    n_numbers = n_present - int(is_text.sum())
    return n_numbers * 2 > n_present


def _as_plain_number(text: str) -> str | None:
    """The number a person would read in ``text`` ("1,000", "5%", "$5", "٣"), written
    plainly, or None. Used only to explain why a column was not read."""
    cleaned = _DECORATIONS.sub("", text)
    digits = "".join(str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in cleaned)
    try:
        float(digits)
    except ValueError:
        return None
    return digits


def _why_ignored(table: Table, blocks, j: int) -> str:
    """Why column j is not a feature, in words."""
    _, is_missing, is_text, _ = blocks
    if is_missing[:, j].all():
        return "empty"
    texts = [str(v).strip() for v in table.cells[is_text[:, j], j]]
    if texts and _looks_numeric(np.zeros(len(texts), bool),
                                np.array([_as_plain_number(t) is None for t in texts])):
        example = texts[0]
        if re.fullmatch(r"[+-]?\d+,\d+", example):
            how = "a decimal comma or a thousands separator"
        elif any(ch in example for ch in "$€£¥"):
            how = "a currency sign"
        elif "%" in example:
            how = "a percent sign"
        elif any(ch.isdigit() and not ch.isascii() for ch in example):
            how = "digits that are not 0-9"
        else:
            how = "separators or spaces inside the number"
        return (f"numbers written with {how}, e.g. {example!r}, are not read; "
                f"write them as plain numbers like {_as_plain_number(example)!r}")
    return "text, not numbers"


def _numbers_hint(table: Table, blocks, columns=None) -> str | None:
    """A hint when some column holds numbers written in a way that is not read."""
    js = range(len(table.columns)) if columns is None else columns
    for j in js:
        why = _why_ignored(table, blocks, j)
        if why.startswith("numbers written"):
            return f"Column {table.columns[j]!r}: {why}."
    return None


def _first_occurrence(df: pd.DataFrame) -> np.ndarray:
    """For each row, the index label of the first row with the same values, shape (n,)."""
    # + 0.0 turns -0.0 into 0.0 (np.unique compares rows byte by byte); values are finite.
    values = df.to_numpy(dtype=np.float64) + 0.0
    _, first_pos, inverse = np.unique(values, axis=0, return_index=True, return_inverse=True)
    return df.index.to_numpy()[first_pos[inverse.reshape(-1)]]
