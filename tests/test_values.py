"""The one number/date parser: table-driven cases (string → number, date parts, missing)."""

import math

import numpy as np
import pyarrow as pa
import pytest

from nprog.values import parse_strings, plain_number

nan = math.nan

# (cell string, number, (year, month, day), missing)
CASES = [
    # plain numbers, separators, signs
    ("0", 0, (nan, nan, nan), False),
    ("42", 42, (nan, nan, nan), False),
    ("1,234", 1234, (nan, nan, nan), False),
    ("1,234,567", 1234567, (nan, nan, nan), False),
    ("3.14", 3.14, (nan, nan, nan), False),
    (".5", 0.5, (nan, nan, nan), False),
    ("-12", -12, (nan, nan, nan), False),
    ("+7", 7, (nan, nan, nan), False),
    ("−7", -7, (nan, nan, nan), False),  # unicode minus
    ("–3", -3, (nan, nan, nan), False),  # en dash as minus
    (" 15 ", 15, (nan, nan, nan), False),
    # space thousands: groups of exactly three digits
    ("733 226", 733226, (nan, nan, nan), False),
    ("1 234", 1234, (nan, nan, nan), False),
    ("1 234 567", 1234567, (nan, nan, nan), False),
    ("12 345.6", 12345.6, (nan, nan, nan), False),
    ("1 000 m", 1000, (nan, nan, nan), False),
    ("12 3456", nan, (nan, nan, nan), False),  # not a grouping: two numbers
    ("2003 2004", nan, (nan, nan, nan), False),  # two years, not 20,032,004
    ("12 34", nan, (nan, nan, nan), False),
    # percentages, currency, scale words
    ("45%", 45, (nan, nan, nan), False),
    ("12.5 %", 12.5, (nan, nan, nan), False),
    ("$1,200", 1200, (nan, nan, nan), False),
    ("£30", 30, (nan, nan, nan), False),
    ("€5.50", 5.5, (nan, nan, nan), False),
    ("¥100", 100, (nan, nan, nan), False),
    ("US$ 2,000", 2000, (nan, nan, nan), False),
    ("5.2 million", 5.2e6, (nan, nan, nan), False),
    ("$3 billion", 3e9, (nan, nan, nan), False),
    ("12 thousand", 12000, (nan, nan, nan), False),
    # units after the number
    ("1,280 m", 1280, (nan, nan, nan), False),
    ("12 km", 12, (nan, nan, nan), False),
    ("8848 m", 8848, (nan, nan, nan), False),
    ("75 kg", 75, (nan, nan, nan), False),
    ("3.5 sq mi", 3.5, (nan, nan, nan), False),
    ("90 km/h", 90, (nan, nan, nan), False),
    ("25 °C", 25, (nan, nan, nan), False),
    # ordinals, spelled-out numbers
    ("1st", 1, (nan, nan, nan), False),
    ("22nd", 22, (nan, nan, nan), False),
    ("3rd", 3, (nan, nan, nan), False),
    ("11th", 11, (nan, nan, nan), False),
    ("two", 2, (nan, nan, nan), False),
    ("Twelve", 12, (nan, nan, nan), False),
    ("third", 3, (nan, nan, nan), False),
    ("twenty", 20, (nan, nan, nan), False),
    # footnote markers
    ("12[a]", 12, (nan, nan, nan), False),
    ("5*", 5, (nan, nan, nan), False),
    ("7†", 7, (nan, nan, nan), False),
    ("1,000[3]", 1000, (nan, nan, nan), False),
    ("9‡", 9, (nan, nan, nan), False),
    # a leading value before a parenthesised aside: the value a person reads first
    ("435 sq mi (1,127 km2)", 435, (nan, nan, nan), False),
    ("258 (79)", 258, (nan, nan, nan), False),
    ("2 (1979)", 2, (nan, nan, nan), False),
    ("12 m (39 ft)", 12, (nan, nan, nan), False),
    ("58.2 kg (128 lb)", 58.2, (nan, nan, nan), False),
    ("1.2 million (2010 est.)", 1.2e6, (nan, nan, nan), False),
    ("$1,200 (2005)", 1200, (nan, nan, nan), False),
    ("1:23.45 (PB)", 83.45, (nan, nan, nan), False),
    ("3-2 (a.e.t.)", 3, (nan, nan, nan), False),  # a score reads as before: its first number
    ("17 September 1995 (aged 33)", nan, (1995, 9, 17), False),
    ("(5)", nan, (nan, nan, nan), False),  # nothing before the parentheses: no leading value
    ("Germany (GER)", nan, (nan, nan, nan), False),
    ("Won (3-1)", nan, (nan, nan, nan), False),
    ("1,234 km", 1234, (nan, nan, nan), False),
    # ranges and scores: the first number
    ("2–1", 2, (nan, nan, nan), False),
    ("3-0", 3, (nan, nan, nan), False),
    ("10 to 20", 10, (nan, nan, nan), False),
    ("1998–99", 1998, (1998, nan, nan), False),
    ("2004-2005", 2004, (2004, nan, nan), False),
    # times
    ("1:23.45", 83.45, (nan, nan, nan), False),
    ("2:03:05", 7385, (nan, nan, nan), False),
    ("0:59", 59, (nan, nan, nan), False),
    ("+1:23.4", 83.4, (nan, nan, nan), False),
    # dates
    ("March 3, 2011", nan, (2011, 3, 3), False),
    ("3 March 2011", nan, (2011, 3, 3), False),
    ("3rd of March 2011", nan, (2011, 3, 3), False),
    ("2011-03-03", nan, (2011, 3, 3), False),
    ("Mar. 3, 2011", nan, (2011, 3, 3), False),
    ("Sept 9, 1999", nan, (1999, 9, 9), False),
    ("May 1998", nan, (1998, 5, nan), False),
    ("1998-05", nan, (1998, 5, nan), False),
    ("March 3", nan, (nan, 3, 3), False),
    ("3 March", nan, (nan, 3, 3), False),
    ("03/13/2011", nan, (2011, 3, 13), False),
    ("13/03/2011", nan, (2011, 3, 13), False),
    ("1998", 1998, (1998, nan, nan), False),
    ("2023", 2023, (2023, nan, nan), False),
    ("February 30, 2011 extra", nan, (nan, nan, nan), False),
    # missing markers
    ("", nan, (nan, nan, nan), True),
    ("—", nan, (nan, nan, nan), True),
    ("-", nan, (nan, nan, nan), True),
    ("n/a", nan, (nan, nan, nan), True),
    ("N/A", nan, (nan, nan, nan), True),
    ("?", nan, (nan, nan, nan), True),
    ("TBD", nan, (nan, nan, nan), True),
    # text stays text
    ("Did not qualify", nan, (nan, nan, nan), False),
    ("Norway", nan, (nan, nan, nan), False),
    ("4th, Western", nan, (nan, nan, nan), False),
    ("abc 2 Broke Girls", nan, (nan, nan, nan), False),
]


def _eq(a, b):
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) < 1e-9


@pytest.mark.parametrize("text,number,date,missing", CASES, ids=[repr(c[0]) for c in CASES])
def test_cell_parser(text, number, date, missing):
    p = parse_strings([text])
    assert _eq(p.number[0], number), f"number of {text!r}: {p.number[0]}"
    assert _eq(p.year[0], date[0]) and _eq(p.month[0], date[1]) and _eq(p.day[0], date[2]), (
        f"date of {text!r}: {p.year[0]}, {p.month[0]}, {p.day[0]}"
    )
    assert bool(p.missing[0]) == missing


def test_enough_cases():
    assert len(CASES) >= 60


def test_loose_number_is_the_first_number_inside_text():
    p = parse_strings(["4th, Western", "Won 3-1", "no digits"])
    assert list(p.loose[:2]) == [4, 3] and math.isnan(p.loose[2])


def test_one_date_scale_orders_years_months_days():
    p = parse_strings(["1998", "May 1998", "May 3, 1998", "1999-01-01"])
    scale = p.date_scale
    assert list(np.argsort(scale)) == [0, 1, 2, 3]
    assert scale[0] == 1998.0  # a bare year is the year itself, the same value as the number 1998


def test_repeated_and_bulk_inputs_agree():
    strings = ["1,234", "March 3, 2011", "x", "7%"] * 3000  # > memo limit forces the bulk path
    bulk = parse_strings(strings)
    small = parse_strings(strings[:4])
    for field in ("number", "year", "month", "day", "loose"):
        a, b = getattr(bulk, field)[:4], getattr(small, field)
        assert np.array_equal(a, b, equal_nan=True), field


def test_plain_number_is_strict():
    out = plain_number(["1,234", "1998-99", "4th", "-2.5"])
    assert out[0] == 1234 and math.isnan(out[1]) and math.isnan(out[2]) and out[3] == -2.5


def test_words_with_nothing_to_parse_skip_the_parser_safely():
    """The shortcut for digit-free ASCII words must agree with the full parser on every string it takes."""
    import json
    import re as _re

    from nprog import values
    from tests.conftest import SAMPLES

    corpus = [
        "one",
        "One.",
        "first",
        "none",
        "N/A",
        "na",
        "tbd",
        "march",
        "May",
        "mayor",
        "million",
        "twice",
        "twenty one",
        "-",
        "--",
        "x-y",
        "a/b",
        "hello world",
        "  spaced  out ",
        "O'Brien",
        "$",
        "%",
        "k",
        "m",
        "st",
        "US$",
        "Rs.",
        "x.y",
        "e",
        "inf",
        "Infinity",
        "nan",
        "?",
        "??",
        "Unknown",
        "n.a.",
        "Norway",
        "gold medals",
        "",
        " ",
        "one*",
        "seven [a]",
        "None (a)",
        "dozen.",
        "...",
        "a.m.",
    ]
    for path in SAMPLES.glob("*.csv"):
        corpus += _re.split(r"[,\n]", path.read_text())
    for qs in json.loads((SAMPLES / "questions.json").read_text()).values():
        corpus += [w for q in qs for w in q.split()]
    taken = [w for w in dict.fromkeys(corpus) if values._nothing_to_parse(w)]
    assert len(taken) > 40
    full = values._parse_bulk(pa.array(taken, type=pa.string()))
    for k, field in enumerate(full):
        expected = np.zeros(len(taken), dtype=bool) if k == 5 else np.full(len(taken), np.nan)
        np.testing.assert_array_equal(field, expected, err_msg=f"field {k}")
    for w in ["one", "One.", "first", "none", "N/A", "-", "", "one*", "seven [a]", "dozen."]:
        assert not values._nothing_to_parse(w), w  # number words, missing markers, footnotes: full parser


def _python_and_arrow_agree(strings: list[str]) -> int:
    """Parse every string the Python path takes both ways; the number of strings it took."""
    from nprog import values

    taken = [w for w in dict.fromkeys(strings) if values._python_safe(w)]
    arrow = values._parse_bulk(pa.array(taken, type=pa.string()))
    python = [values._parse_python(w) for w in taken]
    for k, field in enumerate(arrow):
        mine = np.array([p[k] for p in python], dtype=field.dtype)
        same = (mine == field) | (np.isnan(mine) & np.isnan(field) if k < 5 else False)
        wrong = [(taken[i], mine[i], field[i]) for i in np.flatnonzero(~same)[:5]]
        assert not wrong, f"field {values._FIELDS[k]}: (string, python, arrow) {wrong}"
    return len(taken)


def test_small_inputs_parse_in_python_exactly_as_in_arrow():
    """The Python parser for small inputs (no Arrow call per table) gives the Arrow path's six fields on
    random strings of digits, separators, dashes, currency, footnote marks and Latin letters, and on the
    rule table's examples; strings with other characters (\\v, combining marks, Greek, CJK …) keep Arrow."""
    import random
    import string

    from nprog import values

    rng = random.Random(7)
    alphabet = string.printable + "–—−‐…½²³°º′″†‡§¶\xa0£€¥₹éüñÆøİı©®™ℓ№ⅷəжЁのー・\u3000\ufeff\x1c\x00"
    alphabet += "0123456789" * 3 + "  ,.:-/()" * 2
    words = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16))) for _ in range(40_000)]
    words += [
        m
        for months in ("march 3, 2011", "3rd of March 2011", "Mar. 3 2011", "03/13/2011", "1998–99")
        for m in (months, months.upper(), f"{months} (aged 3)", f"{months}[a]")
    ]
    words += ["1:23.45", "1:02:03", "-2–1", "5.2 million", "US$ 12", "Rs. 5", "22nd", "733 226", "12%", "two"]
    assert _python_and_arrow_agree(words) > 20_000  # strings with \v (in string.printable) keep Arrow
    for w in ["a\x0bb", "x\u0301", "ΟΔΟΣ", "İ", "日本"]:
        assert not values._python_safe(w), w  # the parts where the two regex engines or Unicode tables differ


def test_small_inputs_parse_in_python_exactly_as_in_arrow_on_wtq(wtq_dir):
    """The same on every cell of WikiTableQuestions' tables and every token of its dev questions."""
    strings = []
    for path in sorted((wtq_dir / "csv").rglob("*.tsv")):
        for line in path.read_text(errors="replace").splitlines():
            strings += [
                c.replace("\\n", " ").replace("\\p", "|").replace("\\\\", "\\") for c in line.split("\t")
            ]
    for line in (wtq_dir / "data" / "random-split-1-dev.tsv").read_text().splitlines():
        strings += line.split("\t")[1].split()
    assert _python_and_arrow_agree(strings) > 100_000
