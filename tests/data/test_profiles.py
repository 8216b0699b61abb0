"""Cluster profiles and segment names: numbers against pandas, names against renumbering."""

import numpy as np
import pandas as pd
import pytest

from kmeans_tutor import KMeans
from kmeans_tutor.data import load_mall_customers
from kmeans_tutor.data.profiles import (PERSONAS, cluster_profiles, describe_segments, learner_labels,
                                        number_clusters)

INCOME, SCORE = "Annual Income (k$)", "Spending Score (1-100)"
NUMERIC = ["Age", INCOME, SCORE]


@pytest.fixture(scope="module")
def df():
    return load_mall_customers()


@pytest.fixture(scope="module")
def labels5(df):
    """The classic clustering: income and score, k = 5."""
    return KMeans(5, n_init=10, random_state=0).fit(df[[INCOME, SCORE]]).labels_


def _relabel(labels, rng):
    """labels renamed by a random permutation of the cluster ids."""
    ids = np.unique(labels)
    perm = rng.permutation(len(ids))
    mapping = dict(zip(ids.tolist(), ids[perm].tolist()))
    return np.array([mapping[v] for v in labels.tolist()]), mapping


# ----------------------------------------------------------------------------- profiles


def test_profiles_match_pandas_groupby(df, labels5):
    p = cluster_profiles(df, labels5)
    expected = df.assign(cluster=labels5).groupby("cluster")
    assert p.index.name == "cluster"
    assert p.index.tolist() == [0, 1, 2, 3, 4]
    assert p["size"].tolist() == expected.size().tolist()
    assert p["size"].sum() == len(df)
    np.testing.assert_allclose(p["share"], expected.size() / len(df))
    assert p["share"].sum() == pytest.approx(1.0)
    for col in NUMERIC:
        np.testing.assert_allclose(p[col], expected[col].mean(), rtol=1e-12)
    assert list(p.columns) == ["size", "share", *NUMERIC, "Gender: Female", "Gender: Male"]


def test_gender_mix(df, labels5):
    p = cluster_profiles(df, labels5)
    female = (df["Gender"] == "Female").groupby(labels5).mean()
    np.testing.assert_allclose(p["Gender: Female"], female)
    np.testing.assert_allclose(p["Gender: Female"] + p["Gender: Male"], 1.0)
    # Back to counts: 112 women and 88 men in all.
    assert (p["Gender: Female"] * p["size"]).sum() == pytest.approx(112)
    assert (p["Gender: Male"] * p["size"]).sum() == pytest.approx(88)


def test_profiles_of_chosen_features_and_arbitrary_ids(df, labels5):
    ids = np.array([7, -3, 10, 2, 5])[labels5]
    p = cluster_profiles(df, ids, features=[SCORE, "Gender"])
    assert p.index.tolist() == [-3, 2, 5, 7, 10]
    assert list(p.columns) == ["size", "share", SCORE, "Gender: Female", "Gender: Male"]
    assert p.loc[7, SCORE] == pytest.approx(df[SCORE][labels5 == 0].mean())


def test_categorical_column_keeps_declared_order_and_empty_categories():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0],
                       "colour": pd.Categorical(["red", "red", "blue", "red"],
                                                categories=["red", "green", "blue"])})
    p = cluster_profiles(df, [0, 0, 1, 1])
    assert list(p.columns) == ["size", "share", "x", "colour: red", "colour: green", "colour: blue"]
    assert p["colour: green"].tolist() == [0.0, 0.0]
    assert p.loc[1, "colour: blue"] == 0.5


def test_labels_series_is_aligned_on_index(df, labels5):
    s = pd.Series(labels5, index=df.index).sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(cluster_profiles(df, s), cluster_profiles(df, labels5))


@pytest.mark.parametrize("labels, error, match", [
    (np.zeros(199, dtype=int), ValueError, r"199 entries but df has 200 rows"),
    (np.zeros((200, 1), dtype=int), ValueError, r"1-D"),
    (np.full(200, 0.5), ValueError, r"whole numbers; labels\[0\] is 0.5"),
    (np.array(["a"] * 200), TypeError, r"integers"),
    (3, TypeError, r"1-D array"),
    (None, TypeError, r"1-D array"),
])
def test_bad_labels(df, labels, error, match):
    with pytest.raises(error, match=match):
        cluster_profiles(df, labels)


def test_bad_frames_and_features(df, labels5):
    with pytest.raises(TypeError, match="DataFrame"):
        cluster_profiles([[1, 2]], [0])
    with pytest.raises(ValueError, match="empty"):
        cluster_profiles(df.iloc[:0], [])
    with pytest.raises(ValueError, match=r"no column 'Weight'"):
        cluster_profiles(df, labels5, features=["Age", "Weight"])
    with pytest.raises(ValueError, match="more than once"):
        cluster_profiles(df, labels5, features=["Age", "Age"])
    bad = df.copy()
    bad.iloc[3, bad.columns.get_loc("Age")] = np.nan
    with pytest.raises(ValueError, match=r"'Age' has a missing value at row 4"):
        cluster_profiles(bad, labels5)
    with pytest.raises(ValueError, match="rename it"):
        cluster_profiles(df.rename(columns={"Age": "size"}), labels5)


# ----------------------------------------------------------------------------- segments


def test_classic_five_segments(df, labels5):
    """Income × score, k = 5: the five textbook personas, one each."""
    seg = describe_segments(cluster_profiles(df, labels5), overall=df)
    p = cluster_profiles(df, labels5)
    by_persona = {}
    for c in seg.index:
        by_persona[seg.at[c, "persona"]] = (p.at[c, INCOME], p.at[c, SCORE], seg.at[c, "name"])
    assert set(by_persona) == {"Affluent target customers", "Careful spenders", "Impulsive buyers",
                               "Budget-conscious", "Middle-income regulars"}
    income, score = df[INCOME].mean(), df[SCORE].mean()
    inc, sc, name = by_persona["Affluent target customers"]
    assert inc > income and sc > score and name == "High income · high spending"
    inc, sc, name = by_persona["Careful spenders"]
    assert inc > income and sc < score and name == "High income · low spending"
    inc, sc, name = by_persona["Impulsive buyers"]
    assert inc < income and sc > score and name == "Low income · high spending"
    inc, sc, name = by_persona["Budget-conscious"]
    assert inc < income and sc < score and name == "Low income · low spending"
    assert by_persona["Middle-income regulars"][2] == "Average income · average spending"
    for c in seg.index:
        assert 2 <= len(seg.at[c, "recommendations"]) <= 3
        assert seg.at[c, "description"].endswith(".")
    np.testing.assert_array_equal(seg["size"], p["size"])


def _names_by_customer(df, labels, **kwargs):
    """Each customer's segment name (a Series indexed like df)."""
    seg = describe_segments(cluster_profiles(df, labels, **kwargs), overall=df)
    return pd.Series(seg["name"].reindex(labels).to_numpy(), index=df.index)


@pytest.mark.parametrize("features, k", [
    ([INCOME, SCORE], 5), ([INCOME, SCORE], 8), (["Age", SCORE], 4), (NUMERIC, 6), (NUMERIC, 10),
])
def test_names_do_not_depend_on_cluster_numbering(df, features, k):
    labels = KMeans(k, n_init=3, random_state=1).fit(df[features]).labels_
    base = _names_by_customer(df, labels)
    rng = np.random.default_rng(k)
    for _ in range(4):
        relabelled, mapping = _relabel(labels, rng)
        pd.testing.assert_series_equal(_names_by_customer(df, relabelled), base)
        # Rows follow the new numbering: same row content, permuted.
        a = describe_segments(cluster_profiles(df, labels), overall=df)
        b = describe_segments(cluster_profiles(df, relabelled), overall=df)
        for old, new in mapping.items():
            assert a.loc[old].drop("summary").equals(b.loc[new].drop("summary"))


@pytest.mark.parametrize("k", range(2, 11))
@pytest.mark.parametrize("features", [[INCOME, SCORE], ["Age", SCORE], NUMERIC])
def test_names_are_unique_for_every_k(df, features, k):
    labels = KMeans(k, n_init=2, random_state=0).fit(df[features]).labels_
    seg = describe_segments(cluster_profiles(df, labels), overall=df)
    assert seg["name"].is_unique
    assert len(seg) == k
    assert set(seg["persona"]) <= {title for title, _, _ in PERSONAS.values()}


def test_duplicate_names_are_split_by_an_unused_feature_or_a_rank():
    # Two "high x" clusters that differ in y only by a little: ranked on y.
    df = pd.DataFrame({"x": [0, 0, 10, 10, 10, 10], "y": [-10, 10, 0.3, 0.3, 0.0, 0.0]})
    seg = describe_segments(cluster_profiles(df, [0, 0, 1, 1, 2, 2]), overall=df)
    assert seg["name"].is_unique
    assert seg.at[1, "name"] == "High x · average y (higher y)"
    assert seg.at[2, "name"] == "High x · average y (lower y)"
    # A third feature that tells them apart is added to the name instead.
    df["z"] = [-5, 5, 2, 2, -2, -2]  # |z| of ±0.55 < 0.65 of x: x stays first
    seg = describe_segments(cluster_profiles(df, [0, 0, 1, 1, 2, 2]), overall=df, max_parts=1)
    assert seg.at[1, "name"] == "High x · high z"
    assert seg.at[2, "name"] == "High x · low z"


def test_generic_features_and_threshold():
    df = pd.DataFrame({"Petal length (cm)": [1.0, 1.2, 5.0, 5.5, 3.0, 3.1],
                       "Petal width (cm)": [0.2, 0.3, 2.0, 2.2, 1.0, 1.1]})
    seg = describe_segments(cluster_profiles(df, [0, 0, 1, 1, 2, 2]), overall=df)
    assert seg.at[0, "name"] == "Low Petal length · low Petal width"
    assert seg.at[1, "name"] == "High Petal length · high Petal width"
    assert seg.at[0, "persona"] == "Segment: Low Petal length · low Petal width"
    z = seg.at[1, "z: Petal length (cm)"]
    col = df["Petal length (cm)"]
    assert z == pytest.approx((5.25 - col.mean()) / col.std())
    # A huge threshold makes every cluster average; names stay unique.
    seg = describe_segments(cluster_profiles(df, [0, 0, 1, 1, 2, 2]), overall=df, threshold=10)
    assert seg["name"].is_unique
    assert all(n.startswith("Average Petal length · average Petal width") for n in seg["name"])


def test_overall_from_raw_data_or_describe(df, labels5):
    p = cluster_profiles(df, labels5)
    base = describe_segments(p, overall=df)
    pd.testing.assert_frame_equal(describe_segments(p, overall=df.describe()), base)
    # The profile table carries no hidden state: a copy gives the same answer.
    pd.testing.assert_frame_equal(describe_segments(pd.DataFrame(p.to_dict()), overall=df), base)
    # Without the customers: falls back to the spread of the cluster means, with a warning.
    with pytest.warns(UserWarning, match="no overall=... given"):
        seg = describe_segments(p)
    assert seg["name"].is_unique


def test_describe_segments_bad_input(df, labels5):
    p = cluster_profiles(df, labels5)
    with pytest.raises(TypeError, match="cluster_profiles"):
        describe_segments(df.to_numpy())
    with pytest.raises(ValueError, match="'size'"):
        describe_segments(df)
    with pytest.raises(ValueError, match="threshold"):
        describe_segments(p, threshold=0)
    with pytest.raises(ValueError, match="max_parts"):
        describe_segments(p, max_parts=0)
    with pytest.raises(ValueError, match="overall has no column"):
        describe_segments(p, overall=df[["Age"]])
    with pytest.raises(ValueError, match="no numeric feature"):
        describe_segments(cluster_profiles(df, labels5, features=["Gender"]), overall=df)


@pytest.mark.parametrize("seed", range(6))
def test_names_are_unique_and_stable_on_random_data(seed):
    """Generic features, 1 to 4 of them, k up to 10: unique names, renumbering-proof."""
    rng = np.random.default_rng(seed)
    d, k = int(rng.integers(1, 5)), int(rng.integers(2, 11))
    X = pd.DataFrame(rng.normal(size=(120, d)) * rng.uniform(0.5, 20, size=d),
                     columns=[f"f{j}" for j in range(d)])
    labels = KMeans(k, n_init=1, random_state=seed).fit(X).labels_
    base = _names_by_customer(X, labels)
    assert describe_segments(cluster_profiles(X, labels), overall=X)["name"].is_unique
    for _ in range(3):
        relabelled, _ = _relabel(labels, rng)
        pd.testing.assert_series_equal(_names_by_customer(X, relabelled), base)


def test_profile_columns_tell_shares_from_features_by_the_numbers():
    from kmeans_tutor.data.profiles import profile_columns

    df = pd.DataFrame({"Gender": ["F", "M", "F", "M"], "Score: total": [1.0, 5.0, 9.0, 3.0]})
    p = cluster_profiles(df, [0, 0, 1, 1])
    # "Score: total" looks like a share column by its name, but its values are no shares.
    assert profile_columns(p) == (["Score: total"], {"Gender": ["Gender: F", "Gender: M"]})
    assert p.attrs == {}  # nothing hidden in the table


# ----------------------------------------------------------------------------- numbering


def test_number_clusters_shows_tables_numbered_from_one(df, labels5):
    p = cluster_profiles(df, labels5)
    seg = describe_segments(p, overall=df)
    assert p.index.tolist() == [0, 1, 2, 3, 4]  # the data stay 0-based, like labels_
    for table in (p, seg):
        shown = number_clusters(table)
        assert shown.index.tolist() == [1, 2, 3, 4, 5] and shown.index.name == "cluster"
        pd.testing.assert_frame_equal(shown.reset_index(drop=True), table.reset_index(drop=True))
    assert p.index.tolist() == [0, 1, 2, 3, 4]  # not changed in place
    # Cluster n of a shown table is the customers with labels_ == n − 1.
    shown = number_clusters(p)
    assert shown.loc[1, "size"] == int((labels5 == 0).sum())
    # Ids that are not 0 … k − 1 (e.g. −1 for noise) are left as they are.
    odd = cluster_profiles(df, np.where(labels5 == 0, -1, labels5))
    assert number_clusters(odd).index.tolist() == odd.index.tolist()
    with pytest.raises(TypeError, match="DataFrame"):
        number_clusters(labels5)


def test_learner_labels_are_one_based(labels5):
    assert learner_labels(labels5).tolist() == (labels5 + 1).tolist()
    assert sorted(set(learner_labels(labels5))) == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="0 … k − 1"):
        learner_labels(np.array([-1, 0, 1]))
    with pytest.raises(TypeError):
        learner_labels(np.array([0.5, 1.0]))


# ----------------------------------------------------------------------------- without pandas

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def _clean_columns(draw):
    """Columns with no missing value (ints, floats, text categories) and labels for them."""
    n = draw(st.integers(1, 40))
    k = draw(st.integers(1, min(n, 6)))
    labels = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    columns = {}
    for j in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            columns[f"Income {j}"] = np.array(draw(st.lists(st.integers(-10**6, 10**6), min_size=n, max_size=n)))
        else:
            columns[f"x{j} (cm)"] = np.array(draw(st.lists(
                st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False), min_size=n, max_size=n)))
    if draw(st.booleans()):
        columns["Gender"] = np.array(draw(st.lists(st.sampled_from(["Male", "Female", "Other"]),
                                                   min_size=n, max_size=n)), dtype=object)
    return columns, labels


@settings(max_examples=150, deadline=None)
@given(_clean_columns(), st.sampled_from([0.25, 0.5, 1.0]), st.integers(1, 3))
def test_profile_tables_are_the_dataframe_functions_without_pandas(case, threshold, max_parts):
    from kmeans_tutor.data.profiles import profile_tables

    columns, labels = case
    df = pd.DataFrame(columns)
    profiles, segments = profile_tables(columns, labels, threshold=threshold, max_parts=max_parts)
    expected = cluster_profiles(df, labels)
    pd.testing.assert_frame_equal(profiles.to_frame(), expected, check_exact=True)
    pd.testing.assert_frame_equal(
        segments.to_frame(),
        describe_segments(expected, overall=df, threshold=threshold, max_parts=max_parts),
        check_exact=True)


def test_a_cluster_table_reads_like_the_parts_of_a_dataframe_the_views_use():
    from kmeans_tutor.data.profiles import ClusterTable

    t = ClusterTable([0, 2], {"size": np.array([3, 1]), "Age (y)": np.array([20.5, 61.0]),
                              "name": ["Young", "Older"]})
    assert t.columns == ["size", "Age (y)", "name"] and t.shape == (2, 3) and len(t) == 2
    assert "name" in t and "persona" not in t
    assert t.index.tolist() == [0, 2] and t["name"] == ["Young", "Older"]
    renamed = t.rename(columns=str.upper)
    assert renamed.columns == ["SIZE", "AGE (Y)", "NAME"] and t.columns[0] == "size"
    assert t.rename(columns={"Age (y)": "Age"}).columns == ["size", "Age", "name"]
    frame = t.to_frame()
    assert frame.index.name == "cluster" and frame.loc[2, "name"] == "Older"
    assert frame["size"].dtype == np.int64
    with pytest.raises(ValueError, match="one value per cluster"):
        ClusterTable([0, 1], {"size": np.array([1, 2, 3])})


@pytest.mark.parametrize("columns, labels, match", [
    ({"Gender": np.array(["F", "M"], dtype=object)}, [0, 1], "numeric column"),
    ({"Age": np.array([20, 30])}, [], "non-empty"),
    ({"Age": np.array([20, 30])}, [0.0, 1.0], "integer cluster ids"),
    ({"Age": np.array([20, 30, 40])}, [0, 1], "'Age' has 3 values for 2 labels"),
])
def test_profile_tables_name_what_is_wrong(columns, labels, match):
    from kmeans_tutor.data.profiles import profile_tables

    with pytest.raises(ValueError, match=match):
        profile_tables(columns, labels)
