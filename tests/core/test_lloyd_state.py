"""The bounded Lloyd kernel on large data: threads, shared step arrays, memory.

Everything here is exact (labels, dtypes, object identity) or counted in bytes
with tracemalloc; nothing is timed.
"""

import tracemalloc
from fractions import Fraction

import numpy as np
import pytest

from kmeans_tutor import AssignStep, ConvergedStep, UpdateStep, kmeans_steps, run_kmeans
from kmeans_tutor.core import kernels
from kmeans_tutor.core.kernels import LloydState, nearest_centers


def _blobs(n, d=2, k=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(k, d))
    return centres[rng.integers(k, size=n)] + rng.normal(scale=2.0, size=(n, d))


@pytest.fixture(params=["compiled", "numpy passes"])
def assign_kind(request, monkeypatch):
    """Each test runs with LloydState's assign step compiled and in numpy passes."""
    monkeypatch.setattr(kernels, "USE_COMPILED", request.param == "compiled")
    monkeypatch.setattr(kernels, "COMPILED_ROWS", 0)  # on these small data sets too
    if request.param == "compiled":
        assert kernels.compiled_steps() is not None  # Numba is a dependency
    return request.param


@pytest.fixture
def many_small_blocks(monkeypatch):
    """Blocks of 1,000 rows, so a 30,000-point run is split into many blocks."""
    monkeypatch.setattr(kernels, "BLOCK_ROWS", 1000)
    monkeypatch.setattr(kernels, "ASSIGN_BLOCK_ROWS", 1000)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_threads_change_no_bit_of_the_trace(monkeypatch, many_small_blocks, assign_kind, init):
    X = _blobs(30_000) + 1e6  # far from the origin: the kernels shift by the mean
    monkeypatch.setattr(kernels, "_n_threads", lambda: 1)
    serial = run_kmeans(X, 6, init=init, random_state=3)
    monkeypatch.setattr(kernels, "_n_threads", lambda: 2)
    threaded = run_kmeans(X, 6, init=init, random_state=3)
    assert len(serial) > 10 and serial == threaded  # every field, arrays and dtypes included


def test_bounded_kernel_labels_match_a_full_scan(monkeypatch, many_small_blocks, assign_kind):
    X = _blobs(30_000, d=3, seed=1)
    assert X.shape[0] >= kernels.SMALL_ROWS  # the bounded kernel
    bounded = run_kmeans(X, 6, init="k-means++", random_state=0)
    monkeypatch.setattr(kernels, "SMALL_ROWS", 10**9)  # plain full scan every time
    plain = run_kmeans(X, 6, init="k-means++", random_state=0)
    assert bounded.n_iter == plain.n_iter
    for a, b in zip(bounded, plain):
        assert a.phase == b.phase
        if a.labels is not None:
            np.testing.assert_array_equal(a.labels, b.labels)
            assert a.labels.dtype == b.labels.dtype
        np.testing.assert_allclose(a.centers, b.centers, rtol=1e-12, atol=1e-12)


def test_steps_share_unchanged_labels_read_only_and_correct(assign_kind):
    X = _blobs(40_000, seed=2)
    trace = run_kmeans(X, 6, init="k-means++", random_state=1, tol=0.0)
    assert trace.final.reason == "labels"
    assigns = [s for s in trace if isinstance(s, AssignStep)]
    last_update = [s for s in trace if isinstance(s, UpdateStep)][-1]
    # The final assignment changed nothing: its labels are the previous array itself.
    assert assigns[-1].n_changed == 0
    assert assigns[-1].labels is assigns[-2].labels is last_update.labels
    assert trace.final.labels is assigns[-1].labels
    mean = X.mean(axis=0)
    for step in trace:
        if step.labels is None:
            continue
        assert not step.labels.flags.writeable
        with pytest.raises(ValueError):
            step.labels[0] = 0
    for step in assigns:
        # Equal to a fresh computation from the step's own centres: no later
        # assignment wrote into an array an earlier step kept.
        np.testing.assert_array_equal(step.labels, nearest_centers(X, step.centers, origin=mean))
    for before, after in zip(assigns, assigns[1:]):
        differ = np.flatnonzero(before.labels != after.labels)
        np.testing.assert_array_equal(differ, after.changed)


def test_the_first_kmeanspp_probabilities_are_one_shared_value():
    X = _blobs(5_000)
    first = next(iter(kmeans_steps(X, 4, random_state=0)))
    p = first.probabilities
    assert p.shape == (5_000,) and p.dtype == np.float64 and not p.flags.writeable
    assert p.strides == (0,)  # one number, not 5,000 copies
    np.testing.assert_array_equal(p, np.full(5_000, 1 / 5_000))


def test_a_run_holds_no_shifted_copy_of_x(assign_kind):
    n, d = 200_000, 16
    X = np.random.default_rng(4).uniform(size=(n, d))
    centres = X[:6].copy()
    tracemalloc.start()
    steps = [step for step, _ in zip(kmeans_steps(X, 6, init=centres, tol=0.0), range(9))]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # 6 seeding steps, then assign, update and the next (bounded) assignment.
    assert [s.phase for s in steps[6:]] == ["assign", "update", "assign"]
    # Bounds (2 × float32) + labels (int8) + the first step's `changed` (intp) + blocks:
    # far less than one (n, d) float64 copy of X.
    assert peak < X.nbytes / 2


def test_bounds_take_nine_bytes_a_point(assign_kind):
    X = _blobs(30_000)
    state = LloydState(X, 6)
    state.assign(X[:6].copy())
    assert state.upper.dtype == state.lower.dtype == np.float32
    assert state.labels.dtype == np.int8
    assert state.upper.nbytes + state.lower.nbytes + state.labels.nbytes == 9 * 30_000


def _edge_values():
    rng = np.random.default_rng(0)
    f32 = np.finfo(np.float32)
    special = [0.0, 1e-320, 1e-300, 1e-45, 1.4e-45, 7e-46, 1e-40, 1.17e-38, 1.1754943e-38,
               1.2e-38, 1.0, 1 + 1e-9, 3.0, 0.1, 1e30, float(f32.max), float(f32.max) * (1 + 1e-9),
               1e39, 1e300]
    spread = 10.0 ** rng.uniform(-45, 39, size=20_000)
    return np.concatenate([special, spread, spread * (1 + 1e-12), np.nextafter(spread, 0)])


def test_single_precision_bounds_are_rounded_outwards():
    a = _edge_values()
    up, down = kernels._round_up(a), kernels._round_down(a)
    assert up.dtype == down.dtype == np.float32
    assert (up.astype(np.float64) >= a).all()
    assert (down.astype(np.float64) <= a).all()


def test_bounds_stored_against_the_drift_stay_bounds():
    rng = np.random.default_rng(1)
    own = np.concatenate([_edge_values()[:19], 10.0 ** rng.uniform(-45, 30, size=1_500)])
    second = own * rng.uniform(1.0, 1.001, size=own.shape)
    labels = rng.integers(0, 3, size=own.shape)
    state = LloydState(np.zeros((1, 2)), 3)
    for drift in [0.0, 1e-300, 1e-30, 1e-3, 0.7, 1e20]:
        state.drift = drift
        state.own_drift = np.array([drift, drift * 0.3, 0.0])  # each centre's own drift
        upper, lower = state._stored_upper(own, labels), state._stored_lower(second)
        assert upper.dtype == lower.dtype == np.float32
        for u, lo, o, s, c in zip(upper, lower, own, second, labels):
            # own distance now ≤ upper + own drift of its centre; other distances now
            # ≥ lower − drift (exactly)
            own_drift = Fraction(float(state.own_drift[c]))
            assert u == np.inf or Fraction(float(u)) + own_drift >= Fraction(o)
            assert Fraction(float(lo)) - Fraction(drift) <= Fraction(s)


def test_the_drift_grows_by_at_least_each_move():
    rng = np.random.default_rng(2)
    state = LloydState(np.zeros((1, 2)), 3)
    for _ in range(300):
        before, own_before = state.drift, state.own_drift.copy()
        shifts = 10.0 ** rng.uniform(-320, 2, size=3)
        shifts[rng.integers(0, 3)] = 0.0  # a centre that stayed put
        state.centres_moved(shifts)
        assert Fraction(state.drift) - Fraction(before) >= Fraction(float(shifts.max()))
        for after, was, shift in zip(state.own_drift, own_before, shifts):
            assert Fraction(float(after)) - Fraction(float(was)) >= Fraction(float(shift))
        assert (state.own_drift <= state.drift).all()


def test_a_centre_that_stays_put_leaves_its_points_settled(assign_kind):
    # Three tight groups far apart; only the third centre moves, by more than half the
    # gap of the others. Its points are measured again (their upper bounds are stored
    # anew); the other groups' points are settled by their own centre's drift (zero),
    # not by the largest move, and their bounds are not touched.
    rng = np.random.default_rng(4)
    centres = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]])
    X = np.repeat(centres, 10_000, axis=0) + rng.normal(scale=1.0, size=(30_000, 2))
    state = LloydState(X, 3)
    labels, _ = state.assign(centres)
    upper, lower = state.upper.copy(), state.lower.copy()
    moved = centres + [[0.0, 0.0], [0.0, 0.0], [60.0, 0.0]]
    state.centres_moved(np.array([0.0, 0.0, 60.0]))
    new_labels, changed = state.assign(moved)
    assert changed.size == 0 and (new_labels == labels).all()
    measured = np.flatnonzero((state.upper != upper) | (state.lower != lower))
    assert measured.size > 0 and set(labels[measured].tolist()) == {2}


def test_the_single_precision_test_of_the_bounds_is_exact():
    # assign keeps a point when float32(upper − lower) < t, t a float32 number:
    # then the exact upper − lower is below t too, however the difference rounds.
    rng = np.random.default_rng(3)
    upper = (10.0 ** rng.uniform(-40, 30, size=3_000)).astype(np.float32)
    lower = np.where(rng.random(3_000) < 0.5, upper, upper * rng.uniform(0.5, 2.0, size=3_000))
    lower = lower.astype(np.float32)
    diff = upper - lower
    pair = np.concatenate([diff, np.nextafter(diff, np.float32(np.inf))])
    for t in rng.choice(pair, size=300):
        for u, lo, d in zip(upper, lower, diff):
            if d < t:
                assert Fraction(float(u)) - Fraction(float(lo)) < Fraction(float(t))


def test_converged_step_of_a_large_run_matches_a_fresh_inertia():
    X = _blobs(30_000, seed=5) + 1e8
    trace = run_kmeans(X, 5, random_state=2)
    final = trace.final
    assert isinstance(final, ConvergedStep)
    C = final.centers
    fresh = float(((X - C[final.labels]) ** 2).sum())
    assert final.inertia == pytest.approx(fresh, rel=1e-6)


def test_the_gap_to_the_nearest_other_centre_needs_no_k_by_k_table():
    rng = np.random.default_rng(6)
    for k, d in ((1, 2), (2, 1), (9, 3), (3_000, 2)):
        C = rng.normal(size=(k, d))
        tracemalloc.start()
        got = kernels._nearest_other(C)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        full = np.sqrt(((C[:, None, :] - C[None, :, :]) ** 2).sum(axis=2))
        np.fill_diagonal(full, np.inf)
        np.testing.assert_allclose(got, full.min(axis=1), rtol=1e-14)
        assert peak < max(k * k * 8 / 4, 1 << 16)  # well below one (k, k) table of float64
