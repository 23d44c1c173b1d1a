"""Concurrency: one loaded TableQA shared by many threads answers exactly as sequential calls do.

This is how the UI uses it: Streamlit runs each session's script in its own thread, and the model and the
sample tables are shared between sessions (st.cache_resource). So the threads here share one TableQA and
the same Table objects (whose lazily cached sort orders and features they fill in concurrently), start
together at a barrier, and ask in different orders.

Two headless Streamlit sessions in threads are not tested: AppTest installs a process-global mock Runtime
for the length of each run (``Runtime._instance``), so two AppTests cannot run at once in one process.
"""

from __future__ import annotations

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from ui_fixtures import choose_model

from nprog.qa import Answer, TableQA
from nprog.tables import Table

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
THREADS = 8
OVERLAP = 2  # each thread also asks its neighbour's first questions, so some are asked in two at once


@pytest.fixture(scope="module")
def qa(tiny_model_dir) -> TableQA:
    """The shipped model when present (varied programs), else the untrained tiny one: only sameness counts."""
    return TableQA.load(choose_model(fallback=tiny_model_dir), device="cpu")


@pytest.fixture(scope="module")
def questions() -> list[tuple[str, str]]:
    data = json.loads((SAMPLES / "questions.json").read_text())
    return [(name, q) for name, qs in data.items() for q in qs]


def signature(a: Answer) -> tuple:
    """Everything a caller reads, exactly (confidence included: the same computation, bit for bit)."""
    return (
        tuple(a.answer),
        a.aggregator,
        tuple(a.coordinates),
        tuple(a.cells),
        a.program.to_json(),
        a.sql("duckdb"),
        a.confidence,
    )


def run_together(n: int, work) -> list:
    """Runs work(k) for k < n in n threads released together by a barrier; re-raises any thread's error."""
    barrier = threading.Barrier(n)

    def start(k: int):
        barrier.wait(timeout=60)
        return work(k)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(start, range(n)))


def test_threads_sharing_a_model_and_tables_answer_as_sequential_calls(qa, questions):
    sequential = {(name, q): signature(qa.ask(Table.from_csv(SAMPLES / name), q)) for name, q in questions}
    shared = {
        name: Table.from_csv(SAMPLES / name) for name in {name for name, _ in questions}
    }  # fresh caches

    share = -(-len(questions) // THREADS)  # thread k starts at question k·share: together they cover all

    def work(k: int) -> list[tuple[tuple[str, str], tuple]]:
        mine = [questions[(k * share + i) % len(questions)] for i in range(share + OVERLAP)]
        return [((name, q), signature(qa.ask(shared[name], q))) for name, q in mine]

    results = [item for thread in run_together(THREADS, work) for item in thread]
    assert len(results) == THREADS * (share + OVERLAP)
    assert {key for key, _ in results} == set(sequential)  # every question was asked in some thread
    for key, got in results:
        assert got == sequential[key], key


def test_threads_batching_questions_and_reading_their_own_tables_agree(qa, questions):
    """The pipeline call with a list of queries, from threads that each read their table from the CSV."""
    by_table: dict[str, list[str]] = {}
    for name, q in questions:
        by_table.setdefault(name, []).append(q)
    names = sorted(by_table)
    expected = {name: qa(table=Table.from_csv(SAMPLES / name), query=by_table[name]) for name in names}

    def work(k: int) -> tuple[str, list[dict]]:
        name = names[k % len(names)]
        return name, qa(table=SAMPLES / name, query=by_table[name])

    for name, got in run_together(2 * len(names), work):
        assert got == expected[name], name


def test_parsing_with_a_full_memo_from_many_threads(monkeypatch):
    """Forces the memo to clear on nearly every call and switches threads as often as possible: once a
    KeyError (a thread cleared the shared memo between another's inserts and reads); now values are read
    through a local dict."""
    from nprog import caches, values

    monkeypatch.setattr(caches.PARSED_STRINGS, "limit", 50)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        run_together(
            8, lambda k: [values.parse_strings([f"{k}-{i}-{j} km" for j in range(20)]) for i in range(60)]
        )
    finally:
        sys.setswitchinterval(interval)
        caches.PARSED_STRINGS.clear()
