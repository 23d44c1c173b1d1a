"""Run as a script, never imported: read one query's rows from a database file, inside hard limits.

``python -I dbworker.py`` with the job as JSON on stdin (see :func:`nprog.readers.read_frame`). The process
first caps its own address space (RLIMIT_AS), so a hostile view can exhaust only this process, which then
fails cleanly or is killed; the parent kills it at its deadline, so nothing keeps running after the read
is given up. Of nprog it imports :mod:`nprog.readers` only (the one cell-to-text rule; no torch), from the
job's ``import_root``, the parent's own tree: ``-I`` keeps the working directory and PYTHONPATH out.

Output: an Arrow IPC stream of string columns on stdout (each cell's text by
:func:`nprog.readers.cell_text`), the column names in the schema's metadata. Exit 3: a limit was hit;
exit 4: the engine refused the query; either way one line on stderr says why.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

LIMIT, ENGINE = 3, 4


def _strings(pa, values: tuple, cell_text, valid_text) -> object:
    """One chunk of one column as text: text and integers directly, the rest cell by cell."""
    kinds = set(map(type, values))
    if kinds <= {str}:
        texts = values
    elif kinds <= {str, int, type(None)}:
        texts = ["" if v is None else v if type(v) is str else str(v) for v in values]
    else:
        texts = [cell_text(v) for v in values]
    try:
        return pa.array(texts, type=pa.string())
    except (pa.ArrowException, UnicodeError):  # a lone surrogate in a SQLite string
        return pa.array([valid_text(t) for t in texts], type=pa.string())


def _replacing(raw: bytes) -> str:
    """SQLite TEXT that is not UTF-8, decoded as cell_text decodes bytes."""
    return raw.decode("utf-8", errors="replace")


def _connect(path: str, dialect: str, job: dict):
    if dialect == "duckdb":
        import duckdb

        config = {
            "enable_external_access": False,  # a view in a hostile file must not read our files
            "memory_limit": f"{job['engine_memory_mb']}MB",
            "temp_directory": "",  # no spilling next to the user's file (or filling the disk)
            "threads": 2,
        }
        return duckdb.connect(path, read_only=True, config=config)
    import sqlite3

    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)  # as_uri escapes ? and #
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, job["max_cell_bytes"])  # zeroblob(2**30) refused, not built
    conn.execute("PRAGMA temp_store = MEMORY")  # under the address-space cap; no temporary file grows
    return conn


def _fetch(conn, job: dict, pa, readers) -> tuple[list[str], list[list]] | int:
    """(column names, each column's chunks of text) of the job's query, or the exit code of a limit hit."""
    import numpy as np

    cursor = conn.execute(job["sql"])
    header = [str(d[0]) for d in cursor.description]
    # DuckDB hands a FLOAT (32-bit) over as a Python float: 0.1 would print as 0.10000000149011612, not
    # as the float32 it is ("0.1", what a float32 DataFrame column shows)
    float32 = [job["dialect"] == "duckdb" and str(d[1]) == "FLOAT" for d in cursor.description]
    chunks: list[list] = [[] for _ in header]
    n_rows = n_bytes = 0
    while rows := cursor.fetchmany(job["chunk_rows"]):
        n_rows += len(rows)
        if n_rows > job["max_rows"]:
            print(
                f"rows: more than {job['max_rows']:,} rows, over the limit for a database table",
                file=sys.stderr,
            )
            return LIMIT
        for column, values, single in zip(chunks, zip(*rows, strict=True), float32, strict=True):
            if single:
                values = tuple(None if v is None else np.float32(v) for v in values)
            column.append(_strings(pa, values, readers.cell_text, readers.valid_text))
            n_bytes += column[-1].nbytes
        if n_bytes > job["max_bytes"]:
            print(
                f"bytes: over {job['max_bytes'] // 1024**2:,} MiB of text, the limit for a database table",
                file=sys.stderr,
            )
            return LIMIT
    return header, chunks


def main(job: dict) -> int:
    cap = job["memory_bytes"]
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:  # under a tighter limit already (ulimit -v): keep it
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    import pyarrow as pa

    sys.path.insert(0, job["import_root"])  # the parent's nprog (this file's own tree), for its rule
    from nprog import readers

    try:
        conn = _connect(job["path"], job["dialect"], job)
        try:
            read = _fetch(conn, job, pa, readers)
        except Exception as e:
            if job["dialect"] != "sqlite" or "Could not decode to UTF-8" not in str(e):
                raise
            conn.text_factory = _replacing  # slower per cell: only for a file that needs it
            read = _fetch(conn, job, pa, readers)
        if isinstance(read, int):
            return read
        header, chunks = read
    except MemoryError:
        print("memory: out of memory", file=sys.stderr)
        return LIMIT
    except Exception as e:  # noqa: BLE001 - the engine's complaint about this file, reported by the parent
        text = (str(e).strip().splitlines() or [type(e).__name__])[0]
        kind = (
            "memory"
            if "out of memory" in text.lower() or "memory limit" in text.lower()
            else "cell"
            if "too big" in text
            else "engine"
        )
        print(f"{kind}: {text}", file=sys.stderr)
        return ENGINE if kind == "engine" else LIMIT
    fields = [pa.field(f"c{i}", pa.string()) for i in range(len(header))]
    schema = pa.schema(fields, metadata={"names": json.dumps(header)})
    table = pa.Table.from_arrays([pa.chunked_array(c, type=pa.string()) for c in chunks], schema=schema)
    with pa.ipc.new_stream(sys.stdout.buffer, schema) as writer:
        writer.write_table(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.stdin.buffer.read())))
