"""Does a question name a row order? The cue that licenses the order operations (issue #14).

``previous``, ``next``, ``first`` and ``last`` read the table's row order. On a question that names no order
("which nation won the most gold medals?") a program using them is right only by the accident of where
the rows happen to be, and its answer changes when the rows are shuffled. Such questions therefore get no
order operations: not in the program search that gives training credit, and (for models trained so,
``ModelConfig.order_cues``) not at inference either.

A cue is one of a small set of words that speak about position in a list ("first", "next", "above",
"listed", "before" …). The list is generous on purpose: a cue only *allows* the order operations; the
model still decides whether to use them.

It is the one list: the program search, the op masks and the row-shuffle measure
(:func:`nprog.evaluate.shuffle_invariance`, which asks only the questions naming no order) all read it.
Superlatives of time ("earliest", "latest") are not in it: they name a date column, not a position.

The second cue here: does a question ask for a person ("who …?", "which driver …?")? Only then does the
column feature "share of cells that look like people's names" count, for models trained so
(``ModelConfig.person_cue``; the batch carries the cue, the model applies it):
"which book has the most pages?" of a table with an Author column asks for a title, and a model that sees
the names feature on every question learns from WTQ (where "which" so often asks for an athlete) to print
the people.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

ORDER_OPS = ("previous", "next", "first", "last")

ORDER_CUES = frozenset(
    """first last before after next previous above below top bottom higher lower preceding following
    preceded followed precedes follows prior succeeding succeeded subsequent successive listed list order
    row rows final finally earlier later initial consecutive consecutively behind ahead immediately then
    until since start started begin began beginning end ended""".split()
)


def names_row_order(tokens: Iterable[str]) -> bool:
    """True when the question's (normalized) tokens contain an order cue."""
    return any(t in ORDER_CUES for t in tokens)


def order_op_mask(op_names: list[str], tokens: Iterable[str]) -> np.ndarray:
    """(O,) bool over ``op_names``: False for the order operations when the question names no order."""
    allowed = names_row_order(tokens)
    return np.array([allowed or name not in ORDER_OPS for name in op_names], dtype=bool)


# words a question asks for a person with (a noun also in its plural)
PERSON_CUES = frozenset(
    """who whom whose person player athlete driver rider artist candidate swimmer runner coach winner cyclist
    skier wrestler boxer actor actress singer author writer director composer member captain manager pilot
    jockey rapper musician politician president governor senator""".split()
)


def asks_for_a_person(tokens: Iterable[str]) -> bool:
    """True when the question's (normalized) tokens ask for a person ("who", "which drivers …")."""
    return any(t in PERSON_CUES or (t.endswith("s") and t[:-1] in PERSON_CUES) for t in tokens)
