"""Programs as SQL over the user's own table: its real name, its own column names, no helper columns.

:mod:`nprog.sql` prints SQL for the layout nprog's loader creates (``t`` with ``__row``, ``X__text`` …).
This module prints the same program for the table *as the user has it* — a CSV read by DuckDB's
``read_csv``, a pandas ``to_sql`` in SQLite, a PostgreSQL or Spark table of text columns — by putting one
CTE in front that rebuilds nprog's typed layout from the user's columns inside the query::

    WITH "nprog_typed" AS (
      SELECT ROW_NUMBER() OVER (ORDER BY rowid) - 1 AS "__row",          -- or the --order-by column
             CAST("Attendance" AS TEXT) AS "Attendance__text",          -- what print shows
             CASE WHEN REGEXP_MATCHES(TRIM(REPLACE(…"Attendance"…, ',', '')), '^-?[0-9]+([.][0-9]+)?$')
                  THEN TRY_CAST(… AS DOUBLE) END AS "Attendance"        -- "4,879" → 4879
      FROM "films"), s1 AS (…) SELECT …

The per-operation builders of :data:`nprog.sql.SQL_FORMS` then run unchanged over that relation: they ask
their context for a column's typed value, its display text, the row-order expression and the source
relation, never for a physical layout. Only the columns the program reads are typed.

**Typed the way nprog typed it, or refused.** A column's SQL reading is a *recipe* chosen from the
column's own cells: literal replacements (thousands separators, currency and unit marks, footnotes such
as ``[a]`` or ``†``, unicode dashes), a trim, then a strict numeral test and a cast (number columns) or one
of a few date formats (``2011-03-04``, ``March 4, 2011``, ``4 March 2011``, ``May 1998``, ``03/04/2011``,
a bare year or season), parsed with regular expressions onto nprog's date scale (SQLite, which has no
regular expressions, gets the same formats from its string functions). Before any SQL is printed, the
recipe is run on every distinct cell of the column — by SQLite itself for SQLite, otherwise in Python,
mirroring the SQL function by function — and must give nprog's value for each (NaN for NULL). Where it
cannot — ``5.2 million``, ``two``, ``03/04/2011`` in SQLite, a repeated or empty header — the
export raises :class:`ExportError` naming the column and a cell, instead of printing SQL that silently
answers something else. Text columns need no recipe (``select`` matches the cell text); ``mfe`` on a
text column groups by the cell text where that partitions the cells exactly as nprog's normalized text
does, and is refused otherwise.

**Row order** (first/last/previous/next, totals rows, the order of printed values)
comes from the engine's row identity where one exists (DuckDB and SQLite ``rowid``) or from a column the
user names (``order_by``); PostgreSQL and Spark tables have no row order, so without ``order_by`` the
export refuses and says so rather than guessing.

Engines may type the user's columns themselves (DuckDB's sniffer reads "3.50" as the DOUBLE 3.5); the
recipes cast every column to text first, so the reading only depends on the value, and printed values are
compared with WTQ's answer matching (:func:`nprog.answers.lists_match`): ``3.5`` is ``3.50``.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.compute as pc
from sqlglot import exp

from nprog.answers import lists_match
from nprog.ops import by_name
from nprog.program import Program, execute, validate
from nprog.sql import (
    ColumnLayout,
    Layout,
    _cte_prefix,
    _drop_if_exists,
    _id,
    _native_null_order,
    _table_ref,
    _text,
    program_query,
    run_sql,
)
from nprog.tables import Column, Table

DIALECTS = ("duckdb", "sqlite", "postgres", "spark")
ROWID_DIALECTS = ("duckdb", "sqlite")  # engines whose tables carry a row identity in insertion order
TYPED = "nprog_typed"  # the CTE holding the typed layout


class ExportError(ValueError):
    """The program cannot be written as SQL over the user's table that answers what nprog answered."""


# ---------------------------------------------------------------- recipes: how SQL reads a column's cells

_NUMERAL = "^-?([0-9]+([.][0-9]+)?|[.][0-9]+)$"  # what every engine casts to the same double
# m:ss(.f) and h:mm:ss(.f) are seconds to nprog (its sign is ignored); groups h, m, s
_TIME = "^[-+]?(?:([0-9]+):)?([0-9]+):([0-9]{2}(?:[.][0-9]+)?)$"
_MONTH_NAMES = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "sept|jan|feb|mar|apr|jun|jul|aug|sep|oct|nov|dec"
)
_MONTHS3 = "janfebmaraprmayjunjulaugsepoctnovdec"  # month = (position of the name's first 3 letters + 2) / 3
_ORD = "(?:st|nd|rd|th)?"
# (name, pattern, roles of its groups in order): y year, m month number, n month name, d day,
# a/b the two parts of a slash date (month first unless the first exceeds 12). Tried in nprog's order.
_NUMERIC_DATE = "[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}"  # what DuckDB's CSV sniffer may type as DATE
_CLOCK = "[0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?"  # what DuckDB's CSV sniffer types as TIME
_DATE_FORMATS = (
    ("ymd", "^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$", "ymd"),
    ("ym", "^([0-9]{4})-([0-9]{1,2})$", "ym"),
    ("d_mon_y", f"^([0-9]{{1,2}}){_ORD} (?:of )?({_MONTH_NAMES})[.]?,? ([0-9]{{4}})$", "dny"),
    ("mon_d_y", f"^({_MONTH_NAMES})[.]? ([0-9]{{1,2}}){_ORD},? ([0-9]{{4}})$", "ndy"),
    ("mon_y", f"^({_MONTH_NAMES})[.]?,? ([0-9]{{4}})$", "ny"),
    ("slash", "^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$", "aby"),
    ("year", "^([12][0-9]{3})(?: ?- ?(?:[0-9]{2}|[0-9]{4}))?$", "y"),
)
_FOOTNOTE = re.compile(r"\[[^\]]{0,12}\]|[*†‡§¶]+")
_DASHES = "‐‑‒–—―−﹣－"
_MAX_REPLACEMENTS = 24


@dataclass(frozen=True)
class Recipe:
    """How SQL reads one number or date column: replacements, a trim, then a numeral or date formats."""

    kind: str  # "number" | "date"
    replacements: tuple[tuple[str, str], ...]  # (old, new), applied in order (SQL REPLACE = str.replace)
    formats: tuple[str, ...] = ()  # date formats used, in _DATE_FORMATS order; numbers: "time" if used


def _prepare(s: str, recipe: Recipe) -> str:
    for old, new in recipe.replacements:
        s = s.replace(old, new)
    return s.strip(" ")  # SQL TRIM removes spaces only


def _full(pattern: str, s: str) -> re.Match | None:
    """A match in every engine, or None in every engine; ExportError-worthy ambiguity raises ValueError.

    Java (Spark) and Python let ``$`` match before a final newline, RE2 (DuckDB) and PostgreSQL do not."""
    strict, loose = re.fullmatch(pattern, s), re.search(pattern, s)
    if bool(strict) != bool(loose):
        raise ValueError("a line break at the end of a cell")
    return strict


def _simulate(strings: list[str], recipe: Recipe, dialect: str) -> np.ndarray:
    """What the recipe's SQL computes for each string (NaN where it gives NULL), function by function."""
    out = np.full(len(strings), np.nan)
    for i, raw in enumerate(strings):
        if raw == "":  # an empty cell is NULL in the user's engine
            continue
        t = _prepare(raw, recipe)
        if recipe.kind == "number" and _full(_NUMERAL, raw):  # a numeral as it stands, marks left alone:
            out[i] = float(raw)  # also how an engine that typed the column itself ("1." → 1.0) shows it
            continue
        if recipe.kind == "number":
            if _full(_NUMERAL, t):
                out[i] = float(t)
            elif "time" in recipe.formats and (m := _full(_TIME, t)):
                h, mi, s = m.groups()
                out[i] = float(h or 0) * 3600.0 + float(mi) * 60.0 + float(s)
            continue
        out[i] = _simulate_date(t.lower() if t.isascii() else "", recipe, dialect)
    return out


def _simulate_date(t: str, recipe: Recipe, dialect: str) -> float:
    for name, pattern, roles in _DATE_FORMATS:
        if name not in recipe.formats:
            continue
        m = _full(pattern, t)
        if m is None:
            continue
        got = {}
        for role, text in zip(roles, m.groups(), strict=True):
            got[role] = float(_MONTHS3.find(text[:3]) + 3) / 3 if role == "n" else float(text)
        y, mo, d = _parts(got)
        if _valid(name, y, mo, d):
            return y + (mo - 1.0) / 12.0 + (d - 1.0) / 372.0
    return math.nan


def _parts(got: dict) -> tuple[float, float, float]:
    mo = got.get("m", got.get("n", 1.0))
    d = got.get("d", 1.0)
    if "a" in got:
        a, b = got["a"], got["b"]
        mo, d = (b, a) if a > 12 else (a, b)
    return got["y"], mo, d


def _valid(name: str, y: float, mo: float, d: float) -> bool:
    if name == "year":
        return 1000 <= y <= 2999
    return 1 <= mo <= 12 and 1 <= d <= 31


def _number_replacements(strings: list[str], values: np.ndarray) -> list[tuple[str, str]]:
    """Literal text around the numerals of the valid cells ("$", "%", " m", "[a]", ","), to delete."""
    found: set[str] = set()
    for s, v in zip(strings, values, strict=True):
        if math.isnan(v):
            continue
        s = s.translate({ord(c): "-" for c in _DASHES})
        if re.fullmatch(_TIME, s.strip(" ")):
            continue
        m = re.search(r"-?[0-9][0-9,]*(?:[.][0-9]+)?", s)
        if m is None:
            continue
        for junk in (s[: m.start()].strip(" "), s[m.end() :].strip(" ")):
            if junk and junk != "-":
                found.add(junk)
        if "," in m.group():
            found.add(",")
    dashes = [(c, "-") for c in _DASHES if any(c in s for s in strings)]
    return dashes + [(j, "") for j in sorted(found, key=lambda j: (-len(j), j))]


def _date_replacements(strings: list[str]) -> list[tuple[str, str]]:
    notes = {m.group() for s in strings for m in _FOOTNOTE.finditer(s)}
    dashes = [(c, "-") for c in _DASHES if any(c in s for s in strings)]
    return dashes + [(n, "") for n in sorted(notes, key=lambda j: (-len(j), j))]


def _example(strings: list[str], got: np.ndarray, want: np.ndarray) -> str:
    bad = np.flatnonzero(~((got == want) | (np.isnan(got) & np.isnan(want))))
    return strings[int(bad[0])] if len(bad) else ""


_READER_NUMBER = r"[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?"  # what CSV readers type as numbers
# what pandas.read_csv (how tables usually reach SQLite) reads as missing by default
_PANDAS_NA = frozenset(
    [
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    ]
)


def check_engine_reading(column: Column, dialect: str, as_text: bool) -> None:
    """Refuse a column the user's engine or its usual loader is known to change, so that its cells no longer
    say what nprog read: DuckDB's CSV sniffer makes "3:11" a time of day; pandas (SQLite) makes "N/A" NULL.
    ``as_text``: the program reads the column's text (select or mfe on text, print)."""
    if dialect not in ("duckdb", "sqlite"):
        return
    uniques = column.strings.unique()
    texts = uniques.to_pylist()
    cells = [s for s in texts if s]
    reader = "read_csv" if dialect == "duckdb" else "pandas"
    # the engine's CSV reader types a column of numerals as numbers
    if cells and all(re.fullmatch(_READER_NUMBER, s) for s in cells):
        if as_text:
            shown: dict[float, str] = {}
            for s in cells:
                other = shown.setdefault(float(s), s)
                if other != s:
                    raise ExportError(
                        f"column {column.name!r}: {reader} reads {other!r} and {s!r} as the same number, "
                        "nprog as two values; load the column as text"
                    )
        elif column.kind == "number":
            # where nprog reads a cell otherwise ("1e3": the reader's 1000, for nprog not a number), the SQL
            # would compare the reader's number
            rows = pc.index_in(column.strings, value_set=uniques).to_numpy(zero_copy_only=False)
            _, first = np.unique(rows, return_index=True)  # each distinct cell's first row, in `texts` order
            for t, value, valid in zip(texts, column.value[first], column.valid[first], strict=True):
                if t and not (valid and np.isclose(value, float(t), rtol=1e-12, atol=0.0)):
                    raise ExportError(
                        f"column {column.name!r}: {reader} reads {t!r} as the number {float(t):g}, nprog "
                        f"{'as ' + format(value, 'g') if valid else 'as no number'}; load the column as text"
                    )
    if dialect == "sqlite" and as_text:
        lost = sorted(s for s in cells if s in _PANDAS_NA)
        if lost:
            raise ExportError(
                f"column {column.name!r}: pandas.read_csv, which loads most SQLite tables, reads "
                f"{lost[0]!r} as missing, nprog as text; load with keep_default_na=False"
            )
    if dialect == "duckdb":
        dates = [s for s in cells if not re.fullmatch("[0-9]{4}-[0-9]{2}-[0-9]{2}", s)]
        if dates and all(re.fullmatch(_NUMERIC_DATE, s) for s in cells):
            raise ExportError(
                f"column {column.name!r}: DuckDB's read_csv may read {dates[0]!r} as a date in another "
                f"order than nprog (month first unless the first part exceeds 12) and shows it as "
                f"YYYY-MM-DD; load the column as text (read_csv(..., types={{{column.original_name!r}: "
                f"'VARCHAR'}}))"
            )
        if cells and all(re.fullmatch(_CLOCK, s) for s in cells):
            raise ExportError(
                f"column {column.name!r}: DuckDB's read_csv reads cells like {cells[0]!r} as a time "
                f"of day, nprog as minutes and seconds; load the column as text (read_csv(..., "
                f"types={{{column.original_name!r}: 'VARCHAR'}}))"
            )


def recipe_for(column: Column, dialect: str) -> Recipe:
    """The SQL reading of a number or date column that gives nprog's value on every one of its cells."""
    uniques, first = np.unique(np.asarray(column.strings.to_pylist(), dtype=object), return_index=True)
    strings = [str(s) for s in uniques]
    want = column.value[first]
    if column.kind == "number":
        replacements = _number_replacements(strings, want)
        times = any(re.fullmatch(_TIME, _prepare(s, Recipe("number", tuple(replacements)))) for s in strings)
        recipe = Recipe("number", tuple(replacements), ("time",) if times else ())
    elif dialect == "sqlite":  # one cascade of string functions (SQLite has no regular expressions)
        recipe = Recipe("date", tuple(_date_replacements(strings)), ("sqlite",))
    else:
        replacements = _date_replacements(strings)
        base = Recipe("date", tuple(replacements))
        usable = [n for n, _, _ in _DATE_FORMATS]
        used = ["ymd"] if dialect == "duckdb" else []  # how DuckDB shows a column its sniffer typed DATE
        for name in usable:  # the formats some cell of this column is written in
            probe = Recipe("date", base.replacements, (name,))
            try:
                if name not in used and not np.isnan(_simulate(strings, probe, dialect)).all():
                    used.append(name)
            except ValueError:
                used.append(name)  # the full check below reports it
        recipe = Recipe("date", base.replacements, tuple(used))
    where = f"column {column.name!r}"
    if len(recipe.replacements) > _MAX_REPLACEMENTS:
        raise ExportError(
            f"{where}: its cells carry too many different marks around the values for a "
            f"{dialect} reading of them ({len(recipe.replacements)})"
        )
    try:
        got = _run_in_sqlite(strings, recipe) if dialect == "sqlite" else _simulate(strings, recipe, dialect)
    except ValueError as e:
        raise ExportError(f"{where}: {dialect} cannot read its cells the way nprog does ({e})") from None
    cell = _example(strings, got, want)
    if cell:
        v = want[strings.index(cell)]
        nprog_reads = "no value" if math.isnan(v) else f"{v:g}"
        why = " (SQLite has no regular expressions)" if dialect == "sqlite" else ""
        raise ExportError(
            f"{where}: {dialect} cannot read its cells the way nprog does: nprog reads "
            f"{cell!r} as {nprog_reads}{why}"
        )
    return recipe


def _run_in_sqlite(strings: list[str], recipe: Recipe) -> np.ndarray:
    """The recipe's SQLite SQL run by SQLite itself on the strings (NULL → NaN): no mirror to get wrong."""
    import sqlite3

    cells = exp.column("cell", table="cells", quoted=True)
    query = exp.select(value_sql(cells, recipe, "sqlite")).from_(_table_ref("cells")).sql("sqlite")
    with sqlite3.connect(":memory:") as conn:
        conn.execute('CREATE TABLE "cells" ("cell" TEXT)')
        conn.executemany('INSERT INTO "cells" VALUES (?)', [(s or None,) for s in strings])
        rows = conn.execute(query).fetchall()
    return np.array([np.nan if v is None else float(v) for (v,) in rows], dtype=np.float64)


# ---------------------------------------------------------------- recipes → SQL expressions


def _regexp_like(t: exp.Expression, pattern: str, dialect: str) -> exp.Expression:
    return exp.RegexpLike(this=t, expression=exp.convert(pattern))


def _regexp_group(t: exp.Expression, pattern: str, dialect: str) -> exp.Expression:
    """The one capture group of ``pattern`` in t (the pattern matches: callers test first)."""
    if dialect == "postgres":  # SUBSTRING(t FROM pattern) returns the first parenthesized group
        return exp.Substring(this=t, start=exp.convert(pattern))
    return exp.RegexpExtract(this=t, expression=exp.convert(pattern), group=exp.convert(1))


def _double(e: exp.Expression, dialect: str) -> exp.Expression:
    to = exp.DataType.build("DOUBLE")
    # TRY_CAST where the engine has it: Spark need not short-circuit AND, so a failed match may reach a cast
    return (
        exp.TryCast(this=e, to=to, safe=True) if dialect in ("duckdb", "spark") else exp.Cast(this=e, to=to)
    )


def _as_text(column: exp.Column) -> exp.Expression:
    return exp.Cast(this=column.copy(), to=exp.DataType.build("TEXT"))


def _prepared(source: exp.Expression, recipe: Recipe) -> exp.Expression:
    t = source
    for old, new in recipe.replacements:
        t = exp.func("REPLACE", t, _text(old), _text(new))
    return exp.Trim(this=t)


def _numeral_test(t: exp.Expression, dialect: str) -> exp.Expression:
    if dialect == "sqlite":
        digit_first = exp.or_(
            exp.Glob(this=t.copy(), expression=exp.convert("[0-9.]*")),
            exp.Glob(this=t.copy(), expression=exp.convert("-[0-9.]*")),
        )
        rest = exp.Substring(this=t.copy(), start=exp.convert(2))
        return exp.and_(digit_first, exp.not_(exp.Glob(this=rest, expression=exp.convert("*[^0-9.]*"))))
    return _regexp_like(t.copy(), _NUMERAL, dialect)


def _number_sql(raw: exp.Expression, t: exp.Expression, recipe: Recipe, dialect: str) -> exp.Expression:
    """A numeral as it stands, else the numeral left after the recipe's replacements, else a time."""
    ifs = [exp.If(this=_numeral_test(raw, dialect), true=_double(raw.copy(), dialect))]
    if recipe.replacements:
        ifs.append(exp.If(this=_numeral_test(t, dialect), true=_double(t.copy(), dialect)))
    if "time" in recipe.formats and dialect == "sqlite":
        ifs.append(_sqlite_time(t))
    elif "time" in recipe.formats:
        m, s = (
            _double(_regexp_group(t.copy(), _one_group(_TIME, _group_starts(_TIME), k), dialect), dialect)
            for k in (1, 2)
        )
        h = exp.Coalesce(
            this=_double(
                exp.Nullif(
                    this=_regexp_group(t.copy(), _one_group(_TIME, _group_starts(_TIME), 0), dialect),
                    expression=exp.convert(""),
                ),
                dialect,
            ),
            expressions=[exp.convert(0.0)],
        )  # an absent hour group is '' (DuckDB, Spark) or NULL (PostgreSQL)
        seconds = exp.Add(
            this=exp.Add(
                this=exp.Mul(this=h, expression=exp.convert(3600.0)),
                expression=exp.Mul(this=m, expression=exp.convert(60.0)),
            ),
            expression=s,
        )
        ifs.append(exp.If(this=_regexp_like(t.copy(), _TIME, dialect), true=seconds))
    return exp.Case(ifs=ifs)


def _group_starts(pattern: str) -> list[int]:
    return [m.start() for m in re.finditer(r"\((?!\?)", pattern)]


def _date_scale(y, mo, d, dialect: str) -> exp.Expression:
    """year + (month - 1)/12 + (day - 1)/372 in the executor's operation order (bit-identical doubles)."""
    one = exp.convert(1.0)
    month = exp.Div(this=exp.Paren(this=exp.Sub(this=mo, expression=one)), expression=exp.convert(12.0))
    day = exp.Div(this=exp.Paren(this=exp.Sub(this=d, expression=one.copy())), expression=exp.convert(372.0))
    return exp.Add(this=exp.Add(this=y, expression=month), expression=day)


def _f(name: str, *args) -> exp.Expression:
    return exp.func(name, *(exp.convert(a) if isinstance(a, str | int | float) else a for a in args))


def _glob(e: exp.Expression, pattern: str) -> exp.Expression:
    return exp.Glob(this=e.copy(), expression=exp.convert(pattern))


def _digits(e: exp.Expression) -> exp.Expression:
    return exp.and_(exp.NEQ(this=e.copy(), expression=exp.convert("")), exp.not_(_glob(e, "*[^0-9]*")))


def _sqlite_real(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e.copy(), to=exp.DataType.build("DOUBLE"))


def _sqlite_time(t: exp.Expression) -> exp.If:
    """m:ss(.f) and h:mm:ss(.f) in seconds with SQLite's string functions; a leading sign is ignored."""
    u = exp.Case(
        ifs=[exp.If(this=_f("SUBSTR", t.copy(), 1, 1).isin("+", "-"), true=_f("SUBSTR", t.copy(), 2))],
        default=t.copy(),
    )
    c1 = _f("INSTR", u, ":")
    a = _f("SUBSTR", u.copy(), 1, exp.Sub(this=c1, expression=exp.convert(1)))
    rest = _f("SUBSTR", u.copy(), exp.Add(this=c1.copy(), expression=exp.convert(1)))
    c2 = _f("INSTR", rest, ":")
    m2 = _f("SUBSTR", rest.copy(), 1, exp.Sub(this=c2, expression=exp.convert(1)))
    s2 = _f("SUBSTR", rest.copy(), exp.Add(this=c2.copy(), expression=exp.convert(1)))

    def seconds_ok(x):
        fraction = exp.and_(
            _glob(x, "[0-9][0-9].[0-9]*"), exp.not_(_glob(_f("SUBSTR", x.copy(), 4), "*[^0-9]*"))
        )
        return exp.or_(_glob(x, "[0-9][0-9]"), fraction)

    zero = exp.convert(0)
    short = exp.and_(exp.EQ(this=c2.copy(), expression=zero), seconds_ok(rest))
    long = exp.and_(exp.GT(this=c2.copy(), expression=zero.copy()), _digits(m2), seconds_ok(s2))
    test = exp.and_(
        exp.GT(this=c1.copy(), expression=zero.copy()), _digits(a), exp.Paren(this=exp.or_(short, long))
    )
    hours = exp.Case(
        ifs=[exp.If(this=exp.GT(this=c2.copy(), expression=zero.copy()), true=_sqlite_real(a))],
        default=exp.convert(0.0),
    )
    minutes = exp.Case(
        ifs=[exp.If(this=exp.GT(this=c2.copy(), expression=zero.copy()), true=_sqlite_real(m2))],
        default=_sqlite_real(a),
    )
    secs = exp.Case(
        ifs=[exp.If(this=exp.GT(this=c2.copy(), expression=zero.copy()), true=_sqlite_real(s2))],
        default=_sqlite_real(rest),
    )
    value = exp.Add(
        this=exp.Add(
            this=exp.Mul(this=hours, expression=exp.convert(3600.0)),
            expression=exp.Mul(this=minutes, expression=exp.convert(60.0)),
        ),
        expression=secs,
    )
    return exp.If(this=test, true=value)


_MONTH_WORDS = tuple(sorted(set(_MONTH_NAMES.split("|"))))


def _sqlite_date(t: exp.Expression) -> exp.Expression:
    """nprog's date formats with SQLite's string functions: fixed-width year-first forms by GLOB, and
    "3 March 2011", "March 3, 2011", "March 2011" (also with "of", "3rd", "Mar.") by splitting on spaces."""
    low = exp.Lower(this=t)
    year4 = "[0-9][0-9][0-9][0-9]"
    one = exp.convert(1.0)
    ifs = []

    def part(a, n):
        return _sqlite_real(_f("SUBSTR", low.copy(), a, n))

    def scale(y, mo, d):
        return _date_scale(y, mo, d, "sqlite")

    def month_ok(mo, d):
        return exp.and_(
            exp.Between(this=mo.copy(), low=exp.convert(1.0), high=exp.convert(12.0)),
            exp.Between(this=d.copy(), low=exp.convert(1.0), high=exp.convert(31.0)),
        )

    ymd = _glob(low, f"{year4}-[0-9][0-9]-[0-9][0-9]")
    ifs.append(
        exp.If(
            this=exp.and_(ymd, month_ok(part(6, 2), part(9, 2))),
            true=scale(part(1, 4), part(6, 2), part(9, 2)),
        )
    )
    for width in (2, 1):  # "2011-03", "2011-3": a month when it is one, else a season's first year (below)
        ym = _glob(low, f"{year4}-{'[0-9]' * width}")
        ifs.append(
            exp.If(
                this=exp.and_(ym, month_ok(part(6, width), one.copy())),
                true=scale(part(1, 4), part(6, width), one.copy()),
            )
        )
    # words: ", " and "." become spaces, double spaces one, " of " a space; then three space-split tokens
    w = low.copy()
    for old, new in ((",", " "), (".", " "), ("  ", " "), (" of ", " ")):
        w = _f("REPLACE", w, old, new)
    w2 = exp.DPipe(this=exp.Trim(this=w), expression=exp.convert(" "))
    tokens, rest = [], w2
    for _ in range(3):
        cut = _f("INSTR", rest.copy(), " ")
        tokens.append(_f("SUBSTR", rest.copy(), 1, exp.Sub(this=cut, expression=exp.convert(1))))
        rest = _f("SUBSTR", rest.copy(), exp.Add(this=cut.copy(), expression=exp.convert(1)))
    t1, t2, t3 = tokens
    rest2 = _f(
        "SUBSTR",
        w2.copy(),
        exp.Add(
            this=exp.Add(this=_f("LENGTH", t1.copy()), expression=_f("LENGTH", t2.copy())),
            expression=exp.convert(3),
        ),
    )

    def is_month(x):
        return x.copy().isin(*_MONTH_WORDS)

    def month_of(x):
        pos = _f("INSTR", _MONTHS3, _f("SUBSTR", x.copy(), 1, 3))
        return exp.Div(
            this=exp.Paren(this=exp.Add(this=_sqlite_real(pos), expression=exp.convert(2.0))),
            expression=exp.convert(3.0),
        )

    def day_of(x):
        return _f("RTRIM", x.copy(), "stndrh")

    def is_day(x):
        return exp.or_(_glob(day_of(x), "[0-9]"), _glob(day_of(x), "[0-9][0-9]"))

    empty = exp.convert("")
    three = exp.and_(exp.EQ(this=rest.copy(), expression=empty.copy()), _glob(t3, year4))
    for day, month in ((t1, t2), (t2, t1)):
        d, mo = _sqlite_real(day_of(day)), month_of(month)
        ok = exp.and_(three.copy(), is_month(month), is_day(day), month_ok(mo, d))
        ifs.append(exp.If(this=ok, true=scale(_sqlite_real(t3), mo.copy(), d.copy())))
    two = exp.and_(exp.EQ(this=rest2, expression=empty.copy()), _glob(t2, year4), is_month(t1))
    ifs.append(exp.If(this=two, true=scale(_sqlite_real(t2), month_of(t1), one.copy())))
    year = exp.or_(
        _glob(low, "[12][0-9][0-9][0-9]"),
        _glob(low, "[12][0-9][0-9][0-9]-[0-9][0-9]"),
        _glob(low, "[12][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9]"),
    )
    ifs.append(exp.If(this=year, true=scale(part(1, 4), one.copy(), one.copy())))
    return exp.Case(ifs=ifs)


def _date_sql(t: exp.Expression, recipe: Recipe, dialect: str) -> exp.Expression:
    if dialect == "sqlite":
        return _sqlite_date(t)
    low = exp.Lower(this=t)
    ifs = []
    for name, pattern, roles in _DATE_FORMATS:
        if name not in recipe.formats:
            continue
        test = _regexp_like(low.copy(), pattern, dialect)
        groups = _group_starts(pattern)
        got = {}
        for k, role in enumerate(roles):  # each group read alone: the others become (?: … )
            part = _regexp_group(low.copy(), _one_group(pattern, groups, k), dialect)
            if role == "n":
                pos = exp.StrPosition(
                    this=exp.convert(_MONTHS3),
                    substr=exp.Substring(this=part, start=exp.convert(1), length=exp.convert(3)),
                )
                got[role] = exp.Div(
                    this=exp.Paren(this=exp.Add(this=_double(pos, dialect), expression=exp.convert(2.0))),
                    expression=exp.convert(3.0),
                )
            else:
                got[role] = _double(part, dialect)
        y = got["y"]
        mo = got.get("m", got.get("n", exp.convert(1.0)))
        d = got.get("d", exp.convert(1.0))
        if "a" in got:
            first_is_day = exp.GT(this=got["a"].copy(), expression=exp.convert(12.0))
            mo = exp.Case(ifs=[exp.If(this=first_is_day, true=got["b"].copy())], default=got["a"].copy())
            d = exp.Case(ifs=[exp.If(this=first_is_day.copy(), true=got["a"])], default=got["b"])
        if name == "year":
            ok = exp.Between(this=y.copy(), low=exp.convert(1000.0), high=exp.convert(2999.0))
        else:
            ok = exp.and_(
                exp.Between(this=mo.copy(), low=exp.convert(1.0), high=exp.convert(12.0)),
                exp.Between(this=d.copy(), low=exp.convert(1.0), high=exp.convert(31.0)),
            )
        ifs.append(exp.If(this=exp.and_(test, ok), true=_date_scale(y, mo, d, dialect)))
    return exp.Case(ifs=ifs) if ifs else exp.Null()


def _one_group(pattern: str, starts: list[int], keep: int) -> str:
    """``pattern`` with every capture group but the keep-th made non-capturing."""
    out, prev = [], 0
    for k, at in enumerate(starts):
        out.append(pattern[prev:at])
        out.append("(" if k == keep else "(?:")
        prev = at + 1
    out.append(pattern[prev:])
    return "".join(out)


def value_sql(source: exp.Column, recipe: Recipe, dialect: str) -> exp.Expression:
    """The typed value of the user's column ``source`` (a double on nprog's scale; NULL where invalid)."""
    t = _prepared(_as_text(source), recipe)
    return (
        _number_sql(_as_text(source), t, recipe, dialect)
        if recipe.kind == "number"
        else _date_sql(t, recipe, dialect)
    )


# ---------------------------------------------------------------- the user's table as a layout


def default_table_name(table: Table) -> str:
    """The user's table name: the ``--db`` table, the CSV file's stem, else ``t``."""
    source = table.source or ""
    m = re.search(r" \(table (.*)\)$", source)
    if m:
        return m.group(1)
    path = Path(source)
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return path.stem
    return "t"


def _source_column(table: Table, name: str, dialect: str) -> str:
    """The user's own name of a column; refused where the header does not name it alone.

    A CSV loaded by DuckDB's ``read_csv`` names a column without a header ``column0``, ``column1`` …
    (zero-padded to the width of the last index) and renames a repeated header ``x_1``, ``x_2`` … (case
    folded); for DuckDB those are the names the SQL uses. Other engines' loaders differ: refused there.
    """
    column = table.column(name)
    original = column.original_name
    index = [c.name for c in table.columns].index(name)
    if original == "" and dialect == "duckdb":
        return f"column{index:0{len(str(table.n_columns - 1))}d}"
    if dialect == "sqlite" and original != "" and "\x00" not in original:
        # pandas.read_csv (then to_sql) renames a repeated header x.1, x.2 … case by case, but SQLite's
        # names ignore case: "Name" and "name" cannot both be columns there
        exact = [c.name for c in table.columns if c.original_name == original]
        if sum(c.original_name.lower() == original.lower() for c in table.columns) > len(exact):
            raise ExportError(
                f"column {name!r}: the header {original!r} differs from another only in case, which SQLite's "
                "column names ignore; rename one of them in the table"
            )
        k = exact.index(name)
        return original if k == 0 else f"{original}.{k}"
    if original == "" and dialect == "sqlite":
        return f"Unnamed: {index}"  # pandas.read_csv's name for a column without a header
    if original.strip() == "" or "\x00" in original:
        raise ExportError(
            f"column {name!r}: the table gives it no header the SQL can refer to "
            "(engines invent one of their own); name it in the table"
        )
    same = [c.name for c in table.columns if c.original_name.lower() == original.lower()]
    if len(same) > 1 and dialect == "duckdb":
        k = same.index(name)
        return original if k == 0 else f"{original}_{k}"
    # a repeated header: CSV readers keep the first one's name and rename the others (pandas "x.1");
    # Spark renames them all
    if len(same) > 1 and (same[0] != name or dialect == "spark"):
        raise ExportError(
            f"column {name!r}: the header {original!r} names {len(same)} columns "
            f"({', '.join(repr(s) for s in same)}); rename them in the table"
        )
    return original


def _mfe_text_key(column: Column, source: exp.Column) -> exp.Expression:
    """Group text cells by their text where that splits them exactly as nprog's normalized text does."""
    strings = column.strings.to_pylist()
    norms = column.norm.to_pylist()
    by_norm: dict[str, set[str]] = {}
    empty = set()
    for s, n in zip(strings, norms, strict=True):
        if n == "":
            empty.add(s)
        else:
            by_norm.setdefault(n, set()).add(s)
    merged = [sorted(v) for v in by_norm.values() if len(v) > 1]
    text = _as_text(source)
    if merged:  # "Towed Gun" and "Towed gun": grouping by LOWER(text) may split them as nprog does
        pairs = {(s.lower(), n) for n, v in by_norm.items() for s in v}  # one lowercase text per entry
        ascii_only = all(s.isascii() for v in by_norm.values() for s in v)
        if not ascii_only or len({low for low, _ in pairs}) != len(pairs) or len(by_norm) != len(pairs):
            raise ExportError(
                f"column {column.name!r}: nprog counts {merged[0][0]!r} and {merged[0][1]!r} as "
                "the same entry, which SQL grouping by the cell text cannot"
            )
        text = exp.Lower(this=text)  # ASCII only: LOWER is the same in every engine there
    empty.discard("")
    if not empty:
        return text
    return exp.Case(
        ifs=[exp.If(this=text.copy().isin(*(_text(s) for s in sorted(empty))), true=exp.Null())], default=text
    )


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")  # SQLite's LOWER


def _check_word_matches(column: Column, words: list[str], readings) -> None:
    """Refuse unless the SQL text of every distinct cell (``readings(cell)``: the texts the engines may
    produce) holds each of the program's words exactly where nprog's normalized text does."""
    for s, norm in dict(zip(column.strings.to_pylist(), column.norm.to_pylist(), strict=True)).items():
        for w in words:
            nprog_hit = bool(norm) and f" {w} " in f" {norm} "
            if any((f" {w} " in f" {shown} ") != nprog_hit for shown in readings(s)):
                raise ExportError(
                    f"column {column.name!r}: nprog's word match of {w!r} on the cell {s!r} "
                    "cannot be written in SQL exactly"
                )


def _regex_readings(s: str) -> set[str]:
    """What ``_norm_text``'s SQL makes of a cell: LOWER is full Unicode in DuckDB, PostgreSQL and Spark but
    may be ASCII-only elsewhere, so both readings are kept and must agree with nprog."""
    return {re.sub("[^a-z0-9]+", " ", low).strip() for low in (s.lower(), s.translate(_ASCII_LOWER))}


def _norm_text(column: Column, source: exp.Column, words: list[str], counted: bool) -> exp.Expression:
    """nprog's normalized text in SQL with regular expressions (DuckDB, PostgreSQL, Spark): lowercase, each
    run of characters other than a-z and 0-9 one space, trimmed, NULL when empty.

    For ASCII text this is nprog's normalization exactly; accented letters become spaces where nprog keeps
    their base letters. So it is checked on every distinct cell: word matches must hit the same cells, and
    most-frequent-entry must group the cells as nprog does; otherwise the export is refused.
    """
    _check_word_matches(column, words, _regex_readings)
    if counted:
        groups: dict[str, set[str]] = {}
        for s, norm in dict(zip(column.strings.to_pylist(), column.norm.to_pylist(), strict=True)).items():
            readings = _regex_readings(s)
            if len(readings) > 1 or (not norm) != (readings == {""}):
                raise ExportError(f"column {column.name!r}: SQL cannot group the cell {s!r} as nprog does")
            if norm:
                groups.setdefault(norm, set()).update(readings)
        one_each = all(len(rs) == 1 for rs in groups.values())  # a norm reads as one SQL text …
        distinct = len({r for rs in groups.values() for r in rs}) == len(groups)  # … and no two norms alike
        if not (one_each and distinct):
            raise ExportError(f"column {column.name!r}: SQL cannot group its cells' texts as nprog does")
    lowered = exp.Lower(this=_as_text(source))
    spaced = exp.RegexpReplace(
        this=lowered, expression=exp.convert("[^a-z0-9]+"), replacement=exp.convert(" ")
    )
    return exp.Nullif(this=exp.Trim(this=spaced), expression=exp.convert(""))


# SQLite has no regular expressions: one nested REPLACE per character, and its parser stack overflows past
# about 25 nested calls in a whole query
MAX_SQLITE_SEPARATORS = 12


def _sqlite_word_text(column: Column, source: exp.Column, words: list[str]) -> exp.Expression:
    """The cell text as words for the word-match operations in SQLite: ASCII ``LOWER`` (SQLite's), then
    one ``REPLACE`` by a space for each character other than a-z, 0-9 and space that the column's cells
    hold. Checked on every distinct cell, exactly as SQLite computes it, against nprog's word matches."""
    strings = set(column.strings.to_pylist())
    separators = sorted(
        {ch for s in strings for ch in s.lower() if not ("a" <= ch <= "z" or "0" <= ch <= "9")} - {" "}
    )
    if len(separators) > MAX_SQLITE_SEPARATORS:
        raise ExportError(
            f"column {column.name!r}: its cells hold {len(separators)} different non-letter "
            "characters, too many to separate words without regular expressions in SQLite"
        )
    spaced = str.maketrans(dict.fromkeys(separators, " "))
    _check_word_matches(column, words, lambda s: {s.translate(_ASCII_LOWER).translate(spaced)})
    text: exp.Expression = exp.Lower(this=_as_text(source))
    for ch in separators:
        text = exp.func("REPLACE", text, _text(ch), exp.convert(" "))
    return exp.Coalesce(this=text, expressions=[exp.convert("")])


@dataclass(frozen=True)
class UserTable:
    """Where the program's columns and the row order come from in the user's table."""

    dialect: str
    name: str  # the user's table
    order: str | None  # the order column the user named; None: the engine's rowid (DuckDB, SQLite)


def typed_relation(program: Program, table: Table, user: UserTable) -> tuple[exp.Select, Layout]:
    """The CTE body rebuilding nprog's layout for the program's columns, and that layout."""
    used = {s.column for s in program.steps if s.column is not None}
    names = {c.name for c in table.columns}  # the CTE's own column names must not collide
    row = _free("__row", names)
    if user.order is None and user.dialect not in ROWID_DIALECTS:
        raise ExportError(
            f"{user.dialect} tables have no row order: name an order column "
            "(nprog ask --order-by COLUMN, Answer.sql(..., order_by=COLUMN))"
        )
    if user.order is None and any(c.original_name.lower() == "rowid" for c in table.columns):
        raise ExportError(
            "the table has a column named 'rowid', which hides the engine's row order: "
            "name an order column (--order-by COLUMN)"
        )
    # qualified: the CTE's own aliases reuse the user's column names, and DuckDB reads a bare name as an alias
    order = exp.column(user.order if user.order is not None else "rowid", table=user.name, quoted=True)
    if user.order is None:
        order.this.set("quoted", False)  # rowid is the engine's row identity, not a column to quote
    row_number = exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[exp.Ordered(this=order)]))
    selects = [exp.alias_(exp.Sub(this=row_number, expression=exp.convert(1)), _id(row))]
    columns = {}
    for column in table.columns:
        if column.name not in used:
            continue
        source = exp.column(_source_column(table, column.name, user.dialect), table=user.name, quoted=True)
        check_engine_reading(
            column,
            user.dialect,
            column.kind == "text" or any(s.op == "print" and s.column == column.name for s in program.steps),
        )
        needs_value = column.kind != "text" and any(
            s.column == column.name and s.op != "print" for s in program.steps
        )
        text_name = column.name if column.kind == "text" else _free(f"{column.name}__text", names)
        # an empty cell is NULL in the user's engine and "" to nprog (what print shows and select matches)
        shown = exp.Coalesce(this=_as_text(source), expressions=[exp.convert("")])
        selects.append(exp.alias_(shown, _id(text_name)))
        if column.kind == "text":
            steps = [s for s in program.steps if s.column == column.name]
            words = [
                w
                for s in steps
                if by_name(s.op).literal == "words"
                for w in s.values
                if isinstance(w, str) and w
            ]
            counted = any(s.op == "mfe" for s in steps)
            key = word_key = None
            if user.dialect != "sqlite" and (counted or words):  # one normalized text serves both
                key = _free(f"{column.name}__norm", names)
                selects.append(exp.alias_(_norm_text(column, source, words, counted), _id(key)))
            else:
                if counted:
                    key = _free(f"{column.name}__norm", names)
                    selects.append(exp.alias_(_mfe_text_key(column, source), _id(key)))
                if words:
                    word_key = _free(f"{column.name}__words", names)
                    selects.append(exp.alias_(_sqlite_word_text(column, source, words), _id(word_key)))
            columns[column.name] = ColumnLayout(column.kind, None, text_name, key or text_name, word_key)
        else:
            value = None
            if needs_value:
                value = column.name
                selects.append(
                    exp.alias_(value_sql(source, recipe_for(column, user.dialect), user.dialect), _id(value))
                )
            columns[column.name] = ColumnLayout(column.kind, value, text_name, value or text_name)
    return exp.select(*selects).from_(_table_ref(user.name)), Layout(row, columns)


def _free(name: str, taken: set[str]) -> str:
    k, out = 2, name
    while out.lower() in {t.lower() for t in taken}:
        out, k = f"{name}_{k}", k + 1
    taken.add(out)
    return out


def to_portable_expression(program: Program, table: Table, user: UserTable) -> exp.Select:
    """The program as one SELECT over the user's table: the typed CTE, a CTE per row step, the answer."""
    validate(program, table)
    program = program.simplified()
    relation, lay = typed_relation(program, table, user)
    typed = TYPED
    while typed.lower() == user.name.lower():
        typed = "_" + typed
    prefix = _cte_prefix(user.name, len(program.steps))
    query, steps = program_query(program, table, lay, typed, prefix)
    for name, cte in [(typed, relation), *steps]:
        query = query.with_(exp.TableAlias(this=_id(name)), as_=cte, copy=False)
    return query


def to_portable_sql(
    program: Program,
    table: Table,
    dialect: str = "duckdb",
    table_name: str | None = None,
    order_by: str | None = None,
    *,
    pretty: bool = True,
) -> str:
    """SQL over the user's own table (see the module docstring); ExportError where it cannot be exact."""
    if dialect not in DIALECTS:
        raise ExportError(
            f"SQL over your own table is written for {', '.join(DIALECTS)}, not {dialect!r} "
            "(layout='nprog' prints any sqlglot dialect for nprog's own loader)"
        )
    user = UserTable(dialect, table_name or default_table_name(table), order_by)
    try:
        tree = _native_null_order(to_portable_expression(program, table, user), dialect)
        return tree.sql(dialect=dialect, pretty=pretty, identify=True)
    except RecursionError:  # sqlglot prints nested expressions recursively
        raise ExportError("the program's SQL nests too deeply to print") from None


# ---------------------------------------------------------------- checks: the user's table as the user loads it


def write_csv(table: Table, path: str | Path) -> None:
    """The cells nprog read, under their original headers, as a standard CSV (RFC 4180 quoting).

    The checks load this file with each engine's own reader. (WikiTableQuestions' ``.csv`` files are not
    what nprog reads: it reads their ``.tsv`` twins, and 80 of the 346 dev tables' CSVs hold other text —
    backslash-escaped quotes, plain spaces for non-breaking ones.)"""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")  # one line ending, also inside quoted cells
        writer.writerow([c.original_name for c in table.columns])
        writer.writerows(zip(*(c.strings.to_pylist() for c in table.columns), strict=True))


def load_csv_as_user(
    conn, csv_path: str | Path, dialect: str, table_name: str, order_by: str | None = None
) -> None:
    """Load a CSV the way a user would: DuckDB ``read_csv``; SQLite ``pandas.read_csv(...).to_sql``;
    PostgreSQL: text columns filled by COPY from the CSV (Python's csv reader, as COPY ... CSV HEADER
    reads it). ``order_by`` adds that column holding the file's row number (1-based)."""
    path = str(csv_path)
    target = _table_ref(table_name)
    if dialect == "duckdb":
        conn.execute(_drop_if_exists(target.copy()).sql("duckdb"))
        extra = f", ROW_NUMBER() OVER () AS {_id(order_by).sql('duckdb')}" if order_by else ""
        create = f"CREATE TABLE {target.sql('duckdb')} AS SELECT *{extra} FROM read_csv(?, header=true{{}})"
        try:
            conn.execute(create.format(""), [path])
        except duckdb.InvalidInputException:  # the sniffer gave up: say what the file is, as its hint asks
            conn.execute(create.format(", delim=',', quote='\"', escape='\"'"), [path])
        return
    if dialect == "sqlite":
        import pandas as pd

        frame = pd.read_csv(path)
        if order_by:
            frame[order_by] = np.arange(1, len(frame) + 1)
        frame.to_sql(table_name, conn, if_exists="replace")
        return
    if dialect == "postgres":
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            rows = list(csv.reader(f))
        header, body = rows[0], rows[1:]
        width = len(header)
        seen: set[str] = set()
        for k, h in enumerate(
            header
        ):  # as CSV readers do: an empty or repeated header gets a name of its own
            h = h.replace("\x00", "") or f"column{k}"
            while h in seen:
                h += f"_{k}"
            header[k] = h
            seen.add(h)
        names = header + ([order_by] if order_by else [])
        conn.execute(_drop_if_exists(target.copy()).sql("postgres"))
        defs = [
            exp.ColumnDef(this=_id(n), kind=exp.DataType.build("BIGINT" if k == width else "TEXT"))
            for k, n in enumerate(names)
        ]  # the order column is a number: "10" sorts after "9"
        conn.execute(
            exp.Create(this=exp.Schema(this=target.copy(), expressions=defs), kind="TABLE").sql("postgres")
        )
        copy = exp.Copy(
            this=exp.Schema(this=target, expressions=[_id(n) for n in names]),
            kind=True,
            files=[exp.to_identifier("STDIN")],
        )
        with conn.cursor() as cur, cur.copy(copy.sql("postgres")) as out:
            for i, r in enumerate(body, start=1):
                cells = [(c.replace("\x00", "") or None) for c in (r + [""] * width)[:width]]
                out.write_row(cells + ([str(i)] if order_by else []))
        return
    raise ValueError(f"no user-style loader for {dialect}")


def _as_number(text: str) -> float | None:
    try:
        return float(text) if re.fullmatch(_READER_NUMBER, text.strip()) else None
    except ValueError:
        return None


def answers_agree(expected: list[str], got: list[str]) -> bool:
    """WTQ answer matching (:func:`nprog.answers.lists_match`), where a cell an engine typed as a number may
    show as that number ("0.5" for ".5", "1.0" for "1."): item by item in order, equal as strings or as
    numbers, is the same answer too."""
    if lists_match(expected, got):
        return True
    if len(expected) != len(got):
        return False
    for a, b in zip(expected, got, strict=True):
        x, y = _as_number(a), _as_number(b)
        if a != b and (x is None or y is None or x != y):
            return False
    return True


def check_portable(
    program: Program, table: Table, conn, dialect: str, table_name: str, order_by: str | None = None
) -> str:
    """'agree', 'refused' (ExportError) or 'wrong' (the engine's answer differs, or the SQL failed):
    the portable SQL run on the user's table in ``conn`` against the reference executor."""
    expected = execute(program, table).answer
    try:
        sql = to_portable_sql(program, table, dialect, table_name, order_by, pretty=False)
    except ExportError:
        return "refused"
    try:
        got = run_sql(conn, sql)
    except Exception:  # noqa: BLE001 - any engine failure is a disagreement the report counts
        return "wrong"
    return "agree" if answers_agree(expected, got) else "wrong"


def agreement_line(agree: int, refused: int, wrong: int) -> str:
    n = agree + refused + wrong
    return f"portable sql agreement: {agree / max(n, 1):.3f} ({agree}/{n}), refused {refused}, wrong {wrong}"


__all__ = [
    "ExportError",
    "PortableCheck",
    "Recipe",
    "check_setup_error",
    "UserTable",
    "agreement_line",
    "check_portable",
    "default_table_name",
    "load_csv_as_user",
    "recipe_for",
    "to_portable_expression",
    "to_portable_sql",
    "value_sql",
]


def check_setup_error(dialect: str, order_by: str | None) -> str | None:
    """Why a portable check on ``dialect`` cannot run here (one line), or None."""
    if dialect == "postgres":
        import os

        if not os.environ.get("NPROG_PG_DSN"):
            return "--check-sql portable --sql postgres needs a server: set NPROG_PG_DSN (.ci/postgres.sh prints one)"
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return "--check-sql portable --sql postgres needs psycopg (pip install 'psycopg[binary]')"
        if not order_by:
            return "--check-sql portable --sql postgres needs --order-by COLUMN: PostgreSQL tables have no row order"
    return None


class PortableCheck:
    """Checks answers one by one: nprog's table written as a CSV named after the user's table, loaded by the
    engine's own reader (:func:`load_csv_as_user`), the portable SQL run on it (:func:`check_portable`)."""

    SCHEMA = "nprog_portable_check"  # PostgreSQL: the loaded tables live here, apart from the user's own

    def __init__(self, dialect: str, order_by: str | None = None):
        import tempfile

        self.dialect, self.order_by = dialect, order_by
        self._dir = tempfile.TemporaryDirectory(prefix="nprog-portable-")
        self._pg = None

    def _connect(self):
        if self.dialect == "duckdb":
            return duckdb.connect()
        if self.dialect == "sqlite":
            import sqlite3

            return sqlite3.connect(":memory:")
        if self._pg is None:
            import os

            import psycopg

            self._pg = psycopg.connect(os.environ["NPROG_PG_DSN"], autocommit=True)
            schema = _id(self.SCHEMA).sql("postgres")
            self._pg.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            self._pg.execute(f"SET search_path TO {schema}")
        return self._pg

    def __call__(self, program: Program, table: Table, table_name: str) -> str:
        path = Path(self._dir.name) / f"{re.sub(r'[^0-9A-Za-z_.-]', '_', table_name)}.csv"
        write_csv(table, path)
        conn = self._connect()
        try:
            load_csv_as_user(conn, path, self.dialect, table_name, self.order_by)
        except Exception:  # noqa: BLE001 - the engine's reader could not load the file
            return "wrong"
        try:
            return check_portable(program, table, conn, self.dialect, table_name, self.order_by)
        finally:
            if conn is not self._pg:
                conn.close()
