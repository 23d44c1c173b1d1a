"""Hard programs from a Trace: a true argmax at every step (docs/neural-programmer.md, deviation 5), masks
respected; and, for an argmax whose answer tells nothing, the model's next most probable programs in
order (:func:`alternatives`, tried by nprog.qa).

The program returned is simplified (dead and repeated steps dropped; same result); the per-step
choices keep the model's full T steps for the pictures. :func:`make_step` is the one builder of a
:class:`~nprog.program.Step` from a choice (op, column, number), shared with the program search.
"""

from __future__ import annotations

import itertools

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
ALTERNATIVES = 16  # programs tried after the argmax when its answer tells nothing (nprog.qa)


def make_step(op: Op, e: Encoded, c: int = -1, n: int = -1) -> Step:
    """The step for op on column c (−1: none) with question number n (−1: none), its literal filled in as
    the op's declaration says."""
    step = Step(op.name, e.table.names[c] if op.column and c >= 0 else None)
    if op.number and n >= 0:
        step.number = float(e.numbers[n])
    if op.literal in _LITERALS and c >= 0:
        step.values = _LITERALS[op.literal](e, c)
    return step


class _Arrays:
    """A trace's distributions as numpy arrays, read once for a batch."""

    def __init__(self, trace: Trace):
        self.ops = trace.ops
        self.stops = trace.stop_steps().cpu().numpy()  # (B,) the controller's own stop rule
        self.op_logp = trace.executed_op_logp().float().cpu().numpy()  # (B, T, O): each step's choice
        self.halting = None if trace.halting is None else trace.halting.float().cpu().numpy()  # ACT only
        self.col_logp = trace.col_logp.float().cpu().numpy()  # (B, T, O, C)
        self.num_logp = trace.num_logp.float().cpu().numpy()  # (B, O, N)


def _steps(a: _Arrays, b: int, e: Encoded, picks: list[tuple[int, int, int]]):
    """Example b's steps for one (op, column, number) pick per step (−1: none), and per-step choices
    (indices and the log-probability of the step's choices)."""
    steps, choices = [], []
    stop = int(a.stops[b])
    for t, (k, c, n) in enumerate(picks):
        op = a.ops[k]
        logp = float(a.op_logp[b, t, k])
        if c >= 0:
            logp += float(a.col_logp[b, t, k, c])
        if n >= 0:
            logp += float(a.num_logp[b, k, n])
        if a.halting is not None and t == stop:  # ACT: stopping here is part of the answer step
            logp += float(np.log(max(float(a.halting[b, stop]), 1e-30)))
        step = make_step(op, e, c, n)
        if c >= 0:
            step.on_date = e.table.columns[c].kind == "date"
        choices.append(
            {"op": k, "column": c if c >= 0 else None, "number": n if n >= 0 else None, "logp": logp}
        )
        steps.append(step)
    return steps, choices


def scored(steps: list[Step], choices: list[dict], table) -> tuple[Program, float, list[dict]]:
    """The program, the probability of its live steps (:func:`nprog.confidence.live_steps`: a step that
    changes nothing on this table adds no doubt) and the choices marked live or not. Runs the program
    once per step, so it is done only for a program that is returned."""
    live = live_steps(steps, table)
    for choice, alive in zip(choices, live, strict=True):
        choice["live"] = bool(alive)
    confidence = float(np.exp(sum(c["logp"] for c in choices if c["live"])))
    return Program(steps).simplified(), confidence, choices


def _step_options(
    a: _Arrays, b: int, t: int, e: Encoded, width: int
) -> list[tuple[float, tuple[int, int, int]]]:
    """The `width` most probable (op, column, number) picks of step t, best first: for each operation its
    two best columns and two best numbers (a pick's probability is the product of the three)."""
    C, N = e.table.n_columns, len(e.numbers)
    options = []
    for k in np.argsort(-a.op_logp[b, t])[:width]:  # an op outside the top `width` has no pick among them
        op = a.ops[k]
        base = float(a.op_logp[b, t, k])
        cols = (
            [(float(a.col_logp[b, t, k, c]), int(c)) for c in np.argsort(-a.col_logp[b, t, k, :C])[:2]]
            if op.column
            else [(0.0, -1)]
        )
        nums = (
            [(float(a.num_logp[b, k, n]), int(n)) for n in np.argsort(-a.num_logp[b, k, :N])[:2]]
            if op.number and N
            else [(0.0, -1)]
        )
        options += [(base + lc + ln, (int(k), c, n)) for lc, c in cols for ln, n in nums]
    options.sort(key=lambda o: -o[0])
    return options[:width]


def alternatives(trace: Trace, b: int, e: Encoded, taken: Program, limit: int = ALTERNATIVES, width: int = 3):
    """Example b's most probable programs other than `taken` (its argmax), best first, as (program, steps,
    choices), unscored (:func:`scored` gives the confidence); programs that simplify to one already given
    are skipped.

    The per-step choices are independent given the trace (each step reads the soft history), so a
    program's probability is the product of its steps' and the best programs are found among the
    products of each step's `width` best picks."""
    a = _Arrays(trace)
    stop = int(a.stops[b])
    per_step = [_step_options(a, b, t, e, width) for t in range(stop + 1)]
    ranked = sorted(itertools.product(*per_step), key=lambda combo: -sum(o[0] for o in combo))
    seen = {taken.to_json()}
    for combo in ranked:
        steps, choices = _steps(a, b, e, [o[1] for o in combo])
        program = Program(steps).simplified()
        if program.to_json() in seen:
            continue
        seen.add(program.to_json())
        yield program, steps, choices
        if len(seen) > limit:
            return


def decode(trace: Trace, items: list[Encoded]) -> list[tuple[Program, float, list[dict]]]:
    """For each example: the program, the probability of its live steps under the model
    (:func:`nprog.confidence.live_steps`), and per-step choices (indices, log-probability, live)."""
    a = _Arrays(trace)
    out = []
    for b, e in enumerate(items):  # per example: a handful of argmaxes over O, C, N (tiny)
        C, N = e.table.n_columns, len(e.numbers)
        picks = []
        for t in range(int(a.stops[b]) + 1):
            k = int(np.argmax(a.op_logp[b, t]))
            op = a.ops[k]
            c = int(np.argmax(a.col_logp[b, t, k, :C])) if op.column else -1
            n = int(np.argmax(a.num_logp[b, k, :N])) if op.number and N else -1
            picks.append((k, c, n))
        out.append(scored(*_steps(a, b, e, picks), e.table))
    return out
