"""Training plumbing on a tiny WTQ-layout dataset: resume after an interruption, data-parallel ranks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from nprog.train import TrainConfig, state_dir, train
from tests.tiny_wtq import write_tiny_wtq

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_wtq(tmp_path_factory) -> Path:
    return write_tiny_wtq(tmp_path_factory.mktemp("wtq"))


def _cfg(data: Path, out: Path, steps: int, resume: bool = False) -> TrainConfig:
    return TrainConfig(data_dir=str(data), out=str(out), steps=steps, batch_size=4, eval_every=3, d=16,
                       min_count=1, threads=1, resume=resume)


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


def test_torchrun_two_processes_hold_identical_weights(tiny_wtq, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "app.cli", "train", "--data-dir", str(tiny_wtq), "--out", str(tmp_path / "ddp"),
           "--steps", "3", "--batch-size", "4", "--eval-every", "2", "--threads", "1",
           "--device", "cpu"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "data-parallel: 2 processes, weights identical on every rank: True" in proc.stderr
    assert (tmp_path / "ddp" / "model.safetensors").exists()
    assert proc.stdout.count("best dev accuracy") == 1  # rank 0 reports, once


def test_resume_from_a_state_of_another_configuration_is_a_clear_error(tiny_wtq, tmp_path):
    train(_cfg(tiny_wtq, tmp_path / "m", 3), lambda m: None)
    other = _cfg(tiny_wtq, tmp_path / "m", 6, resume=True)
    other.d = 32  # a different model: the saved weights do not fit
    with pytest.raises(ValueError, match="cannot resume"):
        train(other, lambda m: None)


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
