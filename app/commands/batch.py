"""`nprog batch`: answer a WTQ-format TSV, writing predictions as it goes (resumable)."""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from nprog.readers import defuse_formula, escape_wtq

PREDICTION_COLUMNS = ("id", "answer", "program", "sql")
HEADER = "\t".join(PREDICTION_COLUMNS) + "\n"


def _check_out(out: Path, questions: Path, UserError) -> None:
    """--out names a file we may write: in an existing directory, and never the questions file itself."""
    if out.is_dir():
        raise UserError(f"--out {out}: is a directory; give the prediction file's name")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: the directory {out.parent} does not exist")
    try:
        same = out.exists() and os.path.samefile(out, questions)
    except OSError:
        same = False
    if same or out.resolve() == questions.resolve():
        raise UserError(f"--out {out}: is the questions file; write the predictions to another file")


def _open_out(out: Path, UserError):
    """The prediction file, opened without truncating and locked for this run alone: a second run on the
    same --out is refused instead of splicing its lines into ours."""
    import fcntl

    try:
        sink = open(out, "a+b")  # noqa: SIM115 - closed by run_batch; "w" would truncate before the lock
    except OSError as e:
        raise UserError(f"--out {out}: cannot write it ({e.strerror or e})") from None
    try:
        fcntl.flock(sink.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sink.close()
        raise UserError(f"--out {out}: another nprog batch is writing this file") from None
    return sink


def _resume_point(sink, out: Path, examples, UserError) -> int:
    """How many questions an interrupted run of this question file already answered (its complete rows).

    Rows are written in input order, one per question, so row k answers line k of the questions:
    resuming goes by position, never by id (ids may repeat). Each kept row must carry its question's id
    and the file must start with our header, or it is not a run of this file and is left untouched. The
    torn line a kill leaves after the last newline is cut off, to be written again.
    """
    sink.seek(0)
    raw = sink.read()
    if HEADER.encode().startswith(raw):  # empty, or killed while writing the header
        sink.truncate(0)
        return 0
    not_ours = (
        f"--out {out}: not an unfinished nprog batch run of this question file; refusing to resume onto it"
    )
    whole = raw[: raw.rfind(b"\n") + 1]  # the complete lines; a torn tail may end inside a character
    try:
        text = whole.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(not_ours) from None
    if not text.startswith(HEADER):
        raise UserError(not_ours)
    complete = text[len(HEADER) :].split("\n")[:-1]
    if len(complete) > len(examples):
        raise UserError(not_ours + f" (it has {len(complete)} rows, the questions {len(examples)})")
    for line, ex in zip(complete, examples, strict=False):
        fields = line.split("\t")
        if len(fields) != len(PREDICTION_COLUMNS) or fields[0] != escape_wtq(ex.id):
            raise UserError(not_ours)
    sink.truncate(len(whole))
    return len(complete)


def _sql_text(answer, dialect: str | None, table_name: str, order_by: str | None) -> str:
    """The prediction's SQL over the user's table, or why there is none."""
    from nprog.portable import ExportError

    if not dialect:
        return ""
    try:
        return answer.sql(dialect, table_name, order_by)
    except ExportError as e:
        return f"-- no SQL: {e}"


def _rows(
    qa, root: Path, examples, batch_size: int, dialect: str | None, check_sql, order_by: str | None = None
):
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


def _worker_init(
    model: str | None,
    device: str,
    root: str,
    batch_size: int,
    dialect,
    check_sql,
    order_by: str | None = None,
) -> None:
    import torch

    from nprog.qa import TableQA

    torch.set_num_threads(1)  # one core per worker: the processes are the parallelism
    _WORKER.update(
        qa=TableQA.load(model, device=device),
        root=Path(root),
        batch_size=batch_size,
        dialect=dialect,
        check_sql=check_sql,
        order_by=order_by,
    )


def _worker_chunk(examples) -> list:
    w = _WORKER
    return list(
        _rows(w["qa"], w["root"], examples, w["batch_size"], w["dialect"], w["check_sql"], w["order_by"])
    )


def _chunks(examples: list, size: int):
    """Contiguous chunks that keep a table's consecutive questions together (its preprocessing is shared)."""
    for i in range(0, len(examples), size):
        yield examples[i : i + size]


def parallel_rows(
    examples: list,
    root: Path,
    model: str | None,
    device: str,
    batch_size: int,
    workers: int,
    dialect: str | None = None,
    check_sql=None,
    order_by: str | None = None,
):
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
    from nprog.app.cli import check_dialect
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
    if args.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, not {args.batch_size}")
    workers = getattr(args, "workers", 1) or 1
    if workers < 1:
        raise UserError(f"--workers must be at least 1, not {workers}")
    dialect = args.sql
    check_dialect(dialect)
    order_by = getattr(args, "order_by", None)
    if args.check_sql == "portable":
        from nprog.portable import DIALECTS, check_setup_error

        if dialect not in DIALECTS[:3]:
            raise UserError(f"--check-sql portable runs duckdb, sqlite or postgres, not --sql {dialect}")
        problem = check_setup_error(dialect, order_by)
        if problem:
            raise UserError(problem)
    out_path = Path(args.out) if args.out else None
    if out_path:
        _check_out(out_path, Path(args.questions), UserError)
    existed = bool(out_path and out_path.exists())
    sink = _open_out(out_path, UserError) if out_path else None
    try:  # the file is checked (and held) before the model loads: a user error costs no waiting
        kept = _resume_point(sink, out_path, examples, UserError) if args.resume else 0
        qa = load_qa(args)  # also in the parent with workers: a bad model or device fails here, once, clearly
    except BaseException:
        if sink:
            sink.close()
            if not existed and out_path.stat().st_size == 0:
                out_path.unlink()  # leave no empty file behind where there was none
        raise
    todo = examples[kept:]
    if sink:
        if not kept:
            sink.truncate(0)
            sink.write(HEADER.encode())
        sink.seek(0, os.SEEK_END)
    has_gold = any(ex.answers for ex in examples)
    answered = correct = agree = errors = 0
    portable = Counter()
    stream = None
    try:
        if workers > 1 and len(todo) > args.batch_size:
            del qa  # each worker loads its own copy
            stream = parallel_rows(
                todo,
                root,
                args.model,
                args.device,
                args.batch_size,
                workers,
                dialect,
                args.check_sql,
                order_by,
            )
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
                    sink.write(("\t".join(row) + "\n").encode("utf-8"))
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
        print(
            f"wrote {n} predictions to {out_path}"
            + (f" ({kept} kept from the interrupted run)" if kept else "")
        )
    if args.check_sql == "portable":
        from nprog.portable import agreement_line

        # of all questions: one that could not be answered counts as refused (no program, no SQL)
        print(agreement_line(portable["agree"], portable["refused"] + errors, portable["wrong"]))
    elif args.check_sql:
        print(f"sql agreement: {agree / max(answered, 1):.3f} ({agree}/{answered})")
    if has_gold:
        print(f"accuracy: {correct / max(n, 1):.3f} ({correct}/{n})")
    return 0
