"""app/ui/pictures.py without Streamlit: the frames behind the charts, and charts that build for any table size."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from ui_fixtures import SAMPLES, choose_model

from nprog.app.ui import pictures
from nprog.explanation import Explanation, StepChoice
from nprog.ops import OP_INDEX, OPS
from nprog.program import Program, Step
from nprog.qa import TableQA
from nprog.tables import Table


@pytest.fixture(scope="module")
def qa(tiny_model_dir) -> TableQA:
    return TableQA.load(choose_model(fallback=tiny_model_dir), device="cpu")


@pytest.fixture(scope="module")
def answer(qa):
    return qa.ask(Table.from_csv(SAMPLES / "medals.csv"), "how many nations won more than 5 gold medals?")


def fake_answer(rows: np.ndarray, ops=("select", "first", "count")):
    """An Answer-shaped object for row pictures of any size, without running the model."""
    T = len(ops)
    choices = [StepChoice(OP_INDEX[o], 0 if OPS[OP_INDEX[o]].column else None, None, -0.1, True) for o in ops]
    table = Table.from_dataframe(pd.DataFrame({"name": [f"r{i}" for i in range(rows.shape[1])]}))
    explanation = Explanation(
        choices=choices,
        ops=np.full((T, len(OPS)), 1 / len(OPS)),
        columns=[np.ones(1)] * T,
        attention=np.full((T, 2), 0.5),
        tokens=["how", "many"],
    )
    program = Program([Step(o, column="name" if OPS[OP_INDEX[o]].column else None, number=1.0) for o in ops])
    return SimpleNamespace(explanation=explanation, rows=list(rows), table=table, program=program)


def test_op_frame_is_the_trace(answer):
    frame = pictures.op_frame(answer)
    T, O = answer.explanation.ops.shape
    assert len(frame) == T * O
    np.testing.assert_allclose(frame["p"].to_numpy(), answer.explanation.ops.reshape(-1))
    chosen = frame[frame["chosen"]]
    assert chosen["op"].tolist() == [c.operation.name for c in answer.explanation.choices]
    assert chosen["op"].iloc[-1] == answer.program.steps[-1].op  # simplifying never changes the answer step
    assert pictures.step_labels(answer)[0].startswith("1 · ")


def test_column_frame_covers_the_steps_that_read_a_column(answer):
    frame = pictures.column_frame(answer)
    choices = answer.explanation.choices
    reading = [c for c in choices if c.operation.column]
    assert len(frame) == len(reading) * answer.table.n_columns
    chosen = frame[frame["chosen"]]
    assert chosen["column"].tolist() == [answer.table.names[c.column] for c in reading]


def test_row_frame_one_cell_per_row_for_small_tables(answer):
    frame = pictures.row_frame(answer)
    T, R = len(answer.rows), answer.table.n_rows
    assert T == len(answer.program.steps)  # one selection per step of the (simplified) program
    assert len(frame) == T * R
    np.testing.assert_array_equal(
        frame["share"].to_numpy().reshape(T, R), np.asarray(answer.rows, dtype=float)
    )
    assert frame["name"].iloc[0] == "Norway"  # the first text column names the rows


def test_row_frame_bins_large_tables():
    R = 10_050
    rows = np.zeros((3, R), dtype=bool)
    rows[0, :] = True
    rows[1, 5000:5010] = True
    rows[2, R - 1] = True
    frame = pictures.row_frame(fake_answer(rows), max_columns=100)
    bins = frame["pos"].max() + 1
    assert bins <= 100 and len(frame) == 3 * bins
    share = frame["share"].to_numpy().reshape(3, bins)
    assert np.all(share[0] == 1)
    assert share[1].sum() > 0 and np.count_nonzero(share[1]) <= 2
    assert share[2, -1] > 0 and share[2, :-1].sum() == 0
    assert frame["rows"].iloc[-1].endswith(f"–{R}")


def test_a_million_rows_draw_quickly():
    rows = np.random.default_rng(0).random((4, 1_000_000)) < 0.01
    start = time.perf_counter()
    chart = pictures.row_chart(fake_answer(rows, ops=("greater", "first", "next", "count")))
    spec = chart.to_dict()
    assert time.perf_counter() - start < 10
    assert sum(len(v) for v in spec["datasets"].values()) <= 4 * pictures.MAX_ROW_CELLS


def test_attention_frame_uses_the_question_words(qa):
    table = Table.from_csv(SAMPLES / "medals.csv")
    question = "how many silver medals did canada win in 2010?"
    encoded = qa.encode(table, question)
    words = pictures.question_words(encoded)
    assert len(words) == len(qa.ask(table, question).explanation.tokens)
    assert "canada" in words and "2010" in words  # an <ent> and a <num> shown as what they stand for
    answer = qa.ask(table, question)
    frame = pictures.attention_frame(answer, words)
    assert frame["word"].tolist()[: len(words)] == words
    assert (
        pictures.attention_frame(answer, ["too", "short"])["word"].tolist()[0] == answer.explanation.tokens[0]
    )


def test_every_chart_builds(answer):
    words = [str(t) for t in answer.explanation.tokens]
    for chart in (
        pictures.op_chart(answer),
        pictures.column_chart(answer),
        pictures.row_chart(answer),
        pictures.attention_chart(answer, words),
    ):
        spec = chart.to_dict()  # altair validates the Vega-Lite spec here
        assert spec["height"] == {"step": pictures.CELL}


def test_pictures_when_the_program_is_shorter_than_the_model_run():
    """Simplified programs drop dead steps: rows follow the program, the other pictures the model's steps."""
    rows = np.zeros((2, 5), dtype=bool)
    rows[:, 0] = True
    answer = fake_answer(rows, ops=("first", "count"))
    first, count = answer.explanation.choices
    answer.explanation = Explanation(
        choices=[first] * 3 + [count],
        ops=np.full((4, len(OPS)), 1 / len(OPS)),
        columns=[np.ones(1)] * 4,
        attention=np.full((4, 2), 0.5),
        tokens=["how", "many"],
    )
    assert pictures.row_frame(answer)["step"].unique().tolist() == [
        "1. the first row",
        "2. count the rows",
    ]
    assert len(pictures.op_frame(answer)) == 4 * len(OPS)
    for chart in (pictures.op_chart(answer), pictures.row_chart(answer), pictures.attention_chart(answer)):
        chart.to_dict()
