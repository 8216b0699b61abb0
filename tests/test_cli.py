"""The ``kmeans-tutor animate`` and ``segment`` commands, end to end."""

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageSequence

from kmeans_tutor import KMeans, load_mall_customers, run_kmeans, standardize
from kmeans_tutor.cli import main

INCOME_SCORE = ["Annual Income (k$)", "Spending Score (1-100)"]


@pytest.mark.parametrize("command", [[], ["animate"], ["segment"], ["serve"]])
def test_help_on_every_command(command):
    out = subprocess.run([sys.executable, "-m", "kmeans_tutor.cli", *command, "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "usage: kmeans-tutor" in out.stdout


def test_animate_mall_gif_has_one_frame_per_step(tmp_path, capsys):
    out = tmp_path / "mall.gif"
    assert main(["animate", "mall", "-k", "3", "--seed", "4", "-o", str(out), "--dpi", "40",
                 "--size", "6x3"]) == 0
    Z, _ = standardize(load_mall_customers()[INCOME_SCORE])
    trace = run_kmeans(Z, 3, random_state=4)
    frames = sum(1 for _ in ImageSequence.Iterator(Image.open(out)))
    assert frames == len(trace)
    assert "replay this run with --seed 4" in capsys.readouterr().out


def test_animate_synthetic_html(tmp_path):
    out = tmp_path / "rings.html"
    assert main(["animate", "rings", "-k", "2", "--init", "random", "--raw", "-o", str(out),
                 "--dpi", "30", "--size", "5x2.5"]) == 0
    assert out.read_text().count("data:image/png;base64") >= 5


@pytest.mark.parametrize("argv,message", [
    (["animate", "nope"], "neither a data set"),
    (["animate", "mall", "-o", "x.png"], "supported formats"),
    (["animate", "mall", "-f", "Height", "Age"], "Unknown Mall column 'Height'"),
    (["segment", "missing.csv"], "neither a data set"),
])
def test_clear_errors(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) in (1, 2)
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["animate", "mall", "-k", "0"], ["animate", "mall", "--size", "big"],
                                  ["segment", "mall", "--seed", "-1"], ["animate", "mall", "--fps", "0"],
                                  ["animate", "mall", "--dpi", "100000"]])
def test_bad_arguments_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_segment_csv_end_to_end(tmp_path, capsys):
    src = tmp_path / "customers.csv"
    pd.read_csv("data/mall_customers.csv", dtype=str).to_csv(src, index=False)
    out = tmp_path / "labelled.csv"
    assert main(["segment", str(src), "-k", "5", "-f", *INCOME_SCORE, "-o", str(out)]) == 0
    text = capsys.readouterr().out
    for persona in ["Affluent", "Careful spenders", "Impulsive", "Budget", "Middle-income"]:
        assert persona in text
    assert [int(n) for n in re.findall(r"^Cluster (\d+) · ", text, re.M)] == [1, 2, 3, 4, 5]
    labelled = pd.read_csv(out, dtype={"CustomerID": str})
    assert len(labelled) == 200 and {"cluster", "segment"} <= set(labelled.columns)
    assert labelled["CustomerID"].iloc[0] == "0001"
    Z, _ = standardize(load_mall_customers()[INCOME_SCORE])
    expected = KMeans(5, n_init=10, random_state=0).fit(Z).labels_
    assert (labelled["cluster"].to_numpy() == expected + 1).all()  # counted from 1


def test_segment_skips_identifier_columns_by_default(tmp_path, capsys):
    src = tmp_path / "small.csv"
    src.write_text("id,a,b\n1,0,0\n2,0,1\n3,10,10\n4,10,11\n5,20,0\n6,21,0\n")
    assert main(["segment", str(src), "-k", "3", "-o", str(tmp_path / "o.csv")]) == 0
    assert "features ['a', 'b']" in capsys.readouterr().out


def test_segment_reports_bad_cells(tmp_path, capsys):
    src = tmp_path / "bad.csv"
    src.write_text("a,b\n1,2\n?,3\n4,x\n5,6\n")
    assert main(["segment", str(src), "-k", "2"]) == 1
    err = capsys.readouterr().err
    assert "row 2" in err and "'x' is not a number" in err


def test_segment_numbers_clusters_from_1_like_step_view_and_captions(tmp_path, capsys):
    """The printout says Cluster 1 … k (as StepView's legend and the step captions do),
    and so does the written CSV's cluster column."""
    import matplotlib.pyplot as plt

    from kmeans_tutor.core.steps import EmptyClusterEvent
    from kmeans_tutor.views import StepView

    out = tmp_path / "o.csv"
    assert main(["segment", "mall", "-k", "3", "-f", *INCOME_SCORE, "-o", str(out)]) == 0
    text = capsys.readouterr().out
    Z, _ = standardize(load_mall_customers()[INCOME_SCORE])
    view = StepView(Z, 3, ax=plt.figure().subplots()).finalize()
    legend = [t.get_text() for t in view.ax.get_legend().get_texts()][:3]
    plt.close("all")
    numbers = [int(t.removeprefix("cluster ")) for t in legend]
    assert numbers == [1, 2, 3]
    event = EmptyClusterEvent(index=0, iteration=1, centers=Z[:3], labels=None, inertia=None,
                              clusters=np.array([0]), policy="keep", new_centers=Z[:1])
    assert "Cluster 1 has no points" in event.describe()

    # Persona headings and the profile table's rows: 1 … k.
    assert [int(n) for n in re.findall(r"^Cluster (\d+) · ", text, re.M)] == numbers
    table = text.split("\ncluster ", 1)[1].split("\nCluster 1 · ", 1)[0]
    assert [int(line.split()[0]) for line in table.strip().splitlines()] == numbers
    assert "counts from 0" not in text
    # The CSV counts the same way: Cluster 1's rows are cluster 1.
    labelled = pd.read_csv(out)
    assert sorted(labelled["cluster"].unique()) == [1, 2, 3]
    first = re.search(r"^Cluster 1 · (.+?) — ", text, re.M).group(1)
    assert set(labelled.loc[labelled["cluster"] == 1, "segment"]) == {first}


# --------------------------------------------------------------------- nothing lost, one line


def _one_line_error(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_segment_never_writes_over_its_input(tmp_path, capsys):
    src = tmp_path / "data.csv"
    src.write_text("a,b\n0,0\n0,1\n5,5\n5,6\n9,0\n")
    before = src.read_bytes()
    assert main(["segment", str(src), "-k", "2", "-o", str(src)]) == 1
    assert "is the input file" in _one_line_error(capsys)
    assert main(["segment", str(src), "-k", "2", "-o", str(src), "--force"]) == 1
    assert src.read_bytes() == before


def test_existing_outputs_need_force(tmp_path, capsys):
    src = tmp_path / "data.csv"
    src.write_text("a,b\n0,0\n0,1\n5,5\n5,6\n9,0\n")
    out = tmp_path / "out.csv"
    out.write_text("keep me")
    assert main(["segment", str(src), "-k", "2", "-o", str(out)]) == 1
    assert "already exists" in _one_line_error(capsys) and out.read_text() == "keep me"
    assert main(["segment", str(src), "-k", "2", "-o", str(out), "--force"]) == 0
    assert "cluster" in out.read_text()


@pytest.mark.parametrize("argv, message", [
    (["animate", "mall", "-o", "{tmp}"], "is a folder"),
    (["animate", "mall", "-o", "{tmp}/missing/a.gif"], "does not exist"),
    (["segment", "mall", "-o", "{tmp}"], "is a folder"),
    (["segment", "{tmp}/nope.csv"], "neither a data set"),
    (["segment", "/dev/zero"], "not a regular file"),
    (["animate", "mall", "-f", "nope"], "Unknown Mall column 'nope'"),
    (["animate", "mall", "--size", "40x40", "--dpi", "600"], "lower --dpi or --size"),
    (["animate", "rings", "-o", "{tmp}/a.png"], "supported formats are .gif, .mp4, .html"),
])
def test_errors_are_one_line_before_any_work(argv, message, tmp_path, capsys, monkeypatch):
    import kmeans_tutor.views.animation as animation

    def refuse(*args, **kwargs):
        raise AssertionError("no frame may be drawn before the output is known to be writable")

    monkeypatch.setattr(animation, "save_animation", refuse)
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert main(argv) == 1
    assert message in _one_line_error(capsys)


def test_unexpected_failures_are_one_line_too(monkeypatch, capsys):
    import kmeans_tutor.cli as cli

    def boom(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(cli, "resolve_data", boom)
    assert main(["segment", "mall", "-o", "/tmp/never.csv"]) == 1
    err = _one_line_error(capsys)
    assert "KeyError" in err and "please report it" in err


def test_written_csv_cells_cannot_run_as_spreadsheet_formulas(tmp_path, capsys):
    src = tmp_path / "people.csv"
    src.write_text('name,note,a,b\n=HYPERLINK("http://x"),@SUM(A1),0,0\n'
                   '+cmd|calc!A0,-5,0,1\nAda,ok,5,5\nBob,-2,5,6\n')
    out = tmp_path / "out.csv"
    assert main(["segment", str(src), "-k", "2", "-o", str(out)]) == 0
    written = pd.read_csv(out, dtype=str)
    assert written["name"].tolist()[:2] == ["'=HYPERLINK(\"http://x\")", "'+cmd|calc!A0"]
    assert written["note"].tolist() == ["'@SUM(A1)", "-5", "ok", "-2"]  # numbers stay numbers
    assert written["a"].tolist() == ["0", "0", "5", "5"]


def test_segment_says_which_columns_were_left_out(tmp_path, capsys):
    src = tmp_path / "prices.csv"
    src.write_text('price,x,y\n"1,000",0,0\n"2,000",0,1\n"3,000",5,5\n"4,000",5,6\n')
    assert main(["segment", str(src), "-k", "2", "-o", str(tmp_path / "o.csv")]) == 0
    out = capsys.readouterr().out
    assert "Columns left out: 'price'" in out and "thousands separator" in out
