"""What a lesson costs its kernel: CPU seconds and memory, lesson by lesson.

Run with ``python benchmarks/bench_kernels.py`` (part of ``make bench``; about a minute).

For every lesson, and for the anchor — a notebook holding one button, the least a Voilà
page can cost — a fresh kernel is started the way Voilà starts one (the ``python3``
kernel of this environment, the lesson's folder as working directory), the notebook is
run cell by cell as Voilà runs it (nbclient), and then the kernel process is measured:

* **CPU**: user + system seconds the kernel process spent, from its start to the end of
  the last cell (its start-up and imports included — a class pays for those too);
* **RSS**: resident memory at the end (psutil), and **PSS**, which shares the pages of
  libraries between processes and so adds up honestly over 30 kernels.

Lessons run one after another, never two at once. By default each lesson is measured as
the server serves it: the copy with its ``static`` cells drawn in advance
(:mod:`kmeans_tutor.server.predrawn`), so the kernel runs only the apps and the quizzes;
``--no-predraw`` measures the notebooks as written. Kernels, the anchor's included, run as
the server runs them: ``python -OO`` when their optimised bytecode is in place
(:mod:`kmeans_tutor.server.bytecode`), ``--plain-kernels`` for plain python. Goals: CPU ≤ 1 s
and RSS ≤ 110 MB for every lesson. Writes ``benchmarks/results/kernels.json``.

Where the time goes (2-core test machine, one lesson at a time): the kernel starts and
imports ipywidgets in 0.32 s and 53 MB on a quiet day (the anchor); numpy, matplotlib with
pyplot, ipympl and the package add about 0.45 s and 35 MB before the first app (pandas,
another 0.2 s and 30 MB, is imported by no app on the bundled data, the segments app of
lesson 7 included). The kernel is started as Voilà starts one for a page that waits for it
(``VOILA_PREHEAT=False``): the apps' figures are then laid out at their first picture, at
the page's width, so building an app no longer lays them out at their starting size first.
No page connects here, so those first pictures (a layout and a draw per figure, 0.5–1.4 s a
lesson) are not counted: ``bench_open.py`` measures them, in its "kernel CPU" column. On a
quiet day (anchor 0.29 s) lessons took 0.88–1.02 s, 3.0–3.5× the anchor, and 104–113 MB;
lesson 7, whose profile tables need pandas (0.17 s and 31 MB of its own), 1.12 s and 137 MB.
Of a lesson's second, about 0.3 s is the kernel's start and 0.45 s importing numpy,
matplotlib (its artists' docstrings and signatures are built at import) and ipympl; the
apps, their widgets and their figures share the rest. What would close the gap to 1 s for
every lesson on every day: kernels started from one process that has imported the
libraries once (a forking kernel start — no such engine is a maintained part of Jupyter
today). As ``python -OO`` (a busier day, anchor 0.32 s and 50 MB): 0.91–1.06 s, 2.8–3.3× the
anchor, lesson 7 included, and 95–105 MB, lesson 7 123 MB: some 10 MB less per lesson, the
same time within the noise. Then, with the choose-k app's elbow table kept once per machine
(:mod:`kmeans_tutor.data.kept`; lesson 6, 0.1 s less) and lesson 7's segment tables made
without pandas (0.1–0.2 s and 27 MB less): 95–105 MB for every lesson (lesson 7 96 MB);
with the anchor at 0.30–0.32 s, lessons 6 and 7 0.84–0.94 s, lesson 5 0.91–0.93 s and
lesson 4, the most, 0.97–1.04 s (runs of five), though a run of all nine in the same hour
had lessons 4 and 5 at 1.2 s; in a busy hour (anchor 0.45 s) 1.04–1.31 s, 2.3–2.9×. The
goal of 1 s holds on a quiet machine only, and lesson 4 sits on it: its two steppers and
its quiz build 325 widget models and five figures.

Kernels, the anchor's included, are started as the lesson server starts them: with Python's
garbage collector off until the lesson has run (:mod:`kmeans_tutor.server.kernel_launch`;
``--plain-start`` starts plain ipykernel). Counted with ``gc.callbacks`` in plain kernels,
the collector spent 0.11 s of lesson 4's CPU and 0.12 s of lesson 8's in some 320
collections; eight runs of each, alternating held and plain in the same hour, gave lesson 1
0.05 s, lessons 4 and 8 0.14 s less (medians of the paired differences). They also skip the
``set()`` signature and docstring matplotlib builds for each of its artist classes as it
imports them (0.1 s of an import of matplotlib and ipympl, 0.43 → 0.32 s); eight pairs again,
alternating with kernels that only hold the collector: lesson 1 0.045 s, lesson 4 0.125 s,
lesson 8 0.06 s less. Nor do they import ipykernel's debugger (``debugpy``), which no Voilà
page can reach: 0.04 s of every kernel's start (the anchor's too) and 6–9 MB. With both, in
``make bench`` (anchor 0.24 s, 44 MB): 0.69–0.83 s and 88–99 MB for every lesson, lesson 4
the most CPU; in a ``--repeat 3`` run an hour earlier (anchor 0.30 s), 0.75–0.94 s.

Kernels, the anchor's included, are now forked from a template that has imported the
lessons' libraries once, as the lesson server does (:mod:`kmeans_tutor.server.kernel_fork`;
``--no-fork`` starts each the usual way). A forked kernel's CPU is its own from the fork
plus its stand-in's; the template's start is printed apart, once ("the template, once per
server"). Its RSS is the kernel's own (the pages it shares with the template counted, as
with a library); its PSS adds the stand-in's. On a machine slower than the one above, in the
same hour (runs alternating): forked, the anchor 0.18 s and 73 MB, the lessons 0.49–0.86 s
(lesson 4 the most) and 81–92 MB; the usual way, the anchor 0.52–0.58 s and 44 MB, the
lessons 1.38–1.90 s and 93–103 MB; the template 0.93 s and 81 MB, once. What is left of a
forked lesson's CPU is ipykernel setting the kernel up (sockets, shell, history: about
0.15 s, the anchor), the lesson's apps building their widgets and figures, and the pages
of the shared heap each kernel copies as it writes to them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from kmeans_tutor.server.bytecode import OPTIMIZE
from kmeans_tutor.server.kernel_fork import KernelTemplate
from kmeans_tutor.server.kernel_launch import launch_argv
from kmeans_tutor.server.predrawn import prepare_lessons
from kmeans_tutor.server.serve import voila_env

from _serving import optimised_kernels  # noqa: E402  (benchmarks/_serving.py)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"


def lessons(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if not p.name.startswith("00"))

ONE_BUTTON = """\
import ipywidgets as widgets
widgets.Button(description="step")
"""


class LeanStartKernel(KernelManager):
    """A kernel started as the lesson server starts one (:mod:`kmeans_tutor.server.kernel_launch`),
    forked from ``template`` when there is one (:mod:`kmeans_tutor.server.kernel_fork`)."""

    template: KernelTemplate | None = None

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = launch_argv(super().format_kernel_cmd(extra_arguments))
        return self.template.argv(cmd) if self.template is not None else cmd


def kernel_processes(km: KernelManager, template: KernelTemplate | None) -> list[psutil.Process]:
    """The processes a kernel costs: the one its manager started and, for a kernel forked
    from the template, the kernel itself (the template's only child: one kernel at a time)."""
    started = psutil.Process(km.provisioner.process.pid)
    if template is None:
        return [started]
    return [started, *psutil.Process(template.process.pid).children()]


def run_in_kernel(path: Path, optimize: bool = False, lean_start: bool = True,
                  template: KernelTemplate | None = None) -> dict:
    """Start a kernel (as ``python -OO`` with ``optimize``, through the lesson server's launch
    with ``lean_start``, forked from ``template`` when given), run the notebook at ``path`` in
    it, measure the kernel's processes."""
    nb = nbformat.read(path, as_version=4)
    km = (LeanStartKernel if lean_start else KernelManager)(kernel_name="python3")
    if lean_start:
        km.template = template
    start = time.perf_counter()
    # As Voilà starts a kernel for a page that waits for it (not preheated).
    env = {**voila_env(), "VOILA_PREHEAT": "False"}
    if optimize:  # as LessonKernelManager.kernel_optimize does
        env["PYTHONOPTIMIZE"] = str(OPTIMIZE)
    km.start_kernel(cwd=str(path.parent), env=env)
    try:
        client = NotebookClient(nb, km=km, timeout=300, allow_errors=False,
                                resources={"metadata": {"path": str(path.parent)}})
        with client.setup_kernel():
            client.execute()
            wall = time.perf_counter() - start
            procs = kernel_processes(km, template)
            cpu = sum(sum(p.cpu_times()[:2]) for p in procs)
            mems = [p.memory_full_info() for p in procs]
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    # RSS: the kernel's (the stand-in of a forked one is 9 MB more, nearly all shared);
    # PSS: all of them.
    return {"wall_s": wall, "cpu_s": cpu, "rss_mb": mems[-1].rss / 2**20,
            "pss_mb": sum(getattr(m, "pss", m.uss) for m in mems) / 2**20}


def measure(path: Path, repeat: int, optimize: bool, lean_start: bool,
            template: KernelTemplate | None = None) -> dict:
    runs = [run_in_kernel(path, optimize, lean_start, template) for _ in range(repeat)]
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook (the median is kept)")
    parser.add_argument("--only", default="", help="lesson numbers, e.g. 4,5")
    parser.add_argument("--no-predraw", action="store_true",
                        help="run the notebooks as written, 'static' cells included (what "
                             "'kmeans-tutor serve --no-predraw' serves)")
    parser.add_argument("--plain-kernels", action="store_true",
                        help="kernels as plain python ('kmeans-tutor serve --no-optimize')")
    parser.add_argument("--plain-start", action="store_true",
                        help="kernels as plain ipykernel: the garbage collector on from the start, "
                             "matplotlib's set() docs built ('kmeans-tutor serve --no-lean-start')")
    parser.add_argument("--no-fork", action="store_true",
                        help="every kernel imports what it needs itself, none is forked from a "
                             "template ('kmeans-tutor serve --no-fork-start')")
    args = parser.parse_args(argv)
    lean = not args.plain_start
    fork = lean and not args.no_fork
    optimize = optimised_kernels(args.plain_kernels)
    folder = ROOT / "lessons"
    if not args.no_predraw:  # what the server serves: the fixed figures drawn in advance
        folder = prepare_lessons(folder, out=sys.stderr)
    chosen = lessons(folder)
    if args.only:
        wanted = {int(n) for n in args.only.split(",")}
        chosen = [p for p in chosen if int(p.name[:2]) in wanted]

    results = {}
    template = template_cost = None
    if fork:  # as the lesson server starts it, with the environment its kernels get
        env = dict(voila_env())
        if optimize:
            env["PYTHONOPTIMIZE"] = str(OPTIMIZE)
        template = KernelTemplate(env)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            anchor = Path(tmp) / "one_button.ipynb"
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(ONE_BUTTON)])
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
            nbformat.write(nb, anchor)
            results["one button (anchor)"] = measure(anchor, args.repeat, optimize, lean, template)
        for path in chosen:
            results[path.stem] = measure(path, args.repeat, optimize, lean, template)
        if template is not None:
            proc = psutil.Process(template.process.pid)
            template_cost = {"cpu_s": sum(proc.cpu_times()[:2]),
                             "rss_mb": proc.memory_info().rss / 2**20}
    finally:
        if template is not None:
            template.stop()

    floor = results["one button (anchor)"]
    print("kernels as " + ("python -OO" if optimize else "plain python")
          + (", lean start" if lean else ", plain ipykernel")
          + (", forked from a template" if fork else "")
          + ", the anchor's too")
    if template_cost:
        print(f"the template, once per server: CPU {template_cost['cpu_s']:.2f} s, "
              f"RSS {template_cost['rss_mb']:.0f} MB")
    print(f"{'notebook':38s} {'CPU s':>6s} {'÷ anchor':>8s} {'RSS MB':>7s} {'PSS MB':>7s} {'wall s':>7s}")
    for name, r in results.items():
        print(f"{name:38s} {r['cpu_s']:6.2f} {r['cpu_s'] / floor['cpu_s']:7.1f}× {r['rss_mb']:7.0f} "
              f"{r['pss_mb']:7.0f} {r['wall_s']:7.2f}")
    lessons_only = [r for name, r in results.items() if name != "one button (anchor)"]
    if lessons_only:
        print(f"worst lesson: CPU {max(r['cpu_s'] for r in lessons_only):.2f} s (goal ≤ 1 s), "
              f"RSS {max(r['rss_mb'] for r in lessons_only):.0f} MB (goal ≤ 110 MB); "
              f"the anchor alone: CPU {floor['cpu_s']:.2f} s, RSS {floor['rss_mb']:.0f} MB")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "kernels.json").write_text(json.dumps(
        {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
         "predrawn": not args.no_predraw, "kernels_optimised": optimize,
         "lean_start": lean, "forked": fork, "template": template_cost, "notebooks": results},
        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
