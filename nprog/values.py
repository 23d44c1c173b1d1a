"""Numbers and dates in the text of tables, questions and answers: the one parser nprog has.

Everything that reads a number or a date out of a string goes through :func:`parse_strings`: table cells
(`nprog.tables`), question tokens (`nprog.questions`) and answer values (`nprog.answers`). It is vectorized
with pandas string methods over the *distinct* strings of its input, so a million-cell column costs a few
regex passes, not a million Python calls.

Rules (each one a row of the table-driven tests in ``tests/test_values.py``):

* Cleaning: footnote markers are dropped (``12[a]``, ``5*``, ``†``, ``‡``, ``§``), non-breaking spaces become
  spaces, every dash and the unicode minus become ``-``.
* Missing markers (``""``, ``-``, ``—``, ``n/a``, ``?``, ``tbd`` …) parse to nothing and set ``missing``.
* A trailing parenthesised aside is set aside: ``435 sq mi (1,127 km2)`` → 435, ``258 (79)`` → 258,
  ``5 May 1990 (aged 33)`` is that date (the loose reading below still sees the whole string).
* Numbers: thousands separators (commas, or spaces between groups of three: ``733 226``), decimals, signs, percentages (``12%`` → 12), currency (``$ £ € ¥``),
  scale words (``5.2 million`` → 5.2e6), ordinals (``22nd`` → 22), a short unit after the number
  (``1,280 m`` → 1280, ``12 km`` → 12), spelled-out numbers and ordinals (``two`` → 2, ``third`` → 3).
* Times: ``1:23.45`` → 83.45 seconds, ``1:02:03`` → 3723 seconds.
* Ranges and scores (``1998–99``, ``2–1``, ``10-20``): the value is the **first** number. A season
  ``1998–99`` is also the year 1998.
* Dates: ``2011-03-03``, ``March 3, 2011``, ``3 March 2011``, ``3rd of March 2011``, ``Mar. 3 2011``,
  ``May 1998``, ``March 3`` (no year), ``03/03/2011`` (month first unless the first part exceeds 12), and a
  bare year 1000–2999 (``1998`` is both the number 1998 and the year 1998).
* One date scale (docs/neural-programmer.md, deviation 10): ``year + (month − 1)/12 + (day − 1)/372``, so a
  bare year and a full date in the same year compare sensibly and a year is the same value as a number.
  Dates without a year have parts but no scale value.
* ``loose``: when the whole string is not a number, the first number inside it (``4th, Western`` → 4),
  used for comparisons on text columns as the original model did.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nprog.caches import PARSED_STRINGS, memoize

MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip

CARDINALS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    "thousand": 1000, "million": 1e6, "billion": 1e9, "once": 1, "twice": 2, "dozen": 12,
}  # fmt: skip

ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
    "twentieth": 20,
}  # fmt: skip

MISSING_MARKERS = frozenset(
    ["", "-", "--", "---", "n/a", "na", "n.a.", "none", "null", "nan", "?", "??", "tbd", "tba", "unknown"]
)

# The scale words that multiply; short unit-like scales ("m", "k") are NOT scales: "1,280 m" is metres.
SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}

_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
# digits with comma thousands ("1,234"), space thousands ("733 226": groups of exactly three), or none
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+\b|\d+)(?:\.\d+)?|\.\d+"
_ORD = r"(?:st|nd|rd|th)"

# A full-string number: sign, currency, digits, scale word, percent or ordinal, short unit.
NUMBER_RE = re.compile(
    rf"^(?P<sign>[-+])?\s*(?:[$£€¥₹]|us\$|rs\.?)?\s*(?P<num>{_NUM})\s*"
    rf"(?P<scale>thousand|million|billion|trillion)?\s*(?:%|{_ORD}|[$£€])?"
    r"(?:\s*[a-z°º'\"′″²³/.]{1,12}(?:\s[a-z°²³/.]{1,8})?)?$"
)
# A trailing parenthesised aside after a value: "435 sq mi (1,127 km2)", "258 (79)", "5 May 1990 (aged 33)".
# Numbers, times, scores and dates are read from the text before it; a person reads the leading value.
ASIDE_RE = r"\s*\([^()]*\)$"
# Ranges and scores "1998-99", "2-1", "10 to 20": the first number counts.
RANGE_RE = re.compile(rf"^(?P<a>[-+]?(?:{_NUM}))\s*{_ORD}?\s*(?:-|/|to|:)\s*(?:{_NUM})\s*{_ORD}?$")
TIME_RE = re.compile(r"^[-+]?(?:(?P<h>\d+):)??(?P<m>\d+):(?P<s>\d{2}(?:\.\d+)?)$")
LOOSE_RE = re.compile(rf"(?:^|[^\w.])(?P<sign>-?)(?P<num>{_NUM})")

DATE_PATTERNS = [
    # (regex, group names in order year/month/day where present)
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$"),
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})$"),
    re.compile(rf"^(?P<d>\d{{1,2}}){_ORD}?\s+(?:of\s+)?(?P<mon>{_MONTH_RE})\.?,?\s+(?P<y>\d{{4}})$"),
    re.compile(rf"^(?P<mon>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}}){_ORD}?,?\s+(?P<y>\d{{4}})$"),
    re.compile(rf"^(?P<mon>{_MONTH_RE})\.?,?\s+(?P<y>\d{{4}})$"),
    re.compile(rf"^(?P<mon>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}}){_ORD}?$"),
    re.compile(rf"^(?P<d>\d{{1,2}}){_ORD}?\s+(?:of\s+)?(?P<mon>{_MONTH_RE})$"),
    re.compile(r"^(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})$"),
    re.compile(r"^(?P<y>[12]\d{3})(?:\s*-\s*(?:\d{2}|\d{4}))?$"),
]

_FOOTNOTE_RE = r"\[[^\]]{0,12}\]|[*†‡§¶]+|\s+\((?:[a-z]|\d{1,2})\)$"
_DASHES = r"[‐‑‒–—―−﹣－]"


@dataclass
class Parsed:
    """Parsed values of a sequence of strings; every array has one entry per input string."""

    number: np.ndarray  # float64, NaN where the whole string is not a number (or a time, range, year)
    year: np.ndarray  # float64 date parts, NaN where unknown
    month: np.ndarray
    day: np.ndarray
    loose: np.ndarray  # float64: first number anywhere in the string (NaN if none)
    missing: np.ndarray  # bool: a missing-value marker

    @property
    def date_scale(self) -> np.ndarray:
        """year + (month-1)/12 + (day-1)/372; a bare year is the year itself; NaN without a year."""
        month = np.nan_to_num(self.month, nan=1.0)
        day = np.nan_to_num(self.day, nan=1.0)
        return self.year + (month - 1.0) / 12.0 + (day - 1.0) / 372.0

    def take(self, index) -> Parsed:
        """The parsed values at an index or slice (same fields)."""
        return Parsed(*(getattr(self, f)[index] for f in _FIELDS))

    @property
    def is_date(self) -> np.ndarray:
        """A date with at least a month (a bare year is a number first)."""
        return ~np.isnan(self.month)


# pyarrow's RE2 kernels run in C++ over whole columns: ~10x faster than pandas' per-element `re`.
def clean(strings: pa.Array) -> pa.Array:
    """Lowercase, NFKC, dashes → '-', NBSP → space, footnote markers dropped, whitespace collapsed."""
    s = pc.utf8_lower(pc.utf8_normalize(strings, form="NFKC"))
    s = pc.replace_substring_regex(s, _DASHES, "-")
    s = pc.replace_substring_regex(s, _FOOTNOTE_RE, "")
    s = pc.replace_substring_regex(s, r"\s+", " ")
    return pc.utf8_trim_whitespace(s)


def _extract(strings: pa.Array, pattern: re.Pattern) -> dict[str, pa.Array]:
    """Named groups of a regex as string arrays; null where the regex (or the group) did not match."""
    struct = pc.extract_regex(strings, pattern.pattern)
    matched = pc.is_valid(struct)
    out = {}
    for i, name in enumerate(struct.type.names):
        child = pc.struct_field(struct, [i])
        out[name] = pc.if_else(pc.and_(matched, pc.not_equal(child, "")), child, None)
    return out


def _to_float(text: pa.Array) -> np.ndarray:
    values = pc.cast(pc.replace_substring_regex(text, "[, ]", ""), pa.float64())  # thousands separators
    return values.to_numpy(zero_copy_only=False).astype(np.float64)  # nulls → NaN


def _lookup(text: pa.Array, table: dict[str, float]) -> np.ndarray:
    keys = pa.array(list(table))
    idx = pc.index_in(text, value_set=keys).to_numpy(zero_copy_only=False)
    out = np.full(len(text), np.nan)
    hit = ~np.isnan(idx.astype(np.float64))
    out[hit] = np.asarray(list(table.values()), dtype=np.float64)[idx[hit].astype(np.int64)]
    return out


def _parse_unique(s: pa.Array) -> Parsed:
    """Parse cleaned, distinct strings (see the module docstring for the rules)."""
    n = len(s)
    missing = pc.is_in(s, value_set=pa.array(sorted(MISSING_MARKERS))).to_numpy(zero_copy_only=False)
    whole = s  # the loose reading still sees the whole string
    core = pc.replace_substring_regex(s, ASIDE_RE, "")  # the value before a trailing "(…)"
    s = pc.if_else(pc.equal(core, ""), s, core)  # "(5)" alone keeps its parentheses (no leading value)

    # --- numbers: spelled-out words, full-string numbers, times, ranges (first wins in that order);
    # the regexes run only on strings that start like a number (a cheap RE2 prefilter)
    number = _lookup(pc.utf8_trim(s, " ."), CARDINALS | ORDINALS)
    starts = np.flatnonzero(
        pc.match_substring_regex(s, r"^(?:[-+$£€¥₹.]|us\$|rs)?\s*[-+$£€¥₹.]?\d").to_numpy(
            zero_copy_only=False
        )
    )
    if len(starts):
        sub = s.take(pa.array(starts))
        m = _extract(sub, NUMBER_RE)
        sign = np.where(m["sign"].to_numpy(zero_copy_only=False) == "-", -1.0, 1.0)
        value = sign * _to_float(m["num"]) * np.nan_to_num(_lookup(m["scale"], SCALES), nan=1.0)
        t = _extract(sub, TIME_RE)
        seconds = np.nan_to_num(_to_float(t["h"])) * 3600.0 + _to_float(t["m"]) * 60.0 + _to_float(t["s"])
        value = np.where(np.isnan(value), seconds, value)
        value = np.where(np.isnan(value), _to_float(_extract(sub, RANGE_RE)["a"]), value)
        number[starts] = np.where(np.isnan(number[starts]), value, number[starts])

    # --- dates; only strings with a month name, a separator or four digits can be dates
    year, month, day = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    candidate = pc.match_substring_regex(s, rf"(?:{_MONTH_RE})|[-/]|(?:^|\D)\d{{4}}(?:\D|$)").to_numpy(
        zero_copy_only=False
    )
    for pattern in DATE_PATTERNS:
        undone = np.flatnonzero(candidate & np.isnan(year) & np.isnan(month))
        if len(undone) == 0:
            break
        g = _extract(s.take(pa.array(undone)), pattern)
        nan = np.full(len(undone), np.nan)
        y = _to_float(g["y"]) if "y" in g else nan
        d = _to_float(g["d"]) if "d" in g else nan
        if "mon" in g:
            mo = _lookup(g["mon"], MONTHS)
        elif "a" in g:  # m/d/y, or d/m/y when the first part cannot be a month
            a, b = _to_float(g["a"]), _to_float(g["b"])
            mo, d = np.where(a > 12, b, a), np.where(a > 12, a, b)
        else:
            mo = _to_float(g["m"]) if "m" in g else nan
        if "mon" in g or "m" in g or "a" in g:
            with np.errstate(invalid="ignore"):
                ok = (mo >= 1) & (mo <= 12) & (np.isnan(d) | ((d >= 1) & (d <= 31)))
        else:  # a bare year or a season "1998-99"
            with np.errstate(invalid="ignore"):
                ok = (y >= 1000) & (y <= 2999)
        idx = undone[ok]
        year[idx], month[idx], day[idx] = y[ok], mo[ok], d[ok]

    # a full date is not a number ("2011-03-03" is not 2011); a bare year or a season is both
    number = np.where(np.isnan(month), number, np.nan)

    loose = _extract(whole, LOOSE_RE)
    loose_value = _to_float(loose["num"])
    loose_value = np.where(loose["sign"].to_numpy(zero_copy_only=False) == "-", -loose_value, loose_value)
    loose_value = np.where(np.isnan(number), loose_value, number)

    for a in (number, year, month, day, loose_value):
        a[missing] = np.nan
    return Parsed(number, year, month, day, loose_value, missing)


_FIELDS = ("number", "year", "month", "day", "loose", "missing")
_PLAIN_RE = r"^\s*[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?\s*$"


# small inputs repeat a lot (years, "how", "many"): their parsed fields are memoized (caches.PARSED_STRINGS)
_MEMO_INPUT_LIMIT = 20_000  # inputs with more distinct strings than this skip the memo (pure bulk path)


_NOTHING = (np.nan, np.nan, np.nan, np.nan, np.nan, False)  # the six fields of a string with no value
_NUMBER_WORDS = frozenset(CARDINALS) | frozenset(ORDINALS)
_NO_DIGIT_RE = re.compile(r"[^0-9\[\]*()]*")


def _nothing_to_parse(w: str) -> bool:
    """True when the full parser would find nothing in w, decided without it: plain ASCII (NFKC leaves it
    alone) with no digit (every number, time, range and date pattern needs one) and no footnote marker,
    that is neither a number word nor a missing marker once lowercased and trimmed. Checked against the
    full parser in tests/test_values.py."""
    if not w.isascii() or not _NO_DIGIT_RE.fullmatch(w):
        return False
    text = " ".join(w.lower().split())
    return text not in MISSING_MARKERS and text.strip(" .") not in _NUMBER_WORDS


_SMALL_INPUT = 512  # lists up to this length skip pandas (see parse_strings)


def _as_text(s) -> str:
    """A list element as pandas' string dtype would read it: missing values (None, NaN, NA) → ""."""
    if isinstance(s, str):
        return s
    if s is None or s is pd.NA or (isinstance(s, float) and s != s):
        return ""
    return str(s)


def _parse_bulk(u: pa.Array) -> list[np.ndarray]:
    """The six parsed fields of distinct raw strings; plain numerals take a fast path."""
    plain = pc.match_substring_regex(u, _PLAIN_RE).to_numpy(zero_copy_only=False)
    number, loose = np.full(len(u), np.nan), np.full(len(u), np.nan)
    year, month, day = np.full(len(u), np.nan), np.full(len(u), np.nan), np.full(len(u), np.nan)
    missing = np.zeros(len(u), dtype=bool)
    number[plain] = _to_float(pc.utf8_trim_whitespace(u.filter(pa.array(plain))))
    loose[plain] = number[plain]
    four_digits = pc.match_substring_regex(u, r"^\s*[12]\d{3}\s*$").to_numpy(zero_copy_only=False)
    is_year = plain & four_digits  # "1998" is a year too; "1,998" and "1998.5" are not
    year[is_year] = number[is_year]
    rest = np.flatnonzero(~plain)
    if len(rest):
        p = _parse_unique(clean(u.take(pa.array(rest))))
        for name, array in zip(_FIELDS, (number, year, month, day, loose, missing), strict=True):
            array[rest] = getattr(p, name)
    return [number, year, month, day, loose, missing]


# ---- the same parser in Python's `re`, for the few distinct strings of a small table or a question
# Each pyarrow kernel call costs ~40 µs of fixed overhead (about 90 of them per _parse_bulk call), which
# for a 20-row table is most of its build. Python's `re` with re.ASCII reads \d, \s, \w and \b as RE2 does
# (ASCII only); anchors agree because cleaned strings hold no newline. So once _clean_python gives Arrow's
# cleaned text, every regex step gives Arrow's result: _python_safe admits only strings whose characters
# clean (and parse) as Arrow does them, each checked against Arrow once per process (_same_parse), and
# tests/test_values.py compares both paths on WTQ's cells and questions and on random strings.
def _py(pattern: str | re.Pattern) -> re.Pattern:
    return re.compile(pattern if isinstance(pattern, str) else pattern.pattern, re.ASCII)


_PY_PLAIN, _PY_YEAR = _py(_PLAIN_RE), _py(r"^\s*[12]\d{3}\s*$")
_PY_DASHES, _PY_FOOTNOTE, _PY_SPACES, _PY_ASIDE = _py(_DASHES), _py(_FOOTNOTE_RE), _py(r"\s+"), _py(ASIDE_RE)
_PY_STARTS_NUMBER = _py(r"^(?:[-+$£€¥₹.]|us\$|rs)?\s*[-+$£€¥₹.]?\d")
_PY_DATE_CANDIDATE = _py(rf"(?:{_MONTH_RE})|[-/]|(?:^|\D)\d{{4}}(?:\D|$)")
_PY_NUMBER, _PY_TIME, _PY_RANGE, _PY_LOOSE = _py(NUMBER_RE), _py(TIME_RE), _py(RANGE_RE), _py(LOOSE_RE)
_PY_DATES = [_py(p) for p in DATE_PATTERNS]
_PY_WORDS = CARDINALS | ORDINALS
_NAN = float("nan")


def _float_py(text: str | None) -> float:
    """_to_float for one captured group: thousands separators dropped; no group (None or "") → NaN."""
    return float(text.replace(",", "").replace(" ", "")) if text else _NAN


def _clean_python(w: str) -> str:
    """clean() for one string: NFKC, lowercase, dashes, footnotes dropped, whitespace collapsed, trimmed."""
    s = unicodedata.normalize("NFKC", w).lower()
    s = _PY_FOOTNOTE.sub("", _PY_DASHES.sub("-", s))
    return _PY_SPACES.sub(" ", s).strip()


def _parse_python(w: str) -> tuple:
    """The six parsed fields of one raw string, as _parse_bulk gives them (see _python_safe)."""
    if _PY_PLAIN.search(w):
        v = _float_py(w.strip())
        return (v, v if _PY_YEAR.search(w) else _NAN, _NAN, _NAN, v, False)
    whole = _clean_python(w)
    if whole in MISSING_MARKERS:
        return _NOTHING[:5] + (True,)
    core = _PY_ASIDE.sub("", whole)
    s = core or whole
    number = float(_PY_WORDS.get(s.strip(" ."), _NAN))
    if _PY_STARTS_NUMBER.search(s):
        m = _PY_NUMBER.search(s)
        value = _NAN
        if m and m["num"]:
            sign = -1.0 if m["sign"] == "-" else 1.0
            value = sign * _float_py(m["num"]) * SCALES.get(m["scale"] or "", 1.0)
        if value != value and (t := _PY_TIME.search(s)):
            h = _float_py(t["h"])
            value = float(np.nan_to_num(h)) * 3600.0 + _float_py(t["m"]) * 60.0 + _float_py(t["s"])
        if value != value and (r := _PY_RANGE.search(s)):
            value = _float_py(r["a"])
        if number != number:
            number = value
    year = month = day = _NAN
    if _PY_DATE_CANDIDATE.search(s):
        for pattern in _PY_DATES:
            g = pattern.search(s)
            if not g:
                continue
            groups = g.groupdict()
            y, d = _float_py(groups.get("y")), _float_py(groups.get("d"))
            if "mon" in groups:
                mo = float(MONTHS.get(groups["mon"] or "", _NAN))
            elif "a" in groups:
                a, b = _float_py(groups["a"]), _float_py(groups["b"])
                mo, d = (b, a) if a > 12 else (a, b)
            else:
                mo = _float_py(groups.get("m"))
            if "mon" in groups or "m" in groups or "a" in groups:
                ok = 1 <= mo <= 12 and (d != d or 1 <= d <= 31)
            else:
                ok = 1000 <= y <= 2999
            if ok:
                year, month, day = y, mo, d
                break
    if month == month:
        number = _NAN
    loose = number
    if number != number and (m := _PY_LOOSE.search(whole)):
        loose = _float_py(m["num"])
        loose = -loose if m["sign"] == "-" else loose
    return (number, year, month, day, loose, False)


# Characters that may appear in a string the Python path takes: ASCII (with \t \n \r \f), Latin letters,
# IPA, Cyrillic, punctuation, dashes, currency, superscripts, letterlike symbols, kana, the BOM; each kept
# only if _same_parse finds it cleaned (and read as a plain numeral) exactly as by Arrow. Combining marks
# stay out (NFKC composes across characters), and Greek (its lowercase has context).
_PYTHON_PARSE_BLOCKS = (
    (0x00, 0x80),
    (0xA0, 0x2B0),
    (0x400, 0x530),
    (0x2010, 0x205F),
    (0x2070, 0x20C1),
    (0x2100, 0x2190),
    (0x2212, 0x2213),
    (0x3000, 0x3100),
    (0xFE63, 0xFE64),
    (0xFEFF, 0xFF00),
    (0xFF0D, 0xFF0E),
)
_SAFE_CONTEXTS = ("{}", "a{}b", "a{}", "{}a", " {} ", "1{}2", "5{}", "{}5", "1998{}99")


@memoize(1)
def _same_parse() -> frozenset[str]:
    """The characters of _PYTHON_PARSE_BLOCKS that _clean_python cleans exactly as clean() and _PY_PLAIN
    and _PY_YEAR read as Arrow does, in every context of _SAFE_CONTEXTS (a few Arrow calls, once per
    process). Every later regex runs on the cleaned text, where both engines agree (see _py)."""
    chars = [chr(c) for low, high in _PYTHON_PARSE_BLOCKS for c in range(low, high)]
    texts = [ctx.format(c) for c in chars for ctx in _SAFE_CONTEXTS]
    arrow = pa.array(texts, type=pa.string())
    same = np.array(clean(arrow).to_pylist(), dtype=object) == np.array(
        [_clean_python(t) for t in texts], dtype=object
    )
    for pattern, python in ((_PLAIN_RE, _PY_PLAIN), (r"^\s*[12]\d{3}\s*$", _PY_YEAR)):
        mine = np.array([python.search(t) is not None for t in texts])
        same &= pc.match_substring_regex(arrow, pattern).to_numpy(zero_copy_only=False) == mine
    same = same.reshape(len(chars), len(_SAFE_CONTEXTS)).all(axis=1)
    return frozenset(c for c, ok in zip(chars, same, strict=True) if ok)


_PYTHON_PARSE_LIMIT = 600


def _python_safe(w: str) -> bool:
    """True when _parse_python gives _parse_bulk's result for w (its characters are all checked ones)."""
    return _same_parse().issuperset(w)


def parse_strings(strings, distinct: bool = False) -> Parsed:
    """Parse any sequence of strings (list, array, Series); each distinct string is parsed once.

    Large inputs go through the bulk pyarrow path; small ones (questions, small tables) are memoized,
    because compiling the regexes costs more than matching a few strings. ``distinct=True`` promises a
    pyarrow array without repeats (skips the de-duplication).
    """
    if distinct:
        uniques = pc.fill_null(strings, "")
        codes = np.arange(len(uniques))
    elif isinstance(strings, list | tuple) and len(strings) <= _SMALL_INPUT:
        # a question's tokens, an answer list: plain dicts beat pandas' per-call overhead (~1 ms)
        words = [_as_text(s) for s in strings]
        index = {w: i for i, w in enumerate(dict.fromkeys(words))}
        codes = np.fromiter((index[w] for w in words), dtype=np.int64, count=len(words))
        uniques = list(index)
    else:
        series = strings if isinstance(strings, pd.Series) else pd.Series(strings, dtype="object")
        codes, uniques = pd.factorize(series.astype("string[pyarrow]").fillna(""), sort=False)
    if len(uniques) > _MEMO_INPUT_LIMIT:
        fields = _parse_bulk(pa.array(uniques).cast(pa.string()))
    else:
        words = np.asarray(uniques, dtype=object)
        # read into a local dict first: another thread may clear the shared memo at any moment
        found = PARSED_STRINGS.lookup(words)
        misses = [w for w, r in found.items() if r is None]
        words_only = [w for w in misses if _nothing_to_parse(w)]
        if words_only:  # most question and answer words: no pyarrow call (each compiles its regex)
            fresh = dict.fromkeys(words_only, _NOTHING)
            found.update(fresh)
            misses = [w for w in misses if found[w] is None]
        # a few hundred strings (a small table, a question): Python, no Arrow call; more: Arrow's bulk
        # kernels (~4 µs a string against ~11 µs in Python, past their ~4 ms fixed cost)
        small = len(misses) <= _PYTHON_PARSE_LIMIT
        fresh = {w: _parse_python(w) for w in misses if small and _python_safe(w)}
        rest = [w for w in misses if w not in fresh]
        if rest:
            parsed = _parse_bulk(pa.array(rest, type=pa.string()))
            fresh.update((w, tuple(f[i] for f in parsed)) for i, w in enumerate(rest))
        if fresh:
            found.update(fresh)
            PARSED_STRINGS.add(fresh)
        rows = [found[w] for w in words]
        fields = [np.array([r[k] for r in rows], dtype=bool if k == 5 else np.float64) for k in range(6)]
        if not rows:
            fields = [np.zeros(0, dtype=bool if k == 5 else np.float64) for k in range(6)]
    return Parsed(*(f[codes] for f in fields))


def plain_number(strings) -> np.ndarray:
    """float64 per string: the value of a plain numeral ("1,234", "-3.5"), NaN for anything else.

    The strict reading used for answer matching, where "1998-99" must not equal 1998 nor "4th" equal 4.
    """
    arr = pa.array(list(strings), type=pa.string())
    plain = pc.match_substring_regex(arr, _PLAIN_RE).to_numpy(zero_copy_only=False)
    out = np.full(len(arr), np.nan)
    if plain.any():
        out[plain] = _to_float(pc.utf8_trim_whitespace(arr.filter(pa.array(plain))))
    return out


def parse_one(text: str) -> Parsed:
    """Parse a single string (a thin wrapper over :func:`parse_strings`)."""
    return parse_strings([text])


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if unicodedata.category(c) != "Mn")
