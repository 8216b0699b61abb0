"""kmeans-tutor: watch and poke K-means clustering, one half-step at a time.

The algorithm is a generator of typed, immutable steps::

    >>> from kmeans_tutor import kmeans_steps, load_mall_customers
    >>> X = load_mall_customers()[["Annual Income (k$)", "Spending Score (1-100)"]]
    >>> for step in kmeans_steps(X, 5, random_state=0):      # doctest: +SKIP
    ...     print(step.describe())

Views, widgets, lessons and logs all speak that one vocabulary.
"""

from .choosing import elbow, suggest_k
from .data import DataError, load_csv, load_mall_customers
from .datasets import list_datasets, load_dataset
from .estimator import KMeans
from .knee import Knee, find_knee
from .lloyd import KMeansRun, kmeans_steps
from .metrics import (calinski_harabasz_score, davies_bouldin_score, inertia, silhouette_samples,
                      silhouette_score)
from .seeding import kmeans_plusplus
from .steps import AssignStep, ConvergedStep, EmptyClusterEvent, SeedStep, Step, UpdateStep
from .preprocessing import CategoryEncoder, Standardizer, encode_categories, mall_features, standardize
from .trace import Trace, run_kmeans

__version__ = "0.1.0"

__all__ = [
    "KMeans",
    "KMeansRun",
    "kmeans_steps",
    "run_kmeans",
    "kmeans_plusplus",
    "Trace",
    "Step",
    "SeedStep",
    "AssignStep",
    "UpdateStep",
    "EmptyClusterEvent",
    "ConvergedStep",
    "load_mall_customers",
    "load_csv",
    "DataError",
    "load_dataset",
    "list_datasets",
    "Standardizer",
    "standardize",
    "CategoryEncoder",
    "encode_categories",
    "mall_features",
    "inertia",
    "silhouette_samples",
    "silhouette_score",
    "calinski_harabasz_score",
    "davies_bouldin_score",
    "find_knee",
    "Knee",
    "elbow",
    "suggest_k",
]
