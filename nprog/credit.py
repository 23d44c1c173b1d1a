"""Which consistent programs earn MML credit: programs whose every step means something (issue #14).

The program search (:mod:`nprog.search`) finds every program that reproduces a training answer. Many of
them are right by accident: ``the row above each → the row with the highest Gold → print Nation`` answers
"which nation won the most gold medals?" on a table whose winner is not the last row, and the model then
learns to drop the last row. The rules here take such programs out of the marginal likelihood:

* **minimal** — no *dynamic* step without a literal (one that reads the incoming rows and names nothing
  of the question: previous, next, first, last, argmax, argmin) can be dropped without changing the
  answer: it must change its input, the step after it must give another result without it, and if it is
  the last row step the answer must differ without it. Steps whose literal comes from the question
  (select, contains, comparisons, their AND and negated forms) and mfe are kept even when droppable on
  this table: they say what the question says.
* **no_constant** — no count after an operation that leaves one row (first, last, argmax, argmin — the
  superlatives keep every tied row, but ties are rare): that count is 1 on almost any table, a gold "1"
  reached by chance.
* **no_single_aggregate** (not in the default set: measured below) — nor a sum, average or difference
  after such an operation: the sum or average of one row is that row's value, which print says, and the
  difference is 0 — "what is the average runtime?" answered by the average over the longest film alone
  matches the gold only where the two happen to agree. On WTQ dev (seed 7, cosine, 4,000 steps) it
  gave 0.437 against 0.443 without it, and the films question stayed wrong (argmax, then print), so the
  shipped model is trained without it.

(A tie of argmax/argmin or mfe no longer needs a rule: those operations keep every tied row, so their
answer never depends on which tied row comes first.)

(The fourth rule, order operations only where the question names an order, is an operation mask:
:mod:`nprog.cues`.)

Minimality is a property of a whole path, not of one transition, so the search graph is refined: a state
of the refined graph is a (kept) transition of the original graph — "this selection, reached by this
step from that selection" — which is exactly what the checks need to be local. The refined graph has the
original graph's format, so collation and the forward algorithm of :func:`nprog.search.mml_loss` are
unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

START = -1
SINGLE_ROW_OPS = ("first", "last", "argmax", "argmin")  # leave one row (a superlative: unless tied)
ONE_ROW_AGGREGATES = ("sum", "average", "difference")  # over one row: its value, or 0


@dataclass(frozen=True)
class Rules:
    minimal: bool = False
    no_constant: bool = False
    no_single_aggregate: bool = False

    @property
    def active(self) -> bool:
        return self.minimal or self.no_constant or self.no_single_aggregate

    @classmethod
    def parse(cls, text: str) -> Rules:
        """From a comma-separated list such as "minimal,no_constant" ("" or "none": no rule)."""
        names = [n.strip().replace("-", "_") for n in text.split(",") if n.strip() and n.strip() != "none"]
        unknown = sorted(set(names) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(
                f"unknown credit rule(s) {unknown}; choose among {sorted(cls.__dataclass_fields__)}"
            )
        return cls(**{n: True for n in names})

    def __str__(self) -> str:
        return ",".join(n for n in self.__dataclass_fields__ if getattr(self, n)) or "none"


def _pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with left[i] == right[j] (non-negative integer keys), without a Python loop."""
    if len(left) == 0 or len(right) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    size = int(max(left.max(), right.max())) + 1
    order = np.argsort(right, kind="stable")
    counts = np.bincount(right, minlength=size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    m = counts[left]
    i = np.repeat(np.arange(len(left)), m)
    offsets = np.arange(m.sum()) - np.repeat(np.cumsum(m) - m, m)
    j = order[np.repeat(starts[left], m) + offsets]
    return i, j


def refine(
    layers: list[np.ndarray],
    edges: list[list[tuple[int, int, int, int, int]]],
    finals: np.ndarray,
    consistent: np.ndarray,
    op_names: list[str],
    static: np.ndarray,
    anchored: np.ndarray,
    apply: Callable[[int, int, int, np.ndarray], np.ndarray],
    rules: Rules,
):
    """The refined graph as (edges per layer, node counts per layer, finals) for ``search._prune``.

    layers: selections (S_t, R) for t = 0 … T−1 (layer 0: all rows); edges[t]: transitions
    (prev or START, op, column, number, next) into layer t + 1; finals (F, 4): the answering steps
    (layer, state, op, column); consistent (G, 4): consistent final steps at *every* layer (the
    drop-the-last-step check); static / anchored (O,): the op ignores the incoming rows / carries a
    literal from the question (a cell, a word, a number); apply(op, column, number, rows) runs a dynamic
    step on a stack of rows.
    """
    O = len(op_names)
    single = np.isin(np.array(op_names), SINGLE_ROW_OPS)
    refused = np.zeros(len(op_names), dtype=bool)  # answer ops refused after a one-row step
    if rules.no_constant:
        refused |= np.array(op_names) == "count"
    if rules.no_single_aggregate:
        refused |= np.isin(np.array(op_names), ONE_ROW_AGGREGATES)
    C1 = max(
        int(consistent[:, 3].max()) + 2 if len(consistent) else 1,
        int(finals[:, 3].max()) + 2 if len(finals) else 1,
    )
    S1 = max([len(layer) for layer in layers]) + 1

    def final_key(layer, state, op, col):
        return ((layer * S1 + state) * O + op) * C1 + col + 1

    consistent_keys = final_key(*consistent.T) if len(consistent) else np.zeros(0, np.int64)

    out_edges, n_nodes = [], []
    node_in, node_op, node_next = [], [], []  # per layer t+1: input state (layer t; −1 static), op, state
    reachable = np.zeros(0, dtype=bool)  # nodes of the layer before that some transition reaches
    for t, raw in enumerate(edges):
        E = np.array(raw, dtype=np.int64).reshape(-1, 5)
        prev, k, c, n, nxt = E.T
        dynamic = ~static[k]
        x_in = np.where(dynamic, np.maximum(prev, 0), -1)  # layer 1's dynamic steps read all rows (state 0)
        droppable = (
            dynamic & ~anchored[k]
        )  # what minimality may drop: dynamic steps the question does not name
        X, Y = layers[t][np.maximum(x_in, 0)], layers[t + 1][nxt]
        keep = np.ones(len(E), dtype=bool)
        if rules.minimal:
            keep &= ~(droppable & (X == Y).all(1))  # a step that changes nothing can be dropped
        E, x_in = E[keep], np.where(droppable, x_in, -1)[keep]  # node_in: −1 where nothing may be dropped
        prev, k, c, n, nxt = E.T
        rows = [np.stack([np.full(len(E), START), k, c, n, np.arange(len(E))], 1)[static[k] | (t == 0)]]
        if t:
            dyn = np.flatnonzero(~static[k])
            i, j = _pairs(prev[dyn], node_next[t - 1])  # (dynamic step, node it continues)
            step, pred = dyn[i], j
            ok = reachable[pred]
            if rules.minimal:
                pred_in = node_in[t - 1][pred]
                check = np.flatnonzero(ok & (pred_in >= 0))  # the node was reached by a droppable step
                if len(check):
                    choice = np.stack([k[step[check]], c[step[check]], n[step[check]]], 1)
                    uniq, inverse = np.unique(choice, axis=0, return_inverse=True)
                    for g, (kk, cc, nn) in enumerate(uniq):
                        at = check[inverse.reshape(-1) == g]
                        without = apply(int(kk), int(cc), int(nn), layers[t - 1][pred_in[at]])
                        same = (without == layers[t + 1][nxt[step[at]]]).all(1)
                        ok[at[same]] = False  # dropping the node's step gives the same selection
            step, pred = step[ok], pred[ok]
            rows.append(np.stack([pred, k[step], c[step], n[step], step], 1))
        rows = np.concatenate(rows)
        reachable = np.zeros(len(E), dtype=bool)
        reachable[rows[:, 4]] = True
        out_edges.append([tuple(r) for r in rows.tolist()])
        n_nodes.append(len(E))
        node_in.append(x_in)
        node_op.append(k)
        node_next.append(nxt)

    out_finals = [finals[finals[:, 0] == 0]]  # answering before any row step: nothing to check
    for layer in range(1, len(edges) + 1):
        F = finals[finals[:, 0] == layer]
        if not len(F):
            continue
        i, j = _pairs(F[:, 1], node_next[layer - 1])
        fop, fcol = F[i, 2], F[i, 3]
        ok = np.ones(len(i), dtype=bool)
        ok &= ~(refused[fop] & single[node_op[layer - 1][j]])
        if rules.minimal:
            x = node_in[layer - 1][j]
            ok &= ~((x >= 0) & np.isin(final_key(layer - 1, np.maximum(x, 0), fop, fcol), consistent_keys))
        ok &= _reachable_nodes(out_edges[layer - 1], n_nodes[layer - 1])[j]  # a node no path reaches
        out_finals.append(np.stack([np.full(ok.sum(), layer), j[ok], fop[ok], fcol[ok]], 1))
    return out_edges, n_nodes, np.concatenate(out_finals).astype(np.int64).reshape(-1, 4)


def _reachable_nodes(rows: list[tuple], n: int) -> np.ndarray:
    hit = np.zeros(n, dtype=bool)
    if rows:
        hit[np.array(rows, dtype=np.int64)[:, 4]] = True
    return hit
