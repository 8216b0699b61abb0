"""View benchmarks: what one frame costs, measured the way a frame is delivered.

Run with ``python benchmarks/bench_views.py`` (or ``make bench``). Prints a
table and writes ``benchmarks/results/views.json``. Nothing here is a
pass/fail threshold; the goals are printed next to the figures.

Every frame below ends as PNG bytes of the same figure size (5 × 5 in,
80 dpi), made by ``fig.savefig(buffer, format="png")`` — which renders the
figure with Agg and encodes it — so both sides pay the same rendering and
encoding pipeline and differ only in how the picture is built:

(a) 10,000 points, one assign step (k = 8, points that changed ringed,
    caption): a naive re-plot (fresh figure, ``ax.scatter`` per cluster, the
    centres, the changed points, the caption as a title) ÷ ours
    (``StepView.draw(step)`` on a view built once, then the same savefig).
    Goal ≥ 8×.
    (a'') the same step delivered the way the stepper app does it: the
    static part of the figure kept as a snapshot, only the view's artists
    redrawn on it, then PNG-encoded (Pillow, as ipympl does).
(b) Ours at 1,000,000 points (density image) ÷ ours at 10,000 points
    (markers), same kind of step. Goal ≤ 2×.
    The fixed cost of a frame (the same figure with the view's artists
    hidden: axes, tick labels, PNG encoding) is printed too: it bounds the
    ratio any full-redraw approach can reach.
(c) Seconds to export a 30-step run as a GIF with ``save_animation``
    (StepView + InertiaView, 10,000 points, PillowWriter).
(d) The k-means++ challenge (lesson 5) at a 1280 px page's width: a full redraw of its
    figure (the picture of the data and both histograms, what a placed centre cost before)
    ÷ placing a centre as the app does it (the model, then only the picture of the data
    drawn onto the kept rest), each until the frame is handed to the widget.

Times are medians over several repeats, after a warm-up.
"""

from __future__ import annotations

import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from kmeans_tutor import run_kmeans  # noqa: E402
from kmeans_tutor.views.animation import animate, save_animation  # noqa: E402
from kmeans_tutor.views.palette import cluster_style, region_cmap  # noqa: E402
from kmeans_tutor.core.steps import AssignStep  # noqa: E402
from kmeans_tutor.views import StepView  # noqa: E402

RESULTS = Path(__file__).parent / "results"
FIGSIZE, DPI, K = (5, 5), 80, 8


def _median_time(func, repeat, warmup=1):
    for _ in range(warmup):
        func()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _paired_medians(f, g, repeat, warmup=1):
    """Medians of f and g timed alternately, so that a busy machine slows both alike."""
    for _ in range(warmup):
        f(), g()
    tf, tg = [], []
    for _ in range(repeat):
        for func, times in ((f, tf), (g, tg)):
            start = time.perf_counter()
            func()
            times.append(time.perf_counter() - start)
    return statistics.median(tf), statistics.median(tg)


def _blobs(n, k=K, seed=0):
    """n points in k Gaussian blobs (2-D), so a run has clear clusters."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(-10, 10, size=(k, 2))
    return means[rng.integers(k, size=n)] + rng.normal(size=(n, 2))


def _second_assign(X):
    """The assign step of iteration 2 (some points change cluster there)."""
    trace = run_kmeans(X, K, random_state=0, max_iter=3, tol=0.0)
    return next(s for s in trace if isinstance(s, AssignStep) and s.iteration == 2)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def naive_frame(X, step) -> bytes:
    """Re-plot everything from scratch, the way a first notebook would."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    ax = fig.subplots()
    labels = step.labels
    for j in range(step.n_clusters):
        colour, marker = cluster_style(j)
        pts = X[labels == j]
        ax.scatter(pts[:, 0], pts[:, 1], s=5, c=colour, marker=marker)
        ax.scatter(step.centers[j, 0], step.centers[j, 1], s=200, c=colour, marker=marker,
                   edgecolors="black", linewidths=1.8)
    changed = X[step.changed]
    ax.scatter(changed[:, 0], changed[:, 1], s=40, facecolors="none", edgecolors="black", linewidths=0.9)
    ax.set_title(step.describe(), fontsize=7, wrap=True)
    return _png(fig)


def naive_one_scatter(X, step) -> bytes:
    """The other naive re-plot: one scatter coloured per point (c=labels).
    Per-point colours take Agg's slow path-collection route."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    ax = fig.subplots()
    ax.scatter(X[:, 0], X[:, 1], s=5, c=step.labels, cmap=region_cmap(K), vmin=-0.5, vmax=K - 0.5,
               linewidths=0)
    ax.scatter(step.centers[:, 0], step.centers[:, 1], s=200, c=np.arange(step.n_clusters),
               cmap=region_cmap(K), vmin=-0.5, vmax=K - 0.5, edgecolors="black", linewidths=1.8)
    changed = X[step.changed]
    ax.scatter(changed[:, 0], changed[:, 1], s=40, facecolors="none", edgecolors="black", linewidths=0.9)
    ax.set_title(step.describe(), fontsize=7, wrap=True)
    return _png(fig)


class OurFrame:
    """A StepView built once; a frame is draw(step) + the same savefig."""

    def __init__(self, X):
        self.fig = Figure(figsize=FIGSIZE, dpi=DPI)
        self.view = StepView(X, K, ax=self.fig.subplots())

    def __call__(self, step) -> bytes:
        self.view.draw(step)
        return _png(self.fig)


class OurBlitFrame:
    """How the stepper app delivers a click: the static part of the figure is
    kept as a snapshot; a frame pastes it back, draws only the view's artists
    and encodes the picture as PNG (Pillow, as ipympl does)."""

    def __init__(self, X):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig = Figure(figsize=FIGSIZE, dpi=DPI)
        FigureCanvasAgg(self.fig)
        self.view = StepView(X, K, ax=self.fig.subplots())
        for artist in self.view.artists:
            artist.set_animated(True)
        self.fig.canvas.draw()
        self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)

    def __call__(self, step) -> bytes:
        from PIL import Image

        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        self.view.draw(step)
        for artist in sorted(self.view.artists, key=lambda a: a.get_zorder()):
            if artist.get_visible():
                self.fig.draw_artist(artist)
        buf = io.BytesIO()
        Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buf, format="png")
        return buf.getvalue()


def frame_ratio(n=10_000, repeat=9):
    X = _blobs(n)
    step = _second_assign(X)
    ours = OurFrame(X)
    for png in (naive_frame(X, step), naive_one_scatter(X, step), ours(step)):
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    t_naive, t_ours = _paired_medians(lambda: naive_frame(X, step), lambda: ours(step), repeat)
    t_one, t_ours2 = _paired_medians(lambda: naive_one_scatter(X, step), lambda: ours(step), repeat)
    blit = OurBlitFrame(X)
    assert blit(step)[:8] == b"\x89PNG\r\n\x1a\n"
    t_naive3, t_blit = _paired_medians(lambda: naive_frame(X, step), lambda: blit(step), repeat)
    t_draw = _median_time(lambda: ours.view.draw(step), repeat * 5)
    # The fixed cost of any frame of this figure: same axes, ticks and PNG
    # encoding, with every artist of the view hidden.
    for artist in ours.view.artists:
        artist.set_visible(False)
    t_floor = _median_time(lambda: _png(ours.fig), repeat)
    return dict(n=n, naive_s=t_naive, ours_s=t_ours, ratio=t_naive / t_ours, floor_s=t_floor,
                best_possible_ratio=t_naive / t_floor,
                naive_one_scatter_s=t_one, ours_s_2=t_ours2, ratio_one_scatter=t_one / t_ours2,
                draw_only_s=t_draw, changed=int(step.n_changed), mode=ours.view.mode,
                naive_s_3=t_naive3, ours_blit_s=t_blit, ratio_blit=t_naive3 / t_blit)


def scale_ratio(n_small=10_000, n_big=1_000_000, repeat=9):
    frames, info = {}, {}
    for n in (n_small, n_big):
        X = _blobs(n)
        step = _second_assign(X)
        start = time.perf_counter()
        frame = OurFrame(X)
        build = time.perf_counter() - start
        frames[n] = (lambda f=frame, s=step: f(s))
        info[n] = dict(build_s=build, mode=frame.view.mode, changed=int(step.n_changed),
                       draw_only_s=_median_time(lambda f=frame, s=step: f.view.draw(s), repeat))
    t_small, t_big = _paired_medians(frames[n_small], frames[n_big], repeat)
    info[n_small]["frame_s"], info[n_big]["frame_s"] = t_small, t_big
    return dict(small=info[n_small], big=info[n_big], n_small=n_small, n_big=n_big,
                ratio=t_big / t_small)


def gif_export(n=10_000, n_steps=30, repeat=3):
    X = np.random.default_rng(3).uniform(size=(n, 2))  # uniform: many iterations before convergence
    trace = run_kmeans(X, 5, init="random", random_state=0, tol=0.0, max_iter=50)
    steps = list(trace)[:n_steps]
    assert len(steps) == n_steps, len(steps)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "run.gif")

        def export():
            anim = animate(steps, X, fps=4, dpi=80)
            save_animation(anim, path, progress=False)

        seconds = _median_time(export, repeat, warmup=0)
        size = path.stat().st_size
    return dict(n=n, steps=n_steps, seconds=seconds, per_frame_s=seconds / n_steps, bytes=size)


def challenge_click(repeat=15):
    from kmeans_tutor.widgets.challenge import ChallengeApp
    from kmeans_tutor.widgets.figure import fit_figure

    app = ChallengeApp()
    fig, canvas, frames = app.fig, app.fig.canvas, []
    canvas.send_binary = frames.append  # the frame, as handed to the widget
    width = 1242  # the app's width in a 1280 px wide page
    w, h = fig.get_size_inches() * fig.dpi
    fit_figure(fig, width, round(width * h / w), fig.get_size_inches()[0])
    canvas.syncing_data_url = False  # as once the page's canvas is ready
    canvas.draw()
    lo, hi = np.min(app.model.X, axis=0), np.max(app.model.X, axis=0)
    places = [lo + f * (hi - lo) for f in np.linspace(0.15, 0.85, app.model.k - 1)]
    placed = []

    def place():
        if len(placed) == len(places):
            app.model.try_again()
            placed.clear()
        frames.clear()
        assert app.model.place(*places[len(placed)]) and frames, "no frame sent"
        placed.append(1)

    def full_redraw():
        frames.clear()
        canvas.draw()
        assert frames, "no frame sent"

    t_full, t_place = _paired_medians(full_redraw, place, repeat)
    return dict(width_px=width, full_redraw_s=t_full, place_s=t_place, ratio=t_full / t_place)


def main():
    a = frame_ratio()
    b = scale_ratio()
    c = gif_export()
    d = challenge_click()
    rows = [
        ("(a) frame, 10k points: naive re-plot (scatter per cluster) ÷ StepView",
         f"{a['naive_s'] * 1e3:.0f} ms vs {a['ours_s'] * 1e3:.1f} ms "
         f"(draw() alone {a['draw_only_s'] * 1e3:.2f} ms)",
         f"{a['ratio']:.1f}×", "≥ 8×"),
        ("    fixed cost of a frame: same figure, view hidden (ticks + PNG encoding)",
         f"{a['floor_s'] * 1e3:.1f} ms → no redraw-per-frame view can beat",
         f"{a['best_possible_ratio']:.1f}×", "—"),
        ("(a'') same, ours blitted (static part kept; how the stepper app sends a click)",
         f"{a['naive_s_3'] * 1e3:.0f} ms vs {a['ours_blit_s'] * 1e3:.1f} ms",
         f"{a['ratio_blit']:.1f}×", "≥ 8×"),
        ("(a') same, naive = one scatter coloured per point",
         f"{a['naive_one_scatter_s'] * 1e3:.0f} ms vs {a['ours_s_2'] * 1e3:.1f} ms",
         f"{a['ratio_one_scatter']:.1f}×", "—"),
        ("(b) StepView frame: 1M points ÷ 10k points",
         f"{b['big']['frame_s'] * 1e3:.1f} ms ({b['big']['mode']}) vs {b['small']['frame_s'] * 1e3:.1f} ms "
         f"({b['small']['mode']}); 1M view built once in {b['big']['build_s']:.2f} s",
         f"{b['ratio']:.2f}×", "≤ 2×"),
        (f"(c) export {c['steps']}-step GIF, {c['n']:,} points",
         f"{c['seconds']:.2f} s ({c['per_frame_s'] * 1e3:.0f} ms/frame, {c['bytes'] / 1e6:.1f} MB)",
         "—", "—"),
        ("(d) challenge, a placed centre: full redraw ÷ as the app sends it",
         f"{d['full_redraw_s'] * 1e3:.0f} ms vs {d['place_s'] * 1e3:.1f} ms ({d['width_px']} px wide)",
         f"{d['ratio']:.1f}×", "—"),
    ]
    header = ("benchmark", "measured (medians; each frame = PNG bytes, 5×5 in, 80 dpi)", "ratio", "goal")
    width = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    for r in [header] + rows:
        print(" | ".join(cell.ljust(w) for cell, w in zip(r, width)))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "views.json").write_text(json.dumps({
        "frame_10k": a, "scale_1m_vs_10k": b, "gif_export_30_steps": c, "challenge_click": d,
        "measured": "fig.savefig(BytesIO, format='png', dpi=80) of a 5x5 in figure on both sides",
        "python": sys.version.split()[0], "numpy": np.__version__, "matplotlib": matplotlib.__version__,
        "machine": platform.machine(), "cpus": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    main()
