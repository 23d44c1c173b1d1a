"""Hard programs: what the model decided, in a form a person can read and any engine can run.

A :class:`Program` is a list of :class:`Step` s. Each step names an operation of the registry
(:mod:`nprog.ops`), the column it reads (by its unique name), and its literal: the question number of a
comparison, the cell values a ``select`` (``and_select``, ``exclude``) matched, or the question words a
``contains`` looks for (the op's declared ``literal``). Programs are self-contained: executing one needs only
the table, not the question, so the reference executor here and the SQL of :mod:`nprog.sql` can be
checked against each other on any table.

Every step reads the previous step's row selection (the 2017 model's ``previous``-previous selector was
never used, so it is not carried). The first step reads every row but the totals rows
(:func:`nprog.ops.totals_rows`). The last step is an answer operation (count, print, sum …).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
import pyarrow.compute as pc

from nprog.answers import format_number
from nprog.ops import OP_INDEX, OPS, by_name, data_rows
from nprog.tables import Column, Table


class ProgramError(ValueError):
    """A program does not fit the table (unknown op or column, missing literal)."""


@dataclass
class Step:
    op: str
    column: str | None = None
    number: float | None = None  # comparisons: the question number
    values: list = field(default_factory=list)  # select: matched cell strings (text) or numbers
    on_date: bool = False  # the column holds dates: its numbers are on the date scale, shown as dates

    def describe(self, reads_all_rows: bool = False) -> str:
        """The step in plain words; ``reads_all_rows``: it is the program's first step (its incoming rows are
        the whole table), so "of them, the row with the highest Gold" reads "the row with the highest Gold"."""
        op = by_name(self.op)
        number = format_date if self.on_date else format_number
        shown = [repr(v) if isinstance(v, str) else number(float(v)) for v in self.values[:5]]
        if len(self.values) > 5:
            shown.append(f"… ({len(self.values)} values)")
        label = op.label
        if self.on_date:  # "rows where Date is after 14 December 2003", not "Date > 2003.95"
            for symbol, words in _DATE_COMPARISONS.items():
                label = label.replace(symbol, words)
        if reads_all_rows and label.startswith(_OF_THEM):
            label = label[len(_OF_THEM) :].replace("those where", "rows where", 1)
        elif reads_all_rows and label.endswith(" of them"):
            label = label[: -len(" of them")] + " row"  # "the first of them" → "the first row"
        return label.format(
            col=self.column,
            num=number(self.number) if self.number is not None else "?",
            values=" or ".join(shown) if shown else "(nothing named in the question)",
        )


_OF_THEM = "of them, "
_DATE_COMPARISONS = {" > {num}": " is after {num}", " < {num}": " is before {num}",
                     " ≥ {num}": " is on or after {num}", " ≤ {num}": " is on or before {num}"}  # fmt: skip
_MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December"]  # fmt: skip


def format_date(x: float) -> str:
    """A value on the date scale of nprog.values (year + (month-1)/12 + (day-1)/372) as people write it:
    "14 December 2003"; the first of a month as the month ("March 2024"); 1 January as the year ("1998",
    which is also how a bare year sits on the scale)."""
    if not math.isfinite(x):
        return format_number(x)
    year = math.floor(x + 1e-9)
    month = min(int(math.floor((x - year) * 12 + 1e-6)), 11) + 1
    day = int(round((x - year - (month - 1) / 12) * 372)) + 1
    if day == 1:
        return str(year) if month == 1 else f"{_MONTH_NAMES[month - 1]} {year}"
    return f"{day} {_MONTH_NAMES[month - 1]} {year}"


@dataclass
class Program:
    steps: list[Step]

    def __str__(self) -> str:
        return "\n".join(f"{i + 1}. {text}" for i, text in enumerate(self.describe_steps()))

    def describe_steps(self) -> list[str]:
        """Each step in plain words (the first reads the whole table: no "of them")."""
        return [s.describe(reads_all_rows=i == 0) for i, s in enumerate(self.steps)]

    def to_json(self) -> str:
        steps = [{k: v for k, v in asdict(s).items() if k != "on_date" or v} for s in self.steps]
        return json.dumps(steps, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Program:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ProgramError(f"a program must be JSON ({e})") from None
        fields = set(Step.__dataclass_fields__)
        if not isinstance(data, list) or not all(
            isinstance(d, dict) and set(d) <= fields and "op" in d for d in data
        ):
            raise ProgramError(f"a program is a JSON list of steps with keys among {sorted(fields)}")
        return cls([Step(**d) for d in data])

    @property
    def answer_op(self) -> str:
        return self.steps[-1].op if self.steps else ""

    def simplified(self) -> Program:
        """The same program without steps that cannot change its result.

        A static step (select, comparisons, mfe, reset) ignores the rows it receives, so every step
        before the last static one is dead; an idempotent step repeated at once (first, last, argmax and
        argmin on the same column, any static step) does nothing the second time. Execution results are
        identical (``tests/test_program.py``); the listing and the SQL get shorter.
        """
        steps = list(self.steps)
        body, final = steps[:-1], steps[-1:]
        last_static = max((i for i, st in enumerate(body) if by_name(st.op).static), default=-1)
        if last_static > 0:
            body = body[last_static:]
        kept: list[Step] = []
        for st in body:
            op = by_name(st.op)
            if kept and st == kept[-1] and (op.idempotent or op.static):
                continue
            kept.append(st)
        if kept and _is_start(kept[0]) and len(kept) > 1:
            kept = kept[1:]  # starting from all (data) rows is what every program does anyway
        return Program(kept + final)


def _is_start(step: Step) -> bool:
    """A static step that selects what every program starts from (reset): no column, no literal."""
    op = by_name(step.op)
    return op.static and not op.column and not op.literal


@dataclass
class Result:
    """What a program computes on a table."""

    answer: list[str]  # answer values (de-duplicated printed cells, the computed number, yes/no)
    rows: list[np.ndarray]  # row selection after each step (bool (R,)); the final answer step repeats
    coordinates: list[tuple[int, int]]  # printed cells (row, column index)
    aggregator: str  # the answer op's aggregator: "NONE" printed cells, "COUNT", "SUM", …
    scalar: float | None = None
    display: list[str] = field(default_factory=list)  # the answer as shown: a computed number with its unit


_NUMBER_IN_CELL = re.compile(r"^(\D*?)[-+]?\d[\d,]*(?:\.\d+)?(.*)$")


def column_unit(column: Column) -> tuple[str, str]:
    """(prefix, suffix) around the number shared by every valid cell of a number column ("$", " km"), so a
    computed number is shown as the column shows its numbers; ("", "") when the cells disagree."""
    if column.kind != "number":
        return "", ""
    strings = column.strings.filter(column.valid).to_pylist() if column.valid.any() else []
    parts = Counter()
    for text in strings[:1000]:  # a sample: the unit is a property of the column, not of every cell
        m = _NUMBER_IN_CELL.match(text.strip())
        parts[(m.group(1), m.group(2)) if m else None] += 1
    if len(parts) != 1:
        return "", ""
    unit = next(iter(parts))
    if unit is None or any(ch.isdigit() for ch in unit[0] + unit[1]) or len(unit[0] + unit[1]) > 12:
        return "", ""
    return unit


def validate(program: Program, table: Table) -> None:
    names = set(table.names)
    if not program.steps:
        raise ProgramError("the program is empty")
    for i, step in enumerate(program.steps):
        if step.op not in OP_INDEX:
            raise ProgramError(f"step {i + 1}: unknown operation {step.op!r}")
        op = by_name(step.op)
        if op.column and step.column not in names:
            raise ProgramError(f"step {i + 1}: {step.op} needs a column of the table, got {step.column!r}")
        if op.number and step.number is None:
            raise ProgramError(f"step {i + 1}: {step.op} needs a number")
        if op.answers and i != len(program.steps) - 1:
            raise ProgramError(f"step {i + 1}: {step.op} can only be the last step")
    if not by_name(program.steps[-1].op).answers:
        answers = ", ".join(op.name for op in OPS if op.answers)
        raise ProgramError(f"the last step must be an answer operation ({answers})")


def execute(program: Program, table: Table) -> Result:
    """The reference executor: pure numpy over the typed table, any size."""
    validate(program, table)
    data = data_rows(table)  # every row but the totals rows
    rows = data.copy()
    history = []
    for step in program.steps[:-1]:
        op = by_name(step.op)
        column = table.column(step.column) if op.column else None
        rows = op.discrete(rows, column, step).astype(bool)
        if op.static and not op.totals:
            rows &= data
        history.append(rows)
    final = program.steps[-1]
    op = by_name(final.op)
    history.append(rows)
    column = table.column(final.column) if op.column else None
    if op.yields == "yesno":
        answer = ["yes" if rows.any() else "no"]
        return Result(answer, history, [], op.aggregator, display=answer)
    if op.yields == "scalar":
        x = float(op.discrete(rows, column))
        if np.isnan(x):
            return Result([], history, [], op.aggregator)
        prefix, suffix = column_unit(column) if column is not None else ("", "")
        shown = format_number(x)
        return Result([shown], history, [], op.aggregator, x, [f"{prefix}{shown}{suffix}"])
    c = table.names.index(final.column)
    idx = np.flatnonzero(rows)
    # de-duplicated, in row order. Many rows: Arrow's unique (first appearances, in order), without a
    # Python string per selected row (a prefix of a program on a million-row table prints them all);
    # a few: dict.fromkeys, cheaper than one more Arrow call
    cells = table.columns[c].strings.take(idx) if len(idx) else None
    if cells is None:
        answer = []
    elif len(idx) > 1_000:
        answer = pc.unique(cells).to_pylist()
    else:
        answer = list(dict.fromkeys(cells.to_pylist()))
    coordinates = list(
        zip(idx.tolist(), itertools.repeat(c))
    )  # (row, column) of Python ints; fast at 1M rows
    return Result(answer, history, coordinates, op.aggregator, display=answer)
