"""The public API: ``TableQA.load()``, ``qa.ask(table, question)``, ``qa(table=…, query=…)``."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
from torch.nn.utils.rnn import pad_sequence

from nprog import checkpoint
from nprog.batch import Encoded, _pad, collate, encode
from nprog.caches import CostBoundedLRU
from nprog.confidence import GUESS_THRESHOLD, calibrated
from nprog.decode import alternatives, decode, scored
from nprog.explanation import Explanation
from nprog.model import NeuralProgrammer, Trace
from nprog.program import Program, ProgramError, Result, execute
from nprog.questions import Question, Vocabulary, parse_questions
from nprog.tables import LARGE_TABLE_ROWS, Table, TableError

MAX_QUESTION_CHARS = 2000


class QuestionError(ValueError):
    """The question cannot be asked (empty, too long, not text)."""


@dataclass
class Answer:
    answer: list[str]  # display values
    aggregator: (
        str  # the answer op's: "NONE" (printed cells) | "COUNT" | "SUM" | "AVERAGE" | "DIFFERENCE" | "YES/NO"
    )
    coordinates: list[tuple[int, int]]  # printed cells (row, column) in the caller's table
    cells: list[str]
    program: Program
    confidence: (
        float  # chance the answer is right: its live steps' probability, calibrated (nprog.confidence)
    )
    rows: list = field(default_factory=list, repr=False)  # row selection after each step (bool arrays)
    table: Table | None = field(default=None, repr=False)
    display: list[str] = field(default_factory=list)  # the answer as shown: a computed number with its unit
    confident: bool = (
        True  # False: the confidence is below the model's guess threshold; the answer is a guess
    )
    # makes ``explanation`` on first use: most callers never draw the pictures, so their copies are not made
    explain: Callable[[], Explanation] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def explanation(self) -> Explanation | None:
        """Per-step distributions and choices (nprog.explanation); None for an answer made without the model."""
        return self.explain() if self.explain is not None else None

    def sql(
        self,
        dialect: str = "duckdb",
        table_name: str | None = None,
        order_by: str | None = None,
        *,
        layout: str = "user",
    ) -> str:
        """The program as SQL over your own table (``layout="user"``, see :mod:`nprog.portable`): its real name
        (the CSV's stem, the ``--db`` table, else ``table_name``), its own columns, typed inside the query,
        rows ordered by ``rowid`` (DuckDB, SQLite) or ``order_by``. Raises :class:`nprog.portable.ExportError`
        where that SQL could answer differently. ``layout="nprog"``: SQL for :func:`nprog.sql.load_into`'s
        layout (any sqlglot dialect; table ``t`` by default)."""
        if layout == "nprog":
            from nprog.sql import to_sql  # sqlglot is imported only when SQL is asked for

            return to_sql(self.program, self.table, dialect=dialect, table_name=table_name or "t")
        if layout != "user":
            raise ValueError(f"layout must be 'user' or 'nprog', not {layout!r}")
        from nprog.portable import to_portable_sql

        return to_portable_sql(self.program, self.table, dialect, table_name, order_by)

    def to_dict(self, dialect: str | None = "duckdb") -> dict:
        """The answer as plain data; ``sql`` in that dialect unless ``dialect`` is None (SQL is the costly
        part, so the pipeline call leaves it out unless asked). Where the SQL over the user's table could
        answer differently, ``sql`` is None and ``sql_error`` says why."""
        out = {
            "answer": self.answer,
            "coordinates": [list(c) for c in self.coordinates],
            "cells": self.cells,
            "aggregator": self.aggregator,
            "program": str(self.program),
            "confidence": self.confidence,
            "display": self.display,
            "confident": self.confident,
        }
        if dialect is not None:
            from nprog.portable import ExportError

            try:
                out["sql"], out["sql_error"] = self.sql(dialect), None
            except ExportError as e:  # the answer stands; only its SQL cannot be written exactly
                out["sql"], out["sql_error"] = None, str(e)
        return out


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """auto → cuda when available, else cpu; ValueError with a clear message for an unusable choice."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: no CUDA device available")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ValueError(f"--device {device}: not a device (use auto, cpu or cuda)") from None


def as_table(table) -> Table:
    if isinstance(table, Table):
        return table
    if isinstance(table, pd.DataFrame):
        return Table.from_dataframe(table)
    if isinstance(table, str | os.PathLike):
        return Table.from_csv(table)
    if isinstance(table, dict):
        try:
            frame = pd.DataFrame(table)
        except (ValueError, TypeError) as e:  # columns of different lengths, scalars only …
            raise TableError(f"<dict>: cannot make a table of it ({e})") from None
        return Table.from_dataframe(frame, source="<dict>")
    raise TableError(
        f"cannot make a table from {type(table).__name__}: pass a DataFrame, a CSV path or a Table"
    )


def _content_digest(df: pd.DataFrame) -> bytes | None:
    """A digest of everything a Table is built from: names, dtypes, shape and every cell (raw memory where
    the column has it: numpy arrays, Arrow buffers; pandas' cell hashes otherwise). None when a column
    cannot be hashed (cells of unhashable objects): such a frame is not cached."""
    h = hashlib.sha256(repr((df.shape, [str(c) for c in df.columns], [str(d) for d in df.dtypes])).encode())
    try:
        for _, series in df.items():
            array = series.array
            if isinstance(array, pd.arrays.ArrowExtensionArray | pd.arrays.ArrowStringArray):
                data = pa.array(array)
                for chunk in data.chunks if isinstance(data, pa.ChunkedArray) else [data]:
                    h.update(repr((chunk.offset, len(chunk))).encode())
                    for buffer in chunk.buffers():
                        h.update(b"-" if buffer is None else buffer)
            elif isinstance(series.dtype, np.dtype) and series.dtype.kind in "biufcmM":
                h.update(np.ascontiguousarray(series.to_numpy()).view(np.uint8))
            else:  # objects, masked and categorical arrays: pandas hashes each cell's value
                h.update(pd.util.hash_pandas_object(series, index=False).to_numpy().view(np.uint8))
    except (TypeError, ValueError):
        return None
    return h.digest()


class FrameTables:
    """The Tables of the DataFrames asked about most recently, by identity: asking many questions of one
    DataFrame builds its Table once. A hit also needs the same content digest as at the build (see
    _content_digest), so a DataFrame changed in place (a cell, a column, its names) is built again, never
    answered from a stale Table. The digest is taken in a thread while the table builds (both release the
    GIL); a few hundredths of a second for a million rows, against about a second for the build."""

    def __init__(self, size: int = 8):
        self.size = size
        self._lock = threading.RLock()  # a weak reference's callback may run inside a locked section (GC)
        self._entries: OrderedDict[int, tuple[weakref.ref, bytes, Table]] = OrderedDict()

    def get(self, df: pd.DataFrame, source: str = "<dataframe>") -> Table:
        key = id(df)
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0]() is df:
            digest = _content_digest(df)
            if digest is not None and digest == entry[1]:
                with self._lock:
                    if key in self._entries:
                        self._entries.move_to_end(key)
                return entry[2]
        if len(df) <= LARGE_TABLE_ROWS:  # microseconds: a thread would cost more than it saves
            table, digest = Table.from_dataframe(df, source), _content_digest(df)
        else:
            with ThreadPoolExecutor(1) as pool:
                digest = pool.submit(_content_digest, df)
                table = Table.from_dataframe(df, source)
                digest = digest.result()
        if digest is not None:
            try:
                ref = weakref.ref(df, lambda _, key=key: self._drop(key))
            except TypeError:  # a DataFrame subclass without weak references: not cached
                return table
            with self._lock:
                self._entries[key] = (ref, digest, table)
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return table

    def _drop(self, key: int) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0]() is None:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def check_question(question) -> str:
    if not isinstance(question, str):
        raise QuestionError(f"a question must be text, not {type(question).__name__}")
    if not _VISIBLE.search(question):  # only spaces, control or zero-width characters: nothing was asked
        raise QuestionError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}"
        )
    return question


# a character a person can see: not whitespace (\s), a control, format (zero-width, BOM, bidi) or unassigned one
_VISIBLE = re.compile(
    r"[^\s\x00-\x1f\x7f-\x9f\u00ad\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff0-\ufffb]"
)


HEADER_CACHE = 1024  # tables whose header states TableQA keeps (about 45 KB each for MiniLM)


def answers_something(result: Result, e: Encoded) -> bool:
    """False for an answer that tells the asker nothing: no value (the rows all filtered away, a
    comparison with nothing left), only blank cells (no character a person can see), or exactly the cells the question itself names in
    the printed column ("who tied with Lyubomir Popov?" → "Lyubomir Popov"; "other than NPSL, what
    league …?" → "NPSL"). Printing some of the cells it names is an answer ("which was earlier, A or B?")."""
    if not any(_VISIBLE.search(str(value)) for value in result.answer):  # as check_question's "empty"
        return False
    if result.aggregator != "NONE" or not result.coordinates:
        return True
    c = result.coordinates[0][1]  # a print prints one column
    named = e.features.matched_text[c]
    if not named or len(result.answer) != len(named):  # cheap first: a print may cover a million rows
        return True
    rows = [r for r, _ in result.coordinates]
    return not e.features.exact[c][rows].all()


def _first_answering(trace: Trace, b: int, e: Encoded, taken: Program):
    """Execution-guided decoding (Wang et al., 2018): a program that answers nothing (see
    :func:`answers_something`) answers no question, so the model's next most probable programs are tried
    in order and the first that answers is taken, with its own confidence. None when none of them does."""
    for program, steps, choices in alternatives(trace, b, e, taken):
        try:
            result = execute(program, e.table)
        except ProgramError:
            continue
        if answers_something(result, e):
            program, confidence, choices = scored(steps, choices, e.table)
            return program, confidence, choices, result
    return None


class TableQA:
    """A loaded Neural Programmer. Safe to share between threads: inference keeps no per-call state."""

    def __init__(self, model: NeuralProgrammer, vocab: Vocabulary, card: dict | None = None, device="cpu"):
        self.model = model.eval()
        self.vocab = vocab
        self.card = card or {}
        self.device = torch.device(device)
        self.frames = FrameTables()
        self.guess_threshold = float((self.card.get("calibration") or {}).get("threshold", GUESS_THRESHOLD))
        self.pieces = None  # the pretrained encoder's tokenizer, for a model that has one
        if model.config.encoder != "lstm":
            from nprog.encoder import word_pieces

            self.pieces = word_pieces(model.config.encoder)
        # the pretrained encoder's states of recent tables' headers (header pieces → (Pc, E)): a header is
        # read once however many questions ask about its table (valid while the weights are unchanged: a
        # caller that trains the model calls forget_headers)
        self._headers = CostBoundedLRU("encoder header states", HEADER_CACHE, lambda _: 1, "tables")

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, device: str = "auto") -> TableQA:
        dev = resolve_device(device)
        model, vocab, card = checkpoint.load(path, device=dev)
        return cls(model, vocab, card, dev)

    def encode(self, table: Table, question: str | Question) -> Encoded:
        """A question (text, or a Question from ``parse_questions``) on a table, ready for answer_batch."""
        return encode(
            table,
            question if isinstance(question, Question) else check_question(question),
            self.vocab,
            order_cues=self.model.config.order_cues,
            pieces=self.pieces,
        )

    @torch.inference_mode()
    def run(self, items: list[Encoded]) -> tuple[Trace, list]:
        batch = collate(items).to(self.device)
        if getattr(self.model, "lm_columns", None) is not None:
            batch.lm_c_states = self._header_states(items)
        trace = self.model(batch)
        return trace, decode(trace, items)

    def forget_headers(self) -> None:
        """Drop the kept header states: for a caller that changes the model's weights (training evaluates
        through a TableQA between steps), whose next answers must read the headers anew."""
        self._headers.clear()

    def _header_states(self, items: list[Encoded]) -> torch.Tensor:
        """(B, Pc, E): each item's header states, from the cache or computed in one call for the headers
        it lacks (at most HEADER_CACHE kept, the least recently used dropped first)."""
        keys = [e.lm_c_ids.tobytes() for e in items]
        known = {k: v for k in set(keys) if (v := self._headers.get(k)) is not None}
        missing = {k: e.lm_c_ids for k, e in zip(keys, items, strict=True) if k not in known}
        if missing:
            ids = _pad(list(missing.values()), (max(len(a) for a in missing.values()),), 0, np.int64)
            states = self.model.header_states(torch.from_numpy(ids).to(self.device))
            for i, (k, a) in enumerate(missing.items()):
                known[k] = states[i, : len(a)].clone()  # its own storage: the cache keeps no batch alive
                self._headers.put(k, known[k])
        return pad_sequence([known[k] for k in keys], batch_first=True)  # padded as collate pads the ids

    def answer_batch(self, items: list[Encoded]) -> list[Answer]:
        trace, decoded = self.run(items)
        answers = []
        for b, (e, (program, confidence, choices)) in enumerate(zip(items, decoded, strict=True)):
            result = execute(program, e.table)
            found = None if answers_something(result, e) else _first_answering(trace, b, e, program)
            if found:  # the next most probable program that answers
                program, confidence, choices, result = found
            sure = float(calibrated(confidence, self.card.get("calibration")))
            answers.append(
                Answer(
                    answer=result.answer,
                    aggregator=result.aggregator,
                    coordinates=result.coordinates,
                    cells=[e.table.cell(r, c) for r, c in result.coordinates],
                    program=program,
                    confidence=sure,
                    rows=result.rows,
                    table=e.table,
                    display=result.display,
                    confident=bool(sure >= self.guess_threshold),
                    explain=lambda b=b, e=e, choices=choices: Explanation.from_trace(
                        trace, b, e.table.n_columns, [self.vocab.words[i] for i in e.tokens], choices
                    ),
                )
            )
        return answers

    def table(self, table) -> Table:
        """A Table for anything ``ask`` takes; a DataFrame's is built once and reused while it is unchanged
        (see FrameTables)."""
        if isinstance(table, pd.DataFrame):
            return self.frames.get(table)
        return as_table(table)

    def ask(self, table, question: str) -> Answer:
        t = self.table(table)
        return self.answer_batch([self.encode(t, question)])[0]

    def ask_many(self, table, questions: list[str], batch_size: int = 64) -> list[Answer]:
        """Several questions on one table, the way ``nprog batch`` answers a file: the table built once,
        the questions parsed in one pass, answered batch_size at a time."""
        t = self.table(table)
        parsed = parse_questions([check_question(q) for q in questions])
        answers = []
        for start in range(0, len(parsed), batch_size):
            answers += self.answer_batch([self.encode(t, q) for q in parsed[start : start + batch_size]])
        return answers

    def __call__(self, table=None, query=None, dialect: str | None = None):
        """HF-pipeline shape: a dict, or a list of dicts for a list of queries. ``dialect`` (e.g. "duckdb")
        adds each program's SQL under "sql"; without it no SQL is generated."""
        if isinstance(query, list | tuple):
            return [a.to_dict(dialect) for a in self.ask_many(table, list(query))]
        return self.ask(table, query).to_dict(dialect)
