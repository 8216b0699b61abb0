"""Small helpers the benchmark scripts share to run a Voilà server on this machine."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from kmeans_tutor.data.kept import tables_folder
from kmeans_tutor.server.bytecode import compile_for_kernels
from kmeans_tutor.server.predrawn import prepare_lessons

PICTURES = "first_picture-*.npz"  # the first pictures of app figures (kmeans_tutor.widgets.kept_pictures)


def optimised_kernels(plain: bool = False) -> bool:
    """Whether the server would run its kernels as ``python -OO``, as ``kmeans-tutor serve``
    decides it (their bytecode compiled, or compilable now); ``plain`` to measure without."""
    if plain:
        return False
    problem = compile_for_kernels()
    if problem is not None:
        print(f"kernels run as plain python: {problem}", file=sys.stderr)
    return problem is None


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    """Return once 127.0.0.1:``port`` accepts connections; raise if Voilà exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Voilà exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"Voilà did not open port {port} in {timeout:g} s")


def store_without_pictures(folder: Path, prepared: Iterable[Path] = ()) -> Path:
    """A store of kept tables for a measured server (``KMEANS_TUTOR_TABLES``): the tables this
    machine keeps (the ones the server's own run of the lessons keeps), and no first picture
    of any figure but the ``prepared`` ones (see :func:`prepare_as_new`), as on a server no
    page has been opened on yet."""
    folder.mkdir(parents=True, exist_ok=True)
    source = tables_folder()
    if source is not None and source.is_dir():
        pictures = set(source.glob(PICTURES))
        for path in source.glob("*.npz"):
            if path not in pictures:
                shutil.copy2(path, folder / path.name)
    for path in prepared:
        shutil.copy2(path, folder / path.name)
    return folder


def prepare_as_new(folder: Path, work: Path) -> tuple[Path, list[Path]]:
    """Prepare the lessons in ``folder`` as ``kmeans-tutor serve`` does on a machine where it
    never ran: into a fresh cache of prepared copies, keeping tables in a fresh store. Returns
    the folder to serve and the first pictures the preparation kept (those of the figures
    whose size does not follow the page, see :mod:`kmeans_tutor.server.predrawn`): a server
    no page has been opened on has them."""
    store = work / "prepared-tables"
    before = os.environ.get("KMEANS_TUTOR_TABLES")
    os.environ["KMEANS_TUTOR_TABLES"] = str(store)  # the preparation's kernels inherit it
    try:
        served = prepare_lessons(folder, cache=work / "prepared-lessons", out=sys.stderr)
    finally:
        if before is None:
            os.environ.pop("KMEANS_TUTOR_TABLES", None)
        else:
            os.environ["KMEANS_TUTOR_TABLES"] = before
    return served, sorted(store.glob(PICTURES))


def kept_pictures(folder: Path) -> int:
    """How many first pictures the store at ``folder`` holds."""
    return len(list(folder.glob(PICTURES)))
