"""Shared by the data tests: the Mall file's path, and finding a problem in a DataError."""

from pathlib import Path

import pytest

from kmeans_tutor.data import DataError

ROOT = Path(__file__).resolve().parents[2]
MALL_CSV = ROOT / "data" / "mall_customers.csv"


def problem_at(err: DataError, row=None, line=None, column=None):
    """The first problem record at that place, or None."""
    for p in err.problems:
        if ((row is None or p["row"] == row) and (line is None or p["line"] == line)
                and (column is None or p["column"] == column)):
            return p
    return None


@pytest.fixture(scope="module")
def mall():
    from kmeans_tutor.data import load_mall_customers

    return load_mall_customers()
