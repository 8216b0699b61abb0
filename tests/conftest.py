"""Shared pytest fixtures.

Markers (``slow``, ``browser``) are declared in pyproject.toml, not here.
"""

import os

# Headless drawing for every test; must happen before anything imports pyplot.
os.environ.setdefault("MPLBACKEND", "Agg")
# Every test computes its numbers: tables kept between runs (kmeans_tutor.data.kept) are
# turned on only by the tests of that module, each in a folder of its own.
os.environ["KMEANS_TUTOR_TABLES"] = "off"

import numpy as np
import pytest


@pytest.fixture(scope="session")
def mall():
    """The Mall Customers DataFrame (200 rows), loaded once per session.

    Shared by every test that asks for it: treat it as read-only and call
    ``.copy()`` before changing it.
    """
    from kmeans_tutor import load_mall_customers

    return load_mall_customers()


@pytest.fixture
def rng():
    """A fresh, fixed-seed NumPy Generator for each test."""
    return np.random.default_rng(20240601)


@pytest.fixture(scope="module")
def restore_backend():
    """The widget apps switch pyplot to ipympl; put the session's backend back
    after the module (use with ``pytest.mark.usefixtures("restore_backend")``)."""
    import matplotlib
    import matplotlib.pyplot as plt

    old = matplotlib.get_backend()
    yield
    plt.close("all")
    plt.switch_backend(old)
