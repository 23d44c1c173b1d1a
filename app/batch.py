"""`nprog batch`: answer a WTQ-format TSV, writing predictions as it goes (resumable)."""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from nprog.answers import lists_match

PREDICTION_COLUMNS = ("id", "answer", "program", "sql")


def escape_wtq(text: str) -> str:
    r"""WTQ TSV escapes: backslash → \\, newline → \n, pipe → \p (tabs become spaces)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("|", "\\p").replace("\t", " ")


def _done_ids(out: Path) -> set[str]:
    """Ids already written by an interrupted run; a torn last line is dropped and rewritten."""
    if not out.exists():
        return set()
    lines = out.read_text(encoding="utf-8").split("\n")
    complete = lines[:-1]  # the text after the last newline is an incomplete line
    if complete and complete[0].split("\t") == list(PREDICTION_COLUMNS):
        complete = complete[1:]
    with open(out, "w", encoding="utf-8") as f:  # rewrite without the torn tail
        f.write("\t".join(PREDICTION_COLUMNS) + "\n")
        for line in complete:
            if line:
                f.write(line + "\n")
    return {line.split("\t", 1)[0] for line in complete if line}


def run_batch(args, load_qa, UserError) -> int:
    from nprog.evaluate import predict_stream
    from nprog.wtq import DataError, read_examples

    try:
        examples = read_examples(args.questions)
    except DataError as e:
        raise UserError(str(e)) from None
    root = Path(args.tables_root)
    if not root.is_dir():
        raise UserError(f"{root}: --tables-root is not a directory")
    if args.resume and not args.out:
        raise UserError("--resume needs --out (the prediction file to continue)")
    dialect = args.sql
    qa = load_qa(args)
    out_path = Path(args.out) if args.out else None
    done = _done_ids(out_path) if (out_path and args.resume) else set()
    todo = [ex for ex in examples if ex.id not in done]
    sink = None
    if out_path:
        sink = open(out_path, "a" if done else "w", encoding="utf-8")
        if not done:
            sink.write("\t".join(PREDICTION_COLUMNS) + "\n")
    checker = None
    if args.check_sql:
        from nprog.sql import check_agreement

        checker = check_agreement
    has_gold = any(ex.answers for ex in examples)
    answered = correct = agree = errors = 0
    try:
        with tqdm(total=len(todo), file=sys.stderr, desc="batch", mininterval=1) as bar:
            for p in predict_stream(qa, root, todo, args.batch_size, with_kind=False):
                bar.update(1)
                if p.answer is None:
                    errors += 1
                    row = (p.example.id, "", f"ERROR: {p.error}", "")
                else:
                    answered += 1
                    sql = p.answer.sql(dialect) if dialect else ""
                    if checker is not None:
                        agree += bool(checker(p.answer.program, p.answer.table))
                    correct += bool(p.example.answers) and lists_match(p.example.answers, p.answer.answer)
                    row = (
                        p.example.id,
                        "|".join(escape_wtq(a) for a in p.answer.answer),
                        escape_wtq(str(p.answer.program)),
                        escape_wtq(sql),
                    )
                if sink:
                    sink.write("\t".join(escape_wtq(r) if i == 0 else r for i, r in enumerate(row)) + "\n")
                    sink.flush()
    finally:
        if sink:
            sink.close()
    n = len(todo)
    if errors:
        print(f"{errors} of {n} questions could not be answered (see the program column)", file=sys.stderr)
    if out_path:
        print(f"wrote {n} predictions to {out_path}" + (f" ({len(done)} kept from the interrupted run)" if done else ""))
    if checker is not None:
        print(f"sql agreement: {agree / max(answered, 1):.3f} ({agree}/{answered})")
    if has_gold:
        print(f"accuracy: {correct / max(n, 1):.3f} ({correct}/{n})")
    return 0
