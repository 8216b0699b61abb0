"""Loading data: the Mall Customers file, and a learner's own CSV (kmeans_tutor.data)."""

import io
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmeans_tutor.data import mall as mall_module
from kmeans_tutor.data import MALL_COLUMNS, DataError, load_csv, load_mall_customers

from .conftest import MALL_CSV, problem_at

NUMERIC = ["Age", "Annual Income (k$)", "Spending Score (1-100)"]
FIRST_ROW_Z = np.array([-1.42456879, -1.73899919, -0.43480148])


# --------------------------------------------------------------------------- good CSVs


def test_load_csv_good_file_values_and_index(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("name,x,y\nada,1.5,-2\nbob, 3 ,4e2\ncy,-0.25,+7\n")
    df, report = load_csv(path, with_report=True)
    assert list(df.columns) == ["x", "y"]          # the text column is left out
    assert df.index.name == "row"
    assert df.index.tolist() == [1, 2, 3]
    assert (df.dtypes == np.float64).all()
    np.testing.assert_array_equal(df.to_numpy(), [[1.5, -2.0], [3.0, 400.0], [-0.25, 7.0]])
    assert report.ignored_columns == {"name": "text, not numbers"}
    assert report.encoding == "utf-8" and report.separator == ","
    assert report.lines == [2, 3, 4]
    assert report.left_out["name"].tolist() == ["ada", "bob", "cy"]
    pd.testing.assert_frame_equal(load_csv(path), df)  # without the report: the same frame


def test_load_csv_source_kinds_agree(tmp_path):
    content = b"a,b\n1,2\n3,4\n5,7\n"
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    expected = load_csv(content)
    with open(path, "rb") as fb, open(path, encoding="utf-8") as ft:
        sources = [str(path), path, bytearray(content), memoryview(content), io.BytesIO(content),
                   io.StringIO(content.decode()), fb, ft]
        for source in sources:
            pd.testing.assert_frame_equal(load_csv(source), expected)


def test_load_csv_features_pick_and_order_columns():
    df, report = load_csv(b"a,b,c\n1,2,3\n4,5,6\n", features=["c", "a"], with_report=True)
    assert list(df.columns) == ["c", "a"]
    np.testing.assert_array_equal(df.to_numpy(), [[3, 1], [6, 4]])
    assert list(report.ignored_columns) == ["b"]


def test_load_csv_mall_file_with_features(mall):
    df = load_csv(MALL_CSV, features=["Annual Income (k$)", "Spending Score (1-100)"],
                  duplicates="keep")
    assert df.shape == (200, 2)
    np.testing.assert_array_equal(df.to_numpy(), mall[df.columns].to_numpy(dtype=float))
    # By default every numeric-looking column is used, the ID too; the text column is not.
    assert list(load_csv(MALL_CSV).columns) == ["CustomerID", *NUMERIC]


def test_load_csv_blank_lines_crlf_bom_and_quoted_cells():
    content = (b"\xef\xbb\xbf\r\nlabel,x,y\r\n\r\n\"two\r\nlines\",1,2\r\n   \r\n\"3\",\"4\",5\r\n,,\r\n")
    df, report = load_csv(content, with_report=True)
    assert list(df.columns) == ["x", "y"]
    assert df.index.tolist() == [1, 2]   # blank lines are not data rows
    np.testing.assert_array_equal(df.to_numpy(), [[1, 2], [4, 5]])
    assert report.lines == [4, 7]


def test_load_csv_semicolon_and_tab_separators():
    for sep in (b";", b"\t"):
        df, report = load_csv(b"a" + sep + b"b\n1" + sep + b"2\n3" + sep + b"4\n", with_report=True)
        np.testing.assert_array_equal(df.to_numpy(), [[1, 2], [3, 4]])
        assert report.separator == sep.decode()


def test_load_csv_latin1_bytes_are_decoded():
    df, report = load_csv("café,ñ\n1,2\n3,4\n".encode("latin-1"), with_report=True)
    assert list(df.columns) == ["café", "ñ"]
    assert report.encoding in {"cp1252", "latin-1"}


def test_load_csv_utf16_with_bom():
    df = load_csv("a,b\n1,2\n3,4\n".encode("utf-16"))
    np.testing.assert_array_equal(df.to_numpy(), [[1, 2], [3, 4]])


def test_load_csv_constant_columns_are_fine_here():
    df = load_csv(b"a,b\n1,5\n2,5\n")
    np.testing.assert_array_equal(df["b"].to_numpy(), [5, 5])


# ------------------------------------------------------------------------ missing cells


@pytest.mark.parametrize("token", ["", "NA", "N/A", "?", "nan", "   ", "null", "na", " NaN "])
def test_load_csv_missing_cell_names_row_line_and_column(token):
    content = f"a,b\n1,2\n3,{token}\n5,6\n".encode()
    with pytest.raises(DataError) as info:
        load_csv(content)
    err = info.value
    p = problem_at(err, row=2, line=3, column="b")
    assert p is not None and p["problem"].startswith("missing")
    assert "row 2 (line 3), column 'b'" in str(err)
    assert "missing='drop'" in str(err)  # the cleaning option is suggested


def test_load_csv_missing_drop_keeps_row_numbers():
    df, report = load_csv(b"a,b\n1,2\n,4\n5,NA\n7,8\n9,?\n", missing="drop", with_report=True)
    assert df.index.tolist() == [1, 4]
    np.testing.assert_array_equal(df.to_numpy(), [[1, 2], [7, 8]])
    assert report.dropped_missing == [2, 3, 5]


def test_load_csv_missing_drop_still_needs_two_rows():
    with pytest.raises(DataError, match=r"1 usable data row after dropping 2 rows"):
        load_csv(b"a,b\n1,2\n,4\n5,\n", missing="drop")


def test_load_csv_drop_does_not_hide_text():
    with pytest.raises(DataError, match=r"row 2 \(line 3\), column 'a': 'oops' is not a number"):
        load_csv(b"a,b\n1,2\noops,4\n,6\n7,8\n", missing="drop")


def test_load_csv_extra_na_values():
    df = load_csv(b"a,b\n1,2\nunknown,4\n5,6\n", missing="drop", na_values=["Unknown"])
    assert df.index.tolist() == [1, 3]


def test_load_csv_short_row_is_reported_as_missing_cells():
    with pytest.raises(DataError) as info:
        load_csv(b"a,b,c\n1,2,3\n4\n5,6,7\n")
    assert problem_at(info.value, row=2, line=3, column="b") is not None
    assert problem_at(info.value, row=2, line=3, column="c") is not None


# ---------------------------------------------------------------------- bad cells/rows


def test_load_csv_text_in_numeric_column():
    with pytest.raises(DataError) as info:
        load_csv(b"age,income\n19,15\nforty,16\n22,17\n23,18\n")
    err = info.value
    p = problem_at(err, row=2, line=3, column="age")
    assert p["value"] == "forty" and "not a number" in p["problem"]
    assert str(err).startswith("The file has 1 cell that cannot be used as a number")


def test_load_csv_infinite_values():
    with pytest.raises(DataError) as info:
        load_csv(b"a,b\n1,inf\n1e400,3\n4,5\n")
    assert "not a finite number" in problem_at(info.value, row=1, column="b")["problem"]
    assert problem_at(info.value, row=2, line=3, column="a")["value"] == "1e400"


def test_load_csv_decimal_comma_hint():
    with pytest.raises(DataError, match="decimal comma"):
        load_csv(b"a;b\n1,5;2\n3;4\n5;6\n")


def test_load_csv_mostly_text_column_is_left_out_by_default():
    df, report = load_csv(b"a,b\n1,x\n2,y\n3,4\n", with_report=True)
    assert list(df.columns) == ["a"]
    assert list(report.ignored_columns) == ["b"]


def test_load_csv_empty_column_chosen_as_feature():
    with pytest.raises(DataError, match=r"chosen column is empty \(every cell is missing\): 'b'"):
        load_csv(b"a,b\n1,\n2,NA\n", features=["a", "b"])


def test_load_csv_text_column_chosen_as_feature():
    with pytest.raises(DataError, match=r"'gender'") as info:
        load_csv(b"gender,age\nMale,19\nFemale,20\n", features=["gender", "age"])
    assert "encode" in str(info.value)


def test_load_csv_many_problems_are_summarised():
    rows = "\n".join(f"{i}," for i in range(1, 16))  # 15 missing cells, then numbers
    with pytest.raises(DataError) as info:
        load_csv(f"a,b\n{rows}\n16,1\n17,2\n".encode())
    err = info.value
    assert len(err.problems) == 15
    message = str(err)
    assert message.count("\n  - ") == 10
    assert "and 5 more problems (15 in all" in message
    assert "row 10 (line 11)" in message and "row 11 (line 12)" not in message


def test_load_csv_ragged_rows_name_row_and_line():
    with pytest.raises(DataError, match="more fields than the header") as info:
        load_csv(b"a,b\n1,2\n3,4,5\n\n6,7\n8,9,10,11\n")
    err = info.value
    assert problem_at(err, row=2, line=3)["problem"] == "has 3 fields, but the header has 2"
    assert problem_at(err, row=4, line=6)["problem"] == "has 4 fields, but the header has 2"
    assert "row 2 (line 3)" in str(err)


def test_load_csv_line_numbers_count_multiline_quoted_cells():
    with pytest.raises(DataError, match=r"row 3 \(line 6\), column 'x'"):
        load_csv(b'note,x\n"a\nb",1\n"c\nd",2\ne,zzz\n')


def test_load_csv_duplicates_raise_names_both_rows():
    with pytest.raises(DataError) as info:
        load_csv(b"a,b\n1,2\n3,4\n1,2\n5,6\n3,4\n")
    err = info.value
    assert problem_at(err, row=3, line=4)["problem"].startswith("repeats row 1 (line 2)")
    assert problem_at(err, row=5, line=6)["problem"].startswith("repeats row 2 (line 3)")
    assert "duplicates='drop'" in str(err)


def test_load_csv_duplicates_drop_and_keep():
    content = b"a,b\n1,2\n3,4\n1,2\n5,6\n"
    dropped, report = load_csv(content, duplicates="drop", with_report=True)
    assert dropped.index.tolist() == [1, 2, 4]
    assert report.dropped_duplicates == [3]
    kept = load_csv(content, duplicates="keep")
    assert kept.index.tolist() == [1, 2, 3, 4]


def test_load_csv_duplicates_only_in_selected_features():
    df = load_csv(b"a,b\n1,2\n1,3\n", features=["b"])
    assert len(df) == 2
    with pytest.raises(DataError, match="repeats row 1"):
        load_csv(b"a,b\n1,2\n1,3\n", features=["a"])


def test_load_csv_needs_two_distinct_points():
    with pytest.raises(DataError, match="same point"):
        load_csv(b"a,b\n1,2\n1,2\n1,2\n", duplicates="keep")
    with pytest.raises(DataError, match="same point"):
        load_csv(b"a,b\n1,2\n1,2\n", duplicates="drop")


def test_load_csv_needs_two_rows():
    with pytest.raises(DataError, match="1 usable data row"):
        load_csv(b"a,b\n1,2\n")


# --------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "empty"),
        (b"   \n\n\t\n", "empty"),
        (b"\xef\xbb\xbf", "empty"),
        (b"a,b\n", "no data rows"),
        (b"a,b\n\n\n", "no data rows"),
        (b"1,2\n3,4\n", "looks like data, not column names"),
        (b"a,a\n1,2\n3,4\n", "repeats 1 column name: 'a'"),
        (b"name\nada\nbob\n", "No column of this file looks numeric"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "does not look like a CSV text file"),
        (b"PK\x03\x04\x14\x00\x06\x00", "does not look like a CSV text file"),
        (b"a,b\n1,\"2\n3,4\n", "Line 2 opens a quoted cell"),
    ],
)
def test_load_csv_bad_files(content, match):
    with pytest.raises(DataError, match=match):
        load_csv(content)


def test_load_csv_unknown_feature_lists_columns():
    with pytest.raises(DataError) as info:
        load_csv(b"Age,Income\n1,2\n3,4\n", features=["age", "Score"])
    message = str(info.value)
    assert "Unknown features: 'age' (did you mean 'Age'?), 'Score'" in message
    assert "The file's columns are: 'Age', 'Income'" in message
    assert {p["column"] for p in info.value.problems} == {"age", "Score"}


def test_load_csv_too_big_for_every_source_kind(tmp_path):
    content = b"a,b\n" + b"".join(b"%d,2\n" % i for i in range(100))
    path = tmp_path / "big.csv"
    path.write_bytes(content)
    for source in (content, path, str(path), io.BytesIO(content), io.StringIO(content.decode())):
        with pytest.raises(DataError, match=r"too large.*limit is 50 bytes"):
            load_csv(source, max_bytes=50)
    assert len(load_csv(content, max_bytes=len(content))) == 100


def test_load_csv_bad_sources():
    with pytest.raises(TypeError, match="source must be"):
        load_csv(42)
    with pytest.raises(TypeError, match="source must be"):
        load_csv(None)
    with pytest.raises(DataError, match="No such file"):
        load_csv("/no/such/dir/file.csv")
    with pytest.raises(DataError, match="looks like CSV text"):
        load_csv("a,b\n1,2\n3,4\n")


def test_load_csv_folder_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="folder"):
        load_csv(tmp_path)


def test_load_csv_bad_options():
    with pytest.raises(ValueError, match="missing"):
        load_csv(b"a\n1\n2\n", missing="fill")
    with pytest.raises(ValueError, match="duplicates"):
        load_csv(b"a\n1\n2\n", duplicates="ignore")
    with pytest.raises(TypeError, match="max_bytes"):
        load_csv(b"a\n1\n2\n", max_bytes=1.5)
    with pytest.raises(TypeError, match="features"):
        load_csv(b"a\n1\n2\n", features=[1])
    with pytest.raises(DataError, match="features is empty"):
        load_csv(b"a\n1\n2\n", features=[])


def test_data_error_is_a_value_error_with_records_and_pickles():
    with pytest.raises(ValueError) as info:
        load_csv(b"a,b\n1,x\n3,4\n5,6\n")
    err = info.value
    assert isinstance(err, DataError)
    assert err.problems == [{"row": 1, "line": 2, "column": "b", "value": "x",
                             "problem": "'x' is not a number"}]
    assert pd.DataFrame(err.problems).shape == (1, 5)
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.problems == err.problems


def test_file_level_errors_still_carry_a_problem_record():
    with pytest.raises(DataError) as info:
        load_csv(b"")
    assert len(info.value.problems) == 1 and info.value.problems[0]["row"] is None


# ------------------------------------------------------------------------ properties

_TOKENS = ["1", "-2.5", "3e2", "0", "7", "x", "NA", "?", "", " ", ",", ",", ";", "\t", "\n", "\n",
           "\r\n", "\r", '"', '""', "nan", "inf", "é", "\x00", "1e400", "a,b\n", "x,y,z\n"]


def _check_clean_or_data_error(content):
    try:
        df = load_csv(content)
    except DataError as err:
        assert str(err) and err.problems
        return
    assert isinstance(df, pd.DataFrame)
    assert len(df) >= 2 and df.shape[1] >= 1
    assert (df.dtypes == np.float64).all()
    assert np.isfinite(df.to_numpy()).all()
    assert df.index.is_unique and df.index.is_monotonic_increasing and df.index.min() >= 1
    assert len(df.drop_duplicates()) >= 2


@settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_give_clean_frame_or_data_error(content):
    _check_clean_or_data_error(content)


@settings(max_examples=120, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_TOKENS), max_size=60).map("".join),
       st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_token_soup_gives_clean_frame_or_data_error(text, encoding):
    _check_clean_or_data_error(("a,b\n" + text).encode(encoding, errors="replace"))
    _check_clean_or_data_error(text.encode(encoding, errors="replace"))


_number = st.one_of(st.integers(-100, 100).map(str), st.floats(-1e6, 1e6).map(repr))
_odd = st.sampled_from(["", " ", "NA", "N/A", "?", "nan", "x", '"1"', '"a,b"', '"', '"\n"',
                        "1e400", "inf", "é", "1,5"])
_cell = st.one_of(_number, _number, _number, _odd)
_row = st.one_of(st.lists(_cell, min_size=3, max_size=3), st.lists(_cell, min_size=3, max_size=3),
                 st.lists(_cell, min_size=0, max_size=4))


@settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_row, max_size=12), st.sampled_from([",", ";", "\t"]),
       st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())
def test_malformed_csv_rows_give_clean_frame_or_data_error(rows, sep, newline, header):
    text = (sep.join(["a", "b", "c"]) + newline if header else "") + newline.join(
        sep.join(cells) for cells in rows)
    _check_clean_or_data_error(text.encode())


@settings(max_examples=60, deadline=1000)
@given(st.lists(st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.integers(-1000, 1000)),
                min_size=2, max_size=30, unique=True))
def test_written_numbers_read_back_exactly(rows):
    content = "x,k\n" + "".join(f"{x!r},{k}\n" for x, k in rows)
    df = load_csv(content.encode())
    np.testing.assert_array_equal(df.to_numpy(), np.array(rows, dtype=float))
    assert df.index.tolist() == list(range(1, len(rows) + 1))


def test_report_says_which_columns_were_left_out_and_why():
    content = ("name,income,share,price,eu,count\n"
               "Ada,\"1,000\",5%,$5,\"3,5\",1\n"
               "Bob,\"2,500\",7%,$7,\"4,5\",2\n"
               "Cy,\"3,000\",9%,$9,\"5,5\",3\n").encode()
    df, report = load_csv(content, with_report=True)
    assert list(df.columns) == ["count"]
    why = report.ignored_columns
    assert why["name"] == "text, not numbers"
    assert "thousands separator" in why["income"] and "'1000'" in why["income"]
    assert "percent sign" in why["share"] and "currency sign" in why["price"]
    assert "decimal comma" in why["eu"]
    assert "Columns left out: 'name' (text, not numbers); 'income'" in report.describe()


def test_semicolon_file_with_a_comma_inside_a_quoted_header():
    df, report = load_csv(b'"name";"income, k$";"age"\nAda;15;19\nBob;16;21\n', with_report=True)
    assert report.separator == ";" and list(df.columns) == ["income, k$", "age"]


def test_too_many_columns_are_refused_quickly():
    from kmeans_tutor.data.csv_loader import MAX_COLUMNS

    header = ",".join(f"c{j}" for j in range(MAX_COLUMNS + 1))
    with pytest.raises(DataError, match=f"{MAX_COLUMNS + 1:,} columns.*at most {MAX_COLUMNS:,}"):
        load_csv((header + "\n" + ",".join("1" * (MAX_COLUMNS + 1)) + "\n").encode())
    wide = ",".join(f"c{j}" for j in range(MAX_COLUMNS))
    df = load_csv((wide + "\n" + ",".join(["1"] * MAX_COLUMNS) + "\n"
                   + ",".join(["2"] * MAX_COLUMNS) + "\n").encode())
    assert df.shape == (2, MAX_COLUMNS)


def test_devices_and_pipes_are_refused(tmp_path):
    import os

    with pytest.raises(DataError, match="not a regular file"):
        load_csv("/dev/zero")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="not a regular file"):
        load_csv(fifo)
    with pytest.raises(DataError, match="too large"):
        load_csv("/dev/zero", max_bytes=1000)
