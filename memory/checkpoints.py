"""Checkpoints of the memory task models: safetensors weights plus JSON, never a pickle.

A checkpoint directory (docs/architecture.md, "Checkpoints") holds:
- `model.safetensors` — weights only, read with safetensors' `load_file` (nothing is ever unpickled);
- `baseline.safetensors` — for parity, dates and reverse, the same network without ACT / without attention,
  trained with the same number of batches, seed and data, so that evaluation can measure both;
- `config.json` — task, model config, baseline config, training config;
- `card.json` — the measured figures and how they were made (written by `nprog memory train`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from nprog.memory.tasks import TASKS, Task


class CheckpointError(ValueError):
    """A checkpoint directory that is missing, of no known task, or unreadable; the message is one line."""


def save_checkpoint(
    out: Path, models: dict[str, torch.nn.Module], config: dict[str, Any], card: dict[str, Any]
) -> None:
    """models maps a file stem ("model", "baseline") to a module; writes <stem>.safetensors, config, card."""
    out.mkdir(parents=True, exist_ok=True)
    for stem, model in models.items():
        tensors = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
        save_file(tensors, str(out / f"{stem}.safetensors"), metadata={"task": config["task"]})
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "card.json").write_text(json.dumps(card, indent=2) + "\n")


def load_checkpoint(model_dir: Path, device: torch.device) -> tuple[Task, dict[str, torch.nn.Module], dict]:
    """-> the task, {"model": …, "baseline": … (when shipped)} in eval mode on `device`, and the config.

    CheckpointError when the directory holds no readable checkpoint of a known task.
    """
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise CheckpointError(f"{model_dir}: no checkpoint here (config.json missing)")
    try:
        config = json.loads(config_path.read_text())
        task = TASKS[config["task"]]  # TypeError: not a JSON object, or a task name that is not a string
    except (ValueError, KeyError, TypeError) as error:  # ValueError: not JSON, or not UTF-8
        raise CheckpointError(f"{config_path}: not a memory-task config ({error})") from None
    models = {}
    for stem, key in (("model", "model_config"), ("baseline", "baseline_config")):
        path = model_dir / f"{stem}.safetensors"
        if config.get(key) is None or (stem == "baseline" and not path.is_file()):
            continue
        if not path.is_file():
            raise CheckpointError(f"{path}: missing")
        try:
            model = task.build_model(config[key]).to(device)
            model.load_state_dict(load_file(str(path), device=str(device)))
        except (OSError, RuntimeError, TypeError, SafetensorError) as error:  # unreadable or mismatched
            raise CheckpointError(f"{path}: cannot load ({str(error).splitlines()[0]})") from None
        models[stem] = model.eval()
    return task, models, config
