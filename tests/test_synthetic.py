"""Template questions (nprog.synthetic): right answers, sensible columns, totals rows left out, seeded, and
every answer reachable by the program search (what training credits)."""

import random
import re

import numpy as np
import pandas as pd
import pytest

from nprog.batch import encode
from nprog.questions import Vocabulary
from nprog.search import search
from nprog.synthetic import _phrase, generate, questions
from nprog.tables import Table
from nprog.wtq import make_target
from tests.tiny_wtq import write_tiny_wtq

RIVERS = pd.DataFrame(
    {
        "River": ["Tagus", "Loire", "Elbe", "Rhine", "Vistula", "Oder", "Ebro", "Seine", "Total"],
        "Country": ["Spain", "France", "Germany", "Switzerland", "Poland", "Czechia", "Spain", "France", ""],
        "Length (km)": ["1007", "1012", "1094", "1233", "1047", "742", "930", "777", "7842"],
        "Discharge (m3/s)": ["500", "835", "870", "2330", "1080", "567", "426", "560", "7168"],
        "Rank": ["5", "4", "2", "1", "3", "8", "6", "7", ""],
        "Year": ["1990", "1991", "1992", "1993", "1994", "1995", "1996", "1997", ""],
    }
)
LENGTH = np.array([1007, 1012, 1094, 1233, 1047, 742, 930, 777], dtype=float)
DISCHARGE = np.array([500, 835, 870, 2330, 1080, 567, 426, 560], dtype=float)


def _pairs(n=200, seed=0):
    return questions(Table.from_dataframe(RIVERS), n, random.Random(seed))


def test_answers_are_computed_from_the_named_column_without_the_totals_row():
    pairs = _pairs()
    assert len(pairs) > 50
    columns = {"length": LENGTH, "length (km)": LENGTH, "discharge": DISCHARGE, "discharge (m3/s)": DISCHARGE}
    checked = 0
    for q, a in pairs:
        m = re.fullmatch(r"what is the (?:sum of the|total) (.+?)\?", q)
        if m and m.group(1) in columns:
            assert float(a) == columns[m.group(1)].sum(), q  # 7842 / 7168 would be the totals row's
            checked += 1
        m = re.fullmatch(r"what (?:is the average|was the mean) (.+?)\?", q)
        if m and m.group(1) in columns:
            assert float(a) == pytest.approx(columns[m.group(1)].mean()), q
            checked += 1
        m = re.fullmatch(r"how many more (.+?) did (\w+) have than (\w+)\?", q)
        if m:
            rivers = [r.lower() for r in RIVERS.River]
            va, vb = (columns[m.group(1)][rivers.index(x)] for x in m.group(2, 3))
            assert va > vb and float(a) == va - vb, q
            checked += 1
        m = re.fullmatch(r"did (\w+) have more (.+?) than (\w+)\?", q)
        if m:
            rivers = [r.lower() for r in RIVERS.River]
            va, vb = (columns[m.group(2)][rivers.index(x)] for x in m.group(1, 3))
            assert a == ("yes" if va > vb else "no"), q
            checked += 1
        m = re.fullmatch(r"(?:which|what) river has the highest (.+?)\?", q)
        if m:
            assert a == RIVERS.River[int(np.argmax(columns[m.group(1)]))], q
            checked += 1
    assert checked >= 10
    assert all(a != "Total" for _, a in pairs)


def test_label_columns_are_never_summed_averaged_or_ranked():
    for q, _ in _pairs():
        if "rank" in q or "year" in q:  # asked about as a named row's value only
            assert q.startswith(
                ("what is the rank", "what is the year", "what was", "what rank", "what year")
            ), q


def test_same_seed_same_questions_and_other_seed_others():
    assert _pairs(seed=3) == _pairs(seed=3)
    assert _pairs(seed=3) != _pairs(seed=4)


@pytest.mark.parametrize(
    ("header", "said"),
    [("Length (km)", {"length", "length (km)"}), ("Column 3", {None}), ("", {None}), ("1998", {None})],
)
def test_a_column_is_named_as_people_say_it(header, said):
    assert {_phrase(header, random.Random(s)) for s in range(20)} == said


def test_every_answer_is_reachable_by_a_searched_program():
    table = Table.from_dataframe(RIVERS)
    words = {w for q, _ in _pairs() for w in re.findall(r"[a-z]+", q)}
    vocab = Vocabulary(sorted(words))
    found = 0
    pairs = _pairs(60)
    for q, a in pairs:
        e = encode(table, q, vocab, target=make_target(table, [a]), order_cues=True)
        found += not search(e).empty
    assert found >= 0.9 * len(pairs)


def test_generate_spreads_over_the_training_tables(tmp_path):
    root = write_tiny_wtq(tmp_path)
    contexts = [f"csv/tiny/{t}.csv" for t in range(3)]  # the training split's tables
    made = generate(root, contexts, 12, seed=1)
    assert len(made) == 12
    assert {e.context for e in made} == set(contexts)  # four each on the three tables
    assert all(e.id.startswith("synthetic-") and len(e.answers) == 1 for e in made)
    assert [e.question for e in generate(root, contexts, 12, seed=1)] == [e.question for e in made]


def test_a_noun_no_column_has_asks_for_the_key_column():
    """ "which book has the most pages?" of a table whose rows are named by Title: the template answers with
    the key column, and never uses a noun that is one of the table's headers."""
    pairs = _pairs(400)
    free = [
        (m.group(1), q, a)
        for q, a in pairs
        if (m := re.match(r"(?:which|what) (\w+) (?:has|had|is)\b", q)) and m.group(1) != "river"
    ]
    assert len(free) >= 10
    assert all(noun not in ("country", "length", "discharge", "rank", "year") for noun, _, _ in free)
    assert all(a in set(RIVERS.River) for _, _, a in free)


def test_a_superlative_among_rows_sharing_a_value():
    checked = 0
    rivers = list(RIVERS.River)
    for q, a in _pairs(400):
        m = re.fullmatch(
            r"(?:which (\w+) \w+|of the (\w+) ones, which) has the (highest|lowest) (length|discharge)\?", q
        )
        if not m:
            continue
        country = (m.group(1) or m.group(2)).title()
        column = LENGTH if m.group(4) == "length" else DISCHARGE
        rows = [i for i in range(8) if RIVERS.Country[i] == country]
        best = (
            max(rows, key=lambda i: column[i])
            if m.group(3) == "highest"
            else min(rows, key=lambda i: column[i])
        )
        assert a == rivers[best], q
        checked += 1
    assert checked >= 2


BOOKS = pd.DataFrame(
    {
        "Title": [
            "The Silent Harbor",
            "The Glass Orchard",
            "Cold Arithmetic",
            "River of Salt",
            "A Quiet Ledger",
        ],
        "Author": ["Mara Quinn", "Tomas Reyes", "Ines Falk", "Dev Patel", "Mara Quinn"],
        "Genre": ["Mystery", "Fantasy", "Mystery", "Literary", "Fantasy"],
        "Pages": ["312", "540", "275", "198", "610"],
    }
)


def test_beside_a_column_of_people_a_free_noun_still_asks_for_the_key_column():
    """A books table: its rows are named by Title, Author holds people. "which book …?" answers a title,
    and such a table gets twice the questions (WTQ alone teaches printing the people)."""
    table = Table.from_dataframe(BOOKS)
    pairs = questions(table, 20, random.Random(0))
    assert len(pairs) > 20  # doubled
    titles, authors = set(BOOKS.Title), set(BOOKS.Author)
    asked = [(q, a) for q, a in pairs if re.match(r"(?:which|what) (?!title)\w+ (?:has|had|is)\b", q)]
    assert asked and all(a in titles for _, a in asked)
    assert not any(a in authors and not q.startswith(("what is the author", "what was")) for q, a in pairs)
