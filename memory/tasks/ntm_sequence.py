"""What copy and repeat-copy share: an NTM reads the whole input and the answer is read off its last outputs;
their pictures show the NTM's write and read weightings over memory slots and time."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import nn

from nprog.memory.ntm import NTM, NTMConfig
from nprog.memory.tasks.base import LiveExample, Task, bits_wrong

CPU = torch.device("cpu")


class NTMSequenceTask(Task):
    """Copy and repeat-copy: an NTM reads the whole input; the answer is read off its last outputs.

    A subclass draws its batches and says in words what its examples are (`figure_batch`, `live_batch`);
    the pictures are drawn here.
    """

    def build_model(self, model_config: dict[str, Any]) -> nn.Module:
        return NTM(NTMConfig(**model_config))

    def outputs(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, Any]:
        """-> logits of the answer steps (T_answer, B, C) and the full `NTMOutput`."""
        out = model(batch["inputs"])
        return out.logits[-batch["targets"].shape[0] :], out

    def loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        logits, _ = self.outputs(model, batch)
        loss = F.binary_cross_entropy_with_logits(logits, batch["targets"])
        return loss, {"bits_per_seq": bits_wrong(logits.detach(), batch["targets"]).mean().item()}

    def figure_batch(self, generator: torch.Generator) -> tuple[dict, str]:
        """One fixed-size example (batch of 1, on CPU) for `figure`, and its title."""
        raise NotImplementedError

    def live_batch(self, generator: torch.Generator) -> tuple[dict, str, str, dict[str, Any]]:
        """A random example (batch of 1, on CPU) -> batch, the input in words, the wanted output in words,
        and the facts that describe it (length, copies)."""
        raise NotImplementedError

    def figure(self, model: nn.Module, generator: torch.Generator) -> Figure:
        batch, title = self.figure_batch(generator)
        with torch.no_grad():
            out = model(batch["inputs"])
        writes = out.write_weights[:, 0, 0]  # (T, N) first write head
        reads = out.read_weights[:, 0, 0]  # (T, N) first read head
        rows = slot_band(torch.cat([writes, reads]))  # the slots the heads used, wrapping around the end
        fig = Figure(figsize=(10, 6.5), layout="constrained")
        axes = fig.subplots(2, 2)
        panels = [
            (axes[0, 0], batch["inputs"][:, 0].T, "input (channels × time)", "Greys"),
            (
                axes[0, 1],
                torch.sigmoid(out.logits[:, 0]).T,
                "output probabilities (channels × time)",
                "Greys",
            ),
            (axes[1, 0], writes[:, rows].T, "write weighting (memory slot × time)", "viridis"),
            (axes[1, 1], reads[:, rows].T, "read weighting (memory slot × time)", "viridis"),
        ]
        time_heatmaps(panels, axes[1], rows)
        fig.suptitle(f"NTM {title}: where the heads write and read")
        return fig

    def _live_example(self, model: nn.Module, generator: torch.Generator, text: str | None) -> LiveExample:
        batch, what, wanted, facts = self.live_batch(generator)
        with torch.no_grad():
            logits, out = self.outputs(model, batch)  # logits (T_answer, 1, C)
        targets = batch["targets"]
        wrong = int(bits_wrong(logits, targets).item())
        facts = {**facts, "bits wrong": wrong, "answer bits": targets.numel()}

        inputs = batch["inputs"][:, 0]  # (T, C_in)
        probs = torch.sigmoid(out.logits[:, 0])  # (T, C_out) over every step; the answer is the last T_answer
        errors = ((logits[:, 0] > 0).float() != targets[:, 0]).nonzero()  # (k, 2) (answer step, channel)
        errors[:, 0] += inputs.shape[0] - targets.shape[0]  # to steps of the whole sequence
        writes, reads = out.write_weights[:, 0, 0], out.read_weights[:, 0, 0]  # (T, N) first heads
        slots = slot_band(torch.cat([writes, reads]))
        target_image = torch.zeros_like(probs)  # the target on the time axis of the whole sequence
        target_image[-targets.shape[0] :] = targets[:, 0]
        fig = Figure(figsize=(12, 6), layout="constrained")
        axes = fig.subplot_mosaic(
            [["in", "in", "target", "target", "out", "out"], ["w", "w", "w", "r", "r", "r"]]
        )
        panels = [
            (axes["in"], inputs.T, "input (channel × time)", "Greys"),
            (axes["target"], target_image.T, "target", "Greys"),
            (axes["out"], probs.T, "output probabilities (red × = wrong bit)", "Greys"),
            (axes["w"], writes[:, slots].T, "write weighting (memory slot × time)", "viridis"),
            (axes["r"], reads[:, slots].T, "read weighting (memory slot × time)", "viridis"),
        ]
        time_heatmaps(panels, (axes["w"], axes["r"]), slots)
        if len(errors):
            axes["out"].scatter(errors[:, 0].numpy(), errors[:, 1].numpy(), marker="x", color="red", s=30)
        fig.suptitle(f"NTM {self.name}: {what}")
        return LiveExample(
            task=self.name,
            input=what,
            output=f"{wrong} of {targets.numel()} bits wrong",
            target=wanted,
            correct=wrong == 0,
            facts=facts,
            figure=fig,
        )


def vectors(length: int, bits: int) -> str:
    """ "3 random 8-bit vectors": an example's sequence in words."""
    return f"{length} random {bits}-bit vector{'' if length == 1 else 's'}"


def slot_band(weights: torch.Tensor, margin: int = 2) -> list[int]:
    """The memory slots any head touched (weight > 0.05), as one band that may wrap around the end.

    Shifts are circular, so a head at slot 0 leaks onto slot N − 1: the band is everything outside the
    largest circular gap between touched slots, with a margin. weights (T, N) -> slot indices in order.
    """
    n = weights.shape[1]
    touched = (weights > 0.05).any(dim=0).nonzero().flatten().tolist()
    if not touched:
        return list(range(n))
    gaps = [((touched[(i + 1) % len(touched)] - t) % n or n, t) for i, t in enumerate(touched)]
    gap, before = max(gaps)  # the widest run of untouched slots follows slot `before`
    length = min(n, n - gap + 1 + 2 * margin)
    start = (before + gap - margin) % n
    return [(start + k) % n for k in range(length)]


def time_heatmaps(panels, memory_axes, slots: list[int]) -> None:
    """Draw (axes, image, title, colormap) panels of values in [0, 1] over time steps; the memory panels show
    the band of slots the heads used, labelled with slot numbers rather than positions in the band."""
    for ax, image, label, cmap in panels:
        ax.imshow(image.numpy(), aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("time step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ticks = list(range(0, len(slots), max(1, len(slots) // 8)))
    for ax in memory_axes:
        ax.set_yticks(ticks, [str(slots[t]) for t in ticks])
