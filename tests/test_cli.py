"""The `nprog` command line end to end: answers, JSON keys, errors as one line with exit code 2."""

import json
import re
import subprocess
import sys

import pytest

from app.cli import main
from tests.conftest import SAMPLES


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_prints_program_and_answer_last(capsys, tiny_model_dir):
    code, out, err = run(capsys, "ask", "--table", str(SAMPLES / "medals.csv"), "--model", str(tiny_model_dir),
                         "which nation won the most gold?")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("1. ") and len(lines) >= 2
    assert re.fullmatch(r"answer: .* \(confidence [01]\.\d\d\)(  \[low confidence — this is a guess\])?", lines[-1])


@pytest.mark.parametrize(("threshold", "guess"), [(1.0, True), (0.0, False)])
def test_ask_says_when_the_answer_is_a_guess(capsys, tiny_model_dir, tmp_path, threshold, guess):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    card = json.loads((model / "card.json").read_text())
    (model / "card.json").write_text(json.dumps({**card, "calibration": {"a": 1.0, "b": 0.0, "threshold": threshold}}))
    code, out, _ = run(capsys, "ask", "--table", str(SAMPLES / "medals.csv"), "--model", str(model), "which nation won?")
    last = out.strip().splitlines()[-1]
    assert code == 0 and last.startswith("answer: ") and ("low confidence — this is a guess" in last) == guess
    code, out, _ = run(capsys, "ask", "--table", str(SAMPLES / "medals.csv"), "--model", str(model), "--json", "which nation won?")
    assert json.loads(out)["confident"] is (not guess)


def test_ask_json_has_the_contract_keys(capsys, tiny_model_dir):
    code, out, _ = run(capsys, "ask", "--table", str(SAMPLES / "planets.csv"), "--model", str(tiny_model_dir),
                       "--json", "how many planets have rings?")
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
    code, stdout, _ = run(capsys, "batch", str(questions), "--tables-root", str(root), "--out", str(out),
                          "--model", str(tiny_model_dir))
    assert code == 0 and stdout.strip().splitlines()[-1].startswith("accuracy: ")
    full = out.read_text().splitlines()
    assert full[0] == "id\tanswer\tprogram\tsql" and len(full) == 8
    assert "ERROR" in full[-1]
    # interrupt: keep the header, three lines and a torn fourth; resume must give the same file
    out.write_text("\n".join(full[:4]) + "\n" + full[4][:5])
    code, stdout, _ = run(capsys, "batch", str(questions), "--tables-root", str(root), "--out", str(out),
                          "--model", str(tiny_model_dir), "--resume")
    assert code == 0 and out.read_text().splitlines() == full


def test_data_stats(capsys, wtq_dir, tmp_path):
    code, out, _ = run(capsys, "data", "stats", "--data-dir", str(wtq_dir), "--split", "dev")
    assert code == 0 and "lookup-word" in out and "unreachable" in out


def test_console_script_has_no_traceback_for_bad_input(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01\x02" * 100)
    proc = subprocess.run([sys.executable, "-m", "app.cli", "ask", "--table", str(bad), "q"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "binary" in proc.stderr and "Traceback" not in proc.stderr
