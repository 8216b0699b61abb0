"""Traces: indexing, the per-step table, and an exact JSON round trip."""

import json

import numpy as np
import pandas as pd
import pytest

from kmeans_tutor import ConvergedStep, Trace, kmeans_steps, run_kmeans

NUMERIC = ["Age", "Annual Income (k$)", "Spending Score (1-100)"]


@pytest.fixture(scope="module")
def trace():
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(c, 1.0, size=(60, 2)) for c in ([0, 0], [6, 1], [2, 7])])
    return run_kmeans(X, 3, init="random", random_state=4)


def test_sequence_protocol(trace):
    assert len(trace) == len(list(trace))
    assert trace[0].phase == "seed" and isinstance(trace[-1], ConvergedStep)
    assert trace[1:3] == list(trace)[1:3]
    assert trace.n_iter == trace[-1].n_iter and trace.inertia == trace[-1].inertia


def test_to_frame(trace):
    frame = trace.to_frame()
    assert list(frame.columns) == ["phase", "iteration", "inertia", "changed", "max_shift", "description"]
    assert frame.index.tolist() == list(range(len(trace)))
    assert frame["phase"].tolist() == trace.phases()
    assigns = frame[frame.phase == "assign"]
    assert assigns["changed"].iloc[0] == 180
    assert assigns["changed"].iloc[-1] == 0
    updates = frame[frame.phase == "update"]
    np.testing.assert_allclose(updates["max_shift"], [s.max_shift for s in trace if s.phase == "update"])
    assert frame.loc[0, "inertia"] != frame.loc[0, "inertia"]  # NaN while seeding
    assert frame["description"].iloc[-1] == trace[-1].describe()


def test_json_round_trip_is_exact(tmp_path, trace):
    path = tmp_path / "run.json"
    text = trace.to_json(path)
    assert json.loads(text)["format"] == "kmeans-tutor/trace"
    again = Trace.from_json(path)
    assert again == trace
    for a, b in zip(trace, again):
        assert type(a) is type(b)
        if a.labels is not None:
            assert b.labels.dtype == a.labels.dtype
        assert a.inertia == b.inertia  # bit for bit
    assert Trace.from_json(text) == trace


def test_feature_names_survive(mall, tmp_path):
    t = kmeans_steps(mall[NUMERIC], 4, random_state=0).trace()
    assert t.feature_names == NUMERIC
    assert Trace.from_json(t.to_json()).feature_names == NUMERIC


def test_replay_from_the_recorded_seed(mall):
    t = run_kmeans(mall[NUMERIC], 5)  # no seed given: one is drawn and recorded
    seed = t.params["random_state"]
    assert isinstance(seed, int)
    assert run_kmeans(mall[NUMERIC], 5, random_state=seed) == t


def test_bad_trace_files(tmp_path):
    with pytest.raises(ValueError, match="not valid JSON"):
        Trace.from_json("{nope")
    with pytest.raises(ValueError, match="Not a kmeans-tutor trace"):
        Trace.from_json('{"steps": []}')
    with pytest.raises(ValueError, match="unknown phase 'teleport'"):
        Trace.from_json('{"format": "kmeans-tutor/trace", "version": 1, "steps": [{"phase": "teleport"}]}')
    with pytest.raises(ValueError, match="Unsupported trace version 99"):
        Trace.from_json('{"format": "kmeans-tutor/trace", "version": 99, "steps": []}')


def test_run_does_not_copy_X():
    X = np.random.default_rng(0).normal(size=(1000, 2))
    run = kmeans_steps(X, 3, random_state=0)
    assert run.X is X
    for step in run:
        for value in vars(step).values():
            if isinstance(value, np.ndarray):
                assert not np.shares_memory(value, X)


# --------------------------------------------------------------------- hostile or damaged files


import copy  # noqa: E402
import json as _json  # noqa: E402

from kmeans_tutor.core.trace_file import TraceError  # noqa: E402


def _good():
    from kmeans_tutor import run_kmeans

    return run_kmeans([[0, 0], [0, 1], [5, 5], [5, 6], [9, 9]], 2, random_state=0)


def _variant(change):
    data = _json.loads(_good().to_json())
    change(data)
    return _json.dumps(data)


@pytest.mark.parametrize("text, message", [
    ("", "JSON text or the path"),
    ("[1, 2]", "Not a kmeans-tutor trace"),
    ("{", "not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "nested far too deeply"),
    (_variant(lambda d: d.pop("steps")), "no list of 'steps'"),
    (_variant(lambda d: d.__setitem__("steps", {"a": 1})), "no list of 'steps'"),
    (_variant(lambda d: d["steps"].__setitem__(0, 7)), "not a record"),
    (_variant(lambda d: d["steps"][0]["centers"].__setitem__("dtype", "V1000000000")),
     "not a number type"),
    (_variant(lambda d: d["steps"][0]["centers"].__setitem__("dtype", "O")), "not a number type"),
    (_variant(lambda d: d["steps"][2]["labels"]["data"].__setitem__(0, 7)), "outside 0"),
    (_variant(lambda d: d["steps"][2]["labels"].update(shape=[6], data=[0] * 6)),
     "must be (6 finite numbers|a list of 5 whole numbers)"),
    (_variant(lambda d: d["steps"][2]["labels"]["data"].append(0)), "flat list of 5 numbers"),
    (_variant(lambda d: d["steps"][2].__setitem__("inertia", float("nan"))), "not a valid inertia"),
    (_variant(lambda d: d["steps"][2]["centers"]["data"].__setitem__(0, "x")), "numbers only"),
    (_variant(lambda d: d["steps"][2].__setitem__("phase", "explode")), "unknown phase"),
    (_variant(lambda d: d["steps"][2].__setitem__("evil", 1)), "unknown field"),
    (_variant(lambda d: d["steps"][2].pop("centers")), "incomplete"),
    (_variant(lambda d: d["steps"][2]["centers"].update(shape=[2, 2, 1])), "at most 2 sizes"),
    (_variant(lambda d: d.__setitem__("feature_names", ["a", "b", "c"])), "names 3 features"),
])
def test_damaged_or_hostile_traces_give_one_clear_error(text, message):
    with pytest.raises(TraceError, match=message):
        Trace.from_json(text)
    assert issubclass(TraceError, ValueError)


def test_trace_paths_that_are_not_files(tmp_path):
    with pytest.raises(TraceError, match="a folder"):
        Trace.from_json(tmp_path)
    with pytest.raises(TraceError, match="not found"):
        Trace.from_json(tmp_path / "missing.json")
    good = _good()
    path = tmp_path / "run.json"
    good.to_json(path)
    assert Trace.from_json(path) == good and Trace.from_json(str(path)) == good
