"""First pictures kept once per machine: sent again only for a figure in the same state, and
the kernel that sends one behaves from then on exactly as the kernel that drew it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from io import BytesIO

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from kmeans_tutor import run_kmeans
from kmeans_tutor.data.resolver import resolve_data
from kmeans_tutor.widgets.challenge import ChallengeApp
from kmeans_tutor.widgets.choose_k import ChooseKApp
from kmeans_tutor.widgets.compare import CompareApp
from kmeans_tutor.widgets.figure import app_figure, png_bytes
from kmeans_tutor.widgets.kept_pictures import figure_digest, png_rgba
from kmeans_tutor.widgets.quantise import QuantiseApp
from kmeans_tutor.widgets.quiz import Quiz, nearest_centre_questions
from kmeans_tutor.widgets.segments import SegmentsApp
from kmeans_tutor.widgets.stepper import StepperApp

MALL = dict(dataset="mall", features=("Annual Income (k$)", "Spending Score (1-100)"))


def mall_quiz():
    X = resolve_data("mall", scaled=True).X
    return Quiz(nearest_centre_questions(X, run_kmeans(X, 5, init="k-means++", random_state=0)[4],
                                         n=3, random_state=0))


#: The apps of the lessons, as the lessons make them.
APPS = {
    "stepper": lambda: StepperApp(**MALL, k=5, init="k-means++", seed=0, scaled=True),
    "stepper_predict": lambda: StepperApp(dataset="gaussian_mixture", k=3, init="k-means++", seed=0,
                                          predict=True),
    "compare": lambda: CompareApp(**MALL, k=5, seed=5),
    "challenge": lambda: ChallengeApp(**MALL, k=5),
    "choose_k": lambda: ChooseKApp(**MALL, scaled=True, k_max=10, seed=0),
    "segments": lambda: SegmentsApp(k=5, features=MALL["features"], scaled=True, seed=0),
    "quantise": lambda: QuantiseApp(k=8, init="k-means++", seed=0),
    "quiz": mall_quiz,
}


@pytest.fixture
def voila(monkeypatch, tmp_path):
    """A kernel Voilà started for a waiting page, keeping its pictures in a folder of its own."""
    monkeypatch.setenv("VOILA_PREHEAT", "False")
    monkeypatch.setenv("KMEANS_TUTOR_TABLES", str(tmp_path / "kept"))
    return tmp_path / "kept"


@pytest.fixture
def draws(monkeypatch):
    """How many times a figure has been drawn by Agg."""
    count = {"n": 0}
    original = FigureCanvasAgg.draw

    def counted(self, *args, **kwargs):
        count["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FigureCanvasAgg, "draw", counted)
    return count


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(BytesIO(data)).convert("RGBA"))


def canvases(widget) -> list:
    found = []

    def walk(w):
        if hasattr(w, "_png_is_old") and hasattr(w, "figure"):
            found.append(w)
        for child in getattr(w, "children", ()) or ():
            walk(child)

    walk(widget)
    return found


class Page:
    """What a lesson page does with an app's canvases: says it is ready, reports the app's
    width, asks for each picture; and what each canvas shows after every frame the kernel
    sends (a whole frame replaces the picture, a diff is painted over it where not
    transparent, as ipympl's page does)."""

    def __init__(self, app, width: str = "1100x700"):
        self.canvases = canvases(app)
        assert self.canvases
        self.frames = {c: [] for c in self.canvases}
        for c in self.canvases:
            c.send_binary = lambda data, c=c: self.show(c, decode(data))
            self.message(c, {"type": "initialized"})
        for c in self.canvases:
            self.message(c, {"type": "draw"})
        for c in self.canvases:  # the template reports the width once the app is laid out
            fit = getattr(c, "_kt_fit", None)
            if fit is not None and fit.width is None:
                fit.probe.value = width
        for c in self.canvases:  # and the page asks again after the canvas took its new size
            self.message(c, {"type": "draw"})

    def show(self, canvas, frame: np.ndarray):
        shown = self.frames[canvas]
        if canvas._current_image_mode == "diff":
            assert shown and shown[-1].shape == frame.shape, "a diff with no picture under it"
            frame = np.where(frame[:, :, 3:] != 0, frame, shown[-1])
        shown.append(frame)

    @staticmethod
    def message(canvas, content):
        canvas._msg_callbacks(canvas, content, [])

    def last(self) -> list[np.ndarray]:
        return [self.frames[c][-1] for c in self.canvases]


def kernel(tmp_path, store, apps, *, change=None, width="1100x700", ratio=None, then=False,
           preheated=False) -> dict:
    """Run ``apps`` as a fresh kernel Voilà started for a waiting page does (or, ``preheated``,
    one it started before any page came), each in its own process like every student's
    kernel; open them in a :class:`Page`, and report: how many pictures
    Agg drew for the page and the frames it was sent; with ``then``, the pixels after each
    figure is drawn again and after the first app takes two steps."""
    out = tmp_path / f"kernel-{len(list(tmp_path.glob('kernel-*')))}.npz"
    args = [sys.executable, __file__, str(out), ",".join(apps), str(change), width, str(ratio), str(then)]
    env = {**os.environ, "VOILA_PREHEAT": str(preheated), "KMEANS_TUTOR_TABLES": str(store)}
    subprocess.run(args, env=env, check=True, capture_output=True, timeout=300)
    with np.load(out) as stored:
        return {k: stored[k] for k in stored.files}


#: Ways a stepper's figure can differ from the one whose picture was kept.
CHANGES = {
    "a_step": lambda app: app.model.step(),
    "limits": lambda app: app.fig.axes[0].set_xlim(-5, 5),
    "title": lambda app: app.fig.axes[0].set_title("another title"),
    "hidden_axes": lambda app: app.fig.axes[1].set_visible(False),
    "colour": lambda app: app.fig.axes[1].lines[0].set_color("red"),
    "rcparams": lambda app: matplotlib.rcParams.__setitem__("axes.linewidth", 2.5),
    "other_seed": None,
}


def _run_kernel(out, apps, change, width, ratio, then):
    matplotlib.use("module://ipympl.backend_nbagg")
    draws = {"n": 0}
    original = FigureCanvasAgg.draw

    def counted(self, *args, **kwargs):
        draws["n"] += 1
        return original(self, *args, **kwargs)

    FigureCanvasAgg.draw = counted
    if then == "prepare":  # the preparation ran "%matplotlib inline" before the apps
        matplotlib.interactive(True)
    made = []
    for name in apps.split(","):
        if name == "stepper" and change == "other_seed":
            made.append(StepperApp(**MALL, k=5, init="k-means++", seed=1, scaled=True))
        else:
            made.append(APPS[name]())
        if name == "stepper" and change not in ("None", "other_seed"):
            CHANGES[change](made[-1])
    if then == "prepare":
        # The server's preparation: the lesson has run "%matplotlib inline" (interactive mode
        # on), no page is there, and the figures that do not follow a page are drawn and kept.
        from kmeans_tutor.widgets.figure import keep_first_pictures
        draws["n"] = 0
        asked = keep_first_pictures()
        np.savez(out, asked=np.array(asked), draws=np.array(draws["n"]))
        return
    if ratio != "None":
        for app in made:
            for c in canvases(app):
                Page.message(c, {"type": "set_device_pixel_ratio", "device_pixel_ratio": float(ratio)})
    draws["n"] = 0
    pages = [Page(app, width) for app in made]
    result = {"draws": np.array(draws["n"])}
    frames = [f for page in pages for f in page.last()]
    result.update({f"first_{i}": f for i, f in enumerate(frames)})
    if then == "steps":
        # The page's first steps, straight after the first pictures: what Agg draws for them,
        # and what the page then shows.
        draws["n"] = 0
        for app in made:
            for i in range(3):
                if isinstance(app, ChallengeApp):  # its "steps": centres placed by a student
                    assert app.model.place(-1.3 + i, 1.1 - i)
                else:
                    app.model.step()
        result["step_draws"] = np.array(draws["n"])
        result.update({f"stepped_{i}": f for i, f in enumerate(f for page in pages for f in page.last())})
    if then == "True":
        for page in pages:
            for c in page.canvases:
                c.draw()
        # The pixels themselves (a frame may be a diff, and whether it is depends on timing).
        result.update({f"again_{i}": np.asarray(c.get_renderer().buffer_rgba()).copy()
                       for i, c in enumerate(c for p in pages for c in p.canvases)})
        result["positions"] = np.array([ax.get_position().extents for p in pages for c in p.canvases
                                        for ax in c.figure.axes])
        if hasattr(made[0], "model") and hasattr(made[0].model, "step"):
            made[0].model.step()
            made[0].model.step()
            result["stepped"] = np.asarray(pages[0].canvases[0].get_renderer().buffer_rgba()).copy()
    np.savez(out, **result)


def frames_of(result, kind="first") -> list[np.ndarray]:
    return [result[k] for k in sorted((k for k in result if k.startswith(kind + "_")),
                                      key=lambda k: int(k.split("_")[1]))]


@pytest.mark.slow
def test_a_kept_first_picture_is_sent_undrawn_and_the_kernel_then_behaves_as_the_one_that_drew_it(tmp_path):
    store = tmp_path / "kept"
    apps = list(APPS)
    first = kernel(tmp_path, store, apps, then=True)
    n_figures = len(frames_of(first))
    assert first["draws"] >= n_figures  # the first kernel draws every picture
    assert len(list(store.glob("first_picture-*.npz"))) == n_figures

    second = kernel(tmp_path, store, apps, then=True)
    assert second["draws"] == 0  # nothing drawn: every first picture was a kept one
    for kind in ("first", "again"):  # the same pictures, and the same after a draw
        for a, b in zip(frames_of(first, kind), frames_of(second, kind), strict=True):
            assert np.array_equal(a, b)
    # The axes are where the first kernel has them. (The choose-k and segments figures are
    # laid out again at every draw, and the choose-k twin axes may then land one rounding
    # step apart; the pixels above are the same.)
    np.testing.assert_allclose(first["positions"], second["positions"], rtol=0, atol=1e-12)
    assert np.array_equal(first["stepped"], second["stepped"])  # two steps of the first stepper


@pytest.mark.slow
def test_a_kernel_that_sent_kept_pictures_blits_its_first_steps_as_the_one_that_drew_them(tmp_path):
    # The steps of a stepper or of the comparison, and the centres placed in the challenge,
    # are pasted onto a snapshot of the figure taken at its full draw. A kernel that drew
    # nothing takes the snapshot kept with the picture: its first steps are blitted too (no
    # full draw), and give the same pixels.
    store = tmp_path / "kept"
    apps = ["stepper", "compare", "stepper_predict", "challenge"]
    first = kernel(tmp_path, store, apps, then="steps")
    assert first["draws"] >= len(frames_of(first)) and first["step_draws"] == 0
    kept = [np.load(f).files for f in store.glob("first_picture-*.npz")]
    assert len(kept) == 5 and sum("snapshot" in k for k in kept) == 4  # the race figure blits nothing
    second = kernel(tmp_path, store, apps, then="steps")
    assert second["draws"] == 0 and second["step_draws"] == 0
    for kind in ("first", "stepped"):
        for a, b in zip(frames_of(first, kind), frames_of(second, kind), strict=True):
            assert np.array_equal(a, b)
    assert not np.array_equal(frames_of(second, "first")[0], frames_of(second, "stepped")[0])


@pytest.mark.slow
def test_a_preheated_kernel_sends_kept_pictures_too_and_then_draws_the_same(tmp_path):
    store = tmp_path / "kept"
    apps = ["stepper", "compare", "choose_k"]
    first = kernel(tmp_path, store, apps, then=True, preheated=True)
    assert first["draws"] >= len(frames_of(first))
    second = kernel(tmp_path, store, apps, then=True, preheated=True)
    assert second["draws"] == 0
    for kind in ("first", "again"):
        for a, b in zip(frames_of(first, kind), frames_of(second, kind), strict=True):
            assert np.array_equal(a, b)
    assert np.array_equal(first["stepped"], second["stepped"])


@pytest.mark.slow
def test_the_preparation_keeps_the_pictures_of_fixed_size_figures_and_the_first_page_sends_them(tmp_path):
    # The server's preparation runs the lesson once, as a page's kernel would, with no page:
    # the quiz's three pictures have their own size and are drawn and kept then; the stepper's
    # waits for a page's width. The first page's kernel then draws the stepper only, and
    # shows the same pixels as a kernel that drew everything itself.
    store = tmp_path / "kept"
    prepared = kernel(tmp_path, store, ["stepper", "quiz"], then="prepare")
    assert prepared["asked"] == 3 and prepared["draws"] == 3
    assert len(list(store.glob("first_picture-*.npz"))) == 3
    page = kernel(tmp_path, store, ["stepper", "quiz"], then=True)
    assert page["draws"] == 1
    alone = kernel(tmp_path, tmp_path / "alone", ["stepper", "quiz"], then=True)
    assert alone["draws"] == 4
    for kind in ("first", "again"):
        for a, b in zip(frames_of(alone, kind), frames_of(page, kind), strict=True):
            assert np.array_equal(a, b)


def test_pictures_are_asked_for_only_in_a_kernel_running_a_lesson_for_a_page(monkeypatch, tmp_path, draws):
    from kmeans_tutor.widgets.figure import keep_first_pictures
    monkeypatch.setenv("KMEANS_TUTOR_TABLES", str(tmp_path / "kept"))
    quiz = mall_quiz()
    for preheat in (None, "True"):  # a notebook; a kernel that ran the lesson before its page came
        if preheat is None:
            monkeypatch.delenv("VOILA_PREHEAT", raising=False)
        else:
            monkeypatch.setenv("VOILA_PREHEAT", preheat)
        assert keep_first_pictures() == 0
    assert draws["n"] == 0 and not (tmp_path / "kept").exists()
    quiz.close()


def test_settings_that_draw_nothing_leave_the_key_as_it_was(voila):
    from kmeans_tutor.widgets.kept_pictures import _key
    fig = app_figure((3, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    _key(fig)  # a new figure's first digest is not its next ones (pickling settles it), in every kernel alike
    key = _key(fig)
    with matplotlib.rc_context({"interactive": not matplotlib.is_interactive(),
                                "keymap.save": ["ctrl+q"]}):
        assert _key(fig) == key
    with matplotlib.rc_context({"lines.linewidth": 4.0}):
        assert _key(fig) != key
    assert _key(fig) == key


@pytest.mark.slow
@pytest.mark.parametrize("change", list(CHANGES))
def test_a_figure_in_another_state_is_drawn(change, tmp_path):
    store = tmp_path / "kept"
    kernel(tmp_path, store, ["stepper"])
    changed = kernel(tmp_path, store, ["stepper"], change=change, then=True)
    assert changed["draws"] == 1  # its first picture was drawn, not sent from the store
    # and the first picture showed the figure as it was
    assert np.array_equal(frames_of(changed)[0], frames_of(changed, "again")[0])


@pytest.mark.slow
def test_another_width_or_pixel_ratio_is_drawn(tmp_path):
    store = tmp_path / "kept"
    kernel(tmp_path, store, ["stepper", "quiz"])
    assert kernel(tmp_path, store, ["stepper", "quiz"])["draws"] == 0
    assert kernel(tmp_path, store, ["stepper", "quiz"], width="900x700")["draws"] == 1  # the quiz has its own size
    assert kernel(tmp_path, store, ["stepper", "quiz"], ratio=2)["draws"] == 4


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["garbage", "foreign_png", "wrong_size", "wrong_axes",
                                    "snapshot_wrong_size", "snapshot_text"])
def test_a_damaged_or_foreign_kept_picture_is_drawn_and_replaced(damage, tmp_path):
    store = tmp_path / "kept"
    first = kernel(tmp_path, store, ["stepper"])
    (path,) = store.glob("first_picture-*.npz")
    with np.load(path) as stored:
        table = {k: stored[k] for k in stored.files}
    if damage == "garbage":
        path.write_bytes(b"not a table")
    else:
        if damage == "foreign_png":  # another encoder's PNG of the same pixels (filtered rows)
            buffer = BytesIO()
            Image.fromarray(frames_of(first)[0]).save(buffer, format="png")
            table["png"] = np.frombuffer(buffer.getvalue(), np.uint8)
        elif damage == "wrong_size":
            table["png"] = np.frombuffer(png_bytes(np.zeros((20, 30, 4), np.uint8)), np.uint8)
        elif damage == "snapshot_wrong_size":
            table["snapshot"] = np.frombuffer(png_bytes(np.zeros((20, 30, 4), np.uint8)), np.uint8)
        elif damage == "snapshot_text":
            table["snapshot"] = np.array([1.5, 2.5])
        else:
            table["axes"] = table["axes"][:1]
        with open(path, "wb") as handle:
            np.savez(handle, **table)
    second = kernel(tmp_path, store, ["stepper"])
    assert second["draws"] == 1
    assert np.array_equal(frames_of(first)[0], frames_of(second)[0])
    third = kernel(tmp_path, store, ["stepper"])  # the file was replaced by a good one
    assert third["draws"] == 0
    assert np.array_equal(frames_of(first)[0], frames_of(third)[0])


def test_outside_voila_nothing_is_kept(monkeypatch, tmp_path, draws):
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    monkeypatch.setenv("KMEANS_TUTOR_TABLES", str(tmp_path))
    app = APPS["quiz"]()
    for c in canvases(app):
        c.send_binary = lambda data: None
        Page.message(c, {"type": "draw"})
    assert not list(tmp_path.glob("*.npz"))


@pytest.mark.slow
def test_with_the_store_off_every_picture_is_drawn(tmp_path):
    assert kernel(tmp_path, "off", ["quiz"])["draws"] == 3
    assert kernel(tmp_path, "off", ["quiz"])["draws"] == 3
    assert not list(tmp_path.glob("off*"))


def test_a_figure_that_cannot_be_pickled_is_drawn_and_not_kept(voila, draws):
    fig = app_figure((4, 3))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.lines[0].note = threading.Lock()  # pickle cannot write a lock
    assert figure_digest(fig) is None
    fig.canvas.send_binary = lambda data: None
    Page.message(fig.canvas, {"type": "initialized"})
    Page.message(fig.canvas, {"type": "draw"})
    assert draws["n"] == 1
    assert not list(voila.glob("*.npz"))


def test_the_digest_is_the_same_in_another_process_and_changes_with_the_figure():
    code = ("import os; os.environ['KMEANS_TUTOR_TABLES'] = 'off'\n"
            "from kmeans_tutor.widgets.stepper import StepperApp\n"
            "from kmeans_tutor.widgets.kept_pictures import figure_digest\n"
            "app = StepperApp(dataset='mall', features=('Annual Income (k$)', 'Spending Score (1-100)'),"
            " k=5, init='k-means++', seed=0, scaled=True)\n"
            "print(figure_digest(app.fig))\n")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout.strip() for _ in range(2)}
    assert len(digests) == 1 and len(next(iter(digests))) == 64  # hash seeds differ, digests do not
    # (In a process that has drawn other figures before, shared matplotlib objects may hold
    # other values: the digest depends on what the kernel ran before, which for a lesson is
    # the same in every student's kernel.)
    app = APPS["stepper"]()
    before = figure_digest(app.fig)
    assert before == figure_digest(app.fig)
    app.fig.axes[0].collections[0].set_offsets(app.fig.axes[0].collections[0].get_offsets() + 1e-9)
    assert figure_digest(app.fig) != before


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (57, 131)])
def test_png_rgba_reads_back_what_png_bytes_writes(shape):
    rgba = np.random.default_rng(sum(shape)).integers(0, 256, (*shape, 4), dtype=np.uint8)
    assert np.array_equal(png_rgba(png_bytes(rgba)), rgba)


def test_png_rgba_refuses_any_other_file():
    rgba = np.zeros((4, 5, 4), np.uint8)
    good = png_bytes(rgba)
    buffer = BytesIO()
    Image.fromarray(np.arange(60, dtype=np.uint8).reshape(4, 5, 3)).save(buffer, format="png")
    for bad in (b"", b"not a png", good[:-20], good[:40], buffer.getvalue(),
                good.replace(b"IHDR", b"IHDX"), good[:8] + good[8:33] * 2 + good[33:]):
        assert png_rgba(bad) is None
    huge = bytearray(good)
    huge[16:24] = (100_000).to_bytes(4, "big") * 2  # a header that claims 100,000 × 100,000 pixels
    assert png_rgba(bytes(huge)) is None


if __name__ == "__main__":  # one kernel of the tests above, in a process of its own
    _run_kernel(*sys.argv[1:])


def test_png_rgba_checks_the_size_before_decompressing():
    good = png_bytes(np.zeros((4, 5, 4), np.uint8))
    assert png_rgba(good, shape=(4, 5)).shape == (4, 5, 4)
    assert png_rgba(good, shape=(5, 4)) is None
