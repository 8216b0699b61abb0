"""Lessons served with their 'static' cells drawn once (kmeans_tutor.server.predrawn).

The unit tests build notebooks by hand; one test runs a small notebook for real (a kernel,
about 3 s). The real lessons are checked in tests/test_lessons.py.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import nbformat
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from kmeans_tutor.server.predrawn import (PREDRAWN_KEY, STATIC_TAG, PredrawError, has_static_cells,
                                          lessons_key, outputs_markdown, predraw, prepare_lessons)

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
TABLE = '<div>\n<table class="dataframe">\n  <tr>\n    <td>1</td>\n\n  </tr>\n</table>\n</div>'


def code(source, tags=(), outputs=()):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = list(tags)
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def display(data, metadata=None, kind="display_data"):
    out = {"output_type": kind, "data": data, "metadata": metadata or {}}
    if kind == "execute_result":
        out["execution_count"] = 1
    return out


def write(folder: Path, name: str, cells) -> Path:
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / name
    nbformat.write(nb, path)
    return path


# --- one cell's outputs -------------------------------------------------------------------

def test_a_picture_becomes_an_image_of_the_same_bytes_and_size():
    md = outputs_markdown([display({"image/png": PNG + "\n", "text/plain": "<Figure>"},
                                   {"image/png": {"width": 640, "height": 480}})])
    assert f'src="data:image/png;base64,{PNG}"' in md
    assert 'width="640"' in md and 'height="480"' in md
    assert "jp-RenderedImage" in md


def test_a_table_stays_html_on_one_line_that_markdown_passes_through():
    md = outputs_markdown([display({"text/html": TABLE, "text/plain": "table"}, kind="execute_result")])
    assert "\n" not in md and "<td>1</td>" in md
    rendered = markdown2html_mistune(md)
    assert rendered.count("<table") == 1 and "<p>" not in rendered and "<pre><code>" not in rendered


def test_markdown_stays_markdown_text_is_escaped_and_warnings_are_left_out():
    md = outputs_markdown([
        display({"text/markdown": "**The knee is at k = 4.**", "text/plain": "…"}),
        {"output_type": "stream", "name": "stdout", "text": "a < b\nsecond line\n"},
        {"output_type": "stream", "name": "stderr", "text": "UserWarning: careful"},
        display({"text/plain": "42"}, kind="execute_result"),
    ])
    blocks = md.split("\n\n")
    assert blocks[0] == "**The knee is at k = 4.**"
    assert "a &lt; b&#10;second line" in blocks[1] and "<pre>" in blocks[1]
    assert "careful" not in md
    assert "<pre>42</pre>" in blocks[2]
    assert "<strong>The knee is at k = 4.</strong>" in markdown2html_mistune(md)


@pytest.mark.parametrize("output, words", [
    (display({"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "App"}),
     "widget"),
    ({"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": []}, "ValueError: bad"),
    (display({"application/javascript": "alert(1)"}), "application/javascript"),
])
def test_what_needs_a_kernel_or_failed_is_refused_by_name(output, words):
    with pytest.raises(PredrawError, match=words):
        outputs_markdown([output])


# --- one notebook ---------------------------------------------------------------------------

def test_static_cells_become_markdown_the_others_stay_code_without_outputs():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title"),
        code("import x", tags=[STATIC_TAG]),  # no output: nothing to show, the cell goes
        code("fig", tags=[STATIC_TAG], outputs=[display({"image/png": PNG})]),
        code("App()", outputs=[display({"text/plain": "App"})]),
    ])
    served = predraw(json.loads(nbformat.writes(nb)))
    kinds = [c["cell_type"] for c in served["cells"]]
    assert kinds == ["markdown", "markdown", "code"]
    drawn = served["cells"][1]
    assert drawn["metadata"] == {PREDRAWN_KEY: True} and drawn["id"] == nb.cells[2].id
    assert PNG in drawn["source"]
    assert served["cells"][2]["outputs"] == [] and "".join(served["cells"][2]["source"]) == "App()"
    nbformat.validate(nbformat.from_dict(served))


def test_the_refusal_names_the_cell():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title"),
        code("App()", tags=[STATIC_TAG],
             outputs=[display({"application/vnd.jupyter.widget-view+json": {}})]),
    ])
    with pytest.raises(PredrawError, match="cell 2: .*widget"):
        predraw(json.loads(nbformat.writes(nb)))


# --- the folder -------------------------------------------------------------------------------

def test_a_folder_with_no_static_cell_is_served_as_it_is(tmp_path):
    write(tmp_path, "01_plain.ipynb", [code("print(1)")])
    assert not has_static_cells(tmp_path / "01_plain.ipynb")
    assert prepare_lessons(tmp_path, cache=tmp_path / "cache", out=io.StringIO()) == tmp_path
    assert not (tmp_path / "cache").exists()


def test_unreadable_notebooks_have_no_static_cells(tmp_path):
    (tmp_path / "broken.ipynb").write_text("{not json")
    assert not has_static_cells(tmp_path / "broken.ipynb")
    assert not has_static_cells(tmp_path / "missing.ipynb")


@pytest.fixture(scope="module")
def lessons(tmp_path_factory):
    """A lessons folder: one lesson with a static figure and a live cell, one whose static
    cell fails, a picture, and a link to a file outside the folder."""
    root = tmp_path_factory.mktemp("predraw")
    folder = root / "lessons"
    folder.mkdir()
    (root / "secret.txt").write_text("outside")
    write(folder, "01_figure.ipynb", [
        nbformat.v4.new_markdown_cell("# Lesson 1"),
        code("%matplotlib inline\nfrom matplotlib.figure import Figure\n"
             "fig = Figure(figsize=(2, 1))\nfig.subplots().plot([0, 1], [1, 0])\nfig", tags=[STATIC_TAG]),
        code("print('live', 6 * 7)"),
    ])
    write(folder, "02_fails.ipynb", [
        nbformat.v4.new_markdown_cell("# Lesson 2"),
        code("1 / 0", tags=[STATIC_TAG]),
    ])
    (folder / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    os.symlink(root / "secret.txt", folder / "secret.txt")
    out = io.StringIO()
    served = prepare_lessons(folder, cache=root / "cache", out=out)
    return folder, served, out.getvalue(), root / "cache"


def test_a_lesson_is_run_once_and_served_with_its_figure(lessons):
    folder, served, printed, cache = lessons
    assert served.parent == cache and served.name == lessons_key(folder)
    nb = nbformat.read(served / "01_figure.ipynb", as_version=4)
    assert [c.cell_type for c in nb.cells] == ["markdown", "markdown", "code"]
    assert 'src="data:image/png;base64,iVBOR' in nb.cells[1].source
    assert nb.cells[2].outputs == [] and "live" in nb.cells[2].source
    assert "Drawing the lessons' fixed figures once" in printed and str(served) in printed


def test_a_lesson_that_fails_is_served_as_written_with_a_warning(lessons):
    folder, served, printed, _ = lessons
    assert (served / "02_fails.ipynb").read_bytes() == (folder / "02_fails.ipynb").read_bytes()
    warning = [line for line in printed.splitlines() if "02_fails.ipynb" in line]
    assert len(warning) == 1 and "ZeroDivisionError" in warning[0] and "served as it is" in warning[0]


def test_other_files_are_copied_but_never_what_lies_outside(lessons):
    _, served, _, _ = lessons
    assert (served / "picture.png").read_bytes() == b"\x89PNG\r\n\x1a\n"
    assert not (served / "secret.txt").exists()


def test_the_next_start_uses_the_copy_and_a_changed_lesson_makes_a_new_one(lessons, tmp_path):
    folder, served, _, cache = lessons
    out = io.StringIO()
    assert prepare_lessons(folder, cache=cache, out=out) == served
    assert out.getvalue() == ""  # nothing run again
    copy = tmp_path / "lessons"
    copy.mkdir()
    for name in ("01_figure.ipynb", "02_fails.ipynb"):
        (copy / name).write_bytes((folder / name).read_bytes())
    key = lessons_key(copy)
    nb = nbformat.read(copy / "02_fails.ipynb", as_version=4)
    nb.cells[1].source = "2 / 1"
    nbformat.write(nb, copy / "02_fails.ipynb")
    assert lessons_key(copy) != key


def test_servers_starting_together_share_one_copy(lessons, tmp_path):
    """Students logging in to a hub at once: one server runs the lessons, the others wait
    for its copy."""
    from concurrent.futures import ThreadPoolExecutor

    folder, *_ = lessons
    outs = [io.StringIO(), io.StringIO(), io.StringIO()]
    with ThreadPoolExecutor(3) as pool:
        copies = list(pool.map(lambda out: prepare_lessons(folder, cache=tmp_path, out=out), outs))
    assert len(set(copies)) == 1 and (copies[0] / ".complete").is_file()
    assert sum("Drawing the lessons' fixed figures" in out.getvalue() for out in outs) == 1
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == [copies[0].name]


def test_the_cache_folder_can_be_set_and_read_only(lessons, tmp_path, monkeypatch):
    from kmeans_tutor.server.predrawn import cache_root

    folder, served, _, cache = lessons
    monkeypatch.setenv("KMEANS_TUTOR_CACHE", str(cache))
    assert cache_root() == cache

    def read_only(path, *args, **kwargs):  # a copy built into an image (root ignores modes)
        raise PermissionError(13, "Read-only file system", str(path))

    monkeypatch.setattr(os, "utime", read_only)
    assert prepare_lessons(folder, out=io.StringIO()) == served


def test_the_module_prepares_a_folder_from_the_command_line(lessons, capsys, monkeypatch):
    from kmeans_tutor.server.predrawn import main

    folder, served, _, cache = lessons
    monkeypatch.setenv("KMEANS_TUTOR_CACHE", str(cache))
    assert main([str(folder)]) == 0
    assert capsys.readouterr().out.strip() == str(served)
    assert main([]) == 2 and "usage:" in capsys.readouterr().err


@pytest.mark.slow
def test_the_first_pictures_of_fixed_size_figures_are_kept_as_a_lesson_is_prepared(tmp_path, monkeypatch):
    """A lesson with a quiz of pictures and a stepper: run once as a page's kernel would run it,
    then the quiz's pictures (their own size) are drawn and kept for the first page's kernel;
    the stepper's waits for a page's width. The served copy has no cell more than the lesson."""
    store = tmp_path / "kept"
    monkeypatch.setenv("KMEANS_TUTOR_TABLES", str(store))
    folder = tmp_path / "lessons"
    folder.mkdir()
    write(folder, "04_quiz.ipynb", [
        code("%matplotlib inline\nfrom matplotlib.figure import Figure\nFigure(figsize=(1, 1))",
             tags=[STATIC_TAG]),
        code("from kmeans_tutor import run_kmeans\n"
             "from kmeans_tutor.data.resolver import resolve_data\n"
             "from kmeans_tutor.widgets.quiz import Quiz, nearest_centre_questions\n"
             "from kmeans_tutor.widgets.stepper import StepperApp\n"
             "X = resolve_data('mall', scaled=True).X\n"
             "display(StepperApp(dataset='mall', k=5, seed=0, scaled=True))\n"
             "Quiz(nearest_centre_questions(X, run_kmeans(X, 5, random_state=0)[4], n=3))"),
    ])
    out = io.StringIO()
    served = prepare_lessons(folder, cache=tmp_path / "cache", out=out)
    assert "not drawn in advance" not in out.getvalue()
    nb = nbformat.read(served / "04_quiz.ipynb", as_version=4)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code"] and "Quiz(" in nb.cells[1].source
    assert len(list(store.glob("first_picture-*.npz"))) == 3
