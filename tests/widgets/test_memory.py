"""An app gives the memory its computations freed back to the system."""

import sys

import numpy as np
import pytest

import kmeans_tutor.widgets.base as base
from kmeans_tutor.widgets.stepper import StepperModel

glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or base._malloc_trim() is None,
                           reason="glibc's malloc_trim only")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@glibc
def test_freed_memory_goes_back_to_the_system():
    base.give_back_free_memory()
    kept = []
    # 3000 arrays of 96 kB (below the size glibc maps on its own), every other one
    # kept: the freed half stays with the process, between the kept ones, until it is
    # given back.
    arrays = [np.ones(12_000) for _ in range(3000)]
    kept.extend(arrays[::2])
    del arrays
    before = _rss_mb()
    assert base.give_back_free_memory() is True
    assert before - _rss_mb() > 50  # about 140 MB were freed
    assert all(a[0] == 1.0 for a in kept)  # what is still in use is untouched


def test_without_glibc_it_does_nothing(monkeypatch):
    def no_libc(name):
        raise OSError(f"{name}: cannot open shared object file")

    base._malloc_trim.cache_clear()
    monkeypatch.setattr(base.ctypes, "CDLL", no_libc)
    try:
        assert base.give_back_free_memory() is False
    finally:
        base._malloc_trim.cache_clear()


def test_every_restart_gives_memory_back(monkeypatch):
    calls = []
    monkeypatch.setattr(base, "give_back_free_memory", lambda: calls.append(1) or True)
    model = StepperModel(dataset="blobs", k=3, seed=1)
    assert len(calls) == 1
    model.k = 4
    with model.hold():
        model.seed = 2
        model.k = 5
    assert len(calls) == 3
    model.k = 500  # a setting the app refuses: still a restart, still given back
    assert len(calls) == 4 and model.message_level == "error"
