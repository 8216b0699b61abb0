"""A scikit-learn-style ``KMeans`` estimator built on the step generator.

Same parameter names and defaults as ``sklearn.cluster.KMeans`` (plus
``empty_cluster``), so the familiar ``fit`` / ``predict`` code works, and
``get_params`` / ``set_params`` follow scikit-learn's conventions so that
``sklearn.base.clone`` and ``Pipeline`` accept it — without importing
scikit-learn. Each fit also keeps the full step-by-step history of the run it
chose, and a table of all restarts.
"""

from __future__ import annotations

import inspect
import numbers
import sys
import time
from typing import TYPE_CHECKING

import numpy as np

from .kernels import assign_labels, distances
from .validation import MAX_SEED, check_array, check_choice, check_n_clusters, check_query, check_random_state
from .lloyd import check_settings, start_run

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KMeans", "NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``: both a ValueError and an AttributeError,
    like scikit-learn's ``sklearn.exceptions.NotFittedError``."""


def not_fitted(message: str) -> NotFittedError:
    """The error to raise for an unfitted estimator.

    When scikit-learn is already imported (its code is calling us), the error is
    also an instance of scikit-learn's own NotFittedError, so that its checks
    and ``except NotFittedError`` clauses recognise it; scikit-learn is never
    imported for this.
    """
    sklearn_exceptions = sys.modules.get("sklearn.exceptions")
    if sklearn_exceptions is None:
        return NotFittedError(message)
    both = _BOTH.get(sklearn_exceptions.NotFittedError)
    if both is None:
        both = type("NotFittedError", (NotFittedError, sklearn_exceptions.NotFittedError),
                    {"__module__": __name__, "__doc__": NotFittedError.__doc__})
        _BOTH[sklearn_exceptions.NotFittedError] = both
    return both(message)


_BOTH: dict = {}
#: Algorithms KMeans accepts: Lloyd's, with or without distance bounds (the bounds
#: skip work, never change a label), as scikit-learn's "lloyd".
ALGORITHMS = ("lloyd",)


class KMeans:
    """K-means clustering, with the history of every step kept.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "random", "farthest"}, ndarray of shape (n_clusters, n_features) or callable, default="k-means++"
        How to choose the starting centres (see :func:`~kmeans_tutor.kmeans_steps`).
    n_init : "auto" or int, default="auto"
        Number of restarts from different seeds; the run with the lowest
        inertia is kept. "auto" means 1 for k-means++ or given centres, and 10
        for "random", "farthest" and callables (scikit-learn's rule).
    max_iter : int, default=300
    tol : float, default=1e-4
    random_state : None, int or numpy.random.Generator, default=None
    empty_cluster : {"relocate", "keep"}, default="relocate"
    algorithm : {"lloyd"}, default="lloyd"
        Lloyd's algorithm, as scikit-learn's "lloyd" (from 20,000 points on, with
        Hamerly's distance bounds, which skip work but never change a label).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
    inertia_ : float
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when fitted on a DataFrame.
    history_ : Trace
        Every step of the kept run.
    restarts_ : pandas.DataFrame
        One row per restart: seed, inertia, n_iter, reason, seconds, kept.

    Examples
    --------
    >>> from kmeans_tutor import KMeans
    >>> X = [[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]]
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(km.cluster_centers_.tolist())
    [[1.0, 2.0], [10.0, 2.0]]
    >>> km.predict([[0, 0], [12, 3]]).tolist() == [km.labels_[0], km.labels_[3]]
    True
    """

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300, tol=1e-4,
                 random_state=None, empty_cluster="relocate", algorithm="lloyd"):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.empty_cluster = empty_cluster
        self.algorithm = algorithm

    # --- scikit-learn parameter protocol --------------------------------------
    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self")

    def get_params(self, deep=True):
        """Parameters of this estimator, as a dict (scikit-learn convention)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set parameters by name; returns self (scikit-learn convention)."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for KMeans; valid parameters are {valid}.")
            setattr(self, key, value)
        return self

    def __sklearn_is_fitted__(self):
        return hasattr(self, "cluster_centers_")

    def __sklearn_tags__(self):
        # Only scikit-learn calls this, so scikit-learn is already imported:
        # the package itself never depends on it.
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        return Tags(estimator_type="clusterer", target_tags=TargetTags(required=False),
                    transformer_tags=TransformerTags(preserves_dtype=["float64"]),
                    input_tags=InputTags(allow_nan=False), non_deterministic=False)

    def __repr__(self):
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = []
        for name in self._get_param_names():
            value = getattr(self, name)
            default = defaults[name]
            if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
                changed.append(f"{name}=array{getattr(value, 'shape', '')}")
            elif value is not default and value != default:
                changed.append(f"{name}={value!r}")
        return f"KMeans({', '.join(changed)})"

    # --- fitting ----------------------------------------------------------------
    def _resolved_n_init(self) -> int:
        n_init = self.n_init
        if isinstance(n_init, str):
            if n_init != "auto":
                raise ValueError(f"n_init must be 'auto' or a positive integer, got {n_init!r}.")
            if isinstance(self.init, str) and self.init == "k-means++":
                return 1
            if not isinstance(self.init, str) and not callable(self.init):
                return 1  # given centres: every restart would be the same
            return 10
        if isinstance(n_init, (bool, np.bool_)) or not isinstance(n_init, numbers.Integral):
            raise TypeError(f"n_init must be 'auto' or a positive integer, got {n_init!r}.")
        if n_init < 1:
            raise ValueError(f"n_init must be at least 1, got {n_init}.")
        if not isinstance(self.init, str) and not callable(self.init) and n_init != 1:
            # Given centres make every restart identical: run once.
            return 1
        return int(n_init)

    def fit(self, X, y=None):
        """Run K-means ``n_init`` times and keep the run with the lowest inertia.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        check_choice(self.algorithm, "algorithm", ALGORITHMS)
        X, feature_names = check_array(X)
        settings = check_settings(check_n_clusters(self.n_clusters, X), X.shape[1], init=self.init,
                                  max_iter=self.max_iter, tol=self.tol,
                                  empty_cluster=self.empty_cluster, n_local_trials=None)
        n_init = self._resolved_n_init()
        rng, _ = check_random_state(self.random_state)
        # One integer seed per restart, so that any restart can be replayed alone.
        seeds = rng.integers(0, MAX_SEED, size=n_init, endpoint=True)
        best, rows = None, []
        for r, seed in enumerate(seeds):
            start = time.perf_counter()
            trace = start_run(X, feature_names, random_state=int(seed), **settings).trace()
            last = trace.final
            rows.append((r, int(seed), last.inertia, last.n_iter, last.reason,
                         time.perf_counter() - start))
            # Strictly lower wins, so ties keep the earlier restart (scikit-learn).
            if best is None or last.inertia < best.final.inertia:
                best, best_r = trace, r
        trace = best
        last = trace.final
        self.cluster_centers_ = np.array(last.centers)
        self.labels_ = np.array(last.labels, dtype=np.int32)
        self.inertia_ = float(last.inertia)
        self.n_iter_ = int(last.n_iter)
        self.n_features_in_ = X.shape[1]
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.history_ = trace
        self._restarts = (rows, best_r)
        self._origin = X.mean(axis=0)  # the fit measured distances from here (see predict)
        return self

    @property
    def restarts_(self) -> pd.DataFrame:
        """One row per restart: seed, inertia, n_iter, reason, seconds, kept.

        Any restart can be replayed alone with ``run_kmeans(X, k, init=...,
        random_state=seed)``.
        """
        if not hasattr(self, "_restarts"):
            raise AttributeError("restarts_ exists after fit(X).")
        import pandas as pd  # here, not at the top: pandas costs a kernel 0.2 s and 32 MB

        rows, best_r = self._restarts
        table = pd.DataFrame(rows, columns=["restart", "seed", "inertia", "n_iter", "reason", "seconds"])
        table["kept"] = table["restart"] == best_r
        return table.set_index("restart")

    def _check_fitted_X(self, X):
        if not hasattr(self, "cluster_centers_"):
            raise not_fitted("This KMeans instance is not fitted yet; call fit(X) first.")
        X, names = check_query(X, self.cluster_centers_)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but KMeans is expecting "
                             f"{self.n_features_in_} features as input.")
        fitted_names = getattr(self, "feature_names_in_", None)
        if fitted_names is not None and names is not None and list(names) != list(fitted_names):
            raise ValueError(f"X has feature names {list(names)}, but KMeans was fitted with "
                             f"{list(fitted_names)}.")
        return X

    def get_feature_names_out(self, input_features=None):
        """Names of the columns ``transform`` returns: "kmeans0" … "kmeans{k-1}", the
        distance to each centre (scikit-learn's convention)."""
        if not hasattr(self, "cluster_centers_"):
            raise not_fitted("This KMeans instance is not fitted yet; call fit(X) first.")
        return np.asarray([f"kmeans{j}" for j in range(self.cluster_centers_.shape[0])], dtype=object)

    def predict(self, X):
        """Index of the nearest centre for each row of X, shape (n_samples,)."""
        X = self._check_fitted_X(X)
        labels, _ = assign_labels(X, self.cluster_centers_, origin=self._origin)
        return labels.astype(np.int32)

    def fit_predict(self, X, y=None):
        """Fit and return ``labels_``."""
        return self.fit(X).labels_

    def transform(self, X):
        """Distance of each row to every centre, shape (n_samples, n_clusters)."""
        X = self._check_fitted_X(X)
        return distances(X, self.cluster_centers_)

    def fit_transform(self, X, y=None):
        """Fit, then return the distances of X to the centres."""
        return self.fit(X).transform(X)

    def score(self, X, y=None):
        """Opposite of the inertia of X on the fitted centres (higher is better)."""
        X = self._check_fitted_X(X)
        _, inertia = assign_labels(X, self.cluster_centers_, origin=self._origin)
        return -inertia
