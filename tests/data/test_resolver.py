"""One answer to "which data?" (kmeans_tutor.data.resolver), used by every app and the CLI."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kmeans_tutor import load_dataset, load_mall_customers, standardize
from kmeans_tutor.data import load_csv, looks_like_id, resolve_data
from kmeans_tutor.data.mall import DEFAULT_FEATURES, MALL_FEATURES

ROOT = Path(__file__).resolve().parents[2]


def test_mall_default_is_income_and_score_in_z_scores():
    data = resolve_data("mall")
    customers = load_mall_customers()
    expected, _ = standardize(customers[list(DEFAULT_FEATURES)].to_numpy(dtype=float))
    np.testing.assert_array_equal(data.X, expected)
    np.testing.assert_array_equal(data.raw, customers[list(DEFAULT_FEATURES)].to_numpy(dtype=float))
    assert data.feature_names == DEFAULT_FEATURES and data.scaled and data.units == "z-scores"
    assert data.axis_labels == ("Annual Income (z-score)", "Spending Score (z-score)")
    assert "Gender" in data.frame.columns and len(data.frame) == 200  # profiles see every column
    assert data.X.flags.writeable is False


def test_mall_raw_columns_keep_their_units_in_the_labels():
    data = resolve_data("Mall", ["Age", "Annual Income (k$)"], scaled=False)
    assert data.units == "raw units" and not data.scaled
    assert data.axis_labels == ("Age", "Annual Income (k$)")
    np.testing.assert_array_equal(data.X, load_mall_customers()[["Age", "Annual Income (k$)"]])
    assert resolve_data("mall", list(MALL_FEATURES)).X.shape == (200, 3)


def test_synthetic_sets_are_never_rescaled_and_ignore_the_seed():
    data = resolve_data("Pimpled smiley", scaled=True)
    np.testing.assert_array_equal(data.X, load_dataset("pimpled_smiley", random_state=0).X)
    assert data.units == "" and data.feature_names == ("x", "y") and data.suggested_k == 7
    assert resolve_data("blobs", n_samples=50).X.shape == (50, 2)


def test_uploaded_frame_and_csv_path_give_the_same_numbers(tmp_path):
    text = "id,city,height,weight\n1,Oslo,150,50\n2,Rome,160,55\n3,Oslo,170,80\n4,Rome,180,85\n"
    path = tmp_path / "people.csv"
    path.write_text(text)
    numbers, report = load_csv(text.encode(), duplicates="keep", with_report=True)
    upload = resolve_data("upload", frame=numbers.join(report.left_out), name="people.csv")
    from_path = resolve_data(path)
    for data in (upload, from_path):
        assert data.feature_names == ("height", "weight")  # the identifier is passed over
        assert list(data.frame.columns) == ["city", "id", "height", "weight"]
    np.testing.assert_array_equal(upload.X, from_path.X)
    assert from_path.as_read["id"].tolist() == ["1", "2", "3", "4"]  # the file's own text
    assert upload.title == "people.csv" and from_path.title == "people.csv"


def test_text_columns_with_many_values_are_not_profiled():
    frame = pd.DataFrame({"name": [f"n{i}" for i in range(30)], "a": np.arange(30.0),
                          "b": np.arange(30.0) % 7})
    data = resolve_data("upload", frame=frame)
    assert list(data.frame.columns) == ["a", "b"]


@pytest.mark.parametrize("source, kwargs, message", [
    ("nope", {}, "neither a data set"),
    ("mall", dict(features=["Gender"]), "Unknown Mall column 'Gender'"),
    ("mall", dict(features=[]), "at least one column"),
    ("mall", dict(features=["Age", "Age"]), "chosen once"),
    ("upload", {}, "No CSV file is loaded yet"),
    ("upload", dict(frame=pd.DataFrame({"t": ["a", "b"]})), "no numeric column"),
    ("rings", dict(features=["z"]), "Unknown column of this data set 'z'"),
])
def test_bad_choices_are_named(source, kwargs, message):
    with pytest.raises(ValueError, match=message):
        resolve_data(source, **kwargs)


def test_id_rule():
    assert [looks_like_id(c) for c in ["id", "ID", "CustomerID", "customer_id", "Customer ID", "row"]] \
        == [True] * 6
    assert not any(looks_like_id(c) for c in ["Age", "Idaho", "width", "valid", "paid"])
