"""The lesson server's kernel manager: the cap, the memory floor, the "full" message and
the connect grace.

These drive :class:`LessonKernelManager` directly with a fake kernel start; the browser
tests (tests/browser/test_capacity.py) check the same through a real server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import types

import pytest
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

from kmeans_tutor.server import lesson_kernels as lesson_server
from kmeans_tutor.server.lesson_kernels import FULL_REASON, LessonKernelManager, ServerFullError


def run(coro):
    """``asyncio.run(coro)`` in a thread of its own: Playwright's sync API (browser tests in
    the same session) leaves an event loop running in the main thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


@pytest.fixture
def fake_kernels(monkeypatch):
    """Make jupyter_server's kernel starts and shutdowns fake: a start takes 10 ms and records
    a kernel that is idle and was active just now; a shutdown forgets it."""
    counter = iter(range(10**6))

    async def fake_start(self, *args, **kwargs):
        await asyncio.sleep(0.01)
        kernel_id = kwargs.get("kernel_id") or f"k{next(counter)}"
        self._kernels[kernel_id] = types.SimpleNamespace(last_activity=now(), execution_state="idle")
        return kernel_id

    async def fake_shutdown(self, kernel_id, *args, **kwargs):
        del self._kernels[kernel_id]

    monkeypatch.setattr(AsyncMappingKernelManager, "start_kernel", fake_start)
    monkeypatch.setattr(AsyncMappingKernelManager, "shutdown_kernel", fake_shutdown)


@pytest.fixture
def manager(fake_kernels, tmp_path):
    """A LessonKernelManager on fake kernels (no template to fork them from: they are fake)."""
    return LessonKernelManager(root_dir=str(tmp_path), fork_start=False)


def start_many(manager, n):
    """Start n kernels at once; the ids and the errors, in order."""

    async def go():
        return await asyncio.gather(*(manager.start_kernel(kernel_name="python3") for _ in range(n)),
                                    return_exceptions=True)

    return run(go())


def test_no_limit_by_default(manager):
    assert manager.max_kernels == 0 and manager.min_available_mb == 0
    results = start_many(manager, 6)
    assert not [r for r in results if isinstance(r, Exception)]
    assert len(manager) == 6


def test_cap_counts_kernels_that_are_still_starting(manager):
    manager.max_kernels = 3
    # Five pages arrive together: every check happens before any start finishes.
    results = start_many(manager, 5)
    started = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, ServerFullError)]
    assert len(started) == 3 and len(refused) == 2
    assert len(manager) == 3 and manager.kernels_in_use == 3


def test_full_message_says_why_and_what_to_do(manager):
    manager.max_kernels = 1
    start_many(manager, 1)
    with pytest.raises(ServerFullError) as info:
        run(manager.start_kernel(kernel_name="python3"))
    err = info.value
    assert err.status_code == 503 and err.reason == FULL_REASON == "Lesson server full"
    # jupyter_server builds the page's message as log_message % args.
    page_message = err.log_message % err.args
    assert page_message == err.message
    assert "already has 1 lessons open, the most it is set up for (1)" in page_message
    assert "Close lesson tabs" in page_message and "--max-kernels" in page_message


def test_restarting_a_running_kernel_is_not_refused(manager):
    manager.max_kernels = 1
    (kernel_id,) = start_many(manager, 1)
    assert run(manager.start_kernel(kernel_id=kernel_id)) == kernel_id


def test_a_slot_frees_when_a_kernel_goes(manager):
    manager.max_kernels = 2
    ids = start_many(manager, 2)
    assert isinstance(start_many(manager, 1)[0], ServerFullError)
    del manager._kernels[ids[0]]  # culled or shut down
    assert isinstance(start_many(manager, 1)[0], str)


def test_low_memory_refuses_with_its_own_message(manager, monkeypatch):
    manager.min_available_mb = 400
    monkeypatch.setattr(lesson_server, "available_mb", lambda: 250.0)
    (err,) = start_many(manager, 1)
    assert isinstance(err, ServerFullError)
    assert "low on memory (250 MB available)" in err.message
    monkeypatch.setattr(lesson_server, "available_mb", lambda: 900.0)
    assert isinstance(start_many(manager, 1)[0], str)


def test_percent_in_a_message_cannot_break_the_page():
    err = ServerFullError("100% full")
    assert err.log_message % err.args == "100% full"


def test_available_mb_is_positive():
    assert lesson_server.available_mb() > 0


def test_a_preheated_kernel_is_marked_active_when_handed_out(monkeypatch, tmp_path):
    """Voilà's pooling subclass hands out kernels that may have idled since they ran the
    lesson; the culler must not take one before the student's page connects."""
    import datetime
    import types

    from jupyter_server._tz import utcnow

    long_ago = utcnow() - datetime.timedelta(hours=1)

    class Pooled(LessonKernelManager):  # the shape of voila_kernel_manager_factory's class
        async def get_rendered_notebook(self, notebook_name, **kwargs):
            return "render task", ["<html>"], "pooled"

    manager = Pooled(root_dir=str(tmp_path))
    manager._kernels["pooled"] = types.SimpleNamespace(last_activity=long_ago)
    result = run(manager.get_rendered_notebook(notebook_name="01_a.ipynb"))
    assert result == ("render task", ["<html>"], "pooled")
    assert utcnow() - manager._kernels["pooled"].last_activity < datetime.timedelta(seconds=5)
    # A kernel the manager does not know (shut down meanwhile) is left alone.
    manager.mark_active("gone")


def test_replacements_for_handed_out_kernels_start_one_at_a_time(manager):
    """Before the first student: the pool fills at full speed. After: one start per interval."""
    import time as clock

    manager.refill_interval = 0.2
    preheat = {"env": {"VOILA_PREHEAT": "True"}}

    async def start_three():
        t0 = clock.monotonic()
        ids = await asyncio.gather(*(manager.start_kernel(kernel_name="python3", **preheat) for _ in range(3)))
        return ids, clock.monotonic() - t0

    _, filling = run(start_three())
    assert filling < 0.15  # the first fill is not paced

    manager._handed_out = True  # a page has taken a preheated kernel
    _, refilling = run(start_three())
    assert refilling >= 0.4  # starts at 0, 0.2 and 0.4 s

    # A student's own (cold) kernel never waits for the pacing.
    async def cold():
        t0 = clock.monotonic()
        await manager.start_kernel(kernel_name="python3", env={"VOILA_PREHEAT": "False"})
        return clock.monotonic() - t0

    assert run(cold()) < 0.15


# --- connect grace: kernels whose page never connects -------------------------------------


GRACE = 60.0
PREHEAT = {"env": {"VOILA_PREHEAT": "True"}}


def idle_for(manager, kernel_id, seconds):
    """Pretend ``kernel_id``'s last activity was ``seconds`` ago."""
    manager.get_kernel(kernel_id).last_activity = now() - datetime.timedelta(seconds=seconds)


class Pooled(LessonKernelManager):
    """The shape of Voilà's pooling class (voila_kernel_manager_factory): a page takes a
    kernel the pool started earlier."""

    async def get_rendered_notebook(self, notebook_name, **kwargs):
        return "render task", [], self.pool.pop()


@pytest.fixture
def graced(manager):
    manager.connect_grace = GRACE
    return manager


def test_a_kernel_whose_page_never_connects_is_shut_down_and_frees_its_slot(graced):
    graced.max_kernels = 1
    (kernel_id,) = start_many(graced, 1)  # a plain GET of the lesson
    assert isinstance(start_many(graced, 1)[0], ServerFullError)
    idle_for(graced, kernel_id, GRACE + 1)
    run(graced.shut_down_unconnected())
    assert kernel_id not in graced
    assert isinstance(start_many(graced, 1)[0], str)  # the next student gets the slot


def test_a_kernel_within_its_grace_is_kept(graced):
    (kernel_id,) = start_many(graced, 1)
    idle_for(graced, kernel_id, GRACE - 5)
    run(graced.shut_down_unconnected())
    assert kernel_id in graced


def test_a_kernel_whose_page_connected_is_left_to_the_culler(graced):
    (kernel_id,) = start_many(graced, 1)
    graced.notify_connect(kernel_id)
    graced.notify_disconnect(kernel_id)  # even once the tab is closed
    idle_for(graced, kernel_id, GRACE * 10)
    run(graced.shut_down_unconnected())
    assert kernel_id in graced


def test_a_busy_kernel_is_kept_however_long_it_takes(graced):
    # A lesson rendering slowly on a loaded machine: its page cannot connect yet.
    (kernel_id,) = start_many(graced, 1)
    graced.get_kernel(kernel_id).execution_state = "busy"
    idle_for(graced, kernel_id, GRACE * 10)
    run(graced.shut_down_unconnected())
    assert kernel_id in graced
    graced.get_kernel(kernel_id).execution_state = "idle"  # the lesson ran; still no page
    run(graced.shut_down_unconnected())
    assert kernel_id not in graced


def test_no_grace_keeps_every_kernel(manager):
    assert manager.connect_grace == 0  # the trait's default; serve() passes its own
    (kernel_id,) = start_many(manager, 1)
    idle_for(manager, kernel_id, 10**6)
    run(manager.shut_down_unconnected())
    assert kernel_id in manager


def test_a_preheated_kernel_waits_in_the_pool_and_gets_its_grace_when_handed_out(fake_kernels, tmp_path):
    manager = Pooled(root_dir=str(tmp_path), connect_grace=GRACE)
    manager.pool = [run(manager.start_kernel(kernel_name="python3", **PREHEAT)) for _ in range(2)]
    waiting, taken = manager.pool
    for kernel_id in (waiting, taken):
        idle_for(manager, kernel_id, GRACE * 10)  # preheated long before anyone came
    run(manager.shut_down_unconnected())
    assert waiting in manager and taken in manager

    assert run(manager.get_rendered_notebook(notebook_name="01_a.ipynb"))[2] == taken
    run(manager.shut_down_unconnected())
    assert taken in manager  # its grace counts from the hand-out
    idle_for(manager, taken, GRACE + 1)
    run(manager.shut_down_unconnected())
    assert taken not in manager
    assert waiting in manager  # the one still in the pool is never touched


def test_a_restart_in_place_does_not_start_a_grace(graced):
    (kernel_id,) = start_many(graced, 1)
    graced.notify_connect(kernel_id)
    assert run(graced.start_kernel(kernel_id=kernel_id)) == kernel_id
    idle_for(graced, kernel_id, GRACE * 10)
    run(graced.shut_down_unconnected())
    assert kernel_id in graced


def test_kernels_start_as_python_OO_when_asked(monkeypatch, tmp_path):
    seen = []

    async def fake_start(self, *args, **kwargs):
        seen.append(kwargs.get("env"))
        return f"k{len(seen)}"

    monkeypatch.setattr(AsyncMappingKernelManager, "start_kernel", fake_start)
    monkeypatch.setenv("KMEANS_TUTOR_PROBE", "kept")
    plain = LessonKernelManager(root_dir=str(tmp_path))
    run(plain.start_kernel(kernel_name="python3"))
    run(plain.start_kernel(kernel_name="python3", env={"VOILA_PREHEAT": "False"}))
    assert seen == [None, {"VOILA_PREHEAT": "False"}]
    optimised = LessonKernelManager(root_dir=str(tmp_path), kernel_optimize=2)
    run(optimised.start_kernel(kernel_name="python3"))  # no env: the server's own, plus the level
    run(optimised.start_kernel(kernel_name="python3", env={"VOILA_PREHEAT": "True", "A": "b"}))
    assert seen[2]["PYTHONOPTIMIZE"] == "2" and seen[2]["KMEANS_TUTOR_PROBE"] == "kept"
    assert seen[3] == {"VOILA_PREHEAT": "True", "A": "b", "PYTHONOPTIMIZE": "2"}


# --- activity watch -------------------------------------------------------------------------

class CapturedStream:
    """Stands in for a kernel's IOPub stream: keeps the callback the watch registers."""

    def on_recv(self, callback):
        self.callback = callback


def watched_kernel(manager, kernel_id, watch, key=b"secret"):
    """A fake kernel under ``watch`` (an unbound start_watching_activity); its message feed."""
    from jupyter_client.session import Session

    stream = CapturedStream()
    manager._kernels[kernel_id] = types.SimpleNamespace(session=Session(key=key), connect_iopub=lambda: stream,
                                                        execution_state="starting")  # as start_kernel sets it
    watch(manager, kernel_id)
    return manager._kernels[kernel_id], stream.callback


def wire(session, msg_type, content, parent_type=None, buffers=()):
    """An IOPub message as its frames arrive from the kernel's socket."""
    parent = session.msg_header(parent_type) if parent_type else {}
    msg = session.msg(msg_type, content, parent=parent)
    frames = session.serialize(msg)
    return [f if isinstance(f, bytes) else f.encode() for f in frames] + list(buffers)


ACTIVITY = [  # (msg_type, content, parent's msg_type)
    ("status", {"execution_state": "starting"}, None),
    ("status", {"execution_state": "busy"}, "kernel_info_request"),
    ("status", {"execution_state": "idle"}, "kernel_info_request"),
    ("status", {"execution_state": "busy"}, "execute_request"),
    ("stream", {"name": "stdout", "text": "hi"}, "execute_request"),
    ("display_data", {"data": {"image/png": "x" * 50_000}, "metadata": {}}, "execute_request"),
    ("status", {"execution_state": "idle"}, "execute_request"),
    ("comm_open", {"comm_id": "c", "target_name": "jupyter.widget", "data": {}}, "comm_msg"),
    ("status", {"execution_state": "busy"}, "comm_msg"),
    ("comm_msg", {"comm_id": "c", "data": {"method": "update"}}, "comm_msg"),
    ("status", {"execution_state": "idle"}, "comm_msg"),
    ("status", {"execution_state": "busy"}, "comm_info_request"),
    ("status", {"execution_state": "idle"}, "comm_info_request"),
]


def test_the_lean_activity_watch_records_what_jupyter_servers_own_records(manager):
    """Same messages in, same execution states and the same moves of last_activity out."""
    ours, feed_ours = watched_kernel(manager, "ours", LessonKernelManager.start_watching_activity)
    theirs, feed_theirs = watched_kernel(manager, "theirs", AsyncMappingKernelManager.start_watching_activity)
    assert ours.execution_state == theirs.execution_state == "starting"
    long_ago = now() - datetime.timedelta(hours=1)
    states, moved = set(), set()
    for msg_type, content, parent_type in ACTIVITY:
        for kernel in (ours, theirs):
            kernel.last_activity = long_ago
        feed_ours(wire(ours.session, msg_type, content, parent_type))
        feed_theirs(wire(theirs.session, msg_type, content, parent_type))
        assert ours.execution_state == theirs.execution_state, (msg_type, parent_type)
        assert (ours.last_activity > long_ago) == (theirs.last_activity > long_ago), (msg_type, parent_type)
        states.add(ours.execution_state)
        moved.add(ours.last_activity > long_ago)
    assert states == {"starting", "busy", "idle"} and moved == {True, False}  # every branch taken


def test_the_activity_watch_ignores_forged_and_malformed_messages(manager):
    from jupyter_client.session import Session

    kernel, feed = watched_kernel(manager, "k", LessonKernelManager.start_watching_activity)
    feed(wire(kernel.session, "status", {"execution_state": "idle"}, "kernel_info_request"))
    assert kernel.execution_state == "idle"
    # A status signed with another key does not change the state.
    forged = wire(Session(key=b"not the kernel's"), "status", {"execution_state": "busy"}, "execute_request")
    feed(forged)
    assert kernel.execution_state == "idle"
    # Frames that are no message at all: no error, nothing recorded.
    kernel.last_activity = long_ago = now() - datetime.timedelta(hours=1)
    for frames in ([], [b"<IDS|MSG>"], [b"<IDS|MSG>", b"sig", b"not json", b"{}", b"{}", b"{}"],
                   [b"<IDS|MSG>", b"sig", b"[1, 2]", b"{}", b"{}", b"{}"], [b"no delimiter"]):
        feed(frames)
    assert kernel.execution_state == "idle" and kernel.last_activity == long_ago


def test_the_activity_watch_logs_at_debug_only_when_asked(manager, caplog):
    import logging

    kernel, feed = watched_kernel(manager, "k", LessonKernelManager.start_watching_activity)
    manager.log.setLevel(logging.INFO)
    with caplog.at_level(logging.INFO, logger=manager.log.name):
        feed(wire(kernel.session, "stream", {"name": "stdout", "text": "x"}, "execute_request"))
    assert not [r for r in caplog.records if "activity on" in r.getMessage()]
    manager.log.setLevel(logging.DEBUG)
    with caplog.at_level(logging.DEBUG, logger=manager.log.name):
        feed(wire(kernel.session, "stream", {"name": "stdout", "text": "x"}, "execute_request"))
    assert [r for r in caplog.records if "activity on k: stream" in r.getMessage()]
