"""kmeans-tutor: watch and poke K-means clustering, one half-step at a time.

The algorithm is a generator of typed, immutable steps::

    >>> from kmeans_tutor import kmeans_steps, load_mall_customers
    >>> X = load_mall_customers()[["Annual Income (k$)", "Spending Score (1-100)"]]
    >>> for step in kmeans_steps(X, 5, random_state=0):      # doctest: +SKIP
    ...     print(step.describe())

Views, widgets, lessons and logs all speak that one vocabulary. The folders
follow the layers: :mod:`.core` (the algorithm) ← :mod:`.data` ← :mod:`.views`
(matplotlib) ← :mod:`.widgets` (ipywidgets); :mod:`.server` serves the lessons.
"""

from .core import (AssignStep, ConvergedStep, EmptyClusterEvent, KMeans, KMeansRun, Knee, NotFittedError,
                   SeedStep, Step, Trace, UpdateStep, calinski_harabasz_score, davies_bouldin_score, elbow,
                   find_knee, inertia, kmeans_plusplus, kmeans_steps, run_kmeans, silhouette_samples,
                   silhouette_score, suggest_k)
from .data import (CategoryEncoder, DataError, Standardizer, encode_categories, list_datasets, load_csv,
                   load_dataset, load_mall_customers, mall_features, standardize)

__version__ = "0.1.0"

__all__ = [
    "KMeans",
    "NotFittedError",
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
