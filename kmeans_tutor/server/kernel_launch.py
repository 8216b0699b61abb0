"""How the lesson server starts a kernel: ipykernel, with Python's garbage collector held
back until the lesson has run, without matplotlib's ``set()`` docs and without a debugger.

A lesson kernel builds, in its first second, a heap that lives as long as it does: numpy,
matplotlib, ipywidgets, ipykernel and the lesson's apps, some 300,000 objects. Python's
collector looks for reference cycles among new objects after every 700 allocations, and
through the whole heap each time the heap has grown by a quarter. While a lesson starts
that is all wasted work: measured in the kernels of lessons 4 and 8, 0.10–0.12 s of a
lesson's one second of CPU went to 320 collections, which found 3 to 133 unreachable
objects among the last, whole-heap ones.

So a kernel started here

1. turns the collector off before it imports anything;
2. starts ipykernel as ``python -m ipykernel_launcher`` does;
3. once it has been idle for :data:`SETTLE_S` after running a cell (the lesson has run:
   Voilà sends the next cell as soon as one is done) or at the latest :data:`LATEST_S`
   after its start, moves every object it holds into Python's permanent generation
   (:func:`gc.freeze`) and turns the collector back on.

From then on the collector works as usual, but only on objects made after the lesson ran:
the collections between a student's clicks no longer walk the libraries' heap. The price
is memory the collector would have freed: the garbage in cycles that the start left behind
(7,000 objects, about 1 MB, in lesson 4's kernel; 25,000, about 3 MB, in lesson 8's), and
any object alive at the freeze that later becomes garbage in a cycle. Apps keep what they
built at the start for as long as they are on screen (thirty restarts of a stepper grew
the kernel by 0.1 MB, as in a plain kernel). Collecting once before the freeze would free
the first, but a first collection walks the whole heap: 60 ms or more, most of what holding
the collector back saves.

A process forked from the kernel before that moment (``multiprocessing`` on Linux) turns
its collector on at once: it has no timers to do it later.

The kernel also skips a piece of matplotlib's import that no page can see. For each of its
some hundred artist classes (all but ``Artist`` itself) matplotlib writes, as it imports
them, a ``set()`` method with a signature listing every property and a docstring tabulating
them (``Artist._update_set_signature_and_docstring``): 0.1 s of every kernel that imports
matplotlib, a tenth of a lesson's CPU. Those are for ``help()`` and a notebook's tab
completion; a Voilà page runs only the lesson's own cells and ignores code sent from the
browser, so nothing ever reads them. In a kernel started here each ``set()`` is still made
and works exactly as before (it takes the same properties and aliases and refuses the same
wrong ones); it only carries the generic signature ``set(self, **kwargs)`` and no docstring.
:func:`after_import` does it, right after ``matplotlib.artist`` has run, without importing
matplotlib into kernels that do not.

Nor does the kernel load ipykernel's debugger. ipykernel imports ``debugpy`` as it starts,
if it can (40 ms of a kernel's 0.22 s start-up), to answer a notebook's debug requests; a
Voilà page can send none (it passes on only comm messages, ``comm_info_request``,
``kernel_info_request`` and ``shutdown_request``), so the kernel starts as it would where
``debugpy`` is not installed: no debugger, and none among the features its kernel info lists.

Nor does it keep a history file. IPython writes every cell a kernel runs into one SQLite file
in the home folder (``~/.ipython/profile_default/history.sqlite``), committing from a thread
of its own: thirty students' kernels writing the same lessons into the same file, waiting on
each other's locks and the disk, for a history that no page can read. A lesson kernel keeps
its history in memory (``--HistoryManager.enabled=False``): ``In`` and ``Out`` work as
before and vanish with the kernel. An option given to the kernel still wins.

:class:`~kmeans_tutor.server.lesson_kernels.LessonKernelManager` starts its kernels with
:func:`launch_argv` (``--LessonKernelManager.lean_start=False`` starts them as plain
ipykernel). The kernel runs this file as a script, ``python …/kernel_launch.py -f
kernel-<id>.json``: the collector goes off before anything else is imported, and nothing of
the package is imported that the notebook does not import itself.
"""

from __future__ import annotations

import gc

if __name__ == "__main__":  # a kernel starting: the collector goes off before any import
    gc.disable()

import os  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402
from collections.abc import Callable  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

__all__ = ["HeldCollector", "after_import", "launch_argv", "main", "plain_artist_setters",
           "prepare_imports", "NO_HISTORY", "SETTLE_S", "LATEST_S"]

SETTLE_S = 1.0  # idle this long after a cell: the lesson has run
LATEST_S = 60.0  # the collector is back on by then, whatever the kernel is doing
NO_HISTORY = "--HistoryManager.enabled=False"  # no history file (see the module docstring)


def launch_argv(cmd: list[str]) -> list[str]:
    """The command that starts a kernel of the standard Python spec
    (``<python> [options] -m ipykernel_launcher <args>``) through this file instead, with the
    same interpreter, options and arguments. Any other command is returned as it is."""
    try:
        at = cmd.index("-m")
    except ValueError:
        return list(cmd)
    if at + 1 >= len(cmd) or cmd[at + 1] != "ipykernel_launcher":
        return list(cmd)
    return [*cmd[:at], str(Path(__file__).resolve()), *cmd[at + 2:]]


class HeldCollector:
    """Keep the collector off until the kernel has settled, then freeze the heap and turn it on.

    ``pre_execute`` and ``post_execute`` are IPython's events of the same names: a cell that
    runs stops the settle clock, a cell that ends starts it again. :meth:`release` may be
    called from any thread, and more than once.
    """

    def __init__(self, settle: float = SETTLE_S, latest: float = LATEST_S):
        self.settle = settle
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.released = False
        gc.disable()
        self._deadline = self._start_timer(latest)
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        """In a child forked before the release: the collector on, as in any process."""
        if not self.released:
            self.released = True
            gc.enable()

    def _start_timer(self, seconds: float) -> threading.Timer:
        timer = threading.Timer(seconds, self.release)
        timer.daemon = True
        timer.start()
        return timer

    def pre_execute(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def post_execute(self) -> None:
        with self._lock:
            if self.released:
                return
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._start_timer(self.settle)

    def release(self) -> None:
        """Freeze what the kernel holds now and turn the collector on (once)."""
        with self._lock:
            if self.released:
                return
            self.released = True
            for timer in (self._timer, self._deadline):
                if timer is not None:
                    timer.cancel()
            self._timer = None
        gc.freeze()
        gc.enable()


class _AfterImport:
    """A finder on ``sys.meta_path`` that finds nothing itself: when module ``name`` is
    imported, it asks the finders after it for the module and has ``then(module)`` run right
    after the module's own code, once, then leaves ``sys.meta_path``. See :func:`after_import`."""

    def __init__(self, name: str, then: Callable[[types.ModuleType], None]):
        self.name, self.then = name, then
        self.done = False
        self._searching = False
        self._lock = threading.Lock()

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name or self.done or self._searching:
            return None
        self._searching = True  # the finders asked below may import: not this module again
        try:
            spec = self._find_after_me(fullname, path, target)
        finally:
            self._searching = False
        loader = getattr(spec, "loader", None)
        original = getattr(loader, "exec_module", None)
        if original is None or isinstance(loader, type):
            return spec  # no module code to follow, or a loader class shared by many modules

        def exec_then(module):
            original(module)
            if getattr(module, "__name__", None) != self.name:
                return  # another module of a loader that serves several (a zip file's)
            with self._lock:
                if self.done:
                    return
                self.done = True
            loader.__dict__.pop("exec_module", None)  # the loader as it was
            # A new list rather than a change to this one: another thread may be going
            # through this one, finder by finder, for its own import.
            sys.meta_path = [finder for finder in sys.meta_path if finder is not self]
            try:
                self.then(module)
            except Exception:  # an afterthought must never break the import it follows
                pass

        try:
            loader.exec_module = exec_then
        except AttributeError:
            pass
        return spec

    def _find_after_me(self, fullname, path, target):
        finders = list(sys.meta_path)
        if self in finders:
            finders = finders[finders.index(self) + 1:]
        for finder in finders:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                return spec
        return None  # Python's own search goes on past this finder


def after_import(name: str, then: Callable[[types.ModuleType], None]) -> None:
    """Run ``then(module)`` right after module ``name`` is first imported, before whatever
    imported it goes on (at once if it already is); an error in ``then`` is ignored. Imports
    nothing itself."""
    if name in sys.modules:
        try:
            then(sys.modules[name])
        except Exception:
            pass
        return
    sys.meta_path.insert(0, _AfterImport(name, then))


def plain_artist_setters(artist: types.ModuleType) -> None:
    """Have matplotlib give the ``set()`` of each artist class imported from now on the
    generic signature and no docstring, instead of building both from every property
    (0.1 s of an import of matplotlib). What ``set()`` does is unchanged."""
    base = getattr(artist, "Artist", None)
    if not callable(getattr(base, "_update_set_signature_and_docstring", None)):
        return  # a matplotlib that builds them some other way: leave it

    def mark(cls):
        # All the original does besides the signature and docstring: the mark that tells
        # subclasses to make a set() of their own.
        cls.set._autogenerated_signature = True

    base._update_set_signature_and_docstring = classmethod(mark)


def prepare_imports() -> None:
    """What a lean kernel changes before it imports anything: matplotlib's ``set()`` docs
    are not built, and ipykernel finds no debugger."""
    after_import("matplotlib.artist", plain_artist_setters)
    # No debugger: nothing can reach one, and ipykernel's import of it is 40 ms of every start.
    sys.modules.setdefault("debugpy", None)  # None: "import debugpy" raises ImportError


def main(argv: list[str] | None = None, *, poll_parent: bool = True,
         initialized: Callable[[object], None] | None = None) -> None:
    """Start ipykernel with a :class:`HeldCollector`; ``argv`` as ipykernel_launcher takes it.

    ``poll_parent=False``: the kernel does not end when its parent process does (a kernel
    forked from :mod:`~kmeans_tutor.server.kernel_fork`'s template ends with its stand-in).
    ``initialized(app)`` runs once the kernel is set up, before it answers any request.
    """
    held = HeldCollector()
    prepare_imports()
    # In-memory history (see the module docstring); the kernel's own arguments come after.
    argv = [NO_HISTORY, *(sys.argv[1:] if argv is None else argv)]
    # As ipykernel_launcher: neither this file's folder nor the working directory on sys.path
    # while ipykernel loads (the shell puts the working directory back for the notebook's cells).
    if sys.path and sys.path[0] in ("", str(Path(__file__).resolve().parent), str(Path.cwd())):
        del sys.path[0]
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    try:
        app.initialize(argv)
        app.shell.events.register("pre_execute", held.pre_execute)
        app.shell.events.register("post_execute", held.post_execute)
        if not poll_parent:
            app.poller = None
        if initialized is not None:
            initialized(app)
    except BaseException:
        held.release()
        raise
    app.start()


if __name__ == "__main__":
    main()
