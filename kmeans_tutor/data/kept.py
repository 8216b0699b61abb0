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
the same first picture at once): the kernel computing it holds a claim (an empty file
beside the table's), and the others wait for the table, up to ``wait`` seconds from the
claim, instead of computing it too. The table the caller checks before use; one that fails the check is computed again and replaced. Any trouble
with the folder (missing, read-only, full, a damaged file) is silent: the numbers are
computed as if nothing were kept.

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

__all__ = ["MAX_BYTES", "MAX_FILES", "kept_table", "tables_folder"]

MAX_FILES = 500
MAX_BYTES = 1 << 20  # a kept table is a few kilobytes; a larger file is not read
_OFF = "off"
_NUMBERS = "biuf"  # the dtype kinds a table and an input array may hold
_CORE = Path(__file__).resolve().parent.parent / "core"

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
        table claims it while it computes; a claim older than ``wait`` is ignored (its
        kernel is slow or gone), and so is a claim that cannot be made (a read-only folder).

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
    claim = None
    if path is not None and wait > 0:
        claim = _claim(path, wait)
        if claim is None:  # another kernel is computing it: its table, once kept
            table = _read(path)
            if table is not None and usable(table):
                return table, True
    try:
        table = compute()
        if table is not None and path is not None and all(np.asarray(v).dtype.kind in _NUMBERS
                                                          for v in table.values()):
            _write(path, table)
    finally:
        if claim:
            _unlink(claim)
    return table, False


def _claim(path: Path, wait: float) -> Path | bool | None:
    """Claim the computing of the table at ``path``: the claim's path when this kernel made
    it, None after waiting for another kernel's claim to go (it kept the table, or gave up),
    False when no claim can be made here (compute without one).

    Never longer than ``wait`` seconds in all, whatever the claim's file says: a claim dated
    in the future, or touched again and again, does not hold a kernel up."""
    claim = path.with_name(f".{path.name}.claim")
    deadline = time.monotonic() + wait
    for _ in range(2):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return claim
        except FileExistsError:
            pass
        except OSError:  # read-only, full, missing: no claims here
            return False
        while True:  # another kernel's claim: wait until it goes or is too old to trust
            try:
                age = time.time() - claim.stat().st_mtime
            except OSError:
                return None  # gone: the table is kept, or its kernel gave up
            if not -1.0 <= age <= wait or time.monotonic() >= deadline:
                break
            time.sleep(min(0.025, wait))
        if time.monotonic() >= deadline and -1.0 <= age <= wait:
            return False  # a live claim, held too long: compute without one
        _unlink(claim)  # left by a kernel that stopped, or dated wrongly: claim it afresh
    return False


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
        os.utime(path)  # recently used: pruned last
    except Exception:  # missing, unreadable or damaged: compute instead
        return None
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
    """Remove the least recently used tables beyond :data:`MAX_FILES`."""
    files = list(folder.glob("*.npz"))
    if len(files) <= MAX_FILES:
        return
    used = []
    for path in files:
        try:
            used.append((path.stat().st_mtime, path))
        except OSError:
            continue
    for _, path in sorted(used)[: len(used) - MAX_FILES]:
        _unlink(path)
