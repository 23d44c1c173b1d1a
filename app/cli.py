"""The `nprog` command line. User errors: one line on stderr naming the input and the problem, exit 2.

Commands: ask, batch, evaluate, train, data stats, bench, memory, ui (see `nprog COMMAND --help`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from nprog.config import TrainConfig, add_flags, from_args

EXIT_USAGE = 2


class UserError(Exception):
    """Bad usage or unreadable input: printed as one line, exit code 2."""


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # kept: tab, newline


def _safe(text: str, one_line: bool = False) -> str:
    """Text from tables and files made safe to print: control characters (terminal escapes, bidi
    overrides) are shown escaped, and with ``one_line`` newlines too, so a cell can neither drive the
    terminal nor break the one-line answer and error contract (``--json`` gives the exact strings)."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)
    return text.replace("\n", "\\n") if one_line else text


def _default_data_dir() -> str | None:
    return os.environ.get("NPROG_WTQ_DIR")


def _add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default=None,
        help="model directory (default: the shipped data/models/wtq-encoder where nprog[encoder] is installed, else data/models/wtq)",
    )
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nprog", description="Ask tables questions in English; get the answer, the program and its SQL."
    )
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("ask", help="answer questions about a table (CSV or a database table)")
    p.add_argument(
        "question",
        nargs="+",
        help="the question, in English; several are answered in one batch, and - reads more from stdin, one per line",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--table", help="a CSV file")
    src.add_argument("--db", help="a DuckDB (.duckdb) or SQLite (.sqlite/.db) file; use with --table-name")
    p.add_argument("--table-name", help="the table to read from --db")
    p.add_argument(
        "--sql",
        metavar="DIALECT",
        help="also print the program as SQL over your own table: duckdb, sqlite, postgres or spark",
    )
    p.add_argument(
        "--order-by",
        metavar="COLUMN",
        help="the column that holds the table's row order (PostgreSQL and Spark tables have none)",
    )
    p.add_argument(
        "--layout",
        choices=["user", "nprog"],
        default="user",
        help="user: SQL over the table as you have it (default); nprog: over nprog.sql.load_into's layout",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print a JSON object (answer, coordinates, cells, aggregator, program, sql)",
    )
    _add_model(p)

    p = sub.add_parser(
        "batch", help="answer a WTQ-format TSV of questions (id, utterance, context[, targetValue])"
    )
    p.add_argument("questions", help="TSV file with columns id, utterance, context[, targetValue]")
    p.add_argument("--tables-root", required=True, help="directory the context paths are relative to")
    p.add_argument(
        "--out", help="prediction TSV to write (id, answer, program, sql); default: stdout is not used"
    )
    p.add_argument("--sql", metavar="DIALECT", default="duckdb", help="SQL dialect written per prediction")
    p.add_argument(
        "--check-sql",
        nargs="?",
        const="nprog",
        choices=["nprog", "portable"],
        help="nprog: run each program's SQL on DuckDB over nprog's loaded layout; portable: run the --sql "
        "dialect's SQL over the table as that engine's own CSV reader loads it (PostgreSQL: "
        "$NPROG_PG_DSN) and report agreement, refusals and wrong answers",
    )
    p.add_argument(
        "--order-by",
        metavar="COLUMN",
        help="with --check-sql portable: the loaded table gets this order column and the SQL uses it",
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run of the same --out")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes answering chunks of questions in parallel (one core each); output order is kept",
    )
    _add_model(p)

    p = sub.add_parser("evaluate", help="official-style accuracy on a WTQ split (all examples)")
    p.add_argument("--data-dir", default=_default_data_dir(), help="WTQ directory (default $NPROG_WTQ_DIR)")
    p.add_argument("--split", default="dev", help="dev | test | train | a TSV name under data/")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--errors", metavar="FILE", help="write the wrong predictions to this TSV")
    p.add_argument("--record", action="store_true", help="store the figures in the model's card.json")
    p.add_argument(
        "--shuffle-check",
        action="store_true",
        help="also: share of answers to questions naming no row order unchanged under 3 row shuffles",
    )
    _add_model(p)

    p = sub.add_parser(
        "calibrate", help="fit a model's confidence calibration on a WTQ split; store it in its card"
    )
    p.add_argument("--data-dir", default=_default_data_dir(), help="WTQ directory (default $NPROG_WTQ_DIR)")
    p.add_argument("--split", default="dev", help="the split to fit on (default dev; never the test split)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument(
        "--threshold", type=float, help="calibrated confidence below which an answer is a guess (0.5)"
    )
    p.add_argument("--dry-run", action="store_true", help="print the figures, leave the card alone")
    _add_model(p)

    p = sub.add_parser("train", help="weakly supervised training on WTQ (answers only)")
    add_flags(p, TrainConfig, data_dir=_default_data_dir())  # one flag per TrainConfig field (nprog.config)

    p = sub.add_parser(
        "ensemble", help="combine trained models (same data and op set) into one ensemble model directory"
    )
    p.add_argument("members", nargs="+", help="member model directories (e.g. runs of different seeds)")
    p.add_argument("--out", required=True, help="the ensemble's directory (members stored as float16)")

    p = sub.add_parser("data", help="dataset tools")
    dsub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    s = dsub.add_parser("stats", help="answer-type shares of a WTQ split")
    s.add_argument("--data-dir", default=_default_data_dir())
    s.add_argument("--split", default="train")

    p = sub.add_parser("bench", help="throughput, latency and table-size scaling")
    p.add_argument("--data-dir", default=_default_data_dir())
    p.add_argument(
        "--only",
        choices=["tables", "latency", "throughput", "api", "scaling", "startup", "train", "tapas"],
        help="run one part only",
    )
    _add_model(p)

    p = sub.add_parser("ui", help="start the Streamlit app")
    p.add_argument("--port", type=int, default=8501)

    from nprog.app.memory_demos.args import (
        add_memory_parser,  # the arguments only: torch is imported to run the command
    )

    add_memory_parser(sub)
    return parser


# ---- commands ------------------------------------------------------------------------------------------


def check_dialect(name: str | None, flag: str = "--sql") -> None:
    """A dialect sqlglot can write, or a UserError naming the flag and the valid choices."""
    if name is None:
        return
    from sqlglot.dialects.dialect import Dialects

    choices = sorted(d.value for d in Dialects if d.value)
    if name not in choices:  # sqlglot names are lower case and matched exactly
        raise UserError(f"{flag} {name}: unknown SQL dialect; choose one of {', '.join(choices)}")


def _load_qa(args):
    from nprog.checkpoint import CheckpointError
    from nprog.qa import TableQA

    try:
        return TableQA.load(args.model, device=args.device)
    except (CheckpointError, ValueError) as e:  # a bad checkpoint or an unusable --device
        raise UserError(str(e)) from None


def _questions(args) -> list[str]:
    """The positional questions, with - replaced by the lines of stdin (blank lines skipped)."""
    questions = []
    for q in args.question:
        if q != "-":
            questions.append(q)
            continue
        try:
            lines = sys.stdin.read().split(
                "\n"
            )  # not splitlines(): U+2028, NEL and form feed stay in a question
        except UnicodeDecodeError as e:
            raise UserError(f"stdin: the questions are not UTF-8 text ({e.reason})") from None
        read = [line.removesuffix("\r") for line in lines if line.strip()]
        if not read:
            raise UserError("stdin: no questions (one per line)")
        questions += read
    return questions


def cmd_ask(args) -> int:
    from nprog.tables import Table, TableError

    check_dialect(args.sql)
    questions = _questions(args)
    try:
        if args.db:
            from nprog.sql import read_db_table

            if not args.table_name:
                raise UserError("--db needs --table-name NAME")
            table, dialect = read_db_table(args.db, args.table_name)
        else:
            table, dialect = Table.from_csv(args.table), None
    except TableError as e:
        raise UserError(str(e)) from None
    from nprog.qa import QuestionError, check_question  # torch: only once the table has been read

    for n, q in enumerate(questions, 1):
        try:
            check_question(q)
        except QuestionError as e:  # before any answer: a bad line among many is named, nothing half-printed
            raise UserError(f"question {n}: {e}" if len(questions) > 1 else str(e)) from None
    qa = _load_qa(args)
    try:
        answers = qa.ask_many(table, questions)
    except (QuestionError, TableError) as e:
        raise UserError(str(e)) from None
    dialect = args.sql or dialect
    for n, (question, answer) in enumerate(zip(questions, answers, strict=True)):
        if args.json:  # one object per line (JSON lines) when there are several
            data = answer.to_dict(dialect or "duckdb")
            print(
                json.dumps(
                    data if len(questions) == 1 else {"question": question, **data}, ensure_ascii=False
                )
            )
            continue
        if len(questions) > 1:
            print(("\n" if n else "") + _safe(f"Q: {question}", one_line=True))
        print(_safe(str(answer.program)))
        if dialect:
            from nprog.portable import ExportError

            try:
                print(
                    _safe(
                        answer.sql(
                            dialect, args.table_name if args.db else None, args.order_by, layout=args.layout
                        )
                    )
                )
            except ExportError as e:  # the answer stands; say why there is no SQL for it
                print(
                    f"nprog: no {dialect} SQL for this program: {_safe(str(e), one_line=True)}",
                    file=sys.stderr,
                )
            except ValueError as e:  # a dialect sqlglot does not know
                raise UserError(f"--sql {dialect}: {e}") from None
        display = answer.display or answer.answer  # a computed number with its column's unit
        shown = (
            _safe(", ".join(display), one_line=True)
            if display
            else "(no answer: the program selected no cells)"
        )
        guess = "" if answer.confident else "  [low confidence — this is a guess]"
        print(f"answer: {shown} (confidence {answer.confidence:.2f}){guess}")
    return 0


def cmd_evaluate(args) -> int:
    from tqdm import tqdm

    from nprog.evaluate import evaluate

    root, examples = _split_examples(args)
    if args.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, not {args.batch_size}")
    qa = _load_qa(args)
    with tqdm(total=len(examples), file=sys.stderr, desc=f"evaluate {args.split}", mininterval=1) as bar:
        report = evaluate(qa, root, examples, args.batch_size, progress=bar.update)
    for kind, (right, total) in report.by_kind().items():
        print(f"{kind:>14}: {right / max(total, 1):.3f} ({right}/{total})")
    if args.errors:
        with open(args.errors, "w", encoding="utf-8") as f:
            f.write("id\tquestion\tgold\tpredicted\tprogram\n")
            for p in report.predictions:
                if not p.correct:
                    pred = "|".join(p.answer.answer) if p.answer else f"ERROR: {p.error}"
                    prog = str(p.answer.program).replace("\n", " ; ") if p.answer else ""
                    f.write(
                        f"{p.example.id}\t{p.example.question}\t{'|'.join(p.example.answers)}\t{pred}\t{prog}\n"
                    )
    if args.record:
        from nprog import layout
        from nprog.checkpoint import record_in_card

        name = {"dev": "dev", "test": "test"}.get(args.split, args.split)
        record_in_card(
            Path(args.model) if args.model else layout.default_model(),
            {
                f"{name}_accuracy": round(report.accuracy, 4),
                f"{name}_examples": report.n,
                f"{name}_by_answer_type": {
                    k: {"correct": r, "total": t} for k, (r, t) in report.by_kind().items()
                },
            },
        )
    if args.shuffle_check:
        from nprog.evaluate import shuffle_invariance

        with tqdm(file=sys.stderr, desc="shuffle check (order-free questions)", mininterval=1) as bar:
            shuffled = shuffle_invariance(qa, root, examples, progress=bar.update)
        print(
            f"row-shuffle invariance: {shuffled.fraction:.3f} ({shuffled.unchanged}/{shuffled.order_free} answers "
            f"to questions naming no row order unchanged under {shuffled.shuffles} shuffles)"
        )
    print(f"accuracy: {report.accuracy:.3f} ({report.correct}/{report.n})")
    return 0


def _split_examples(args):
    """(WTQ root, examples of --split) or a one-line user error."""
    from nprog.wtq import DataError, data_dir, read_examples, split_path

    try:
        root = data_dir(args.data_dir)
        return root, read_examples(split_path(root, args.split))
    except DataError as e:
        raise UserError(str(e)) from None


def cmd_calibrate(args) -> int:
    from tqdm import tqdm

    from nprog import layout
    from nprog.checkpoint import record_in_card
    from nprog.evaluate import calibrate

    if args.split == "test" or "pristine-unseen" in args.split:
        raise UserError("calibrate on dev (or a training split), never on the test split")
    if args.threshold is not None and not 0 <= args.threshold <= 1:
        raise UserError(f"--threshold {args.threshold}: must be between 0 and 1")
    root, examples = _split_examples(args)
    qa = _load_qa(args)
    with tqdm(total=len(examples), file=sys.stderr, desc=f"calibrate {args.split}", mininterval=1) as bar:
        fitted = calibrate(qa, root, examples, args.batch_size, args.threshold, progress=bar.update)
    fitted["fitted_on"] = f"{args.split}: {fitted['fitted_on']}"
    print(json.dumps(fitted, indent=2))
    if not args.dry_run:
        record_in_card(Path(args.model) if args.model else layout.default_model(), {"calibration": fitted})
    return 0


def cmd_ensemble(args) -> int:
    from nprog.checkpoint import CheckpointError, save_ensemble

    card = {
        "name": Path(args.out).name,
        "what": f"an ensemble of {len(args.members)} Neural Programmers (step distributions mixed)",
        "ensemble_command": "nprog ensemble " + " ".join(sys.argv[2:])
        if sys.argv[1:2] == ["ensemble"]
        else "",
        "dev_accuracy": None,
        "test_accuracy": None,
    }
    try:
        save_ensemble(args.out, args.members, card)
    except (CheckpointError, OSError) as e:
        raise UserError(str(e)) from None
    print(
        f"wrote an ensemble of {len(args.members)} to {args.out} (measure it: nprog evaluate --model {args.out})"
    )
    return 0


def cmd_train(args) -> int:
    from nprog.train import train
    from nprog.wtq import DataError, data_dir

    try:
        root = data_dir(args.data_dir)
    except DataError as e:
        raise UserError(str(e)) from None
    cfg = from_args(args, TrainConfig, data_dir=str(root))
    try:
        summary = train(cfg, log=lambda m: print(m, file=sys.stderr, flush=True))
    except ValueError as e:  # a --resume state that does not fit, an unusable --device
        raise UserError(str(e)) from None
    if int(os.environ.get("RANK", "0")):
        return 0  # under torchrun, rank 0 reports
    print(f"training: {summary['steps']} steps, {summary['examples_per_second']:.0f} examples/s")
    print(f"best dev accuracy: {summary['best_dev_accuracy']:.3f} at step {summary['best_step']}")
    return 0


def cmd_data(args) -> int:
    from nprog.wtq import ANSWER_TYPES, DataError, answer_type_shares, data_dir, read_examples, split_path

    if args.data_command != "stats":
        raise UserError("usage: nprog data stats --data-dir D --split S")
    try:
        root = data_dir(args.data_dir)
        examples = read_examples(split_path(root, args.split))
    except DataError as e:
        raise UserError(str(e)) from None
    counts = answer_type_shares(root, examples)
    n = len(examples)
    print(f"{args.split}: {n} examples")
    for kind in ANSWER_TYPES:
        print(f"{kind:>14}: {100 * counts[kind] / max(n, 1):5.1f} % ({counts[kind]})")
    return 0


def cmd_batch(args) -> int:
    from nprog.app.commands.batch import run_batch

    return run_batch(args, _load_qa, UserError)


def cmd_bench(args) -> int:
    from nprog.app.bench.suite import run_bench

    return run_bench(args)


def cmd_ui(args) -> int:
    import subprocess

    from nprog import layout

    root = layout.UI_DIR  # .streamlit/config.toml is read from the working dir
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(root / "streamlit_app.py"),
        "--server.port",
        str(args.port),
    ]
    return subprocess.call(cmd, cwd=root)


COMMANDS = {
    "ask": cmd_ask,
    "batch": cmd_batch,
    "evaluate": cmd_evaluate,
    "calibrate": cmd_calibrate,
    "ensemble": cmd_ensemble,
    "train": cmd_train,
    "data": cmd_data,
    "bench": cmd_bench,
    "ui": cmd_ui,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.command == "memory":
            from nprog.app.memory_demos.cli import run_memory

            return run_memory(args)
        return COMMANDS[args.command](args)
    except UserError as e:
        print(f"nprog: {_safe(str(e), one_line=True)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("nprog: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, not a user error: say so in one line unless --debug
        if args.debug:
            raise
        print(
            f"nprog: internal error: {type(e).__name__}: {_safe(str(e), one_line=True)} (run with --debug for details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
