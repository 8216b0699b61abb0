"""Core benchmarks: our K-means against scikit-learn, measured side by side.

Run with ``make bench`` (or ``python benchmarks/bench_core.py``). Every figure
is a ratio against scikit-learn measured in the same run on the same machine,
from the same initial centres; nothing here is a pass/fail threshold. Timings
are best-of-N with the contenders interleaved, so load from other programs
disturbs the ratios as little as possible — still, run it on a quiet machine.

1. Time per Lloyd iteration, n = 1,000,000, d = 2, k = 8, from the same
   centres: ours ÷ scikit-learn (goal ≤ 1.5×, aim ≤ 1×); and the same with the
   assign step in numpy passes (``KMEANS_TUTOR_COMPILED=off``), for comparison.
2. A full fit of the Mall data (3 numeric columns, k = 5):
   scikit-learn ÷ ours (goal ≥ 5×).
3. Peak memory of a 1M × 2 run that keeps its 50 steps (8 given centres,
   20 iterations), measured with tracemalloc (numpy reports its buffers to
   it) from before the call until the trace is complete, against the size
   of X (goal ≤ 3×); scikit-learn's fit measured the same way beside it.
4. The same with k-means++ seeding: its steps keep each pick's (n,) D²
   probabilities, which the lessons draw.

Where a Lloyd iteration's time goes (1M × 2, k = 8, 2-core machine, a busy hour: ours
8.6–9.7 ms, scikit-learn 13.2–14.3 ms). The assign step runs compiled
(``kmeans_tutor/core/compiled.py``, Numba), one loop per block of 65,536 rows on each
core. At the tenth iteration the bounds settle about 815k of the million points in one read of two float32
arrays (2.5 ms of one core for the million), about 185k have their own distance measured
again and some 69k of those are scanned against every centre (together about 6 ms of one
core); the rest of the iteration is Python between the blocks (the moved points' share of
the sums, the steps). Each stage first lists the rows the next needs, without a branch per
point: written with a branch per point, the same loop took 26 ms of one core, waiting on
branches taken at random. The first assignment, compiled too, takes 40 ms against 105–125
ms in numpy passes. With ``KMEANS_TUTOR_COMPILED=off`` (the same steps as numpy passes,
the readable form in ``kernels.py``) the same hour measured 23.7–30.2 ms, 2.0–2.2×
scikit-learn's time: some 2,400 short numpy calls per iteration, between which the two
threads wait for each other.

On a machine where OpenBLAS is tuned by OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE,
run it with both unset for that command alone:
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_core.py``.
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

from kmeans_tutor import KMeans, load_mall_customers, run_kmeans
from kmeans_tutor.core import kernels

warnings.filterwarnings("ignore")
from sklearn.cluster import KMeans as SkKMeans  # noqa: E402  (oracle only)

RESULTS = Path(__file__).parent / "results"


def _best_times(funcs, repeat):
    """Best-of-``repeat`` seconds for each function, calling them in turn.

    Interleaving the contenders and keeping each one's fastest run makes the
    ratio robust to other work on the machine (which only ever adds time).
    """
    best = [float("inf")] * len(funcs)
    for _ in range(repeat):
        for i, func in enumerate(funcs):
            start = time.perf_counter()
            func()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def per_iteration(n=1_000_000, k=8, short=1, long=21, repeat=5):
    """Seconds per Lloyd iteration: (time of `long` iterations − time of `short`) / (long − short).

    Subtracting a short run removes the fixed costs (validation, set-up, the
    final label refresh) so only the iterations themselves are compared.
    """
    X = np.random.default_rng(0).uniform(size=(n, 2))  # uniform: no early convergence
    C = X[np.random.default_rng(1).choice(n, k, replace=False)]

    def ours(m):
        return lambda: run_kmeans(X, k, init=C, max_iter=m, tol=0.0)

    def theirs(m):
        return lambda: SkKMeans(k, init=C, n_init=1, max_iter=m, tol=0.0, algorithm="lloyd").fit(X)

    ours(2)(), theirs(2)()  # warm up thread pools and caches
    o_long, o_short, s_long, s_short = _best_times(
        [ours(long), ours(short), theirs(long), theirs(short)], repeat)
    return (o_long - o_short) / (long - short), (s_long - s_short) / (long - short)


def mall_fit(repeat=200):
    """Seconds for one full fit of the Mall data from the same initial centres."""
    X = load_mall_customers()[["Age", "Annual Income (k$)", "Spending Score (1-100)"]].to_numpy(float)
    C = run_kmeans(X, 5, random_state=0)[4].centers.copy()
    ours = lambda: KMeans(5, init=C, n_init=1).fit(X)
    theirs = lambda: SkKMeans(5, init=C, n_init=1, algorithm="lloyd").fit(X)
    ours(), theirs()
    a, b = KMeans(5, init=C, n_init=1).fit(X), SkKMeans(5, init=C, n_init=1).fit(X)
    assert (a.labels_ == b.labels_).all() and a.n_iter_ == b.n_iter_
    return tuple(_best_times([ours, theirs], repeat))


def peak_memory(n=1_000_000, k=8, init="given"):
    """Peak bytes allocated while running (and keeping the trace of) a 1M-point run.

    ``init="given"``: 8 rows of X as the centres; ``"k-means++"``: seeded by
    k-means++ (random_state=0), whose steps also keep the D² probabilities.
    """
    X = np.random.default_rng(2).uniform(size=(n, 2))
    C = X[:k].copy() if init == "given" else init
    out = {}
    tracemalloc.start()
    trace = run_kmeans(X, k, init=C, max_iter=20, tol=0.0, random_state=0)
    out["ours"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out["steps"] = len(trace)
    del trace
    tracemalloc.start()
    SkKMeans(k, init=C, n_init=1, max_iter=20, tol=0.0, random_state=0).fit(X)
    out["sklearn"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out["X"] = X.nbytes
    return out


def numpy_passes_per_iteration():
    """:func:`per_iteration` with LloydState's steps as numpy passes, not compiled."""
    saved = kernels.USE_COMPILED
    kernels.USE_COMPILED = False
    try:
        return per_iteration()
    finally:
        kernels.USE_COMPILED = saved


def main():
    t_ours, t_sk = per_iteration()
    t_np, t_sk_np = numpy_passes_per_iteration()
    m_ours, m_sk = mall_fit()
    mem = peak_memory()
    mem_pp = peak_memory(init="k-means++")
    rows = [
        ("Lloyd iteration, 1M × 2, k=8", f"{t_ours * 1e3:.1f} ms", f"{t_sk * 1e3:.1f} ms",
         f"ours ÷ sklearn = {t_ours / t_sk:.2f}×", "≤ 1.5× (aim ≤ 1×)"),
        ("  same, numpy passes (COMPILED=off)", f"{t_np * 1e3:.1f} ms", f"{t_sk_np * 1e3:.1f} ms",
         f"ours ÷ sklearn = {t_np / t_sk_np:.2f}×", "—"),
        ("Full fit, Mall 200 × 3, k=5", f"{m_ours * 1e3:.2f} ms", f"{m_sk * 1e3:.2f} ms",
         f"sklearn ÷ ours = {m_sk / m_ours:.1f}×", "≥ 5×"),
        (f"Peak memory, 1M × 2 run ({mem['steps']} steps kept)", f"{mem['ours'] / 2**20:.0f} MiB",
         f"{mem['sklearn'] / 2**20:.0f} MiB", f"ours ÷ size of X = {mem['ours'] / mem['X']:.2f}×",
         "≤ 3×"),
        (f"  same, k-means++ seeding ({mem_pp['steps']} steps kept)",
         f"{mem_pp['ours'] / 2**20:.0f} MiB", f"{mem_pp['sklearn'] / 2**20:.0f} MiB",
         f"ours ÷ size of X = {mem_pp['ours'] / mem_pp['X']:.2f}×", "—"),
    ]
    width = [max(len(r[i]) for r in rows + [("benchmark", "ours", "scikit-learn", "ratio", "goal")])
             for i in range(5)]
    header = ("benchmark", "ours", "scikit-learn", "ratio", "goal")
    for r in [header] + rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, width)))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "core.json").write_text(json.dumps({
        "lloyd_iteration_s": {"ours": t_ours, "sklearn": t_sk, "ratio": t_ours / t_sk},
        "lloyd_iteration_s_numpy_passes": {"ours": t_np, "sklearn": t_sk_np, "ratio": t_np / t_sk_np},
        "mall_fit_s": {"ours": m_ours, "sklearn": m_sk, "ratio": m_sk / m_ours},
        "peak_memory_bytes": mem,
        "peak_memory_bytes_kmeanspp": mem_pp,
        "python": sys.version.split()[0], "numpy": np.__version__,
    }, indent=2))


if __name__ == "__main__":
    main()
