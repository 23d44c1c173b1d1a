"""Hard programs from a trace: the argmax, the next most probable programs, and the execution-guided
fallback when the argmax answers nothing (nprog.decode, nprog.qa)."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest
import torch

from nprog.decode import alternatives, decode, scored
from nprog.program import Program, Step, execute
from nprog.qa import TableQA, _first_answering, answers_something
from nprog.tables import Table

PEAKS = pd.DataFrame({
    "Peak": ["Tolmar", "Grauhorn", "Vestfjell"],
    "Country": ["Austria", "Switzerland", "Norway"],
    "Height (m)": [3100, 3400, 2500],
})  # fmt: skip


@pytest.fixture(scope="module")
def qa(shipped_model) -> TableQA:
    return TableQA.load(shipped_model, device="cpu")


def _total_logp(choices: list[dict]) -> float:
    return sum(c["logp"] for c in choices)


def test_alternatives_are_distinct_and_in_order(qa):
    """The next programs differ from the argmax and from each other, best first by the model's
    probability of every step's choices."""
    table = Table.from_dataframe(PEAKS)
    for question in [
        "which peak is the tallest?",
        "how many peaks are in austria?",
        "what is the height of tolmar?",
    ]:
        e = qa.encode(table, question)
        trace, [(best, _, best_choices)] = qa.run([e])
        seen = [best.to_json()]
        previous = math.inf
        for program, steps, choices in alternatives(trace, 0, e, best, limit=6):
            assert program.to_json() not in seen
            seen.append(program.to_json())
            assert _total_logp(choices) <= previous + 1e-9
            assert _total_logp(choices) <= _total_logp(best_choices) + 1e-9
            previous = _total_logp(choices)
            assert 0.0 <= scored(steps, choices, table)[1] <= 1.0
        assert len(seen) == 7  # six more programs exist on a three-column table


def _force(trace, t: int, ops: dict[str, float], column: int | dict[int, float] | None = None) -> None:
    """Make step t of example 0 choose among `ops` with these probabilities (each on `column`, or among
    columns with the given probabilities)."""
    names = [op.name for op in trace.ops]
    dist = torch.full_like(trace.op_logp[0, t], 1e-6)
    for name, p in ops.items():
        dist[names.index(name)] = p
    trace.op_logp[0, t] = (dist / dist.sum()).log()
    if column is not None:
        columns = {column: 1.0} if isinstance(column, int) else column
        for name in ops:
            col = torch.full_like(trace.col_logp[0, t, 0], 1e-6)
            for c, p in columns.items():
                col[c] = p
            trace.col_logp[0, t, names.index(name)] = (col / col.sum()).log()


def _editable(qa, e):
    trace, _ = qa.run([e])
    return dataclasses.replace(trace, op_logp=trace.op_logp.clone(), col_logp=trace.col_logp.clone())


def test_empty_answer_falls_back_to_the_next_program_that_answers(qa):
    """Rows where Country is Norway (the last row), then the row below each (and the first of them): nothing is left to print.
    The model's second choice at that step ("the first of them") answers, so it is taken."""
    table = Table.from_dataframe(PEAKS)
    e = qa.encode(table, "which peak is in norway?")
    trace = _editable(qa, e)
    T = trace.op_logp.shape[1]
    _force(trace, 0, {"select": 1.0}, column=1)
    _force(trace, 1, {"next": 0.6, "first": 0.4})
    for t in range(2, T - 1):
        _force(trace, t, {"first": 1.0})
    _force(trace, T - 1, {"print": 1.0}, column=0)
    [(best, _, best_choices)] = decode(trace, [e])
    assert [s.op for s in best.steps] == ["select", "next", "first", "print"]
    assert execute(best, table).answer == []

    program, _, choices, result = _first_answering(trace, 0, e, best)
    assert [s.op for s in program.steps] == ["select", "first", "print"]
    assert result.answer == ["Vestfjell"]
    assert _total_logp(choices) < _total_logp(best_choices)  # less probable: the model's second choice
    assert choices[1]["op"] == [op.name for op in trace.ops].index("first")


@pytest.mark.parametrize("blank", ["", "\u200b"])  # empty, or only a zero-width space
def test_a_blank_cell_is_no_answer(qa, blank):
    """Printing a blank cell answers nothing either: the next most probable column is printed."""
    table = Table.from_dataframe(PEAKS.assign(Guide=["Anna Berger", "Luca Meier", blank]))
    e = qa.encode(table, "who guided the climb in norway?")
    trace = _editable(qa, e)
    T = trace.op_logp.shape[1]
    _force(trace, 0, {"select": 1.0}, column=1)
    for t in range(1, T - 1):
        _force(trace, t, {"first": 1.0})
    _force(trace, T - 1, {"print": 1.0}, column={3: 0.6, 0: 0.4})
    [(best, _, _)] = decode(trace, [e])
    assert execute(best, table).answer == [blank] and best.steps[-1].column == "Guide"
    assert not answers_something(execute(best, table), e)
    program, _, _, result = _first_answering(trace, 0, e, best)
    assert program.steps[-1].column == "Peak" and result.answer == ["Vestfjell"]


@pytest.mark.parametrize(
    ("question", "steps", "tells"),
    [
        # printing back exactly the cells the question names tells the asker nothing
        ("who is the other climber of tolmar?", [Step("select", "Peak", values=["Tolmar"]), Step("print", "Peak")],
         False),
        ("how many peaks are in austria?", [Step("select", "Country", values=["Austria"]), Step("print", "Country")],
         False),
        # printing one of the two it names is an answer
        ("which is taller, tolmar or grauhorn?",
         [Step("select", "Peak", values=["Tolmar", "Grauhorn"]), Step("argmax", "Height (m)"), Step("print", "Peak")],
         True),
        ("which country is tolmar in?", [Step("select", "Peak", values=["Tolmar"]), Step("print", "Country")], True),
        ("how many peaks are in austria?", [Step("select", "Country", values=["Austria"]), Step("count")], True),
    ],
)  # fmt: skip
def test_an_answer_that_only_repeats_the_question_says_nothing(qa, question, steps, tells):
    table = Table.from_dataframe(PEAKS)
    e = qa.encode(table, question)
    assert answers_something(execute(Program(steps), table), e) is tells
