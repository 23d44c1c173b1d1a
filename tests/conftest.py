"""Shared fixtures: the WTQ directory (tests that need it skip without it) and a tiny checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
SHIPPED = ROOT / "data" / "models" / "wtq"

torch.set_num_threads(min(2, torch.get_num_threads()))


def _wtq_dir() -> Path | None:
    for candidate in (os.environ.get("NPROG_WTQ_DIR"), ROOT.parent / "shared" / "data" / "wtq"):
        if candidate and (Path(candidate) / "data" / "random-split-1-train.tsv").exists():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def wtq_dir() -> Path:
    path = _wtq_dir()
    if path is None:
        pytest.skip("WikiTableQuestions not found: set NPROG_WTQ_DIR to a WTQ 1.0.2 copy (data/ and csv/)")
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """An untrained, tiny checkpoint: for plumbing tests (CLI, API, loading), not for answers."""
    from nprog import checkpoint
    from nprog.model import ModelConfig, NeuralProgrammer
    from nprog.questions import Vocabulary

    torch.manual_seed(0)
    vocab = Vocabulary(["how", "many", "which", "what", "the", "most", "nation", "gold", "total"])
    model = NeuralProgrammer(ModelConfig(vocab_size=len(vocab), d=16))
    out = tmp_path_factory.mktemp("models") / "tiny"
    checkpoint.save(out, model, vocab, {"name": "tiny", "what": "untrained test model"})
    return out


@pytest.fixture(scope="session")
def shipped_model() -> Path:
    if not (SHIPPED / "model.safetensors").exists():
        pytest.skip("the shipped model data/models/wtq is not present")
    return SHIPPED
