"""One source for the training configuration: every TrainConfig field is a flag of `nprog train` with the
same default, the flags come back as exactly those values, and the model's settings reach ModelConfig."""

from __future__ import annotations

import dataclasses

import pytest

from nprog.app.cli import build_parser
from nprog.config import TrainConfig, from_args
from nprog.model import ModelConfig

FIELDS = dataclasses.fields(TrainConfig)


def _train_action(dest: str):
    sub = next(a for a in build_parser()._subparsers._group_actions if a.dest == "command")
    return next((a for a in sub.choices["train"]._actions if a.dest == dest), None)


@pytest.mark.parametrize("f", FIELDS, ids=[f.name for f in FIELDS])
def test_every_field_is_a_flag_with_its_default_and_help(f):
    action = _train_action(f.name)
    assert action is not None, f"TrainConfig.{f.name} has no --{f.name.replace('_', '-')} flag"
    assert action.help
    if f.default is not dataclasses.MISSING:
        assert action.default == f.default


def test_the_train_parser_has_no_flag_outside_the_config():
    sub = next(a for a in build_parser()._subparsers._group_actions if a.dest == "command")
    dests = {a.dest for a in sub.choices["train"]._actions} - {"help", "debug"}
    assert dests <= {f.name for f in FIELDS}, dests - {f.name for f in FIELDS}


def _changed(f):
    """A value for field f that differs from its default, as text for the command line and as a value."""
    if f.type in ("bool",):
        return None, True
    value = {"str": "x", "int": 7, "int | None": 7, "float": 0.25, "float | None": 2.5}[f.type]
    if f.name == "controller":
        value = "act"
    return str(value), value


def test_flags_come_back_as_the_config_they_name():
    argv, expected = ["train"], {}
    for f in FIELDS:
        text, value = _changed(f)
        argv += [f"--{f.name.replace('_', '-')}"] + ([] if text is None else [text])
        expected[f.name] = value
    args = build_parser().parse_args(argv)
    assert dataclasses.asdict(from_args(args)) == expected


def test_the_model_settings_reach_the_model_config():
    names = TrainConfig.model_fields()
    assert set(names) <= {f.name for f in dataclasses.fields(ModelConfig)}
    assert {"d", "controller", "dropout", "order_cues"} <= set(names)
    cfg = TrainConfig(data_dir="d", out="o", d=32, controller="lstm", dropout=0.3, order_cues=True)
    model = cfg.model_config(vocab_size=50)
    assert (model.vocab_size, model.d, model.controller, model.dropout, model.order_cues) == (
        50,
        32,
        "lstm",
        0.3,
        True,
    )
