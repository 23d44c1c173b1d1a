"""Ablations on WTQ dev: one change at a time, same data, seed and time budget (README's table).

    python bench/ablation.py --data-dir $NPROG_WTQ_DIR --minutes 11 --only base,mml-only,...
    python bench/ablation.py --data-dir $NPROG_WTQ_DIR --steps 2000 --only rnn-dropout-0.4,lstm-dropout-0.4,...

Data are prepared once; each configuration trains for the same wall-clock or step budget with dev
evaluation every 250 steps, and its best checkpoint goes to runs/abl-<name>. A step budget is the fair one
when other jobs share the machine (a wall-clock budget then buys each run a different number of steps).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from nprog.train import TrainConfig, load_data, train

CONFIGS = {
    "base": {},
    "mml-only": {"soft_weight": 0.0},
    "soft-only": {"mml_weight": 0.0},
    "dropout-0.4": {"dropout": 0.4},
    "d-128": {"d": 128},
    "lr-5e-4": {"lr": 5e-4},
    "lstm-controller": {"controller": "lstm"},
    # controllers at the shipped dropout (0.4); the rnn row at dropout 0.4 is "dropout-0.4"
    "rnn-dropout-0.4": {"controller": "rnn", "dropout": 0.4},
    "lstm-dropout-0.4": {"controller": "lstm", "dropout": 0.4},
    "ntm-controller": {"controller": "ntm", "dropout": 0.4},
    "act-controller": {"controller": "act", "dropout": 0.4},
}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", required=True)
    p.add_argument("--minutes", type=float, default=None, help="wall-clock budget per configuration")
    p.add_argument(
        "--steps", type=int, default=None, help="step budget per configuration (fair under contention)"
    )
    p.add_argument("--only", default=",".join(CONFIGS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="runs/ablation.json")
    args = p.parse_args()
    # dropout 0.2 (the paper's) is the base every row changes one thing from
    base = TrainConfig(
        data_dir=args.data_dir,
        out="runs/abl-base",
        minutes=args.minutes,
        steps=args.steps,
        batch_size=64,
        eval_every=250,
        threads=args.threads,
    ).replace(dropout=0.2, order_cues=False, credit="")
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    data = {}  # the ACT controller needs program graphs that may answer after any step: its own data
    results = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    for name in args.only.split(","):
        cfg = base.replace(out=f"runs/abl-{name}", **CONFIGS[name])
        kind = cfg.model.controller == "act"
        if kind not in data:
            data[kind] = load_data(cfg, log)
        t0 = time.time()
        summary = train(cfg, log, data=data[kind])
        results[name] = {
            "change": CONFIGS[name],
            "best_dev_accuracy": round(summary["best_dev_accuracy"], 4),
            "best_step": summary["best_step"],
            "steps": summary["steps"],
            "minutes": round((time.time() - t0) / 60, 1),
            "budget": f"{args.steps} steps" if args.steps else f"{args.minutes} minutes",
            "examples_per_second": round(summary["examples_per_second"], 1),
        }
        Path(args.out).write_text(json.dumps(results, indent=2))
        print(
            f"{name}: best dev {summary['best_dev_accuracy']:.3f} at step {summary['best_step']}", flush=True
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
