"""Every file a question file makes nprog open stays under --tables-root and is a regular file.

WTQ names ``csv/N-csv/M.csv`` and reads its ``.tsv`` twin in its place: a twin that is a symbolic link
to a file outside the root must not put that file into predictions or program text, a FIFO twin must
not hang, and a bad row costs its own row only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nprog import wtq
from nprog.tables import TableError

ROOT = Path(__file__).resolve().parents[2]
SECRET = "TOPSECRET-7f3a"
HARMLESS = "Nation,Gold\nNorway,16\nGermany,12\n"


@pytest.fixture
def tables_root(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.tsv").write_text(f"Nation\tGold\n{SECRET}\t99\n")
    (outside / "secret.csv").write_text(f"Nation,Gold\n{SECRET},99\n")
    root = tmp_path / "root"
    tables = root / "csv" / "200-csv"
    tables.mkdir(parents=True)
    for name in ("0", "1", "2", "3", "4", "5"):
        (tables / f"{name}.csv").write_text(HARMLESS)
    (tables / "0.tsv").symlink_to(outside / "secret.tsv")  # the reported hole: a symlinked twin
    (tables / "1.tsv").symlink_to("../../../outside/secret.tsv")  # relative form of the same
    os.mkfifo(tables / "2.tsv")  # would block a plain open() forever
    (tables / "3.tsv").symlink_to(tables / "3.tsv")  # a loop
    (tables / "4.tsv").symlink_to(tables / "4-inside.tsv")  # a link that stays inside is fine
    (tables / "4-inside.tsv").write_text("Nation\tGold\nSweden\t3\n")
    (tables / "6.csv").symlink_to(outside / "secret.csv")  # the .csv itself escaping (held before too)
    return root


@pytest.mark.parametrize("context", ["csv/200-csv/0.csv", "csv/200-csv/1.csv", "csv/200-csv/6.csv"])
def test_a_twin_or_table_outside_the_root_is_refused(tables_root, context):
    with pytest.raises(TableError, match="escapes the tables root"):
        wtq.load_table(tables_root, context, cache=False)


def test_a_fifo_twin_is_refused_without_hanging(tables_root):
    with pytest.raises(TableError, match="not a regular file"):
        wtq.load_table(tables_root, "csv/200-csv/2.csv", cache=False)


@pytest.mark.parametrize(
    "context", ["csv/200-csv/3.csv", "csv/200-csv/\x00.csv", "csv/200-csv/" + "x" * 5000 + ".csv"]
)
def test_loops_nul_bytes_and_long_names_are_table_errors(tables_root, context):
    with pytest.raises(TableError):
        wtq.load_table(tables_root, context, cache=False)


def test_links_inside_the_root_and_plain_tables_still_load(tables_root):
    assert wtq.load_table(tables_root, "csv/200-csv/4.csv", cache=False).column(
        "Nation"
    ).strings.to_pylist() == ["Sweden"]
    assert wtq.load_table(tables_root, "csv/200-csv/5.csv", cache=False).n_rows == 2


def test_batch_never_prints_a_file_outside_the_root_and_keeps_the_good_rows(
    tables_root, shipped_model, tmp_path
):
    rows = [f"q{n}\twhich nation won the most gold?\tcsv/200-csv/{n}.csv\tNorway" for n in range(7)]
    questions = tmp_path / "questions.tsv"
    questions.write_text("id\tutterance\tcontext\ttargetValue\n" + "\n".join(rows) + "\n")
    out = tmp_path / "predictions.tsv"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nprog.app.cli",
            "batch",
            str(questions),
            "--tables-root",
            str(tables_root),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    written = out.read_text()
    assert SECRET not in written and SECRET not in proc.stdout and SECRET not in proc.stderr
    lines = written.splitlines()[1:]
    assert len(lines) == 7  # every row answered or given its own error
    by_id = {line.split("\t")[0]: line for line in lines}
    assert "escapes the tables root" in by_id["q0"] and "escapes the tables root" in by_id["q1"]
    assert "not a regular file" in by_id["q2"]
    assert "\tNorway" in by_id["q5"]
