"""Every case of the hostile-input corpus (cases.json) through the Python API, the CLI and the UI upload.

Each interface must give the case's expected outcome within its time bound: an answer (the same one
through all three), or a message naming the problem: a one-line TableError/QuestionError/DataError from
the API, exit code 2 and one line on stderr from the CLI, a friendly message and no exception in the UI.
"""

from __future__ import annotations

import html
import re
import time
import warnings
from pathlib import Path

import pytest
from hostile_cases import TABLES_ROOT, Case, error_regex, load_cases, materialize

from nprog.app.cli import _safe, main
from nprog.evaluate import predict_stream
from nprog.qa import QuestionError
from nprog.sql import check_agreement
from nprog.tables import TableError
from nprog.wtq import DataError, read_examples

CASES = load_cases()
NO_ANSWER = "(no answer: the program selected no cells)"


def params(interface: str) -> list:
    out = []
    for case in CASES:
        marks = [pytest.mark.timeout(case.seconds * 4 + 60)]  # a hang fails instead of stalling the suite
        if case.xfail and interface not in case.overrides:
            marks.append(pytest.mark.xfail(strict=True, reason=case.xfail))
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


def within(case: Case, started: float, interface: str) -> None:
    took = time.perf_counter() - started
    assert took < case.seconds, (
        f"{interface} took {took:.1f} s, over the case's bound of {case.seconds:.0f} s"
    )


def check_error(message: str | None, expected: dict, path: Path) -> None:
    assert message is not None, f"expected an error matching {expected['error']!r}, got an answer"
    assert "\n" not in message.strip(), f"the message is not one line: {message!r}"
    assert "Traceback" not in message
    assert error_regex(expected, path).search(message), f"{message!r} does not match {expected['error']!r}"


def check_values(got: list[str], expected: dict) -> None:
    if expected.get("answer") is not None:
        assert got == expected["answer"]


def check_rows(errors: dict[str, str], answered: set[str], expected: dict) -> None:
    """A questions file: the rows of row_errors fail with their message; every other row is answered."""
    want = expected.get("row_errors", {})
    assert set(errors) == set(want), f"rows that failed: {errors}"
    for qid, pattern in want.items():
        assert error_regex({"error": pattern}, Path("")).search(errors[qid]), (qid, errors[qid], pattern)
    assert answered, "no row was answered"


# ---- the Python API


def api_outcome(qa, case: Case, path: Path):
    """(answer or None, error message or None) for a table case; (rows answered, row errors) for questions."""
    if case.kind == "table":
        try:
            return qa.ask(str(path), case.question), None
        except (TableError, QuestionError) as e:
            return None, str(e)
    try:
        examples = read_examples(path)
    except DataError as e:
        return None, str(e)
    errors, answered = {}, {}
    for p in predict_stream(qa, TABLES_ROOT, examples, batch_size=8, with_kind=False):
        if p.answer is None:
            errors[p.example.id] = p.error
        else:
            answered[p.example.id] = p.answer.answer
    return (answered, errors), None


def api_answer(qa, case: Case, path: Path, cache: dict):
    if case.name not in cache:
        cache[case.name] = api_outcome(qa, case, path)[0]
    return cache[case.name]


@pytest.mark.parametrize("case", params("api"))
def test_api(case: Case, qa, case_workdir, api_answers):
    expected = case.expected("api")
    path = materialize(case, case_workdir)
    started = time.perf_counter()
    result, message = api_outcome(qa, case, path)
    within(case, started, "the API")
    api_answers[case.name] = result
    if "error" in expected:
        check_error(message, expected, path)
        return
    assert message is None, f"expected an answer, got the error {message!r}"
    if case.kind == "questions":
        answered, errors = result
        check_rows(errors, set(answered), expected)
        return
    check_values(result.answer, expected)
    if case.names is not None:
        assert result.table.names == case.names
    if result.table.n_columns <= 1000:  # the exported SQL means what the program means, odd names and all
        assert check_agreement(result.program, result.table)


# ---- the command line


def run_cli(capsys, argv: list[str]) -> tuple[int, str, str, list]:
    with warnings.catch_warnings(record=True) as caught:  # a real console would print them on stderr
        warnings.simplefilter("always")
        code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err, [str(w.message) for w in caught]


def cli_answer(line: str) -> str:
    """The answer text of the CLI's last line: `answer: X (confidence 0.xx)`, maybe marked as a guess."""
    match = re.fullmatch(
        r"answer: (.*) \(confidence [01]\.\d\d\)(  \[low confidence — this is a guess\])?", line
    )
    assert match, line
    return match.group(1)


def answer_line(values: list[str]) -> str:
    return _safe(", ".join(values), one_line=True) if values else NO_ANSWER


@pytest.mark.parametrize("case", params("cli"))
def test_cli(case: Case, qa, shipped_model, case_workdir, api_answers, capsys, tmp_path):
    expected = case.expected("cli")
    path = materialize(case, case_workdir)
    if case.kind == "table":
        argv = ["ask", "--table", str(path), case.question, "--model", str(shipped_model), "--device", "cpu"]
    else:
        out_tsv = tmp_path / "predictions.tsv"
        argv = ["batch", str(path), "--tables-root", str(TABLES_ROOT), "--out", str(out_tsv),
                "--model", str(shipped_model), "--device", "cpu", "--batch-size", "8"]  # fmt: skip
    started = time.perf_counter()
    code, out, err, caught = run_cli(capsys, argv)
    within(case, started, "the CLI")
    assert "Traceback" not in out + err
    assert not caught, f"warnings a console would show: {caught}"
    if "error" in expected:
        assert code == 2, (code, out, err)
        assert err.startswith("nprog: ") and len(err.strip().splitlines()) == 1, err
        assert out == ""
        check_error(err.strip(), expected, path)
        return
    assert code == 0, (code, err)
    if case.kind == "table":
        values = (
            expected["answer"]
            if expected.get("answer") is not None
            else api_answer(qa, case, path, api_answers).answer
        )
        shown = cli_answer(out.rstrip("\n").split("\n")[-1])
        assert shown == answer_line(values) or shown == answer_line(
            api_answer(qa, case, path, api_answers).display
        )
        assert "\x1b" not in out  # nothing from a cell may drive the terminal
        return
    lines = out_tsv.read_text(encoding="utf-8").rstrip("\n").split("\n")
    assert lines[0] == "id\tanswer\tprogram\tsql"
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(r) == 4 for r in rows), rows
    errors = {r[0]: r[2].removeprefix("ERROR: ") for r in rows if r[2].startswith("ERROR: ")}
    check_rows(errors, {r[0] for r in rows} - set(errors), expected)
    answered, _ = api_answer(qa, case, path, api_answers)
    for r in rows:
        if r[0] in answered:
            assert r[1] == "|".join(
                a.replace("\\", "\\\\").replace("\n", "\\n").replace("|", "\\p") for a in answered[r[0]]
            )


# ---- the Streamlit UI


APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"


@pytest.fixture(scope="module")
def warm_ui(shipped_model):
    """One run before the timed ones: the first imports the app and loads the model (st.cache_resource)."""
    from streamlit.testing.v1 import AppTest

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NPROG_MODEL", str(shipped_model))
        AppTest.from_file(str(APP), default_timeout=300).run()


def new_app(shipped_model, monkeypatch, seconds: float):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("NPROG_MODEL", str(shipped_model))
    return AppTest.from_file(str(APP), default_timeout=seconds * 4 + 30)


def said(at) -> list[str]:
    """The messages as the page shows them: the UI escapes markdown in text from files (undone here)."""
    return [re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", m.value) for m in (*at.error, *at.warning)]


def shown_answer(at) -> str | None:
    found = [m.value for m in at.markdown if 'class="np-answer' in m.value]
    return found[0] if found else None


def answer_html(values: list[str], confident: bool = True) -> str:
    if not values:
        return '<div class="np-answer np-none">no answer — the program selected no cells</div>'
    text = " · ".join(html.escape(v) for v in values[:20]) + (" …" if len(values) > 20 else "")
    if not confident:  # a guess is shown small, with its tag
        return f'<div class="np-answer np-guess"><span class="np-guess-tag">guess</span>{text}</div>'
    return f'<div class="np-answer">{text}</div>'


def ui_table(at, case: Case, path: Path):
    """Upload the CSV in the sidebar with the question already typed and asked."""
    at.session_state["source_kind"] = "CSV file"
    at.session_state["question"] = case.question
    at.session_state["ask_now"] = True  # what the Ask button and the example pills set
    at.run()
    at.file_uploader(key="csv_upload").upload(path.name, path.read_bytes(), "text/csv")
    return at.run()


def ui_questions(at, path: Path):
    """Upload the questions file on the Batch tab (the default sample table) and answer all."""
    at.run()
    at.file_uploader(key="batch_upload").upload(path.name, path.read_bytes(), "text/tab-separated-values")
    at.run()
    if any(b.key == "batch_run" for b in at.button):
        at.button(key="batch_run").click().run()
    return at


@pytest.mark.parametrize("case", params("ui"))
def test_ui(case: Case, qa, shipped_model, case_workdir, api_answers, warm_ui, monkeypatch):
    if case.not_applicable("ui"):
        pytest.skip(case.not_applicable("ui"))
    expected = case.expected("ui")
    path = materialize(case, case_workdir)
    at = new_app(shipped_model, monkeypatch, case.seconds)
    started = time.perf_counter()
    at = ui_table(at, case, path) if case.kind == "table" else ui_questions(at, path)
    within(case, started, "the UI")
    assert not at.exception, [e.value for e in at.exception]
    messages = said(at)
    if "error" in expected:
        pattern = error_regex(expected, path)
        assert any(pattern.search(m) for m in messages), messages
        assert shown_answer(at) is None
        return
    if case.kind == "table":
        api = api_answer(qa, case, path, api_answers)
        values = expected["answer"] if expected.get("answer") is not None else api.answer
        assert shown_answer(at) in (
            answer_html(values, api.confident),
            answer_html(api.display, api.confident),
        ), messages
        return
    results = next((d.value for d in at.dataframe if "confidence" in d.value.columns), None)
    assert results is not None, messages
    errors = [e for e in results["error"] if e]
    want = expected.get("row_errors", {})
    assert len(errors) == len(want), errors
    for pattern in want.values():
        assert any(error_regex({"error": pattern}, path).search(e) for e in errors), (pattern, errors)
    assert (results["error"] == "").any(), "no question was answered"


# ---- the installed console script, for what an in-process run cannot see (interpreter warnings, exit path)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["binary_garbage", "terminal_escapes_in_cells"])
def test_console_script(name, qa, shipped_model, case_workdir, api_answers):
    import subprocess
    import sys

    case = next(c for c in CASES if c.name == name)
    path = materialize(case, case_workdir)
    script = Path(sys.executable).with_name("nprog")
    done = subprocess.run(
        [str(script), "ask", "--table", str(path), case.question, "--model", str(shipped_model), "--device", "cpu"],
        capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    if "error" in case.expect:
        assert done.returncode == 2 and done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        check_error(done.stderr.strip(), case.expect, path)
    else:
        assert done.returncode == 0 and done.stderr == "", done.stderr
        api = api_answer(qa, case, path, api_answers)
        shown = cli_answer(done.stdout.rstrip("\n").split("\n")[-1])
        assert shown in (answer_line(api.answer), answer_line(api.display))
        assert "\x1b" not in done.stdout
