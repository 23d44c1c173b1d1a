"""Typed tables from any CSV or DataFrame, and the bad inputs people bring."""

import time

import numpy as np
import pandas as pd
import pytest

from nprog.tables import Table, TableError, read_csv


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_kinds_values_and_orders():
    df = pd.DataFrame(
        {
            "Nation": ["Norway", "Germany", "Canada", "Japan"],
            "Gold": ["16", "12", "12", "n/a"],
            "Date": ["March 3, 2011", "1998", "May 1999", "2011-01-01"],
        }
    )
    t = Table.from_dataframe(df)
    assert [c.kind for c in t.columns] == ["text", "number", "date"]
    gold = t.column("Gold")
    assert np.isnan(gold.value[3]) and not gold.valid[3]
    assert list(gold.order_desc[:3]) == [0, 1, 2]  # ties keep row order; invalid last
    assert list(gold.order_asc[:3]) == [1, 2, 0]
    assert gold.order_desc[-1] == 3 and gold.order_asc[-1] == 3
    date = t.column("Date")
    assert date.value[1] == 1998.0 and date.value[1] < date.value[2] < date.value[3] < date.value[0]
    assert t.cell(0, 1) == "16"


def test_odd_column_names_are_unique_printable_and_kept():
    df = pd.DataFrame([[1, 2, 3, 4, 5]], columns=["Total", "total", "", "a\nb", 'x"; DROP TABLE t; --'])
    t = Table.from_dataframe(df)
    assert t.names == ["Total", "total (2)", "column_3", "a b", 'x"; DROP TABLE t; --']
    assert [c.original_name for c in t.columns][3] == "a\nb"


def test_non_string_dataframes():
    df = pd.DataFrame({"n": [1, 2, None], "f": [1.5, np.nan, 3.0], "b": [True, False, True]})
    t = Table.from_dataframe(df)
    assert t.column("n").kind == "number" and t.column("f").value[0] == 1.5


def test_csv_quoting_and_sniffing(tmp_path):
    p = write(tmp_path, "semi.csv", b"Name;Score\nAnn;3,5\nBob;4\n")
    t = Table.from_csv(p)
    assert t.names == ["Name", "Score"] and t.n_rows == 2
    p = write(tmp_path, "quoted.csv", b'A,B\n"x, y","1,000"\n"line\nbreak",2\n')
    t = Table.from_csv(p)
    assert t.cell(0, 0) == "x, y" and t.column("B").value[0] == 1000 and t.cell(1, 0) == "line\nbreak"


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"\n\n  \n", "empty"),
        ("header.csv", b"a,b,c\n", "no rows"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5,6\n", "malformed CSV"),
        ("quote.csv", b'a,b\n"unterminated,2\n', "malformed CSV"),
        ("binary.csv", bytes(range(256)) * 40, "binary"),
    ],
)
def test_bad_files_give_one_clear_line(tmp_path, name, data, message):
    p = write(tmp_path, name, data)
    with pytest.raises(TableError) as err:
        Table.from_csv(p)
    text = str(err.value)
    assert name in text and message in text and "\n" not in text


def test_missing_file(tmp_path):
    with pytest.raises(TableError, match="cannot read"):
        read_csv(tmp_path / "nope.csv")


def test_non_utf8_and_utf16(tmp_path):
    p = write(tmp_path, "latin.csv", "Città,Punti\nMilano,3\nSão Paulo,4\n".encode("cp1252"))
    t = Table.from_csv(p)
    assert t.names == ["Città", "Punti"] and t.cell(1, 0) == "São Paulo"
    p = write(tmp_path, "utf16.csv", "a,b\n1,2\n".encode("utf-16"))
    assert Table.from_csv(p).names == ["a", "b"]


def test_all_nan_column_and_short_rows(tmp_path):
    p = write(tmp_path, "nan.csv", b"a,b\n1,\n2,\n3\n")
    t = Table.from_csv(p)
    assert t.column("b").kind == "text" and t.n_rows == 3 and not t.column("b").valid.any()


def test_size_limit(tmp_path):
    p = write(tmp_path, "big.csv", b"a,b\n" + b"1,2\n" * 1000)
    with pytest.raises(TableError, match="over the"):
        Table.from_csv(p, max_bytes=1000)


def test_a_100_mb_file_reads(tmp_path):
    big_cell = "x" * 100_000
    p = tmp_path / "big.csv"
    with open(p, "w") as f:
        f.write("id,text\n")
        for i in range(1000):
            f.write(f"{i},{big_cell}\n")
    assert p.stat().st_size > 100_000_000
    t0 = time.time()
    t = Table.from_csv(p)
    assert t.n_rows == 1000 and t.column("id").kind == "number"
    assert time.time() - t0 < 60


def test_empty_dataframe():
    with pytest.raises(TableError, match="no rows"):
        Table.from_dataframe(pd.DataFrame({"a": []}))
    with pytest.raises(TableError, match="no columns"):
        Table.from_dataframe(pd.DataFrame())


def test_partial_matches_agree_between_the_word_index_and_the_regex(monkeypatch):
    """Small tables use a word index, large ones a regex pass: both must mark the same cells."""


    from nprog import features
    from nprog.questions import parse_question

    df = pd.DataFrame({"a": ["New York City", "york", "Yorkshire", "", "the new one", "N.Y. (york)"],
                       "b": ["1", "2", "3", "4", "5", "6"], "c": ["x y", "new-york", "NEW", "y", "z", "yo rk"]})
    table = Table.from_dataframe(df)
    question = parse_question("which new york team won in yorkshire?")
    small = features.compute_features(table, question).partial
    monkeypatch.setattr(features, "WORD_INDEX_CELLS", 0)
    large = features.compute_features(Table.from_dataframe(df), question).partial
    assert small.any() and (small == large).all()


def test_tables_built_together_equal_tables_built_alone():
    """from_dataframes parses the strings of several tables in one pass: each must come out as if alone."""
    from tests.conftest import SAMPLES

    frames = [(read_csv(p), str(p)) for p in sorted(SAMPLES.glob("*.csv"))]
    together = Table.from_dataframes(frames)
    for (df, source), t in zip(frames, together, strict=True):
        alone = Table.from_dataframe(df, source)
        assert t.source == source and t.n_rows == alone.n_rows and t.names == alone.names
        for a, b in zip(t.columns, alone.columns, strict=True):
            assert a.kind == b.kind and a.strings.equals(b.strings) and a.norm.equals(b.norm)
            np.testing.assert_array_equal(a.value, b.value)
