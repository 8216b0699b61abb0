"""A CSV file read as a table of text cells, and the checks both loaders share.

Private to :mod:`kmeans_tutor.data`: :mod:`.csv_loader` and :mod:`.mall` read
every cell as text with :func:`parse_table`, then convert with
:func:`convert_cells`, so that a bad cell can be reported by its data row, file
line and column instead of surfacing as a pandas exception.

pandas is imported inside the functions that use it, not at the top: a
lesson kernel that never builds a table is spared it (0.2 s of CPU and 32 MB).
"""

from __future__ import annotations

import io
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import DataError, plural, problem

if TYPE_CHECKING:
    import pandas as pd

#: Cell texts read as "missing" (compared after stripping spaces, ignoring case).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "?", "null", "none", "#n/a", "-"})
#: Most columns a file may have: far more than any table a person clusters, and a
#: bound on the work a hostile file can ask for.
MAX_COLUMNS = 2_000

# C0 and C1 control characters other than tab and newlines: a text CSV has none.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SKIPPED = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")
_EOF_IN_QUOTES = re.compile(r"EOF inside string starting at row (\d+)")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")


# ----------------------------------------------------------------------------- reading


def read_source(source, max_bytes: int | None) -> bytes | str:
    """The raw content of a path, bytes or file-like, refusing more than max_bytes.

    A path must name a regular file unless ``max_bytes`` bounds the read: a
    device such as ``/dev/zero`` or a pipe never ends.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        raw = _read_path(source, max_bytes)
    elif hasattr(source, "read") and callable(source.read):
        raw = _read_file_object(source, max_bytes)
    else:
        raise TypeError(f"source must be a file path (str or Path), bytes, or a file-like object "
                        f"with .read(); got {type(source).__name__}.")
    if max_bytes is not None and len(raw) > max_bytes:
        raise DataError(_too_big(len(raw), max_bytes, exact=False))
    return raw


def _read_path(source, max_bytes: int | None) -> bytes:
    path = Path(source)
    if isinstance(source, str) and ("\n" in source or len(source) > 4096):
        raise DataError("The source is a string that looks like CSV text, not a file path. "
                        "Pass the text as bytes (text.encode()) or io.StringIO(text).")
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise DataError(f"'{path}' is a folder, not a CSV file.")
        if not stat.S_ISREG(info.st_mode) and max_bytes is None:
            raise DataError(f"'{path}' is not a regular file (a device or a pipe may never end); "
                            f"save the data to a CSV file first.")
        if max_bytes is not None and info.st_size > max_bytes:
            raise DataError(_too_big(info.st_size, max_bytes, exact=True))
        with open(path, "rb") as fh:
            return fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise DataError(f"No such file: '{path}'.") from None
    except IsADirectoryError:
        raise DataError(f"'{path}' is a folder, not a CSV file.") from None
    except PermissionError:
        raise DataError(f"Could not read '{path}': permission denied.") from None
    except OSError as exc:
        raise DataError(f"Could not read '{path}': {exc.strerror or exc}.") from None


def _read_file_object(source, max_bytes: int | None) -> bytes | str:
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
    return raw


def _too_big(size: int, max_bytes: int, exact: bool) -> str:
    """The message for an input over the size limit."""
    what = f"{size:,} bytes" if exact else f"more than {max_bytes:,} bytes"
    return f"The file is too large: {what}, and the limit is {max_bytes:,} bytes (max_bytes)."


def decode(raw: bytes | str) -> tuple[str, str]:
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


# ----------------------------------------------------------------------------- the table


@dataclass
class Table:
    """A CSV read as text: header names and the data rows' cells, unconverted."""

    columns: list[str]                 # (m,) stripped header names
    cells: np.ndarray                  # (n, m) object array of str cells
    rows: np.ndarray                   # (n,) data row number (1-based)
    lines: np.ndarray                  # (n,) file line where each data row starts
    encoding: str
    separator: str
    skipped_blank_lines: list[int] = field(default_factory=list)


def sniff_separator(header_line: str) -> str:
    """Comma, unless the header has no comma but does have semicolons or tabs.

    Only separators outside double quotes count: a header such as
    ``"name";"income, k$"`` is semicolon-separated.
    """
    outside = "".join(part for i, part in enumerate(header_line.split('"')) if i % 2 == 0)
    for sep in (",", ";", "\t"):
        if sep in outside:
            return sep
    return ","


def parse_table(raw: bytes | str) -> Table:
    """Decode and tokenise a CSV into text cells, checking its structure.

    Raises DataError for: an empty file, binary content, no header, too many
    columns, duplicated column names, rows with more fields than the header,
    an unclosed quote and a header with no data rows under it.
    """
    text, encoding = _clean_text(raw)
    offset, sep, body = _find_header(text)
    frame, skipped, width = _tokenise(body, sep, offset)
    grid, records, newlines, blank, lines = _cells_and_lines(frame, skipped, offset)
    columns = _check_header(grid[0].tolist(), offset, width)
    keep, data_row = _data_rows(blank, records, skipped, newlines, offset, width, columns)
    return Table(columns=columns, cells=grid[keep], rows=data_row[records[keep]], lines=lines[keep],
                 encoding=encoding, separator=sep, skipped_blank_lines=[int(x) for x in lines[blank]])


def _clean_text(raw) -> tuple[str, str]:
    """Decoded text with one line ending; refuses empty and binary content."""
    text, encoding = decode(raw)
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
                        [problem(None, line, None, repr(bad.group()), "control character in text")])
    return text, encoding


def _find_header(text: str) -> tuple[int, str, str]:
    """Lines skipped before the header, the separator, and the text from the header on.

    Leading blank lines (they would fix the field count at 1) are dropped.
    """
    lines = text.split("\n")
    offset = 0
    while offset < len(lines) and not lines[offset].strip():
        offset += 1
    sep = sniff_separator(lines[offset])
    while offset < len(lines) and not lines[offset].strip(" \t" + sep):
        offset += 1
    if offset == len(lines):  # only separators and spaces
        raise DataError("The file has no header and no data: every line is blank.")
    return offset, sep, "\n".join(lines[offset:])


_READ_OPTIONS = dict(header=None, dtype=str, na_filter=False, engine="c", index_col=False,
                     quotechar='"', doublequote=True, skipinitialspace=False)


def _tokenise(body: str, sep: str, offset: int):
    """Every record as text cells; records longer than the header are skipped
    and reported as {record number (1-based, header = 1): fields seen}."""
    import pandas as pd

    options = dict(_READ_OPTIONS, sep=sep)
    try:
        width = pd.read_csv(io.StringIO(body), nrows=1, **options).shape[1]
        if width > MAX_COLUMNS:
            raise DataError(f"The file has {width:,} columns; kmeans-tutor reads at most "
                            f"{MAX_COLUMNS:,}. Keep the columns you want to cluster on and save "
                            f"again.")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = pd.read_csv(io.StringIO(body), names=list(range(width)), skip_blank_lines=False,
                                on_bad_lines="warn", **options)
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, body, offset, options) from None
    except (pd.errors.EmptyDataError, ValueError, OverflowError, MemoryError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"The file could not be read as CSV: {exc}") from None

    skipped = {}
    for w in caught:
        if not issubclass(w.category, pd.errors.ParserWarning):
            continue
        matches = list(_SKIPPED.finditer(str(w.message)))
        if not matches:  # a warning we cannot place: refuse rather than lose rows silently
            raise DataError(f"The file could not be read as CSV: {str(w.message).strip()}")
        for m in matches:
            skipped[int(m.group(1))] = int(m.group(3))
    return frame, skipped, width


def _cells_and_lines(frame: pd.DataFrame, skipped: dict, offset: int):
    """The kept records' cells as text, and where each record sits in the file.

    Returns the (records, m) grid of str, the record number of each row, the
    newlines inside each record's quoted cells, which records are blank, and
    the file line where each record starts.
    """
    # Plain loops over one flat array: pandas string methods per column are slow on wide files.
    grid = frame.to_numpy(dtype=object)
    flat = [v if isinstance(v, str) else "" for v in grid.ravel()]
    grid = np.array(flat, dtype=object).reshape(grid.shape)
    newlines = np.fromiter((v.count("\n") for v in flat), np.int64, len(flat)).reshape(grid.shape).sum(axis=1)
    blank = np.fromiter((not v.strip() for v in flat), bool, len(flat)).reshape(grid.shape).all(axis=1)
    n_records = len(frame) + len(skipped)
    records = np.setdiff1d(np.arange(1, n_records + 1), np.fromiter(skipped, int, len(skipped)))
    # Trap: a skipped record is assumed to span one line (pandas does not give its text).
    lines = offset + records + np.cumsum(newlines) - newlines
    return grid, records, newlines, blank, lines


def _check_header(header_row: list, offset: int, width: int) -> list[str]:
    """Column names: they must exist, be distinct, and not be data."""
    columns = []
    for j, name in enumerate(header_row):
        name = str(name).strip()
        columns.append(name if name else f"Unnamed: {j}")
    if all(is_number(c) for c in header_row):
        raise DataError(f"The first line ({', '.join(map(str, header_row[:6]))}"
                        f"{', ...' if width > 6 else ''}) looks like data, not column names. "
                        f"Add a header line naming the columns, e.g. 'x,y'.",
                        [problem(None, offset + 1, None, None, "no header line")])
    seen: dict[str, list[int]] = {}
    for j, name in enumerate(columns):
        seen.setdefault(name, []).append(j + 1)
    dupes = {name: pos for name, pos in seen.items() if len(pos) > 1}
    if dupes:
        problems = [problem(None, offset + 1, name, None,
                            f"the name is used by columns {', '.join(map(str, pos))} (counting from 1)")
                    for name, pos in dupes.items()]
        raise DataError(f"The header repeats {plural(len(dupes), 'column name')}: "
                        f"{', '.join(repr(n) for n in dupes)}. Give every column its own name.",
                        problems)
    return columns


def _data_rows(blank, records, skipped, newlines, offset, width, columns):
    """Which kept records are data (not the header, not blank), and the data
    row number of every record; refuses records with too many fields."""
    keep = ~blank
    keep[0] = False
    record_is_data = np.zeros(len(records) + len(skipped) + 1, dtype=bool)  # by record number
    record_is_data[records[keep]] = True
    for r in skipped:
        record_is_data[r] = True
    data_row = np.cumsum(record_is_data)  # data row number at each record
    problems = []
    for r, n_fields in sorted(skipped.items()):
        line = offset + r + int(newlines[records < r].sum())
        problems.append(problem(data_row[r], line, None, None,
                                f"has {n_fields} fields, but the header has {width}"))
    if problems:
        raise DataError(f"{plural(len(problems), 'row has', 'rows have')} more fields than the "
                        f"header's {width}. Check for stray commas (or quote cells that contain "
                        f"commas, like \"1,5\").", problems)
    if not keep.any():
        raise DataError(f"The file has a header ({', '.join(columns[:6])}"
                        f"{', ...' if width > 6 else ''}) but no data rows under it.")
    return keep, data_row


def _parser_error(exc, body: str, offset: int, options: dict) -> DataError:
    """A DataError for a pandas tokenizer failure, locating an unclosed quote."""
    import pandas as pd

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
                         [problem(None, line, None, None, "unclosed quote")])
    return DataError(f"The file could not be read as CSV: {str(exc).strip()}")


# ----------------------------------------------------------------------------- cells


def is_number(text) -> bool:
    """Whether a header cell reads as a number (a sign that the header is missing)."""
    try:
        float(str(text).strip())
    except ValueError:
        return False
    return str(text).strip().lower() not in MISSING_TOKENS


def convert_cells(cells: np.ndarray, missing_tokens) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Numbers from text cells: (values, is_missing, is_text, is_infinite), each shaped like cells.

    Values are NaN wherever a cell is missing or not a number. All columns go
    through one pandas call.
    """
    import pandas as pd

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


def cell_problems(table: Table, j: int, name: str, is_missing, is_text, is_infinite,
                  report_missing: bool = True) -> list[dict]:
    """Problem records for the bad cells of one column."""
    problems = []
    raw = table.cells[:, j]
    bad = (is_missing if report_missing else np.zeros_like(is_missing)) | is_text | is_infinite
    for i in np.flatnonzero(bad):
        value = str(raw[i])
        if is_missing[i]:
            what = "missing value (empty cell)" if not value.strip() else f"missing value ({value.strip()!r})"
        elif is_infinite[i]:
            what = f"{value.strip()!r} is not a finite number"
        else:
            what = f"{value.strip()!r} is not a number"
        problems.append(problem(table.rows[i], table.lines[i], name, value, what))
    return problems


def cell_error(problems, separator: str, missing: str) -> DataError:
    """The DataError for bad cells, with a hint fitted to what went wrong."""
    n_missing = sum(p["problem"].startswith("missing") for p in problems)
    n_other = len(problems) - n_missing
    parts = []
    if n_other:
        parts.append(f"{plural(n_other, 'cell')} that cannot be used as a number")
    if n_missing:
        parts.append(f"{plural(n_missing, 'missing cell')}")
    hints = []
    if n_missing and missing == "raise":
        hints.append("Pass missing='drop' to drop the rows with missing cells.")
    if any(p["value"] is not None and _DECIMAL_COMMA.match(p["value"].strip()) for p in problems):
        hints.append("Some numbers use a decimal comma (like 1,5); write them with a point (1.5)"
                     + (" or separate cells with commas." if separator == ";" else "."))
    return DataError(f"The file has {' and '.join(parts)}:", problems, hint=" ".join(hints) or None)


def line_of(table: Table) -> dict:
    """Data row -> file line."""
    return dict(zip(table.rows.tolist(), table.lines.tolist()))
