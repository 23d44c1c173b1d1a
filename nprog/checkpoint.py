"""Checkpoints: weights in safetensors, everything else in validated JSON. Nothing is ever unpickled.

A checkpoint directory holds ``model.safetensors`` (weights only), ``config.json`` (model config, op set,
vocabulary, preprocessing version) and ``card.json`` (what it is and how good). Saving writes a sibling
temporary directory and renames it into place, so an interrupted save never leaves a half-written model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from nprog.model import ModelConfig, NeuralProgrammer
from nprog.ops import OPS
from nprog.questions import SPECIALS, Vocabulary

PREPROCESSING_VERSION = 1
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "data" / "models" / "wtq"
MAX_VOCAB = 2_000_000


class CheckpointError(ValueError):
    """A model directory is missing, tampered with, truncated or does not fit this version of nprog."""


def save(directory: str | os.PathLike, model: NeuralProgrammer, vocab: Vocabulary, card: dict) -> None:
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a model directory is meant to be shared
    try:
        tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(tensors, str(tmp / "model.safetensors"))
        config = {
            "model": model.config.to_dict(),
            "vocabulary": vocab.words,
            "preprocessing_version": PREPROCESSING_VERSION,
            "format": "nprog-neural-programmer",
        }
        (tmp / "config.json").write_text(json.dumps(config, ensure_ascii=False))
        (tmp / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False))
        old = directory.with_name(f".{directory.name}.old")
        if directory.exists():
            if old.exists():
                shutil.rmtree(old)
            directory.rename(old)
        tmp.rename(directory)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return data


def load_config(directory: Path) -> tuple[ModelConfig, Vocabulary]:
    cfg = _read_json(directory / "config.json")
    if cfg.get("format") != "nprog-neural-programmer":
        raise CheckpointError(f"{directory}: config.json is not an nprog Neural Programmer config")
    if cfg.get("preprocessing_version") != PREPROCESSING_VERSION:
        raise CheckpointError(
            f"{directory}: preprocessing version {cfg.get('preprocessing_version')} != {PREPROCESSING_VERSION}"
        )
    words = cfg.get("vocabulary")
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words) or not 4 <= len(words) <= MAX_VOCAB:
        raise CheckpointError(f"{directory}: config.json has no valid vocabulary")
    if words[: len(SPECIALS)] != SPECIALS:
        raise CheckpointError(f"{directory}: vocabulary does not start with the special tokens {SPECIALS}")
    raw = cfg.get("model")
    if not isinstance(raw, dict):
        raise CheckpointError(f"{directory}: config.json has no model section")
    known = set(ModelConfig.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise CheckpointError(f"{directory}: unknown model settings {sorted(unknown)}")
    try:
        config = ModelConfig(**raw)
    except TypeError as e:
        raise CheckpointError(f"{directory}: bad model settings ({e})") from None
    if config.ops != [op.name for op in OPS]:
        raise CheckpointError(f"{directory}: trained with operations {config.ops}, this nprog has {[o.name for o in OPS]}")
    if config.vocab_size != len(words):
        raise CheckpointError(f"{directory}: vocab_size {config.vocab_size} != {len(words)} words")
    if not (8 <= config.d <= 4096 and 1 <= config.steps <= 16):
        raise CheckpointError(f"{directory}: implausible sizes d={config.d} steps={config.steps}")
    return config, Vocabulary(words[len(SPECIALS) :])


def load(directory: str | os.PathLike | None = None, device: str | torch.device = "cpu"):
    """(model in eval mode, vocabulary, card) from a checkpoint directory; CheckpointError on any problem."""
    directory = Path(directory) if directory else DEFAULT_MODEL
    if not directory.is_dir():
        if directory == DEFAULT_MODEL:
            raise CheckpointError(f"no model yet: {directory} does not exist (train one with `nprog train`)")
        raise CheckpointError(f"{directory}: no such model directory")
    config, vocab = load_config(directory)
    card = _read_json(directory / "card.json") if (directory / "card.json").exists() else {}
    try:
        state = load_file(str(directory / "model.safetensors"), device="cpu")
    except FileNotFoundError:
        raise CheckpointError(f"{directory}: model.safetensors is missing") from None
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{directory}: model.safetensors is unreadable or truncated ({e})") from None
    model = NeuralProgrammer(config)
    expected = model.state_dict()
    if set(state) != set(expected):
        missing, extra = set(expected) - set(state), set(state) - set(expected)
        raise CheckpointError(f"{directory}: weights do not fit the config (missing {sorted(missing)[:3]}, extra {sorted(extra)[:3]})")
    for k, v in state.items():
        if v.shape != expected[k].shape or v.dtype != expected[k].dtype:
            raise CheckpointError(f"{directory}: weight {k} has shape {tuple(v.shape)}, expected {tuple(expected[k].shape)}")
        if not torch.isfinite(v).all():
            raise CheckpointError(f"{directory}: weight {k} holds NaN or infinite values")
    model.load_state_dict(state)
    model.eval()
    return model.to(device), vocab, card


def record_in_card(directory: Path, figures: dict) -> None:
    """Merge measured figures into a model's card.json (write to a temporary file, then rename)."""
    path = Path(directory) / "card.json"
    card = _read_json(path) if path.exists() else {}
    card.update(figures)
    tmp = path.with_name(".card.json.tmp")
    tmp.write_text(json.dumps(card, indent=2, ensure_ascii=False))
    os.replace(tmp, path)


def git_commit(root: Path | None = None) -> str | None:
    """The checked-out commit, read from .git without running git; None outside a checkout."""
    root = root or Path(__file__).resolve().parent.parent
    try:
        head = (root / ".git" / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            return (root / ".git" / head[5:]).read_text().strip()
        return head
    except OSError:
        return None
