"""`nprog batch` loses nothing and destroys nothing: resume by position, our own files only, one writer.

A question file may repeat ids and mix bad rows with good ones; a run killed at any point and resumed
must write the same file as a run that was never interrupted, row for row. The questions file is never
the output, a second run on the same --out is refused, and bad flags exit 2 with one line naming the
flag (and the valid choices).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nprog.app.cli import UserError, main
from nprog.app.commands.batch import HEADER, run_batch

TABLES = {
    "csv/1-csv/0.csv": "Nation,Gold\nNorway,16\nGermany,12\nSweden,3\n",
    "csv/1-csv/1.csv": "City,Year,Visitors\nOslo,1990,300\nRome,1992,500\nLima,1990,120\n",
}
QUESTIONS = ["which nation won the most gold?", "how many cities are there?", "which city had 500 visitors?"]
# rows that must fail on their own: a missing table, a path out of the root, NUL bytes, a name too long, empty
BAD = ["csv/1-csv/9.csv", "/etc/passwd", "csv/1-csv/\x00.csv", "csv/1-csv/" + "x" * 5000 + ".csv"]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("batch_root")
    for name, text in TABLES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def write_questions(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text(
        "id\tutterance\tcontext\n" + "".join(f"{i}\t{q}\t{c}\n" for i, q, c in rows), encoding="utf-8"
    )
    return path


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, (code, err)
    assert err.startswith("nprog: ") and len(err.strip().splitlines()) == 1, err
    assert "internal error" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


@pytest.fixture
def questions(tmp_path, root) -> Path:
    return write_questions(
        tmp_path / "q.tsv", [("a", QUESTIONS[0], "csv/1-csv/0.csv"), ("b", QUESTIONS[1], "csv/1-csv/1.csv")]
    )


# ---- flags: exit 2, one line naming the flag


@pytest.mark.parametrize("size", ["0", "-5"])
def test_batch_size_below_one_is_refused_and_writes_nothing(questions, root, tmp_path, capsys, size):
    out = tmp_path / "p.tsv"
    out.write_text("keep me\n")
    code, _, err = cli(
        capsys, "batch", str(questions), "--tables-root", str(root), "--out", str(out), "--batch-size", size
    )
    assert_user_error(code, err, f"--batch-size must be at least 1, not {size}")
    assert out.read_text() == "keep me\n"


def test_unknown_sql_dialect_names_the_flag_and_the_choices(questions, root, tmp_path, capsys):
    code, _, err = cli(capsys, "batch", str(questions), "--tables-root", str(root), "--out", str(tmp_path / "p.tsv"),
                       "--sql", "nosuchdialect")  # fmt: skip
    assert_user_error(code, err, "--sql nosuchdialect: unknown SQL dialect", "duckdb", "postgres", "sqlite")
    assert not (tmp_path / "p.tsv").exists()
    code, _, err = cli(
        capsys, "ask", "--table", str(root / "csv/1-csv/0.csv"), "which nation?", "--sql", "nosuchdialect"
    )
    assert_user_error(code, err, "--sql nosuchdialect: unknown SQL dialect", "duckdb")


def test_out_in_a_missing_directory_or_naming_a_directory(questions, root, tmp_path, capsys):
    args = ["batch", str(questions), "--tables-root", str(root)]
    code, _, err = cli(capsys, *args, "--out", str(tmp_path / "nowhere" / "p.tsv"))
    assert_user_error(code, err, "--out", "does not exist")
    code, _, err = cli(capsys, *args, "--out", str(tmp_path))
    assert_user_error(code, err, "--out", "is a directory")


@pytest.mark.parametrize("how", ["same path", "symlink", "hard link", "relative"])
def test_the_questions_file_is_never_the_output(questions, root, tmp_path, capsys, monkeypatch, how):
    before = questions.read_bytes()
    out = {"same path": questions, "symlink": tmp_path / "link.tsv", "hard link": tmp_path / "hard.tsv",
           "relative": Path("q.tsv")}[how]  # fmt: skip
    if how == "symlink":
        out.symlink_to(questions)
    elif how == "hard link":
        os.link(questions, out)
    monkeypatch.chdir(tmp_path)
    for extra in ([], ["--resume"]):
        code, _, err = cli(
            capsys, "batch", str(questions), "--tables-root", str(root), "--out", str(out), *extra
        )
        assert_user_error(code, err, "is the questions file")
    assert questions.read_bytes() == before


def test_resume_onto_a_file_that_is_not_ours_leaves_it_alone(questions, root, tmp_path, capsys):
    for text in ["dear diary,\nnothing happened\n", HEADER + "zz\tx\ty\tz\n", "id\tanswer\n"]:
        out = tmp_path / "notes.txt"
        out.write_text(text)
        code, _, err = cli(
            capsys, "batch", str(questions), "--tables-root", str(root), "--out", str(out), "--resume"
        )
        assert_user_error(code, err, "not an unfinished nprog batch run of this question file")
        assert out.read_text() == text


def test_a_second_writer_on_the_same_out_is_refused(questions, root, tmp_path, capsys):
    out = tmp_path / "p.tsv"
    out.write_text(HEADER + "a\tNorway\tprint\tSELECT\n")
    with open(out, "a") as running:  # what a run in progress holds
        fcntl.flock(running.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        for extra in ([], ["--resume"]):
            code, _, err = cli(
                capsys, "batch", str(questions), "--tables-root", str(root), "--out", str(out), *extra
            )
            assert_user_error(code, err, "another nprog batch is writing this file")
    assert out.read_text() == HEADER + "a\tNorway\tprint\tSELECT\n"
    code, _, err = cli(capsys, "batch", str(questions), "--tables-root", str(root), "--out", str(out))
    assert code == 0, err  # the lock went with the other run


# ---- bad rows cost their own row; odd line separators are not line ends


def test_bad_rows_get_their_error_in_their_own_row(root, tmp_path, capsys):
    rows = [("g1", QUESTIONS[0], "csv/1-csv/0.csv")] + [(f"b{k}", QUESTIONS[0], c) for k, c in enumerate(BAD)]
    rows += [
        ("e1", "\x00\x01\x02\x1b", "csv/1-csv/0.csv"),
        ("e2", "\u200b\u200c\u200d\ufeff", "csv/1-csv/0.csv"),
    ]
    rows += [("g2", QUESTIONS[2], "csv/1-csv/1.csv")]
    questions = write_questions(tmp_path / "q.tsv", rows)
    loop = root / "csv" / "1-csv" / "loop.csv"
    if not loop.is_symlink():
        loop.symlink_to(loop)
    with questions.open("a") as f:
        f.write(f"b9\t{QUESTIONS[0]}\tcsv/1-csv/loop.csv\n")
    out = tmp_path / "p.tsv"
    code, _, err = cli(capsys, "batch", str(questions), "--tables-root", str(root), "--out", str(out))
    assert code == 0, err
    assert "internal error" not in err
    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines[0] + "\n" == HEADER and lines[-1] == ""
    by_id = {line.split("\t")[0]: line.split("\t") for line in lines[1:-1]}
    assert list(by_id) == ["g1", "b0", "b1", "b2", "b3", "e1", "e2", "g2", "b9"]
    assert all(len(r) == 4 for r in by_id.values())
    assert by_id["g1"][1] == "Norway" and by_id["g2"][1] == "Rome"
    for qid in ("b0", "b1", "b2", "b3", "b9"):
        assert by_id[qid][2].startswith("ERROR: ") and by_id[qid][1] == "", by_id[qid]
    assert "escapes the tables root" in by_id["b1"][2]
    assert "symbolic link loop" in by_id["b9"][2]
    for qid in ("e1", "e2"):
        assert by_id[qid][2] == "ERROR: the question is empty"


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c", "\x1d", "\x1e"])
def test_questions_holding_unicode_line_separators_are_read_whole(root, tmp_path, capsys, separator):
    rows = [
        ("a", f"which nation{separator} won the most gold?", "csv/1-csv/0.csv"),
        ("b", QUESTIONS[1], "csv/1-csv/1.csv"),
    ]
    questions = write_questions(tmp_path / "q.tsv", rows)
    out = tmp_path / "p.tsv"
    code, _, err = cli(capsys, "batch", str(questions), "--tables-root", str(root), "--out", str(out))
    assert code == 0, err
    lines = out.read_text(encoding="utf-8").split("\n")[1:-1]
    assert [line.split("\t")[0] for line in lines] == ["a", "b"]
    assert not any("ERROR" in line for line in lines), lines


# ---- killed at any point and resumed == never interrupted


def _args(questions: Path, root: Path, out: Path, resume: bool) -> argparse.Namespace:
    return argparse.Namespace(questions=str(questions), tables_root=str(root), out=str(out), sql="duckdb",
                              check_sql=False, batch_size=2, resume=resume, workers=1, model=None, device="cpu")  # fmt: skip


ROW = st.tuples(
    st.sampled_from(["a", "b", "a-1", "x"]),  # few ids: they repeat
    st.sampled_from([*QUESTIONS, "", "\u200b"]),
    st.sampled_from([*TABLES, *BAD[:3]]),
)


class Interrupted(Exception):
    pass


@pytest.mark.timeout(600)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(ROW, min_size=1, max_size=9), cut=st.floats(0, 1), mode=st.sampled_from(["torn", "stopped"])
)
def test_a_run_killed_anywhere_and_resumed_equals_a_clean_run(qa, root, capsys, monkeypatch, rows, cut, mode):
    import nprog.app.commands.batch as batch

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        questions = write_questions(tmp / "q.tsv", rows)
        clean = tmp / "clean.tsv"
        assert run_batch(_args(questions, root, clean, False), lambda a: qa, UserError) == 0
        expected = clean.read_bytes()
        assert expected.count(b"\n") == len(rows) + 1  # one row per question, repeated ids and all
        out = tmp / "out.tsv"
        if mode == "torn":  # kill -9 mid-write: any prefix of the clean file
            out.write_bytes(expected[: round(cut * len(expected))])
        else:  # the process stops after k rows (Ctrl-C, a crash): the writer closes what it wrote
            stop_after = round(cut * len(rows))
            real_rows = batch._rows

            def stopping(*a, **kw):
                for k, row in enumerate(real_rows(*a, **kw)):
                    if k == stop_after:
                        raise Interrupted
                    yield row

            with monkeypatch.context() as m:
                m.setattr(batch, "_rows", stopping)
                try:
                    run_batch(_args(questions, root, out, False), lambda a: qa, UserError)
                except Interrupted:
                    pass
        assert run_batch(_args(questions, root, out, True), lambda a: qa, UserError) == 0
        assert out.read_bytes() == expected
    capsys.readouterr()
