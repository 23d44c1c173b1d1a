"""Honest confidence (nprog.confidence): live steps, Platt calibration, AUROC / ECE / coverage, and the
`calibrate` command end to end on a tiny WTQ-shaped dataset."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from tiny_wtq import write_tiny_wtq

from nprog import confidence as C
from nprog.program import Step
from nprog.tables import Table

MEDALS = Table.from_dataframe(
    pd.DataFrame({"Nation": ["Norway", "Germany", "Canada"], "Gold": ["9", "5", "4"]})
)


@pytest.mark.parametrize(
    ("steps", "live"),
    [
        # "the row above each" before taking the top Gold: dead here (Norway is top either way)
        ([Step("previous"), Step("argmax", "Gold"), Step("print", "Nation")], [False, True, True]),
        # ... but live when the top row is the first row and the step drops it: the answer changes
        ([Step("next"), Step("argmax", "Gold"), Step("print", "Nation")], [True, True, True]),
        ([Step("reset"), Step("select", "Nation", values=["Canada"]), Step("count")], [False, True, True]),
        ([Step("greater", "Gold", 6.0), Step("count")], [True, True]),
        ([Step("greater", "Gold", 1.0), Step("count")], [False, True]),  # every row passes: changes nothing
        ([Step("count")], [True]),
    ],
)
def test_live_steps_are_those_the_answer_depends_on(steps, live):
    assert C.live_steps(steps, MEDALS).tolist() == live


def test_platt_fit_recovers_a_known_calibration():
    """Correctness drawn from sigmoid(a·log p + b) with known (a, b): the fit finds them, calibrates (low
    ECE) and keeps the order (same AUROC)."""
    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 1.0, 20_000)
    truth = {"method": "platt", "a": 0.8, "b": -0.3}
    correct = rng.uniform(size=p.size) < C.calibrated(p, truth)
    fitted = C.fit_platt(p, correct)
    assert fitted["a"] == pytest.approx(0.8, abs=0.05) and fitted["b"] == pytest.approx(-0.3, abs=0.05)
    scaled = C.calibrated(p, fitted)
    assert C.ece(scaled, correct) < 0.02 < C.ece(p, correct)
    assert C.auroc(scaled, correct) == pytest.approx(C.auroc(p, correct))
    assert C.calibrated(0.5, None) == 0.5  # no calibration: the confidence as it is


def test_measures_on_a_hand_fixture():
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.2])
    correct = np.array([True, True, False, True, False, False])
    # right answers outrank wrong ones in 8 of the 9 (right, wrong) pairs
    assert C.auroc(p, correct) == pytest.approx(8 / 9)
    assert C.auroc(np.ones(6), correct) == 0.5  # all tied: no information
    assert math.isnan(C.auroc(p, np.ones(6, dtype=bool)))
    # bins (10 wide): .9 → right; .8 → right; .7 → wrong; .6 → right; .3 → wrong; .2 → wrong
    expected = (0.1 + 0.2 + 0.7 + 0.4 + 0.3 + 0.2) / 6
    assert C.ece(p, correct) == pytest.approx(expected)
    assert C.accuracy_at_coverage(p, correct, 0.5) == pytest.approx(2 / 3)
    assert C.accuracy_at_coverage(p, correct, 1.0) == pytest.approx(0.5)
    assert set(C.report(p, correct)) == {"auroc", "ece", "accuracy_at_50", "accuracy_at_70", "accuracy_at_90"}


@pytest.mark.parametrize(
    ("calibration", "problem"),
    [
        ({"a": 1.0, "b": 0.0}, None),
        ({"a": 1, "b": -2, "threshold": 0.3}, None),
        ([1, 2], "must be an object"),
        ({"a": "1", "b": 0.0}, "'a' must be a finite number"),
        ({"a": 1.0, "b": float("nan")}, "'b' must be a finite number"),
        ({"a": 1.0, "b": 0.0, "threshold": 2}, "'threshold' must be a number between 0 and 1"),
        ({"a": True, "b": 0.0}, "'a' must be a finite number"),
    ],
)
def test_card_calibration_is_checked(calibration, problem):
    assert C.check_calibration(calibration) == problem


def test_calibrate_command_fits_and_stores_the_calibration(tmp_path, tiny_model_dir, capsys):
    """`nprog calibrate` on a tiny WTQ-shaped split: figures printed, the card's calibration written, the
    API then reports calibrated confidences and the guess flag by the stored threshold."""
    import shutil

    from nprog.app.cli import main
    from nprog.qa import TableQA

    root = write_tiny_wtq(tmp_path / "wtq")
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    assert main(["calibrate", "--data-dir", str(root), "--model", str(model), "--threshold", "0.4"]) == 0
    printed = json.loads(capsys.readouterr().out)
    card = json.loads((model / "card.json").read_text())
    assert card["calibration"] == printed and card["name"] == "tiny"  # merged, nothing else lost
    assert printed["threshold"] == 0.4 and C.check_calibration(printed) is None
    assert {"all_steps", "live_steps", "calibrated_cross_fitted"} <= set(printed)
    qa = TableQA.load(model, device="cpu")
    answer = qa.ask(MEDALS, "which nation won the most gold?")
    raw = float(np.exp(sum(c.logp for c in answer.explanation.choices if c.live)))
    assert answer.confidence == pytest.approx(C.calibrated(raw, card["calibration"]))
    assert answer.confident == (answer.confidence >= 0.4)
    assert answer.to_dict()["confident"] == answer.confident
    # never on the test split
    assert main(["calibrate", "--data-dir", str(root), "--model", str(model), "--split", "test"]) == 2
