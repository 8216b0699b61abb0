"""The lesson server's kernels: a cap on open lessons, a clear page when full, safe sockets.

Every lesson page a student opens starts a Python kernel of its own (about 160 MB; see
"Teaching a class" in the README). Standalone Voilà starts as many as it is asked for,
so a class that reloads pages, or a stranger hammering an open port, can use up the
teacher's memory. :class:`LessonKernelManager` refuses to start a kernel

* when ``max_kernels`` kernels are already running or starting (0: no limit), or
* when the machine has less than ``min_available_mb`` of memory available,

and the student then gets a page that says so (HTTP 503, "Lesson server full") instead
of a lesson that never loads. Kernels restarted in place and kernels already running
are never touched.

Preheated kernels are replaced one at a time once students arrive: Voilà replaces each
kernel it hands out after ``fill_delay`` seconds, so a class arriving within a few seconds
would set off as many lesson runs at once as there are students, right when they start
clicking. :class:`LessonKernelManager` lets a replacement start only every
``refill_interval`` seconds (3 s: one lesson run keeps one core busy for about that long),
which leaves the other core to the students. The pool is filled at full speed before the
first student comes.

It also fixes a race of Voilà's preheated kernels with culling: a pooled kernel keeps the
time of its last activity from when it ran the lesson, perhaps long before a student takes
it, so the culler could shut it down in the seconds before the student's page connects.
A kernel handed out from the pool is marked active at that moment.

A kernel whose page never connects to it is shut down after ``connect_grace`` seconds.
Every GET of a lesson starts a kernel, whether or not a browser then connects to it: a link
preview, a health check, ``curl`` or someone after the cap would otherwise hold a slot until
culling (10 minutes). The grace counts from the kernel's last activity, which is its start,
its last output while it runs the lesson, or, for a preheated kernel, the moment it is
handed out; a kernel that is busy is never shut down, so a lesson that renders slowly on a
loaded machine does not use up its page's grace. Kernels waiting in Voilà's pool have no
page yet and are never shut down this way, and a kernel whose page did connect is left to
the culler.

:func:`kmeans_tutor.server.serve.serve` installs it in the Voilà process with
``--VoilaConfiguration.multi_kernel_manager_class=kmeans_tutor.server.lesson_kernels.LessonKernelManager``;
Voilà wraps it in its own pooling class when kernels are preheated, and preheated
kernels count towards the cap like any other.

:class:`LessonWebsocketConnection` accepts kernel websockets that speak the
``v1.kernel.websocket.jupyter.org`` protocol, the one lesson pages use, and refuses the
older ("legacy") one: Voilà 0.5 reads the header of every binary message it sends as if it
were v1, and a legacy binary message (every ipympl picture is one) sends that code into a
loop that takes a core and gigabytes of memory within seconds. Any client holding a
kernel id could set that off.

Each kernel's activity (what culling and the connect grace go by) is read from the headers of
its messages only (:meth:`LessonKernelManager.start_watching_activity`): jupyter_server's
own watch verified and unpacked every message whole (a quarter of the server's samples in a
profile while a class arrived; without it the server spent a tenth to a quarter less CPU).

Kernels are started through :mod:`kmeans_tutor.server.kernel_launch`, which holds Python's
garbage collector back while the lesson runs, skips matplotlib's ``set()`` docs and loads
no debugger (``lean_start``; together about 0.2 s of a lesson's second of CPU), and are
forked from a template process that imported the lessons' libraries once, when the server
started (:mod:`kmeans_tutor.server.kernel_fork`, ``fork_start``).

This module runs inside the Voilà server (it imports jupyter_server and tornado), never
in a kernel, and nothing else in the package imports it.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime
import json
import logging
import os
import time

import psutil
from jupyter_client.session import Session
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager, ServerKernelManager
from tornado import web
from tornado.ioloop import PeriodicCallback
from traitlets import Bool, Float, Int, default

from .kernel_fork import KernelTemplate
from .kernel_launch import launch_argv

__all__ = ["LessonKernel", "LessonKernelManager", "LessonWebsocketConnection", "ServerFullError",
           "available_mb", "WS_PROTOCOL"]

FULL_REASON = "Lesson server full"
WS_PROTOCOL = "v1.kernel.websocket.jupyter.org"  # the kernel websocket protocol lesson pages speak


class ServerFullError(web.HTTPError):
    """No room for another kernel; rendered as a 503 page carrying the message."""

    def __init__(self, message: str):
        # The message is passed as an argument, not as the format string, so that a
        # "%" in it cannot break jupyter_server's error page (log_message % args).
        super().__init__(503, "%s", message, reason=FULL_REASON)

    @property
    def message(self) -> str:
        return self.args[0]


def available_mb() -> float:
    """Memory the machine can still give to new processes, in MB (psutil's ``available``)."""
    return psutil.virtual_memory().available / 2**20


def _now() -> datetime.datetime:
    """The time now, aware UTC, as jupyter_server's activity stamps."""
    return datetime.datetime.now(datetime.timezone.utc)


class LessonKernel(ServerKernelManager):
    """One lesson kernel: started through :func:`~kmeans_tutor.server.kernel_launch.main`
    when its manager's ``lean_start`` is on and its spec is the standard Python one."""

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if getattr(self.parent, "lean_start", False):
            cmd = launch_argv(cmd)
            template = getattr(self.parent, "template", None)
            if template is not None:
                cmd = template.argv(cmd)
        return cmd


class LessonKernelManager(AsyncMappingKernelManager):
    """jupyter_server's kernel manager with a cap on kernels, a memory floor and a connect grace.

    Configure with ``--LessonKernelManager.max_kernels=N``,
    ``--LessonKernelManager.min_available_mb=M`` and
    ``--LessonKernelManager.connect_grace=S`` (all 0 to switch off), and
    ``--LessonKernelManager.kernel_optimize=2`` to start kernels as ``python -OO``, and
    ``--LessonKernelManager.lean_start=False`` to start them as plain ipykernel, and
    ``--LessonKernelManager.fork_start=False`` to have each import its libraries itself.
    """

    max_kernels = Int(0, min=0, config=True,
                      help="Most kernels running or starting at once; 0 means no limit.")
    min_available_mb = Int(0, min=0, config=True,
                           help="Refuse a new kernel while the machine has less memory available (MB).")
    refill_interval = Float(3.0, min=0, config=True,
                            help="Seconds between the starts of preheated kernels that replace ones "
                                 "handed out (0: no pacing).")
    kernel_optimize = Int(0, min=0, max=2, config=True,
                          help="Python's optimisation level for the kernels (PYTHONOPTIMIZE): 2 runs "
                               "them as python -OO, without docstrings or asserts "
                               "(kmeans_tutor.server.bytecode); 0 as plain python.")
    lean_start = Bool(True, config=True,
                      help="Start kernels lean (kmeans_tutor.server.kernel_launch): Python's garbage "
                           "collector off until their lesson has run, then what they hold frozen, "
                           "matplotlib's set() docs not built, no debugger. False: plain ipykernel.")
    fork_start = Bool(True, config=True,
                      help="With lean_start: fork each kernel from a template process that has "
                           "imported what the lessons import (kmeans_tutor.server.kernel_fork), "
                           "started with the server. False: every kernel imports it all itself.")
    connect_grace = Float(0.0, min=0, config=True,
                          help="Shut down a kernel whose page has not connected to it this many seconds "
                               "after the kernel's last activity (its start, its lesson run, its hand-out "
                               "from the preheated pool); 0: never.")

    @default("kernel_manager_class")
    def _default_kernel_manager_class(self):
        return f"{__name__}.LessonKernel"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._starting = 0  # kernels asked for whose start has not finished yet
        self._handed_out = False  # has a page taken a preheated kernel yet?
        self._next_refill = 0.0  # time.monotonic() before which no replacement starts
        self._awaiting_page: set[str] = set()  # kernels given to a page that has not connected yet
        self._grace_watch: PeriodicCallback | None = None
        self.template: KernelTemplate | None = None  # see start_template (fork_start)
        # Voilà's pooling subclass (preheated kernels) defines get_rendered_notebook,
        # which hands a pooled kernel to a page; wrap it to mark that kernel active and
        # start its connect grace.
        hand_out = getattr(self, "get_rendered_notebook", None)
        if hand_out is not None:
            async def get_rendered_notebook(*args, **kwargs):
                self._handed_out = True
                render_task, rendered_cache, kernel_id = await hand_out(*args, **kwargs)
                self.mark_active(kernel_id)
                self.await_page(kernel_id)
                return render_task, rendered_cache, kernel_id

            self.get_rendered_notebook = get_rendered_notebook

    def mark_active(self, kernel_id: str) -> None:
        """Reset a kernel's idle time, as if it had just done something."""
        if kernel_id in self:
            self.get_kernel(kernel_id).last_activity = _now()

    # --- activity, for culling -------------------------------------------------------------

    def start_watching_activity(self, kernel_id):
        """Record a kernel's activity and execution state from its IOPub messages, reading
        only what that needs: jupyter_server's own watch (which this replaces, to the same
        effect) verifies and unpacks every message whole (a signature over its content,
        every picture included; the dates in its headers) and makes a debug log record of
        it (a quarter of the server's samples in a profile of a class of 30). Here a message's two
        small header frames say its type and its request's type, which is all that moves
        ``last_activity``; a status message, the only one whose content is used (the
        kernel's execution state), is verified and unpacked whole, as before. A message
        that cannot be read is left out. The messages themselves reach the page through
        the kernel's websocket, which checks them as always.
        """
        kernel = self._kernels[kernel_id]
        kernel.reason = ""
        kernel.last_activity = _now()
        kernel._activity_stream = kernel.connect_iopub()
        session = Session(config=kernel.session.config, key=kernel.session.key)
        log = self.log

        def record_activity(msg_list):
            try:
                _idents, frames = session.feed_identities(msg_list)
                msg_type = json.loads(frames[1])["msg_type"]
                parent = json.loads(frames[2])
            except (ValueError, TypeError, KeyError, IndexError):
                return
            parent_type = parent.get("msg_type") if isinstance(parent, dict) else None
            if (self.track_message_type(msg_type) or self.track_message_type(parent_type)
                    or kernel.execution_state == "busy"):
                self.last_kernel_activity = kernel.last_activity = _now()
            if msg_type == "status":
                try:
                    state = session.deserialize(frames)["content"]["execution_state"]
                except (ValueError, TypeError, KeyError, IndexError):
                    return
                if self.track_message_type(parent_type):
                    kernel.execution_state = state
                elif kernel.execution_state == "starting" and state != "starting":
                    # As jupyter_server: after starting, "idle" unless the status answers
                    # a tracked request.
                    kernel.execution_state = "idle"
            if log.isEnabledFor(logging.DEBUG):
                log.debug("activity on %s: %s (%s)", kernel_id, msg_type, kernel.execution_state)

        kernel._activity_stream.on_recv(record_activity)

    # --- pages that never connect ---------------------------------------------------------

    def await_page(self, kernel_id: str) -> None:
        """Give ``kernel_id`` ``connect_grace`` seconds, from its last activity, for its page to connect."""
        if not self.connect_grace:
            return
        self._awaiting_page.add(kernel_id)
        if self._grace_watch is None:
            # Checked often enough that a kernel goes within a quarter of the grace after it
            # ran out (at least every 10 s, at most every second).
            every = min(10.0, max(1.0, self.connect_grace / 4))
            self._grace_watch = PeriodicCallback(self.shut_down_unconnected, 1000 * every)
            self._grace_watch.start()

    def notify_connect(self, kernel_id):
        # Called by every kernel websocket that opens: its page has arrived.
        self._awaiting_page.discard(kernel_id)
        super().notify_connect(kernel_id)

    def unconnected(self, now: datetime.datetime | None = None) -> list[str]:
        """Kernels whose page has not connected within ``connect_grace`` of their last activity."""
        now = now or _now()
        late = []
        for kernel_id in list(self._awaiting_page):
            if kernel_id not in self:  # shut down or culled meanwhile
                self._awaiting_page.discard(kernel_id)
                continue
            kernel = self.get_kernel(kernel_id)
            # A busy kernel is still running its lesson (slowly, on a loaded machine).
            if getattr(kernel, "execution_state", None) == "busy":
                continue
            idle = now - getattr(kernel, "last_activity", now)
            if idle.total_seconds() > self.connect_grace:
                late.append(kernel_id)
        return late

    async def shut_down_unconnected(self) -> None:
        """Shut down every kernel :meth:`unconnected` names, freeing its slot under the cap."""
        for kernel_id in self.unconnected():
            self._awaiting_page.discard(kernel_id)
            try:
                await self.shutdown_kernel(kernel_id)
            except Exception as exc:  # gone meanwhile, or stuck: the culler will try again
                self.log.warning("Could not shut down kernel %s, whose page never connected: %s", kernel_id, exc)
            else:  # logged once the slot is free
                self.log.warning("Shut down kernel %s: no page connected to it within %g s of its last "
                                 "activity (kmeans-tutor serve --connect-grace).", kernel_id, self.connect_grace)

    @property
    def kernels_in_use(self) -> int:
        """Kernels running plus kernels still starting."""
        return len(self) + self._starting

    def check_room(self) -> None:
        """Raise :class:`ServerFullError` if another kernel must not start now."""
        if self.max_kernels and self.kernels_in_use >= self.max_kernels:
            self.log.warning("Refused a new kernel: %d of %d in use.", self.kernels_in_use, self.max_kernels)
            raise ServerFullError(
                f"This lesson server already has {self.kernels_in_use} lessons open, the most it "
                f"is set up for ({self.max_kernels}). Close lesson tabs you are not using, wait "
                "a minute, then reload this page. Teachers: see \"Teaching a class\" in the "
                "kmeans-tutor README (kmeans-tutor serve --max-kernels)."
            )
        if self.min_available_mb:
            free = available_mb()
            if free < self.min_available_mb:
                self.log.warning("Refused a new kernel: %.0f MB of memory available, below %d MB.",
                                 free, self.min_available_mb)
                raise ServerFullError(
                    f"The computer running this lesson server is low on memory ({free:.0f} MB "
                    f"available), so no new lesson can start. Close lesson tabs you are not "
                    "using, wait a minute, then reload this page."
                )

    async def _pace_refill(self) -> None:
        """Wait for this replacement's turn: one every ``refill_interval`` seconds."""
        now = time.monotonic()
        turn = max(now, self._next_refill)
        self._next_refill = turn + self.refill_interval
        if turn > now:
            await asyncio.sleep(turn - now)

    async def start_kernel(self, *args, **kwargs):
        kernel_id = kwargs.get("kernel_id")
        preheating = (kwargs.get("env") or {}).get("VOILA_PREHEAT") == "True"
        if preheating and self._handed_out and self.refill_interval:
            await self._pace_refill()
        new = kernel_id is None or kernel_id not in self  # not a restart in place
        if new:
            self.check_room()
        if self.kernel_optimize:
            kwargs["env"] = {**(kwargs.get("env") or os.environ), "PYTHONOPTIMIZE": str(self.kernel_optimize)}
        self.start_template()
        # Counted from the check on, so that pages arriving together cannot all pass it.
        self._starting += 1
        try:
            kernel_id = await super().start_kernel(*args, **kwargs)
        finally:
            self._starting -= 1
        # A page asked for this kernel; a preheated one waits in the pool for its page.
        if new and not preheating:
            self.await_page(kernel_id)
        return kernel_id


    def start_template(self) -> None:
        """Start the kernels' template (once), with the environment kernels get; the lesson
        server calls it as it starts, so that the template imports before the first page."""
        if self.template is not None or not (self.lean_start and self.fork_start):
            return
        env = dict(os.environ)
        env.pop("PYTHONEXECUTABLE", None)  # as jupyter_client leaves it out of a kernel's
        if self.kernel_optimize:
            env["PYTHONOPTIMIZE"] = str(self.kernel_optimize)
        try:
            self.template = KernelTemplate(env)
        except OSError as exc:
            self.log.warning("Kernels start without a template: %s", exc)
            self.fork_start = False
        else:
            atexit.register(self.template.stop)

    async def _async_shutdown_all(self, now=False):
        await super()._async_shutdown_all(now=now)
        if self.template is not None:
            self.template.stop()
            self.template = None

    shutdown_all = _async_shutdown_all


class LessonWebsocketConnection(ZMQChannelsWebsocketConnection):
    """A kernel websocket that must speak the v1 protocol (see the module docstring).

    Install with ``--Voila.kernel_websocket_connection_class=`` this class. The check runs
    before the websocket handshake, so a refused client gets HTTP 400 and no socket.
    """

    async def prepare(self):
        offered = self.websocket_handler.request.headers.get("Sec-WebSocket-Protocol", "")
        if WS_PROTOCOL not in (p.strip() for p in offered.split(",")):
            self.log.warning("Refused a kernel websocket without the %s protocol.", WS_PROTOCOL)
            raise web.HTTPError(400, "%s", f"kernel websockets here must use the {WS_PROTOCOL} protocol")
        await super().prepare()
