"""Copy (Graves, Wayne & Danihelka 2014, arXiv:1410.5401, §4.1): an NTM writes a sequence back after a
delimiter."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from nprog.memory.ntm import NTMConfig
from nprog.memory.tasks.base import Demo, Headline, bits_wrong, randint
from nprog.memory.tasks.ntm_sequence import CPU, NTMSequenceTask, vectors
from nprog.memory.tasks.training import TrainConfig


@dataclass
class CopyTask(NTMSequenceTask):
    """Copy a sequence of random 8-bit vectors after a delimiter (§4.1).

    Input (2L + 1, B, 9): the L vectors on channels 0–7, then the delimiter on channel 8, then L blank steps
    during which the machine must write the sequence back. Target (L, B, 8). All sequences of one batch have
    the same length L ~ U{min_length..max_length}, so no masking is needed.
    """

    name: str = "copy"
    checkpoint_dir: str = "ntm-copy"
    bits: int = 8  # width of each random vector
    min_length: int = 1  # shortest training sequence
    max_length: int = 20  # longest training sequence
    generalization_lengths: tuple[int, ...] = (30, 50, 80)  # lengths beyond training reported in the card
    train_config: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=10000, batch_size=16, lr=1e-3, validate_every=250, validation_size=1000, stop_at=0.0
        )
    )
    demo: ClassVar[Demo] = Demo(
        "NTM · copy",
        "A **Neural Turing Machine** (Graves et al. 2014) reads a sequence of random 8-bit vectors and a "
        "delimiter, then must write the sequence back from its external memory. The picture shows where its "
        "write head stores each vector (one memory slot per time step) and how its read head walks the same "
        "slots again to read them out.",
        headlines=(
            Headline("model", "bits_per_seq", "Bits wrong per sequence", "{:.3f}", "lengths 1–20, as in training"),
            Headline("model", "generalization.50", "… at length 50", "{:.3f}", "never trained on sequences this long"),
            Headline("model", "generalization.80", "… at length 80", "{:.3f}", "never trained on sequences this long"),
        ),
    )  # fmt: skip

    def default_model_config(self) -> dict[str, Any]:
        # A feed-forward controller cannot keep the sequence in its own state, so it must learn to use the
        # memory: it converged in 4,250 batches, where an LSTM controller with the same settings still got
        # about 8 bits per sequence wrong after 8,000 (the card's notes).
        return asdict(NTMConfig(input_size=self.bits + 1, output_size=self.bits, controller="feedforward"))

    def make_batch(
        self, length: int, batch_size: int, generator: torch.Generator, device: torch.device
    ) -> dict:
        seq = torch.randint(0, 2, (length, batch_size, self.bits), generator=generator).float()  # (L, B, 8)
        inputs = torch.zeros(2 * length + 1, batch_size, self.bits + 1)  # (2L + 1, B, 9)
        inputs[:length, :, : self.bits] = seq
        inputs[length, :, self.bits] = 1.0  # delimiter
        return {"inputs": inputs.to(device), "targets": seq.to(device)}

    def sample(self, batch_size: int, generator: torch.Generator, device: torch.device) -> dict:
        length = randint(self.min_length, self.max_length, generator)
        return self.make_batch(length, batch_size, generator, device)

    @torch.no_grad()
    def bits_per_sequence(self, model: nn.Module, lengths: torch.Tensor, generator, device) -> float:
        """Mean wrong bits per sequence over sequences of the given lengths, batched by length."""
        total = 0.0
        for length, count in zip(*torch.unique(lengths, return_counts=True), strict=True):
            batch = self.make_batch(int(length), int(count), generator, device)
            logits, _ = self.outputs(model, batch)
            total += bits_wrong(logits, batch["targets"]).sum().item()
        return total / len(lengths)

    def validation_score(
        self, model: nn.Module, generator: torch.Generator, device: torch.device, n: int
    ) -> float:
        model.eval()
        lengths = torch.randint(self.min_length, self.max_length + 1, (n,), generator=generator)
        return self.bits_per_sequence(model, lengths, generator, device)

    def evaluate(
        self, model: nn.Module, generator: torch.Generator, device: torch.device, n: int = 1000
    ) -> dict:
        model.eval()
        lengths = torch.randint(self.min_length, self.max_length + 1, (n,), generator=generator)
        results = {"bits_per_seq": self.bits_per_sequence(model, lengths, generator, device), "sequences": n}
        results["generalization"] = {
            str(length): self.bits_per_sequence(model, torch.full((n,), length), generator, device)
            for length in self.generalization_lengths
        }
        return results

    def summary(self, results: dict, baseline: dict | None = None) -> list[str]:
        lines = [
            f"length {length}: {bits:.3f} bits wrong per sequence ({results['sequences']} sequences, "
            f"{100 * bits / (int(length) * self.bits):.2f}% of bits)"
            for length, bits in results["generalization"].items()
        ]
        lines.append(
            f"bits wrong per sequence: {results['bits_per_seq']:.3f} "
            f"({results['sequences']} sequences, lengths {self.min_length}-{self.max_length})"
        )
        return lines

    def figure_batch(self, generator: torch.Generator) -> tuple[dict, str]:
        return self.make_batch(10, 1, generator, CPU), "copy, length 10"

    def live_batch(self, generator: torch.Generator) -> tuple[dict, str, str, dict[str, Any]]:
        length = randint(self.min_length, self.max_length, generator)
        batch = self.make_batch(length, 1, generator, CPU)
        what = f"{vectors(length, self.bits)}, then the delimiter"
        wanted = "the same vector" if length == 1 else f"the same {length} vectors"
        return batch, what, wanted, {"length": length}
