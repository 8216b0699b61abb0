"""Scoring predictions of the next step: hand-made cases, numpy only."""

import numpy as np
import pytest

from kmeans_tutor.core.lloyd import kmeans_steps
from kmeans_tutor.core.predictions import (AssignOutcome, CentreOutcome, PredictionScore, Skipped,
                                           nearest_point, score_assign, score_centre)
from kmeans_tutor.core.steps import AssignStep

BEFORE = np.array([0, 0, 1, 1, 2, 2])
AFTER = np.array([0, 1, 1, 0, 2, 2])  # points 1 and 3 changed cluster


def test_hits_misses_and_false_alarms():
    outcome = score_assign(BEFORE, AFTER, marked=[3, 5, 5, 0])
    assert outcome.hits.tolist() == [3]
    assert outcome.misses.tolist() == [1]
    assert outcome.false_alarms.tolist() == [0, 5]  # duplicates count once, sorted
    assert outcome.n_changed == 2
    assert not outcome.perfect
    assert outcome.summary() == "1 hit, 1 miss, 2 false alarms."


def test_every_changed_point_marked_is_perfect():
    outcome = score_assign(BEFORE, AFTER, marked=[1, 3])
    assert outcome.hits.tolist() == [1, 3]
    assert outcome.misses.size == outcome.false_alarms.size == 0
    assert outcome.perfect


def test_none_answer_when_nothing_changes_is_right():
    outcome = score_assign(BEFORE, BEFORE, marked=[], said_none=True)
    assert outcome.perfect and outcome.said_none
    assert outcome.hits.size == outcome.misses.size == outcome.false_alarms.size == 0
    assert outcome.summary() == "Right: no point changed cluster."


def test_none_answer_when_something_changes_misses_every_change():
    outcome = score_assign(BEFORE, AFTER, marked=[], said_none=True)
    assert outcome.misses.tolist() == [1, 3]
    assert not outcome.perfect
    assert outcome.summary() == "You said none would change; 2 points did."


def test_marking_when_nothing_changes_gives_false_alarms_only():
    outcome = score_assign(BEFORE, BEFORE, marked=[2])
    assert outcome.false_alarms.tolist() == [2]
    assert outcome.hits.size == outcome.misses.size == 0


@pytest.mark.parametrize("marked, said_none, match", [
    ([6], False, "indices 0"),
    ([-1], False, "indices 0"),
    ([1], True, "marks no point"),
])
def test_bad_answers_are_named(marked, said_none, match):
    with pytest.raises(ValueError, match=match):
        score_assign(BEFORE, AFTER, marked, said_none=said_none)


def test_labels_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="differ in length"):
        score_assign(BEFORE, AFTER[:4], [])


def test_outcomes_are_read_only():
    outcome = score_assign(BEFORE, AFTER, marked=[1])
    with pytest.raises(ValueError):
        outcome.hits[0] = 2


def test_agrees_with_the_changed_points_of_a_real_assign_step():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (60, 2)), rng.normal(3, 1, (60, 2))])
    trace = kmeans_steps(X, 3, init="random", random_state=1).trace()
    later = [i for i, s in enumerate(trace)
             if isinstance(s, AssignStep) and s.previous_inertia is not None and s.n_changed]
    assert later, "the run needs an assign step that moves points"
    i = later[0]
    outcome = score_assign(trace[i - 1].labels, trace[i].labels, marked=trace[i].changed)
    assert outcome.perfect
    assert outcome.hits.tolist() == sorted(trace[i].changed.tolist())


def test_centre_error_is_the_euclidean_distance():
    outcome = score_centre(2, guess=[1.0, 2.0], truth=[4.0, 6.0])
    assert isinstance(outcome, CentreOutcome)
    assert outcome.error == pytest.approx(5.0)
    assert outcome.centre == 2
    assert outcome.summary() == "Your guess was 5 from where centre 3 went."
    assert score_centre(0, [1, 1], [1, 1]).error == 0.0


def test_centre_guess_must_be_finite_and_the_same_size():
    with pytest.raises(ValueError, match="finite"):
        score_centre(0, [np.nan, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="coordinates"):
        score_centre(0, [0.0, 0.0, 0.0], [0.0, 0.0])


def test_score_accumulates_without_changing_the_old_one():
    empty = PredictionScore()
    assert empty.empty and empty.summary() == "No predictions yet." and empty.mean_error is None
    score = (empty.add(score_assign(BEFORE, AFTER, [1, 5]))        # 1 hit, 1 miss, 1 false alarm
                  .add(score_assign(BEFORE, AFTER, [1, 3]))        # 2 hits
                  .add(score_assign(BEFORE, BEFORE, [], said_none=True))
                  .add(score_centre(0, [0, 0], [0.3, 0.4]))        # 0.5
                  .add(score_centre(1, [0, 0], [0.0, 0.1]))        # 0.1
                  .add(Skipped("update")))
    assert empty.empty  # adding returns a new score
    assert (score.hits, score.misses, score.false_alarms) == (3, 1, 1)
    assert score.assign_steps == 3 and score.right_none == 1 and score.skipped == 1
    assert score.mean_error == pytest.approx(0.3)
    assert score.summary() == ("Assign steps: 3 hits, 1 miss, 1 false alarm, 1 right “none” · "
                               "Centre guesses: mean error 0.3 · 1 skipped")


def test_a_skip_is_not_wrong():
    score = PredictionScore().add(Skipped("assign"))
    assert score.hits == score.misses == score.false_alarms == score.assign_steps == 0
    assert score.summary() == "1 skipped"


def test_score_refuses_other_things():
    with pytest.raises(TypeError, match="outcome"):
        PredictionScore().add(3)


def test_nearest_point_within_a_radius():
    points = [[0, 0], [10, 0], [10, 3]]
    assert nearest_point(points, [9, 2.5], radius=2) == 2
    assert nearest_point(points, [5, 5], radius=2) is None
    assert nearest_point(np.empty((0, 2)), [0, 0], radius=2) is None


def test_outcome_kinds():
    assert AssignOutcome.kind == "assign" and CentreOutcome.kind == "update"
    assert Skipped("assign").kind == "assign"
