"""app/ui/data.py without Streamlit: uploads, database files, question files, batch runs and exports."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from ui_fixtures import SAMPLES, choose_model, sqlite_bytes

from nprog.answers import lists_match
from nprog.app.ui import data
from nprog.qa import TableQA
from nprog.readers import SQLITE_MAGIC
from nprog.tables import Table, TableError


@pytest.fixture(scope="module")
def qa(tiny_model_dir) -> TableQA:
    return TableQA.load(choose_model(fallback=tiny_model_dir), device="cpu")


# ---- samples and CSV uploads


def test_samples_with_questions_come_first():
    names = data.sample_names()
    questions = data.sample_questions()
    assert names[: len(questions)] == [n for n in questions if n in names]
    assert all(questions[n] for n in questions)


def test_csv_upload_reads_like_from_csv():
    raw = (SAMPLES / "medals.csv").read_bytes()
    got = data.table_from_csv_bytes("medals.csv", raw)
    want = Table.from_csv(SAMPLES / "medals.csv")
    assert got.names == want.names
    pd.testing.assert_frame_equal(got.to_dataframe(), want.to_dataframe())


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"", "the file is empty"),
        (b"a,b\n", "no rows"),
        (b"\x00\x01binary\x00", "binary"),
        (b'a,b\n"1,2\n3,4\n', "malformed CSV"),
        (SQLITE_MAGIC + b"\x00" * 100, "database file"),
    ],
)
def test_bad_csv_uploads_name_the_upload(payload, message):
    with pytest.raises(TableError) as e:
        data.table_from_csv_bytes("my/../odd name.csv", payload)
    text = str(e.value)
    assert text.startswith("my/../odd name.csv: ") and message in text
    assert "nprog-upload-" not in text  # never the temporary copy's path


def test_over_size_upload_is_refused(monkeypatch):
    monkeypatch.setattr(data, "MAX_UPLOAD_BYTES", 10)
    with pytest.raises(TableError, match="over the 200 MB limit"):
        data.table_from_csv_bytes("big.csv", b"a,b\n1,2\n3,4\n")
    with pytest.raises(data.BatchError, match="over the 200 MB limit"):
        data.parse_questions("big.csv", b"question\nwho?\nwhat?\n")


def test_suggested_questions_name_the_table_columns():
    assert (
        data.suggest_question(Table.from_csv(SAMPLES / "medals.csv")) == "which nation has the highest rank?"
    )
    words = Table.from_dataframe(pd.DataFrame({"a": ["x", "y"]}))
    assert data.suggest_question(words) == "how many rows are there?"


# ---- database uploads


def test_sqlite_upload_lists_and_reads_tables(tmp_path):
    raw = sqlite_bytes(tmp_path, [("x", 1.5, None), ("y", 2.0, 3)], ["name", "value", "n"], table="my table")
    assert data.file_kind(raw) == "sqlite"
    assert data.database_tables("db.sqlite", raw) == ["my table"]
    table = data.table_from_database("db.sqlite", raw, "my table")
    # the one cell-to-text rule (nprog.readers): a float 2.0 is "2.0" here as in `ask --db` and a DataFrame
    assert table.to_dataframe().to_dict("list") == {
        "name": ["x", "y"],
        "value": ["1.5", "2.0"],
        "n": ["", "3"],
    }
    with pytest.raises(TableError, match="no table named 'nope'"):
        data.table_from_database("db.sqlite", raw, "nope")


def test_empty_and_broken_databases_are_messages(tmp_path):
    raw = sqlite_bytes(tmp_path, [], ["a"], table="empty")
    with pytest.raises(TableError, match="has no rows"):
        data.table_from_database("db.sqlite", raw, "empty")
    with pytest.raises(TableError, match="cannot read the database"):
        data.database_tables("broken.sqlite", SQLITE_MAGIC + b"garbage" * 200)


def test_duckdb_upload_cannot_read_this_machine(tmp_path):
    path = tmp_path / "f.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE t AS SELECT range AS i, 'v' || range AS s FROM range(3)")
    conn.execute(f"CREATE VIEW leak AS SELECT * FROM read_text('{SAMPLES / 'medals.csv'}')")
    conn.close()
    raw = path.read_bytes()
    assert data.file_kind(raw) == "duckdb"
    assert data.database_tables("f.duckdb", raw) == ["leak", "t"]
    assert data.table_from_database("f.duckdb", raw, "t").to_dataframe()["s"].tolist() == ["v0", "v1", "v2"]
    with pytest.raises(TableError, match="cannot read the database"):
        data.table_from_database("f.duckdb", raw, "leak")


# ---- question files and batch runs


def test_question_csv_with_answers():
    raw = b'question,answer\n"how many, in all?",3\n  ,x\nwho won?,Ada|Alan\n'
    q = data.parse_questions("q.csv", raw)
    assert q.to_dict("list") == {"question": ["how many, in all?", "who won?"], "answer": ["3", "Ada|Alan"]}


def test_wtq_tsv_is_read_with_its_escapes():
    raw = b'id\tutterance\tcontext\ttargetValue\nnu-0\twhat is "x"?\tcsv/1.csv\ta\\pb|c\n'
    q = data.parse_questions("dev.tsv", raw)
    assert q["question"].tolist() == ['what is "x"?']
    assert data.gold_list(q["answer"][0]) == ["a|b", "c"]


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "empty"),
        (b"text\nwho?\n", "no 'question' column"),
        (b'question,answer\n" ",1\n', "no questions"),
        (b"question\n", "no rows"),
        (b"\xff\xfe\x00", "UTF-8"),
    ],
)
def test_bad_question_files(raw, message):
    with pytest.raises(data.BatchError, match=message):
        data.parse_questions("q.csv", raw)


def test_too_many_questions(monkeypatch):
    monkeypatch.setattr(data, "MAX_BATCH_QUESTIONS", 2)
    with pytest.raises(data.BatchError, match="use `nprog batch`"):
        data.parse_questions("q.csv", b"question\na?\nb?\nc?\n")


def test_run_batch_matches_ask_and_scores(qa):
    table = Table.from_csv(SAMPLES / "medals.csv")
    asks = ["which nation won the most gold medals?", "x" * 3000, "how many nations are there?"]
    gold = ["Norway", "1", "12"]
    steps = list(data.run_batch(qa, table, pd.DataFrame({"question": asks, "answer": gold}), chunk=2))
    assert [done for done, _ in steps] == [2, 3, 3]
    out = steps[-1][1]
    assert out.columns.tolist() == ["question", "answer", "program", "confidence", "error", "gold", "correct"]
    assert "the limit is 2000" in out["error"][1] and not out["correct"][1]
    for i in (0, 2):
        a = qa.ask(table, asks[i])
        assert out["answer"][i] == "|".join(a.answer)
        assert out["program"][i] == str(a.program).replace("\n", " ; ")
        assert out["correct"][i] == lists_match([gold[i]], a.answer)
    assert data.accuracy(out) == (int(out["correct"].sum()), 3)


# ---- exports


@pytest.mark.parametrize(
    "value, shown",
    [("=1+1", "'=1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("+cmd", "'+cmd"), ("-2+3", "'-2+3"), ("-3", "-3"),
     ("+1,500.5", "+1,500.5"), ("1e5", "1e5"), ("plain", "plain"), ("\tx", "'\tx")],
)  # fmt: skip
def test_csv_export_defuses_formulas(value, shown):
    assert data.defuse_formula(value) == shown
    csv_text = data.to_csv_bytes(pd.DataFrame({"answer": [value]})).decode()
    assert shown.strip() in csv_text


def test_tsv_export_escapes_like_wtq():
    results = pd.DataFrame(
        {
            "question": ["a\tb?"],
            "answer": [data.join_answer(["x|y", "back\\slash", "two\nlines"])],
            "program": ["1. p"],
        }
    )
    lines = data.to_tsv_bytes(results).decode().splitlines()
    assert lines == ["question\tanswer\tprogram", "a b?\tx\\py|back\\\\slash|two\\nlines\t1. p"]
    assert data.gold_list(lines[1].split("\t")[1]) == ["x|y", "back\\slash", "two\nlines"]


def test_sql_runs_here_and_agrees(qa):
    pytest.importorskip("nprog.sql")
    answer = qa.ask(Table.from_csv(SAMPLES / "medals.csv"), "which nation won the most gold medals?")
    run = data.run_sql_here(answer)
    assert run.agrees and lists_match(answer.answer, run.rows)
