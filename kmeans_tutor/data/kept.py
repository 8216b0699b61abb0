"""Tables of numbers computed once per machine, then read back by every kernel.

Some apps open on numbers that are the same for every student who opens them: the
choose-k app fits K-means 110 times on the Mall customers before it can draw its elbow
(a tenth of a second of every kernel's start, paid again by each of 30 students). The
first kernel that needs such a table computes it and keeps it here; the kernels after
read it back in a millisecond.

The widgets keep the first pictures of their figures the same way
(:mod:`kmeans_tutor.widgets.kept_pictures`). A table is a dict of numpy arrays of
numbers, kept as one ``.npz`` file (never a pickle). Its file name is a hash of
everything the numbers depend on:

- the table's name and its inputs, the data's bytes included;
- the source files of the algorithm (``kmeans_tutor/core``) and numpy's version.

Changed code, data or settings give another name, so a table made by other code is never
read. A file is written under a temporary name and then renamed, so a kernel never reads
half of one, even when several compute the same table at once. A caller may ask to
``wait`` for a table another kernel is computing right now (a class whose kernels all reach
the same first picture at once): the kernel computing it holds a lock (``flock`` on an
empty file beside the table's), and the others wait for the table, up to ``wait`` seconds,
instead of computing it too. The caller checks a table before use; one that fails the
check is computed again and replaced. Any trouble with the folder (missing, read-only,
full, a damaged file) is silent: the numbers are computed as if nothing were kept.

Where: ``$KMEANS_TUTOR_TABLES`` if set (``off`` keeps nothing), else
``$XDG_CACHE_HOME/kmeans-tutor/tables`` (``~/.cache/kmeans-tutor/tables``). The folder
holds at most :data:`MAX_FILES` tables (a kilobyte for a table of numbers, 15–500 kB for
a picture); the least recently used go first. A file larger than :data:`MAX_BYTES` is
neither written nor read.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: tables are kept, but kernels never wait for each other
    fcntl = None

__all__ = ["MAX_BYTES", "MAX_FILES", "kept_table", "tables_folder"]

MAX_FILES = 500
MAX_BYTES = 1 << 20  # a kept table is a few kilobytes; a larger file is not read
_OFF = "off"
_NUMBERS = "biuf"  # the dtype kinds a table and an input array may hold
_CORE = Path(__file__).resolve().parent.parent / "core"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # a lock file that is a symbolic link is not opened

Table = dict[str, np.ndarray]


def tables_folder() -> Path | None:
    """Where tables are kept, or None when ``KMEANS_TUTOR_TABLES=off``."""
    value = os.environ.get("KMEANS_TUTOR_TABLES")
    if value is not None and value.strip():
        return None if value.strip().lower() == _OFF else Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kmeans-tutor" / "tables"


@functools.cache
def _code_digest() -> bytes | None:
    """A hash of the algorithm's source and numpy's version (None when the source cannot be read)."""
    digest = hashlib.sha256(np.__version__.encode())
    sources = sorted(_CORE.glob("*.py"))
    if not sources:  # installed without its source: nothing tells versions apart
        return None
    try:
        for path in sources:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    except OSError:
        return None
    return digest.digest()


def _file_name(name: str, inputs: Iterable) -> str | None:
    code = _code_digest()
    if code is None:
        return None
    digest = hashlib.sha256(code + name.encode())
    for value in inputs:
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in _NUMBERS:
                return None
            value = np.ascontiguousarray(value)
            digest.update(f"\0array {value.dtype.str} {value.shape}\0".encode())
            digest.update(value.data)
        else:
            digest.update(f"\0{type(value).__name__} {value!r}".encode())
    return f"{name}-{digest.hexdigest()[:40]}.npz"


def kept_table(name: str, inputs: Iterable, compute: Callable[[], Table | None],
               usable: Callable[[Table], bool], wait: float = 0.0) -> tuple[Table | None, bool]:
    """The table ``compute()`` makes from ``inputs``: read back if kept, else computed and kept.

    Parameters
    ----------
    name : str
        What the table is, e.g. ``"elbow"`` (letters, digits and ``_``; it starts the file name).
    inputs : iterable
        Everything besides the algorithm that the numbers depend on: arrays (hashed with
        their dtype and shape) and plain values (hashed by ``repr``).
    compute : callable
        Makes the table: a dict of numeric numpy arrays, or None when there is nothing to
        keep this time (nothing is written, and None is returned).
    usable : callable
        ``usable(table)`` says whether a table read back has the expected columns, shapes
        and values; when it does not, the table is computed again and replaced.
    wait : float
        Seconds to wait, at most, for a table that another kernel is computing at this
        moment, rather than computing it too (0: never wait). The first kernel to miss the
        table locks it while it computes; the lock goes with its kernel, however that
        stops. Where no lock can be had (a read-only folder, a file system without locks),
        the table is computed without waiting.

    Returns
    -------
    (table, was_kept) : the table, and True when it was read back rather than computed.
    """
    folder = tables_folder()
    file_name = None if folder is None else _file_name(name, inputs)
    path = None if file_name is None else folder / file_name
    if path is not None:
        table = _read(path)
        if table is not None and usable(table):
            return table, True
    lock = _lock(path, wait) if path is not None and wait > 0 else None
    try:
        if lock is not None:  # ours now: another kernel may have kept it meanwhile
            table = _read(path)
            if table is not None and usable(table):
                return table, True
        table = compute()
        if table is not None and path is not None and all(np.asarray(v).dtype.kind in _NUMBERS
                                                          for v in table.values()):
            _write(path, table)
    finally:
        if lock is not None:
            os.close(lock)  # lets the next kernel in
    return table, False


def _lock(path: Path, wait: float) -> int | None:
    """Hold the lock on computing the table at ``path``: an open file descriptor, closed to let
    go; None when no lock is to be had here (no locks on this system or folder, or another
    kernel held it for ``wait`` seconds), and the table is computed without one.

    The lock is an advisory ``flock`` on an empty file beside the table's
    (``.<table>.lock``). The system lets it go when its kernel stops, however it stops, so
    a lock never outlives its kernel and no file's date is ever trusted."""
    if fcntl is None:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_name(f".{path.name}.lock"), os.O_CREAT | os.O_RDWR | _NOFOLLOW, 0o644)
    except OSError:  # read-only, full, missing, or not ours to open
        return None
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:  # another kernel is computing it
            if time.monotonic() >= deadline:
                break
            time.sleep(min(0.025, wait))
        except OSError:  # a file system without locks
            break
    os.close(fd)
    return None


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _read(path: Path) -> Table | None:
    try:
        if path.stat().st_size > MAX_BYTES:  # not a table this module wrote
            return None
        with np.load(path, allow_pickle=False) as stored:
            table = {key: stored[key] for key in stored.files}
    except Exception:  # missing, unreadable or damaged: compute instead
        return None
    try:
        os.utime(path)  # recently used: pruned last
    except OSError:  # a read-only folder, or another user's file: read all the same
        pass
    return table


def _write(path: Path, table: Table) -> None:
    if sum(np.asarray(v).nbytes for v in table.values()) > MAX_BYTES - 4096:
        return  # it would never be read back (see _read)
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".", suffix=".tmp",
                                         delete=False) as handle:
            temporary = handle.name
            np.savez(handle, **table)
        os.chmod(temporary, 0o644)  # as readable as any file written with the usual umask
        os.replace(temporary, path)
        temporary = None
        _prune(path.parent)
    except (OSError, ValueError):  # read-only, full, or not numbers: keep nothing
        pass
    finally:
        if temporary is not None:
            _unlink(Path(temporary))


def _prune(folder: Path) -> None:
    """Remove the least recently used tables beyond :data:`MAX_FILES`, and what kernels that
    stopped half-way left behind an hour ago or more: temporary files, and the lock files of
    tables that are gone."""
    files = list(folder.glob("*.npz"))
    if len(files) > MAX_FILES:
        used = []
        for path in files:
            try:
                used.append((path.stat().st_mtime, path))
            except OSError:
                continue
        for _, path in sorted(used)[: len(used) - MAX_FILES]:
            _unlink(path)
    hour_ago = time.time() - 3600
    for path in [*folder.glob(".*.tmp"), *folder.glob(".*.npz.lock")]:
        try:
            if path.lstat().st_mtime > hour_ago:
                continue
        except OSError:
            continue
        if path.suffix == ".lock" and path.with_name(path.name[1:-len(".lock")]).exists():
            continue  # its table is kept: the next kernel that misses it may need the lock
        _unlink(path)
