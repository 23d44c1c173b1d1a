"""Hard programs from a Trace: a true argmax at every step (docs/neural-programmer.md, deviation 5), masks
respected.

The program returned is simplified (dead and repeated steps dropped; same result); the per-step
choices keep the model's full T steps for the pictures. :func:`make_step` is the one builder of a
:class:`~nprog.program.Step` from a choice (op, column, number), shared with the program search.
"""

from __future__ import annotations

import numpy as np

from nprog.batch import Encoded
from nprog.confidence import live_steps
from nprog.model import Trace
from nprog.ops import Op
from nprog.program import Program, Step
from nprog.questions import STOPWORDS


def select_values(e: Encoded, c: int) -> list:
    """The literal of a select on column c: the matched cell strings (text) or values (number/date)."""
    column = e.table.columns[c]
    if column.kind == "text":
        return list(e.features.matched_text[c])
    hit = e.features.exact[c]
    return sorted({float(v) for v in column.value[hit]})


def contains_words(e: Encoded, c: int) -> list[str]:
    """The literal of a contains on column c: the question's content words that some cell of the column
    holds as a whole word (the words behind the partial-match feature, nprog.features)."""
    column = e.table.columns[c]
    if column.kind != "text" or not e.features.partial[c].any():
        return []
    content = {t for t in e.question.tokens if t not in STOPWORDS and len(t) > 1}
    held = {w for norm in column.norm.filter(e.features.partial[c]).to_pylist() for w in norm.split(" ")}
    return sorted(content & held)


_LITERALS = {"cells": select_values, "words": contains_words}


def make_step(op: Op, e: Encoded, c: int = -1, n: int = -1) -> Step:
    """The step for op on column c (−1: none) with question number n (−1: none), its literal filled in as
    the op's declaration says."""
    step = Step(op.name, e.table.names[c] if op.column and c >= 0 else None)
    if op.number and n >= 0:
        step.number = float(e.numbers[n])
    if op.literal in _LITERALS and c >= 0:
        step.values = _LITERALS[op.literal](e, c)
    return step


def decode(trace: Trace, items: list[Encoded]) -> list[tuple[Program, float, list[dict]]]:
    """For each example: the program, the probability of its live steps under the model
    (:func:`nprog.confidence.live_steps`), and per-step choices (indices, log-probability, live)."""
    stops = trace.stop_steps().cpu().numpy()  # (B,) the controller's own stop rule
    op_logp = (
        trace.executed_op_logp().float().cpu().numpy()
    )  # (B, T, O): the distribution each step chose from
    halting = None if trace.halting is None else trace.halting.float().cpu().numpy()  # (B, T) ACT only
    col_logp = trace.col_logp.float().cpu().numpy()  # (B, T, O, C)
    num_logp = trace.num_logp.float().cpu().numpy()  # (B, O, N)
    out = []
    for b, e in enumerate(items):  # per example: a handful of argmaxes over O, C, N (tiny)
        C, N = e.table.n_columns, len(e.numbers)
        steps, choices = [], []
        stop = int(stops[b])
        for t in range(stop + 1):
            dist = op_logp[b, t]
            k = int(np.argmax(dist))
            op = trace.ops[k]
            logp = float(dist[k])
            choice = {"op": k, "column": None, "number": None}
            if op.column:
                c = int(np.argmax(col_logp[b, t, k, :C]))
                logp += float(col_logp[b, t, k, c])
                choice["column"] = c
            if op.number and N:
                n = int(np.argmax(num_logp[b, k, :N]))
                logp += float(num_logp[b, k, n])
                choice["number"] = n
            if halting is not None and t == stop:  # ACT: stopping here is part of the answer step
                logp += float(np.log(max(float(halting[b, stop]), 1e-30)))
            step = make_step(op, e, -1 if choice["column"] is None else choice["column"],
                             -1 if choice["number"] is None else choice["number"])  # fmt: skip
            if choice["column"] is not None:
                step.on_date = e.table.columns[choice["column"]].kind == "date"
            choice["logp"] = logp  # log-probability of this step's choices (op, column, number)
            steps.append(step)
            choices.append(choice)
        # confidence from the live steps only: a step that changes nothing on this table adds no doubt
        live = live_steps(steps, e.table)
        for choice, alive in zip(choices, live, strict=True):
            choice["live"] = bool(alive)
        confidence = float(np.exp(sum(c["logp"] for c in choices if c["live"])))
        out.append((Program(steps).simplified(), confidence, choices))
    return out
