"""The operation registry: one place for what each operation means, softly and discretely.

Every operation is declared once, as an :class:`Op` with named fields: what it yields (rows, a scalar, a
lookup, yes/no), which columns it may use, the literal its step carries (a question number, the cells or
the words the question names), whether it ignores the incoming selector ("static"), whether repeating it
changes nothing, whether it may reach totals rows, its readable label, its soft (differentiable) form
over a whole batch and its discrete form over numpy row masks. The model, the reference executor
(:mod:`nprog.program`), the program search, the decoder and the UI ask these fields, never an
operation's name. Each operation's SQL form is the builder of the same name in :data:`nprog.sql.SQL_FORMS`
(kept there, beside the SQL layout it reads, so sqlglot is imported only when SQL is asked for;
``tests/test_sql.py`` checks every operation has one). Adding an operation: its declaration here, its
SQL form, its rows in the tests.

Soft forms are vectorized over (B, C, R) = (batch, columns, rows): no Python loop over rows or examples.
With one-hot attention they equal the discrete forms exactly (``tests/test_ops.py``).

Deviations from the 2017 code (docs/neural-programmer.md §4):
* first/last/argmax/argmin use exclusive cumprods (deviation 1);
* comparisons are computed for every question number and mixed by the pointer π, so the pointer is
  trained (deviation 6);
* argmax and argmin keep every row tied at the best value, and mfe every key tied for the highest count
  (a tie broken by row position would make the answer depend on the row order);
* program steps 1…T−1 choose among the row operations and step T among the answer operations (count,
  print, sum …); the original let any step choose anything and scored non-answer endings as wrong;
* operations the 2017 set lacks (sum, average, difference, exists, contains, AND filters, exclude), and
  totals rows kept out of the starting selection (:func:`totals_rows`).

"How many more A than B" is ``select`` (both rows the question names) then ``difference``: the highest
minus the lowest value of the column over the selected rows. One order-free answer op over one row set
needs no second selector (which the controller, blind to rows, could not keep apart anyway), reads the
same whichever row the question names first, and is ``MAX(v) - MIN(v)`` in SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from nprog.tables import _TypedColumn


@dataclass
class SoftInputs:
    """Batch tensors the soft operations read (B batch, C columns, R rows, N question numbers)."""

    row_mask: torch.Tensor  # (B, R) 1 for real rows
    values: torch.Tensor  # (B, C, R) float64 comparison values (0 where invalid)
    valid: torch.Tensor  # (B, C, R) 1 where the value is valid (number/date cell that parsed)
    cell_mask: torch.Tensor  # (B, C, R) 1 for real cells (real row and real column)
    exact: torch.Tensor  # (B, C, R) question↔cell exact match
    partial: torch.Tensor  # (B, C, R) the cell contains a question content word
    mfe: torch.Tensor  # (B, C, R) most-frequent-entry marks
    order_desc: torch.Tensor  # (B, C, R) long: rows by value descending (ties top-down), invalid last
    order_asc: torch.Tensor  # (B, C, R) long
    numbers: torch.Tensor  # (B, N) float64 question numbers
    number_mask: torch.Tensor  # (B, N) 1 for real numbers
    data_rows: torch.Tensor  # (B, R) 1 for real rows that are not totals rows: the initial selection


# What a step carries besides its column (nprog.program.Step); nprog.decode.make_step fills it.
LITERALS = (
    "",  # nothing
    "number",  # a question number (Step.number), chosen by the pointer π
    "cells",  # the cells of the column the question names (Step.values: strings, or numbers)
    "words",  # the question's content words some cell of the column contains (Step.values)
)
# Which columns an operation may use on a given table and question (nprog.batch.operation_masks).
COLUMN_RULES = (
    "",  # reads no column
    "any",  # every column
    "numeric",  # number/date columns with a valid value
    "named",  # columns with a cell the question names (exact match)
    "worded",  # columns with a cell containing a question word (partial match)
    "mode",  # columns with a most frequent entry
)
# What an operation yields: rows for the next step, or the answer (the last step only).
YIELDS = ("rows", "scalar", "lookup", "yesno")
# Question cues: an operation with a cue is offered only for questions that say it (a yes/no answer
# only for "is/did/was …" questions, a negation only where the question negates …), so neither the
# model nor the program search reaches for it where nothing in the question asks for it.
_AUXILIARIES = {
    "is",
    "are",
    "was",
    "were",
    "did",
    "does",
    "do",
    "has",
    "have",
    "had",
    "can",
    "could",
    "will",
    "isn",
    "aren",
    "wasn",
    "weren",
    "didn",
    "doesn",
    "don",
    "hasn",
    "haven",
    "hadn",
    "couldn",
}
_NEGATIONS = {
    "not",
    "other",
    "except",
    "besides",
    "excluding",
    "without",
    "no",
    "never",
    "didn",
    "doesn",
    "isn",
    "wasn",
    "weren",
    "aren",
    "don",
    "hasn",
    "haven",
}  # normalized text splits "didn't" into didn t


def _asks_difference(words: list[str]) -> bool:
    """ "difference"/"margin", or "how many more X … than Y" ("more" not directly followed by "than", which
    is a comparison: "more than 40")."""
    if {"difference", "margin"} & set(words):
        return True
    return any(w in ("more", "less", "fewer") and i + 1 < len(words) and words[i + 1] != "than"
               and "than" in words[i + 2 :] for i, w in enumerate(words))  # fmt: skip


# Phrases that make a comparison inclusive ("at least 5", "5 or more", "no fewer than 5"); "more than 5",
# "over 5", "before 2000" are strict, so ≥ and ≤ are offered only where one of these is said. Generous on
# purpose, like the order cues (a cue only allows the operations): "least", "minimum" and "maximum" alone
# also offer them ("a minimum of 5"), though they are more often superlatives.
_INCLUSIVE = {
    ("at", "least"), ("at", "most"), ("no", "less"), ("no", "more"), ("no", "fewer"), ("not", "less"),
    ("not", "more"), ("not", "fewer"), ("up", "to"), ("or", "more"), ("or", "less"), ("or", "fewer"),
    ("or", "greater"), ("or", "higher"), ("or", "lower"), ("or", "over"), ("or", "above"), ("or", "under"),
    ("or", "below"), ("or", "later"), ("or", "earlier"), ("or", "after"), ("or", "before"), ("and", "above"),
    ("and", "over"), ("and", "up"), ("and", "below"), ("and", "under"), ("and", "later"), ("and", "earlier"),
}  # fmt: skip
_INCLUSIVE_WORDS = {"minimum", "maximum", "least", "inclusive", "including"}


def _asks_inclusive(words: list[str]) -> bool:
    return bool(_INCLUSIVE_WORDS & set(words)) or any(
        pair in _INCLUSIVE for pair in zip(words, words[1:], strict=False)
    )


CUES: dict[str, Callable[[list[str]], bool]] = {
    "": lambda words: True,
    "yesno": lambda words: bool(words) and words[0] in _AUXILIARIES,
    "negation": lambda words: bool(_NEGATIONS & set(words)),
    "sum": lambda words: bool(
        {"total", "sum", "combined", "altogether", "together", "overall", "all"} & set(words)
    ),
    "average": lambda words: bool({"average", "mean", "avg"} & set(words)),
    "difference": lambda words: _asks_difference(words),
    "inclusive": _asks_inclusive,
    # "how many …?" / "how much …?" asks for a number (a count, a sum, or a number cell)
    "quantity": lambda words: any(
        pair in (("how", "many"), ("how", "much")) for pair in zip(words, words[1:], strict=False)
    ),
}


@dataclass(frozen=True)
class Op:
    """One operation, declared once; every other module asks these fields, never the name."""

    name: str
    yields: str  # YIELDS
    columns: str  # COLUMN_RULES: which columns it may use ("" = none)
    label: str  # readable template: {col}, {num}, {values}
    literal: str = ""  # LITERALS: what the step carries
    static: bool = False  # ignores the incoming row selector
    idempotent: bool = False  # applied twice at once on the same column = once (static ops always are)
    totals: bool = (
        False  # a static op that may select totals rows (word matches); others range over data rows
    )
    aggregator: str = ""  # answer ops: the TAPAS-style aggregator name (COUNT, NONE, SUM …)
    cue: str = ""  # CUES: offered only for questions that say so ("" = always)
    # CUES: where the question says so, only number and date columns ("how many …?" never prints a name);
    # a table with no such column keeps the op's own rule
    numeric_when: str = ""
    soft: Callable | None = None  # rows: (s, beta, inp, pi) -> (B, R); scalar/yesno: (s, beta, inp) -> (B,)
    discrete: Callable | None = (
        None  # rows: (rows, column, step) -> rows; scalar: (rows, column) -> floats (NaN: none)
    )

    @property
    def column(self) -> bool:
        return self.columns != ""

    @property
    def number(self) -> bool:
        return self.literal == "number"

    @property
    def kinds(self) -> tuple[str, ...]:
        """Column kinds it can use."""
        return {"": (), "numeric": NUMERIC, "worded": ("text",)}.get(self.columns, ALL_KINDS)

    @property
    def answers(self) -> bool:
        return self.yields != "rows"

    def cued(self, words: list[str]) -> bool:
        """Does a question of these (normalized) words ask for this operation?"""
        return CUES[self.cue](words)


ALL_KINDS = ("number", "date", "text")
NUMERIC = ("number", "date")


def _excl_cumprod(x: torch.Tensor) -> torch.Tensor:
    """Π_{k<i} x_k along the last dim (1 at i = 0).

    cumprod's backward falls back to a quadratic algorithm when a factor is exactly 0 (a selector entry
    of exactly 1), so under autograd the factors are clamped to ≥ 1e-6; without autograd (inference,
    parity tests) the product is exact.
    """
    if x.requires_grad:
        x = x.clamp(min=1e-6)
    ones = torch.ones_like(x[..., :1])
    return torch.cumprod(torch.cat([ones, x[..., :-1]], dim=-1), dim=-1)


def _first(s: torch.Tensor) -> torch.Tensor:
    return s * _excl_cumprod((1.0 - s).clamp(min=0.0))  # (B, R)


def _mix_columns(per_column: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bcr,bc->br", per_column, beta)  # (B, C, R) × (B, C) → (B, R)


def _tie_starts(inp: SoftInputs, order: torch.Tensor) -> torch.Tensor:
    """(B, C, R) long: for each position of ``order``, the position where its run of equal values starts."""
    value = torch.gather(inp.values, 2, order)
    valid = torch.gather(inp.valid, 2, order)
    new = torch.ones_like(value, dtype=torch.bool)
    new[..., 1:] = (value[..., 1:] != value[..., :-1]) | (valid[..., 1:] != valid[..., :-1])
    at = torch.arange(order.shape[-1], device=order.device).expand_as(order)
    return torch.where(new, at, torch.zeros_like(at)).cummax(-1).values


def _superlative(s, beta, inp: SoftInputs, descending: bool) -> torch.Tensor:
    """Soft argmax (argmin): row r keeps s_r · Π (1 − s_j) over the rows j with a strictly higher (lower)
    value — every row tied at the best value is kept, as in the discrete form, so no row position breaks
    a tie."""
    order = inp.order_desc if descending else inp.order_asc
    w = s.unsqueeze(1) * inp.valid  # (B, C, R): selected, valid cells
    w_sorted = torch.gather(w, 2, order)  # (B, C, R) in value order
    starts = _batch_constant(inp, ("tie_starts", descending), lambda: _tie_starts(inp, order))
    before = _excl_cumprod((1.0 - w_sorted).clamp(min=0.0))  # Π over every earlier position
    picked = w_sorted * torch.gather(before, 2, starts)  # … over the earlier positions of other values
    out = torch.zeros_like(w).scatter(2, order, picked)  # back to row positions
    return _mix_columns(out, beta)


# Discrete forms take rows of shape (..., R): one selection (the executor) or a stack of them (program
# search in nprog.search), with one implementation.


def _d_prev(rows, column, step):
    out = np.zeros_like(rows)
    out[..., :-1] = rows[..., 1:]
    return out


def _d_next(rows, column, step):
    out = np.zeros_like(rows)
    out[..., 1:] = rows[..., :-1]
    return out


def _d_first(rows, column, step):
    return rows & (np.cumsum(rows, axis=-1) == 1)


def _d_last(rows, column, step):
    return _d_first(rows[..., ::-1], column, step)[..., ::-1]


def _d_superlative(largest: bool):
    def discrete(rows, column, step):
        # one pass over the rows, no sort: every row holding the largest (smallest) valid value
        flat = rows.reshape(-1, rows.shape[-1])
        candidates = flat & column.valid
        scores = np.where(candidates, column.value, -np.inf if largest else np.inf)
        best = scores.max(axis=1) if largest else scores.min(axis=1)
        return (candidates & (column.value == best[:, None])).reshape(rows.shape)

    return discrete


def _static(fn):
    """A static operation ignores the incoming rows; broadcast its one selection to their shape."""

    def discrete(rows, column, step):
        return np.broadcast_to(fn(column, step), rows.shape).copy()

    return discrete


def _batch_constant(inp: SoftInputs, key, make):
    """A tensor that depends on the batch only, made once per SoftInputs object (a training batch is
    collated once per run, so once per run) and kept beside its fields (``Batch.to`` skips it)."""
    cache = inp.__dict__.setdefault("_constants", {})
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _compare(fn):
    def soft(s, beta, inp: SoftInputs, pi):
        # (B, C, R, N): cell value vs each question number; π (B, N) mixes the numbers
        hit = _batch_constant(inp, fn, lambda: (
            fn(inp.values.unsqueeze(-1), inp.numbers[:, None, None, :]) & inp.valid.bool().unsqueeze(-1)
        ).to(inp.valid.dtype))  # fmt: skip
        per_column = torch.einsum("bcrn,bn->bcr", hit.to(beta.dtype), pi * inp.number_mask)
        return _mix_columns(per_column, beta)

    def selection(column, step):
        with np.errstate(invalid="ignore"):
            return fn(column.value, step.number) & column.valid

    return soft, _static(selection)


_gt = _compare(lambda v, n: v > n)
_lt = _compare(lambda v, n: v < n)
_ge = _compare(lambda v, n: v >= n)
_le = _compare(lambda v, n: v <= n)


def _mode(column, step):
    from nprog.features import most_frequent_entry  # the one definition of the mode

    return most_frequent_entry(column)


def _select(column, step):
    if column.kind == "text":
        wanted = pa.array([v for v in step.values if isinstance(v, str)], type=pa.string())
        return pc.is_in(column.strings, value_set=wanted).to_numpy(zero_copy_only=False)
    return np.isin(column.value, np.asarray(step.values, dtype=np.float64)) & column.valid


def _contains(column, step):
    """Text cells whose normalized text holds one of the step's words as a whole word ("Scrapped 1950"
    holds "scrapped"): the partial-match feature of nprog.features, read from the program alone."""
    words = [w for w in step.values if isinstance(w, str) and w]
    if column.kind != "text" or not words:
        return np.zeros(len(column.value), dtype=bool)
    pattern = "(?:^| )(?:" + "|".join(re.escape(w) for w in words) + ")(?: |$)"
    return pc.match_substring_regex(column.norm, pattern).to_numpy(zero_copy_only=False)


def _and(fn, negate: bool = False):
    """A filter that ANDs with the incoming rows (negate: keeps the incoming rows fn does not hold)."""

    def discrete(rows, column, step):
        hit = fn(column, step)
        return rows & (~hit if negate else hit)

    return discrete


def _d_reset(rows, column, step):
    return np.ones_like(rows)


# ---- answer operations: what the selected rows come to


# Discrete answer forms take rows of shape (..., R) too and give one float per selection (NaN: no answer).


def _valid_selected(rows, column) -> np.ndarray:
    return rows & column.valid


def _d_sum(rows, column):
    return np.where(_valid_selected(rows, column), column.value, 0.0).sum(-1)  # nothing selected: 0


def _d_average(rows, column):
    hit = _valid_selected(rows, column)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hit, column.value, 0.0).sum(-1) / hit.sum(-1)  # nothing selected: NaN


def _d_difference(rows, column):
    hit = _valid_selected(rows, column)
    high = np.where(hit, column.value, -np.inf).max(-1)
    low = np.where(hit, column.value, np.inf).min(-1)
    return np.where(hit.any(-1), high - np.where(hit.any(-1), low, 0.0), np.nan)  # nothing selected: NaN


def _soft_value_sums(s, inp: SoftInputs) -> tuple[torch.Tensor, torch.Tensor]:
    """Per column: Σ_r s_r v_{c,r} over valid cells, and the selected valid mass Σ_r s_r (B, C)."""
    w = s.unsqueeze(1) * inp.valid  # (B, C, R)
    return (w * inp.values).sum(-1), w.sum(-1)


def _soft_sum(s, beta, inp: SoftInputs):
    return (_soft_value_sums(s, inp)[0] * beta).sum(-1)  # (B,)


def _soft_average(s, beta, inp: SoftInputs):
    total, mass = _soft_value_sums(s, inp)
    return (total / mass.clamp(min=1e-9) * beta).sum(-1)  # (B,): 0 where nothing valid is selected


def _soft_difference(s, beta, inp: SoftInputs):
    """The value of the soft argmax minus that of the soft argmin, per column, mixed by β (B,)."""

    def picked_value(order):
        w = torch.gather(s.unsqueeze(1) * inp.valid, 2, order)
        mass = torch.zeros_like(w).scatter(2, order, _first(w))  # (B, C, R) argmax (argmin) mass per column
        return (mass * inp.values).sum(-1)  # (B, C)

    return ((picked_value(inp.order_desc) - picked_value(inp.order_asc)) * beta).sum(-1)


def _soft_any(s, beta, inp: SoftInputs):
    """P(some row is selected) = 1 − Π_r (1 − s_r) (B,): the probability of answering "yes"."""
    return 1.0 - torch.prod((1.0 - s).clamp(min=0.0), dim=-1)


# ---- totals rows


# the last four: the closing rows of sports statistics tables (a player's seasons, a team's players)
TOTAL_LABELS = ("total", "totals", "grand total", "overall", "all", "sum total",
                "team total", "team totals", "career total", "career totals")  # fmt: skip
TOTAL_LABEL_COLUMNS = 2  # the label sits in the first column, or the second after a rank/number column


def totals_rows(table) -> np.ndarray:
    """(R,) bool: totals/summary rows ("Total", "Totals", "All", "Overall" …): a row whose first or second
    column's normalized text is such a label. They are kept out of the initial selection (so of
    superlatives, comparisons, counts and sums) but a word match ("total") can still select them.
    A table whose rows would mostly be such rows has none (those are data, not a summary)."""
    return (
        table.totals
    )  # every executed program asks (beam candidates, confidence steps): made once per table


def find_totals_rows(table) -> np.ndarray:
    """What :func:`totals_rows` returns, computed (``Table.totals`` calls it once per table)."""
    R = table.n_rows
    out = np.zeros(R, dtype=bool)
    labels = pa.array(TOTAL_LABELS, type=pa.string())
    for column in table.columns[:TOTAL_LABEL_COLUMNS]:
        if isinstance(
            column, _TypedColumn
        ):  # numbers and dates from dtypes: numerals, ISO dates, never a label
            continue
        if "norm" not in column.__dict__ and column.levels is not None:
            # a long column's distinct texts: look at those, not at a million cells' norms made for this
            distinct, codes = column.levels
            hit = pc.is_in(distinct, value_set=labels).to_numpy(zero_copy_only=False)
            if hit.any():
                out |= hit[codes]
        else:
            out |= pc.is_in(column.norm, value_set=labels).to_numpy(zero_copy_only=False)
    out = out if out.sum() * 2 < R else np.zeros(R, dtype=bool)
    out.flags.writeable = False  # shared by every caller
    return out


def data_rows(table) -> np.ndarray:
    """(R,) bool: the initial row selection, every row but the totals rows."""
    return ~totals_rows(table)


# ---- the registry. Indices 0…14 are the 2017 operations in the original order (checkpoints name their
# op set in config.json, so a model trained on the first 15 keeps loading); new operations go at the end.

_ALL = "any"
OPS: list[Op] = [
    Op("count", "scalar", "", "count the rows", aggregator="COUNT",
       soft=lambda s, b, i: s.sum(-1), discrete=lambda rows, column: rows.sum(-1).astype(np.float64)),
    Op("previous", "rows", "", "the row above each",
       soft=lambda s, b, i, p: torch.cat([s[:, 1:], torch.zeros_like(s[:, :1])], 1), discrete=_d_prev),
    Op("next", "rows", "", "the row below each",
       soft=lambda s, b, i, p: torch.cat([torch.zeros_like(s[:, :1]), s[:, :-1]], 1), discrete=_d_next),
    Op("first", "rows", "", "the first of them", idempotent=True,
       soft=lambda s, b, i, p: _first(s), discrete=_d_first),
    Op("last", "rows", "", "the last of them", idempotent=True,
       soft=lambda s, b, i, p: _first(s.flip(-1)).flip(-1), discrete=_d_last),
    Op("mfe", "rows", "mode", "rows with the most frequent {col}", static=True,
       soft=lambda s, b, i, p: _mix_columns(i.mfe, b), discrete=_static(_mode)),
    Op("greater", "rows", "numeric", "rows where {col} > {num}", "number", static=True, soft=_gt[0], discrete=_gt[1]),
    Op("less", "rows", "numeric", "rows where {col} < {num}", "number", static=True, soft=_lt[0], discrete=_lt[1]),
    Op("geq", "rows", "numeric", "rows where {col} ≥ {num}", "number", static=True, cue="inclusive",
       soft=_ge[0], discrete=_ge[1]),
    Op("leq", "rows", "numeric", "rows where {col} ≤ {num}", "number", static=True, cue="inclusive",
       soft=_le[0], discrete=_le[1]),
    Op("argmax", "rows", "numeric", "of them, the row with the highest {col}", idempotent=True,
       soft=lambda s, b, i, p: _superlative(s, b, i, descending=True), discrete=_d_superlative(largest=True)),
    Op("argmin", "rows", "numeric", "of them, the row with the lowest {col}", idempotent=True,
       soft=lambda s, b, i, p: _superlative(s, b, i, descending=False), discrete=_d_superlative(largest=False)),
    Op("select", "rows", "named", "rows where {col} is {values}", "cells", static=True, totals=True,
       soft=lambda s, b, i, p: _mix_columns(i.exact, b), discrete=_static(_select)),
    Op("reset", "rows", "", "all rows", static=True,
       soft=lambda s, b, i, p: i.data_rows, discrete=_d_reset),
    Op("print", "lookup", _ALL, "print {col}", aggregator="NONE", numeric_when="quantity"),
    # ---- added after the 2017 set
    Op("sum", "scalar", "numeric", "the sum of their {col}", aggregator="SUM", cue="sum", soft=_soft_sum, discrete=_d_sum),
    Op("average", "scalar", "numeric", "the average of their {col}", aggregator="AVERAGE",
       cue="average", soft=_soft_average, discrete=_d_average),
    Op("difference", "scalar", "numeric", "the difference between their highest and lowest {col}",
       aggregator="DIFFERENCE", cue="difference", soft=_soft_difference, discrete=_d_difference),
    Op("exists", "yesno", "", "yes if any row is left, else no", aggregator="YES/NO", cue="yesno",
       soft=_soft_any),
    Op("contains", "rows", "worded", "rows where {col} contains {values}", "words", static=True, totals=True,
       soft=lambda s, b, i, p: _mix_columns(i.partial, b), discrete=_static(_contains)),
    Op("and_select", "rows", "named", "of them, those where {col} is {values}", "cells", idempotent=True,
       soft=lambda s, b, i, p: s * _mix_columns(i.exact, b), discrete=_and(_select)),
    Op("and_contains", "rows", "worded", "of them, those where {col} contains {values}", "words",
       idempotent=True, soft=lambda s, b, i, p: s * _mix_columns(i.partial, b), discrete=_and(_contains)),
    Op("exclude", "rows", "named", "of them, those where {col} is not {values}", "cells", idempotent=True,
       cue="negation", soft=lambda s, b, i, p: s * (1.0 - _mix_columns(i.exact, b)), discrete=_and(_select, negate=True)),
]  # fmt: skip

OP_INDEX = {op.name: i for i, op in enumerate(OPS)}
ROW_OPS = [i for i, op in enumerate(OPS) if not op.answers]  # registry indices of the row operations
ANSWER_OPS = [i for i, op in enumerate(OPS) if op.answers]  # … of the answer operations (count first)
LEGACY_OPS = [
    op.name for op in OPS[:15]
]  # the 2017 set: what checkpoints without the new ops were trained on


def op_set(names: list[str]) -> tuple[Op, ...]:
    """The declarations of a model's operations, in its order (KeyError names an unknown one)."""
    return tuple(OPS[OP_INDEX[n]] for n in names)


def by_name(name: str) -> Op:
    return OPS[OP_INDEX[name]]


def soft_row_ops(
    s, inp: SoftInputs, pi_by_op: torch.Tensor, beta_by_op: torch.Tensor, ops=OPS
) -> torch.Tensor:
    """Every row operation's output, stacked: (B, len(ops), R); answer ops give zeros.

    s (B, R) the incoming selector; pi_by_op (B, O, N) the question-number pointer of each operation;
    beta_by_op (B, O, C) each operation's own column distribution. A static operation ranges over the
    data rows (no totals rows) unless it is a word match.
    """
    outs = []
    for k, op in enumerate(ops):
        if op.answers:
            outs.append(torch.zeros_like(s))
        else:
            rows = inp.data_rows if op.static and not op.totals else inp.row_mask
            outs.append(op.soft(s, beta_by_op[:, k], inp, pi_by_op[:, k]) * rows)
    return torch.stack(outs, dim=1)  # (B, O, R)


def soft_scalar(s, inp: SoftInputs, alpha: torch.Tensor, beta_by_op: torch.Tensor, ops=OPS) -> torch.Tensor:
    """The soft scalar answer: Σ over the scalar answer ops of α_op · its value on s (B,)."""
    # clamped: a sum of huge values must not overflow to ±inf in float32, where α = 0 would make it NaN
    parts = [alpha[:, k] * op.soft(s, beta_by_op[:, k], inp).clamp(-1e30, 1e30).to(alpha.dtype)
             for k, op in enumerate(ops) if op.yields == "scalar"]  # fmt: skip
    return torch.stack(parts, 0).sum(0)
