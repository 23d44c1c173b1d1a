"""A tiny dataset in WikiTableQuestions' layout (data/*.tsv + csv/), written by the tests themselves.

Four synthetic tables and templated questions whose answers pandas computes: enough to exercise
training end to end (vocabulary, program search, batches, dev evaluation) in seconds, without WTQ.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TEAMS = ["Norway", "Canada", "Japan", "Kenya"]


def _table(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 8
    return pd.DataFrame(
        {
            "Name": [f"Player {chr(65 + i)}{seed}" for i in range(n)],
            "Team": [TEAMS[i] for i in rng.integers(0, len(TEAMS), n)],
            "Points": rng.permutation(np.arange(10, 10 + 7 * n, 7))[:n],
            "Year": rng.integers(1990, 2020, n),
        }
    )


def _questions(df: pd.DataFrame) -> list[tuple[str, str]]:
    out = [
        ("which name has the most points?", df.loc[df.Points.idxmax(), "Name"]),
        ("which name has the fewest points?", df.loc[df.Points.idxmin(), "Name"]),
        ("how many players have more than 40 points?", str(int((df.Points > 40).sum()))),
    ]
    for team in TEAMS[:2]:
        out.append((f"how many players are in team {team.lower()}?", str(int((df.Team == team).sum()))))
    for i in (0, 3):
        out.append((f"what team is {df.Name[i].lower()} in?", df.Team[i]))
    # the operations added to the 2017 set: sum, average, difference, yes/no
    out.append(
        (
            f"what is the total points of team {TEAMS[0].lower()}?",
            str(int(df.Points[df.Team == TEAMS[0]].sum())),
        )
    )
    out.append(("what is the average points?", f"{df.Points.mean():g}"))
    a, b = df.Name[0], df.Name[3]
    out.append((f"how many more points did {a.lower()} have than {b.lower()}?",
                str(int(abs(df.Points[0] - df.Points[3])))))  # fmt: skip
    out.append(("is there a player with more than 60 points?", "yes" if (df.Points > 60).any() else "no"))
    return out


def write_tiny_wtq(root: Path) -> Path:
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "csv" / "tiny").mkdir(parents=True, exist_ok=True)
    rows = {"train": [], "dev": []}
    for t in range(4):
        df = _table(t)
        context = f"csv/tiny/{t}.csv"
        df.to_csv(root / context, index=False)
        for q, (question, answer) in enumerate(_questions(df)):
            split = "dev" if t == 3 else "train"
            rows[split].append(f"nu-{t}-{q}\t{question}\t{context}\t{answer}")
    for split, name in (("train", "random-split-1-train.tsv"), ("dev", "random-split-1-dev.tsv")):
        text = "id\tutterance\tcontext\ttargetValue\n" + "\n".join(rows[split]) + "\n"
        (root / "data" / name).write_text(text)
    return root
