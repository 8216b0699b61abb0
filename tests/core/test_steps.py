"""The step vocabulary, checked on a run small enough to compute by hand."""

import dataclasses

import numpy as np
import pytest

from kmeans_tutor import (AssignStep, ConvergedStep, EmptyClusterEvent, SeedStep, UpdateStep,
                          kmeans_steps, run_kmeans)

# Four points, two centres placed by hand on the first two points.
X = np.array([[1.0, 1.0], [1.0, 2.0], [8.0, 8.0], [9.0, 8.0]])
INIT = np.array([[1.0, 1.0], [1.0, 2.0]])


@pytest.fixture(scope="module")
def steps():
    return list(kmeans_steps(X, 2, init=INIT, random_state=0))


def test_sequence_of_phases(steps):
    assert [s.phase for s in steps] == ["seed", "seed", "assign", "update", "assign", "update",
                                        "assign", "converged"]
    assert [s.index for s in steps] == list(range(8))
    assert [s.iteration for s in steps] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_seeding_reveals_centres_one_at_a_time(steps):
    s0, s1 = steps[:2]
    assert isinstance(s0, SeedStep) and s0.method == "manual" and s0.chosen == -1
    np.testing.assert_array_equal(s0.centers, INIT[:1])
    np.testing.assert_array_equal(s1.centers, INIT)
    assert s0.labels is None and s0.inertia is None


def test_iteration_1_by_hand(steps):
    a, u = steps[2], steps[3]
    # (8,8) is 85 from (1,2) but 98 from (1,1); (9,8): 100 vs 113.
    assert isinstance(a, AssignStep)
    assert a.labels.tolist() == [0, 1, 1, 1]
    assert a.inertia == 185.0
    assert a.previous_inertia is None
    assert a.changed.tolist() == [0, 1, 2, 3]
    # Centre 2 moves to the mean of (1,2), (8,8), (9,8) = (6, 6).
    assert isinstance(u, UpdateStep)
    np.testing.assert_array_equal(u.centers, [[1, 1], [6, 6]])
    np.testing.assert_array_equal(u.previous_centers, INIT)
    np.testing.assert_allclose(u.shifts, [0.0, np.sqrt(41)])
    assert u.inertia == pytest.approx(0 + 41 + 8 + 13)
    assert u.previous_inertia == 185.0


def test_iteration_2_and_convergence_by_hand(steps):
    a, u, a3, done = steps[4:]
    assert a.labels.tolist() == [0, 0, 1, 1]
    assert a.changed.tolist() == [1]  # (1,2) is now 1 from (1,1), 41 from (6,6)
    assert a.inertia == pytest.approx(0 + 1 + 8 + 13)
    np.testing.assert_allclose(u.centers, [[1, 1.5], [8.5, 8]])
    assert u.inertia == pytest.approx(1.0)
    assert a3.n_changed == 0
    assert isinstance(done, ConvergedStep)
    assert done.reason == "labels" and done.n_iter == 3 and done.inertia == pytest.approx(1.0)


def test_describe_is_one_plain_sentence(steps):
    for s in steps:
        text = s.describe()
        assert isinstance(text, str) and text.endswith(".") and "\n" not in text
    assert steps[4].describe() == ("Iteration 2 · assign: 1 point moved to a nearer centre; "
                                   "inertia 62 → 22.")
    assert steps[-1].describe() == ("Converged after 3 iterations: no point changed cluster; "
                                    "final inertia 1.")


def test_describe_formats_large_inertia_with_separators():
    step = AssignStep(index=9, iteration=3, centers=np.zeros((2, 2)), labels=np.zeros(20, np.int8),
                      inertia=4380.0, changed=np.arange(14), previous_inertia=4512.3)
    assert step.describe() == ("Iteration 3 · assign: 14 points moved to a nearer centre; "
                               "inertia 4,512.3 → 4,380.0.")


def test_steps_are_immutable(steps):
    step = steps[2]
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.inertia = 0.0
    with pytest.raises(ValueError):
        step.labels[0] = 1
    with pytest.raises(ValueError):
        step.centers[0, 0] = 5.0


def test_equality_compares_arrays(steps):
    again = list(kmeans_steps(X, 2, init=INIT, random_state=0))
    assert again == steps
    other = list(kmeans_steps(X, 2, init=INIT[::-1].copy(), random_state=0))
    assert other != steps
    assert steps[2] != steps[3]


def test_every_step_carries_what_a_view_needs(steps):
    """A view must draw any step alone: centres always, labels after seeding."""
    for s in steps:
        assert s.centers.ndim == 2 and s.centers.shape[1] == 2
        if s.phase != "seed":
            assert s.labels.shape == (4,) and s.inertia is not None


def test_labels_use_a_compact_integer_type():
    trace = run_kmeans(X, 2, init=INIT)
    assert trace[-1].labels.dtype == np.int8
    big_k = run_kmeans(np.arange(600.0).reshape(300, 2), 200, init="random", random_state=0)
    assert big_k[-1].labels.dtype == np.int16


def test_empty_cluster_relocate_by_hand():
    # The middle centre is far from everything: it gets no point at the first
    # assignment and jumps to (50, 50), the point farthest from its own centre.
    X5 = np.array([[0, 0], [0, 1], [10, 10], [10, 11], [50, 50.0]])
    trace = run_kmeans(X5, 3, init=[[0, 0.5], [100, 100], [10, 10.5]])
    event = next(s for s in trace if isinstance(s, EmptyClusterEvent))
    assert event.clusters.tolist() == [1] and event.policy == "relocate"
    assert event.relocated_to.tolist() == [4]
    np.testing.assert_array_equal(event.new_centers, [[50, 50]])
    update = trace[trace.phases().index("update")]
    np.testing.assert_array_equal(update.centers[1], [50, 50])
    # The donor cluster (centre 3) no longer counts the relocated point.
    np.testing.assert_allclose(update.centers[2], [10, 10.5])
    assert update.labels[4] == 1
    assert update.inertia == pytest.approx(1.0)
    assert not np.isnan(trace.final.centers).any()
    assert "jumps to point #4" in event.describe()


def test_empty_cluster_keep_leaves_the_centre():
    X5 = np.array([[0, 0], [0, 1], [10, 10], [10, 11], [50, 50.0]])
    trace = run_kmeans(X5, 3, init=[[0, 0.5], [100, 100], [10, 10.5]], empty_cluster="keep")
    events = [s for s in trace if isinstance(s, EmptyClusterEvent)]
    assert events and all(e.relocated_to is None for e in events)
    for s in trace:
        if isinstance(s, UpdateStep):
            np.testing.assert_array_equal(s.centers[1], [100, 100])
    assert "stays where it is" in events[0].describe()


def test_tolerance_stop_refreshes_labels():
    rng = np.random.default_rng(0)
    Xr = rng.normal(size=(300, 2))
    trace = run_kmeans(Xr, 4, init="random", random_state=1, tol=0.5)
    assert trace.final.reason == "tol"
    refresh = trace[-2]
    assert isinstance(refresh, AssignStep) and refresh.final
    assert refresh.iteration == trace.final.n_iter
    assert refresh.describe().startswith("Final assign")


def test_max_iter_stop():
    rng = np.random.default_rng(0)
    Xr = rng.normal(size=(300, 2))
    trace = run_kmeans(Xr, 6, init="random", random_state=1, max_iter=2, tol=0)
    assert trace.final.reason == "max_iter" and trace.final.n_iter == 2
    assert trace.phases() == ["seed"] * 6 + ["assign", "update"] * 2 + ["assign", "converged"]
    assert trace.final.describe().startswith("Stopped after 2 iterations")
