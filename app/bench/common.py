"""What the nprog and TAPAS benches share, so that both measure the same tables and questions (and neither
imports the other): the synthetic table and the latency questions."""

from __future__ import annotations

import numpy as np
import pandas as pd

LATENCY_QUESTIONS = (  # asked in turn on the 50-row synthetic table, by nprog and by TAPAS
    "which team has the most points?",
    "how many players scored more than 500,000 points?",
    "who was ranked 3?",
    "what was the result in 1998?",
)


def synthetic_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """10 columns of the kinds real tables have: ids, names, numbers with separators, dates, categories."""
    rng = np.random.default_rng(seed)
    years = rng.integers(1950, 2024, rows)
    months = np.array(["January", "March", "May", "July", "September", "November"])[rng.integers(0, 6, rows)]
    return pd.DataFrame(
        {
            "Rank": np.arange(1, rows + 1).astype(str),
            "Name": pd.Series(rng.integers(0, 10**9, rows)).map("Player {}".format),
            "Team": np.array(["Norway", "Canada", "Japan", "Kenya", "Brazil", "Italy"])[
                rng.integers(0, 6, rows)
            ],
            "Points": pd.Series(rng.integers(0, 10**6, rows)).map("{:,}".format),
            "Score": pd.Series(rng.integers(0, 6, rows)).astype(str)
            + "–"
            + pd.Series(rng.integers(0, 6, rows)).astype(str),
            "Date": pd.Series(months)
            + " "
            + pd.Series(rng.integers(1, 28, rows)).astype(str)
            + ", "
            + pd.Series(years).astype(str),
            "Year": years.astype(str),
            "Share": pd.Series(rng.random(rows) * 100).map("{:.1f}%".format),
            "Result": np.array(["Win", "Loss", "Draw"])[rng.integers(0, 3, rows)],
            "Notes": np.array(["", "Course record", "—", "Retired"])[rng.integers(0, 4, rows)],
        }
    )
