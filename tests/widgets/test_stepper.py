"""The stepper, driven from Python: the model alone, then the app through its widgets and events."""

import html
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("ipympl")
pytestmark = pytest.mark.usefixtures("restore_backend")

from matplotlib.backend_bases import KeyEvent, MouseEvent

from kmeans_tutor.data.synthetic import load_dataset
from kmeans_tutor.core.lloyd import kmeans_steps
from kmeans_tutor.data.preprocessing import standardize
from kmeans_tutor.core.steps import AssignStep, SeedStep
from kmeans_tutor.data.resolver import dataset_choices
from kmeans_tutor.widgets.stepper import StepperModel
from kmeans_tutor.widgets import stepper as stepper_module
from kmeans_tutor.widgets.stepper import StepperApp

FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]




@pytest.fixture(scope="module")
def mall_X(mall):
    return standardize(mall[FEATURES].to_numpy(dtype=float))[0]


@pytest.fixture
def app():
    return StepperApp()


def _screen(app):
    """Everything the learner sees of a step: readouts and the artists' data."""
    panel = app.panel
    view, seeding = panel.view, panel.seeding
    arrays = [line.get_xydata().copy() for line in
              (*view.point_lines, view.unassigned_line, *view.center_lines, *view.old_center_lines,
               view.changed_line, view.pick_line, seeding.pick_line, seeding.reach_line,
               seeding.candidate_line)]
    arrays.append(np.asarray(seeding.scatter.get_array()).copy())
    arrays.append(np.asarray(app.inertia_view.cursor.get_xdata(), dtype=float))
    arrays.append(app.inertia_view.current.get_xydata().copy())
    flags = [a.get_visible() for a in (*view.arrows, *view.point_lines, seeding.scatter)]
    flags += [tuple(map(float, a.xy)) for a in view.arrows if a.get_visible()]
    texts = (app.readout, app.caption, app.seed_text, app.message, panel.ax.get_title())
    return arrays, flags, texts


def _same_screen(a, b):
    arrays_a, flags_a, texts_a = a
    arrays_b, flags_b, texts_b = b
    assert texts_a == texts_b
    assert flags_a == flags_b
    assert len(arrays_a) == len(arrays_b)
    for x, y in zip(arrays_a, arrays_b):
        np.testing.assert_array_equal(x, y)


# ----------------------------------------------------------------------------- the model


def test_model_runs_kmeans_steps_with_the_seed(mall_X):
    m = StepperModel()
    expected = kmeans_steps(mall_X, 5, init="k-means++", random_state=0).trace()
    assert m.trace == expected
    assert m.index == 0 and isinstance(m.current, SeedStep)
    assert m.seed_used == 0 and m.message == ""
    np.testing.assert_array_equal(m.X, mall_X)
    assert m.feature_names == tuple(FEATURES)


def test_model_navigation_is_clamped():
    m = StepperModel(dataset="blobs", k=3)
    last = len(m.trace) - 1
    assert not m.back() and m.index == 0
    assert m.step() and m.index == 1
    m.goto(10_000)
    assert m.index == last and m.at_end and not m.step()
    m.goto(-4)
    assert m.index == 0 and m.at_start
    m.to_end()
    assert m.current.phase == "converged"
    m.reset()
    assert m.index == 0


def test_model_back_then_forward_gives_the_same_step():
    m = StepperModel(dataset="smiley", k=4, init="random", seed=3)
    seen = []
    while True:
        seen.append(m.current)
        if not m.step():
            break
    while m.back():
        assert m.current is seen[m.index]
    assert [s.index for s in seen] == list(range(len(m.trace)))


@pytest.mark.parametrize("name, value", [
    ("k", 3), ("init", "random"), ("init", "farthest"), ("seed", 1234), ("dataset", "rings"),
    ("scaled", False), ("features", ("Age", "Spending Score (1-100)")),
])
def test_model_each_setting_restarts_once(name, value):
    m = StepperModel()
    m.goto(6)
    old_trace, old_revision = m.trace, m.revision
    setattr(m, name, value)
    assert m.revision == old_revision + 1  # one observer, one restart
    assert m.index == 0 and m.trace is not None and m.trace is not old_trace
    assert m.message == ""
    assert m.seed_used == m.seed


def test_model_hold_batches_changes():
    m = StepperModel()
    before = m.revision
    with m.hold():
        m.dataset = "blobs"
        m.k = 4
        m.seed = 9
    assert m.revision == before + 1
    assert m.trace.params["n_clusters"] == 4 and m.seed_used == 9


def test_synthetic_data_ignore_the_mall_columns_and_scaling():
    m = StepperModel(dataset="Pimpled smiley", scaled=True)
    assert m.dataset == "pimpled_smiley"
    np.testing.assert_array_equal(m.X, load_dataset("pimpled_smiley").X)
    assert m.feature_names == ("x", "y")
    m.dataset = "mall"
    assert m.feature_names == tuple(FEATURES)  # the Mall columns were kept


@pytest.mark.parametrize("settings, words", [
    (dict(k=500), "distinct"),
    (dict(k=0), "at least 1"),
    (dict(seed=-1), "seed"),
    (dict(features=("Age", "Age")), "two different"),
    (dict(dataset="no such data"), "Unknown data set 'no_such_data'; choose one of mall, blobs"),
])
def test_model_bad_settings_give_a_message_not_an_exception(settings, words):
    m = StepperModel()
    m.goto(3)
    for name, value in settings.items():
        setattr(m, name, value)
    assert m.trace is None and m.current is None and m.index == 0
    assert m.message_level == "error" and words in m.message
    assert not m.step() and not m.back()  # navigation is harmless without a run
    with m.hold():  # back to good settings: the run comes back
        m.dataset, m.k, m.seed, m.features = "mall", 5, 0, tuple(FEATURES)
    assert m.trace is not None and m.message == ""


def test_model_manual_centres_start_the_run_at_k(mall_X):
    m = StepperModel(init="manual", k=3)
    assert m.trace is None and m.needs_centers == 3
    assert m.message_level == "info" and "Click 3 centres" in m.message
    assert m.add_center(-1.0, 1.0) and "2 more" in m.message
    assert m.add_center(1.0, 1.0)
    assert m.trace is None and "1 more" in m.message
    assert m.add_center(0.0, -1.0)
    assert m.trace is not None and m.message == "" and m.needs_centers == 0
    assert not m.add_center(2.0, 2.0)  # k are placed: further clicks do nothing
    placed = np.array([[-1.0, 1.0], [1.0, 1.0], [0.0, -1.0]])
    assert [s.method for s in m.trace[:3]] == ["manual"] * 3
    np.testing.assert_array_equal(m.trace[2].centers, placed)
    assert m.trace == kmeans_steps(mall_X, 3, init=placed, random_state=0).trace()
    m.k = 2  # fewer clusters: the first two centres stay
    assert m.manual_centers == placed[:2].tolist() and m.trace is not None
    m.scaled = False  # other units: the centres are gone
    assert m.manual_centers == [] and m.trace is None
    preview = m.preview()
    assert preview.centers.shape == (0, 2) and preview.labels is None


def test_model_new_seed_restarts_with_a_different_seed():
    m = StepperModel(seed=5)
    new = m.new_seed()
    assert new != 5 and m.seed == new == m.seed_used and m.index == 0


# ----------------------------------------------------------------------------- the app


def test_app_buttons_step_and_back(app):
    m = app.model
    assert "step <b>0 / " in app.readout and "seeding" in app.readout
    assert app.transport.back.disabled and not app.transport.step.disabled
    app.transport.step.click()
    assert m.index == 1 and app.transport.timeline.value == 1 and app.transport.play.value == 1
    assert "Seeding · centre 2" in app.caption
    m.goto(5)  # k = 5: steps 0-4 seed, step 5 is the first assignment
    assert isinstance(m.current, AssignStep)
    assert "phase <b>assign</b>" in app.readout and "iteration <b>1</b>" in app.readout
    assert "all (first assignment)" in app.readout
    app.transport.step.click()
    app.transport.step.click()  # the second assignment: a number of points changed
    assert f"points changed <b>{m.current.n_changed:,}</b>" in app.readout
    app.transport.back.click()
    assert m.index == 6 and "phase <b>update</b>" in app.readout
    app.transport.end.click()
    assert m.at_end and "converged" in app.readout and app.transport.step.disabled
    app.transport.reset.click()
    assert m.index == 0 and app.transport.back.disabled


def test_app_back_then_forward_is_identical(app):
    m = app.model
    app.transport.timeline.value = 3
    before = _screen(app)
    app.transport.step.click()
    app.transport.back.click()
    _same_screen(before, _screen(app))
    for i in range(m.n_steps):  # any step, reached forwards or backwards, looks the same
        m.goto(i)
        forwards = _screen(app)
        m.to_end()
        m.goto(i)
        _same_screen(forwards, _screen(app))


def test_app_timeline_scrubs_both_ways(app):
    m = app.model
    assert app.transport.timeline.max == m.n_steps - 1
    app.transport.timeline.value = 9
    assert m.index == 9 and app.transport.play.value == 9
    assert app.caption.endswith(f"{html.escape(m.trace[9].describe())}</div>")
    app.transport.timeline.value = 2
    assert m.index == 2 and "Seeding · centre 3" in app.caption


def test_app_play_moves_the_index(app):
    m = app.model
    app.transport.play.playing = True
    assert m.playing and app.transport.play_pause.value
    for v in (1, 2, 3):
        app.transport.play.value = v  # what the browser's timer sends
        assert m.index == v and app.transport.timeline.value == v
    app._on_key(SimpleNamespace(key=" "))  # space pauses
    assert not m.playing and not app.transport.play.playing
    m.to_end()
    app.transport.play.playing = True  # play on the last step replays from the start
    assert m.index == 0
    app.transport.speed.value = 10.0
    assert app.transport.play.interval == 100
    app.transport.speed.value = 0.5
    assert app.transport.play.interval == 2000
    app._k.value = 4  # a restart stops the player
    assert not m.playing and not app.transport.play.playing


def test_app_settings_restart_cleanly(app):
    m = app.model
    panel = app.panel
    m.goto(7)
    app._init.value = "random"  # same data and k: same panel, new run and inertia view
    assert m.index == 0 and m.init == "random" and app.panel is panel
    assert app.inertia_view.indices.tolist() == [s.index for s in m.trace if s.inertia is not None]
    app._seed.value = 1234
    assert m.seed_used == 1234 and "seed 1234 — rerun with the same seed to reproduce" in app.seed_text
    assert app.transport.timeline.value == 0 and app.transport.timeline.max == m.n_steps - 1
    app._k.value = 3  # new k: a new panel with three clusters
    assert app.panel is not panel and len(app.panel.view.point_lines) == 3
    assert m.trace.params["n_clusters"] == 3 and m.index == 0
    app._new_seed.click()
    assert m.seed != 1234 and f"seed {m.seed} " in app.seed_text and app._seed.value == m.seed
    app.data_row._dataset.value = "rings"
    assert m.dataset == "rings" and app.data_row._x.layout.display == "none"
    assert app.panel.ax.get_title() == {n: label for label, n in dataset_choices()}["rings"]
    np.testing.assert_array_equal(app.panel.view.X, load_dataset("rings").X)
    app._voronoi.value = True
    assert app.panel.view.region_image is not None and m.index == 0
    assert app.message == ""


def test_app_feature_dropdowns_swap_instead_of_repeating(app):
    m = app.model
    app.data_row._x.value = "Spending Score (1-100)"  # y's column: the two swap
    assert m.features == ("Spending Score (1-100)", "Annual Income (k$)")
    assert app.data_row._y.value == "Annual Income (k$)"
    app.data_row._scaled.value = False
    assert not m.scaled and "raw units" in app.panel.ax.get_title()
    m.goto(2)  # a k-means++ pick: the title says how to read the shading
    assert "likelier" in app.panel.ax.get_title()


def test_app_bad_settings_show_a_message(app):
    app._seed.value = -5
    assert "seed" in app.message and app.model.trace is None
    assert "no run yet" in app.readout and app.transport.step.disabled and app.transport.timeline.disabled
    app.transport.step.click()  # disabled in the browser; harmless from code
    app._seed.value = 7
    assert app.message == "" and app.model.trace is not None
    app.model.k = 300
    assert "distinct" in app.message and app.model.trace is None


def test_app_manual_init_by_clicks(app):
    m = app.model
    app._k.value = 3
    app._init.value = "manual"
    assert "Click 3 centres" in app.message and app._clear.layout.display is None
    assert "placed by hand" in app.seed_text
    ax = app.panel.ax
    other = app._ax_inertia
    app._on_click(SimpleNamespace(inaxes=other, xdata=1.0, ydata=1.0, button=1))  # not the data axes
    app._on_click(SimpleNamespace(inaxes=ax, xdata=1.0, ydata=1.0, button=3))  # right button
    assert m.manual_centers == []
    app._on_click(SimpleNamespace(inaxes=ax, xdata=-1.0, ydata=1.0, button=1))
    assert "2 more" in app.message
    # The preview shows the centre placed so far.
    np.testing.assert_array_equal(app.panel.view.center_lines[0].get_xydata(), [[-1.0, 1.0]])
    # A real matplotlib click through the canvas, at data point (1, 1).
    x, y = ax.transData.transform((1.0, 1.0))
    app.fig.canvas.callbacks.process("button_press_event",
                                     MouseEvent("button_press_event", app.fig.canvas, x, y, button=1))
    np.testing.assert_allclose(m.manual_centers[1], [1.0, 1.0])
    app._on_click(SimpleNamespace(inaxes=ax, xdata=0.0, ydata=-1.0, button=1))
    assert m.trace is not None and app.message == "" and m.index == 0
    assert "centre 1 placed by hand" in app.caption
    app.transport.end.click()
    assert "converged" in app.readout
    app._clear.click()
    assert m.trace is None and "Click 3 centres" in app.message


def test_app_keys_through_the_canvas(app):
    m = app.model
    canvas = app.fig.canvas
    canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", canvas, "right"))
    canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", canvas, "right"))
    assert m.index == 2
    canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", canvas, "left"))
    assert m.index == 1
    canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", canvas, " "))
    assert m.playing and app.transport.play.playing
    # matplotlib's own keys are switched off ("l" would put the axes on a log scale).
    canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", canvas, "l"))
    assert app.panel.ax.get_yscale() == "linear"


def test_constructor_arguments_reach_the_model():
    app = StepperApp(dataset="blobs", k=4, init="farthest", seed=11, voronoi=True, n_samples=120)
    m = app.model
    assert (m.dataset, m.k, m.init, m.seed, m.X.shape) == ("blobs", 4, "farthest", 11, (120, 2))
    assert app._init.value == "farthest" and app._voronoi.value and app._k.value == 4
    m.goto(2)
    assert "farther" in app.panel.ax.get_title()  # farthest-point seeding is shaded


def test_a_step_at_10k_points_redraws_only_what_changes(monkeypatch):
    # What keeps a click cheap at 10k points: the run is not made again, and the picture
    # of the new step is the kept background with the changing artists drawn on it (a
    # blit), not a full draw of the figure with its axes, ticks and text.
    app = StepperApp(dataset="blobs", n_samples=10_000, k=4, seed=0)
    m = app.model
    m.goto(m.n_steps - 1)  # the end of the run: back through its assign and update steps
    canvas = app.fig.canvas
    canvas.send_binary = lambda data: None
    canvas.syncing_data_url = False  # as once the page's canvas is ready
    canvas.draw()  # the page's first picture: a full draw, which the blitter keeps
    full_draws, runs = [], []
    figure_draw = type(app.fig).draw
    monkeypatch.setattr(type(app.fig), "draw", lambda fig, r: full_draws.append(fig) or figure_draw(fig, r))
    steps = stepper_module.kmeans_steps
    monkeypatch.setattr(stepper_module, "kmeans_steps", lambda *a, **kw: runs.append(a) or steps(*a, **kw))
    before = np.asarray(canvas.get_renderer().buffer_rgba()).copy()
    for _ in range(3):
        app.transport.back.click()
    assert app.panel.view.mode == "points"
    assert isinstance(m.current, AssignStep) and m.index == m.n_steps - 4
    assert full_draws == [] and runs == []
    assert not np.array_equal(np.asarray(canvas.get_renderer().buffer_rgba()), before)


def test_blitted_frames_equal_full_redraws():
    """After a click only the changing artists are redrawn; the picture must be
    exactly what a full redraw gives."""
    import numpy as np

    from kmeans_tutor.widgets.stepper import StepperApp

    app = StepperApp(dataset="blobs", k=3, init="k-means++", seed=2)
    canvas = app.fig.canvas
    canvas.syncing_data_url = False  # as once the browser's canvas is ready
    canvas.draw()
    for _ in range(6):  # through seeding, an assign and an update step
        app.transport.step.click()
        blitted = np.asarray(canvas.get_renderer().buffer_rgba()).copy()
        canvas.draw()
        full = np.asarray(canvas.get_renderer().buffer_rgba())
        assert np.array_equal(blitted, full), app.model.current.describe()
    app.transport.back.click()
    assert app.model.index == 5
