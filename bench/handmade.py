"""Questions as users ask them, on tables written by hand for this check (``bench/handmade/``): totals,
averages, differences, superlatives of a named column, "who …?", comparisons with a number, yes/no
comparisons of two rows, and a few phrasings no template or WTQ question uses ("name the city with the
most people", "which spanish river is longest?"). None of it is used in training or in choosing a checkpoint.

    python bench/handmade.py --model data/models/wtq [-v]

Prints each wrong answer (all with ``-v``) with its program, then the number right. A number is right
within 0.01; a list must match in order, as printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nprog.qa import TableQA
from nprog.tables import Table

HERE = Path(__file__).resolve().parent / "handmade"


def right(shown: str, gold: str) -> bool:
    try:
        return abs(float(shown.replace(",", "")) - float(gold)) < 0.01
    except ValueError:
        return shown.strip().lower() == gold.strip().lower()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="data/models/wtq")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    qa = TableQA.load(args.model, device="cpu")
    cases = [line.split("\t") for line in (HERE / "questions.tsv").read_text().splitlines() if line.strip()]
    tables = {name: Table.from_csv(HERE / name) for name in {c[0] for c in cases}}
    n_right = 0
    for name, question, gold in cases:
        a = qa.ask(tables[name], question)
        shown = ", ".join(a.answer)
        ok = right(shown, gold)
        n_right += ok
        if args.verbose or not ok:
            steps = " ".join(str(a.program).split("\n"))
            print(f"{'right' if ok else 'WRONG'}  {question} -> {shown} ({a.confidence:.2f}) | {steps}")
    print(f"{args.model}: {n_right}/{len(cases)} right")
    return 0


if __name__ == "__main__":
    sys.exit(main())
