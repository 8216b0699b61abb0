"""Serve the lesson notebooks with Voilà, with safe defaults.

``kmeans-tutor serve`` (see :mod:`kmeans_tutor.cli`) and :func:`serve` start a Voilà
server on the lessons folder:

* bound to ``127.0.0.1`` unless a host is given; a host other than loopback needs a
  token, which is generated for you (``secrets.token_urlsafe``) unless ``no_token`` is set;
* a fixed port, checked before start-up, and Voilà told not to wander to another one
  (``--Voila.port_retries=0``);
* code cells hidden (``--strip_sources=True``), ``?theme=``/``?template=`` query
  overrides refused, a per-cell time limit, and idle kernels culled;
* the root URL is the course page, served without a kernel; ``lesson=N`` prints the
  address of lesson N, ``/lesson/N`` (:mod:`kmeans_tutor.server.voila_app`);
* preheated kernels, which have already run a lesson, waiting for the next students of
  every lesson: by default, on a network host (a class), up to 2 per lesson within a
  quarter of the memory available (:func:`choose_preheat`); ``preheat=P`` keeps P for each
  lesson, or with ``lesson=N`` P for lesson N. What was chosen is printed at start-up.
  With no kernel preheated (by default on a server for this machine only), Voilà renders
  progressively: the page first, then each cell's output as soon as it is ready (Voilà
  cannot do both in one server);
* at most ``max_kernels`` lessons open at once (by default as many as the memory available
  at start-up holds, :func:`default_max_kernels`), and none started while the machine is
  low on memory: a student past the limit gets a "Lesson server full" page that says what
  to do (:mod:`kmeans_tutor.server.lesson_kernels`);
* a kernel whose page never connects to it (a plain GET, a link preview) is shut down
  ``connect_grace`` seconds after its last activity, so that it does not hold a slot under
  the cap until culling (:mod:`kmeans_tutor.server.lesson_kernels`);
* kernels run as ``python -OO`` when the optimised bytecode of every module they import is
  in place or can be written at start-up: about 10 MB less memory a lesson
  (:mod:`kmeans_tutor.server.bytecode`);
* kernel websockets only in the protocol lesson pages speak (v1): Voilà mishandles the
  older one (:class:`kmeans_tutor.server.lesson_kernels.LessonWebsocketConnection`);
* only requests for this server's own names (``Host`` header: loopback, and with a
  non-local host this machine's names and addresses, plus ``allowed_hosts``), only what
  really lies inside the lessons folder (symbolic links are followed, then checked), and
  404 instead of a server error for malformed URLs
  (:mod:`kmeans_tutor.server.voila_app`, :mod:`kmeans_tutor.server.lesson_files`);
* the ``kmeans-tutor`` page template: Voilà's lab template without its Font Awesome CDN
  links, so that a page needs nothing but this server (icons come with the widget bundle).

This module imports only the standard library, psutil (to size the default cap) and
:mod:`kmeans_tutor.server.bytecode`. Voilà
runs as a child process of the same interpreter, ``python -m kmeans_tutor.server.voila_app``
(Voilà with the refusals above; it takes every option ``python -m voila`` takes), with
``JUPYTER_PATH`` pointing at the package's ``_jupyter`` folder for the template
(:func:`voila_env`).

Voilà facts this relies on (checked with voila 0.5.13 / jupyter_server 2.x):

* The token is Voilà's own ``Voila.token`` trait (``--token=`` alias).
  ``--ServerApp.token`` and ``--IdentityProvider.token`` are accepted on the command
  line but silently ignored: standalone Voilà has no ServerApp, and it builds its
  IdentityProvider with an explicit ``token=""`` unless ``Voila.token`` or
  ``Voila.auto_token`` is set. With ``--Voila.auto_token=True`` the identity provider
  reads the token from the ``JUPYTER_TOKEN`` environment variable (or generates one),
  which keeps the secret out of the process list; :func:`serve` does that.
* Culling is jupyter_server's ``MappingKernelManager`` (``cull_interval``,
  ``cull_idle_timeout``, ``cull_connected``, ``cull_busy``). A kernel whose tab is
  closed has no connection left and is culled once idle; a kernel with an open tab is
  only culled with ``cull_connected=True`` (off by default here: a learner reading a
  lesson for ten minutes would come back to dead widgets).
* Files: ``/voila/files/<path>`` serves only names matching ``file_allowlist`` and no
  ``file_denylist`` pattern (403 otherwise); ``/voila/static/`` and ``/voila/templates/``
  serve Voilà's own assets; ``/voila/api/contents/<path>`` returns a model with
  ``content: null`` for notebooks. There is no ``/files/`` or ``/api/contents`` route.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import webbrowser
from pathlib import Path
from typing import Iterable, Mapping, Sequence, TextIO
from urllib.parse import quote

import psutil

from .bytecode import OPTIMIZE, compile_for_kernels

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "ServeError",
    "PortInUseError",
    "LessonNotFoundError",
    "build_voila_command",
    "check_port_free",
    "auto_preheat",
    "choose_preheat",
    "default_max_kernels",
    "describe_pools",
    "find_lesson",
    "find_lessons_dir",
    "is_local_host",
    "lesson_path",
    "list_lessons",
    "preheat_message",
    "preheat_pools",
    "preheated_lessons",
    "serve",
    "server_url",
    "voila_env",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8866
DEFAULT_CELL_TIMEOUT = 60  # seconds one cell may run while a lesson renders
DEFAULT_CULL_INTERVAL = 60  # seconds between checks for idle kernels
DEFAULT_CULL_IDLE_TIMEOUT = 600  # seconds of inactivity before a kernel is shut down
# Seconds a kernel waits for its page to connect, counted from the kernel's last activity
# (so a lesson that renders slowly under load does not use it up). 30 students on 2 cores
# waited up to 47 s for a cold lesson; this leaves room for a slow page load on top.
DEFAULT_CONNECT_GRACE = 120

# Memory per open lesson: one kernel after stepping through lesson 4 measured 158 MB RSS
# (benchmarks/load_classroom.py); 200 leaves room for bigger uploads and other lessons.
MB_PER_KERNEL = 200
RESERVED_MB = 1024  # left for the server, the teacher's own browser and the system
DEFAULT_MIN_AVAILABLE_MB = 400  # no new kernel below this much available memory
# Seconds before a preheated kernel that was handed out is replaced. A class arrives within
# about 10 s; a replacement that runs its lesson meanwhile takes a core from the students
# still loading theirs (benchmarks/load_classroom.py, 30 students, 8 preheated kernels for
# each of 4 lessons: usable after p95 7.7 s with 1 s, 0.6 s with 30 s).
DEFAULT_FILL_DELAY = 30
# Preheated kernels chosen automatically (auto_preheat): at most this share of the memory
# beyond RESERVED_MB, and at most this many per lesson. Each one runs its lesson at start-up
# (2-3.5 s of one core per lesson, measured on the 2-core test machine), so 2 per lesson
# keeps start-up to about a minute.
PREHEAT_SHARE = 0.25
AUTO_PREHEAT_MAX = 2

TEMPLATE = "kmeans-tutor"
JUPYTER_DATA_DIR = Path(__file__).resolve().parent / "_jupyter"  # holds voila/templates/kmeans-tutor
#: Set to "1" for the kernels: their pages have the lesson template, which reports each app's
#: width (read by kmeans_tutor.widgets.figure, under the same name).
PAGE_FIT_ENV = "KMEANS_TUTOR_PAGE_FIT"
# The plug-ins run in the Voilà process and are named here, not imported: importing
# Voilà and jupyter_server takes over a second, which `kmeans-tutor --help` should not
# pay (tests/test_packaging.py checks that these names resolve).
VOILA_APP = f"{__package__}.voila_app"  # run with -m: Voilà with LessonVoila
PLUGIN_MODULE = f"{__package__}.lesson_kernels"
KERNEL_MANAGER = f"{PLUGIN_MODULE}.LessonKernelManager"
WEBSOCKET_CONNECTION = f"{PLUGIN_MODULE}.LessonWebsocketConnection"

# Files Voilà may hand out from the lessons folder at /voila/files/: pictures only.
# Notebooks, Python files and dot-files are refused even if a pattern above matched.
# These equal Voilà 0.5's defaults plus the dot-file rule; we pass them explicitly so
# that a change of default upstream cannot start serving notebook sources.
FILE_ALLOWLIST = (r".*\.(png|jpg|jpeg|gif|svg)",)
FILE_DENYLIST = (r".*\.(ipynb|py)", r"(.*/)?\..*")

_LESSON_NAME = re.compile(r"^(\d+)_.+\.ipynb$")
# Voilà options that choose between preheated kernels and progressive rendering.
_RENDERING_OPTIONS = ("--preheat_kernel", "--VoilaConfiguration.preheat_kernel", "--progressive_rendering",
                      "--VoilaConfiguration.progressive_rendering")
_INDEX_NAME = "index.ipynb"
_WILDCARD_HOSTS = {"", "0.0.0.0", "::"}


class ServeError(RuntimeError):
    """The lesson server cannot be started; the message says why and what to do."""


class PortInUseError(ServeError):
    """Another program is already listening on the requested port."""


class LessonNotFoundError(ServeError, LookupError):
    """No lesson notebook has the requested number."""


# --- lessons -------------------------------------------------------------------------


def find_lessons_dir() -> Path:
    """The folder holding the lesson notebooks.

    In a source checkout this is ``<repo>/lessons``; in an installed wheel the
    notebooks ship inside the package as ``kmeans_tutor/server/_lessons``.

    Returns
    -------
    Path

    Raises
    ------
    ServeError
        If neither folder exists.
    """
    server_dir = Path(__file__).resolve().parent
    # A checkout is recognised by its pyproject.toml, so that an unrelated top-level
    # "lessons" folder next to an installed package in site-packages is never picked.
    checkout = server_dir.parents[1]
    if (checkout / "pyproject.toml").is_file() and (checkout / "lessons").is_dir():
        return checkout / "lessons"
    bundled = server_dir / "_lessons"
    if bundled.is_dir():
        return bundled
    raise ServeError(
        f"cannot find the lessons folder (looked for {checkout / 'lessons'} and {bundled}); "
        "pass the folder explicitly (kmeans-tutor serve --lessons-dir PATH)."
    )


def list_lessons(lessons_dir: str | os.PathLike) -> dict[int, list[Path]]:
    """Lesson notebooks by number: ``NN_title.ipynb`` is lesson ``NN``.

    ``index.ipynb`` counts as lesson 0 when there is no ``00_*.ipynb``. Only the top
    level of the folder is searched.

    Parameters
    ----------
    lessons_dir : path-like

    Returns
    -------
    dict of int to list of Path
        Each number maps to every notebook carrying it (more than one is an error
        that :func:`find_lesson` reports), sorted by name.

    Examples
    --------
    >>> list_lessons("lessons")  # doctest: +SKIP
    {0: [PosixPath('lessons/00_index.ipynb')], 1: [PosixPath('lessons/01_assign.ipynb')]}
    """
    folder = Path(lessons_dir)
    lessons: dict[int, list[Path]] = {}
    for path in sorted(folder.glob("*.ipynb")):
        match = _LESSON_NAME.match(path.name)
        if match:
            lessons.setdefault(int(match.group(1)), []).append(path)
    if 0 not in lessons and (folder / _INDEX_NAME).is_file():
        lessons[0] = [folder / _INDEX_NAME]
    return dict(sorted(lessons.items()))


def find_lesson(lessons_dir: str | os.PathLike, number: int) -> Path:
    """The notebook of lesson ``number`` in ``lessons_dir``.

    Parameters
    ----------
    lessons_dir : path-like
    number : int
        0 for the index, 1 for ``01_*.ipynb``, ...

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        If ``number`` is not a non-negative integer.
    LessonNotFoundError
        If no notebook, or more than one, carries that number, or the notebook is a
        link to a file outside the folder (the server would refuse to serve it).
    """
    number = _check_lesson_number(number)
    folder = Path(lessons_dir)
    lessons = list_lessons(folder)
    matches = lessons.get(number, [])
    if len(matches) == 1:
        notebook = matches[0]
        if not notebook.resolve().is_relative_to(folder.resolve()):
            raise LessonNotFoundError(
                f"lesson {number} ({notebook.name}) is a link to {notebook.resolve()}, outside "
                f"{folder}; the server only serves what is inside the lessons folder: copy the file in."
            )
        return notebook
    if matches:
        names = ", ".join(p.name for p in matches)
        raise LessonNotFoundError(f"lesson {number} is ambiguous in {folder}: {names}; rename all but one.")
    if lessons:
        available = ", ".join(f"{n} ({paths[0].name})" for n, paths in lessons.items())
        hint = f"available lessons: {available}"
    else:
        hint = "that folder has no lesson notebooks (NN_title.ipynb)"
    raise LessonNotFoundError(f"there is no lesson {number} in {folder}; {hint}.")


def lesson_path(lessons_dir: str | os.PathLike, lesson: int | None) -> str:
    """The URL path that opens ``lesson``: ``/lesson/N``, or ``/`` for the course page.

    Raises :class:`LessonNotFoundError` if the folder has no such lesson.
    """
    if lesson is None:
        return "/"
    find_lesson(lessons_dir, lesson)
    return "/" if lesson == 0 else f"/lesson/{int(lesson)}"


# --- host, port, token ---------------------------------------------------------------


def is_local_host(host: str) -> bool:
    """Whether ``host`` is a loopback address (only this machine can connect).

    ``localhost``, ``127.0.0.0/8`` and ``::1`` are local; ``0.0.0.0``, ``::``, ``""``
    and any other name or address are not.
    """
    host = host.strip().lower()
    if host == "localhost":
        return True
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host == "::1":
        return True
    parts = host.split(".")
    return len(parts) == 4 and parts[0] == "127" and all(p.isdigit() and int(p) < 256 for p in parts)


def _check_port(port) -> int:
    """``port`` as an int in 1..65535, or a ValueError that says what is wrong."""
    if isinstance(port, bool) or not isinstance(port, (int, str)):
        raise ValueError(f"port must be an integer from 1 to 65535, got {port!r}")
    try:
        value = int(port)
    except ValueError:
        raise ValueError(f"port must be an integer from 1 to 65535, got {port!r}") from None
    if not 1 <= value <= 65535:
        raise ValueError(f"port must be an integer from 1 to 65535, got {port!r}")
    return value


def _check_lesson_number(number) -> int:
    """``number`` as a non-negative int, or a ValueError."""
    if isinstance(number, bool) or not isinstance(number, (int, str)):
        raise ValueError(f"lesson must be a lesson number (0, 1, 2, ...), got {number!r}")
    try:
        value = int(number)
    except ValueError:
        raise ValueError(f"lesson must be a lesson number (0, 1, 2, ...), got {number!r}") from None
    if value < 0:
        raise ValueError(f"lesson must be a lesson number (0, 1, 2, ...), got {number!r}")
    return value


def _check_seconds(name: str, value) -> int:
    """A positive whole number of seconds, or a ValueError naming the setting."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive whole number of seconds, got {value!r}")
    return value


def _check_host(host, name: str = "host") -> str:
    """``host`` if it can be an IP address or a host name, or a ValueError naming the setting."""
    if not isinstance(host, str) or any(c.isspace() for c in host) or "/" in host:
        raise ValueError(f"{name} must be an IP address or a host name, got {host!r}")
    return host


def _check_allowed_hosts(names) -> list[str]:
    """A list of non-empty host names or addresses, or a ValueError."""
    if isinstance(names, str):
        raise ValueError(f"allowed_hosts must be a list of names, got the string {names!r}")
    names = list(names)
    for name in names:
        if _check_host(name, "allowed_hosts") == "":
            raise ValueError("allowed_hosts must not contain an empty name")
    return names


def check_port_free(host: str, port: int) -> None:
    """Fail clearly if the server could not listen on ``host:port``.

    Binds (and releases) every address ``host`` resolves to, the way Tornado will,
    including ``SO_REUSEADDR`` so that a port left in TIME_WAIT counts as free.

    Raises
    ------
    PortInUseError
        If something already listens there.
    ServeError
        If the host is unknown, is not an address of this machine, or the port
        needs privileges.
    """
    port = _check_port(port)
    host = _check_host(host)
    bind_host = None if host in ("", "0.0.0.0") else host.strip("[]")
    try:
        infos = socket.getaddrinfo(bind_host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(f"cannot listen on host {host!r}: {exc.strerror}") from None
    if host == "0.0.0.0":
        infos = [info for info in infos if info[0] == socket.AF_INET]
    seen = set()
    for family, socktype, proto, _, address in infos:
        if (family, address) in seen:
            continue
        seen.add((family, address))
        sock = socket.socket(family, socktype, proto)
        try:
            if os.name != "nt":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"port {port} on {address[0]} is already in use; stop the program using it "
                    f"or choose another port (--port)."
                ) from None
            if exc.errno == errno.EACCES:
                raise ServeError(f"permission denied to listen on port {port}; ports below 1024 need privileges, use e.g. --port {DEFAULT_PORT}.") from None
            if exc.errno == errno.EADDRNOTAVAIL:
                # ::1 is missing on hosts without IPv6; Tornado skips it too.
                if family == socket.AF_INET6 and len(seen) > 1:
                    continue
                raise ServeError(f"cannot listen on {address[0]}: it is not an address of this machine.") from None
            raise ServeError(f"cannot listen on {address[0]} port {port}: {exc.strerror}") from None
        finally:
            sock.close()


def server_url(host: str, port: int, path: str = "/", token: str | None = None) -> str:
    """The address to open in a browser: ``http://host:port/path[?token=...]``.

    A wildcard host (``0.0.0.0``, ``::``, ``""``) is shown as this machine's name.
    """
    shown = host
    if host in _WILDCARD_HOSTS:
        shown = socket.gethostname()
    elif ":" in host and not host.startswith("["):
        shown = f"[{host}]"
    query = f"?token={quote(token, safe='')}" if token else ""
    return f"http://{shown}:{int(port)}{path}{query}"


# --- capacity ------------------------------------------------------------------------


def default_max_kernels(available_mb: float | None = None) -> int:
    """How many lessons may be open at once, from the memory available now.

    ``(available - 1024 MB) / 200 MB``, at least 4: 200 MB per open lesson (one kernel)
    and 1 GB kept for the server, the teacher's browser and the system.

    Parameters
    ----------
    available_mb : float, optional
        Memory available to new processes, in MB; measured with psutil when omitted.

    Returns
    -------
    int

    Examples
    --------
    >>> default_max_kernels(8 * 1024)   # 8 GB available
    35
    >>> default_max_kernels(1500)
    4
    """
    if available_mb is None:
        available_mb = psutil.virtual_memory().available / 2**20
    return max(4, int((available_mb - RESERVED_MB) // MB_PER_KERNEL))


def auto_preheat(n_lessons: int, available_mb: float | None = None) -> int:
    """How many preheated kernels to keep for each of ``n_lessons`` lessons, from the memory.

    A quarter of the memory available beyond the 1 GB kept for the system, at 200 MB per
    kernel, shared by the lessons, and at most 2 per lesson: the rest is for the students'
    own kernels (each one a preheated kernel is handed to is replaced), and every preheated
    kernel runs its lesson when the server starts, which keeps the cores busy for a while.

    Parameters
    ----------
    n_lessons : int
    available_mb : float, optional
        Memory available to new processes, in MB; measured with psutil when omitted.

    Returns
    -------
    int

    Examples
    --------
    >>> auto_preheat(8, 23 * 1024)   # 23 GB available: the most, 2 per lesson
    2
    >>> auto_preheat(8, 4 * 1024)    # 4 GB: (4096 - 1024) / 4 / 200 / 8 is under 1
    0
    """
    if available_mb is None:
        available_mb = psutil.virtual_memory().available / 2**20
    if n_lessons <= 0:
        return 0
    budget = max(0.0, available_mb - RESERVED_MB) * PREHEAT_SHARE
    return int(min(AUTO_PREHEAT_MAX, budget // (MB_PER_KERNEL * n_lessons)))


def preheated_lessons(lessons_dir: str | os.PathLike) -> dict[int, Path]:
    """The lessons that can have preheated kernels: number → notebook, the index (0) left out.

    A number carried by two notebooks, or a notebook that is a link to a file outside the
    folder, is left out too: the server does not open those (:func:`find_lesson`).
    """
    found = {}
    for number in list_lessons(lessons_dir):
        if number == 0:
            continue
        try:
            found[number] = find_lesson(lessons_dir, number)
        except LessonNotFoundError:
            continue
    return found


def preheat_pools(lessons_dir: str | os.PathLike, preheat: int, lesson: int | None = None,
                  others: int | None = None) -> dict[str, int]:
    """Preheated kernels per lesson notebook: file name → how many.

    Parameters
    ----------
    lessons_dir : path-like
    preheat : int
        Kernels for each lesson, or with ``lesson`` for that lesson.
    lesson : int, optional
        The lesson a class starts with; it must exist (:func:`find_lesson`).
    others : int, optional
        With ``lesson``: kernels for each other lesson (default ``preheat``).

    Returns
    -------
    dict of str to int
        Every lesson but the index, in lesson order; 0 where none is kept.

    Raises
    ------
    ValueError
        For a count that is not a whole number of at least 0, or a bad lesson number.
    LessonNotFoundError
        If ``lesson`` names no notebook.

    Examples
    --------
    >>> preheat_pools("lessons", 10, lesson=4, others=2)  # doctest: +SKIP
    {'01_unsupervised_learning.ipynb': 2, ..., '04_kmeans_step_by_step.ipynb': 10, ...}
    """
    preheat = _check_count("preheat", preheat)
    others = preheat if others is None else _check_count("preheat_others", others)
    chosen = find_lesson(lessons_dir, lesson).name if lesson is not None else None
    return {path.name: (preheat if chosen is None or path.name == chosen else others)
            for path in preheated_lessons(lessons_dir).values()}


def describe_pools(pools: dict[str, int], lesson: int | None = None) -> str:
    """``pools`` in words, e.g. "2 kernels for each of the 9 lessons" or "30 kernels for lesson 4
    and 2 for each of the other 8 lessons"."""
    sizes = set(pools.values())
    if not pools or sizes == {0}:
        return "no kernels"
    if len(sizes) == 1:
        n = len(pools)
        return f"{_kernels(sizes.pop())} for " + (f"each of the {n} lessons" if n > 1 else "the one lesson")
    numbers = {name: int(match.group(1)) for name in pools if (match := _LESSON_NAME.match(name))}
    chosen = [name for name in pools if lesson is not None and numbers.get(name) == int(lesson)]
    if not chosen:  # sizes chosen lesson by lesson
        return ", ".join(f"{_kernels(size)} for lesson {numbers.get(name, name)}"
                         for name, size in pools.items() if size)
    chosen = chosen[0]
    rest = {size for name, size in pools.items() if name != chosen}
    text = f"{_kernels(pools[chosen])} for lesson {int(lesson)}"
    if rest == {0}:
        return text
    if len(rest) == 1:
        n_others = len(pools) - 1
        return text + f" and {rest.pop()} for each of the other {n_others} lesson{'s' * (n_others != 1)}"
    return text + " and " + ", ".join(f"{size} for lesson {numbers.get(name, name)}"
                                      for name, size in pools.items() if name != chosen and size)


def _kernels(n: int) -> str:
    return f"{n} kernel{'s' * (n != 1)}"


def choose_preheat(lessons_dir: str | os.PathLike, host: str, preheat: int | None, lesson: int | None = None,
                   available_mb: float | None = None) -> dict[str, int]:
    """The preheated kernels :func:`serve` keeps, per lesson notebook (see :func:`preheat_pools`).

    * ``preheat`` None (the default) on a server for this machine only (a loopback
      ``host``): none; one learner gets each lesson progressively rendered instead.
    * ``preheat`` None on a network ``host`` (a class): :func:`auto_preheat` for each lesson.
    * ``preheat`` P without ``lesson``: P for each lesson.
    * ``preheat`` P with ``lesson``: P for that lesson, and for each other lesson what
      :func:`auto_preheat` gives for the memory left (none on loopback), at most P.
    """
    available_mb = psutil.virtual_memory().available / 2**20 if available_mb is None else available_mb
    n = len(preheated_lessons(lessons_dir))
    network = not is_local_host(host)
    if preheat is None:
        return preheat_pools(lessons_dir, auto_preheat(n, available_mb) if network else 0)
    if lesson is None or not preheat:
        return preheat_pools(lessons_dir, preheat)
    left = available_mb - _check_count("preheat", preheat) * MB_PER_KERNEL
    others = min(preheat, auto_preheat(n - 1, left)) if network else 0
    return preheat_pools(lessons_dir, preheat, lesson, others)


def preheat_message(pools: dict[str, int], lesson: int | None, explicit: bool, host: str,
                    available_mb: float) -> str:
    """What :func:`serve` prints at start-up about preheated kernels (and how to change it)."""
    total = sum(pools.values())
    if total:
        return (f"Preheating {describe_pools(pools, lesson)} ({_kernels(total)}, about "
                f"{total * MB_PER_KERNEL / 1024:.1f} GB of {available_mb / 1024:.1f} GB available): "
                "the first students to open a lesson get it at once. Each runs its lesson now, "
                "a few seconds of CPU. --preheat 0 turns this off.")
    if explicit:
        why = "--preheat 0"
    elif is_local_host(host):
        why = "a server for this computer only"
    else:
        why = f"too little memory: {available_mb / 1024:.1f} GB available"
    return (f"No kernels preheated ({why}): a lesson starts its kernel when opened, shows its text "
            "first, then each picture as it is ready. --preheat P keeps P kernels ready for each lesson.")


def _check_count(name: str, value, *, minimum: int = 0) -> int:
    """A whole number >= ``minimum``, or a ValueError naming the setting."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, got {value!r}")
    return value


def voila_env(token: str | None = None, base: dict | None = None) -> dict:
    """The environment to run Voilà in: the package's template on ``JUPYTER_PATH``, the token,
    and :data:`PAGE_FIT_ENV` for the kernels (their pages report each app's width).

    Parameters
    ----------
    token : str, optional
        Put into ``JUPYTER_TOKEN`` (read by ``--Voila.auto_token=True``); any token or
        token file inherited from ``base`` is removed either way.
    base : dict, optional
        Environment to start from (default ``os.environ``).

    Returns
    -------
    dict
    """
    env = dict(os.environ if base is None else base)
    env.pop("JUPYTER_TOKEN", None)
    env.pop("JUPYTER_TOKEN_FILE", None)
    if token is not None:
        env["JUPYTER_TOKEN"] = token
    paths = [str(JUPYTER_DATA_DIR)] + [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    env["JUPYTER_PATH"] = os.pathsep.join(paths)
    env[PAGE_FIT_ENV] = "1"  # inherited by the kernels: an app's first pictures wait for its width
    return env


# --- the command ---------------------------------------------------------------------


def build_voila_command(
    lessons_dir: str | os.PathLike,
    *,
    port: int = DEFAULT_PORT,
    host: str = DEFAULT_HOST,
    lesson: int | None = None,
    token: str | None = None,
    no_token: bool = False,
    token_in_env: bool = False,
    cell_timeout: int = DEFAULT_CELL_TIMEOUT,
    cull_interval: int = DEFAULT_CULL_INTERVAL,
    cull_idle_timeout: int = DEFAULT_CULL_IDLE_TIMEOUT,
    cull_connected: bool = False,
    connect_grace: int = DEFAULT_CONNECT_GRACE,
    max_kernels: int = 0,
    min_available_mb: int = DEFAULT_MIN_AVAILABLE_MB,
    preheat: int | Mapping[str, int] = 0,
    preheat_others: int | None = None,
    fill_delay: float = DEFAULT_FILL_DELAY,
    allowed_hosts: Sequence[str] = (),
    show_tracebacks: bool = False,
    optimize_kernels: bool = False,
    lean_start: bool = True,
    fork_start: bool = True,
    python: str | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The command line that starts Voilà on the lessons folder.

    Parameters
    ----------
    lessons_dir : path-like
        Folder of lesson notebooks; it must exist.
    port : int, default 8866
        Fixed port; Voilà is told not to try others (``--Voila.port_retries=0``).
    host : str, default "127.0.0.1"
        Address to bind (``--Voila.ip``). Anything but loopback needs ``token`` (or
        ``no_token=True``). Requests are answered only for loopback names and addresses
        and, when ``host`` is not loopback, for ``host``, this machine's names and the
        addresses of its network interfaces: any other ``Host`` header gets 403.
    lesson : int, optional
        Checked here (a missing lesson fails before anything starts); use
        :func:`lesson_path` for the URL that opens it. With ``preheat``, the lesson the class
        starts with (see ``preheat_others``).
    token : str, optional
        Access token. Passed as ``--Voila.token=<token>`` unless ``token_in_env``.
    no_token : bool, default False
        Allow a non-local host without a token. Anyone who reaches the port can then
        start kernels on this machine.
    token_in_env : bool, default False
        Pass ``--Voila.auto_token=True`` instead of the token itself: Voilà then reads
        ``JUPYTER_TOKEN`` from its environment, which other users cannot see in the
        process list. The caller must set that variable (:func:`serve` does).
    cell_timeout : int, default 60
        Seconds one cell may run while a lesson renders (``--VoilaExecutor.timeout``).
    cull_interval, cull_idle_timeout : int, default 60 and 600
        Check for idle kernels every ``cull_interval`` seconds and shut down those idle
        for more than ``cull_idle_timeout`` seconds.
    cull_connected : bool, default False
        Also cull idle kernels whose browser tab is still open.
    connect_grace : int, default 120
        Shut down a kernel whose page has not connected to it this many seconds after the
        kernel's last activity (its start, its lesson run, or its hand-out from the
        preheated pool). A busy kernel, and a preheated one still waiting in the pool,
        is left alone. 0: never.
    max_kernels : int, default 0
        Most kernels (open lessons, preheated ones included) at once; past it a student
        gets a "Lesson server full" page. 0: no limit (:func:`serve` defaults to
        :func:`default_max_kernels` instead).
    min_available_mb : int, default 400
        Start no kernel while the machine has less memory available (0: no check).
    preheat : int or mapping of str to int, default 0
        Keep this many kernels that have already run each lesson waiting for the next
        students, or as many as the mapping gives for each lesson's file name
        (:func:`preheat_pools`, :func:`choose_preheat`). A pool per lesson; no pool for the index
        or any other notebook). Preheated kernels are never culled: each costs its memory
        until the server stops. With none (0 here and for ``preheat_others``), Voilà renders
        progressively instead: the page comes at once and each cell's output when it is
        ready (Voilà cannot do both in one server).
    preheat_others : int, optional
        With ``lesson``: kernels for each lesson other than ``lesson``, which gets
        ``preheat``. Default: ``preheat`` for every lesson.
    fill_delay : float, default 30
        Seconds before a preheated kernel that was handed out is replaced.
    allowed_hosts : sequence of str
        More names (or addresses) the server answers to, e.g. a DNS alias of this machine
        (``--LessonVoila.allowed_hosts``).
    show_tracebacks : bool, default False
        Show Python tracebacks in the page (they quote the hidden code: tests only).
    optimize_kernels : bool, default False
        Start the kernels as ``python -OO`` (``--LessonKernelManager.kernel_optimize=2``):
        no docstrings and no asserts, about 10 MB less memory a lesson. Only when their
        optimised bytecode is in place (:func:`kmeans_tutor.server.bytecode.compile_for_kernels`),
        or every kernel compiles its modules again as it starts.
    lean_start : bool, default True
        Start the kernels lean (:mod:`kmeans_tutor.server.kernel_launch`): Python's garbage
        collector off until their lesson has run, matplotlib's ``set()`` docs not built, no
        debugger. False starts plain ipykernel kernels (``--LessonKernelManager.lean_start=False``).
    fork_start : bool, default True
        With ``lean_start``, fork each kernel from a template process that has imported what
        the lessons import (:mod:`kmeans_tutor.server.kernel_fork`). False: every kernel
        imports it all itself (``--LessonKernelManager.fork_start=False``).
    python : str, optional
        Interpreter that runs Voilà (``-m kmeans_tutor.server.voila_app``); defaults to
        this one.
    extra_args : sequence of str
        Further Voilà options, appended last (so they win).

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        For a bad port, host, lesson number or time, or a non-local host without a
        token and without ``no_token``.
    LessonNotFoundError
        If ``lesson`` names no notebook.
    ServeError
        If ``lessons_dir`` is not a folder.

    Examples
    --------
    >>> cmd = build_voila_command("lessons", port=8870)  # doctest: +SKIP
    >>> cmd[1:3], "--Voila.ip=127.0.0.1" in cmd  # doctest: +SKIP
    (['-m', 'kmeans_tutor.server.voila_app'], True)
    """
    folder = Path(lessons_dir)
    if not folder.is_dir():
        raise ServeError(f"lessons folder {folder} does not exist or is not a folder.")
    port = _check_port(port)
    host = _check_host(host)
    cell_timeout = _check_seconds("cell_timeout", cell_timeout)
    cull_interval = _check_seconds("cull_interval", cull_interval)
    cull_idle_timeout = _check_seconds("cull_idle_timeout", cull_idle_timeout)
    connect_grace = _check_count("connect_grace", connect_grace)
    allowed_hosts = _check_allowed_hosts(allowed_hosts)
    max_kernels = _check_count("max_kernels", max_kernels)
    min_available_mb = _check_count("min_available_mb", min_available_mb)
    if isinstance(fill_delay, bool) or not isinstance(fill_delay, (int, float)) or not 0 <= fill_delay < 86400:
        raise ValueError(f"fill_delay must be a number of seconds from 0 to 86400, got {fill_delay!r}")
    if lesson is not None:
        find_lesson(folder, lesson)
    pools = _check_pools(folder, preheat) if isinstance(preheat, Mapping) else \
        preheat_pools(folder, preheat, lesson, preheat_others)
    total = sum(pools.values())
    if total and max_kernels and total > max_kernels:
        raise ValueError(f"preheating {describe_pools(pools, lesson)} needs {total} kernels, more than "
                         f"max_kernels ({max_kernels}): preheat fewer, or raise max_kernels")
    _check_token(host, token, no_token, token_in_env)

    cmd = [python or sys.executable, "-m", VOILA_APP, str(folder.resolve())]
    cmd += _server_options(host, port, show_tracebacks)
    cmd += [f"--LessonVoila.allowed_hosts={name}" for name in allowed_hosts]
    cmd += _kernel_options(cell_timeout, cull_interval, cull_idle_timeout, cull_connected,
                           connect_grace, max_kernels, min_available_mb)
    if optimize_kernels:
        cmd.append(f"--LessonKernelManager.kernel_optimize={OPTIMIZE}")
    if not lean_start:
        cmd.append("--LessonKernelManager.lean_start=False")
    if not fork_start:
        cmd.append("--LessonKernelManager.fork_start=False")
    if total:
        cmd += _preheat_options(folder.resolve(), pools, fill_delay)
    elif not any(arg.startswith(_RENDERING_OPTIONS) for arg in extra_args):
        # Nothing preheated: the page first, then each output as its cell finishes. Not when
        # extra_args choose either themselves: Voilà refuses an option given twice.
        cmd.append("--VoilaConfiguration.progressive_rendering=True")
    cmd += [f"--VoilaConfiguration.file_allowlist={p}" for p in FILE_ALLOWLIST]
    cmd += [f"--VoilaConfiguration.file_denylist={p}" for p in FILE_DENYLIST]
    if token_in_env and not no_token:
        cmd.append("--Voila.auto_token=True")
    elif token is not None:
        cmd.append(f"--Voila.token={token}")
    return cmd + list(extra_args)


def _check_pools(folder: Path, pools: Mapping[str, int]) -> dict[str, int]:
    """``pools`` if every name is a lesson of ``folder`` and every count a whole number."""
    lessons = {path.name for path in preheated_lessons(folder).values()}
    for name, size in pools.items():
        if name not in lessons:
            raise ValueError(f"cannot preheat {name!r}: it is not a lesson in {folder}")
        _check_count(f"preheat for {name}", size)
    return dict(pools)


def _check_token(host, token, no_token, token_in_env) -> None:
    """A token is a non-empty word; a non-local host needs one (or an explicit no_token)."""
    if token is not None and (not isinstance(token, str) or not token or any(c.isspace() for c in token)):
        raise ValueError("token must be a non-empty string without spaces")
    if token is not None and no_token:
        raise ValueError("give either a token or no_token=True, not both")
    if not is_local_host(host) and token is None and not no_token and not token_in_env:
        raise ValueError(
            f"host {host!r} lets other machines connect, so the server needs a token: "
            "pass token=... (serve() makes one), or no_token=True to run it open."
        )


def _server_options(host: str, port: int, show_tracebacks: bool) -> list[str]:
    """Where Voilà listens, and what a page may show and change."""
    return [
        f"--Voila.ip={host}",
        f"--Voila.port={port}",
        "--Voila.port_retries=0",
        # The browser is opened by serve() itself, on the requested lesson's URL.
        "--no-browser",
        "--strip_sources=True",
        f"--template={TEMPLATE}",
        f"--show_tracebacks={show_tracebacks}",
        "--VoilaConfiguration.allow_theme_override=NO",
        "--VoilaConfiguration.allow_template_override=NO",
        f"--Voila.kernel_websocket_connection_class={WEBSOCKET_CONNECTION}",
    ]


def _kernel_options(cell_timeout, cull_interval, cull_idle_timeout, cull_connected, connect_grace,
                    max_kernels, min_available_mb) -> list[str]:
    """How long a lesson may take, when idle and unconnected kernels go, and how many may run."""
    return [
        f"--VoilaExecutor.timeout={cell_timeout}",
        f"--MappingKernelManager.cull_interval={cull_interval}",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle_timeout}",
        f"--MappingKernelManager.cull_connected={cull_connected}",
        f"--VoilaConfiguration.multi_kernel_manager_class={KERNEL_MANAGER}",
        # Kernels talk to the server over Unix sockets in a private folder, not TCP ports
        # on 127.0.0.1: no port race when a class starts 30 at once, no port to probe.
        *(["--KernelManager.transport=ipc"] if os.name != "nt" else []),
        f"--LessonKernelManager.max_kernels={max_kernels}",
        f"--LessonKernelManager.min_available_mb={min_available_mb}",
        f"--LessonKernelManager.connect_grace={connect_grace}",
    ]


def _preheat_options(root: Path, pools: dict[str, int], fill_delay: float) -> list[str]:
    """A pool of preheated kernels per lesson in ``pools`` (name → size), none for any other notebook."""
    # Voilà keeps one pool per notebook of the folder, subfolders included, sized by
    # kernel_pools_config ("default" for a name not listed, 1 if there is no "default").
    # Every other notebook gets size 0 and is denied a pool too, a namesake in a subfolder
    # included (its pool would hold slots under the cap for good). Voilà matches the deny
    # patterns against root/name at start-up; the bare name is allowed too, in case it
    # matches relative names.
    names = sorted(name for name, size in pools.items() if size)
    config = {"default": {"pool_size": 0}, **{name: {"pool_size": pools[name]} for name in names}}
    allowed = "|".join(re.escape(name) for name in names)
    return [
        "--preheat_kernel=True",
        "--pool_size=0",
        f"--VoilaKernelManager.kernel_pools_config={json.dumps(config)}",
        f"--VoilaKernelManager.preheat_denylist=^(?!({re.escape(str(root))}[\\\\/])?({allowed})$)",
        f"--VoilaKernelManager.fill_delay={fill_delay:g}",
    ]


# --- running it ----------------------------------------------------------------------


def _should_open_browser() -> bool:
    """Open a browser only for a person at a terminal with a graphical session."""
    if os.environ.get("CI"):
        return False
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        # Without a display, webbrowser falls back to text browsers that would take
        # over this terminal.
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def _wait_for_port(host: str, port: int, proc: subprocess.Popen, timeout: float) -> bool:
    """Connect to the port until it answers (True), the server exits or time runs out (False)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection((host.strip("[]"), port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _stop(proc: subprocess.Popen, grace: float = 15.0) -> int:
    """Ask Voilà to stop (it shuts its kernels down on SIGTERM), then insist."""
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def serve(
    lessons_dir: str | os.PathLike | None = None,
    *,
    port: int = DEFAULT_PORT,
    host: str = DEFAULT_HOST,
    lesson: int | None = None,
    token: str | None = None,
    no_token: bool = False,
    open_browser: bool | None = None,
    cell_timeout: int = DEFAULT_CELL_TIMEOUT,
    cull_interval: int = DEFAULT_CULL_INTERVAL,
    cull_idle_timeout: int = DEFAULT_CULL_IDLE_TIMEOUT,
    cull_connected: bool = False,
    connect_grace: int = DEFAULT_CONNECT_GRACE,
    max_kernels: int | None = None,
    min_available_mb: int = DEFAULT_MIN_AVAILABLE_MB,
    preheat: int | None = None,
    fill_delay: float = DEFAULT_FILL_DELAY,
    allowed_hosts: Iterable[str] = (),
    show_tracebacks: bool = False,
    extra_args: Iterable[str] = (),
    predraw: bool = True,
    optimize_kernels: bool = True,
    lean_start: bool = True,
    fork_start: bool = True,
    startup_timeout: float = 120.0,
    out: TextIO | None = None,
) -> int:
    """Serve the lessons with Voilà until Ctrl+C; return Voilà's exit code.

    Parameters
    ----------
    lessons_dir : path-like, optional
        Defaults to :func:`find_lessons_dir`.
    port, host, lesson, cell_timeout, cull_interval, cull_idle_timeout, cull_connected, \
connect_grace, min_available_mb, fill_delay, allowed_hosts, show_tracebacks, lean_start, \
fork_start, extra_args
        As in :func:`build_voila_command`.
    preheat : int, optional
        Preheated kernels for each lesson, or with ``lesson`` for that lesson; by default
        chosen from the memory available for a class on the network, none for this machine
        only (:func:`choose_preheat`). What was chosen is printed at start-up.
    max_kernels : int, optional
        Most lessons open at once; by default :func:`default_max_kernels` of the memory
        available now. 0 removes the limit.
    token : str, optional
        Access token. For a non-local host one is generated when not given (unless
        ``no_token``). It reaches Voilà through ``JUPYTER_TOKEN``, not the command line.
    no_token : bool, default False
        Serve a non-local host without a token (prints a warning).
    open_browser : bool, optional
        Open the URL in a web browser once the server answers. By default only when
        run from a terminal with a graphical session.
    predraw : bool, default True
        Serve the lessons with their ``static`` cells drawn once, in advance
        (:func:`kmeans_tutor.server.predrawn.prepare_lessons`); False serves the notebooks
        as they are, every figure drawn by each student's kernel.
    optimize_kernels : bool, default True
        Run the kernels as ``python -OO`` when their optimised bytecode is in place or can
        be written now (:func:`kmeans_tutor.server.bytecode.compile_for_kernels`); what was
        chosen is printed at start-up. False runs them as plain ``python``.
    startup_timeout : float, default 120
        Seconds to wait for the port to open.
    out : text stream, optional
        Where the URL and messages go (default ``sys.stdout``); warnings go to stderr.

    Returns
    -------
    int
        0 after Ctrl+C or a clean stop, otherwise Voilà's exit code.

    Raises
    ------
    PortInUseError, LessonNotFoundError, ServeError, ValueError
        Before anything starts, for a busy port, a missing lesson or a bad value.

    Examples
    --------
    >>> serve(lesson=1)  # doctest: +SKIP
    Lesson 1: http://127.0.0.1:8866/lesson/1
    Press Ctrl+C to stop the server.
    """
    out = out or sys.stdout
    folder = Path(lessons_dir) if lessons_dir is not None else find_lessons_dir()
    if token is None and not no_token and not is_local_host(host):
        token = secrets.token_urlsafe(32)
    if no_token:
        token = None

    available = psutil.virtual_memory().available / 2**20
    pools = choose_preheat(folder, host, preheat, lesson, available)
    if max_kernels is None:
        max_kernels = max(default_max_kernels(available), sum(pools.values()))

    def command(lessons: Path) -> list[str]:
        return build_voila_command(
            lessons, port=port, host=host, lesson=lesson, token=token, no_token=no_token,
            token_in_env=token is not None, cell_timeout=cell_timeout, cull_interval=cull_interval,
            cull_idle_timeout=cull_idle_timeout, cull_connected=cull_connected,
            connect_grace=connect_grace, max_kernels=max_kernels, min_available_mb=min_available_mb,
            preheat=pools, fill_delay=fill_delay, allowed_hosts=tuple(allowed_hosts),
            show_tracebacks=show_tracebacks, optimize_kernels=optimize_kernels,
            lean_start=lean_start, fork_start=fork_start, extra_args=tuple(extra_args),
        )

    cmd = command(folder)  # every value checked before anything is drawn or started
    path = lesson_path(folder, lesson)
    port = _check_port(port)
    check_port_free(host, port)
    if shutil.which(cmd[0]) is None and not Path(cmd[0]).exists():
        raise ServeError(f"cannot find the Python interpreter {cmd[0]!r} to run Voilà.")
    served = folder
    if predraw:
        from .predrawn import prepare_lessons

        served = prepare_lessons(folder, timeout=cell_timeout, out=out)
    if optimize_kernels:
        problem = compile_for_kernels()
        optimize_kernels = problem is None
        print("Lesson kernels run as python -OO (no docstrings or asserts: about 10 MB less each)."
              if optimize_kernels else f"Lesson kernels run as plain python: {problem}.", file=out, flush=True)
    if lean_start and fork_start:
        print("Lesson kernels are forked from a template that imports their libraries once, as the "
              "server starts (about 1 s less CPU each on a 2-core laptop; --no-fork-start turns this off).",
              file=out, flush=True)
    cmd = command(served)

    if no_token and not is_local_host(host):
        _warn_open(host, port)
    print(preheat_message(pools, lesson, preheat is not None, host, available), file=out, flush=True)
    copy = "" if served == folder else f" (figures drawn in advance: {served})"
    print(f"Starting Voilà on {folder.resolve()}{copy} ...", file=out, flush=True)
    proc = subprocess.Popen(cmd, env=voila_env(token))
    previous = _stop_on_sigterm()
    try:
        _wait_until_listening(host, port, proc, startup_timeout)
        url = _announce(host, port, token, lesson, path, max_kernels, connect_grace, out)
        if open_browser is None:
            open_browser = _should_open_browser()
        if open_browser:
            webbrowser.open(url)
        return proc.wait()
    except KeyboardInterrupt:
        print("\nStopping the lesson server ...", file=out, flush=True)
        _stop(proc)
        return 0
    finally:
        if proc.poll() is None:
            _stop(proc)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _warn_open(host: str, port: int) -> None:
    print(
        "\n" + "!" * 78 + f"\nWARNING: serving on {host or 'all interfaces'} WITHOUT A TOKEN. Anyone who can reach\n"
        f"port {port} of this machine can open the lessons and run Python kernels here.\n" + "!" * 78 + "\n",
        file=sys.stderr, flush=True,
    )


def _stop_on_sigterm():
    """Make SIGTERM (e.g. from a process manager) stop Voilà cleanly too; returns the old handler."""
    def on_sigterm(signum, frame):
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        return None


def _wait_until_listening(host: str, port: int, proc: subprocess.Popen, timeout: float) -> None:
    """Return once Voilà answers on the port; a ServeError if it exits or time runs out."""
    if _wait_for_port(host, port, proc, timeout):
        return
    if proc.poll() is None:
        _stop(proc)
        raise ServeError(f"Voilà did not open port {port} within {timeout:g} s; see its messages above.")
    raise ServeError(f"Voilà exited with code {proc.returncode} before it started listening; see its messages above.")


def _announce(host, port, token, lesson, path, max_kernels, connect_grace, out) -> str:
    """Print where the lessons are and how much room there is; returns the URL to open."""
    url = server_url(host, port, "/", token)
    lines = [f"Lessons:  {url}"]
    if lesson is not None:
        url = server_url(host, port, path, token)
        lines.append(f"Lesson {int(lesson)}: {url}")
    if max_kernels:
        lines.append(f"Room for {max_kernels} open lessons (about {MB_PER_KERNEL} MB each); "
                     "past that, students see a 'Lesson server full' page (--max-kernels).")
    if connect_grace != DEFAULT_CONNECT_GRACE:  # said only when changed
        lines.append(
            f"A lesson kernel whose page has not connected {connect_grace} s after its last activity "
            "is shut down (--connect-grace)." if connect_grace
            else "Lesson kernels whose page never connects are kept until culled (--connect-grace 0)."
        )
    print("\n" + "\n".join(lines) + "\nPress Ctrl+C to stop the server.\n", file=out, flush=True)
    return url
