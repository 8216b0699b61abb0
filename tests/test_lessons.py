"""The lesson notebooks: committed clean, run without error, linked in order, no algorithm code.

* Every notebook in ``lessons/`` is saved without outputs or execution counts, with the
  ``python3`` kernel, and opens with Markdown (the idea comes before any picture).
* Every lesson runs headless from top to bottom (nbclient, as Voilà would run it) with no
  error and no text on stderr, and shows at least one widget and one quiz.
* The course page links every lesson, in order; every lesson links back to it and on to
  the next; every relative link points at a file that exists.
* Code cells only call the package: no ``def``, ``class``, ``lambda`` or loop statements,
  no numpy/scikit-learn imports (STYLE.md, point 9). Voilà hides code cells, so the
  explanations must be Markdown.
* The numbers the lesson prose states in words (where a computed value cannot be shown
  instead) hold for the package as it is.

Running all lessons takes about 20 s on 2 cores: not marked slow.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = ROOT / "lessons"
INDEX = "00_index.ipynb"
LESSONS = sorted(p.name for p in LESSONS_DIR.glob("[0-9][0-9]_*.ipynb") if p.name != INDEX)
NOTEBOOKS = [INDEX, *LESSONS]

# The lessons the course promises, in order (tests fail if one goes missing).
EXPECTED_LESSONS = [
    "01_unsupervised_learning.ipynb",
    "02_meet_the_mall_customers.ipynb",
    "03_scaling_features.ipynb",
    "04_kmeans_step_by_step.ipynb",
    "05_initialisation.ipynb",
    "06_choosing_k.ipynb",
    "07_from_clusters_to_customers.ipynb",
    "08_where_kmeans_goes_wrong.ipynb",
    "09_colour_quantisation.ipynb",
]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
LINK = re.compile(r"\[[^\]]+\]\(([^)\s]+)\)")


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(str(LESSONS_DIR / name), as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def markdown(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def links(nb) -> list[str]:
    return LINK.findall(markdown(nb))


def python_of(cell) -> str:
    """A code cell's source with IPython magics (``%matplotlib inline``) blanked out."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in cell.source.splitlines())


# --------------------------------------------------------------------------- the files


def test_the_course_has_its_lessons():
    assert LESSONS == EXPECTED_LESSONS
    assert (LESSONS_DIR / INDEX).is_file()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_clean(name):
    nb = read(name)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{name}: cells {dirty} have outputs or execution counts; clear them before committing"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_opens_with_the_idea_and_ends_with_a_question(name):
    nb = read(name)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# Lesson ")
    number = int(name[:2])
    assert nb.cells[0].source.startswith(f"# Lesson {number} ")
    assert "Check yourself" in markdown(nb)
    assert any("Quiz(" in c.source for c in code_cells(nb)), f"{name} asks no quiz question"


# --------------------------------------------------------------------------- no algorithm code


FORBIDDEN_NODES = {
    ast.FunctionDef: "a function definition",
    ast.AsyncFunctionDef: "a function definition",
    ast.ClassDef: "a class definition",
    ast.Lambda: "a lambda",
    ast.For: "a for loop",
    ast.While: "a while loop",
}
FORBIDDEN_IMPORTS = ("numpy", "scipy", "sklearn")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_code_cells_only_call_the_package(name):
    for i, cell in enumerate(code_cells(read(name))):
        assert not re.search(r"^\s*(def|class)\s", cell.source, re.M), f"{name} cell {i} defines code"
        tree = ast.parse(python_of(cell), filename=f"{name}[{i}]")
        for node in ast.walk(tree):
            for kind, what in FORBIDDEN_NODES.items():
                assert not isinstance(node, kind), (
                    f"{name} cell {i} has {what}: lessons call the package, they do not "
                    f"implement anything (put the code in kmeans_tutor)")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                bad = [m for m in modules if m.split(".")[0] in FORBIDDEN_IMPORTS]
                assert not bad, f"{name} cell {i} imports {bad}: use the package instead"


# --------------------------------------------------------------------------- links


def test_index_links_every_lesson_in_order():
    targets = [t for t in links(read(INDEX)) if t.endswith(".ipynb")]
    assert targets == EXPECTED_LESSONS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_link_target_exists(name):
    for target in links(read(name)):
        if re.match(r"^[a-z]+://", target) or target.startswith("#"):
            continue
        # Relative to the rendered page /voila/render/<name>: a file next to it.
        assert not target.startswith("/"), f"{name}: use relative links, not {target!r}"
        assert (LESSONS_DIR / target).is_file(), f"{name} links to {target!r}, which does not exist"


@pytest.mark.parametrize("name", LESSONS)
def test_every_lesson_carries_its_title_for_the_tab_and_the_course_page(name):
    """Voilà shows ``metadata.title`` as the tab's title (not the file name)."""
    nb = read(name)
    heading = next(c for c in nb.cells if c.cell_type == "markdown").source.splitlines()[0]
    assert nb.metadata.get("title") == heading.lstrip("# ").strip()
    assert nb.metadata["title"].startswith(f"Lesson {int(name[:2])} · ")


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_links_back_to_the_course_and_on_to_the_next(name):
    targets = links(read(name))
    assert INDEX in targets
    i = EXPECTED_LESSONS.index(name)
    if i > 0:
        assert EXPECTED_LESSONS[i - 1] in targets
    if i + 1 < len(EXPECTED_LESSONS):
        assert EXPECTED_LESSONS[i + 1] in targets


# --------------------------------------------------------------------------- running them


def execute(name: str, folder: Path = LESSONS_DIR, *, env: dict | None = None,
            last: str | None = None) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook in a fresh kernel (with ``env`` as its environment), ``last`` appended
    as one more code cell when given."""
    from nbclient import NotebookClient

    nb = nbformat.read(str(folder / name), as_version=4)
    if last is not None:
        nb.cells.append(nbformat.v4.new_code_cell(last))
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute(
                       **({} if env is None else {"env": env}))
    return nb, time.perf_counter() - start


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The lessons as the server serves them: 'static' cells drawn once, in advance."""
    from kmeans_tutor.server.predrawn import prepare_lessons

    folder = prepare_lessons(LESSONS_DIR, cache=tmp_path_factory.mktemp("lessons-cache"),
                             out=io.StringIO())
    assert folder != LESSONS_DIR
    return folder


@pytest.fixture(scope="module")
def kernel_env():
    """The environment of a kernel the server starts: ``python -OO``, its bytecode compiled
    at start-up; here it may not write any, so a module left out would be compiled again.

    Where that bytecode cannot be written (a read-only Python), the server runs plain
    kernels, and so do these tests; in CI (``KMEANS_TUTOR_REQUIRE_OPTIMISED=1``, set by
    .ci/run) it must be written.
    """
    from kmeans_tutor.server.bytecode import compile_for_kernels

    problem = compile_for_kernels()
    if problem is None:
        return {**os.environ, "PYTHONOPTIMIZE": "2", "PYTHONDONTWRITEBYTECODE": "1"}
    if os.environ.get("KMEANS_TUTOR_REQUIRE_OPTIMISED") == "1":
        pytest.fail(problem)
    return {**os.environ, "PYTHONOPTIMIZE": "0"}


# Run last in a served lesson: the optimisation level, and the modules whose -OO bytecode
# was missing (compiled in memory as the kernel started).
UNCOMPILED = """
import json as _json, os as _os, sys as _sys
print(_json.dumps([_sys.flags.optimize, sorted(
    name for name, module in list(_sys.modules.items())
    if getattr(module, "__cached__", None) and not _os.path.exists(module.__cached__))]))
"""


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_lesson_runs_headless(name):
    nb, _ = execute(name)  # raises CellExecutionError on the first error (its time: make bench)
    outputs = [(i, o) for i, c in enumerate(code_cells(nb)) for o in c.outputs]
    # Anything on stderr (a warning, a traceback printed by a callback) would be shown to
    # the class in Voilà.
    stderr = [(i, o.text) for i, o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"{name} wrote to stderr: {stderr}"
    if name != INDEX:
        widgets = [i for i, o in outputs if WIDGET_MIME in o.get("data", {})]
        assert widgets, f"{name} displays no widget: nothing to poke"


@pytest.mark.parametrize("name", LESSONS)
def test_served_lesson_runs_without_its_static_cells(name, prepared, kernel_env):
    """What a student's kernel runs, as the server runs it: the cells not tagged 'static',
    on their own, in ``python -OO`` with nothing to compile. Every static cell of the
    notebook is in the page already, as its output."""
    from kmeans_tutor.server.predrawn import PREDRAWN_KEY, STATIC_TAG

    written = read(name)
    static = [c for c in code_cells(written) if STATIC_TAG in c.metadata.get("tags", [])]
    served = nbformat.read(str(prepared / name), as_version=4)
    drawn = [c for c in served.cells if c.metadata.get(PREDRAWN_KEY)]
    assert not [c for c in code_cells(served) if STATIC_TAG in c.metadata.get("tags", [])]
    shown = {c.id for c in static if _shows_something(c)}
    assert shown <= {c.id for c in drawn} <= {c.id for c in static}
    assert len(code_cells(served)) == len(code_cells(written)) - len(static)
    nb, _ = execute(name, prepared, env=kernel_env, last=UNCOMPILED)
    optimize, uncompiled = json.loads(nb.cells.pop().outputs[0].text)
    assert optimize == int(kernel_env["PYTHONOPTIMIZE"])
    assert not optimize or not uncompiled, f"{name}: no -OO bytecode for {uncompiled} (KERNEL_PACKAGES in server/bytecode.py)"
    outputs = [o for c in code_cells(nb) for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert [o for o in outputs if WIDGET_MIME in o.get("data", {})], f"{name}: no widget"


def _shows_something(cell) -> bool:
    """Whether a cell ends with an expression, whose value the page shows."""
    body = ast.parse(python_of(cell)).body
    return bool(body) and isinstance(body[-1], ast.Expr)


def test_static_cells_show_what_the_notebook_shows(prepared):
    """A figure drawn in advance is the picture the cell draws, byte for byte."""
    import base64
    import re as regex

    served = nbformat.read(str(prepared / "04_kmeans_step_by_step.ipynb"), as_version=4)
    nb, _ = execute("04_kmeans_step_by_step.ipynb")
    live = [o.data["image/png"] for c in code_cells(nb) for o in c.outputs if "image/png" in o.get("data", {})]
    drawn = [m for c in served.cells if c.cell_type == "markdown"
             for m in regex.findall(r'src="data:image/png;base64,([^"]+)"', c.source)]
    assert len(drawn) == 2 and len(live) >= 2
    assert [base64.b64decode(d)[:8] for d in drawn] == [b"\x89PNG\r\n\x1a\n"] * 2
    assert drawn == ["".join(p.split()) for p in live[:2]]


def test_lesson_4_quiz_asks_about_the_stepper_data():
    """The quiz cell builds its data without the (static) figure cell: the same numbers."""
    from kmeans_tutor import load_mall_customers, standardize
    from kmeans_tutor.data.resolver import resolve_data

    Z, _ = standardize(load_mall_customers()[["Annual Income (k$)", "Spending Score (1-100)"]])
    np.testing.assert_array_equal(resolve_data("mall", scaled=True).X, np.asarray(Z))


# --------------------------------------------------------------------------- what the prose says


def test_lesson_3_numbers():
    from kmeans_tutor import Standardizer, load_mall_customers

    X = load_mall_customers()[["Age", "Annual Income (k$)"]]
    s = Standardizer().fit(X)
    # "Income's standard deviation is almost twice age's."
    assert 1.7 < s.scale_[1] / s.scale_[0] < 2.0
    # "Customer 1 is 19: ... z = −1.42. Their income of 15 k$ is 1.74 standard deviations below"
    first = s.transform(X).iloc[0]
    assert X.iloc[0].tolist() == [19, 15]
    assert first.round(2).tolist() == [-1.42, -1.74]


def test_lesson_3_raw_clusters_in_dollars_are_bands_of_income():
    import pandas as pd

    from kmeans_tutor import KMeans, Standardizer, load_mall_customers
    from kmeans_tutor.data.profiles import cluster_profiles

    customers = load_mall_customers()
    dollars = pd.DataFrame({"Age": customers["Age"],
                            "Annual Income ($)": customers["Annual Income (k$)"] * 1000})
    Z = Standardizer().fit(dollars).transform(dollars)
    raw = cluster_profiles(customers, KMeans(4, n_init=10, random_state=0).fit(dollars).labels_)
    scaled = cluster_profiles(customers, KMeans(4, n_init=10, random_state=0).fit(Z).labels_)
    # "standard deviation is then about 26,000, against 14 years for age"
    assert round(dollars.std().iloc[1], -3) == 26_000 and round(dollars.std().iloc[0]) == 14
    # "The raw clusters' average ages all lie between 35 and 44, close to the overall 39,
    #  while their incomes run from 27 to 110 k$"
    assert 35 <= raw["Age"].min() and raw["Age"].max() <= 44.05
    assert round(customers["Age"].mean()) == 39
    assert round(raw["Annual Income (k$)"].min()) == 27 and round(raw["Annual Income (k$)"].max()) == 110
    # Bands of income: the raw clusters' income ranges do not overlap.
    labels = KMeans(4, n_init=10, random_state=0).fit(dollars).labels_
    spans = customers.groupby(labels)["Annual Income (k$)"].agg(["min", "max"]).sort_values("min")
    assert (spans["min"].to_numpy()[1:] > spans["max"].to_numpy()[:-1]).all()
    # "the scaled clusters' average ages run from 27.5 to 55.7"
    assert [round(scaled["Age"].min(), 1), round(scaled["Age"].max(), 1)] == [27.5, 55.7]
    # The same z-scores whether income is in dollars or in k$.
    Z_k = Standardizer().fit(customers[["Age", "Annual Income (k$)"]]).transform(
        customers[["Age", "Annual Income (k$)"]])
    np.testing.assert_allclose(Z.to_numpy(), Z_k.to_numpy(), atol=1e-12)


def test_lesson_4_the_step_it_asks_about_rings_points():
    from kmeans_tutor import load_mall_customers, run_kmeans, standardize
    from kmeans_tutor.widgets.stepper import StepperModel

    nb = read("04_kmeans_step_by_step.ipynb")
    assert "step 7" in markdown(nb) and "which points does it ring" not in markdown(nb)
    m = StepperModel(dataset="mall", features=("Annual Income (k$)", "Spending Score (1-100)"), k=5,
                     init="k-means++", seed=0, scaled=True)
    trace = m.trace
    # The first assign step rings nothing (every point is new); step 7 is iteration 2's assign.
    assert trace[5].phase == "assign" and trace[5].previous_inertia is None
    assert trace[7].phase == "assign" and trace[7].iteration == 2
    assert len(trace[7].changed) == 9
    # The staircase is the stepper's own run, in z-score units (inertia 65.57, not 44,448).
    Z, _ = standardize(load_mall_customers()[["Annual Income (k$)", "Spending Score (1-100)"]])
    staircase = run_kmeans(Z, 5, init="k-means++", random_state=0)
    assert [s.inertia for s in staircase] == [s.inertia for s in trace]
    assert round(staircase.final.inertia, 2) == 65.57


def test_lesson_4_tiny_run_is_the_one_described():
    from kmeans_tutor import run_kmeans

    points = [[1, 1], [1.5, 2], [2, 1], [2.5, 2.5], [6, 5], [7, 6], [6.5, 7], [8, 6]]
    tiny = run_kmeans(points, 2, init=[[1, 1], [1.5, 2]])
    # Eight panels (2 × 4): seed, seed, assign, update, assign, update, assign, converged.
    assert tiny.phases() == ["seed", "seed", "assign", "update", "assign", "update", "assign", "converged"]
    # "the two bottom-left points it left behind switch to the blue centre"
    assert sorted(tiny[4].changed.tolist()) == [1, 3]
    assert tiny[4].labels[[1, 3]].tolist() == [0, 0]


def test_lesson_5_some_starts_go_wrong_for_both_methods():
    from kmeans_tutor import KMeans, load_mall_customers, standardize

    # The table uses the z-scores, like the app beside it.
    assert "standardize(load_mall_customers()" in _code(read("05_initialisation.ipynb"))
    mall, _ = standardize(load_mall_customers()[["Annual Income (k$)", "Spending Score (1-100)"]])
    endings = {init: KMeans(5, init=init, n_init=30, random_state=0).fit(mall).restarts_["inertia"]
               for init in ["random", "k-means++"]}
    best = min(e.min() for e in endings.values())
    # "Most runs end at 65.6 ... some at 65.57 and some at 65.58"
    assert round(best, 2) == 65.57
    both = set(endings["random"].round(2)) | set(endings["k-means++"].round(2))
    assert {65.57, 65.58} <= both
    for init, e in endings.items():
        assert (e.round(1) == 65.6).sum() > len(e) / 2, init
    # "stuck in a worse valley at 98.4 or more: half as high again"
    worse = [x for e in endings.values() for x in e if round(x, 1) > 65.6]
    assert round(min(worse), 1) == 98.4 and min(worse) > 1.49 * best
    # "Random seeding got stuck in 10 of its 30 runs, k-means++ in 4"
    stuck = {init: int((e.round(1) > 65.6).sum()) for init, e in endings.items()}
    assert stuck == {"random": 10, "k-means++": 4}


def test_lesson_5_default_seed_shows_the_two_seedings_differ():
    from kmeans_tutor.widgets.compare import CompareModel

    # The lesson opens the app on seed 5 ...
    assert "k=5, seed=5)" in _code(read("05_initialisation.ipynb"))
    m = CompareModel(k=5, seed=5)
    random_run, plus_run = m.traces["random"], m.traces["k-means++"]
    # ... where "random seeding ends at inertia 98.75 ... k-means++ ends at 65.57"
    assert round(random_run.final.inertia, 2) == 98.75
    assert round(plus_run.final.inertia, 2) == 65.57
    # "with that corner cut in two and ... 100 customers in one cluster"
    assert max(np.bincount(random_run.final.labels)) == 100
    # "puts two of its five centres in the high-income, high-spending corner" (raw units)
    seeds = [s for s in random_run if s.phase == "seed"][-1].centers
    raw = m.data.raw
    start = seeds * raw.std(axis=0) + raw.mean(axis=0)
    corner = (start[:, 0] > 70) & (start[:, 1] > 60)
    assert corner.sum() == 2
    # "the same seed ... the two sides start from different centres"
    assert not np.allclose(np.sort(seeds, axis=0),
                           np.sort([s for s in plus_run if s.phase == "seed"][-1].centers, axis=0))


def test_lesson_6_knee_and_silhouette_disagree_on_five_blobs():
    from kmeans_tutor import elbow, suggest_k
    from kmeans_tutor.data.synthetic import make_blobs

    five = make_blobs(n_samples=300, centers=5, random_state=0)
    table = elbow(five.X, ks=range(1, 9), n_init=10, random_state=0)
    assert suggest_k(table) == 3  # "Why does Kneedle say 3?"
    assert int(table.loc[table["silhouette"].idxmax(), "k"]) == 5


def test_lesson_6_only_the_best_inertia_always_falls():
    from kmeans_tutor import KMeans, load_mall_customers, standardize

    assert "the best inertia always falls as k grows" in markdown(read("06_choosing_k.ipynb"))
    mall, _ = standardize(load_mall_customers()[["Annual Income (k$)", "Spending Score (1-100)"]])
    # "one random start with k = 5 ended at 133.4, above the best k = 4 grouping, 108.9"
    runs = KMeans(5, init="random", n_init=30, random_state=0).fit(mall).restarts_["inertia"]
    best4 = KMeans(4, n_init=10, random_state=0).fit(mall).inertia_
    assert round(runs.max(), 1) == 133.4 and round(best4, 1) == 108.9


def test_lesson_7_single_runs_and_the_leftover_silhouette():
    from kmeans_tutor import KMeans, load_mall_customers, silhouette_score
    from kmeans_tutor.data.profiles import cluster_profiles

    raw = load_mall_customers()[["Annual Income (k$)", "Spending Score (1-100)"]]
    run_a = KMeans(5, n_init=1, random_state=0).fit(raw)
    run_b = KMeans(5, n_init=1, random_state=1).fit(raw)
    best = KMeans(5, n_init=10, random_state=0).fit(raw)
    # "its inertia is much higher ... The seed-1 run finds the five groups"
    assert run_a.inertia_ > 1.3 * run_b.inertia_
    assert run_b.inertia_ == pytest.approx(best.inertia_)
    # "one big 'average' group of about a hundred customers"
    assert 90 <= cluster_profiles(raw, run_a.labels_)["size"].max() <= 110
    # The silhouette of the last model of the loop is not the chosen model's.
    last = KMeans(10, n_init=10, random_state=0).fit(raw)
    assert abs(silhouette_score(raw, last.labels_) - silhouette_score(raw, best.labels_)) > 0.05


def test_lesson_7_published_table_and_numbering():
    from kmeans_tutor import KMeans, load_mall_customers
    from kmeans_tutor.data.profiles import cluster_profiles

    nb = read("07_from_clusters_to_customers.ipynb")
    text = markdown(nb)
    # Cites the data set and the published run, and calls personas hypotheses.
    assert "kaggle.com/vjchoudhary7/customer-segmentation-tutorial-in-python" in text
    assert "dmi.unict.it/ortis/StatsLab" in text and "hypothesis" in text
    # "The sizes agree cluster for cluster: 81, 39, 35, 23 and 22 customers."
    raw = load_mall_customers()[["Annual Income (k$)", "Spending Score (1-100)"]]
    best = KMeans(5, n_init=10, random_state=0).fit(raw)
    sizes = sorted(cluster_profiles(raw, best.labels_)["size"], reverse=True)
    assert sizes == sorted([81, 23, 22, 39, 35], reverse=True) == [81, 39, 35, 23, 22]
    # Every profile or segment table a learner sees is numbered 1 … k.
    code = _code(nb)
    shown = code.count("number_clusters(")
    assert shown >= 5, "profile tables must be shown through number_clusters"


@pytest.mark.parametrize("name", LESSONS)
def test_no_lesson_explains_a_numbering_mismatch(name):
    text = markdown(read(name)).lower()
    assert "counts from 0" not in text and "cluster 0" not in text


def _code(nb) -> str:
    return "\n".join(c.source for c in code_cells(nb))
