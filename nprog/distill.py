"""Knowledge distillation (Hinton et al. 2015): a trained model's step distributions as a second target.

WTQ gives answers, not programs. The program search finds every program that reproduces an answer and MML
credits them all, so on its own a model must guess from 10k answers which of the consistent programs means
what the question says. A stronger model that has already been trained — the MiniLM encoder model, which
reads the question with pretrained word knowledge — has settled many of those guesses. Its distributions at
every step of the program (α over operations, β over columns for each operation, π over the question's
numbers) are a dense target the smaller model can learn from, on every training question, including those
for which the search found no consistent program (MML says nothing there).

The loss is the KL divergence KL(teacher ‖ student) at each step: over operations; over columns, weighted by
the teacher's probability of each operation; over the question's numbers, weighted by how much the teacher
uses each comparison over the steps. It is added to the answer losses and MML, never replaces them, so the
student still learns the answers where the teacher is wrong.

The teacher's distributions are computed once before training (its weights do not change), on its own
encoding of each training question (a model with a pretrained encoder needs word pieces the student does
not), and kept on the student's examples. The student and teacher must have the same operations and program
length; the questions' numbers and the tables' columns are the same by construction.

Several teachers (``--distill A,B,C``) are one ensemble teacher, mixed as :class:`nprog.model.Ensemble`
answers (:func:`nprog.model.mix_steps`). An ensemble's mistakes are fewer and less sure than any one
member's, and its distributions carry the members' doubt where they disagree.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from nprog.batch import Encoded
from nprog.model import mix_steps

MASKED = -1e3  # a log-probability at or below this is a masked choice (the model fills those with −1e4)


def _teacher_outputs(items: list[Encoded], teacher, batch_size: int) -> list[tuple[np.ndarray, ...]]:
    """``teacher``'s (a :class:`nprog.qa.TableQA`) log α (T, O), log β (T, O, C) and log π (O, N) for each
    item, float32, run in batches of similar tables."""
    student_ops = {e.op_mask.shape[0] for e in items}
    if student_ops != {len(teacher.model.config.ops)}:
        raise ValueError(
            f"the teacher has {len(teacher.model.config.ops)} operations, the student {sorted(student_ops)}"
        )
    outputs: list[tuple[np.ndarray, ...]] = [()] * len(items)
    order = sorted(range(len(items)), key=lambda i: (items[i].table.n_rows, items[i].table.n_columns))
    for s in range(0, len(order), batch_size):
        chunk = order[s : s + batch_size]
        own = [teacher.encode(items[i].table, items[i].question) for i in chunk]
        trace, _ = teacher.run(own)
        for b, (i, t) in enumerate(zip(chunk, own, strict=True)):
            e = items[i]
            C, N = e.table.n_columns, len(e.numbers)
            if len(t.numbers) != N:  # both encode the same question on the same table
                raise ValueError(f"teacher and student read different numbers in {e.question.text!r}")
            outputs[i] = (
                trace.op_logp[b].float().cpu().numpy().copy(),
                trace.col_logp[b, :, :, :C].float().cpu().numpy().copy(),
                trace.num_logp[b, :, :N].float().cpu().numpy().copy(),
            )
    return outputs


def mix_teachers(members: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """One example's ensemble distributions from its members' (log α, log β, log π), mixed as an
    :class:`nprog.model.Ensemble` mixes them (:func:`nprog.model.mix_steps`). One member: itself."""
    if len(members) == 1:
        return members[0]
    stacked = (torch.from_numpy(np.stack([m[i] for m in members])) for i in range(3))
    return tuple(x.numpy().astype(np.float32) for x in mix_steps(*stacked))


def attach_teacher(items: list[Encoded], teachers, batch_size: int = 64, log=print) -> None:
    """Store the step distributions of ``teachers`` (one :class:`nprog.qa.TableQA` or a list of them, an
    ensemble: :func:`mix_teachers`) on each item's ``extra``: log α (T, O), log β (T, O, C) and log π (O, N),
    float32."""
    teachers = teachers if isinstance(teachers, list | tuple) else [teachers]
    if len(teachers) > 1 and len({t.model.config.steps for t in teachers}) > 1:  # before any teacher runs
        raise ValueError("the teachers of an ensemble must have the same program length")
    start = time.time()
    outputs = [_teacher_outputs(items, t, batch_size) for t in teachers]
    for i, e in enumerate(items):
        e.extra["teacher"] = mix_teachers([o[i] for o in outputs])
    who = "the teacher's" if len(teachers) == 1 else f"an ensemble of {len(teachers)} teachers'"
    log(f"distillation: {who} step distributions for {len(items)} examples in {time.time() - start:.0f}s")


def collate_teacher(items: list[Encoded], C: int, N: int) -> tuple[torch.Tensor, ...] | None:
    """(B, T, O), (B, T, O, C), (B, O, N) log-probabilities, padded with masked entries; None when the
    items carry no teacher outputs."""
    if "teacher" not in items[0].extra:
        return None
    T, O = items[0].extra["teacher"][0].shape
    B = len(items)
    N = max(N, 1)
    op = np.full((B, T, O), 10 * MASKED, dtype=np.float32)
    col = np.full((B, T, O, C), 10 * MASKED, dtype=np.float32)
    num = np.full((B, O, N), 10 * MASKED, dtype=np.float32)
    for b, e in enumerate(items):
        a, c, n = e.extra["teacher"]
        op[b] = a
        col[b, :, :, : c.shape[-1]] = c
        num[b, :, : n.shape[-1]] = n
    return torch.from_numpy(op), torch.from_numpy(col), torch.from_numpy(num)


def _kl(teacher: torch.Tensor, student: torch.Tensor) -> torch.Tensor:
    """Σ over the last axis of p·(log p − log q), where the teacher's choice is not masked."""
    p = teacher.exp()
    keep = teacher > MASKED
    return torch.where(keep, p * (teacher - student), torch.zeros_like(p)).sum(-1)


def distill_loss(trace, teacher: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Mean over the batch of Σ_t KL(α_T ‖ α_S) + Σ_t Σ_o α_T·KL(β_T ‖ β_S) + Σ_o w_o·KL(π_T ‖ π_S),
    w_o = min(1, Σ_t α_T[t, o]). Student tensors are the trace's; the teacher's are collated to the same
    batch's columns and numbers (:func:`collate_teacher`)."""
    op, col, num = teacher
    alpha = op.exp()  # (B, T, O)
    l_op = _kl(op, trace.op_logp).sum(1)
    l_col = (alpha * _kl(col, trace.col_logp)).sum((1, 2))
    l_num = (alpha.sum(1).clamp(max=1.0) * _kl(num, trace.num_logp)).sum(1)
    return (l_op + l_col + l_num).mean()
