"""Loading data: the Mall Customers set, and a learner's own CSV file.

Both loaders read every cell as text first and only then convert, so that a bad
cell can be reported by its data row, file line and column instead of surfacing
as a pandas exception. Every problem with the file's content raises
:class:`DataError` (a ``ValueError``), which lists the problems found.

Row numbers in messages: *row* is the 1-based data row (the first row under the
header is row 1, blank lines are not counted); *line* is the 1-based line of the
file as a text editor shows it (the header is usually line 1).
"""

from __future__ import annotations

import difflib
import importlib.resources
import io
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._validation import check_choice, check_positive_int

__all__ = [
    "DataError",
    "load_csv",
    "load_mall_customers",
    "MALL_COLUMNS",
    "MISSING_TOKENS",
]

#: Columns of :func:`load_mall_customers`, in order (the index is CustomerID).
MALL_COLUMNS = ("Gender", "Age", "Annual Income (k$)", "Spending Score (1-100)")
_MALL_NUMERIC = MALL_COLUMNS[1:]
_MALL_FILE = "mall_customers.csv"

#: Cell texts read as "missing" (compared after stripping spaces, ignoring case).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "?", "null", "none", "#n/a", "-"})

_MAX_LISTED = 10
# C0 and C1 control characters other than tab and newlines: a text CSV has none.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SKIPPED = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")
_EOF_IN_QUOTES = re.compile(r"EOF inside string starting at row (\d+)")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")


# ----------------------------------------------------------------------------- errors


class DataError(ValueError):
    """A data file that cannot be used, with every problem found in it.

    Parameters
    ----------
    summary : str
        One sentence saying what is wrong overall.
    problems : list of dict, optional
        One record per problem with keys ``row`` (1-based data row or None),
        ``line`` (1-based file line or None), ``column`` (str or None),
        ``value`` (the cell text or None) and ``problem`` (what is wrong).
    hint : str, optional
        What the user can do about it.

    Attributes
    ----------
    summary, problems, hint
        As given; ``problems`` always holds at least one record, so an app can
        show ``pandas.DataFrame(err.problems)`` as a table.

    Examples
    --------
    >>> try:
    ...     load_csv(b"age\\n19\\nforty\\n23\\n")
    ... except DataError as err:
    ...     print(err)
    ...     print(err.problems[0]["row"], err.problems[0]["column"])
    The file has 1 cell that cannot be used as a number:
      - row 2 (line 3), column 'age': 'forty' is not a number
    2 age
    """

    def __init__(self, summary: str, problems=None, hint: str | None = None):
        self.summary = str(summary)
        problems = [dict(p) for p in (problems or [])]
        if not problems:
            problems = [_problem(None, None, None, None, self.summary)]
        self.problems = problems
        self.hint = hint
        super().__init__(self._message())

    def __reduce__(self):
        return (type(self), (self.summary, self.problems, self.hint))

    def _message(self) -> str:
        """The summary, the first few located problems as bullets, and the hint."""
        lines = [self.summary]
        located = [p for p in self.problems if any(p.get(k) is not None for k in ("row", "line", "column"))]
        for p in located[:_MAX_LISTED]:
            lines.append(f"  - {_describe_problem(p)}")
        if len(located) > _MAX_LISTED:
            rest = len(located) - _MAX_LISTED
            lines.append(f"  ... and {rest} more problem{'s' if rest != 1 else ''} "
                         f"({len(located)} in all; see the .problems attribute).")
        if self.hint:
            lines.append(self.hint)
        return "\n".join(lines)


def _problem(row, line, column, value, problem) -> dict:
    """One problem record (see :class:`DataError`)."""
    return {"row": None if row is None else int(row), "line": None if line is None else int(line),
            "column": None if column is None else str(column), "value": value, "problem": problem}


def _where(row, line) -> str:
    """'row 3 (line 4)', 'row 3', 'line 4' or ''."""
    if row is not None and line is not None:
        return f"row {row} (line {line})"
    if row is not None:
        return f"row {row}"
    if line is not None:
        return f"line {line}"
    return ""


def _describe_problem(p: dict) -> str:
    """One bullet of a DataError message."""
    place = _where(p.get("row"), p.get("line"))
    if p.get("column") is not None:
        place = f"{place}, column {p['column']!r}" if place else f"column {p['column']!r}"
    return f"{place}: {p['problem']}" if place else p["problem"]


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


# ----------------------------------------------------------------------------- reading


def _read_source(source, max_bytes: int | None) -> bytes | str:
    """The raw content of a path, bytes or file-like, refusing more than max_bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if isinstance(source, str) and ("\n" in source or len(source) > 4096):
            raise DataError("The source is a string that looks like CSV text, not a file path. "
                            "Pass the text as bytes (text.encode()) or io.StringIO(text).")
        try:
            size = path.stat().st_size
            if max_bytes is not None and size > max_bytes:
                raise DataError(_too_big(size, max_bytes, exact=True))
            with open(path, "rb") as fh:
                raw = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
        except DataError:
            raise
        except FileNotFoundError:
            raise DataError(f"No such file: '{path}'.") from None
        except IsADirectoryError:
            raise DataError(f"'{path}' is a folder, not a CSV file.") from None
        except OSError as exc:
            raise DataError(f"Could not read '{path}': {exc.strerror or exc}.") from None
    elif hasattr(source, "read") and callable(source.read):
        try:
            raw = source.read() if max_bytes is None else source.read(max_bytes + 1)
        except UnicodeDecodeError as exc:
            raise DataError(f"The file is not readable as text in the encoding it was opened with "
                            f"({exc.encoding}): {exc.reason} at byte {exc.start}. Open it in binary "
                            f"mode ('rb') and let load_csv detect the encoding.") from None
        except OSError as exc:
            raise DataError(f"Could not read from the file object: {exc}.") from None
        if isinstance(raw, (bytearray, memoryview)):
            raw = bytes(raw)
        if not isinstance(raw, (bytes, str)):
            raise TypeError(f"source.read() returned {type(raw).__name__}; expected bytes or str.")
    else:
        raise TypeError(f"source must be a file path (str or Path), bytes, or a file-like object "
                        f"with .read(); got {type(source).__name__}.")
    if max_bytes is not None and len(raw) > max_bytes:
        raise DataError(_too_big(len(raw), max_bytes, exact=False))
    return raw


def _too_big(size: int, max_bytes: int, exact: bool) -> str:
    """The message for an input over the size limit."""
    what = f"{size:,} bytes" if exact else f"more than {max_bytes:,} bytes"
    return f"The file is too large: {what}, and the limit is {max_bytes:,} bytes (max_bytes)."


def _decode(raw: bytes | str) -> tuple[str, str]:
    """Text and the encoding it was read with: UTF-8 (with or without BOM) or
    UTF-16 with a BOM, else Windows-1252, else Latin-1.

    Latin-1 can decode any bytes at all, so garbage is caught afterwards by the
    control-character check, not here.
    """
    if isinstance(raw, str):
        return raw.removeprefix("\ufeff"), "str"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding), encoding.replace("-sig", "")
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


@dataclass
class _Table:
    """A CSV read as text: header names and the data rows' cells, unconverted."""

    columns: list[str]                 # (m,) stripped header names
    cells: np.ndarray                  # (n, m) object array of str cells
    rows: np.ndarray                   # (n,) data row number (1-based)
    lines: np.ndarray                  # (n,) file line where each data row starts
    encoding: str
    separator: str
    skipped_blank_lines: list[int] = field(default_factory=list)


def _sniff_separator(first_line: str) -> str:
    """Comma, unless the header has no comma but does have semicolons or tabs."""
    if "," in first_line:
        return ","
    if ";" in first_line:
        return ";"
    if "\t" in first_line:
        return "\t"
    return ","


def _parse_table(raw: bytes | str) -> _Table:
    """Decode and tokenise a CSV into text cells, checking its structure.

    Raises DataError for: an empty file, binary content, no header, duplicated
    column names, rows with more fields than the header, an unclosed quote and
    a header with no data rows under it.
    """
    text, encoding = _decode(raw)
    # One line ending everywhere, so that counting "\n" inside cells gives file lines.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\ufeff", "")  # stray byte-order marks (e.g. from concatenated files)
    if not text.strip():
        raise DataError("The file is empty: there is no header and no data.")
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise DataError(f"This does not look like a CSV text file: line {line} holds the control "
                        f"character {bad.group()!r} (binary data, or a spreadsheet saved in a "
                        f"non-CSV format?). Save the data as CSV (comma-separated values).",
                        [_problem(None, line, None, repr(bad.group()), "control character in text")])

    # Drop leading blank lines (they would fix the field count at 1) but remember them.
    lines_list = text.split("\n")
    offset = 0
    while offset < len(lines_list) and not lines_list[offset].strip():
        offset += 1
    sep = _sniff_separator(lines_list[offset])
    while offset < len(lines_list) and not lines_list[offset].strip(" \t" + sep):
        offset += 1
    if offset == len(lines_list):  # only separators and spaces
        raise DataError("The file has no header and no data: every line is blank.")
    body = "\n".join(lines_list[offset:])

    options = dict(header=None, dtype=str, na_filter=False, sep=sep, engine="c", index_col=False,
                   quotechar='"', doublequote=True, skipinitialspace=False)
    try:
        header = pd.read_csv(io.StringIO(body), nrows=1, **options)
        width = header.shape[1]
        # Rows longer than the header are skipped with a warning naming their record.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = pd.read_csv(io.StringIO(body), names=list(range(width)), skip_blank_lines=False,
                                on_bad_lines="warn", **options)
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, body, offset, options) from None
    except (pd.errors.EmptyDataError, ValueError, OverflowError, MemoryError) as exc:
        raise DataError(f"The file could not be read as CSV: {exc}") from None

    skipped = {}  # record number (1-based, header = 1) -> number of fields seen
    for w in caught:
        if not issubclass(w.category, pd.errors.ParserWarning):
            continue
        matches = list(_SKIPPED.finditer(str(w.message)))
        if not matches:  # a warning we cannot place: refuse rather than lose rows silently
            raise DataError(f"The file could not be read as CSV: {str(w.message).strip()}")
        for m in matches:
            skipped[int(m.group(1))] = int(m.group(3))
    n_records = len(frame) + len(skipped)

    # Cells of every kept record as text; newlines inside quoted cells move the line count.
    # (Plain loops over one flat array: pandas string methods per column are slow on wide files.)
    grid = frame.to_numpy(dtype=object)
    flat = [v if isinstance(v, str) else "" for v in grid.ravel()]
    grid = np.array(flat, dtype=object).reshape(grid.shape)
    newlines = np.fromiter((v.count("\n") for v in flat), np.int64, len(flat)).reshape(grid.shape).sum(axis=1)
    blank = np.fromiter((not v.strip() for v in flat), bool, len(flat)).reshape(grid.shape).all(axis=1)
    kept_records = np.setdiff1d(np.arange(1, n_records + 1), np.fromiter(skipped, int, len(skipped)))
    # Trap: a skipped record is assumed to span one line (pandas does not give its text).
    newlines_before = np.cumsum(newlines) - newlines
    kept_lines = offset + kept_records + newlines_before
    header_row = grid[0].tolist()

    # Header: names must exist, be distinct, and not be data.
    columns = []
    for j, name in enumerate(header_row):
        name = str(name).strip()
        columns.append(name if name else f"Unnamed: {j}")
    if all(_is_number(c) for c in header_row):
        raise DataError(f"The first line ({', '.join(map(str, header_row[:6]))}"
                        f"{', ...' if width > 6 else ''}) looks like data, not column names. "
                        f"Add a header line naming the columns, e.g. 'x,y'.",
                        [_problem(None, offset + 1, None, None, "no header line")])
    seen: dict[str, list[int]] = {}
    for j, name in enumerate(columns):
        seen.setdefault(name, []).append(j + 1)
    dupes = {name: pos for name, pos in seen.items() if len(pos) > 1}
    if dupes:
        problems = [_problem(None, offset + 1, name, None,
                             f"the name is used by columns {', '.join(map(str, pos))} (counting from 1)")
                    for name, pos in dupes.items()]
        raise DataError(f"The header repeats {_plural(len(dupes), 'column name')}: "
                        f"{', '.join(repr(n) for n in dupes)}. Give every column its own name.",
                        problems)

    # Data rows: every non-blank record after the header, ragged ones included.
    is_data_kept = ~blank
    is_data_kept[0] = False
    record_is_data = np.zeros(n_records + 1, dtype=bool)  # indexed by record number
    record_is_data[kept_records[is_data_kept]] = True
    for r in skipped:
        record_is_data[r] = True
    data_row_of_record = np.cumsum(record_is_data)  # data row number at each record
    problems = []
    for r, n_fields in sorted(skipped.items()):
        line = offset + r + int(newlines[kept_records < r].sum())
        problems.append(_problem(data_row_of_record[r], line, None, None,
                                 f"has {n_fields} fields, but the header has {width}"))
    if problems:
        raise DataError(f"{_plural(len(problems), 'row has', 'rows have')} more fields than the "
                        f"header's {width}. Check for stray commas (or quote cells that contain "
                        f"commas, like \"1,5\").", problems)

    if not is_data_kept.any():
        raise DataError(f"The file has a header ({', '.join(columns[:6])}"
                        f"{', ...' if width > 6 else ''}) but no data rows under it.")
    return _Table(columns=columns, cells=grid[is_data_kept],
                  rows=data_row_of_record[kept_records[is_data_kept]], lines=kept_lines[is_data_kept],
                  encoding=encoding, separator=sep,
                  skipped_blank_lines=[int(x) for x in kept_lines[blank]])


def _parser_error(exc, body: str, offset: int, options: dict) -> DataError:
    """A DataError for a pandas tokenizer failure, locating an unclosed quote."""
    m = _EOF_IN_QUOTES.search(str(exc))
    if m:
        record = int(m.group(1))  # 0-based record where the quoted field starts
        line = offset + record + 1
        if record:
            try:  # count newlines inside the quoted cells of the records before it
                before = pd.read_csv(io.StringIO(body), nrows=record, skip_blank_lines=False,
                                     on_bad_lines="skip", **options)
                line += int(sum(before[c].astype(str).str.count("\n").sum() for c in before.columns))
            except (pd.errors.ParserError, ValueError):
                pass
        return DataError(f"Line {line} opens a quoted cell (\") that is never closed, so the rest "
                         f"of the file would be read as one cell. Close or remove the quote.",
                         [_problem(None, line, None, None, "unclosed quote")])
    return DataError(f"The file could not be read as CSV: {str(exc).strip()}")


def _is_number(text) -> bool:
    """Whether a header cell reads as a number (a sign that the header is missing)."""
    try:
        float(str(text).strip())
    except ValueError:
        return False
    return str(text).strip().lower() not in MISSING_TOKENS


def _convert(cells: np.ndarray, missing_tokens) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Numbers from text cells: (values, is_missing, is_text, is_infinite), each shaped like cells.

    Values are NaN wherever a cell is missing or not a number. All columns go
    through one pandas call.
    """
    stripped = [v.strip() for v in cells.ravel()]
    is_missing = np.fromiter((v.lower() in missing_tokens for v in stripped), bool, len(stripped))
    candidates = pd.Series([None if m else v for v, m in zip(stripped, is_missing)], dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overflowing numbers become inf, reported below
        numbers = pd.to_numeric(candidates, errors="coerce")
    values = pd.Series(numbers).to_numpy(dtype=np.float64, copy=True)
    is_text = ~is_missing & np.isnan(values)
    is_infinite = np.isinf(values)
    values[is_infinite] = np.nan
    return tuple(a.reshape(cells.shape) for a in (values, is_missing, is_text, is_infinite))


def _cell_problems(table: _Table, j: int, name: str, is_missing, is_text, is_infinite,
                   report_missing: bool = True) -> list[dict]:
    """Problem records for the bad cells of one column."""
    problems = []
    raw = table.cells[:, j]
    rows, lines = table.rows, table.lines
    bad = (is_missing if report_missing else np.zeros_like(is_missing)) | is_text | is_infinite
    for i in np.flatnonzero(bad):
        value = str(raw[i])
        if is_missing[i]:
            what = "missing value (empty cell)" if not value.strip() else f"missing value ({value.strip()!r})"
        elif is_infinite[i]:
            what = f"{value.strip()!r} is not a finite number"
        else:
            what = f"{value.strip()!r} is not a number"
        problems.append(_problem(rows[i], lines[i], name, value, what))
    return problems


def _line_of(table: _Table) -> dict:
    """Data row -> file line."""
    return dict(zip(table.rows.tolist(), table.lines.tolist()))


# ----------------------------------------------------------------------------- load_csv


def load_csv(source, features=None, *, missing: str = "raise", duplicates: str = "raise",
             max_bytes: int | None = None, na_values=()) -> pd.DataFrame:
    """Read a CSV file of numbers into a float DataFrame ready for clustering.

    Every cell is read as text first and then converted, so that each bad cell
    is reported by row, line and column. Nothing in the file is ever executed.

    Parameters
    ----------
    source : str, pathlib.Path, bytes or file-like
        A path to a CSV file; the file's bytes (e.g. an upload); or an open
        file (binary or text) with a ``read`` method. A header line naming the
        columns is required. Commas separate cells, unless the header has
        none but has semicolons or tabs. UTF-8 (with or without BOM) is tried
        first, then Windows-1252/Latin-1.
    features : list of str, optional
        The columns to use. Default: every column whose cells look numeric
        (more than half of its non-missing cells are numbers; the others are
        then reported as errors). ID columns look numeric too: name the features to leave
        them out.
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

    Returns
    -------
    DataFrame of shape (n_samples, n_features), float64
        The features, named as in the header. The index, named ``"row"``, holds
        the 1-based *data row* number of each row (row 1 is the first row under
        the header; blank lines are not counted), so dropped rows leave gaps.
        ``df.attrs["load_report"]`` records the encoding, separator, ignored
        columns, dropped rows and the file line of each kept row.

    Raises
    ------
    DataError
        Anything wrong with the content: empty file, header only, no header,
        binary or garbled bytes, repeated column names, rows with extra fields,
        an unclosed quote, unknown feature names, no numeric columns, missing
        or non-numeric or infinite cells, duplicate rows, fewer than 2 rows or
        fewer than 2 distinct points, or more than ``max_bytes``. Messages
        give *row N (line L)*: the data row and the file line.
    TypeError
        ``source`` is not a path, bytes or file-like.

    Examples
    --------
    >>> df = load_csv(b"name,age,income\\nAda,19,15\\nBob,21,15.5\\n")
    >>> df.to_dict("index")
    {1: {'age': 19.0, 'income': 15.0}, 2: {'age': 21.0, 'income': 15.5}}
    >>> df.attrs["load_report"]["ignored_columns"]
    ['name']
    >>> load_csv(b"a,b\\n1,2\\n,4\\n5,6\\n", missing="drop").index.tolist()
    [1, 3]
    """
    check_choice(missing, "missing", ("raise", "drop"))
    check_choice(duplicates, "duplicates", ("raise", "drop", "keep"))
    if max_bytes is not None:
        max_bytes = check_positive_int(max_bytes, "max_bytes")
    tokens = _missing_tokens(na_values)
    features = _check_features_arg(features)

    table = _parse_table(_read_source(source, max_bytes))
    columns = table.columns

    # Every column converted at once; converted[j] = (values, is_missing, is_text, is_infinite) of column j.
    blocks = _convert(table.cells, tokens)
    converted = {j: tuple(b[:, j] for b in blocks) for j in range(len(columns))}
    if features is None:
        chosen = [j for j in range(len(columns)) if _looks_numeric(*converted[j][1:3])]
        if not chosen:
            samples = ", ".join(f"{name!r} (e.g. {str(table.cells[0, j]).strip()!r})"
                                for j, name in enumerate(columns[:8]))
            raise DataError(f"No column of this file looks numeric, so there is nothing to cluster. "
                            f"Columns: {samples}{', ...' if len(columns) > 8 else ''}.")
    else:
        chosen = _resolve_features(features, columns)
        # An empty or text column asked for by name: one message for the column, not one per cell.
        empty = [j for j in chosen if converted[j][1].all()]
        if empty:
            raise DataError(f"{_plural(len(empty), 'chosen column is', 'chosen columns are')} empty "
                            f"(every cell is missing): {', '.join(repr(columns[j]) for j in empty)}.",
                            [_problem(None, None, columns[j], None, "every cell is missing") for j in empty])
        text_cols = [j for j in chosen if not _looks_numeric(*converted[j][1:3])]
        if text_cols:
            problems = [_problem(None, None, columns[j], None,
                                 f"holds text, not numbers (e.g. {_first_text(table, j, converted[j][2])!r})")
                        for j in text_cols]
            raise DataError(f"{_plural(len(text_cols), 'chosen column holds', 'chosen columns hold')} "
                            f"text rather than numbers: {', '.join(repr(columns[j]) for j in text_cols)}.",
                            problems, hint="Leave it out of features, or encode categories as numbers "
                                           "first (kmeans_tutor.preprocessing.encode_categories).")
    ignored = [columns[j] for j in range(len(columns)) if j not in chosen]

    # Bad cells in the chosen columns.
    problems, drop = [], np.zeros(len(table.rows), dtype=bool)
    for j in chosen:
        _, is_missing, is_text, is_infinite = converted[j]
        problems += _cell_problems(table, j, columns[j], is_missing, is_text, is_infinite,
                                   report_missing=(missing == "raise"))
        drop |= is_missing
    if problems:
        order = {columns[j]: k for k, j in enumerate(chosen)}
        problems.sort(key=lambda p: (p["row"], order[p["column"]]))
        raise _cell_error(problems, table.separator, missing)

    values = np.column_stack([converted[j][0] for j in chosen])
    df = pd.DataFrame(values, index=pd.Index(table.rows, name="row"), columns=[columns[j] for j in chosen])
    lines = table.lines
    dropped_missing = df.index[drop].tolist() if missing == "drop" else []
    if missing == "drop":
        df, lines = df.loc[~drop], lines[~drop]
    n_read = len(table.rows)
    if len(df) < 2:
        extra = (f" after dropping {_plural(len(dropped_missing), 'row')} with missing values"
                 if dropped_missing else "")
        raise DataError(f"The file has {_plural(len(df), 'usable data row')}{extra} "
                        f"({_plural(n_read, 'row')} read); K-means needs at least 2.")

    # Repeated points.
    dropped_duplicates = []
    first_of = _first_occurrence(df)
    repeats = first_of != df.index.to_numpy()
    if repeats.any():
        if duplicates == "raise":
            line_of = _line_of(table)
            values = df.to_numpy()
            dup_problems = [
                _problem(row, line_of[row], None, None,
                         f"repeats row {first} (line {line_of[first]}): {_point(df.columns, values[i])}")
                for i, row, first in zip(np.flatnonzero(repeats), df.index[repeats], first_of[repeats])]
            shown = ", ".join(map(repr, df.columns[:6])) + (", ..." if df.shape[1] > 6 else "")
            raise DataError(f"{_plural(len(dup_problems), 'row repeats', 'rows repeat')} an earlier row "
                            f"exactly (in the columns {shown}).",
                            dup_problems,
                            hint="Pass duplicates='drop' to keep only the first of each, or "
                                 "duplicates='keep' to keep them all.")
        if duplicates == "drop":
            dropped_duplicates = df.index[repeats].tolist()
            df, lines = df.loc[~repeats], lines[~repeats]
    n_distinct = int((first_of == df.index.to_numpy()).sum()) if duplicates != "drop" else len(df)
    if n_distinct < 2:
        raise DataError(f"All {_plural(len(df), 'usable row')} hold the same point "
                        f"({_point(df.columns, df.to_numpy()[0])}); K-means "
                        f"needs at least 2 distinct points.")

    df.attrs["load_report"] = {
        "encoding": table.encoding,
        "separator": table.separator,
        "n_rows_read": n_read,
        "ignored_columns": ignored,
        "dropped_missing": dropped_missing,
        "dropped_duplicates": dropped_duplicates,
        "skipped_blank_lines": table.skipped_blank_lines,
        "lines": [int(x) for x in lines],
    }
    return df


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
    repeated = sorted({f for f in features if features.count(f) > 1})
    if repeated:
        raise DataError(f"features names {', '.join(map(repr, repeated))} more than once.")
    return features


def _resolve_features(features, columns) -> list[int]:
    """Column positions of the requested features; unknown names are an error."""
    unknown = [f for f in features if f.strip() not in columns]
    if unknown:
        hints = []
        for f in unknown:
            close = difflib.get_close_matches(f.strip(), columns, n=1) or [
                c for c in columns if f.strip().lower() in c.lower() or c.lower() in f.strip().lower()][:1]
            hints.append(f"{f!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise DataError(f"Unknown feature{'s' if len(unknown) > 1 else ''}: {', '.join(hints)}. "
                        f"The file's columns are: {', '.join(map(repr, columns))}.",
                        [_problem(None, None, f, None, "no such column") for f in unknown])
    return [columns.index(f.strip()) for f in features]


def _first_text(table: _Table, j: int, is_text) -> str:
    """The first non-numeric cell of column j (or '' if it is all missing)."""
    hits = np.flatnonzero(is_text)
    return str(table.cells[hits[0], j]).strip() if len(hits) else ""


def _looks_numeric(is_missing, is_text) -> bool:
    """Numbers are more than half of the non-missing cells (so a typo does not hide a column)."""
    n_present = int((~is_missing).sum())
    n_numbers = n_present - int(is_text.sum())
    return n_numbers * 2 > n_present


def _cell_error(problems, separator: str, missing: str) -> DataError:
    """The DataError for bad cells, with a hint fitted to what went wrong."""
    n_missing = sum(p["problem"].startswith("missing") for p in problems)
    n_other = len(problems) - n_missing
    parts = []
    if n_other:
        parts.append(f"{_plural(n_other, 'cell')} that cannot be used as a number")
    if n_missing:
        parts.append(f"{_plural(n_missing, 'missing cell')}")
    hints = []
    if n_missing and missing == "raise":
        hints.append("Pass missing='drop' to drop the rows with missing cells.")
    if any(p["value"] is not None and _DECIMAL_COMMA.match(p["value"].strip()) for p in problems):
        hints.append("Some numbers use a decimal comma (like 1,5); write them with a point (1.5)"
                     + (" or separate cells with commas." if separator == ";" else "."))
    return DataError(f"The file has {' and '.join(parts)}:", problems,
                     hint=" ".join(hints) or None)


def _first_occurrence(df: pd.DataFrame) -> np.ndarray:
    """For each row, the index label of the first row with the same values, shape (n,)."""
    # + 0.0 turns -0.0 into 0.0 (np.unique compares rows byte by byte); values are finite.
    values = df.to_numpy(dtype=np.float64) + 0.0
    _, first_pos, inverse = np.unique(values, axis=0, return_index=True, return_inverse=True)
    return df.index.to_numpy()[first_pos[inverse.reshape(-1)]]


# ----------------------------------------------------------------------------- Mall


def _mall_file() -> tuple[bytes, str]:
    """The bytes of the Mall Customers CSV and where they came from: the
    package's _data folder (installed wheel) first, then the checkout's data/."""
    packaged = importlib.resources.files(__package__) / "_data" / _MALL_FILE
    if packaged.is_file():
        return packaged.read_bytes(), str(packaged)
    checkout = Path(__file__).resolve().parent.parent / "data" / _MALL_FILE
    if checkout.is_file():
        return checkout.read_bytes(), str(checkout)
    raise FileNotFoundError(
        f"The Mall Customers data ({_MALL_FILE}) was not found: looked in the package "
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
    if path is None:
        raw, where = _mall_file()
    else:
        where = Path(path)
        if not where.is_file():
            raise FileNotFoundError(f"No Mall Customers file at '{where}'.")
        raw = where.read_bytes()
    try:
        table = _parse_table(raw)
    except DataError as exc:
        raise DataError(f"{where}: {exc.summary}", exc.problems, exc.hint) from None
    columns = table.columns

    # Expected columns; the gender column is "Genre" in most copies.
    gender_names = [c for c in ("Gender", "Genre") if c in columns]
    required = ["CustomerID", *_MALL_NUMERIC]
    absent = [c for c in required if c not in columns] + ([] if gender_names else ["Gender (or Genre)"])
    if absent:
        raise DataError(f"{where} is not the Mall Customers file: missing column"
                        f"{'s' if len(absent) > 1 else ''} {', '.join(map(repr, absent))} "
                        f"(found {', '.join(map(repr, columns))}).",
                        [_problem(None, None, c, None, "column not found") for c in absent])
    if len(gender_names) > 1:
        raise DataError(f"{where} has both a 'Gender' and a 'Genre' column; keep one.")
    gender_col = gender_names[0]

    # Numbers: the same checks and messages as load_csv.
    problems, out = [], {}
    for name in required:
        j = columns.index(name)
        values, is_missing, is_text, is_infinite = _convert(table.cells[:, [j]], MISSING_TOKENS)
        problems += _cell_problems(table, j, name, is_missing[:, 0], is_text[:, 0], is_infinite[:, 0])
        out[name] = values[:, 0]
    g = columns.index(gender_col)
    gender = [str(v).strip() for v in table.cells[:, g]]
    for i, v in enumerate(gender):
        if v.lower() in MISSING_TOKENS:
            problems.append(_problem(table.rows[i], table.lines[i], gender_col, table.cells[i, g],
                                     "missing value"))
    if problems:
        problems.sort(key=lambda p: p["row"])
        err = _cell_error(problems, table.separator, "drop")
        raise DataError(f"{where}: {err.summary}", err.problems, err.hint)

    # CustomerID: distinct whole numbers.
    ids = out.pop("CustomerID")
    c = columns.index("CustomerID")
    problems = [_problem(table.rows[i], table.lines[i], "CustomerID", table.cells[i, c], "is not a whole number")
                for i in np.flatnonzero(ids != np.round(ids))]
    _, first = np.unique(ids, return_index=True)
    for i in sorted(set(range(len(ids))) - set(first.tolist())):
        problems.append(_problem(table.rows[i], table.lines[i], "CustomerID", table.cells[i, c],
                                 "repeats an earlier CustomerID"))
    if problems:
        raise DataError(f"{where}: the CustomerID column must hold distinct whole numbers:", problems)

    df = pd.DataFrame({"Gender": gender}, index=pd.Index(ids.astype(np.int64), name="CustomerID"))
    for name in _MALL_NUMERIC:
        values = out[name]
        df[name] = values.astype(np.int64) if np.all(values == np.round(values)) else values
    return df
