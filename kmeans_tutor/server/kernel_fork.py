"""Lesson kernels forked from a template that has already imported what every lesson imports.

Each lesson page runs in a kernel of its own, and every such kernel begins the same way:
Python starts, then imports ipykernel, numpy, matplotlib with pyplot, ipympl, ipywidgets and
this package's apps, some 950 modules, before the lesson's first line runs (0.5–1 s of one
core, by the machine). A class that opens a lesson together pays that once per student, on
the teacher's two cores.

So the lesson server starts one *template* process as it starts: a Python that imports all
of that once (:data:`TEMPLATE_IMPORTS`), then waits. A kernel start no longer runs Python
from the beginning; it asks the template for a copy of itself (``fork``), which goes on as
the new kernel: it takes the kernel's standard streams, working directory, environment and
arguments, and runs :func:`kmeans_tutor.server.kernel_launch.main` with them, as a kernel
started the usual way would, minus the imports. What a library does as it is imported into
a *running* kernel (ipywidgets registers its comm targets) the copy does once its kernel
runs (:data:`AT_KERNEL_START`); matplotlib has no backend chosen yet, as in a fresh kernel
(ipympl's backend, which chooses itself as it is imported, is left to the lesson). The copy
shares the template's memory until it writes to it.

The command a kernel is started with (:func:`fork_argv`) runs this file with a bare
``python -I -S``: a small *stand-in* that connects to the template's socket, hands it the
request and its own standard streams, and then stands in for the kernel. The kernel manager
watches, signals and kills the stand-in as if it were the kernel:

* every signal the stand-in gets it passes on to the kernel (an interrupt is a SIGINT);
* when the kernel ends, the stand-in ends the same way (exit code or signal);
* when the stand-in ends, killed included, the kernel ends at once;
* when the kernel manager that started the stand-in ends (``JPY_PARENT_PID``, which makes a
  kernel started the usual way end with its parent), the stand-in ends, and so the kernel.

Where the template cannot serve a request (not running, another Python, other values of the
environment variables read as Python and matplotlib start, ``PYTHON*`` and ``MPL*``, or a
thread running in it), the stand-in starts the kernel the usual way
(``python kernel_launch.py``) and says why on its standard error.

The template's socket lies in a folder only its user can open, and it serves only that
user. It ends when the server that started it does (its standard input closes); kernels
already forked go on until their stand-ins end. numpy's global random generator is seeded
afresh in every copy (as Python's ``random`` is at a fork), so two students never draw the
same "random" numbers; a forked kernel's command line, as ``ps`` shows it, is the template's.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

__all__ = ["TEMPLATE_IMPORTS", "KernelTemplate", "fork_argv", "stand_in", "serve_template"]

#: What the template imports: what the kernel of every lesson, as served, imports (pandas,
#: which no served lesson imports, is left out: each kernel would hold its 30 MB). Not
#: ipympl's backend itself, only what it needs: importing it makes it matplotlib's backend,
#: and a copy must start with matplotlib as a fresh kernel has it, no backend chosen yet (a
#: notebook that then chooses the inline one would get no pictures). Its own import is 5 ms.
TEMPLATE_IMPORTS = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "numpy",
    "matplotlib.pyplot",
    "matplotlib.backends.backend_webagg_core",
    "ipywidgets",
    "kmeans_tutor.views",
    "kmeans_tutor.widgets",
)

#: Environment variables read as Python and the template's modules start: a kernel with
#: other values for them cannot be a copy of the template.
START_VARIABLES = ("PYTHON", "MPL")

#: Signals the stand-in passes on to its kernel.
PASSED_ON = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")

_TEMPLATE_START_VARIABLES: dict = {}  # the template's own, as it started

_HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCH_FILE = os.path.join(_HERE, "kernel_launch.py")
REPLY_TIMEOUT_S = 60.0  # the stand-in's wait for the template to fork (it may be importing)
PARENT_POLL_S = 1.0  # how often the stand-in looks whether the kernel manager is still there
LISTEN_TIMEOUT_S = 5.0  # the server's wait for a new template to listen


def _send(conn: socket.socket, message: dict) -> None:
    conn.sendall(json.dumps(message).encode() + b"\n")


def _read_line(conn: socket.socket, buffer: bytearray, limit: int = 1 << 20) -> dict | None:
    """The next newline-ended JSON message on ``conn`` (``buffer`` keeps what came after
    it), or None at the end of the stream."""
    while b"\n" not in buffer:
        if len(buffer) > limit:
            raise ValueError("message too long")
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return json.loads(line)


def _start_variables(env) -> dict:
    return {k: v for k, v in env.items() if k.startswith(START_VARIABLES)}


# --------------------------------------------------------------------------- the stand-in

def fork_argv(socket_path: str, cmd: list[str]) -> list[str]:
    """The command that starts kernel ``cmd`` (``<python> kernel_launch.py <args>``, as
    :func:`~kmeans_tutor.server.kernel_launch.launch_argv` makes it) as a copy of the
    template listening at ``socket_path``; any other command is returned as it is."""
    if len(cmd) < 2 or os.path.abspath(cmd[1]) != LAUNCH_FILE:
        return list(cmd)
    return [cmd[0], "-I", "-S", os.path.abspath(__file__), socket_path, *cmd[2:]]


def _start_usually(args: list[str], why: str):
    """The kernel started the usual way, as this process's child (a ``subprocess.Popen``)."""
    import subprocess

    print(f"kmeans-tutor: starting this kernel without the template: {why}", file=sys.stderr, flush=True)
    return subprocess.Popen([sys.executable, LAUNCH_FILE, *args])


def _pass_signals_to(pid: int) -> None:
    def pass_on(signum, frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for name in PASSED_ON:
        signal.signal(getattr(signal, name), pass_on)


def _manager() -> int | None:
    """The process id of the kernel manager that started this stand-in, if it said."""
    try:
        return int(os.environ.get("JPY_PARENT_PID", ""))
    except ValueError:
        return None


def stand_in(socket_path: str, args: list[str]) -> None:
    """Have the template fork a kernel with ``args`` (or, where it cannot, start one the usual
    way) and stand in for it (never returns)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    buffer = bytearray()
    try:
        conn.connect(socket_path)
        request = {"executable": sys.executable, "args": args,
                   "cwd": os.getcwd(), "env": dict(os.environ)}
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
        conn.settimeout(REPLY_TIMEOUT_S)
        reply = _read_line(conn, buffer)
        why = None if reply is not None and "pid" in reply else \
            (reply or {}).get("refused", "the template closed the connection")
    except (OSError, ValueError) as exc:
        why = f"no template at {socket_path} ({exc})"
    if why is None:
        _pass_signals_to(reply["pid"])
        ended = _wait_for_end(conn, buffer)
        code = ended.get("exit", 1) if ended else 1
    else:
        conn.close()
        kernel = _start_usually(args, why)
        _pass_signals_to(kernel.pid)
        code = _wait_for_child(kernel)
    if code < 0:  # the kernel was killed by a signal: so is its stand-in
        try:
            signal.signal(-code, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # SIGKILL and SIGSTOP keep theirs
        os.kill(os.getpid(), -code)
        code = 128 - code  # a signal whose default is not to end the process
    sys.exit(code)


def _wait_for_child(kernel) -> int:
    """The exit code of a kernel started the usual way; it is killed if the kernel manager
    goes first."""
    import subprocess

    manager = _manager()
    while True:
        try:
            return kernel.wait(PARENT_POLL_S if manager is not None else None)
        except subprocess.TimeoutExpired:
            if os.getppid() != manager:
                kernel.kill()
                return kernel.wait()


def _wait_for_end(conn: socket.socket, buffer: bytearray) -> dict | None:
    """The template's word that the kernel has ended (None if it never comes). Started
    by a kernel manager that watches for its own end (``JPY_PARENT_PID``, as ipykernel
    does), the stand-in returns when that manager has gone, which ends the kernel."""
    parent = _manager()
    conn.settimeout(PARENT_POLL_S if parent is not None else None)
    while True:
        try:
            return _read_line(conn, buffer)
        except socket.timeout:
            if os.getppid() != parent:
                return None
        except (OSError, ValueError):
            return None


# --------------------------------------------------------------------------- the template

def _refusal(request: dict) -> str | None:
    """Why the template cannot be this kernel, or None."""
    if request.get("executable") != sys.executable:  # not resolved: a venv is not its base Python
        return f"the kernel's Python is {request.get('executable')}, the template's {sys.executable}"
    theirs, ours = _start_variables(request.get("env", {})), _TEMPLATE_START_VARIABLES
    if theirs != ours:
        names = sorted(k for k in theirs.keys() | ours.keys() if theirs.get(k) != ours.get(k))
        return f"the kernel's environment sets {', '.join(names)} otherwise than the template's"
    if not isinstance(request.get("args"), list) or not isinstance(request.get("cwd"), str):
        return "a malformed request"
    import threading
    if threading.active_count() != 1:
        return "a thread is running in the template"
    return None


def _become_kernel(conn: socket.socket, fds: list[int], request: dict, keep_closed: list) -> None:
    """In the forked child: take the stand-in's streams, directory, environment and
    arguments, and run the kernel (never returns)."""
    code = 1
    try:
        os.setsid()  # out of the template's process group: its signals are not the kernel's
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for thing in keep_closed:
            thing.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [LAUNCH_FILE, *request["args"]]
        numpy = sys.modules.get("numpy")
        if numpy is not None:
            numpy.random.seed()  # fresh entropy, as Python's random module gets at a fork
        _read_kernel_environment()
        _end_with_stand_in(conn)
        from kmeans_tutor.server import kernel_launch

        # Not ended by the template's end: by its stand-in's (see _end_with_stand_in).
        kernel_launch.main(request["args"], poll_parent=False, initialized=_as_if_imported_now)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        # The end of a Python process, without unwinding into the template's loop: the
        # functions registered to run at exit (ipykernel's among them), then the streams.
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _register_widget_comms(module, shell) -> None:
    module._handle_ipython()  # ipywidgets' comm targets, jupyter.widget.control among them


#: What modules of the template do as they are imported only when a kernel is running
#: (the template has none): done in each forked kernel once it runs, as a kernel that
#: imported them itself would have it. ``tests/server/test_kernel_fork.py`` compares the comm
#: targets, the shell's event callbacks, the display formatters and matplotlib's backend of
#: both kinds of kernel.
AT_KERNEL_START = {
    "ipywidgets": _register_widget_comms,
}


def _as_if_imported_now(app) -> None:
    for name, then in AT_KERNEL_START.items():
        module = sys.modules.get(name)
        if module is not None:
            then(module, app.shell)


def _read_kernel_environment() -> None:
    """What ipykernel read from the environment as the template imported it, read again
    from the kernel's: the server's process id (the kernel ends when it is gone) and the
    interrupt handle."""
    kernelapp = sys.modules.get("ipykernel.kernelapp")
    if kernelapp is None:
        return
    app = kernelapp.IPKernelApp.instance()  # the one kernel_launch.main starts; its arguments come later
    for trait, variable in (("parent_handle", "JPY_PARENT_PID"), ("interrupt", "JPY_INTERRUPT_EVENT")):
        if app.has_trait(trait):
            try:
                setattr(app, trait, int(os.environ.get(variable) or 0))
            except ValueError:
                pass  # as a kernel started the usual way would have it: 0


def _end_with_stand_in(conn: socket.socket) -> None:
    """End this process as soon as the stand-in's end of ``conn`` closes."""
    import threading

    conn.settimeout(None)  # the template's wait for the request is over

    def watch():
        try:
            while conn.recv(4096):
                pass
        except OSError:
            pass
        os._exit(1)

    threading.Thread(target=watch, name="stand-in watch", daemon=True).start()


def serve_template(socket_path: str) -> None:
    """Import :data:`TEMPLATE_IMPORTS`, then fork a kernel for every stand-in that asks,
    until standard input closes."""
    import gc
    import importlib
    import selectors

    gc.disable()  # as in kernel_launch: nothing to collect while the heap is being built
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)  # first, so that early kernels wait in the queue, not elsewhere
    listener.listen(128)

    if sys.path and sys.path[0] == _HERE:
        del sys.path[0]  # not this file's neighbours as top-level modules
    _TEMPLATE_START_VARIABLES.update(_start_variables(os.environ))
    # As ipykernel does before a notebook imports matplotlib: the inline backend by default
    # (matplotlib reads it as it is imported; the kernel's own environment is the stand-in's).
    if not os.environ.get("MPLBACKEND"):
        os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    from kmeans_tutor.server import kernel_launch

    kernel_launch.prepare_imports()
    for name in TEMPLATE_IMPORTS:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a kernel imports what it needs itself
            print(f"kmeans-tutor template: could not import {name}: {exc}", file=sys.stderr, flush=True)
    gc.freeze()  # the copies share these pages; the collector need not touch them

    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "request")
    selector.register(sys.stdin, selectors.EVENT_READ, "server")
    selector.register(wake_r, selectors.EVENT_READ, "child")
    stand_ins: dict[int, socket.socket] = {}  # kernel pid -> its stand-in's connection
    try:
        while True:
            for key, _ in selector.select():
                if key.data == "server":
                    if not os.read(sys.stdin.fileno(), 4096):
                        return  # the server has gone
                elif key.data == "child":
                    try:
                        wake_r.recv(4096)
                    except BlockingIOError:
                        pass
                    _report_ended(stand_ins)
                else:
                    _serve_one(listener, stand_ins, [listener, wake_r, wake_w, selector])
    finally:
        listener.close()
        try:
            os.unlink(socket_path)
        except OSError:
            pass


def _serve_one(listener, stand_ins, keep_closed) -> None:
    conn, _ = listener.accept()
    fds: list[int] = []
    try:
        conn.settimeout(10.0)
        if not _same_user(conn):
            conn.close()
            return
        message, fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 3)
        buffer = bytearray(message)
        request = _read_line(conn, buffer) if message else None
        if request is None or len(fds) != 3:
            raise ValueError("an incomplete request")
        why = _refusal(request)
        if why:
            _send(conn, {"refused": why})
            conn.close()
            return
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _become_kernel(conn, fds, request, [*keep_closed, *stand_ins.values()])
        _send(conn, {"pid": pid})
        stand_ins[pid] = conn
    except (OSError, ValueError) as exc:
        try:
            _send(conn, {"refused": f"{exc}"})
        except OSError:
            pass
        conn.close()
    finally:
        for fd in fds:
            os.close(fd)


def _same_user(conn: socket.socket) -> bool:
    import struct

    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()


def _report_ended(stand_ins: dict) -> None:
    """Tell the stand-in of every kernel that has ended how it ended."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = stand_ins.pop(pid, None)
        if conn is not None:
            try:
                _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
            except OSError:
                pass
            conn.close()


# --------------------------------------------------------------------------- in the server

class KernelTemplate:
    """The template process, as the lesson server runs it: started with the environment its
    kernels get; ends when :meth:`stop` is called or the server ends."""

    def __init__(self, env: dict | None = None):
        import subprocess
        import tempfile
        import time

        self.folder = tempfile.mkdtemp(prefix="kmeans-tutor-kernels-")  # mode 0700
        self.socket_path = os.path.join(self.folder, "template")
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--template", self.socket_path],
            stdin=subprocess.PIPE, env=env, start_new_session=True, cwd=self.folder)
        # Listening comes first, before the imports (a few hundredths of a second): kernels
        # asked for from now on wait for the template instead of starting without it.
        deadline = time.monotonic() + LISTEN_TIMEOUT_S
        while not os.path.exists(self.socket_path) and self.running and time.monotonic() < deadline:
            time.sleep(0.01)

    def argv(self, cmd: list[str]) -> list[str]:
        """:func:`fork_argv` for this template (``cmd`` as it is once the template has ended)."""
        return fork_argv(self.socket_path, cmd) if self.running else list(cmd)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        import shutil

        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except Exception:
            self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--template"] and len(sys.argv) == 3:
        serve_template(sys.argv[2])
    elif len(sys.argv) >= 2:
        stand_in(sys.argv[1], sys.argv[2:])
    else:
        sys.exit("usage: kernel_fork.py SOCKET KERNEL-ARGS... | --template SOCKET")
