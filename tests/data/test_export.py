"""Written CSVs open safely in a spreadsheet (kmeans_tutor.data.export)."""

import io

import pandas as pd
import pytest

from kmeans_tutor.data.export import neutralise, safe_csv


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://x","y")', "@SUM(A1:A2)", "+cmd|' /C calc'!A0",
                                  "-2+3", "\t=1", "\r=1", "=1"])
def test_formula_like_text_is_prefixed(cell):
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-5", "+3.5", "-1e3", "Ada", "", "a=b", 5, -5.0, None])
def test_numbers_and_plain_text_stay_as_they_are(cell):
    assert neutralise(cell) == cell


def test_safe_csv_round_trips_numbers_and_neutralises_text_cells_names_and_index():
    frame = pd.DataFrame({"=name": ["=HYPERLINK(1)", "-5", "Bob"], "score": [-1.5, 2.0, 3.0]},
                         index=pd.Index(["@row", "r2", "r3"], name="id"))
    back = pd.read_csv(io.StringIO(safe_csv(frame)), index_col=0, dtype={"'=name": str})
    assert list(back.columns) == ["'=name", "score"]
    assert back["'=name"].tolist() == ["'=HYPERLINK(1)", "-5", "Bob"]
    assert back["score"].tolist() == [-1.5, 2.0, 3.0]
    assert back.index.tolist() == ["'@row", "r2", "r3"]
