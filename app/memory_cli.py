"""`nprog memory train|eval TASK`: train, evaluate and draw the augmented-RNN task models of `memory/`.

Checkpoints live in `data/models/<dir>/` (docs/architecture.md, "Checkpoints"):
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
from matplotlib.ticker import MaxNLocator
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from nprog import layout
from nprog.app.memory_args import DEFAULT_EVAL_SEED, add_memory_parser
from nprog.checkpoint import git_commit
from nprog.memory.tasks import (
    TASKS,
    UNK,
    DatesTask,
    NTMSequenceTask,
    ParityTask,
    RepeatCopyTask,
    ReverseTask,
    Seq2SeqTask,
    Task,
    _bits_wrong,
    encode_text,
    train,
)
from nprog.qa import resolve_device

MODELS_ROOT = layout.MODELS
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
        "command_without_nprog": "python -m nprog.app.memory_cli memory "
        + command.removeprefix("nprog memory "),
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
    except UsageError as error:
        print(f"nprog memory: {error}", file=sys.stderr)
        return 2


# --------------------------------------------------------------------------------------------------------
# Pictures.
# --------------------------------------------------------------------------------------------------------


def _time_heatmaps(panels, memory_axes, slots: list[int]) -> None:
    """Draw (axes, image, title, colormap) panels of values in [0, 1] over time steps; the memory panels show
    the band of slots the heads used, labelled with slot numbers rather than positions in the band."""
    for ax, image, label, cmap in panels:
        ax.imshow(image.numpy(), aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("time step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ticks = list(range(0, len(slots), max(1, len(slots) // 8)))
    for ax in memory_axes:
        ax.set_yticks(ticks, [str(slots[t]) for t in ticks])


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
    rows = _slot_band(torch.cat([writes, reads]))  # the slots the heads used, wrapping around the end
    fig = Figure(figsize=(10, 6.5), layout="constrained")
    axes = fig.subplots(2, 2)
    panels = [
        (axes[0, 0], batch["inputs"][:, 0].T, "input (channels × time)", "Greys"),
        (axes[0, 1], torch.sigmoid(out.logits[:, 0]).T, "output probabilities (channels × time)", "Greys"),
        (axes[1, 0], writes[:, rows].T, "write weighting (memory slot × time)", "viridis"),
        (axes[1, 1], reads[:, rows].T, "read weighting (memory slot × time)", "viridis"),
    ]
    _time_heatmaps(panels, axes[1], rows)
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


# --------------------------------------------------------------------------------------------------------
# Live examples (the UI's "Modules" page): one fresh example through a checkpoint, with its picture.
# --------------------------------------------------------------------------------------------------------

MAX_TYPED_CHARS = 40  # the longest text the rewriting demos take: reverse was trained on up to 40 letters


@dataclasses.dataclass
class LiveExample:
    """One example run through a task's model: what went in, what came out, what should have, a picture."""

    task: str
    input: str  # the input in words, or the text itself for dates and reverse
    output: str  # what the model produced, in words or as text
    target: str | None  # the right output; None when unknown (a date the user typed)
    correct: bool | None  # output == target; None when the target is unknown
    facts: dict[str, Any]  # task-specific measures shown beside the picture (bits wrong, ponder steps …)
    figure: Figure


def unknown_characters(text: str) -> list[str]:
    """The characters of `text` the rewriting models have no embedding for (each is read as <unk>)."""
    return sorted({ch for ch, i in zip(text, encode_text(text), strict=True) if i == UNK})


def live_example(task: str, model: torch.nn.Module, seed: int, text: str | None = None) -> LiveExample:
    """A fresh example of `task` drawn with `seed` (or, for dates and reverse, the given `text`), on CPU.

    `model` is the checkpoint's "model" network (load_checkpoint's models["model"]). The picture is built
    without pyplot, like demo_figure's. ValueError for text given to a task that does not read text.
    """
    task_obj = _task(task)
    generator = torch.Generator().manual_seed(seed)
    if isinstance(task_obj, Seq2SeqTask):
        return _live_rewrite(task_obj, model, generator, text)
    if text is not None:
        raise ValueError(f"the {task_obj.name} task does not read text")
    if isinstance(task_obj, NTMSequenceTask):
        return _live_ntm(task_obj, model, generator)
    if isinstance(task_obj, ParityTask):
        return _live_parity(task_obj, model, generator)
    raise ValueError(f"no live example for the {task_obj.name} task")


def _randint(low: int, high: int, generator: torch.Generator) -> int:
    return int(torch.randint(low, high + 1, (), generator=generator))


def _slot_band(weights: torch.Tensor, margin: int = 2) -> list[int]:
    """The memory slots any head touched (weight > 0.05), as one band that may wrap around the end.

    Shifts are circular, so a head at slot 0 leaks onto slot N − 1: the band is everything outside the
    largest circular gap between touched slots, with a margin. weights (T, N) -> slot indices in order.
    """
    n = weights.shape[1]
    touched = (weights > 0.05).any(dim=0).nonzero().flatten().tolist()
    if not touched:
        return list(range(n))
    gaps = [((touched[(i + 1) % len(touched)] - t) % n or n, t) for i, t in enumerate(touched)]
    gap, before = max(gaps)  # the widest run of untouched slots follows slot `before`
    length = min(n, n - gap + 1 + 2 * margin)
    start = (before + gap - margin) % n
    return [(start + k) % n for k in range(length)]


def _vectors(length: int, bits: int) -> str:
    return f"{length} random {bits}-bit vector{'' if length == 1 else 's'}"


def _live_ntm(task: NTMSequenceTask, model: torch.nn.Module, generator: torch.Generator) -> LiveExample:
    length = _randint(task.min_length, task.max_length, generator)
    facts: dict[str, Any] = {"length": length}
    if isinstance(task, RepeatCopyTask):
        repeats = _randint(task.min_repeats, task.max_repeats, generator)
        batch = task.make_batch(length, repeats, 1, generator, torch.device("cpu"))
        facts["copies"] = repeats
        times = "once" if repeats == 1 else f"{repeats} times"
        what = f"{_vectors(length, task.bits)}, to be written back {times}"
        wanted = f"{'the vector' if length == 1 else f'the {length} vectors'} {times}, then the end marker"
    else:
        batch = task.make_batch(length, 1, generator, torch.device("cpu"))
        what = f"{_vectors(length, task.bits)}, then the delimiter"
        wanted = "the same vector" if length == 1 else f"the same {length} vectors"
    with torch.no_grad():
        logits, out = task.outputs(model, batch)  # logits (T_answer, 1, C)
    targets = batch["targets"]
    wrong = int(_bits_wrong(logits, targets).item())
    facts.update({"bits wrong": wrong, "answer bits": targets.numel()})

    inputs = batch["inputs"][:, 0]  # (T, C_in)
    probs = torch.sigmoid(out.logits[:, 0])  # (T, C_out) over every step; the answer is the last T_answer
    errors = ((logits[:, 0] > 0).float() != targets[:, 0]).nonzero()  # (k, 2) (answer step, channel)
    errors[:, 0] += inputs.shape[0] - targets.shape[0]  # to steps of the whole sequence
    writes, reads = out.write_weights[:, 0, 0], out.read_weights[:, 0, 0]  # (T, N) first heads
    slots = _slot_band(torch.cat([writes, reads]))
    target_image = torch.zeros_like(probs)  # the target on the time axis of the whole sequence
    target_image[-targets.shape[0] :] = targets[:, 0]
    fig = Figure(figsize=(12, 6), layout="constrained")
    axes = fig.subplot_mosaic(
        [["in", "in", "target", "target", "out", "out"], ["w", "w", "w", "r", "r", "r"]]
    )
    panels = [
        (axes["in"], inputs.T, "input (channel × time)", "Greys"),
        (axes["target"], target_image.T, "target", "Greys"),
        (axes["out"], probs.T, "output probabilities (red × = wrong bit)", "Greys"),
        (axes["w"], writes[:, slots].T, "write weighting (memory slot × time)", "viridis"),
        (axes["r"], reads[:, slots].T, "read weighting (memory slot × time)", "viridis"),
    ]
    _time_heatmaps(panels, (axes["w"], axes["r"]), slots)
    if len(errors):
        axes["out"].scatter(errors[:, 0].numpy(), errors[:, 1].numpy(), marker="x", color="red", s=30)
    fig.suptitle(f"NTM {task.name}: {what}")
    return LiveExample(
        task=task.name,
        input=what,
        output=f"{wrong} of {targets.numel()} bits wrong",
        target=wanted,
        correct=wrong == 0,
        facts=facts,
        figure=fig,
    )


def _live_parity(task: ParityTask, model: torch.nn.Module, generator: torch.Generator) -> LiveExample:
    size = model.config.input_size
    batch = task.sample(1, generator, torch.device("cpu"), size=size)
    # The context panel: mean ponder steps by number of non-zero entries over a fixed sample.
    sample = task.sample(
        2000, torch.Generator().manual_seed(DEFAULT_EVAL_SEED), torch.device("cpu"), size=size
    )
    with torch.no_grad():
        logits, act = model(batch["inputs"])
        _, sample_act = model(sample["inputs"])
    x = batch["inputs"][0]  # (D,)
    nonzero, plus = int((x != 0).sum()), int((x == 1).sum())
    probability = float(torch.sigmoid(logits[0]))
    predicted, true = int(probability > 0.5), int(batch["targets"][0])
    steps, remainder = int(act.steps[0]), float(act.remainder[0])
    halting = act.halting[0, :steps]  # (N,) p^n

    fig = Figure(figsize=(12, 3.6), layout="constrained")
    ax_input, ax_halt, ax_curve = fig.subplots(1, 3, width_ratios=[1.6, 1, 1.2])
    ax_input.imshow(x.view(1, -1).numpy(), cmap="coolwarm", vmin=-1, vmax=1, aspect="auto")
    for i, v in enumerate(x.tolist()):
        ax_input.text(i, 0, {1.0: "+1", -1.0: "−1"}.get(v, "0"), ha="center", va="center", fontsize=8)
    ax_input.set_yticks([])
    ax_input.set_xlabel("entry")
    ax_input.set_title(f"input: {nonzero} non-zero entries, {plus} of them +1", fontsize=10)
    ax_halt.bar(range(1, steps + 1), halting.numpy(), color="tab:orange")
    ax_halt.set_xticks(range(1, steps + 1))
    ax_halt.set_ylim(0, 1)
    ax_halt.set_xlabel("ponder step n")
    ax_halt.set_ylabel("halting weight p^n")
    ax_halt.set_title(f"{steps} ponder steps (N + R = {steps + remainder:.2f})", fontsize=10)
    nonzero_all = (sample["inputs"] != 0).sum(dim=1)
    counts = [k for k in range(1, size + 1) if bool((nonzero_all == k).any())]
    means = [sample_act.steps[nonzero_all == k].mean().item() for k in counts]
    ax_curve.plot(counts, means, marker="o", color="tab:blue", label="mean of 2000 random inputs")
    ax_curve.scatter([nonzero], [steps], color="red", zorder=3, s=60, label="this input")
    ax_curve.set_xlabel("non-zero entries in the input")
    ax_curve.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_curve.set_ylabel("ponder steps")
    ax_curve.set_title("steps by number of non-zero entries", fontsize=10)
    ax_curve.legend(fontsize=8, loc="lower right")
    names = ("even", "odd")
    fig.suptitle(f"ACT on parity: answered {names[predicted]} after {steps} steps (true: {names[true]})")
    return LiveExample(
        task=task.name,
        input=" ".join({1.0: "+1", -1.0: "−1"}.get(v, "0") for v in x.tolist()),
        output=f"{names[predicted]} (p(odd) = {probability:.2f})",
        target=names[true],
        correct=predicted == true,
        facts={
            "non-zero entries": nonzero,
            "+1 entries": plus,
            "ponder steps": steps,
            "ponder cost N + R": round(steps + remainder, 3),
            "p(odd)": round(probability, 4),
        },
        figure=fig,
    )


def _is_iso_date(text: str) -> bool:
    """YYYY-MM-DD naming a day that exists (not 2020-02-31)."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _live_rewrite(
    task: Seq2SeqTask, model: torch.nn.Module, generator: torch.Generator, text: str | None
) -> LiveExample:
    if text is None:
        text, target = task.sample_texts(1, generator)[0]
    else:
        if not text:
            raise ValueError("no text to rewrite")
        target = text[::-1] if isinstance(task, ReverseTask) else None  # a typed date's answer is unknown
    predictions, weights = task.predict(model, [text], torch.device("cpu"))  # weights (1, T, L)
    prediction = predictions[0]
    outputs = [*prediction, "<eos>"][: weights.shape[1]]
    width = min(max(0.26 * len(text) + 2.0, 4.5), 12.0)
    height = min(max(0.26 * len(outputs) + 1.4, 3.0), 11.0)
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    ax.imshow(weights[0, : len(outputs), : len(text)].numpy(), cmap="Greys", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(text)), list(text), fontsize=9)
    ax.set_yticks(range(len(outputs)), outputs, fontsize=9)
    ax.set_xlabel("input characters")
    ax.set_ylabel("output characters")
    ax.set_title(f"{text!r} → {prediction!r}", fontsize=10)
    facts: dict[str, Any] = {"input characters": len(text), "output characters": len(prediction)}
    if isinstance(task, DatesTask):
        facts["a valid date"] = _is_iso_date(prediction)
    unknown = unknown_characters(text)
    if unknown:
        facts["characters it has never seen"] = "".join(unknown)
    return LiveExample(
        task=task.name,
        input=text,
        output=prediction,
        target=target,
        correct=None if target is None else prediction == target,
        facts=facts,
        figure=fig,
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m nprog.app.memory_cli memory train|eval TASK …`, until app/cli.py registers the command."""
    parser = argparse.ArgumentParser(prog="nprog")
    add_memory_parser(parser.add_subparsers(dest="command", required=True))
    return run_memory(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
