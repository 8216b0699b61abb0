"""Controls that behave and can be used by everyone: play/pause, start, keys, the
staircase up to the step on screen, live regions and text alternatives, tooltips."""

import html
import re
from types import SimpleNamespace

import ipywidgets as widgets
import numpy as np
import pytest

pytest.importorskip("ipympl")
pytestmark = pytest.mark.usefixtures("restore_backend")

from kmeans_tutor.widgets.choose_k import ChooseKApp
from kmeans_tutor.widgets.compare import CompareApp
from kmeans_tutor.widgets.controls import KEY_CLASSES, KEYS_APP_CLASS, LIVE_CLASS
from kmeans_tutor.widgets.segments import SegmentsApp
from kmeans_tutor.widgets.stepper import StepperApp


@pytest.fixture
def app():
    return StepperApp(dataset="blobs", k=3, seed=0)


def _sentence(html_text: str) -> str:
    return re.sub(r"<[^>]+>", "", html_text)


# --------------------------------------------------------------------------- play, pause, start


def test_pause_keeps_the_step_and_play_goes_on_from_it(app):
    m, t = app.model, app.transport
    t.step.click()
    t.step.click()
    t.play_pause.value = True  # play
    assert m.playing and t.play.playing and t.play_pause.description == "pause"
    t.play.value = 3  # the browser's timer ticks
    t.play.value = 4
    t.play_pause.value = False  # pause
    assert not m.playing and not t.play.playing and t.play_pause.description == "play"
    assert m.index == 4 and t.timeline.value == 4
    t.play.value = 5  # a tick already on its way when pausing does not move the step
    assert m.index == 4
    t.play_pause.value = True  # play again: from step 4, not from 0
    assert m.index == 4 and t.play.value == 4


def test_start_is_its_own_button_and_goes_to_step_0(app):
    m, t = app.model, app.transport
    for _ in range(5):
        t.step.click()
    t.toggle()
    assert m.playing
    t.reset.click()
    assert m.index == 0 and not m.playing and t.timeline.value == 0
    assert t.reset.description == "start" and t.reset.disabled and t.back.disabled


def test_keys_through_the_picture_include_home_and_end(app):
    m = app.model
    app._on_key(SimpleNamespace(key="end"))
    assert m.index == m.last_index
    app._on_key(SimpleNamespace(key="home"))
    assert m.index == 0
    app._on_key(SimpleNamespace(key=" "))
    assert m.playing
    app._on_key(SimpleNamespace(key=" "))
    assert not m.playing and m.index == 0


def test_buttons_carry_the_classes_the_page_script_clicks(app):
    t = app.transport
    assert KEYS_APP_CLASS in app._dom_classes
    for button, role in ((t.back, "back"), (t.step, "step"), (t.play_pause, "play"),
                         (t.reset, "start"), (t.end, "end")):
        assert KEY_CLASSES[role] in button._dom_classes
    assert t.play.layout.display == "none"  # the timer; its own stop button is never shown
    keys = t.keys_line.value
    for key in ("←", "→", "space", "Home", "End"):
        assert key in keys


def test_compare_app_has_keys_but_no_player():
    app = CompareApp(dataset="blobs", k=3, n_runs=10)
    assert app.transport.play_pause is None and "space" not in app.transport.keys_line.value
    assert KEYS_APP_CLASS in app._dom_classes


# --------------------------------------------------------------------------- the staircase


def test_staircase_shows_only_up_to_the_current_step(app):
    m, view = app.model, app.inertia_view
    drawn = lambda: view.staircase.get_xdata()  # noqa: E731
    assert len(drawn()) == 0  # step 0 is a seeding pick: no inertia yet, nothing to give away
    m.goto(4)
    assert max(drawn()) == 4 and all(len(line.get_xdata()) == 0 or max(line.get_xdata()) <= 4
                                     for line in view.markers.values())
    m.goto(3)  # going back draws step 3 as it always looks: up to step 3
    assert max(drawn()) == 3
    app._whole_run.value = True  # asked for: the whole run
    assert list(drawn()) == list(view.indices)
    app._whole_run.value = False
    assert max(drawn()) == 3
    m.to_end()  # reached: all of it
    assert list(drawn()) == list(view.indices)


def test_a_new_run_hides_the_staircase_again(app):
    m = app.model
    m.to_end()
    app._seed.value = 5
    assert m.index == 0 and len(app.inertia_view.staircase.get_xdata()) == 0


# --------------------------------------------------------------------------- screen readers


def test_step_sentence_is_a_live_region_that_changes_each_step(app):
    m = app.model
    assert LIVE_CLASS in app._caption._dom_classes
    seen = []
    for _ in range(4):
        assert re.search(r"role='status' aria-live='polite'", app.caption)
        seen.append(_sentence(app.caption))
        app.transport.step.click()
    assert len(set(seen)) == len(seen)
    assert html.unescape(_sentence(app.caption)) == app.panel.view.sentence and m.index == 4


def test_figure_text_follows_the_step(app):
    m = app.model
    before = app.figure_text
    m.goto(4)
    after = app.figure_text
    assert before != after and "step 4" in after and "Centres: centre 1 at" in after
    assert "kt-figure-alt" in app._figure_alt.value
    assert np.isfinite(m.current.inertia)


def test_other_apps_have_live_regions_and_text_alternatives():
    compare = CompareApp(dataset="blobs", k=3, n_runs=10)
    before = [compare.caption(i) for i in compare.model.inits]
    compare.transport.step.click()
    after = [compare.caption(i) for i in compare.model.inits]
    assert all("aria-live='polite'" in c for c in after) and before != after
    assert "Pictures side by side" in compare.figure_text
    choose = ChooseKApp(dataset="blobs")
    text = choose.figure_text
    choose._k.value = 3
    assert "aria-live='polite'" in choose.readout and choose.figure_text != text
    segments = SegmentsApp(k=4)
    assert "4 clusters of 200 customers" in segments.status
    segments._k.value = 3
    assert "3 clusters of 200 customers" in segments.status


# --------------------------------------------------------------------------- tooltips


def _controls(widget):
    """Every control (button, slider, box, dropdown, text box) inside a widget tree."""
    kinds = (widgets.Button, widgets.ToggleButton, widgets.IntSlider, widgets.FloatSlider,
             widgets.Checkbox, widgets.Dropdown, widgets.IntText, widgets.BoundedIntText,
             widgets.RadioButtons, widgets.FileUpload)
    if isinstance(widget, kinds):
        yield widget
    for child in getattr(widget, "children", ()) or ():
        yield from _controls(child)


@pytest.mark.parametrize("make", [
    lambda: StepperApp(dataset="blobs", k=3),
    lambda: CompareApp(dataset="blobs", k=3, n_runs=10),
    lambda: ChooseKApp(dataset="blobs"),
    lambda: SegmentsApp(k=4),
], ids=["stepper", "compare", "choose_k", "segments"])
def test_every_control_has_a_tooltip(make):
    app = make()
    missing = [f"{type(w).__name__}({getattr(w, 'description', '')!r})" for w in _controls(app)
               if not (w.tooltip or "").strip()]
    assert not missing, missing
