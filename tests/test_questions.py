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
    texts = [text for text, _, _ in CASES] * 150 + [f"who scored {k:,} points in {1900 + k % 100}?" for k in range(400)]
    together = parse_questions(texts)
    assert sum(len(q.tokens) for q in together) > 5_000
    for text, q in zip(texts, together, strict=True):
        alone = parse_question(text)
        assert (q.text, q.tokens, q.mentions) == (alone.text, alone.tokens, alone.mentions)


def test_a_question_must_be_text():
    with pytest.raises(TypeError, match="must be a string"):
        parse_questions(["fine", 3])
