"""What every app shares: the model base, the data choice, the step on screen, messages.

Every app of this package is a model (traitlets, no widgets: what a test can
drive) and a view (an ipywidgets container). The models are built on three
layers here, so that each rule is written once:

- :class:`AppModel` — settings in, outputs out. Any setting change restarts
  the model once (:meth:`AppModel.hold` batches several changes into one
  restart); a bad setting never raises from a handler: it is explained in
  ``message`` (``message_level == "error"``) and the outputs are cleared.
  ``revision`` goes up by one after every restart: the one signal views
  rebuild on. No object touches another's private state.
- :class:`DataModel` — the data choice (Mall columns, a synthetic set, an
  uploaded CSV; scaled or not), resolved by
  :func:`~kmeans_tutor.data.resolver.resolve_data`, plus ``k`` and ``seed``.
- :class:`RunModel` — a recorded run (or two) and the step on screen:
  ``index``, step/back/reset/to_end, a player's ``playing`` flag.

>>> from kmeans_tutor.widgets.stepper import StepperModel
>>> model = StepperModel(dataset="blobs", k=3, seed=7)
>>> model.current.phase, model.seed_used
('seed', 7)
>>> model.k = 500
>>> model.trace is None, model.message_level
(True, 'error')
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import html
import logging
import secrets
import warnings
from typing import TYPE_CHECKING

import traitlets
from traitlets import Bool, Enum, HasTraits, Instance, Int, TraitType, Tuple, Unicode, observe, validate

from ..core.steps import AssignStep, format_inertia
from ..core.validation import MAX_SEED, is_dataframe
from ..data.csv_loader import looks_like_id
from ..data.mall import DEFAULT_FEATURES
from ..data.resolver import MALL, UPLOAD, ChosenData, dataset_choices, resolve_data, source_key

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AppModel", "DataModel", "RunModel", "Stepping", "DataFrameTrait", "MAX_K", "quiet", "warning_html",
           "info_html", "message_html", "step_readout", "MAX_MESSAGE_CHARS", "give_back_free_memory"]

#: Most clusters an app draws: the palette has ten distinct colours (and a slider up to 10).
MAX_K = 10
#: Longest message shown on screen; longer ones are cut (a 1 MB cell must not become a 1 MB status).
MAX_MESSAGE_CHARS = 600
_NEW_SEED_BELOW = 100_000  # "new seed" draws short seeds: easy to read aloud and type


_log = logging.getLogger("kmeans_tutor")


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None on a system whose C library has none."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # macOS, Windows, musl
        return None


def give_back_free_memory() -> bool:
    """Return to the system the memory that a computation has freed.

    A fit's temporaries (blocks of distances, a picture's pixels as numbers) are freed
    when it ends, but glibc's allocator keeps freed pages for the process: a lesson's
    kernel would stay at its high-water mark for as long as the page is open. Called
    after every restart of an app (about 0.1 ms; the first call, which returns the most,
    a few ms). Returns False where the C library cannot do it (it then does nothing).
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class DataFrameTrait(TraitType):
    """A pandas DataFrame or None (the default), checked without importing pandas.

    ``Instance(pd.DataFrame)`` would load pandas with every app; an app that
    never sees a table need not (see :func:`~kmeans_tutor.core.validation.is_dataframe`).
    """

    default_value = None
    allow_none = True
    info_text = "a pandas DataFrame or None"

    def validate(self, obj, value):
        if value is None or is_dataframe(value):
            return value
        self.error(obj, value)


# ---------------------------------------------------------------------------- callbacks


def quiet(callback, report=None):
    """A widget callback whose warnings and errors never reach the page raw.

    A warning or a traceback can name files of the server; here warnings go to
    the kernel's log, and an unexpected error is logged and, when ``report``
    is given, told to the learner in one line (``report(text)``).
    """
    @functools.wraps(callback)
    def run(*args, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return callback(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the page gets one line, the log the rest
                _log.exception("widget callback failed")
                if report is not None:
                    report(f"Something went wrong ({type(exc).__name__}); the app kept its last state.")
            finally:
                for w in caught:
                    _log.info("warning in a widget callback: %s", w.message)
    return run


# ---------------------------------------------------------------------------- messages


def _short(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def warning_html(text: str) -> str:
    """A problem the learner must fix, as escaped HTML (cut to MAX_MESSAGE_CHARS)."""
    return f"<span class='kt-warning' style='color:#b00020'>⚠ {html.escape(_short(text))}</span>"


def info_html(text: str) -> str:
    """What to do next, as escaped HTML (cut to MAX_MESSAGE_CHARS)."""
    return f"<span class='kt-info' style='color:#0b5394'>➜ {html.escape(_short(text))}</span>"


def message_html(model: "AppModel") -> str:
    """A model's message as HTML ("" when there is none)."""
    if not model.message:
        return ""
    return warning_html(model.message) if model.message_level == "error" else info_html(model.message)


_PHASE_NAMES = {"seed": "seeding", "assign": "assign", "update": "update",
                "empty": "empty cluster", "converged": "converged"}


def step_readout(step, n_steps: int) -> str:
    """Phase, iteration, inertia and points changed of one step, as HTML."""
    changed = (f"{step.n_changed:,}" if isinstance(step, AssignStep) and step.previous_inertia is not None
               else "all (first assignment)" if isinstance(step, AssignStep) else "—")
    parts = [
        f"step <b>{step.index} / {n_steps - 1}</b>",
        f"phase <b>{_PHASE_NAMES.get(step.phase, step.phase)}</b>",
        f"iteration <b>{step.iteration}</b>",
        f"inertia <b>{format_inertia(step.inertia)}</b>",
        f"points changed <b>{changed}</b>",
    ]
    return " &nbsp;·&nbsp; ".join(parts)


# ---------------------------------------------------------------------------- the base


class AppModel(HasTraits):
    """Settings in, outputs out, one restart per change.

    Subclasses list their setting traits in ``_settings`` and implement
    ``_check() -> str`` (a problem a learner can fix, or ""), ``_compute()``
    (fill the outputs; return ``(message, level)``) and ``_clear()`` (empty
    the outputs).

    Traits
    ------
    message : str
        What the learner should know now: an error in the settings, or what
        to do next; "" when all is well.
    message_level : {"", "info", "error"}
    revision : int
        Goes up by one each time a restart is complete.
    """

    message = Unicode("")
    message_level = Enum(("", "info", "error"), default_value="")
    revision = Int(0)

    _settings: tuple[str, ...] = ()

    def __init__(self, **settings):
        self._holding = 0
        self._pending = False
        super().__init__()
        self.observe(self._setting_changed, names=list(self._settings))
        with self.hold():
            for name, value in settings.items():
                if not self.has_trait(name):
                    raise TypeError(f"{type(self).__name__} has no setting {name!r}.")
                setattr(self, name, value)
        if self.revision == 0:  # every value was the default: nothing changed, so start now
            self.restart()

    @contextlib.contextmanager
    def hold(self):
        """Change several settings, then restart once (when the outermost hold ends)::

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

    def _setting_changed(self, change):
        """The one observer of every setting: restart now, or when the hold ends."""
        with self.hold():
            self._follow(change)
            self._pending = True

    def _follow(self, change):
        """Adjust other settings that depend on the one that changed (inside the same hold)."""

    def restart(self):
        """Recompute the outputs for the current settings.

        Called whenever a setting changes; a problem is reported in
        ``message`` (never raised) and the outputs are cleared. Outputs may
        change while this runs (a progress counter does); ``revision`` goes
        up once they are all complete.
        """
        self._pending = False
        self._before_restart()
        problem = self._check()
        if problem:
            self._clear()
            msg, level = problem, "error"
        else:
            try:
                msg, level = self._compute()
            except (ValueError, TypeError) as exc:  # a setting the checks missed
                self._clear()
                msg, level = str(exc), "error"
        with self.hold_trait_notifications():
            # Observers hear of the changes in this order: outputs, revision (apps redraw every
            # readout), then message. So the page gets the new message last, when what it
            # speaks of is already on screen.
            self._publish()
            self.revision += 1
            self.message, self.message_level = msg, level
        give_back_free_memory()

    def report(self, problem: str):
        """Show a problem without restarting (e.g. a button pressed at the wrong time)."""
        self.message, self.message_level = str(problem), "error"

    def _before_restart(self):
        """Anything to stop before the outputs are recomputed (e.g. a player)."""

    def _publish(self):
        """Anything to reset together with the new outputs (e.g. the step on screen)."""

    def _check(self) -> str:  # pragma: no cover - subclasses override
        return ""

    def _compute(self) -> tuple[str, str]:  # pragma: no cover - subclasses override
        raise NotImplementedError

    def _clear(self):  # pragma: no cover - subclasses override
        raise NotImplementedError


# ---------------------------------------------------------------------------- the data


class DataModel(AppModel):
    """The data choice shared by the apps, plus ``k`` and ``seed``.

    Traits
    ------
    dataset : str
        "mall", a synthetic data set name (spaces, hyphens and case are
        normalised: "Pimpled smiley" → "pimpled_smiley"), or "upload".
    features : tuple of str
        The columns to cluster on (Mall or an uploaded file); kept while a
        synthetic set is shown, so that going back to Mall restores them.
        How many an app takes is its ``n_features`` (min, max).
    scaled : bool
        Z-score the columns (Mall and an uploaded file; synthetic sets are
        never rescaled, see :mod:`~kmeans_tutor.data.resolver`).
    n_samples : int or None
        Points drawn for a synthetic set (None: its default).
    uploaded : DataFrame or None
        The learner's own CSV (numeric columns, from
        :func:`~kmeans_tutor.data.csv_loader.load_csv`), shown when
        ``dataset`` is "upload"; set it with :meth:`use_upload`.
    uploaded_name : str
        The uploaded file's name (as given: escape it before showing it).
    k : int
        Number of clusters (1 … number of distinct points).
    seed : int
        ``random_state``, 0 … 2³²−1.
    """

    dataset = Unicode(MALL)
    features = Tuple(default_value=DEFAULT_FEATURES)
    scaled = Bool(True)
    n_samples = Int(None, allow_none=True)
    uploaded = DataFrameTrait()
    uploaded_name = Unicode("")
    k = Int(5)
    seed = Int(0)

    #: Fewest and most features the app clusters on (None: no most).
    n_features: tuple[int, int | None] = (1, None)
    #: Most clusters: values from the page are checked again here, whatever a widget allowed.
    max_k: int = MAX_K
    _data_settings = ("dataset", "features", "scaled", "n_samples", "uploaded")
    _settings = _data_settings + ("k", "seed")

    def __init__(self, **settings):
        self._upload_serial = 0
        self._data_cache: tuple = (None, None)
        if isinstance(settings.get("features"), str):  # one column, named alone
            settings["features"] = (settings["features"],)
        super().__init__(**settings)

    @validate("dataset")
    def _normalise_dataset(self, proposal):
        return source_key(proposal["value"])

    @validate("features")
    def _features_are_names(self, proposal):
        value = proposal["value"]
        value = (value,) if isinstance(value, str) else tuple(value)
        if not all(isinstance(f, str) for f in value):
            raise traitlets.TraitError(f"features must be column names (text), got {value!r}.")
        return value

    @observe("uploaded")
    def _count_uploads(self, change):
        self._upload_serial += 1  # a new file: cached data of the old one is stale

    # --- the data ---------------------------------------------------------------------------
    @property
    def is_mall(self) -> bool:
        return self.dataset == MALL

    @property
    def is_upload(self) -> bool:
        return self.dataset == UPLOAD

    @property
    def data_key(self) -> tuple:
        """Changes exactly when :attr:`data` changes (views rebuild on it)."""
        if self.is_upload:
            return (self.dataset, self.features, self.scaled, self._upload_serial)
        if self.is_mall:
            return (self.dataset, self.features, self.scaled)
        return (self.dataset, self.n_samples)

    @property
    def data(self) -> ChosenData:
        """The chosen data, resolved (cached per :attr:`data_key`).

        Raises ValueError for a choice that cannot be used (``message`` says so too).
        """
        key = self.data_key
        if self._data_cache[0] != key:
            self._data_cache = (key, self._resolve(self.dataset, self.features, self.uploaded,
                                                   self.uploaded_name))
        return self._data_cache[1]

    def _resolve(self, dataset, features, frame, name) -> ChosenData:
        """resolve_data for this app, with its rule on how many features."""
        own = dataset in (MALL, UPLOAD)
        if own:
            features = tuple(features)
            lo, hi = self.n_features
            if len(set(features)) != len(features) or len(features) < lo or (hi and len(features) > hi):
                want = {1: "one", 2: "two"}.get(lo, str(lo))
                want = f"{want} different features (columns)" if lo == hi else f"at least {want} feature"
                raise ValueError(f"Choose {want} to cluster on; got {features!r}.")
        return resolve_data(dataset, features if own else None, scaled=self.scaled,
                            n_samples=self.n_samples, frame=frame, name=name)

    @property
    def X(self):
        """The data to cluster, ndarray of shape (n_samples, n_features)."""
        return self.data.X

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.data.feature_names

    @property
    def units(self) -> str:
        """"z-scores", "raw units" (Mall, an uploaded file) or "" (synthetic)."""
        return self.data.units

    # --- checks -----------------------------------------------------------------------------
    def _check(self) -> str:
        """The seed, the data and k, as a readable problem or ""."""
        if not 0 <= self.seed <= MAX_SEED:
            return f"The seed must be a whole number from 0 to {MAX_SEED:,}; got {self.seed:,}."
        if self.k < 1:
            return f"k must be at least 1; got {self.k}."
        names = [name for _, name in dataset_choices()]
        if self.dataset not in names and not self.is_upload:
            return f"Unknown data set {self.dataset!r}; choose one of {', '.join(names)}."
        try:
            data = self.data
        except (ValueError, TypeError) as exc:
            return str(exc)
        if self.k > data.n_distinct:
            return (f"k = {self.k} is more than the {data.n_distinct:,} distinct points of this "
                    f"data: every cluster needs a point of its own. Choose k ≤ {data.n_distinct:,}.")
        if self.k > self.max_k:  # e.g. a slider's limit raised from the page
            return f"k = {self.k} is more than this app shows: choose k from 1 to {self.max_k}."
        return ""

    # --- a learner's file -------------------------------------------------------------------
    def use_upload(self, frame: pd.DataFrame, name: str = "", features=None):
        """Show a learner's CSV (from :func:`~kmeans_tutor.data.csv_loader.load_csv`): one restart.

        ``features`` defaults to the file's first columns that are not
        identifiers (as many as the app needs, at most two). Raises ValueError,
        changing nothing, when the file cannot be used with these settings
        (too few numeric columns, unknown features, k above its distinct points).
        """
        if not is_dataframe(frame):
            raise TypeError(f"frame must be a DataFrame; got {type(frame).__name__}.")
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        if features is None:
            features = self._default_upload_features(frame)
        data = self._resolve(UPLOAD, features, frame, name)  # raises before anything changes
        if self.k > data.n_distinct:
            raise ValueError(f"The file has {data.n_distinct:,} distinct points, fewer than k = "
                             f"{self.k}: lower k, then upload it again.")
        with self.hold():
            self.uploaded = frame
            self.uploaded_name = str(name)
            self.features = data.feature_names
            self.dataset = UPLOAD

    def _default_upload_features(self, frame: pd.DataFrame) -> tuple:
        import pandas as pd  # already loaded: frame is a DataFrame

        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        lo, hi = self.n_features
        want = max(lo, min(2, hi if hi is not None else 2))
        if len(numeric) < want:
            need = "the picture needs two, one per axis" if want == 2 else "clustering needs one"
            raise ValueError(f"The file has {len(numeric)} numeric column"
                             f"{'' if len(numeric) == 1 else 's'}"
                             f"{' (' + ', '.join(map(repr, numeric)) + ')' if numeric else ''}; "
                             f"{need}.")
        plain = [c for c in numeric if not looks_like_id(c)]
        return tuple((plain if len(plain) >= want else numeric)[:want])

    def new_seed(self) -> int:
        """Draw a fresh seed (different from the current one) and restart; returns it."""
        seed = self.seed
        while seed == self.seed:
            seed = secrets.randbelow(_NEW_SEED_BELOW)
        self.seed = seed
        return seed


# ---------------------------------------------------------------------------- the step on screen


class Stepping(HasTraits):
    """The step on screen of a recorded run, and the moves of a transport row.

    Traits
    ------
    index : int
        The step on screen; always clamped to the run (0 when there is none).
    playing : bool
        An app's player is running (models have no timer).

    Subclasses implement ``_length()``: the number of steps on screen.
    """

    index = Int(0)
    playing = Bool(False)

    def _length(self) -> int:  # pragma: no cover - subclasses override
        raise NotImplementedError

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


class RunModel(DataModel, Stepping):
    """A data choice, the run(s) recorded on it, and the step on screen (:class:`Stepping`).

    Every restart stops the player and puts ``index`` back to 0.
    Subclasses implement ``_length()``: the number of steps on screen.
    """

    def _before_restart(self):
        self.playing = False

    def _publish(self):
        self.index = 0
