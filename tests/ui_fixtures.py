"""Helpers shared by the UI tests (tests/test_ui*.py); plain functions, imported by those modules.

Which model the UI tests use: $NPROG_MODEL if set, else the shipped data/models/wtq, else the development
checkpoint runs/smoke2, else the untrained tiny checkpoint of conftest's ``tiny_model_dir`` (answers are
then meaningless, which is fine: the tests compare the page with what ``TableQA.ask`` returns).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
APP_FILE = ROOT / "streamlit_app.py"
SAMPLES = ROOT / "data" / "samples"
ARTIFACTS = ROOT / "tests" / "artifacts"
APP_TIMEOUT = 120  # seconds per AppTest run: the first one imports torch and loads the model

torch.set_num_threads(1)  # the test machine's cores are shared


def choose_model(fallback: Path | None = None) -> Path | None:
    """The model directory for UI tests (see the module docstring); None when there is none at all."""
    env = os.environ.get("NPROG_MODEL")
    if env:
        return Path(env)
    for candidate in (ROOT / "data" / "models" / "wtq", ROOT / "runs" / "smoke2"):
        if (candidate / "model.safetensors").exists():
            return candidate
    return fallback


def new_app(model: Path | None, monkeypatch):
    """An AppTest of streamlit_app.py that loads ``model`` (None: a directory that does not exist)."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("NPROG_MODEL", str(model) if model else str(ROOT / "no-such-model"))
    return AppTest.from_file(str(APP_FILE), default_timeout=APP_TIMEOUT)


def sqlite_bytes(
    tmp_path: Path, frame_rows: list[tuple], columns: list[str], table: str = "results"
) -> bytes:
    """A small SQLite database file holding one table, as uploaded bytes."""
    path = tmp_path / "upload.sqlite"
    conn = sqlite3.connect(path)
    cols = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    conn.execute(f'CREATE TABLE "{table}" ({cols})')
    conn.executemany(f'INSERT INTO "{table}" VALUES ({marks})', frame_rows)
    conn.commit()
    conn.close()
    return path.read_bytes()
