"""Writing results as CSV that a spreadsheet opens safely.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula (``=HYPERLINK(...)``, ``+cmd|...``): text that came from a file
someone else wrote must not turn into one. :func:`safe_csv` writes a frame as
CSV with such text cells prefixed by an apostrophe (the usual way to say
"this is text"); numbers stay numbers, so ``-5`` is still minus five.

>>> import pandas as pd
>>> print(safe_csv(pd.DataFrame({"name": ["=HYPERLINK(\\"x\\")", "-5", "Ada"], "n": [-1, 2, 3]}), index=False), end="")
name,n
"'=HYPERLINK(""x"")",-1
-5,2
Ada,3
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["safe_csv", "safe_csv_columns", "neutralise"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def neutralise(value):
    """A text cell a spreadsheet would run as a formula, prefixed with "'"; anything else as it is."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _is_number(value.strip()):
        return "'" + value
    return value


def safe_csv(frame: pd.DataFrame, path=None, *, index: bool = True) -> str | None:
    """``frame.to_csv`` with formula-like text cells (and column names) neutralised.

    Parameters
    ----------
    frame : DataFrame
    path : str or Path, optional
        Write there; by default return the text.
    index : bool, default True
        Write the index as the first column.
    """
    import pandas as pd  # here, not at the top: pandas costs a kernel 0.2 s and 32 MB

    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise)
    safe.columns = [neutralise(str(c)) for c in safe.columns]
    if index and not pd.api.types.is_numeric_dtype(safe.index):
        safe.index = safe.index.map(neutralise)
    return safe.to_csv(path, index=index, lineterminator="\n")


def safe_csv_columns(columns: Mapping) -> str:
    """CSV text of columns given as name → values (one per row), as :func:`safe_csv` writes a
    frame of them without its index, but without pandas.

    Integers and text only (what the bundled data holds): a column of other numbers
    is refused rather than written in another format than pandas would.

    >>> print(safe_csv_columns({"name": ["=1+1", "Ada"], "n": np.array([-1, 2])}), end="")
    name,n
    '=1+1,-1
    Ada,2
    """
    cells = []
    for name, values in columns.items():
        values = np.asarray(values)
        if values.dtype.kind in "iu":
            cells.append([str(v) for v in values.tolist()])
        elif values.dtype.kind in "OU" and all(isinstance(v, str) for v in values.tolist()):
            cells.append([neutralise(v) for v in values.tolist()])
        else:
            raise TypeError(f"column {name!r} holds {values.dtype} values; safe_csv_columns "
                            f"writes integers and text only (use safe_csv for a DataFrame).")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([neutralise(str(name)) for name in columns])
    writer.writerows(zip(*cells))
    return out.getvalue()
