"""Row-shuffle invariance (nprog.evaluate.shuffle_invariance): a question that names no row order must get
the same answer however the rows of its table are arranged. Measured on WTQ dev (`nprog evaluate
--shuffle-check` prints the full figure); here on a subset, and its mechanics on a tiny dataset."""

from __future__ import annotations

import pytest
from tiny_wtq import write_tiny_wtq

from nprog.cues import ORDER_CUES, names_row_order
from nprog.evaluate import shuffle_invariance
from nprog.questions import parse_question
from nprog.wtq import read_examples, split_path


@pytest.mark.parametrize(
    ("question", "names_order"),
    [
        ("which nation won the most gold medals?", False),
        ("how many nations won more than 5 gold medals?", False),
        ("what is the total of germany?", False),
        ("who won the first race?", True),
        ("who won after shura kitata?", True),
        ("which team is listed last?", True),
        ("who came next?", True),
        ("what is the team above Norway?", True),
        ("how many were at the top of the table?", True),
        ("which country scored higher, Norway or Sweden?", True),
        ("who finished before 2:05:00?", True),
        ("who was the previous coach?", True),
        ("how many games were played at home?", False),
        ("which was the earliest film?", False),  # a superlative of a date column, not a position
        ("who was the latest winner?", False),
    ],
)
def test_questions_that_name_a_row_order(question, names_order):
    assert names_row_order(parse_question(question).tokens) == names_order


def test_the_word_list_holds_the_issues_words():
    issue = "first last before after next previous above below top bottom higher lower preceding following"
    assert set(issue.split()) <= ORDER_CUES


def test_shuffle_invariance_counts_order_free_questions_reproducibly(tmp_path, tiny_model_dir):
    from nprog.qa import TableQA

    root = write_tiny_wtq(tmp_path / "wtq")
    examples = read_examples(split_path(root, "dev"))
    qa = TableQA.load(tiny_model_dir, device="cpu")
    report = shuffle_invariance(qa, root, examples, shuffles=3, seed=1)
    free = [ex for ex in examples if not names_row_order(parse_question(ex.question).tokens)]
    assert report.asked == len(examples) and report.order_free == len(free) > 0
    assert report.unchanged + len(report.changed) == report.order_free
    for _, before, after in report.changed:
        assert len(after) == 3 and any(a != before for a in after)
    again = shuffle_invariance(qa, root, examples, shuffles=3, seed=1)
    assert (again.unchanged, [c[0].id for c in again.changed]) == (
        report.unchanged,
        [c[0].id for c in report.changed],
    )


DEV_SUBSET = 300  # the first dev questions; 196 of them name no row order


def test_answers_to_order_free_dev_questions_survive_row_shuffles(wtq_dir, shipped_model):
    from nprog.qa import TableQA

    qa = TableQA.load(shipped_model, device="cpu")
    report = shuffle_invariance(qa, wtq_dir, read_examples(split_path(wtq_dir, "dev"))[:DEV_SUBSET])
    assert report.order_free > 150
    changed = "\n".join(f"{ex.question}: {a} → {b}" for ex, a, b in report.changed[:10])
    assert report.fraction >= 0.98, f"{report.unchanged}/{report.order_free} unchanged; e.g.\n{changed}"


def test_evaluate_prints_the_shuffle_figure(tmp_path, tiny_model_dir, capsys):
    from nprog.app.cli import main

    root = write_tiny_wtq(tmp_path / "wtq")
    assert main(["evaluate", "--data-dir", str(root), "--model", str(tiny_model_dir), "--shuffle-check"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("accuracy: ")
    assert lines[-2].startswith("row-shuffle invariance: ") and "under 3 shuffles" in lines[-2]
