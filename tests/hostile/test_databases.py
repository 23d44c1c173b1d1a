"""Hostile database files for `nprog ask --db`, the API (read_db_table) and the UI's database upload.

Every file is built here: a DuckDB view that never yields a row, a recursive view that grows without end,
views of gigabyte values, a SQLite view with an infinite recursive CTE, a zeroblob(2**30) view, a table
of 1,000,000 rows. Each must end in a one-line error naming the table and the limit, in bounded time
and memory, with no reader left running. The fast tests shorten the time limit (NPROG_DB_SECONDS); the
``slow`` ones run the real defaults under an address-space limit and measure the memory.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from nprog import readers
from nprog.app.cli import main
from nprog.sql import read_db_table
from nprog.tables import TableError

ROOT = Path(__file__).resolve().parents[2]
LINK_NAME = "[click](https://evil.example)"
TIME_LIMIT = r"stopped reading after \d+ s, the time limit"
MEMORY_LIMIT = r"stopped reading, it needs more memory than a database read may use"
CELL_LIMIT = r"a value over the 16 MiB limit for one cell"


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hostile_db")
    duck = d / "hostile.duckdb"
    with duckdb.connect(str(duck)) as c:
        # counts 10^15 rows: constant memory, no row before the end of time
        c.execute(
            "CREATE VIEW forever AS SELECT count(*) AS n FROM range(1000000000000000) WHERE hash(range) = 0"
        )
        c.execute("CREATE VIEW grows AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
                  "SELECT count(*) AS n FROM r")  # fmt: skip
        c.execute("CREATE VIEW huge_values AS SELECT repeat('x', 200000000) AS s FROM range(20)")
        c.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('Norway', 16), ('Germany', 12)) v(nation, gold)")
        c.execute(f'CREATE TABLE "{LINK_NAME}" AS SELECT * FROM t')
    lite = d / "hostile.sqlite"
    with sqlite3.connect(lite) as c:
        c.execute("CREATE VIEW forever AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
                  "SELECT count(*) AS n FROM r")  # fmt: skip
        c.execute("CREATE VIEW blob AS SELECT zeroblob(1073741824) AS b FROM (SELECT 1 UNION ALL SELECT 2)")
        c.execute("CREATE TABLE many(id INTEGER, city TEXT)")
        c.executemany("INSERT INTO many VALUES (?, ?)", [(i, f"city{i % 4}") for i in range(2000)])
        c.execute(f'CREATE TABLE "{LINK_NAME}"(nation TEXT, gold INTEGER)')
        c.executemany(f'INSERT INTO "{LINK_NAME}" VALUES (?, ?)', [("Norway", 16), ("Germany", 12)])
    assert lite.stat().st_size < 64 * 1024  # a few KB of SQL, not data
    return {"duckdb": duck, "sqlite": lite}


def _readers_left() -> list[int]:
    """Our child processes still running the database reader."""
    left = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(status.split("PPid:")[1].split()[0])
        if ppid == os.getpid() and b"dbworker.py" in cmdline:
            left.append(int(entry.name))
    return left


HOSTILE = [  # (file, table, expected message, the time limit set, seconds the message may take)
    ("duckdb", "forever", TIME_LIMIT, 2, 8),
    ("duckdb", "grows", f"{TIME_LIMIT}|{MEMORY_LIMIT}", 2, 8),
    ("duckdb", "huge_values", MEMORY_LIMIT, 20, 25),  # a memory case: time must not end it first
    ("sqlite", "forever", TIME_LIMIT, 2, 8),
    ("sqlite", "blob", CELL_LIMIT, 2, 8),
]


@pytest.mark.parametrize(
    "kind, table, message, limit, seconds", HOSTILE, ids=[f"{k}-{t}" for k, t, *_ in HOSTILE]
)
def test_api_stops_a_hostile_table_with_one_line(
    hostile_files, monkeypatch, kind, table, message, limit, seconds
):
    monkeypatch.setenv("NPROG_DB_SECONDS", str(limit))
    started = time.perf_counter()
    with pytest.raises(TableError, match=message) as err:
        read_db_table(hostile_files[kind], table)
    assert time.perf_counter() - started < seconds
    assert "\n" not in str(err.value) and f"(table {table})" in str(err.value)
    assert _readers_left() == []  # the reader was stopped, not abandoned


@pytest.mark.parametrize(
    "kind, table, message, limit, seconds", HOSTILE, ids=[f"{k}-{t}" for k, t, *_ in HOSTILE]
)
def test_cli_ask_db_exits_2_with_one_line(
    hostile_files, monkeypatch, capsys, kind, table, message, limit, seconds
):
    monkeypatch.setenv("NPROG_DB_SECONDS", str(limit))
    code = main(
        ["ask", "--db", str(hostile_files[kind]), "--table-name", table, "how many rows?", "--device", "cpu"]
    )
    out, err = capsys.readouterr()
    assert code == 2 and out == "", (code, out, err)
    assert err.startswith("nprog: ") and len(err.strip().splitlines()) == 1, err
    assert re.search(message, err), err
    assert _readers_left() == []


def test_row_limit_is_a_clear_error(hostile_files, monkeypatch):
    monkeypatch.setattr(readers, "DB_MAX_ROWS", 1000)
    with pytest.raises(TableError, match=r"\(table many\): more than 1,000 rows, over the limit"):
        read_db_table(hostile_files["sqlite"], "many")


def test_ordinary_tables_still_read(hostile_files):
    table, dialect = read_db_table(hostile_files["sqlite"], "many")
    assert dialect == "sqlite" and table.n_rows == 2000
    assert table.column("city").strings.to_pylist()[:3] == ["city0", "city1", "city2"]
    table, dialect = read_db_table(hostile_files["duckdb"], "t")
    assert dialect == "duckdb" and table.column("gold").strings.to_pylist() == ["16", "12"]


# ---- the UI's database upload


def _upload(at, path: Path, table: str):
    at.session_state["source_kind"] = "Database file"
    at.run()
    at.file_uploader(key="db_upload").upload(path.name, path.read_bytes(), "application/octet-stream")
    at.run()
    at.selectbox(key="db_table").set_value(table)
    return at.run()


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "kind, table, message", [("duckdb", "forever", TIME_LIMIT), ("sqlite", "blob", CELL_LIMIT)]
)
def test_ui_upload_of_a_hostile_table_is_a_message_and_leaves_nothing_running(
    hostile_files, shipped_model, monkeypatch, kind, table, message
):
    from test_corpus import new_app, said

    monkeypatch.setenv("NPROG_DB_SECONDS", "2")
    at = new_app(shipped_model, monkeypatch, 20)
    started = time.perf_counter()
    at = _upload(at, hostile_files[kind], table)
    assert not at.exception, [e.value for e in at.exception]
    assert any(re.search(message, m) for m in said(at)), said(at)
    assert time.perf_counter() - started < 60
    assert _readers_left() == []


@pytest.mark.timeout(300)
def test_ui_shows_a_markdown_link_table_name_as_text(hostile_files, shipped_model, monkeypatch):
    from markdown_it import MarkdownIt
    from test_corpus import new_app

    at = _upload(new_app(shipped_model, monkeypatch, 20), hostile_files["sqlite"], LINK_NAME)
    assert not at.exception, [e.value for e in at.exception]
    shown = [c.value for c in at.caption if "rows ×" in c.value]
    assert shown, [c.value for c in at.caption]
    html = MarkdownIt("commonmark").render(shown[0])
    assert "<a" not in html and LINK_NAME in html, html


# ---- the real defaults, measured: within 30 s and under 2 GiB


_MEASURE = """
import json, resource, subprocess, sys, time
limit = int(sys.argv[1])
started = time.perf_counter()
done = subprocess.run(sys.argv[2:], capture_output=True, text=True,
                      preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
print(json.dumps({"code": done.returncode, "out": done.stdout, "err": done.stderr,
                  "seconds": time.perf_counter() - started,
                  "max_rss_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))
"""
ADDRESS_SPACE = 3 * 1024**3  # the CLI with torch loaded maps ~2.1 GiB; the reader caps itself at 2 GiB


def _measured_cli(*argv: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "NPROG_DB_SECONDS"}
    cmd = [sys.executable, "-c", _MEASURE, str(ADDRESS_SPACE), sys.executable, "-m", "nprog.app.cli", *argv]
    done = subprocess.run(cmd, cwd=ROOT, env={**env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    return json.loads(done.stdout)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "kind, table, message, _limit, _seconds", HOSTILE, ids=[f"{k}-{t}" for k, t, *_ in HOSTILE]
)
def test_default_limits_give_the_error_within_30_s_and_2_gib(
    hostile_files, kind, table, message, _limit, _seconds
):
    got = _measured_cli("ask", "--db", str(hostile_files[kind]), "--table-name", table, "how many rows?",
                        "--device", "cpu")  # fmt: skip
    assert got["code"] == 2 and len(got["err"].strip().splitlines()) == 1, got
    assert re.search(message, got["err"]), got
    assert got["seconds"] < 30, got
    assert got["max_rss_bytes"] < 2 * 1024**3, got


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_million_row_table_is_answered_within_30_s_and_2_gib(tmp_path):
    path = tmp_path / "million.sqlite"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE t(id INTEGER, city TEXT, score INTEGER)")
        c.execute("WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r WHERE n < 999999) "
                  "INSERT INTO t SELECT n, 'city' || (n % 4), n % 1000 FROM r")  # fmt: skip
    got = _measured_cli("ask", "--db", str(path), "--table-name", "t", "how many rows have city city2?",
                        "--device", "cpu")  # fmt: skip
    assert got["code"] == 0 and got["out"].rstrip().split("\n")[-1].startswith("answer: 250000 ("), got
    assert got["max_rss_bytes"] < 2 * 1024**3, got
    assert got["seconds"] < 60, (
        got
    )  # the whole ask (read, typing 3M cells, the model): ~38 s on a loaded 2-core box
