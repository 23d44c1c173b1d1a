"""Reading a table out of a database file someone gave us, within limits (``nprog ask --db``, the UI upload).

A SQLite or DuckDB file can hold views that never end, grow without bound, or make a gigabyte value
from eight bytes of SQL, and an engine cannot be made to bound every allocation it makes for a query.
So the rows are read in a child process (:mod:`nprog.dbworker`, run as a script) that caps its own
address space at ``DB_MEMORY_BYTES`` and is killed at ``DB_SECONDS``: whatever the file does, it costs
that process only, and nothing is left running (no server thread spinning in the UI) once the read is
given up. Inside it, DuckDB also gets a ``memory_limit`` and no spilling to disk, SQLite a cap of
``DB_MAX_CELL_BYTES`` per value (``zeroblob(2**30)`` is refused, not built) and in-memory temporary
tables, and both at most ``DB_MAX_ROWS`` rows and ``DB_MAX_TEXT_BYTES`` of cell text.

Going over a limit is a :class:`nprog.tables.TableError` naming the table and the limit; the engine's own
complaint is a :class:`DatabaseReadError` for the caller to word. Listing a file's tables (metadata only)
stays in this process, through :func:`connect_read_only`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa

from nprog.tables import TableError

DB_SECONDS = 15.0  # NPROG_DB_SECONDS overrides; with start-up, `ask --db` answers within 30 s
DB_MEMORY_BYTES = 2 * 1024**3  # the reading process's whole address space
DB_ENGINE_MEMORY_MB = 768  # DuckDB's own budget inside it
DB_MAX_ROWS = 1_000_000
DB_MAX_TEXT_BYTES = 512 * 1024**2
DB_MAX_CELL_BYTES = 16 * 1024**2
_CHUNK_ROWS = 65_536
_WORKER = Path(__file__).resolve().with_name("dbworker.py")


class DatabaseReadError(Exception):
    """The engine refused the query (a corrupt file, a view reading what it may not); the engine's first line."""


def connect_read_only(path: str | os.PathLike, dialect: str):
    """A read-only connection for metadata (the list of tables); no file or network access from inside DuckDB."""
    if dialect == "duckdb":
        import duckdb

        return duckdb.connect(str(path), read_only=True, config={"enable_external_access": False})
    import sqlite3

    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)  # as_uri escapes ? and #
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, DB_MAX_CELL_BYTES)
    return conn


def read_frame(path: str | os.PathLike, dialect: str, sql: str, what: str, style: str = "plain", *,
               seconds: float | None = None, max_rows: int | None = None) -> pd.DataFrame:  # fmt: skip
    """The rows of ``sql`` on the database file as a DataFrame of display strings (``style``: "plain",
    bytes decoded; "ui", bytes as hex and whole floats without ".0"), read under the limits above.
    ``what`` names the table in errors (TableError for a limit, DatabaseReadError for the engine's)."""
    if seconds is None:
        try:  # NPROG_DB_SECONDS: the time limit where the default does not fit (a slow disk, a tight server)
            seconds = float(os.environ.get("NPROG_DB_SECONDS", DB_SECONDS))
        except ValueError:
            seconds = DB_SECONDS
    job = {
        "path": str(path), "dialect": dialect, "sql": sql, "style": style, "chunk_rows": _CHUNK_ROWS,
        "max_rows": DB_MAX_ROWS if max_rows is None else max_rows, "max_bytes": DB_MAX_TEXT_BYTES,
        "max_cell_bytes": DB_MAX_CELL_BYTES, "memory_bytes": DB_MEMORY_BYTES, "engine_memory_mb": DB_ENGINE_MEMORY_MB,
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
