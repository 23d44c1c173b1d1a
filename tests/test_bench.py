"""nprog bench's bookkeeping: the rows it derives (ratios, targets) and one scaling measurement."""

import json
import subprocess
import sys
from pathlib import Path

from nprog.app.bench.suite import ratios, targets

ROOT = Path(__file__).resolve().parents[1]

ROWS = [
    ("TableQA.ask latency, 50-row table, warm", "p50 4.0 ms, p95 4.5 ms"),
    ("WTQ dev end to end, batch 1", "187 questions/s (2831 in 15.2 s)"),
    ("WTQ dev end to end, batch 64", "563 questions/s (2831 in 5.0 s)"),
    (
        "WTQ dev end to end, batch 64, 2 worker processes (nprog batch --workers 2, start-up included)",
        "1,900 questions/s (2831 in 1.5 s)",
    ),
    (
        "ask(DataFrame) on 1,000,000 rows x 10 columns",
        "2.40 s = build 2.00 s + answer 0.40 s (next question 0.20 s); peak RSS 1124 MiB",
    ),
    ("TAPAS-base-sized (random init) WTQ dev end to end, batch 1", "2.80 questions/s (256 in 91.4 s)"),
    ("TAPAS-base-sized (random init) WTQ dev end to end, batch 64", "0.94 questions/s (64 in 68.0 s)"),
    ("TAPAS-base-sized (random init) ask latency, 50-row table, warm", "p50 704.5 ms, p95 757.0 ms"),
]


def test_ratios_and_targets_read_the_rows_of_the_same_run():
    derived = ratios(ROWS)
    assert derived == [
        ("nprog ÷ TAPAS-base-sized, batch 1 throughput", "67×"),
        ("nprog ÷ TAPAS-base-sized, batch 64 throughput", "599×"),
        (
            "TAPAS-base-sized ÷ nprog, p50 latency on the 50-row table",
            "176× (nprog answers that many times sooner)",
        ),
    ]
    checks = dict(targets(ROWS + derived))
    assert (
        checks["target: WTQ dev ≥ 500 questions/s"] == "563 questions/s (batch 64): met"
    )  # workers are not a batch size
    assert (
        checks["target: ≥ 50× the TAPAS-base-sized throughput at every batch size"]
        == "67× at the lowest (batch 1 throughput): met"
    )
    assert checks["target: p50 latency ≤ 20 ms on a 50-row table"] == "4.0 ms: met"
    assert checks["target: a 1,000,000-row table answered in ≤ 2 s and ≤ 4 GiB"] == (
        "2.40 s from the DataFrame, 1.10 GiB peak: NOT met"
    )


def test_targets_only_for_what_the_run_measured():
    assert targets([("Table build, 1,000 rows x 10 columns", "0.05 s")]) == []


def _fresh_process_measurement(flag: str, rows: int) -> dict:
    """What `python -m nprog.app.bench.suite FLAG ROWS` prints last: one measurement from a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-m", "nprog.app.bench.suite", flag, str(rows), "--device", "cpu"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_one_scaling_measurement_runs_in_a_fresh_process():
    r = _fresh_process_measurement("--scaling-one", 2000)
    assert r["rows"] == 2000 and r["answer"] and r["peak_mib"] > 0
    assert 0 < r["build_s"] < 60 and 0 < r["ask_s"] < 60 and 0 < r["next_s"] < 60


def test_targets_of_the_api_typed_and_start_up_rows():
    rows = [
        ("WTQ dev end to end, batch 64", "600 questions/s (2831 in 4.7 s)"),
        (
            "pipeline qa(table=df, query=[…]), WTQ dev by table (346 DataFrames of strings)",
            "450 questions/s (2831 in 6.3 s)",
        ),
        (
            "ask(typed DataFrame) on 1,000,000 rows (3 int64, a 50,000-level and a 5-level text column)",
            "0.80 s with the build (next question 0.05 s); peak RSS 900 MiB",
        ),
        ('start-up: python -c "import torch"', "3.00 s"),
        ("start-up: nprog --help", "0.30 s (0.10× the torch import)"),
        ("start-up: cold nprog ask, one question", "4.80 s (1.60× the torch import)"),
    ]
    checks = dict(targets(rows))
    assert checks[
        "target: pipeline call on WTQ dev by table ≥ 500 questions/s and ≥ 0.7× the batch path"
    ] == ("450 questions/s, 0.75× the batch path (batch 64): NOT met")
    assert checks["target: ask on the 1,000,000-row typed DataFrame ≤ 1.0 s with the build, ≤ 2 GiB"] == (
        "0.80 s, 0.88 GiB peak: met"
    )
    assert checks["target: nprog --help ≤ 0.3× the torch import"] == "0.10×: met"
    assert checks["target: cold nprog ask, one question ≤ 1.5× the torch import"] == "1.60×: NOT met"


def test_one_typed_measurement_runs_in_a_fresh_process():
    r = _fresh_process_measurement("--typed-one", 3000)
    assert r["rows"] == 3000 and r["answer"] and r["peak_mib"] > 0 and 0 < r["ask_s"] < 60


def test_the_training_row_runs_in_a_fresh_process_and_has_a_target(tmp_path):
    from tiny_wtq import write_tiny_wtq

    from nprog.app.bench.suite import TRAIN_ROW, bench_train, targets

    rows = bench_train(write_tiny_wtq(tmp_path / "wtq"))
    assert [name for name, _ in rows] == [TRAIN_ROW]
    assert rows[0][1].endswith(" examples/s") and float(rows[0][1].split()[0]) > 0, rows
    verdict = dict(targets(rows))["target: training ≥ 1,000 examples/s"]
    assert verdict.endswith(": met") or verdict.endswith(": NOT met")


def test_a_pretrained_encoder_model_is_held_to_its_own_batch_and_latency_targets():
    rows = [
        ("WTQ dev end to end, batch 64", "234 questions/s (2831 in 12.1 s)"),
        ("TableQA.ask latency, 50-row table, warm", "p50 25.0 ms, p95 28.0 ms"),
    ]
    lstm, encoder = dict(targets(rows)), dict(targets(rows, encoder=True))
    assert lstm["target: WTQ dev ≥ 500 questions/s"].endswith("NOT met")
    assert lstm["target: p50 latency ≤ 20 ms on a 50-row table"] == "25.0 ms: NOT met"
    assert encoder["target: WTQ dev ≥ 200 questions/s"] == "234 questions/s (batch 64): met"
    assert encoder["target: p50 latency ≤ 30 ms on a 50-row table"] == "25.0 ms: met"
