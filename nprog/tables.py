"""Typed tables: any DataFrame or CSV becomes columns of kind number, date or text.

Every cell keeps its original string (what the user sees and what answers are matched against), a
normalized text (accent-free, lowercase, tokens joined by one space: what question words are matched
against) and, for number and date columns, one float ``value`` that comparisons, argmax and argmin use.
Dates live on the one scale of :mod:`nprog.values`, so a year in a question compares with a full date.

Column kinds: a column is ``date`` when at least 60 % of its non-missing cells are dates with a month
(bare years count towards it too), ``number`` when at least 60 % are numbers, ``text`` otherwise. Cells of a
number or date column that do not parse are invalid (masked), and text columns have no values at all: the
comparison and superlative operations select nothing there. This keeps the neural program, the reference
executor and the exported SQL in exact agreement (SQL compares the typed column, never a guess extracted
from free text).

No caps: a million rows build in a couple of seconds because everything is a vectorized pass over the
column's distinct strings (see ``nprog bench`` / ``bench/table_build.py``).
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nprog.values import Parsed, parse_strings

KIND_SHARE = 0.6  # share of non-missing cells that must parse for a column to be number / date
MAX_FILE_BYTES = 2 * 1024**3  # refuse files above 2 GiB with a clear message instead of swapping


class TableError(ValueError):
    """A table could not be read or is unusable; the message names the file and the problem."""


def normalize_text(strings) -> pa.Array:
    """Accent-free lowercase text with every run of non-letters/digits collapsed to one space.

    The question side uses the same function (``nprog.questions``), so a cell's normalized text occurs
    in a question's normalized text exactly when its tokens occur there contiguously.
    """
    s = strings if isinstance(strings, pa.Array) else pa.array(list(strings), type=pa.string())
    s = pc.fill_null(s, "")
    if len(s) > _NORM_MEMO_INPUT_LIMIT:
        return _normalize_bulk(s)
    words = s.to_pylist()
    misses = list({w for w in words if w not in _NORM_MEMO})
    if misses:
        if len(_NORM_MEMO) + len(misses) > 200_000:
            _NORM_MEMO.clear()
        _NORM_MEMO.update(zip(misses, _normalize_bulk(pa.array(misses, type=pa.string())).to_pylist(), strict=True))
    return pa.array([_NORM_MEMO[w] for w in words], type=pa.string())


_NORM_MEMO: dict[str, str] = {}  # compiling the unicode-class regexes costs more than small inputs
_NORM_MEMO_INPUT_LIMIT = 5_000


def _normalize_bulk(s: pa.Array) -> pa.Array:
    # plain ASCII (the common case) needs no unicode-class regexes; the rest takes the full path
    fast = pc.utf8_trim_whitespace(pc.replace_substring_regex(pc.ascii_lower(s), r"[^a-z0-9]+", " "))
    other = pc.invert(pc.string_is_ascii(s))
    if not pc.any(other).as_py():
        return fast
    u = pc.utf8_normalize(s.filter(other), form="NFKD")
    u = pc.replace_substring_regex(u, r"\p{Mn}+", "")
    u = pc.utf8_lower(u)
    u = pc.utf8_trim_whitespace(pc.replace_substring_regex(u, r"[^\p{L}\p{N}]+", " "))
    return pc.replace_with_mask(fast, other, u)


@dataclass
class Column:
    """One typed column; all arrays have one entry per row."""

    name: str  # unique, printable (what programs and SQL call it)
    original_name: str  # the header as given (may be empty, duplicated, contain newlines …)
    kind: str  # "number" | "date" | "text"
    strings: pa.Array  # original cell strings for display and answer matching
    norm: pa.Array  # normalized text (see normalize_text)
    value: np.ndarray  # float64 used by comparisons / argmax / argmin; NaN where invalid
    year: np.ndarray  # date parts (float64, NaN unknown), for the SQL DATE type
    month: np.ndarray
    day: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        return ~np.isnan(self.value)

    @cached_property
    def order_desc(self) -> np.ndarray:
        """Row indices by value descending, ties top-down, invalid last (computed on first use)."""
        return _stable_order(self.value, descending=True)

    @cached_property
    def order_asc(self) -> np.ndarray:
        """Row indices by value ascending, ties top-down, invalid last."""
        return _stable_order(self.value, descending=False)

    def display(self, row: int) -> str:
        return self.strings[row].as_py()


def _unique_names(headers: list[object]) -> list[str]:
    """Printable, unique column names: whitespace collapsed, empty → column_i, duplicates → 'name (2)'."""
    names, seen = [], set()
    for i, h in enumerate(headers):
        text = "" if h is None or (isinstance(h, float) and np.isnan(h)) else str(h)
        text = re.sub(r"[\x00-\x1f\x7f]", " ", text)
        text = re.sub(r"\s+", " ", text).strip()
        if not text or re.fullmatch(r"Unnamed: \d+", text):
            text = f"column_{i + 1}"
        base, k = text, 2
        while text.lower() in seen:
            text, k = f"{base} ({k})", k + 1
        seen.add(text.lower())
        names.append(text)
    return names


def _stable_order(value: np.ndarray, descending: bool) -> np.ndarray:
    if np.isnan(value).all():  # text columns: nothing to order
        return np.arange(len(value))
    key = -value if descending else value
    return np.argsort(key, kind="stable")  # NaN sorts last in numpy; ties keep row order


def build_column(name: str, original_name: str, strings: pa.Array, p: Parsed, norm: pa.Array) -> Column:
    """A typed column from its strings, their parsed values and their normalized text."""
    present = ~p.missing
    n_present = max(int(present.sum()), 1)
    has_number = ~np.isnan(p.number) & present
    has_date = p.is_date & present
    has_year = ~np.isnan(p.year) & present
    if has_date.any() and (has_date | has_year).sum() >= KIND_SHARE * n_present:
        kind = "date"
        value = p.date_scale
        year, month, day = p.year, p.month, p.day
    elif has_number.sum() >= KIND_SHARE * n_present and has_number.any():
        kind = "number"
        value = p.number.copy()
        year = month = day = np.full(len(value), np.nan)
    else:
        kind = "text"
        value = np.full(len(strings), np.nan)
        year = month = day = value
    value = np.where(np.isfinite(value), value, np.nan)  # inf / overflow are invalid, not huge
    return Column(
        name=name,
        original_name=original_name,
        kind=kind,
        strings=strings,
        norm=norm,
        value=value,
        year=year,
        month=month,
        day=day,
    )


class Table:
    """A typed table. Build with :meth:`from_dataframe`, :meth:`from_csv` or :meth:`from_wtq`."""

    def __init__(self, columns: list[Column], n_rows: int, source: str = "<table>"):
        self.columns = columns
        self.n_rows = n_rows
        self.source = source

    # ---- construction
    @classmethod
    def from_dataframe(cls, df: pd.DataFrame, source: str = "<dataframe>") -> Table:
        if not isinstance(df, pd.DataFrame):
            raise TableError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
        if df.shape[1] == 0:
            raise TableError(f"{source}: the table has no columns")
        if df.shape[0] == 0:
            raise TableError(f"{source}: the table has a header but no rows")
        originals = ["" if h is None else str(h) for h in df.columns]
        names = _unique_names(list(df.columns))
        per_column = []
        for j in range(df.shape[1]):
            series = df.iloc[:, j]
            if series.dtype == object or isinstance(series.dtype, pd.StringDtype | pd.ArrowDtype):
                strings = pa.array(series.astype("string[pyarrow]").fillna(""), type=pa.string())
            else:  # numbers, bools, datetimes: their usual printed form
                strings = pa.array(series.astype(str).where(series.notna(), ""), type=pa.string())
            per_column.append(strings)
        # one parser call and one normalization pass over the table's distinct strings
        everything = pa.concat_arrays(per_column)
        encoded = everything.dictionary_encode()  # Arrow's hash kernel: distinct strings + codes
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        distinct = encoded.dictionary
        p_u = parse_strings(distinct, distinct=True)
        parsed = p_u.take(codes)
        norm = normalize_text(distinct).take(pa.array(codes))
        R = len(df)
        columns = []
        for j, (name, original) in enumerate(zip(names, originals, strict=True)):
            part = slice(j * R, (j + 1) * R)
            columns.append(build_column(name, original, per_column[j], parsed.take(part), norm.slice(j * R, R)))
        return cls(columns, R, source)

    @classmethod
    def from_csv(cls, path: str | os.PathLike, *, max_bytes: int = MAX_FILE_BYTES) -> Table:
        return cls.from_dataframe(read_csv(path, max_bytes=max_bytes), source=str(path))

    @classmethod
    def from_wtq(cls, path: str | os.PathLike) -> Table:
        """A WikiTableQuestions table: reads the ``.tsv`` twin of ``N.csv`` (WTQ escapes), else the CSV."""
        path = Path(path)
        tsv = path.with_suffix(".tsv")
        if not tsv.exists():
            return cls.from_csv(path)
        lines = tsv.read_text(encoding="utf-8").rstrip("\n").split("\n")
        rows = [[unescape_wtq(f) for f in line.split("\t")] for line in lines]
        width = len(rows[0])
        body = [r + [""] * (width - len(r)) if len(r) < width else r[:width] for r in rows[1:]]
        return cls.from_dataframe(pd.DataFrame(body, columns=rows[0], dtype="string"), source=str(path))

    # ---- access
    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"no column named {name!r}; columns are {self.names}")

    def cell(self, row: int, col: int) -> str:
        return self.columns[col].display(row)

    def to_dataframe(self) -> pd.DataFrame:
        """Original strings under the unique names (what the UI shows)."""
        return pd.DataFrame({c.name: c.strings.to_pandas() for c in self.columns})

    def __repr__(self) -> str:
        kinds = ", ".join(f"{c.name}:{c.kind}" for c in self.columns[:8])
        more = ", …" if self.n_columns > 8 else ""
        return f"Table({self.n_rows} rows; {kinds}{more})"


def unescape_wtq(field_text: str) -> str:
    r"""WTQ TSV escapes: \n newline, \p pipe, \\ backslash."""
    if "\\" not in field_text:
        return field_text
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "p": "|", "\\": "\\"}.get(m.group(1), m.group(0)), field_text)


def _decode(raw: bytes, path: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw[:65536]:
        raise TableError(f"{path}: looks like a binary file, not a CSV (it contains NUL bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # the usual non-UTF-8 CSV: Excel on Windows
        if text.count("\ufffd") > max(10, len(text) // 100):
            raise TableError(f"{path}: not a text file in UTF-8, UTF-16 or Windows-1252") from None
        return text


def read_csv(path: str | os.PathLike, *, max_bytes: int = MAX_FILE_BYTES) -> pd.DataFrame:
    """Read a CSV into strings, or raise TableError with one line naming the file and the problem."""
    path = str(path)
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise TableError(f"{path}: cannot read the file ({e.strerror or e})") from None
    if size > max_bytes:
        raise TableError(f"{path}: the file is {size / 1024**2:.0f} MiB, over the {max_bytes / 1024**2:.0f} MiB limit")
    if size == 0:
        raise TableError(f"{path}: the file is empty")
    with open(path, "rb") as f:
        text = _decode(f.read(), path)
    if not text.strip():
        raise TableError(f"{path}: the file is empty")
    return parse_csv_text(text, path)


def parse_csv_text(text: str, source: str = "<csv>") -> pd.DataFrame:
    """Parse CSV text (comma, semicolon or tab separated, sniffed) into a DataFrame of strings."""
    sample = text[:65536]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    if delimiter != "," and sample.count(",") > sample.count(delimiter) * 2:
        delimiter = ","
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skipinitialspace=False,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise TableError(f"{source}: the file has no header row") from None
    except pd.errors.ParserError as e:
        detail = str(e).strip().splitlines()[-1] if str(e).strip() else "malformed CSV"
        raise TableError(f"{source}: malformed CSV ({detail})") from None
    if df.shape[0] == 0:
        raise TableError(f"{source}: the table has a header but no rows")
    return df
