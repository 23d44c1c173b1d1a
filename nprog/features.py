"""Question ↔ table features (docs/neural-programmer.md §1.6), vectorized per column with pyarrow/numpy.

* ``exact[c, r]``: the cell is named in the question. Text cells: the cell's normalized text is a
  contiguous n-gram of the question (cells made only of stop words never match), or a country for the
  question's word for its people, or the reverse ("austrian" names "Austria"; nprog.demonyms). Number
  and date cells: the value equals a number the question mentions.
  A question that names a yes/no column but none of its cells ("which planets have rings?") names its
  yes cells (:func:`yes_cells`).
* ``partial[c, r]``: a text cell shares a content word (not a stop word) with the question. The original
  used this only as a fallback when nothing matched exactly; here it is a separate feature, always present.
* ``col_exact[c]`` / ``col_partial[c]``: the column's full name occurs in the question / the share of its
  content words that do (light plural stemming; "sold" says Sales, "longest" Length or Runtime).
* ``mfe[c, r]``: the cell holds a most frequent entry of its column, if that entry occurs more than once;
  every entry tied for the highest count is one (no row position breaks a tie). Explicit masks, no sentinels (deviation 8 there).
* ``entity_spans``: question token spans that exactly name a text cell (longest first, non-overlapping),
  for the encoder's anonymization.

Everything here is linear in the number of cells; nothing depends on the 100-row cap of the original.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nprog import demonyms
from nprog.questions import STOPWORDS, Question, name_tokens
from nprog.tables import Column, Table

MAX_NGRAM = 12  # cells longer than this many tokens are matched only partially


@dataclass
class Features:
    exact: np.ndarray  # (C, R) bool
    partial: np.ndarray  # (C, R) bool
    mfe: np.ndarray  # (C, R) bool
    col_exact: np.ndarray  # (C,) bool
    col_partial: np.ndarray  # (C,) float in [0, 1]
    entity_spans: list[tuple[int, int]]
    matched_text: list[list[str]]  # per column: the distinct cell strings named in the question


def _stem(token: str) -> str:
    return token[:-1] if len(token) > 3 and token.endswith("s") and not token.endswith("ss") else token


# question words that name a column without saying its name: a verb for its noun ("which album sold the
# most?" → Sales), a superlative for the quantity it ranks by ("which film is the longest?" → Runtime).
# Words as generic as "highest" or "most" are left out: they rank by whatever the question names.
_COLUMN_WORDS = {
    "sold": "sales", "sell": "sales", "sells": "sales", "selling": "sales",
    "won": "wins", "lost": "losses",
    "directed": "director", "produced": "producer", "wrote": "writer", "written": "writer",
    "composed": "composer", "born": "birth", "died": "death", "attended": "attendance",
    "longest": "length runtime duration", "shortest": "length runtime duration",
    "tallest": "height", "heaviest": "weight", "lightest": "weight",
    "oldest": "age", "youngest": "age", "fastest": "speed", "slowest": "speed",
}  # fmt: skip


def question_stems(tokens: list[str]) -> set[str]:
    """The stems a column name's words are looked up in: the question's own, and the column words its
    words stand for (_COLUMN_WORDS)."""
    stems = {_stem(t) for t in tokens}
    for t in tokens:
        stems.update(_stem(w) for w in _COLUMN_WORDS.get(t, "").split())
    return stems


def question_ngrams(tokens: list[str]) -> dict[str, tuple[int, int]]:
    """Every contiguous n-gram (n ≤ MAX_NGRAM) → its first span; longer n-grams win over their parts.
    A country's name or its people's word also stands for the other (nprog.demonyms: "austrian" →
    "austria", "germany" → "german"), on the same span; an n-gram the question says itself wins."""
    grams: dict[str, tuple[int, int]] = {}
    for n in range(1, min(MAX_NGRAM, len(tokens)) + 1):
        for i in range(len(tokens) - n + 1):
            grams.setdefault(" ".join(tokens[i : i + n]), (i, i + n))
    said = list(grams.items())
    for gram, span in said:
        if span[1] - span[0] <= demonyms.LONGEST:
            for alias in demonyms.aliases(gram):
                grams.setdefault(alias, span)
    return grams


def most_frequent_entry(column: Column) -> np.ndarray:
    """(R,) bool: cells holding a most frequent entry of the column (count > 1; every tied entry)."""
    return column.mfe


YES = frozenset({"yes", "y", "true"})  # normalized texts (a mark such as ✓ or "-" normalizes to nothing)
NO = frozenset({"no", "n", "false", ""})


def yes_cells(column: Column) -> np.ndarray:
    """(R,) bool: the "yes" cells of a yes/no column (every cell yes, no or empty, and some yes); all False
    for any other column. A question that names such a column without naming a cell ("how many planets
    have rings?") names its yes cells: "have rings" is "Rings is Yes"."""
    if column.levels is not None and "norm" not in column.__dict__:  # a long column: its distinct texts
        norms, codes = column.levels
    else:
        norms, codes = column.norm, None
    distinct = set(pc.unique(norms).to_pylist()) - {None}
    if not distinct & YES or not distinct <= YES | NO:
        return np.zeros(len(column.strings), dtype=bool)
    yes = pc.is_in(norms, value_set=pa.array(sorted(YES), type=pa.string())).to_numpy(zero_copy_only=False)
    return yes if codes is None else yes[codes]


def _text_columns(table: Table) -> np.ndarray:
    return np.array([c.kind == "text" for c in table.columns])


WORD_INDEX_CELLS = 200_000  # tables up to this many text cells keep a word index for partial matches


def _is_small(table: Table) -> bool:
    return table.n_rows * int(_text_columns(table).sum()) <= WORD_INDEX_CELLS


def _text_matches(table: Table, match, which: bool = False) -> tuple[np.ndarray, set[str]]:
    """(T·R,) bool over the T text columns: ``match`` (norms → bool array) for each cell's normalized
    text, and (``which=True``) the distinct norms it held for. Small tables take one call over all their
    text cells; large ones one call per column, over its distinct norms where the builder kept them
    (Column.levels)."""
    if _is_small(table):
        pieces = [(table.text_norm, None)]
    else:
        pieces = [c.levels or (c.norm, None) for c in table.columns if c.kind == "text"]
    hits, found = [], set()
    for norms, codes in pieces:
        hit = match(norms)
        if which and hit.any():
            found.update(pc.unique(norms.filter(pa.array(hit))).to_pylist())
        hits.append(hit if codes is None else hit[codes])
    return (np.concatenate(hits) if hits else np.zeros(0, dtype=bool)), found


def _partial_matches(table: Table, content: list[str]) -> np.ndarray:
    """(T·R,) bool over the T text columns: the cell's normalized text contains one of the content words
    as a whole word.

    Small tables (most questions) use a cached word index and a set lookup: no per-question regex to
    compile. Large tables use a regex pass per text column instead (over its distinct norms where kept),
    which needs no index as big as the table's text.
    """
    if _is_small(table):
        words, parents = table.cell_words
        hit = pc.is_in(words, value_set=pa.array(content, type=pa.string())).to_numpy(zero_copy_only=False)
        return np.bincount(parents[hit], minlength=len(table.text_norm)) > 0
    pattern = "(?:^| )(?:" + "|".join(re.escape(t) for t in content) + ")(?: |$)"
    return _text_matches(
        table, lambda norms: pc.match_substring_regex(norms, pattern).to_numpy(zero_copy_only=False)
    )[0]


def compute_features(table: Table, question: Question) -> Features:
    C, R = table.n_columns, table.n_rows
    grams = question_ngrams(question.tokens)
    gram_set = pa.array([g for g in grams if not all(t in STOPWORDS for t in g.split())], type=pa.string())
    content = sorted({t for t in question.tokens if t not in STOPWORDS and len(t) > 1})
    numbers = np.array(question.numbers, dtype=np.float64)
    stems = question_stems(question.tokens)
    is_text = _text_columns(table)  # text cells match by normalized text; number and date cells by value

    exact = np.zeros((C, R), dtype=bool)
    partial = np.zeros((C, R), dtype=bool)
    spans: dict[tuple[int, int], None] = {}
    if len(gram_set) and is_text.any():
        named, names = _text_matches(
            table,
            lambda norms: pc.is_in(norms, value_set=gram_set).to_numpy(zero_copy_only=False),
            which=True,
        )
        exact[is_text] = named.reshape(-1, R)
        spans = dict.fromkeys(sorted(grams[norm] for norm in names))
    if content and is_text.any():
        partial[is_text] = _partial_matches(table, content).reshape(-1, R)
    mfe = np.zeros((C, R), dtype=bool)
    matched_text: list[list[str]] = []
    col_exact = np.zeros(C, dtype=bool)
    col_partial = np.zeros(C, dtype=float)
    for c, column in enumerate(table.columns):
        mfe[c] = most_frequent_entry(column)
        if not is_text[c] and len(numbers):
            exact[c] = np.isin(column.value, numbers) & column.valid
        name = name_tokens(column.name)
        if name:
            col_exact[c] = " ".join(name) in grams
            kept = [t for t in name if t not in STOPWORDS] or list(name)
            col_partial[c] = sum(_stem(t) in stems for t in kept) / len(kept)
        if is_text[c] and col_partial[c] == 1.0 and not exact[c].any():
            exact[c] = yes_cells(column)  # "which planets have rings?" names the Yes cells of "Rings"
        texts = pc.unique(column.strings.filter(pa.array(exact[c]))).to_pylist() if exact[c].any() else []
        matched_text.append(texts)
    # longest spans first, then drop spans overlapping a kept one
    chosen: list[tuple[int, int]] = []
    for a, b in sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0])):
        if all(b <= x or a >= y for x, y in chosen):
            chosen.append((a, b))
    return Features(exact, partial, mfe, col_exact, col_partial, sorted(chosen), matched_text)
