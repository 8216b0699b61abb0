"""Optimised bytecode for the lesson kernels, so that they can run as ``python -OO``.

A lesson kernel imports about 1,500 modules: the standard library, IPython and ipykernel,
numpy, matplotlib, ipympl, pandas and this package. Run with ``-OO``
(``PYTHONOPTIMIZE=2``), Python leaves out their docstrings and ``assert`` statements:
about 10 MB less memory for every open lesson, and a little less CPU to start one.
Nothing a student sees changes: a Voilà page shows no docstring, and the package checks
its inputs with exceptions, never with ``assert``.

Python keeps that bytecode in files of its own (``__pycache__/*.opt-2.pyc``). Where they
are missing and cannot be written (a read-only installation, ``PYTHONDONTWRITEBYTECODE``),
every kernel would compile each module again as it starts, three times slower than
without ``-OO``. So :func:`compile_for_kernels` first writes whatever is missing or out of
date (a walk of some 0.3 s when nothing is), and the server runs its kernels with ``-OO``
only when every file is in place. ``make venv`` compiles them once after installing
(``python -m kmeans_tutor.server.bytecode``, both cores); ``kmeans-tutor serve`` checks
again at every start, so an upgraded library or an edited lesson module is compiled then.
"""

from __future__ import annotations

import compileall
import importlib.util
import re
import sys
import sysconfig
from pathlib import Path

__all__ = ["KERNEL_PACKAGES", "KERNEL_STDLIB_PACKAGES", "OPTIMIZE", "compile_for_kernels", "main"]

OPTIMIZE = 2  # python -OO: no asserts, no docstrings

# The installed packages a lesson kernel imports (tests/server/test_bytecode.py runs every
# lesson and checks that none of its modules is left out). Missing ones are skipped.
KERNEL_PACKAGES = (
    "kmeans_tutor",
    "_distutils_hack",  # loaded at every start by setuptools' .pth file, where it is installed
    "IPython", "ipykernel", "ipykernel_launcher", "ipympl", "ipywidgets", "comm", "debugpy", "jupyter_client",
    "jupyter_core", "matplotlib_inline", "traitlets", "tornado", "zmq", "psutil", "platformdirs",
    "pygments", "packaging", "typing_extensions",
    "numpy", "matplotlib", "mpl_toolkits", "PIL", "fontTools", "cycler", "kiwisolver",
    "pyparsing", "dateutil", "pandas",
)
# The standard library's packages a lesson kernel imports; its top-level modules all are.
KERNEL_STDLIB_PACKAGES = (
    "asyncio", "collections", "concurrent", "ctypes", "curses", "email", "encodings", "html",
    "http", "importlib", "json", "logging", "re", "sqlite3", "unittest", "urllib", "xml",
    "xmlrpc", "zoneinfo",
)
# Test suites and demos shipped inside packages: never imported by a kernel.
_SKIP = re.compile(r"[/\\](tests?|idlelib|tkinter|turtledemo|lib2to3|ensurepip)[/\\]")


def _package_sources(names) -> list[tuple[Path, bool]]:
    """(path, is_folder) of each installed package or module named, without importing it."""
    sources = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            continue
        if spec.submodule_search_locations:
            sources += [(Path(p), True) for p in spec.submodule_search_locations]
        elif spec.origin and spec.origin.endswith(".py"):
            sources.append((Path(spec.origin), False))
    return sources


def _stdlib_sources() -> list[tuple[Path, int]]:
    """(folder, depth) of the standard library parts a kernel imports: its top level, and
    the packages in :data:`KERNEL_STDLIB_PACKAGES` whole."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    return [(stdlib, 0)] + [(stdlib / name, sys.getrecursionlimit())
                            for name in KERNEL_STDLIB_PACKAGES if (stdlib / name).is_dir()]


def compile_for_kernels(packages=KERNEL_PACKAGES, *, stdlib: bool = True, workers: int = 1) -> str | None:
    """Write the ``-OO`` bytecode of every module a lesson kernel imports that lacks it.

    Files whose bytecode is in place and up to date are only checked (their source's
    time stamp against the one recorded in the bytecode).

    Parameters
    ----------
    packages : sequence of str
        Top-level packages or modules, found without importing them; missing ones are
        skipped.
    stdlib : bool, default True
        Also the standard library's modules a kernel imports.
    workers : int, default 1
        Processes that compile at once; 0 for one per core.

    Returns
    -------
    str or None
        None when every file has its bytecode, so that kernels can run as ``python -OO``
        without compiling anything; otherwise why not, in one line.
    """
    sources = _package_sources(packages)
    folders = [(path, sys.getrecursionlimit()) for path, is_folder in sources if is_folder]
    files = [path for path, is_folder in sources if not is_folder]
    if stdlib:
        folders += _stdlib_sources()
    failed = [str(path) for path, depth in folders
              if not compileall.compile_dir(path, maxlevels=depth, quiet=2, optimize=OPTIMIZE,
                                            rx=_SKIP, workers=workers)]
    failed += [str(path) for path in files
               if not compileall.compile_file(path, quiet=2, optimize=OPTIMIZE)]
    if not failed:
        return None
    more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
    return f"could not write the optimised bytecode of {failed[0]}{more} (read-only, or a file that does not compile)"


def main(argv: list[str] | None = None) -> int:
    """``python -m kmeans_tutor.server.bytecode``: compile on every core, say the result."""
    problem = compile_for_kernels(workers=0)
    if problem is None:
        print("Optimised bytecode for the lesson kernels is in place: they run as python -OO.")
        return 0
    print(f"Lesson kernels will run without -OO: {problem}.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
