"""Run as a script, never imported: read one query's rows from a database file, inside hard limits.

``python -I dbworker.py`` with the job as JSON on stdin (see :func:`nprog.readers.read_frame`). The process first caps its own
address space (RLIMIT_AS), so a hostile view can exhaust only this process, which then fails cleanly or
is killed; the parent kills it at its deadline, so nothing keeps running after the read is given up.
It imports no nprog module (the package would load torch): standard library, sqlite3/duckdb and pyarrow.

Output: an Arrow IPC stream of string columns on stdout (the display strings of the cells), the column
names in the schema's metadata. Exit 3: a limit was hit; exit 4: the engine refused the query; either
way one line on stderr says why.
"""

from __future__ import annotations

import json
import resource
import sys

LIMIT, ENGINE = 3, 4


def _cell_plain(value) -> str:
    """NULL → "", bytes decoded as UTF-8, everything else str() (``nprog ask --db``)."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _cell_ui(value) -> str:
    """The UI's reading: bytes as hex, whole floats without ".0"."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


CELL_TEXT = {"plain": _cell_plain, "ui": _cell_ui}


def _strings(pa, values: tuple, cell_text) -> object:
    """One chunk of one column as display strings: text and integers directly, the rest cell by cell."""
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
        return pa.array([t.encode("utf-8", "replace").decode("utf-8") for t in texts], type=pa.string())


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
    from pathlib import Path

    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)  # as_uri escapes ? and #
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, job["max_cell_bytes"])  # zeroblob(2**30) refused, not built
    conn.execute("PRAGMA temp_store = MEMORY")  # under the address-space cap; no temporary file grows
    return conn


def main(job: dict) -> int:
    cap = job["memory_bytes"]
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:  # under a tighter limit already (ulimit -v): keep it
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    import pyarrow as pa

    cell_text = CELL_TEXT[job["style"]]
    try:
        conn = _connect(job["path"], job["dialect"], job)
        cursor = conn.execute(job["sql"])
        header = [str(d[0]) for d in cursor.description]
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
            for column, values in zip(chunks, zip(*rows, strict=True), strict=True):
                column.append(_strings(pa, values, cell_text))
                n_bytes += column[-1].nbytes
            if n_bytes > job["max_bytes"]:
                print(
                    f"bytes: over {job['max_bytes'] // 1024**2:,} MiB of text, the limit for a database table",
                    file=sys.stderr,
                )
                return LIMIT
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
