"""Typed tables from any CSV or DataFrame, and the bad inputs people bring."""

import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from nprog.readers import TableError, read_csv
from nprog.tables import Table


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_kinds_values_and_orders():
    df = pd.DataFrame(
        {
            "Nation": ["Norway", "Germany", "Canada", "Japan"],
            "Gold": ["16", "12", "12", "n/a"],
            "Date": ["March 3, 2011", "1998", "May 1999", "2011-01-01"],
        }
    )
    t = Table.from_dataframe(df)
    assert [c.kind for c in t.columns] == ["text", "number", "date"]
    gold = t.column("Gold")
    assert np.isnan(gold.value[3]) and not gold.valid[3]
    assert list(gold.order_desc[:3]) == [0, 1, 2]  # ties keep row order; invalid last
    assert list(gold.order_asc[:3]) == [1, 2, 0]
    assert gold.order_desc[-1] == 3 and gold.order_asc[-1] == 3
    date = t.column("Date")
    assert date.value[1] == 1998.0 and date.value[1] < date.value[2] < date.value[3] < date.value[0]
    assert t.cell(0, 1) == "16"


def test_odd_column_names_are_unique_printable_and_kept():
    df = pd.DataFrame([[1, 2, 3, 4, 5]], columns=["Total", "total", "", "a\nb", 'x"; DROP TABLE t; --'])
    t = Table.from_dataframe(df)
    assert t.names == ["Total", "total (2)", "column_3", "a b", 'x"; DROP TABLE t; --']
    assert [c.original_name for c in t.columns][3] == "a\nb"


def test_non_string_dataframes():
    df = pd.DataFrame({"n": [1, 2, None], "f": [1.5, np.nan, 3.0], "b": [True, False, True]})
    t = Table.from_dataframe(df)
    assert t.column("n").kind == "number" and t.column("f").value[0] == 1.5


def test_csv_quoting_and_sniffing(tmp_path):
    p = write(tmp_path, "semi.csv", b"Name;Score\nAnn;3,5\nBob;4\n")
    t = Table.from_csv(p)
    assert t.names == ["Name", "Score"] and t.n_rows == 2
    p = write(tmp_path, "quoted.csv", b'A,B\n"x, y","1,000"\n"line\nbreak",2\n')
    t = Table.from_csv(p)
    assert t.cell(0, 0) == "x, y" and t.column("B").value[0] == 1000 and t.cell(1, 0) == "line\nbreak"


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"\n\n  \n", "empty"),
        ("header.csv", b"a,b,c\n", "no rows"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5,6\n", "malformed CSV"),
        ("quote.csv", b'a,b\n"unterminated,2\n', "malformed CSV"),
        ("binary.csv", bytes(range(256)) * 40, "binary"),
    ],
)
def test_bad_files_give_one_clear_line(tmp_path, name, data, message):
    p = write(tmp_path, name, data)
    with pytest.raises(TableError) as err:
        Table.from_csv(p)
    text = str(err.value)
    assert name in text and message in text and "\n" not in text


def test_missing_file(tmp_path):
    with pytest.raises(TableError, match="cannot read"):
        read_csv(tmp_path / "nope.csv")


def test_non_utf8_and_utf16(tmp_path):
    p = write(tmp_path, "latin.csv", "Città,Punti\nMilano,3\nSão Paulo,4\n".encode("cp1252"))
    t = Table.from_csv(p)
    assert t.names == ["Città", "Punti"] and t.cell(1, 0) == "São Paulo"
    p = write(tmp_path, "utf16.csv", "a,b\n1,2\n".encode("utf-16"))
    assert Table.from_csv(p).names == ["a", "b"]


def test_all_nan_column_and_short_rows(tmp_path):
    p = write(tmp_path, "nan.csv", b"a,b\n1,\n2,\n3\n")
    t = Table.from_csv(p)
    assert t.column("b").kind == "text" and t.n_rows == 3 and not t.column("b").valid.any()


def test_size_limit(tmp_path):
    p = write(tmp_path, "big.csv", b"a,b\n" + b"1,2\n" * 1000)
    with pytest.raises(TableError, match="over the"):
        Table.from_csv(p, max_bytes=1000)


def test_a_100_mb_file_reads(tmp_path):
    big_cell = "x" * 100_000
    p = tmp_path / "big.csv"
    with open(p, "w") as f:
        f.write("id,text\n")
        for i in range(1000):
            f.write(f"{i},{big_cell}\n")
    assert p.stat().st_size > 100_000_000
    t0 = time.time()
    t = Table.from_csv(p)
    assert t.n_rows == 1000 and t.column("id").kind == "number"
    assert time.time() - t0 < 60


def test_empty_dataframe():
    with pytest.raises(TableError, match="no rows"):
        Table.from_dataframe(pd.DataFrame({"a": []}))
    with pytest.raises(TableError, match="no columns"):
        Table.from_dataframe(pd.DataFrame())


def test_partial_matches_agree_between_the_word_index_and_the_regex(monkeypatch):
    """Small tables use a word index, large ones a regex pass: both must mark the same cells."""

    from nprog import features
    from nprog.questions import parse_question

    df = pd.DataFrame(
        {
            "a": ["New York City", "york", "Yorkshire", "", "the new one", "N.Y. (york)"],
            "b": ["1", "2", "3", "4", "5", "6"],
            "c": ["x y", "new-york", "NEW", "y", "z", "yo rk"],
        }
    )
    table = Table.from_dataframe(df)
    question = parse_question("which new york team won in yorkshire?")
    small = features.compute_features(table, question).partial
    monkeypatch.setattr(features, "WORD_INDEX_CELLS", 0)
    large = features.compute_features(Table.from_dataframe(df), question).partial
    assert small.any() and (small == large).all()


def test_tables_built_together_equal_tables_built_alone():
    """from_dataframes parses the strings of several tables in one pass: each must come out as if alone."""
    from tests.conftest import SAMPLES

    frames = [(read_csv(p), str(p)) for p in sorted(SAMPLES.glob("*.csv"))]
    together = Table.from_dataframes(frames)
    for (df, source), t in zip(frames, together, strict=True):
        alone = Table.from_dataframe(df, source)
        assert t.source == source and t.n_rows == alone.n_rows and t.names == alone.names
        for a, b in zip(t.columns, alone.columns, strict=True):
            assert a.kind == b.kind and a.strings.equals(b.strings) and a.norm.equals(b.norm)
            np.testing.assert_array_equal(a.value, b.value)


def _mixed_frame(rows: int) -> pd.DataFrame:
    """Columns of every shape the long-table builder tells apart: unique ids and names (parsed cell by
    cell), repeated categories and dates (parsed per distinct string), columns near the 60 % number
    share in both directions, missing markers, footnotes, accents, and a column that is all missing."""
    rng = np.random.default_rng(7)
    i = np.arange(rows)
    near = rng.random(rows)
    return pd.DataFrame(
        {
            "Rank": (i + 1).astype(str),
            "Name": [f"Joueur {k} Ærø" for k in rng.integers(0, 10**9, rows)],
            "Team": np.array(["Norway", "norway", "Canada", "Japan", ""])[rng.integers(0, 5, rows)],
            "Points": [f"{k:,}" for k in rng.integers(0, 10**6, rows)],
            "Date": np.array(["March 3, 2011", "1998", "May 1999", "2011-01-01", "n/a"])[
                rng.integers(0, 5, rows)
            ],
            "Mostly numbers": np.where(near < 0.62, (i % 97).astype(str), "DNF"),
            "Mostly text": np.where(near < 0.57, (i % 89).astype(str), "retired"),
            "Few numbers": np.where(near < 0.1, "12[a]", "course record"),
            "Missing": np.array(["", "-", "n/a"])[i % 3],
            "Signed zero": np.array(["0", "-0", "0.0", "5", "5"])[i % 5],
        }
    )


@pytest.mark.parametrize("sample_rows", [10_000, 300])  # the whole column, and a true sample of it
def test_long_tables_are_typed_exactly_as_short_ones(monkeypatch, sample_rows):
    """Long tables are built column by column in threads, typed from a row sample when clearly text,
    parsed per distinct string or cell by cell: none of that may change a kind, value, norm or mode."""
    from nprog import features, tables
    from nprog.questions import parse_question

    df = _mixed_frame(3_000)
    short = Table.from_dataframe(df)
    monkeypatch.setattr(tables, "LARGE_TABLE_ROWS", 1_000)
    monkeypatch.setattr(tables, "KIND_SAMPLE_ROWS", sample_rows)
    long = Table.from_dataframe(df)
    assert long.names == short.names
    assert [c.kind for c in short.columns] == [
        "number", "text", "text", "number", "date", "number", "text", "text", "text", "number"
    ]  # fmt: skip
    for a, b in zip(long.columns, short.columns, strict=True):
        assert (a.name, a.original_name, a.kind) == (b.name, b.original_name, b.kind)
        assert a.strings.equals(b.strings) and a.norm.equals(b.norm)
        for part in ("value", "year", "month", "day", "mfe"):
            np.testing.assert_array_equal(getattr(a, part), getattr(b, part), err_msg=f"{a.name}.{part}")
    assert any(c.levels is not None for c in long.columns)  # matched through distinct norms
    texts = [
        "which team from norway has the most points?",
        "who is joueur 5 aero?",
        "how many in 2011?",
        "which course record has 12 points?",
        "rank 17",
    ]
    expected = [features.compute_features(short, parse_question(text)) for text in texts]  # word index
    assert all(any(getattr(g, part).any() for g in expected) for part in ("exact", "partial", "mfe"))
    monkeypatch.setattr(features, "WORD_INDEX_CELLS", 0)  # per-column regex, through Column.levels
    for text, g in zip(texts, expected, strict=True):
        f = features.compute_features(long, parse_question(text))
        for part in ("exact", "partial", "mfe", "col_exact", "col_partial"):
            np.testing.assert_array_equal(getattr(f, part), getattr(g, part), err_msg=f"{text}: {part}")
        assert f.entity_spans == g.entity_spans and f.matched_text == g.matched_text


def test_a_sample_that_is_not_clearly_text_leads_to_parsing_every_cell(monkeypatch):
    """Typing from a sample is only for columns far from the 60 % line: one just over it in the sample
    gets every cell parsed, and the exact rule decides (here: number, though the sample was text-ish)."""
    from nprog import tables

    rows = 20_000
    cells = np.full(rows, "retired", dtype=object)
    cells[: int(rows * 0.61)] = "7"  # 61 % numbers, all in the top rows: a sample can miss many
    monkeypatch.setattr(tables, "LARGE_TABLE_ROWS", 1_000)
    monkeypatch.setattr(tables, "KIND_SAMPLE_ROWS", 400)
    assert Table.from_dataframe(pd.DataFrame({"x": cells})).columns[0].kind == "number"
    cells[: int(rows * 0.61)] = "retired"
    cells[:200] = "7"  # 1 % numbers: clearly text from the sample
    assert Table.from_dataframe(pd.DataFrame({"x": cells})).columns[0].kind == "text"


@pytest.mark.parametrize(
    "keys, expected",
    [
        ([5.0, 3.0, 3.0, 5.0, 1.0], [True] * 4 + [False]),  # a tie: every tied key (no row order involved)
        ([-0.0, 1.0, 0.0, np.nan], [True, False, True, False]),  # −0.0 and 0.0 are one entry; NaN none
        ([1.0, 2.0, np.nan, np.nan], [False] * 4),  # no entry occurs twice
        (["b", "a", "a", "b", "c", None, None], [True] * 4 + [False] * 3),
        ([None, None], [False, False]),
    ],
)
def test_most_frequent_mask(keys, expected):
    from nprog.tables import most_frequent_mask

    per_cell = pa.array(keys) if isinstance(keys[0], str) or keys[0] is None else np.array(keys)
    assert most_frequent_mask(per_cell).tolist() == expected
    # the same through a dictionary: distinct keys in order of first appearance, one code per cell
    distinct = list(dict.fromkeys(map(str, keys)))
    codes = np.array([distinct.index(str(k)) for k in keys])
    firsts = [keys[[str(k) for k in keys].index(d)] for d in distinct]
    by_codes = pa.array(firsts) if isinstance(per_cell, pa.Array) else np.array(firsts)
    assert most_frequent_mask(by_codes, codes).tolist() == expected


def _typed_frame(rows: int) -> pd.DataFrame:
    """Columns a user's DataFrame has typed: int64, nullable Int64, uint, float64 with gaps, datetime64
    (dates) with a gap, and a few that must stay on the string path (bool, float32, inf, exponents)."""
    rng = np.random.default_rng(3)
    i = np.arange(rows)
    return pd.DataFrame(
        {
            "Rank": (i + 1).astype(np.int64),
            "Points": pd.array(np.where(i % 7 == 3, None, rng.integers(-500, 10**6, rows)), dtype="Int64"),
            "Year": rng.integers(1950, 2024, rows).astype(np.uint16),
            "Share": np.where(i % 5 == 1, np.nan, np.round(rng.random(rows) * 100, 2)),
            "Day": pd.Series(
                pd.to_datetime("2001-02-03") + pd.to_timedelta(rng.integers(0, 9000, rows), "D")
            ).where(i % 11 != 4),
            "Team": np.array(["Norway", "Canada", "Japan"])[i % 3],
            "Won": i % 2 == 0,
            "Small": (rng.random(rows) * 10).astype(np.float32),
            "Tiny": np.where(i % 3 == 0, 1e-7, 2.5),
            "Infinite": np.where(i % 4 == 0, np.inf, 1.0),
        }
    )


def _as_strings(df: pd.DataFrame) -> pd.DataFrame:
    """The same table as a user would give it in text: each cell's printed form, "" where missing."""
    return pd.DataFrame({k: s.astype(str).where(s.notna(), "").astype(object) for k, s in df.items()})


@pytest.mark.parametrize("rows", [40, 3_000])  # the short-table pass and the long-table threads
def test_typed_dataframes_read_as_their_strings_do(monkeypatch, rows):
    """An int / float / datetime64 column is typed from its dtype without parsing strings: kinds, values,
    date parts, display strings, modes and orders must equal what the same cells give as strings, and so
    must the answers."""
    from nprog import tables

    monkeypatch.setattr(tables, "LARGE_TABLE_ROWS", 1_000)
    df = _typed_frame(rows)
    typed, text = Table.from_dataframe(df), Table.from_dataframe(_as_strings(df))
    lazy = [c.name for c in typed.columns if isinstance(c, tables._TypedColumn)]
    assert lazy == ["Rank", "Points", "Year", "Share", "Day"]  # the rest took the string path
    assert [c.kind for c in typed.columns][:5] == ["number", "number", "number", "number", "date"]
    for a, b in zip(typed.columns, text.columns, strict=True):
        assert (a.name, a.kind) == (b.name, b.kind), a.name
        for part in ("value", "year", "month", "day", "mfe", "order_desc", "order_asc"):
            np.testing.assert_array_equal(getattr(a, part), getattr(b, part), err_msg=f"{a.name}.{part}")
        assert a.strings.equals(b.strings) and a.norm.equals(b.norm), a.name


def test_a_typed_table_keeps_its_cells_when_the_dataframe_changes_later():
    df = pd.DataFrame(
        {"Points": np.array([5, 7, 9], dtype=np.int64), "Day": pd.to_datetime(["2001-02-03"] * 3)}
    )
    t = Table.from_dataframe(df)
    df.loc[0, "Points"] = 100  # strings are made on first use: from the copy taken at the build
    df.loc[0, "Day"] = pd.Timestamp("1999-01-01")
    assert t.column("Points").strings.to_pylist() == ["5", "7", "9"] and t.column("Points").value[0] == 5
    assert t.column("Day").strings.to_pylist()[0] == "2001-02-03" and t.column("Day").year[0] == 2001


def test_short_inputs_normalize_exactly_as_the_bulk_path():
    """Short inputs take a Python path for ASCII and Latin strings (no Arrow call per table): same texts,
    whatever the mix (other scripts and Greek, whose lowercase has context, still go through Arrow)."""
    import random
    import string

    from nprog import caches, tables

    rng = random.Random(1)
    latin = "".join(chr(c) for low, high in tables._PYTHON_BLOCKS for c in range(low, high))
    alphabet = string.printable + latin + "ﬁΣσςΑİıДж日本\u0301\u0903"
    words = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(20_000)]
    words += ["ΟΔΟΣ", "İstanbul", "Ærø Ångström", "naïve café", "½ – 3", "ﬁve"]
    words += ["", " ", "A  b", "x\x00y", "\x7f", "  Hello, World!  ", "Ærø", "ﬁve", "\t1,234\n"]
    caches.clear()
    assert tables.normalize_text(words).to_pylist() == tables._normalize_bulk(pa.array(words)).to_pylist()


# (cells of one column, its kind, its values): columns typed as a person reads them
COLUMN_KINDS = [
    (
        ["435 sq mi (1,127 km2)", "1,001 sq mi (2,593 km2)", "12.5 sq mi (32 km2)"],
        "number",
        [435, 1001, 12.5],
    ),
    (["258 (79)", "1,204 (12)", "33 (2)"], "number", [258, 1204, 33]),
    (["733 226", "1 204 511", "98 000"], "number", [733226, 1204511, 98000]),
    (["1,234 km", "56 km", "789 km"], "number", [1234, 56, 789]),
    (["2–1", "0–0", "3–2 (a.e.t.)"], "number", [2, 0, 3]),  # scores: the first (own) score, as before
    (["Norway (NOR)", "Germany (GER)", "Canada (CAN)"], "text", None),
    (["12 May 1990 (aged 33)", "3 June 1991 (aged 32)", "1 July 1985 (aged 38)"], "date", None),
]


@pytest.mark.parametrize("cells, kind, values", COLUMN_KINDS)
def test_cells_with_units_and_asides_type_their_column(cells, kind, values):
    column = Table.from_dataframe(pd.DataFrame({"x": cells})).columns[0]
    assert column.kind == kind
    if values is not None:
        assert column.value.tolist() == pytest.approx(values)
    assert column.strings.to_pylist() == cells  # shown as written


@pytest.mark.parametrize(
    ("cells", "question", "named"),
    [
        (["No", "Yes", "", "yes"], "how many planets have rings?", [False, True, False, True]),
        (["y", "n", "Y", "n"], "which planets have rings", [True, False, True, False]),
        (["No", "Yes", "No", "Yes"], "how many planets are there?", [False] * 4),  # the column is not named
        (["No", "Yes", "Some", "Yes"], "how many planets have rings?", [False] * 4),  # not a yes/no column
        # "no" is a stop word, never a named cell: the negation is the exclude operation's ("Rings is not Yes")
        (["No", "Yes", "No", "Yes"], "how many planets have no rings", [False, True, False, True]),
    ],
)
def test_a_question_naming_a_yes_no_column_names_its_yes_cells(cells, question, named):
    from nprog.features import compute_features
    from nprog.questions import parse_question

    for rows in (1, 5000):  # a short column, and a long one kept as levels
        frame = pd.DataFrame({"Planet": [f"p{i}" for i in range(4 * rows)], "Rings": cells * rows})
        exact = compute_features(Table.from_dataframe(frame), parse_question(question)).exact[1]
        assert exact.tolist() == named * rows


@pytest.mark.parametrize(
    ("cell", "person"),
    [("Mara Quinn", True), ("Jean-Luc O'Neil Jr.", True), ("The Glass Orchard", False), ("A Quiet Ledger", False),
     ("An Ode", False), ("Thea Brown", True), ("Andrea Lee", True), ("river of salt", False), ("Madonna", False)],
)  # fmt: skip
def test_a_cell_looks_like_a_persons_name(cell, person):
    from nprog.tables import looks_like_person

    assert looks_like_person(cell) is person


def test_the_key_column_names_every_row_once_totals_aside():
    t = Table.from_dataframe(
        pd.DataFrame(
            {
                "Team": ["A", "A", "B", "Total"],  # repeats: not the key
                "Player": ["Ann Lee", "Bo Li", "Cy Ray", "Total"],  # distinct once the totals row is aside
                "Points": ["3", "5", "1", "9"],
            }
        )
    )
    assert t.key_column.tolist() == [False, True, False]
    assert t.person_share.tolist() == pytest.approx([0.0, 0.75, 0.0])
    # every valid cell, totals included (as the shipped models were trained); text columns have none
    assert t.value_range[2].tolist() == [1.0, 9.0] and np.isnan(t.value_range[0]).all()
    gaps = Table.from_dataframe(pd.DataFrame({"Name": ["a", "", "c"], "Code": ["x", "y", "z"]}))
    assert gaps.key_column.tolist() == [False, True]  # an empty cell names no row


def test_a_long_table_is_judged_by_its_first_rows_for_the_key_column(monkeypatch):
    import nprog.tables as tables

    monkeypatch.setattr(tables, "KEY_SAMPLE", 3)
    t = Table.from_dataframe(pd.DataFrame({"Name": ["a", "b", "c", "a"], "Team": ["x", "y", "z", "w"]}))
    assert t.key_column.tolist() == [True, False]  # "a" repeats only after the first three rows


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("what is the average height of the austrian peaks?", ["Austria"]),  # people-word → country
        ("how many italians finished?", ["Italy"]),
        ("which south korean peak is the tallest?", ["South Korea"]),  # a two-word people-word
        ("how many peaks are in germany?", ["German"]),  # country → the people-word a cell holds
        ("which american peak is highest?", ["USA", "American"]),  # the alias and the word itself
        ("can you tell us the tallest peak?", []),  # "us" is a pronoun, never the United States
        ("which peak is in austria?", ["Austria"]),  # a name said as it is written still matches
    ],
)
def test_a_country_and_its_peoples_word_name_each_other(question, named):
    from nprog.features import compute_features
    from nprog.questions import parse_question

    frame = pd.DataFrame({
        "Peak": ["A", "B", "C", "D", "E", "F"],
        "Country": ["Austria", "Italy", "South Korea", "German", "USA", "American"],
    })  # fmt: skip
    f = compute_features(Table.from_dataframe(frame), parse_question(question))
    assert f.matched_text[1] == named
    assert not f.exact[0].any()


@pytest.mark.parametrize(
    ("question", "column"),
    [
        ("which album sold the most?", "Sales (millions)"),  # a verb for its noun
        ("which film is the longest?", "Runtime (min)"),  # a superlative for what it ranks by
        ("who directed the most films?", "Director"),
    ],
)
def test_words_that_name_a_column_without_saying_it(question, column):
    from nprog.features import compute_features
    from nprog.questions import parse_question

    frame = pd.DataFrame({
        "Title": ["A", "B"], "Director": ["X", "Y"], "Sales (millions)": ["1.5", "2"],
        "Gross ($M)": ["10", "20"], "Runtime (min)": ["90", "120"],
    })  # fmt: skip
    table = Table.from_dataframe(frame)
    partial = compute_features(table, parse_question(question)).col_partial
    assert [table.names[c] for c in np.flatnonzero(partial)] == [column]
