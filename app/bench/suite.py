"""`nprog bench`: throughput, latency and table-size scaling, all measured in one run on this machine.

Parts (``--only`` runs one): ``tables`` (Table build time at 1 k / 100 k / 1 M synthetic rows),
``latency`` (TableQA.ask on a 50-row table, warm, p50/p95), ``throughput`` (WTQ dev end to end from the
TSV at batch sizes 1/16/64), ``api`` (the pipeline call and TableQA.ask on
WTQ dev grouped by table, DataFrames of strings, beside the batch path; ask on a 1 M-row typed DataFrame
in a fresh process), ``scaling`` (ask on 1 k … 1 M-row tables, time and peak memory, each in a fresh
process), ``startup`` (fresh processes: the torch import, `nprog --help`, a cold `nprog ask`), ``train`` (training examples/s), ``tapas`` (a TAPAS-base-sized model from
``transformers``, randomly initialised — speed does not depend on the weights — on the same tables and
questions). Results go to stdout as one table and to ``bench/results.md``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nprog import caches, layout
from nprog.app.bench.common import LATENCY_QUESTIONS, synthetic_frame

ROOT = layout.CHECKOUT or Path.cwd()  # bench/results.md is written here; a wheel has no checkout


def typed_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """A DataFrame as a program hands one over: int64 columns, a 50,000-level and a 5-level text column."""
    rng = np.random.default_rng(seed)
    players = np.array([f"Player {i}" for i in range(50_000)], dtype=object)
    return pd.DataFrame(
        {
            "Rank": np.arange(1, rows + 1, dtype=np.int64),
            "Player": players[rng.integers(0, len(players), rows)],
            "Team": np.array(["Norway", "Canada", "Japan", "Kenya", "Brazil"], dtype=object)[
                rng.integers(0, 5, rows)
            ],
            "Points": rng.integers(0, 10**6, rows, dtype=np.int64),
            "Year": rng.integers(1950, 2024, rows, dtype=np.int64),
        }
    )


def _machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__} ({torch.get_num_threads()} threads)"


def bench_tables(sizes=(1_000, 100_000, 1_000_000)) -> list[tuple[str, str]]:
    from nprog.tables import Table

    out = []
    for n in sizes:
        df = synthetic_frame(n)
        t0 = time.perf_counter()
        Table.from_dataframe(df)
        out.append((f"Table build, {n:,} rows x 10 columns", f"{time.perf_counter() - t0:.2f} s"))
    return out


def bench_latency(qa, repeats: int = 200) -> list[tuple[str, str]]:
    from nprog.tables import Table

    table = Table.from_dataframe(synthetic_frame(50))
    questions = LATENCY_QUESTIONS
    for q in questions:
        qa.ask(table, q)  # warm
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        qa.ask(table, questions[i % len(questions)])
        times.append(time.perf_counter() - t0)
    p50, p95 = np.percentile(times, [50, 95]) * 1000
    return [("TableQA.ask latency, 50-row table, warm", f"p50 {p50:.1f} ms, p95 {p95:.1f} ms")]


def bench_throughput(
    qa, data_dir: Path, sizes=(1, 16, 64), model: str | None = None, device: str = "cpu", workers: bool = True
) -> list[tuple[str, str]]:
    from nprog import wtq
    from nprog.evaluate import predict_stream

    out = []
    for bs in sizes:
        caches.clear()  # end to end: tables are read and strings parsed again for each setting
        t0 = time.perf_counter()
        examples = wtq.read_examples(wtq.split_path(data_dir, "dev"))
        n = sum(
            1 for _ in predict_stream(qa, data_dir, examples, batch_size=bs, with_kind=False, score=False)
        )
        dt = time.perf_counter() - t0
        out.append((f"WTQ dev end to end, batch {bs}", f"{n / dt:.0f} questions/s ({n} in {dt:.1f} s)"))
    # the CLI's --workers: one process per core, each loading the model (its start-up is in the time)
    from nprog.app.commands.batch import parallel_rows

    workers = (os.cpu_count() or 1) if workers else 1
    if workers > 1:
        t0 = time.perf_counter()
        examples = wtq.read_examples(wtq.split_path(data_dir, "dev"))
        n = sum(1 for _ in parallel_rows(examples, data_dir, model, device, 64, workers))
        dt = time.perf_counter() - t0
        out.append(
            (
                f"WTQ dev end to end, batch 64, {workers} worker processes (nprog batch --workers {workers}, "
                "start-up included)",
                f"{n / dt:.0f} questions/s ({n} in {dt:.1f} s)",
            )
        )
    return out


def _dev_frames(data_dir: Path) -> list[tuple[pd.DataFrame, list[str]]]:
    """WTQ dev grouped by table: each table a DataFrame of strings with all its questions, in file order."""
    from nprog import wtq
    from nprog.readers import TableError, read_wtq_frame

    by_table: dict[str, list[str]] = {}
    for ex in wtq.read_examples(wtq.split_path(data_dir, "dev")):
        by_table.setdefault(ex.context, []).append(ex.question)
    frames = []
    for context, questions in by_table.items():
        try:
            frames.append((read_wtq_frame(data_dir / context), questions))
        except TableError:
            continue
    return frames


def bench_api(qa, data_dir: Path) -> list[tuple[str, str]]:
    """The Python API on WTQ dev, grouped by table (DataFrames read beforehand, outside the timing): the
    pipeline call with all of a table's questions, and TableQA.ask one question at a time."""
    frames = _dev_frames(data_dir)
    n = sum(len(questions) for _, questions in frames)
    out = []
    caches.clear()
    qa.frames.clear()
    t0 = time.perf_counter()
    for df, questions in frames:
        qa(table=df, query=questions)
    dt = time.perf_counter() - t0
    out.append(
        (
            f"pipeline qa(table=df, query=[…]), WTQ dev by table ({len(frames)} DataFrames of strings)",
            f"{n / dt:.0f} questions/s ({n} in {dt:.1f} s)",
        )
    )
    caches.clear()
    qa.frames.clear()
    t0 = time.perf_counter()
    for df, questions in frames:
        for q in questions:
            qa.ask(df, q)
    dt = time.perf_counter() - t0
    out.append(
        (
            "TableQA.ask(df, q) one by one, WTQ dev (same DataFrames)",
            f"{n / dt:.0f} questions/s ({n} in {dt:.1f} s)",
        )
    )
    return out


def _peak_rss_kib() -> int:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: Linux carries that over
    from the parent across fork + exec, so a fresh subprocess would report the bench's own peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: the best there is


def _scaling_one(rows: int, model: str | None, device: str = "cpu") -> dict:
    """Run in a fresh process: build a table from a DataFrame, ask a first and a second question on it,
    report the times and the peak RSS."""
    from nprog.qa import TableQA
    from nprog.tables import Table

    qa = TableQA.load(model, device=device)
    df = synthetic_frame(rows)
    base = _peak_rss_kib()
    t0 = time.perf_counter()
    table = Table.from_dataframe(df)
    t1 = time.perf_counter()
    answer = qa.ask(table, "which team has the most points?")
    t2 = time.perf_counter()
    qa.ask(table, "how many players have more than 500,000 points?")
    t3 = time.perf_counter()
    peak = _peak_rss_kib()
    return {
        "rows": rows,
        "build_s": t1 - t0,
        "ask_s": t2 - t1,
        "next_s": t3 - t2,
        "peak_mib": peak / 1024,
        "delta_mib": (peak - base) / 1024,
        "answer": answer.answer[:3],
    }


def _typed_one(rows: int, model: str | None, device: str = "cpu") -> dict:
    """Run in a fresh process: TableQA.ask on a typed DataFrame (build included), then a second question."""
    from nprog.qa import TableQA

    qa = TableQA.load(model, device=device)
    df = typed_frame(rows)
    t0 = time.perf_counter()
    answer = qa.ask(df, "which team has the most points?")
    t1 = time.perf_counter()
    qa.ask(df, "how many players have more than 500,000 points?")
    t2 = time.perf_counter()
    return {
        "rows": rows,
        "ask_s": t1 - t0,
        "next_s": t2 - t1,
        "peak_mib": _peak_rss_kib() / 1024,
        "answer": answer.answer[:3],
    }


def bench_typed(model: str | None, rows: int = 1_000_000, device: str = "cpu") -> list[tuple[str, str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "nprog.app.bench.suite", "--typed-one", str(rows), "--device", device]
        + (["--model", model] if model else []),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    name = f"ask(typed DataFrame) on {rows:,} rows (3 int64, a 50,000-level and a 5-level text column)"
    if proc.returncode != 0:
        return [(name, f"failed: {proc.stderr.strip().splitlines()[-1:]}")]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return [
        (
            name,
            f"{r['ask_s']:.2f} s with the build (next question {r['next_s']:.2f} s); "
            f"peak RSS {r['peak_mib']:.0f} MiB",
        )
    ]


def _median_seconds(cmd: list[str], repeats: int, stdin: str | None = None) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=300, check=True)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench_startup(model: str | None, repeats: int = 3) -> list[tuple[str, str]]:
    """Wall time of fresh processes (median of ``repeats``): the torch import alone, `nprog --help`, a
    cold `nprog ask` (one question on a sample CSV, the model loaded) and one asking ten questions."""
    py = sys.executable
    table = str(ROOT / "data" / "samples" / "medals.csv")
    model_args = ["--model", model] if model else []
    ask = [py, "-m", "nprog.app.cli", "ask", "--table", table, "--device", "cpu", *model_args]
    torch_s = _median_seconds([py, "-c", "import torch"], repeats)
    help_s = _median_seconds([py, "-m", "nprog.app.cli", "--help"], repeats)
    ask_s = _median_seconds([*ask, "which nation won the most gold medals?"], repeats)
    ten = "\n".join(
        ["which nation won the most gold medals?", "how many nations won more than 5 gold medals?"] * 5
    )
    many_s = _median_seconds([*ask, "-"], repeats, stdin=ten + "\n")
    return [
        ('start-up: python -c "import torch"', f"{torch_s:.2f} s"),
        ("start-up: nprog --help", f"{help_s:.2f} s ({help_s / torch_s:.2f}× the torch import)"),
        (
            "start-up: cold nprog ask, one question",
            f"{ask_s:.2f} s ({ask_s / torch_s:.2f}× the torch import)",
        ),
        (
            "start-up: cold nprog ask, 10 questions from stdin",
            f"{many_s:.2f} s ({many_s / torch_s:.2f}× the torch import)",
        ),
    ]


def bench_scaling(
    model: str | None, sizes=(1_000, 10_000, 100_000, 1_000_000), device: str = "cpu"
) -> list[tuple[str, str]]:
    out = []
    for n in sizes:
        proc = subprocess.run(
            [sys.executable, "-m", "nprog.app.bench.suite", "--scaling-one", str(n), "--device", device]
            + (["--model", model] if model else []),
            capture_output=True,
            text=True,
            cwd=layout.CHECKOUT,
            timeout=600,
        )
        if proc.returncode != 0:
            out.append((f"ask on {n:,} rows", f"failed: {proc.stderr.strip().splitlines()[-1:]}"))
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        out.append(
            (
                f"ask(DataFrame) on {n:,} rows x 10 columns",
                f"{r['build_s'] + r['ask_s']:.2f} s = build {r['build_s']:.2f} s + answer {r['ask_s']:.2f} s "
                f"(next question {r['next_s']:.2f} s); peak RSS {r['peak_mib']:.0f} MiB",
            )
        )
    return out


def _train_one(data_dir: Path, steps: int = 60) -> dict:
    """Training throughput of the training step itself (nprog.train.train_step) at the shipped configuration
    (TrainConfig's defaults: batch 64, dropout 0.4, order cues, credit rules, paper losses + MML, L2,
    clipping, fused Adam), on 1,500 training examples. Training collates each fixed batch once per run (a
    full run: ~165 batches over 4,000 steps); here the first pass over the 24 batches collates them (not
    timed) and the next ``steps`` steps are timed: the steady state of a run."""
    import random

    from nprog.model import NeuralProgrammer
    from nprog.train import TrainConfig, batches, load_data, make_optimizer, train_step, training_tensors

    # the data as nprog train prepares it (vocabulary, program search with the credit rules), no dev set
    cfg = TrainConfig(data_dir=str(data_dir), out="", train_limit=1500, dev_limit=0)
    data = load_data(cfg, log=lambda message: None)
    vocab, items = data.vocab, data.prepared.items
    model = NeuralProgrammer(cfg.model_config(len(vocab)))
    model.train()
    opt = make_optimizer(model, cfg)
    stream = batches(items, cfg.batch_size, random.Random(0))
    collated: dict = {}
    warm_up = -(-len(items) // cfg.batch_size)  # one pass: every batch collated once
    seen, t0 = 0, None
    for step in range(steps + warm_up):
        if step == warm_up:
            seen, t0 = 0, time.perf_counter()
        chunk = next(stream)
        train_step(model, model, opt, cfg, *training_tensors(chunk, "cpu", cfg.mml_weight > 0, collated))
        seen += len(chunk)
    return {"examples_per_second": seen / (time.perf_counter() - t0), "steps": steps}


TRAIN_ROW = "training throughput (shipped configuration, batch 64; steady state, batches collated once)"


def bench_train(data_dir: Path) -> list[tuple[str, str]]:
    """The training row, measured in a fresh process as ``nprog train`` runs (not in the bench's own
    process, which has just built million-row tables: there the same steps ran 3–10 % slower)."""
    proc = subprocess.run(
        [sys.executable, "-m", "nprog.app.bench.suite", "--train-one", str(data_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    if proc.returncode != 0:
        return [(TRAIN_ROW, f"failed: {proc.stderr.strip().splitlines()[-1:]}")]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return [(TRAIN_ROW, f"{r['examples_per_second']:.0f} examples/s")]


def _number(text: str) -> float | None:
    m = re.match(r"[\d.,]+", text)
    return float(m.group().replace(",", "")) if m else None


def ratios(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """nprog ÷ TAPAS rows, from measurements of the same run: throughput per batch size, latency p50."""
    ours = {name: value for name, value in rows if not name.startswith("TAPAS")}
    theirs = {name.split(") ", 1)[-1]: value for name, value in rows if name.startswith("TAPAS")}
    out = []
    for name, value in ours.items():
        if name.startswith("WTQ dev end to end, batch ") and "worker" not in name:
            other = theirs.get(name)
            a, b = _number(value), _number(other or "")
            if a and b:
                out.append(
                    (
                        f"nprog ÷ TAPAS-base-sized, {name[len('WTQ dev end to end, ') :]} throughput",
                        f"{a / b:,.0f}×",
                    )
                )
    p50 = lambda v: _number(v.split("p50 ", 1)[1]) if v and "p50 " in v else None  # noqa: E731
    a = p50(ours.get("TableQA.ask latency, 50-row table, warm"))
    b = p50(theirs.get("ask latency, 50-row table, warm"))
    if a and b:
        out.append(
            (
                "TAPAS-base-sized ÷ nprog, p50 latency on the 50-row table",
                f"{b / a:,.0f}× (nprog answers that many times sooner)",
            )
        )
    return out


def targets(rows: list[tuple[str, str]], encoder: bool = False) -> list[tuple[str, str]]:
    """The issues' numbers, checked against this run's rows (only those the run measured); ``encoder``: the
    model reads with a pretrained encoder, whose batch and latency targets are issue #19's (≥ 200
    questions/s, p50 ≤ 30 ms) rather than the LSTM model's (≥ 500 questions/s, p50 ≤ 20 ms)."""
    values = dict(rows)
    least_qps, most_p50 = (200, 30) if encoder else (500, 20)
    verdict = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    out = []
    batches = {
        name: _number(v)
        for name, v in values.items()
        if name.startswith("WTQ dev end to end, batch ") and "worker" not in name
    }
    if batches:
        name, best = max(batches.items(), key=lambda kv: kv[1] or 0)
        out.append(
            (
                f"target: WTQ dev ≥ {least_qps} questions/s",
                f"{best:,.0f} questions/s ({name[len('WTQ dev end to end, ') :]}): {verdict(best >= least_qps)}",
            )
        )
    ratios_ = {name: _number(v) for name, v in values.items() if name.startswith("nprog ÷ TAPAS")}
    if ratios_:
        name, worst = min(ratios_.items(), key=lambda kv: kv[1] or 0)
        out.append(
            (
                "target: ≥ 50× the TAPAS-base-sized throughput at every batch size",
                f"{worst:,.0f}× at the lowest ({name.split(', ', 1)[1]}): {verdict(worst >= 50)}",
            )
        )
    latency = values.get("TableQA.ask latency, 50-row table, warm", "")
    if "p50 " in latency:
        p50 = _number(latency.split("p50 ", 1)[1])
        out.append(
            (
                f"target: p50 latency ≤ {most_p50} ms on a 50-row table",
                f"{p50:.1f} ms: {verdict(p50 <= most_p50)}",
            )
        )
    training = values.get(TRAIN_ROW, "")
    if training and not training.startswith("failed"):
        speed = _number(training)
        out.append(
            ("target: training ≥ 1,000 examples/s", f"{speed:,.0f} examples/s: {verdict(speed >= 1000)}")
        )
    pipeline = next((v for k, v in values.items() if k.startswith("pipeline qa(table=df")), "")
    batch64 = values.get("WTQ dev end to end, batch 64", "")
    if pipeline:
        speed = _number(pipeline)
        ratio = f", {speed / _number(batch64):.2f}× the batch path (batch 64)" if batch64 else ""
        ok = speed >= 500 and (not batch64 or speed >= 0.7 * _number(batch64))
        out.append(
            (
                "target: pipeline call on WTQ dev by table ≥ 500 questions/s and ≥ 0.7× the batch path",
                f"{speed:,.0f} questions/s{ratio}: {verdict(ok)}",
            )
        )
    typed = next((v for k, v in values.items() if k.startswith("ask(typed DataFrame) on 1,000,000 rows")), "")
    if "peak RSS" in typed:
        total, peak = _number(typed), _number(typed.split("peak RSS ", 1)[1])
        out.append(
            (
                "target: ask on the 1,000,000-row typed DataFrame ≤ 1.0 s with the build, ≤ 2 GiB",
                f"{total:.2f} s, {peak / 1024:.2f} GiB peak: {verdict(total <= 1.0 and peak <= 2048)}",
            )
        )
    for name, limit in (("start-up: nprog --help", 0.3), ("start-up: cold nprog ask, one question", 1.5)):
        if "× the torch import" in values.get(name, ""):
            times = _number(values[name].split("(", 1)[1])
            out.append(
                (
                    f"target: {name.split(': ', 1)[1]} ≤ {limit}× the torch import",
                    f"{times:.2f}×: {verdict(times <= limit)}",
                )
            )
    million = values.get("ask(DataFrame) on 1,000,000 rows x 10 columns", "")
    if "peak RSS" in million:
        total, peak = _number(million), _number(million.split("peak RSS ", 1)[1])
        out.append(
            (
                "target: a 1,000,000-row table answered in ≤ 2 s and ≤ 4 GiB",
                f"{total:.2f} s from the DataFrame, {peak / 1024:.2f} GiB peak: "
                f"{verdict(total <= 2 and peak <= 4096)}",
            )
        )
    return out


def run_bench(args) -> int:
    import torch

    from nprog.qa import TableQA

    torch.set_num_threads(os.cpu_count() or 1)
    parts = (
        [args.only]
        if args.only
        else ["tables", "latency", "throughput", "api", "scaling", "startup", "train", "tapas"]
    )
    rows: list[tuple[str, str]] = []
    data_dir = Path(args.data_dir) if args.data_dir else None
    qa = (
        TableQA.load(args.model, device=args.device)
        if set(parts) & {"latency", "throughput", "api"}
        else None
    )
    for part in parts:
        if part == "tables":
            rows += bench_tables()
        elif part == "latency":
            rows += bench_latency(qa)
        elif part == "throughput" and data_dir:
            rows += bench_throughput(qa, data_dir, model=args.model, device=args.device)
        elif part == "api":
            if data_dir:
                if "throughput" not in parts:  # the batch path beside it, from this run
                    rows += bench_throughput(qa, data_dir, sizes=(64,), workers=False)
                rows += bench_api(qa, data_dir)
            rows += bench_typed(args.model, device=args.device)
        elif part == "startup":
            rows += bench_startup(args.model)
        elif part == "scaling":
            rows += bench_scaling(args.model, device=args.device)
        elif part == "train" and data_dir:
            rows += bench_train(data_dir)
        elif part == "tapas" and data_dir:
            from nprog.app.bench.tapas import bench_tapas

            rows += bench_tapas(data_dir)
        for name, value in rows[-4:]:
            print(f"  … {name}: {value}", file=sys.stderr, flush=True)
    rows += ratios(rows)
    rows += targets(rows, encoder=qa is not None and qa.pieces is not None)
    width = max(len(r[0]) for r in rows) if rows else 10
    lines = [f"machine: {_machine()}", f"{'measure':<{width}} | result", f"{'-' * width}-|-------"]
    lines += [f"{name:<{width}} | {value}" for name, value in rows]
    print("\n".join(lines))
    out = ROOT / "bench" / "results.md"
    out.parent.mkdir(exist_ok=True)
    md = [
        f"# nprog bench ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {_machine()}",
        "",
        "| measure | result |",
        "|---|---|",
    ] + [f"| {a} | {b} |" for a, b in rows]
    if args.only:  # one part, of one model: its own file beside the full run's
        model = f"-{Path(args.model).name}" if args.model else ""
        out = out.with_name(f"results-{args.only}{model}.md")
    out.write_text("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":  # the fresh-process rows: bench_scaling's sizes, bench_typed, bench_train
    import argparse

    p = argparse.ArgumentParser()
    one = p.add_mutually_exclusive_group(required=True)
    one.add_argument("--scaling-one", type=int)
    one.add_argument("--typed-one", type=int)
    one.add_argument("--train-one", type=Path)
    p.add_argument("--model", default=None)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    if a.train_one:
        print(json.dumps(_train_one(a.train_one)))
    elif a.typed_one:
        print(json.dumps(_typed_one(a.typed_one, a.model, a.device)))
    else:
        print(json.dumps(_scaling_one(a.scaling_one, a.model, a.device)))
