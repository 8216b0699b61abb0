"""Lesson kernels start with Python's garbage collector held back until the lesson has run,
and without matplotlib's generated ``set()`` docs.

The collector's state is the whole process's, so every test here that makes a
:class:`HeldCollector` puts it back as it was (the ``collector`` fixture). The real kernels
at the end are started as the lesson server starts them.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path

import pytest
from jupyter_client import KernelManager

from kmeans_tutor.server import kernel_launch
from kmeans_tutor.server.kernel_launch import HeldCollector, launch_argv
from kmeans_tutor.server.lesson_kernels import LessonKernel, LessonKernelManager


@pytest.fixture
def collector():
    """The collector as it was, afterwards: on, nothing frozen."""
    yield
    gc.enable()
    gc.unfreeze()


def wait_for(condition, seconds=5.0):
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        time.sleep(0.01)
    return condition()


# --- the command ----------------------------------------------------------------------------

def test_the_standard_python_kernel_is_started_through_the_launch_with_its_options_and_arguments():
    cmd = ["/venv/bin/python", "-X", "frozen_modules=off", "-m", "ipykernel_launcher", "-f", "/tmp/c.json"]
    new = launch_argv(cmd)
    assert new == [*cmd[:3], str(Path(kernel_launch.__file__).resolve()), *cmd[-2:]]


def test_the_launch_file_turns_the_collector_off_before_it_imports_anything():
    source = Path(kernel_launch.__file__).read_text()
    body = source[source.index("from __future__ import annotations"):]
    imports = [line for line in body.splitlines()[1:] if line.startswith(("import ", "from "))]
    assert imports[0] == "import gc" and len(imports) > 4
    after = body[body.index("gc.disable()"):]
    assert all(line in after for line in imports[1:])


@pytest.mark.parametrize("cmd", [
    ["/venv/bin/python", "-m", "other_kernel", "-f", "c.json"],
    ["/usr/bin/R", "--slave", "-e", "IRkernel::main()", "--args", "c.json"],
    ["/venv/bin/python", "-m"],
    [],
])
def test_any_other_kernel_command_is_left_as_it_is(cmd):
    assert launch_argv(cmd) == cmd


def test_the_lesson_kernel_manager_starts_its_kernels_through_the_launch_unless_told_not_to(tmp_path):
    held = LessonKernelManager(root_dir=str(tmp_path))
    assert held.lean_start and held.kernel_manager_class.endswith(".LessonKernel")
    km = LessonKernel(parent=held, kernel_name="python3")
    assert km.format_kernel_cmd()[1].endswith("kernel_launch.py") and "ipykernel_launcher" not in km.format_kernel_cmd()
    plain = LessonKernelManager(root_dir=str(tmp_path), lean_start=False)
    km = LessonKernel(parent=plain, kernel_name="python3")
    assert km.format_kernel_cmd()[1:3] == ["-m", "ipykernel_launcher"]


# --- the policy -----------------------------------------------------------------------------

def test_the_collector_is_off_until_the_kernel_has_been_idle_after_a_cell(collector):
    held = HeldCollector(settle=0.2, latest=60)
    assert not gc.isenabled()
    held.pre_execute()
    time.sleep(0.4)  # a cell running longer than the settle time
    assert not gc.isenabled()
    held.post_execute()
    held.pre_execute()  # the next cell comes at once
    held.post_execute()
    assert not gc.isenabled()
    assert wait_for(gc.isenabled)
    assert held.released and gc.get_freeze_count() > 1000  # the start-up heap, frozen


def test_the_collector_is_back_on_at_the_latest_even_while_a_cell_runs(collector):
    held = HeldCollector(settle=0.1, latest=0.3)
    held.pre_execute()
    assert wait_for(gc.isenabled)
    assert held.released


def test_a_release_happens_once_and_later_cells_change_nothing(collector):
    held = HeldCollector(settle=0.05, latest=60)
    held.release()
    frozen = gc.get_freeze_count()
    made_later = [[i] for i in range(20_000)]  # tracked objects a student's clicks would make
    held.release()
    held.pre_execute()
    held.post_execute()
    time.sleep(0.15)
    assert gc.isenabled()
    assert gc.get_freeze_count() < frozen + len(made_later)  # none of them frozen


def test_a_process_forked_before_the_release_has_its_collector_on(collector):
    import os
    HeldCollector(settle=60, latest=60)
    pid = os.fork()
    if pid == 0:  # the child: no timers will ever turn it on
        os._exit(0 if gc.isenabled() else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not gc.isenabled()  # the kernel itself still holds it back


def test_garbage_made_after_the_release_is_collected(collector):
    held = HeldCollector(settle=0.05, latest=60)
    held.release()

    class Node:
        pass

    import weakref
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None


# --- matplotlib's set() docs -----------------------------------------------------------------

@pytest.fixture
def module_on_path(tmp_path, monkeypatch):
    """A module ``afterthought_<n>`` on sys.path that counts how often its code ran."""
    names = []

    def make(body="RAN = RAN + 1 if 'RAN' in globals() else 1\n"):
        name = f"afterthought_{len(names)}_{tmp_path.name}".replace("-", "_")
        (tmp_path / f"{name}.py").write_text(body)
        names.append(name)
        return name

    monkeypatch.syspath_prepend(str(tmp_path))
    yield make
    for name in names:
        sys.modules.pop(name, None)
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, kernel_launch._AfterImport)]


def test_after_import_runs_once_right_after_the_modules_own_code(module_on_path):
    import importlib
    name = module_on_path()
    seen = []
    kernel_launch.after_import(name, lambda m: seen.append((m.__name__, m.RAN)))
    assert seen == []  # nothing is imported until someone imports it
    module = importlib.import_module(name)
    assert seen == [(name, 1)]
    assert module.__spec__.loader is not None and module.__loader__ is module.__spec__.loader
    importlib.reload(module)  # the finder is gone: a reload is not an import
    assert seen == [(name, 1)]
    assert not any(isinstance(f, kernel_launch._AfterImport) for f in sys.meta_path)


def test_after_import_of_a_module_already_imported_runs_at_once(module_on_path):
    import importlib
    name = module_on_path()
    importlib.import_module(name)
    seen = []
    kernel_launch.after_import(name, lambda m: seen.append(m.RAN))
    assert seen == [1]


def test_an_error_in_the_afterthought_does_not_break_the_import(module_on_path):
    import importlib

    def fail(module):
        raise RuntimeError("no")

    name = module_on_path()
    kernel_launch.after_import(name, fail)
    assert importlib.import_module(name).RAN == 1


def test_a_lookup_that_does_not_import_leaves_the_afterthought_for_the_import(module_on_path):
    import importlib
    import importlib.util
    name = module_on_path()
    seen = []
    kernel_launch.after_import(name, lambda m: seen.append(m.RAN))
    assert importlib.util.find_spec(name) is not None and seen == []
    importlib.import_module(name)
    assert seen == [1]


def test_an_afterthought_for_one_module_of_a_zip_file_is_not_run_for_the_others(tmp_path, monkeypatch):
    import importlib
    import zipfile
    archive = tmp_path / "lessons_helpers.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("zipped_first.py", "X = 1\n")
        z.writestr("zipped_second.py", "X = 2\n")
    monkeypatch.syspath_prepend(str(archive))
    seen = []
    kernel_launch.after_import("zipped_second", lambda m: seen.append(m.__name__))
    try:
        # One loader serves both modules: the first is looked up, the second imported.
        first_spec = importlib.util.find_spec("zipped_second")
        importlib.import_module("zipped_first")
        second = importlib.import_module("zipped_second")
        assert seen == ["zipped_second"]
        assert "exec_module" not in vars(second.__loader__)  # the loader is left as it was
        assert first_spec is not None
    finally:
        for name in ("zipped_first", "zipped_second"):
            sys.modules.pop(name, None)
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, kernel_launch._AfterImport)]


def test_an_import_under_way_in_the_finders_list_is_not_disturbed_when_the_afterthought_leaves(module_on_path):
    """The afterthought leaves ``sys.meta_path`` while another import is going through it
    (here: a finder that imports the watched module while asked for another one). That
    other import must still reach every finder after it."""
    import importlib
    import importlib.machinery
    watched, other = module_on_path(), module_on_path("VALUE = 7\n")
    seen = []

    class ImportsTheWatchedModule:
        def find_spec(self, fullname, path=None, target=None):
            if fullname == other:
                importlib.import_module(watched)
            return None

    kernel_launch.after_import(watched, lambda m: seen.append(m.__name__))
    # Right before the finder that finds modules on sys.path: the one a list shifted under
    # the import going through it would skip.
    path_finder = next(i for i, f in enumerate(sys.meta_path) if f is importlib.machinery.PathFinder)
    sys.meta_path.insert(path_finder, ImportsTheWatchedModule())
    try:
        assert importlib.import_module(other).VALUE == 7
    finally:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, ImportsTheWatchedModule)]
    assert seen == [watched]


def test_an_error_in_the_afterthought_for_a_module_already_imported_is_ignored(module_on_path):
    import importlib
    name = module_on_path()
    importlib.import_module(name)

    def fail(module):
        raise RuntimeError("no")

    kernel_launch.after_import(name, fail)  # does not raise


def test_a_module_that_does_not_exist_is_still_not_found(module_on_path):
    kernel_launch.after_import("no_such_module_anywhere", lambda m: None)
    with pytest.raises(ModuleNotFoundError):
        import no_such_module_anywhere  # noqa: F401


SETTERS = """
import inspect, json, sys
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "plain-setters":
    import kernel_launch
    kernel_launch.after_import("matplotlib.artist", kernel_launch.plain_artist_setters)
import matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt
from matplotlib.artist import Artist
from matplotlib.lines import Line2D

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

fig, ax = plt.subplots()
line, = ax.plot([0, 1], [0, 1])
line.set(lw=3, c="red", alpha=0.5)  # a property, an alias
try:
    line.set(no_such_property=1)
    refused = None
except AttributeError as e:
    refused = str(e)
try:
    line.set(lw=1, linewidth=2)
    twice = None
except TypeError as e:
    twice = str(e)
print(json.dumps({
    "own_set": sorted(c.__qualname__ for c in set(subclasses(Artist)) if "set" in vars(c)),
    "marked": sorted(c.__qualname__ for c in set(subclasses(Artist))
                     if getattr(c.set, "_autogenerated_signature", False)),
    "line": [line.get_linewidth(), line.get_color(), line.get_alpha()],
    "refused": refused, "twice": twice,
    "doc": Line2D.set.__doc__ is not None,
    "signature": str(inspect.signature(Line2D.set)),
}))
"""


@pytest.mark.slow
def test_plain_setters_do_what_matplotlibs_setters_do_without_their_docs():
    import json
    import subprocess
    folder = str(Path(kernel_launch.__file__).parent)
    plain, lean = (json.loads(subprocess.run(
        [sys.executable, "-c", SETTERS, folder, how], capture_output=True, text=True,
        check=True, timeout=120).stdout) for how in ("matplotlib", "plain-setters"))
    # The same classes get a set() of their own, every one with the mark subclasses look for,
    # and set() takes the same properties and aliases and refuses the same wrong ones.
    assert lean["own_set"] == plain["own_set"] and len(plain["own_set"]) > 50
    assert lean["marked"] == plain["marked"]
    assert lean["line"] == plain["line"] == [3.0, "red", 0.5]
    assert lean["refused"] == plain["refused"] and "no_such_property" in plain["refused"]
    assert lean["twice"] == plain["twice"] and plain["twice"]
    # Only what help() and tab completion read differs.
    assert plain["doc"] and "linewidth" in plain["signature"]
    assert not lean["doc"] and lean["signature"] == "(self, **kwargs)"


def test_plain_setters_leave_a_matplotlib_without_the_hook_alone():
    import types
    module = types.SimpleNamespace(Artist=type("Artist", (), {}))
    kernel_launch.plain_artist_setters(module)
    assert not hasattr(module.Artist, "_update_set_signature_and_docstring")


# --- real kernels -----------------------------------------------------------------------------

class LaunchedKernel(KernelManager):
    def format_kernel_cmd(self, extra_arguments=None):
        return launch_argv(super().format_kernel_cmd(extra_arguments))


def run_cells(km, cells, info=None):
    """Run each cell in the kernel (a number: wait that many seconds, idle); the printed
    text of each cell run. ``info``, a dict, gets the kernel's kernel_info reply."""
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        if info is not None:
            kc.kernel_info()
            info.update(kc.get_shell_msg(timeout=30)["content"])
        outputs = []
        for code in cells:
            if isinstance(code, float):
                time.sleep(code)
                continue
            reply = kc.execute_interactive(code, timeout=60, output_hook=lambda m: outputs.append(m)
                                           if m["msg_type"] in ("stream", "error") else None)
            assert reply["content"]["status"] == "ok", outputs
            outputs.append("|")
        text = "".join(m["content"].get("text", "") if isinstance(m, dict) else m for m in outputs)
        return text.split("|")[:-1]
    finally:
        kc.stop_channels()


@pytest.mark.slow
def test_a_launched_kernel_runs_its_lesson_with_the_collector_off_then_freezes_and_turns_it_on(tmp_path):
    (tmp_path / "helper_next_to_the_notebook.py").write_text("VALUE = 42\n")
    km = LaunchedKernel(kernel_name="python3")
    ipython_dir = tmp_path / "ipython"
    km.start_kernel(cwd=str(tmp_path), env={**os.environ, "IPYTHONDIR": str(ipython_dir)})
    info = {}
    try:
        first, second, running, setters, later, history = run_cells(km, info=info, cells=[
            "import gc, sys; print(gc.isenabled(), gc.get_freeze_count(), 'matplotlib' in sys.modules,\n"
            "                      sys.modules.get('debugpy', 0) is None)",
            # a module next to the notebook imports, as in a plain kernel, and none of the
            # launch file's neighbours does
            "from helper_next_to_the_notebook import VALUE; print(VALUE, sys.argv[1:2])\n"
            "try:\n    import lesson_kernels\nexcept ImportError:\n    print('apart')",
            "import time; time.sleep(1.5); print(gc.isenabled())",  # running: still off
            "from matplotlib.lines import Line2D; print(Line2D.set.__doc__ is None)",
            2.5,  # idle: the lesson has run
            "print(gc.isenabled(), gc.get_freeze_count() > 10000)",
            "print(get_ipython().history_manager.enabled, In[1][:10])",
        ])
    finally:
        km.shutdown_kernel(now=True)
    # The history is kept in memory only: In works, and no file was written.
    assert history.split() == ["False", "import", "gc,"]
    assert ipython_dir.is_dir() and not list(ipython_dir.rglob("history.sqlite"))
    # Nothing imported that the notebook does not import itself.
    assert first.split() == ["False", "0", "False", "True"]  # and no debugger
    assert second.split() == ["42", "['-f']", "apart"]
    assert running.split() == ["False"]
    assert setters.split() == ["True"]  # matplotlib without its set() docs
    assert info["status"] == "ok" and "debugger" not in info.get("supported_features", [])
    # Idle for the settle time after a cell: on, with the start-up heap frozen.
    assert later.split() == ["True", "True"]


@pytest.mark.slow
def test_a_bad_argument_is_refused_as_ipykernel_launcher_refuses_it(tmp_path):
    import subprocess
    cmd = [sys.executable, "-m", "ipykernel_launcher", "--no-such-option=1", "-f", str(tmp_path / "c.json")]
    plain = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    launched = subprocess.run(launch_argv(cmd), capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert launched.returncode == plain.returncode == 2
    assert "unrecognized arguments: --no-such-option=1" in launched.stderr
    assert "Traceback" not in launched.stderr
