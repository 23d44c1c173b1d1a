"""`nprog batch` as a user runs it: killed mid-run and resumed, and split across worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tiny_wtq import write_tiny_wtq

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def questions(tmp_path_factory) -> tuple[Path, Path]:
    """~110 questions (the tiny dataset's, repeated with fresh ids) and their tables root."""
    root = write_tiny_wtq(tmp_path_factory.mktemp("wtq"))
    lines = []
    for split in ("train", "dev"):
        lines += (root / "data" / f"random-split-1-{split}.tsv").read_text().splitlines()[1:]
    rows = [f"r{k}-{line}" for k in range(4) for line in lines]
    tsv = root / "many.tsv"
    tsv.write_text("id\tutterance\tcontext\ttargetValue\n" + "\n".join(rows) + "\n")
    return tsv, root


def _batch(tsv, root, out, *extra, unset=(), **kw):
    """`nprog batch` in a fresh process (``out`` None: no --out; ``unset``: environment variables removed)."""
    where = ["--out", str(out)] if out is not None else []
    cmd = [
        sys.executable,
        "-m",
        "nprog.app.cli",
        "batch",
        str(tsv),
        "--tables-root",
        str(root),
        *where,
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if k not in unset} | {"OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw
    )


@pytest.mark.slow  # runs in the CI's slow step (.ci/run), not the README's quick command
def test_killed_run_resumes_to_the_uninterrupted_file(questions, shipped_model, tmp_path):
    tsv, root = questions
    whole = tmp_path / "whole.tsv"
    assert _batch(tsv, root, whole, "--batch-size", "1").wait(timeout=300) == 0
    expected = whole.read_text()
    n_lines = expected.count("\n")
    cut = tmp_path / "cut.tsv"
    proc = _batch(tsv, root, cut, "--batch-size", "1")
    deadline = time.time() + 120
    while time.time() < deadline and (not cut.exists() or cut.read_text().count("\n") < n_lines // 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # no chance to clean up
    proc.wait()
    written = cut.read_text().count("\n")
    assert 1 < written < n_lines, "the run should have been killed part-way"
    resumed = _batch(tsv, root, cut, "--batch-size", "1", "--resume")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert "kept from the interrupted run" in out
    assert cut.read_text() == expected  # nothing redone twice, nothing lost, same order


@pytest.mark.slow  # runs in the CI's slow step (.ci/run), not the README's quick command
def test_workers_give_the_same_file_as_one_process(questions, shipped_model, tmp_path):
    tsv, root = questions
    one, two = tmp_path / "one.tsv", tmp_path / "two.tsv"
    assert _batch(tsv, root, one, "--check-sql").wait(timeout=300) == 0
    proc = _batch(tsv, root, two, "--workers", "2", "--check-sql")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert two.read_text() == one.read_text()
    assert "sql agreement: 1.000" in out


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite"])
def test_portable_check_reports_agreement_refusals_and_wrong_answers(
    questions, shipped_model, tmp_path, dialect
):
    tsv, root = questions
    proc = _batch(tsv, root, tmp_path / "p.tsv", "--check-sql", "portable", "--sql", dialect)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    line = next(x for x in out.splitlines() if x.startswith("portable sql agreement: "))
    assert line.endswith(", wrong 0"), line
    assert 'FROM "' in (tmp_path / "p.tsv").read_text()  # the SQL names the user's table (the CSV's stem)


def test_portable_check_on_postgres_needs_a_server_and_an_order(questions, tmp_path):
    tsv, root = questions
    proc = _batch(tsv, root, None, "--check-sql", "portable", "--sql", "postgres", unset=("NPROG_PG_DSN",))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "NPROG_PG_DSN" in err
