"""A recorded run: every step of one K-means run, indexable, tabular and replayable.

A trace can be written to JSON and read back into equal steps (floats are
written with Python's shortest round-tripping ``repr``, arrays with their dtype
and shape), so any run shown in class can be saved and replayed exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from .steps import AssignStep, ConvergedStep, Step, UpdateStep
from .trace_file import TraceError, decode_trace, encode_trace, parse_trace_json, read_trace_text

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Trace", "TraceError"]

class Trace(Sequence):
    """All the steps of one run, in order.

    Parameters
    ----------
    steps : iterable of Step
    params : dict, optional
        The settings the run was made with (``n_clusters``, ``init``,
        ``random_state``, ...), kept for replay and display.
    feature_names : sequence of str, optional

    Examples
    --------
    >>> from kmeans_tutor import run_kmeans
    >>> trace = run_kmeans([[0, 0], [0, 1], [5, 5], [5, 6]], 2, random_state=0)
    >>> trace[-1].phase, trace.n_iter
    ('converged', 2)
    >>> trace == Trace.from_json(trace.to_json())
    True
    """

    def __init__(self, steps: Iterable[Step], params: dict | None = None, feature_names=None):
        self._steps = list(steps)
        self.params = dict(params or {})
        self.feature_names = None if feature_names is None else [str(f) for f in feature_names]

    # --- sequence protocol ---------------------------------------------------
    def __getitem__(self, i):
        return self._steps[i]

    def __len__(self):
        return len(self._steps)

    def __eq__(self, other):
        if not isinstance(other, Trace):
            return NotImplemented
        return (self.params == other.params and self.feature_names == other.feature_names
                and len(self) == len(other) and all(a == b for a, b in zip(self, other)))

    __hash__ = None

    def __repr__(self):
        last = self._steps[-1] if self._steps else None
        tail = f", {last.describe()!r}" if last is not None else ""
        return f"Trace({len(self)} steps{tail})"

    # --- summaries -----------------------------------------------------------
    @property
    def final(self) -> Step:
        """The last step (a ConvergedStep for a finished run)."""
        return self._steps[-1]

    @property
    def n_iter(self) -> int | None:
        """Lloyd iterations run, when the run has finished."""
        last = self._steps[-1] if self._steps else None
        return last.n_iter if isinstance(last, ConvergedStep) else None

    @property
    def inertia(self) -> float | None:
        """Final inertia, when the run has finished."""
        last = self._steps[-1] if self._steps else None
        return last.inertia if isinstance(last, ConvergedStep) else None

    def phases(self) -> list[str]:
        """Phase name of every step."""
        return [s.phase for s in self._steps]

    def to_frame(self) -> pd.DataFrame:
        """One row per step: index, phase, iteration, inertia, points changed, largest shift.

        ``changed`` is the number of points that switched cluster (assign steps
        only) and ``max_shift`` the largest centre move (update steps only);
        other rows hold missing values there.
        """
        import pandas as pd  # here, not at the top: pandas costs a kernel 0.2 s and 32 MB

        rows = []
        for s in self._steps:
            rows.append({
                "index": s.index,
                "phase": s.phase,
                "iteration": s.iteration,
                "inertia": np.nan if s.inertia is None else s.inertia,
                "changed": s.n_changed if isinstance(s, AssignStep) else pd.NA,
                "max_shift": s.max_shift if isinstance(s, UpdateStep) else np.nan,
                "description": s.describe(),
            })
        frame = pd.DataFrame(rows, columns=["index", "phase", "iteration", "inertia", "changed",
                                            "max_shift", "description"])
        frame["changed"] = frame["changed"].astype("Int64")
        return frame.set_index("index")

    # --- JSON ---------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain data (lists, numbers, strings) for JSON."""
        return encode_trace(self._steps, self.params, self.feature_names)

    def to_json(self, path: str | Path | None = None, *, indent: int | None = None) -> str:
        """The trace as a JSON string; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: dict) -> "Trace":
        """A trace from :meth:`to_dict`'s plain data, every part checked.

        Raises
        ------
        TraceError
            (a ValueError) naming what is wrong and where.
        """
        steps, params, names = decode_trace(data)
        return cls(steps, params=params, feature_names=names)

    @classmethod
    def from_json(cls, text_or_path) -> "Trace":
        """Read a trace written by :meth:`to_json` (a JSON string or a file path).

        The file is checked before any step is built (numeric arrays only,
        shapes and labels consistent with one run, finite numbers), so a
        damaged or hostile file gives one :class:`~kmeans_tutor.core.trace_file.TraceError`.
        """
        return cls.from_dict(parse_trace_json(read_trace_text(text_or_path)))
