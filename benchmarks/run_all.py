"""Every benchmark in one run, then one table: each figure beside its anchor.

Run with ``make bench`` (about 15–20 minutes on a 2-core laptop; needs Debian's ``chromium``
and ``playwright`` for the browser rows). Each script measures its anchor in the same run as
the figure — scikit-learn, a naive re-plotting app, a notebook holding one button — so the
ratios mean something even on a busy machine; the absolute times do not. Run it on a quiet
machine anyway.

``python benchmarks/run_all.py --table`` only prints the table from the last results in
``benchmarks/results/`` (no measuring). The class rows come from the last run of
``benchmarks/load_classroom.py``, which is not run here: it loads the machine on purpose for
several minutes (see the README's "Teaching a class").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

#: The scripts ``make bench`` runs, in order, with their arguments.
SCRIPTS = [
    ("bench_core.py", []),
    ("bench_views.py", []),
    ("bench_quantise.py", []),
    ("bench_kernels.py", []),
    ("bench_browser.py", []),
    # first and next visitors, two rounds each (one page load is noisy)
    ("bench_open.py", ["--modes", "progressive,preheated", "--rounds", "2"]),
]


def _load(name: str) -> dict | None:
    path = RESULTS / name
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        return None


def _age(name: str) -> str:
    path = RESULTS / name
    if not path.exists():
        return ""
    hours = (time.time() - path.stat().st_mtime) / 3600
    return f" (measured {hours:.0f} h ago)" if hours >= 1 else ""


def _s(x, unit="s", digits=2) -> str:
    return "—" if x is None else f"{x:.{digits}f} {unit}"


def rows() -> list[tuple[str, str, str, str, str]]:
    """(figure, ours, anchor, ratio, goal) for every row we can fill from the results."""
    out = []
    opened = _load("open.json")
    if opened:
        for mode, label in (("progressive", "cold (one student, text first)"),
                            ("progressive, next", "cold, pictures kept by an earlier student"),
                            ("plain", "cold (Voilà's default)"), ("preheated", "preheated"),
                            ("preheated, next", "preheated, pictures kept")):
            pages = opened.get("summary", {}).get(mode)
            if not pages:
                continue
            floor = next((v for k, v in pages.items() if "floor" in k), None)
            lessons = {k: v for k, v in pages.items() if "floor" not in k}
            texts = [v["first_text_s"] for v in lessons.values() if v.get("first_text_s") is not None]
            xs = [(v["x_floor"], k) for k, v in lessons.items() if v.get("x_floor") is not None]
            if texts:
                out.append((f"lesson, {label}: first text (slowest lesson)", _s(max(texts)),
                            _s(floor and floor.get("first_text_s")), "", "≤ 0.5 s"))
            if xs:
                worst, name = max(xs)
                out.append((f"lesson, {label}: interactive (slowest, {name[:2]})",
                            _s(lessons[name]["interactive_s"]), _s(floor and floor.get("interactive_s")),
                            f"{worst:.2f}×", "≤ 1.5× the one-button floor"))
            cpus = [(v["kernel_cpu_s"], k) for k, v in lessons.items() if v.get("kernel_cpu_s") is not None]
            if cpus and not mode.startswith("preheated"):  # cold: the page's whole kernel, first pictures included
                cpu, name = max(cpus)
                base = floor and floor.get("kernel_cpu_s")
                out.append((f"lesson, {label}: kernel CPU until usable (worst, {name[:2]})", _s(cpu),
                            _s(base), f"{cpu / base:.1f}×" if base else "", "—"))
    kernels = _load("kernels.json")
    if kernels:
        books = kernels["notebooks"]
        anchor = books.get("one button (anchor)")
        lessons = {k: v for k, v in books.items() if k != "one button (anchor)"}
        if lessons and anchor:
            cpu_name = max(lessons, key=lambda k: lessons[k]["cpu_s"])
            rss_name = max(lessons, key=lambda k: lessons[k]["rss_mb"])
            out.append((f"kernel CPU running a lesson (worst, {cpu_name[:2]})", _s(lessons[cpu_name]["cpu_s"]),
                        _s(anchor["cpu_s"]), f"{lessons[cpu_name]['cpu_s'] / anchor['cpu_s']:.1f}×", "≤ 1 s"))
            out.append((f"memory per open lesson, RSS (worst, {rss_name[:2]})",
                        _s(lessons[rss_name]["rss_mb"], "MB", 0), _s(anchor["rss_mb"], "MB", 0),
                        f"{lessons[rss_name]['rss_mb'] / anchor['rss_mb']:.1f}×", "≤ 110 MB"))
    classes = _load("classroom.json")
    for classroom in (classes if isinstance(classes, list) else [classes] if classes else []):
        tti = classroom.get("time_to_interactive_s", {})
        pool = classroom.get("pool_size", 0)
        lessons = ",".join(name[:2] for name in classroom.get("lessons", [])) or "04"
        kind = f"{pool} preheated per lesson" if pool else "cold"
        out.append((f"{classroom.get('students', 30)} students in {classroom.get('arrival_window_s', 10):.0f} s, "
                    f"{kind}, lessons {lessons}{_age('classroom.json')}",
                    f"p50 {_s(tti.get('p50'))} / p95 {_s(tti.get('p95'))}, {classroom.get('errors', '?')} errors"
                    + (f"; every picture in p95 {_s(classroom['pictures_s']['p95'])}"
                       if (classroom.get("pictures_s") or {}).get("p95") is not None else ""),
                    "", "", "p95 ≤ 15 s cold, ≤ 2 s preheated"))
    browser = _load("browser.json")
    if browser:
        c = browser["click_to_picture_ms"]
        out.append(("click 'step' → new picture, 10k points", _s(c["ours_median"], "ms", 0),
                    f"{_s(c['naive_median'], 'ms', 0)} naive app", f"{c['ours_median'] / c['naive_median']:.2f}×",
                    "≤ 0.35×"))
    core = _load("core.json")
    if core:
        it = core["lloyd_iteration_s"]
        out.append(("one Lloyd iteration, 1M × 2, k = 8", _s(it["ours"] * 1000, "ms", 1),
                    f"{_s(it['sklearn'] * 1000, 'ms', 1)} scikit-learn", f"{it['ratio']:.2f}×", "≤ 1.5× (aim ≤ 1×)"))
        plain = core.get("lloyd_iteration_s_numpy_passes")
        if plain:
            out.append(("  same, assign step in numpy passes", _s(plain["ours"] * 1000, "ms", 1),
                        f"{_s(plain['sklearn'] * 1000, 'ms', 1)} scikit-learn", f"{plain['ratio']:.2f}×", "—"))
        mem = core["peak_memory_bytes"]
        out.append((f"peak memory, 1M-point run, {mem['steps']} steps kept", f"{mem['ours'] / mem['X']:.2f}× X",
                    f"{mem['sklearn'] / mem['X']:.2f}× X scikit-learn", "", "≤ 3× X"))
    quant = _load("quantise.json")
    if quant:
        q = quant["lloyd_iteration_s_per_million_pixels"]
        out.append((f"Lloyd iteration per Mpixel, {q['pixels']:,} px, k = {q['k']}", _s(q["ours"] * 1000, "ms", 0),
                    f"{_s(q['sklearn'] * 1000, 'ms', 0)} scikit-learn", f"{q['ratio']:.2f}×", "immediate"))
    return out


def table() -> str:
    found = rows()
    width = max([len("figure")] + [len(r[0]) for r in found])
    lines = [f"{'figure':{width}s} {'ours':>26s} {'anchor':>26s} {'ratio':>7s}  goal"]
    for figure, ours, anchor, ratio, goal in found:
        lines.append(f"{figure:{width}s} {ours:>26s} {anchor:>26s} {ratio:>7s}  {goal}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true", help="only print the table of the last results")
    args = parser.parse_args(argv)
    failed = []
    if not args.table:
        env = dict(os.environ)
        for name, extra in SCRIPTS:
            print(f"== benchmarks/{name} {' '.join(extra)}".rstrip(), flush=True)
            code = subprocess.call([sys.executable, str(HERE / name), *extra], cwd=HERE.parent, env=env)
            if code:
                failed.append(name)
                print(f"{name} failed (exit {code})", flush=True)
    print()
    print(table())
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
