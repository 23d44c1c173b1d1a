"""How the model reached an answer, step by step: :class:`Explanation`, what ``Answer.explanation`` holds.

At every executed step t the Neural Programmer spreads its attention over the operations, over the columns
(for the chosen operation) and over the question words, and picks the most likely of each; the pictures
(``nprog.app.ui.pictures``) draw these distributions and choices one line per step. The rows each program step
keeps are ``Answer.rows`` (the executor's selections, after the program is simplified).

An explanation is made on first use of ``Answer.explanation``: most callers never draw the pictures, so the
copies out of the model's tensors are not made for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nprog.ops import OP_INDEX, OPS, Op


@dataclass(frozen=True)
class StepChoice:
    """What one executed step chose (decoding takes the most likely of each distribution)."""

    op: int  # index into the registry nprog.ops.OPS (not the model's own op order)
    column: int | None  # the column the operation reads; None when it reads none
    number: int | None  # the question number it compares with; None when it takes none
    logp: float  # log-probability of this step's choices together (op, column, number; ACT: stopping here)
    live: bool  # False: on this table the step changes nothing, so it adds no doubt to the confidence

    @property
    def operation(self) -> Op:
        return OPS[self.op]


@dataclass
class Explanation:
    """Per-step distributions and choices of one answer, for the T executed steps (numpy)."""

    choices: list[StepChoice]  # (T)
    ops: (
        np.ndarray
    )  # (T, len(OPS)) the distribution each step chose its operation from, over the whole registry
    columns: list[np.ndarray]  # T × (C,) column attention of the chosen operation
    attention: np.ndarray  # (T, L) attention over the question words
    tokens: list[str]  # (L) the words as the model's vocabulary read them (<unk>, <num>, <ent> …)
    halting: np.ndarray | None = None  # (T,) ACT: the halting distribution; None for fixed-length controllers

    def __len__(self) -> int:
        return len(self.choices)

    @property
    def probability(self) -> float:
        """The probability of every executed step's choices (the uncalibrated, all-steps confidence)."""
        return float(np.exp(sum(c.logp for c in self.choices)))

    @classmethod
    def from_trace(cls, trace, b: int, n_columns: int, tokens: list[str], choices: list[dict]) -> Explanation:
        """Example ``b`` of a batch ``trace`` (:class:`nprog.model.Trace`); ``choices`` are the decoder's per-step
        dicts (:func:`nprog.decode.decode`), whose ``op`` indexes the model's own operations."""
        T, L = len(choices), len(tokens)
        model_ops = [OP_INDEX[op.name] for op in trace.ops]  # the model's op k is the registry's model_ops[k]
        with torch.inference_mode():
            executed = trace.executed_op_logp()[b].exp().cpu().numpy()  # (T, O) what each step chose from
            # the distribution each executed step chose from (ACT: its answering step's answer distribution),
            # over the whole registry (an op this model lacks has probability 0), as the pictures name ops
            ops = np.zeros((T, len(OPS)), dtype=np.float32)
            ops[:, model_ops] = executed[:T]
            columns = [
                trace.col_logp[b, t, c["op"], :n_columns].exp().cpu().numpy() for t, c in enumerate(choices)
            ]
            attention = trace.attention[b, :T, :L].cpu().numpy()
            halting = None if trace.halting is None else trace.halting[b, :T].cpu().numpy()
        steps = [StepChoice(model_ops[c["op"]], c["column"], c["number"], float(c["logp"]), bool(c["live"]))
                 for c in choices]  # fmt: skip
        return cls(steps, ops, columns, attention, list(tokens), halting)
