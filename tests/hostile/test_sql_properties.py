"""Safe SQL: adversarial column names, cell values and table names never change what the exported SQL means.

For random programs on random hostile tables (quotes, backslashes, NUL, unicode, SQL keywords, names that
collide once case, whitespace, helper suffixes or PostgreSQL's 63-byte limit are applied) the SQL parses in
every dialect as one read-only SELECT, reads no table but the one it names, and returns the executor's
answer on DuckDB and SQLite, with decoy tables beside it and after they are dropped.
"""

from __future__ import annotations

import math
import sqlite3

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlglot import exp

from nprog.ops import OPS
from nprog.program import Program, Step, execute
from nprog.sql import _drop_if_exists, _name_key, layout, load_into, run_sql, to_sql
from nprog.tables import Table

DIALECTS = ["duckdb", "sqlite", "postgres", "mysql", "bigquery", "spark", "trino", "snowflake"]
DROP = '"; DROP TABLE t; --'
LONG = "é" * 40  # 80 bytes: two names that differ after byte 63 collide in PostgreSQL
KEYWORDS = ["select", "from", "where", "order", "group", "by", "table", "null", "NULL", "true", "count", "limit",
            "with", "as", "union", "drop", "t", "s1", "s2", "__row", "__row_2", "x", "x__text", "x__norm", "X__TEXT"]  # fmt: skip
HEADERS = st.one_of(
    st.sampled_from(KEYWORDS + [DROP, "Total", "total", "TOTAL", " total", "total ", "to\ntal", "to\x00tal",
                                "it's", 'say "hi"', "back\\slash", "\\", "`tick`", "[x]", "a.b", "%s", "?", ":x",
                                "名前", "Ünïcødé", LONG + "a", LONG + "b", "", " "]),
    st.text(st.sampled_from(list("aA _-'\"\\`;%?.()\x00\néÉ名ß")), max_size=6),
)  # fmt: skip
NASTY_CELLS = ["", "a", "A", "a\x00b", "\x00", "a\x00", "\\", "\\\\", "back\\slash", "\\'", "it's", "''", 'say "hi"',
               DROP, "NULL", "null", "%s", "?", "$1", "名前", "é", "e\u0301", "\U0001f600", "\u202e", "select",
               "\n", "\r\n", "\t", " a ", "-"]  # fmt: skip
TEXT = st.one_of(
    st.sampled_from(NASTY_CELLS), st.text(st.characters(blacklist_categories=("Cs",)), max_size=4)
)
NUMBER = st.one_of(st.integers(-3, 3).map(str), st.sampled_from(["2.5", "-0", "1,000", "1e3", "", "n/a", "inf", "1e400",
                                                                  "NaN", "\x001", "1\x00"]))  # fmt: skip
DATE = st.sampled_from(
    ["1990", "March 1990", "1990-03-01", "May 2001", "", "9999-12-31", "0001-01-01", "2001\x00"]
)
CELLS = {"text": TEXT, "number": NUMBER, "date": DATE, "mixed": st.one_of(TEXT, NUMBER)}
TABLE_NAMES = st.one_of(
    st.sampled_from(
        ["t", "T", "s1", "select", DROP, "my table", 'q"uote', "it's", "名前", "a.b", "__row", "t2"]
    ),
    st.text(st.sampled_from(list("ab _'\"`;.-é")), min_size=1, max_size=5).filter(lambda s: s.strip()),
)
ROW_OPS = [op for op in OPS if op.yields == "rows"]
WRITES = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Drop,
    exp.Create,
    exp.Alter,
    exp.Command,
    exp.Merge,
    exp.Copy,
)


@st.composite
def tables(draw) -> Table:
    kinds = draw(st.lists(st.sampled_from(sorted(CELLS)), min_size=1, max_size=4))
    header = [draw(HEADERS) for _ in kinds]
    rows = [[draw(CELLS[k]) for k in kinds] for _ in range(draw(st.integers(1, 6)))]
    return Table.from_dataframe(pd.DataFrame(rows, columns=header))


@st.composite
def programs(draw, table: Table) -> Program:
    steps = []
    final = draw(st.sampled_from([op for op in OPS if op.answers]))
    for op in [*draw(st.lists(st.sampled_from(ROW_OPS), max_size=3)), final]:
        column = table.column(draw(st.sampled_from(table.names))) if op.column else None
        number, values = None, []
        if op.number:
            own = [float(v) for v in column.value[~np.isnan(column.value)]]
            number = draw(st.sampled_from(own + [0.0, 1.0, 1990.0, math.inf, math.nan]))
        if op.literal == "words":  # words of the column's normalized cells, quotes and NUL too
            values = draw(st.lists(st.sampled_from([w for n in column.norm.to_pylist() for w in n.split(" ") if w]
                                                   + ["it's", "a\x00b", "%", "_"]), max_size=3))  # fmt: skip
        if op.literal == "cells":  # what the model passes: a text column's strings, else numbers
            if column.kind == "text":
                pool = column.strings.to_pylist() + ["a\x00b", "\\", "zz"]
            else:
                pool = [float(v) for v in column.value[~np.isnan(column.value)]] + [0.0, math.nan]
            values = draw(st.lists(st.sampled_from(pool), max_size=3))
        steps.append(Step(op.name, column.name if column else None, number, values))
    return Program(steps)


def referenced_tables(tree: exp.Expression) -> set[str]:
    """Names of the tables a query reads, CTEs excluded; a dotted path as written (BigQuery reads the
    quoted `a.b` as table b of dataset a, which is what that name means there)."""
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    return {".".join(part.name for part in t.parts) for t in tree.find_all(exp.Table)} - ctes


def decoy(table: Table) -> Table:
    """The same columns with other contents: SQL that read it instead would answer differently."""
    frame = pd.DataFrame([["decoy"] * table.n_columns] * 3, columns=[c.original_name for c in table.columns])
    return Table.from_dataframe(frame)


def connect(engine: str):
    return duckdb.connect() if engine == "duckdb" else sqlite3.connect(":memory:")


def row_counts(conn, names: list[str], dialect: str) -> dict[str, int]:
    count = exp.select(exp.Count(this=exp.Star()))
    return {n: conn.execute(count.from_(exp.Table(this=exp.to_identifier(n, quoted=True))).sql(dialect)).fetchone()[0]
            for n in names}  # fmt: skip


@st.composite
def exports(draw) -> tuple[Table, Program, str]:
    """A table, a program over it, and the name the SQL gives the table."""
    table = draw(tables(), label="table")
    return table, draw(programs(table), label="program"), draw(TABLE_NAMES, label="table name")


SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow  # ~10 s of generated cases: the CI's slow step (.ci/run)
@SETTINGS
@given(case=exports())
def test_sql_answers_like_the_executor_and_reads_only_its_table(case):
    table, program, name = case
    expected = execute(program, table).answer
    for engine in ("duckdb", "sqlite"):
        sql = to_sql(program, table, engine, name)
        note(f"{engine}:\n{sql}")
        conn = connect(engine)
        try:
            decoys = [d for d in ("t", "s1", "t2", name + "_") if _name_key(d) != _name_key(name)]
            for d in decoys:
                load_into(conn, decoy(table), d)
            load_into(conn, table, name)
            before = row_counts(conn, [*decoys, name], engine)
            assert run_sql(conn, sql) == expected
            assert row_counts(conn, [*decoys, name], engine) == before  # read-only
            for d in decoys:
                conn.execute(_drop_if_exists(exp.Table(this=exp.to_identifier(d, quoted=True))).sql(engine))
            assert run_sql(conn, sql) == expected  # the decoys never mattered
        finally:
            conn.close()


@SETTINGS
@given(case=exports())
def test_sql_parses_in_every_dialect_as_one_read_only_select_of_its_table(case):
    table, program, name = case
    for dialect in DIALECTS:
        sql = to_sql(program, table, dialect, name)
        note(f"{dialect}:\n{sql}")
        statements = sqlglot.parse(sql, read=dialect)
        assert len(statements) == 1 and isinstance(statements[0], exp.Select), sql
        tree = statements[0]
        assert not any(tree.find_all(*WRITES)), sql
        assert referenced_tables(tree) == {name}, sql
        assert "\x00" not in sql  # no engine takes a raw NUL in SQL text


@pytest.mark.parametrize(
    "header",
    [
        ["Total", "total", "TOTAL", " total", "total ", "to\ntal", "to tal"],
        ["x", "x__text", "X__TEXT", "x__text_2", "__row", "__ROW", "__row_2"],
        [LONG + "a", LONG + "b", LONG + "c"],
        ["", "", " ", "\x00", "column_1", "Unnamed: 0"],
        [DROP, '"', '""', "'", "`", "\\", "\\\\"],
    ],
    ids=["case and whitespace", "helper suffixes", "63-byte prefix", "empty and NUL", "quotes"],
)
def test_names_that_collide_after_normalisation_stay_apart(header):
    frame = pd.DataFrame([[str(i + j) for j in range(len(header))] for i in range(3)], columns=header)
    table = Table.from_dataframe(frame)
    keys = [_name_key(n) for n, _ in layout(table).sql_columns()]
    assert len(set(keys)) == len(keys), keys  # unique as DuckDB, SQLite and PostgreSQL compare names
    for engine in ("duckdb", "sqlite"):
        conn = connect(engine)
        load_into(conn, table, "t")
        for column in table.names:
            for program in (Program([Step("argmax", column), Step("print", column)]),
                            Program([Step("select", column, values=[2.0]), Step("print", column)])):  # fmt: skip
                assert run_sql(conn, to_sql(program, table, engine)) == execute(program, table).answer, (
                    column,
                    program,
                )
        conn.close()


def test_nul_in_a_selected_value_is_spelled_with_chr():
    table = Table.from_dataframe(pd.DataFrame({"name": ["a\x00b", "a", "b"], "n": ["1", "2", "3"]}))
    program = Program([Step("select", "name", values=["a\x00b"]), Step("print", "n")])
    for engine in ("duckdb", "sqlite"):
        sql = to_sql(program, table, engine)
        assert "\x00" not in sql and ("CHR(0)" in sql or "CHAR(0)" in sql)
        conn = connect(engine)
        load_into(conn, table, "t")
        assert run_sql(conn, sql) == ["1"] == execute(program, table).answer
        conn.close()
