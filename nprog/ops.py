"""The operation registry: one place for what each operation means, softly and discretely.

Every operation declares what it reads (the row selector s, a column, a question number), what it yields
(rows, a scalar or a lookup), whether it ignores the incoming selector ("static"), which column kinds it
can use, its readable label, its soft (differentiable) form over a whole batch, and its discrete form
over one numpy row mask. The model, the reference executor (:mod:`nprog.program`), the SQL compiler
(:mod:`nprog.sql`) and the UI all read this registry.

Soft forms are vectorized over (B, C, R) = (batch, columns, rows): no Python loop over rows or examples.
With one-hot attention they equal the discrete forms exactly (``tests/test_ops.py``).

Deviations from the 2017 code, all documented in the spec's pitfalls:
* first/last/argmax/argmin use exclusive cumprods (pitfall 1);
* comparisons are computed for every question number and mixed by the pointer π, so the pointer is
  trained (pitfall 6);
* argmax and argmin both break ties towards the top-most row (one rule the SQL can say: ORDER BY value,
  __row);
* program steps 1…T−1 choose among the row operations and step T among the answer operations (count,
  print); the original let any step choose anything and scored non-answer endings as wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch


@dataclass
class SoftInputs:
    """Batch tensors the soft operations read (B batch, C columns, R rows, N question numbers)."""

    row_mask: torch.Tensor  # (B, R) 1 for real rows
    values: torch.Tensor  # (B, C, R) float64 comparison values (0 where invalid)
    valid: torch.Tensor  # (B, C, R) 1 where the value is valid (number/date cell that parsed)
    cell_mask: torch.Tensor  # (B, C, R) 1 for real cells (real row and real column)
    exact: torch.Tensor  # (B, C, R) question↔cell exact match
    mfe: torch.Tensor  # (B, C, R) most-frequent-entry marks
    order_desc: torch.Tensor  # (B, C, R) long: rows by value descending (ties top-down), invalid last
    order_asc: torch.Tensor  # (B, C, R) long
    numbers: torch.Tensor  # (B, N) float64 question numbers
    number_mask: torch.Tensor  # (B, N) 1 for real numbers


@dataclass(frozen=True)
class Op:
    name: str
    yields: str  # "rows" | "scalar" | "lookup"
    column: bool  # reads a column
    number: bool  # reads a question number
    static: bool  # ignores the incoming row selector
    kinds: tuple[str, ...]  # column kinds it can use
    label: str  # readable template: {col}, {num}, {values}
    soft: Callable | None = None  # (s, beta, inp, pi) -> (B, R)
    discrete: Callable | None = None  # (rows, column, step) -> rows (numpy bool (R,))


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


def _superlative(s, beta, inp: SoftInputs, order: torch.Tensor) -> torch.Tensor:
    w = s.unsqueeze(1) * inp.valid  # (B, C, R): selected, valid cells
    w_sorted = torch.gather(w, 2, order)  # (B, C, R) in value order
    picked = _first(w_sorted)  # first selected row in that order gets the mass
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
        # one pass over the rows, no sort: the largest (smallest) valid value, the top-most row on ties
        flat = rows.reshape(-1, rows.shape[-1])
        candidates = flat & column.valid
        scores = np.where(candidates, column.value, -np.inf if largest else np.inf)
        best = scores.max(axis=1) if largest else scores.min(axis=1)
        winners = candidates & (column.value == best[:, None])
        first = np.argmax(winners, axis=1)
        has = winners[np.arange(len(flat)), first]
        out = np.zeros_like(flat)
        out[np.flatnonzero(has), first[has]] = True
        return out.reshape(rows.shape)

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


def _d_reset(rows, column, step):
    return np.ones_like(rows)


OPS: list[Op] = [
    Op("count", "scalar", False, False, False, (), "count the rows"),
    Op("previous", "rows", False, False, False, (), "the row above each",
       lambda s, b, i, p: torch.cat([s[:, 1:], torch.zeros_like(s[:, :1])], 1), _d_prev),
    Op("next", "rows", False, False, False, (), "the row below each",
       lambda s, b, i, p: torch.cat([torch.zeros_like(s[:, :1]), s[:, :-1]], 1), _d_next),
    Op("first", "rows", False, False, False, (), "the first of them",
       lambda s, b, i, p: _first(s), _d_first),
    Op("last", "rows", False, False, False, (), "the last of them",
       lambda s, b, i, p: _first(s.flip(-1)).flip(-1), _d_last),
    Op("mfe", "rows", True, False, True, ALL_KINDS, "rows with the most frequent {col}",
       lambda s, b, i, p: _mix_columns(i.mfe, b), _static(_mode)),
    Op("greater", "rows", True, True, True, NUMERIC, "rows where {col} > {num}", _gt[0], _gt[1]),
    Op("less", "rows", True, True, True, NUMERIC, "rows where {col} < {num}", _lt[0], _lt[1]),
    Op("geq", "rows", True, True, True, NUMERIC, "rows where {col} ≥ {num}", _ge[0], _ge[1]),
    Op("leq", "rows", True, True, True, NUMERIC, "rows where {col} ≤ {num}", _le[0], _le[1]),
    Op("argmax", "rows", True, False, False, NUMERIC, "of them, the row with the highest {col}",
       lambda s, b, i, p: _superlative(s, b, i, i.order_desc), _d_superlative(largest=True)),
    Op("argmin", "rows", True, False, False, NUMERIC, "of them, the row with the lowest {col}",
       lambda s, b, i, p: _superlative(s, b, i, i.order_asc), _d_superlative(largest=False)),
    Op("select", "rows", True, False, True, ALL_KINDS, "rows where {col} is {values}",
       lambda s, b, i, p: _mix_columns(i.exact, b), _static(_select)),
    Op("reset", "rows", False, False, True, (), "all rows",
       lambda s, b, i, p: i.row_mask, _d_reset),
    Op("print", "lookup", True, False, False, ALL_KINDS, "print {col}"),
]  # fmt: skip

OP_INDEX = {op.name: i for i, op in enumerate(OPS)}
ROW_OPS = [i for i, op in enumerate(OPS) if op.yields == "rows"]
ANSWER_OPS = [OP_INDEX["count"], OP_INDEX["print"]]
COMPARISONS = [i for i, op in enumerate(OPS) if op.number]


def soft_row_ops(s, inp: SoftInputs, pi_by_op: torch.Tensor, beta_by_op: torch.Tensor) -> torch.Tensor:
    """Every row operation's output, stacked: (B, len(OPS), R); non-row ops give zeros.

    s (B, R) the incoming selector; pi_by_op (B, O, N) the question-number pointer of each operation;
    beta_by_op (B, O, C) each operation's own column distribution.
    """
    outs = []
    for k, op in enumerate(OPS):
        if op.soft is None:
            outs.append(torch.zeros_like(s))
        else:
            outs.append(op.soft(s, beta_by_op[:, k], inp, pi_by_op[:, k]) * inp.row_mask)
    return torch.stack(outs, dim=1)  # (B, O, R)
