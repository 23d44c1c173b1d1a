"""Training plumbing on a tiny WTQ-layout dataset: resume after an interruption, data-parallel ranks."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from nprog.checkpoint import state_dir
from nprog.train import TrainConfig, train
from tests.tiny_wtq import write_tiny_wtq

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_wtq(tmp_path_factory) -> Path:
    return write_tiny_wtq(tmp_path_factory.mktemp("wtq"))


def _cfg(data: Path, out: Path, steps: int, resume: bool = False) -> TrainConfig:
    return TrainConfig(
        data_dir=str(data),
        out=str(out),
        steps=steps,
        batch_size=4,
        eval_every=3,
        min_count=1,
        threads=1,
        resume=resume,
    ).replace(d=16)


def test_an_interrupted_run_resumes_to_the_same_losses_and_weights(tiny_wtq, tmp_path):
    quiet = lambda m: None  # noqa: E731
    whole = train(_cfg(tiny_wtq, tmp_path / "whole", 9), quiet)
    first = train(_cfg(tiny_wtq, tmp_path / "cut", 6), quiet)  # "killed" after its evaluation at step 6
    assert first["losses"] == whole["losses"][:6]
    assert (state_dir(tmp_path / "cut") / "state.json").exists()
    resumed = train(_cfg(tiny_wtq, tmp_path / "cut", 9, resume=True), quiet)
    assert resumed["steps"] == 9 and resumed["losses"] == whole["losses"]
    a = load_file(str(state_dir(tmp_path / "whole") / "model.safetensors"))
    b = load_file(str(state_dir(tmp_path / "cut") / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not list((tmp_path).glob(".*.tmp")) and not list(tmp_path.glob("*/.*.tmp"))


def test_resume_without_a_saved_state_starts_from_scratch(tiny_wtq, tmp_path):
    summary = train(_cfg(tiny_wtq, tmp_path / "fresh", 3, resume=True), lambda m: None)
    assert summary["steps"] == 3


@pytest.mark.slow  # runs in the CI's slow step (.ci/run), not the README's quick command
def test_torchrun_two_processes_hold_identical_weights(tiny_wtq, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "nprog.app.cli",
        "train",
        "--data-dir",
        str(tiny_wtq),
        "--out",
        str(tmp_path / "ddp"),
        "--steps",
        "3",
        "--batch-size",
        "4",
        "--eval-every",
        "2",
        "--threads",
        "1",
        "--device",
        "cpu",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "data-parallel: 2 processes, weights identical on every rank: True" in proc.stderr
    assert (tmp_path / "ddp" / "model.safetensors").exists()
    assert proc.stdout.count("best dev accuracy") == 1  # rank 0 reports, once


def test_resume_from_a_state_of_another_configuration_is_a_clear_error(tiny_wtq, tmp_path):
    train(_cfg(tiny_wtq, tmp_path / "m", 3), lambda m: None)
    other = _cfg(tiny_wtq, tmp_path / "m", 6, resume=True)
    other.model.d = 32  # a different model: the saved weights do not fit
    with pytest.raises(ValueError, match="cannot resume"):
        train(other, lambda m: None)


def test_l2_added_to_the_gradients_equals_the_l2_term_in_the_loss():
    from nprog.model import ModelConfig, NeuralProgrammer
    from nprog.train import add_l2_gradient

    torch.manual_seed(0)
    a = NeuralProgrammer(ModelConfig(vocab_size=30, d=8))
    b = NeuralProgrammer(ModelConfig(vocab_size=30, d=8))
    b.load_state_dict(a.state_dict())
    loss_a = (a.op_embedding.sum() + a.W_op.weight.pow(2).sum()) + 0.5 * 1e-2 * sum(
        (p * p).sum() for p in a.parameters()
    )
    loss_a.backward()
    (b.op_embedding.sum() + b.W_op.weight.pow(2).sum()).backward()
    add_l2_gradient(b, 1e-2)
    for (name, pa_), pb in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.allclose(pa_.grad, pb.grad, atol=1e-7), name  # parameters outside the loss too


def test_batches_are_fixed_chunks_in_a_seeded_order_collated_once(tiny_wtq):
    import random

    from nprog.train import Chunk, batches, load_data, training_tensors

    data = load_data(TrainConfig(data_dir=str(tiny_wtq), out="unused", batch_size=4))
    items = data.prepared.items
    stream = batches(items, 4, random.Random(3))
    first = [next(stream) for _ in range(3 * ((len(items) + 3) // 4))]  # three epochs
    # the former generator: chunks rebuilt each epoch in size order, then shuffled with the same rng
    order = sorted(
        range(len(items)),
        key=lambda i: (items[i].table.n_rows // 8, len(items[i].tokens), items[i].table.n_columns),
    )
    rng, expected = random.Random(3), []
    while len(expected) < len(first):
        chunks = [order[i : i + 4] for i in range(0, len(order), 4)]
        rng.shuffle(chunks)
        expected += [[items[i] for i in c] for c in chunks]
    assert [[id(e) for e in c] for c in first] == [[id(e) for e in c] for c in expected[: len(first)]]
    assert all(isinstance(c, Chunk) for c in first)
    cache: dict = {}
    once = training_tensors(first[0], "cpu", True, cache)
    again = next(c for c in first[1:] if c.key == first[0].key)
    assert training_tensors(again, "cpu", True, cache) is once
    fresh = training_tensors(
        list(first[0]), "cpu", True, cache
    )  # a plain list is never served from the cache
    assert fresh is not once and torch.equal(fresh[0].tokens, once[0].tokens)


def test_training_uses_and_records_the_whole_op_set(tiny_wtq, tmp_path):
    """A new model chooses among every registered operation and its checkpoint names them, so it loads
    with the same set (an old checkpoint names the 15 of 2017 and loads with those)."""
    from nprog.ops import OPS
    from nprog.qa import TableQA

    train(_cfg(tiny_wtq, tmp_path / "m", 3), lambda m: None)
    qa = TableQA.load(tmp_path / "m", device="cpu")
    assert qa.model.config.ops == [op.name for op in OPS] and len(qa.model.ops) == len(OPS)
    answer = qa.ask(str(tiny_wtq / "csv" / "tiny" / "0.csv"), "what is the total points of team norway?")
    assert answer.program.steps[-1].op in {op.name for op in OPS if op.answers}


def test_the_cosine_schedule_falls_from_lr_to_a_tenth():
    from nprog.train import scheduled_lr

    cfg = TrainConfig(data_dir="d", out="o", steps=100, lr=1e-3, lr_decay="cosine")
    assert scheduled_lr(cfg, 0) == pytest.approx(1e-3)
    assert scheduled_lr(cfg, 50) == pytest.approx(0.55e-3)
    assert scheduled_lr(cfg, 100) == pytest.approx(1e-4) == scheduled_lr(cfg, 150)
    rates = [scheduled_lr(cfg, t) for t in range(101)]
    assert all(a >= b for a, b in zip(rates, rates[1:], strict=False))
    assert scheduled_lr(cfg.replace(lr_decay="none"), 50) == 1e-3
    assert scheduled_lr(cfg.replace(steps=None, minutes=5.0), 50) == 1e-3  # a time budget: no decay


def test_template_questions_join_training_on_the_training_tables_only(tiny_wtq):
    from nprog.train import load_data

    logs: list[str] = []
    base = TrainConfig(data_dir=str(tiny_wtq), out="unused", min_count=1)
    plain = load_data(base, lambda m: None)
    data = load_data(dataclasses.replace(base, synthetic=9), logs.append)
    assert "template questions: 9 on the training tables" in logs
    added = data.prepared.items[len(plain.prepared.items) :]
    assert len(added) + sum(data.prepared.skipped.values()) - sum(plain.prepared.skipped.values()) == 9
    dev_tables = {Path(tiny_wtq / ex.context).resolve() for ex, _ in data.dev}
    assert added and all(Path(e.table.source).resolve() not in dev_tables for e in added)
    assert data.vocab.words == plain.vocab.words  # the templates add no words to the vocabulary
