"""Tables kept between kernels: read back only for the same inputs and code, never half
a file, never a pickle, and no trouble with the folder ever reaches the caller."""

import os

import numpy as np
import pytest

from kmeans_tutor.data import kept
from kmeans_tutor.data.kept import kept_table, tables_folder


@pytest.fixture
def folder(tmp_path, monkeypatch):
    path = tmp_path / "tables"
    monkeypatch.setenv("KMEANS_TUTOR_TABLES", str(path))
    return path


class Counter:
    """compute() for kept_table, counting its calls."""

    def __init__(self, value=1.5):
        self.calls, self.value = 0, value

    def __call__(self):
        self.calls += 1
        return {"k": np.arange(1, 4), "inertia": np.array([3.0, self.value, 0.5])}


def always(table):
    return True


def test_a_table_is_computed_once_then_read_back_unchanged(folder):
    compute = Counter()
    X = np.arange(10.0).reshape(5, 2)
    first, was_kept = kept_table("t", (X, 3, 0), compute, always)
    assert not was_kept and compute.calls == 1
    second, was_kept = kept_table("t", (X, 3, 0), compute, always)
    assert was_kept and compute.calls == 1
    assert second.keys() == first.keys()
    for name in first:
        assert second[name].dtype == first[name].dtype
        np.testing.assert_array_equal(second[name], first[name])
    assert [p.suffix for p in folder.iterdir()] == [".npz"]  # no temporary file left behind


@pytest.mark.parametrize("other", [
    ("t", (np.arange(10.0).reshape(5, 2) + 1e-12, 3, 0)),  # other data, one bit apart
    ("t", (np.arange(10.0).reshape(2, 5), 3, 0)),  # the same bytes in another shape
    ("t", (np.arange(10.0, dtype=np.float32).reshape(5, 2), 3, 0)),  # another dtype
    ("t", (np.arange(10.0).reshape(5, 2), 3, 1)),  # another setting
    ("t", (np.arange(10.0).reshape(5, 2), "3", 0)),  # the same text, another type
    ("u", (np.arange(10.0).reshape(5, 2), 3, 0)),  # another table
])
def test_other_inputs_are_other_tables(folder, other):
    kept_table("t", (np.arange(10.0).reshape(5, 2), 3, 0), Counter(), always)
    compute = Counter()
    _, was_kept = kept_table(*other, compute, always)
    assert not was_kept and compute.calls == 1


def test_changed_algorithm_code_is_another_table(folder, monkeypatch):
    inputs = (np.zeros(2), 1)
    kept_table("t", inputs, Counter(), always)
    monkeypatch.setattr(kept, "_code_digest", lambda: b"other code")
    compute = Counter()
    assert kept_table("t", inputs, compute, always)[1] is False and compute.calls == 1


def test_the_code_digest_covers_every_algorithm_file():
    names = {p.name for p in kept._CORE.glob("*.py")}
    assert {"lloyd.py", "seeding.py", "kernels.py", "estimator.py", "choosing.py"} <= names


def test_a_table_that_fails_the_check_is_computed_again_and_replaced(folder):
    kept_table("t", (1,), Counter(value=2.0), always)
    compute = Counter(value=1.0)
    table, was_kept = kept_table("t", (1,), compute, lambda t: t["inertia"][1] == 1.0)
    assert not was_kept and compute.calls == 1 and table["inertia"][1] == 1.0
    assert kept_table("t", (1,), Counter(), lambda t: t["inertia"][1] == 1.0)[1] is True


@pytest.mark.parametrize("damage", [b"", b"not a zip file", b"PK\x03\x04" + b"\0" * 40])
def test_a_damaged_file_is_computed_again(folder, damage):
    kept_table("t", (1,), Counter(), always)
    (path,) = folder.iterdir()
    path.write_bytes(damage)
    compute = Counter()
    table, was_kept = kept_table("t", (1,), compute, always)
    assert not was_kept and compute.calls == 1 and table["inertia"][1] == 1.5
    assert kept_table("t", (1,), Counter(), always)[1] is True  # replaced by a good one


def test_a_pickle_in_the_folder_is_never_loaded(folder):
    kept_table("t", (1,), Counter(), always)
    (path,) = folder.iterdir()
    np.savez(path, k=np.array([object()], dtype=object))  # would need allow_pickle
    compute = Counter()
    assert kept_table("t", (1,), compute, always)[1] is False and compute.calls == 1


def test_tables_that_are_not_numbers_are_not_kept(folder):
    compute = lambda: {"names": np.array(["a", object()], dtype=object)}
    kept_table("t", (1,), compute, always)
    assert not folder.exists() or not list(folder.iterdir())


@pytest.mark.parametrize("where, error", [
    ("replace", PermissionError(13, "Permission denied")),  # a folder others own
    ("savez", OSError(28, "No space left on device")),  # a full disk, half-way through a file
])
def test_a_folder_that_refuses_the_file_only_means_nothing_is_kept(folder, monkeypatch, where, error):
    def refuse(*args, **kwargs):
        raise error

    monkeypatch.setattr(kept.os if where == "replace" else kept.np, where, refuse)
    compute = Counter()
    for _ in range(2):
        table, was_kept = kept_table("t", (1,), compute, always)
        assert not was_kept and table["inertia"][1] == 1.5
    assert compute.calls == 2
    assert list(folder.iterdir()) == []  # no temporary file left behind


def test_a_folder_that_cannot_be_made_only_means_nothing_is_kept(tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("in the way")
    monkeypatch.setenv("KMEANS_TUTOR_TABLES", str(blocker / "tables"))
    compute = Counter()
    for _ in range(2):
        assert kept_table("t", (1,), compute, always)[1] is False
    assert compute.calls == 2


def test_off_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("KMEANS_TUTOR_TABLES", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert tables_folder() is None
    compute = Counter()
    kept_table("t", (1,), compute, always)
    kept_table("t", (1,), compute, always)
    assert compute.calls == 2 and not list(tmp_path.iterdir())


def test_the_default_folder_is_in_the_users_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("KMEANS_TUTOR_TABLES")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert tables_folder() == tmp_path / "kmeans-tutor" / "tables"


def test_the_least_recently_used_tables_go_first(folder, monkeypatch):
    monkeypatch.setattr(kept, "MAX_FILES", 3)
    for i in range(3):
        kept_table("t", (i,), Counter(), always)
    files = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime)
    for age, path in enumerate(files):  # 0 oldest
        os.utime(path, (1000 + age, 1000 + age))
    kept_table("t", (0,), Counter(), always)  # read back: now the most recently used
    kept_table("t", (3,), Counter(), always)  # a fourth table: one must go
    assert len(list(folder.glob("*.npz"))) == 3
    compute = Counter()
    assert kept_table("t", (0,), compute, always)[1] is True  # used lately: kept
    assert kept_table("t", (1,), compute, always)[1] is False  # the least recently used: gone


def test_what_stopped_kernels_left_behind_goes_after_an_hour(folder):
    kept_table("t", (1,), Counter(), always, wait=5)  # a table, and its lock file
    old = 1000.0
    leftovers = {name: folder / name for name in
                 (".half-written.tmp", ".gone-table.npz.lock", ".fresh.tmp", ".fresh-gone.npz.lock")}
    for name, path in leftovers.items():
        path.write_bytes(b"")
        if "fresh" not in name:
            os.utime(path, (old, old))
    os.utime(lock_path(folder), (old, old))  # old, but its table is kept
    kept_table("t", (2,), Counter(), always)  # a write prunes
    left = {p.name for p in folder.iterdir()}
    assert ".half-written.tmp" not in left and ".gone-table.npz.lock" not in left
    assert {".fresh.tmp", ".fresh-gone.npz.lock", lock_path(folder).name} <= left
    assert len(list(folder.glob("*.npz"))) == 2


def test_without_the_algorithms_source_nothing_is_kept(folder, monkeypatch, tmp_path):
    """Installed as bytecode only, versions could not be told apart: keep nothing."""
    monkeypatch.setattr(kept, "_CORE", tmp_path / "no source here")
    kept._code_digest.cache_clear()
    try:
        compute = Counter()
        for _ in range(2):
            assert kept_table("t", (1,), compute, always)[1] is False
        assert compute.calls == 2 and not folder.exists()
    finally:
        monkeypatch.undo()
        kept._code_digest.cache_clear()


def test_a_file_too_large_to_be_a_table_is_not_read(folder, monkeypatch):
    kept_table("t", (1,), Counter(), always)
    (path,) = folder.iterdir()
    monkeypatch.setattr(kept, "MAX_BYTES", path.stat().st_size - 1)
    loads = []
    monkeypatch.setattr(kept.np, "load", lambda *a, **k: loads.append(a) or pytest.fail("read"))
    compute = Counter()
    assert kept_table("t", (1,), compute, always)[1] is False
    assert compute.calls == 1 and loads == []


def test_a_table_too_large_to_be_read_back_is_not_written(folder):
    big = {"png": np.zeros(kept.MAX_BYTES, np.uint8)}
    table, was_kept = kept_table("t", (1,), lambda: big, always)
    assert table is big and not was_kept
    assert not folder.exists() or not list(folder.glob("*"))
    calls = []
    kept_table("t", (1,), lambda: calls.append(1) or big, always)
    assert calls == [1]  # computed again: nothing was kept


def test_a_computation_with_nothing_to_keep_writes_nothing(folder):
    table, was_kept = kept_table("t", (1,), lambda: None, always)
    assert table is None and not was_kept
    assert not folder.exists() or not list(folder.glob("*"))


# --- kernels that need the same table at the same moment -------------------------------------

def lock_path(folder, name="t"):
    return folder / f".{kept._file_name(name, (1,))}.lock"


def hold_lock(folder, name="t"):
    """Take the lock on table ``name`` as another kernel would: an open descriptor (close it
    to let go)."""
    import fcntl
    folder.mkdir(exist_ok=True)
    fd = os.open(lock_path(folder, name), os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def is_locked(folder, name="t"):
    import fcntl
    try:
        fd = os.open(lock_path(folder, name), os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def test_a_kernel_that_waits_gets_the_table_the_computing_one_keeps(folder):
    import threading
    started, finish = threading.Event(), threading.Event()

    def slow():  # the first kernel, still computing
        started.set()
        finish.wait(5)
        return {"v": np.array([7.0])}

    first = threading.Thread(target=kept_table, args=("t", (1,), slow, always), kwargs={"wait": 5})
    first.start()
    started.wait(5)
    assert is_locked(folder)
    threading.Timer(0.3, finish.set).start()
    compute = Counter()
    table, was_kept = kept_table("t", (1,), compute, always, wait=5)
    first.join()
    assert was_kept and compute.calls == 0 and table["v"][0] == 7.0
    assert not is_locked(folder)  # the lock went with the computation


def test_without_wait_nothing_is_locked_or_waited_for(folder):
    fd = hold_lock(folder)  # another kernel computing it
    try:
        compute = Counter()
        assert kept_table("t", (1,), compute, always)[1] is False and compute.calls == 1
    finally:
        os.close(fd)


def test_a_kernel_that_holds_the_lock_too_long_costs_at_most_the_wait(folder):
    import time
    fd = hold_lock(folder)  # a kernel that never finishes
    try:
        compute = Counter()
        start = time.monotonic()
        table, was_kept = kept_table("t", (1,), compute, always, wait=0.3)
        assert not was_kept and compute.calls == 1 and table["inertia"][1] == 1.5
        assert 0.25 < time.monotonic() - start < 3  # waited for the lock, not for ever
    finally:
        os.close(fd)


def test_a_kernel_that_gives_up_without_a_table_lets_the_waiter_compute_it(folder):
    import threading
    import time
    fd = hold_lock(folder)
    threading.Timer(0.2, os.close, (fd,)).start()  # it had nothing to keep
    compute = Counter()
    start = time.monotonic()
    _, was_kept = kept_table("t", (1,), compute, always, wait=5)
    assert compute.calls == 1 and not was_kept
    assert 0.15 < time.monotonic() - start < 3  # it waited for the other, then computed
    assert kept_table("t", (1,), Counter(), always)[1]  # and kept it


KILLED_HOLDER = r"""
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


def test_the_lock_of_a_kernel_that_was_killed_holds_nobody_up(folder):
    import subprocess
    import sys
    import time
    folder.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", KILLED_HOLDER, str(lock_path(folder))],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    holder.kill()  # mid-computation, with no chance to clean up
    holder.wait(10)
    compute = Counter()
    start = time.monotonic()
    assert kept_table("t", (1,), compute, always, wait=5)[1] is False
    assert compute.calls == 1 and time.monotonic() - start < 2


def test_a_lock_files_date_means_nothing(folder):
    import time
    folder.mkdir()
    lock_path(folder).touch()
    os.utime(lock_path(folder), (time.time() + 3600, time.time() + 3600))  # from a skewed clock
    compute = Counter()
    start = time.monotonic()
    assert kept_table("t", (1,), compute, always, wait=5)[1] is False
    assert compute.calls == 1 and time.monotonic() - start < 1


def test_a_lock_file_that_is_a_link_is_not_followed(folder, tmp_path):
    import time
    folder.mkdir()
    target = tmp_path / "elsewhere"
    target.write_text("not ours")
    lock_path(folder).symlink_to(target)
    compute = Counter()
    start = time.monotonic()
    assert kept_table("t", (1,), compute, always, wait=5)[1] is False
    assert compute.calls == 1 and time.monotonic() - start < 1
    assert target.read_text() == "not ours"


def test_a_computation_that_fails_lets_go_of_the_lock(folder):
    def broken():
        assert is_locked(folder)
        raise RuntimeError("drawing failed")

    with pytest.raises(RuntimeError, match="drawing failed"):
        kept_table("t", (1,), broken, always, wait=5)
    assert not is_locked(folder)


def test_a_table_kept_while_this_kernel_waited_for_the_lock_is_read_not_computed(folder):
    """It missed the table, then got the lock only after the other kernel kept it."""
    import threading
    fd = hold_lock(folder)

    def keep_then_let_go():
        kept_table("t", (1,), Counter(7.0), always)  # the other kernel keeps its table
        os.close(fd)

    threading.Timer(0.2, keep_then_let_go).start()
    compute = Counter()
    real_read = kept._read
    misses = []

    def read(path):  # the first read misses, as it would have before the other kept it
        if not misses:
            misses.append(path)
            return None
        return real_read(path)

    import unittest.mock
    with unittest.mock.patch.object(kept, "_read", read):
        table, was_kept = kept_table("t", (1,), compute, always, wait=5)
    assert was_kept and compute.calls == 0 and table["inertia"][1] == 7.0


@pytest.mark.parametrize("error", [PermissionError(13, "Permission denied"), OSError(30, "Read-only file system")])
def test_a_folder_where_no_lock_can_be_had_computes_without_waiting(folder, monkeypatch, error):
    real_open = kept.os.open

    def refuse(path, flags, *args):
        if str(path).endswith(".lock"):
            raise error
        return real_open(path, flags, *args)

    monkeypatch.setattr(kept.os, "open", refuse)
    compute = Counter()
    assert kept_table("t", (1,), compute, always, wait=5)[1] is False and compute.calls == 1
    assert kept_table("t", (1,), compute, always, wait=5)[1] is True  # the table itself was kept


def test_a_table_in_a_folder_that_cannot_be_written_is_read_all_the_same(folder, monkeypatch):
    """A store made read-only after it was filled (a container image), or another user's."""
    kept_table("t", (1,), Counter(), always)

    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(kept.os, "utime", refuse)
    compute = Counter()
    assert kept_table("t", (1,), compute, always)[1] is True and compute.calls == 0


SIX_KERNELS = r"""
import sys, time
import numpy as np
from kmeans_tutor.data.kept import kept_table
def compute():
    time.sleep(0.4)
    print("computed", flush=True)
    return {"v": np.array([1.0])}
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))  # all start together
table, was_kept = kept_table("together", (1,), compute, lambda t: True, wait=10)
print("kept" if was_kept else "made", flush=True)
"""


@pytest.mark.slow
def test_six_kernels_that_need_the_same_table_at_once_compute_it_once(folder):
    import subprocess
    import sys
    import time
    go = time.time() + 2.0
    procs = [subprocess.Popen([sys.executable, "-c", SIX_KERNELS, str(go)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "KMEANS_TUTOR_TABLES": str(folder)}) for _ in range(6)]
    outputs = [p.communicate(timeout=60)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(outputs) == [["computed", "made"]] + [["kept"]] * 5

