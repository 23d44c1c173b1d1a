"""Programs as SQL: one sqlglot expression tree per program, printed in any dialect, run on real engines.

The SQL reads the table as :class:`nprog.tables.Table` types it, loaded by :func:`load_into`. The layout
is the contract users see (``t`` is the default table name)::

    "__row"          BIGINT            0-based original row order (INTEGER in SQLite)
    "<name>"         DOUBLE            number column: its value; date column: its date-scale value
                                       (year + (month-1)/12 + (day-1)/372, see nprog.values); NULL if invalid
    "<name>__text"   TEXT              number/date column: the cell as displayed (what ``print`` returns)
    "<name>"         TEXT              text column: the cell as displayed
    "<name>__norm"   TEXT              text column: normalized text (Table.norm; NULL where empty), the key
                                       of most-frequent-entry

``<name>`` is the column's unique :attr:`Column.name` (a name that shares its first 63 bytes, case
aside, with an earlier one is cut and numbered like the helpers, or PostgreSQL would merge the two). Dates are DOUBLEs on the date scale rather than SQL
DATEs because cells such as "1990" or "March 1990" are partial dates that no DATE holds, and because the
question numbers the comparisons use live on that same scale: comparing two doubles is exact everywhere.
Helper names (``__row``, the companions) take the first free spelling (``__row_2``, ``<name>__text_2`` …)
when a table column already uses them, and are kept within PostgreSQL's 63-byte identifier limit.
-0.0 is stored as 0.0: equal under every comparison, but some engines group or sort the two apart.

Each step becomes a CTE ``s1, s2, …`` holding the ``__row`` s it selects; the final SELECT is ``COUNT(*)``
or the printed column's distinct display strings in the order of their first row (``GROUP BY`` the text,
``ORDER BY MIN(__row)``: DISTINCT has no portable order). Ops that read values select nothing on a text
column (it has none), which the SQL says with ``WHERE FALSE``. :data:`SQL_FORMS` holds one builder per
operation of :data:`nprog.ops.OPS`. Identifiers are always quoted and literals always built by sqlglot.

Exactness: SQL result == :func:`nprog.program.execute` result, string for string, on DuckDB, SQLite and
PostgreSQL (``tests/test_sql.py``). Caveats: SQLite before 3.43 may round a 16–17 digit literal to a
neighbouring double, so a comparison against such a number can differ at that one value; MySQL's default
collation is case- and accent-insensitive, so ``print`` may merge strings that differ only in case.
"""

from __future__ import annotations

import math
import os
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import Dialect, exp

from nprog.answers import format_number, lists_match
from nprog.ops import by_name, totals_rows
from nprog.program import Program, Step, execute, validate
from nprog.readers import read_database
from nprog.tables import Table

ROW = "__row"
TEXT_SUFFIX = "__text"
NORM_SUFFIX = "__norm"
NAME_BYTES = 63  # PostgreSQL silently truncates longer identifiers


# ---------------------------------------------------------------- layout: the loaded table's columns


@dataclass(frozen=True)
class ColumnLayout:
    """Where one table column lives in SQL."""

    kind: str  # the Column's kind
    value: str | None  # DOUBLE column of values (number/date); None for text columns
    text: str  # TEXT column of display strings (what print returns)
    key: str  # what most-frequent-entry groups by: the value column, or the normalized-text companion
    words: str | None = None  # what word matches read, where not the key (SQL over the user's own table)


@dataclass(frozen=True)
class Layout:
    row: str  # the INTEGER row-order column
    columns: dict[str, ColumnLayout]  # by Column.name, in table order

    def sql_columns(self) -> list[tuple[str, str]]:
        """(SQL column name, sqlglot type) in the loaded table's order."""
        out = [(self.row, "BIGINT")]
        for c in self.columns.values():
            if c.value is None:
                out += [(c.text, "TEXT"), (c.key, "TEXT")]
            else:
                out += [(c.value, "DOUBLE"), (c.text, "TEXT")]
        return out


def _name_key(name: str) -> str:
    """What engines compare names by: DuckDB/SQLite ignore case, PostgreSQL keeps 63 bytes."""
    return name.lower().encode("utf-8")[:NAME_BYTES].decode("utf-8", errors="ignore")


def _free_name(stem: str, suffix: str, taken: set[str]) -> str:
    """``stem + suffix`` (stem shortened to fit 63 bytes), numbered until no taken name collides."""
    for k in range(1, len(taken) + 2):
        tail = suffix if k == 1 else f"{suffix}_{k}"
        room = NAME_BYTES - len(tail.encode("utf-8"))
        name = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore") + tail
        if _name_key(name) not in taken:
            taken.add(_name_key(name))
            return name
    raise AssertionError("unreachable: more candidates than taken names")


def layout(table: Table) -> Layout:
    """The SQL columns of ``table`` (see the module docstring); :func:`load_into` and the SQL share it."""
    taken: set[str] = set()
    own = {}  # Column.name → its SQL name: itself, unless PostgreSQL's 63-byte cut merges it with an earlier one
    for c in table.columns:
        key = _name_key(c.name)
        own[c.name] = c.name if key not in taken else _free_name(c.name, "", taken)
        taken.add(key)
    row = _free_name(ROW, "", taken)
    columns = {}
    for c in table.columns:
        name = own[c.name]
        if c.kind == "text":
            columns[c.name] = ColumnLayout(c.kind, None, name, _free_name(name, NORM_SUFFIX, taken))
        else:
            columns[c.name] = ColumnLayout(c.kind, name, _free_name(name, TEXT_SUFFIX, taken), name)
    return Layout(row, columns)


# ---------------------------------------------------------------- expression helpers


def _id(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _table_ref(name: str) -> exp.Table:
    return exp.Table(this=_id(name))  # never parsed: a dot or quote in the name stays part of it


def _number(x: float) -> exp.Expression:
    return exp.convert(float(x))


def _text(value: str) -> exp.Expression:
    """A string literal; one holding NUL is spelled ``'a' || CHR(0) || 'b'``: no engine takes a raw NUL
    in SQL text (SQLite's driver refuses the query), while DuckDB and SQLite store NUL in TEXT values.
    PostgreSQL TEXT cannot hold NUL at all."""
    if "\x00" not in value:
        return exp.convert(value)
    pieces: list[exp.Expression] = []
    for i, part in enumerate(value.split("\x00")):
        if i:
            pieces.append(exp.Chr(expressions=[exp.convert(0)]))
        if part:
            pieces.append(exp.convert(part))
    out = pieces[0]
    for piece in pieces[1:]:
        out = exp.DPipe(this=out, expression=piece)
    return exp.Paren(this=out)


@dataclass(frozen=True)
class _Context:
    """What a step's builder needs: the layout, the loaded table, and where its incoming rows are."""

    layout: Layout
    table: str  # the loaded table's name
    source: str | None  # CTE holding the incoming rows; None: all rows but the totals rows (the first step)
    totals: tuple[int, ...] = ()  # the totals rows' "__row" s (nprog.ops.totals_rows)

    @property
    def row(self) -> exp.Column:
        return _col(self.layout.row)

    def data(self) -> exp.Expression | None:
        """``NOT "__row" IN (totals rows)``; None when the table has none."""
        if not self.totals:
            return None
        return exp.not_(self.row.isin(*(exp.convert(r) for r in self.totals)))

    def from_incoming(self, *columns: exp.Expression) -> exp.Select:
        """SELECT columns FROM <the incoming rows> (the first step: the table's data rows)."""
        query = exp.select(*columns).from_(_table_ref(self.source or self.table))
        data = self.data() if self.source is None else None
        return query if data is None else query.where(data)

    def incoming(self) -> exp.Select:
        """SELECT "__row" FROM <the incoming rows>."""
        return self.from_incoming(self.row)

    def selected(self, row_expr: exp.Expression | None = None) -> exp.Expression | None:
        """``row_expr IN (incoming rows)``; None when it is trivially true (own row, all rows)."""
        if row_expr is None:
            if self.source is None:
                return self.data()
            row_expr = self.row
        return row_expr.isin(query=self.incoming())

    def rows_where(self, *conditions: exp.Expression | None) -> exp.Select:
        """SELECT "__row" FROM t [WHERE the conditions that are not None, ANDed]."""
        query = exp.select(self.row).from_(_table_ref(self.table))
        kept = [c for c in conditions if c is not None]
        return query.where(exp.and_(*kept)) if kept else query

    def value(self, step: Step) -> exp.Column | None:
        """The step column's DOUBLE values; None for a text column (no values: such ops select nothing)."""
        name = self.layout.columns[step.column].value
        return None if name is None else _col(name)


# ---------------------------------------------------------------- one builder per operation


def _previous(step: Step, ctx: _Context) -> exp.Select:
    return ctx.rows_where(ctx.selected(ctx.row + exp.convert(1)))  # row i iff row i+1 was selected


def _next(step: Step, ctx: _Context) -> exp.Select:
    return ctx.rows_where(ctx.selected(ctx.row - exp.convert(1)))


def _extreme_row(fn: type[exp.Func]) -> Callable[[Step, _Context], exp.Select]:
    """first/last: the row equal to MIN/MAX of the incoming rows (no row when they are empty)."""

    def build(step: Step, ctx: _Context) -> exp.Select:
        edge = exp.Subquery(this=ctx.from_incoming(fn(this=ctx.row)))
        return ctx.rows_where(exp.EQ(this=ctx.row, expression=edge))

    return build


def _comparison(
    cls: type[exp.Binary], fn: Callable[[float, float], bool]
) -> Callable[[Step, _Context], exp.Select]:
    """greater/less/geq/leq: static; NULL (invalid) cells never match.

    A NaN number matches nothing, and ±inf matches either every valid cell or none: those fold to
    ``IS NOT NULL`` / ``FALSE`` here because SQL has no portable infinity literal.
    """

    def build(step: Step, ctx: _Context) -> exp.Select:
        value, number = ctx.value(step), float(step.number)
        if value is None or math.isnan(number):
            return ctx.rows_where(exp.false())
        if math.isinf(number):  # every finite value compares with ±inf as 0 does
            return ctx.rows_where(exp.not_(value.is_(exp.null())) if fn(0.0, number) else exp.false())
        return ctx.rows_where(cls(this=value, expression=_number(number)))

    return build


def _superlative(descending: bool) -> Callable[[Step, _Context], exp.Select]:
    """argmax/argmin: the incoming rows whose value is the MAX (MIN) of the incoming rows' values — every
    tied row, as the executor keeps them (no row order involved; NULLs never match)."""

    def build(step: Step, ctx: _Context) -> exp.Select:
        value = ctx.value(step)
        if value is None:
            return ctx.rows_where(exp.false())
        extreme = ctx.rows_where(ctx.selected())
        extreme.set("expressions", [(exp.Max if descending else exp.Min)(this=value.copy())])
        return ctx.rows_where(ctx.selected(), exp.EQ(this=value, expression=exp.Subquery(this=extreme)))

    return build


def _mfe(step: Step, ctx: _Context) -> exp.Select:
    """Rows holding a most frequent key, if it occurs more than once: every key tied for the highest count
    (as the executor: no row order involved)."""
    key = _col(ctx.layout.columns[step.column].key)
    count = exp.Count(this=exp.Star())

    def grouped(*columns: exp.Expression) -> exp.Select:
        return (
            exp.select(*columns)
            .from_(_table_ref(ctx.table))
            .where(exp.not_(key.is_(exp.null())))
            .group_by(key)
        )

    counts = grouped(exp.alias_(count.copy(), _id("__n")))
    highest = exp.select(exp.Max(this=_col("__n"))).from_(
        exp.Subquery(this=counts, alias=exp.TableAlias(this=_id("__counts")))
    )
    modes = grouped(key.copy()).having(
        exp.and_(
            exp.GT(this=count.copy(), expression=exp.convert(1)),
            exp.EQ(this=count.copy(), expression=exp.Subquery(this=highest)),
        )
    )
    return ctx.rows_where(key.copy().isin(query=modes))


def _is_named(step: Step, ctx: _Context) -> exp.Expression:
    """A row's display string (text) or value (number/date) is one of the step's values.

    The values are read exactly as the executor reads them: text columns match strings only; number and
    date columns convert with numpy's float64 and keep finite values (NaN and ±inf match no valid cell).
    An invalid (NULL) value gives NULL, which WHERE reads as no match.
    """
    value = ctx.value(step)
    if value is None:
        target = _col(ctx.layout.columns[step.column].text)
        literals = [v for v in step.values if isinstance(v, str)]
    else:
        target = value
        literals = [float(v) for v in np.asarray(step.values, dtype=np.float64) if math.isfinite(v)]
    literals = list(dict.fromkeys(literals))  # -0.0 and 0.0 collapse too: they are equal
    if not literals:
        return exp.false()
    return target.isin(*(_text(v) if isinstance(v, str) else exp.convert(v) for v in literals))


def _holds_word(step: Step, ctx: _Context) -> exp.Expression:
    """A text cell's normalized text holds one of the step's words as a whole word: ``' ' || norm || ' '``
    contains ``' word '`` (the normalized text is words joined by single spaces; an empty cell's is NULL,
    which WHERE reads as no match)."""
    words = list(dict.fromkeys(w for w in step.values if isinstance(w, str) and w))
    if ctx.value(step) is not None or not words:
        return exp.false()
    column = ctx.layout.columns[step.column]
    norm = _col(column.words or column.key)
    padded = exp.DPipe(this=exp.DPipe(this=exp.convert(" "), expression=norm), expression=exp.convert(" "))
    hits = [exp.GT(this=exp.StrPosition(this=padded.copy(), substr=_text(f" {w} ")), expression=exp.convert(0))
            for w in words]  # fmt: skip
    return exp.or_(*hits)


def _select(step: Step, ctx: _Context) -> exp.Select:
    """Static: rows whose cell the question names."""
    return ctx.rows_where(_is_named(step, ctx))


def _contains(step: Step, ctx: _Context) -> exp.Select:
    """Static: rows whose text cell holds one of the step's words."""
    return ctx.rows_where(_holds_word(step, ctx))


def _and(condition: Callable[[Step, _Context], exp.Expression], negate: bool = False):
    """A filter ANDed with the incoming rows (negate: the incoming rows the condition does not hold for)."""

    def build(step: Step, ctx: _Context) -> exp.Select:
        hit = condition(step, ctx)
        if negate:  # NOT of a NULL (an invalid cell) is NULL: such a cell is "not" any of the values
            hit = exp.not_(exp.Coalesce(this=hit, expressions=[exp.false()]))
        return ctx.rows_where(ctx.selected(), hit)

    return build


def _reset(step: Step, ctx: _Context) -> exp.Select:
    return ctx.rows_where()


def _count(step: Step, ctx: _Context) -> exp.Select:
    return ctx.from_incoming(exp.alias_(exp.Count(this=exp.Star()), _id("count")))


def _aggregate(fn: Callable[[exp.Column], exp.Expression], empty_is_zero: bool = False):
    """sum/average/difference of the step column's values over the incoming rows: one number, or no row
    when nothing valid is selected (a sum of nothing is 0). A text column has no values."""

    def build(step: Step, ctx: _Context) -> exp.Select:
        value = ctx.value(step)
        if value is None:  # a text column: no values, as if every cell were invalid
            value = exp.Cast(this=exp.null(), to=exp.DataType.build("DOUBLE"))
        total = fn(value)
        if empty_is_zero:
            total = exp.Coalesce(this=total, expressions=[exp.convert(0.0)])
        inner = exp.select(exp.alias_(total, _id("x"))).from_(_table_ref(ctx.table))
        condition = ctx.selected()
        if condition is not None:
            inner = inner.where(condition)
        if empty_is_zero:
            return inner
        x = _col("x")
        return (
            exp.select(x)
            .from_(exp.Subquery(this=inner, alias=exp.TableAlias(this=_id("a"))))
            .where(exp.not_(x.is_(exp.null())))
        )

    return build


def _exists(step: Step, ctx: _Context) -> exp.Select:
    """'yes' when any row is selected, else 'no'."""
    any_row = exp.Exists(this=ctx.incoming())
    return exp.select(
        exp.Case(ifs=[exp.If(this=any_row, true=exp.convert("yes"))], default=exp.convert("no"))
    )


def _print(step: Step, ctx: _Context) -> exp.Select:
    """Distinct display strings of the selected rows, in the order of their first row."""
    text = _col(ctx.layout.columns[step.column].text)
    # no "AS <name>": the value column has that name, and some dialects read GROUP BY names as aliases
    query = exp.select(text).from_(_table_ref(ctx.table))
    condition = ctx.selected()
    if condition is not None:
        query = query.where(condition)
    return query.group_by(text.copy()).order_by(exp.Ordered(this=exp.Min(this=ctx.row)))


SQL_FORMS: dict[str, Callable[[Step, _Context], exp.Select]] = {
    "count": _count,
    "previous": _previous,
    "next": _next,
    "first": _extreme_row(exp.Min),
    "last": _extreme_row(exp.Max),
    "mfe": _mfe,
    "greater": _comparison(exp.GT, lambda v, n: v > n),
    "less": _comparison(exp.LT, lambda v, n: v < n),
    "geq": _comparison(exp.GTE, lambda v, n: v >= n),
    "leq": _comparison(exp.LTE, lambda v, n: v <= n),
    "argmax": _superlative(descending=True),
    "argmin": _superlative(descending=False),
    "select": _select,
    "reset": _reset,
    "print": _print,
    "sum": _aggregate(lambda v: exp.Sum(this=v), empty_is_zero=True),
    "average": _aggregate(lambda v: exp.Avg(this=v)),
    "difference": _aggregate(lambda v: exp.Sub(this=exp.Max(this=v), expression=exp.Min(this=v.copy()))),
    "exists": _exists,
    "contains": _contains,
    "and_select": _and(_is_named),
    "and_contains": _and(_holds_word),
    "exclude": _and(_is_named, negate=True),
}


# ---------------------------------------------------------------- programs → SQL


def _cte_prefix(table_name: str, n_steps: int) -> str:
    """The CTE name prefix: "s", or "_s", "__s" … when the table is itself named s1, s2 …

    (a CTE of the same name would shadow the table)."""
    prefix = "s"
    while any(f"{prefix}{k}" == table_name.lower() for k in range(1, n_steps + 1)):
        prefix = "_" + prefix
    return prefix


def to_expression(program: Program, table: Table, table_name: str = "t") -> exp.Select:
    """The program as one sqlglot SELECT over the loaded table: a CTE per row step, then the answer."""
    validate(program, table)
    prefix = _cte_prefix(table_name, len(program.steps))
    query, ctes = program_query(program, table, layout(table), table_name, prefix)
    for name, cte in ctes:
        query = query.with_(exp.TableAlias(this=_id(name)), as_=cte, copy=False)
    return query


def program_query(
    program: Program, table: Table, lay: Layout, relation: str, prefix: str
) -> tuple[exp.Select, list[tuple[str, exp.Select]]]:
    """(the answer's SELECT, the row steps' CTEs) over ``relation`` laid out as ``lay``: the one place the
    steps are chained, for nprog's loader layout and the user's own table (:mod:`nprog.portable`) alike.

    The first step starts from the data rows: a table's totals rows (:func:`nprog.ops.totals_rows`) are
    left out unless a word step (select, contains) names them."""
    totals = tuple(int(r) for r in np.flatnonzero(totals_rows(table)))
    ctes: list[tuple[str, exp.Select]] = []
    source = None
    for k, step in enumerate(program.steps[:-1], start=1):
        ctx = _Context(lay, relation, source, totals)
        query = SQL_FORMS[step.op](step, ctx)
        op = by_name(step.op)
        if op.static and not op.totals and totals:  # non-word static ops range over the data rows
            query = query.where(ctx.data())
        ctes.append((f"{prefix}{k}", query))
        source = ctes[-1][0]
    return SQL_FORMS[program.steps[-1].op](program.steps[-1], _Context(lay, relation, source, totals)), ctes


def to_sql(
    program: Program, table: Table, dialect: str = "duckdb", table_name: str = "t", *, pretty: bool = True
) -> str:
    """The program as SQL text in any sqlglot dialect (every identifier quoted; pretty by default)."""
    tree = _native_null_order(to_expression(program, table, table_name), dialect)
    return tree.sql(dialect=dialect, pretty=pretty, identify=True)


def _native_null_order(tree: exp.Select, dialect: str) -> exp.Select:
    """Let every ORDER BY key sort NULLs where the dialect puts them by itself.

    No key here is ever NULL (``__row``, ``COUNT(*)``, values filtered ``IS NOT NULL``), so any NULL
    placement is right, and asking for the native one spares readers sqlglot's emulation of another
    (``NULLS LAST`` clauses, ``CASE WHEN x IS NULL`` sort keys).
    """
    ordering = Dialect.get_or_raise(dialect).NULL_ORDERING
    for key in tree.find_all(exp.Ordered):
        desc = bool(key.args.get("desc"))
        nulls_first = (ordering == "nulls_are_small") != desc if ordering != "nulls_are_last" else False
        key.set("nulls_first", nulls_first)
    return tree


# ---------------------------------------------------------------- engines: load, run, compare


def _dialect_of(conn) -> str:
    """The sqlglot dialect of a DuckDB, SQLite or psycopg (PostgreSQL) connection."""
    if isinstance(conn, duckdb.DuckDBPyConnection):
        return "duckdb"
    if isinstance(conn, sqlite3.Connection):
        return "sqlite"
    if type(conn).__module__.split(".")[0] == "psycopg":  # not imported: psycopg is optional
        return "postgres"
    raise TypeError(f"expected a DuckDB, SQLite or psycopg connection, got {type(conn).__name__}")


def _columns(table: Table, lay: Layout) -> list[pa.Array]:
    """The loaded table's columns, in :meth:`Layout.sql_columns` order."""
    out = [pa.array(np.arange(table.n_rows, dtype=np.int64))]
    for c in table.columns:
        if c.kind == "text":
            norm = pc.if_else(pc.equal(c.norm, ""), pa.scalar(None, pa.string()), c.norm)
            out += [c.strings, norm]
        else:
            out += [pa.array(c.value + 0.0, type=pa.float64(), from_pandas=True), c.strings]  # NaN → NULL
    return out


def _create(lay: Layout, target: exp.Table) -> exp.Create:
    defs = [exp.ColumnDef(this=_id(n), kind=exp.DataType.build(t)) for n, t in lay.sql_columns()]
    return exp.Create(this=exp.Schema(this=target, expressions=defs), kind="TABLE")


def _drop_if_exists(target: exp.Table) -> exp.Drop:
    # sqlglot 30 holds the dropped tables in a list under "tables"; older releases used "this"
    where = {"tables": [target]} if "tables" in exp.Drop.arg_types else {"this": target}
    return exp.Drop(kind="TABLE", exists=True, **where)


def _insert_duckdb(conn, target: exp.Table, data: pa.Table) -> None:
    view = f"__nprog_load_{uuid.uuid4().hex}"  # an Arrow scan: no per-row Python work
    conn.register(view, data)
    try:
        conn.execute(exp.insert(exp.select(exp.Star()).from_(_table_ref(view)), target).sql("duckdb"))
    finally:
        conn.unregister(view)


def _rows(data: pa.Table):
    return zip(*(c.to_pylist() for c in data.columns), strict=True)


def _insert_sqlite(conn, target: exp.Table, data: pa.Table) -> None:
    values = exp.Values(expressions=[exp.Tuple(expressions=[exp.Placeholder() for _ in data.columns])])
    conn.executemany(exp.insert(values, target).sql("sqlite"), _rows(data))


def _insert_postgres(conn, target: exp.Table, data: pa.Table) -> None:
    # COPY, not INSERT with %s placeholders: psycopg would read a '%' inside a quoted name as one
    copy = exp.Copy(this=exp.Schema(this=target, expressions=[_id(n) for n in data.column_names]),
                    kind=True, files=[exp.to_identifier("STDIN")])  # fmt: skip
    with conn.cursor() as cur, cur.copy(copy.sql("postgres")) as out:
        for row in _rows(data):
            out.write_row(row)


_INSERT = {"duckdb": _insert_duckdb, "sqlite": _insert_sqlite, "postgres": _insert_postgres}


def load_into(conn, table: Table, table_name: str = "t", *, replace: bool = False) -> None:
    """Create ``table_name`` in a DuckDB, SQLite or psycopg connection with the layout the SQL expects.

    Runs in the caller's transaction (commit it to share the table with other connections). With
    ``replace`` an existing table of that name is dropped first.
    """
    dialect = _dialect_of(conn)
    lay, target = layout(table), _table_ref(table_name)
    if replace:
        conn.execute(_drop_if_exists(target.copy()).sql(dialect))
    conn.execute(_create(lay, target.copy()).sql(dialect))
    names = [n for n, _ in lay.sql_columns()]
    _INSERT[dialect](conn, target, pa.Table.from_arrays(_columns(table, lay), names=names))


def _display(cell) -> str:
    """A result cell as an answer string: display strings are TEXT; numbers come only from COUNT."""
    if isinstance(cell, str):
        return cell
    if cell is None:  # loaded display strings are never NULL; only hand-written SQL gets here
        return ""
    return format_number(float(cell))


def run_sql(conn, sql: str) -> list[str]:
    """Run SQL from :func:`to_sql` on a DuckDB, SQLite or psycopg connection; the answer as strings."""
    _dialect_of(conn)  # a clear TypeError for anything else
    return [_display(row[0]) for row in conn.execute(sql).fetchall()]


def run_program(program: Program, table: Table, conn=None, table_name: str = "t") -> list[str]:
    """The program's answer computed by an engine: ``conn`` (with ``table`` loaded), else fresh DuckDB."""
    if conn is not None:
        return run_sql(conn, to_sql(program, table, _dialect_of(conn), table_name))
    with duckdb.connect() as fresh:
        load_into(fresh, table, table_name)
        return run_sql(fresh, to_sql(program, table, "duckdb", table_name))


def check_agreement(
    program: Program, table: Table, conn=None, *, table_name: str = "t", exact: bool = True
) -> bool:
    """Does the SQL answer equal the reference executor's?

    ``exact`` (default): the same strings in the same order, the layout's promise. Otherwise WTQ answer
    matching (:func:`nprog.answers.lists_match`), what accuracy counts.
    """
    expected = execute(program, table).answer
    got = run_program(program, table, conn, table_name)
    return got == expected if exact else lists_match(expected, got)


# ---------------------------------------------------------------- database files → Table


def read_db_table(path: str | os.PathLike, table_name: str) -> tuple[Table, str]:
    """A table of a DuckDB or SQLite file (opened read-only) as a typed Table, and the file's dialect
    (read by :func:`nprog.readers.read_database`).

    Unknown table: a TableError listing the tables; an unreadable file: a TableError naming it.
    """
    frame, dialect, source = read_database(path, table_name)
    return Table.from_dataframe(frame, source=source), dialect


__all__ = [
    "SQL_FORMS",
    "ColumnLayout",
    "Layout",
    "check_agreement",
    "layout",
    "load_into",
    "read_db_table",
    "run_program",
    "run_sql",
    "to_expression",
    "to_sql",
]
