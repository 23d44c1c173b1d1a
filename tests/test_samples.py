"""The sample tables (data/samples/*.csv) answered as a person would: every question of questions.json and
of the README's table right, and — for a question that names no row order — still right when the answer
row is moved to the end of the table (a program that is right for the right reason does not depend on
where the row sits; "who won after X?" is about where rows sit, so it is asked of the table as written).

Gold answers are written here by hand, from the tables; a question added to questions.json or the README
without a gold answer here fails the test. Cases today's shipped model gets wrong are marked
xfail(strict=True) so that the retrained model flips them (then remove the mark).
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from nprog.answers import lists_match
from nprog.cues import names_row_order
from nprog.questions import parse_question
from nprog.tables import Table
from tests.conftest import SAMPLES

ROOT = SAMPLES.parent.parent

# table → question → (acceptable answers, each a list of values; the row the answer comes from, 0-based:
# for a count, one of the counted rows)
GOLD: dict[str, dict[str, tuple[list[list[str]], int]]] = {
    "medals.csv": {
        "which nation won the most gold medals?": ([["Norway"]], 0),
        "how many nations won more than 5 gold medals?": ([["6"]], 0),
        "what is the total of germany?": ([["27"]], 1),
        "which nation is ranked last?": ([["Italy"]], 11),
        "how many silver medals did canada win?": ([["8"]], 2),
        "what is the total number of gold medals?": ([["89"]], 0),
        "how many more gold medals did norway win than canada?": ([["5"]], 0),
    },
    "planets.csv": {
        "which planet has the most moons?": ([["Saturn"]], 5),
        "how many planets are gas giants?": ([["2"]], 4),
        "which planet has the smallest diameter?": ([["Mercury"]], 0),
        "how many planets have rings?": ([["4"]], 4),
        "what type of planet is neptune?": ([["Ice giant"]], 7),
        "which planet is farthest from the sun?": ([["Neptune"]], 7),
        "what is the total number of moons?": ([["288"]], 5),
        "how many more moons does saturn have than jupiter?": ([["51"]], 5),
        "what is the average diameter of the terrestrial planets?": ([["9132.75"]], 0),
    },
    "marathon.csv": {
        "who won in 2020?": ([["Shura Kitata"]], 5),
        "how many times did eliud kipchoge win?": ([["4"]], 0),
        "which country won in 2017?": ([["Kenya"]], 2),
        "who won the first race?": ([["Eliud Kipchoge"]], 0),  # the first race is 2015's, wherever its row is
        "who won after shura kitata?": ([["Sisay Lemma"]], 6),  # the next year's race
    },
    "season.csv": {
        "who was the opponent in the first game?": ([["Riverside United"]], 0),  # the earliest date
        "how many games were played at home?": ([["5"]], 0),
        "which game had the highest attendance?": ([["Northgate City"], ["August 19, 2023"]], 1),
        "what was the result against harbor town?": ([["Draw"], ["1–1"]], 2),
        "how many games had more than 19,000 in attendance?": ([["4"]], 1),
        "what was the average attendance?": ([["17632.75"]], 1),
        "what was the total attendance at home games?": ([["96767"]], 0),
    },
}


def _readme_questions() -> set[tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| (\w+\.csv) \| (.+?) \|$", text, flags=re.M))


def _sample_questions() -> set[tuple[str, str]]:
    listed = json.loads((SAMPLES / "questions.json").read_text(encoding="utf-8"))
    return {(name, q) for name, questions in listed.items() for q in questions} | _readme_questions()


def test_every_sample_question_has_a_gold_answer():
    asked = _sample_questions()
    assert len(_readme_questions()) >= 5 and len(asked) >= 20
    assert asked == {(name, q) for name, questions in GOLD.items() for q in questions}


def moved_to_end(frame: pd.DataFrame, row: int) -> pd.DataFrame:
    """The table with one row moved to the end (to the front when it is the last row already)."""
    others = [r for r in range(len(frame)) if r != row]
    order = [*others, row] if row != len(frame) - 1 else [row, *others]
    return frame.iloc[order].reset_index(drop=True)


# Cases the shipped model gets wrong (strict xfail, so a model that gets them right flips them): none today.
FAILING_NOW: dict[tuple[str, str], str] = {}  # every case passes with the shipped model


def _cases():
    for name, questions in GOLD.items():
        for question, (gold, row) in questions.items():
            marks = []
            if (name, question) in FAILING_NOW:
                marks = [
                    pytest.mark.xfail(
                        strict=True, raises=AssertionError, reason=FAILING_NOW[(name, question)]
                    )
                ]
            yield pytest.param(name, question, gold, row, id=f"{name}: {question}", marks=marks)


@pytest.fixture(scope="module")
def qa(shipped_model):
    from nprog.qa import TableQA

    return TableQA.load(shipped_model, device="cpu")


@pytest.mark.parametrize(("name", "question", "gold", "row"), list(_cases()))
def test_sample_question_is_right_wherever_the_answer_row_is(qa, name, question, gold, row):
    frame = pd.read_csv(SAMPLES / name, dtype=str, keep_default_na=False)
    # a question that names a row order ("first", "after", "last") is about where rows are: moving one
    # may rightly change its answer; any other question must not move
    arrangements = (
        [frame] if names_row_order(parse_question(question).tokens) else [frame, moved_to_end(frame, row)]
    )
    for table in arrangements:
        answer = qa.ask(Table.from_dataframe(table), question)
        assert any(lists_match(g, answer.answer) for g in gold), (
            f"{question!r} on {name} ({'as shipped' if table is frame else 'answer row moved'}): "
            f"{answer.answer} instead of {gold}; program:\n{answer.program}"
        )
