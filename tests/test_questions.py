"""Question parsing: normalized tokens and the numbers (and dates) a question mentions."""

import pytest

from nprog.questions import parse_question, parse_questions

CASES = [
    ("How many medals did Zürich win?", ["how", "many", "medals", "did", "zurich", "win"], []),
    ("which team scored more than 1,500 points?", None, [1500.0]),
    ("what happened on march 3 2011?", None, [2011 + 2 / 12 + 2 / 372]),
    ("who won in 1998 and 2004?", None, [1998.0, 2004.0]),
    ("which one of them is 12.5% taller?", None, [12.5]),  # "one of" is not the number 1
    ("who came first?", None, []),  # "first" is a superlative here, not 1
    ("how many were under two minutes?", None, [2.0]),
    # a day of a month without a year is a date, not the number of the day
    ("what happened on december 14?", None, []),
    ("what happened on 14 december?", None, []),
    ("what was the score on march 3rd and who scored 2 goals?", None, [2.0]),
    ("what happened on may 14", None, []),
    ("what happened on the 3rd of march?", None, []),
    ("what happened on the 3rd of march 2011?", None, [2011 + 2 / 12 + 2 / 372]),
    ("who won on 3 march 2011?", None, [2011 + 2 / 12 + 2 / 372]),
    ("who won on december 14, 2003?", None, [2003 + 11 / 12 + 13 / 372]),
    ("which team played 14 games in december?", None, [14.0]),
    ("who scored 14 in may?", None, [14.0]),  # "may" before nothing date-like is not a month
    ("", [], []),
]


@pytest.mark.parametrize("text, tokens, numbers", CASES)
def test_tokens_and_numbers(text, tokens, numbers):
    q = parse_question(text)
    if tokens is not None:
        assert q.tokens == tokens
    assert q.numbers == pytest.approx(numbers)


def test_questions_parsed_together_equal_questions_parsed_alone():
    """parse_questions makes one normalization and one parser call for all: the results must not depend
    on the company (enough words for the bulk paths of both calls)."""
    texts = [text for text, _, _ in CASES] * 150 + [
        f"who scored {k:,} points in {1900 + k % 100}?" for k in range(400)
    ]
    together = parse_questions(texts)
    assert sum(len(q.tokens) for q in together) > 5_000
    for text, q in zip(texts, together, strict=True):
        alone = parse_question(text)
        assert (q.text, q.tokens, q.mentions) == (alone.text, alone.tokens, alone.mentions)


def test_a_question_must_be_text():
    with pytest.raises(TypeError, match="must be a string"):
        parse_questions(["fine", 3])


# (question, cells of the table's time column, the number the question means on that table)
DURATIONS = [
    (
        "how many songs are longer than 4 minutes?",
        ["4:05", "3:10", "5:01"],
        240.0,
    ),  # m:ss cells count seconds
    ("how many songs are longer than 4 minutes?", ["4", "3", "5"], 4.0),  # a column of plain minutes
    ("how many songs are longer than 4 min?", ["4:05", "3:10", "5:01"], 240.0),
    ("which race took over 2 hours?", ["2:03:05", "1:59:59", "2:10:00"], 7200.0),
    ("who ran under 10 seconds?", ["9.58", "9.69", "10.1"], 10.0),
    ("who ran under 10 seconds?", ["0:09.58", "0:09.69", "0:10.10"], 10.0),
    ("how many songs are longer than 4:30?", ["4:05", "3:10", "5:01"], 270.0),  # already m:ss
    ("how many songs are in the top 4?", ["4:05", "3:10", "5:01"], 4.0),  # no unit: not a duration
]


@pytest.mark.parametrize("text, cells, number", DURATIONS)
def test_durations_read_in_the_tables_units(text, cells, number):
    """ "4 minutes" and a cell "4:05" are read on one scale (seconds) where the table has clock times; the
    encoded question number is what comparisons and value matches use."""
    import pandas as pd

    from nprog.batch import encode
    from nprog.questions import Vocabulary
    from nprog.tables import Table

    table = Table.from_dataframe(pd.DataFrame({"Title": ["a", "b", "c"], "Length": cells}))
    assert table.column("Length").kind == "number"
    assert list(encode(table, text, Vocabulary([])).numbers) == pytest.approx([number])
