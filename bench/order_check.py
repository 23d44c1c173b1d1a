"""Does a model's answer depend on the row order? WTQ dev figures for issue #14 (until the official harness).

    python bench/order_check.py --model data/models/wtq [--order-cues] [--limit N] [--shuffles 3]

Prints, on random-split-1-dev: accuracy; the share of predictions whose (simplified) program uses
previous/next, and their accuracy; and row-shuffle invariance: over dev questions that name no row order
(no first/last/before/after/next/previous/above/below/top/bottom/higher/lower/…), the share whose answer
is unchanged (as a set of values) under ``--shuffles`` seeded row shuffles of the table.
``--order-cues`` masks the order operations at inference where the question names no order (for a model
trained without the mask). Dev only: never the test split.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from nprog.answers import lists_match
from nprog.cues import names_row_order
from nprog.qa import TableQA
from nprog.tables import Table, read_wtq_file
from nprog.wtq import _checked_path, load_table, read_examples, split_path

# the list of words that name a row order (the metamorphic test's exclusion), plus the cue words
NAMED_ORDER = {"higher", "lower", "top", "bottom", "previous", "next", "above", "below", "before", "after", "first",
               "last", "preceding", "following", "listed", "earlier", "later"}  # fmt: skip


def names_order(tokens) -> bool:
    return names_row_order(tokens) or any(t in NAMED_ORDER for t in tokens)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default="/work/shared/data/wtq")
    p.add_argument("--model", default="data/models/wtq")
    p.add_argument("--order-cues", action="store_true")
    p.add_argument("--limit", type=int)
    p.add_argument("--shuffles", type=int, default=3)
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()
    root = Path(args.data_dir)
    qa = TableQA.load(args.model, device="cpu")
    if args.order_cues:
        qa.model.config.order_cues = True
    examples = read_examples(split_path(root, "dev"))[: args.limit]
    correct = order_ops = order_right = 0
    invariant = unordered = 0
    for i in range(0, len(examples), 128):
        chunk = examples[i : i + 128]
        items = [qa.encode(load_table(root, ex.context), ex.question) for ex in chunk]
        for ex, e, ans in zip(chunk, items, qa.answer_batch(items), strict=True):
            right = lists_match(ex.answers, ans.answer)
            correct += right
            ops = {s.op for s in ans.program.simplified().steps}
            if ops & {"previous", "next"}:
                order_ops += 1
                order_right += right
            if names_order(e.question.tokens):
                continue
            unordered += 1
            frame = read_wtq_file(_checked_path(root, ex.context))
            same = True
            for seed in range(args.shuffles):
                perm = np.random.default_rng(seed).permutation(len(frame))
                shuffled = Table.from_dataframe(frame.iloc[perm].reset_index(drop=True))
                other = qa.answer_batch([qa.encode(shuffled, ex.question)])[0]
                if sorted(other.answer) != sorted(ans.answer):
                    same = False
                    break
            invariant += same
    n = len(examples)
    figures = {
        "model": args.model,
        "order_cues_at_inference": qa.model.config.order_cues,
        "dev_examples": n,
        "dev_accuracy": round(correct / n, 4),
        "previous_next_share": round(order_ops / n, 4),
        "previous_next_accuracy": round(order_right / max(order_ops, 1), 4),
        "questions_naming_no_order": unordered,
        "shuffle_invariant": round(invariant / max(unordered, 1), 4),
        "shuffles": args.shuffles,
    }
    print(json.dumps(figures, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
