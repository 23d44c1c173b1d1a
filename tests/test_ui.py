"""The Streamlit app, headless (streamlit.testing.v1.AppTest): ask, pictures, SQL, uploads, batch, errors.

The model's answers are not asserted; the page must show exactly what ``TableQA.ask`` returns for the same
table and question. Each AppTest run re-executes the whole script, so the tests keep their runs few.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest
from ui_fixtures import SAMPLES, choose_model, new_app, sqlite_bytes

from nprog.qa import TableQA
from nprog.tables import Table

QUESTION = "how many nations won more than 5 gold medals?"


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return choose_model(fallback=tiny_model_dir)


@pytest.fixture(scope="module")
def qa(model) -> TableQA:
    return TableQA.load(model, device="cpu")


def markdown_with(at, css_class: str) -> str:
    found = [m.value for m in at.markdown if f'class="{css_class}' in m.value]
    assert found, f"no element with class {css_class} on the page"
    return found[0]


def shown_answer(at) -> str:
    return markdown_with(at, "np-answer")


def expected_answer_html(answer) -> str:
    return " · ".join(html.escape(v) for v in answer.answer) if answer.answer else "no answer"


def ask(at, question: str):
    at.text_input(key="question").input(question)
    at.button[0].click()  # the form's Ask button comes first on the page
    return at.run()


def assert_clean(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_ask_on_a_sample_shows_what_the_api_answers(model, qa, monkeypatch):
    at = new_app(model, monkeypatch).run()
    assert_clean(at)
    at.selectbox(key="sample").set_value("medals.csv").run()
    ask(at, QUESTION)
    assert_clean(at)
    expected = qa.ask(Table.from_csv(SAMPLES / "medals.csv"), QUESTION)
    assert expected_answer_html(expected) in shown_answer(at)
    steps = markdown_with(at, "np-steps")
    for text in expected.program.describe_steps():
        assert html.escape(text) in steps
    assert "confidence" in markdown_with(at, "np-facts")
    # the three result views are there, the pictures included
    assert {"Table", "How it decided", "SQL"} <= {t.label for t in at.tabs}
    assert any("Which question words" in m.value for m in at.markdown)


def test_example_question_is_asked_when_picked(model, qa, monkeypatch):
    at = new_app(model, monkeypatch).run()
    at.selectbox(key="sample").set_value("planets.csv").run()
    example = at.pills(key="example").options[0]
    at.pills(key="example").set_value(example).run()
    assert_clean(at)
    assert at.text_input(key="question").value == example
    expected = qa.ask(Table.from_csv(SAMPLES / "planets.csv"), example)
    assert expected_answer_html(expected) in shown_answer(at)


def test_sql_dialect_switch_changes_the_sql_and_runs_here(model, monkeypatch):
    at = new_app(model, monkeypatch).run()
    ask(at, QUESTION)
    duck = at.code[0].value
    assert '"t"' in duck  # DuckDB quotes identifiers with double quotes
    at.segmented_control(key="dialect").set_value("mysql").run()
    mysql = at.code[0].value
    assert mysql != duck and "`t`" in mysql
    assert_clean(at)
    at.button(key="run_sql").click().run()
    assert_clean(at)
    said = [m.value for m in (*at.success, *at.warning, *at.info, *at.error)]
    assert any("DuckDB returned" in s or "nprog.sql" in s for s in said), said


@pytest.mark.parametrize(
    "name, payload, message",
    [
        ("empty.csv", b"", "empty"),
        ("binary.csv", b"\x00\x01\x02garbage\x00" * 50, "binary"),
        ("header.csv", b"a,b,c\n", "no rows"),
        ("broken.csv", b'a,b\n"1,2\n3,4\n', "malformed"),
    ],
)
def test_bad_upload_shows_a_message_not_an_exception(model, monkeypatch, name, payload, message):
    at = new_app(model, monkeypatch).run()
    at.radio(key="source_kind").set_value("CSV file").run()
    at.file_uploader(key="csv_upload").upload(name, payload, "text/csv")
    at.run()
    assert_clean(at)
    errors = [
        re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", e.value) for e in at.error
    ]  # as shown: markdown escapes undone
    assert any(name in e and message in e for e in errors), errors
    assert at.tabs  # the page carries on


def test_csv_upload_is_asked_like_the_api(model, qa, monkeypatch):
    raw = (SAMPLES / "season.csv").read_bytes()
    question = "which game had the highest attendance?"
    at = new_app(model, monkeypatch).run()
    at.radio(key="source_kind").set_value("CSV file").run()
    at.file_uploader(key="csv_upload").upload("my season.csv", raw, "text/csv")
    at.run()
    ask(at, question)
    assert_clean(at)
    expected = qa.ask(Table.from_csv(SAMPLES / "season.csv"), question)
    assert expected_answer_html(expected) in shown_answer(at)


def test_database_upload_pick_a_table_and_ask(model, qa, monkeypatch, tmp_path):
    rows = [("Ada", 36, "London"), ("Grace", 85, "New York"), ("Alan", 41, "Wilmslow")]
    data = sqlite_bytes(tmp_path, rows, ["name", "age", "city"], table="people")
    question = "who is the oldest?"
    at = new_app(model, monkeypatch).run()
    at.radio(key="source_kind").set_value("Database file").run()
    at.file_uploader(key="db_upload").upload("people.sqlite", data, "application/octet-stream")
    at.run()
    assert at.selectbox(key="db_table").options == ["people"]
    ask(at, question)
    assert_clean(at)
    frame = pd.DataFrame([[str(v) for v in r] for r in rows], columns=["name", "age", "city"])
    expected = qa.ask(frame, question)
    assert expected_answer_html(expected) in shown_answer(at)


def test_batch_flow_gives_results_accuracy_and_downloads(model, qa, monkeypatch):
    questions = pd.DataFrame(
        {"question": [QUESTION, "which nation is ranked last?", "  "], "answer": ["4", "Italy", "x"]}
    )
    at = new_app(model, monkeypatch).run()
    at.file_uploader(key="batch_upload").upload("qs.csv", questions.to_csv(index=False).encode(), "text/csv")
    at.run()
    at.button(key="batch_run").click().run()
    assert_clean(at)
    results = next(d.value for d in at.dataframe if "confidence" in d.value.columns)
    assert list(results["question"]) == [QUESTION, "which nation is ranked last?"]  # the blank one is dropped
    table = Table.from_csv(SAMPLES / "medals.csv")
    assert list(results["answer"]) == ["|".join(qa.ask(table, q).answer) for q in results["question"]]
    assert "Accuracy" in [m.label for m in at.metric]
    assert len(at.get("download_button")) == 2


def test_large_upload_styles_only_the_rows_used(model, qa, monkeypatch):
    n = 6000  # 24,000 cells: over the styling limit, and binned in the row picture
    frame = pd.DataFrame(
        {"city": [f"town {i}" for i in range(n)], "country": ["peru", "chile", "japan"] * (n // 3),
         "population": [str(1000 + 7 * i % 9973) for i in range(n)], "founded": [str(1500 + i % 400) for i in range(n)]}
    )  # fmt: skip
    question = "how many cities are in peru?"
    at = new_app(model, monkeypatch).run()
    at.radio(key="source_kind").set_value("CSV file").run()
    at.file_uploader(key="csv_upload").upload("towns.csv", frame.to_csv(index=False).encode(), "text/csv")
    at.run()
    ask(at, question)
    assert_clean(at)
    assert expected_answer_html(qa.ask(frame, question)) in shown_answer(at)
    assert any(len(d.value) == n for d in at.dataframe)  # the whole table, unstyled


def test_question_with_nothing_to_match_says_it_is_a_guess(model, monkeypatch):
    at = new_app(model, monkeypatch).run()
    ask(at, "what's the weather like on mars?")
    assert_clean(at)
    assert any("answer is a guess" in w.value for w in at.warning)


def test_empty_question_is_a_warning(model, monkeypatch):
    at = new_app(model, monkeypatch).run()
    ask(at, "   ")
    assert_clean(at)
    assert any("the question is empty" in w.value for w in at.warning)


def test_no_model_is_a_message_everywhere(monkeypatch):
    at = new_app(None, monkeypatch).run()
    assert_clean(at)
    assert any("No model is available" in e.value for e in at.error)
    assert at.selectbox(key="sample").value  # tables can still be browsed


def test_about_shows_the_model_card(model, qa, monkeypatch):
    at = new_app(model, monkeypatch).run()
    assert_clean(at)
    name = qa.card.get("name", "Unnamed model")
    assert name in [s.value for s in at.subheader]
    if qa.card.get("training_command"):
        assert qa.card["training_command"] in [c.value for c in at.code]


def _model_with_threshold(model, tmp_path, threshold: float):
    """A copy of the model whose card calls every answer a guess (threshold 1) or none (threshold 0)."""
    import json
    import shutil

    copy = tmp_path / f"model-{threshold}"
    shutil.copytree(model, copy)
    card_path = copy / "card.json"
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    card["calibration"] = {
        **card.get("calibration", {"method": "platt", "a": 1.0, "b": 0.0}),
        "threshold": threshold,
    }
    card_path.write_text(json.dumps(card))
    return copy


def test_a_guess_is_labelled_and_not_shown_in_the_type_of_a_sure_answer(model, monkeypatch, tmp_path):
    for threshold, guess in ((1.0, True), (0.0, False)):
        at = new_app(_model_with_threshold(model, tmp_path, threshold), monkeypatch).run()
        at.selectbox(key="sample").set_value("medals.csv").run()
        ask(at, QUESTION)
        assert_clean(at)
        shown = shown_answer(at)
        assert ("np-guess" in shown) == guess and ("guess</span>" in shown) == guess
        assert any("this answer is a guess" in w.value for w in at.warning) == guess


def test_the_sidebar_offers_the_shipped_table_models_and_answers_with_the_one_picked(
    tiny_model_dir, shipped_model, monkeypatch
):
    from nprog.app.ui import data

    monkeypatch.setenv("NPROG_MODEL", str(tiny_model_dir))
    choices = data.model_choices()
    assert choices[0] == str(tiny_model_dir)  # $NPROG_MODEL first: the one loaded at start
    assert str(shipped_model) in choices
    assert not any(Path(c).name.startswith(("ntm-", "act-", "attention-")) for c in choices)  # memory tasks

    at = new_app(tiny_model_dir, monkeypatch).run()
    assert_clean(at)
    assert "tiny" in [s.value for s in at.subheader]
    at.selectbox(key="model_dir").set_value(str(shipped_model)).run()
    assert_clean(at)
    assert TableQA.load(shipped_model).card["name"] in [s.value for s in at.subheader]
