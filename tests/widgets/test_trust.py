"""What a page sends is checked again in the kernel: canvas messages, widget values, errors."""

import logging
import warnings

import numpy as np
import pytest

pytest.importorskip("ipympl")
pytestmark = pytest.mark.usefixtures("restore_backend")

from kmeans_tutor.widgets.base import MAX_MESSAGE_CHARS, quiet, warning_html  # noqa: E402
from kmeans_tutor.widgets.compare import CompareApp  # noqa: E402
from kmeans_tutor.widgets.figure import MAX_CANVAS_CSS, MAX_PIXEL_RATIO, app_figure  # noqa: E402
from kmeans_tutor.widgets.stepper import StepperApp, StepperModel  # noqa: E402


def _send(canvas, content):
    """Deliver a message as the page would (through the widget's comm callbacks)."""
    canvas._msg_callbacks(canvas, content, [])


def test_a_crafted_resize_or_pixel_ratio_cannot_inflate_the_picture():
    fig = app_figure((6, 4))
    canvas = fig.canvas
    _send(canvas, {"type": "resize", "width": 8000, "height": 8000})
    _send(canvas, {"type": "set_device_pixel_ratio", "device_pixel_ratio": 50})
    _send(canvas, {"type": "set_dpi_ratio", "dpi_ratio": 1e9})
    w, h = fig.get_size_inches() * fig.dpi
    assert canvas.device_pixel_ratio <= MAX_PIXEL_RATIO
    assert w <= MAX_CANVAS_CSS[0] * MAX_PIXEL_RATIO and h <= MAX_CANVAS_CSS[1] * MAX_PIXEL_RATIO
    _send(canvas, {"type": "resize", "width": "lots", "height": float("nan")})
    assert np.isfinite(fig.get_size_inches()).all()


def test_unknown_canvas_messages_are_dropped(monkeypatch):
    fig = app_figure((6, 4))
    seen = []
    monkeypatch.setattr(fig.canvas.manager, "handle_json", lambda content: seen.append(content["type"]))
    for kind in ("toolbar_button", "evil", None):
        _send(fig.canvas, {"type": kind, "name": "save_figure"})
    _send(fig.canvas, "not a dict")
    _send(fig.canvas, {"type": "ack"})
    assert seen == ["ack"]


def test_k_beyond_the_app_from_a_page_is_refused():
    app = StepperApp(figsize=(6, 3))
    app._k.max = 200  # the page raised the slider's limit
    app._k.value = 150
    assert app.model.trace is None and "choose k from 1 to 10" in app.message
    app._k.value = 4
    assert app.model.trace is not None
    m = StepperModel(k=11)
    assert m.trace is None and m.message_level == "error"


def test_a_race_longer_than_the_slider_is_refused():
    app = CompareApp(figsize=(6, 3), race_figsize=(6, 2))
    app._n_runs.max = 100_000
    app._n_runs.value = 100_000
    app._race.click()
    assert app.model.race_results is None and "from 10 to 500" in app.message


def test_callbacks_log_warnings_and_report_errors_in_one_line(caplog):
    shown = []

    def noisy():
        warnings.warn("/srv/secret/path.py:12: something odd")
        return 7

    def broken():
        raise KeyError("/srv/secret/path.py")

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning escaping quiet() would fail the test
        with caplog.at_level(logging.INFO, logger="kmeans_tutor"):
            assert quiet(noisy)() == 7
            assert quiet(broken, shown.append)() is None
    assert "something odd" in caplog.text and "KeyError" in caplog.text
    assert shown == ["Something went wrong (KeyError); the app kept its last state."]


def test_messages_on_screen_are_short():
    assert len(warning_html("x" * 1_000_000)) < MAX_MESSAGE_CHARS + 100
