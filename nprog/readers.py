"""Reading tables: every source becomes a DataFrame of strings, each cell through one cell-to-text rule.

Sources: table files (CSV, TSV, semicolon or pipe separated, in UTF-8, UTF-16/32 or Windows-1252; WTQ's
escaped TSV layout), SQLite and DuckDB files (read in a child process within limits: see "database
files" below) and DataFrames someone already has. What a cell's text is — for a string, a number, a
missing value, bytes — is decided here, once; :mod:`nprog.tables` then types the strings (number, date,
text) and never reads a file itself.

Every problem with the input is a :class:`TableError` with one line naming the file and the problem.
"""

from __future__ import annotations

import csv
import datetime
import errno
import io
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nprog import layout
from nprog.files import NotRegularFileError, open_regular

MAX_FILE_BYTES = 2 * 1024**3  # refuse files above 2 GiB with a clear message instead of swapping
MAX_COLUMNS = 16_384  # as wide as Excel and LibreOffice sheets go; far wider tables are refused, not crawled


class TableError(ValueError):
    """A table could not be read or is unusable; the message names the file and the problem."""


# ---- the one cell-to-text rule ---------------------------------------------------------------------------
#
# A cell's text is what the table shows and what answers are matched against, so the same value must give
# the same text from every source: a CSV (whose cells are text already), a DataFrame of any dtype, a
# SQLite or DuckDB table (nprog.dbworker applies cell_text to what the engine returns). The rule:
#
#   missing (None, NaN, NaT, pd.NA, SQL NULL)    ""
#   text                                         itself; a lone surrogate becomes U+FFFD
#   bytes (a BLOB; SQLite TEXT that is not       decoded as UTF-8, a broken byte as U+FFFD
#     UTF-8)
#   a number (int, float, Decimal, bool)         Python's str: "3", "3.0", "0.1", "1e+20", "1.50", "True";
#                                                a float32 its own shortest text ("0.1", not 0.1 in float64)
#   a date and time without a time zone          "2020-01-05" at midnight, else "2020-01-05 10:30:00"
#                                                (".500000" with microseconds, nine digits with nanoseconds)
#   anything else (a date, a time, a time zone,  Python's str: "2020-01-05", "10:30:00",
#     a list, a struct)                          "2020-01-05 00:00:00+00:00", "[1, 2]", "{'a': 1}"
#
# Durations are each library's own str (pandas: "0 days 01:00:00", Python: "1:00:00"): not unified.


def valid_text(value) -> str:
    """Any cell or header as valid Unicode: bytes decoded as UTF-8, lone surrogates replaced by U+FFFD."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: Arrow (and every file format) refuses it
        text = re.sub("[\ud800-\udfff]", "\ufffd", text)
    return text


def cell_text(value) -> str:
    """One cell's text by the rule above, whatever the source; "" where missing."""
    if isinstance(value, float | np.floating):  # first: a database column of floats comes this way
        return "" if value != value else str(value)  # NaN is the one value unequal to itself
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str | bytes | bytearray | memoryview):
        return valid_text(value)
    if isinstance(value, np.datetime64 | np.timedelta64):
        if np.isnat(value):
            return ""
        value = pd.Timestamp(value) if isinstance(value, np.datetime64) else pd.Timedelta(value)
    if isinstance(value, datetime.datetime):  # pd.Timestamp too
        if value.tzinfo is None and value.time() == datetime.time() and not getattr(value, "nanosecond", 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    return valid_text(value)


def column_strings(series: pd.Series) -> pa.Array:
    """A column's cells as text by :func:`cell_text`'s rule, as one contiguous Arrow array.

    Whole columns of text, numbers and dates are converted at once; each fast path gives what cell_text
    gives cell by cell (``tests/test_readers.py`` compares them), and everything else goes cell by cell."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):  # the distinct categories once, then each cell's code
        names = column_strings(pd.Series(dtype.categories))
        codes = series.cat.codes.to_numpy()
        return pc.fill_null(names.take(pa.array(codes, mask=codes < 0)), "")
    try:
        if isinstance(dtype, pd.StringDtype | pd.ArrowDtype):  # Arrow-backed already (a read CSV)
            arrow = pa.array(series.array)
            arrow = arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) else arrow
            if pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type):
                return pc.fill_null(arrow.cast(pa.string()), "")
        if isinstance(dtype, pd.StringDtype) or (
            pd.api.types.is_object_dtype(dtype)
            and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")
        ):
            strings = pa.array(series.astype("string[pyarrow]").fillna(""), type=pa.string())
        elif not isinstance(dtype, pd.ArrowDtype) and (
            pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)
        ):  # numpy's and pandas' own str of each value, as cell_text's str()
            strings = pa.array(series.astype(str).where(series.notna(), ""), type=pa.string())
        elif isinstance(dtype, np.dtype) and dtype.kind == "M":  # datetime64 without a time zone
            strings = pa.array(_datetime_strings(series.to_numpy()), type=pa.string())
        else:  # bytes, mixed objects, time zones, Arrow-typed numbers …: cell by cell
            strings = pa.array([cell_text(v) for v in series.array], type=pa.string())
    except (UnicodeError, ValueError, TypeError, pa.ArrowException):  # lone surrogates, odd objects
        strings = pa.array([cell_text(v) for v in series.array], type=pa.string())
    if isinstance(strings, pa.ChunkedArray):  # pandas' Arrow-backed strings of a big CSV come in chunks
        strings = strings.combine_chunks()
    return strings


def _datetime_strings(values: np.ndarray) -> np.ndarray:
    """cell_text of every datetime64 value without a time zone, at once: the date alone at midnight, else
    the date and time with as many fraction digits as the value needs (none, 6 or 9), as Arrow prints
    each unit (a third of the time pandas' own str takes)."""
    text = np.full(len(values), "", dtype=object)
    left = ~np.isnat(values)
    for unit in ("D", "s", "us", "ns"):  # the coarsest unit that holds the value exactly
        coarse = values.astype(f"datetime64[{unit}]")
        exact = left & (coarse == values)
        if exact.any():
            text[exact] = pa.array(coarse[exact]).cast(pa.string()).to_numpy(zero_copy_only=False)
            left &= ~exact
    return text


def check_width(n_columns: int, source: str) -> None:
    if n_columns > MAX_COLUMNS:
        raise TableError(
            f"{source}: the table has {n_columns:,} columns, over the {MAX_COLUMNS:,} column limit"
        )


def read_wtq_frame(path: str | os.PathLike) -> pd.DataFrame:
    """A WikiTableQuestions table as strings: the ``.tsv`` twin of ``N.csv`` (WTQ escapes), else the CSV.

    For a path the user gave. Paths taken from a question file go through ``nprog.wtq``, which confines
    both twins to the tables root first and then reads exactly the chosen file (:func:`read_wtq_file`).
    """
    path = Path(path)
    tsv = path.with_suffix(".tsv")
    return read_wtq_file(tsv if tsv.exists() else path)


def read_wtq_file(path: str | os.PathLike, *, follow_symlinks: bool = True) -> pd.DataFrame:
    """Exactly this file as a table of strings: WTQ's escaped TSV layout for ``.tsv``, CSV otherwise."""
    path = Path(path)
    if path.suffix != ".tsv":
        return parse_csv_text(read_text(path, follow_symlinks=follow_symlinks), str(path))
    lines = read_text(path, follow_symlinks=follow_symlinks).rstrip("\n").split("\n")
    rows = [[unescape_wtq(f) for f in line.split("\t")] for line in lines]
    width = len(rows[0])
    body = [r + [""] * (width - len(r)) if len(r) < width else r[:width] for r in rows[1:]]
    return pd.DataFrame(body, columns=rows[0], dtype="string")


def unescape_wtq(field_text: str) -> str:
    r"""WTQ TSV escapes: \n newline, \p pipe, \\ backslash."""
    if "\\" not in field_text:
        return field_text
    return re.sub(
        r"\\(.)", lambda m: {"n": "\n", "p": "|", "\\": "\\"}.get(m.group(1), m.group(0)), field_text
    )


def escape_wtq(text: str) -> str:
    r"""The inverse of :func:`unescape_wtq` for writing TSV fields: \\ backslash, \n newline, \p pipe;
    tabs become spaces."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("|", "\\p").replace("\t", " ")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d,]*(\.\d+)?([eE][+-]?\d+)?")


def defuse_formula(value):
    """Prefix ' to text a spreadsheet would run as a formula (=, +, -, @, tab, CR); plain numbers stay.

    For files people open in Excel / LibreOffice / Sheets (CSV/TSV exports of predictions): a cell like
    ``=cmd|' /C calc'!A0`` from a hostile table must arrive as text, not as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


_UNICODE_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def _utf16_without_bom(head: bytes) -> str | None:
    """utf-16-le/-be when every other byte is NUL, as in mostly-ASCII UTF-16 text written without a BOM."""
    head = head[: len(head) // 2 * 2]
    even, odd = head[0::2], head[1::2]
    if len(head) < 4:
        return None
    if odd.count(0) >= len(odd) / 2 and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= len(even) / 2 and odd.count(0) == 0:
        return "utf-16-be"
    return None


def _decode(raw: bytes, path: str) -> str:
    """UTF-8 (with or without BOM), UTF-16/32 (with BOM, or UTF-16 without), else Windows-1252."""
    for bom, codec in _UNICODE_BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(codec)
            except UnicodeDecodeError:
                raise TableError(
                    f"{path}: starts like {codec.upper()} text but is not valid {codec.upper()}"
                ) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    head = raw[:65536]
    if b"\x00" in head:
        codec = _utf16_without_bom(head)
        if codec:
            try:
                return raw.decode(codec)
            except UnicodeDecodeError:
                pass
        raise TableError(f"{path}: looks like a binary file, not a CSV (it contains NUL bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    limit = max(10, len(raw) // 100)
    text = raw.decode("utf-8", errors="replace")
    if text.count("\ufffd") <= limit and re.search("[^\x00-\x7f\ufffd]", text):
        return text  # UTF-8 with a few broken bytes (say, two files pasted together): keep the UTF-8
    text = raw.decode("cp1252", errors="replace")  # the usual non-UTF-8 CSV: Excel on Windows
    if text.count("\ufffd") > limit:
        raise TableError(f"{path}: not a text file in UTF-8, UTF-16 or Windows-1252")
    return text


def read_text(
    path: str | os.PathLike, *, max_bytes: int = MAX_FILE_BYTES, follow_symlinks: bool = True
) -> str:
    """A table file's text (encoding as :func:`_decode` finds it), or TableError naming the file and the problem.

    The file is opened first and checked through its descriptor, so what is read is what was checked: a
    regular file (never a pipe, device or directory, which could block or never end) of at most
    ``max_bytes``. Opening is non-blocking so a FIFO cannot hang the open itself; ``follow_symlinks=False``
    refuses a symbolic link as the last component (for paths already resolved and confined). The read
    buffer is sized to the file, not to the limit (a 2 GiB reservation fails under ``ulimit -v``).
    """
    path = str(path)
    try:
        fd, info = open_regular(path, follow_symlinks=follow_symlinks)
    except IsADirectoryError:
        raise TableError(f"{path}: is a directory, not a table file") from None
    except NotRegularFileError:  # a device or a pipe could be endless
        raise TableError(f"{path}: not a regular file") from None
    except (OSError, ValueError) as e:  # ValueError: an embedded NUL byte
        reason = (
            "a symbolic link where a file was expected"
            if getattr(e, "errno", None) == errno.ELOOP
            else (getattr(e, "strerror", None) or e)
        )
        raise TableError(f"{path}: cannot read the file ({reason})") from None
    try:
        if info.st_size > max_bytes:
            raise TableError(
                f"{path}: the file is {info.st_size / 1024**2:.0f} MiB, over the {max_bytes / 1024**2:.0f} MiB limit"
            )
        if info.st_size == 0:
            raise TableError(f"{path}: the file is empty")
        chunks, size = [], 0
        while size <= max_bytes:  # the file may grow while it is read: stop one byte past the limit
            want = max(info.st_size + 1 - size, 1 << 16)  # the file's own size first, small chunks past it
            chunk = os.read(fd, min(want, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise TableError(f"{path}: cannot read the file ({e.strerror or e})") from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > max_bytes:
        raise TableError(
            f"{path}: the file grew past the {max_bytes / 1024**2:.0f} MiB limit while it was read"
        )
    text = _decode(raw, path)
    if not text.strip():
        raise TableError(f"{path}: the file is empty")
    return text


def read_csv(path: str | os.PathLike, *, max_bytes: int = MAX_FILE_BYTES) -> pd.DataFrame:
    """Read a CSV into strings, or raise TableError with one line naming the file and the problem."""
    return parse_csv_text(read_text(path, max_bytes=max_bytes), str(path))


DELIMITERS = (",", ";", "\t", "|")


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the first rows into the most consistent rows of at least two fields.

    Each candidate parses the sample as CSV (so quoted text may hold any of the others: a header
    ``"a;b",c`` is comma separated); ties go to the wider split, then to the order of DELIMITERS.
    A single-column file gets the comma.
    """
    if len(sample) >= 65536 and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # drop the cut-off last line
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        try:
            widths = [
                len(r)
                for r in itertools.islice(csv.reader(io.StringIO(sample), delimiter=delimiter), 100)
                if r
            ]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        score = (sum(w == widths[0] for w in widths) / len(widths), widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def parse_csv_text(text: str, source: str = "<csv>") -> pd.DataFrame:
    """Parse CSV text (comma, semicolon, tab or pipe separated, sniffed) into a DataFrame of strings.

    The header row is read as data and set afterwards: pandas would rename a duplicate header
    ("score" → "score.1") and take a first column without a header for the index, silently shifting
    every row; here duplicates keep their names (Table makes them unique) and a row with more fields
    than the header is a malformed CSV. Excel's ``sep=;`` first line names the delimiter.
    """
    excel = re.match(r"sep=(.)\r?\n", text)
    if excel:
        delimiter, text = excel[1], text[excel.end() :]
    else:
        delimiter = sniff_delimiter(text[:65536])
    try:  # the header's width first: parsing a table far too wide to use would take minutes
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])  # reads the first record only
    except csv.Error:
        header = []
    check_width(len(header), source)

    def read(**dialect) -> pd.DataFrame:
        return pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, dtype=str, keep_default_na=False, na_filter=False,
            skipinitialspace=False, engine="c", **dialect,
        )  # fmt: skip

    try:
        df = read()
    except pd.errors.EmptyDataError:
        raise TableError(f"{source}: the file has no header row") from None
    except pd.errors.ParserError as e:
        try:  # quotes escaped with a backslash inside quoted fields ("say \"hi\""), as WTQ's CSVs and MySQL write them
            df = read(escapechar="\\")
        except pd.errors.ParserError:
            detail = str(e).strip().splitlines()[-1] if str(e).strip() else "unreadable"
            detail = re.sub(r"^Error tokenizing data\. C error: ", "", detail)
            raise TableError(f"{source}: malformed CSV ({detail})") from None
    if df.shape[0] <= 1:
        raise TableError(f"{source}: the table has a header but no rows")
    header = df.iloc[0].fillna("").tolist()
    df = df.iloc[1:].reset_index(drop=True)  # short rows' missing fields are NaN: Table reads them as ""
    df.columns = header  # set, not read: pandas keeps duplicate names given this way
    return df


# ---- database files (SQLite, DuckDB) --------------------------------------------------------------------
#
# A SQLite or DuckDB file can hold views that never end, grow without bound, or make a gigabyte value from
# eight bytes of SQL, and an engine cannot be made to bound every allocation it makes for a query. So the
# rows are read in a child process (:mod:`nprog.dbworker`, run as a script) that caps its own address space
# at ``DB_MEMORY_BYTES`` and is killed at ``DB_SECONDS``: whatever the file does, it costs that process
# only, and nothing is left running (no server thread spinning in the UI) once the read is given up.
# Inside it, DuckDB also gets a ``memory_limit`` and no spilling to disk, SQLite a cap of
# ``DB_MAX_CELL_BYTES`` per value (``zeroblob(2**30)`` is refused, not built) and in-memory temporary
# tables, and both at most ``DB_MAX_ROWS`` rows and ``DB_MAX_TEXT_BYTES`` of cell text.
#
# Going over a limit is a TableError naming the table and the limit; the engine's own complaint is a
# DatabaseReadError for the caller to word. Listing a file's tables (metadata only) stays in this process,
# through connect_read_only.

DB_SECONDS = 15.0  # NPROG_DB_SECONDS overrides; with start-up, `ask --db` answers within 30 s
DB_MEMORY_BYTES = 2 * 1024**3  # the reading process's whole address space
DB_ENGINE_MEMORY_MB = 768  # DuckDB's own budget inside it
DB_MAX_ROWS = 1_000_000
DB_MAX_TEXT_BYTES = 512 * 1024**2
DB_MAX_CELL_BYTES = 16 * 1024**2
_CHUNK_ROWS = 65_536
_WORKER = Path(__file__).resolve().with_name("dbworker.py")

SQLITE_MAGIC = b"SQLite format 3\x00"  # the first bytes of a SQLite database file
DUCKDB_MAGIC = b"DUCK"  # at byte offset 8 of a DuckDB database file
_DB_EXTENSIONS = {".duckdb": "duckdb", ".sqlite": "sqlite", ".sqlite3": "sqlite", ".db": "sqlite"}


class DatabaseReadError(Exception):
    """The engine refused the query (a corrupt file, a view reading what it may not); the engine's first line."""


def database_kind(head: bytes) -> str | None:
    """ "sqlite" or "duckdb" by a file's first bytes (at least 12 of them), else None."""
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head[8:12] == DUCKDB_MAGIC:
        return "duckdb"
    return None


def database_dialect(path: Path) -> str:
    """A database file's engine by its extension; otherwise by its magic bytes."""
    if path.suffix.lower() in _DB_EXTENSIONS:
        return _DB_EXTENSIONS[path.suffix.lower()]
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as e:
        raise TableError(f"{path}: cannot read the file ({e.strerror or e})") from None
    kind = database_kind(head)
    if kind is None:
        raise TableError(f"{path}: not a DuckDB (.duckdb) or SQLite (.sqlite, .sqlite3, .db) database")
    return kind


def connect_read_only(path: str | os.PathLike, dialect: str):
    """A read-only connection for metadata (the list of tables); no file or network access from inside DuckDB."""
    if dialect == "duckdb":
        import duckdb

        return duckdb.connect(str(path), read_only=True, config={"enable_external_access": False})
    import sqlite3

    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)  # as_uri escapes ? and #
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, DB_MAX_CELL_BYTES)
    return conn


def table_names(conn, dialect: str) -> list[str]:
    """The tables and views of a database (a connect_read_only connection), sorted by name."""
    if dialect == "duckdb":
        query = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    else:
        query = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
    return sorted(r[0] for r in conn.execute(query).fetchall())


def select_all(table: str) -> str:
    """``SELECT * FROM "table"``: the name quoted as SQL quotes identifiers (SQLite and DuckDB both), never
    parsed, so a dot, a quote or ``--`` in it stays part of the name."""
    return 'SELECT * FROM "' + table.replace('"', '""') + '"'


def _resolve_name(wanted: str, available: list[str], path: Path) -> str:
    """The stored name: exact, else the one case-insensitive match (both engines ignore case)."""
    if wanted in available:
        return wanted
    folded = [n for n in available if n.lower() == wanted.lower()]
    if len(folded) == 1:
        return folded[0]
    listing = ", ".join(repr(n) for n in available) or "none"
    raise TableError(f"{path}: no table named {wanted!r}; tables: {listing}")


def read_database(path: str | os.PathLike, table_name: str) -> tuple[pd.DataFrame, str, str]:
    """A table of a DuckDB or SQLite file (opened read-only): (its cells as strings, the file's dialect, a
    source name for errors and the Table).

    Unknown table: a TableError listing the tables; an unreadable file: a TableError naming it.
    """
    import sqlite3

    import duckdb

    path = Path(path)
    if not path.is_file():
        raise TableError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    dialect = database_dialect(path)
    errors = (sqlite3.Error, duckdb.Error)
    try:
        conn = connect_read_only(path, dialect)
    except errors as e:
        raise TableError(f"{path}: cannot open it as a {dialect} database ({_first_line(e)})") from None
    try:
        name = _resolve_name(table_name, table_names(conn, dialect), path)
    except errors as e:
        raise TableError(f"{path}: cannot read it as a {dialect} database ({_first_line(e)})") from None
    finally:
        conn.close()
    source = f"{path} (table {name})"
    try:  # in a child process, within time, memory, row and size limits
        frame = read_frame(path, dialect, select_all(name), source)
    except DatabaseReadError as e:
        raise TableError(f"{path}: cannot read it as a {dialect} database ({e})") from None
    return frame, dialect, source


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def read_frame(path: str | os.PathLike, dialect: str, sql: str, what: str, *,
               seconds: float | None = None, max_rows: int | None = None) -> pd.DataFrame:  # fmt: skip
    """The rows of ``sql`` on the database file as a DataFrame of strings (each cell by :func:`cell_text`),
    read under the limits above. ``what`` names the table in errors (TableError for a limit,
    DatabaseReadError for the engine's)."""
    if seconds is None:
        try:  # NPROG_DB_SECONDS: the time limit where the default does not fit (a slow disk, a tight server)
            seconds = float(os.environ.get("NPROG_DB_SECONDS", DB_SECONDS))
        except ValueError:
            seconds = DB_SECONDS
    job = {
        "path": str(path), "dialect": dialect, "sql": sql, "chunk_rows": _CHUNK_ROWS,
        "max_rows": DB_MAX_ROWS if max_rows is None else max_rows, "max_bytes": DB_MAX_TEXT_BYTES,
        "max_cell_bytes": DB_MAX_CELL_BYTES, "memory_bytes": DB_MEMORY_BYTES, "engine_memory_mb": DB_ENGINE_MEMORY_MB,
        "import_root": str(layout.PACKAGE.parent),  # where the worker (run with -I) imports nprog.readers from
    }  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-I", str(_WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    try:
        out, err = proc.communicate(json.dumps(job).encode(), timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise TableError(
            f"{what}: stopped reading after {seconds:.0f} s, the time limit (a view that never ends?)"
        ) from None
    except BaseException:  # KeyboardInterrupt, a stopped Streamlit script: never leave the reader running
        proc.kill()
        proc.communicate()
        raise
    message = err.decode("utf-8", "replace").strip().splitlines()
    kind, _, text = (message[-1] if message else "").partition(": ")
    if proc.returncode == 0:
        return _frame(out)
    if proc.returncode == 4:
        raise DatabaseReadError(text)
    if proc.returncode == 3 and kind in ("rows", "bytes"):
        raise TableError(f"{what}: {text}")
    if proc.returncode == 3 and kind == "cell":
        raise TableError(f"{what}: a value over the {DB_MAX_CELL_BYTES // 1024**2} MiB limit for one cell")
    # the memory cap: MemoryError, the engine's out-of-memory, or the process killed for it
    raise TableError(
        f"{what}: stopped reading, it needs more memory than a database read may use "
        f"({DB_MEMORY_BYTES / 1024**3:.0f} GiB; a view that never ends?)"
    )


def _frame(ipc: bytes) -> pd.DataFrame:
    table = pa.ipc.open_stream(pa.BufferReader(ipc)).read_all()
    header = json.loads(table.schema.metadata[b"names"])
    columns = {i: pd.arrays.ArrowExtensionArray(table.column(i)) for i in range(table.num_columns)}
    frame = pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))
    frame.columns = header  # set after building: duplicate names are legal in a view
    return frame
