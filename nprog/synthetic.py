"""Template questions on the training tables: what WikiTableQuestions rarely asks, asked as people ask it.

WTQ's 11k training questions teach the model what WTQ asks: few totals, averages or differences (so the
model never learns to choose them), and superlatives that mostly fall on a table's first numeric column (so
"which river has the highest discharge?" can point at Length). These generated questions name a column at
random among the table's numeric columns and ask for its maximum, minimum, total, average, a difference
between two named rows or which of them is larger (yes/no), a value of a named row, or a count above a
threshold, in several phrasings each. The rows are asked for as people ask: by the key column's name ("which
title …"), by a noun no column has ("which book …?" — the key column answers, not the Author beside it), or
among the rows sharing a value ("which fantasy book has the fewest pages?").

They only ever use the *training* split's tables, and they go through the same answer-only pipeline as WTQ's
own questions (``make_target``, the program search, the credit rules): the model is told the answer, never
the program. The answers are computed here from the typed cells with NumPy, independently of the model's
operations; a question whose answer no program reaches just earns no credit. Totals rows ("Total", "All")
are left out of every computation, as the operations leave them out. Dev and test stay WTQ's own questions.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from nprog.cues import PERSON_CUES
from nprog.tables import Table, TableError, looks_like_person
from nprog.wtq import Example, load_table

# nouns a "who" question can stand in for (the key column holds people): the person cues, and "name"
_PEOPLE = PERSON_CUES | {"name"}

# numeric columns that label rows rather than measure them: no one totals years, ranks or pick numbers,
# and "the highest rank" means rank 1
_LABEL_WORDS = "|".join(
    "year season rank ranking pos position place no # number pick round week lane heat seed id code order series "
    "episode division record result game match stage event date day month jersey shirt from to founded built "
    "established born died opened elected term grid a[nñ]o".split()
)
_LABEL = re.compile(rf"^(?:.*\b)?(?:{_LABEL_WORDS})\b")

# what people call the rows of a table when no column names them (and a question says "which book …?")
_ROW_NOUNS = (
    "book film movie song album ship building river city town country nation team club player game item "
    "entry one show school company car event race station island mountain lake language party"
).split()

_HIGH = ["highest", "largest", "greatest", "most", "biggest"]
_LOW = ["lowest", "smallest", "least", "fewest"]


def _phrase(name: str, rng: random.Random) -> str | None:
    """How a question names a column: lower case, its bracketed unit dropped half of the time (people say
    "length" for "Length (km)"); None for a header no one would say (empty, a number, very long)."""
    text = name.lower().replace("_", " ")
    text = re.sub(r"\s*\[[^\]]*\]", "", text)  # citation marks
    if rng.random() < 0.5:
        text = re.sub(r"\s*\([^)]*\)", "", text)
    text = re.sub(r"[^\w()/%.' -]+", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    words = text.split()
    if not words or len(words) > 5 or not re.search(r"[a-z]", text) or re.fullmatch(r"column \d+", text):
        return None
    return text


def _number(x: float) -> str:
    """An answer as WTQ writes numbers: integers without a decimal point, others at full precision (the
    program search matches numbers within 1e-6)."""
    if abs(x - round(x)) < 1e-9:
        return str(int(round(x)))
    return repr(round(float(x), 9))  # 30.2, not 30.199999999999818


def _counted(col: str) -> bool:
    """Whether the column's name already says "number of" / "total" (no "the number of number of")."""
    return bool(re.match(r"(number|no|total|#|num)\b", col))


def _plural(noun: str) -> str:
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


class _TableView:
    """The parts of one table the templates use: the key column (names its rows), the usable numeric
    columns, the repeated values of other text columns (filters), all over non-totals rows."""

    def __init__(self, table: Table, rng: random.Random):
        self.table = table
        self.rows = np.flatnonzero(~table.totals)
        self.key = None
        self.key_text: list[str] = []
        keys = np.flatnonzero(table.key_column)  # the column the model's key feature marks
        if keys.size:
            norms = table.columns[int(keys[0])].norm.to_pylist()
            if len(self.rows) >= 3 and all(len(norms[r].split()) <= 5 for r in self.rows):  # sayable names
                self.key, self.key_text = int(keys[0]), norms
        self.numeric = []
        for i, column in enumerate(table.columns):
            if column.kind != "number" or i == self.key or column.valid[self.rows].sum() < 3:
                continue
            if not _LABEL.match(column.name.lower()):
                self.numeric.append(i)
        self.filters = []  # (column, normalized value, rows holding it) for values shared by 2+ rows
        for i, column in enumerate(table.columns):
            if column.kind != "text" or i == self.key:
                continue
            norms = column.norm.to_pylist()
            values: dict[str, list[int]] = {}
            for r in self.rows:
                t = norms[r]
                if t and len(t.split()) <= 4 and re.search(r"[a-z]{3}", t):  # a name, not "11th" or "54 46"
                    values.setdefault(t, []).append(int(r))
            for value, rows in values.items():
                if 2 <= len(rows) < len(self.rows):
                    self.filters.append((i, value, np.array(rows)))
        self.key_noun = None
        # nouns a question may call the rows by that name no column of this table ("which book …?" of a
        # table whose key column is Title): the key column answers them
        header_words = {w for c in table.columns for w in re.findall(r"[a-z]+", c.name.lower())}
        self.free_nouns = [n for n in _ROW_NOUNS if n not in header_words and _plural(n) not in header_words]
        self.people = False  # the key column holds people's names: "who" asks for it
        if self.key is not None:
            noun = _phrase(table.columns[self.key].name, rng)
            if noun and len(noun.split()) <= 2:
                self.key_noun = noun
            strings = [table.columns[self.key].strings[r].as_py() or "" for r in self.rows]
            named = sum(looks_like_person(t) for t in strings)
            self.people = (noun in _PEOPLE) or named >= 0.8 * len(strings)
        # another column holds people (a books table's Author beside its Title): "which book …?" must still
        # print the key column, so those tables ask with a free noun more often
        self.people_elsewhere = any(
            share >= 0.5 and c != self.key and table.columns[c].kind == "text"
            for c, share in enumerate(table.person_share)
        )
        if self.people:  # "which river …?" of a table of athletes is no question anyone asks
            self.free_nouns = [n for n in ("person", "one", "athlete", "player") if n not in header_words]

    def values(self, c: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows with a valid value, their values) of numeric column c among ``rows``."""
        v = self.table.columns[c].value[rows]
        keep = ~np.isnan(v)
        return rows[keep], v[keep]

    def which(self, rng: random.Random) -> str:
        """How a question asks for a row by its key column: "who", the key column's own name ("which
        title"), or, a third of the time (more where another column holds people), a noun no column has
        ("which book")."""
        if self.people and rng.random() < 0.5:
            return "who"
        noun = self.key_noun or "row"
        if self.free_nouns and (rng.random() < (0.6 if self.people_elsewhere else 0.35) or not self.key_noun):
            noun = rng.choice(self.free_nouns)
        return rng.choice(["which", "what"]) + " " + noun


def _superlative(v: _TableView, rng: random.Random) -> tuple[str, str] | None:
    if v.key is None or not v.numeric:
        return None
    c = rng.choice(v.numeric)
    col = _phrase(v.table.columns[c].name, rng)
    rows, values = v.values(c, v.rows)
    if not col or len(rows) < 3:
        return None
    high = rng.random() < 0.5
    best = values.max() if high else values.min()
    if (values == best).sum() != 1:
        return None  # a tie has no one answer
    row = int(rows[np.flatnonzero(values == best)[0]])
    word = rng.choice(_HIGH if high else _LOW)
    who = v.which(rng)
    if rng.random() < 0.2:  # the extreme value itself
        q = rng.choice(
            [f"what is the {word} {col}?", f"what was the {word} {col} of any {v.key_noun or 'row'}?"]
        )
        return q, v.table.columns[c].strings[row].as_py()
    form = rng.choice(
        [
            f"{who} has the {word} {col}?",
            f"{who} had the {word} {col}?",
            f"{who} had the {word} {col}?" if _counted(col) else f"{who} had the {word} number of {col}?",
            f"{who} is the one with the {word} {col}?",
        ]
    )
    return form, v.table.columns[v.key].strings[row].as_py()


def _superlative_among(v: _TableView, rng: random.Random) -> tuple[str, str] | None:
    """The row with the largest or smallest value among the rows sharing a value of another column
    ("which fantasy book has the fewest pages?")."""
    if v.key is None or not v.numeric or not v.filters:
        return None
    c = rng.choice(v.numeric)
    col = _phrase(v.table.columns[c].name, rng)
    _, value, among = rng.choice(v.filters)
    rows, values = v.values(c, among)
    if not col or len(rows) < 2:
        return None
    high = rng.random() < 0.5
    best = values.max() if high else values.min()
    if (values == best).sum() != 1:
        return None
    row = int(rows[np.flatnonzero(values == best)[0]])
    word = rng.choice(_HIGH if high else _LOW)
    noun = rng.choice(v.free_nouns) if v.free_nouns and rng.random() < 0.5 else v.key_noun or "one"
    q = rng.choice(
        [
            f"which {value} {noun} has the {word} {col}?",
            f"of the {value} ones, which has the {word} {col}?",
            f"{v.which(rng)} has the {word} {col} among {value}?",
        ]
    )
    return q, v.table.columns[v.key].strings[row].as_py()


def _aggregate(v: _TableView, rng: random.Random, kind: str) -> tuple[str, str] | None:
    if not v.numeric:
        return None
    c = rng.choice(v.numeric)
    col = _phrase(v.table.columns[c].name, rng)
    if not col:
        return None
    rows, scope = v.rows, ""
    if v.filters and rng.random() < 0.5:
        _, value, rows = rng.choice(v.filters)
        scope = rng.choice([f" for {value}", f" of the {value} ones", f" among {value}"])
    rows, values = v.values(c, rows)
    if len(rows) < 2:
        return None
    if kind == "sum":
        q = rng.choice(
            [
                f"what is the total {col}{scope}?",
                f"what is the sum of the {col}{scope}?",
                f"what was the combined {col}{scope}?",
                f"how many {col} in total{scope}?",
                f"what is the total {col}{scope}?"
                if _counted(col)
                else f"what is the total number of {col}{scope}?",
                f"add up the {col}{scope}.",
            ]
        )
        return q, _number(values.sum())
    q = rng.choice(
        [
            f"what is the average {col}{scope}?",
            f"what was the mean {col}{scope}?",
            f"what is the average {col}{scope}?"
            if _counted(col)
            else f"what is the average number of {col}{scope}?",
            f"on average, what is the {col}{scope}?",
        ]
    )
    return q, _number(values.mean())


def _two_rows(v: _TableView, rng: random.Random) -> tuple[str, str, str, float, float] | None:
    """A numeric column as a question names it, and two named rows with different valid values in it (the
    larger first): (column phrase, a, b, a's value, b's value)."""
    if v.key is None or not v.numeric:
        return None
    c = rng.choice(v.numeric)
    rows, values = v.values(c, v.rows)
    if len(rows) < 2:
        return None
    i, j = rng.sample(range(len(rows)), 2)
    if values[i] == values[j]:
        return None
    if values[i] < values[j]:
        i, j = j, i
    col = _phrase(v.table.columns[c].name, rng)
    if not col:
        return None
    return col, v.key_text[rows[i]], v.key_text[rows[j]], float(values[i]), float(values[j])


def _difference(v: _TableView, rng: random.Random) -> tuple[str, str] | None:
    pair = _two_rows(v, rng)
    if pair is None:
        return None
    col, a, b, va, vb = pair
    q = rng.choice(
        [
            f"how many more {col} did {a} have than {b}?",
            f"what is the difference in {col} between {a} and {b}?",
            f"how much higher is the {col} of {a} than that of {b}?",
            f"how many fewer {col} did {b} have than {a}?",
            f"what is the difference between the {col} of {a} and {b}?",
        ]
    )
    return q, _number(va - vb)


def _compare(v: _TableView, rng: random.Random) -> tuple[str, str] | None:
    """A yes/no question comparing two named rows on a column (yes as often as no)."""
    pair = _two_rows(v, rng)
    if pair is None:
        return None
    col, a, b, _, _ = pair  # a's value is the larger
    if rng.random() < 0.5:
        a, b, answer = b, a, "no"
    else:
        answer = "yes"
    word = rng.choice(["higher", "greater", "larger"])
    q = rng.choice(
        [
            f"did {a} have more {col} than {b}?",
            f"is the {col} of {a} {word} than that of {b}?",
            f"does {a} have a {word} {col} than {b}?",
            f"was {a}'s {col} {word} than {b}'s?",
        ]
    )
    return q, answer


def _pair_total(v: _TableView, rng: random.Random) -> tuple[str, str] | None:
    pair = _two_rows(v, rng)
    if pair is None:
        return None
    col, a, b, va, vb = pair
    q = rng.choice(
        [f"what is the total {col} of {a} and {b}?", f"how many {col} did {a} and {b} have combined?"]
    )
    return q, _number(va + vb)


def _lookup(v: _TableView, rng: random.Random) -> tuple[str, str] | None:
    if v.key is None:
        return None
    others = [i for i in range(v.table.n_columns) if i != v.key]
    if not others:
        return None
    c = rng.choice(others)
    col = _phrase(v.table.columns[c].name, rng)
    row = int(rng.choice(list(v.rows)))
    answer = v.table.columns[c].strings[row].as_py()
    if not col or not answer or not answer.strip():
        return None
    a = v.key_text[row]
    q = rng.choice([f"what is the {col} of {a}?", f"what was {a}'s {col}?", f"what {col} does {a} have?"])
    return q, answer


def _count_above(v: _TableView, rng: random.Random) -> tuple[str, str] | None:
    if not v.numeric or not v.key_noun:
        return None
    c = rng.choice(v.numeric)
    col = _phrase(v.table.columns[c].name, rng)
    rows, values = v.values(c, v.rows)
    if not col or len(rows) < 4:
        return None
    threshold = float(rng.choice(list(values)))
    noun = _plural(v.key_noun)
    if rng.random() < 0.5:
        word = rng.choice(["more than", "over", "above", "greater than"])
        n = int((values > threshold).sum())
    else:
        word = rng.choice(["less than", "under", "below", "fewer than"])
        n = int((values < threshold).sum())
    if n == 0 or n == len(rows):
        return None
    t = _number(threshold)
    q = rng.choice([f"how many {noun} have {word} {t} {col}?", f"how many {noun} had a {col} {word} {t}?"])
    return q, str(n)


# (template, weight): superlatives and the arithmetic WTQ hardly asks for weigh most
TEMPLATES = [
    (_superlative, 3.0),
    (_superlative_among, 1.0),
    (lambda v, rng: _aggregate(v, rng, "sum"), 1.5),
    (lambda v, rng: _aggregate(v, rng, "average"), 1.5),
    (_difference, 1.5),
    (_pair_total, 0.5),
    (_compare, 0.5),
    (_lookup, 1.0),
    (_count_above, 1.0),
]


_ASK_FOR_A_ROW = (_superlative, _superlative_among)  # the templates that print the key column


def questions(table: Table, n: int, rng: random.Random) -> list[tuple[str, str]]:
    """Up to ``n`` distinct (question, answer) pairs about one table (fewer where its columns allow few).

    A table whose rows are named by something other than people while another column holds people (a
    books table's Title beside Author) gets twice the questions, and superlatives weigh twice as much
    there: about one table in ten is like that, and WTQ alone teaches the model to print the people."""
    view = _TableView(table, rng)
    fns, weights = zip(*TEMPLATES, strict=True)
    if view.people_elsewhere and not view.people and view.key is not None:
        n *= 2
        weights = [w * (2 if fn in _ASK_FOR_A_ROW else 1) for fn, w in zip(fns, weights, strict=True)]
    out: dict[str, str] = {}
    for _ in range(20 * n):
        if len(out) >= n:
            break
        made = rng.choices(fns, weights)[0](view, rng)
        if made is not None:
            out.setdefault(*made)
    return list(out.items())


def generate(root: Path, contexts: Iterable[str], n: int, seed: int = 0) -> list[Example]:
    """About ``n`` template questions spread evenly over the tables ``contexts`` (the training split's):
    each table's own are seeded by (seed, table), so they do not depend on the other tables."""
    tables = sorted(set(contexts))
    random.Random(seed).shuffle(tables)
    per_table = -(-n // max(len(tables), 1))
    out: list[Example] = []
    for context in tables:
        if len(out) >= n:
            break
        try:
            table = load_table(root, context)
        except TableError:
            continue
        for question, answer in questions(table, per_table, random.Random(f"{seed}/{context}")):
            out.append(Example(f"synthetic-{len(out)}", question, context, [answer]))
    return out[:n]
