"""nprog.readers: one cell-to-text rule, whichever source a value comes from.

The same values are put in a CSV, a DataFrame (with the dtype pandas gives them, and again as plain
objects), a DuckDB file and a SQLite file, each read as a user's table is read (``Table.from_csv``,
``Table.from_dataframe``, ``nprog.sql.read_db_table``): every source must show the same text. Then the
whole-column fast paths of ``column_strings`` against ``cell_text`` cell by cell, over many dtypes.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from nprog.readers import cell_text, column_strings
from nprog.sql import read_db_table
from nprog.tables import Table

ROOT = Path(__file__).resolve().parents[1]
SKIP = object()  # this source cannot hold the value (SQLite has no booleans, dates or float32 …)


@dataclass(frozen=True)
class Case:
    id: str
    text: str  # what every source must show
    frame: tuple  # (the value, the dtype pandas holds it in); a second row holds the dtype's missing value
    duckdb: str | object  # a DuckDB expression for the value, or SKIP
    sqlite: object  # the value bound into SQLite (stored as is: the column has no type), or SKIP
    csv: bool = True  # a CSV file can hold the text


CASES = [
    Case("text", "Norway", ("Norway", object), "'Norway'", "Norway"),
    Case("text-like-missing", "NA", ("NA", object), "'NA'", "NA"),
    Case("text-padded", " 2 km ", (" 2 km ", object), "' 2 km '", " 2 km "),
    Case("integer", "16", (16, "Int64"), "16", 16),
    Case("big-integer", "9007199254740993", (9007199254740993, "Int64"), "9007199254740993::BIGINT",
         9007199254740993),
    Case("whole-float", "3.0", (3.0, "float64"), "3.0::DOUBLE", 3.0),
    Case("float", "2.5", (2.5, "float64"), "2.5::DOUBLE", 2.5),
    Case("float-exponent", "1e+20", (1e20, "float64"), "1e20::DOUBLE", 1e20),
    Case("float-small", "1e-05", (1e-5, "float64"), "0.00001::DOUBLE", 1e-5),
    Case("float32", "0.1", (0.1, "float32"), "0.1::FLOAT", SKIP),
    Case("nan", "", (np.nan, "float64"), "'nan'::DOUBLE", SKIP),  # SQLite stores NaN as NULL
    Case("null", "", (None, object), "NULL::VARCHAR", None),
    Case("bool", "True", (True, "boolean"), "true", SKIP),  # SQLite would store 1
    Case("decimal", "1.50", (decimal.Decimal("1.50"), object), "1.50::DECIMAL(6, 2)", SKIP),
    Case("blob-text", "hi", (b"hi", object), "'hi'::BLOB", b"hi"),
    Case("blob-broken", "\ufffdA", (b"\xffA", object), "'\\xFFA'::BLOB", b"\xffA"),
    Case("date", "2020-01-05", (dt.date(2020, 1, 5), object), "DATE '2020-01-05'", SKIP),
    Case("midnight", "2020-01-05", (pd.Timestamp("2020-01-05"), "datetime64[us]"),
         "TIMESTAMP '2020-01-05'", SKIP),
    Case("date-time", "2020-01-05 10:30:00", (pd.Timestamp("2020-01-05 10:30"), "datetime64[us]"),
         "TIMESTAMP '2020-01-05 10:30:00'", SKIP),
    Case("microseconds", "2020-01-05 10:30:00.500000",
         (pd.Timestamp("2020-01-05 10:30:00.5"), "datetime64[us]"), "TIMESTAMP '2020-01-05 10:30:00.5'", SKIP),
    Case("time-zone", "2020-01-05 10:30:00+00:00",
         (pd.Timestamp("2020-01-05 10:30", tz="UTC"), "datetime64[us, UTC]"),
         SKIP, SKIP),  # DuckDB returns it in the machine's time zone
    Case("time", "10:30:00", (dt.time(10, 30), object), "TIME '10:30'", SKIP),
    Case("list", "[1, 2]", ([1, 2], object), "[1, 2]", SKIP),
    Case("lone-surrogate", "a\ufffdb", ("a\ud800b", object), SKIP, SKIP, csv=False),
]  # fmt: skip
IDS = [c.id for c in CASES]


def _column(case: Case) -> pd.Series:
    value, dtype = case.frame
    return pd.Series([value, None], dtype=object).astype(dtype)  # None: NaN, NaT or NA in the dtype


@pytest.fixture(scope="module")
def read_from(tmp_path_factory) -> dict[str, dict[str, list[str]]]:
    """Each source's text of every case's column (the value, then a missing one), read as users read them."""
    d = tmp_path_factory.mktemp("readers")
    texts: dict[str, dict[str, list[str]]] = {}

    frame = pd.DataFrame({c.id: _column(c) for c in CASES})
    # the same values as objects (numpy's float32 stays float32), read cell by cell
    objects = pd.DataFrame(
        {name: pd.Series(list(column.array), dtype=object) for name, column in frame.items()}
    )
    for source, df in (("dataframe", frame), ("dataframe-objects", objects)):
        table = Table.from_dataframe(df)
        texts[source] = {c.original_name: c.strings.to_pylist() for c in table.columns}

    path = d / "t.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        rows = [
            [c.id for c in CASES if c.csv],
            [c.text for c in CASES if c.csv],
            ["" for c in CASES if c.csv],
        ]
        csv.writer(f).writerows(rows)
    texts["csv"] = {c.original_name: c.strings.to_pylist() for c in Table.from_csv(path).columns}

    path = d / "t.duckdb"
    with duckdb.connect(str(path)) as conn:
        cases = [c for c in CASES if c.duckdb is not SKIP]
        conn.execute("CREATE TABLE t AS SELECT " + ", ".join(f'{c.duckdb} AS "{c.id}"' for c in cases))
        conn.execute("INSERT INTO t DEFAULT VALUES")
    table, _ = read_db_table(path, "t")
    texts["duckdb"] = {c.original_name: c.strings.to_pylist() for c in table.columns}

    path = d / "t.sqlite"
    cases = [c for c in CASES if c.sqlite is not SKIP]
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (" + ", ".join(f'"{c.id}"' for c in cases) + ")")
        marks = ", ".join("?" for _ in cases)
        conn.execute(f"INSERT INTO t VALUES ({marks})", [c.sqlite for c in cases])
        conn.execute(f"INSERT INTO t VALUES ({marks})", [None for _ in cases])
        # TEXT that is not UTF-8 (another program wrote it): read as its bytes would be
        conn.execute("CREATE TABLE latin (name TEXT)")
        conn.execute("INSERT INTO latin VALUES (CAST(x'ff41' AS TEXT)), (NULL)")
    conn.close()
    table, _ = read_db_table(path, "t")
    texts["sqlite"] = {c.original_name: c.strings.to_pylist() for c in table.columns}
    texts["sqlite"]["blob-broken-text"] = read_db_table(path, "latin")[0].columns[0].strings.to_pylist()
    return texts


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_source_gives_the_same_text(read_from, case):
    seen = {source: texts[case.id] for source, texts in read_from.items() if case.id in texts}
    assert {source: case.text for source in seen} == {source: got[0] for source, got in seen.items()}
    assert all(got[1] == "" for got in seen.values()), seen  # and missing is "" everywhere
    assert cell_text(case.frame[0]) == case.text


def test_each_source_holds_what_it_can(read_from):
    """The sources above really were compared: every case in the DataFrames, most in the engines."""
    assert {len(read_from[s]) for s in ("dataframe", "dataframe-objects")} == {len(CASES)}
    assert len(read_from["duckdb"]) == len(CASES) - 2  # not the lone surrogate and the time zone
    assert len(read_from["sqlite"]) == 13  # its 12 values and the TEXT that is not UTF-8
    assert len(read_from["csv"]) == len(CASES) - 1  # not the lone surrogate
    assert read_from["sqlite"]["blob-broken-text"] == ["\ufffdA", ""]


# ---- whole columns at once = cell by cell


def _random_series(rng: np.random.Generator) -> dict[str, pd.Series]:
    n = 400
    floats = rng.standard_normal(n) * 10.0 ** rng.integers(-8, 22, n)
    floats[rng.random(n) < 0.1] = np.nan
    floats[:6] = [np.inf, -np.inf, -0.0, 0.0, 3.0, 1e16]
    ints = rng.integers(-(2**62), 2**62, n)
    stamps = rng.integers(-2 * 10**18, 4 * 10**18, n)  # 1906 … 2096, in nanoseconds
    for unit in (86_400 * 10**9, 10**9, 10**3):  # some at midnight, in whole seconds, in microseconds
        pick = rng.random(n) < 0.25
        stamps[pick] = stamps[pick] // unit * unit
    ns = pd.Series(stamps.astype("datetime64[ns]")).where(rng.random(n) > 0.1)  # with NaT
    words = np.array(["Norway", "", "ça va", "NA", "3.0", "1 200"], dtype=object)[rng.integers(0, 6, n)]
    return {
        "float64": pd.Series(floats),
        "float32": pd.Series(floats.astype(np.float32)),
        "float16": pd.Series(rng.standard_normal(n).astype(np.float16)),
        "Float64": pd.Series(floats, dtype="Float64"),
        "int64": pd.Series(ints),
        "uint8": pd.Series(ints.astype(np.uint8)),
        "Int64": pd.Series(ints, dtype="Int64").where(rng.random(n) > 0.1),
        "bool": pd.Series(rng.random(n) < 0.5),
        "boolean": pd.Series(rng.random(n) < 0.5, dtype="boolean").where(rng.random(n) > 0.1),
        "datetime64[ns]": ns,
        "datetime64[s]": ns.astype("datetime64[s]"),
        "datetime64[ms]": ns.astype("datetime64[ms]"),
        "datetime64[us, UTC]": ns.astype("datetime64[us]").dt.tz_localize("UTC"),
        "object-strings": pd.Series(words, dtype=object).where(rng.random(n) > 0.1),
        "object-mixed": pd.Series([*words[:100], *floats[:100], *ints[:100], *ns[:100]], dtype=object),
        "string": pd.Series(words, dtype="string").where(rng.random(n) > 0.1),
        "category": pd.Series(words, dtype="category").where(rng.random(n) > 0.1),
        "category-floats": pd.Series(floats, dtype="category"),
        "arrow-double": pd.Series(pd.array(floats, dtype="double[pyarrow]")),
        "arrow-int": pd.Series(pd.array(ints, dtype="int64[pyarrow]")),
        "arrow-timestamp": pd.Series(pd.arrays.ArrowExtensionArray(pa.array(ns.astype("datetime64[us]")))),
        "arrow-binary": pd.Series(pd.arrays.ArrowExtensionArray(pa.array([b"\xff", b"hi", None] * 3))),
    }


@pytest.mark.parametrize("seed", [0, 1])
def test_whole_columns_equal_cell_by_cell(seed):
    for name, series in _random_series(np.random.default_rng(seed)).items():
        want = [cell_text(v) for v in series.array]
        got = column_strings(series)
        assert got.type == pa.string() and isinstance(got, pa.Array), name
        assert got.to_pylist() == want, name


def test_datetimes_print_as_python_prints_them():
    stamps = ["2020-01-05", "2020-01-05 10:30", "1969-12-31 23:59:59.25", None]
    series = pd.Series(pd.to_datetime(stamps, format="ISO8601"))
    assert column_strings(series).to_pylist() == [
        "2020-01-05", "2020-01-05 10:30:00", "1969-12-31 23:59:59.250000", ""
    ]  # fmt: skip
    late = dt.datetime(2020, 1, 5, 10, 30, 0, 500000)
    assert cell_text(late) == str(late) and cell_text(pd.Timestamp(late)) == str(late)
    assert cell_text(pd.Timestamp("2020-01-05 00:00:00.000000001")) == "2020-01-05 00:00:00.000000001"
    assert cell_text(np.datetime64("2020-01-05T00:00")) == "2020-01-05"
    assert cell_text(np.datetime64("NaT")) == "" and cell_text(np.float32("nan")) == ""


def test_the_database_reader_imports_readers_without_torch():
    """nprog.dbworker imports nprog.readers (the rule) under its memory cap: it must stay free of torch."""
    code = "import sys, nprog.readers; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
