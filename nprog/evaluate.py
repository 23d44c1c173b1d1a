"""Official-style accuracy over ALL examples of a split: anything that cannot be answered counts wrong."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nprog.answers import lists_match
from nprog.batch import Encoded
from nprog.cues import names_row_order
from nprog.qa import Answer, TableQA, check_question
from nprog.questions import parse_questions
from nprog.tables import Table, TableError
from nprog.wtq import Example, load_table, make_target, preload_tables


@dataclass
class Prediction:
    example: Example
    answer: Answer | None  # None when the example could not be processed
    error: str = ""
    correct: bool = False
    kind: str = ""  # answer type of the gold answer (nprog.wtq.ANSWER_TYPES)


@dataclass
class Report:
    predictions: list[Prediction] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.predictions)

    @property
    def correct(self) -> int:
        return sum(p.correct for p in self.predictions)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    def by_kind(self) -> dict[str, tuple[int, int]]:
        total, right = Counter(), Counter()
        for p in self.predictions:
            total[p.kind] += 1
            right[p.kind] += p.correct
        return {k: (right[k], total[k]) for k in sorted(total)}


def predict_stream(
    qa: TableQA,
    root: Path,
    examples: list[Example],
    batch_size: int = 64,
    with_kind: bool = True,
    window: int | None = None,
    score: bool = True,
) -> Iterator[Prediction]:
    """Predictions in input order.

    Examples are taken ``window`` at a time (default 16 batches, at most 1,024) and answered grouped by table (a stable sort on the table
    path): each table is read and preprocessed once per window, and a batch holds questions on tables of
    similar shape (less padding). Predictions are then yielded in the input order, window by window.
    ``score=False`` skips comparing with the gold answers (pure prediction).
    """
    window = window or min(1024, 16 * batch_size)
    for start in range(0, len(examples), window):
        chunk = examples[start : start + window]
        preload_tables(root, (ex.context for ex in chunk))  # the window's tables, built together
        done: dict[int, Prediction] = {}
        asked = {}
        for i, ex in enumerate(chunk):
            try:
                asked[i] = check_question(ex.question)
            except ValueError as e:
                done[i] = Prediction(ex, None, error=str(e), kind="unreachable")
        questions = dict(zip(asked, parse_questions(list(asked.values())), strict=True))  # one pass
        pending: list[tuple[int, Encoded]] = []
        for i in sorted(questions, key=lambda i: chunk[i].context):
            ex = chunk[i]
            try:
                table = load_table(root, ex.context)
                enc = qa.encode(table, questions[i])
            except (TableError, ValueError) as e:
                done[i] = Prediction(ex, None, error=str(e), kind="unreachable")
                continue
            pending.append((i, enc))
            if len(pending) >= batch_size:
                done.update(_answer(qa, chunk, pending, with_kind, score))
                pending = []
        done.update(_answer(qa, chunk, pending, with_kind, score))
        for i in range(len(chunk)):
            yield done[i]


def _answer(qa: TableQA, chunk, pending: list, with_kind: bool, score: bool) -> dict[int, Prediction]:
    """Answer the pending (index, encoded) pairs as one batch: index → prediction."""
    if not pending:
        return {}
    answers = qa.answer_batch([e for _, e in pending])
    return {
        i: _score(chunk[i], ans, enc.table if with_kind else None) if score else Prediction(chunk[i], ans)
        for (i, enc), ans in zip(pending, answers, strict=True)
    }


def _score(ex: Example, answer: Answer, table) -> Prediction:
    correct = bool(ex.answers) and lists_match(ex.answers, answer.answer)
    kind = make_target(table, ex.answers).kind if table is not None and ex.answers else ""
    return Prediction(ex, answer, correct=correct, kind=kind)


def evaluate(
    qa: TableQA, root: Path, examples: list[Example], batch_size: int = 64, progress: Callable | None = None
) -> Report:
    report = Report()
    for p in predict_stream(qa, root, examples, batch_size):
        report.predictions.append(p)
        if progress:
            progress(1)
    return report


def calibrate(
    qa: TableQA,
    root: Path,
    examples: list[Example],
    batch_size: int = 64,
    threshold: float | None = None,
    progress: Callable | None = None,
) -> dict:
    """Fit the confidence calibration of a model on a split (dev) and measure it: the card's
    ``calibration`` object (Platt parameters, guess threshold, the figures). Confidence before = all T
    steps' probability; live = dead steps removed; calibrated = Platt-scaled live confidence, measured
    by 5-fold cross-fitting on the same split (each answer scaled by a fit on the other four fifths)."""
    import numpy as np

    from nprog import confidence

    raw_qa = TableQA(qa.model, qa.vocab, {k: v for k, v in qa.card.items() if k != "calibration"}, qa.device)
    every, live, correct = [], [], []
    for p in predict_stream(raw_qa, root, examples, batch_size, with_kind=False):
        if progress:
            progress(1)
        if p.answer is None:  # no answer at all: nothing to be confident about
            continue
        every.append(p.answer.explanation.probability)
        live.append(p.answer.confidence)
        correct.append(p.correct)
    every, live, correct = np.array(every), np.array(live), np.array(correct, dtype=bool)
    fitted = confidence.fit_platt(live, correct)
    return {
        **fitted,
        "threshold": confidence.GUESS_THRESHOLD if threshold is None else float(threshold),
        "fitted_on": f"{len(live)} answers",
        "all_steps": confidence.report(every, correct),
        "live_steps": confidence.report(live, correct),
        "calibrated_cross_fitted": confidence.report(confidence.cross_validated(live, correct), correct),
    }


@dataclass
class ShuffleReport:
    """Row-shuffle invariance over questions that name no row order (nprog.cues.ORDER_CUES)."""

    shuffles: int
    asked: int = 0  # questions of the split
    order_free: int = 0  # of them, questions that name no row order (and could be answered)
    unchanged: int = 0  # of those, answers equal (as a set of values) on every shuffled arrangement
    changed: list[tuple[Example, list[str], list[list[str]]]] = field(
        default_factory=list
    )  # (ex, answer, after)

    @property
    def fraction(self) -> float:
        return self.unchanged / self.order_free if self.order_free else float("nan")


def shuffle_invariance(
    qa: TableQA,
    root: Path,
    examples: list[Example],
    shuffles: int = 3,
    seed: int = 0,
    batch_size: int = 64,
    progress: Callable | None = None,
) -> ShuffleReport:
    """The metamorphic check of #14: every question that names no row order is asked on its table and on
    ``shuffles`` row permutations of it (seeded, one set per table); its answer is unchanged when the
    answers on all arrangements are the same values (a printed list may come out in another order).
    Questions whose table or question cannot be read are left out (evaluate counts them wrong)."""
    import numpy as np

    report = ShuffleReport(shuffles, asked=len(examples))
    texts = {}
    for i, ex in enumerate(examples):
        try:
            texts[i] = check_question(ex.question)
        except ValueError:
            pass
    parsed = dict(zip(texts, parse_questions(list(texts.values())), strict=True))
    by_table: dict[str, list[int]] = {}
    for i, q in parsed.items():
        if not names_row_order(q.tokens):
            by_table.setdefault(examples[i].context, []).append(i)
    rng = np.random.default_rng(seed)
    pending: list[tuple[int, int, object]] = []  # (example index, arrangement, encoded)
    answers: dict[int, list] = {}

    def flush():
        for (i, k, _), a in zip(pending, qa.answer_batch([e for _, _, e in pending]), strict=True):
            answers.setdefault(i, [None] * (shuffles + 1))[k] = sorted(a.answer)
        pending.clear()

    for context in sorted(by_table):
        try:
            table = load_table(root, context)
            frame = table.to_dataframe()
            perms = [rng.permutation(table.n_rows) for _ in range(shuffles)]
            arrangements = [
                table,
                *Table.from_dataframes(
                    [(frame.iloc[p].reset_index(drop=True), f"{context} shuffled") for p in perms]
                ),
            ]
        except (TableError, ValueError):
            continue
        for i in by_table[context]:
            for k, t in enumerate(arrangements):
                pending.append((i, k, qa.encode(t, parsed[i])))
            if len(pending) >= batch_size:
                flush()
            if progress:
                progress(1)
    flush()
    for i in sorted(answers):
        first, *rest = answers[i]
        report.order_free += 1
        if all(r == first for r in rest):
            report.unchanged += 1
        else:
            report.changed.append((examples[i], first, rest))
    return report
