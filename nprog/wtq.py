"""WikiTableQuestions: examples, tables, and what the original took from CoreNLP and a private file.

Our copy of WTQ has only the question TSVs and the tables (docs/neural-programmer.md §1.1). For each
example we rebuild the answer type and the table cells that match each answer item:

* ``lookup-word``: every answer item matches at least one data cell (header excluded: §1.5 there);
* ``lookup-number``: a lookup whose single answer item is a number (also reachable by a count);
* ``calc``: not in the table, a single number (a count, a sum …), answer 0 included (deviation 7);
* ``unreachable``: anything else; skipped in training, counted wrong in evaluation.

Cell ↔ answer matching uses :mod:`nprog.answers`, the same semantics as evaluation.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nprog.answers import Value, to_values
from nprog.caches import WTQ_TABLES, memoize
from nprog.readers import TableError, read_wtq_file, unescape_wtq
from nprog.tables import CellValues, Table

SPLITS = {
    "train": "random-split-1-train.tsv",
    "dev": "random-split-1-dev.tsv",
    "test": "pristine-unseen-tables.tsv",
}
ANSWER_TYPES = ("lookup-word", "lookup-number", "calc", "yesno", "unreachable")


class DataError(ValueError):
    """A WTQ file is missing or malformed; the message names the file and the problem."""


@dataclass
class Example:
    id: str
    question: str
    context: str  # table path relative to the data dir, e.g. csv/204-csv/590.csv
    answers: list[str] = field(default_factory=list)  # empty when the TSV has no targetValue


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The WTQ directory: the argument, else $NPROG_WTQ_DIR; DataError if neither exists."""
    chosen = path or os.environ.get("NPROG_WTQ_DIR")
    if not chosen:
        raise DataError("no WikiTableQuestions directory: pass --data-dir or set NPROG_WTQ_DIR")
    p = Path(chosen)
    if not (p / "data").is_dir() or not (p / "csv").is_dir():
        raise DataError(f"{p}: not a WikiTableQuestions directory (expected data/ and csv/ inside)")
    return p


def split_path(root: Path, split: str) -> Path:
    if split in SPLITS:
        return root / "data" / SPLITS[split]
    candidate = root / "data" / (split if split.endswith(".tsv") else f"{split}.tsv")
    if not candidate.exists():
        raise DataError(
            f"unknown split {split!r}: use one of {', '.join(SPLITS)} or a file under {root / 'data'}"
        )
    return candidate


def read_examples(path: str | os.PathLike) -> list[Example]:
    """Read a WTQ-format TSV (id, utterance, context[, targetValue]) with its escapes."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    # lines end at \n, \r\n or (old Mac files) \r only: str.splitlines() would also split a question at
    # U+2028, NEL or form feed. Fields are tab-separated with no quoting (WTQ escapes instead).
    ending = "\n" if "\n" in text else "\r"
    lines = [line.removesuffix("\r") for line in text.split(ending)]
    if lines and not lines[-1]:
        lines.pop()
    rows = [line.split("\t") if line else [] for line in lines]
    if not rows:
        raise DataError(f"{path}: the file is empty")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in ("id", "utterance", "context") if c not in header]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)} (expected id, utterance, context[, targetValue])"
        )
    idx = {h: i for i, h in enumerate(header)}
    examples = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not row or all(not f.strip() for f in row):
            continue
        if len(row) < len(header) - ("targetValue" in idx):
            raise DataError(f"{path}: line {line_no} has {len(row)} fields, expected {len(header)}")
        answers = []
        if "targetValue" in idx and idx["targetValue"] < len(row):
            answers = [unescape_wtq(a) for a in row[idx["targetValue"]].split("|")]
        examples.append(
            Example(
                id=row[idx["id"]],
                question=unescape_wtq(row[idx["utterance"]]),
                context=row[idx["context"]],
                answers=answers,
            )
        )
    return examples


def _load_table_cached(path: str) -> Table:
    """The table at a checked path, from the process's table cache (caches.WTQ_TABLES, bounded by cells)."""
    table = WTQ_TABLES.get(path)
    if table is None:
        table = Table.from_wtq_file(
            path
        )  # outside the cache's lock: reading one table must not block the others
        WTQ_TABLES.put(path, table)
    return table


def preload_tables(root: Path, contexts, max_cells: int = 2_000_000) -> None:
    """Read the tables a batch of questions needs and build them together (one parser pass over all their
    strings) into the cache. Tables that cannot be read are left to :func:`load_table`, which reports them;
    large tables are built alone, as before."""
    frames, cells = [], 0
    for context in dict.fromkeys(contexts):
        try:
            path = _checked_path(root, context)
        except TableError:
            continue
        if str(path) in WTQ_TABLES:
            continue
        try:
            df = read_wtq_file(path, follow_symlinks=False)
        except (TableError, OSError, ValueError):
            continue
        if df.shape[0] == 0 or df.shape[1] == 0 or cells + df.size > max_cells:
            continue
        frames.append((df, str(path)))
        cells += df.size
    if not frames:
        return
    try:
        tables = Table.from_dataframes(frames)
    except (TableError, ValueError):  # one odd table: build none here, load_table reports the bad one
        return
    for (_, path), table in zip(frames, tables, strict=True):
        WTQ_TABLES.put(path, table)


def _checked_path(root: Path, context: str) -> Path:
    return _checked_path_cached(str(root), context)


@memoize(maxsize=65536)  # resolving costs a few syscalls per question; failures raise and are not cached
def _checked_path_cached(root_text: str, context: str) -> Path:
    """The one file to read for a question's table context, resolved once and confined to the root.

    WTQ names ``csv/N-csv/M.csv`` and keeps a ``.tsv`` twin beside it, read in its place. Both names are
    resolved and both must stay under the root (a symlinked twin would otherwise pull any readable file
    into the predictions); the resolved file is returned and later opened without following links.
    """
    root = Path(root_text)
    if "\x00" in context:  # pathlib would call it missing; no file can have this name
        raise TableError(f"{_printable(context)}: cannot open the table (embedded null byte)")
    try:
        base = root.resolve()
        candidates = [(root / context).with_suffix(".tsv"), root / context]
        for candidate in candidates:
            if not candidate.is_symlink() and not candidate.exists():
                continue
            path = candidate.resolve(strict=True)
            if not path.is_relative_to(base):  # a prefix test would let "../root-evil/x.csv" through
                raise TableError(f"{context}: table path escapes the tables root {root}")
            return path
    except (OSError, RuntimeError, ValueError) as e:  # loops, over-long names, NUL bytes, dangling links
        if isinstance(e, TableError):
            raise
        reason = (
            "a symbolic link loop"
            if isinstance(e, RuntimeError) or getattr(e, "errno", None) == errno.ELOOP
            else (getattr(e, "strerror", None) or str(e))
        )
        raise TableError(f"{_printable(context)}: cannot open the table ({reason})") from None
    raise TableError(f"{context}: no such table under {root}")


def _printable(text: str, limit: int = 200) -> str:
    shown = text.encode("unicode_escape").decode("ascii")
    return shown if len(shown) <= limit else shown[:limit] + "…"


def load_table(root: Path, context: str, cache: bool = True) -> Table:
    path = _checked_path(root, context)
    return _load_table_cached(str(path)) if cache else Table.from_wtq_file(path)


@dataclass
class Target:
    """What training needs from an answer: its type, the scalar y, and the cells each item matches."""

    kind: str  # one of ANSWER_TYPES
    y: float | None  # the number for lookup-number and calc
    item_cells: np.ndarray  # (K, C, R) bool: cell matches answer item k (K = 0 for calc/unreachable)
    yesno: str | None = None  # "yes" / "no" for a yes/no answer (kind "yesno"): the exists op's target


def cell_values(table: Table) -> CellValues:
    """Answer-matching values of every cell (derived once per table: ``Table.cell_values``)."""
    return table.cell_values


def value_matches(value: Value, cells: CellValues) -> np.ndarray:
    """(C, R) bool: the cells that match one answer value (numbers, dates or normalized strings)."""
    hit = cells.text == value.text
    if value.number is not None:
        hit |= np.abs(cells.number - value.number) < 1e-6
    if value.date is not None:
        want = np.asarray(value.date)
        same = (cells.date == want) | (np.isnan(cells.date) & np.isnan(want))
        hit |= same.all(axis=-1) & ~np.isnan(cells.date[..., 1])
    return hit


def make_target(table: Table, answers: list[str]) -> Target:
    gold = to_values(answers)
    C, R = table.n_columns, table.n_rows
    if gold:
        cells = cell_values(table)
        item_cells = np.stack([value_matches(g, cells) for g in gold])
    else:
        item_cells = np.zeros((0, C, R), dtype=bool)
    found = item_cells.reshape(len(gold), -1).any(axis=1)
    single_number = len(gold) == 1 and gold[0].number is not None
    if gold and found.all():
        kind = "lookup-number" if single_number else "lookup-word"
        return Target(kind, gold[0].number if single_number else None, item_cells)
    if single_number:
        return Target("calc", gold[0].number, np.zeros((0, C, R), dtype=bool))
    if [a.strip().lower() for a in answers] in (["yes"], ["no"]):
        return Target("yesno", None, np.zeros((0, C, R), dtype=bool), answers[0].strip().lower())
    return Target("unreachable", None, np.zeros((0, C, R), dtype=bool))


def answer_type_shares(root: Path, examples: list[Example]) -> dict[str, int]:
    counts = dict.fromkeys(ANSWER_TYPES, 0)
    for ex in examples:
        try:
            table = load_table(root, ex.context)
        except TableError:
            counts["unreachable"] += 1
            continue
        counts[make_target(table, ex.answers).kind] += 1
    return counts
