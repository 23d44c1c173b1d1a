"""The hostile-input corpus of cases.json: its cases, the files made at test time, and what a case expects.

Imported by test_corpus.py and conftest.py (this directory is on sys.path while they run).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
TABLES_ROOT = FILES / "tables"  # where the questions files' context paths point (tables we wrote)
INTERFACES = ("api", "cli", "ui")


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # "table": a CSV and a question | "questions": a WTQ-format TSV over TABLES_ROOT
    question: str
    expect: dict  # {"answer": None | [values]} or {"error": regex}; questions files: + "row_errors"
    file: str | None = None  # under FILES
    generate: str | None = None  # a GENERATORS entry: made at test time
    names: list[str] | None = None  # the column names the table must get
    seconds: float = 20.0  # time bound per interface
    xfail: str | None = None  # a known bug outside this corpus' reach: why
    note: str = ""
    overrides: dict = field(default_factory=dict)  # interface → its own expectation, or why it cannot run

    def expected(self, interface: str) -> dict:
        return self.overrides.get(interface, self.expect)

    def not_applicable(self, interface: str) -> str | None:
        """Why ``interface`` cannot take this input at all (None when it can)."""
        value = self.overrides.get(interface)
        return value if isinstance(value, str) else None


def load_cases(path: Path = HERE / "cases.json") -> list[Case]:
    data = json.loads(path.read_text(encoding="utf-8"))
    defaults = data["defaults"]
    cases = []
    for raw in data["cases"]:
        question = raw.get("question", defaults["question"])
        if "generate_question" in raw:
            question = QUESTION_GENERATORS[raw["generate_question"]]()
        cases.append(
            Case(
                name=raw["name"],
                kind=raw.get("kind", defaults["kind"]),
                question=question,
                expect=raw["expect"],
                file=raw.get("file"),
                generate=raw.get("generate"),
                names=raw.get("names"),
                seconds=float(raw.get("seconds", defaults["seconds"])),
                xfail=raw.get("xfail"),
                note=raw.get("note", ""),
                overrides={k: raw[k] for k in INTERFACES if k in raw},
            )
        )
    names = [c.name for c in cases]
    assert len(set(names)) == len(names), "case names must be unique"
    return cases


# ---- generated inputs: too big to commit, or not files at all


def _columns_10000(path: Path) -> None:
    header = ",".join(f"c{j}" for j in range(10_000))
    rows = [",".join(str(i * j) for j in range(10_000)) for i in range(3)]
    path.write_text("\n".join([header, *rows]) + "\n")


def _rows_1000000(path: Path) -> None:
    n = 1_000_000
    rng = np.random.default_rng(8)
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "city": np.array(["oslo", "rome", "paris", "lima"])[rng.integers(0, 4, n)],
            "score": rng.integers(0, 1000, n),
        }
    )
    frame.to_csv(path, index=False)


def _nul_after_64k(path: Path) -> None:
    path.write_bytes(b"name,score\n" + b"ann,1\n" * 12_000 + b"b\x00b,2\n")


def _cell_of_1mb(path: Path) -> None:
    path.write_text("name,score\n" + "x" * 1_000_000 + ",1\nbob,2\n")


def _directory(path: Path) -> None:
    path.mkdir()


def _wide(names: list[str]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        rows = [",".join(str(i * j) for j in range(len(names))) for i in (1, 2, 3)]
        path.write_text("\n".join([",".join(names), *rows]) + "\n")

    return write


GENERATORS: dict[str, tuple[str, Callable[[Path], None]]] = {  # name → (file name, writer)
    "columns_10000": ("columns_10000.csv", _columns_10000),
    "rows_1000000": ("rows_1000000.csv", _rows_1000000),
    "nul_after_64k": ("nul_after_64k.csv", _nul_after_64k),
    "cell_of_1mb": ("cell_of_1mb.csv", _cell_of_1mb),
    "directory": ("a_directory.csv", _directory),
    "columns_200000": ("columns_200000.csv", _wide([f"c{j}" for j in range(200_000)])),
    "duplicate_names_30000": ("duplicate_names_30000.csv", _wide(["score"] * 30_000)),
    "duplicate_names_8000": ("duplicate_names_8000.csv", _wide(["score"] * 8_000)),
}

QUESTION_GENERATORS: dict[str, Callable[[], str]] = {
    "long": lambda: ("which nation won the most gold medals? " * 300)[:10_000],
}


def materialize(case: Case, workdir: Path) -> Path:
    """The case's input file: committed under FILES, or generated once into ``workdir``."""
    if case.generate is None:
        return FILES / case.file
    name, write = GENERATORS[case.generate]
    path = workdir / name
    if not path.exists():
        write(path)
    return path


def error_regex(expected: dict, path: Path) -> re.Pattern:
    """The expected error's pattern, ``{file}`` standing for the input's file name."""
    return re.compile(expected["error"].replace("{file}", re.escape(path.name)))
