"""The `nprog` command line end to end: answers, JSON keys, errors as one line with exit code 2."""

import json
import re
import subprocess
import sys

import pytest

from nprog.app.cli import main
from tests.conftest import ROOT, SAMPLES


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_prints_program_and_answer_last(capsys, tiny_model_dir):
    code, out, err = run(
        capsys,
        "ask",
        "--table",
        str(SAMPLES / "medals.csv"),
        "--model",
        str(tiny_model_dir),
        "which nation won the most gold?",
    )
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("1. ") and len(lines) >= 2
    assert re.fullmatch(
        r"answer: .* \(confidence [01]\.\d\d\)(  \[low confidence — this is a guess\])?", lines[-1]
    )


@pytest.mark.parametrize(("threshold", "guess"), [(1.0, True), (0.0, False)])
def test_ask_says_when_the_answer_is_a_guess(capsys, tiny_model_dir, tmp_path, threshold, guess):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    card = json.loads((model / "card.json").read_text())
    (model / "card.json").write_text(
        json.dumps({**card, "calibration": {"a": 1.0, "b": 0.0, "threshold": threshold}})
    )
    code, out, _ = run(
        capsys, "ask", "--table", str(SAMPLES / "medals.csv"), "--model", str(model), "which nation won?"
    )
    last = out.strip().splitlines()[-1]
    assert code == 0 and last.startswith("answer: ") and ("low confidence — this is a guess" in last) == guess
    code, out, _ = run(
        capsys,
        "ask",
        "--table",
        str(SAMPLES / "medals.csv"),
        "--model",
        str(model),
        "--json",
        "which nation won?",
    )
    assert json.loads(out)["confident"] is (not guess)


def test_ask_json_has_the_contract_keys(capsys, tiny_model_dir):
    code, out, _ = run(
        capsys,
        "ask",
        "--table",
        str(SAMPLES / "planets.csv"),
        "--model",
        str(tiny_model_dir),
        "--json",
        "how many planets have rings?",
    )
    assert code == 0
    data = json.loads(out)
    assert {"answer", "coordinates", "cells", "aggregator", "program", "sql", "display"} <= set(data)


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["ask", "--table", "nope.csv", "q"], "nope.csv"),
        (["ask", "--table", str(SAMPLES / "medals.csv"), ""], "empty"),
        (["ask", "--table", str(SAMPLES / "medals.csv"), "x" * 5000], "limit"),
        (["evaluate", "--data-dir", "/nonexistent", "--split", "dev"], "not a WikiTableQuestions directory"),
        (["batch", "missing.tsv", "--tables-root", "."], "missing.tsv"),
        (["ask", "--table", str(SAMPLES / "medals.csv"), "--model", "/no/such/model", "q"], "no such model"),
    ],
)
def test_user_errors_are_one_line_exit_2(capsys, tiny_model_dir, argv, fragment):
    if "--model" not in argv:
        argv = [*argv, "--model", str(tiny_model_dir)] if argv[0] in ("ask", "batch") else argv
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert fragment in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_batch_writes_predictions_and_resumes(tmp_path, capsys, tiny_model_dir):
    root = tmp_path / "tables"
    (root / "csv").mkdir(parents=True)
    (root / "csv" / "medals.csv").write_text((SAMPLES / "medals.csv").read_text())
    questions = tmp_path / "q.tsv"
    rows = ["id\tutterance\tcontext\ttargetValue"]
    rows += [f"q{i}\thow many nations won more than {i} gold?\tcsv/medals.csv\t{i}" for i in range(6)]
    rows += ["bad\twhat?\tcsv/missing.csv\tx"]
    questions.write_text("\n".join(rows) + "\n")
    out = tmp_path / "pred.tsv"
    argv = [
        "batch",
        str(questions),
        "--tables-root",
        str(root),
        "--out",
        str(out),
        "--model",
        str(tiny_model_dir),
    ]
    code, stdout, _ = run(capsys, *argv)
    assert code == 0 and stdout.strip().splitlines()[-1].startswith("accuracy: ")
    full = out.read_text().splitlines()
    assert full[0] == "id\tanswer\tprogram\tsql" and len(full) == 8
    assert "ERROR" in full[-1]
    # interrupt: keep the header, three lines and a torn fourth; resume must give the same file
    out.write_text("\n".join(full[:4]) + "\n" + full[4][:5])
    code, stdout, _ = run(capsys, *argv, "--resume")
    assert code == 0 and out.read_text().splitlines() == full


@pytest.mark.slow  # runs in the CI's slow step (.ci/run), not the README's quick command
def test_data_stats(capsys, wtq_dir, tmp_path):
    code, out, _ = run(capsys, "data", "stats", "--data-dir", str(wtq_dir), "--split", "dev")
    assert code == 0 and "lookup-word" in out and "unreachable" in out


def test_console_script_has_no_traceback_for_bad_input(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01\x02" * 100)
    proc = subprocess.run(
        [sys.executable, "-m", "nprog.app.cli", "ask", "--table", str(bad), "q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "binary" in proc.stderr and "Traceback" not in proc.stderr


def test_ask_answers_several_questions_and_stdin_in_order(capsys, monkeypatch, tiny_model_dir):
    import io

    from nprog.qa import TableQA

    table = str(SAMPLES / "medals.csv")
    asked = [
        "which nation won the most gold?",
        "how many nations won more than 5 gold medals?",
        "what is the total?",
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{asked[1]}\n\n  \n{asked[2]}\n"))
    code, out, err = run(
        capsys, "ask", "--table", table, "--model", str(tiny_model_dir), "--json", asked[0], "-"
    )
    assert code == 0 and not err
    rows = [json.loads(line) for line in out.strip().splitlines()]  # JSON lines, one per question
    assert [r["question"] for r in rows] == asked
    qa = TableQA.load(tiny_model_dir, device="cpu")
    for row, question in zip(rows, asked, strict=True):  # the same answers as one question at a time
        one = qa.ask(table, question)
        assert (row["answer"], row["program"], row["sql"]) == (
            one.answer,
            str(one.program),
            one.sql("duckdb"),
        )
    code, out, _ = run(capsys, "ask", "--table", table, "--model", str(tiny_model_dir), *asked[:2])
    assert code == 0 and [line for line in out.splitlines() if line.startswith("Q: ")] == [
        f"Q: {q}" for q in asked[:2]
    ]


@pytest.mark.parametrize(
    ("stdin", "fragment"), [("\n \n", "stdin: no questions"), ("ok?\n" + "x" * 5000, "question 3:")]
)
def test_ask_with_a_bad_question_among_many_says_which_and_answers_none(
    capsys, monkeypatch, tiny_model_dir, stdin, fragment
):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code, out, err = run(
        capsys, "ask", "--table", str(SAMPLES / "medals.csv"), "--model", str(tiny_model_dir), "fine?", "-"
    )
    assert code == 2 and out == "" and fragment in err and len(err.strip().splitlines()) == 1


def test_help_argument_errors_and_data_stats_never_import_torch_or_matplotlib(tmp_path):
    """Start-up: only `ask`, `batch`, `evaluate`, `train`, `bench`, `memory` and `ui` need the heavy libraries."""
    from tests.tiny_wtq import write_tiny_wtq

    root = write_tiny_wtq(tmp_path / "wtq")
    probe = (
        "import sys\n"
        "from app.cli import main\n"
        "try:\n"
        "    code = main(sys.argv[1:])\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        "print('heavy:', sorted(m for m in ('torch', 'matplotlib', 'sqlglot', 'transformers') if m in sys.modules), code)\n"
    )
    for argv, code in (
        (["--help"], 0),
        (["ask", "--table"], 2),
        (["ask", "--frobnicate"], 2),
        (["memory", "--help"], 0),
        (["data", "stats", "--data-dir", str(root), "--split", "dev"], 0),
        (["ask", "--table", str(tmp_path / "missing.csv"), "q"], 2),
    ):
        proc = subprocess.run(
            [sys.executable, "-c", probe, *argv], capture_output=True, text=True, cwd=ROOT, timeout=120
        )
        assert proc.stdout.strip().splitlines()[-1] == f"heavy: [] {code}", (argv, proc.stdout, proc.stderr)


def test_ask_imports_only_what_answering_needs(tiny_model_dir):
    probe = "import sys\nfrom app.cli import main\ncode = main(sys.argv[1:])\nprint('heavy:', sorted(m for m in ('torch', 'matplotlib', 'sqlglot', 'transformers', 'streamlit') if m in sys.modules), code)\n"
    argv = ["ask", "--table", str(SAMPLES / "medals.csv"), "--model", str(tiny_model_dir), "who won?"]
    proc = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.stdout.strip().splitlines()[-1] == "heavy: ['torch'] 0", (
        proc.stderr
    )  # SQL only with --sql / --json


def test_the_memory_parser_names_every_task():
    from nprog.app.memory_demos.args import TASK_NAMES
    from nprog.memory.tasks import TASKS

    assert TASK_NAMES == tuple(TASKS)
