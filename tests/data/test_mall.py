"""The Mall Customers data: the loader, the file's variants, the feature matrix (kmeans_tutor.data.mall)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kmeans_tutor.data import DataError, load_mall_customers
from kmeans_tutor.data import mall as mall_module
from kmeans_tutor.data.mall import MALL_COLUMNS, mall_features

from .conftest import MALL_CSV, problem_at

NUMERIC = ["Age", "Annual Income (k$)", "Spending Score (1-100)"]
FIRST_ROW_Z = np.array([-1.42456879, -1.73899919, -0.43480148])


# ------------------------------------------------------------------------------ Mall


def test_mall_shape_index_and_columns(mall):
    assert mall.shape == (200, 4)
    assert list(mall.columns) == list(MALL_COLUMNS)
    assert mall.index.name == "CustomerID"
    assert mall.index.dtype == np.int64
    assert mall.index.tolist() == list(range(1, 201))  # "0001" read as 1


def test_mall_dtypes(mall):
    for col in NUMERIC:
        assert mall[col].dtype == np.int64, col
    assert pd.api.types.is_string_dtype(mall["Gender"])
    assert set(mall["Gender"]) == {"Male", "Female"}


def test_mall_gender_counts_and_first_rows(mall):
    assert mall["Gender"].value_counts().to_dict() == {"Female": 112, "Male": 88}
    assert mall.loc[1].tolist() == ["Male", 19, 15, 39]
    assert mall.loc[200].tolist() == ["Male", 30, 137, 83]


def test_mall_first_row_z_scores_match_readme_and_sklearn(mall):
    from sklearn.preprocessing import StandardScaler

    X = mall[NUMERIC].to_numpy(dtype=float)
    z = (X - X.mean(axis=0)) / X.std(axis=0, ddof=0)
    np.testing.assert_allclose(z[0], FIRST_ROW_Z, atol=5e-9)
    np.testing.assert_allclose(z, StandardScaler().fit_transform(X), rtol=0, atol=1e-12)


def _write_variant(tmp_path, old="Genre", new="Gender", name="mall.csv"):
    text = MALL_CSV.read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    path = tmp_path / name
    path.write_text(header.replace(old, new) + "\n" + rest, encoding="utf-8")
    return path


@pytest.mark.parametrize("gender_name", ["Genre", "Gender"])
def test_mall_genre_and_gender_variants_load_the_same(tmp_path, mall, gender_name):
    path = _write_variant(tmp_path, "Genre", gender_name)
    df = load_mall_customers(path)
    assert list(df.columns) == list(MALL_COLUMNS)
    pd.testing.assert_frame_equal(df, mall)


def test_mall_crlf_and_bom_copy_loads(tmp_path, mall):
    path = tmp_path / "windows.csv"
    path.write_bytes(b"\xef\xbb\xbf" + MALL_CSV.read_bytes().replace(b"\n", b"\r\n"))
    pd.testing.assert_frame_equal(load_mall_customers(path), mall)


def test_mall_missing_column_is_named(tmp_path):
    path = _write_variant(tmp_path, "Age", "Years")
    with pytest.raises(DataError, match=r"missing column 'Age'") as info:
        load_mall_customers(path)
    assert "'Years'" in str(info.value)  # the columns found are listed


def test_mall_both_gender_columns_is_an_error(tmp_path):
    path = tmp_path / "both.csv"
    path.write_text("CustomerID,Genre,Gender,Age,Annual Income (k$),Spending Score (1-100)\n"
                    "1,Male,Male,19,15,39\n2,Male,Male,21,15,81\n")
    with pytest.raises(DataError, match="both a 'Gender' and a 'Genre'"):
        load_mall_customers(path)


def test_mall_bad_cells_are_reported_by_row_and_column(tmp_path):
    lines = MALL_CSV.read_text().splitlines()
    lines[3] = lines[3].replace(",20,", ",twenty,")   # data row 3, file line 4
    lines[5] = "0005,Female,31,,40"                      # data row 5, missing income
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as info:
        load_mall_customers(path)
    err = info.value
    assert problem_at(err, row=3, line=4, column="Age")["value"] == "twenty"
    assert problem_at(err, row=5, line=6, column="Annual Income (k$)") is not None
    assert "row 3 (line 4), column 'Age': 'twenty' is not a number" in str(err)


def test_mall_repeated_customer_id(tmp_path):
    lines = MALL_CSV.read_text().splitlines()
    lines[2] = lines[2].replace("0002", "0001")
    path = tmp_path / "dup.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="CustomerID") as info:
        load_mall_customers(path)
    assert problem_at(info.value, row=2, column="CustomerID") is not None


def test_mall_file_not_found(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_mall_customers(tmp_path / "nope.csv")
    # Neither the package's _data folder nor the checkout's data/ has the file.
    monkeypatch.setattr(mall_module, "MALL_FILE", "no_such_file.csv")
    with pytest.raises(FileNotFoundError, match="package") as info:
        load_mall_customers()
    assert "checkout" in str(info.value)


def test_mall_is_found_in_the_checkout_data_folder():
    raw, where = mall_module._mall_file()
    assert raw == MALL_CSV.read_bytes()
    assert Path(where).name == "mall_customers.csv"


# ------------------------------------------------------------------------ Mall helper


def test_mall_features_encode_and_drop(mall):
    X = mall_features(mall)
    assert list(X.columns) == ["Gender", *NUMERIC]
    assert (X.dtypes == np.float64).all()
    pd.testing.assert_index_equal(X.index, mall.index)
    assert X["Gender"].value_counts().to_dict() == {1.0: 112, 0.0: 88}
    assert X.loc[1].tolist() == [0.0, 19.0, 15.0, 39.0]
    assert list(mall_features(mall, gender="drop").columns) == NUMERIC


def test_mall_features_codes_do_not_depend_on_row_order(mall):
    # The first customer of this subset is Female, but Male stays 0.
    X = mall_features(mall.iloc[2:10])
    assert mall.iloc[2]["Gender"] == "Female" and X["Gender"].iloc[0] == 1.0


def test_mall_features_columns_and_errors(mall):
    X = mall_features(mall, columns=["Annual Income (k$)", "Spending Score (1-100)"])
    assert X.shape == (200, 2)
    with pytest.raises(ValueError, match="Unknown Mall column 'Income'"):
        mall_features(mall, columns=["Income"])
    with pytest.raises(ValueError, match="gender='drop'"):
        mall_features(mall, columns=["Gender", "Age"], gender="drop")
    with pytest.raises(ValueError, match="gender"):
        mall_features(mall, gender="onehot")
    with pytest.raises(ValueError, match="df has no column 'Age'"):
        mall_features(mall.drop(columns="Age"))
