"""What goes wrong with a data file: :class:`DataError` and its problem records.

Row numbers in messages: *row* is the 1-based data row (the first row under the
header is row 1, blank lines are not counted); *line* is the 1-based line of the
file as a text editor shows it (the header is usually line 1).
"""

from __future__ import annotations

__all__ = ["DataError", "problem", "describe_problem", "plural"]

MAX_LISTED = 10  # problems listed in a DataError's message (all are in .problems)


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
    >>> from kmeans_tutor import load_csv
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
            problems = [problem(None, None, None, None, self.summary)]
        self.problems = problems
        self.hint = hint
        super().__init__(self._message())

    def __reduce__(self):
        return (type(self), (self.summary, self.problems, self.hint))

    def _message(self) -> str:
        """The summary, the first few located problems as bullets, and the hint."""
        lines = [self.summary]
        located = [p for p in self.problems if any(p.get(k) is not None for k in ("row", "line", "column"))]
        for p in located[:MAX_LISTED]:
            lines.append(f"  - {describe_problem(p)}")
        if len(located) > MAX_LISTED:
            rest = len(located) - MAX_LISTED
            lines.append(f"  ... and {rest} more problem{'s' if rest != 1 else ''} "
                         f"({len(located)} in all; see the .problems attribute).")
        if self.hint:
            lines.append(self.hint)
        return "\n".join(lines)


def problem(row, line, column, value, what) -> dict:
    """One problem record (see :class:`DataError`)."""
    return {"row": None if row is None else int(row), "line": None if line is None else int(line),
            "column": None if column is None else str(column), "value": value, "problem": what}


def _where(row, line) -> str:
    """'row 3 (line 4)', 'row 3', 'line 4' or ''."""
    if row is not None and line is not None:
        return f"row {row} (line {line})"
    if row is not None:
        return f"row {row}"
    if line is not None:
        return f"line {line}"
    return ""


def describe_problem(p: dict) -> str:
    """One bullet of a DataError message."""
    place = _where(p.get("row"), p.get("line"))
    if p.get("column") is not None:
        place = f"{place}, column {p['column']!r}" if place else f"column {p['column']!r}"
    return f"{place}: {p['problem']}" if place else p["problem"]


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 row', '3 rows', '1,200 cells'."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"
