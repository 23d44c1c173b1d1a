"""What the Streamlit app does with data, testable without Streamlit.

Sources (sample tables, uploaded CSVs, uploaded SQLite/DuckDB files), the batch flow (a file of questions
→ results → CSV/TSV downloads) and running the exported SQL on DuckDB. Every user error surfaces as
:class:`nprog.tables.TableError` (tables) or :class:`BatchError` (question files) with a one-line message
that names the file and the problem; :mod:`nprog.app.ui` shows it and carries on.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nprog import layout
from nprog.answers import lists_match
from nprog.readers import (
    DatabaseReadError,
    TableError,
    connect_read_only,
    database_kind,
    defuse_formula,
    escape_wtq,
    parse_csv_text,
    read_frame,
    select_all,
    table_names,
    unescape_wtq,
)
from nprog.tables import Table

SAMPLES = layout.SAMPLES
MAX_UPLOAD_MB = 200  # keep equal to server.maxUploadSize in .streamlit/config.toml
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024**2
MAX_DB_ROWS = 1_000_000  # a database table larger than this is refused, not silently cut
MAX_BATCH_QUESTIONS = 10_000
DIALECTS = ("duckdb", "sqlite", "postgres", "mysql", "bigquery", "spark", "trino", "snowflake")


class BatchError(ValueError):
    """A file of questions is unusable; the message names the file and the problem."""


def model_dir() -> str | None:
    """The model directory the app loads first: $NPROG_MODEL when set, else None (the shipped default)."""
    return os.environ.get("NPROG_MODEL") or None


def model_choices() -> list[str | None]:
    """The models the sidebar offers: the first one :func:`model_dir` names, then every other shipped table
    model in data/models/ (a Neural Programmer or an ensemble directory; not the memory-task models)."""
    first = model_dir()
    out: list[str | None] = [first]
    shipped = (
        sorted(p for p in layout.MODELS.iterdir() if layout.is_table_model(p))
        if layout.MODELS.is_dir()
        else []
    )
    for p in shipped:
        if p.resolve() != Path(first or layout.default_model()).resolve():
            out.append(str(p))
    return out


# ---- sample tables ------------------------------------------------------------------------------------


def sample_names() -> list[str]:
    """Sample CSVs: those with example questions first, in questions.json's order, then the rest."""
    present = sorted(p.name for p in SAMPLES.glob("*.csv"))
    first = [n for n in sample_questions() if n in present]
    return first + [n for n in present if n not in first]


def sample_questions() -> dict[str, list[str]]:
    """Example questions per sample file name, from data/samples/questions.json ({} if it is missing)."""
    try:
        data = json.loads((SAMPLES / "questions.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: [q for q in v if isinstance(q, str)] for k, v in data.items() if isinstance(v, list)}


def load_sample(name: str) -> Table:
    if name not in sample_names():
        raise TableError(f"{name}: no such sample table")
    return Table.from_csv(SAMPLES / name)


def suggest_question(table: Table) -> str:
    """A question this table can answer, as a hint for tables without example questions."""
    text = next((c.name for c in table.columns if c.kind == "text"), None)
    number = next((c.name for c in table.columns if c.kind == "number"), None)
    if text and number:
        return f"which {text.lower()} has the highest {number.lower()}?"
    if number:
        return f"what is the highest {number.lower()}?"
    return "how many rows are there?"


# ---- uploads ------------------------------------------------------------------------------------------


def file_kind(data: bytes) -> str:
    """The file's kind, "sqlite", "duckdb" or "csv", read from its first bytes (never from its name)."""
    return database_kind(data) or "csv"


def _check_size(name: str, data: bytes) -> None:
    if len(data) > MAX_UPLOAD_BYTES:
        raise TableError(
            f"{name}: the file is {len(data) / 1024**2:.0f} MB, over the {MAX_UPLOAD_MB} MB limit"
        )
    if not data:
        raise TableError(f"{name}: the file is empty")


def _safe_name(name: str) -> str:
    base = re.sub(r"[^\w.\- ]", "_", Path(name).name).strip() or "upload"
    return base[:100]


def table_from_csv_bytes(name: str, data: bytes) -> Table:
    """An uploaded CSV/TSV as a typed table, read exactly as ``Table.from_csv`` reads files."""
    _check_size(name, data)
    if file_kind(data) != "csv":
        raise TableError(f"{name}: this is a database file; open it as a database, not as a CSV")
    with tempfile.TemporaryDirectory(prefix="nprog-upload-") as tmp:
        path = Path(tmp) / _safe_name(name)
        path.write_bytes(data)
        try:
            return Table.from_csv(path)
        except TableError as e:  # name the upload, not the temporary copy
            raise TableError(str(e).replace(str(path), name)) from None


class _Database:
    """A read-only connection to an uploaded SQLite or DuckDB file (a temporary copy, removed on close), for
    the list of its tables; rows are read by nprog.readers, in a child process within limits."""

    def __init__(self, name: str, data: bytes):
        _check_size(name, data)
        self.name, self.kind = name, file_kind(data)
        if self.kind == "csv":
            raise TableError(f"{name}: not a SQLite or DuckDB database file")
        self._tmp = tempfile.TemporaryDirectory(prefix="nprog-db-")
        path = self.path = Path(self._tmp.name) / (
            "upload.duckdb" if self.kind == "duckdb" else "upload.sqlite"
        )
        path.write_bytes(data)
        try:  # no file or network access from inside DuckDB: its views cannot read this machine
            self.conn = connect_read_only(path, self.kind)
        except Exception as e:  # noqa: BLE001 - any driver error is a bad upload
            self._tmp.cleanup()
            raise TableError(f"{name}: cannot open the {self.kind} database ({_first_line(e)})") from None

    def __enter__(self) -> _Database:
        return self

    def __exit__(self, *exc) -> None:
        self.conn.close()
        self._tmp.cleanup()

    def tables(self) -> list[str]:
        try:
            return table_names(self.conn, self.kind)
        except Exception as e:  # noqa: BLE001 - a corrupt or odd database is a bad upload
            raise TableError(f"{self.name}: cannot read the database ({_first_line(e)})") from None

    def read(self, table: str) -> pd.DataFrame:
        """The table's cells as display strings, read in a child process within time, memory and size
        limits (nprog.readers): a view that never ends cannot keep a server thread busy."""
        if table not in self.tables():
            raise TableError(f"{self.name}: no table named {table!r}")
        try:
            df = read_frame(
                self.path,
                self.kind,
                select_all(table),
                f"{self.name}: table {table!r}",
                max_rows=MAX_DB_ROWS,
            )
        except DatabaseReadError as e:
            raise TableError(f"{self.name}: cannot read the database ({e})") from None
        if df.empty:
            raise TableError(f"{self.name}: table {table!r} has no rows")
        return df


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def database_tables(name: str, data: bytes) -> list[str]:
    """Names of the tables and views in an uploaded SQLite or DuckDB file."""
    with _Database(name, data) as db:
        found = db.tables()
    if not found:
        raise TableError(f"{name}: the database has no tables")
    return found


def table_from_database(name: str, data: bytes, table: str) -> Table:
    with _Database(name, data) as db:
        return Table.from_dataframe(db.read(table), source=f"{name}:{table}")


# ---- SQL ----------------------------------------------------------------------------------------------


@dataclass
class SqlRun:
    rows: list[str]  # what the SQL returned, as display strings
    agrees: bool  # lists_match(answer, rows): the SQL means what the program means


def run_sql_here(answer) -> SqlRun:
    """Run the answer's DuckDB SQL on an in-memory copy of its table.

    ImportError when nprog.sql (or duckdb) is not available; other exceptions are the engine's.
    """
    import duckdb

    from nprog.sql import load_into, run_sql

    conn = duckdb.connect()
    try:
        load_into(conn, answer.table)
        rows = run_sql(conn, answer.sql("duckdb", layout="nprog"))
    finally:
        conn.close()
    return SqlRun(rows, lists_match(answer.answer, rows))


# ---- batch --------------------------------------------------------------------------------------------

QUESTION_COLUMNS = ("question", "utterance")  # utterance: the WTQ name
ANSWER_COLUMNS = ("answer", "targetvalue")


def parse_questions(name: str, data: bytes) -> pd.DataFrame:
    """A question file (CSV or TSV, with a header) → DataFrame with ``question`` and, if given, ``answer``.

    WTQ TSVs work too: ``utterance`` is read as the question and ``targetValue`` as the answer (its
    escapes undone); their ``context`` column is ignored, since all questions go to the one chosen table.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise BatchError(
            f"{name}: the file is {len(data) / 1024**2:.0f} MB, over the {MAX_UPLOAD_MB} MB limit"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BatchError(f"{name}: not a UTF-8 text file") from None
    if not text.strip():
        raise BatchError(f"{name}: the file is empty")
    try:
        df = _read_tsv(text, name) if _looks_like_tsv(name, text) else parse_csv_text(text, name)
    except TableError as e:
        raise BatchError(str(e)) from None
    lower = {str(c).strip().lower(): c for c in df.columns}
    q = next((lower[c] for c in QUESTION_COLUMNS if c in lower), None)
    if q is None:
        raise BatchError(f"{name}: no 'question' column (columns are: {', '.join(map(str, df.columns))})")
    a = next((lower[c] for c in ANSWER_COLUMNS if c in lower), None)
    wtq = str(q).strip().lower() == "utterance"
    out = pd.DataFrame({"question": df[q].astype(str).map(unescape_wtq if wtq else str.strip)})
    if a is not None:
        out["answer"] = df[a].astype(str)
    out = out[out["question"].str.strip() != ""].reset_index(drop=True)
    if out.empty:
        raise BatchError(f"{name}: the file has no questions")
    if len(out) > MAX_BATCH_QUESTIONS:
        raise BatchError(
            f"{name}: {len(out):,} questions; the limit here is {MAX_BATCH_QUESTIONS:,} (use `nprog batch`)"
        )
    return out


def _looks_like_tsv(name: str, text: str) -> bool:
    header = text.lstrip().split("\n", 1)[0]
    return name.lower().endswith((".tsv", ".tab")) or ("\t" in header and "," not in header)


def _read_tsv(text: str, name: str) -> pd.DataFrame:
    """Tab-separated, no quoting (WTQ's format: quotes inside questions are literal)."""
    try:
        df = pd.read_csv(
            io.StringIO(text), sep="\t", dtype=str, quoting=csv.QUOTE_NONE, keep_default_na=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise TableError(f"{name}: malformed TSV ({_first_line(e)})") from None
    return df


def gold_list(text: str) -> list[str]:
    """A gold answer cell: values separated by '|' (WTQ escapes allowed)."""
    return [unescape_wtq(v.strip()) for v in text.split("|")]


def run_batch(
    qa, table: Table, questions: pd.DataFrame, chunk: int = 32
) -> Iterator[tuple[int, pd.DataFrame | None]]:
    """Answer every question about one table; yields (questions done, None) …, then (n, results).

    Results: question, answer (values joined with '|'), program (steps joined with ' ; '), confidence,
    error (why a question could not be asked), and with gold answers also ``gold`` and ``correct``.
    """
    records: list[dict] = []
    n = len(questions)
    for start in range(0, n, chunk):
        part = questions["question"].iloc[start : start + chunk].tolist()
        done: list[dict] = [{} for _ in part]
        ready = []  # (index in part, encoded question)
        for i, q in enumerate(part):
            try:
                ready.append((i, qa.encode(table, q)))
            except ValueError as e:  # QuestionError and TableError: one bad question must not stop the run
                done[i] = {"error": str(e)}
        answers = qa.answer_batch([e for _, e in ready]) if ready else []
        for (i, _), a in zip(ready, answers, strict=True):
            done[i] = {
                "answer": join_answer(a.answer),
                "program": str(a.program).replace("\n", " ; "),
                "confidence": round(float(a.confidence), 4),
                "values": a.answer,
            }
        records.extend(done)
        yield min(start + chunk, n), None
    out = pd.DataFrame({"question": questions["question"]})
    out["answer"] = [r.get("answer", "") for r in records]
    out["program"] = [r.get("program", "") for r in records]
    out["confidence"] = [r.get("confidence", float("nan")) for r in records]
    out["error"] = [r.get("error", "") for r in records]
    if "answer" in questions:
        out["gold"] = questions["answer"].tolist()
        out["correct"] = [
            "values" in r and lists_match(gold_list(g), r["values"])
            for g, r in zip(out["gold"], records, strict=True)
        ]
    yield n, out


def accuracy(results: pd.DataFrame) -> tuple[int, int] | None:
    """(correct, total) over all questions when gold answers were given; errors count as wrong."""
    if "correct" not in results:
        return None
    return int(results["correct"].sum()), len(results)


def to_csv_bytes(results: pd.DataFrame) -> bytes:
    return results.map(defuse_formula).to_csv(index=False).encode("utf-8")


def join_answer(values: list[str]) -> str:
    """Answer values as one cell: joined with '|', a value's own '|', '\\' and newlines WTQ-escaped."""
    return "|".join(escape_wtq(v) for v in values)


def to_tsv_bytes(results: pd.DataFrame) -> bytes:
    """A TSV with WTQ escapes. ``answer`` and ``gold`` already are '|'-joined lists and are kept as they are."""
    lines = ["\t".join(results.columns)]
    for row in results.itertuples(index=False):
        fields = []
        for col, v in zip(results.columns, row, strict=True):
            text = "" if v is None else str(v)
            if col in ("answer", "gold"):
                fields.append(text.replace("\n", "\\n").replace("\t", " "))
            else:
                fields.append(escape_wtq(text))
        lines.append("\t".join(fields))
    return ("\n".join(lines) + "\n").encode("utf-8")
