"""The "beat k-means++" challenge, driven from Python: the model alone, then the app through
its buttons and real matplotlib clicks, and the claims lesson 5 makes about it."""

import html
import math
import re
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("ipympl")
pytestmark = pytest.mark.usefixtures("restore_backend")

from matplotlib.backend_bases import MouseEvent

from kmeans_tutor.core.estimator import KMeans
from kmeans_tutor.core.lloyd import run_kmeans
from kmeans_tutor.core.restarts import SAME_RESULT_RTOL, restart_inertias, standing
from kmeans_tutor.widgets.challenge import ChallengeApp, ChallengeModel, percent_words
from kmeans_tutor.widgets.compare import SAME_GROUPING_RTOL
from tests.widgets.blitting import FrameWatch

# Starts on the scaled Mall data (income, spending score), k = 5, named as lesson 5 names them.
ONE_PER_GROUP = [(-1.3, 1.1), (-1.3, -1.2), (-0.2, 0.0), (1.0, 1.2), (1.0, -1.3)]
BUNCHED_IN_THE_MIDDLE = [(-0.3, 0.0), (0.3, 0.0), (0.0, 0.3), (0.0, -0.3), (0.1, 0.1)]
ROW_ALONG_THE_TOP = [(-1.5, 1.8), (-0.5, 1.8), (0.5, 1.8), (1.5, 1.8), (2.5, 1.8)]


@pytest.fixture(scope="module")
def mall_model():
    """One model for the module: its restarts are made once (the first Run) and kept."""
    return ChallengeModel()


@pytest.fixture
def model(mall_model):
    # A fresh challenge at k = 5 (a change of k forgets the tries; the restarts stay cached).
    mall_model.k = 4
    mall_model.k = 5
    return mall_model


def play(model, starts):
    model.try_again()
    for x, y in starts:
        assert model.place(x, y)
    return model.run()


def click(app, x, y, button=1):
    """A real click through the canvas at data point (x, y) of the picture."""
    px, py = app.panel.ax.transData.transform((x, y))
    app.fig.canvas.callbacks.process("button_press_event",
                                     MouseEvent("button_press_event", app.fig.canvas, px, py, button=button))


def text(html_value: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", html_value))


# --------------------------------------------------------------------------- the model


def test_placing_k_centres_then_run(model):
    assert model.init == "manual" and model.trace is None
    assert model.message == "Click 5 centres on the plot to start (0 of 5 placed)."
    for i, (x, y) in enumerate(ONE_PER_GROUP[:4]):
        assert model.place(x, y)
        assert f"({i + 1} of 5 placed)" in model.message
    assert model.run() is None and model.attempt is None
    assert model.message == "Place all 5 centres first (4 of 5 placed), then press Run."
    assert model.place(*ONE_PER_GROUP[4])
    assert model.message == "All 5 centres placed: press Run to run K-means from them."
    assert model.trace is not None and model.attempt is None  # the run is not shown before Run
    attempt = model.run()
    assert attempt is model.attempt and attempt.number == model.tries
    np.testing.assert_array_equal(attempt.starts, ONE_PER_GROUP)
    # The run is K-means from exactly those centres.
    direct = run_kmeans(model.X, 5, init=np.array(ONE_PER_GROUP))
    assert attempt.inertia == direct.final.inertia and attempt.n_iter == direct.final.n_iter
    assert model.run() is attempt  # pressing Run again changes nothing


def test_the_percentile_is_the_standing_among_the_restarts(model):
    attempt = play(model, ROW_ALONG_THE_TOP)
    runs = model.restart_runs()
    assert set(runs) == {"k-means++", "random"}
    for init in ("k-means++", "random"):
        assert runs[init].shape == (200,)
        np.testing.assert_array_equal(runs[init], restart_inertias(model.X, 5, init, n_restarts=200))
        expected = standing(attempt.inertia, runs[init], rtol=SAME_GROUPING_RTOL)
        assert attempt.standings[init] == expected
        manual = np.mean(runs[init] >= attempt.inertia * (1 - SAME_GROUPING_RTOL)) * 100
        assert attempt.percent(init) == pytest.approx(manual)
    # Spot-check the restarts against the estimator, seed by seed.
    for seed in (0, 57, 199):
        assert runs["random"][seed] == KMeans(5, init="random", n_init=1, random_state=seed).fit(model.X).inertia_
    p_plus, p_rand = (percent_words(attempt.percent(i)) for i in ("k-means++", "random"))
    assert model.verdict() == (f"Your run ended at inertia {attempt.inertia:.4g} after {attempt.n_iter} "
                               f"iterations: it matches or beats {p_plus} of k-means++ runs and {p_rand} of "
                               f"random-start runs.")
    s = attempt.standings["k-means++"]
    assert f"k-means++: {s.n_worse} of 200 ended higher, {s.n_same} the same, {s.n_better} lower" \
        in model.counts_words()


def test_the_tie_rule_is_the_race_rule():
    assert SAME_GROUPING_RTOL == SAME_RESULT_RTOL == 1e-3


def test_restarts_are_made_once_per_data_and_k():
    m = ChallengeModel(dataset="blobs", k=3, n_restarts=20)
    assert math.isnan(m.restarts_seconds)  # nothing made before the first Run
    first = m.restart_runs()
    seconds = m.restarts_seconds
    assert m.restart_runs() is first and m.restarts_seconds == seconds
    m.k = 2
    assert m.restart_runs() is not first and len(m.restart_runs()["random"]) == 20
    m.k = 3
    assert m.restart_runs() is first  # back to k = 3: kept


def test_try_again_keeps_the_best(model):
    good = play(model, ONE_PER_GROUP)
    assert model.best is good and "No run did better than yours" in model.message
    bad = play(model, ROW_ALONG_THE_TOP)
    assert bad.inertia > good.inertia
    assert model.attempt is bad and model.best is good and model.tries == bad.number == good.number + 1
    assert model.best_words().startswith(f"Your best: inertia {good.inertia:.4g} (try {good.number} of "
                                         f"{model.tries}) — matches or beats 100 % of k-means++ runs")
    assert "can you find a start that ends lower?" in model.message
    model.try_again()
    assert model.attempt is None and model.manual_centers == [] and model.best is good
    better_first = play(model, ROW_ALONG_THE_TOP)
    assert model.best is good and better_first is not good


def test_a_better_try_becomes_the_best():
    m = ChallengeModel(dataset="blobs", k=3, n_restarts=20)
    X = m.X
    # Three centres in a column at the left edge: a start that gets stuck.
    left = [(X[:, 0].min(), y) for y in np.linspace(X[:, 1].min(), X[:, 1].max(), 3)]
    poor = play(m, left)
    assert m.best is poor and poor.percent("k-means++") < 100
    # The centres of the best of ten k-means++ runs: a start that is already the end.
    good = play(m, KMeans(3, n_init=10, random_state=0).fit(X).cluster_centers_)
    assert good.inertia < poor.inertia * (1 - SAME_RESULT_RTOL)
    assert m.best is good and m.tries == 2
    assert good.percent("k-means++") == 100.0


def test_too_many_centres_are_refused_with_a_message(model):
    for x, y in ONE_PER_GROUP:
        model.place(x, y)
    assert not model.place(0.5, 0.5)
    assert len(model.manual_centers) == 5
    assert model.message.startswith("All 5 centres are placed: press Run, or “Clear my centres”")
    model.run()
    assert not model.place(0.5, 0.5)
    assert model.message.startswith("Your run is on screen: press “Clear my centres”")
    assert len(model.manual_centers) == 5 and model.attempt is not None


@pytest.mark.parametrize("x, y", [(float("nan"), 0.0), (0.0, float("inf")), ("left", 1.0), (None, 1.0)])
def test_a_centre_needs_a_finite_place(model, x, y):
    assert not model.place(x, y)
    assert model.manual_centers == [] and model.message_level == "error"
    assert "click inside it" in model.message


def test_changing_k_resets_the_challenge(model):
    play(model, ONE_PER_GROUP)
    assert model.best is not None and model.tries >= 1
    model.k = 3
    assert model.manual_centers == [] and model.attempt is None and model.best is None
    assert model.tries == 0 and model.message == "Click 3 centres on the plot to start (0 of 3 placed)."
    attempt = play(model, ONE_PER_GROUP[:3])
    assert attempt.number == 1 and model.restart_runs()["k-means++"].shape == (200,)


def test_a_k_the_data_cannot_take_is_explained():
    m = ChallengeModel(dataset="blobs", k=3, n_restarts=10)
    m.k = 500
    assert m.message_level == "error" and "distinct" in m.message
    assert not m.place(0.0, 0.0) and "distinct" in m.message  # the settings' message stays
    assert m.run() is None and "distinct" in m.message


def test_percent_words_never_round_to_all_or_none():
    assert percent_words(100.0) == "100 %"
    assert percent_words(0.0) == "0 %"
    assert percent_words(99.6) == "99 %"
    assert percent_words(0.4) == "1 %"
    assert percent_words(62.0) == "62 %"


def test_bad_numbers_of_restarts_are_refused():
    with pytest.raises(ValueError, match="n_restarts"):
        ChallengeModel(n_restarts=0)


# --------------------------------------------------------------------------- the app


@pytest.fixture
def app():
    return ChallengeApp()


def test_app_opens_without_making_the_restarts(app):
    m = app.model
    assert math.isnan(m.restarts_seconds) and app.histograms.limits is None
    assert app.histograms.note.get_visible()
    assert "Click 5 centres" in text(app.message)
    assert text(app.verdict).strip() == "" and app.best_text == ""
    assert app.panel.ax.get_xlabel() == "Annual Income (z-score)"
    assert "final inertia (z-score units)" in app.histograms.axes["random"].get_xlabel()


def test_app_clicks_place_centres_in_the_units_on_the_axes(app):
    m = app.model
    click(app, -1.3, 1.1)
    np.testing.assert_allclose(m.manual_centers, [[-1.3, 1.1]], atol=1e-9)
    assert "4 more" in text(app.message)
    # The preview shows it: a cross where it was put.
    np.testing.assert_allclose(app.marks.start_line.get_xydata(), [[-1.3, 1.1]], atol=1e-9)
    click(app, 0.0, 0.0, button=3)  # the right button does nothing
    assert len(m.manual_centers) == 1
    # A click on the histograms is not a centre.
    hist = app.histograms.axes["k-means++"]
    app._on_click(SimpleNamespace(inaxes=hist, xdata=70.0, ydata=10.0, button=1))
    assert len(m.manual_centers) == 1
    assert "Click inside the picture of the data (left)" in text(app.message)
    # Outside every axes: no data coordinates.
    app._on_click(SimpleNamespace(inaxes=None, xdata=None, ydata=None, button=1))
    assert len(m.manual_centers) == 1 and "Click inside the picture" in text(app.message)


def test_app_run_shows_the_percentile_the_histograms_and_the_run(app):
    m = app.model
    for x, y in ROW_ALONG_THE_TOP:
        click(app, x, y)
    assert "press Run" in text(app.message)
    app.run_button.click()
    a = m.attempt
    assert a is not None and not app.run_button.disabled
    verdict = text(app.verdict)
    for init, name in (("k-means++", "k-means++ runs"), ("random", "random-start runs")):
        assert f"{percent_words(a.percent(init))} of {name}" in verdict
    assert "within 0.1 % of your inertia count as the same result" in text(app.counts_text)
    assert text(app.best_text).startswith(f"➜ Your best: inertia {a.inertia:.4g} (try 1 of 1)")
    # The histograms: every run counted once, the same bins and x limits, your run marked.
    h = app.histograms
    runs = m.restart_runs()
    for init, ax in h.axes.items():
        counts = h.stairs[init].get_data().values
        assert counts.sum() == len(runs[init]) == 200
        assert ax.get_xlim() == h.limits
        assert h.your_line[init].get_xdata()[0] == a.inertia and h.your_line[init].get_visible()
    assert h.limits[0] < a.inertia < h.limits[1]
    # Lesson 5: "A solid black line marks your run, a dashed line your best run so far."
    assert h.your_line["random"].get_linestyle() == "-" and h.your_line["random"].get_color() == "#000000"
    assert h.best_line["random"].get_linestyle() == "--"
    # "The sentence above the picture says what share of each seeding's runs ..."
    assert app.children.index(app._verdict) < app.children.index(app.fig.canvas)
    np.testing.assert_array_equal(h.stairs["k-means++"].get_data().edges, h.stairs["random"].get_data().edges)
    assert h.your_label.get_text() == f"your run = your best\n{a.inertia:.4g}"
    assert not h.note.get_visible()
    # The picture: the converged run, the crosses at the starts, each centre's path to its end.
    assert app.panel.ax.get_title() == f"Your run: inertia {a.inertia:.4g}"
    np.testing.assert_allclose(app.marks.start_line.get_xydata(), ROW_ALONG_THE_TOP)
    final = a.trace.final.centers
    for j, line in enumerate(app.marks.path_lines):
        path = line.get_xydata()
        np.testing.assert_allclose(path[0], ROW_ALONG_THE_TOP[j])
        np.testing.assert_allclose(path[-1], final[j])
    assert "crosses mark your starts" in app.figure_text


def test_app_try_again_keeps_the_best_on_screen(app):
    m = app.model
    for x, y in ONE_PER_GROUP:
        click(app, x, y)
    app.run_button.click()
    best = m.attempt.inertia
    app.clear_button.click()
    assert m.manual_centers == [] and m.attempt is None
    assert "Your best" in text(app.best_text)
    h = app.histograms
    assert h.best_line["random"].get_visible() and not h.your_line["random"].get_visible()
    for x, y in ROW_ALONG_THE_TOP:
        click(app, x, y)
    app.run_button.click()
    assert h.your_line["k-means++"].get_xdata()[0] == m.attempt.inertia > best
    assert h.best_line["k-means++"].get_xdata()[0] == best
    assert h.best_label.get_text() == f"your best\n{best:.4g}"
    assert h.your_label.get_text() == f"your run\n{m.attempt.inertia:.4g}"
    assert f"inertia {best:.4g} (try 1 of 2)" in text(app.best_text)


def test_app_sends_the_new_message_after_every_other_readout(app):
    """The page gets updates in the order they are made: the message that says what to do
    next must not arrive while the last run's verdict is still on screen."""
    import ipywidgets as widgets

    for x, y in ONE_PER_GROUP:
        click(app, x, y)
    app.run_button.click()
    readouts = [w for w in app.children if isinstance(w, widgets.HTML)]
    order = []
    for w in readouts:
        w.observe(lambda change: order.append(change["owner"]), names="value")
    app.clear_button.click()
    assert "0 of 5 placed" in text(app.message) and text(app.verdict) == ""
    message = next(w for w in readouts if w.value == app.message)
    assert order[-1] is message and len(order) > 1


def test_app_run_before_all_centres_says_what_is_missing(app):
    click(app, 0.0, 0.0)
    app.run_button.click()
    assert "Place all 5 centres first (1 of 5 placed)" in text(app.message)
    assert app.model.attempt is None and app.histograms.limits is None


def test_app_changing_k_resets_and_redraws(app):
    m = app.model
    for x, y in ONE_PER_GROUP:
        click(app, x, y)
    app.run_button.click()
    old_panel = app.panel
    app._k.value = 3
    assert m.k == 3 and m.best is None and m.manual_centers == []
    assert app.panel is not old_panel and len(app.marks.path_lines) == 3
    assert app.best_text == "" and text(app.verdict).strip() == ""
    assert app.histograms.note.get_visible()
    assert "Click 3 centres" in text(app.message)


def test_app_presenter_view_hides_only_the_settings(app):
    app.presenter.set(True)
    assert app._k.layout.display == "none"
    assert app.run_button.layout.display != "none" and app.clear_button.layout.display != "none"
    app.presenter.set(False)
    assert app._k.layout.display != "none"


# --------------------------------------------------------------------------- lesson 5's claims


def test_lesson_5_claims_about_the_challenge(model):
    # "Put one centre on each of the five groups ... ends at the best grouping, 65.57 or 65.58:
    # it matches or beats 100 % of both seedings' runs."
    a = play(model, ONE_PER_GROUP)
    assert round(a.inertia, 2) in (65.57, 65.58)
    assert a.percent("k-means++") == a.percent("random") == 100.0
    # "So do most starts — even five centres bunched in the middle of the picture."
    b = play(model, BUNCHED_IN_THE_MIDDLE)
    assert round(b.inertia, 2) in (65.57, 65.58) and b.percent("k-means++") == 100.0
    # "about 85 % of the k-means++ runs and 78 % of the random-start runs end at that same grouping"
    runs = model.restart_runs()
    best = min(r.min() for r in runs.values())
    shares = {i: np.mean(r <= best * (1 + SAME_GROUPING_RTOL)) for i, r in runs.items()}
    assert round(shares["k-means++"] * 100) == 85 and round(shares["random"] * 100) == 78
    # The quiz: "yet beat (strictly) only about 15 % of them"
    assert round(a.standings["k-means++"].n_worse / 200 * 100) == 15
    # "put all five centres in a row along the top edge, and the run ends near 98.5"
    c = play(model, ROW_ALONG_THE_TOP)
    assert round(c.inertia, 1) == 98.5 and c.percent("k-means++") < 50
    # "(seeds 0 to 199)"
    np.testing.assert_array_equal(runs["k-means++"][:3],
                                  [KMeans(5, n_init=1, random_state=s).fit(model.X).inertia_ for s in range(3)])


def drawn_ticks(axis):
    """The tick labels an axis draws (those of ticks inside its limits)."""
    lo, hi = sorted(axis.get_view_interval())
    return [label for label, at in zip(axis.get_ticklabels(), axis.get_ticklocs()) if lo <= at <= hi]


@pytest.mark.parametrize("page, presenter", [("1260x720", False), ("805x480", False), ("1260x720", True)])
def test_every_text_of_the_figure_stays_inside_it(page, presenter):
    """Titles, axis and tick labels, the legend and the labels of your lines: nothing cut off
    at 100 % or 150 % zoom or in presenter view, before and after a run."""
    app = ChallengeApp()
    app.fit.probe.value = page
    app.presenter.set(presenter)
    fig = app.fig

    def check():
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        box = fig.bbox
        texts = [t for ax in fig.axes for t in (ax.title, ax.xaxis.label, ax.yaxis.label,
                                               *drawn_ticks(ax.xaxis), *drawn_ticks(ax.yaxis))]
        texts += list(app.panel.ax.get_legend().get_texts())
        texts += [app.histograms.your_label, app.histograms.best_label]
        shown = [t for t in texts if t.get_visible() and t.get_text().strip() and t.get_color() != "none"]
        assert shown
        for text in shown:
            extent = text.get_window_extent(renderer)
            assert box.x0 - 1 <= extent.x0 and extent.x1 <= box.x1 + 1, text.get_text()
            assert box.y0 - 1 <= extent.y0 and extent.y1 <= box.y1 + 1, text.get_text()

    check()
    for start in (ONE_PER_GROUP, ROW_ALONG_THE_TOP):
        app.model.try_again()
        for x, y in start:
            click(app, x, y)
        app.run_button.click()
        check()
    assert app.histograms.best_label.get_visible() and app.histograms.your_label.get_visible()


def test_app_says_what_it_does_while_the_first_run_makes_the_restarts(app):
    shown = []
    app._message.observe(lambda change: shown.append(text(change["new"])), names="value")
    for x, y in ONE_PER_GROUP:
        click(app, x, y)
    assert not app.model.restarts_ready
    app.run_button.click()
    assert any("200 k-means++ and 200 random-start runs to compare with" in s for s in shown)
    assert app.model.restarts_ready and "No run did better than yours" in text(app.message)
    shown.clear()
    app.clear_button.click()
    for x, y in ROW_ALONG_THE_TOP:
        click(app, x, y)
    app.run_button.click()  # made already: no waiting message
    assert not any("to compare with" in s for s in shown)


def test_app_draws_a_run_started_from_the_model(app):
    m = app.model
    for x, y in ONE_PER_GROUP:
        m.place(x, y)
    a = m.run()
    assert app.panel.ax.get_title() == f"Your run: inertia {a.inertia:.4g}"
    assert app.histograms.limits is not None and VERDICT_WORDS in text(app.verdict)


VERDICT_WORDS = "matches or beats"


def test_with_one_cluster_the_start_makes_no_difference():
    m = ChallengeModel(dataset="blobs", k=1, n_restarts=10)
    assert m.message == "Click 1 centre on the plot to start (0 of 1 placed)."
    a = play(m, [(0.0, 0.0)])
    assert a.percent("k-means++") == a.percent("random") == 100.0
    assert m.message.startswith("Every run of both seedings ended at this same result")


def test_app_takes_typed_centres_and_explains_bad_ones(app):
    """Without a mouse: "x, y" and Enter places a centre like a click; bad text changes nothing."""
    m = app.model
    typed = app._typed
    typed.value = "-1.3, 1.1"
    assert m.manual_centers == [[-1.3, 1.1]] and typed.value == ""  # ready for the next one
    typed.value = "0.5;0.5"
    assert m.manual_centers[-1] == [0.5, 0.5]
    for bad, words in (("1 2 3", "two numbers"), ("abc", "two numbers"), ("9, 9", "off the picture"),
                       ("nan, 1", "off the picture"), ("1e999, 0", "off the picture"),
                       ("x" * 10_000, "two numbers")):
        typed.value = bad
        assert len(m.manual_centers) == 2, bad
        assert words in text(app.message), bad
        assert len(app.message) < 400
    for x, y in ONE_PER_GROUP[2:]:
        typed.value = f"{x} {y}"
    assert len(m.manual_centers) == 5
    typed.value = "0, 0"  # a sixth: refused, the text stays for the learner to see
    assert len(m.manual_centers) == 5 and "All 5 centres are placed" in text(app.message)
    app.run_button.click()
    assert m.attempt is not None


def test_parse_point_reads_two_numbers_inside_the_picture():
    from kmeans_tutor.widgets.challenge import parse_point

    limits = ((-2.0, 3.0), (-2.0, 2.0))
    assert parse_point(" -1.3 , 1.1 ", limits) == (-1.3, 1.1)
    assert parse_point("3 -2", limits) == (3.0, -2.0)  # the edges are on the picture
    with pytest.raises(ValueError, match="two numbers"):
        parse_point("1", limits)
    with pytest.raises(ValueError, match="off the picture"):
        parse_point("3.01, 0", limits)


def test_placed_centres_are_blitted_and_equal_full_redraws(monkeypatch):
    # A placed centre changes only the picture of the data (the crosses): it is drawn onto a
    # snapshot of the rest (a blit), and the picture must be exactly a full redraw's. A run
    # brings new histograms (bars, limits, ticks) and is drawn in full.
    app = ChallengeApp()
    watch = FrameWatch(monkeypatch, app.fig)
    full_draws, blitted_then_full = watch.full_draws, watch.blitted_then_full
    def place_all(centres):
        for x, y in centres:
            full_draws.clear()
            click(app, x, y)
            assert full_draws == [], (x, y)
            blitted, full = blitted_then_full()
            assert np.array_equal(blitted, full), (x, y)

    place_all(ONE_PER_GROUP)
    full_draws.clear()
    app.run_button.click()  # the histograms appear: a full draw
    assert len(full_draws) == 1 and app.histograms.stairs["random"].get_visible()
    app.clear_button.click()  # the run's line goes, the best stays: a full draw
    assert len(full_draws) == 2 and not app.histograms.your_line["random"].get_visible()
    place_all(ROW_ALONG_THE_TOP)  # placed beside the histograms of the first try: blitted
    full_draws.clear()
    app._k.value = 3  # a new picture of the data: drawn in full once, then blitted again
    assert len(full_draws) == 1 and app.model.best is None
    place_all(ONE_PER_GROUP[:3])
    full_draws.clear()
    app.model.k = 4  # before any run: the same empty histograms, a new picture of the data
    assert len(full_draws) == 1 and len(app.marks.path_lines) == 4
    place_all(ONE_PER_GROUP[:4])
