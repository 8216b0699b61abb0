"""Lesson kernels forked from a template that has already imported what the lessons import.

The real kernels here are started by jupyter_client, as the lesson server starts them: the
stand-in's command, with the template's socket. One template serves the whole module.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from jupyter_client import KernelManager

from kmeans_tutor.server import kernel_fork
from kmeans_tutor.server.kernel_fork import KernelTemplate, fork_argv
from kmeans_tutor.server.kernel_launch import launch_argv
from kmeans_tutor.server.lesson_kernels import LessonKernelManager

LAUNCH = str(Path(kernel_fork.__file__).with_name("kernel_launch.py"))


def wait_for(condition, seconds=10.0):
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        time.sleep(0.05)
    return condition()


# --- the command and the template's checks ------------------------------------------------------

def test_a_lean_kernel_command_becomes_the_stand_in_with_the_same_python_and_arguments():
    cmd = ["/venv/bin/python", LAUNCH, "-f", "/run/kernel-1.json"]
    argv = fork_argv("/tmp/t/template", cmd)
    assert argv == ["/venv/bin/python", "-I", "-S", kernel_fork.__file__, "/tmp/t/template",
                    "-f", "/run/kernel-1.json"]


@pytest.mark.parametrize("cmd", [
    ["/venv/bin/python", "-m", "ipykernel_launcher", "-f", "k.json"],  # a plain start
    ["/venv/bin/python", "/elsewhere/kernel_launch.py", "-f", "k.json"],
    ["julia", "kernel.jl"],
    [],
])
def test_any_other_kernel_command_is_left_as_it_is(cmd):
    assert fork_argv("/tmp/t/template", cmd) == cmd


def request(**changes):
    base = {"executable": sys.executable, "args": ["-f", "k.json"], "cwd": "/tmp",
            "env": dict(os.environ)}
    return {**base, **changes}


@pytest.fixture
def start_variables(monkeypatch):
    """The template's start-up variables as this process's environment has them."""
    monkeypatch.setattr(kernel_fork, "_TEMPLATE_START_VARIABLES", kernel_fork._start_variables(os.environ))


@pytest.fixture
def template_variables(start_variables, monkeypatch):
    """... and no thread but the main one, as in the template (the test process has others)."""
    import threading

    monkeypatch.setattr(threading, "active_count", lambda: 1)


def test_the_template_serves_a_kernel_of_its_own_python_and_environment(template_variables):
    assert kernel_fork._refusal(request()) is None


def test_the_template_refuses_another_python(template_variables):
    assert "/other/python" in kernel_fork._refusal(request(executable="/other/python"))
    # another virtual environment of the same Python is another Python: other packages
    base = os.path.realpath(sys.executable)
    if base != sys.executable:
        assert base in kernel_fork._refusal(request(executable=base))


@pytest.mark.parametrize("name", ["PYTHONHASHSEED", "PYTHONOPTIMIZE", "MPLBACKEND", "MPLCONFIGDIR"])
def test_the_template_refuses_other_start_up_variables_and_names_them(template_variables, name):
    env = {**os.environ, name: "something-else"}
    assert name in kernel_fork._refusal(request(env=env))
    # other variables are the kernel's own business
    assert kernel_fork._refusal(request(env={**os.environ, "VOILA_REQUEST_URL": "x"})) is None


@pytest.mark.parametrize("changes", [{"args": "-f k.json"}, {"cwd": None}])
def test_the_template_refuses_a_malformed_request(template_variables, changes):
    assert kernel_fork._refusal(request(**changes)) == "a malformed request"


def test_the_template_does_not_fork_while_a_thread_runs(start_variables):
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert "thread" in kernel_fork._refusal(request())
    finally:
        stop.set()
        thread.join()


def test_the_template_serves_only_its_own_user(monkeypatch):
    a, b = socket.socketpair()
    with a, b:
        assert kernel_fork._same_user(a)
        monkeypatch.setattr(os, "getuid", lambda: os.geteuid() + 12345)
        assert not kernel_fork._same_user(a)


# --- real kernels ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served_environment():
    """The environment as the lesson server has it: no MPLBACKEND (tests/conftest.py sets
    one for the test process), so that kernels choose matplotlib's backend as in a lesson."""
    saved = os.environ.pop("MPLBACKEND", None)
    yield
    if saved is not None:
        os.environ["MPLBACKEND"] = saved


@pytest.fixture(scope="module")
def template(served_environment):
    made = KernelTemplate(dict(os.environ))
    yield made
    made.stop()


def forked_kernel(template: KernelTemplate | None, socket_path: str | None = None):
    class Forked(KernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            cmd = launch_argv(super().format_kernel_cmd(extra_arguments))
            return fork_argv(socket_path, cmd) if socket_path else template.argv(cmd)

    return Forked(kernel_name="python3")


def run_cells(km, cells):
    """The printed text of each cell, run one after another (a float: sleep that long)."""
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        texts = []
        for code in cells:
            if isinstance(code, float):
                time.sleep(code)
                continue
            out = []
            reply = kc.execute_interactive(code, timeout=60, output_hook=lambda m: out.append(
                m["content"].get("text", "") if m["msg_type"] == "stream" else str(m["content"]))
                if m["msg_type"] in ("stream", "error") else None)
            assert reply["content"]["status"] == "ok", out
            texts.append("".join(out))
        return texts
    finally:
        kc.stop_channels()


def kernel_process(template: KernelTemplate, km) -> psutil.Process:
    """The forked kernel behind ``km``'s stand-in: the template's child that is not another's."""
    pid = int(run_cells(km, ["import os; print(os.getpid())"])[0])
    assert psutil.Process(pid).ppid() == template.process.pid
    return psutil.Process(pid)


@pytest.mark.slow
def test_a_forked_kernel_runs_in_its_own_folder_environment_and_arguments_with_the_libraries_loaded(
        template, tmp_path):
    (tmp_path / "helper_next_to_the_notebook.py").write_text("VALUE = 42\n")
    km = forked_kernel(template)
    km.start_kernel(cwd=str(tmp_path), env={**os.environ, "LESSON_VARIABLE": "mine"})
    try:
        first, second, third, later = run_cells(km, [
            "import gc, os, sys; print(gc.isenabled(), 'numpy' in sys.modules, 'matplotlib' in sys.modules,"
            " 'kmeans_tutor.widgets' in sys.modules, sys.modules.get('debugpy', 0) is None)",
            "print(os.getcwd(), os.environ['LESSON_VARIABLE'], sys.argv[1:2], os.getppid())",
            "from helper_next_to_the_notebook import VALUE; print(VALUE)\n"
            "try:\n    import lesson_kernels\nexcept ImportError:\n    print('apart')",
            11.0,  # longer than the template's wait for a request: the kernel lives on
            "from matplotlib.lines import Line2D; print(Line2D.set.__doc__ is None, gc.isenabled())",
        ])
    finally:
        km.shutdown_kernel(now=True)
    assert first.split() == ["False", "True", "True", "True", "True"]  # collector held, no debugger
    cwd, variable, args, parent = second.split(maxsplit=3)
    assert Path(cwd) == tmp_path and variable == "mine" and args == "['-f']"
    assert int(parent) == template.process.pid
    assert third.split() == ["42", "apart"]
    assert later.split() == ["True", "True"]  # plain set() docs; the collector back on once idle


KERNEL_STATE = """\
import comm, json, sys
def state():
    shell = get_ipython()
    return {
        "comm targets": sorted(comm.get_comm_manager().targets),
        "events": {event: sorted(f"{getattr(cb, '__module__', '')}.{getattr(cb, '__qualname__', cb)}"
                                 for cb in callbacks if "HeldCollector" not in repr(cb))
                   for event, callbacks in shell.events.callbacks.items()},
        "formatters": {mime: sorted(map(str, f.type_printers)) + sorted(map(str, f.deferred_printers))
                       for mime, f in shell.display_formatter.formatters.items()},
        "backend": sys.modules["matplotlib"].rcParams._get("backend") if "matplotlib" in sys.modules
                   else __import__("os").environ.get("MPLBACKEND"),  # what matplotlib will read
        "backend chosen": getattr(sys.modules.get("matplotlib.pyplot"), "_backend_mod", None) is not None,
        "parent handle": bool(sys.modules["ipykernel.kernelapp"].IPKernelApp.instance().parent_handle),
    }
at_start = state()
"""

AFTER = {
    # what every lesson does
    "lesson": "from kmeans_tutor.server.kernel_fork import TEMPLATE_IMPORTS\n"
              "for name in TEMPLATE_IMPORTS:\n    __import__(name)\n"
              "get_ipython().run_line_magic('matplotlib', 'widget')",
    # a notebook that draws with the inline backend (benchmarks/bench_browser.py's naive app)
    "inline": "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
              "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()",
}


@pytest.mark.slow
@pytest.mark.parametrize("after", sorted(AFTER))
def test_a_forked_kernel_is_set_up_as_one_that_imported_the_libraries_itself(template, after):
    """What a library does as it is imported into a running kernel (ipywidgets registers its
    comm targets, ipympl a callback after every cell, the inline backend its picture
    formats) a forked kernel has too, at its start and after a notebook's first lines."""
    import json

    states = []
    for km in (forked_kernel(template), KernelManager(kernel_name="python3")):
        km.start_kernel()
        try:
            states.append(json.loads(run_cells(km, [
                KERNEL_STATE, AFTER[after], "print(json.dumps([at_start, state()]))"])[-1]))
        finally:
            km.shutdown_kernel(now=True)
    forked, usual = states
    # At its start a forked kernel has imported the libraries already (ipywidgets with its comm
    # targets, numpy with IPython's printer for its numbers); the rest is as in a fresh kernel.
    for key in ("events", "backend", "backend chosen", "parent handle"):
        assert forked[0][key] == usual[0][key], ("at start", key, forked[0][key], usual[0][key])
    # After the notebook's first lines, nothing tells them apart but what was imported before
    # (the plain-text printer of numpy's numbers; ipywidgets' comm targets, where the notebook
    # did not import ipywidgets).
    for state in (forked[1], usual[1]):
        del state["formatters"]["text/plain"]
        if after != "lesson":
            del state["comm targets"]
    assert forked[1] == usual[1]
    at_start, later = usual
    assert not at_start["backend chosen"]
    if after == "lesson":
        assert "jupyter.widget.control" in later["comm targets"]
        assert any("ipympl" in cb for cb in later["events"]["post_execute"])
    else:
        assert any("Figure" in printer for printer in later["formatters"]["image/png"])


@pytest.mark.slow
def test_two_forked_kernels_draw_different_random_numbers(template):
    draws = []
    for _ in range(2):
        km = forked_kernel(template)
        km.start_kernel()
        try:
            draws.append(run_cells(km, ["import numpy, random; print(numpy.random.rand(), random.random())"])[0])
        finally:
            km.shutdown_kernel(now=True)
    a, b = (d.split() for d in draws)
    assert a[0] != b[0] and a[1] != b[1]


@pytest.mark.slow
def test_an_interrupt_reaches_the_forked_kernel_and_it_goes_on(template):
    km = forked_kernel(template)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        kc.execute("import time; time.sleep(30)")
        time.sleep(1.0)
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=10)
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        # A request that reaches ipykernel while it is still dropping what was queued behind
        # the interrupted cell is answered "aborted" (a race on a busy machine); the next runs.
        for _ in range(5):
            status = kc.execute_interactive("1+1", timeout=10)["content"]["status"]
            if status != "aborted":
                break
            time.sleep(0.2)
        assert status == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.slow
def test_a_kernel_shut_down_ends_its_stand_in_as_it_ended(template):
    km = forked_kernel(template)
    # The manager gives a kernel 5 s to end after a shutdown request, then terminates its
    # process (the stand-in): longer here, so a busy machine does not end it first. (At its
    # exit ipykernel stops its IOPub thread before the control thread has flushed the
    # streams after the shutdown reply; each flush then waits out its 10 s timeout. It
    # happens to any ipykernel kernel, one shutdown in three here; the kernel still ends. A
    # fresh-clone run on a busy machine once saw the stand-in ended after the 60 s this gave
    # before; 150 s now. A template that missed the kernel's end would still fail here.)
    km.shutdown_wait_time = 300.0
    km.start_kernel()
    stand_in = km.provisioner.process
    kernel = kernel_process(template, km)
    km.shutdown_kernel()  # a shutdown request: the kernel ends itself
    assert wait_for(lambda: not psutil.pid_exists(kernel.pid) or kernel.status() == psutil.STATUS_ZOMBIE)
    assert stand_in.wait(10) == 0


@pytest.mark.slow
def test_a_kernel_ended_by_a_signal_ends_its_stand_in_by_the_same_signal(template):
    km = forked_kernel(template)
    km.start_kernel()
    stand_in = km.provisioner.process
    kernel = kernel_process(template, km)
    kernel.send_signal(signal.SIGKILL)
    assert wait_for(lambda: stand_in.poll() is not None)
    assert stand_in.returncode == -signal.SIGKILL
    km.cleanup_resources()


@pytest.mark.slow
def test_a_kernel_whose_stand_in_is_killed_ends_too(template):
    km = forked_kernel(template)
    km.start_kernel()
    kernel = kernel_process(template, km)
    km.provisioner.process.kill()  # as jupyter_client kills a kernel that does not stop
    assert wait_for(lambda: not psutil.pid_exists(kernel.pid) or kernel.status() == psutil.STATUS_ZOMBIE)
    km.cleanup_resources()


@pytest.mark.slow
def test_the_stand_in_ends_when_the_kernel_manager_that_started_it_has_gone(template, tmp_path):
    # The stand-in of a kernel manager that ends without shutting its kernel down (killed):
    # a middle process starts it with JPY_PARENT_PID, as jupyter_client does, and exits.
    cmd = template.argv([sys.executable, LAUNCH, "-f", str(tmp_path / "kernel.json")])
    middle = subprocess.run([sys.executable, "-c", (
        "import os, subprocess, sys\n"
        f"p = subprocess.Popen({cmd!r}, env={{**os.environ, 'JPY_PARENT_PID': str(os.getpid())}},\n"
        "                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(p.pid)\n")], capture_output=True, text=True, timeout=60)
    stand_in = psutil.Process(int(middle.stdout))
    assert wait_for(lambda: not stand_in.is_running() or stand_in.status() == psutil.STATUS_ZOMBIE)
    assert wait_for(lambda: not psutil.Process(template.process.pid).children())


@pytest.mark.slow
def test_a_bad_argument_is_refused_as_a_kernel_started_the_usual_way_refuses_it(template, tmp_path):
    cmd = [sys.executable, LAUNCH, "--no-such-option=1", "-f", str(tmp_path / "c.json")]
    usual = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    forked = subprocess.run(template.argv(cmd), capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert forked.returncode == usual.returncode == 2
    assert "unrecognized arguments: --no-such-option=1" in forked.stderr
    assert "Traceback" not in forked.stderr and "without the template" not in forked.stderr


@pytest.mark.slow
def test_without_a_template_the_kernel_starts_the_usual_way_and_says_why(tmp_path, capfd):
    km = forked_kernel(None, socket_path=str(tmp_path / "no-template-here"))
    km.start_kernel()
    stand_in = km.provisioner.process.pid
    try:
        parent = int(run_cells(km, ["import os; print(os.getppid())"])[0])
    finally:
        km.shutdown_kernel(now=True)
    assert parent == stand_in  # the stand-in's own child, not the template's
    assert "starting this kernel without the template: no template at" in capfd.readouterr().err


@pytest.mark.slow
def test_a_kernel_with_other_start_up_variables_starts_the_usual_way(template, capfd):
    km = forked_kernel(template)
    km.start_kernel(env={**os.environ, "MPLBACKEND": "agg"})
    try:
        backend, = run_cells(km, ["import os, matplotlib; print(matplotlib.get_backend(), os.getppid())"])
    finally:
        km.shutdown_kernel(now=True)
    name, parent = backend.split()
    assert name.lower() == "agg" and int(parent) != template.process.pid
    assert "sets MPLBACKEND otherwise than the template's" in capfd.readouterr().err


@pytest.mark.slow
def test_the_template_ends_when_the_server_closes_its_input_and_leaves_nothing_behind():
    made = KernelTemplate(dict(os.environ))
    assert os.path.exists(made.socket_path)  # listening by the time it is made
    made.stop()
    assert made.process.returncode == 0
    assert not os.path.exists(made.folder)
    cmd = [sys.executable, LAUNCH, "-f", "k.json"]
    assert made.argv(cmd) == cmd  # kernels start the usual way from then on


def test_the_lesson_kernel_manager_forks_its_kernels_unless_told_not_to(tmp_path, monkeypatch):
    started = []

    class Template:
        def __init__(self, env):
            started.append(env)

        def stop(self):
            pass

    monkeypatch.setattr("kmeans_tutor.server.lesson_kernels.KernelTemplate", Template)
    manager = LessonKernelManager(root_dir=str(tmp_path), kernel_optimize=2)
    manager.start_template()
    manager.start_template()
    assert isinstance(manager.template, Template) and len(started) == 1
    assert started[0]["PYTHONOPTIMIZE"] == "2"  # the environment its kernels get
    for off in ({"fork_start": False}, {"lean_start": False}):
        manager = LessonKernelManager(root_dir=str(tmp_path), **off)
        manager.start_template()
        assert manager.template is None


@pytest.mark.slow
@pytest.mark.parametrize("sent, fds", [
    (b"not json\n", True),
    (b'{"args": ["-f", "k.json"]}\n', False),  # no streams passed
    (b'{"executable": "/bin/sh", "args": [], "cwd": "/", "env": {}}\n', True),
    (b"x" * 200_000, True),  # no end of line
    (b"", False),  # connects and leaves
])
def test_a_bad_request_is_refused_and_the_template_goes_on_serving(template, sent, fds):
    import json

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(template.socket_path)
        conn.settimeout(30)
        if sent and fds:
            socket.send_fds(conn, [sent], [0, 1, 2])
        elif sent:
            conn.sendall(sent)
        conn.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    if reply:
        assert "refused" in json.loads(reply)
    assert template.running
    km = forked_kernel(template)
    km.start_kernel()
    try:
        assert run_cells(km, ["print(1 + 1)"]) == ["2\n"]
        kernel_process(template, km)  # forked, not started the usual way
    finally:
        km.shutdown_kernel(now=True)
