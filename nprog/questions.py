"""Questions: tokens, the numbers and dates they mention, and the vocabulary.

A question is normalized exactly like table cells (:func:`nprog.tables.normalize_text`: accent-free,
lowercase, one space between runs of letters and digits), so that a cell's text occurs in the question's
text exactly when all its tokens occur there contiguously. Numbers are read with the one parser of
:mod:`nprog.values`, from the *raw* spans (so "1,500" is one number, not "1" and "500").

Number mentions replace their tokens by the special token ``<num>`` in the encoder input; the pointer over
question numbers then attends to the encoder state *at* the number (the original pointed at the word
before it, because it deleted numbers from the input). Dates spanning several words ("march 3, 2011",
"may 1998") become one mention on the date scale. The word "first" is not a number (it is the cue for the
`first` operation); "second" … "twentieth" are ("who finished third" → 3).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow.compute as pc

from nprog.caches import memoize
from nprog.tables import normalize_text
from nprog.values import MONTHS, parse_strings, strip_accents

PAD, UNK, NUM, ENT = "<pad>", "<unk>", "<num>", "<ent>"
SPECIALS = [PAD, UNK, NUM, ENT]

# Raw tokens: numbers with separators/decimals/ordinal or percent suffixes, words, single symbols.
_TOKEN_RE = re.compile(
    r"[$£€¥]?\d+(?:[,.:]\d+)*(?:st|nd|rd|th|s|%)?(?![\w])|[^\W_]+(?:'[^\W_]+)?", re.UNICODE
)
_NOT_NUMBERS = {"first", "once"}
_ONE_NOT_A_NUMBER_BEFORE = {"which", "the", "each", "any", "no", "every", "this", "that"}
_DAY_RE = re.compile(r"^\d{1,2}(?:st|nd|rd|th)?$")
# Units of duration after a question number: "4 minutes" is 240 seconds on a table whose times read
# "4:05" (m:ss cells parse to seconds); on a table of plain numbers ("Minutes: 2126") it stays 4.
DURATION_SECONDS = {
    "second": 1.0, "seconds": 1.0, "sec": 1.0, "secs": 1.0, "minute": 60.0, "minutes": 60.0, "min": 60.0,
    "mins": 60.0, "hour": 3600.0, "hours": 3600.0, "hr": 3600.0, "hrs": 3600.0,
}  # fmt: skip
# A cell that reads as a clock duration ("4:05", "1:23.45", "2:03:05"): the column counts seconds.
CLOCK_CELL_RE = r"^\s*[-+]?(?:\d+:)?\d+:\d{2}(?:\.\d+)?\s*$"
_YEAR_RE = re.compile(r"^[12]\d{3}$")

STOPWORDS = frozenset(
    """a an the of in on at to for from by with and or is are was were be been what which who whom whose
    how many much did does do that this these those it its as than then there their they he she his her
    him them we you your our i me my not no yes if when where why all any each one s""".split()
)


@dataclass
class Mention:
    start: int  # token index of the first token of the mention
    end: int  # one past the last token
    value: float  # number, or date on the date scale of nprog.values
    text: str  # the raw text
    seconds: float | None = None  # a duration ("4 minutes"): its length in seconds


@dataclass
class Question:
    text: str
    tokens: list[str]  # normalized tokens (the form cells and column names are matched against)
    mentions: list[Mention] = field(default_factory=list)  # spans in `tokens`

    @property
    def numbers(self) -> list[float]:
        return [m.value for m in self.mentions]

    def encoder_input(self, entity_spans: list[tuple[int, int]] = ()) -> tuple[list[str], list[int]]:
        """Encoder tokens and the position of each surviving number mention in them.

        Each number mention becomes one ``<num>``; each span of question words that exactly names a table
        cell becomes one ``<ent>`` (the original's anonymization: the model learns "a cell is named
        here", which transfers to tables it never saw). A number inside an entity span stops being a
        question number; its mention position is -1.
        """
        words, positions, _ = self.encoder_layout(entity_spans)
        return words, positions

    def encoder_layout(
        self, entity_spans: list[tuple[int, int]] = ()
    ) -> tuple[list[str], list[int], list[tuple[int, int]]]:
        """:meth:`encoder_input`, plus the span of question tokens each encoder token stands for (the
        pretrained encoder, nprog.encoder, reads the words themselves and pools them onto these)."""
        kind = [None] * len(self.tokens)  # None: plain word; ("ent", k) / ("num", k): span k starts here
        covered = np.zeros(len(self.tokens), dtype=bool)
        for k, (a, b) in enumerate(entity_spans):
            kind[a] = ("ent", k)
            covered[a + 1 : b] = True
        for k, m in enumerate(self.mentions):
            if covered[m.start] or kind[m.start] is not None:
                continue
            kind[m.start] = ("num", k)
            covered[m.start + 1 : m.end] = True
        out, positions, spans = [], [-1] * len(self.mentions), []
        for i, t in enumerate(self.tokens):
            if covered[i]:
                continue
            if kind[i] is None:
                out.append(t)
                spans.append((i, i + 1))
            elif kind[i][0] == "ent":
                out.append(ENT)
                spans.append(entity_spans[kind[i][1]])
            else:
                positions[kind[i][1]] = len(out)
                out.append(NUM)
                m = self.mentions[kind[i][1]]
                spans.append((m.start, m.end))
        return out, positions, spans


def parse_question(text: str) -> Question:
    return parse_questions([text])[0]


def parse_questions(texts: list[str]) -> list[Question]:
    """Parse many questions with one normalization call and one parser call over all their tokens
    (each pyarrow call has a fixed cost that a single question's few words would pay alone)."""
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"a question must be a string, not {type(text).__name__}")
    raws = [_TOKEN_RE.findall(strip_accents(text)) for text in texts]
    every = [r for raw in raws for r in raw]
    norms = normalize_text(every).to_pylist() if every else []
    parsed = parse_strings(every) if every else None
    out, at = [], 0
    for text, raw in zip(texts, raws, strict=True):
        part = slice(at, at + len(raw))
        at += len(raw)
        out.append(_question(text, raw, norms[part], parsed.take(part) if raw else None))
    return out


def _question(text: str, raw: list[str], norm: list[str], p) -> Question:
    """A Question from its raw tokens, their normalized texts and their parsed values."""
    tokens: list[str] = []
    span_of: list[tuple[int, int]] = []  # raw token i → tokens[a:b]
    for r, n in zip(raw, norm, strict=True):
        sub = n.split() if n else [r.lower()]
        span_of.append((len(tokens), len(tokens) + len(sub)))
        tokens.extend(sub)
    q = Question(text=text, tokens=tokens)
    if not raw:
        return q
    low = [r.lower().rstrip(".") for r in raw]
    taken = np.zeros(len(raw), dtype=bool)
    found: list[tuple[int, int, float, str]] = []  # raw spans
    # multi-token dates first: "march 3 2011", "3 march 2011", "march 2011"
    for i, w in enumerate(low):
        nxt = low[i + 1] if i + 1 < len(low) else ""
        if w not in MONTHS or (w == "may" and not (_DAY_RE.match(nxt) or _YEAR_RE.match(nxt))):
            continue
        span = None
        # the day before the month: "3 march", "3rd of march"
        before = i - 1 if i >= 1 and _DAY_RE.match(low[i - 1]) else None
        if before is None and i >= 2 and low[i - 1] == "of" and _DAY_RE.match(low[i - 2]):
            before = i - 2
        if i + 2 < len(low) and _DAY_RE.match(nxt) and _YEAR_RE.match(low[i + 2]):
            span = (i, i + 3)
        elif before is not None and _YEAR_RE.match(nxt):
            span = (before, i + 2)
        elif _YEAR_RE.match(nxt):
            span = (i, i + 2)
        elif _DAY_RE.match(nxt) or before is not None:
            # "december 14", "14 december": a day of a month, not the number 14. Without a year it has no
            # place on the date scale, so it is no number mention at all; its words still name cells.
            day = i + 1 if _DAY_RE.match(nxt) else before
            a, b = min(i, day), max(i, day) + 1
            if not taken[a:b].any() and 1 <= int(re.sub(r"\D", "", low[day])) <= 31:
                taken[a:b] = True
            continue
        if span and not taken[span[0] : span[1]].any():
            words = " ".join(raw[span[0] : span[1]])
            scale = parse_strings([words]).date_scale[0]
            if not np.isnan(scale):
                found.append((span[0], span[1], float(scale), words))
                taken[span[0] : span[1]] = True
    # single-token numbers (parsed for all the questions at once)
    for i, r in enumerate(raw):
        if taken[i] or low[i] in _NOT_NUMBERS or np.isnan(p.number[i]):
            continue
        if low[i] == "one" and (
            (i > 0 and low[i - 1] in _ONE_NOT_A_NUMBER_BEFORE) or (i + 1 < len(low) and low[i + 1] == "of")
        ):
            continue
        found.append((i, i + 1, float(p.number[i]), r))
    unit = {i: DURATION_SECONDS.get(low[i + 1]) for i in range(len(low) - 1)}
    q.mentions = [
        Mention(span_of[a][0], span_of[b - 1][1], value, words,
                value * unit[a] if b == a + 1 and unit.get(a) else None)
        for a, b, value, words in sorted(found)
    ]  # fmt: skip
    return q


def in_table_units(q: Question, table) -> Question:
    """The question with its durations in the unit the table's clock cells use: "4 minutes" becomes 240
    where a number column reads "4:05" (seconds), and stays 4 on a table of plain minutes."""
    if not any(m.seconds is not None for m in q.mentions):
        return q
    clock = any(
        c.kind == "number"
        and pc.sum(pc.match_substring_regex(c.strings, CLOCK_CELL_RE)).as_py() * 2 > len(c.strings)
        for c in table.columns
    )
    if not clock:
        return q
    mentions = [replace(m, value=m.seconds) if m.seconds is not None else m for m in q.mentions]
    return replace(q, mentions=mentions)


class Vocabulary:
    """Word ids for the question encoder and column names; ids are compact (no holes after the cutoff)."""

    def __init__(self, words: list[str]):
        self.words = SPECIALS + [w for w in words if w not in SPECIALS]
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, token_lists, min_count: int = 5) -> Vocabulary:
        counts = Counter(t for tokens in token_lists for t in tokens)
        kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls(kept)

    def __len__(self) -> int:
        return len(self.words)

    def ids(self, tokens: list[str]) -> list[int]:
        unk = self.index[UNK]
        return [self.index.get(t, unk) for t in tokens]


@memoize(maxsize=65536)
def _name_tokens(name: str) -> tuple[str, ...]:
    text = normalize_text([name])[0].as_py()
    return tuple(text.split()) if text else ()


def name_tokens(name: str) -> list[str]:
    """Tokens of a column name, normalized like questions ("Avg. Attendance" → ["avg", "attendance"])."""
    return list(_name_tokens(name))
