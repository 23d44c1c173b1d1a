"""The training loop every task shares: fresh batches, Adam, gradient clipping, logging, and the best weights
by a fixed validation sample.

All data come from a caller-given `torch.Generator` (a CPU one) and are then moved to the device, so the
same seed gives the same examples on every device.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from nprog.memory.tasks.base import Task


@dataclass
class TrainConfig:
    steps: int  # number of parameter updates (batches)
    batch_size: int  # examples per batch
    lr: float  # Adam learning rate
    clip: float = 10.0  # gradient norm clip; NTM gradients spike when the heads first lock on
    log_every: int = 100  # batches between log lines (averages over those batches)
    validate_every: int = (
        0  # batches between validations on a fixed sample; the best weights are kept (0: off)
    )
    validation_size: int = 200  # examples in the fixed validation sample
    validation_seed: int = 4321  # its seed, distinct from training and evaluation seeds
    stop_at: float | None = None  # stop early once the validation score is at or below this
    minutes: float | None = None  # stop early after this much training wall time


def train(
    task: Task,
    model: nn.Module,
    config: TrainConfig,
    generator: torch.Generator,
    device: torch.device,
    log: Callable[[str], None] = print,
) -> list[dict[str, float]]:
    """Trains `model` on fresh batches of `task`; returns the logged curve (one dict per log line).

    With validation on, the model ends with the weights of its best validation score (lower is better), and
    training stops early at `stop_at`. Validation draws from its own generator, so it never changes which
    batches training sees: a run stopped early follows exactly the first steps of a longer one.
    """
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    curve: list[dict[str, float]] = []
    sums: dict[str, float] = {}
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None  # (score, step, weights)
    curriculum = task.curriculum()  # None for tasks trained on their full distribution from the start
    source = task if curriculum is None else curriculum
    start = time.perf_counter()
    for step in range(1, config.steps + 1):
        batch = source.sample(config.batch_size, generator, device)
        loss, metrics = task.loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        optimizer.step()
        for key, value in {"loss": loss.item(), **metrics}.items():
            sums[key] = sums.get(key, 0.0) + value
        if step % config.log_every == 0 or step == config.steps:
            n = config.log_every if step % config.log_every == 0 else step % config.log_every
            row = {"step": step, "seconds": round(time.perf_counter() - start, 1)}
            row.update({key: round(value / n, 5) for key, value in sums.items()})
            if curriculum is not None:
                row.update(curriculum.describe())  # the level these batches were drawn from
                message = curriculum.update(row)
            curve.append(row)
            log(" ".join(f"{key}={value}" for key, value in row.items()))
            if curriculum is not None and message:
                log(f"step={step} {message}")
            sums = {}
        out_of_time = config.minutes is not None and time.perf_counter() - start > 60 * config.minutes
        if config.validate_every and (
            step % config.validate_every == 0 or step == config.steps or out_of_time
        ):
            validation = torch.Generator().manual_seed(config.validation_seed)
            score = task.validation_score(model, validation, device, config.validation_size)
            model.train()
            if best is None or score < best[0]:
                best = (score, step, {k: v.detach().clone() for k, v in model.state_dict().items()})
            curve.append({"step": step, "validation": round(score, 5)})
            log(f"step={step} validation={score:.5f} best={best[0]:.5f}@{best[1]}")
            if config.stop_at is not None and score <= config.stop_at:
                break
        if out_of_time:
            log(f"step={step} stopping: {config.minutes} minutes of training are up")
            break
    if best is not None:
        model.load_state_dict(best[2])
    model.eval()
    return curve
