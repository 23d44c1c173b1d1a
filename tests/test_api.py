"""The Python API's fast path: a DataFrame's table built once and reused only while unchanged, a list of
questions answered in batches like `nprog batch`, and the costly parts of an answer made when asked for."""

import numpy as np
import pandas as pd
import pytest

from nprog.ops import OPS
from nprog.qa import TableQA
from nprog.tables import Table
from tests.conftest import SAMPLES


@pytest.fixture(scope="module")
def qa(tiny_model_dir) -> TableQA:
    return TableQA.load(tiny_model_dir, device="cpu")


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Nation": ["Norway", "Canada", "Japan"],
            "Gold": np.array([5, 9, 2], dtype=np.int64),
            "Held": pd.to_datetime(["2001-02-03", "2002-02-03", "2003-02-03"]),
        }
    )


def test_a_dataframe_is_built_once_and_again_after_any_change(qa, monkeypatch):
    built = []
    real = Table.from_dataframe
    monkeypatch.setattr(
        Table,
        "from_dataframe",
        classmethod(lambda cls, df, source="<dataframe>": built.append(1) or real(df, source)),
    )
    df = _frame()
    first = qa.table(df)
    assert qa.table(df) is first and len(built) == 1  # same object, same cells: reused
    assert qa.table(_frame()) is not first and len(built) == 2  # an equal copy is another DataFrame
    changes = [
        lambda d: d.__setitem__("Gold", d["Gold"]),  # the same values again: the digest says unchanged
        lambda d: d.loc.__setitem__((0, "Gold"), 6),  # one cell, in place
        lambda d: d.loc.__setitem__((1, "Nation"), "Kenya"),  # a text cell
        lambda d: d.loc.__setitem__((2, "Held"), pd.Timestamp("1999-01-01")),
        lambda d: d.__setitem__("Gold", d["Gold"].to_numpy()[::-1].copy()),  # the same numbers, reordered
        lambda d: setattr(d, "columns", ["Nation", "Silver", "Held"]),  # a name
        lambda d: d.__setitem__("Extra", 1),  # a column more
    ]
    for k, change in enumerate(changes):
        before = qa.table(df)
        change(df)
        after = qa.table(df)
        if k == 0:
            assert after is before
            continue
        assert after is not before, k
        rebuilt = real(df)
        assert after.names == rebuilt.names
        for a, b in zip(after.columns, rebuilt.columns, strict=True):
            assert a.strings.equals(b.strings) and np.array_equal(a.value, b.value, equal_nan=True)


def test_the_cache_lets_dataframes_go(qa):
    import gc

    qa.frames.clear()
    df = _frame()
    qa.table(df)
    assert len(qa.frames._entries) == 1
    del df
    gc.collect()
    assert len(qa.frames._entries) == 0


def test_the_pipeline_call_equals_asking_one_by_one_and_makes_sql_only_when_asked(qa):
    df = pd.read_csv(SAMPLES / "medals.csv", dtype=str)
    questions = [f"how many nations won more than {k} gold medals?" for k in range(70)] + [
        "which nation won the most gold?"
    ]
    dicts = qa(table=df, query=questions)  # more than one batch of 64
    assert len(dicts) == len(questions) and all("sql" not in d for d in dicts)
    with_sql = qa(table=df, query=questions[-2:], dialect="duckdb")
    for q, d, s in zip(questions[-2:], dicts[-2:], with_sql, strict=True):
        one = qa.ask(df, q)
        assert d == one.to_dict(None) and s == one.to_dict("duckdb") and s["sql"] == one.sql("duckdb")
    assert qa(table=df, query=questions[0]) == dicts[0]


def test_pictures_are_made_on_first_use_and_match_the_trace(qa):
    answer = qa.ask(SAMPLES / "medals.csv", "which nation won the most gold?")
    assert "explanation" not in answer.__dict__  # not made yet
    explanation = answer.explanation
    T = len(explanation.choices)
    assert explanation.ops.shape == (T, len(OPS)) and explanation.attention.shape == (
        T,
        len(explanation.tokens),
    )
    assert len(explanation.columns) == T and all(
        len(c) == answer.table.n_columns for c in explanation.columns
    )
    chosen = [c.operation.name for c in explanation.choices]
    assert chosen[-1] == answer.program.steps[-1].op  # simplifying never changes the answer step
    assert all(
        explanation.ops[t, c.op] == explanation.ops[t].max() for t, c in enumerate(explanation.choices)
    )
    assert answer.explanation is explanation


def test_the_pipeline_call_answers_wtq_dev_exactly_as_nprog_batch(shipped_model, wtq_dir):
    """The pipeline call per table (each a DataFrame of strings, all its questions at once) and the batch
    path (`nprog batch`: questions of many tables in batches of 64, tables read by nprog.wtq) give the same
    answers and programs on the first 400 questions of WTQ dev, and confidences equal up to float32
    rounding (a batch pads its questions and tables to other shapes)."""
    from nprog import wtq
    from nprog.evaluate import predict_stream
    from nprog.readers import read_wtq_frame

    model = TableQA.load(shipped_model, device="cpu")
    examples = wtq.read_examples(wtq.split_path(wtq_dir, "dev"))[:400]
    batch = {
        (p.example.context, p.example.question): p.answer
        for p in predict_stream(model, wtq_dir, examples, batch_size=64, with_kind=False, score=False)
    }
    by_table: dict[str, list[str]] = {}
    for ex in examples:
        by_table.setdefault(ex.context, []).append(ex.question)
    compared = 0
    for context, questions in by_table.items():
        dicts = model(table=read_wtq_frame(wtq_dir / context), query=questions)
        for q, d in zip(questions, dicts, strict=True):
            a = batch[context, q]
            assert (d["answer"], d["program"]) == (a.answer, str(a.program)), q
            assert d["confidence"] == pytest.approx(a.confidence, abs=1e-5), q
            compared += 1
    assert compared == len(examples)
