"""Typed tables: any DataFrame or CSV becomes columns of kind number, date or text.

Reading is :mod:`nprog.readers` (files, database files, the one cell-to-text rule); this module types
the strings it gives.

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

No caps: a 1,000,000-row × 10-column table builds in about a second on two cores. Short tables (all of
WikiTableQuestions) are built together, one vectorized pass over the distinct strings of all of them;
long ones column by column in threads, where a column whose row sample is clearly text skips the number
and date parser entirely (see ``_build_large_column``; ``nprog bench`` measures both).
"""

from __future__ import annotations

import itertools
import os
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nprog.answers import to_values
from nprog.caches import NORMALIZED_TEXT, memoize
from nprog.readers import (
    MAX_FILE_BYTES,
    TableError,
    cell_text,
    check_width,
    column_strings,
    read_csv,
    read_wtq_file,
    read_wtq_frame,
)
from nprog.values import Parsed, parse_strings

KIND_SHARE = 0.6  # share of non-missing cells that must parse for a column to be number / date


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
    found = NORMALIZED_TEXT.lookup(words)  # a local dict: another thread may clear the shared memo
    misses = [w for w, n in found.items() if n is None]
    if misses:
        fresh = {w: _ASCII_RUNS.sub(" ", w.lower()).strip(" ") for w in misses if w.isascii()}
        safe = _same_in_python()
        fresh.update((w, _normalize_python(w)) for w in misses if w not in fresh and safe.issuperset(w))
        rest = [w for w in misses if w not in fresh]  # other scripts: Arrow's unicode path (_normalize_bulk)
        if rest:
            fresh.update(
                zip(rest, _normalize_bulk(pa.array(rest, type=pa.string())).to_pylist(), strict=True)
            )
        found.update(fresh)
        NORMALIZED_TEXT.add(fresh)
    return pa.array([found[w] for w in words], type=pa.string())


_NORM_MEMO_INPUT_LIMIT = (
    5_000  # up to this many strings, memoized (caches.NORMALIZED_TEXT): regexes cost more
)
# ASCII text normalizes exactly as _normalize_bulk's fast branch does (lowercase, every run of other
# characters one space, trimmed), without an Arrow call per table: a short table's fixed cost
_ASCII_RUNS = re.compile(r"[^a-z0-9]+")
# Latin letters, punctuation, currency and letterlike symbols: _normalize_python gives Arrow's text for
# every character of these blocks that _same_in_python finds it does for alone. The steps work character
# by character (NFKD only decomposes; lowercase has no context outside Greek), so whole strings of such
# characters agree too (tests/test_tables.py compares both on random strings).
_PYTHON_BLOCKS = ((0x80, 0x250), (0x2000, 0x2070), (0x20A0, 0x20D0), (0x2100, 0x2190))
_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")


def _normalize_python(text: str) -> str:
    """_normalize_bulk's unicode branch in Python: NFKD, marks (Mn) dropped, lowercase, runs of anything
    but letters and digits one space, trimmed."""
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if unicodedata.category(c) != "Mn")
    return _NOT_LETTER_OR_DIGIT.sub(" ", text.lower()).strip(" ")


@memoize(maxsize=1)
def _same_in_python() -> frozenset[str]:
    """The characters of _PYTHON_BLOCKS that _normalize_python treats exactly as Arrow does (one Arrow
    call, once per process; both sides follow their own Unicode tables)."""
    chars = [chr(c) for low, high in _PYTHON_BLOCKS for c in range(low, high)]
    arrow = _normalize_bulk(pa.array([f"a{c}b" for c in chars], type=pa.string())).to_pylist()
    return frozenset(
        c for c, a in zip(chars, arrow, strict=True) if _normalize_python(f"a{c}b") == a
    ) | frozenset(chr(c) for c in range(0x80))


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


@dataclass(eq=False)
class Column:
    """One typed column; all arrays have one entry per row."""

    name: str  # unique, printable (what programs and SQL call it)
    original_name: str  # the header as given (may be empty, duplicated, contain newlines …)
    kind: str  # "number" | "date" | "text"
    strings: pa.Array  # original cell strings for display and answer matching
    value: np.ndarray  # float64 used by comparisons / argmax / argmin; NaN where invalid
    year: np.ndarray  # date parts (float64, NaN unknown), for the SQL DATE type
    month: np.ndarray
    day: np.ndarray
    # a long text column's distinct normalized texts and each cell's index into them, where its builder
    # made them: question words are matched against the few distinct texts, not every cell
    levels: tuple[pa.Array, np.ndarray] | None = field(default=None, repr=False)

    @property
    def valid(self) -> np.ndarray:
        return ~np.isnan(self.value)

    @cached_property
    def norm(self) -> pa.Array:
        """Normalized text of each cell (see normalize_text). Question words are matched against the text
        columns' norms only, so the table builders fill it in for text columns and leave it to this
        first use everywhere else."""
        if self.levels is not None:  # a long column's distinct texts: each cell's is one take away
            distinct, codes = self.levels
            return distinct.take(pa.array(codes))
        return normalize_text(self.strings)

    @cached_property
    def mfe(self) -> np.ndarray:
        """(R,) bool: cells holding a most frequent entry of the column (count > 1; every tied entry).

        Entries are compared by normalized text in text columns and by value elsewhere."""
        return most_frequent_mask(self.entry_keys(self.norm) if self.kind == "text" else self.value)

    @staticmethod
    def entry_keys(norm: pa.Array) -> pa.Array:
        """Text entries as most_frequent_mask takes them: empty text is no entry (null)."""
        return pc.if_else(pc.equal(norm, ""), pa.scalar(None, pa.string()), norm)

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


KEY_SAMPLE = 10_000  # rows that decide Table.key_column on a long table

# "Ben Okafor", "Jean-Luc O'Neill", "Chen Wei": two to four capitalised words
# two to four capitalized words, not led by an article: "The Glass Orchard" and "A Quiet Ledger" are titles
_PERSON = re.compile(r"(?!(?:The|A|An) )[A-Z][\w'.-]+(?: [A-Z][\w'.-]+){1,3}")


def looks_like_person(cell: str) -> bool:
    """Whether a cell reads like a person's name (also some places and teams: a feature, not a fact)."""
    return bool(_PERSON.fullmatch(cell.strip()))


def most_frequent_mask(keys: pa.Array | np.ndarray, codes: np.ndarray | None = None) -> np.ndarray:
    """(R,) bool: cells whose key is a most frequent one, if it occurs more than once. Every key tied for
    the highest count is a mode: which one "comes first" would depend on the row order, and a question
    that names no order must not. Keys are strings (null: no entry) or floats (NaN: no entry), one per
    cell, or one per distinct string when ``codes`` maps each cell to its distinct string."""
    if isinstance(keys, pa.Array):
        ids = keys.dictionary_encode().indices.to_numpy(zero_copy_only=False)
        ids = np.nan_to_num(np.asarray(ids, dtype=np.float64), nan=-1).astype(np.int64)
        ids = ids if codes is None else ids[codes]
        counts = np.bincount(ids[ids >= 0])
        if len(counts) == 0 or counts.max() <= 1:
            return np.zeros(len(ids), dtype=bool)
        return np.isin(ids, np.flatnonzero(counts == counts.max()))
    values = keys if codes is None else keys[codes]  # numbers: sorting beats hashing floats
    uniques, counts = np.unique(values[~np.isnan(values)], return_counts=True)  # −0.0 and 0.0 are one key
    if len(counts) == 0 or counts.max() <= 1:
        return np.zeros(len(values), dtype=bool)
    return np.isin(values, uniques[counts == counts.max()])


class _TypedColumn(Column):
    """A column typed from its DataFrame dtype (see :func:`_typed_column`): values now, display strings
    on first use (answers, SQL export), made by the same :func:`column_strings` as every other column
    from a private copy of the cells, so a DataFrame changed after the build cannot change them."""

    def __init__(self, cells: pd.Series, kind: str, value: np.ndarray, year, month, day):
        self._cells = cells
        self.name = self.original_name = ""
        self.kind, self.value, self.year, self.month, self.day = kind, value, year, month, day
        self.levels = None

    @cached_property
    def strings(self) -> pa.Array:
        return column_strings(self._cells)


# float64's printed form switches to exponent notation outside this range ("1e+16", "1e-05"), which the
# string parser does not read as a number: such columns take the string path, so both paths agree
_PLAIN_FLOAT_RANGE = (1e-4, 1e16)


def _typed_column(series: pd.Series) -> Column | None:
    """A number column from an int / uint / float64 dtype, a date column from datetime64, without the
    string round trip: the same kind, values and display strings as the strings of those cells would
    give (``tests/test_tables.py`` compares both). None where the dtype says nothing certain (objects,
    strings, bools, float32, an all-missing column, inf, exponent notation): those are read as strings.
    A datetime with a time of day is its date (as a string it would not read as a date at all)."""
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if not series.notna().any():
            return None
        dt = series.dt
        year, month, day = (
            np.asarray(getattr(dt, part).to_numpy(dtype=np.float64, na_value=np.nan))
            for part in ("year", "month", "day")
        )
        value = year + (month - 1.0) / 12.0 + (day - 1.0) / 372.0  # the one date scale (nprog.values)
        return _TypedColumn(series.copy(deep=True), "date", value, year, month, day)
    numeric = pd.api.types.is_integer_dtype(dtype) or (
        pd.api.types.is_float_dtype(dtype) and np.dtype(getattr(dtype, "numpy_dtype", dtype)) == np.float64
    )
    if not numeric or pd.api.types.is_bool_dtype(dtype):
        return None
    value = np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    finite = np.isfinite(value)
    if not finite.any() or np.isinf(value).any():
        return None
    if pd.api.types.is_float_dtype(dtype):
        size = np.abs(value[finite])
        low, high = _PLAIN_FLOAT_RANGE
        if ((size >= high) | ((size < low) & (size > 0))).any():
            return None
    nothing = np.full(len(value), np.nan)
    return _TypedColumn(series.copy(deep=True), "number", value, nothing, nothing, nothing)


def _unique_names(headers: list[object]) -> list[str]:
    """Printable, unique column names: whitespace collapsed, empty → column_i, duplicates → 'name (2)'."""
    names, seen = [], set()
    next_k: dict[str, int] = {}  # base → the first number not yet tried: renaming stays linear in duplicates
    for i, h in enumerate(headers):
        text = cell_text(h)
        text = re.sub(r"[\x00-\x1f\x7f]", " ", text)
        text = re.sub(r"\s+", " ", text).strip()
        if not text or re.fullmatch(r"Unnamed: \d+", text):
            text = f"column_{i + 1}"
        base = text
        k = next_k.get(base.lower(), 2)
        while text.lower() in seen:
            text, k = f"{base} ({k})", k + 1
        next_k[base.lower()] = k
        seen.add(text.lower())
        names.append(text)
    return names


def _stable_order(value: np.ndarray, descending: bool) -> np.ndarray:
    if np.isnan(value).all():  # text columns: nothing to order
        return np.arange(len(value))
    key = -value if descending else value
    return np.argsort(key, kind="stable")  # NaN sorts last in numpy; ties keep row order


def _check_frame(df, source: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TableError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    if df.shape[1] == 0:
        raise TableError(f"{source}: the table has no columns")
    check_width(df.shape[1], source)
    if df.shape[0] == 0:
        raise TableError(f"{source}: the table has a header but no rows")


def column_kind(p: Parsed) -> str:
    """number / date / text by the KIND_SHARE rule (module docstring) over a column's parsed cells."""
    present = ~p.missing
    n_present = max(int(present.sum()), 1)
    has_date = p.is_date & present
    if has_date.any() and ((has_date | ~np.isnan(p.year)) & present).sum() >= KIND_SHARE * n_present:
        return "date"
    n_number = int((~np.isnan(p.number) & present).sum())
    if n_number >= KIND_SHARE * n_present and n_number:
        return "number"
    return "text"


def build_column(
    name: str, original_name: str, strings: pa.Array, p: Parsed, kind: str | None = None
) -> Column:
    """A typed column from its strings and their parsed values (``kind`` when already decided)."""
    kind = kind or column_kind(p)
    if kind == "date":
        value = p.date_scale
        year, month, day = p.year, p.month, p.day
    elif kind == "number":
        value = p.number.copy()
        year = month = day = np.full(len(value), np.nan)
    else:
        value = np.full(len(strings), np.nan)
        year = month = day = value
    value = np.where(np.isfinite(value), value, np.nan)  # inf / overflow are invalid, not huge
    return Column(name, original_name, kind, strings, value, year, month, day)


# Long columns are typed one by one, in parallel threads (Arrow and numpy release the GIL), each from a
# sample of its rows first: a column whose sample is clearly text (see _clearly_text) needs no parsing at
# all, which is what makes a million rows of names or notes cheap. Every other column is parsed in full
# and typed by the exact rule, so numbers and dates are never guessed.
LARGE_TABLE_ROWS = 50_000
KIND_SAMPLE_ROWS = 10_000
KIND_SIGMAS = 6.0
FIRST_LOOK_ROWS = 1_000  # sampled cells parsed first (see _build_large_column)


def _clearly_text(sample: Parsed) -> bool:
    """True when the sampled cells put the column's number share and its date share below KIND_SHARE by
    more than KIND_SIGMAS standard errors of the sample's estimate: the full column is then text, except
    with a probability below one in a billion. Too few present cells in the sample decide nothing."""
    present = ~sample.missing
    n = int(present.sum())
    if n == 0:
        return False
    numbers = (~np.isnan(sample.number) & present).sum() / n
    dates = ((sample.is_date | ~np.isnan(sample.year)) & present).sum() / n
    return max(numbers, dates) + KIND_SIGMAS * np.sqrt(0.25 / n) < KIND_SHARE


def _sample_rows(n_rows: int) -> pa.Array:
    """A fixed pseudo-random sample of row indices (the same table always gets the same sample)."""
    rows = np.random.default_rng(0).choice(n_rows, size=min(KIND_SAMPLE_ROWS, n_rows), replace=False)
    return pa.array(np.sort(rows))


def _build_large_column(strings: pa.Array) -> Column:
    """One long column (unnamed: the table names its columns): typed from a row sample where it is
    clearly text, else by parsing every cell.

    Strings are parsed and normalized per distinct string when the sample shows repeats (categories,
    dates, scores), and cell by cell when nearly every sampled cell differs (ids, names), where
    de-duplicating would cost a hash pass and save nothing. Either way the results are the same."""
    sample = strings.take(_sample_rows(len(strings))).dictionary_encode()
    repeats = len(sample.dictionary) < 0.99 * len(sample)  # 1 % of sampled cells repeat: hashing pays
    in_sample = sample.indices.to_numpy(zero_copy_only=False)
    # a first look at a random part of the sample (itself a uniform sample) settles most text columns by
    # parsing its few distinct strings; only a column it leaves open has the whole sample parsed. Two
    # looks, each wrong below one in a billion (_clearly_text): below two in a billion together.
    part = np.random.default_rng(1).choice(
        len(in_sample), size=min(FIRST_LOOK_ROWS, len(in_sample)), replace=False
    )
    used, local = np.unique(in_sample[part], return_inverse=True)
    sampled = parse_strings(sample.dictionary.take(pa.array(used)), distinct=True).take(local)
    if not _clearly_text(sampled):
        sampled = parse_strings(sample.dictionary, distinct=True).take(in_sample)
    if repeats:
        encoded = strings.dictionary_encode()
        distinct, codes = encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False)
    else:
        distinct, codes = strings, None
    if _clearly_text(sampled):
        column = build_column("", "", strings, sampled, kind="text")
    else:
        parsed = parse_strings(distinct, distinct=True)
        column = build_column("", "", strings, parsed if codes is None else parsed.take(codes))
    if column.kind == "text":
        distinct_norm = normalize_text(distinct)
        column.levels = None if codes is None else (distinct_norm, codes)
        if codes is None:  # else made from the levels on first use (most questions never need it)
            column.norm = distinct_norm
        column.mfe = most_frequent_mask(Column.entry_keys(distinct_norm), codes)
    else:  # by value, here in this worker thread rather than on first use
        column.mfe = most_frequent_mask(column.value)
    return column


def _worker_count() -> int:
    try:
        return max(1, min(8, len(os.sched_getaffinity(0))))
    except AttributeError:  # not on Linux
        return max(1, min(8, os.cpu_count() or 1))


def _build_small_tables(per_table: list[list[pa.Array]]) -> list[list[Column]]:
    """The columns of several small tables (their cell strings, table by table), parsed in one pass over
    the distinct strings of all of them; text columns get their norms from one normalization pass."""
    if not any(per_table):  # none, or typed from their dtypes only
        return [[] for _ in per_table]
    everything = pa.concat_arrays([c for cols in per_table for c in cols])
    encoded = everything.dictionary_encode()  # Arrow's hash kernel: distinct strings + codes
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    distinct = encoded.dictionary
    parsed = parse_strings(distinct, distinct=True)
    tables, parts, at = [], [], 0
    for cols in per_table:
        columns = []
        for strings in cols:
            part = codes[at : at + len(strings)]
            at += len(strings)
            columns.append(build_column("", "", strings, parsed.take(part)))  # named by the table
            parts.append(part)
        tables.append(columns)
    text = [(c, part) for c, part in zip(itertools.chain(*tables), parts, strict=True) if c.kind == "text"]
    if text:
        used = np.unique(np.concatenate([part for _, part in text]))
        norm = normalize_text(distinct.take(pa.array(used)))
        for column, part in text:
            column.norm = norm.take(pa.array(np.searchsorted(used, part)))
    return tables


@dataclass
class CellValues:
    """Answer-matching readings of every cell, as (C, R) arrays."""

    text: np.ndarray  # object: normalized strings
    number: np.ndarray  # float64, NaN if not a plain numeral
    date: np.ndarray  # (C, R, 3) float64 year/month/day, NaN unknown; all NaN if not a date


class Table:
    """A typed table. Build with :meth:`from_dataframe`, :meth:`from_csv` or :meth:`from_wtq`."""

    def __init__(self, columns: list[Column], n_rows: int, source: str = "<table>"):
        self.columns = columns
        self.n_rows = n_rows
        self.source = source

    # ---- construction
    @classmethod
    def from_dataframe(cls, df: pd.DataFrame, source: str = "<dataframe>") -> Table:
        return cls.from_dataframes([(df, source)])[0]

    @classmethod
    def from_dataframes(cls, frames: list[tuple[pd.DataFrame, str]]) -> list[Table]:
        """Several tables at once, (DataFrame, source) each.

        Tables up to LARGE_TABLE_ROWS rows share one parser call and one normalization pass over the
        distinct strings of all of them (the parser's fixed cost is paid once, not per table); longer
        tables are built column by column in parallel threads (see _build_large_column)."""
        for df, source in frames:
            _check_frame(df, source)
        typed = [[_typed_column(series) for _, series in df.items()] for df, _ in frames]
        per_table = [
            [
                column_strings(series)
                for (_, series), done in zip(df.items(), typed[t], strict=True)
                if done is None
            ]
            for t, (df, _) in enumerate(frames)
        ]
        small = [t for t, (df, _) in enumerate(frames) if len(df) <= LARGE_TABLE_ROWS]
        columns = dict(zip(small, _build_small_tables([per_table[t] for t in small]), strict=True))
        large = [t for t, (df, _) in enumerate(frames) if len(df) > LARGE_TABLE_ROWS]
        cells = [strings for t in large for strings in per_table[t]]
        typed_long = [column for t in large for column in typed[t] if column is not None]
        if cells or typed_long:
            with ThreadPoolExecutor(min(_worker_count(), len(cells) + len(typed_long))) as pool:
                modes = pool.map(lambda column: column.mfe, typed_long)  # by value, in the threads too
                built = iter(pool.map(_build_large_column, cells))
                for t in large:
                    columns[t] = [next(built) for _ in per_table[t]]
                list(modes)
        for t in large:
            columns.setdefault(t, [])
        for t, done in enumerate(typed):  # typed columns back in their places among the parsed ones
            parsed = iter(columns[t])
            columns[t] = [next(parsed) if column is None else column for column in done]
        tables = []
        for t, (df, source) in enumerate(frames):
            names, originals = _unique_names(list(df.columns)), [cell_text(h) for h in df.columns]
            for column, name, original in zip(columns[t], names, originals, strict=True):
                column.name, column.original_name = name, original
            tables.append(cls(columns[t], len(df), source))
        return tables

    @classmethod
    def from_csv(cls, path: str | os.PathLike, *, max_bytes: int = MAX_FILE_BYTES) -> Table:
        return cls.from_dataframe(read_csv(path, max_bytes=max_bytes), source=str(path))

    @classmethod
    def from_wtq(cls, path: str | os.PathLike) -> Table:
        """A WikiTableQuestions table: reads the ``.tsv`` twin of ``N.csv`` (WTQ escapes), else the CSV."""
        return cls.from_dataframe(read_wtq_frame(path), source=str(path))

    @classmethod
    def from_wtq_file(cls, path: str | os.PathLike) -> Table:
        """Exactly this (already resolved and confined) file; a symbolic link there is refused."""
        return cls.from_dataframe(read_wtq_file(path, follow_symlinks=False), source=str(path))

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
        return pa.Table.from_arrays([c.strings for c in self.columns], names=self.names).to_pandas()

    # ---- derived once per table, on first use (kept with the table, not in a process-wide cache)
    @cached_property
    def totals(self) -> np.ndarray:
        """(R,) bool, read-only: the totals/summary rows ("Total", "All" …; :func:`nprog.ops.totals_rows`)."""
        from nprog.ops import find_totals_rows  # ops reads tables: imported on first use

        return find_totals_rows(self)

    @cached_property
    def key_column(self) -> np.ndarray:
        """(C,) bool, read-only: the column that names the rows — the first text column whose cells (totals
        rows aside) are all filled and all different by their normalized text ("which nation …?" and "who
        …?" print it). A table longer than KEY_SAMPLE rows is judged by its first KEY_SAMPLE rows, so a
        million names are neither normalized nor hashed for this."""
        out = np.zeros(self.n_columns, dtype=bool)
        keep = pa.array(~self.totals[:KEY_SAMPLE])
        if int(pc.sum(keep).as_py() or 0) < 2:
            return out
        for c, column in enumerate(self.columns):
            if column.kind != "text":
                continue
            known = column.__dict__.get("norm")  # normalized already (cached_property): reuse
            head = (
                known.slice(0, KEY_SAMPLE)
                if known is not None
                else normalize_text(column.strings.slice(0, KEY_SAMPLE))
            )
            norm = head.filter(keep)
            if not pc.any(pc.equal(norm, "")).as_py() and pc.count_distinct(norm).as_py() == len(norm):
                out[c] = True
                break
        out.flags.writeable = False
        return out

    @cached_property
    def value_range(self) -> np.ndarray:
        """(C, 2) float64, read-only: each column's smallest and largest valid value (NaN, NaN for text and
        for a column without one), for the question-number-in-range feature."""
        out = np.full((self.n_columns, 2), np.nan)
        for c, column in enumerate(self.columns):
            if column.kind != "text" and column.valid.any():
                out[c] = np.nanmin(column.value), np.nanmax(column.value)
        out.flags.writeable = False
        return out

    @cached_property
    def person_share(self) -> np.ndarray:
        """(C,) float32, read-only: the share of a text column's first 50 cells that look like people's names."""
        out = np.zeros(self.n_columns, dtype=np.float32)
        for c, column in enumerate(self.columns):
            if column.kind == "text" and self.n_rows:
                cells = column.strings.slice(0, 50).to_pylist()
                out[c] = sum(looks_like_person(s or "") for s in cells) / len(cells)
        out.flags.writeable = False
        return out

    @cached_property
    def text_norm(self) -> pa.Array:
        """Normalized text of every cell of the text columns, column after column (one pyarrow array for
        the question features). Number and date cells are matched by value instead."""
        norms = [c.norm for c in self.columns if c.kind == "text"]
        return pa.concat_arrays(norms) if norms else pa.array([], type=pa.string())

    @cached_property
    def cell_words(self) -> tuple[pa.Array, np.ndarray]:
        """Every word of :attr:`text_norm`, and the flat index (t·R + r over the text columns) of the cell
        it belongs to."""
        lists = pc.split_pattern(self.text_norm, " ")
        return pc.list_flatten(lists), pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)

    @cached_property
    def cell_values(self) -> CellValues:
        """Answer-matching readings of every cell (what a gold answer is compared with in training)."""
        C, R = self.n_columns, self.n_rows
        flat = to_values([s for c in self.columns for s in c.strings.to_pylist()])
        text = np.array([v.text for v in flat], dtype=object).reshape(C, R)
        number = np.array([np.nan if v.number is None else v.number for v in flat]).reshape(C, R)
        date = np.array([v.date or (np.nan, np.nan, np.nan) for v in flat], dtype=np.float64).reshape(C, R, 3)
        return CellValues(text, number, date)

    def __repr__(self) -> str:
        kinds = ", ".join(f"{c.name}:{c.kind}" for c in self.columns[:8])
        more = ", …" if self.n_columns > 8 else ""
        return f"Table({self.n_rows} rows; {kinds}{more})"
