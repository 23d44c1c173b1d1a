"""The public API: ``TableQA.load()``, ``qa.ask(table, question)``, ``qa(table=…, query=…)``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from nprog import checkpoint
from nprog.batch import Encoded, collate, encode
from nprog.confidence import GUESS_THRESHOLD, calibrated
from nprog.decode import decode
from nprog.model import NeuralProgrammer, Trace
from nprog.ops import OP_INDEX, OPS
from nprog.program import Program, execute
from nprog.questions import Question, Vocabulary
from nprog.tables import Table, TableError

MAX_QUESTION_CHARS = 2000


class QuestionError(ValueError):
    """The question cannot be asked (empty, too long, not text)."""


@dataclass
class Answer:
    answer: list[str]  # display values
    aggregator: str  # the answer op's: "NONE" (printed cells) | "COUNT" | "SUM" | "AVERAGE" | "DIFFERENCE" | "YES/NO"
    coordinates: list[tuple[int, int]]  # printed cells (row, column) in the caller's table
    cells: list[str]
    program: Program
    confidence: float  # chance the answer is right: its live steps' probability, calibrated (nprog.confidence)
    trace: dict = field(default_factory=dict, repr=False)  # per-step distributions (numpy) for pictures
    rows: list = field(default_factory=list, repr=False)  # row selection after each step (bool arrays)
    table: Table | None = field(default=None, repr=False)
    display: list[str] = field(default_factory=list)  # the answer as shown: a computed number with its unit
    confident: bool = True  # False: the confidence is below the model's guess threshold; the answer is a guess

    def sql(self, dialect: str = "duckdb", table_name: str = "t") -> str:
        from nprog.sql import to_sql  # sqlglot is imported only when SQL is asked for

        return to_sql(self.program, self.table, dialect=dialect, table_name=table_name)

    def to_dict(self, dialect: str = "duckdb") -> dict:
        return {
            "answer": self.answer,
            "coordinates": [list(c) for c in self.coordinates],
            "cells": self.cells,
            "aggregator": self.aggregator,
            "program": str(self.program),
            "sql": self.sql(dialect),
            "confidence": self.confidence,
            "display": self.display,
            "confident": self.confident,
        }


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
    raise TableError(f"cannot make a table from {type(table).__name__}: pass a DataFrame, a CSV path or a Table")


def check_question(question) -> str:
    if not isinstance(question, str):
        raise QuestionError(f"a question must be text, not {type(question).__name__}")
    if not question.strip():
        raise QuestionError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}")
    return question


class TableQA:
    """A loaded Neural Programmer. Safe to share between threads: inference keeps no per-call state."""

    def __init__(self, model: NeuralProgrammer, vocab: Vocabulary, card: dict | None = None, device="cpu"):
        self.model = model.eval()
        self.vocab = vocab
        self.card = card or {}
        self.device = torch.device(device)
        self.guess_threshold = float((self.card.get("calibration") or {}).get("threshold", GUESS_THRESHOLD))

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, device: str = "auto") -> TableQA:
        dev = resolve_device(device)
        model, vocab, card = checkpoint.load(path, device=dev)
        return cls(model, vocab, card, dev)

    def encode(self, table: Table, question: str | Question) -> Encoded:
        """A question (text, or a Question from ``parse_questions``) on a table, ready for answer_batch."""
        return encode(table, question if isinstance(question, Question) else check_question(question), self.vocab,
                      order_cues=self.model.config.order_cues)

    @torch.inference_mode()
    def run(self, items: list[Encoded]) -> tuple[Trace, list]:
        batch = collate(items).to(self.device)
        trace = self.model(batch)
        return trace, decode(trace, items)

    def answer_batch(self, items: list[Encoded]) -> list[Answer]:
        trace, decoded = self.run(items)
        model_ops = [OP_INDEX[op.name] for op in trace.ops]  # the model's op k is the registry's model_ops[k]
        executed = trace.executed_op_logp().exp().cpu().numpy()  # (B, T, O) what each step chose from
        answers = []
        for b, (e, (program, confidence, choices)) in enumerate(zip(items, decoded, strict=True)):
            result = execute(program, e.table)
            C, L = e.table.n_columns, len(e.tokens)
            # the distribution each executed step chose from (ACT: its answering step's answer distribution),
            # over the whole registry (an op this model lacks has probability 0), as the pictures name ops
            ops = np.zeros((len(choices), len(OPS)), dtype=np.float32)
            ops[:, model_ops] = executed[b, : len(choices)]
            pictures = {
                "ops": ops,  # (steps, len(OPS))
                "columns": [trace.col_logp[b, t, c["op"], :C].exp().cpu().numpy() for t, c in enumerate(choices)],
                "attention": trace.attention[b, :, :L].cpu().numpy(),  # (T, L)
                "tokens": [self.vocab.words[i] for i in e.tokens],
                "choices": [{**c, "op": model_ops[c["op"]]} for c in choices],  # registry indices
            }
            if trace.halting is not None:
                pictures["halting"] = trace.halting[b, : len(choices)].cpu().numpy()  # (steps,)
            sure = float(calibrated(confidence, self.card.get("calibration")))
            answers.append(
                Answer(
                    answer=result.answer,
                    aggregator=result.aggregator,
                    coordinates=result.coordinates,
                    cells=[e.table.cell(r, c) for r, c in result.coordinates],
                    program=program,
                    confidence=sure,
                    trace=pictures,
                    rows=result.rows,
                    table=e.table,
                    display=result.display,
                    confident=bool(sure >= self.guess_threshold),
                )
            )
        return answers

    def ask(self, table, question: str) -> Answer:
        t = as_table(table)
        return self.answer_batch([self.encode(t, question)])[0]

    def __call__(self, table=None, query=None, dialect: str = "duckdb"):
        """HF-pipeline shape: a dict, or a list of dicts for a list of queries."""
        t = as_table(table)
        if isinstance(query, list | tuple):
            return [a.to_dict(dialect) for a in self.answer_batch([self.encode(t, q) for q in query])]
        return self.ask(t, query).to_dict(dialect)
