"""The canonical tasks of augmented RNNs, with data generators, losses, training and evaluation loops.

- copy and repeat-copy: Graves, Wayne & Danihelka 2014 (arXiv:1410.5401) §4.1 and §4.2, on the NTM;
- parity: Graves 2016 ("Adaptive Computation Time for Recurrent Neural Networks", arXiv:1603.08983) §3.1,
  on an RNN with ACT, against the same RNN without it;
- dates and reverse: rewrite dates written in many human formats into ISO 8601 (YYYY-MM-DD), or write a
  string of up to 40 letters backwards, character by character, with an attentive encoder-decoder (Bahdanau,
  Cho & Bengio 2015, arXiv:1409.0473), against the same encoder-decoder whose decoder sees only the
  encoder's final state (Cho et al. 2014).

All data come from a caller-given `torch.Generator` (a CPU one) and are then moved to the device, so the
same seed gives the same examples on every device. Each task is an object with the same methods; the CLI
(`app/memory_cli.py`) only ever talks to `TASKS[name]`.
"""

from __future__ import annotations

import datetime
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from nprog.memory.act import ACTCell
from nprog.memory.attention import Seq2Seq, Seq2SeqConfig
from nprog.memory.ntm import NTM, NTMConfig

# --------------------------------------------------------------------------------------------------------
# Training loop shared by every task.
# --------------------------------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    steps: int  # number of parameter updates (batches)
    batch_size: int  # examples per batch
    lr: float  # Adam learning rate
    clip: float = 10.0  # gradient norm clip; NTM gradients spike when the heads first lock on
    log_every: int = 100  # batches between log lines (averages over those batches)
    validate_every: int = (
        0  # batches between validations on a fixed sample; the best weights are kept (0: off)
    )
    validation_size: int = 200  # examples in the fixed validation sample
    validation_seed: int = 4321  # its seed, distinct from training and evaluation seeds
    stop_at: float | None = None  # stop early once the validation score is at or below this
    minutes: float | None = None  # stop early after this much training wall time


def train(
    task: Task,
    model: nn.Module,
    config: TrainConfig,
    generator: torch.Generator,
    device: torch.device,
    log: Callable[[str], None] = print,
) -> list[dict[str, float]]:
    """Trains `model` on fresh batches of `task`; returns the logged curve (one dict per log line).

    With validation on, the model ends with the weights of its best validation score (lower is better), and
    training stops early at `stop_at`. Validation draws from its own generator, so it never changes which
    batches training sees: a run stopped early follows exactly the first steps of a longer one.
    """
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    curve: list[dict[str, float]] = []
    sums: dict[str, float] = {}
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None  # (score, step, weights)
    curriculum = task.curriculum()  # None for tasks trained on their full distribution from the start
    source = task if curriculum is None else curriculum
    start = time.perf_counter()
    for step in range(1, config.steps + 1):
        batch = source.sample(config.batch_size, generator, device)
        loss, metrics = task.loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        optimizer.step()
        for key, value in {"loss": loss.item(), **metrics}.items():
            sums[key] = sums.get(key, 0.0) + value
        if step % config.log_every == 0 or step == config.steps:
            n = config.log_every if step % config.log_every == 0 else step % config.log_every
            row = {"step": step, "seconds": round(time.perf_counter() - start, 1)}
            row.update({key: round(value / n, 5) for key, value in sums.items()})
            if curriculum is not None:
                row.update(curriculum.describe())  # the level these batches were drawn from
                message = curriculum.update(row)
            curve.append(row)
            log(" ".join(f"{key}={value}" for key, value in row.items()))
            if curriculum is not None and message:
                log(f"step={step} {message}")
            sums = {}
        out_of_time = config.minutes is not None and time.perf_counter() - start > 60 * config.minutes
        if config.validate_every and (
            step % config.validate_every == 0 or step == config.steps or out_of_time
        ):
            validation = torch.Generator().manual_seed(config.validation_seed)
            score = task.validation_score(model, validation, device, config.validation_size)
            model.train()
            if best is None or score < best[0]:
                best = (score, step, {k: v.detach().clone() for k, v in model.state_dict().items()})
            curve.append({"step": step, "validation": round(score, 5)})
            log(f"step={step} validation={score:.5f} best={best[0]:.5f}@{best[1]}")
            if config.stop_at is not None and score <= config.stop_at:
                break
        if out_of_time:
            log(f"step={step} stopping: {config.minutes} minutes of training are up")
            break
    if best is not None:
        model.load_state_dict(best[2])
    model.eval()
    return curve


def _bits_wrong(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sequence count of wrong bits after thresholding at 0.5. logits, target (T, B, C) -> (B,)."""
    return ((logits > 0).float() != target).float().sum(dim=(0, 2))


class Curriculum(Protocol):
    """Draws the training batches of one run in place of `Task.sample`, and adapts to the logged curve."""

    def sample(self, batch_size: int, generator: torch.Generator, device: torch.device) -> dict[str, Any]: ...

    def describe(self) -> dict[str, int]: ...  # the current level, added to every log row

    def update(self, row: dict[str, float]) -> str | None: ...  # after each log row; a message on change


class Task:
    """Interface of a task. `model_config` is a plain dict so that it round-trips through config.json."""

    name: str
    checkpoint_dir: str  # directory name under data/models/
    train_config: TrainConfig  # the budget and settings the shipped checkpoint was trained with
    baseline_name: str | None = None  # e.g. "without ACT": a variant trained with the same budget, or None

    def default_model_config(self) -> dict[str, Any]:
        raise NotImplementedError

    def baseline_model_config(self, model_config: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def build_model(self, model_config: dict[str, Any]) -> nn.Module:
        raise NotImplementedError

    def sample(self, batch_size: int, generator: torch.Generator, device: torch.device) -> dict[str, Any]:
        raise NotImplementedError

    def loss(self, model: nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def evaluate(
        self, model: nn.Module, generator: torch.Generator, device: torch.device, n: int = 1000
    ) -> dict:
        raise NotImplementedError

    def summary(self, results: dict[str, Any], baseline: dict[str, Any] | None = None) -> list[str]:
        """Human-readable lines; the last one is the task's headline figure."""
        raise NotImplementedError

    def validation_score(
        self, model: nn.Module, generator: torch.Generator, device: torch.device, n: int
    ) -> float:
        """The figure to keep the best weights by during training; lower is better."""
        raise NotImplementedError

    def curriculum(self) -> Curriculum | None:
        """A fresh curriculum for one training run (it samples the batches instead of the task), or None."""
        return None


class NTMSequenceTask(Task):
    """Copy and repeat-copy: an NTM reads the whole input; the answer is read off its last outputs."""

    def build_model(self, model_config: dict[str, Any]) -> nn.Module:
        return NTM(NTMConfig(**model_config))

    def outputs(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, Any]:
        """-> logits of the answer steps (T_answer, B, C) and the full `NTMOutput`."""
        out = model(batch["inputs"])
        return out.logits[-batch["targets"].shape[0] :], out

    def loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        logits, _ = self.outputs(model, batch)
        loss = F.binary_cross_entropy_with_logits(logits, batch["targets"])
        return loss, {"bits_per_seq": _bits_wrong(logits.detach(), batch["targets"]).mean().item()}


# --------------------------------------------------------------------------------------------------------
# Copy (NTM paper §4.1).
# --------------------------------------------------------------------------------------------------------


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
        length = int(torch.randint(self.min_length, self.max_length + 1, (), generator=generator))
        return self.make_batch(length, batch_size, generator, device)

    @torch.no_grad()
    def bits_per_sequence(self, model: nn.Module, lengths: torch.Tensor, generator, device) -> float:
        """Mean wrong bits per sequence over sequences of the given lengths, batched by length."""
        total = 0.0
        for length, count in zip(*torch.unique(lengths, return_counts=True), strict=True):
            batch = self.make_batch(int(length), int(count), generator, device)
            logits, _ = self.outputs(model, batch)
            total += _bits_wrong(logits, batch["targets"]).sum().item()
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


# --------------------------------------------------------------------------------------------------------
# Repeat copy (NTM paper §4.2).
# --------------------------------------------------------------------------------------------------------


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
            wrong = _bits_wrong(logits, batch["targets"])
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


# --------------------------------------------------------------------------------------------------------
# Parity with Adaptive Computation Time (ACT paper §3.1).
# --------------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------------
# Dates to ISO 8601, with and without attention.
# --------------------------------------------------------------------------------------------------------

PAD, BOS, EOS, UNK = 0, 1, 2, 3
CHARACTERS = " ,-./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
VOCABULARY = ["<pad>", "<bos>", "<eos>", "<unk>", *CHARACTERS]
_CHAR_ID = {ch: i for i, ch in enumerate(VOCABULARY) if i > UNK}
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


def encode_text(text: str) -> list[int]:
    return [_CHAR_ID.get(ch, UNK) for ch in text]


def decode_ids(ids: list[int]) -> str:
    """Characters up to the first EOS; special tokens are dropped."""
    out = []
    for i in ids:
        if i == EOS:
            break
        if i > UNK:
            out.append(VOCABULARY[i])
    return "".join(out)


def pad_batch(sequences: list[list[int]], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pads id lists with PAD -> ids (B, L), mask (B, L) True on real tokens."""
    ids = torch.zeros(len(sequences), max(map(len, sequences)), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return ids.to(device), (ids != PAD).to(device)


class Seq2SeqTask(Task):
    """A character-level rewriting task for the encoder-decoder; subclasses say which (input, output) pairs.

    The figure is the exact match of greedy decoding; the baseline is the same model with attention="none".
    """

    baseline_name: str | None = "without attention"
    unit: str = "sequences"  # what the examples are called in the summary line
    max_output: int = 12  # longest output greedy decoding may produce, EOS included

    def sample_texts(self, n: int, generator: torch.Generator) -> list[tuple[str, str]]:
        raise NotImplementedError

    def default_model_config(self) -> dict[str, Any]:
        return asdict(Seq2SeqConfig(vocab_size=len(VOCABULARY), bos=BOS, eos=EOS))

    def baseline_model_config(self, model_config: dict[str, Any]) -> dict[str, Any]:
        return {**model_config, "attention": "none"}

    def build_model(self, model_config: dict[str, Any]) -> nn.Module:
        return Seq2Seq(Seq2SeqConfig(**model_config))

    def make_batch(self, pairs: list[tuple[str, str]], device: torch.device) -> dict:
        src, src_mask = pad_batch([encode_text(text) for text, _ in pairs], device)
        tgt, _ = pad_batch([[BOS, *encode_text(out), EOS] for _, out in pairs], device)
        return {
            "src": src,
            "src_mask": src_mask,
            "tgt_in": tgt[:, :-1],
            "tgt_out": tgt[:, 1:],
            "pairs": pairs,
        }

    def sample(self, batch_size: int, generator: torch.Generator, device: torch.device) -> dict:
        return self.make_batch(self.sample_texts(batch_size, generator), device)

    def loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        out = model(batch["src"], batch["src_mask"], batch["tgt_in"])
        loss = F.cross_entropy(out.logits.flatten(0, 1), batch["tgt_out"].flatten(), ignore_index=PAD)
        correct = (out.logits.detach().argmax(-1) == batch["tgt_out"]) | (batch["tgt_out"] == PAD)
        return loss, {"exact_teacher_forced": correct.all(dim=1).float().mean().item()}

    @torch.no_grad()
    def predict(
        self, model: nn.Module, texts: list[str], device: torch.device
    ) -> tuple[list[str], torch.Tensor]:
        """Greedy rewrites of `texts`, and the attention weights (B, T, L)."""
        src, src_mask = pad_batch([encode_text(t) for t in texts], device)
        tokens, weights = model.greedy_decode(src, src_mask, max_length=self.max_output)
        return [decode_ids(row) for row in tokens.tolist()], weights

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, generator: torch.Generator, device: torch.device, n: int = 1000
    ) -> dict:
        model.eval()
        pairs = self.sample_texts(n, generator)
        predictions, _ = self.predict(model, [text for text, _ in pairs], device)
        exact = sum(p == out for p, (_, out) in zip(predictions, pairs, strict=True)) / n
        errors = [(text, p) for p, (text, out) in zip(predictions, pairs, strict=True) if p != out][:5]
        return {"exact": exact, self.unit: n, "examples_wrong": errors}

    def validation_score(
        self, model: nn.Module, generator: torch.Generator, device: torch.device, n: int
    ) -> float:
        return 1 - self.evaluate(model, generator, device, n)["exact"]

    def summary(self, results: dict, baseline: dict | None = None) -> list[str]:
        lines = [f"wrong: {text!r} -> {p!r}" for text, p in results["examples_wrong"]]
        line = f"exact match: {100 * results['exact']:.1f}% with attention"
        if baseline is not None:
            line += f", {100 * baseline['exact']:.1f}% without attention"
        return [*lines, line + f" ({results[self.unit]} {self.unit}{self.details()})"]

    def details(self) -> str:
        return ""


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


TASKS: dict[str, Task] = {
    task.name: task for task in (CopyTask(), RepeatCopyTask(), ParityTask(), DatesTask(), ReverseTask())
}
