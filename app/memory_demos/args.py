"""The `nprog memory` arguments, apart from the command itself so that `nprog --help` and every other
command parse their arguments without importing torch or matplotlib (app/memory_demos/cli.py runs them)."""

from __future__ import annotations

import argparse

# memory.tasks.TASKS' names, spelled out here to keep torch out of the parser (tests/test_cli.py checks them)
TASK_NAMES = ("copy", "repeat-copy", "parity", "dates", "reverse")
DESCRIPTION = (
    "`nprog memory train|eval TASK`: train, evaluate and draw the augmented-RNN task models of `memory/`."
)
DEFAULT_EVAL_SEED = 1234  # different from every training seed used, so evaluation sequences are fresh


def add_memory_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Registers `memory train|eval TASK` on the caller's subparsers (app/cli.py)."""
    names = ", ".join(TASK_NAMES)
    parser = subparsers.add_parser("memory", help="NTM, ACT and attention tasks", description=DESCRIPTION)
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
