"""From clusters to customers: profile tables, segment names and personas.

A clustering gives every customer a number; a marketing team wants to hear
"affluent target customers" or "careful spenders". Two steps get there:

1. :func:`cluster_profiles` summarises each cluster: how many customers, the
   mean of every numeric column, and the mix of every category (e.g. the
   share of women and men).
2. :func:`describe_segments` compares each cluster with the average customer
   and names it from what stands out ("High income · low spending"), then
   attaches a persona and a few recommendations in the spirit of the classic
   Mall Customers analysis.

Names come only from the clusters' numbers, never from their ids, so the
arbitrary numbering K-means hands out does not change them.

Numbering: both tables are indexed by the cluster ids of ``labels``, 0-based
like scikit-learn's ``labels_`` (the views use them to pick each cluster's
colour). Learners read clusters numbered 1 … k everywhere — in plots, cards,
tables and downloads — so a table shown to a learner goes through
:func:`number_clusters` first.

pandas is imported inside the functions that use it, not at the top: a
lesson kernel that never builds a table is spared it (0.2 s of CPU and 32 MB).
"""

from __future__ import annotations

import numbers
import re
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["cluster_profiles", "profile_columns", "describe_segments", "number_clusters",
           "learner_labels", "profile_tables", "ClusterTable", "PERSONAS"]

_RESERVED = ("size", "share")


class ClusterTable:
    """One row per cluster, one numpy array (or list) per column: a profile or segment
    table made without pandas.

    :func:`cluster_profiles` and :func:`describe_segments` compute one and hand it over
    as a DataFrame (:meth:`to_frame`); :func:`profile_tables` hands it over as it is, so
    that an app showing the bundled data never loads pandas. It offers the few things of
    a DataFrame that the profile views read: ``columns``, ``index`` (the cluster ids),
    ``table[column]`` (one value per cluster, in index order), ``len(table)`` (clusters),
    ``shape``, ``column in table`` and ``rename(columns=...)``.

    >>> t = ClusterTable([0, 1], {"size": np.array([3, 1]), "name": ["Young", "Older"]})
    >>> t.columns, len(t), t["size"].tolist()
    (['size', 'name'], 2, [3, 1])
    """

    def __init__(self, index, columns: Mapping):
        self.index = np.asarray(index)
        self._columns = dict(columns)
        if any(len(values) != len(self.index) for values in self._columns.values()):
            raise ValueError("every column of a ClusterTable needs one value per cluster.")

    @property
    def columns(self) -> list:
        return list(self._columns)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.index), len(self._columns)

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, column) -> bool:
        return column in self._columns

    def __getitem__(self, column):
        return self._columns[column]

    def rename(self, columns) -> ClusterTable:
        """A copy with renamed columns: ``columns`` maps old names to new, or is a function."""
        rename = columns if callable(columns) else (lambda c: columns.get(c, c))
        return ClusterTable(self.index, {rename(c): v for c, v in self._columns.items()})

    def to_frame(self, index=None) -> pd.DataFrame:
        """The table as a DataFrame, indexed by ``index`` (default: the ids, named "cluster")."""
        import pandas as pd

        if index is None:
            index = pd.Index(self.index, name="cluster")
        return pd.DataFrame({c: list(v) if isinstance(v, list) else v for c, v in self._columns.items()},
                            index=index)


# ----------------------------------------------------------------------------- checks


def _show(value) -> str:
    """repr of a value without numpy's type wrapper."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _check_frame(df) -> pd.DataFrame:
    """df as a DataFrame with at least one row and one column."""
    import pandas as pd

    if isinstance(df, pd.Series):
        df = df.to_frame()
    elif isinstance(df, np.ndarray):
        if df.ndim != 2:
            raise ValueError(f"df must be 2-D (rows × columns); got an array of shape {df.shape}.")
        df = pd.DataFrame(df, columns=[f"x{j}" for j in range(df.shape[1])])
    elif not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame (e.g. load_mall_customers()), "
                        f"got {type(df).__name__}.")
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise ValueError(f"df is empty (shape {df.shape}); it needs at least one row and one column.")
    if not df.columns.is_unique:
        dup = df.columns[df.columns.duplicated()][0]
        raise ValueError(f"df has more than one column named {dup!r}; give columns distinct names.")
    return df


def _check_labels(labels, df: pd.DataFrame) -> np.ndarray:
    """labels as an int64 array with one entry per row of df.

    A pandas Series indexed like df (in any order) is aligned on the index;
    anything else is read by position.
    """
    import pandas as pd

    if labels is None or isinstance(labels, (str, bytes, numbers.Number)):
        raise TypeError(f"labels must be a 1-D array of cluster labels (one per row of df), "
                        f"got {type(labels).__name__}.")
    if isinstance(labels, pd.Series) and not labels.index.equals(df.index):
        if (len(labels) == len(df) and labels.index.is_unique and df.index.is_unique
                and set(labels.index) == set(df.index)):
            labels = labels.reindex(df.index)  # same customers, another order
        elif len(labels) == len(df):
            labels = labels.to_numpy()  # e.g. a default RangeIndex: read by position
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"labels must be 1-D (one cluster label per row of df); got shape {arr.shape}.")
    if arr.shape[0] != len(df):
        raise ValueError(f"labels has {arr.shape[0]} entries but df has {len(df)} rows; "
                         f"give one label per row (e.g. KMeans(...).fit(X).labels_ for the same rows).")
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "O":
        for i, v in enumerate(arr):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
                raise TypeError(f"labels must be integers; labels[{i}] is {_show(v)}.")
        arr = arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(f"labels must be integers, got dtype {arr.dtype}.")
    bad = np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))
    if bad.size:
        i = int(bad[0])
        what = "NaN" if np.isnan(arr[i]) else _show(arr[i])
        raise ValueError(f"labels must be whole numbers; labels[{i}] is {what}.")
    return arr.astype(np.int64)


def _check_features(features, df: pd.DataFrame) -> list:
    """The columns to profile, in order (default: all of df's)."""
    if features is None:
        return list(df.columns)
    if isinstance(features, (str, bytes)) or not hasattr(features, "__iter__"):
        features = [features]
    features = list(features)
    if not features:
        raise ValueError("features is empty; name at least one column, or pass None for all.")
    unknown = [f for f in features if f not in df.columns]
    if unknown:
        raise ValueError(f"df has no column{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(map(repr, unknown))}; its columns are "
                         f"{', '.join(map(repr, df.columns))}.")
    seen = set()
    for f in features:
        if f in seen:
            raise ValueError(f"features lists {f!r} more than once.")
        seen.add(f)
    return features


def _is_numeric(s: pd.Series | np.ndarray | list) -> bool:
    """True for real-number columns (bool counts as a category, not a number)."""
    if isinstance(s, list):  # a ClusterTable's column of text (or tuples)
        return False
    if isinstance(s, np.ndarray):  # a ClusterTable's column of numbers
        return s.dtype.kind in "iuf"
    import pandas as pd

    return (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
            and not pd.api.types.is_complex_dtype(s.dtype))


def _categories(s: pd.Series) -> list:
    """Categories of a column: the declared order of a Categorical, else sorted."""
    import pandas as pd

    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.categories)
    values = pd.unique(s.to_numpy())
    try:
        return sorted(values)
    except TypeError:  # mixed types: order by text
        return sorted(values, key=str)


# ----------------------------------------------------------------------------- profiles


def _split_features(df: pd.DataFrame, features: list) -> tuple[list, list]:
    """The features to average (numbers) and to count (categories), each checked."""
    import pandas as pd

    clash = [f for f in features if f in _RESERVED]
    if clash:
        raise ValueError(f"A feature is named {clash[0]!r}, which the profile uses for its own "
                         f"column; rename it first (df.rename(columns=...)).")
    numeric, categorical = [], []
    for f in features:
        s = df[f]
        if pd.api.types.is_datetime64_any_dtype(s.dtype) or pd.api.types.is_timedelta64_dtype(s.dtype):
            raise TypeError(f"Column {f!r} holds dates or durations ({s.dtype}); convert it to a "
                            f"number (e.g. days) or a category first.")
        if pd.api.types.is_complex_dtype(s.dtype):
            raise TypeError(f"Column {f!r} holds complex numbers; profiles need real numbers.")
        missing = s.isna().to_numpy()
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise ValueError(f"Column {f!r} has a missing value at row {_show(df.index[i])} "
                             f"({int(missing.sum())} in all); fill or drop missing values first.")
        if not _is_numeric(s):
            categorical.append(f)
            continue
        values = s.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            i = int(np.flatnonzero(~np.isfinite(values))[0])
            raise ValueError(f"Column {f!r} has an infinite value at row {_show(df.index[i])}.")
        numeric.append(f)
    return numeric, categorical


def cluster_profiles(df, labels, *, features=None) -> pd.DataFrame:
    """One row per cluster: its size, share, feature means and category mix.

    Parameters
    ----------
    df : DataFrame of shape (n_samples, n_columns)
        The customers in their original units (not standardised), e.g.
        ``load_mall_customers()``. Numeric columns are averaged; any other
        column (text, categorical, bool) is counted per category.
    labels : array-like of shape (n_samples,)
        Cluster of each row, any integers (e.g. ``KMeans(...).labels_``). A
        Series indexed like ``df`` is aligned on the index.
    features : list of str, optional
        The columns to profile, in order. Default: all columns of ``df``.

    Returns
    -------
    DataFrame of shape (n_clusters, 2 + n_numeric + n_category_columns)
        Indexed by ``cluster`` (sorted ids). Columns: ``size`` (customers),
        ``share`` (fraction of all customers, summing to 1), the mean of each
        numeric feature under its own name, then for each non-numeric column
        ``c`` and category ``v`` a column ``"c: v"`` with the fraction of the
        cluster in that category (e.g. ``"Gender: Female"``);
        :func:`profile_columns` tells the two kinds apart.

    Raises
    ------
    TypeError
        df is not a DataFrame, or labels are not integers.
    ValueError
        Lengths differ, unknown or repeated features, missing values, or a
        feature named "size" or "share".

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Gender": ["Female", "Male", "Female", "Female"],
    ...                    "Age": [20, 30, 60, 70]})
    >>> p = cluster_profiles(df, [1, 1, 0, 0])
    >>> list(p.columns)
    ['size', 'share', 'Age', 'Gender: Female', 'Gender: Male']
    >>> p.loc[1].tolist()
    [2.0, 0.5, 25.0, 0.5, 0.5]
    """
    df = _check_frame(df)
    labels = _check_labels(labels, df)
    features = _check_features(features, df)
    numeric, categorical = _split_features(df, features)
    return _profile_table({f: df[f].to_numpy(dtype=np.float64) for f in numeric},
                          {f: (df[f].to_numpy(dtype=object), _categories(df[f])) for f in categorical},
                          labels).to_frame()


def _profile_table(numeric: Mapping, categorical: Mapping, labels: np.ndarray) -> ClusterTable:
    """The profile of checked columns: numeric name → float64 values, categorical name →
    (values, categories in order); ``labels`` int64, one per row."""
    # Sizes and shares: one pass of bincount over the codes of the sorted cluster ids.
    clusters, codes = np.unique(labels, return_inverse=True)
    m, n = len(clusters), len(labels)
    size = np.bincount(codes, minlength=m)
    out = {"size": size.astype(np.int64), "share": size / n}
    for f, values in numeric.items():
        out[f] = np.bincount(codes, weights=values, minlength=m) / size
    for f, (values, categories) in categorical.items():
        for cat in categories:
            hit = np.fromiter((v == cat for v in values), dtype=bool, count=n)
            out[f"{f}: {cat}"] = np.bincount(codes, weights=hit.astype(np.float64), minlength=m) / size
    return ClusterTable(clusters, out)


def profile_tables(columns: Mapping, labels, *, threshold: float = 0.5, max_parts: int = 2
                   ) -> tuple[ClusterTable, ClusterTable]:
    """:func:`cluster_profiles` and :func:`describe_segments` of clean columns, without pandas.

    ``columns`` maps each column's name to its values, one per row, with no missing
    value: numbers (int or float) are averaged, anything else is counted per category
    (sorted). The segments compare each cluster with these same rows. The numbers
    are those of ``describe_segments(cluster_profiles(df, labels), overall=df)`` for a
    DataFrame ``df`` of these columns, as :class:`ClusterTable` s. For data that still
    needs checking (a learner's file), use the two functions.

    >>> from kmeans_tutor.data.mall import mall_columns
    >>> columns = mall_columns()
    >>> del columns["CustomerID"]
    >>> labels = (columns["Annual Income (k$)"] > 70).astype(int)
    >>> profiles, segments = profile_tables(columns, labels)
    >>> segments["name"]
    ['Low income · average spending', 'High income · average spending']
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0 or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be a non-empty 1-D array of integer cluster ids, got "
                         f"{labels.dtype} of shape {labels.shape}.")
    labels = labels.astype(np.int64)
    numeric, categorical = {}, {}
    for name, values in columns.items():
        values = np.asarray(values)
        if values.shape != labels.shape:
            raise ValueError(f"column {name!r} has {values.shape[0]} values for {labels.shape[0]} labels.")
        if values.dtype.kind in "iuf":
            numeric[name] = values.astype(np.float64)
        else:
            values = values.astype(object)
            try:
                categories = sorted(set(values))
            except TypeError:  # mixed types: order by text
                categories = sorted(set(values), key=str)
            categorical[name] = (values, categories)
    if not numeric:
        raise ValueError("profile_tables needs at least one numeric column to describe the "
                         "clusters by.")
    profiles = _profile_table(numeric, categorical, labels)
    groups = {f: [f"{f}: {cat}" for cat in categories] for f, (_, categories) in categorical.items()}
    features = list(numeric)
    mean, std = _mean_std(np.column_stack(list(numeric.values())))
    return profiles, _segment_table(profiles, features, groups, mean, std, threshold, max_parts)


def learner_labels(labels) -> np.ndarray:
    """Cluster ids as a learner reads them: 1 … k for the 0-based ids 0 … k − 1.

    What a download's ``cluster`` column holds, so that "Cluster 1" on a card
    or in a legend is ``cluster == 1`` in the file too.

    >>> learner_labels([0, 2, 1]).tolist()
    [1, 3, 2]
    """
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise TypeError(f"labels must be a 1-D array of integer cluster ids, got {arr.dtype} "
                        f"of shape {arr.shape}.")
    if arr.size and arr.min() < 0:
        raise ValueError(f"labels must be cluster ids 0 … k − 1; found {int(arr.min())}.")
    return arr.astype(np.int64) + 1


def number_clusters(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of a profile or segment table numbered as the learner reads it: 1 … k.

    The index of :func:`cluster_profiles` and :func:`describe_segments` holds
    the 0-based ids of ``labels``; plots, cards and downloads say "Cluster 1"
    for id 0. Show tables through this function so that every number a
    learner sees agrees. Ids that are not 0 … k − 1 style integers (e.g. −1
    for noise) are kept as they are.

    >>> import pandas as pd
    >>> p = cluster_profiles(pd.DataFrame({"Age": [20, 30, 60]}), [0, 0, 1])
    >>> number_clusters(p).index.tolist()
    [1, 2]
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a DataFrame from cluster_profiles or describe_segments, "
                        f"got {type(table).__name__}.")
    out = table.copy()
    ids = table.index
    if pd.api.types.is_integer_dtype(ids.dtype) and (len(ids) == 0 or ids.min() >= 0):
        out.index = pd.Index(np.asarray(ids, dtype=np.int64) + 1, name=ids.name or "cluster")
    return out


def profile_columns(profiles: pd.DataFrame) -> tuple[list, dict]:
    """The numeric feature columns of a profile table, and its category-share
    columns grouped by source column (``{"Gender": ["Gender: Female", ...]}``).

    Category shares are the columns named ``"column: category"`` whose values,
    per cluster, are fractions that add up to 1 over the column's categories;
    every other numeric column (but ``size`` and ``share``) is a feature mean.

    >>> import pandas as pd
    >>> p = cluster_profiles(pd.DataFrame({"Gender": ["F", "M", "F"], "Age": [20, 30, 60]}), [0, 0, 1])
    >>> profile_columns(p)
    (['Age'], {'Gender': ['Gender: F', 'Gender: M']})
    """
    numeric, groups = [], {}
    for c in profiles.columns:
        if c in _RESERVED or not _is_numeric(profiles[c]):
            continue
        if ": " in str(c):
            groups.setdefault(str(c).split(": ", 1)[0], []).append(c)
        else:
            numeric.append(c)
    categorical = {}
    for column, cols in groups.items():
        shares = np.column_stack([np.asarray(profiles[c], dtype=float) for c in cols])
        if ((shares >= 0) & (shares <= 1)).all() and np.allclose(shares.sum(axis=1), 1.0):
            categorical[column] = cols
        else:  # "a: b" was just a feature's name
            numeric += cols
    order = {c: i for i, c in enumerate(profiles.columns)}
    return sorted(numeric, key=order.get), categorical


# ----------------------------------------------------------------------------- vocabulary

# How a known feature reads in a name: words for its three levels and a short
# noun for qualifiers. Matched on the column name; "priority" decides which
# average feature fills a name that has fewer standout features than parts
# (spending first: it is what the mall cares about).
_ROLES = {
    "spending": dict(pattern=r"spend", priority=0, noun="spending",
                     words={"high": "high spending", "low": "low spending",
                            "average": "average spending"}),
    "income": dict(pattern=r"income|salary|earning", priority=1, noun="income",
                   words={"high": "high income", "low": "low income", "average": "average income"}),
    "age": dict(pattern=r"\bage\b", priority=2, noun="age",
                words={"high": "older", "low": "young", "average": "middle-aged"}),
}


def _role_of(feature) -> str | None:
    """Which known role (spending, income, age) a column name plays, if any."""
    text = str(feature).lower()
    for role, spec in _ROLES.items():
        if re.search(spec["pattern"], text):
            return role
    return None


def _noun(feature) -> str:
    """A feature's name without a trailing unit in brackets: 'Petal length (cm)' → 'Petal length'."""
    text = re.sub(r"\s*[\(\[][^\)\]]*[\)\]]\s*$", "", str(feature)).strip()
    return text or str(feature)


#: Persona catalogue: key → (title, one-sentence description, recommendations).
PERSONAS = {
    "affluent": ("Affluent target customers",
                 "They earn well and spend freely: the mall's most valuable customers.",
                 ("Offer a premium loyalty tier with early access to new collections.",
                  "Promote premium brands and personal services such as styling or concierge.",
                  "Retain them first: invite them to exclusive events and previews.")),
    "careful": ("Careful spenders",
                "They earn well but spend little here: cautious, value-minded and not yet won over.",
                ("Stress quality, durability and value for money rather than discounts.",
                 "Ask them, with a short survey, what would make them buy more here.",
                 "Try personal offers on high-end items they may be buying elsewhere.")),
    "impulsive": ("Impulsive buyers",
                  "They spend a lot for a modest income, often on impulse and following trends.",
                  ("Feature affordable, trendy lines and limited-time deals.",
                   "Reach them on social media and with in-store events.",
                   "Reward visits with a points-based loyalty app, and avoid pushing credit.")),
    "budget": ("Budget-conscious",
               "Low income and low spending: price-sensitive shoppers who buy what they need.",
               ("Advertise discounts, value packs and everyday essentials.",
                "Bring them back with coupons and price-match offers.",
                "Keep premium marketing spend for other segments.")),
    "middle": ("Middle-income regulars",
               "Average income and average spending: the steady core of the mall's customers.",
               ("Keep them coming with a simple loyalty programme.",
                "Use seasonal promotions and bundles to lift the basket a little.",
                "Cross-sell from everyday purchases to mid-range brands.")),
    "retirement": ("Nearing retirement",
                   "Older customers with modest spending, who value comfort, service and reliability.",
                   ("Offer comfort, health and home products, with attentive service.",
                    "Make shopping easy: quiet hours, seating, clear signs and home delivery.",
                    "Reward their loyalty with weekday promotions.")),
    "young_trend": ("Trend-driven young spenders",
                    "Young customers who spend well above average and follow the latest trends.",
                    ("Stock trending fashion and tech, and refresh it often.",
                     "Market through social media, influencers and events.",
                     "Offer student discounts and a mobile loyalty app.")),
    "mature_spenders": ("Mature enthusiasts",
                        "Older customers who still spend well above average.",
                        ("Promote quality brands and personal service.",
                         "Invite them to loyalty events and previews.",
                         "Offer gift services for family occasions.")),
    "keen": ("Keen shoppers",
             "They spend more than their income suggests: enthusiastic, frequent buyers.",
             ("Reward frequency with loyalty points and member-only offers.",
              "Introduce new arrivals and upsell to premium lines.",
              "Invite them to events and product launches.")),
    "upsell": ("Comfortable high earners",
               "High income with only average spending: room to grow.",
               ("Upsell to premium brands and services.",
                "Send personal recommendations based on past purchases.",
                "Make exclusive offers that turn them into affluent regulars.")),
    "value": ("Value seekers",
              "Lower income but average spending: regular shoppers who look for good deals.",
              ("Highlight good-value ranges and bundles.",
               "Give loyalty points that turn into discounts.",
               "Promote mid-week deals and sales events.")),
    "occasional": ("Occasional shoppers",
                   "They spend less than average for their income: they visit rarely or buy little.",
                   ("Find out why with a short survey.",
                    "Bring them back with welcome-back offers and events.",
                    "Show them parts of the range they may not know.")),
    "reluctant": ("Reluctant shoppers",
                  "They spend well below average at the mall.",
                  ("Find out what they miss with a short survey.",
                   "Try welcome-back offers on everyday items.",
                   "Test which channel (email, app, in store) reaches them at all.")),
    "young": ("Young customers",
              "Younger than average, with ordinary spending.",
              ("Offer student and first-job discounts.",
               "Reach them on social media.",
               "Build loyalty early with a mobile app.")),
    "high_earners": ("High earners",
                     "Their income is well above average.",
                     ("Promote premium brands and services.",
                      "Offer a premium loyalty tier.",
                      "Send personal recommendations.")),
    "steady": ("Steady regulars",
               "Close to the average customer on what was measured.",
               ("Keep them coming with a simple loyalty programme.",
                "Use seasonal promotions to lift the basket.",
                "Watch them for a shift up or down in spending.")),
    "generic": ("Segment",
                "Customers who share the profile in the name.",
                ("Look at what sets this group apart and test an offer aimed at it.",
                 "Compare its response with the other segments before scaling up.")),
}

# Persona from the (income, spending) levels, before age adjustments.
_INCOME_SPENDING = {
    ("high", "high"): "affluent", ("high", "low"): "careful", ("low", "high"): "impulsive",
    ("low", "low"): "budget", ("average", "average"): "middle", ("high", "average"): "upsell",
    ("low", "average"): "value", ("average", "high"): "keen", ("average", "low"): "occasional",
}


def _persona_key(levels: Mapping[str, str]) -> str:
    """The persona for a cluster from the levels of its known roles.

    ``levels`` maps role ("income", "spending", "age") to "low" / "average" /
    "high" for the roles present in the data.
    """
    income, spending, age = levels.get("income"), levels.get("spending"), levels.get("age")
    if income is not None and spending is not None:
        key = _INCOME_SPENDING[(income, spending)]
        # Age turns the middle ground into the classic age-driven personas.
        if age == "high" and key in ("middle", "occasional"):
            return "retirement"
        if age == "low" and key == "keen":
            return "young_trend"
        if age == "low" and key == "middle":
            return "young"
        return key
    if spending is not None:
        if spending == "high":
            return {"low": "young_trend", "high": "mature_spenders"}.get(age, "keen")
        if spending == "low":
            return "retirement" if age == "high" else "reluctant"
        return {"high": "retirement", "low": "young"}.get(age, "steady")
    if income is not None:
        if age == "high" and income != "high":
            return "retirement"
        return {"high": "high_earners", "low": "budget", "average": "middle"}[income]
    if age is not None:
        return {"high": "retirement", "low": "young", "average": "steady"}[age]
    return "generic"


# ----------------------------------------------------------------------------- segments


def _overall_stats(profiles: pd.DataFrame, features: list, overall) -> tuple[np.ndarray, np.ndarray]:
    """Overall mean and standard deviation of each feature (0 where it is undefined).

    From ``overall`` (the raw data, or a ``describe()``-like table with rows
    "mean" and "std"); without it, from the clusters' means, with a warning.
    """
    import pandas as pd

    if overall is not None:
        if isinstance(overall, Mapping) and not isinstance(overall, pd.DataFrame):
            overall = pd.DataFrame(overall)
        if not isinstance(overall, pd.DataFrame):
            raise TypeError(f"overall must be a DataFrame (the customers, or df.describe()), "
                            f"got {type(overall).__name__}.")
        absent = [f for f in features if f not in overall.columns]
        if absent:
            raise ValueError(f"overall has no column{'s' if len(absent) > 1 else ''} "
                             f"{', '.join(map(repr, absent))}; it needs every profiled feature.")
        if {"mean", "std"} <= set(map(str, overall.index)) and len(overall) <= 20:
            table = overall.rename(index=str)
            mean = table.loc["mean", features].to_numpy(dtype=float)
            std = table.loc["std", features].to_numpy(dtype=float)
        else:
            data = overall[features].apply(pd.to_numeric, errors="raise")
            mean, std = _mean_std(data.to_numpy(dtype=float))
    else:
        # Fallback without the raw data: the size-weighted spread of the cluster
        # means, which is narrower than the customers' spread (more standouts).
        warnings.warn("describe_segments: no overall=... given, so the clusters are compared with "
                      "the size-weighted spread of their means, which is narrower than the "
                      "customers' own spread. Pass overall=df (the customers the profiles came "
                      "from).", UserWarning, stacklevel=3)
        w = profiles["size"].to_numpy(dtype=float)
        values = profiles[features].to_numpy(dtype=float)
        mean = (w @ values) / w.sum()
        std = np.sqrt((w @ (values - mean) ** 2) / w.sum())
    if not np.isfinite(mean).all():
        raise ValueError("overall means must be finite numbers.")
    return mean, np.nan_to_num(std, nan=0.0)


def _mean_std(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (n − 1) of each column of values (n, d), missing
    values (NaN) left out; NaN where a column has too few values."""
    mean, std = np.full(values.shape[1], np.nan), np.full(values.shape[1], np.nan)
    for j in range(values.shape[1]):
        column = values[:, j]
        column = column[~np.isnan(column)]
        if column.size:
            mean[j] = column.sum() / column.size
        if column.size > 1:
            std[j] = np.sqrt(((column - mean[j]) ** 2).sum() / (column.size - 1))
    return mean, std


def _level(z: float, threshold: float) -> str:
    return "high" if z >= threshold else "low" if z <= -threshold else "average"


def _ordinal(i: int) -> str:
    return f"{i}{'th' if 10 <= i % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(i % 10, 'th')}"


def _rank_words(n: int, noun: str, role: str | None) -> list[str]:
    """Qualifiers for n clusters ordered from lowest to highest on a feature."""
    if role == "age" and n <= 3:
        return {2: ["younger", "older"], 3: ["youngest", "mid-range age", "oldest"]}[n]
    if n == 2:
        return [f"lower {noun}", f"higher {noun}"]
    if n == 3:
        return [f"lowest {noun}", f"mid-range {noun}", f"highest {noun}"]
    words = [f"{_ordinal(i)}-lowest {noun}" for i in range(1, n + 1)]
    words[0], words[-1] = f"lowest {noun}", f"highest {noun}"
    return words


def _name_clusters(z: np.ndarray, features: list, threshold: float, max_parts: int) -> list[str]:
    """Unique names from z-scores (rows: clusters, columns: features); inputs are validated.

    Every choice depends on the numbers only (ties broken by column order),
    so reordering the rows reorders the names and changes nothing else.
    """
    m, d = z.shape
    roles = [_role_of(f) for f in features]
    # A role names one column only: the first one that matches.
    seen_roles = set()
    for j, r in enumerate(roles):
        if r in seen_roles:
            roles[j] = None
        elif r is not None:
            seen_roles.add(r)
    levels = [[_level(z[i, j], threshold) for j in range(d)] for i in range(m)]

    def word(i: int, j: int) -> str:
        level = levels[i][j]
        if roles[j] is not None:
            return _ROLES[roles[j]]["words"][level]
        return f"{level} {_noun(features[j])}"

    def noun(j: int) -> str:
        return _ROLES[roles[j]]["noun"] if roles[j] is not None else _noun(features[j])

    # Base parts: the standout features (spending first, being what the
    # analysis is about, then by |z|), topped up with average ones (by role
    # priority) so that a name always has n_parts parts.
    n_parts = min(max_parts, d)
    parts, suffix = [], [""] * m
    for i in range(m):
        standout = sorted((j for j in range(d) if levels[i][j] != "average"),
                          key=lambda j: (roles[j] != "spending", -abs(z[i, j]), j))
        chosen = standout[:n_parts]
        if len(chosen) < n_parts:
            fill = sorted((j for j in range(d) if levels[i][j] == "average"),
                          key=lambda j: (_ROLES[roles[j]]["priority"] if roles[j] else len(_ROLES), j))
            chosen += fill[:n_parts - len(chosen)]
        parts.append(set(chosen))

    def render(i: int) -> str:
        text = " · ".join(word(i, j) for j in sorted(parts[i])) + suffix[i]
        return text[:1].upper() + text[1:]

    # Disambiguate clusters that share a name: first add the unused feature
    # that splits them, else rank them on the feature where they differ most.
    for _ in range(2 * d + 4):
        names = [render(i) for i in range(m)]
        groups = {}
        for i, name in enumerate(names):
            groups.setdefault(name, []).append(i)
        clashes = [g for g in groups.values() if len(g) > 1]
        if not clashes:
            return names
        for group in clashes:
            _split_clash(group, parts, suffix, z, levels, roles, noun)
    names = [render(i) for i in range(m)]
    if len(set(names)) < m:  # pragma: no cover - the loop above always ends unique
        names = [f"{name} [{i}]" for i, name in enumerate(names)]
    return names


def _split_clash(group, parts, suffix, z, levels, roles, noun) -> None:
    """Tell apart clusters that share a name (``group``): add the unused feature that
    splits them best; else rank them on the feature where they differ most; else
    (identical profiles) number them. Changes ``parts`` and ``suffix`` in place."""
    d = z.shape[1]
    used = set().union(*(parts[i] for i in group))
    best, best_key = None, None
    for j in (j for j in range(d) if j not in used):
        n_levels = len({levels[i][j] for i in group})
        key = (n_levels, float(np.ptp(z[group, j])), -j)
        if n_levels > 1 and (best_key is None or key > best_key):
            best, best_key = j, key
    if best is not None:
        for i in group:
            parts[i].add(best)
        return
    if all(suffix[i] == "" for i in group):
        spreads = np.ptp(z[group], axis=0)
        j = int(np.argmax(spreads))  # first column on ties
        if spreads[j] > 0:
            order = sorted(group, key=lambda i: z[i, j])
            values = [z[i, j] for i in order]
            if len(set(values)) == len(values):
                for i, q in zip(order, _rank_words(len(group), noun(j), roles[j])):
                    suffix[i] = f" ({q})"
                return
    # Identical profiles: nothing in the data tells them apart.
    for rank, i in enumerate(sorted(group)):
        suffix[i] += f" #{rank + 1}"


def describe_segments(profiles, *, overall=None, threshold: float = 0.5, max_parts: int = 2,
                      features=None) -> pd.DataFrame:
    """Name every cluster from how it differs from the average customer, and
    give it a persona with recommendations.

    The rule, per numeric feature ``f`` and cluster ``c``::

        z = (mean of f in c − overall mean of f) / overall std of f

    ``z ≥ threshold`` reads "high", ``z ≤ −threshold`` "low", anything
    between "average" (with the default 0.5: half a standard deviation).
    A name lists ``max_parts`` of the high and low features, in column order
    ("High income · low spending"): spending first when it stands out (it is
    what the analysis is about), then those with the largest ``|z|``. When
    fewer features stand out, average ones fill the name, spending first
    ("Older · average spending"). Age, income and spending columns (found by
    their names) read naturally ("Young", "high income", "low spending");
    other features read "high <feature>".

    Names are unique. When clusters share one, the unused feature that splits
    them is added ("… · young"); if none does, they are ranked on the feature
    where they differ most ("… (higher income)", "… (older)"); only clusters
    with identical means get "#1", "#2". Every choice depends on the
    clusters' numbers, not their ids, so renumbering the clusters renumbers
    the rows and keeps each group of customers' name.

    The persona comes from the income, spending and age levels, in the spirit
    of the classic Mall Customers analysis: high income & high spending →
    "Affluent target customers"; high income & low spending → "Careful
    spenders"; low income & high spending → "Impulsive buyers"; low & low →
    "Budget-conscious"; average & average → "Middle-income regulars"; older
    customers with modest spending → "Nearing retirement"; young high
    spenders → "Trend-driven young spenders" (see :data:`PERSONAS`). Data
    without those columns gets a generic persona named after the segment.

    Parameters
    ----------
    profiles : DataFrame
        The output of :func:`cluster_profiles`.
    overall : DataFrame, optional
        The customers the profiles came from (or their ``describe()`` table
        with rows "mean" and "std"), to compare against. Without it the
        clusters are compared with the spread of their own means, which is
        narrower (a warning says so): pass it.
    threshold : float, default=0.5
        How many standard deviations from the overall mean count as high/low.
    max_parts : int, default=2
        Features per name before disambiguation.
    features : list of str, optional
        Which numeric profile columns to use. Default: all of them.

    Returns
    -------
    DataFrame
        Indexed by ``cluster`` like ``profiles``, with columns ``name``
        (unique), ``persona``, ``description`` (one sentence),
        ``recommendations`` (tuple of 2–3 sentences), ``summary`` (the
        numbers behind it), ``size``, ``share`` and one ``z: <feature>``
        column per feature.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Annual Income (k$)": [20, 25, 90, 95, 55, 60],
    ...                    "Spending Score (1-100)": [80, 85, 10, 15, 50, 45]})
    >>> seg = describe_segments(cluster_profiles(df, [0, 0, 1, 1, 2, 2]), overall=df)
    >>> for name, persona in zip(seg["name"], seg["persona"]):
    ...     print(f"{name} → {persona}")
    Low income · high spending → Impulsive buyers
    High income · low spending → Careful spenders
    Average income · average spending → Middle-income regulars
    """
    features, categorical = _check_segment_args(profiles, threshold, max_parts, features)
    mean, std = _overall_stats(profiles, features, overall)
    table = _segment_table(profiles, features, categorical, mean, std, threshold, max_parts)
    index = profiles.index.copy()
    index.name = profiles.index.name or "cluster"
    return table.to_frame(index=index)


def _segment_table(profiles, features: list, categorical: dict, mean: np.ndarray, std: np.ndarray,
                   threshold: float, max_parts: int) -> ClusterTable:
    """describe_segments of checked arguments; ``profiles`` a DataFrame or a ClusterTable."""
    values = np.column_stack([np.asarray(profiles[f], dtype=float) for f in features])
    if not np.isfinite(values).all():
        raise ValueError("profiles holds missing or infinite feature means.")
    std = np.nan_to_num(np.asarray(std, dtype=float), nan=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0, (values - np.asarray(mean, dtype=float)) / np.where(std > 0, std, 1.0), 0.0)
    names = _name_clusters(z, features, float(threshold), int(max_parts))
    shares = {c: np.asarray(profiles[c], dtype=float) for cols in categorical.values() for c in cols}
    sizes = np.asarray(profiles["size"])
    share = np.asarray(profiles["share"], dtype=float) if "share" in profiles.columns else None
    rows = [_segment_row(i, names[i], z, values, features, categorical, shares, sizes, share, threshold)
            for i in range(len(names))]
    columns = {c: [row[c] for row in rows] for c in rows[0]}
    for c in ("size", "share", *(f"z: {f}" for f in features)):
        columns[c] = np.array(columns[c], dtype=np.int64 if c == "size" else np.float64)
    return ClusterTable(np.asarray(profiles.index), columns)


def _check_segment_args(profiles, threshold, max_parts, features) -> tuple[list, dict]:
    """The numeric features to describe by, and the category-share columns."""
    import pandas as pd

    if not isinstance(profiles, pd.DataFrame):
        raise TypeError(f"profiles must be the DataFrame from cluster_profiles(), "
                        f"got {type(profiles).__name__}.")
    if "size" not in profiles.columns:
        raise ValueError("profiles has no 'size' column; make it with cluster_profiles(df, labels).")
    if len(profiles) == 0:
        raise ValueError("profiles is empty: there are no clusters to describe.")
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real) \
            or not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"threshold must be a positive number of standard deviations, got {threshold!r}.")
    if isinstance(max_parts, (bool, np.bool_)) or not isinstance(max_parts, numbers.Integral) \
            or max_parts < 1:
        raise ValueError(f"max_parts must be a whole number ≥ 1, got {max_parts!r}.")
    numeric, categorical = profile_columns(profiles)
    if features is None:
        features = numeric
    else:
        features = _check_features(features, profiles)
        bad = [f for f in features if f in _RESERVED or not _is_numeric(profiles[f])]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a numeric feature of the profiles.")
    if not features:
        raise ValueError("profiles has no numeric feature to describe the clusters by; profile "
                         "at least one numeric column.")
    return features, categorical


def _segment_row(i, name, z, values, features, categorical, shares, sizes, share, threshold) -> dict:
    """Row i of describe_segments: the persona from the levels of the known roles (the
    first column of each), and the numbers behind it."""
    roles = {}
    for j, f in enumerate(features):
        r = _role_of(f)
        if r is not None and r not in roles:
            roles[r] = j
    nouns = [_ROLES[_role_of(f)]["noun"] if roles.get(_role_of(f)) == j else _noun(f)
             for j, f in enumerate(features)]
    key = _persona_key({r: _level(z[i, j], threshold) for r, j in roles.items()})
    title, description, recs = PERSONAS[key]
    if key == "generic":
        title = f"Segment: {name}"
    facts = [f"{nouns[j]} {values[i, j]:.3g}" for j in range(len(features))]
    for column, cols in categorical.items():
        top = max(cols, key=lambda c: (shares[c][i], -cols.index(c)))
        facts.append(f"{shares[top][i]:.0%} {str(top)[len(str(column)) + 2:]}")
    size = int(sizes[i])
    row_share = float(share[i]) if share is not None else np.nan
    summary = f"{size} customer{'s' if size != 1 else ''}"
    if np.isfinite(row_share):
        summary += f" ({row_share:.0%})"
    summary += ": " + ", ".join(facts)
    return {"name": name, "persona": title, "description": description,
            "recommendations": tuple(recs), "summary": summary, "size": size, "share": row_share,
            **{f"z: {f}": float(z[i, j]) for j, f in enumerate(features)}}
