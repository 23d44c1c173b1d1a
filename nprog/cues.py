"""Does a question name a row order? The cue that licenses the order operations (issue #14).

``previous``, ``next``, ``first`` and ``last`` read the table's row order. On a question that names no order
("which nation won the most gold medals?") a program using them is right only by the accident of where
the rows happen to be, and its answer changes when the rows are shuffled. Such questions therefore get no
order operations: not in the program search that gives training credit, and (for models trained so,
``ModelConfig.order_cues``) not at inference either.

A cue is one of a small set of words that speak about position in a list ("first", "next", "above",
"listed", "before" …). The list is generous on purpose: a cue only *allows* the order operations; the
model still decides whether to use them.

This is the list the shipped model was trained with (its search and its op masks); the row-shuffle
measure uses ``nprog.questions.ROW_ORDER_WORDS``, which was written at the same time and differs in a few
words (it adds higher, lower, order, row, rows …; this one adds final, earliest, latest, began …). Making
them one list changes which questions get the order operations, so it needs a retrained model.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

ORDER_OPS = ("previous", "next", "first", "last")

ORDER_CUES = frozenset(
    """first last before after next previous above below top bottom preceding following preceded followed
    precedes follows prior succeeding succeeded subsequent listed list final finally earlier later earliest
    latest initial consecutive behind ahead immediately then until since start started begin began beginning
    end ended""".split()
)


def names_row_order(tokens: Iterable[str]) -> bool:
    """True when the question's (normalized) tokens contain an order cue."""
    return any(t in ORDER_CUES for t in tokens)


def order_op_mask(op_names: list[str], tokens: Iterable[str]) -> np.ndarray:
    """(O,) bool over ``op_names``: False for the order operations when the question names no order."""
    allowed = names_row_order(tokens)
    return np.array([allowed or name not in ORDER_OPS for name in op_names], dtype=bool)
