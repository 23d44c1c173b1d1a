"""The training configuration, in one place: :class:`TrainConfig`'s fields are also the flags of
``nprog train`` (:func:`add_flags` makes one flag per field, with its default and help; :func:`from_args`
reads them back) and say which settings the model takes (:meth:`TrainConfig.model_config`). A setting
added here is a flag and reaches the card's ``train_config`` at once; ``tests/test_config.py`` checks it.

Light on purpose (no torch): the CLI builds its parser from it for every command.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from dataclasses import dataclass, field


def _setting(default, help: str, **flag):
    """A field with the help text (and argparse extras, e.g. choices) of its command-line flag."""
    return field(default=default, metadata={"help": help, **flag})


CONTROLLERS = ("rnn", "lstm", "ntm", "act")


@dataclass
class TrainConfig:
    data_dir: str = field(metadata={"help": "WTQ directory (default $NPROG_WTQ_DIR)"})
    out: str = field(
        metadata={"help": "checkpoint directory (the best dev model is kept here)", "required": True}
    )
    minutes: float | None = _setting(None, "wall-clock budget")
    steps: int | None = _setting(None, "step budget (whichever of the two comes first)")
    batch_size: int = _setting(64, "examples per batch")
    lr: float = _setting(1e-3, "Adam's learning rate")
    adam_eps: float = _setting(1e-6, "Adam's ε")
    clip: float = _setting(1.0, "global gradient-norm clipping")
    l2: float = _setting(1e-4, "L2 weight λ (½·λ·Σθ² added to the loss)")
    eval_every: int = _setting(250, "evaluate on dev (and keep the best checkpoint) every N steps")
    seed: int = _setting(150, "random seed")
    device: str = _setting("auto", "auto | cpu | cuda")
    max_rows: int = _setting(300, "training only: skip larger tables (reported)")
    min_count: int = _setting(5, "vocabulary cutoff: words seen fewer times become <unk>")
    d: int = _setting(256, "hidden size", model=True)
    controller: str = _setting(
        "rnn",
        "history controller: rnn (the paper's), lstm, ntm (LSTM + NTM memory), act (adaptive steps)",
        choices=CONTROLLERS,
        model=True,
    )
    dev_limit: int | None = _setting(None, "evaluate on the first N dev examples only (tests); default all")
    train_limit: int | None = _setting(None, "use only the first N training examples")
    threads: int = _setting(0, "torch threads (0 = all cores)")
    mml_weight: float = _setting(1.0, "weight of the searched-program MML loss (0 = off)")
    soft_weight: float = _setting(1.0, "weight of the paper's scalar/lookup losses (0 = MML only)")
    # 0.4 measured best on dev (README ablation); the paper used 0.2
    dropout: float = _setting(0.4, "dropout on embeddings and controller vectors", model=True)
    ponder_cost: float = _setting(0.01, "act controller: τ, the weight of the ponder cost N + R in the loss")
    resume: bool = _setting(
        False, "continue from OUT.resume (saved atomically at every evaluation) if it exists"
    )
    order_cues: bool = _setting(
        False,
        "order operations (previous/next/first/last) only where the question names a row order",
        model=True,
    )
    credit: str = _setting(
        "", "program-search credit rules, comma-separated: minimal, no_ties, no_constant (nprog.credit)"
    )

    @classmethod
    def model_fields(cls) -> list[str]:
        """The settings that are the model's (passed to ModelConfig under the same name)."""
        return [f.name for f in dataclasses.fields(cls) if f.metadata.get("model")]

    def model_config(self, vocab_size: int):
        """The ModelConfig these settings train (ModelConfig's defaults for everything else)."""
        from nprog.model import ModelConfig  # torch: only when a model is built

        return ModelConfig(
            vocab_size=vocab_size, **{name: getattr(self, name) for name in self.model_fields()}
        )


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_flags(parser: argparse.ArgumentParser, config=TrainConfig, **defaults) -> None:
    """One flag per field of ``config``: ``--batch-size`` for ``batch_size``, typed from the annotation,
    a bool as a switch; ``defaults`` replace fields' defaults (e.g. a directory from the environment)."""
    hints = typing.get_type_hints(config)
    for f in dataclasses.fields(config):
        extra = {k: v for k, v in f.metadata.items() if k not in ("help", "model")}
        default = defaults.get(f.name, None if f.default is dataclasses.MISSING else f.default)
        if hints[f.name] is bool:
            parser.add_argument(_flag(f.name), action="store_true", help=f.metadata["help"])
            continue
        kind = next(t for t in typing.get_args(hints[f.name]) or (hints[f.name],) if t is not type(None))
        parser.add_argument(_flag(f.name), type=kind, help=f.metadata["help"],
                            **({} if extra.get("required") else {"default": default}), **extra)  # fmt: skip


def from_args(args: argparse.Namespace, config=TrainConfig, **overrides):
    """The config the flags of :func:`add_flags` were given (``overrides`` win, e.g. a resolved path)."""
    return config(**{f.name: getattr(args, f.name) for f in dataclasses.fields(config)} | overrides)
