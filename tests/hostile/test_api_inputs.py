"""Hostile inputs only Python callers can pass: odd DataFrames, objects that are not tables or questions.

Each is answered, or refused with a TableError / QuestionError (both ValueErrors) naming the problem.
"""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
import pytest

from nprog.qa import QuestionError
from nprog.tables import Table, TableError

QUESTION = "which name has the highest score?"


def frame(rows, columns) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=pd.Index(columns, dtype=object), dtype=object)


ANSWERED = {
    "lone surrogates in cells": (frame([["\ud800x", "1"], ["y", "2"]], ["name", "score"]), ["name", "score"]),
    "lone surrogate in a header": (frame([["x", "1"], ["y", "2"]], ["\udcff", "score"]), ["\ufffd", "score"]),
    "bytes cells": (frame([[b"\x00\xff", "1"], [b"ok", "2"]], ["name", "score"]), ["name", "score"]),
    "bytes header": (frame([["x", "1"]], [b"name", "score"]), ["name", "score"]),
    "int headers": (pd.DataFrame([[1, 2], [3, 4]]), ["0", "1"]),
    "None and NaN headers": (frame([["x", "1"]], [None, np.nan]), ["column_1", "column_2"]),
    "tuple headers": (pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")])),
                      ["('a', 'x')", "('a', 'y')"]),
    "dicts and lists in cells": (frame([[{"a": 1}, [1, 2]], [set(), ()]], ["name", "score"]), ["name", "score"]),
    "huge ints and decimals": (frame([[10**40, decimal.Decimal("NaN")], [-(10**40), decimal.Decimal("1.5")]],
                                     ["name", "score"]), ["name", "score"]),
    "inf and NaN floats": (pd.DataFrame({"name": ["a", "b", "c"], "score": [np.inf, -np.inf, np.nan]}), ["name", "score"]),
    "nullable and categorical": (pd.DataFrame({"name": pd.Categorical(["a", None]), "score": pd.array([1, None], dtype="Int64")}),
                                 ["name", "score"]),
    "time zones and periods": (pd.DataFrame({"name": pd.period_range("2020-01", periods=2, freq="M"),
                                             "score": pd.to_datetime(["2020-01-01", None]).tz_localize("UTC")}),
                               ["name", "score"]),
    "duplicate index": (pd.DataFrame({"name": ["a", "b"], "score": [1, 2]}, index=[7, 7]), ["name", "score"]),
}  # fmt: skip


@pytest.mark.parametrize("case", ANSWERED, ids=list(ANSWERED))
def test_odd_dataframes_are_answered(case, qa):
    df, names = ANSWERED[case]
    answer = qa.ask(df, QUESTION)
    assert answer.table.names == names
    assert all(isinstance(v, str) for v in answer.answer)
    for r, c in answer.coordinates:  # coordinates point into the caller's frame
        assert 0 <= r < df.shape[0] and 0 <= c < df.shape[1]


REFUSED = {
    "None": (None, TableError, "cannot make a table from NoneType"),
    "a list": ([[1, 2]], TableError, "cannot make a table from list"),
    "a dict of unequal columns": ({"a": [1, 2], "b": [1]}, TableError, "cannot make a table of it"),
    "no columns": (pd.DataFrame(), TableError, "no columns"),
    "no rows": (pd.DataFrame({"a": []}), TableError, "no rows"),
    "a missing path": ("/no/such/table.csv", TableError, "/no/such/table.csv: cannot read the file"),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_non_tables_are_refused_clearly(case, qa):
    table, error, message = REFUSED[case]
    with pytest.raises(error, match=message):
        qa.ask(table, QUESTION)


@pytest.mark.parametrize("question", [None, 42, b"which name?", ["q"]], ids=["None", "int", "bytes", "list"])
def test_non_text_questions_are_refused_clearly(question, qa):
    with pytest.raises(QuestionError, match="a question must be text"):
        qa.ask(pd.DataFrame({"name": ["a"], "score": ["1"]}), question)


def test_lone_surrogate_in_a_question_is_answered(qa):
    assert isinstance(
        qa.ask(pd.DataFrame({"name": ["a", "b"], "score": ["1", "2"]}), "\ud800 which name?").answer, list
    )


def test_a_table_is_never_modified(qa):
    df = pd.DataFrame({"name": ["a", "b"], "score": ["1", "2"]})
    before = df.copy()
    qa.ask(df, QUESTION)
    pd.testing.assert_frame_equal(df, before)
    assert Table.from_dataframe(df).n_rows == 2
