"""Knowledge distillation (nprog.distill): the KL term is zero exactly when the student matches the teacher,
pulls the student towards it, and a training run with --distill stores the teacher's distributions on every
training example and names the teacher in the card."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from nprog.checkpoint import state_dir
from nprog.distill import collate_teacher, distill_loss, mix_teachers
from nprog.model import Trace
from nprog.train import TrainConfig, load_data, train
from tests.tiny_wtq import write_tiny_wtq


@pytest.fixture(scope="module")
def tiny_wtq(tmp_path_factory) -> Path:
    return write_tiny_wtq(tmp_path_factory.mktemp("wtq"))


def _trace(logits_op, logits_col, logits_num, op_mask=None) -> Trace:
    op = logits_op if op_mask is None else logits_op.masked_fill(~op_mask, -1e4)
    op = torch.log_softmax(op, -1)
    if op_mask is not None:
        op = op.masked_fill(~op_mask, -1e4)
    return Trace(
        op_logp=op,
        col_logp=torch.log_softmax(logits_col, -1),
        num_logp=torch.log_softmax(logits_num, -1),
        attention=torch.zeros(op.shape[0], op.shape[1], 1),
    )


def test_the_term_is_zero_for_the_teacher_itself_and_positive_otherwise():
    torch.manual_seed(0)
    B, T, O, C, N = 3, 4, 6, 5, 2
    mask = torch.ones(B, T, O, dtype=torch.bool)
    mask[:, :, -1] = False  # a masked operation (−1e4 in both): contributes nothing, stays finite
    teacher = _trace(torch.randn(B, T, O), torch.randn(B, T, O, C), torch.randn(B, O, N), mask)
    own = (teacher.op_logp, teacher.col_logp, teacher.num_logp)
    assert distill_loss(teacher, own).item() == pytest.approx(0.0, abs=1e-6)
    student_op = torch.randn(B, T, O, requires_grad=True)
    student = _trace(student_op, torch.randn(B, T, O, C), torch.randn(B, O, N), mask)
    loss = distill_loss(student, own)
    assert loss.item() > 0.01 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(student_op.grad).all() and student_op.grad.abs().sum() > 0
    with torch.no_grad():  # a step down the gradient lowers it: the student moves towards the teacher
        nearer = _trace(student_op - 0.5 * student_op.grad, student.col_logp, student.num_logp, mask)
    assert distill_loss(nearer, own).item() < loss.item()


def test_collated_teacher_outputs_are_padded_as_masked_choices(tiny_wtq):
    data = load_data(TrainConfig(data_dir=str(tiny_wtq), out="unused", min_count=1), lambda m: None)
    items = data.prepared.items[:3]
    assert collate_teacher(items, 9, 2) is None  # no teacher: no term
    for e in items:
        C, N, O = e.table.n_columns, len(e.numbers), e.op_mask.shape[0]
        e.extra["teacher"] = (
            torch.log_softmax(torch.randn(4, O), -1).numpy(),
            torch.log_softmax(torch.randn(4, O, C), -1).numpy(),
            torch.log_softmax(torch.randn(O, N), -1).numpy(),
        )
    try:
        C = max(e.table.n_columns for e in items) + 1
        op, col, num = collate_teacher(items, C, 3)
        assert op.shape[0] == col.shape[0] == num.shape[0] == 3 and col.shape[-1] == C and num.shape[-1] == 3
        assert (col[:, :, :, -1] <= -1e3).all()  # the padded column is masked, not a choice
        probs = col.exp().sum(-1)
        assert torch.allclose(probs, torch.ones_like(probs), atol=1e-5)
    finally:
        for e in items:
            e.extra.pop("teacher")


def test_a_run_distilled_from_a_trained_model(tiny_wtq, tmp_path):
    quiet = lambda m: None  # noqa: E731
    base = TrainConfig(data_dir=str(tiny_wtq), out=str(tmp_path / "teacher"), steps=6, batch_size=4,
                       eval_every=3, min_count=1, threads=1).replace(d=16)  # fmt: skip
    train(base, quiet)
    logs: list[str] = []
    student = dataclasses.replace(base, out=str(tmp_path / "student"), distill=str(tmp_path / "teacher"))
    data = load_data(student, quiet)
    summary = train(student, logs.append, data)
    assert all(len(e.extra["teacher"]) == 3 for e in data.prepared.items)
    a, c, n = data.prepared.items[0].extra["teacher"]
    e = data.prepared.items[0]
    assert c.shape[-1] == e.table.n_columns and n.shape[-1] == len(e.numbers) and a.shape == c.shape[:2]
    assert any(m.startswith("distillation: the teacher's step distributions") for m in logs)
    assert all(map(lambda x: x == x, summary["losses"]))  # finite (NaN != NaN)
    card = json.loads((tmp_path / "student" / "card.json").read_text())
    assert card["distilled_from"]["model"] == str(tmp_path / "teacher")
    # the same run without a teacher ends with other weights: the term moved them
    train(dataclasses.replace(base, out=str(tmp_path / "plain")), quiet)
    a = load_file(str(state_dir(tmp_path / "student") / "model.safetensors"))
    b = load_file(str(state_dir(tmp_path / "plain") / "model.safetensors"))
    assert any(not torch.equal(a[k], b[k]) for k in a)


def _member(rng, T, O, C, N, masked_op=None):
    def logp(shape):
        x = rng.normal(size=shape)
        return x - np.log(np.exp(x).sum(-1, keepdims=True))

    a = logp((T, O))
    if masked_op is not None:  # as the model writes an operation that is not allowed: −1e4
        a[:, masked_op] = -1e4
        a = a - np.log(np.exp(a).sum(-1, keepdims=True))
    return a.astype(np.float32), logp((T, O, C)).astype(np.float32), logp((O, N)).astype(np.float32)


def test_an_ensemble_of_teachers_is_the_mixture_of_their_distributions():
    rng = np.random.default_rng(0)
    T, O, C, N = 4, 5, 3, 2
    one = _member(rng, T, O, C, N, masked_op=4)
    two = _member(rng, T, O, C, N, masked_op=4)
    assert mix_teachers([one]) is one
    same = mix_teachers([one, one])  # a member with itself: the member
    for x, y in zip(same, one, strict=True):
        assert np.allclose(np.exp(x), np.exp(y), atol=1e-6)
    a, c, n = mix_teachers([one, two])
    for x in (a, c, n):  # distributions, the masked operation still masked
        assert np.allclose(np.exp(x).sum(-1), 1.0, atol=1e-5) and x.dtype == np.float32
    assert (a[:, 4] <= -1e3).all()
    assert np.allclose(np.exp(a), (np.exp(one[0]) + np.exp(two[0])) / 2, atol=1e-6)
    # β of an operation leans to the member that chooses that operation: the mixture's conditional
    wa, wb = np.exp(one[0][1, 2]), np.exp(two[0][1, 2])
    expected = (wa * np.exp(one[1][1, 2]) + wb * np.exp(two[1][1, 2])) / (wa + wb)
    assert np.allclose(np.exp(c[1, 2]), expected, atol=1e-5)


def test_a_run_distilled_from_an_ensemble_names_each_member(tiny_wtq, tmp_path):
    quiet = lambda m: None  # noqa: E731
    base = TrainConfig(data_dir=str(tiny_wtq), out=str(tmp_path / "t1"), steps=3, batch_size=4,
                       eval_every=3, min_count=1, threads=1).replace(d=16)  # fmt: skip
    train(base, quiet)
    train(dataclasses.replace(base, out=str(tmp_path / "t2"), seed=1), quiet)
    both = f"{tmp_path / 't1'},{tmp_path / 't2'}"
    logs: list[str] = []
    train(dataclasses.replace(base, out=str(tmp_path / "s"), distill=both), logs.append)
    assert any(m.startswith("distillation: an ensemble of 2 teachers' step distributions") for m in logs)
    card = json.loads((tmp_path / "s" / "card.json").read_text())["distilled_from"]
    assert card["model"] == both and [m["model"] for m in card["ensemble"]] == both.split(",")


def test_a_teacher_with_other_operations_is_refused(tiny_wtq, tmp_path):
    from nprog.distill import attach_teacher

    data = load_data(TrainConfig(data_dir=str(tiny_wtq), out="unused", min_count=1), lambda m: None)

    class Other:
        class model:  # noqa: N801 — stands in for a TableQA's model
            config = type("C", (), {"ops": ["count", "print"]})()

    with pytest.raises(ValueError, match="operations"):
        attach_teacher(data.prepared.items, Other())


def test_teachers_of_different_program_lengths_are_refused_before_they_run():
    from nprog.distill import attach_teacher

    def stand_in(steps):  # a TableQA's model config, and nothing it could run
        return type("QA", (), {"model": type("M", (), {"config": type("C", (), {"steps": steps})()})()})()

    with pytest.raises(ValueError, match="same program length"):
        attach_teacher([], [stand_in(4), stand_in(3)])


def test_a_missing_teacher_is_a_clear_error_before_the_data_are_read(tmp_path):
    cfg = TrainConfig(
        data_dir=str(tmp_path / "no-data"), out=str(tmp_path / "m"), distill=str(tmp_path / "none")
    )
    with pytest.raises(ValueError, match="no such model directory"):
        train(cfg, lambda m: None)  # the data directory does not exist either: the teacher is checked first
