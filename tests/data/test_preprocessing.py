"""Standardizing and encoding features (kmeans_tutor.data.preprocessing)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from kmeans_tutor import NotFittedError
from kmeans_tutor.data import load_mall_customers
from kmeans_tutor.data.preprocessing import (
    CategoryEncoder,
    Standardizer,
    encode_categories,
    standardize,
)

NUMERIC = ["Age", "Annual Income (k$)", "Spending Score (1-100)"]


@pytest.fixture(scope="module")
def mall():
    return load_mall_customers()


def _inputs():
    rng = np.random.default_rng(7)
    return {
        "normal": rng.normal(size=(50, 3)),
        "offset": 1e6 + rng.normal(scale=1e-2, size=(40, 2)),     # large mean, small spread
        "integers": rng.integers(-5, 50, size=(30, 4)).astype(float),
        "one_feature": rng.uniform(size=(25, 1)),
        "two_rows": np.array([[1.0, 2.0], [3.0, -5.0]]),
        "wide_scales": rng.normal(size=(60, 3)) * [1e-3, 1.0, 1e4],
    }


@pytest.mark.parametrize("name", list(_inputs()))
def test_standardizer_matches_sklearn(name):
    X = _inputs()[name]
    ours, theirs = Standardizer().fit(X), StandardScaler().fit(X)
    np.testing.assert_allclose(ours.mean_, theirs.mean_, rtol=1e-13, atol=0)
    np.testing.assert_allclose(ours.scale_, theirs.scale_, rtol=1e-9)
    np.testing.assert_allclose(ours.var_, theirs.var_, rtol=1e-9)
    Z = ours.transform(X)
    np.testing.assert_allclose(Z, theirs.transform(X), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.inverse_transform(Z), X, rtol=1e-12, atol=0)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-6)  # "offset" loses ~8 digits to its mean
    np.testing.assert_allclose(Z.std(axis=0), 1, rtol=1e-6)
    assert ours.n_features_in_ == X.shape[1]


def test_standardizer_on_mall_matches_readme_and_sklearn(mall):
    Z, s = standardize(mall[NUMERIC])
    np.testing.assert_allclose(Z.iloc[0], [-1.42456879, -1.73899919, -0.43480148], atol=5e-9)
    X = mall[NUMERIC].to_numpy(dtype=float)
    np.testing.assert_allclose(Z.to_numpy(), StandardScaler().fit_transform(X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.mean_, [38.85, 60.56, 50.2])
    assert s.summary().loc["Age", "mean"] == pytest.approx(38.85)


def test_dataframe_in_dataframe_out(mall):
    df = mall[NUMERIC].iloc[::7]
    s = Standardizer().fit(df)
    assert list(s.feature_names_in_) == NUMERIC
    Z = s.transform(df)
    assert isinstance(Z, pd.DataFrame)
    pd.testing.assert_index_equal(Z.index, df.index)
    pd.testing.assert_index_equal(Z.columns, df.columns)
    back = s.inverse_transform(Z)
    assert isinstance(back, pd.DataFrame)
    np.testing.assert_allclose(back.to_numpy(), df.to_numpy(dtype=float), rtol=1e-12)


def test_array_and_list_in_array_out():
    s = Standardizer().fit([[0.0, 1.0], [2.0, 3.0]])
    assert not hasattr(s, "feature_names_in_")
    out = s.transform(np.array([[1.0, 2.0]]))
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [[0.0, 0.0]])
    np.testing.assert_array_equal(s.transform([[2.0, 3.0]]), [[1.0, 1.0]])


def test_refit_on_array_forgets_feature_names(mall):
    s = Standardizer().fit(mall[NUMERIC])
    s.fit(mall[NUMERIC].to_numpy())
    assert not hasattr(s, "feature_names_in_")


def test_input_is_not_modified():
    X = np.array([[1.0, 2.0], [3.0, 5.0]])
    before = X.copy()
    Z, s = standardize(X)
    s.inverse_transform(Z)
    np.testing.assert_array_equal(X, before)


def test_constant_column_is_named():
    df = pd.DataFrame({"Age": [42, 42, 42], "Income": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError) as info:
        Standardizer().fit(df)
    assert str(info.value).startswith("column 'Age' is constant (every value is 42); it cannot be scaled")
    assert "drop it" in str(info.value)


def test_constant_columns_in_arrays_are_named_by_position():
    X = np.array([[1.0, 5.0, 7.0], [2.0, 5.0, 7.0]])
    with pytest.raises(ValueError, match=r"column 1 is constant .*column 2 is constant .*drop them"):
        Standardizer().fit(X)


def test_rounding_noise_counts_as_constant():
    # scikit-learn also treats this column as constant (it leaves scale_ at 1).
    X = np.array([[0.1 + 0.2], [0.3], [0.3]])
    assert StandardScaler().fit(X).scale_[0] == 1.0
    with pytest.raises(ValueError, match="rounding noise"):
        Standardizer().fit(X)


def test_wrong_number_of_features_at_transform(mall):
    s = Standardizer().fit(mall[NUMERIC])
    with pytest.raises(ValueError, match=r"X has 2 features, but this Standardizer was fitted with 3 \('Age'"):
        s.transform(mall[NUMERIC[:2]])
    with pytest.raises(ValueError, match=r"Z has 1 feature, but"):
        s.inverse_transform(np.zeros((4, 1)))


def test_different_columns_at_transform(mall):
    s = Standardizer().fit(mall[NUMERIC])
    with pytest.raises(ValueError, match="different order"):
        s.transform(mall[NUMERIC[::-1]])
    renamed = mall[NUMERIC].rename(columns={"Age": "Years"})
    with pytest.raises(ValueError, match="fitted on"):
        s.transform(renamed)


def test_bad_inputs():
    with pytest.raises(NotFittedError, match="not fitted"):
        Standardizer().transform([[1.0]])
    with pytest.raises(ValueError, match="NaN"):
        Standardizer().fit([[1.0, np.nan], [2.0, 3.0]])
    with pytest.raises(TypeError, match="not numeric"):
        Standardizer().fit(pd.DataFrame({"g": ["a", "b"], "x": [1, 2]}))
    with pytest.raises(ValueError, match="at least 2"):
        Standardizer().fit([[1.0, 2.0]])


# ------------------------------------------------------------------------- categories


def test_mall_gender_mapping_in_order_of_appearance(mall):
    codes, mapping = encode_categories(mall["Gender"])
    assert mapping == {"Male": 0, "Female": 1}
    assert codes.dtype == np.int64
    assert codes.name == "Gender"
    pd.testing.assert_index_equal(codes.index, mall.index)
    assert np.bincount(codes).tolist() == [88, 112]
    enc = CategoryEncoder().fit(mall["Gender"])
    assert enc.describe() == "Gender: Male → 0, Female → 1"
    assert str(enc) == enc.describe()


def test_explicit_categories():
    codes, mapping = encode_categories(pd.Series(["b", "a", "c", "a"]), categories=["c", "b", "a"])
    assert mapping == {"c": 0, "b": 1, "a": 2}
    assert codes.tolist() == [1, 2, 0, 2]


def test_explicit_categories_may_include_unseen_ones():
    enc = CategoryEncoder(categories=["Male", "Female", "Other"]).fit(["Female", "Male"])
    assert enc.transform(["Other"]).tolist() == [2]


def test_unknown_category_at_transform_names_value_and_row():
    enc = CategoryEncoder().fit(pd.Series(["Male", "Female"], name="Gender"))
    s = pd.Series(["Female", "Other", "Male"], index=[10, 11, 12], name="Gender")
    with pytest.raises(ValueError, match=r"column 'Gender': unknown category 'Other' at row 11"):
        enc.transform(s)
    with pytest.raises(ValueError, match=r"did you mean 'Male'\?"):
        enc.transform(pd.Series(["male "]))


def test_unknown_category_with_explicit_categories_at_fit():
    with pytest.raises(ValueError, match=r"unknown category 'x' at row 1.*Known categories: 'a', 'b'"):
        encode_categories(["a", "x"], categories=["a", "b"])


@pytest.mark.parametrize("missing", [None, np.nan, "", "  ", pd.NA])
def test_missing_values_are_refused_with_their_row(missing):
    s = pd.Series(["Male", missing, "Female"], index=[5, 6, 7], name="Gender", dtype=object)
    with pytest.raises(ValueError, match=r"column 'Gender' has 1 missing value \(row 6\)"):
        encode_categories(s)


def test_bad_categories_and_inputs():
    with pytest.raises(ValueError, match="more than once"):
        CategoryEncoder(categories=["a", "b", "a"]).fit(["a"])
    with pytest.raises(ValueError, match="empty"):
        CategoryEncoder(categories=[]).fit(["a"])
    with pytest.raises(TypeError, match="categories must be a list"):
        CategoryEncoder(categories="ab").fit(["a"])
    with pytest.raises(TypeError, match="one column"):
        encode_categories(pd.DataFrame({"a": ["x"], "b": ["y"]}))
    with pytest.raises(TypeError, match="column of values"):
        encode_categories("Male")
    with pytest.raises(NotFittedError, match="not fitted"):
        CategoryEncoder().transform(["a"])


def test_inverse_transform_round_trip(mall):
    enc = CategoryEncoder()
    codes = enc.fit_transform(mall["Gender"])
    back = enc.inverse_transform(codes)
    assert back.tolist() == mall["Gender"].tolist()
    with pytest.raises(ValueError, match="code 2 at row 0"):
        enc.inverse_transform([2])


def test_standardize_values_near_the_float_limit():
    Z, s = standardize(np.array([[1e300], [-1e300], [0.0]]))
    np.testing.assert_allclose(Z.ravel(), [1.224744871391589, -1.224744871391589, 0.0])
    assert np.isfinite(s.scale_).all() and s.var_[0] == np.inf  # 6.7e599 does not fit a float
    np.testing.assert_allclose(s.inverse_transform(Z).ravel(), [1e300, -1e300, 0.0])
    Z2, _ = standardize(np.array([[1.5e308], [-1.5e308], [1.0]]))
    assert np.isfinite(Z2).all()


def test_scaling_matches_scikit_learn_to_the_last_bit_on_ordinary_data():
    rng = np.random.default_rng(5)
    X = rng.normal(loc=[0, 40, -3e4], scale=[1, 12, 5e3], size=(300, 3))
    np.testing.assert_array_equal(standardize(X)[0], StandardScaler().fit_transform(X))
