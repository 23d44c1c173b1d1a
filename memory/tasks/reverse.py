"""Reverse with an attentive encoder-decoder: write a random lower-case string of up to 40 letters backwards,
character by character."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch

from nprog.memory.tasks.base import Demo, Headline
from nprog.memory.tasks.seq2seq import Seq2SeqTask
from nprog.memory.tasks.training import TrainConfig


@dataclass
class ReverseTask(Seq2SeqTask):
    """Write a random lower-case string of 1..40 letters backwards, one character at a time.

    Every output character depends on one input character far away, so a decoder that sees only a fixed-size
    summary of the input must squeeze up to 40 letters into it; attention reads each one when it is needed.
    """

    name: str = "reverse"
    checkpoint_dir: str = "attention-reverse"
    min_length: int = 1  # shortest string
    max_length: int = 40  # longest string
    max_output: int = 41  # max_length characters plus EOS
    train_config: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=6000, batch_size=64, lr=2e-3, validate_every=500, stop_at=0.0
        )
    )

    demo: ClassVar[Demo] = Demo(
        "Attention · reverse",
        "The same **attentive encoder-decoder** writes a string of up to 40 letters backwards. Its attention "
        "matrix is the anti-diagonal: each output character reads exactly the input character it copies, "
        "which a decoder without attention cannot do for long strings.",
        headlines=(
            Headline("model", "exact", "Exact with attention", "{:.1%}", "strings reversed with every letter right"),
            Headline("baseline", "exact", "… without attention", "{:.1%}", "the same encoder-decoder without attention"),
        ),
        typed="Type lower-case letters to reverse",
        placeholder="e.g. attention",
    )  # fmt: skip

    def sample_texts(self, n: int, generator: torch.Generator) -> list[tuple[str, str]]:
        lengths = torch.randint(self.min_length, self.max_length + 1, (n,), generator=generator).tolist()
        letters = torch.randint(0, 26, (n, self.max_length), generator=generator).tolist()
        texts = [
            "".join(chr(ord("a") + c) for c in row[:length])
            for row, length in zip(letters, lengths, strict=True)
        ]
        return [(text, text[::-1]) for text in texts]

    def details(self) -> str:
        return f", lengths {self.min_length}-{self.max_length}"

    def typed_target(self, text: str) -> str | None:
        return text[::-1]
