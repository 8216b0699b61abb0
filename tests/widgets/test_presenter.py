"""Presenter view and figures that follow the page width, in every app (no browser)."""

import pytest

pytest.importorskip("ipympl")
pytestmark = pytest.mark.usefixtures("restore_backend")

from kmeans_tutor.widgets.choose_k import ChooseKApp  # noqa: E402
from kmeans_tutor.widgets.compare import CompareApp  # noqa: E402
from kmeans_tutor.widgets.figure import (  # noqa: E402
    FIT_APP_CLASS, FIT_WIDTH, MAX_CANVAS_CSS, PRESENTER_CLASS, FigureFit, app_figure, freeze_layout,
    refresh)
from kmeans_tutor.widgets.segments import SegmentsApp  # noqa: E402
from matplotlib.layout_engine import ConstrainedLayoutEngine  # noqa: E402
from kmeans_tutor.widgets.stepper import StepperApp  # noqa: E402
from kmeans_tutor.widgets import figure as figure_module  # noqa: E402


def _css(fig):
    ratio = getattr(fig.canvas, "device_pixel_ratio", 1.0) or 1.0
    w, h = fig.get_size_inches() * fig.dpi / ratio
    return round(float(w)), round(float(h))


def _shown(widget) -> bool:
    return widget.layout.display != "none"


def _stepper():
    return StepperApp(dataset="blobs", k=3, seed=0)


def _compare():
    return CompareApp(dataset="blobs", k=3, seed=0, n_runs=10)


def _choose_k():
    return ChooseKApp(dataset="blobs", k_max=4)


def _segments():
    return SegmentsApp(k=3)


APPS = {
    # name: (factory, what presenter view keeps on screen, what it tucks away)
    "stepper": (_stepper, lambda a: [a.transport, a._caption, a.fig.canvas],
                lambda a: [a.data_row, a._upload, a._seed_line, a._whole_run]),
    "compare": (_compare, lambda a: [a.transport, a.fig.canvas, *a._captions.values()],
                lambda a: [a.data_row, a._seed_line]),
    "choose_k": (_choose_k, lambda a: [a._k, a._readout, a.fig.canvas], lambda a: [a.data_row]),
    "segments": (_segments, lambda a: [a._k, a._status, a.fig.canvas],
                 lambda a: [a._seed, a._upload, a.data_row]),
}


@pytest.fixture(scope="module", params=sorted(APPS))
def app_case(request):
    factory, kept, tucked = APPS[request.param]
    return factory(), kept, tucked


def test_every_app_has_one_presenter_switch_with_a_tooltip(app_case):
    app, _, _ = app_case
    button = app.presenter.button
    assert button.description == "Presenter view" and button.tooltip
    assert app.children[0] is app.presenter.bar and button in app.presenter.bar.children
    assert FIT_APP_CLASS in app._dom_classes
    assert app.fit.probe in app.presenter.bar.children  # the page writes the app's width here


def test_presenter_view_enlarges_tucks_away_and_toggles_back(app_case):
    app, kept, tucked = app_case
    figures = [fig for fig, *_ in app.fit._figures]
    before = [_css(fig) for fig in figures]
    dpis = [fig.dpi for fig in figures]
    shown_before = {id(w): _shown(w) for w in tucked(app)}

    app.presenter.set(True)
    assert PRESENTER_CLASS in app._dom_classes
    assert all(not _shown(w) for w in tucked(app))
    assert all(_shown(w) for w in kept(app))
    for fig, (w, h) in zip(figures, before):
        w2, h2 = _css(fig)
        assert w2 >= w and h2 > h  # a bigger picture
    assert all(fig.dpi > dpi for fig, dpi in zip(figures, dpis))  # larger text and markers

    app.presenter.set(False)
    assert PRESENTER_CLASS not in app._dom_classes
    assert {id(w): _shown(w) for w in tucked(app)} == shown_before
    assert [_css(fig) for fig in figures] == before
    assert [fig.dpi for fig in figures] == pytest.approx(dpis)


def test_presenter_view_keeps_the_steps_working():
    app = _stepper()
    app.presenter.set(True)
    app.transport.step.click()
    app.transport.step.click()
    assert app.model.index == 2 and "step <b>2" in app.readout
    app.presenter.set(False)
    assert app.model.index == 2


def test_figures_follow_the_width_the_page_reports():
    app = _stepper()
    fig = app.fig
    design_inches = fig.get_size_inches()[0]
    aspect = _css(fig)[1] / _css(fig)[0]
    app.fit.probe.value = "1260x720"
    w, h = _css(fig)
    assert w == 1252 and abs(h / w - aspect) < 0.01
    assert fig.get_size_inches()[0] == pytest.approx(design_inches)  # same layout, larger scale
    app.fit.probe.value = "805x480"  # 1280×720 at 150 % zoom
    w, h = _css(fig)
    assert w == 797 and h <= 0.85 * 480 + 1
    app.transport.step.click()  # a step after a resize draws on the new size
    assert app.model.index == 1


def test_a_page_cannot_make_a_figure_huge_or_break_it_with_junk():
    fig = app_figure((6, 3))
    freeze_layout(fig)
    fit = FigureFit(fig)
    before = _css(fig)
    for junk in ("", "wide", "nanxnan", "-5x300", "1e308x1e308"):
        fit.probe.value = junk
    w, h = _css(fig)
    assert (w, h) == before or (w <= FIT_WIDTH[1] and h <= MAX_CANVAS_CSS[1])
    fit.probe.value = "99999x99999"
    w, h = _css(fig)
    assert w <= FIT_WIDTH[1] and h <= MAX_CANVAS_CSS[1]
    fit.probe.value = "10x10"
    w, h = _css(fig)
    assert w >= FIT_WIDTH[0] and h >= 80


@pytest.mark.parametrize("kernel", [None, "False"], ids=["notebook", "running page"])
@pytest.mark.parametrize("init", ["k-means++", "farthest"])
@pytest.mark.parametrize("page", ["1260x720", "805x480"])
def test_every_title_and_label_of_the_stepper_stays_inside_its_picture(init, page, kernel, monkeypatch):
    """Nothing drawn may be cut off at the picture's edges, at 100 % or 150 % zoom,
    including the longer titles of the seeding picks, whether the figure was laid out when
    it was made or (in a kernel running a page) at its first picture."""
    if kernel is None:
        monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    else:
        monkeypatch.setenv("VOILA_PREHEAT", kernel)
    app = StepperApp(dataset="mall", k=5, seed=0, init=init)
    app.fit.probe.value = page
    _ask_for_picture(app.fig.canvas)
    for _ in range(3):  # the third step is a shaded seeding pick
        app.transport.step.click()
    fig = app.fig
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    texts = [t for ax in fig.axes for t in (ax.title, ax.xaxis.label, ax.yaxis.label) if t.get_text()]
    assert any("Seeding" in t.get_text() for t in texts)
    for text in texts:
        extent = text.get_window_extent(renderer)
        assert box.x0 - 1 <= extent.x0 and extent.x1 <= box.x1 + 1, text.get_text()
        assert box.y0 - 1 <= extent.y0 and extent.y1 <= box.y1 + 1, text.get_text()


def _draws(monkeypatch, fig) -> list:
    """The pictures the kernel makes of ``fig``, each as the figure's CSS size at that moment."""
    drawn = []
    original = type(fig.canvas).draw

    def draw(canvas):
        drawn.append(_css(canvas.figure))
        return original(canvas)

    monkeypatch.setattr(fig.canvas, "draw", draw.__get__(fig.canvas))
    return drawn


def _ask_for_picture(canvas):
    """The page's request for a picture, delivered as the page delivers it."""
    canvas._msg_callbacks(canvas, {"type": "draw"}, [])


@pytest.mark.parametrize("kernel", ["False", "True"], ids=["for the page", "preheated"])
@pytest.mark.parametrize("make", [_stepper, _compare, _choose_k, _segments],
                         ids=["stepper", "compare", "choose_k", "segments"])
def test_in_a_voila_page_the_first_picture_waits_for_the_width(monkeypatch, make, kernel):
    """Whether Voilà started the kernel for the page or preheated it: a picture at the
    starting size would be drawn for nothing, and the page's width would wait behind it."""
    monkeypatch.setenv("VOILA_PREHEAT", kernel)  # as Voilà starts a kernel
    app = make()
    figs = [entry[0] for entry in app.fit._figures]
    drawn = {id(f): _draws(monkeypatch, f) for f in figs}
    sent = {id(f): [] for f in figs}
    for fig in figs:
        fig.canvas.syncing_data_url = False  # the page's canvas is ready
        monkeypatch.setattr(fig.canvas, "send_binary", sent[id(fig)].append)
        _ask_for_picture(fig.canvas)
        refresh(fig, immediate=False)  # the app changes it while the request waits
    assert all(not d for d in drawn.values())  # kept until the page says how wide the app is
    app.fit.probe.value = "1260x720"
    for fig in figs:
        assert drawn[id(fig)] == [_css(fig)]  # one picture, at the page's size
        assert _css(fig)[0] == 1252
        assert len(sent[id(fig)]) == 1
    # The page asks again once it has shown the picture: answered at once, and with nothing
    # changed since, by the same picture, not by drawing the figure again.
    for fig in figs:
        _ask_for_picture(fig.canvas)
        assert len(drawn[id(fig)]) == 1 and len(sent[id(fig)]) == 2
    refresh(figs[0], immediate=False)  # changed again (playback): the next request draws
    _ask_for_picture(figs[0].canvas)
    assert len(drawn[id(figs[0])]) == 2


@pytest.mark.parametrize("page_fit, wait_ms", [(None, 1000), ("1", 10_000), ("0", 1000)],
                         ids=["any page", "a lesson page", "not a lesson page"])
def test_a_page_that_never_reports_a_width_still_gets_its_picture(monkeypatch, page_fit, wait_ms):
    # A page served by kmeans-tutor serve (PAGE_FIT_ENV) always reports the width: its
    # figures wait longer for it, so that a busy kernel does not draw them twice.
    monkeypatch.setenv("VOILA_PREHEAT", "False")
    if page_fit is None:
        monkeypatch.delenv(figure_module.PAGE_FIT_ENV, raising=False)
    else:
        monkeypatch.setenv(figure_module.PAGE_FIT_ENV, page_fit)
    timers = []
    app = _stepper()
    fig = app.fig
    start = _css(fig)
    monkeypatch.setattr(fig.canvas, "new_timer", lambda interval: timers.append(interval) or _Timer())
    fig.canvas.syncing_data_url = False  # the page's canvas is ready
    sent = []
    monkeypatch.setattr(fig.canvas, "send_binary", sent.append)
    drawn = _draws(monkeypatch, fig)
    _ask_for_picture(fig.canvas)
    _ask_for_picture(fig.canvas)  # a page asking again keeps one request, one timer
    for junk in ("", "wide", "nanxnan", "-5x300"):  # not a width: keeps waiting
        app.fit.probe.value = junk
    assert drawn == [] and sent == [] and timers == [wait_ms]
    _Timer.last.fire()  # wait_ms later, as the kernel's event loop would
    assert drawn == [start] and len(sent) == 1
    _ask_for_picture(fig.canvas)  # answered at once (nothing changed: the same picture)
    assert drawn == [start] and len(sent) == 2 and timers == [wait_ms]


@pytest.mark.parametrize("preheat", [None, "", "no"], ids=["outside Voilà", "empty", "unknown"])
def test_a_picture_is_never_kept_waiting_outside_voila(monkeypatch, preheat):
    if preheat is None:
        monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    else:
        monkeypatch.setenv("VOILA_PREHEAT", preheat)
    app = _stepper()
    drawn = _draws(monkeypatch, app.fig)
    _ask_for_picture(app.fig.canvas)
    assert len(drawn) == 1


def test_a_picture_that_has_not_changed_is_sent_again_not_drawn_again(monkeypatch):
    import io

    import numpy as np
    from PIL import Image

    from kmeans_tutor.widgets.figure import refresh

    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    app = _stepper()
    fig, canvas = app.fig, app.fig.canvas
    canvas.syncing_data_url = False  # the page's canvas is ready
    sent = []  # the pictures sent to the page
    monkeypatch.setattr(canvas, "send_binary", lambda data: sent.append(bytes(data)))
    drawn = _draws(monkeypatch, fig)

    def shown():
        return canvas._last_buff.copy()  # what the page shows, after the last picture

    def drawn_anew():
        fig.stale = True
        type(canvas).draw(canvas)  # a full draw, as if nothing had been sent before
        return np.asarray(canvas.get_renderer().buffer_rgba()).view(np.uint32)[..., 0]

    _ask_for_picture(canvas)
    assert len(drawn) == 1 and len(sent) == 1
    canvas._force_full = True  # as after the page's "refresh", following a resize message
    _ask_for_picture(canvas)  # nothing changed: the same picture again, not drawn
    assert len(drawn) == 1 and len(sent) == 2
    whole = np.asarray(Image.open(io.BytesIO(sent[-1])).convert("RGBA")).view(np.uint32)[..., 0]
    assert (whole == shown()).all()

    for _ in range(3):  # steps change the picture, however it gets there
        app.transport.step.click()
        _ask_for_picture(canvas)
        page = shown()
        assert (page == drawn_anew()).all()
    before = len(drawn)
    app.fit.probe.value = "805x480"  # a new size is drawn
    _ask_for_picture(canvas)
    assert len(drawn) == before + 1
    assert Image.open(io.BytesIO(sent[-1])).size == canvas.get_width_height(physical=True)
    refresh(fig, immediate=False)  # playback: the page is told, then asks, and it is drawn
    _ask_for_picture(canvas)
    assert len(drawn) == before + 2


class _Timer:
    """A stand-in for the canvas's single-shot timer, fired by hand."""

    last = None

    def __init__(self):
        self.callbacks, self.single_shot, self.running = [], False, False
        _Timer.last = self

    def add_callback(self, func):
        self.callbacks.append(func)

    def start(self):
        self.running = True

    def stop(self):
        self.running = False

    def fire(self):
        assert self.running and self.single_shot
        for func in self.callbacks:
            func()


@pytest.mark.parametrize("make", [_stepper, _compare], ids=["stepper", "compare"])
def test_in_a_running_page_figures_are_laid_out_once_at_the_page_width(monkeypatch, make):
    """The layout waits for the first draw at the page's width, and comes out as a layout
    done at once and again at that width (within a tenth of a pixel)."""
    import numpy as np

    def positions(app):
        return [np.round(ax.get_position().bounds, 9) for f, *_ in app.fit._figures for ax in f.axes]

    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    at_once = make()
    at_once.fit.probe.value = "1260x720"
    for f, *_ in at_once.fit._figures:
        f.canvas.draw()

    monkeypatch.setenv("VOILA_PREHEAT", "False")
    executed = []
    original = ConstrainedLayoutEngine.execute
    monkeypatch.setattr(ConstrainedLayoutEngine, "execute",
                        lambda self, fig: executed.append(fig) or original(self, fig))
    waiting = make()
    assert executed == []  # nothing laid out while the lesson's cells run
    waiting.fit.probe.value = "1260x720"
    for f, *_ in waiting.fit._figures:
        _ask_for_picture(f.canvas)
    figures = [f for f, *_ in waiting.fit._figures]
    assert sorted(map(id, executed)) == sorted(map(id, figures))  # once each, at the page's width
    for a, b in zip(positions(at_once), positions(waiting)):
        assert np.allclose(a, b, rtol=0, atol=1e-4)  # a fraction of the figure: < 0.1 px


def test_a_page_is_told_again_that_a_canvas_is_not_resizable_by_hand(monkeypatch):
    """A page whose kernel ran before it came (preheated) makes each canvas resizable by
    hand, with a grab handle; when the canvas says it is ready, the kernel says it is not."""
    app = _stepper()
    canvas = app.fig.canvas
    sent = []
    monkeypatch.setattr(canvas, "send_state",
                        lambda key=None: key == "resizable" and sent.append((key, canvas.resizable)))
    for message in ("refresh", "send_image_mode"):
        canvas._msg_callbacks(canvas, {"type": message}, [])
    assert sent == []
    canvas._msg_callbacks(canvas, {"type": "initialized"}, [])
    assert sent == [("resizable", False)]
