"""Honest confidence: the probability of the steps that matter, calibrated against how often answers are right.

The model's raw confidence is the product of its choices' probabilities over all T steps. A step whose
removal does not change the answer on this table (a "dead" step: "the row above each" before a count of
a single selected row, a reset before a select) adds its doubt without adding to the answer, so
:func:`live_steps` finds those steps by executing the program without each of them in turn, and the
confidence counts the live steps only.

That probability is still not the chance that the answer is right (a 0.9 program is right far less than
90 % of the time). :func:`fit_platt` maps it to one by Platt scaling (a logistic regression on its log,
two numbers) fitted on the dev split; the two numbers and the threshold below which an answer is called a
guess live in the model card's ``calibration`` object (JSON, never a pickle), so a retrained model gets
its own by rerunning ``nprog calibrate``. Measures: AUROC (does a higher confidence mean right more
often), ECE (how far the stated confidence is from the accuracy) and the accuracy of the most confident
50/70/90 % of answers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from nprog.program import Program, ProgramError, Step, execute
from nprog.tables import Table

GUESS_THRESHOLD = 0.5  # a calibrated confidence below this is more likely wrong than right: a guess
COVERAGES = (0.5, 0.7, 0.9)
_EPS = 1e-6


def live_steps(steps: list[Step], table: Table) -> np.ndarray:
    """(len(steps),) bool: the steps the answer depends on. The answer step is always live; each earlier
    step, in order, is dead when the program without it (and without the dead steps found before it)
    gives the same answer on this table."""
    live = np.ones(len(steps), dtype=bool)
    try:
        reference = execute(Program(steps), table)
    except ProgramError:
        return live
    for t in range(len(steps) - 1):
        live[t] = False
        try:
            result = execute(Program([s for s, keep in zip(steps, live, strict=True) if keep]), table)
            same = (result.answer, result.aggregator) == (reference.answer, reference.aggregator)
        except ProgramError:
            same = False
        live[t] = not same
    return live


def _log(p) -> np.ndarray:
    return np.log(np.clip(np.asarray(p, dtype=np.float64), _EPS, 1.0))


def calibrated(p, calibration: dict | None) -> np.ndarray | float:
    """Platt-scaled confidence: sigmoid(a · log p + b); p itself without a calibration.

    On log p rather than logit p: a program's probability is a product over its steps, and near 1 it
    is not "surer" in the way logit p claims (on the shipped model's dev answers the most confident tenth
    is right less often than the next tenth); sigmoid(b) is the most any answer can claim."""
    if not calibration:
        return p
    z = calibration["a"] * _log(p) + calibration["b"]
    out = 1.0 / (1.0 + np.exp(-z))
    return float(out) if np.ndim(out) == 0 else out


def fit_platt(p: np.ndarray, correct: np.ndarray, iterations: int = 100) -> dict:
    """The (a, b) of sigmoid(a · log p + b) that maximize the likelihood of ``correct`` (Newton's method
    on the two-parameter logistic regression, with a tiny ridge so that separable data stays finite)."""
    x = _log(p)
    y = np.asarray(correct, dtype=np.float64)
    X = np.stack([x, np.ones_like(x)], axis=1)
    w = np.zeros(2)
    for _ in range(iterations):
        q = 1.0 / (1.0 + np.exp(-(X @ w)))
        grad = X.T @ (q - y) + 1e-6 * w
        hess = (X * (q * (1 - q))[:, None]).T @ X + 1e-6 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return {"method": "platt", "a": float(w[0]), "b": float(w[1])}


def auroc(score: np.ndarray, correct: np.ndarray) -> float:
    """Probability that a right answer has a higher score than a wrong one (ties count one half)."""
    score, correct = np.asarray(score, dtype=np.float64), np.asarray(correct, dtype=bool)
    n_pos, n_neg = int(correct.sum()), int((~correct).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = pd.Series(score).rank(method="average").to_numpy()  # ties share their mean rank
    return float((ranks[correct].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ece(p: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the answer-weighted mean |accuracy − mean confidence| over equal-width
    confidence bins."""
    p, correct = np.asarray(p, dtype=np.float64), np.asarray(correct, dtype=np.float64)
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for k in range(bins):
        in_bin = which == k
        if in_bin.any():
            total += in_bin.sum() * abs(correct[in_bin].mean() - p[in_bin].mean())
    return float(total / max(len(p), 1))


def accuracy_at_coverage(score: np.ndarray, correct: np.ndarray, coverage: float) -> float:
    """Accuracy over the ``coverage`` share of answers with the highest score (ties broken by order)."""
    score, correct = np.asarray(score, dtype=np.float64), np.asarray(correct, dtype=np.float64)
    n = max(int(round(coverage * len(score))), 1)
    top = np.argsort(-score, kind="stable")[:n]
    return float(correct[top].mean())


def report(p: np.ndarray, correct: np.ndarray) -> dict:
    """AUROC, ECE and accuracy at 50/70/90 % coverage of one confidence."""
    out = {"auroc": round(auroc(p, correct), 4), "ece": round(ece(p, correct), 4)}
    for c in COVERAGES:
        out[f"accuracy_at_{round(c * 100)}"] = round(accuracy_at_coverage(p, correct, c), 4)
    return out


def cross_validated(p: np.ndarray, correct: np.ndarray, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Each answer's calibrated confidence from a Platt fit on the other folds: an honest ECE on the same
    split the final parameters are fitted on."""
    fold = np.random.default_rng(seed).permutation(len(p)) % folds
    out = np.empty(len(p))
    for k in range(folds):
        held = fold == k
        out[held] = calibrated(p[held], fit_platt(p[~held], correct[~held]))
    return out


def check_calibration(calibration) -> str | None:
    """Why a card's ``calibration`` object cannot be used (None when it can)."""
    if not isinstance(calibration, dict):
        return "must be an object"
    for key in ("a", "b"):
        value = calibration.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return f"{key!r} must be a finite number"
    threshold = calibration.get("threshold", GUESS_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        return "'threshold' must be a number between 0 and 1"
    return None
