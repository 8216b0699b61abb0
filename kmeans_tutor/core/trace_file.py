"""A trace as plain data (JSON), and the checks that let a trace file be trusted.

Writing is exact: floats with Python's shortest round-tripping ``repr``, arrays
with their dtype and shape. Reading trusts nothing: a trace file may come from
anyone, so :func:`decode_trace` checks the whole file against the step
vocabulary before a step is built — known phases and fields only, numeric
array types only (no object arrays, no huge "void" types), shapes consistent
with the run (n points, k centres, d features), labels and row numbers in
range, finite numbers — and every problem is one :class:`TraceError`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from pathlib import Path

import numpy as np

from .steps import CONVERGENCE_REASONS, STEP_TYPES, Step

__all__ = ["TraceError", "FORMAT", "VERSION", "encode_trace", "decode_trace", "read_trace_text",
           "MAX_TRACE_BYTES"]

FORMAT = "kmeans-tutor/trace"
VERSION = 1
#: Largest trace file read (a 1M-point run of 50 steps is about 500 MB of JSON).
MAX_TRACE_BYTES = 1 << 30
_MAX_ELEMENTS = 1 << 28  # elements in one array: far above any real run, far below a memory bomb
_METHODS = ("k-means++", "random", "farthest", "manual", "callable")
_POLICIES = ("relocate", "keep")
# Field → (what it holds, its rule), read by _check_field.
_INTS = ("index", "iteration", "center_index", "chosen", "n_iter")
_OPTIONAL_NUMBERS = ("inertia", "previous_inertia", "potential")


class TraceError(ValueError):
    """A trace file that cannot be read: what is wrong, and where."""


# ----------------------------------------------------------------------------- writing


def _encode(value):
    """A step field as JSON-ready data."""
    if isinstance(value, np.ndarray):
        return {"dtype": value.dtype.str, "shape": list(value.shape), "data": value.ravel().tolist()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def encode_trace(steps, params: dict, feature_names) -> dict:
    """Plain data (lists, numbers, strings) for JSON."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "params": {k: _encode(v) for k, v in params.items()},
        "feature_names": feature_names,
        "steps": [{"phase": s.phase, **{f.name: _encode(getattr(s, f.name)) for f in dataclasses.fields(s)}}
                  for s in steps],
    }


# ----------------------------------------------------------------------------- reading


def read_trace_text(text_or_path) -> str:
    """The JSON text of a trace given as text or as a path to a file."""
    if isinstance(text_or_path, (bytes, bytearray)):
        text_or_path = bytes(text_or_path).decode("utf-8", errors="replace")
    if isinstance(text_or_path, str) and text_or_path.lstrip().startswith(("{", "[")):
        return text_or_path
    if not isinstance(text_or_path, (str, Path)) or not str(text_or_path).strip():
        raise TraceError(f"A trace is JSON text or the path of a trace file; got {text_or_path!r:.60}.")
    path = Path(text_or_path)
    try:
        if not path.is_file():
            what = "a folder" if path.is_dir() else "not a file" if path.exists() else "not found"
            raise TraceError(f"Cannot read the trace file '{path}': {what}.")
        if path.stat().st_size > MAX_TRACE_BYTES:
            raise TraceError(f"The trace file '{path}' is larger than {MAX_TRACE_BYTES:,} bytes.")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"Cannot read the trace file '{path}': {exc}.") from None


def parse_trace_json(text: str):
    """JSON text → Python data, any failure (bad JSON, absurd nesting) as a TraceError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceError(f"The trace is not valid JSON: {exc}") from None
    except RecursionError:
        raise TraceError("The trace is not valid: its JSON is nested far too deeply.") from None


def decode_trace(data) -> tuple[list[Step], dict, list | None]:
    """Steps, params and feature names from plain data, every part checked."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TraceError(f"Not a kmeans-tutor trace (missing 'format': {FORMAT!r}).")
    if data.get("version") != VERSION:
        raise TraceError(f"Unsupported trace version {data.get('version')!r:.40}; this version reads {VERSION}.")
    records = data.get("steps")
    if not isinstance(records, list):
        raise TraceError("The trace has no list of 'steps'.")
    params = _params(data.get("params", {}))
    steps = [_step(i, record) for i, record in enumerate(records)]
    names = _feature_names(data.get("feature_names"))
    _check_run(steps, params, names)
    return steps, params, names


def _params(params) -> dict:
    if not isinstance(params, dict):
        raise TraceError("The trace's 'params' must be a mapping of names to values.")
    out = {}
    for key, value in params.items():
        if isinstance(value, dict):
            value = _array(value, f"params {key!r}")
        elif not (value is None or isinstance(value, (str, bool, numbers.Real))):
            raise TraceError(f"params {key!r} holds {type(value).__name__}; expected a plain value.")
        out[str(key)] = value
    return out


def _feature_names(names):
    if names is None:
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise TraceError("The trace's 'feature_names' must be a list of texts.")
    return names


def _array(value, where: str) -> np.ndarray:
    """A numeric array from {"dtype", "shape", "data"}, refusing anything else."""
    if set(value) != {"dtype", "shape", "data"}:
        raise TraceError(f"{where}: an array needs exactly 'dtype', 'shape' and 'data'.")
    try:
        dtype = np.dtype(value["dtype"])
    except (TypeError, ValueError):
        raise TraceError(f"{where}: unknown dtype {value['dtype']!r:.40}.") from None
    if dtype.kind not in "biuf" or dtype.itemsize > 8:
        raise TraceError(f"{where}: dtype {dtype.str!r} is not a number type (expected integers or floats).")
    shape = value["shape"]
    if not isinstance(shape, list) or len(shape) > 2 or not all(
            isinstance(s, int) and not isinstance(s, bool) and 0 <= s for s in shape):
        raise TraceError(f"{where}: shape {shape!r:.40} is not a list of at most 2 sizes.")
    size = math.prod(shape)
    data = value["data"]
    if size > _MAX_ELEMENTS or not isinstance(data, list) or len(data) != size:
        raise TraceError(f"{where}: 'data' must be a flat list of {size:,} numbers (shape {shape}).")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in data):
        raise TraceError(f"{where}: 'data' must hold numbers only.")
    try:
        return np.array(data, dtype=dtype).reshape(shape)
    except (OverflowError, ValueError):
        raise TraceError(f"{where}: a value does not fit dtype {dtype.str!r}.") from None


def _step(i: int, record) -> Step:
    """One step from its record, with every field of the right kind."""
    if not isinstance(record, dict):
        raise TraceError(f"Step {i} is {type(record).__name__}, not a record of fields.")
    record = dict(record)
    phase = record.pop("phase", None)
    if phase not in STEP_TYPES:
        raise TraceError(f"Step {i} has unknown phase {phase!r:.40}; expected one of {list(STEP_TYPES)}.")
    cls = STEP_TYPES[phase]
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(record) - known)
    if unknown:
        raise TraceError(f"Step {i} ({phase}) has unknown field {unknown[0]!r:.40}.")
    fields = {name: _field(i, name, value) for name, value in record.items()}
    try:
        return cls(**fields)
    except TypeError as exc:  # a required field is missing
        raise TraceError(f"Step {i} ({phase}) is incomplete: {exc}.") from None


def _field(i: int, name: str, value):
    """A step field checked for its kind (arrays are checked against the run later)."""
    where = f"Step {i} field {name!r}"
    if isinstance(value, dict):
        return _array(value, where)
    if value is None:
        return None
    bad = False
    if name in _INTS:
        bad = isinstance(value, bool) or not isinstance(value, int)
    elif name in _OPTIONAL_NUMBERS:
        bad = isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
    elif name == "seed":
        bad = isinstance(value, bool) or not isinstance(value, int)
    elif name == "final":
        bad = not isinstance(value, bool)
    elif name in ("method", "policy", "reason"):
        allowed = {"method": _METHODS, "policy": _POLICIES, "reason": tuple(CONVERGENCE_REASONS)}[name]
        bad = value not in allowed
    else:  # an array field given as something else
        bad = True
    if bad:
        raise TraceError(f"{where} holds {value!r:.40}, which is not a valid {name}.")
    return value


# ----------------------------------------------------------------------------- the run as a whole


def _check_run(steps, params: dict, names) -> None:
    """Shapes consistent with one run of n points, k centres, d features; values in range."""
    if not steps:
        return
    d = steps[0].centers.shape[-1] if steps[0].centers.ndim == 2 else -1
    k = params.get("n_clusters", max(s.centers.shape[0] for s in steps))
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise TraceError(f"params 'n_clusters' must be a whole number ≥ 1, got {k!r:.40}.")
    n = next((len(s.labels) for s in steps if s.labels is not None), None)
    for i, s in enumerate(steps):
        _check_step(i, s, n, k, d)
    if names is not None and len(names) != d:
        raise TraceError(f"The trace names {len(names)} features, but its centres have {d}.")


def _check_step(i: int, s: Step, n, k: int, d: int) -> None:
    def fail(what):
        raise TraceError(f"Step {i} ({s.phase}): {what}.")

    def table(name, rows=None, cols=d):
        a = getattr(s, name)
        if a.ndim != 2 or a.shape[1] != cols or (rows is not None and a.shape[0] != rows):
            fail(f"{name!r} has shape {a.shape}, expected ({rows if rows is not None else 'm'}, {cols})")
        if not np.isfinite(a).all():
            fail(f"{name!r} holds a value that is not a finite number")

    def indices(name, high, length=None):
        a = getattr(s, name)
        if a is None:
            return
        if a.ndim != 1 or a.dtype.kind not in "iu" or (length is not None and len(a) != length):
            fail(f"{name!r} must be a list of {length if length is not None else ''} whole numbers")
        if a.size and (a.min() < 0 or a.max() >= high):
            fail(f"{name!r} holds {int(a.min() if a.min() < 0 else a.max())}, outside 0 … {high - 1}")

    def vector(name, length, low=-math.inf, high=math.inf):
        a = getattr(s, name)
        if a is None:
            return
        if a.ndim != 1 or len(a) != length or not np.isfinite(a).all() or (a < low).any() or (a > high).any():
            fail(f"{name!r} must be {length} finite numbers from {low} to {high}")

    table("centers")
    if not 1 <= s.centers.shape[0] <= k:
        fail(f"it has {s.centers.shape[0]} centres; the run has k = {k}")
    if s.labels is not None:
        indices("labels", s.centers.shape[0], n)
    if n is None and s.phase != "seed":
        fail("it has no labels")
    for name in ("changed", "candidates"):
        if hasattr(s, name):
            indices(name, n if n is not None else 2**62)
    if hasattr(s, "chosen") and not -1 <= s.chosen < (n if n is not None else 2**62):
        fail(f"'chosen' is {s.chosen}, not a row of the data")
    if hasattr(s, "probabilities"):
        vector("probabilities", n if n is not None else len(s.probabilities or []), 0.0, 1.0)
        vector("closest_dist_sq", n if n is not None else len(s.closest_dist_sq or []), 0.0)
        if s.candidates is not None:
            vector("candidate_potentials", len(s.candidates))
    if hasattr(s, "previous_centers") and s.previous_centers is not None:
        table("previous_centers", s.centers.shape[0])
        vector("shifts", s.centers.shape[0], 0.0)
    if hasattr(s, "clusters") and s.clusters is not None:
        indices("clusters", k)
        indices("relocated_to", n, len(s.clusters))
        if s.new_centers is not None:
            table("new_centers", len(s.clusters))
