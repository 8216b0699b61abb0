"""The algorithm and its scores, in numpy only.

The steps (:mod:`.steps`), the seeding (:mod:`.seeding`), the Lloyd loop
(:mod:`.lloyd`), a recorded run (:mod:`.trace`), the scikit-learn-style
estimator (:mod:`.estimator`), the quality scores (:mod:`.metrics`), the
knee finder (:mod:`.knee`) and the elbow table (:mod:`.choosing`), with the
input checks (:mod:`.validation`) and the numeric kernels (:mod:`.kernels`)
they share. Arrays in, steps and numbers out: nothing here reads files, draws
or imports from the other folders (pandas appears only at the edges: a
DataFrame may come in, and tables such as ``elbow()`` go out as DataFrames;
it is imported only when one does, see :func:`.validation.is_dataframe`).
"""

from .choosing import elbow, suggest_k
from .estimator import KMeans, NotFittedError
from .knee import Knee, find_knee
from .lloyd import KMeansRun, kmeans_steps, run_kmeans
from .metrics import (calinski_harabasz_score, davies_bouldin_score, inertia, silhouette_samples,
                      silhouette_score)
from .seeding import kmeans_plusplus
from .steps import AssignStep, ConvergedStep, EmptyClusterEvent, SeedStep, Step, UpdateStep
from .trace import Trace, TraceError

__all__ = [
    "KMeans", "NotFittedError", "KMeansRun", "kmeans_steps", "run_kmeans", "kmeans_plusplus", "Trace",
    "Step", "SeedStep", "AssignStep", "UpdateStep", "EmptyClusterEvent", "ConvergedStep",
    "inertia", "silhouette_samples", "silhouette_score", "calinski_harabasz_score",
    "davies_bouldin_score", "find_knee", "Knee", "elbow", "suggest_k",
]
