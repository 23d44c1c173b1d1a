"""How much a model leans on the row order: WTQ dev figures for issue #14 (dev only, never the test split).

    python bench/order_check.py --model data/models/wtq [--order-cues] [--json runs/x.json]

Prints, on random-split-1-dev: accuracy; the share of predictions whose (simplified) program uses
previous/next, and their accuracy; and row-shuffle invariance from the official harness
(nprog.evaluate.shuffle_invariance: questions that name no row order, 3 seeded shuffles).
``--order-cues`` masks the order operations at inference where the question names no order (nprog.cues),
for a model trained without the mask.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nprog.answers import lists_match
from nprog.evaluate import shuffle_invariance
from nprog.qa import TableQA
from nprog.wtq import load_table, read_examples, split_path


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default="/work/shared/data/wtq")
    p.add_argument("--model", default="data/models/wtq")
    p.add_argument("--order-cues", action="store_true")
    p.add_argument("--limit", type=int)
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()
    root = Path(args.data_dir)
    qa = TableQA.load(args.model, device="cpu")
    if args.order_cues:
        qa.model.config.order_cues = True
    examples = read_examples(split_path(root, "dev"))[: args.limit]
    correct = order_ops = order_right = 0
    for i in range(0, len(examples), 128):
        chunk = examples[i : i + 128]
        items = [qa.encode(load_table(root, ex.context), ex.question) for ex in chunk]
        for ex, ans in zip(chunk, qa.answer_batch(items), strict=True):
            right = lists_match(ex.answers, ans.answer)
            correct += right
            if {s.op for s in ans.program.simplified().steps} & {"previous", "next"}:
                order_ops += 1
                order_right += right
    shuffled = shuffle_invariance(qa, root, examples)
    n = len(examples)
    figures = {
        "model": args.model,
        "order_cues_at_inference": qa.model.config.order_cues,
        "dev_examples": n,
        "dev_accuracy": round(correct / n, 4),
        "previous_next_share": round(order_ops / n, 4),
        "previous_next_accuracy": round(order_right / max(order_ops, 1), 4),
        "shuffle_invariant": round(shuffled.fraction, 4),
        "shuffle_unchanged": f"{shuffled.unchanged}/{shuffled.order_free}",
    }
    print(json.dumps(figures, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
