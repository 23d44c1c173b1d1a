"""Costs that must stay proportional to the input: memory for reading a table, time for naming columns.

Reading a table reserved a 2 GiB buffer, so under an address-space limit (``ulimit -v``, usual on shared
servers and in containers) the second table of a batch failed with MemoryError although both were tiny.
Renaming duplicate column names was quadratic (8,000 equal names took 29 s).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nprog.readers import MAX_COLUMNS, TableError, parse_csv_text
from nprog.tables import _unique_names

ROOT = Path(__file__).resolve().parents[2]
ADDRESS_SPACE = 3 * 1024**3  # the CLI with torch maps ~2.2 GiB: a 2 GiB reservation on top fails


@pytest.mark.timeout(180)
def test_a_batch_of_two_tiny_tables_works_under_an_address_space_limit(tmp_path):
    for n, (nation, gold) in enumerate([("Norway", 16), ("Germany", 12)]):
        (tmp_path / "csv" / "1-csv").mkdir(parents=True, exist_ok=True)
        (tmp_path / "csv" / "1-csv" / f"{n}.csv").write_text(f"Nation,Gold\n{nation},{gold}\nSweden,3\n")
    questions = tmp_path / "q.tsv"
    questions.write_text("id\tutterance\tcontext\n"
                         "a\twhich nation won the most gold?\tcsv/1-csv/0.csv\n"
                         "b\twhich nation won the most gold?\tcsv/1-csv/1.csv\n")  # fmt: skip
    out = tmp_path / "p.tsv"
    done = subprocess.run(
        [sys.executable, "-m", "nprog.app.cli", "batch", str(questions), "--tables-root", str(tmp_path), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=170,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE)),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "MemoryError" not in done.stderr and "internal error" not in done.stderr
    rows = [line.split("\t") for line in out.read_text().splitlines()[1:]]
    assert [(r[0], r[1]) for r in rows] == [("a", "Norway"), ("b", "Germany")]


def test_renaming_30000_duplicate_names_is_linear():
    started = time.perf_counter()
    names = _unique_names(["score"] * 30_000)
    assert time.perf_counter() - started < 2  # was quadratic: 8,000 names took 29 s
    assert names[:3] == ["score", "score (2)", "score (3)"] and names[-1] == "score (30000)"
    assert len(set(names)) == 30_000


def test_renaming_keeps_its_rules_with_the_shortcut():
    # a name already taken by an earlier "x (2)" is skipped, case aside; empty names get their position
    assert _unique_names(["a", "A (2)", "a", "a", "A", "b (2)", "b", "b", "", " "]) == [
        "a", "A (2)", "a (3)", "a (4)", "A (5)", "b (2)", "b", "b (3)", "column_9", "column_10",
    ]  # fmt: skip


def test_a_header_too_wide_is_refused_before_parsing():
    header = ",".join(f"c{j}" for j in range(200_000))
    started = time.perf_counter()
    with pytest.raises(TableError, match=r"200,000 columns, over the 16,384 column limit"):
        parse_csv_text(header + "\n" + "1," * 199_999 + "1\n", "wide.csv")
    assert time.perf_counter() - started < 2
    assert MAX_COLUMNS == 16_384
