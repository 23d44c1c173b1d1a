"""Parity with Adaptive Computation Time (Graves 2016, "Adaptive Computation Time for Recurrent Neural
Networks", arXiv:1603.08983, §3.1): an RNN with ACT, against the same RNN without it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import nn

from nprog.memory.act import ACTCell
from nprog.memory.tasks.base import Demo, Headline, LiveExample, Task
from nprog.memory.tasks.training import TrainConfig

CPU = torch.device("cpu")
# The fixed sample behind the live example's "steps by number of non-zero entries" panel (the same seed as
# `nprog memory eval`'s default, so the panel shows the vectors the evaluation measured).
CONTEXT_SEED = 1234


@dataclass
class ParityConfig:
    input_size: int = 16  # entries of the input vector
    hidden_size: int = 128  # recurrent units (the paper: 128 tanh units)
    cell: str = "rnn"  # "rnn" (tanh, as in the paper), "gru" or "lstm"
    max_steps: int = 20  # cap on ponder steps N; 1 gives the same network without ACT
    epsilon: float = 0.01  # halting threshold ε: halt once Σ h^n ≥ 1 − ε
    halting_bias: float = 1.0  # initial bias of the halting unit


class ParityModel(nn.Module):
    """An RNN that reads one vector and ponders on it (the sequence has length 1), then a logistic output."""

    def __init__(self, config: ParityConfig):
        super().__init__()
        self.config = c = config
        cells = {
            "rnn": lambda: nn.RNNCell(c.input_size + 1, c.hidden_size, nonlinearity="tanh"),
            "gru": lambda: nn.GRUCell(c.input_size + 1, c.hidden_size),
            "lstm": lambda: nn.LSTMCell(c.input_size + 1, c.hidden_size),
        }
        self.act = ACTCell(cells[c.cell](), c.hidden_size, c.max_steps, c.epsilon, c.halting_bias)
        self.output = nn.Linear(c.hidden_size, 1)

    def forward(self, x: torch.Tensor):
        """x (B, input_size) in {−1, 0, 1} -> logits (B,) of "odd", and the ACT bookkeeping."""
        out = self.act(x, self.act.create_new_state(x.shape[0]))
        h = out.state[0] if isinstance(out.state, tuple) else out.state  # (B, hidden_size)
        return self.output(h).squeeze(-1), out


@dataclass
class ParityTask(Task):
    """Parity of a vector (ACT paper §3.1): a random number 1..D of the D entries are set to +1 or −1 at
    random, the rest are 0; the target is 1 when the number of +1 entries is odd. The whole vector arrives at
    once, so a network without ACT must compute parity in a single step; with ACT it can take several."""

    name: str = "parity"
    checkpoint_dir: str = "act-parity"
    baseline_name: str | None = "without ACT"
    size: int = 16  # entries per input vector (the paper uses 64; 16 trains in minutes on a CPU)
    time_penalty: float = 1e-3  # τ, weight of the ponder cost in the loss (the paper sweeps 1e-4..1e-1)
    eval_size: int = 10000  # vectors in the evaluation sample (cheap: one forward pass)
    train_config: TrainConfig = field(
        default_factory=lambda: TrainConfig(steps=10000, batch_size=512, lr=3e-3)
    )

    demo: ClassVar[Demo] = Demo(
        "ACT · parity",
        "An RNN with **Adaptive Computation Time** (Graves 2016) sees a vector of +1, −1 and 0 entries all at "
        "once and says whether the number of +1 entries is odd; ACT lets it ponder for several steps before it "
        "answers. The picture shows the input, how the halting weight is spread over the ponder steps, and "
        "where this input lies among 2,000 random ones (steps by number of non-zero entries).",
        headlines=(
            Headline("model", "error", "Parity error with ACT", "{:.2%}"),
            Headline("baseline", "error", "… without ACT", "{:.2%}", "the same network, one step per input"),
            Headline("model", "mean_steps", "Mean ponder steps", "{:.2f}"),
        ),
    )

    def default_model_config(self) -> dict[str, Any]:
        return asdict(ParityConfig(input_size=self.size))

    def baseline_model_config(self, model_config: dict[str, Any]) -> dict[str, Any]:
        return {**model_config, "max_steps": 1}

    def build_model(self, model_config: dict[str, Any]) -> nn.Module:
        return ParityModel(ParityConfig(**model_config))

    def sample(
        self, batch_size: int, generator: torch.Generator, device: torch.device, size: int | None = None
    ) -> dict:
        size = self.size if size is None else size
        count = torch.randint(1, size + 1, (batch_size, 1), generator=generator)  # (B, 1) non-zero entries
        rank = torch.rand(batch_size, size, generator=generator).argsort(dim=1).argsort(dim=1)  # random ranks
        signs = torch.randint(0, 2, (batch_size, size), generator=generator).float() * 2 - 1  # (B, D) ±1
        x = torch.where(rank < count, signs, torch.zeros_like(signs))  # (B, D)
        target = ((x == 1).sum(dim=1) % 2).float()  # (B,)
        return {"inputs": x.to(device), "targets": target.to(device)}

    def loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        logits, act = model(batch["inputs"])
        loss = F.binary_cross_entropy_with_logits(logits, batch["targets"])
        error = ((logits.detach() > 0).float() != batch["targets"]).float().mean().item()
        return loss + self.time_penalty * act.ponder_cost.mean(), {
            "error": error,
            "steps": act.steps.mean().item(),
        }

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, generator: torch.Generator, device: torch.device, n: int | None = None
    ) -> dict:
        model.eval()
        n = self.eval_size if n is None else n
        batch = self.sample(n, generator, device, size=model.config.input_size)
        logits, act = model(batch["inputs"])
        error = ((logits > 0).float() != batch["targets"]).float().mean().item()
        return {
            "error": error,
            "mean_steps": act.steps.mean().item(),
            "vectors": n,
            "bits": model.config.input_size,
        }

    def summary(self, results: dict, baseline: dict | None = None) -> list[str]:
        steps = results["mean_steps"]
        line = f"parity error: {100 * results['error']:.2f}% with ACT (mean ponder steps {steps:.2f})"
        if baseline is not None:
            line += f", {100 * baseline['error']:.2f}% without ACT"
        return [line + f" ({results['vectors']} vectors of {results['bits']} entries)"]

    def figure(self, model: nn.Module, generator: torch.Generator) -> Figure:
        size = model.config.input_size
        batch = self.sample(2000, generator, CPU, size=size)
        with torch.no_grad():
            logits, act = model(batch["inputs"])
        fig = Figure(figsize=(11, 4.5), layout="constrained")
        ax_inputs, ax_steps, ax_curve = fig.subplots(1, 3, width_ratios=[1.2, 1, 1.4])
        shown = 16
        ax_inputs.imshow(batch["inputs"][:shown].numpy(), cmap="coolwarm", vmin=-1, vmax=1, aspect="auto")
        ax_inputs.set_title("inputs (red +1, blue −1)", fontsize=10)
        ax_inputs.set_xlabel("entry")
        ax_inputs.set_ylabel("example")
        ponder = (act.steps + act.remainder)[:shown]  # N + R: whole steps plus the last step's share
        ax_steps.barh(range(shown), ponder.numpy(), color="tab:orange")
        ax_steps.set_ylim(shown - 0.5, -0.5)  # rows line up with the input image
        ax_steps.set_yticks([])
        ax_steps.set_xlabel("ponder cost N + R")
        ax_steps.set_title("ponder time per input", fontsize=10)
        nonzero = (batch["inputs"] != 0).sum(dim=1)
        counts = range(1, size + 1)
        means = [act.steps[nonzero == k].mean().item() for k in counts]
        ax_curve.plot(list(counts), means, marker="o")
        ax_curve.set_xlabel("non-zero entries in the input")
        ax_curve.set_ylabel("mean ponder steps")
        ax_curve.set_title("steps by number of non-zero entries", fontsize=10)
        error = ((logits > 0).float() != batch["targets"]).float().mean().item()
        fig.suptitle(f"ACT on parity: ponder steps per input (error {100 * error:.1f}% on 2000 vectors)")
        return fig

    def _live_example(self, model: nn.Module, generator: torch.Generator, text: str | None) -> LiveExample:
        size = model.config.input_size
        batch = self.sample(1, generator, CPU, size=size)
        # The context panel: mean ponder steps by number of non-zero entries over a fixed sample.
        sample = self.sample(2000, torch.Generator().manual_seed(CONTEXT_SEED), CPU, size=size)
        with torch.no_grad():
            logits, act = model(batch["inputs"])
            _, sample_act = model(sample["inputs"])
        x = batch["inputs"][0]  # (D,)
        nonzero, plus = int((x != 0).sum()), int((x == 1).sum())
        probability = float(torch.sigmoid(logits[0]))
        predicted, true = int(probability > 0.5), int(batch["targets"][0])
        steps, remainder = int(act.steps[0]), float(act.remainder[0])
        halting = act.halting[0, :steps]  # (N,) p^n

        fig = Figure(figsize=(12, 3.6), layout="constrained")
        ax_input, ax_halt, ax_curve = fig.subplots(1, 3, width_ratios=[1.6, 1, 1.2])
        ax_input.imshow(x.view(1, -1).numpy(), cmap="coolwarm", vmin=-1, vmax=1, aspect="auto")
        for i, v in enumerate(x.tolist()):
            ax_input.text(i, 0, {1.0: "+1", -1.0: "−1"}.get(v, "0"), ha="center", va="center", fontsize=8)
        ax_input.set_yticks([])
        ax_input.set_xlabel("entry")
        ax_input.set_title(f"input: {nonzero} non-zero entries, {plus} of them +1", fontsize=10)
        ax_halt.bar(range(1, steps + 1), halting.numpy(), color="tab:orange")
        ax_halt.set_xticks(range(1, steps + 1))
        ax_halt.set_ylim(0, 1)
        ax_halt.set_xlabel("ponder step n")
        ax_halt.set_ylabel("halting weight p^n")
        ax_halt.set_title(f"{steps} ponder steps (N + R = {steps + remainder:.2f})", fontsize=10)
        nonzero_all = (sample["inputs"] != 0).sum(dim=1)
        counts = [k for k in range(1, size + 1) if bool((nonzero_all == k).any())]
        means = [sample_act.steps[nonzero_all == k].mean().item() for k in counts]
        ax_curve.plot(counts, means, marker="o", color="tab:blue", label="mean of 2000 random inputs")
        ax_curve.scatter([nonzero], [steps], color="red", zorder=3, s=60, label="this input")
        ax_curve.set_xlabel("non-zero entries in the input")
        ax_curve.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_curve.set_ylabel("ponder steps")
        ax_curve.set_title("steps by number of non-zero entries", fontsize=10)
        ax_curve.legend(fontsize=8, loc="lower right")
        names = ("even", "odd")
        fig.suptitle(f"ACT on parity: answered {names[predicted]} after {steps} steps (true: {names[true]})")
        return LiveExample(
            task=self.name,
            input=" ".join({1.0: "+1", -1.0: "−1"}.get(v, "0") for v in x.tolist()),
            output=f"{names[predicted]} (p(odd) = {probability:.2f})",
            target=names[true],
            correct=predicted == true,
            facts={
                "non-zero entries": nonzero,
                "+1 entries": plus,
                "ponder steps": steps,
                "ponder cost N + R": round(steps + remainder, 3),
                "p(odd)": round(probability, 4),
            },
            figure=fig,
        )
