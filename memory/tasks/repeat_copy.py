"""Repeat copy (Graves, Wayne & Danihelka 2014, arXiv:1410.5401, §4.2): an NTM writes a sequence back a
given number of times, then an end marker; trained with a curriculum over the number of copies."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from nprog.memory.ntm import NTMConfig
from nprog.memory.tasks.base import Demo, Headline, bits_wrong, randint
from nprog.memory.tasks.ntm_sequence import CPU, NTMSequenceTask, vectors
from nprog.memory.tasks.training import TrainConfig


@dataclass
class RepeatCopyCurriculum:
    """Trains on few repeats (or short sequences) first, and widens the ranges as the training error drops.

    `levels` lists (longest sequence, most repeats); batches are drawn as by `RepeatCopyTask.sample`, but with
    lengths U{min_length..level's longest} and repeats U{min_repeats..level's most}. After each log window,
    once its mean wrong bits per sequence is at or below `advance_at`, the next level begins; the last level
    is the task's full range. Early levels are also cheap: fewer copies, fewer time steps per batch. The
    shipped levels keep every length from the start and widen only the copies: very short sequences alone
    let a controller with an LSTM keep them in its own state instead of learning to use the memory.
    The state lives here, not in the (shared) task object: one instance per training run.
    """

    task: RepeatCopyTask
    levels: tuple[tuple[int, int], ...]
    advance_at: float
    level: int = 0

    def sample(self, batch_size: int, generator: torch.Generator, device: torch.device) -> dict:
        task = self.task
        max_length, max_repeats = self.levels[self.level]
        length = int(torch.randint(task.min_length, max_length + 1, (), generator=generator))
        repeats = int(torch.randint(task.min_repeats, max_repeats + 1, (), generator=generator))
        return task.make_batch(length, repeats, batch_size, generator, device)

    def describe(self) -> dict[str, int]:
        max_length, max_repeats = self.levels[self.level]
        return {"max_length": max_length, "max_repeats": max_repeats}

    def update(self, row: dict[str, float]) -> str | None:
        """Called with each log row; -> a log message when the next level begins."""
        if self.level + 1 < len(self.levels) and row["bits_per_seq"] <= self.advance_at:
            self.level += 1
            max_length, max_repeats = self.levels[self.level]
            return f"curriculum: level {self.level}, lengths 1-{max_length}, repeats 1-{max_repeats}"
        return None


@dataclass
class RepeatCopyTask(NTMSequenceTask):
    """Write a sequence back a given number of times, then an end marker (§4.2).

    Input (L + 2 + nL + 1, B, 10): the L vectors on channels 0–7, a start marker on channel 8, then the repeat
    count n on channel 9 (normalised to mean 0, variance 1 over U{1..10}, as in the paper), then blanks.
    Target (nL + 1, B, 9): the sequence n times, then the end marker on channel 8. One (L, n) per batch.
    """

    name: str = "repeat-copy"
    checkpoint_dir: str = "ntm-repeat-copy"
    bits: int = 8  # width of each random vector
    min_length: int = 1  # shortest sequence
    max_length: int = 10  # longest sequence
    min_repeats: int = 1  # fewest copies
    max_repeats: int = 10  # most copies
    # (longest sequence, most repeats) of each curriculum level; the last must be the full range. () for none.
    curriculum_levels: tuple[tuple[int, int], ...] = ((10, 1), (10, 2), (10, 4), (10, 7), (10, 10))
    curriculum_advance_at: float = 1.0  # training bits wrong per sequence (log-window mean) to move on
    # The shipped checkpoint: `--minutes 50` stopped this at batch 18,214 (the best weights, batch 17,500).
    train_config: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=30000, batch_size=16, lr=1e-3, validate_every=500, validation_size=500, stop_at=0.0
        )
    )

    demo: ClassVar[Demo] = Demo(
        "NTM · repeat copy",
        "The same kind of **Neural Turing Machine** must write the sequence back a given number of times and "
        "then an end marker, so its read head has to jump back to the start for every copy. The picture shows "
        "its write and read weightings over memory slots and time, and its output against the target.",
        headlines=(
            Headline("model", "exact", "Copied without error", "{:.1%}", "sequences with every bit right"),
            Headline("model", "bits_per_seq", "Bits wrong per sequence", "{:.1f}", "lengths 1–10, 1–10 copies"),
        ),
    )  # fmt: skip

    def default_model_config(self) -> dict[str, Any]:
        # Hybrid controller, 80 feed-forward + 20 LSTM units. The repeat count must be kept and counted
        # down, which a feed-forward controller (all state in the memory) struggles with: 84.8 bits per
        # sequence after 8,060 batches. A 100-unit LSTM controller keeps short sequences in its own state
        # instead of the memory and learned far slower than the feed-forward copy NTM. The feed-forward
        # part forces the data through the memory; the small LSTM counts (the card's notes).
        return asdict(NTMConfig(input_size=self.bits + 2, output_size=self.bits + 1, controller="hybrid"))

    def curriculum(self) -> RepeatCopyCurriculum | None:
        if not self.curriculum_levels:
            return None
        if self.curriculum_levels[-1] != (self.max_length, self.max_repeats):
            raise ValueError("the last curriculum level must be the task's full range")
        return RepeatCopyCurriculum(self, self.curriculum_levels, self.curriculum_advance_at)

    def _normalise(self, repeats: int) -> float:
        # Mean and standard deviation of the discrete uniform distribution on min..max repeats.
        k = self.max_repeats - self.min_repeats + 1
        mean = (self.min_repeats + self.max_repeats) / 2
        return (repeats - mean) / math.sqrt((k * k - 1) / 12)

    def make_batch(self, length: int, repeats: int, batch_size: int, generator, device) -> dict:
        seq = torch.randint(0, 2, (length, batch_size, self.bits), generator=generator).float()  # (L, B, 8)
        out_steps = length * repeats + 1
        inputs = torch.zeros(length + 2 + out_steps, batch_size, self.bits + 2)
        inputs[:length, :, : self.bits] = seq
        inputs[length, :, self.bits] = 1.0  # start marker
        inputs[length + 1, :, self.bits + 1] = self._normalise(repeats)  # how many copies
        targets = torch.zeros(out_steps, batch_size, self.bits + 1)  # (nL + 1, B, 9)
        targets[:-1, :, : self.bits] = seq.repeat(repeats, 1, 1)
        targets[-1, :, self.bits] = 1.0  # end marker
        return {"inputs": inputs.to(device), "targets": targets.to(device)}

    def sample(self, batch_size: int, generator: torch.Generator, device: torch.device) -> dict:
        length = int(torch.randint(self.min_length, self.max_length + 1, (), generator=generator))
        repeats = int(torch.randint(self.min_repeats, self.max_repeats + 1, (), generator=generator))
        return self.make_batch(length, repeats, batch_size, generator, device)

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, generator: torch.Generator, device: torch.device, n: int = 1000
    ) -> dict:
        model.eval()
        lengths = torch.randint(self.min_length, self.max_length + 1, (n,), generator=generator)
        repeats = torch.randint(self.min_repeats, self.max_repeats + 1, (n,), generator=generator)
        pairs, counts = torch.unique(torch.stack([lengths, repeats], dim=1), dim=0, return_counts=True)
        total, exact = 0.0, 0
        for (length, reps), count in zip(pairs.tolist(), counts.tolist(), strict=True):
            batch = self.make_batch(length, reps, count, generator, device)
            logits, _ = self.outputs(model, batch)
            wrong = bits_wrong(logits, batch["targets"])
            total += wrong.sum().item()
            exact += int((wrong == 0).sum())
        return {"bits_per_seq": total / n, "exact": exact / n, "sequences": n}

    def validation_score(
        self, model: nn.Module, generator: torch.Generator, device: torch.device, n: int
    ) -> float:
        return self.evaluate(model, generator, device, n)["bits_per_seq"]

    def summary(self, results: dict, baseline: dict | None = None) -> list[str]:
        return [
            f"sequences copied without error: {100 * results['exact']:.1f}%",
            f"bits wrong per sequence: {results['bits_per_seq']:.3f} ({results['sequences']} sequences, "
            f"lengths {self.min_length}-{self.max_length}, repeats {self.min_repeats}-{self.max_repeats})",
        ]

    def figure_batch(self, generator: torch.Generator) -> tuple[dict, str]:
        return self.make_batch(5, 3, 1, generator, CPU), "repeat-copy, length 5, 3 copies"

    def live_batch(self, generator: torch.Generator) -> tuple[dict, str, str, dict[str, Any]]:
        length = randint(self.min_length, self.max_length, generator)
        repeats = randint(self.min_repeats, self.max_repeats, generator)
        batch = self.make_batch(length, repeats, 1, generator, CPU)
        times = "once" if repeats == 1 else f"{repeats} times"
        what = f"{vectors(length, self.bits)}, to be written back {times}"
        wanted = f"{'the vector' if length == 1 else f'the {length} vectors'} {times}, then the end marker"
        return batch, what, wanted, {"length": length, "copies": repeats}
