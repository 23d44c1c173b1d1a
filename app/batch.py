"""`nprog batch`: answer a WTQ-format TSV, writing predictions as it goes (resumable)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from nprog.tables import defuse_formula, escape_wtq

PREDICTION_COLUMNS = ("id", "answer", "program", "sql")


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


def _sql_text(answer, dialect: str | None, table_name: str, order_by: str | None) -> str:
    """The prediction's SQL over the user's table, or why there is none."""
    from nprog.portable import ExportError

    if not dialect:
        return ""
    try:
        return answer.sql(dialect, table_name, order_by)
    except ExportError as e:
        return f"-- no SQL: {e}"


def _rows(qa, root: Path, examples, batch_size: int, dialect: str | None, check_sql, order_by: str | None = None):
    """(prediction row, answered, correct, sql check, error) for each example, in input order.

    The sql check is 1/0 (agrees) for ``check_sql == "nprog"``, and "agree", "refused" or "wrong" for
    "portable" (:class:`nprog.portable.PortableCheck`)."""
    from nprog.evaluate import predict_stream

    checker = portable = None
    if check_sql == "portable":
        from nprog.portable import PortableCheck

        portable = PortableCheck(dialect or "duckdb", order_by)
    elif check_sql:
        from nprog.sql import check_agreement

        checker = check_agreement
    for p in predict_stream(qa, root, examples, batch_size, with_kind=False):
        if p.answer is None:
            yield (escape_wtq(p.example.id), "", escape_wtq(f"ERROR: {p.error}"), ""), 0, 0, 0, 1
            continue
        name = Path(p.example.context).stem
        sql = _sql_text(p.answer, dialect, name, order_by)
        if portable is not None:
            agree = portable(p.answer.program, p.answer.table, name)
        else:
            agree = bool(checker(p.answer.program, p.answer.table)) if checker is not None else False
        row = (  # answers a spreadsheet would run as formulas are defused (the file is often opened in one)
            escape_wtq(p.example.id),
            "|".join(defuse_formula(escape_wtq(a)) for a in p.answer.answer),
            escape_wtq(str(p.answer.program)),
            escape_wtq(sql),
        )
        yield row, 1, int(p.correct), agree if isinstance(agree, str) else int(agree), 0


# ---- --workers N: processes that each load the model once and answer contiguous chunks of questions
_WORKER: dict = {}


def _worker_init(model: str | None, device: str, root: str, batch_size: int, dialect, check_sql,
                 order_by: str | None = None) -> None:
    import torch

    from nprog.qa import TableQA

    torch.set_num_threads(1)  # one core per worker: the processes are the parallelism
    _WORKER.update(qa=TableQA.load(model, device=device), root=Path(root), batch_size=batch_size,
                   dialect=dialect, check_sql=check_sql, order_by=order_by)


def _worker_chunk(examples) -> list:
    w = _WORKER
    return list(_rows(w["qa"], w["root"], examples, w["batch_size"], w["dialect"], w["check_sql"], w["order_by"]))


def _chunks(examples: list, size: int):
    """Contiguous chunks that keep a table's consecutive questions together (its preprocessing is shared)."""
    for i in range(0, len(examples), size):
        yield examples[i : i + size]


def parallel_rows(examples: list, root: Path, model: str | None, device: str, batch_size: int, workers: int,
                  dialect: str | None = None, check_sql=None, order_by: str | None = None):
    """Like :func:`_rows`, answered by `workers` spawned processes (each loads the model once and takes
    contiguous chunks); rows come back in input order. Used by ``nprog batch --workers`` and the bench."""
    import multiprocessing as mp

    pool = mp.get_context("spawn").Pool(
        workers, _worker_init, (model, device, str(root), batch_size, dialect, check_sql, order_by)
    )
    try:
        size = max(batch_size, min(1024, len(examples) // (4 * workers) + 1))
        for chunk in pool.imap(_worker_chunk, _chunks(examples, size)):
            yield from chunk
    finally:
        pool.terminate()


def run_batch(args, load_qa, UserError) -> int:
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
    workers = getattr(args, "workers", 1) or 1
    if workers < 1:
        raise UserError(f"--workers must be at least 1, not {workers}")
    dialect = args.sql
    order_by = getattr(args, "order_by", None)
    if args.check_sql == "portable":
        from nprog.portable import DIALECTS, check_setup_error

        if dialect not in DIALECTS[:3]:
            raise UserError(f"--check-sql portable runs duckdb, sqlite or postgres, not --sql {dialect}")
        problem = check_setup_error(dialect, order_by)
        if problem:
            raise UserError(problem)
    qa = load_qa(args)  # also in the parent with workers: a bad model or device fails here, once, clearly
    out_path = Path(args.out) if args.out else None
    done = _done_ids(out_path) if (out_path and args.resume) else set()
    todo = [ex for ex in examples if ex.id not in done]
    sink = None
    if out_path:
        sink = open(out_path, "a" if done else "w", encoding="utf-8")
        if not done:
            sink.write("\t".join(PREDICTION_COLUMNS) + "\n")
    has_gold = any(ex.answers for ex in examples)
    answered = correct = agree = errors = 0
    portable = Counter()
    stream = None
    try:
        if workers > 1 and len(todo) > args.batch_size:
            del qa  # each worker loads its own copy
            stream = parallel_rows(todo, root, args.model, args.device, args.batch_size, workers, dialect,
                                   args.check_sql, order_by)
        else:
            stream = _rows(qa, root, todo, args.batch_size, dialect, args.check_sql, order_by)
        with tqdm(total=len(todo), file=sys.stderr, desc="batch", mininterval=1) as bar:
            for row, a, c, g, e in stream:  # in input order, written as they come
                bar.update(1)
                if isinstance(g, str):
                    portable[g] += 1
                    g = int(g == "agree")
                answered, correct, agree, errors = answered + a, correct + c, agree + g, errors + e
                if sink:
                    sink.write("\t".join(row) + "\n")
                    sink.flush()
    finally:
        if stream is not None:
            stream.close()  # stops the workers if we leave early
        if sink:
            sink.close()
    n = len(todo)
    if errors:
        print(f"{errors} of {n} questions could not be answered (see the program column)", file=sys.stderr)
    if out_path:
        print(f"wrote {n} predictions to {out_path}" + (f" ({len(done)} kept from the interrupted run)" if done else ""))
    if args.check_sql == "portable":
        from nprog.portable import agreement_line

        # of all questions: one that could not be answered counts as refused (no program, no SQL)
        print(agreement_line(portable["agree"], portable["refused"] + errors, portable["wrong"]))
    elif args.check_sql:
        print(f"sql agreement: {agree / max(answered, 1):.3f} ({agree}/{answered})")
    if has_gold:
        print(f"accuracy: {correct / max(n, 1):.3f} ({correct}/{n})")
    return 0
