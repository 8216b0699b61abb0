"""Lessons with their fixed figures and tables drawn once per server, not once per student.

Most of what a lesson shows before its apps is the same for everyone: the Mall customers'
first rows, a pair plot, the eight panels of a tiny run. Drawing them costs every student's
kernel a second or more of CPU, and the page shows them only after that. A code cell whose
output is the same for everyone carries the tag ``static`` in its notebook; before Voilà
starts, :func:`prepare_lessons` runs each lesson once, headless, exactly as a student's
kernel would, and writes a copy of the lessons folder in which every ``static`` cell is
replaced by a Markdown cell holding its output (pictures as PNG data, tables as the same
HTML). The copy is what Voilà serves: the page arrives with those figures in it, and a
student's kernel runs only the cells that are not ``static`` — the apps, the quizzes and
what they need.

The lesson is run as Voilà runs it for a page (``VOILA_PREHEAT=False``), and then the first
picture of each of its apps' figures whose size does not follow the page's width (lesson 4's
quiz pictures) is drawn and kept on this machine, as the first page's kernel would have done
(:data:`KEEP_PICTURES_CELL`; :mod:`kmeans_tutor.widgets.kept_pictures`): the first student's
kernel then sends those pictures instead of laying out and drawing them. The figures that
follow the page wait for its width, which only a page can tell.

Rules for a ``static`` cell: its output must not be a widget (a widget needs the kernel);
no cell without the tag may use a name it defines (the prepared copy runs without it — the
lesson tests run the prepared copies too); and its output must not depend on anything but
the notebook, the package and its data (they are what the copy is keyed by).

The copies live in ``$XDG_CACHE_HOME/kmeans-tutor/lessons/<key>`` (``~/.cache`` by
default), where ``<key>`` is a hash of the lessons folder's files, the package's files and
the versions of the libraries that draw: a new version of any of them makes a new copy; an
unchanged server starts from the copy at once. A lesson that fails to run is served as it
is, with a one-line warning. A folder with no ``static`` cell is served as it is, with no
copy. Edits to a lesson while the server runs are seen after a restart.

This module imports only the standard library at import time; running the lessons uses
nbformat and nbclient, which come with Voilà.
"""

from __future__ import annotations

import fcntl
import hashlib
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO

__all__ = ["STATIC_TAG", "PredrawError", "cache_root", "has_static_cells", "lessons_key",
           "outputs_markdown", "predraw", "prepare_lessons"]

STATIC_TAG = "static"
PREDRAWN_KEY = "kmeans_tutor_predrawn"  # cell metadata: marks a cell drawn by prepare_lessons
KEEP_DAYS = 7  # copies of other versions unused this long are removed
_READY = ".complete"  # written last into a finished copy
_LIBRARIES = ("numpy", "pandas", "matplotlib", "PIL", "IPython", "nbformat", "nbclient")
#: Run after a lesson, in its kernel, as it is prepared: the first picture of every app figure
#: whose size does not follow the page (lesson 4's quiz pictures) is drawn and kept on this
#: machine, so that the first student's kernel sends it rather than laying it out and
#: drawing it (see kmeans_tutor.widgets.figure.keep_first_pictures). Only where the lesson
#: made an app; never an error.
KEEP_PICTURES_CELL = """\
import sys as _kt_sys
try:
    if "kmeans_tutor.widgets.figure" in _kt_sys.modules:
        _kt_sys.modules["kmeans_tutor.widgets.figure"].keep_first_pictures()
except Exception:
    pass
"""


class PredrawError(ValueError):
    """A ``static`` cell whose output cannot be drawn once for everyone."""


# --- which folder ------------------------------------------------------------------------

def cache_root() -> Path:
    """Where prepared copies are kept: ``$KMEANS_TUTOR_CACHE`` if set (e.g. a folder that
    every user of a shared machine or image can read), else
    ``$XDG_CACHE_HOME/kmeans-tutor/lessons`` (``~/.cache/kmeans-tutor/lessons``)."""
    if os.environ.get("KMEANS_TUTOR_CACHE"):
        return Path(os.environ["KMEANS_TUTOR_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kmeans-tutor" / "lessons"


def _notebooks(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.ipynb") if p.is_file())


def has_static_cells(path: str | os.PathLike) -> bool:
    """Whether the notebook at ``path`` has a code cell tagged ``static``."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return any(cell.get("cell_type") == "code" and STATIC_TAG in cell.get("metadata", {}).get("tags", [])
               for cell in nb.get("cells", []) if isinstance(cell, dict))


def _files_to_copy(folder: Path) -> list[tuple[Path, Path]]:
    """(source, relative name) of every file of the folder that the server may serve: what
    resolves inside the folder, hidden names and checkpoints left out."""
    root = folder.resolve()
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            real = path.resolve()
            if name.startswith(".") or not real.is_file():
                continue
            if real != root and root not in real.parents:
                continue  # a link to outside the folder: never served, never copied
            found.append((path, path.relative_to(folder)))
    return found


def lessons_key(folder: str | os.PathLike) -> str:
    """A hash of everything a prepared copy of ``folder`` depends on."""
    import importlib.metadata as metadata
    import importlib.util

    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(label.encode() + b"\0" + hashlib.sha256(data).digest())

    folder = Path(folder)
    for path, name in _files_to_copy(folder):
        add(f"lesson:{name}", path.read_bytes())
    # The package's files, and the data folder next to it in a checkout (an installed
    # package carries its data inside).
    package = Path(importlib.util.find_spec("kmeans_tutor").origin).resolve().parent
    for base, label in ((package, "package"), (package.parent / "data", "data")):
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                add(f"{label}:{path.relative_to(base)}", path.read_bytes())
    versions = [sys.version]
    for name in _LIBRARIES:
        try:
            versions.append(f"{name}=={metadata.version(name if name != 'PIL' else 'pillow')}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} missing")
    add("versions", "\n".join(versions).encode())
    return digest.hexdigest()[:20]


# --- one cell ------------------------------------------------------------------------------

def _one_line_html(text: str) -> str:
    # A Markdown renderer passes an HTML block through untouched up to the first blank
    # line: one line, so nothing in it is ever read as Markdown.
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _output_html(output: dict) -> str | None:
    kind = output.get("output_type")
    if kind == "stream":
        if output.get("name") == "stderr":
            return None  # warnings: Voilà does not show them either
        text = html.escape(output.get("text", "")).replace("\n", "&#10;")
        return ('<div class="jp-RenderedText jp-OutputArea-output" data-mime-type="text/plain">'
                f"<pre>{text}</pre></div>")
    if kind == "error":
        raise PredrawError(f"the cell raised {output.get('ename', 'an error')}: "
                           f"{output.get('evalue', '')}")
    if kind not in ("display_data", "execute_result"):
        return None
    data = output.get("data", {})
    if "application/vnd.jupyter.widget-view+json" in data:
        raise PredrawError("the cell shows a widget, which needs a kernel: remove its 'static' tag")
    if "image/png" in data:
        size = "".join(f' {dim}="{int(value)}"'
                       for dim, value in output.get("metadata", {}).get("image/png", {}).items()
                       if dim in ("width", "height") and isinstance(value, (int, float)))
        png = "".join(data["image/png"].split())
        return (f'<div class="jp-RenderedImage jp-OutputArea-output">'
                f'<img src="data:image/png;base64,{html.escape(png)}"{size} alt=""></div>')
    if "text/html" in data:
        return ('<div class="jp-RenderedHTMLCommon jp-RenderedHTML jp-OutputArea-output" '
                f'data-mime-type="text/html">{_one_line_html(_text(data["text/html"]))}</div>')
    if "text/markdown" in data:
        return _text(data["text/markdown"]).strip()
    if "text/plain" in data:
        text = html.escape(_text(data["text/plain"])).replace("\n", "&#10;")
        return ('<div class="jp-RenderedText jp-OutputArea-output" data-mime-type="text/plain">'
                f"<pre>{text}</pre></div>")
    raise PredrawError(f"the cell shows {', '.join(sorted(data))}, which cannot be drawn once for everyone")


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def outputs_markdown(outputs: list[dict]) -> str:
    """The source of a Markdown cell that shows ``outputs`` (a code cell's outputs) as Voilà
    shows them: each output one block, HTML on a single line, Markdown as itself.

    Raises
    ------
    PredrawError
        For a widget, an error, or an output with no picture, HTML, Markdown or text form.
    """
    return "\n\n".join(block for block in map(_output_html, outputs) if block)


# --- one notebook --------------------------------------------------------------------------

def predraw(executed: dict) -> dict:
    """The notebook ``executed`` (a dict, every cell run) with each ``static`` cell replaced by
    a Markdown cell of its output, and every other code cell's outputs cleared.

    A ``static`` cell with no output disappears. Raises :class:`PredrawError` naming the
    first cell that cannot be drawn once for everyone.
    """
    cells = []
    for index, cell in enumerate(executed["cells"]):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") != "code":
            cells.append(cell)
            continue
        if STATIC_TAG not in tags:
            cells.append({**cell, "outputs": [], "execution_count": None})
            continue
        try:
            source = outputs_markdown(cell.get("outputs", []))
        except PredrawError as error:
            raise PredrawError(f"cell {index + 1}: {error}") from None
        if source:
            markdown = {"cell_type": "markdown", "metadata": {PREDRAWN_KEY: True}, "source": source}
            if "id" in cell:
                markdown["id"] = cell["id"]
            cells.append(markdown)
    return {**executed, "cells": cells}


def run_notebook(path: Path, timeout: int) -> dict:
    """Run the notebook at ``path`` in a fresh kernel, as Voilà would for a page; the executed
    notebook. Then the first pictures of its apps' fixed-size figures are drawn and kept for
    the kernels of its pages (:data:`KEEP_PICTURES_CELL`)."""
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(KEEP_PICTURES_CELL))
    km = KernelManager(kernel_name="python3")
    env = {name: value for name, value in os.environ.items()
           if name not in ("JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE")}  # the kernel needs no secret
    env["VOILA_PREHEAT"] = "False"  # what Voilà tells the kernel of a page waiting for it
    # The kernel's own chatter (start-up warnings) stays out of the server's console.
    km.start_kernel(cwd=str(path.parent), env=env, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
    try:
        client = NotebookClient(nb, km=km, timeout=timeout, allow_errors=False,
                                resources={"metadata": {"path": str(path.parent)}})
        with client.setup_kernel():
            client.execute()
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    nb.cells.pop()  # the pictures' cell: run, never served
    return json.loads(nbformat.writes(nb))


def _prepare_one(source: Path, target: Path, timeout: int) -> str | None:
    """Write the prepared copy of one notebook; a warning for one served as it is."""
    if not has_static_cells(source):
        shutil.copyfile(source, target)
        return None
    try:
        prepared = predraw(run_notebook(source, timeout))
    except Exception as error:  # any failure: the lesson is served as it is
        shutil.copyfile(source, target)
        message = str(error).strip().splitlines()[-1:] or [type(error).__name__]
        return f"{source.name}: figures not drawn in advance ({message[0][:200]}); served as it is"
    target.write_text(json.dumps(prepared, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return None


# --- the folder ----------------------------------------------------------------------------

def prepare_lessons(folder: str | os.PathLike, *, cache: str | os.PathLike | None = None,
                    timeout: int = 120, jobs: int = 2, out: TextIO | None = None) -> Path:
    """The folder Voilà should serve for the lessons in ``folder``: its prepared copy.

    Parameters
    ----------
    folder : path-like
        The lessons folder.
    cache : path-like, optional
        Where copies are kept; default :func:`cache_root`.
    timeout : int, default 120
        Seconds one cell may run while a lesson is prepared.
    jobs : int, default 2
        Lessons prepared at once.
    out : text stream, optional
        Where progress goes (default ``sys.stdout``); warnings go there too.

    Returns
    -------
    Path
        ``folder`` itself when none of its notebooks has a ``static`` cell; otherwise the
        prepared copy, made now unless an up-to-date one exists.

    Examples
    --------
    >>> prepare_lessons("lessons")  # doctest: +SKIP
    Drawing the lessons' fixed figures once (9 lessons) ... done in 11.8 s.
    PosixPath('/home/teacher/.cache/kmeans-tutor/lessons/3f5c0a9e1b7d24c6e8f0')
    """
    out = out or sys.stdout
    folder = Path(folder)
    notebooks = _notebooks(folder)
    if not any(has_static_cells(p) for p in notebooks):
        return folder
    root = Path(cache) if cache is not None else cache_root()
    target = root / lessons_key(folder)
    if (target / _READY).is_file():
        _touch(target)
        return target
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = open(root / ".lock", "a")
    except OSError:  # no room or no permission: prepare into a temporary folder
        return _build(folder, notebooks, Path(tempfile.mkdtemp(prefix="kmeans-tutor-lessons-")),
                      timeout, jobs, out)
    with lock:
        # Servers starting together (students logging in to a hub at once) wait for the
        # first one's copy instead of each running every lesson.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / _READY).is_file():
            _touch(target)
            return target
        work = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
        _build(folder, notebooks, work, timeout, jobs, out)
        work.rename(target)
    print(f"  kept in {target} for the next start.", file=out, flush=True)
    _remove_stale(root, keep=target)
    return target


def _build(folder: Path, notebooks: list[Path], work: Path, timeout: int, jobs: int,
           out: TextIO) -> Path:
    """Write the prepared copy of ``folder`` into the empty folder ``work``."""
    start = time.perf_counter()
    print(f"Drawing the lessons' fixed figures once ({len(notebooks)} notebooks) ...",
          file=out, flush=True)
    for path, name in _files_to_copy(folder):
        if path.suffix != ".ipynb" or path.parent != folder:
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, work / name)
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        warnings = list(pool.map(lambda p: _prepare_one(p, work / p.name, timeout), notebooks))
    for warning in filter(None, warnings):
        print(f"  warning: {warning}", file=out, flush=True)
    (work / _READY).write_text(f"{folder.resolve()}\n", encoding="utf-8")
    print(f"  done in {time.perf_counter() - start:.1f} s.", file=out, flush=True)
    return work


def _touch(target: Path) -> None:
    """Mark a copy as in use, so that another version's server does not remove it as stale
    (a copy in a read-only folder, e.g. built into an image, is left as it is)."""
    try:
        os.utime(target)
    except OSError:
        pass


def _remove_stale(root: Path, keep: Path) -> None:
    """Remove copies for other versions not used for KEEP_DAYS days, and abandoned builds."""
    limit = time.time() - KEEP_DAYS * 86400
    try:
        entries = list(root.iterdir())
    except OSError:
        return
    for entry in entries:
        try:
            if entry != keep and entry.is_dir() and entry.stat().st_mtime < limit:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


def main(argv: list[str] | None = None) -> int:
    """``python -m kmeans_tutor.server.predrawn LESSONS_DIR``: prepare the copy now (for an
    image or a shared machine, with ``KMEANS_TUTOR_CACHE`` set) and print where it is."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        print("usage: python -m kmeans_tutor.server.predrawn LESSONS_DIR", file=sys.stderr)
        return 2
    print(prepare_lessons(args[0], out=sys.stderr))
    return 0


if __name__ == "__main__":
    sys.exit(main())
