"""What every task is: the `Task` interface the CLI and the UI loop over, and the live example it shows.

A task owns its data (`sample`), its loss and figures (`evaluate`, `summary`), its model (`build_model`),
its Distill-style picture (`figure`) and its live example (`live_example`, the UI's Modules page), and says
how the UI presents it (`demo`). Pictures are matplotlib `Figure`s built without pyplot (no global state,
safe in a Streamlit worker); they follow Distill's "Attention and Augmented Recurrent Neural Networks"
(Olah & Carter 2016).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import torch
from matplotlib.figure import Figure
from torch import nn

from nprog.memory.tasks.training import TrainConfig


@dataclass(frozen=True)
class Headline:
    """One measured figure of a checkpoint's card.json, as the UI shows it."""

    entry: str  # "model" or "baseline": which entry of card["figures"]
    path: str  # dotted key path inside it, e.g. "generalization.50"
    label: str
    fmt: str  # str.format spec for the value, e.g. "{:.1%}"
    help: str = ""


@dataclass(frozen=True)
class Demo:
    """How the UI's Modules page presents a task: its name, what it shows, its card's headline figures."""

    label: str  # the picker's name for it
    about: str  # what it is and what the picture shows (markdown)
    headlines: tuple[Headline, ...] = ()
    typed: str = ""  # label of the "type your own" box; "" when the model reads no text
    placeholder: str = ""


@dataclass
class LiveExample:
    """One example run through a task's model: what went in, what came out, what should have, a picture."""

    task: str
    input: str  # the input in words, or the text itself for dates and reverse
    output: str  # what the model produced, in words or as text
    target: str | None  # the right output; None when unknown (a date the user typed)
    correct: bool | None  # output == target; None when the target is unknown
    facts: dict[str, Any]  # task-specific measures shown beside the picture (bits wrong, ponder steps …)
    figure: Figure
    literal: bool = False  # input, output and target are literal text (shown as code), not words


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
    demo: ClassVar[Demo]
    max_typed_chars: ClassVar[int] = 0  # longest text `live_example` takes; 0: the model reads no text

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

    def figure(self, model: nn.Module, generator: torch.Generator) -> Figure:
        """The Distill-style picture of `model` (on CPU) on examples drawn from `generator`."""
        raise NotImplementedError

    def live_example(self, model: nn.Module, seed: int, text: str | None = None) -> LiveExample:
        """A fresh example drawn with `seed` (or, for a task that reads text, the given `text`), on CPU.

        `model` is a checkpoint's "model" network. ValueError for text given to a task that reads none.
        """
        if text is not None and not self.max_typed_chars:
            raise ValueError(f"the {self.name} task does not read text")
        return self._live_example(model, torch.Generator().manual_seed(seed), text)

    def _live_example(self, model: nn.Module, generator: torch.Generator, text: str | None) -> LiveExample:
        raise NotImplementedError


def bits_wrong(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sequence count of wrong bits after thresholding at 0.5. logits, target (T, B, C) -> (B,)."""
    return ((logits > 0).float() != target).float().sum(dim=(0, 2))


def randint(low: int, high: int, generator: torch.Generator) -> int:
    """One integer drawn uniformly from low..high (both included)."""
    return int(torch.randint(low, high + 1, (), generator=generator))
