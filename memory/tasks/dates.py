"""Dates to ISO 8601 with an attentive encoder-decoder: rewrite a date written in one of many human formats
as YYYY-MM-DD, character by character."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from nprog.memory.tasks.base import Demo, Headline
from nprog.memory.tasks.seq2seq import Seq2SeqTask
from nprog.memory.tasks.training import TrainConfig

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]  # fmt: skip
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


# Slashes and dots are day first (DD/MM/YYYY), as in most of the world: one convention keeps every input
# unambiguous ("03/04/2011" is the 3rd of April).
DATE_FORMATS: list[Callable[[datetime.date], str]] = [
    lambda d: f"{_ordinal(d.day)} of {MONTHS[d.month - 1]} {d.year}",  # 3rd of March 2011
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",  # 03/03/2011
    lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",  # March 3, 2011
    lambda d: d.isoformat(),  # 2011-03-03
    lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",  # 3 March 2011
    lambda d: f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}",  # 3 Mar 2011
    lambda d: f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}",  # Mar 3, 2011
    lambda d: f"{WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} {d.day}, {d.year}",  # Thursday, March 3, 2011
    lambda d: f"{WEEKDAYS[d.weekday()][:3]} {d.day} {MONTHS[d.month - 1][:3]} {d.year}",  # Thu 3 Mar 2011
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",  # 03.03.2011
    lambda d: f"{d.year}{d.month:02d}{d.day:02d}",  # 20110303
    lambda d: f"{MONTHS[d.month - 1]} {_ordinal(d.day)}, {d.year}",  # March 3rd, 2011
    lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",  # 2011/03/03
    lambda d: f"{d.day}/{d.month}/{d.year}",  # 3/3/2011
]
_CASINGS: list[Callable[[str], str]] = [str, str, str, str.lower, str.upper]  # 3 in 5 keep their casing


@dataclass
class DatesTask(Seq2SeqTask):
    """Rewrite a date written in one of 14 human formats (random casing) as YYYY-MM-DD, char by char.

    Dates are uniform over first_year..last_year; the target has 10 characters plus EOS.
    """

    name: str = "dates"
    checkpoint_dir: str = "attention-dates"
    unit: str = "dates"
    first_year: int = 1900  # earliest year drawn
    last_year: int = 2099  # latest year drawn
    train_config: TrainConfig = field(default_factory=lambda: TrainConfig(steps=4000, batch_size=64, lr=2e-3))

    demo: ClassVar[Demo] = Demo(
        "Attention · dates",
        "An **encoder-decoder with attention** (Bahdanau et al. 2015) rewrites a date written in one of 14 "
        "human formats as YYYY-MM-DD, one character at a time. The picture is its attention matrix: for each "
        "output character (row), which input characters (columns) it read.",
        headlines=(
            Headline("model", "exact", "Exact with attention", "{:.1%}", "dates rewritten with every character right"),
            Headline("baseline", "exact", "… without attention", "{:.1%}", "the same encoder-decoder without attention"),
        ),
        typed="Type a date",
        placeholder="e.g. 3rd of March 2011, July 4, 1976, 25/12/2023",
    )  # fmt: skip

    def sample_texts(self, n: int, generator: torch.Generator) -> list[tuple[str, str]]:
        """n (human-written date, ISO date) pairs."""
        first = datetime.date(self.first_year, 1, 1).toordinal()
        span = datetime.date(self.last_year, 12, 31).toordinal() - first + 1
        days = torch.randint(0, span, (n,), generator=generator).tolist()
        formats = torch.randint(0, len(DATE_FORMATS), (n,), generator=generator).tolist()
        casings = torch.randint(0, len(_CASINGS), (n,), generator=generator).tolist()
        pairs = []
        for day, fmt, casing in zip(days, formats, casings, strict=True):
            date = datetime.date.fromordinal(first + day)
            pairs.append((_CASINGS[casing](DATE_FORMATS[fmt](date)), date.isoformat()))
        return pairs

    def details(self) -> str:
        return f", {len(DATE_FORMATS)} formats"

    def output_facts(self, prediction: str) -> dict[str, Any]:
        return {"a valid date": is_iso_date(prediction)}  # a typed date's right answer is unknown


def is_iso_date(text: str) -> bool:
    """YYYY-MM-DD naming a day that exists (not 2020-02-31)."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True
