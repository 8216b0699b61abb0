"""Bring your own data: a CSV upload row shared by the apps.

The browser sends the file's bytes over the widget comm; they are read **in
memory only** — nothing is ever written to disk — and parsed as data by
:func:`~kmeans_tutor.data.load_csv` (never evaluated). The reported size is
checked against a cap *before* anything is parsed.

Two layers, as elsewhere in the package:

- :func:`read_upload` — no widgets: a ``FileUpload.value`` in, the file's
  name, its columns and what was left out of them, or an :class:`UploadError` /
  :class:`~kmeans_tutor.data.DataError` whose message a learner can read.
- :class:`UploadRow` — an ``ipywidgets.HBox``: a FileUpload button and a
  status line. It hands each good file to a callback (e.g.
  :meth:`~kmeans_tutor.widgets.models.DataModel.use_upload`); a refusal from
  the parser or the callback is shown in the status, and the data already on
  screen stay as they were.

>>> import datetime
>>> value = ({"name": "pts.csv", "type": "text/csv", "size": 16,
...           "content": memoryview(b"x,y\\n1,2\\n3,4\\n5,5\\n"),
...           "last_modified": datetime.datetime.now(datetime.timezone.utc)},)
>>> name, df, report = read_upload(value)
>>> name, df.shape, report.ignored_columns
('pts.csv', (3, 2), {})
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

import ipywidgets as widgets
import traitlets

from ..data.csv_loader import LoadReport, load_csv
from ..data.errors import DataError
from .base import MAX_MESSAGE_CHARS, quiet
from .shared_styles import shared_layout, styled

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["UploadRow", "UploadError", "read_upload", "MAX_UPLOAD_BYTES", "format_megabytes"]

#: Largest file accepted, in bytes (2 MB).
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
_MB = 1024 * 1024
_MAX_MESSAGE_LINES = 8   # lines of a DataError shown in the status
_MAX_NAME_CHARS = 80     # a file name longer than this is shortened in the status


class UploadError(ValueError):
    """An upload refused before parsing (too large, or not a file at all)."""


def format_megabytes(n_bytes: int) -> str:
    """'3.4 MB', '2 MB', '0.1 MB': one decimal, trailing zero dropped (1 MB = 1024² bytes)."""
    text = f"{max(float(n_bytes), 0.0) / _MB:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    if text == "0" and n_bytes > 0:
        text = "0.1"
    return f"{text} MB"


def _one_file(value) -> dict:
    """The single file record of a FileUpload value (a tuple of dicts in ipywidgets 8)."""
    if isinstance(value, dict):  # tolerate a bare record
        value = (value,)
    if not isinstance(value, (tuple, list)) or len(value) != 1 or not isinstance(value[0], dict):
        n = len(value) if isinstance(value, (tuple, list)) else 0
        raise UploadError(f"Upload one CSV file at a time (got {n}).")
    record = value[0]
    if not isinstance(record.get("content"), (bytes, bytearray, memoryview)):
        raise UploadError("The upload holds no file content; try choosing the file again.")
    return record


def read_upload(value, *, max_bytes: int = MAX_UPLOAD_BYTES) -> tuple[str, pd.DataFrame, LoadReport]:
    """Parse a ``FileUpload.value`` holding one CSV file, in memory.

    Parameters
    ----------
    value : tuple of one dict
        As ipywidgets 8 gives it: ``name``, ``type``, ``size``, ``content``
        (a memoryview of the bytes) and ``last_modified`` (a datetime).
    max_bytes : int, default=MAX_UPLOAD_BYTES
        Refuse a larger file before parsing it (the larger of the reported
        size and the bytes actually received is checked).

    Returns
    -------
    name : str
        The file's name as sent (not escaped: escape it before showing it).
    frame : DataFrame of shape (n_rows, n_numeric_columns), float64
        ``load_csv(content, duplicates="keep", max_bytes=max_bytes)``:
        duplicate rows are normal in real data and are kept.
    report : LoadReport
        The columns left out and why (their text in ``report.left_out``).

    Raises
    ------
    UploadError
        Too large (``"file is 3.4 MB; the limit is 2 MB"``), or no file.
    DataError
        Anything wrong with the content (see :func:`~kmeans_tutor.data.load_csv`).
    """
    record = _one_file(value)
    name = str(record.get("name") or "")
    content = record["content"]
    try:
        reported = int(record.get("size") or 0)
    except (TypeError, ValueError):
        reported = 0
    size = max(reported, len(content) if not isinstance(content, memoryview) else content.nbytes)
    if size > max_bytes:
        raise UploadError(f"file is {format_megabytes(size)}; the limit is {format_megabytes(max_bytes)}.")
    frame, report = load_csv(bytes(content), duplicates="keep", max_bytes=max_bytes, with_report=True)
    return name, frame, report


def _short_name(name: str) -> str:
    return name if len(name) <= _MAX_NAME_CHARS else name[: _MAX_NAME_CHARS - 1] + "…"


def _first_lines(text: str, n: int = _MAX_MESSAGE_LINES, width: int = 200) -> str:
    """The first n lines of a message, each cut to ``width`` characters (a cell of a
    megabyte must not become a megabyte of status)."""
    lines = [line if len(line) <= width else line[: width - 1] + "…"
             for line in (str(text).splitlines() or [""])[: n + 1]]
    if len(lines) > n:
        lines = lines[:n] + ["…"]
    return "\n".join(lines)


# ipywidgets labels the button "<description> (<files chosen>)", and the count
# reads as "Your CSV (0)" to a student.  The style shows the description alone.
_BUTTON_LABEL = ("<style>.kt-upload {{ font-size: 0 !important; }}"
                 ".kt-upload i {{ font-size: var(--jp-widgets-font-size, 13px); margin-right: 0.4em; }}"
                 ".kt-upload::after {{ content: {label}; "
                 "font-size: var(--jp-widgets-font-size, 13px); }}</style>")


class UploadRow(widgets.HBox):
    """A "CSV file" upload button and a status line.

    Parameters
    ----------
    on_data : callable
        Called as ``on_data(frame, name)`` with each good file: its numeric
        columns and the text columns left out (for profiles). It may refuse
        the file by raising ``ValueError``, ``TypeError`` or a traitlets
        ``TraitError``: the message is shown and nothing else changes.
    max_bytes : int, default=MAX_UPLOAD_BYTES
    description : str, default="Your CSV"

    Notes
    -----
    Nothing is written to disk: the bytes come from the widget's ``value``
    and go to the parser as ``bytes``. The widget's value is emptied after
    each file, so the bytes are not kept, and the same file can be chosen
    again. Every text shown (file name, message, cell text) is HTML-escaped.
    """

    def __init__(self, on_data, *, max_bytes: int = MAX_UPLOAD_BYTES, description: str = "Your CSV",
                 **kwargs):
        kwargs.setdefault("layout", shared_layout(flex_flow="row wrap", align_items="center"))
        super().__init__(**kwargs)
        self._on_data = on_data
        self.max_bytes = int(max_bytes)
        self._upload = styled(widgets.FileUpload, accept=".csv", multiple=False, description=description,
                                                  tooltip=f"A CSV file with a header line, up to "
                                                          f"{format_megabytes(self.max_bytes)}",
                                                  layout=shared_layout(width="auto"))
        self._upload.add_class("kt-upload")
        self._status = styled(widgets.HTML,
            f"<span style='color:#666'>Upload a CSV file with a header line (up to "
            f"{format_megabytes(self.max_bytes)}); its numeric columns can then be clustered.</span>")
        self.file_name = ""     # the last file loaded (not escaped)
        self.ok = None          # True/False after a file, None before one
        self.children = [self._upload, styled(widgets.HTML,
            _BUTTON_LABEL.format(label=json.dumps(description).replace("<", "\\3c "))),
                          self._status]
        self._wire()

    def _wire(self):
        """The one handler: a new value of the upload button (kept, to unobserve it)."""
        self._handler = quiet(self._on_upload)
        self._upload.observe(self._handler, names="value")

    def _on_upload(self, change):
        value = change["new"]
        if not value:
            return  # the value was emptied below
        name = ""
        try:
            if isinstance(value, (tuple, list)) and value and isinstance(value[0], dict):
                name = str(value[0].get("name") or "")
            name, frame, report = read_upload(value, max_bytes=self.max_bytes)
            self._on_data(frame.join(report.left_out), name)
        except (DataError, UploadError, ValueError, TypeError, traitlets.TraitError) as exc:
            self._show_error(name, str(exc))
        else:
            self._show_ok(name, frame, report)
        finally:
            # Drop the bytes; an empty value also lets the learner pick the same file again.
            self._upload.unobserve(self._handler, names="value")
            try:
                self._upload.value = ()
            finally:
                self._upload.observe(self._handler, names="value")

    def _show_ok(self, name: str, frame: pd.DataFrame, report: LoadReport):
        self.file_name, self.ok = name, True
        n, m = frame.shape
        cols = ", ".join(map(str, frame.columns[:8])) + (", …" if m > 8 else "")
        left_out = f" {report.describe()}" if report.describe() else ""
        text = (f"Loaded {_short_name(name) or 'your file'}: {n:,} rows, {m} numeric column"
                f"{'' if m == 1 else 's'} ({cols}).{left_out}")
        if len(text) > MAX_MESSAGE_CHARS:
            text = text[: MAX_MESSAGE_CHARS - 1] + "…"
        self._status.value = f"<span style='color:#1b5e20'>✔ {html.escape(text)}</span>"

    def _show_error(self, name: str, message: str):
        self.ok = False
        head = f"Could not use {_short_name(name)}" if name else "Could not use this upload"
        self._status.value = (
            f"<div style='color:#b00020'>⚠ {html.escape(head)} — the data on screen are unchanged."
            f"<pre style='white-space:pre-wrap;margin:2px 0;font-size:90%'>"
            f"{html.escape(_first_lines(message))}</pre></div>")

    # --- read-only handles for tests and lesson text -------------------------------------
    @property
    def status(self) -> str:
        """HTML of the status line."""
        return self._status.value

    @property
    def upload(self) -> widgets.FileUpload:
        """The FileUpload widget (tests set its ``value``)."""
        return self._upload
