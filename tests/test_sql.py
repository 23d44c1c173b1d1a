"""SQL export: SQL result == executor result, string for string, on DuckDB, SQLite and PostgreSQL.

In the style of sqlglot's own tests: tables of rows — (program, table, expected answer) run on every
engine, (case, dialect, expected SQL) printed exactly — then properties over random programs on random
adversarial tables, parse-back in eight dialects, the loaded layout, and reading DuckDB/SQLite files.

PostgreSQL rows run when a server answers at $NPROG_PG_DSN (default
postgresql://postgres@127.0.0.1:5432/postgres; `.ci/postgres.sh` starts one) and skip otherwise.
"""

from __future__ import annotations

import math
import os
import sqlite3
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlglot import exp

from nprog.ops import OPS
from nprog.program import Program, ProgramError, Step, execute
from nprog.sql import (
    SQL_FORMS,
    check_agreement,
    layout,
    load_into,
    read_db_table,
    run_program,
    run_sql,
    to_expression,
    to_sql,
)
from nprog.tables import Table, TableError

PG_DSN = os.environ.get("NPROG_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PARSE_DIALECTS = ["duckdb", "sqlite", "postgres", "mysql", "bigquery", "spark", "trino", "snowflake"]


def table(**columns: list[str]) -> Table:
    return Table.from_dataframe(pd.DataFrame(columns))


def frame_table(header: list[str], rows: list[list[str]]) -> Table:
    """For headers a keyword argument cannot spell."""
    return Table.from_dataframe(pd.DataFrame(rows, columns=header))


# Gold: a number column with a tie and an invalid cell; Date: full and partial dates, one missing
MEDALS = table(
    Nation=["Norway", "Germany", "Canada", "norway", "Sweden", "Canada"],
    Gold=["3", "5", "5", "1", "n/a", "2"],
    Date=["March 3, 1990", "1991", "June 1990", "", "1990", "May 2001"],
)
DROP = '"; DROP TABLE t; --'
# headers that are SQL keywords, hold quotes, spaces, unicode, or an injection attempt; values likewise
ADVERSARIAL = frame_table(
    ["select", "from", "order", "total sales", "it's", 'say "hi"', DROP, "Ünïcødé 名前", "back\\slash"],
    [
        ["it's", "1", "1990", "10", "a", "x", "1", "ü", "\\"],
        ['say "hi"', "2", "1991", "20", "b", "y", "2", "名前", "\\n"],
        [DROP, "2", "1992", "30", "a", "x", "3", "ü", "%s"],
        ["select", "", "", "", "", "", "", "", "?"],
    ],
)
# a totals row, as sports and finance tables end
TOTALS = table(Nation=["Norway", "Germany", "Canada", "Total"], Gold=["3", "5", "2", "10"])
# helper-name collisions: a column already called __row, x beside x__text, y beside y__norm
COLLIDING = frame_table(
    ["__row", "x", "x__text", "y", "y__norm"],
    [["r0", "1", "one", "p", "5"], ["r1", "2", "two", "p", "6"], ["r2", "2", "two", "q", "7"]],
)
# missing and invalid cells everywhere
HOLES = table(
    n=["1", "", "n/a", "4", "—", "4"],
    d=["", "2001", "", "May 2001", "nope", "2001"],
    s=["", "x", "", "-", "y", ""],
)


@dataclass(frozen=True)
class Case:
    id: str
    table: Table
    steps: tuple[Step, ...]
    answer: tuple[str, ...]

    @property
    def program(self) -> Program:
        return Program(list(self.steps))


def case(id: str, tbl: Table, steps: list[Step], answer: list[str]) -> Case:
    return Case(id, tbl, tuple(steps), tuple(answer))


P = Step  # short rows below

CASES = [
    case("count", MEDALS, [P("count")], ["6"]),
    case("print-text", MEDALS, [P("print", "Nation")], ["Norway", "Germany", "Canada", "norway", "Sweden"]),
    case("print-number", MEDALS, [P("print", "Gold")], ["3", "5", "1", "n/a", "2"]),
    case("print-date", MEDALS, [P("first"), P("print", "Date")], ["March 3, 1990"]),
    case("greater", MEDALS, [P("greater", "Gold", 2.0), P("print", "Nation")],
         ["Norway", "Germany", "Canada"]),
    case("less", MEDALS, [P("less", "Gold", 3.0), P("print", "Nation")], ["norway", "Canada"]),
    case("geq", MEDALS, [P("geq", "Gold", 5.0), P("count")], ["2"]),
    case("leq", MEDALS, [P("leq", "Gold", 1.0), P("print", "Nation")], ["norway"]),
    case("greater-text-col", MEDALS, [P("greater", "Nation", 0.0), P("count")], ["0"]),
    case("less-date", MEDALS, [P("less", "Date", 1991.0), P("print", "Nation")],
         ["Norway", "Canada", "Sweden"]),
    case("geq-date-month", MEDALS, [P("geq", "Date", 1990 + 5 / 12), P("print", "Date")],
         ["1991", "June 1990", "May 2001"]),
    case("less-inf", MEDALS, [P("less", "Gold", math.inf), P("count")], ["5"]),
    case("geq-inf", MEDALS, [P("geq", "Gold", math.inf), P("count")], ["0"]),
    case("leq-nan", MEDALS, [P("leq", "Gold", math.nan), P("count")], ["0"]),
    case("argmax-tie", MEDALS, [P("argmax", "Gold"), P("print", "Nation")], ["Germany", "Canada"]),
    case("argmin", MEDALS, [P("argmin", "Gold"), P("print", "Nation")], ["norway"]),
    case("argmin-date", MEDALS, [P("argmin", "Date"), P("print", "Nation")], ["Sweden"]),
    case("argmax-text-col", MEDALS, [P("argmax", "Nation"), P("count")], ["0"]),
    case("argmax-of-selection", MEDALS, [P("select", "Nation", values=["Canada"]), P("argmax", "Gold"),
                                         P("print", "Date")], ["June 1990"]),
    case("argmin-empty", MEDALS, [P("greater", "Gold", 9.0), P("argmin", "Gold"), P("count")], ["0"]),
    case("first", MEDALS, [P("greater", "Gold", 2.0), P("first"), P("print", "Nation")], ["Norway"]),
    case("last", MEDALS, [P("greater", "Gold", 2.0), P("last"), P("print", "Nation")], ["Canada"]),
    case("first-empty", MEDALS, [P("greater", "Gold", 9.0), P("first"), P("count")], ["0"]),
    case("previous", MEDALS, [P("previous"), P("count")], ["5"]),
    case("next", MEDALS, [P("next"), P("count")], ["5"]),
    case("previous-top-edge", MEDALS, [P("first"), P("previous"), P("count")], ["0"]),
    case("next-bottom-edge", MEDALS, [P("last"), P("next"), P("count")], ["0"]),
    case("previous-of-argmin", MEDALS, [P("argmin", "Gold"), P("previous"), P("print", "Nation")],
         ["Canada"]),
    case("next-next", MEDALS, [P("first"), P("next"), P("next"), P("print", "Gold")], ["5"]),
    case("mfe-text-norm", MEDALS, [P("mfe", "Nation"), P("print", "Nation")], ["Norway", "Canada", "norway"]),
    case("mfe-number", MEDALS, [P("mfe", "Gold"), P("print", "Nation")], ["Germany", "Canada"]),
    case("mfe-none", MEDALS, [P("mfe", "Date"), P("count")], ["0"]),
    case("select-text", MEDALS, [P("select", "Nation", values=["Canada", "Sweden"]), P("count")], ["3"]),
    case("select-exact-string", MEDALS, [P("select", "Nation", values=["canada"]), P("count")], ["0"]),
    case("select-number", MEDALS, [P("select", "Gold", values=[5.0, 1.0]), P("print", "Nation")],
         ["Germany", "Canada", "norway"]),
    case("select-nothing", MEDALS, [P("select", "Gold", values=[]), P("count")], ["0"]),
    case("reset", MEDALS, [P("greater", "Gold", 2.0), P("reset"), P("count")], ["6"]),
    case("multi-step", MEDALS, [P("geq", "Date", 1990.0), P("less", "Gold", 5.0), P("argmax", "Gold"),
                                P("next"), P("print", "Date")], ["1991"]),
    # adversarial names and values
    case("keyword-columns", ADVERSARIAL, [P("geq", "from", 2.0), P("print", "select")], ['say "hi"', DROP]),
    case("keyword-date", ADVERSARIAL, [P("argmax", "order"), P("print", "order")], ["1992"]),
    case("space-name", ADVERSARIAL, [P("greater", "total sales", 15.0), P("count")], ["2"]),
    case("quote-values", ADVERSARIAL, [P("select", "select", values=["it's", DROP]), P("print", "it's")],
         ["a"]),
    case("dquote-name", ADVERSARIAL, [P("mfe", 'say "hi"'), P("print", "back\\slash")], ["\\", "%s"]),
    case("injection-name", ADVERSARIAL, [P("argmin", DROP), P("print", DROP)], ["1"]),
    case("unicode", ADVERSARIAL, [P("select", "Ünïcødé 名前", values=["名前"]), P("print", "Ünïcødé 名前")],
         ["名前"]),
    case("backslash", ADVERSARIAL, [P("select", "back\\slash", values=["\\", "\\n"]), P("count")], ["2"]),
    case("empty-cells-printed", ADVERSARIAL, [P("last"), P("print", "it's")], [""]),
    case("colliding-row", COLLIDING, [P("previous"), P("print", "__row")], ["r0", "r1"]),
    case("colliding-text", COLLIDING, [P("mfe", "x"), P("print", "x__text")], ["two"]),
    case("colliding-norm", COLLIDING, [P("mfe", "y"), P("print", "y__norm")], ["5", "6"]),
    # NULL / missing cells
    case("holes-argmax", HOLES, [P("argmax", "n"), P("print", "s")], ["-", ""]),
    case("holes-compare", HOLES, [P("leq", "n", 100.0), P("count")], ["3"]),
    case("holes-mfe-text", HOLES, [P("mfe", "s"), P("count")], ["0"]),  # "" and "-" normalize to nothing
    case("holes-mfe-date", HOLES, [P("mfe", "d"), P("print", "n")], ["", "4"]),
    case("holes-print", HOLES, [P("print", "s")], ["", "x", "-", "y"]),
    # sum / average / difference of a column over the selected rows; yes/no
    case("sum", MEDALS, [P("sum", "Gold")], ["16"]),
    case("sum-of-selection", MEDALS, [P("select", "Nation", values=["Canada"]), P("sum", "Gold")], ["7"]),
    case("sum-of-nothing", MEDALS, [P("greater", "Gold", 100.0), P("sum", "Gold")], ["0"]),
    case("sum-text-col", MEDALS, [P("sum", "Nation")], ["0"]),
    case("sum-holes", HOLES, [P("sum", "n")], ["9"]),
    case("average", MEDALS, [P("average", "Gold")], ["3.2"]),
    case("average-of-nothing", MEDALS, [P("greater", "Gold", 100.0), P("average", "Gold")], []),
    case("average-text-col", MEDALS, [P("average", "Nation")], []),
    case("difference", MEDALS, [P("select", "Nation", values=["Norway", "Canada"]), P("difference", "Gold")],
         ["3"]),
    case("difference-of-nothing", MEDALS, [P("greater", "Gold", 100.0), P("difference", "Gold")], []),
    case("difference-date", MEDALS, [P("difference", "Date")], ["11.3333"]),
    case("exists-yes", MEDALS, [P("greater", "Gold", 4.0), P("exists")], ["yes"]),
    case("exists-no", MEDALS, [P("greater", "Gold", 100.0), P("exists")], ["no"]),
    case("exists-all", MEDALS, [P("exists")], ["yes"]),
    # contains, filters ANDed with the incoming rows, negation
    case("contains", MEDALS, [P("contains", "Nation", values=["norway"]), P("count")], ["2"]),
    case("contains-whole-words", MEDALS, [P("contains", "Nation", values=["way"]), P("count")], ["0"]),
    case("contains-holes", HOLES, [P("contains", "s", values=["x", "y"]), P("print", "n")], ["", "—"]),
    case("contains-quote", ADVERSARIAL, [P("contains", "select", values=["it", "hi"]), P("count")], ["2"]),
    case("and-select", MEDALS, [P("greater", "Gold", 2.0), P("and_select", "Nation", values=["Canada"]),
                                P("count")], ["1"]),
    case("and-contains", MEDALS, [P("greater", "Gold", 2.0), P("and_contains", "Nation", values=["norway"]),
                                  P("print", "Nation")], ["Norway"]),
    case("exclude", MEDALS, [P("exclude", "Nation", values=["Canada"]), P("count")], ["4"]),
    case("exclude-of-selection", MEDALS, [P("greater", "Gold", 2.0), P("exclude", "Nation", values=["Germany"]),
                                          P("print", "Nation")], ["Norway", "Canada"]),
    case("exclude-invalid-cells", MEDALS, [P("exclude", "Gold", values=[5.0]), P("count")], ["4"]),
    case("exclude-nothing-named", MEDALS, [P("exclude", "Gold", values=[]), P("count")], ["6"]),
    # a totals row: out of the initial rows (counts, sums, superlatives, comparisons), selectable by name
    case("totals-count", TOTALS, [P("count")], ["3"]),
    case("totals-print", TOTALS, [P("print", "Nation")], ["Norway", "Germany", "Canada"]),
    case("totals-argmax", TOTALS, [P("argmax", "Gold"), P("print", "Nation")], ["Germany"]),
    case("totals-sum", TOTALS, [P("sum", "Gold")], ["10"]),
    case("totals-greater", TOTALS, [P("greater", "Gold", 4.0), P("count")], ["1"]),
    case("totals-reset-last", TOTALS, [P("reset"), P("last"), P("print", "Nation")], ["Canada"]),
    case("totals-previous", TOTALS, [P("previous"), P("print", "Nation")], ["Norway", "Germany"]),
    case("totals-first", TOTALS, [P("first"), P("print", "Nation")], ["Norway"]),
    case("totals-mfe", TOTALS, [P("mfe", "Gold"), P("count")], ["0"]),
    case("totals-exists", TOTALS, [P("exists")], ["yes"]),
    case("totals-asked", TOTALS, [P("select", "Nation", values=["Total"]), P("print", "Gold")], ["10"]),
    case("totals-contains", TOTALS, [P("contains", "Nation", values=["total"]), P("sum", "Gold")], ["10"]),
    case("totals-next", TOTALS, [P("last"), P("next"), P("print", "Nation")], ["Total"]),
]  # fmt: skip

# (case, dialect, SQL printed without pretty); read each against the program by eye
SQL_ROWS = [
    ("count", "duckdb", 'SELECT COUNT(*) AS "count" FROM "t"'),
    ("totals-count", "duckdb", 'SELECT COUNT(*) AS "count" FROM "t" WHERE NOT "__row" IN (3)'),
    ("totals-greater", "sqlite",
     'WITH "s1" AS (SELECT "__row" FROM "t" WHERE "Gold" > 4.0 AND NOT "__row" IN (3)) '
     'SELECT COUNT(*) AS "count" FROM "s1"'),
    ("sum-of-selection", "postgres",
     'WITH "s1" AS (SELECT "__row" FROM "t" WHERE "Nation" IN (\'Canada\')) '
     'SELECT COALESCE(SUM("Gold"), 0.0) AS "x" FROM "t" WHERE "__row" IN (SELECT "__row" FROM "s1")'),
    ("exists-no", "duckdb",
     'WITH "s1" AS (SELECT "__row" FROM "t" WHERE "Gold" > 100.0) '
     'SELECT CASE WHEN EXISTS(SELECT "__row" FROM "s1") THEN \'yes\' ELSE \'no\' END'),
    ("greater", "sqlite",
     'WITH "s1" AS (SELECT "__row" FROM "t" WHERE "Gold" > 2.0) '
     'SELECT "Nation" FROM "t" WHERE "__row" IN (SELECT "__row" FROM "s1") '
     'GROUP BY "Nation" ORDER BY MIN("__row")'),
    ("previous-top-edge", "postgres",
     'WITH "s1" AS (SELECT "__row" FROM "t" WHERE "__row" = (SELECT MIN("__row") FROM "t")), '
     '"s2" AS (SELECT "__row" FROM "t" WHERE "__row" + 1 IN (SELECT "__row" FROM "s1")) '
     'SELECT COUNT(*) AS "count" FROM "s2"'),
    ("argmax-tie", "mysql",
     "WITH `s1` AS (SELECT `__row` FROM `t` WHERE `Gold` = (SELECT MAX(`Gold`) FROM `t`)) "
     "SELECT `Nation` FROM `t` WHERE `__row` IN (SELECT `__row` FROM `s1`) "
     "GROUP BY `Nation` ORDER BY MIN(`__row`)"),
    ("mfe-number", "spark",
     "WITH `s1` AS (SELECT `__row` FROM `t` WHERE `Gold` IN (SELECT `Gold` FROM `t` WHERE NOT `Gold` IS NULL "
     "GROUP BY `Gold` HAVING COUNT(*) > 1 AND COUNT(*) = (SELECT MAX(`__n`) FROM (SELECT COUNT(*) AS `__n` "
     "FROM `t` WHERE NOT `Gold` IS NULL GROUP BY `Gold`) AS `__counts`))) "
     "SELECT `Nation` FROM `t` WHERE `__row` IN (SELECT `__row` FROM `s1`) "
     "GROUP BY `Nation` ORDER BY MIN(`__row`)"),
    ("argmax-text-col", "duckdb",
     'WITH "s1" AS (SELECT "__row" FROM "t" WHERE FALSE) SELECT COUNT(*) AS "count" FROM "s1"'),
    ("print-number", "trino",
     'SELECT "Gold__text" FROM "t" GROUP BY "Gold__text" ORDER BY MIN("__row")'),
    ("quote-values", "bigquery",
     "WITH `s1` AS (SELECT `__row` FROM `t` WHERE `select` IN ('it\\'s', '\"; DROP TABLE t; --')) "
     "SELECT `it's` FROM `t` WHERE `__row` IN (SELECT `__row` FROM `s1`) "
     "GROUP BY `it's` ORDER BY MIN(`__row`)"),
    ("injection-name", "snowflake",
     'WITH "s1" AS (SELECT "__row" FROM "t" WHERE """; DROP TABLE t; --" = '
     '(SELECT MIN("""; DROP TABLE t; --") FROM "t")) '
     'SELECT """; DROP TABLE t; --__text" FROM "t" WHERE "__row" IN (SELECT "__row" FROM "s1") '
     'GROUP BY """; DROP TABLE t; --__text" ORDER BY MIN("__row")'),
    ("colliding-row", "duckdb",
     'WITH "s1" AS (SELECT "__row_2" FROM "t" WHERE "__row_2" + 1 IN (SELECT "__row_2" FROM "t")) '
     'SELECT "__row" FROM "t" WHERE "__row_2" IN (SELECT "__row_2" FROM "s1") '
     'GROUP BY "__row" ORDER BY MIN("__row_2")'),
    ("backslash", "mysql",
     "WITH `s1` AS (SELECT `__row` FROM `t` WHERE `back\\slash` IN ('\\\\', '\\\\n')) "
     "SELECT COUNT(*) AS `count` FROM `s1`"),
]  # fmt: skip

BY_ID = {c.id: c for c in CASES}


# ---------------------------------------------------------------- engines


def answer_on(conn, c: Case, dialect: str, table_name: str = "t") -> list[str]:
    load_into(conn, c.table, table_name, replace=True)
    return run_sql(conn, to_sql(c.program, c.table, dialect, table_name))


@pytest.fixture(scope="module")
def duck():
    conn = duckdb.connect()
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def lite():
    conn = sqlite3.connect(":memory:")
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def pg():
    """A psycopg connection to $NPROG_PG_DSN; every use rolls back, so the server is left as found."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'psycopg[binary]')")
    try:
        conn = psycopg.connect(PG_DSN, connect_timeout=3)
    except psycopg.OperationalError as e:
        first = (str(e).strip().splitlines() or ["no answer"])[0]
        pytest.skip(f"no PostgreSQL at NPROG_PG_DSN={PG_DSN} ({first}); start one with .ci/postgres.sh")
    yield conn
    conn.rollback()
    conn.close()


# ---------------------------------------------------------------- the table of cases


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_executor(c: Case):
    assert execute(c.program, c.table).answer == list(c.answer)


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_duckdb(c: Case, duck):
    assert answer_on(duck, c, "duckdb") == list(c.answer)


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_sqlite(c: Case, lite):
    assert answer_on(lite, c, "sqlite") == list(c.answer)


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_postgres(c: Case, pg):
    try:
        assert answer_on(pg, c, "postgres") == list(c.answer)
    finally:
        pg.rollback()


@pytest.mark.parametrize(("case_id", "dialect", "sql"), SQL_ROWS, ids=[f"{r[0]}-{r[1]}" for r in SQL_ROWS])
def test_sql_text(case_id: str, dialect: str, sql: str):
    c = BY_ID[case_id]
    assert to_sql(c.program, c.table, dialect, pretty=False) == sql


def test_pretty_sql_puts_each_clause_on_its_own_line():
    c = BY_ID["greater"]
    assert to_sql(c.program, c.table).splitlines()[:8] == [
        'WITH "s1" AS (',
        "  SELECT",
        '    "__row"',
        '  FROM "t"',
        "  WHERE",
        '    "Gold" > 2.0',
        ")",
        "SELECT",
    ]


def test_every_operation_has_a_sql_form_and_a_case():
    names = {op.name for op in OPS}
    assert set(SQL_FORMS) == names
    assert {s.op for c in CASES for s in c.steps} == names


def test_the_expression_is_a_sqlglot_tree_with_quoted_identifiers():
    tree = to_expression(BY_ID["keyword-columns"].program, ADVERSARIAL)
    assert isinstance(tree, exp.Select)
    assert all(i.quoted for i in tree.find_all(exp.Identifier))


def test_table_name_is_quoted_and_never_shadowed_by_a_step():
    c = BY_ID["multi-step"]
    for name in ["my table", "s1", "S2", 'x"; DROP TABLE t; --']:
        con = duckdb.connect()
        assert answer_on(con, c, "duckdb", table_name=name) == list(c.answer), name


def test_invalid_programs_are_refused():
    with pytest.raises(ProgramError, match="unknown operation"):
        to_sql(Program([Step("sort"), Step("count")]), MEDALS)
    with pytest.raises(ProgramError, match="needs a column"):
        to_sql(Program([Step("print", "Silver")]), MEDALS)


# ---------------------------------------------------------------- parse back in many dialects


def _names_and_strings(tree: exp.Expression) -> tuple[set[str], list[str]]:
    return {i.name for i in tree.find_all(exp.Identifier)}, sorted(
        lit.this for lit in tree.find_all(exp.Literal) if lit.is_string
    )


@pytest.mark.parametrize("dialect", PARSE_DIALECTS)
def test_parse_back(dialect: str):
    """Every case's SQL parses in the dialect it was printed for, naming the same identifiers and strings;
    printed back as DuckDB it still gives the case's answer."""
    conn = duckdb.connect()
    for c in CASES:
        sql = to_sql(c.program, c.table, dialect)
        tree = sqlglot.parse_one(sql, read=dialect)
        assert _names_and_strings(tree) == _names_and_strings(to_expression(c.program, c.table)), (c.id, sql)
        load_into(conn, c.table, replace=True)
        assert run_sql(conn, tree.sql("duckdb")) == list(c.answer), (c.id, sql)


# ---------------------------------------------------------------- the loaded layout (the contract)


def test_layout_columns_and_types_on_duckdb():
    conn = duckdb.connect()
    load_into(conn, MEDALS)
    described = [(r[0], r[1]) for r in conn.execute('DESCRIBE "t"').fetchall()]
    assert described == [
        ("__row", "BIGINT"),
        ("Nation", "VARCHAR"),
        ("Nation__norm", "VARCHAR"),
        ("Gold", "DOUBLE"),
        ("Gold__text", "VARCHAR"),
        ("Date", "DOUBLE"),
        ("Date__text", "VARCHAR"),
    ]
    rows = conn.execute('SELECT * FROM "t" ORDER BY "__row"').fetchall()
    assert rows[0] == (0, "Norway", "norway", 3.0, "3", 1990 + 2 / 12 + 2 / 372, "March 3, 1990")
    assert rows[3][3:] == (1.0, "1", None, "")  # a missing date: NULL value, empty display string
    assert rows[4][3:5] == (None, "n/a")  # an invalid number: NULL value, display string kept


def test_layout_types_on_sqlite():
    conn = sqlite3.connect(":memory:")
    load_into(conn, MEDALS)
    types = [(r[1], r[2]) for r in conn.execute('PRAGMA table_info("t")').fetchall()]
    assert types == [("__row", "INTEGER"), ("Nation", "TEXT"), ("Nation__norm", "TEXT"), ("Gold", "REAL"),
                     ("Gold__text", "TEXT"), ("Date", "REAL"), ("Date__text", "TEXT")]  # fmt: skip


def test_layout_types_on_postgres(pg):
    try:
        load_into(pg, MEDALS, "layout check")
        rows = pg.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'layout check' ORDER BY ordinal_position"
        ).fetchall()
        assert rows == [("__row", "bigint"), ("Nation", "text"), ("Nation__norm", "text"),
                        ("Gold", "double precision"), ("Gold__text", "text"), ("Date", "double precision"),
                        ("Date__text", "text")]  # fmt: skip
    finally:
        pg.rollback()


def test_helper_names_take_the_first_free_spelling():
    lay = layout(COLLIDING)
    assert lay.row == "__row_2"
    assert (lay.columns["x"].value, lay.columns["x"].text) == ("x", "x__text_2")
    assert (lay.columns["y"].text, lay.columns["y"].key) == ("y", "y__norm_2")
    names = [n for n, _ in lay.sql_columns()]
    assert len({n.lower() for n in names}) == len(names)


LONG = "ü" * 40  # 80 bytes: past PostgreSQL's 63-byte identifiers
LONG_NAMES = frame_table(["a" + LONG, "b" + LONG], [["1", "p"], ["2", "p"], ["2", "q"]])


def test_helper_names_fit_postgres_identifier_limit():
    names = [n for n, _ in layout(LONG_NAMES).sql_columns()]
    helpers = [n for n in names if n not in LONG_NAMES.names]
    assert all(len(n.encode()) <= 63 for n in helpers)
    assert len({n.lower().encode()[:63] for n in names}) == len(names)  # distinct as PostgreSQL cuts them


def test_long_names_on_postgres(pg):
    program = Program(
        [P("mfe", LONG_NAMES.names[1]), P("argmax", LONG_NAMES.names[0]), P("print", LONG_NAMES.names[0])]
    )
    try:
        load_into(pg, LONG_NAMES)
        assert check_agreement(program, LONG_NAMES, pg)
    finally:
        pg.rollback()


def test_negative_zero_is_stored_as_zero():
    tbl = table(v=["-0", "0", "-0", "1"])
    conn = duckdb.connect()
    load_into(conn, tbl)
    stored = [r[0] for r in conn.execute('SELECT "v" FROM "t" ORDER BY "__row"').fetchall()]
    assert [math.copysign(1, v) for v in stored] == [1.0, 1.0, 1.0, 1.0]
    for steps in ([P("mfe", "v"), P("count")], [P("argmax", "v"), P("print", "v")]):
        assert check_agreement(Program(steps), tbl, conn)


def test_load_into_refuses_an_existing_table_unless_replacing():
    conn = duckdb.connect()
    load_into(conn, MEDALS)
    with pytest.raises(duckdb.Error):
        load_into(conn, MEDALS)
    load_into(conn, HOLES, replace=True)
    assert run_sql(conn, to_sql(Program([P("count")]), HOLES)) == ["6"]


def test_unsupported_connection_is_a_type_error():
    with pytest.raises(TypeError, match="DuckDB, SQLite or psycopg"):
        load_into(object(), MEDALS)


# ---------------------------------------------------------------- run_sql, run_program, check_agreement


def test_run_sql_formats_counts_and_keeps_strings():
    conn = duckdb.connect()
    assert run_sql(conn, "SELECT 3") == ["3"]
    assert run_sql(conn, "SELECT 2.5") == ["2.5"]
    assert run_sql(conn, "SELECT 'a' UNION ALL SELECT 'b'") == ["a", "b"]


def test_run_program_defaults_to_a_fresh_duckdb():
    c = BY_ID["quote-values"]
    assert run_program(c.program, c.table) == list(c.answer)


def test_check_agreement():
    for c in CASES[:10]:
        assert check_agreement(c.program, c.table)
    conn = sqlite3.connect(":memory:")
    load_into(conn, MEDALS)
    assert check_agreement(BY_ID["argmax-tie"].program, MEDALS, conn)
    # the connection holds other data than the table the program is checked on: disagreement
    shuffled = table(Nation=["Canada", "Norway", "Germany", "norway", "Sweden", "Canada"],
                     Gold=["3", "5", "5", "1", "n/a", "2"], Date=["", "", "", "", "", ""])  # fmt: skip
    assert not check_agreement(BY_ID["argmax-tie"].program, shuffled, conn)


def test_check_agreement_answer_matching_ignores_order():
    c = BY_ID["select-number"]
    conn = duckdb.connect()
    reversed_rows = table(Nation=["Canada", "Germany", "norway"][::-1], Gold=["5", "5", "1"][::-1],
                          Date=["", "", ""])  # fmt: skip
    load_into(conn, reversed_rows)
    assert not check_agreement(c.program, MEDALS, conn)  # strings in another order
    assert check_agreement(c.program, MEDALS, conn, exact=False)  # same answer for WTQ


# ---------------------------------------------------------------- properties: random programs, random tables

NASTY = ["", "a", "A", "a ", " a", "é", "e", "É", "ß", "it's", 'say "hi"', "back\\slash", DROP, "NULL",
         "null", "%s", "?", ":x", "$1", "名前", "select", "from", "order", "\n", "\t", "-", "x (1)",
         "a\\'b"]  # fmt: skip
TEXT_CELLS = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=4),
)
NUMBER_CELLS = st.one_of(
    st.integers(-3, 3).map(str),
    st.sampled_from(["2.5", "-0", "0.0", "-1.5", "1,000", "1e3", "10%", "", "n/a", "—", "3 (tie)", "x"]),
)
DATE_CELLS = st.sampled_from(
    ["1990", "1991", "March 1990", "1990-03-01", "March 3, 1990", "3 March 1990", "May 2001", "2001-05", "",
     "n/a", "2001", "Jan 1, 2001"]
)  # fmt: skip
HEADERS = st.one_of(
    st.sampled_from(
        ["select", "from", "order", "__row", "x", "x__text", "x__norm", DROP, "count", "s1", "t", "a b"]
    ),
    st.text(st.sampled_from(list("aZ _-'\"\\`;%?.()éÉ名ß")), max_size=6),
)
CELLS = {
    "number": NUMBER_CELLS,
    "date": DATE_CELLS,
    "text": TEXT_CELLS,
    "mixed": st.one_of(NUMBER_CELLS, TEXT_CELLS),
}
ROW_OPS = [op for op in OPS if op.yields == "rows"]
ANSWER_OPS = [op for op in OPS if op.answers]


@st.composite
def tables(draw) -> Table:
    n_rows = draw(st.integers(1, 7))
    kinds = draw(st.lists(st.sampled_from(sorted(CELLS)), min_size=1, max_size=4))
    header = [draw(HEADERS) for _ in kinds]
    body = [[draw(CELLS[k]) for k in kinds] for _ in range(n_rows)]
    return frame_table(header, body)


def _column_numbers(column) -> list[float]:
    return [float(v) for v in column.value[~np.isnan(column.value)]]


@st.composite
def steps_for(draw, tbl: Table, op) -> Step:
    column = tbl.column(draw(st.sampled_from(tbl.names))) if op.column else None
    number = None
    values: list = []
    if op.number:  # edges: the column's own values (equality), round numbers, and non-finite ones
        extra = [-1.0, 0.0, 1.0, 2.5, 1990.0, 1990 + 2 / 12, math.inf, -math.inf, math.nan]
        number = draw(st.sampled_from(_column_numbers(column) + extra))
    if op.literal == "words":  # words of the column's cells, and words no cell holds
        pool = [w for n in column.norm.to_pylist() for w in n.split(" ") if w] + ["zz", "it"]
        values = draw(st.lists(st.sampled_from(pool), max_size=3))
    if op.literal == "cells":  # what the model passes: cell strings for text, numbers otherwise
        if column.kind == "text":
            pool = column.strings.to_pylist() + ["zz", column.strings[0].as_py().upper()]
        else:
            pool = _column_numbers(column) + [0.0, -0.0, 2.5, math.nan, math.inf]
        values = draw(st.lists(st.sampled_from(pool), max_size=3))
    return Step(op.name, column.name if column else None, number, values)


@st.composite
def programs(draw, tbl: Table) -> Program:
    ops = draw(st.lists(st.sampled_from(ROW_OPS), max_size=4))
    steps = [draw(steps_for(tbl, op)) for op in ops]
    final = draw(st.sampled_from(ANSWER_OPS))
    return Program([*steps, draw(steps_for(tbl, final))])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_programs_agree_on_duckdb_sqlite_and_the_executor(data, duck, lite):
    tbl = data.draw(tables(), label="table")
    program = data.draw(programs(tbl), label="program")
    note(f"{tbl!r}\n{program}\n{to_sql(program, tbl)}")
    expected = execute(program, tbl).answer
    got_duck = answer_on(duck, Case("random", tbl, tuple(program.steps), ()), "duckdb")
    got_lite = answer_on(lite, Case("random", tbl, tuple(program.steps), ()), "sqlite")
    assert got_duck == expected
    assert got_lite == expected


# ---------------------------------------------------------------- reading DuckDB and SQLite files


def _fill(conn, name_sql: str) -> None:
    conn.execute(f"CREATE TABLE {name_sql} (id INTEGER, score DOUBLE, day DATE, label TEXT)")
    conn.execute(
        f"INSERT INTO {name_sql} VALUES (1, 2.5, '2020-01-05', 'it''s'), (NULL, 3.0, NULL, NULL), (3, NULL, "
        "'2021-02-01', 'x')"
    )


WEIRD_NAME = 'my "table"; --'
WEIRD_SQL = '"my ""table""; --"'


def _check_read(path, dialect):
    tbl, got_dialect = read_db_table(path, WEIRD_NAME)
    assert got_dialect == dialect
    assert tbl.names == ["id", "score", "day", "label"]
    assert tbl.column("id").strings.to_pylist() == ["1", "", "3"]  # not "1.0": NULLs keep integers whole
    assert tbl.column("score").strings.to_pylist() == ["2.5", "3.0", ""]
    assert tbl.column("day").strings.to_pylist() == ["2020-01-05", "", "2021-02-01"]
    assert tbl.column("label").strings.to_pylist() == ["it's", "", "x"]
    assert [tbl.column(n).kind for n in tbl.names] == ["number", "number", "date", "text"]


def test_read_duckdb_file(tmp_path):
    path = tmp_path / "data.duckdb"
    conn = duckdb.connect(str(path))
    _fill(conn, WEIRD_SQL)
    conn.close()
    _check_read(path, "duckdb")


@pytest.mark.parametrize("suffix", [".sqlite", ".sqlite3", ".db"])
def test_read_sqlite_file(tmp_path, suffix):
    path = tmp_path / f"da ta?#{suffix}"  # URI-special characters in the file name
    conn = sqlite3.connect(path)
    _fill(conn, WEIRD_SQL)
    conn.commit()
    conn.close()
    _check_read(path, "sqlite")


def test_read_prints_unusual_types_as_people_read_them(tmp_path):
    path = tmp_path / "types.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE x (l INTEGER[], ts TIMESTAMP, dec DECIMAL(6, 2), ok BOOLEAN, b BLOB)")
    conn.execute("INSERT INTO x VALUES ([1, 2], '2020-01-01 10:00', 1.5, true, 'hi'::BLOB)")
    conn.execute("INSERT INTO x VALUES (NULL, NULL, NULL, NULL, NULL)")
    conn.close()
    tbl, _ = read_db_table(path, "x")
    assert [c.strings.to_pylist() for c in tbl.columns] == [
        ["[1, 2]", ""], ["2020-01-01 10:00:00", ""], ["1.50", ""], ["True", ""], ["hi", ""]
    ]  # fmt: skip


def test_read_finds_a_table_whatever_the_case_and_sniffs_unknown_extensions(tmp_path):
    path = tmp_path / "data.bin"
    conn = sqlite3.connect(path)
    _fill(conn, '"Scores"')
    conn.commit()
    conn.close()
    tbl, dialect = read_db_table(path, "scores")
    assert (dialect, tbl.n_rows) == ("sqlite", 3)


def test_unknown_table_lists_the_tables(tmp_path):
    path = tmp_path / "data.duckdb"
    conn = duckdb.connect(str(path))
    _fill(conn, "a")
    _fill(conn, "b")
    conn.close()
    with pytest.raises(TableError) as error:
        read_db_table(path, "c")
    message = str(error.value)
    assert "\n" not in message
    assert str(path) in message and "no table named 'c'" in message and "'a', 'b'" in message


@pytest.mark.parametrize("suffix", [".duckdb", ".sqlite", ".bin"])
def test_unreadable_files_name_the_file(tmp_path, suffix):
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(b"this is not a database " * 100)
    with pytest.raises(TableError, match="junk") as error:
        read_db_table(path, "t")
    assert "\n" not in str(error.value)
    with pytest.raises(TableError, match="no such file"):
        read_db_table(tmp_path / f"missing{suffix}", "t")


def test_empty_table_is_a_table_error(tmp_path):
    path = tmp_path / "data.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE e (a TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(TableError, match="no rows"):
        read_db_table(path, "e")


def test_read_then_export_round_trip(tmp_path):
    """A table read from a file, asked a program, answers the same through SQL on a fresh DuckDB."""
    path = tmp_path / "data.duckdb"
    conn = duckdb.connect(str(path))
    _fill(conn, "s")
    conn.close()
    tbl, _ = read_db_table(path, "s")
    program = Program([P("greater", "score", 2.0), P("argmin", "day"), P("print", "label")])
    assert execute(program, tbl).answer == ["it's"]
    assert check_agreement(program, tbl)
