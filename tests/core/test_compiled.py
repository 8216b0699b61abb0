"""LloydState's compiled assign step against its numpy passes and the full scan.

The compiled step must change no label and no bit of a trace: every test here compares
whole traces, labels or bounds exactly. Nothing is timed (``benchmarks/bench_core.py``
measures the speed).
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kmeans_tutor import run_kmeans
from kmeans_tutor.core import compiled, kernels
from kmeans_tutor.core.kernels import LloydState, nearest_centers


def _both(monkeypatch, *args, **kwargs):
    """The same run with the assign step compiled and in numpy passes."""
    monkeypatch.setattr(kernels, "USE_COMPILED", True)
    fast = run_kmeans(*args, **kwargs)
    monkeypatch.setattr(kernels, "USE_COMPILED", False)
    slow = run_kmeans(*args, **kwargs)
    return fast, slow


@pytest.fixture
def small_blocks_bounded(monkeypatch):
    """The bounded kernel, compiled or not, on any size of data, in blocks of 700 rows."""
    monkeypatch.setattr(kernels, "SMALL_ROWS", 0)
    monkeypatch.setattr(kernels, "COMPILED_ROWS", 0)
    monkeypatch.setattr(kernels, "ASSIGN_BLOCK_ROWS", 700)


def test_runs_from_compiled_rows_on_are_compiled(monkeypatch):
    assert kernels.compiled_steps() is compiled  # Numba is a dependency
    calls = []
    for name in ("_assign_block_compiled", "_first_assign_compiled"):
        step = getattr(LloydState, name)
        monkeypatch.setattr(LloydState, name, lambda self, *a, step=step: calls.append(a[1]) or step(self, *a))
    n = kernels.COMPILED_ROWS
    X = np.random.default_rng(0).uniform(size=(n, 2))
    run_kmeans(X[: n - 1], 4, random_state=0, max_iter=3)
    assert calls == []
    run_kmeans(X, 4, random_state=0, max_iter=3)
    assert len(calls) >= 2 * (n // kernels.ASSIGN_BLOCK_ROWS)  # the first assignment and the next


def _grid(n, d, seed):
    """Integer points: many exactly halfway between two integer centres."""
    return np.random.default_rng(seed).integers(-6, 7, size=(n, d)).astype(float)


def _data():
    rng = np.random.default_rng(1)
    blobs = rng.uniform(-10, 10, size=(6, 2))[rng.integers(6, size=8_000)] + rng.normal(size=(8_000, 2))
    return {
        "blobs far from the origin": (blobs + 1e8, 6),
        "integer grid, ties": (_grid(8_000, 2, 2), 7),
        "one feature": (rng.normal(size=(5_000, 1)), 4),
        "five features": (rng.normal(size=(5_000, 5)), 9),
        "one cluster": (rng.normal(size=(3_000, 2)), 1),
        "130 clusters (int16 labels)": (rng.uniform(size=(9_000, 2)), 130),
        "tiny scale": (rng.normal(size=(4_000, 2)) * 1e-150, 5),
        "huge scale": (rng.normal(size=(4_000, 2)) * 1e100, 5),
    }


@pytest.mark.parametrize("name", list(_data()))
@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_compiled_and_numpy_steps_give_the_same_trace(monkeypatch, small_blocks_bounded, name, init):
    X, k = _data()[name]
    fast, slow = _both(monkeypatch, X, k, init=init, random_state=3, tol=0.0, max_iter=60)
    assert sum(s.phase == "assign" for s in fast) >= 2  # a bounded assignment ran
    assert fast == slow  # every step, every field, every bit


def test_hand_placed_centres_that_empty_clusters(monkeypatch, small_blocks_bounded):
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(0, 1, size=(3_000, 2)), rng.normal(8, 1, size=(3_000, 2))])
    init = np.array([[0.0, 0.0], [8.0, 8.0], [40.0, 40.0], [-40.0, 45.0]])
    for policy in ("relocate", "keep"):
        fast, slow = _both(monkeypatch, X, 4, init=init, empty_cluster=policy, random_state=0)
        assert any(s.phase == "empty" for s in fast) and fast == slow


def test_near_ties_are_left_to_the_numpy_scan(monkeypatch):
    # Points of an integer grid, centres at half-integers apart: many points lie exactly
    # halfway between two centres. The compiled loop hands them to the numpy scan, which
    # breaks the tie as the full scan does (the lower index).
    monkeypatch.setattr(kernels, "COMPILED_ROWS", 0)
    X = _grid(20_000, 2, 7)
    state = LloydState(X, 4)
    first = np.array([[-3.0, -3.0], [3.0, -3.0], [-3.0, 3.0], [3.0, 3.0]])
    state.assign(first)
    handed_over = []
    rescan = LloydState._rescan
    monkeypatch.setattr(LloydState, "_rescan",
                        lambda self, s, e, rows, *a: handed_over.append(rows.size) or rescan(self, s, e, rows, *a))
    second = np.array([[-2.0, -3.0], [3.0, -2.0], [-3.0, 2.0], [2.0, 3.0]])
    state.centres_moved(np.array([1.0, 1.0, 1.0, 1.0]))
    labels, _ = state.assign(second)
    assert sum(handed_over) > 0
    np.testing.assert_array_equal(labels, nearest_centers(X, second))


def test_bounds_after_compiled_steps_are_bounds(monkeypatch):
    # After a few iterations, every point's true distances are within its stored bounds:
    # own ≤ upper + own drift of its centre, any other ≥ lower − drift.
    monkeypatch.setattr(kernels, "COMPILED_ROWS", 0)
    rng = np.random.default_rng(8)
    X = rng.normal(size=(30_000, 3))
    state = LloydState(X, 6)
    centers = X[:6].copy()
    for _ in range(6):
        labels, _ = state.assign(centers)
        means, counts = state.means()
        new = np.where(counts[:, None] > 0, means, centers)
        state.centres_moved(np.sqrt(((new - centers) ** 2).sum(axis=1)))
        centers = new
    labels, _ = state.assign(centers)
    d = np.sqrt(((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2))  # (n, k)
    lab = labels.astype(np.intp)
    own = d[np.arange(len(X)), lab]
    d[np.arange(len(X)), lab] = np.inf
    assert (own <= state.upper.astype(np.float64) + state.own_drift[lab]).all()
    assert (d.min(axis=1) >= state.lower.astype(np.float64) - state.drift).all()


def test_compiled_rounding_is_the_numpy_rounding():
    rng = np.random.default_rng(0)
    f32 = np.finfo(np.float32)
    special = [0.0, -0.0, 1e-320, 1e-45, 1.4e-45, 1.1754943e-38, 1.0, 0.1, 1e30,
               float(f32.max), float(f32.max) * (1 + 1e-9), 1e39, 1e300, np.inf]
    values = np.concatenate([special, np.negative(special), 10.0 ** rng.uniform(-45, 39, size=3_000)])
    rounding = kernels._ROUNDING
    with np.errstate(over="ignore", invalid="ignore"):
        up, down = kernels._round_up(values), kernels._round_down(values)
    for v, u, dn in zip(values, up, down):
        assert np.array_equal(compiled._up(v, *rounding[1:]), u, equal_nan=True)
        assert np.array_equal(compiled._down(v, *rounding[1:]), dn, equal_nan=True)


def _python(code: str, **env) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


def test_lesson_sized_runs_and_the_off_switch_never_import_numba():
    code = """
        import sys
        import numpy as np
        from kmeans_tutor import KMeans, load_mall_customers, run_kmeans
        from kmeans_tutor.core import kernels
        X = load_mall_customers()[["Annual Income (k$)", "Spending Score (1-100)"]].to_numpy(float)
        KMeans(5, n_init=10, random_state=0).fit(X)
        assert "numba" not in sys.modules, "a lesson-sized run imported numba"
        run_kmeans(np.random.default_rng(0).normal(size=(kernels.COMPILED_ROWS - 1, 2)), 4, random_state=0)
        assert "numba" not in sys.modules, "a run below COMPILED_ROWS imported numba"
        if kernels.USE_COMPILED is False:
            run_kmeans(np.random.default_rng(0).normal(size=(kernels.COMPILED_ROWS, 2)), 4, random_state=0)
            assert "numba" not in sys.modules, "switched off, a large run imported numba"
        print("ok")
    """
    assert _python(code).stdout.strip() == "ok"
    done = _python(code, KMEANS_TUTOR_COMPILED="off")
    assert done.stdout.strip() == "ok", done.stderr


def test_without_numba_the_numpy_passes_give_the_same_trace(monkeypatch):
    code = """
        import sys
        sys.modules["numba"] = None  # import numba fails, as where it is not installed
        import numpy as np
        from kmeans_tutor import run_kmeans
        from kmeans_tutor.core import kernels
        kernels.COMPILED_ROWS = 0
        X = np.random.default_rng(0).normal(size=(30_000, 2)) + 1e6
        trace = run_kmeans(X, 5, random_state=0)
        assert kernels.compiled_steps() is None
        print(repr(trace.final.inertia), trace.n_iter)
    """
    done = _python(code)
    assert done.returncode == 0, done.stderr
    monkeypatch.setattr(kernels, "COMPILED_ROWS", 0)
    X = np.random.default_rng(0).normal(size=(30_000, 2)) + 1e6
    trace = run_kmeans(X, 5, random_state=0)
    assert kernels.compiled_steps() is not None
    assert done.stdout.split() == [repr(trace.final.inertia), str(trace.n_iter)]


@pytest.mark.parametrize("use_compiled", [True, False])
def test_a_tie_scanned_on_its_own_falls_as_in_the_full_scan(monkeypatch, use_compiled):
    # Row 22 is exactly as far from both centres; on the centred data the two scores
    # differ in the last bit, and differ the other way when the row is multiplied on
    # its own (numpy then takes a matrix-vector product). Its label must be the full scan's.
    X = np.zeros((29, 3))
    X[21:25] = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, -1]]
    monkeypatch.setattr(kernels, "USE_COMPILED", use_compiled)
    monkeypatch.setattr(kernels, "SMALL_ROWS", 0)
    monkeypatch.setattr(kernels, "COMPILED_ROWS", 0)
    bounded = run_kmeans(X, 2, init="k-means++", random_state=0, max_iter=3, tol=0.0)
    monkeypatch.setattr(kernels, "SMALL_ROWS", 10**9)
    plain = run_kmeans(X, 2, init="k-means++", random_state=0, max_iter=3, tol=0.0)
    for a, b in zip(bounded, plain):
        assert a.phase == b.phase
        if a.phase == "assign":
            np.testing.assert_array_equal(a.labels, b.labels)
