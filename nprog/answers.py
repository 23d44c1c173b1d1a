"""Answer matching with the semantics of WikiTableQuestions' official evaluator (our own implementation).

A value is a normalized string plus, where the string reads as one, a number and a date. Two values match
when their numbers are equal, or their dates are equal (year/month/day, unknown parts must agree), or their
normalized strings are equal. Two lists match when they have the same size and every gold value matches
some predicted value (order does not matter). Numbers and dates are read with the project's one parser
(:mod:`nprog.values`), strictly: a number is a plain numeral ("1,234" reads as 1234, unlike the official
script, but "1998-99" is not 1998), a date needs at least a month ("March 3, 2011" equals "2011-03-03").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from nprog.values import parse_strings, plain_number, strip_accents

_CITATION_RE = re.compile(r"((?<!^)\[[^\]]*\]|\[\d+\]|[•♦†‡*#+])*$")
_PAREN_RE = re.compile(r"(?<!^)( \([^)]*\))*$")
_QUOTED_RE = re.compile(r'^"([^"]*)"$')


def normalize(text: str) -> str:
    """Diacritics off, quotes and dashes unified, citations, trailing parentheticals, outer quotes and a
    final period dropped, whitespace collapsed, lowercase."""
    x = strip_accents(str(text))
    x = re.sub(r"[‘’´`]", "'", x)
    x = re.sub(r"[“”]", '"', x)
    x = re.sub(r"[‐‑‒–—−]", "-", x)
    while True:
        old = x
        x = _CITATION_RE.sub("", x.strip())
        x = _PAREN_RE.sub("", x.strip())
        x = _QUOTED_RE.sub(r"\1", x.strip())
        if x == old:
            break
    if x and x[-1] == ".":
        x = x[:-1]
    return re.sub(r"\s+", " ", x).lower().strip()


@dataclass(frozen=True)
class Value:
    text: str  # normalized string
    number: float | None
    date: tuple[float, float, float] | None  # (year, month, day), NaN = unknown part

    def matches(self, other: Value) -> bool:
        if (
            self.number is not None
            and other.number is not None
            and math.isclose(self.number, other.number, rel_tol=0, abs_tol=1e-6)
        ):
            return True
        if self.date is not None and other.date is not None and _same_date(self.date, other.date):
            return True
        return self.text == other.text


def _same_date(a, b) -> bool:
    return all((math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b, strict=True))


def to_values(strings: list[str]) -> list[Value]:
    """Normalize and parse a list of answer strings in one vectorized parser call."""
    norm = [normalize(s) for s in strings]
    if not norm:
        return []
    p, numbers = parse_strings(norm), plain_number(norm)
    out = []
    for i, text in enumerate(norm):
        number = None if np.isnan(numbers[i]) else float(numbers[i])
        date = None if np.isnan(p.month[i]) else (float(p.year[i]), float(p.month[i]), float(p.day[i]))
        out.append(Value(text, number, date))
    return out


def lists_match(gold: list[str] | list[Value], predicted: list[str] | list[Value]) -> bool:
    """Official list semantics: same size, every gold value matches some predicted value."""
    g = gold if gold and isinstance(gold[0], Value) else to_values(list(gold))
    p = predicted if predicted and isinstance(predicted[0], Value) else to_values(list(predicted))
    if len(g) != len(p):
        return False
    return all(any(x.matches(y) for y in p) for x in g)


def format_number(x: float) -> str:
    """How nprog prints a computed number: integers without a decimal point, others with six significant
    digits but never fewer than two decimals and never in exponent form (an average population of
    242577.25 is not "242577", a total of 1234567.5 not "1.23457e+06").

    Rounded to 12 significant digits first, so a sum or an average prints the same whichever engine
    (numpy, DuckDB, SQLite, PostgreSQL) added the values up, in whatever order."""
    if not math.isfinite(x):
        return f"{x}"
    x = float(f"{x:.12g}")
    if x == round(x):
        return str(int(round(x)))
    if abs(x) < 1:
        return f"{x:.6g}"
    decimals = max(2, 6 - len(str(int(abs(x)))))
    return f"{x:.{decimals}f}".rstrip("0").rstrip(".")
