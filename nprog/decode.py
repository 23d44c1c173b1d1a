"""Hard programs from a Trace: a true argmax at every step (spec pitfall 5), masks respected.

The program returned is simplified (dead and repeated steps dropped; same result); the per-step
choices keep the model's full T steps for the pictures.
"""

from __future__ import annotations

import numpy as np

from nprog.batch import Encoded
from nprog.confidence import live_steps
from nprog.model import Trace
from nprog.ops import OPS
from nprog.program import Program, Step


def select_values(e: Encoded, c: int) -> list:
    """The literal of a select on column c: the matched cell strings (text) or values (number/date)."""
    column = e.table.columns[c]
    if column.kind == "text":
        return list(e.features.matched_text[c])
    hit = e.features.exact[c]
    return sorted({float(v) for v in column.value[hit]})


def decode(trace: Trace, items: list[Encoded]) -> list[tuple[Program, float, list[dict]]]:
    """For each example: the program, the probability of its live steps under the model
    (:func:`nprog.confidence.live_steps`), and per-step choices (indices, log-probability, live)."""
    op_logp = trace.op_logp.float().cpu().numpy()  # (B, T, O)
    T = op_logp.shape[1]
    if trace.halting is not None:
        # ACT: the program stops at the step where the halting mass runs out (the last step with weight)
        # and answers there; its answer op comes from that step's answer distribution.
        halting = trace.halting.float().cpu().numpy()  # (B, T)
        stops = T - 1 - np.argmax((halting > 0)[:, ::-1], axis=1)  # (B,)
        answer_logp = trace.answer_logp.float().cpu().numpy()
    else:
        stops = np.full(op_logp.shape[0], T - 1)
    col_logp = trace.col_logp.float().cpu().numpy()  # (B, T, O, C)
    num_logp = trace.num_logp.float().cpu().numpy()  # (B, O, N)
    out = []
    for b, e in enumerate(items):  # per example: a handful of argmaxes over O, C, N (tiny)
        C, N = e.table.n_columns, len(e.numbers)
        steps, choices = [], []
        stop = int(stops[b])
        for t in range(stop + 1):
            dist = answer_logp[b, t] if (trace.halting is not None and t == stop) else op_logp[b, t]
            k = int(np.argmax(dist))
            op = OPS[k]
            logp = float(dist[k])
            step = Step(op.name)
            choice = {"op": k, "column": None, "number": None}
            if op.column:
                c = int(np.argmax(col_logp[b, t, k, :C]))
                logp += float(col_logp[b, t, k, c])
                step.column = e.table.names[c]
                step.on_date = e.table.columns[c].kind == "date"
                choice["column"] = c
                if op.name == "select":
                    step.values = select_values(e, c)
            if op.number and N:
                n = int(np.argmax(num_logp[b, k, :N]))
                logp += float(num_logp[b, k, n])
                step.number = float(e.numbers[n])
                choice["number"] = n
            if trace.halting is not None and t == stop:  # ACT: stopping here is part of the answer step
                logp += float(np.log(max(float(halting[b, stop]), 1e-30)))
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
