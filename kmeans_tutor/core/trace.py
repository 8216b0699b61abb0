"""A recorded run: every step of one K-means run, indexable, tabular and replayable.

A trace can be written to JSON and read back into equal steps (floats are
written with Python's shortest round-tripping ``repr``, arrays with their dtype
and shape), so any run shown in class can be saved and replayed exactly.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .steps import STEP_TYPES, AssignStep, ConvergedStep, Step, UpdateStep

__all__ = ["Trace"]

FORMAT = "kmeans-tutor/trace"
VERSION = 1


def _encode(value):
    """A step field as JSON-ready data."""
    if isinstance(value, np.ndarray):
        return {"dtype": value.dtype.str, "shape": list(value.shape), "data": value.ravel().tolist()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode(value):
    if isinstance(value, dict) and set(value) == {"dtype", "shape", "data"}:
        return np.array(value["data"], dtype=np.dtype(value["dtype"])).reshape(value["shape"])
    return value


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
        return {
            "format": FORMAT,
            "version": VERSION,
            "params": {k: _encode(v) for k, v in self.params.items()},
            "feature_names": self.feature_names,
            "steps": [
                {"phase": s.phase, **{f.name: _encode(getattr(s, f.name)) for f in dataclasses.fields(s)}}
                for s in self._steps
            ],
        }

    def to_json(self, path: str | Path | None = None, *, indent: int | None = None) -> str:
        """The trace as a JSON string; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: dict) -> "Trace":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("Not a kmeans-tutor trace (missing 'format': 'kmeans-tutor/trace').")
        if data.get("version") != VERSION:
            raise ValueError(f"Unsupported trace version {data.get('version')!r}; this version reads {VERSION}.")
        steps = []
        for i, record in enumerate(data["steps"]):
            record = dict(record)
            phase = record.pop("phase", None)
            if phase not in STEP_TYPES:
                raise ValueError(f"Step {i} has unknown phase {phase!r}; expected one of {list(STEP_TYPES)}.")
            steps.append(STEP_TYPES[phase](**{k: _decode(v) for k, v in record.items()}))
        params = {k: _decode(v) for k, v in data.get("params", {}).items()}
        return cls(steps, params=params, feature_names=data.get("feature_names"))

    @classmethod
    def from_json(cls, text_or_path) -> "Trace":
        """Read a trace written by :meth:`to_json` (a JSON string or a file path)."""
        if isinstance(text_or_path, Path) or (isinstance(text_or_path, str)
                                              and not text_or_path.lstrip().startswith("{")):
            text = Path(text_or_path).read_text(encoding="utf-8")
        else:
            text = text_or_path
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"The trace is not valid JSON: {exc}") from None
        return cls.from_dict(data)
