"""The reference executor (nprog.program) on small hand tables: one row per operation, exact answers.

The executor is the ground truth the SQL export (tests/test_sql.py) and the soft ops are checked against,
so these rows pin its meaning down with tables small enough to check by eye.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nprog.ops import OPS
from nprog.program import Program, ProgramError, Step, execute, format_date, validate
from nprog.tables import Table

# rank is a number column with a tie (5) and an invalid cell; date mixes full and partial dates
MEDALS = Table.from_dataframe(
    pd.DataFrame(
        {
            "Nation": ["Norway", "Germany", "Canada", "norway", "Sweden", "Canada"],
            "Gold": ["3", "5", "5", "1", "n/a", "2"],
            "Date": ["March 3, 1990", "1991", "June 1990", "", "1990", "May 2001"],
        }
    )
)


def run(*steps: Step, table: Table = MEDALS) -> list[str]:
    return execute(Program(list(steps)), table).answer


def rows(*steps: Step, table: Table = MEDALS) -> list[int]:
    """Row indices selected before the answer step."""
    return np.flatnonzero(execute(Program([*steps, Step("count")]), table).rows[-1]).tolist()


PRINT_NATION = Step("print", "Nation")

# (steps, answer) — one or more rows per operation
CASES = [
    ([Step("count")], ["6"]),
    ([PRINT_NATION], ["Norway", "Germany", "Canada", "norway", "Sweden"]),  # distinct, first-row order
    ([Step("print", "Gold")], ["3", "5", "1", "n/a", "2"]),  # display strings, invalid ones too
    ([Step("greater", "Gold", 2.0), PRINT_NATION], ["Norway", "Germany", "Canada"]),
    ([Step("less", "Gold", 3.0), PRINT_NATION], ["norway", "Canada"]),
    ([Step("geq", "Gold", 5.0), Step("count")], ["2"]),
    ([Step("leq", "Gold", 1.0), PRINT_NATION], ["norway"]),
    ([Step("greater", "Gold", 100.0), Step("count")], ["0"]),
    ([Step("greater", "Nation", 0.0), Step("count")], ["0"]),  # text columns have no values
    ([Step("less", "Date", 1991.0), PRINT_NATION], ["Norway", "Canada", "Sweden"]),  # dates vs a year
    ([Step("argmax", "Gold"), PRINT_NATION], ["Germany", "Canada"]),  # tie 5/5: both, wherever they stand
    ([Step("argmin", "Gold"), PRINT_NATION], ["norway"]),
    ([Step("argmax", "Date"), PRINT_NATION], ["Canada"]),  # May 2001
    ([Step("argmin", "Date"), PRINT_NATION], ["Sweden"]),  # the bare year 1990 is its January 1st
    ([Step("argmax", "Nation"), Step("count")], ["0"]),
    ([Step("first"), PRINT_NATION], ["Norway"]),
    ([Step("last"), PRINT_NATION], ["Canada"]),
    ([Step("greater", "Gold", 100.0), Step("first"), Step("count")], ["0"]),
    ([Step("previous"), Step("count")], ["5"]),  # the last row has no row below it selected
    ([Step("next"), Step("count")], ["5"]),
    ([Step("first"), Step("previous"), Step("count")], ["0"]),  # above the top edge
    ([Step("last"), Step("next"), Step("count")], ["0"]),  # below the bottom edge
    ([Step("argmin", "Gold"), Step("previous"), PRINT_NATION], ["Canada"]),
    ([Step("argmin", "Gold"), Step("next"), PRINT_NATION], ["Sweden"]),
    ([Step("mfe", "Nation"), PRINT_NATION], ["Norway", "Canada", "norway"]),  # by normalized text; Canada ×2 ties
    ([Step("mfe", "Gold"), PRINT_NATION], ["Germany", "Canada"]),
    ([Step("mfe", "Date"), Step("count")], ["0"]),  # every date distinct: no mode
    ([Step("select", "Nation", values=["Canada"]), Step("count")], ["2"]),
    ([Step("select", "Nation", values=["canada"]), Step("count")], ["0"]),  # display strings, exactly
    ([Step("select", "Gold", values=[5.0, 1.0]), PRINT_NATION], ["Germany", "Canada", "norway"]),
    ([Step("select", "Gold", values=[]), Step("count")], ["0"]),
    ([Step("greater", "Gold", 2.0), Step("reset"), Step("count")], ["6"]),
    ([Step("greater", "Gold", 1.0), Step("argmin", "Gold"), Step("print", "Date")], ["May 2001"]),
    ([Step("select", "Nation", values=["Canada"]), Step("argmax", "Gold"), Step("next"),
      Step("print", "Gold")], ["1"]),
    # sum/average/difference of a column over the selected rows (invalid cells count for nothing)
    ([Step("sum", "Gold")], ["16"]),
    ([Step("select", "Nation", values=["Canada"]), Step("sum", "Gold")], ["7"]),
    ([Step("greater", "Gold", 100.0), Step("sum", "Gold")], ["0"]),  # a sum of nothing is 0
    ([Step("sum", "Nation")], ["0"]),  # text columns have no values
    ([Step("average", "Gold")], ["3.2"]),
    ([Step("greater", "Gold", 100.0), Step("average", "Gold")], []),  # no average of nothing
    ([Step("average", "Nation")], []),
    ([Step("difference", "Gold")], ["4"]),  # highest 5 minus lowest 1
    ([Step("select", "Nation", values=["Germany", "Sweden"]), Step("difference", "Gold")], ["0"]),  # one valid
    ([Step("select", "Nation", values=["Norway", "Canada"]), Step("difference", "Gold")], ["3"]),  # 5 − 2
    ([Step("greater", "Gold", 100.0), Step("difference", "Gold")], []),
    ([Step("difference", "Date")], ["11.3333"]),  # May 2001 (2001 + 4/12) − 1990 on the date scale
    # yes/no: is any row left?
    ([Step("greater", "Gold", 4.0), Step("exists")], ["yes"]),
    ([Step("greater", "Gold", 100.0), Step("exists")], ["no"]),
    # contains: a word of the cell's normalized text
    ([Step("contains", "Nation", values=["norway"]), Step("count")], ["2"]),
    ([Step("contains", "Nation", values=["canada", "sweden"]), PRINT_NATION], ["Canada", "Sweden"]),
    ([Step("contains", "Nation", values=["way"]), Step("count")], ["0"]),  # whole words only
    ([Step("contains", "Gold", values=["5"]), Step("count")], ["0"]),  # number cells match by value (select)
    # filters that AND with the incoming rows
    ([Step("greater", "Gold", 2.0), Step("and_select", "Nation", values=["Canada"]), Step("count")], ["1"]),
    ([Step("greater", "Gold", 2.0), Step("and_contains", "Nation", values=["norway"]), PRINT_NATION],
     ["Norway"]),
    # negation: the incoming rows whose cell is not one of the values (an invalid number is none of them)
    ([Step("exclude", "Nation", values=["Canada"]), Step("count")], ["4"]),
    ([Step("greater", "Gold", 2.0), Step("exclude", "Nation", values=["Germany"]), PRINT_NATION],
     ["Norway", "Canada"]),
    ([Step("exclude", "Gold", values=[5.0]), Step("count")], ["4"]),
]  # fmt: skip


def case_id(steps: list[Step]) -> str:
    """e.g. ``greater(Gold,2) > print(Nation)``."""

    def one(s: Step) -> str:
        args = [
            a for a in (s.column, None if s.number is None else f"{s.number:g}", *map(str, s.values)) if a
        ]
        return f"{s.op}({','.join(args)})"

    return " > ".join(one(s) for s in steps)


@pytest.mark.parametrize(("steps", "answer"), CASES, ids=[case_id(steps) for steps, _ in CASES])
def test_executor(steps, answer):
    assert run(*steps) == answer


def test_every_operation_has_an_executor_row():
    assert {s.op for steps, _ in CASES for s in steps} == {op.name for op in OPS}


def test_row_selections_step_by_step():
    assert rows(Step("greater", "Gold", 2.0)) == [0, 1, 2]
    assert rows(Step("greater", "Gold", 2.0), Step("previous")) == [0, 1]
    assert rows(Step("greater", "Gold", 2.0), Step("next")) == [1, 2, 3]
    assert rows(Step("greater", "Gold", 2.0), Step("last")) == [2]
    result = execute(Program([Step("first"), Step("next"), Step("print", "Gold")]), MEDALS)
    assert [r.nonzero()[0].tolist() for r in result.rows] == [[0], [1], [1]]  # the answer step repeats
    assert result.coordinates == [(1, 1)]
    assert result.aggregator == "NONE"


def test_count_result():
    result = execute(Program([Step("less", "Gold", 3.0), Step("count")]), MEDALS)
    assert (result.answer, result.aggregator, result.scalar, result.coordinates) == (["2"], "COUNT", 2.0, [])


def test_print_of_an_empty_selection_is_an_empty_answer():
    assert run(Step("greater", "Gold", 9.0), PRINT_NATION) == []


def test_static_ops_ignore_the_incoming_rows():
    for static in (
        Step("greater", "Gold", 2.0),
        Step("mfe", "Gold"),
        Step("select", "Nation", values=["Canada"]),
    ):
        assert rows(Step("last"), static) == rows(static)


def test_comparisons_with_non_finite_numbers():
    assert rows(Step("less", "Gold", float("inf"))) == [0, 1, 2, 3, 5]  # every valid cell
    assert rows(Step("greater", "Gold", float("inf"))) == []
    assert rows(Step("geq", "Gold", float("-inf"))) == [0, 1, 2, 3, 5]
    assert rows(Step("leq", "Gold", float("nan"))) == []


# ---------------------------------------------------------------- Program: JSON, text, validation


def test_json_round_trip_keeps_every_field():
    program = Program(
        [
            Step("select", "Nation", values=["Côte d'Ivoire", 'say "hi"', "a\\b"]),
            Step("select", "Gold", values=[5.0, -0.5]),
            Step("geq", "Date", 1990.25),
            Step("print", "Nation"),
        ]
    )
    text = program.to_json()
    assert "Côte" in text  # unicode kept readable
    assert Program.from_json(text) == program


def test_from_json_rejects_a_non_list():
    with pytest.raises(ProgramError, match="JSON list"):
        Program.from_json('{"op": "count"}')


def test_str_is_one_readable_line_per_step():
    program = Program(
        [
            Step("greater", "Gold", 2.0),
            Step("select", "Nation", values=["Canada", "Norway"]),
            Step("argmax", "Gold"),
            Step("print", "Nation"),
        ]
    )
    assert str(program).splitlines() == [
        "1. rows where Gold > 2",
        "2. rows where Nation is 'Canada' or 'Norway'",
        "3. of them, the row with the highest Gold",
        "4. print Nation",
    ]
    assert str(Program([Step("count")])) == "1. count the rows"
    # a first step reads the whole table: no "of them"
    first_steps = [Step("argmax", "Gold"), Step("exclude", "Nation", values=["Canada"]), Step("first")]
    assert [Program([s, Step("count")]).describe_steps()[0] for s in first_steps] == [
        "the row with the highest Gold",
        "rows where Nation is not 'Canada'",
        "the first row",
    ]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "empty"),
        ([Step("sort"), Step("count")], "unknown operation 'sort'"),
        ([Step("argmax", "Silver"), Step("count")], "argmax needs a column"),
        ([Step("print", None)], "print needs a column"),
        ([Step("greater", "Gold"), Step("count")], "greater needs a number"),
        ([Step("print", "Nation"), Step("count")], "step 1: print can only be the last step"),
        ([Step("count"), Step("count")], "step 1: count can only be the last step"),
        ([Step("first")], "last step must be an answer operation"),
    ],
    ids=["empty", "unknown-op", "unknown-column", "print-no-column", "no-number", "print-not-last",
         "count-not-last", "no-answer-step"],
)  # fmt: skip
def test_validate_errors(steps, message):
    with pytest.raises(ProgramError, match=message):
        validate(Program(steps), MEDALS)
    with pytest.raises(ProgramError, match=message):
        execute(Program(steps), MEDALS)


# ---------------------------------------------------------------- totals rows

TOTALS = Table.from_dataframe(
    pd.DataFrame({"Nation": ["Norway", "Germany", "Canada", "Total"], "Gold": ["3", "5", "2", "10"]})
)


@pytest.mark.parametrize(
    ("steps", "answer"),
    [
        ([Step("argmax", "Gold"), PRINT_NATION], ["Germany"]),  # not the Total row's 10
        ([Step("count")], ["3"]),
        ([Step("sum", "Gold")], ["10"]),
        ([Step("average", "Gold")], ["3.33333"]),
        ([Step("greater", "Gold", 4.0), Step("count")], ["1"]),  # comparisons range over the data rows
        ([Step("mfe", "Gold"), Step("count")], ["0"]),
        ([Step("reset"), Step("last"), PRINT_NATION], ["Canada"]),
        ([Step("previous"), PRINT_NATION], ["Norway", "Germany"]),
        ([PRINT_NATION], ["Norway", "Germany", "Canada"]),
        ([Step("exists")], ["yes"]),
        # asked about, the totals row answers
        ([Step("select", "Nation", values=["Total"]), Step("print", "Gold")], ["10"]),
        ([Step("contains", "Nation", values=["total"]), Step("print", "Gold")], ["10"]),
        (
            [Step("select", "Nation", values=["Total", "Canada"]), Step("argmax", "Gold"), PRINT_NATION],
            ["Total"],
        ),
        ([Step("last"), Step("next"), PRINT_NATION], ["Total"]),  # the row below the last data row
    ],
    ids=lambda v: case_id(v) if v and isinstance(v[0], Step) else "",
)
def test_totals_rows_are_kept_out_unless_asked_about(steps, answer):
    assert run(*steps, table=TOTALS) == answer


@pytest.mark.parametrize(
    ("frame", "totals"),
    [
        ({"Nation": ["A", "B", "Totals"], "Gold": ["1", "2", "3"]}, [2]),
        ({"Rank": ["1", "2", ""], "Nation": ["A", "B", "Grand Total"], "Gold": ["1", "2", "3"]}, [2]),
        ({"Rank": ["1", "2", "Total"], "Gold": ["1", "2", "3"]}, [2]),  # the label in a number column
        ({"Region": ["All", "North", "South"], "Sales": ["9", "4", "5"]}, [0]),
        ({"Team": ["A", "Overall", "B", "TOTAL:", "C"], "Pts": ["1", "2", "3", "4", "5"]}, [1, 3]),
        ({"Team": ["A", "B", "C"], "Pts": ["1", "2", "3"], "Note": ["total", "x", "y"]}, []),  # third column
        ({"Team": ["Total", "Total", "A"]}, []),  # mostly "totals": data, not a summary
        ({"Team": ["A total", "B", "C"]}, []),  # the whole cell must be the label
        ({"Player": ["A", "B", "Team Totals"], "Pts": ["1", "2", "3"]}, [2]),
        ({"Season": ["2019", "2020", "Career total"], "Goals": ["4", "7", "11"]}, [2]),
    ],
)
def test_totals_rows_detection(frame, totals):
    from nprog.ops import totals_rows

    assert np.flatnonzero(totals_rows(Table.from_dataframe(pd.DataFrame(frame)))).tolist() == totals


def test_a_computed_number_keeps_the_columns_unit():
    money = Table.from_dataframe(pd.DataFrame({"Film": ["A", "B", "C"], "Gross": ["$1,200", "$300", "$50"]}))
    result = execute(Program([Step("sum", "Gross")]), money)
    assert (result.answer, result.display) == (["1550"], ["$1550"])
    length = Table.from_dataframe(pd.DataFrame({"Road": ["A", "B"], "Length": ["12 km", "3.5 km"]}))
    result = execute(Program([Step("difference", "Length")]), length)
    assert (result.answer, result.display) == (["8.5"], ["8.5 km"])
    assert execute(Program([Step("count")]), length).display == ["2"]  # a count has no unit
    mixed = Table.from_dataframe(pd.DataFrame({"x": ["1 km", "2 mi", "3 km"]}))
    assert execute(Program([Step("sum", "x")]), mixed).display == ["6"]  # the cells disagree: no unit


# (value on the date scale of nprog.values, how program text shows it)
DATE_TEXTS = [
    (2003 + 11 / 12 + 13 / 372, "14 December 2003"),
    (2024 + 2 / 12, "March 2024"),  # the first of a month: the month, as "march 2024" was asked
    (1998.0, "1998"),  # a bare year sits at 1 January
    (2011 + 2 / 12 + 2 / 372, "3 March 2011"),
    (2000 + 1 / 12 + 28 / 372, "29 February 2000"),
    (1990 + 11 / 12 + 30 / 372, "31 December 1990"),
]


@pytest.mark.parametrize(("value", "text"), DATE_TEXTS)
def test_dates_are_written_as_dates(value, text):
    from nprog.values import parse_strings

    assert format_date(value) == text
    assert parse_strings([text]).date_scale[0] == pytest.approx(value)  # and read back to the same value


def test_program_text_shows_dates_as_dates():
    """A step on a date column shows its literal as a date ("after 14 December 2003"), never as the
    decimal of the date scale; decode marks such steps (checked on a real decode below)."""
    dec14 = 2003 + 11 / 12 + 13 / 372
    program = Program([
        Step("greater", "Date", dec14, on_date=True),
        Step("select", "Date", values=[2024 + 2 / 12], on_date=True),
        Step("leq", "Gold", 3.5),
        Step("count"),
    ])  # fmt: skip
    assert str(program).splitlines() == [
        "1. rows where Date is after 14 December 2003",
        "2. rows where Date is March 2024",
        "3. rows where Gold ≤ 3.5",
        "4. count the rows",
    ]
    assert Program.from_json(program.to_json()) == program
    assert "on_date" not in Program([Step("leq", "Gold", 3.5)]).to_json()  # the old JSON form is unchanged


def test_decoded_steps_on_date_columns_are_marked():
    """Every step the shipped model decodes on a date column is marked, so its text has no decimals."""
    import re

    from nprog.qa import TableQA

    qa = TableQA.load(device="cpu")
    table = pd.DataFrame({"Date": ["3 March 2024", "14 December 2003", "1 January 2010", "5 May 1999"],
                          "Event": ["a", "b", "c", "d"]})  # fmt: skip
    questions = ["which events were after 14 december 2003?", "how many events happened before may 2010?",
                 "what event was on march 3, 2024?"]  # fmt: skip
    on_dates = 0
    for answer in qa.answer_batch([qa.encode(Table.from_dataframe(table), q) for q in questions]):
        for step in answer.program.steps:
            assert step.on_date == (step.column == "Date")
            on_dates += step.on_date and step.op != "print"
        assert not re.search(r"\d\.\d", str(answer.program)), str(answer.program)
    assert on_dates >= 1  # the model did compare or select on the dates


def test_totals_rows_of_long_and_typed_columns():
    """A long text column is looked at through its distinct texts, a column typed from its dtype not at
    all (its cells are numerals): the same rows as every cell's norm gives, and the same again from the
    table's memo."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from nprog.ops import TOTAL_LABELS, totals_rows

    rows = 60_000  # past LARGE_TABLE_ROWS: the text column keeps (levels, codes)
    team = np.array(["North", "South", "East"], dtype=object)[np.arange(rows) % 3]
    team[[7, 59_999]] = ["Total", "Grand total"]
    table = Table.from_dataframe(pd.DataFrame({"Rank": np.arange(rows, dtype=np.int64), "Team": team}))
    assert table.columns[1].levels is not None and "norm" not in table.columns[1].__dict__
    found = totals_rows(table)
    assert np.flatnonzero(found).tolist() == [7, 59_999] and totals_rows(table) is found
    labels = pa.array(TOTAL_LABELS, type=pa.string())
    every_cell = np.zeros(rows, dtype=bool)
    for column in table.columns:
        every_cell |= pc.is_in(column.norm, value_set=labels).to_numpy(zero_copy_only=False)
    assert (every_cell == found).all()


@pytest.mark.parametrize("rows", [5, 3_000])
def test_print_answers_each_distinct_cell_once_in_row_order(rows):
    """Few rows or many (the two ways execute de-duplicates): every distinct cell once, first appearances
    in row order, and a coordinate per printed row."""
    rng = np.random.default_rng(rows)
    team = np.array(["Kenya", "Norway", "Japan", "Peru", "Chad"], dtype=object)[rng.integers(0, 5, rows)]
    table = Table.from_dataframe(
        pd.DataFrame({"Team": team, "Points": rng.integers(0, 100, rows).astype(str)})
    )
    result = execute(Program([Step("greater", "Points", 20.0), Step("print", "Team")]), table)
    points = table.column("Points").value
    assert result.answer == list(dict.fromkeys(team[points > 20]))
    assert result.coordinates == [(int(r), 0) for r in np.flatnonzero(points > 20)]
