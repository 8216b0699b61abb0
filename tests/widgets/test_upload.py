"""Bring your own data: the CSV upload row in the stepper and segments apps, driven from Python.

Each test sets the FileUpload's ``value`` as ipywidgets 8 does after a browser
upload (a tuple of one dict: name, type, size, content memoryview,
last_modified) and checks what the learner sees.
"""

import base64
import builtins
import datetime
import html
import io
import os
import re
import tempfile

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ipympl")
pytestmark = pytest.mark.usefixtures("restore_backend")

from kmeans_tutor.data import DataError, load_csv
from kmeans_tutor.core.estimator import KMeans
from kmeans_tutor.data.preprocessing import standardize
from kmeans_tutor.data.profiles import cluster_profiles
from kmeans_tutor.widgets import upload as upload_mod
from kmeans_tutor.widgets.stepper import StepperModel
from kmeans_tutor.widgets.segments import SegmentsApp
from kmeans_tutor.widgets.stepper import StepperApp
from kmeans_tutor.widgets.upload import MAX_UPLOAD_BYTES, UploadError, UploadRow, read_upload


def _value(content: bytes, name="points.csv", size=None):
    """A FileUpload value as ipywidgets 8 sets it after a browser upload."""
    return ({"name": name, "type": "text/csv", "size": len(content) if size is None else size,
             "content": memoryview(content),
             "last_modified": datetime.datetime(2024, 6, 1, tzinfo=datetime.timezone.utc)},)


def _good_csv(n=30, seed=0) -> bytes:
    """Three numeric columns (one an ID), a text column and some repeated rows."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [10, 0], [5, 9]])
    pts = np.round(centres[np.arange(n) % 3] + rng.normal(size=(n, 2)), 2)
    rows = [f"{i + 1},city{i % 4},{x},{y}" for i, (x, y) in enumerate(pts)]
    rows += [rows[0].replace("1,", f"{n + 1},", 1)]  # a repeated point: kept
    return ("id,city,height,weight\n" + "\n".join(rows) + "\n").encode()


@pytest.fixture(scope="module")
def stepper():
    return StepperApp(dataset="blobs", k=3, seed=0, figsize=(6, 3))


@pytest.fixture
def fresh_stepper(stepper):
    """The module's stepper, with a known good file loaded and k = 3."""
    stepper.model.k = 3
    stepper.upload_row.upload.value = _value(_good_csv(), "good.csv")
    assert stepper.upload_row.ok, stepper.upload_row.status
    return stepper


# ------------------------------------------------------------------ read_upload (no widgets)


def test_read_upload_parses_bytes_in_memory_and_keeps_duplicates():
    name, df, report = read_upload(_value(b"x,y,city\n1,2,Oslo\n1,2,Oslo\n3,4,Rome\n", "a.csv"))
    assert name == "a.csv"
    assert df.shape == (3, 2) and df.index.tolist() == [1, 2, 3]
    assert report.ignored_columns == {"city": "text, not numbers"}
    assert report.left_out["city"].tolist() == ["Oslo", "Oslo", "Rome"]


def test_read_upload_checks_reported_and_received_size():
    with pytest.raises(UploadError, match=r"file is 3\.4 MB; the limit is 2 MB"):
        read_upload(_value(b"x,y\n1,2\n3,4\n", size=int(3.4 * 1024 * 1024)))
    # A client that under-reports the size is judged on the bytes it sent.
    with pytest.raises(UploadError, match=r"the limit is"):
        read_upload(_value(b"x,y\n" + b"1,2\n" * 100, size=10), max_bytes=100)
    with pytest.raises(UploadError, match="one CSV file"):
        read_upload(())


# ------------------------------------------------------------------ stepper


def test_good_file_appears_in_data_choice_and_can_be_stepped(fresh_stepper):
    app = fresh_stepper
    m = app.model
    assert m.dataset == "upload" and m.uploaded_name == "good.csv"
    assert m.features == ("height", "weight")  # the ID column is passed over
    assert m.X.shape == (31, 2)  # the repeated row is kept
    np.testing.assert_allclose(m.X.mean(axis=0), 0, atol=1e-12)  # standardised like Mall
    choice = app.data_row
    assert ("Your CSV: good.csv", "upload") in choice._dataset.options
    assert choice._dataset.value == "upload"
    assert list(choice._x.options) == ["id", "height", "weight"]
    assert choice._x.layout.display != "none"
    assert "good.csv" in app.upload_row.status and "31 rows" in app.upload_row.status
    # Stepping works on the file's data.
    assert m.trace is not None and m.message == ""
    app.transport.step.click()
    app.transport.step.click()
    assert m.index == 2 and "step <b>2 /" in app.readout
    app.transport.end.click()
    assert m.current.phase == "converged"
    # Another column pair from the dropdowns; then Mall and back keep each pair.
    choice._x.value = "id"
    assert m.features == ("id", "weight") and m.trace is not None
    choice._dataset.value = "mall"
    assert m.features == ("Annual Income (k$)", "Spending Score (1-100)") and m.message == ""
    choice._dataset.value = "upload"
    assert m.features == ("id", "weight") and m.message == ""


def test_k_above_distinct_points_of_the_file_is_refused_and_nothing_changes(fresh_stepper):
    app = fresh_stepper
    app.model.k = 4
    before = (app.model.uploaded_name, app.model.trace)
    app.upload_row.upload.value = _value(b"a,b\n1,1\n2,2\n2,2\n3,1\n", "tiny.csv")
    assert app.upload_row.ok is False
    assert "3 distinct points, fewer than k = 4: lower k" in app.upload_row.status
    assert (app.model.uploaded_name, app.model.trace) == before  # the run on screen stays
    app.model.k = 2
    app.upload_row.upload.value = _value(b"a,b\n1,1\n2,2\n2,2\n3,1\n", "tiny.csv")
    assert app.upload_row.ok and app.model.trace is not None


def test_file_over_the_cap_is_refused_before_parsing(fresh_stepper, monkeypatch):
    app = fresh_stepper
    before = app.model.uploaded

    def no_parsing(*args, **kwargs):
        raise AssertionError("load_csv must not be called for a file over the cap")

    monkeypatch.setattr(upload_mod, "load_csv", no_parsing)
    app.upload_row.upload.value = _value(b"x,y\n1,2\n3,4\n", "big.csv", size=int(3.4 * 1024 * 1024))
    assert app.upload_row.ok is False
    assert "file is 3.4 MB; the limit is 2 MB" in app.upload_row.status
    assert app.model.uploaded is before and app.model.uploaded_name == "good.csv"
    assert MAX_UPLOAD_BYTES == 2 * 1024 * 1024


BAD_FILES = {
    "missing cells": b"a,b\n1,2\n,4\n5,6\n",
    "text in a numeric column": b"a,b\n1,2\n3,forty\n5,6\n7,8\n",
    "only one row": b"a,b\n1,2\n",
    "all rows identical": b"a,b\n1,2\n1,2\n1,2\n",
    "non-UTF-8 bytes": b"a,b\n1,2\n3,\x81\x8d\x00\x01\n",
    "empty file": b"",
}


@pytest.mark.parametrize("content", list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_malformed_file_shows_the_data_error_and_keeps_the_data(fresh_stepper, content):
    app = fresh_stepper
    m = app.model
    before = (m.uploaded, m.uploaded_name, m.dataset, m.features, m.trace)
    with pytest.raises(DataError) as info:
        load_csv(content, duplicates="keep", max_bytes=MAX_UPLOAD_BYTES)
    app.upload_row.upload.value = _value(content, "bad.csv")
    status = app.upload_row.status
    assert app.upload_row.ok is False
    assert "Could not use bad.csv" in status
    assert html.escape(str(info.value).splitlines()[0]) in status
    assert (m.uploaded, m.uploaded_name, m.dataset, m.features, m.trace) == before
    assert app.upload_row.upload.value == ()  # the bytes are not kept


def test_html_in_the_file_name_and_cells_is_escaped(fresh_stepper):
    app = fresh_stepper
    evil = "<img src=x onerror=alert(1)>"
    app.upload_row.upload.value = _value(f"a,b\n1,2\n3,{evil}\n5,6\n7,8\n".encode(), f"{evil}.csv")
    status = app.upload_row.status
    assert evil not in status and html.escape(evil) in status
    # A good file with such a name: escaped in the status; a plain-text label in the dropdown.
    app.upload_row.upload.value = _value(b"x,y\n1,2\n3,4\n5,7\n", f"<b>{evil}.csv")
    assert app.upload_row.ok
    assert "<b>" not in app.upload_row.status and "&lt;b&gt;" in app.upload_row.status


def _listing():
    return set(os.listdir(tempfile.gettempdir())), set(os.listdir(os.getcwd()))


def test_no_file_is_written(fresh_stepper, monkeypatch):
    app = fresh_stepper
    before = _listing()

    def refuse(*args, **kwargs):
        raise AssertionError(f"an upload must not touch the file system: {args!r}")

    with monkeypatch.context() as mp:
        for mod, name in [(builtins, "open"), (io, "open"), (os, "open"), (tempfile, "mkstemp"),
                          (tempfile, "mkdtemp"), (tempfile, "NamedTemporaryFile"),
                          (tempfile, "TemporaryFile"), (tempfile, "SpooledTemporaryFile"),
                          (tempfile, "TemporaryDirectory")]:
            mp.setattr(mod, name, refuse)
        app.upload_row.upload.value = _value(_good_csv(seed=1), "second.csv")
        ok, status = app.upload_row.ok, app.upload_row.status
        app.upload_row.upload.value = _value(b"a,b\n1,x\n", "bad.csv")
    assert ok, status
    assert app.model.uploaded_name == "second.csv"
    assert _listing() == before


def test_model_refuses_a_file_with_one_numeric_column():
    m = StepperModel(dataset="blobs", k=3)
    with pytest.raises(ValueError, match="the picture needs two"):
        m.use_upload(load_csv(b"a\n1\n2\n3\n"), "one.csv")
    assert m.dataset == "blobs" and m.uploaded is None


def test_upload_row_shows_a_refusal_from_its_callback():
    def refuse(frame, name):
        raise ValueError("not <this> one")

    row = UploadRow(refuse)
    row.upload.value = _value(b"x,y\n1,2\n3,4\n")
    assert row.ok is False and "not &lt;this&gt; one" in row.status


# ------------------------------------------------------------------ segments


@pytest.fixture(scope="module")
def segments():
    return SegmentsApp(k=3, figsize=(6, 4))


def test_segments_upload_clusters_the_file_and_downloads_it(segments):
    app = segments
    content = _good_csv(seed=2)
    app.upload_row.upload.value = _value(content, "shop.csv")
    assert app.upload_row.ok, app.upload_row.status
    m = app.model
    boxes = app.feature_boxes
    assert list(boxes) == ["id", "height", "weight"]
    assert [b.value for b in boxes.values()] == [False, True, True]
    assert m.features == ("height", "weight")
    # Profiles of the fit on the uploaded data (all numeric columns averaged, and the
    # text column with few categories counted, as the Mall's Gender is).
    df, report = load_csv(content, duplicates="keep", with_report=True)
    X = standardize(df[["height", "weight"]].to_numpy())[0]
    labels = KMeans(n_clusters=3, n_init=10, random_state=0).fit(X).labels_
    np.testing.assert_array_equal(m.labels, labels)
    pd.testing.assert_frame_equal(m.profiles, cluster_profiles(report.left_out.join(df), labels))
    assert "city: city0" in m.profiles.columns
    assert len(m.segments) == 3 and all(isinstance(n, str) and n for n in m.segments["name"])
    # The download holds every row of the file with its cluster.
    match = re.search(r'href="data:text/csv;base64,([A-Za-z0-9+/=]+)"', app.download_html)
    out = pd.read_csv(io.StringIO(base64.b64decode(match.group(1)).decode()), index_col="row")
    assert len(out) == 31 and out["cluster"].tolist() == (labels + 1).tolist()
    assert "31 rows, 3 clusters" in app.download_html
    # The checkboxes drive the model; the last one cannot be unticked.
    boxes["id"].value = True
    assert m.features == ("id", "height", "weight")
    boxes["id"].value = boxes["height"].value = False
    boxes["weight"].value = False
    assert m.features == ("weight",) and boxes["weight"].value
    assert "at least one column" in app.data_row.error


def test_segments_bad_upload_keeps_the_data(segments):
    app = segments
    before = (app.model.data, app.model.features, app.model.revision)
    app.upload_row.upload.value = _value(b"a,b\n1,2\n,4\n", "<b>bad.csv")
    assert app.upload_row.ok is False and "&lt;b&gt;bad.csv" in app.upload_row.status
    assert (app.model.data, app.model.features, app.model.revision) == before
    # Fewer distinct points than k: refused, everything as it was.
    app.upload_row.upload.value = _value(b"a,b\n1,2\n3,4\n", "two.csv")
    assert app.upload_row.ok is False and "lower k" in app.upload_row.status
    assert app.model.data is before[0] and app.model.features == before[1] and app.model.message == ""


def test_segments_escapes_html_column_names_in_the_table():
    app = SegmentsApp(k=2, figsize=(5, 3))
    evil = "<img src=x onerror=alert(1)>"
    app.upload_row.upload.value = _value(f"{evil},b\n1,2\n3,4\n9,9\n8,8\n".encode(), "t.csv")
    assert app.upload_row.ok, app.upload_row.status
    assert evil not in app.table_html and html.escape(evil) in app.table_html
    assert evil not in app.cards_html


def test_the_upload_button_reads_its_description_without_a_file_count():
    """ipywidgets draws "Your CSV (0)"; the row's style shows the description alone."""
    row = UploadRow(lambda *args: None, description="Upload a CSV </style>")
    assert "kt-upload" in row.upload._dom_classes
    style = row.children[1].value
    assert 'content: "Upload a CSV \\3c /style>"' in style
    assert style.count("</style>") == 1
