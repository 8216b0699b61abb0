"""Lesson 9's benchmarks: quantising a 512 × 512 photo to 16 colours.

Run with ``python benchmarks/bench_quantise.py``. As in ``bench_core.py``, the
anchor — scikit-learn's Lloyd loop — is measured in the same run, on the same
pixels, from the same initial centres, and the figures are ratios; nothing here
is a pass/fail threshold. The machine may be shared, so every figure is the
**median** of several repeats, with the contenders interleaved.

1. Time per Lloyd iteration per million pixels: the 262,144 pixels of the
   course's photo stretched to 512 × 512 (RGB levels 0–255, float64), k = 16,
   from the same 16 centres (our k-means++ picks), ``tol=0`` so both run every
   iteration asked for: ours ÷ scikit-learn's
   ``KMeans(n_clusters=16, init=<same centres>, n_init=1, algorithm="lloyd")``.
   The fixed costs are removed by subtracting a 1-iteration run from a
   21-iteration one.
2. The app, end to end in the kernel: from "k changed" (the slider's value set
   from 15 to 16) to the new picture rendered for the page — K-means on the
   4,000-pixel sample, every pixel painted, the k-colour picture, palette and
   colour-space centres redrawn over a snapshot of what did not change, as
   once the page has shown the figures. The model alone (``quantise``) is
   timed beside it. (The trip to the browser is not included.)

On a machine where OpenBLAS is tuned by OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE,
run it with both unset for that command alone:
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_quantise.py``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from kmeans_tutor import run_kmeans  # noqa: E402
from kmeans_tutor.data.images import load_sample_photo, quantise  # noqa: E402

warnings.filterwarnings("ignore")
from sklearn.cluster import KMeans as SkKMeans  # noqa: E402  (oracle only)

RESULTS = Path(__file__).parent / "results"
SIDE, K = 512, 16


def photo_512() -> np.ndarray:
    """The course's photo stretched to 512 × 512 (262,144 pixels), uint8."""
    im = Image.fromarray(load_sample_photo()).resize((SIDE, SIDE), Image.Resampling.LANCZOS)
    return np.asarray(im, dtype=np.uint8)


def _median_times(funcs, repeat):
    """Median seconds of each function over ``repeat`` rounds, calling them in turn."""
    times = [[] for _ in funcs]
    for _ in range(repeat):
        for i, func in enumerate(funcs):
            start = time.perf_counter()
            func()
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def per_iteration(picture, k=K, short=1, long=21, repeat=7):
    """Seconds per Lloyd iteration (ours, scikit-learn's) on every pixel of ``picture``."""
    X = picture.reshape(-1, 3).astype(np.float64)
    C = np.array(run_kmeans(X, k, random_state=0, max_iter=1)[k - 1].centers)  # k-means++ picks

    def ours(m):
        return lambda: run_kmeans(X, k, init=C, max_iter=m, tol=0.0)

    def theirs(m):
        return lambda: SkKMeans(n_clusters=k, init=C, n_init=1, max_iter=m, tol=0.0,
                                algorithm="lloyd").fit(X)

    ours(2)(), theirs(2)()  # warm up thread pools and caches
    o_long, o_short, s_long, s_short = _median_times(
        [ours(long), ours(short), theirs(long), theirs(short)], repeat)
    return (o_long - o_short) / (long - short), (s_long - s_short) / (long - short), len(X)


def end_to_end(picture, repeat=9):
    """Median seconds from "k changed to 16" to the new picture drawn; and of quantise alone."""
    from kmeans_tutor.widgets.quantise import QuantiseApp

    app = QuantiseApp(k=K - 1, picture=picture)
    slider = app._k  # the control a learner moves
    for fig in (app.fig, app.space_fig):
        # As once a page has shown the figures: the app renders each new picture at once
        # (redrawing only what changed over a snapshot of the rest) instead of waiting for
        # the page to ask.
        fig.canvas.syncing_data_url = False
        fig.canvas.draw()

    def change():
        slider.value = K - 1  # not timed: back to 15
        start = time.perf_counter()
        slider.value = K
        return time.perf_counter() - start

    change()  # warm up
    app_times = [change() for _ in range(repeat)]
    assert app.model.result.k == K
    model_times = []
    for _ in range(repeat):
        start = time.perf_counter()
        quantise(picture, K, random_state=0)
        model_times.append(time.perf_counter() - start)
    return statistics.median(app_times), statistics.median(model_times)


def main():
    picture = photo_512()
    t_ours, t_sk, n = per_iteration(picture)
    app_s, model_s = end_to_end(picture)
    per_m = 1e6 / n
    rows = [
        (f"Lloyd iteration per million pixels ({SIDE}×{SIDE}, k={K})", f"{t_ours * per_m * 1e3:.1f} ms",
         f"{t_sk * per_m * 1e3:.1f} ms", f"ours ÷ sklearn = {t_ours / t_sk:.2f}×"),
        (f"k changed → new picture rendered (app, {SIDE}×{SIDE}, k={K})", f"{app_s * 1e3:.0f} ms", "—",
         f"of which quantise() {model_s * 1e3:.0f} ms"),
    ]
    header = ("benchmark (median)", "ours", "scikit-learn", "ratio")
    width = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    for r in [header] + rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, width)))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "quantise.json").write_text(json.dumps({
        "lloyd_iteration_s_per_million_pixels": {"ours": t_ours * per_m, "sklearn": t_sk * per_m,
                                                 "ratio": t_ours / t_sk, "pixels": n, "k": K},
        "k_changed_to_picture_s": {"app": app_s, "quantise": model_s, "pixels": n, "k": K},
        "python": sys.version.split()[0], "numpy": np.__version__,
    }, indent=2))


if __name__ == "__main__":
    main()
