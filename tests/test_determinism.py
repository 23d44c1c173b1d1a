"""Determinism: the same model, table and question give the same answer, program and SQL — across calls,
across batches and across processes — and seeded training reproduces its losses step for step on CPU.

Every process here gets its own PYTHONHASHSEED, so nothing may depend on the order of sets or dicts keyed
by strings. Float results are compared exactly where the same computation runs with the same thread count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import ROOT, SAMPLES
from tests.tiny_wtq import write_tiny_wtq

TESTS = Path(__file__).resolve().parent
SUBPROCESS_TIMEOUT = 240  # seconds; importing torch on a busy 2-core machine takes a while


def sample_questions(per_table: int = 3) -> list[tuple[str, str]]:
    """(table file, question): the first questions of each table in data/samples/questions.json."""
    questions = json.loads((SAMPLES / "questions.json").read_text())
    return [(name, q) for name, qs in questions.items() for q in qs[:per_table]]


def collect(model_dir: str) -> list[dict]:
    """Asks every sample question with the model in `model_dir`; JSON-ready results, in question order.

    Runs in this process and, unchanged, in fresh ones (``python -c "from test_determinism import …"``).
    """
    from nprog.qa import TableQA
    from nprog.tables import Table

    qa = TableQA.load(model_dir, device="cpu")
    tables: dict[str, Table] = {}
    out = []
    for name, question in sample_questions():
        if name not in tables:
            tables[name] = Table.from_csv(SAMPLES / name)
        table = tables[name]
        a = qa.ask(table, question)
        out.append(
            {
                "table": name,
                "question": question,
                "answer": a.answer,
                "aggregator": a.aggregator,
                "coordinates": [list(c) for c in a.coordinates],
                "program": a.program.to_json(),
                "sql": a.sql("duckdb"),
                "confidence": a.confidence,
            }
        )
    return out


def run_python(code: str, args: list[str], hash_seed: int, threads: int) -> subprocess.Popen:
    """Starts a fresh interpreter running `code` with argv `args`, tests/ on its path."""
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed), PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]))
    env.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)})
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen) -> str:
    try:
        out, err = proc.communicate(timeout=SUBPROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"the subprocess ran for more than {SUBPROCESS_TIMEOUT} s")
    assert proc.returncode == 0, err[-3000:]
    return out


# ---- inference ------------------------------------------------------------------------------------------

COLLECT = """
import json, sys, torch
torch.set_num_threads(int(sys.argv[2]))
from test_determinism import collect
print(json.dumps(collect(sys.argv[1])))
"""


@pytest.mark.slow  # runs in the CI's slow step (.ci/run), not the README's quick command
def test_answers_programs_and_sql_are_the_same_across_runs_and_processes(shipped_model):
    threads = torch.get_num_threads()
    # Two fresh processes (different hash seeds) start first and run while this one asks the same questions.
    procs = [run_python(COLLECT, [str(shipped_model), str(threads)], seed, threads) for seed in (1, 2)]
    first = collect(str(shipped_model))
    second = collect(str(shipped_model))
    assert len(first) == len(sample_questions()) >= 10
    assert second == first  # every field, confidences included: same process, same computation
    for proc in procs:
        assert json.loads(finish(proc)) == first


def test_an_answer_does_not_depend_on_the_rest_of_its_batch(shipped_model):
    """Questions are padded per batch: asking them together must give what asking each alone gives."""
    from nprog.qa import TableQA
    from nprog.tables import Table

    qa = TableQA.load(shipped_model, device="cpu")
    by_table: dict[str, list[str]] = {}
    for name, question in sample_questions(per_table=5):
        by_table.setdefault(name, []).append(question)
    for name, questions in by_table.items():
        table = Table.from_csv(SAMPLES / name)
        alone = [qa.ask(table, q) for q in questions]
        together = qa.answer_batch([qa.encode(table, q) for q in questions])
        for q, a, b in zip(questions, alone, together, strict=True):
            assert (b.answer, b.program.to_json(), b.sql("duckdb")) == (
                a.answer,
                a.program.to_json(),
                a.sql("duckdb"),
            ), q
            assert b.confidence == pytest.approx(a.confidence, rel=1e-5, abs=1e-7), q


# ---- training -------------------------------------------------------------------------------------------


TRAIN = """
import json, sys
from nprog.train import TrainConfig, train
data_dir, out, result = sys.argv[1:4]
cfg = TrainConfig(data_dir=data_dir, out=out, steps=100, batch_size=4, eval_every=10**6, seed=7,
                  device="cpu", min_count=1, threads=1).replace(d=32)
summary = train(cfg, log=lambda *a: print(*a, file=sys.stderr))
with open(result, "w") as f:
    json.dump({"losses": summary["losses"], "steps": summary["steps"]}, f)
"""


@pytest.mark.slow  # runs in the CI's slow step (.ci/run), not the README's quick command
def test_seeded_training_reproduces_its_first_100_losses_exactly(tmp_path):
    """Two fresh processes train 100 steps with the same seed on CPU: the same loss at every step, bit for
    bit, and the same weights at the end. The data set is made here, so this needs no WTQ."""
    data = write_tiny_wtq(tmp_path / "wtq")
    runs = [tmp_path / f"run{i}" for i in (1, 2)]
    for run in runs:
        run.mkdir()
    procs = [
        run_python(TRAIN, [str(data), str(run / "model"), str(run / "result.json")], hash_seed, threads=1)
        for run, hash_seed in zip(runs, (1, 2), strict=True)
    ]
    for proc in procs:
        finish(proc)
    first, second = (json.loads((run / "result.json").read_text()) for run in runs)
    assert first["steps"] == 100 and len(first["losses"]) == 100
    assert len(set(first["losses"])) > 1  # it trained: the loss moves
    assert second["losses"] == first["losses"]  # exact float equality, step by step

    from safetensors.torch import load_file

    a, b = (load_file(str(run / "model" / "model.safetensors")) for run in runs)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
