"""Prediction mode of the stepper: the model alone, then the app through its clicks, loops and keys."""

import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ipympl")
pytestmark = pytest.mark.usefixtures("restore_backend")

from matplotlib.backend_bases import KeyEvent, MouseButton, MouseEvent  # noqa: E402

from kmeans_tutor.core.predictions import AssignOutcome, CentreOutcome, Skipped  # noqa: E402
from kmeans_tutor.core.steps import AssignStep, SeedStep, UpdateStep  # noqa: E402
from kmeans_tutor.widgets import stepper  # noqa: E402
from kmeans_tutor.widgets.controls import KEY_CLASSES, LIVE_CLASS  # noqa: E402
from kmeans_tutor.widgets.stepper import StepperApp, StepperModel  # noqa: E402

DATA = dict(dataset="gaussian_mixture", k=4, seed=3)  # many iterations with a few points changing


def _first_question(m):
    """Step forward to the first step with a question after it; returns its index."""
    while m.question is None:
        assert m.step(), "the run ended without a question"
    return m.index


def _to_assign_question(m):
    """Step (skipping) until the next question is an assign step with points changing."""
    while not (m.question_kind == "assign" and m.trace[m.question].n_changed > 0):
        assert m.step()
    return m.question


@pytest.fixture
def model():
    return StepperModel(**DATA, predict=True)


@pytest.fixture
def app():
    return StepperApp(**DATA, predict=True)


# --- the model ---------------------------------------------------------------------------------


def test_off_by_default_asks_nothing():
    m = StepperModel(**DATA)
    assert not m.predict and m.question is None and m.prompt == "" and m.result_text == ""
    m.to_end()
    assert m.results == {} and m.score.empty


def test_seeding_and_the_first_assignment_are_never_asked(model):
    m = model
    asked = [i for i in range(len(m.trace)) if m.asked(i)]
    first_assign = next(i for i, s in enumerate(m.trace) if isinstance(s, AssignStep))
    assert all(not isinstance(m.trace[i], SeedStep) for i in asked)
    assert first_assign not in asked and asked[0] == first_assign + 1
    assert {m.asked(i) for i in asked} == {"assign", "update"}
    assert "Seeding steps are not asked" in m.prompt
    assert _first_question(m) == first_assign
    assert m.question_kind == "update" and m.question == first_assign + 1


def test_update_question_rings_the_centre_that_moves_furthest(model):
    m = model
    _first_question(m)
    step = m.trace[m.question]
    j = m.target_centre()
    assert isinstance(step, UpdateStep) and j == int(np.argmax(step.shifts))
    np.testing.assert_allclose(m.target_position, step.previous_centers[j])
    assert f"where will centre {j + 1} go?" in m.prompt and "Ringed" in m.prompt
    assert not m.toggle_mark(0) and m.marked == []  # no marks on an update question
    assert m.set_guess(0.5, -0.25)
    q = m.question
    assert m.reveal() and m.index == q
    outcome = m.results[q]
    assert isinstance(outcome, CentreOutcome) and outcome.centre == j
    assert outcome.error == pytest.approx(np.hypot(*(np.array([0.5, -0.25]) - step.centers[j])))
    assert m.score.centre_errors == (outcome.error,)
    assert "A centre moves to the mean of its points" in m.result_text
    assert f"{outcome.error:.2g}" in m.result_text


def test_marking_the_changed_points_scores_every_hit(model):
    m = model
    q = _to_assign_question(m)
    skipped_before = m.score.skipped
    changed = m.trace[q].changed
    assert m.mark(changed) == len(changed)
    assert m.toggle_mark(changed[0]) and changed[0] not in m.marked  # a second click unmarks
    assert m.toggle_mark(changed[0]) and changed[0] in m.marked
    stayed = int(np.setdiff1d(np.arange(m.X.shape[0]), changed)[0])
    m.toggle_mark(stayed)
    m.reveal()
    outcome = m.results[q]
    assert isinstance(outcome, AssignOutcome)
    assert outcome.hits.tolist() == sorted(changed.tolist())
    assert outcome.misses.size == 0 and outcome.false_alarms.tolist() == [stayed]
    assert (m.score.hits, m.score.misses, m.score.false_alarms) == (len(changed), 0, 1)
    assert m.score.skipped == skipped_before
    assert "now nearer to" in m.result_text
    assert m.marked == []  # the marks went with the question


def test_none_answer_right_and_wrong(model):
    m = model
    q = _to_assign_question(m)
    m.toggle_mark(0)
    assert m.answer_none()
    outcome = m.results[q]
    assert outcome.said_none and outcome.misses.size == m.trace[q].n_changed > 0
    assert "You said none would change" in m.result_text
    # An assign step that changes nothing (here the last one): "none" is right there.
    m = StepperModel(dataset="blobs", k=3, seed=1, predict=True)
    last = max(i for i in range(len(m.trace)) if m.asked(i) == "assign")
    assert m.trace[last].n_changed == 0
    m.goto(last - 1)
    assert m.question == last and m.answer_none()
    assert m.results[last].perfect and m.score.right_none == 1
    assert "No point changed" in m.result_text and "converged" in m.result_text


def test_stepping_past_a_question_counts_it_skipped_not_wrong(model):
    m = model
    _first_question(m)
    q = m.question
    m.set_guess(0.0, 0.0)
    m.step()
    assert isinstance(m.results[q], Skipped) and m.score.skipped == 1
    assert m.score.centre_errors == () and m.score.misses == 0
    assert m.guess == []
    assert "Shown without a prediction" in m.result_text
    # Reveal with nothing marked skips too (a teacher revealing a class's spoken guess).
    q = m.question
    assert m.question_kind == "assign" and m.reveal()
    assert isinstance(m.results[q], Skipped) and m.score.skipped == 2 and m.score.assign_steps == 0


def test_back_and_forward_do_not_ask_again(model):
    m = model
    q = _to_assign_question(m)
    m.mark(m.trace[q].changed[:2])
    m.reveal()
    results, score = dict(m.results), m.score
    m.back()
    assert m.question is None and "already revealed" in m.prompt
    m.step()
    assert m.index == q and m.results == results and m.score == score
    assert m.results[q].hits.size == 2
    m.reset()
    while not m.at_end and m.index < q:
        m.step()
    assert m.score == score  # nothing asked twice, nothing counted twice


def test_jumping_to_the_end_skips_the_rest(model):
    m = model
    m.to_end()
    asked = [i for i in range(len(m.trace)) if m.asked(i)]
    assert sorted(m.results) == asked and m.score.skipped == len(asked)
    assert "Run finished" in m.prompt


def test_new_settings_start_a_fresh_score(model):
    m = model
    _first_question(m)
    m.set_guess(0, 0)
    m.reveal()
    assert not m.score.empty and m.results
    m.seed = 4
    assert m.score.empty and m.results == {} and m.index == 0 and m.predict
    _first_question(m)
    m.reveal()
    m.k = 3
    assert m.score.empty and m.results == {}
    m.reveal()
    m.dataset = "blobs"
    assert m.score.empty and m.results == {}


def test_the_player_waits_at_each_question(model):
    m = model
    m.playing = True
    for _ in range(len(m.trace)):  # what the player's ticks do
        if not m.playing:
            break
        m.goto(m.index + 1)
    assert not m.playing and m.question is not None and m.score.empty


# --- the app -----------------------------------------------------------------------------------


def _press(app, kind, x, y, held=True, **extra):
    """A real matplotlib mouse event through the canvas, at data point (x, y) of the step axes
    (a move with the left button ``held`` or not, as the page reports it)."""
    px, py = app.panel.ax.transData.transform((x, y))
    if kind == "motion_notify_event":
        extra["buttons"] = {MouseButton.LEFT} if held else set()
    else:
        extra["button"] = 1
    event = MouseEvent(kind, app.fig.canvas, px, py, **extra)
    app.fig.canvas.callbacks.process(kind, event)


def test_switch_shows_and_hides_the_prediction_row():
    app = StepperApp(**DATA)
    assert app._predict.value is False and app._reveal.layout.display == "none"
    assert app._predict.layout.display is None
    app._predict.value = True
    assert app.model.predict and app._reveal.layout.display is None
    assert "Seeding steps are not asked" in app._prompt.value
    assert "No predictions yet" in app._score.value
    app._predict.value = False
    assert not app.model.predict and app._prompt.layout.display == "none"
    assert app._reveal.layout.display == app._none.layout.display == "none"
    assert app._predict.layout.display is None  # the switch itself stays, to switch it on again


def test_click_marks_the_nearest_point_and_a_second_click_unmarks(app):
    m = app.model
    q = _to_assign_question(m)
    i = int(m.trace[q].changed[0])
    x, y = m.X[i]
    _press(app, "button_press_event", x, y)
    _press(app, "button_release_event", x, y)
    assert m.marked == [i]
    np.testing.assert_allclose(app.overlay.marked_line.get_xydata(), [m.X[i]])
    assert app._clear_marks.description == "clear marks (1)" and not app._clear_marks.disabled
    prompt = app._prompt.value
    app.mark_at(*m.X[int(m.trace[q].changed[1])])
    assert app._prompt.value == prompt  # nothing above the picture changes while marking
    assert app._clear_marks.description == "clear marks (2)"
    app.mark_at(*m.X[int(m.trace[q].changed[1])])
    assert app.mark_at(x, y) == i and m.marked == []  # what the click calls
    # Far from every point: nothing.
    (x0, x1), (y0, y1) = app.panel.limits
    far = [(x0, y0), (x1, y1), (x0, y1), (x1, y0)]
    assert any(app.mark_at(*p) is None for p in far)
    # The page throttles mouse moves: a move made before the press can arrive after it, and a
    # double click is echoed as one more press. Neither turns the click into a loop or a second toggle.
    _press(app, "button_press_event", x, y)
    _press(app, "motion_notify_event", x0, y0, held=False)
    _press(app, "button_release_event", x, y)
    _press(app, "button_press_event", x, y, dblclick=True)
    assert m.marked == [i]


def test_a_loop_marks_every_point_inside(app, monkeypatch):
    monkeypatch.setattr(stepper, "LASSO_FRAME_S", 0.0)  # draw every point of the loop
    m = app.model
    q = _to_assign_question(m)
    X = m.X
    cx, cy = np.median(X, axis=0)
    r = 0.6 * X.std(axis=0).mean()
    loop = [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    inside = np.flatnonzero((np.abs(X[:, 0] - cx) < r) & (np.abs(X[:, 1] - cy) < r))
    assert inside.size > 3
    # Drawn with the mouse: press, drag round, release.
    _press(app, "button_press_event", *loop[0])
    for p in loop[1:] + [loop[0]]:
        _press(app, "motion_notify_event", *p)
    assert len(app.overlay.lasso_line.get_xydata()) >= 4  # the loop is drawn while dragging
    _press(app, "button_release_event", *loop[0])
    assert m.marked == sorted(inside.tolist())
    assert len(app.overlay.lasso_line.get_xydata()) == 0
    app._clear_marks.click()
    assert m.marked == []
    assert app.mark_lasso(loop) == inside.size  # what the loop calls
    app._reveal.click()
    outcome = m.results[q]
    changed = set(m.trace[q].changed.tolist())
    assert set(outcome.hits.tolist()) == changed & set(inside.tolist())
    assert set(outcome.false_alarms.tolist()) == set(inside.tolist()) - changed


def test_a_loop_is_sent_to_the_page_a_few_times_a_second(app):
    m = app.model
    _to_assign_question(m)
    sent = []
    app._blitter.update = lambda **kw: sent.append(kw)
    (x0, x1), (y0, y1) = app.panel.limits
    _press(app, "button_press_event", x0 + 0.3 * (x1 - x0), y0 + 0.3 * (y1 - y0))
    start = time.monotonic()
    for t in np.linspace(0, 2 * np.pi, 40):  # a quick drag: 40 moves
        _press(app, "motion_notify_event", x0 + (0.5 + 0.2 * np.cos(t)) * (x1 - x0),
               y0 + (0.5 + 0.2 * np.sin(t)) * (y1 - y0))
    took = time.monotonic() - start
    assert 1 <= len(sent) <= 1 + took / stepper.LASSO_FRAME_S < 40
    sent.clear()
    _press(app, "button_release_event", x0 + 0.3 * (x1 - x0), y0 + 0.3 * (y1 - y0))
    assert len(sent) == 1 and m.marked  # one picture for the marks, the loop gone
    assert len(app.overlay.lasso_line.get_xydata()) == 0


def test_reveal_sends_one_picture(app):
    m = app.model
    _to_assign_question(m)
    m.toggle_mark(0)
    sent = []
    app._blitter.update = lambda **kw: sent.append(kw)
    app._reveal.click()
    assert len(sent) == 1 and m.marked == []


def test_reveal_draws_hits_misses_and_false_alarms_in_three_shapes(app):
    m = app.model
    q = _to_assign_question(m)
    changed = m.trace[q].changed
    stayed = int(np.setdiff1d(np.arange(m.X.shape[0]), changed)[0])
    m.mark([changed[0], stayed])
    artists = list(app.overlay.artists)
    app._reveal.click()
    ov = app.overlay
    np.testing.assert_allclose(ov.hit_line.get_xydata(), m.X[[changed[0]]])
    np.testing.assert_allclose(ov.miss_line.get_xydata(), m.X[np.sort(changed[1:])])
    np.testing.assert_allclose(ov.false_line.get_xydata(), m.X[[stayed]])
    assert len({ov.hit_line.get_marker(), ov.miss_line.get_marker(), ov.false_line.get_marker()}) == 3
    assert "1 hit" in app._result.value and "false alarm" in app._result.value
    assert "◯&nbsp;hit" in app._result.value
    assert "Assign steps: 1 hit" in app._score.value
    assert ov.artists == artists and all(a.get_animated() for a in artists)  # updated, not remade
    assert "1 hit (thick rings)" in app.figure_text and "(crosses)" in app.figure_text
    assert LIVE_CLASS in app._result._dom_classes  # read out by screen readers at each reveal
    assert KEY_CLASSES["reveal"] in app._reveal._dom_classes  # the page's R key clicks it


def test_update_guess_by_click_and_reveal_shows_the_error(app):
    m = app.model
    _first_question(m)
    j = m.target_centre()
    np.testing.assert_allclose(app.overlay.target_line.get_xydata(), [m.target_position])
    gx, gy = m.target_position + 0.2
    _press(app, "button_press_event", gx, gy)
    _press(app, "button_release_event", gx, gy)
    assert m.guess == [pytest.approx(gx), pytest.approx(gy)]
    np.testing.assert_allclose(app.overlay.guess_line.get_xydata(), [[gx, gy]])
    canvas = app.fig.canvas
    canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", canvas, "r"))
    outcome = m.results[m.index]
    truth = m.current.centers[j]
    np.testing.assert_allclose(app.overlay.error_line.get_xydata(), [[gx, gy], truth])
    assert app.overlay.error_text.get_visible() and f"{outcome.error:.2g}" in app.overlay.error_text.get_text()
    assert "from where centre" in app._result.value and "mean error" in app._score.value


def test_starting_the_next_answer_hides_the_last_reveal(app):
    m = app.model
    _first_question(m)
    m.set_guess(*m.target_position)
    m.reveal()  # now an assign step is asked
    assert app.overlay.error_text.get_visible()
    m.toggle_mark(0)
    assert not app.overlay.error_text.get_visible()
    assert len(app.overlay.marked_line.get_xydata()) == 1


def test_back_and_forward_keep_the_overlay(app):
    m = app.model
    q = _to_assign_question(m)
    m.mark(m.trace[q].changed[:1])
    app._reveal.click()
    hits = app.overlay.hit_line.get_xydata().copy()
    result = app._result.value
    app.transport.back.click()
    assert "already revealed" in app._prompt.value and app._reveal.disabled
    assert len(app.overlay.hit_line.get_xydata()) == 0
    app.transport.step.click()
    np.testing.assert_allclose(app.overlay.hit_line.get_xydata(), hits)
    assert app._result.value == result


def test_step_button_while_asked_skips(app):
    m = app.model
    _first_question(m)
    app.transport.step.click()
    assert m.score.skipped == 1 and "1 skipped" in app._score.value
    assert "Shown without a prediction" in app._result.value


def test_new_seed_in_the_app_resets_the_score(app):
    m = app.model
    _first_question(m)
    app._reveal.click()
    assert "1 skipped" in app._score.value
    app._seed.value = 11
    assert m.score.empty and "No predictions yet" in app._score.value


def test_presenter_view_keeps_reveal_and_reveals_without_marks(app):
    m = app.model
    app.presenter.set(True)
    q = _to_assign_question(m)
    assert app._prediction.layout.display != "none" and app._reveal.layout.display is None
    assert not app._reveal.disabled
    app._reveal.click()
    assert isinstance(m.results[q], Skipped) and m.index == q
    # Without a prediction the changed points are still shown (as squares).
    np.testing.assert_allclose(app.overlay.miss_line.get_xydata(), m.X[np.sort(m.current.changed)])
    assert "□&nbsp;changed&nbsp;cluster" in app._result.value


@pytest.mark.parametrize("make", [
    lambda: StepperApp(dataset="mall", k=5, seed=0, predict=True),
    lambda: StepperApp(dataset="rings", k=3, seed=2, predict=True),
    lambda: StepperApp(dataset="anisotropic", k=3, seed=1, predict=True),
], ids=["mall", "rings", "anisotropic"])
def test_every_data_set_can_be_predicted(make):
    app = make()
    m = app.model
    q = _to_assign_question(m)
    i = int(m.trace[q].changed[0])
    assert app.mark_at(*m.X[i]) == i
    app._reveal.click()
    assert m.results[q].hits.tolist() == [i]
    if m.is_mall:
        assert "z-score" in m.units


def test_an_uploaded_file_can_be_predicted():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(np.vstack([rng.normal(0, 1, (40, 2)), rng.normal(2.5, 1, (40, 2))]),
                         columns=["height", "weight"])
    app = StepperApp(k=3, seed=0, predict=True)
    app.model.use_upload(frame, "people.csv")
    m = app.model
    assert m.is_upload and m.score.empty
    q = _to_assign_question(m)
    m.mark(m.trace[q].changed)
    app._reveal.click()
    assert m.results[q].perfect


def test_clicks_elsewhere_do_nothing(app):
    m = app.model
    _to_assign_question(m)
    app._on_click(SimpleNamespace(inaxes=app._ax_inertia, xdata=0.0, ydata=0.0, button=1))
    app._on_click(SimpleNamespace(inaxes=app.panel.ax, xdata=0.0, ydata=0.0, button=3))
    app._on_release(SimpleNamespace(inaxes=app.panel.ax, xdata=0.0, ydata=0.0, button=1))
    assert m.marked == []


def test_lasso_and_distance_label_helpers():
    from kmeans_tutor.views.predictions import points_in_lasso

    xy = np.array([[0.5, 0.5], [2.0, 2.0], [0.9, 0.1]])
    square = [(0, 0), (1, 0), (1, 1), (0, 1)]
    assert points_in_lasso(xy, square).tolist() == [0, 2]
    assert points_in_lasso(xy, square[:2]).size == 0  # two points make no loop
    app = StepperApp(**DATA, predict=True)
    m = app.model
    _first_question(m)
    (x0, x1), (y0, y1) = app.panel.limits
    m.set_guess(x1 - 0.05 * (x1 - x0), y0 + 0.05 * (y1 - y0))  # bottom-right corner
    m.reveal()
    label = app.overlay.error_text
    assert label.get_visible() and label.get_ha() == "right" and label.get_va() == "bottom"


def test_the_lesson_predicts_a_new_data_set_as_its_text_says():
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[2] / "lessons" / "04_kmeans_step_by_step.ipynb").read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    apps = [c for c in code if "StepperApp(" in c]
    assert any('dataset="mall"' in c for c in apps)
    predict = [c.strip() for c in apps if "predict=True" in c]
    assert predict == ['StepperApp(dataset="gaussian_mixture", k=3, init="k-means++", seed=0, predict=True)']
    m = StepperModel(**APP_IN_LESSON, predict=True)
    assert m.X.shape[0] == 500 and "500\npoints" in text and "*k* = 3" in text
    assert "Overlapping Gaussian mixture" in text and m.data.title == "Overlapping Gaussian mixture"
    # "Step through the seeding and the first assignment … those are not asked."
    first_assign = next(i for i, s in enumerate(m.trace) if isinstance(s, AssignStep))
    assert not any(m.asked(i) for i in range(first_assign + 1))
    # Enough to predict: assign steps that move points, and one that moves none ("none" is right).
    changes = [m.trace[i].n_changed for i in range(len(m.trace)) if m.asked(i) == "assign"]
    assert changes[0] > 0 and changes[-1] == 0


APP_IN_LESSON = dict(dataset="gaussian_mixture", k=3, init="k-means++", seed=0)


def test_blitted_prediction_frames_equal_full_redraws():
    """Marks, a reveal and a guess are drawn by blitting: each picture must be exactly
    what a full redraw gives."""
    app = StepperApp(**DATA, predict=True)
    m = app.model
    canvas = app.fig.canvas
    canvas.syncing_data_url = False  # as once the browser's canvas is ready
    canvas.draw()

    def same():
        blitted = np.asarray(canvas.get_renderer().buffer_rgba()).copy()
        canvas.draw()
        return np.array_equal(blitted, np.asarray(canvas.get_renderer().buffer_rgba()))

    q = _to_assign_question(m)
    canvas.draw()
    changed = m.trace[q].changed
    app.mark_at(*m.X[changed[0]])
    assert same()
    app.mark_lasso([(-50, -50), (50, -50), (50, 50)])
    assert same()
    app._reveal.click()
    assert same() and len(app.overlay.hit_line.get_xydata()) > 0
    app.guess_at(*m.target_position)
    assert same()
    app._reveal.click()
    assert same() and app.overlay.error_text.get_visible()
