"""`nprog memory train|eval TASK`: train, evaluate and draw the augmented-RNN task models of `memory/`.

Checkpoints live in `data/models/<dir>/` (architecture.md, "Checkpoints"):
- `model.safetensors` — weights only, read with safetensors' `load_file` (nothing is ever unpickled);
- `baseline.safetensors` — for parity, dates and reverse, the same network without ACT / without attention,
  trained with the same number of batches, seed and data, so that `eval` can measure both;
- `config.json` — task, model config, baseline config, training config;
- `card.json` — the measured figures, the command that reproduces the checkpoint, steps, wall time, hardware,
  seed, date and the logged training curve.

The pictures follow Distill's "Attention and Augmented Recurrent Neural Networks" (Olah & Carter 2016): the
NTM's read and write weightings over time, the attention alignment matrix, ACT's ponder steps per input.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from memory.tasks import TASKS, Task, train
from nprog.checkpoint import git_commit
from nprog.qa import resolve_device

MODELS_ROOT = Path(__file__).resolve().parents[1] / "data" / "models"
DEFAULT_EVAL_SEED = 1234  # different from every training seed used, so evaluation sequences are fresh
HARDWARE = "2-core CPU"


class UsageError(Exception):
    """Bad input from the user: reported as one line on stderr with exit code 2."""


# --------------------------------------------------------------------------------------------------------
# Checkpoint I/O.
# --------------------------------------------------------------------------------------------------------


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
    """-> the task, {"model": …, "baseline": … (when shipped)} in eval mode on `device`, and the config."""
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise UsageError(f"{model_dir}: no checkpoint here (config.json missing)")
    try:
        config = json.loads(config_path.read_text())
        task = TASKS[config["task"]]
    except (json.JSONDecodeError, KeyError) as error:
        raise UsageError(f"{config_path}: not a memory-task config ({error})") from None
    models = {}
    for stem, key in (("model", "model_config"), ("baseline", "baseline_config")):
        path = model_dir / f"{stem}.safetensors"
        if config.get(key) is None or (stem == "baseline" and not path.is_file()):
            continue
        if not path.is_file():
            raise UsageError(f"{path}: missing")
        try:
            model = task.build_model(config[key]).to(device)
            model.load_state_dict(load_file(str(path), device=str(device)))
        except (OSError, RuntimeError, TypeError, SafetensorError) as error:  # unreadable or mismatched
            raise UsageError(f"{path}: cannot load ({str(error).splitlines()[0]})") from None
        models[stem] = model.eval()
    return task, models, config


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
        "command_without_nprog": "python -m app.memory_cli memory " + command.removeprefix("nprog memory "),
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
        "git_commit": git_commit(MODELS_ROOT.parents[1]),
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


def add_memory_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Registers `memory train|eval TASK` on the caller's subparsers (app/cli.py or `main` below)."""
    names = ", ".join(TASKS)
    parser = subparsers.add_parser(
        "memory", help="NTM, ACT and attention tasks", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="memory_command", required=True)

    train_parser = commands.add_parser("train", help="train a task's model and write its checkpoint")
    train_parser.add_argument("task", help=f"one of: {names}")
    train_parser.add_argument("--out", help="checkpoint directory (default: data/models/<task's dir>)")
    train_parser.add_argument("--steps", type=int, help="training batches (default: the task's budget)")
    train_parser.add_argument("--batch-size", type=int, help="examples per batch (default: the task's)")
    train_parser.add_argument("--lr", type=float, help="Adam learning rate (default: the task's)")
    train_parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the data")
    train_parser.add_argument("--minutes", type=float, help="stop each model's training after this long")

    eval_parser = commands.add_parser(
        "eval", help="measure a checkpoint on fresh examples; last line = figure"
    )
    eval_parser.add_argument("task", help=f"one of: {names}")
    eval_parser.add_argument("--model", help="checkpoint directory (default: data/models/<task's dir>)")
    eval_parser.add_argument(
        "--seed", type=int, default=DEFAULT_EVAL_SEED, help="seed of the evaluation sample"
    )
    eval_parser.add_argument(
        "--plot", metavar="FILE.png", help="also draw the Distill-style picture to FILE.png"
    )

    for sub in (train_parser, eval_parser):
        sub.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        sub.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    return parser


def run_memory(args: argparse.Namespace) -> int:
    """Runs a parsed `memory …` command -> exit code (0 ok, 2 bad input, with one line on stderr)."""
    try:
        torch.set_num_threads(args.threads)
        return _train(args) if args.memory_command == "train" else _eval(args)
    except UsageError as error:
        print(f"nprog memory: {error}", file=sys.stderr)
        return 2


# --------------------------------------------------------------------------------------------------------
# Pictures.
# --------------------------------------------------------------------------------------------------------


def _used_slots(weights: torch.Tensor, margin: int = 2) -> slice:
    """The band of memory slots any head touched (weight > 0.05), with a margin: 128 rows are mostly empty."""
    touched = (weights > 0.05).any(dim=0).nonzero().flatten()
    if len(touched) == 0:
        return slice(0, weights.shape[1])
    return slice(max(0, int(touched.min()) - margin), min(weights.shape[1], int(touched.max()) + margin + 1))


def _ntm_figure(task: Task, model: torch.nn.Module, generator: torch.Generator) -> Figure:
    if task.name == "copy":
        batch = task.make_batch(10, 1, generator, torch.device("cpu"))
        title = "copy, length 10"
    else:
        batch = task.make_batch(5, 3, 1, generator, torch.device("cpu"))
        title = "repeat-copy, length 5, 3 copies"
    with torch.no_grad():
        out = model(batch["inputs"])
    writes = out.write_weights[:, 0, 0]  # (T, N) first write head
    reads = out.read_weights[:, 0, 0]  # (T, N) first read head
    rows = _used_slots(torch.cat([writes, reads]))
    fig = Figure(figsize=(10, 6.5), layout="constrained")
    axes = fig.subplots(2, 2)
    panels = [
        (axes[0, 0], batch["inputs"][:, 0].T, "input (channels × time)", "Greys"),
        (axes[0, 1], torch.sigmoid(out.logits[:, 0]).T, "output probabilities (channels × time)", "Greys"),
        (axes[1, 0], writes[:, rows].T, "write weighting (memory slot × time)", "viridis"),
        (axes[1, 1], reads[:, rows].T, "read weighting (memory slot × time)", "viridis"),
    ]
    for ax, image, label, cmap in panels:
        ax.imshow(image.numpy(), aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("time step")
    rows_shown = rows.stop - rows.start
    ticks = list(range(0, rows_shown, max(1, rows_shown // 8)))
    for ax in axes[1]:  # label rows with their memory slot numbers, not their position in the band
        ax.set_yticks(ticks, [str(t + rows.start) for t in ticks])
    fig.suptitle(f"NTM {title}: where the heads write and read")
    return fig


def _attention_figure(task: Task, model: torch.nn.Module, generator: torch.Generator) -> Figure:
    pairs = task.sample_texts(3, generator)
    texts = [text for text, _ in pairs]
    predictions, weights = task.predict(model, texts, torch.device("cpu"))  # weights (B, T, L)
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    for i, (ax, text, prediction) in enumerate(zip(fig.subplots(1, 3), texts, predictions, strict=True)):
        outputs = [*prediction, "<eos>"][: weights.shape[1]]
        ax.imshow(
            weights[i, : len(outputs), : len(text)].numpy(), cmap="Greys", vmin=0, vmax=1, aspect="auto"
        )
        ax.set_xticks(range(len(text)), list(text), fontsize=8)
        ax.set_yticks(range(len(outputs)), outputs, fontsize=8)
        ax.set_xlabel("input characters")
        ax.set_title(f"{text!r} -> {prediction!r}", fontsize=9)
    fig.suptitle("attention: which input characters each output character looked at")
    return fig


def _parity_figure(task: Task, model: torch.nn.Module, generator: torch.Generator) -> Figure:
    size = model.config.input_size
    batch = task.sample(2000, generator, torch.device("cpu"), size=size)
    with torch.no_grad():
        logits, act = model(batch["inputs"])
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    ax_inputs, ax_steps, ax_curve = fig.subplots(1, 3, width_ratios=[1.2, 1, 1.4])
    shown = 16
    ax_inputs.imshow(batch["inputs"][:shown].numpy(), cmap="coolwarm", vmin=-1, vmax=1, aspect="auto")
    ax_inputs.set_title("inputs (red +1, blue −1)", fontsize=10)
    ax_inputs.set_xlabel("entry")
    ax_inputs.set_ylabel("example")
    ponder = (act.steps + act.remainder)[:shown]  # N + R: whole steps plus the last step's share
    ax_steps.barh(range(shown), ponder.numpy(), color="tab:orange")
    ax_steps.set_ylim(shown - 0.5, -0.5)  # rows line up with the input image
    ax_steps.set_yticks([])
    ax_steps.set_xlabel("ponder cost N + R")
    ax_steps.set_title("ponder time per input", fontsize=10)
    nonzero = (batch["inputs"] != 0).sum(dim=1)
    counts = range(1, size + 1)
    means = [act.steps[nonzero == k].mean().item() for k in counts]
    ax_curve.plot(list(counts), means, marker="o")
    ax_curve.set_xlabel("non-zero entries in the input")
    ax_curve.set_ylabel("mean ponder steps")
    ax_curve.set_title("steps by number of non-zero entries", fontsize=10)
    error = ((logits > 0).float() != batch["targets"]).float().mean().item()
    fig.suptitle(f"ACT on parity: ponder steps per input (error {100 * error:.1f}% on 2000 vectors)")
    return fig


def demo_figure(task: str, model_dir: str | Path | None = None, seed: int = DEFAULT_EVAL_SEED) -> Figure:
    """The task's Distill-style picture for the checkpoint in model_dir (default: the shipped one), on CPU.

    Returns a matplotlib `Figure` built without pyplot (no global state, safe in a Streamlit worker).
    """
    task_obj = _task(task)
    model_dir = Path(model_dir) if model_dir else MODELS_ROOT / task_obj.checkpoint_dir
    _, models, _ = load_checkpoint(model_dir, torch.device("cpu"))
    generator = torch.Generator().manual_seed(seed)
    draw = {
        "copy": _ntm_figure,
        "repeat-copy": _ntm_figure,
        "parity": _parity_figure,
        "dates": _attention_figure,
        "reverse": _attention_figure,
    }
    return draw[task_obj.name](task_obj, models["model"], generator)


def main(argv: list[str] | None = None) -> int:
    """`python -m app.memory_cli memory train|eval TASK …`, until app/cli.py registers the command."""
    parser = argparse.ArgumentParser(prog="nprog")
    add_memory_parser(parser.add_subparsers(dest="command", required=True))
    return run_memory(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
