"""The data: the Mall customers, CSV files, synthetic sets, scaling, profiles.

Everything that turns a choice of data into numbers to cluster, and clusters
back into a story: :mod:`.mall` (the Mall Customers file and every constant
about it), :mod:`.csv_loader` (a learner's own CSV, with errors that name the
row and column), :mod:`.synthetic` (teaching sets that show where K-means
works and fails), :mod:`.preprocessing` (z-scores and category codes),
:mod:`.profiles` (profiles, segment names and personas),
:mod:`.resolver` (the one answer to "which data?", used by every app and the
command line), :mod:`.images` (a photo's pixels, decoded safely, and the
photo in k colours), :mod:`.export` (CSV a spreadsheet opens safely) and
:mod:`.kept` (tables computed once per machine and read back by every kernel).
Built on :mod:`kmeans_tutor.core`; nothing here draws.
"""

from .csv_loader import LoadReport, load_csv, looks_like_id
from .errors import DataError
from .mall import MALL_COLUMNS, MALL_FEATURES, load_mall_customers, mall_features
from .preprocessing import CategoryEncoder, Standardizer, encode_categories, standardize
from .profiles import cluster_profiles, describe_segments, profile_columns
from .resolver import ChosenData, resolve_data
from .synthetic import Dataset, list_datasets, load_dataset

__all__ = [
    "DataError", "LoadReport", "load_csv", "looks_like_id", "MALL_COLUMNS", "MALL_FEATURES",
    "load_mall_customers", "mall_features", "CategoryEncoder", "Standardizer", "encode_categories",
    "standardize", "cluster_profiles", "describe_segments", "profile_columns", "ChosenData",
    "resolve_data", "Dataset", "list_datasets", "load_dataset",
]
