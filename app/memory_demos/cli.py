"""`nprog memory train|eval TASK`: train and evaluate the augmented-RNN task models of `memory/`, and draw
their pictures.

The tasks themselves (data, model, figures, picture, live example) are `nprog.memory.tasks.TASKS`; their
checkpoints (`data/models/<dir>/`: weights as safetensors, config.json, card.json) are read and written by
`nprog.memory.checkpoints`. This module only turns arguments into those calls and the card's record of how
a checkpoint was made.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import platform
import sys
import time
from pathlib import Path

import torch
from matplotlib.figure import Figure

from nprog import layout
from nprog.app.memory_demos.args import DEFAULT_EVAL_SEED
from nprog.checkpoint import git_commit
from nprog.memory.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from nprog.memory.tasks import TASKS, Task, train
from nprog.qa import resolve_device

MODELS_ROOT = layout.MODELS
HARDWARE = "2-core CPU"


class UsageError(Exception):
    """Bad input from the user: reported as one line on stderr with exit code 2 (as is a CheckpointError)."""


# --------------------------------------------------------------------------------------------------------
# train / eval.
# --------------------------------------------------------------------------------------------------------


def _resolve_device(name: str) -> torch.device:
    try:
        return resolve_device(name)  # the one device rule of nprog
    except ValueError as e:
        raise UsageError(str(e)) from None


def _task(name: str) -> Task:
    if name not in TASKS:
        raise UsageError(f"unknown task {name!r}; choose from {', '.join(TASKS)}")
    return TASKS[name]


def _best_step(curve: list[dict[str, float]]) -> int | None:
    validations = [row for row in curve if "validation" in row]
    return int(min(validations, key=lambda row: row["validation"])["step"]) if validations else None


def _train(args: argparse.Namespace) -> int:
    task = _task(args.task)
    device = _resolve_device(args.device)
    out = Path(args.out) if args.out else MODELS_ROOT / task.checkpoint_dir
    defaults = task.train_config
    for flag in ("steps", "batch_size", "lr", "minutes"):
        if getattr(args, flag) is not None and getattr(args, flag) <= 0:
            raise UsageError(f"--{flag.replace('_', '-')} must be positive")
    train_config = dataclasses.replace(
        defaults,
        steps=args.steps or defaults.steps,
        batch_size=args.batch_size or defaults.batch_size,
        lr=args.lr or defaults.lr,
        log_every=defaults.log_every if args.steps is None or args.steps >= 10 * defaults.log_every else 10,
        minutes=args.minutes,
    )
    variants = {"model": task.default_model_config()}
    if task.baseline_name is not None:
        variants["baseline"] = task.baseline_model_config(variants["model"])

    models, results, curves, seconds, cpu_seconds = {}, {}, {}, {}, {}
    for stem, model_config in variants.items():
        print(f"== {task.name}: training {stem} {model_config}", flush=True)
        # Same seed for both variants: same initial weights where they share parameters, same batches.
        torch.manual_seed(args.seed)
        generator = torch.Generator().manual_seed(args.seed)
        model = task.build_model(model_config).to(device)
        start, cpu_start = time.perf_counter(), time.process_time()
        if stem == "baseline":
            # The same budget in batches as the model actually used (not minutes, not the --steps it was
            # allowed), so the baseline is never trained longer than the model it is compared with.
            train_config = dataclasses.replace(
                train_config, steps=max(r["step"] for r in curves["model"]), minutes=None
            )
        curves[stem] = train(task, model, train_config, generator, device)
        seconds[stem] = round(time.perf_counter() - start, 1)
        cpu_seconds[stem] = round(time.process_time() - cpu_start, 1)
        results[stem] = task.evaluate(model, torch.Generator().manual_seed(DEFAULT_EVAL_SEED), device)
        models[stem] = model
    lines = task.summary(results["model"], results.get("baseline"))

    # Steps actually run: fewer than --steps when validation stopped early (deterministic, so the same
    # command stops at the same step) or --minutes ran out (not deterministic: the command records the step).
    steps_run = {stem: max(row["step"] for row in curve) for stem, curve in curves.items()}
    best_step = {stem: _best_step(curve) for stem, curve in curves.items()}
    steps = steps_run["model"] if args.minutes else args.steps or defaults.steps
    command = f"nprog memory train {task.name} --seed {args.seed} --steps {steps}"
    if args.batch_size or args.lr:
        command += f" --batch-size {train_config.batch_size} --lr {train_config.lr}"
    config = {
        "task": task.name,
        "model_config": variants["model"],
        "baseline_config": variants.get("baseline"),
        "baseline_name": task.baseline_name,
        "train_config": {**dataclasses.asdict(train_config), "steps": steps, "minutes": args.minutes},
        "task_config": {k: v for k, v in vars(task).items() if k != "train_config"},
    }
    card = {
        "name": out.name,
        "task": task.name,
        "description": " ".join((task.__doc__ or "").split("\n\n")[0].split()),
        "figures": {"model": results["model"], "baseline": results.get("baseline"), "summary": lines},
        "eval_command": f"nprog memory eval {task.name} --seed {DEFAULT_EVAL_SEED}",
        "command": command,
        "command_without_nprog": "python -m nprog.app.cli " + command.removeprefix("nprog "),
        "steps": steps_run,
        "best_step": best_step,  # weights kept: best validation score (null: the last step, no validation)
        "batch_size": train_config.batch_size,
        "wall_time_s": seconds,
        "cpu_time_s": cpu_seconds,  # below wall time when other jobs share the machine
        "hardware": HARDWARE if device.type == "cpu" else torch.cuda.get_device_name(device),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "seed": args.seed,
        "eval_seed": DEFAULT_EVAL_SEED,
        "git_commit": git_commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "curve": {stem: curve[:: max(1, len(curve) // 50)] for stem, curve in curves.items()},
    }
    try:
        save_checkpoint(out, models, config, card)
    except OSError as error:
        raise UsageError(f"{out}: cannot write the checkpoint ({error.strerror})") from None
    print(f"saved {out}")
    for line in lines:
        print(line)
    return 0


def _eval(args: argparse.Namespace) -> int:
    task = _task(args.task)
    device = _resolve_device(args.device)
    model_dir = Path(args.model) if args.model else MODELS_ROOT / task.checkpoint_dir
    loaded_task, models, _ = load_checkpoint(model_dir, device)
    if loaded_task is not task:
        raise UsageError(f"{model_dir}: holds a {loaded_task.name!r} model, not {task.name!r}")
    if args.plot:
        demo_figure(task.name, model_dir, args.seed).savefig(args.plot, dpi=120, bbox_inches="tight")
        print(f"wrote {args.plot}")
    results = {
        stem: task.evaluate(model, torch.Generator().manual_seed(args.seed), device)
        for stem, model in models.items()
    }
    for line in task.summary(results["model"], results.get("baseline")):
        print(line)
    return 0


def run_memory(args: argparse.Namespace) -> int:
    """Runs a parsed `memory …` command -> exit code (0 ok, 2 bad input, with one line on stderr)."""
    try:
        torch.set_num_threads(args.threads)
        return _train(args) if args.memory_command == "train" else _eval(args)
    except (UsageError, CheckpointError) as error:
        print(f"nprog memory: {error}", file=sys.stderr)
        return 2


def demo_figure(task: str, model_dir: str | Path | None = None, seed: int = DEFAULT_EVAL_SEED) -> Figure:
    """The task's Distill-style picture for the checkpoint in model_dir (default: the shipped one), on CPU.

    Returns a matplotlib `Figure` built without pyplot (no global state, safe in a Streamlit worker).
    """
    task_obj = _task(task)
    model_dir = Path(model_dir) if model_dir else MODELS_ROOT / task_obj.checkpoint_dir
    _, models, _ = load_checkpoint(model_dir, torch.device("cpu"))
    return task_obj.figure(models["model"], torch.Generator().manual_seed(seed))
