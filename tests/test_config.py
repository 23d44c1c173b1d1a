"""One source for the configuration: every setting (TrainConfig's fields and its ModelConfig's) is a flag of
`nprog train` with the same default, the flags come back as exactly those values, and the model's settings
reach the model."""

from __future__ import annotations

import dataclasses

import pytest

from nprog.app.cli import build_parser
from nprog.config import TRAINED, ModelConfig, TrainConfig, flag_fields, from_args

FLAGS = flag_fields(TrainConfig)
OWN = {f.name for f in dataclasses.fields(TrainConfig)}  # the rest are the nested ModelConfig's


def _train_action(dest: str):
    sub = next(a for a in build_parser()._subparsers._group_actions if a.dest == "command")
    return next((a for a in sub.choices["train"]._actions if a.dest == dest), None)


@pytest.mark.parametrize(("f", "default"), FLAGS, ids=[f.name for f, _ in FLAGS])
def test_every_setting_is_a_flag_with_its_default_and_help(f, default):
    action = _train_action(f.name)
    assert action is not None, f"{f.name} has no --{f.name.replace('_', '-')} flag"
    assert action.help
    if default is not None:
        assert action.default == default


def test_the_flag_defaults_are_what_a_default_train_config_holds():
    cfg = TrainConfig(data_dir="d", out="o")
    for f, default in FLAGS:
        holder = cfg if f.name in OWN else cfg.model
        if f.name not in ("data_dir", "out"):
            assert getattr(holder, f.name) == default, f.name
    assert cfg.model.dropout == TRAINED["dropout"] != ModelConfig().dropout  # the paper's default differs


def test_the_train_parser_has_no_flag_outside_the_config():
    sub = next(a for a in build_parser()._subparsers._group_actions if a.dest == "command")
    dests = {a.dest for a in sub.choices["train"]._actions} - {"help", "debug"}
    assert dests <= {f.name for f, _ in FLAGS}, dests - {f.name for f, _ in FLAGS}


def _changed(f, default):
    """A value for field f that differs from its default, as command-line words and as a value."""
    if f.type == "bool":
        flag = "--" + f.name.replace("_", "-")
        return ([flag.replace("--", "--no-")] if default else [flag]), not default
    value = {"str": "x", "int": 7, "int | None": 7, "float": 0.25, "float | None": 2.5}[f.type]
    if "choices" in f.metadata:
        value = next(c for c in f.metadata["choices"] if c != default)
    return ["--" + f.name.replace("_", "-"), str(value)], value


def test_flags_come_back_as_the_config_they_name():
    argv, expected = ["train"], {}
    for f, default in FLAGS:
        words, value = _changed(f, default)
        argv += words
        expected[f.name] = value
    cfg = from_args(build_parser().parse_args(argv))
    for name, value in expected.items():
        assert getattr(cfg if name in OWN else cfg.model, name) == value, name
    assert cfg.model.steps == ModelConfig().steps  # --steps is the training budget, not the program length


def test_the_model_settings_reach_the_model_config():
    cfg = TrainConfig(data_dir="d", out="o").replace(d=32, controller="lstm", dropout=0.3, steps=9)
    model = cfg.model_config(vocab_size=50)
    assert (model.vocab_size, model.d, model.controller, model.dropout, model.order_cues) == (
        50,
        32,
        "lstm",
        0.3,
        True,
    )
    assert cfg.steps == 9 and model.steps == 4  # replace(steps=…) is the training budget
