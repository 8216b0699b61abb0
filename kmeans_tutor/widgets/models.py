"""State of the stepper and compare apps: traitlets models with no widgets in them.

A model holds every setting (data choice, k, init, seed), the recorded run
(a :class:`~kmeans_tutor.trace.Trace`) and the index of the step on screen.
Apps only set traits and call methods; tests drive the same models directly,
with no browser and no figure.

Two rules run through both models:

- **Any setting change restarts the run**: one observer recomputes the trace
  (to convergence — a few milliseconds on teaching data) and puts the index
  back to 0. :meth:`DataModel.hold` batches several changes into one restart.
- **Bad settings never raise from a handler**: they are explained in the
  ``message`` trait (``message_level == "error"``) and the run is cleared.
  Only a wrong *type* (``k="five"``) or an unknown ``init`` name — programming
  errors, which no widget can produce — raise ``traitlets.TraitError``.

>>> model = StepperModel(dataset="blobs", k=3, seed=7)
>>> model.current.phase, model.seed_used
('seed', 7)
>>> model.goto(3); model.current.phase
'assign'
>>> model.k = 500
>>> model.trace is None, model.message_level
(True, 'error')
"""

from __future__ import annotations

import contextlib
import math
import re
import secrets

import numpy as np
import pandas as pd
import traitlets
from traitlets import Bool, Enum, Float, HasTraits, Instance, Int, List, Tuple, Unicode, observe, validate

from ..steps import SeedStep, Step
from ..trace import Trace

__all__ = [
    "DataModel",
    "StepperModel",
    "CompareModel",
    "MALL_FEATURES",
    "DEFAULT_FEATURES",
    "INIT_CHOICES",
    "COMPARE_INITS",
    "MAX_SEED",
    "dataset_choices",
    "load_choice",
    "load_upload",
    "UPLOAD",
]

#: The numeric Mall columns a learner may plot and cluster on (two at a time).
MALL_FEATURES = ("Age", "Annual Income (k$)", "Spending Score (1-100)")
DEFAULT_FEATURES = ("Annual Income (k$)", "Spending Score (1-100)")
#: Seeding methods of the stepper; "manual" means the learner clicks the centres.
INIT_CHOICES = ("k-means++", "random", "farthest", "manual")
#: The two seedings the compare app races, in display order (left, right).
COMPARE_INITS = ("random", "k-means++")
#: Largest seed accepted (numpy's and the package's limit).
MAX_SEED = 2**32 - 1
#: The ``dataset`` value of a learner's uploaded CSV (see :meth:`DataModel.use_upload`).
UPLOAD = "upload"
# Column names of row identifiers: "id", "ID", "customer_id", "Customer ID", "CustomerID".
_ID_LIKE = re.compile(r"(?i:(^|[\s_-])id)$|[a-z]ID$")
_NEW_SEED_BELOW = 100_000  # "new seed" draws short seeds: easy to read aloud and type


def dataset_choices() -> list[tuple[str, str]]:
    """(label, name) of every data set an app offers: Mall Customers, then the
    synthetic sets of :func:`~kmeans_tutor.datasets.list_datasets`."""
    from ..datasets import list_datasets

    table = list_datasets()
    return [("Mall Customers", "mall"), *zip(table["title"], table["name"])]


def _dataset_key(name: str) -> str:
    """A data set name as the registry spells it ("Pimpled smiley" → "pimpled_smiley")."""
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


def load_choice(dataset: str, features=DEFAULT_FEATURES, scaled: bool = True,
                n_samples: int | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """The 2-D data of a data-set choice, float64 and C-contiguous.

    Parameters
    ----------
    dataset : str
        "mall" or a synthetic data set name.
    features : pair of str
        Mall only: the two columns (:data:`MALL_FEATURES`).
    scaled : bool
        Mall only: z-score both columns (their units differ). Synthetic sets
        are drawn in comparable units and are never rescaled, so that their
        shapes (stretched blobs, bars of unequal density) stay what they teach.
    n_samples : int, optional
        Synthetic only: number of points (default: the set's own); drawn with
        ``random_state=0``, so the points never change with the K-means seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    feature_names : tuple of str

    Raises
    ------
    ValueError
        Unknown data set or columns (the message says what is valid).
    """
    key = _dataset_key(dataset)
    if key == "mall":
        features = _two_columns(features, MALL_FEATURES, "two different Mall columns", "Unknown Mall column")
        from ..preprocessing import mall_features

        X = mall_features(columns=list(features), gender="drop").to_numpy(dtype=np.float64)
        return _plot_data(X, scaled), features
    from ..datasets import load_dataset

    ds = load_dataset(key, n_samples=n_samples, random_state=0)
    return np.ascontiguousarray(ds.X, dtype=np.float64), tuple(ds.feature_names)


def load_upload(frame: pd.DataFrame, features, scaled: bool = True) -> tuple[np.ndarray, tuple[str, ...]]:
    """The 2-D data of an uploaded CSV (a :func:`~kmeans_tutor.data.load_csv` frame).

    Parameters
    ----------
    frame : DataFrame of shape (n_samples, n_columns), float
    features : pair of str
        Two different columns of ``frame``.
    scaled : bool
        Z-score both columns (like the Mall columns: their units may differ).

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    feature_names : tuple of str

    Raises
    ------
    ValueError
        No file, or columns it does not have (the message says what is valid).
    """
    if frame is None:
        raise ValueError("No CSV file is loaded yet: upload one first.")
    features = _two_columns(features, list(frame.columns),
                            "two different columns of your file", "Your file has no column")
    return _plot_data(frame[list(features)].to_numpy(dtype=np.float64), scaled), features


def _two_columns(features, available, choose: str, missing: str) -> tuple[str, str]:
    """``features`` as a pair of different names from ``available``, or a ValueError.

    ``choose`` and ``missing`` word the two messages ("Choose {choose} to plot",
    "{missing} 'x'; choose from ...").
    """
    features = tuple(features)
    if len(features) != 2 or len(set(features)) != 2:
        raise ValueError(f"Choose {choose} to plot; got {features!r}.")
    unknown = [f for f in features if f not in available]
    if unknown:
        raise ValueError(f"{missing} {unknown[0]!r}; choose from {', '.join(map(repr, available))}.")
    return features


def _plot_data(X: np.ndarray, scaled: bool) -> np.ndarray:
    """(n, 2) float64, C-contiguous; z-scored when ``scaled``."""
    if scaled:
        from ..preprocessing import standardize

        X, _ = standardize(X)
    return np.ascontiguousarray(X, dtype=np.float64)


# ---------------------------------------------------------------------------- base model


class DataModel(HasTraits):
    """The data choice shared by the apps, and the restart machinery.

    Traits
    ------
    dataset : str
        "mall" or a synthetic data set name (spaces, hyphens and case are
        normalised: "Pimpled smiley" → "pimpled_smiley").
    features : tuple of str
        The two Mall columns; kept while a synthetic set is shown, so that
        going back to Mall restores them.
    scaled : bool
        Z-score the Mall columns (and those of an uploaded file).
    uploaded : DataFrame or None
        The learner's own CSV (numeric columns, from
        :func:`~kmeans_tutor.data.load_csv`), shown when ``dataset`` is
        "upload"; set it with :meth:`use_upload`. ``features`` then names two
        of its columns.
    uploaded_name : str
        The uploaded file's name (as given: escape it before showing it).
    n_samples : int or None
        Points drawn for a synthetic set (None: its default).
    k : int
        Number of clusters (1 … number of distinct points).
    seed : int
        ``random_state`` of the run(s), 0 … 2³²−1.
    index : int
        The step on screen; always clamped to the run (0 when there is none).
    playing : bool
        An app's player is running (models have no timer; a restart stops it).
    message : str
        What the learner should know now: an error in the settings, or what
        to do next (e.g. how many centres to click); "" when all is well.
    message_level : {"", "info", "error"}
    revision : int
        Goes up by one each time a restart is complete (new run or new
        message): the one signal a view rebuilds on.

    Subclasses list their own setting traits in ``_settings`` and implement
    ``_compute()``.
    """

    dataset = Unicode("mall")
    features = Tuple(Unicode(), Unicode(), default_value=DEFAULT_FEATURES)
    scaled = Bool(True)
    n_samples = Int(None, allow_none=True)
    k = Int(5)
    seed = Int(0)
    uploaded = Instance(pd.DataFrame, allow_none=True)
    uploaded_name = Unicode("")

    index = Int(0)
    playing = Bool(False)

    message = Unicode("")
    message_level = Enum(("", "info", "error"), default_value="")
    revision = Int(0)

    _data_settings = ("dataset", "features", "scaled", "n_samples", "uploaded")
    _settings: tuple[str, ...] = ("dataset", "features", "scaled", "n_samples", "uploaded", "k", "seed")

    def __init__(self, **kwargs):
        self._holding = 0
        self._upload_serial = 0
        self._data_cache = self._distinct_cache = (None, None)
        super().__init__()
        with self.hold():
            for name, value in kwargs.items():
                if not self.has_trait(name):
                    raise TypeError(f"{type(self).__name__} has no setting {name!r}.")
                setattr(self, name, value)
        if self.revision == 0:  # every value was the default: nothing changed, so run now
            self.restart()

    @validate("dataset")
    def _normalise_dataset(self, proposal):
        return _dataset_key(proposal["value"])

    @observe("uploaded")
    def _count_uploads(self, change):
        self._upload_serial += 1  # a new file: cached data of the old one is stale

    # --- data ----------------------------------------------------------------------------
    @property
    def is_mall(self) -> bool:
        return self.dataset == "mall"

    @property
    def is_upload(self) -> bool:
        return self.dataset == UPLOAD

    @property
    def upload_columns(self) -> tuple[str, ...]:
        """Numeric columns of the uploaded file (empty before an upload)."""
        return () if self.uploaded is None else tuple(map(str, self.uploaded.columns))

    def use_upload(self, frame: pd.DataFrame, name: str = "", features=None):
        """Show a learner's CSV (from :func:`~kmeans_tutor.data.load_csv`): one restart.

        ``features`` defaults to the file's first two columns. Raises
        ValueError, changing nothing, when the file has fewer than two numeric
        columns or ``features`` are not two of them.
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"frame must be a DataFrame; got {type(frame).__name__}.")
        columns = [str(c) for c in frame.columns]
        if len(columns) < 2:
            raise ValueError(f"The file has {len(columns)} numeric column"
                             f"{'' if len(columns) == 1 else 's'} "
                             f"({', '.join(map(repr, columns))}); plotting needs two.")
        if features is None:  # the first two columns, passing over ID-like ones when possible
            plain = [c for c in columns if not _ID_LIKE.search(c)]
            features = tuple((plain if len(plain) >= 2 else columns)[:2])
        features = tuple(features)
        frame = frame.set_axis(columns, axis=1)
        load_upload(frame, features, scaled=False)  # checks the columns before anything changes
        with self.hold():
            self.uploaded = frame
            self.uploaded_name = str(name)
            self.features = features
            self.dataset = UPLOAD

    def _data(self):
        key = self.data_key
        if self._data_cache[0] != key:
            if self.is_upload:
                data = load_upload(self.uploaded, self.features, self.scaled)
            else:
                data = load_choice(self.dataset, self.features, self.scaled, self.n_samples)
            self._data_cache = (key, data)
        return self._data_cache[1]

    def _n_distinct(self, X) -> int:
        """Number of distinct rows of X (cached per data choice)."""
        key = self.data_key
        if self._distinct_cache[0] != key:
            self._distinct_cache = (key, int(np.unique(X, axis=0).shape[0]))
        return self._distinct_cache[1]

    @property
    def data_key(self) -> tuple:
        """Changes exactly when :attr:`X` changes (views rebuild on it)."""
        if self.is_upload:
            return (self.dataset, self.features, self.scaled, self._upload_serial)
        return (self.dataset, self.features if self.is_mall else None,
                self.scaled if self.is_mall else None, None if self.is_mall else self.n_samples)

    @property
    def X(self) -> np.ndarray:
        """The data, ndarray of shape (n_samples, 2) (z-scored Mall columns if ``scaled``).

        Raises ValueError for an invalid data choice (``message`` says so too).
        """
        return self._data()[0]

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._data()[1]

    @property
    def units(self) -> str:
        """"z-scores", "raw units" (Mall, uploaded file) or "" (synthetic)."""
        if not (self.is_mall or self.is_upload):
            return ""
        return "z-scores" if self.scaled else "raw units"

    # --- restarts --------------------------------------------------------------------------
    @contextlib.contextmanager
    def hold(self):
        """Change several settings, then restart once::

            with model.hold():
                model.dataset = "rings"
                model.k = 3
        """
        self._holding += 1
        try:
            yield self
        finally:
            self._holding -= 1
        if self._holding == 0 and self._pending:
            self.restart()

    _pending = False

    def _settings_changed(self, change):
        """The one observer of every setting: restart now, or when the hold ends."""
        with self.hold():
            self._pending = True

    def _check_common(self) -> str:
        """The settings every model shares, as a readable problem or ""."""
        if self.seed < 0 or self.seed > MAX_SEED:
            return f"The seed must be a whole number from 0 to {MAX_SEED:,}; got {self.seed:,}."
        if self.k < 1:
            return f"k must be at least 1; got {self.k}."
        names = [name for _, name in dataset_choices()]
        if self.is_upload and self.uploaded is None:
            return "No CSV file is loaded yet: upload one, or choose another data set."
        if self.dataset not in names and not self.is_upload:
            return f"Unknown data set {self.dataset!r}; choose one of {', '.join(names)}."
        try:
            X = self.X
        except (ValueError, TypeError) as exc:
            return str(exc)
        n_distinct = self._n_distinct(X)
        if self.k > n_distinct:
            return (f"k = {self.k} is more than the {n_distinct:,} distinct points of this data: "
                    f"every cluster needs a point of its own. Choose k ≤ {n_distinct:,}.")
        return ""

    def restart(self):
        """Recompute the run(s) for the current settings and go back to step 0.

        Called automatically whenever a setting changes; problems are reported
        in ``message`` (never raised).
        """
        self._pending = False
        problem = self._check_common()
        with self.hold_trait_notifications():
            self.playing = False
            if problem:
                self._clear()
                self.message, self.message_level = problem, "error"
            else:
                try:
                    msg, level = self._compute()
                except (ValueError, TypeError) as exc:  # a setting the checks above missed
                    self._clear()
                    msg, level = str(exc), "error"
                self.message, self.message_level = msg, level
            self.index = 0
            self.revision += 1

    def _clear(self):  # pragma: no cover - subclasses override
        raise NotImplementedError

    def _compute(self) -> tuple[str, str]:  # pragma: no cover - subclasses override
        raise NotImplementedError

    def _length(self) -> int:  # pragma: no cover - subclasses override
        raise NotImplementedError

    # --- moving through the run ---------------------------------------------------------------
    @validate("index")
    def _clamp_index(self, proposal):
        return int(min(max(int(proposal["value"]), 0), max(self._length() - 1, 0)))

    @property
    def n_steps(self) -> int:
        """Number of steps of the run (0 when there is none)."""
        return self._length()

    @property
    def last_index(self) -> int:
        return max(self._length() - 1, 0)

    @property
    def at_start(self) -> bool:
        return self.index == 0

    @property
    def at_end(self) -> bool:
        """True on the last step (and when there is no run)."""
        return self.index >= self._length() - 1

    def step(self) -> bool:
        """One half-step forward; False (and nothing changes) at the end."""
        if self.at_end:
            return False
        self.index += 1
        return True

    def back(self) -> bool:
        """One half-step back; False at step 0."""
        if self.index == 0:
            return False
        self.index -= 1
        return True

    def reset(self):
        """Back to the first step of the same run (nothing is recomputed)."""
        self.playing = False
        self.index = 0

    def to_end(self):
        """Jump to the last step: the converged result."""
        self.playing = False
        self.index = self.last_index

    def goto(self, i: int):
        """Show step ``i``, clamped to the run."""
        self.index = i

    def new_seed(self) -> int:
        """Draw a fresh seed (different from the current one) and restart; returns it."""
        seed = self.seed
        while seed == self.seed:
            seed = secrets.randbelow(_NEW_SEED_BELOW)
        self.seed = seed
        return seed


# ---------------------------------------------------------------------------- stepper


class StepperModel(DataModel):
    """One K-means run, stepped half a step at a time.

    Settings (any change restarts the run at step 0)
    -------------------------------------------------
    dataset, features, scaled, n_samples
        The data (see :class:`DataModel`).
    k : int
        Number of clusters.
    init : {"k-means++", "random", "farthest", "manual"}
        Seeding. "manual": the learner places the k centres
        (:meth:`add_center`); the run starts when the k-th is placed.
    seed : int
        ``random_state`` of the run (0 … 2³²−1).
    manual_centers : list of [x, y]
        Centres placed so far, in the units of :attr:`X`.

    State
    -----
    trace : Trace or None
        Every step of the run, to convergence; None while the settings are
        invalid or manual centres are still missing.
    index : int
        The step on screen (always clamped to the run).
    playing : bool
        The app's player is running (the model itself has no timer).
    speed : float
        Steps per second while playing (0.5 … 10).

    Examples
    --------
    >>> m = StepperModel(init="manual", k=2, dataset="blobs")
    >>> m.trace is None, m.message
    (True, 'Click 2 centres on the plot to start (0 of 2 placed).')
    >>> m.add_center(0, 0), m.add_center(5, 5)
    (True, True)
    >>> m.current.describe()
    'Seeding · centre 1 placed by hand.'
    """

    init = Enum(INIT_CHOICES, default_value="k-means++")
    manual_centers = List()
    trace = Instance(Trace, allow_none=True)
    speed = Float(2.0)

    _settings = DataModel._settings + ("init", "manual_centers")

    def __init__(self, dataset="mall", features=DEFAULT_FEATURES, *, scaled=True, k=5,
                 init="k-means++", seed=0, n_samples=None, manual_centers=(), speed=2.0):
        super().__init__(dataset=dataset, features=tuple(features), scaled=scaled, k=k, init=init,
                         seed=seed, n_samples=n_samples, manual_centers=[list(c) for c in manual_centers],
                         speed=speed)

    @observe(*_settings)
    def _on_setting(self, change):
        name = change["name"]
        with self.hold():  # one restart, whatever else changes here
            # Centres placed by hand belong to the data (and k) they were placed on.
            if name in DataModel._data_settings and self.manual_centers:
                self.manual_centers = []
            elif name == "k" and len(self.manual_centers) > self.k:
                self.manual_centers = self.manual_centers[: self.k]
            self._settings_changed(change)

    @validate("speed")
    def _clamp_speed(self, proposal):
        return float(min(max(proposal["value"], 0.5), 10.0))

    @validate("manual_centers")
    def _check_centres(self, proposal):
        out = []
        for c in proposal["value"]:
            x, y = (float(v) for v in c)
            if not (math.isfinite(x) and math.isfinite(y)):
                raise traitlets.TraitError(f"A centre needs finite coordinates; got {c!r}.")
            out.append([x, y])
        return out

    # --- manual centres -----------------------------------------------------------------------
    @property
    def needs_centers(self) -> int:
        """How many more centres the learner must place (0 unless init is "manual")."""
        if self.init != "manual":
            return 0
        return max(self.k - len(self.manual_centers), 0)

    def add_center(self, x: float, y: float) -> bool:
        """Place one centre by hand (init "manual"); the k-th one starts the run.

        Returns False (and changes nothing) when not in manual mode or when k
        centres are already placed.
        """
        if self.init != "manual" or len(self.manual_centers) >= self.k:
            return False
        if not (math.isfinite(float(x)) and math.isfinite(float(y))):
            return False
        self.manual_centers = [*self.manual_centers, [float(x), float(y)]]
        return True

    def clear_centers(self):
        """Remove every centre placed by hand (the run stops until k are placed again)."""
        self.manual_centers = []

    def preview(self) -> Step:
        """A step to draw while centres are being placed: the data, unassigned,
        and the centres so far."""
        C = np.array(self.manual_centers, dtype=np.float64).reshape(-1, 2)
        return SeedStep(index=0, iteration=0, centers=C, labels=None, inertia=None,
                        method="manual", center_index=max(len(C) - 1, 0), chosen=-1, seed=None)

    # --- run ------------------------------------------------------------------------------------
    def _clear(self):
        self.trace = None

    def _compute(self):
        from ..lloyd import kmeans_steps

        if self.init == "manual":
            missing = self.needs_centers
            if missing:
                self.trace = None
                placed = len(self.manual_centers)
                word = "centre" if self.k == 1 else "centres"
                return (f"Click {self.k} {word} on the plot to start ({placed} of {self.k} placed)."
                        if placed == 0 else
                        f"Click {missing} more {'centre' if missing == 1 else 'centres'} on the plot "
                        f"({placed} of {self.k} placed)."), "info"
            init = np.array(self.manual_centers, dtype=np.float64)
        else:
            init = self.init
        self.trace = kmeans_steps(self.X, self.k, init=init, random_state=self.seed).trace()
        return "", ""

    def _length(self) -> int:
        return 0 if self.trace is None else len(self.trace)

    @property
    def current(self) -> Step | None:
        """The step on screen (None when there is no run)."""
        return None if self.trace is None else self.trace[self.index]

    @property
    def seed_used(self) -> int | None:
        """The integer seed of the run on screen (``trace.params["random_state"]``)."""
        return None if self.trace is None else self.trace.params.get("random_state")

    @observe("playing")
    def _play_from_start_at_end(self, change):
        # Pressing play on the last step replays the run from the start.
        if change["new"] and self.trace is not None and self.at_end:
            self.index = 0


# ---------------------------------------------------------------------------- compare


class CompareModel(DataModel):
    """Random vs k-means++ seeding on the same data and seed, in lockstep, plus a race.

    Settings: ``dataset``, ``features``, ``scaled``, ``n_samples``, ``k``,
    ``seed`` (any change recomputes both runs and clears the race).

    State
    -----
    traces : dict of init → Trace
        ``run_kmeans(X, k, init=init, random_state=seed)`` for each of
        :data:`COMPARE_INITS`; empty when the settings are invalid.
    index : int
        Shared step index, up to the longer run's last step; each side shows
        ``min(index, its own last step)``.
    race_results : DataFrame or None
        After :meth:`race`: one row per run (init, run, seed, inertia, n_iter).
    best_inertia : float
        Lowest final inertia of any run of the race (NaN before one).
    shares : dict of init → float
        Share of each init's runs that reached ``best_inertia`` (within
        ``1e-9`` relative).
    progress, progress_total : int
        Runs done / to do while racing.

    Examples
    --------
    >>> m = CompareModel(k=5, seed=0)
    >>> table = m.race(20)
    >>> table.groupby("init").size().to_dict()
    {'k-means++': 20, 'random': 20}
    >>> 0 <= m.shares["random"] <= 1
    True
    """

    traces = traitlets.Dict()
    race_results = Instance(pd.DataFrame, allow_none=True)
    best_inertia = Float(math.nan)
    shares = traitlets.Dict()
    progress = Int(0)
    progress_total = Int(0)
    racing = Bool(False)

    inits = COMPARE_INITS

    def __init__(self, dataset="mall", features=DEFAULT_FEATURES, *, scaled=True, k=5, seed=0,
                 n_samples=None):
        super().__init__(dataset=dataset, features=tuple(features), scaled=scaled, k=k, seed=seed,
                         n_samples=n_samples)

    @observe(*DataModel._settings)
    def _on_setting(self, change):
        self._settings_changed(change)

    def _clear(self):
        self.traces = {}
        self._clear_race()

    def _compute(self):
        from ..trace import run_kmeans

        X = self.X
        self.traces = {init: run_kmeans(X, self.k, init=init, random_state=self.seed)
                       for init in self.inits}
        self._clear_race()
        return "", ""

    def _clear_race(self):
        self.race_results = None
        self.best_inertia = math.nan
        self.shares = {}
        self.progress = 0

    def _length(self) -> int:
        return max((len(t) for t in self.traces.values()), default=0)

    def index_of(self, init: str) -> int:
        """The step index shown for one init: the shared index, clamped to its run."""
        return min(self.index, len(self.traces[init]) - 1)

    def current(self, init: str) -> Step | None:
        """The step on screen for one init (None when there is no run)."""
        if init not in self.traces:
            return None
        return self.traces[init][self.index_of(init)]

    def finished(self, init: str) -> bool:
        """Whether that side has reached its last step (it waits there for the other)."""
        return init in self.traces and self.index >= len(self.traces[init]) - 1

    # --- race ---------------------------------------------------------------------------------
    def race(self, n_runs: int = 100, progress=None) -> pd.DataFrame | None:
        """Run each init ``n_runs`` times, with seeds ``seed … seed + n_runs − 1``.

        Parameters
        ----------
        n_runs : int
            Restarts per init (1 … 10,000).
        progress : callable, optional
            Called as ``progress(done, total)`` now and then during the race
            (and once at the end, with ``done == total``).

        Returns
        -------
        DataFrame or None
            One row per run: ``init``, ``run``, ``seed``, ``inertia``,
            ``n_iter``; also stored in ``race_results``. None (and
            ``message`` says why) when the settings are invalid.
        """
        from ..trace import run_kmeans

        n_runs = int(n_runs)
        problem = ""
        if not 1 <= n_runs <= 10_000:
            problem = f"The number of restarts must be from 1 to 10,000; got {n_runs:,}."
        elif not self.traces:
            problem = self.message or "Fix the settings first."
        elif self.seed + n_runs - 1 > MAX_SEED:
            problem = f"Seeds {self.seed:,} … {self.seed + n_runs - 1:,} go past {MAX_SEED:,}; choose a smaller seed."
        if problem:
            self.message, self.message_level = problem, "error"
            return None
        X = self.X
        total = n_runs * len(self.inits)
        every = max(total // 50, 1)  # about 50 progress updates, whatever N is
        self.racing = True
        self.progress, self.progress_total = 0, total
        rows, done = [], 0
        try:
            for init in self.inits:
                for r in range(n_runs):
                    seed = self.seed + r
                    last = run_kmeans(X, self.k, init=init, random_state=seed).final
                    rows.append((init, r, seed, float(last.inertia), int(last.n_iter)))
                    done += 1
                    if done % every == 0 or done == total:
                        self.progress = done
                        if progress is not None:
                            progress(done, total)
        finally:
            self.racing = False
        table = pd.DataFrame(rows, columns=["init", "run", "seed", "inertia", "n_iter"])
        best = float(table["inertia"].min())
        reached = np.isclose(table["inertia"].to_numpy(), best, rtol=1e-9, atol=0.0)
        shares = {init: float(reached[(table["init"] == init).to_numpy()].mean()) for init in self.inits}
        with self.hold_trait_notifications():
            self.best_inertia = best
            self.shares = shares
            self.race_results = table
        return table
