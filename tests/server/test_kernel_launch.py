"""Lesson kernels start with Python's garbage collector held back until the lesson has run.

The collector's state is the whole process's, so every test here that makes a
:class:`HeldCollector` puts it back as it was (the ``collector`` fixture). The real kernels
at the end are started as the lesson server starts them.
"""

from __future__ import annotations

import gc
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
    first_import = min(body.index("\nimport sys"), body.index("\nfrom pathlib"), body.index("\nimport threading"))
    assert body.index("gc.disable()") < first_import


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
    assert held.hold_collector and held.kernel_manager_class.endswith(".LessonKernel")
    km = LessonKernel(parent=held, kernel_name="python3")
    assert km.format_kernel_cmd()[1].endswith("kernel_launch.py") and "ipykernel_launcher" not in km.format_kernel_cmd()
    plain = LessonKernelManager(root_dir=str(tmp_path), hold_collector=False)
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


# --- real kernels -----------------------------------------------------------------------------

class LaunchedKernel(KernelManager):
    def format_kernel_cmd(self, extra_arguments=None):
        return launch_argv(super().format_kernel_cmd(extra_arguments))


def run_cells(km, cells):
    """Run each cell in the kernel (a number: wait that many seconds, idle); the printed
    text of each cell run."""
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
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
    km.start_kernel(cwd=str(tmp_path))
    try:
        first, second, running, later = run_cells(km, [
            "import gc, sys; print(gc.isenabled(), gc.get_freeze_count())",
            # a module next to the notebook imports, as in a plain kernel, and none of the
            # launch file's neighbours does
            "from helper_next_to_the_notebook import VALUE; print(VALUE, sys.argv[1:2])\n"
            "try:\n    import lesson_kernels\nexcept ImportError:\n    print('apart')",
            "import time; time.sleep(1.5); print(gc.isenabled())",  # running: still off
            2.5,  # idle: the lesson has run
            "print(gc.isenabled(), gc.get_freeze_count() > 10000)",
        ])
    finally:
        km.shutdown_kernel(now=True)
    assert first.split() == ["False", "0"]
    assert second.split() == ["42", "['-f']", "apart"]
    assert running.split() == ["False"]
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
