"""Safe model loading: weights only from safetensors, config and card as validated JSON, nothing unpickled.

Every tampered, truncated or mismatched checkpoint gives a CheckpointError naming the directory and the
problem (and, through the CLI, exit code 2 with one line); a pickle placed where a model is expected is
never executed.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from nprog import checkpoint
from nprog.app.cli import main
from nprog.checkpoint import CheckpointError
from nprog.qa import TableQA

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path) -> Path:
    """A fresh copy of the tiny test checkpoint to tamper with."""
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def edit_weights(model: Path, change) -> None:
    state = load_file(str(model / "model.safetensors"))
    change(state)
    save_file(state, str(model / "model.safetensors"))


def assert_refused(model: Path, pattern: str) -> str:
    """The checkpoint is refused by the loader and by the CLI, each with one line matching ``pattern``."""
    with pytest.raises(CheckpointError) as err:
        TableQA.load(model, device="cpu")
    message = str(err.value)
    assert "\n" not in message and str(model) in message, message
    assert re.search(pattern, message), message
    return message


def assert_cli_refuses(model: Path, pattern: str, capsys) -> None:
    code = main(
        [
            "ask",
            "--table",
            str(ROOT / "data" / "samples" / "medals.csv"),
            "which nation?",
            "--model",
            str(model),
        ]
    )
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert re.search(pattern, err), err


# ---- weights


def _truncate(model: Path, keep) -> None:
    data = (model / "model.safetensors").read_bytes()
    (model / "model.safetensors").write_bytes(data[: keep(len(data))])


WEIGHT_CASES = {
    "truncated in the data": (
        lambda m: _truncate(m, lambda n: n - 100),
        r"model\.safetensors is unreadable or truncated",
    ),
    "truncated in the header": (
        lambda m: _truncate(m, lambda n: 20),
        r"model\.safetensors is unreadable or truncated",
    ),
    "empty": (lambda m: _truncate(m, lambda n: 0), r"model\.safetensors is unreadable or truncated"),
    "garbage": (lambda m: (m / "model.safetensors").write_bytes(b"\xff" * 4096), r"unreadable or truncated"),
    "missing": (lambda m: (m / "model.safetensors").unlink(), r"model\.safetensors is missing"),
    "a directory": (
        lambda m: ((m / "model.safetensors").unlink(), (m / "model.safetensors").mkdir()),
        r"unreadable",
    ),
    "wrong shape": (
        lambda m: edit_weights(
            m, lambda s: s.update({"controller.b": torch.zeros(s["controller.b"].shape[0] + 1)})
        ),
        r"weight controller\.b has shape \(17,\), expected \(16,\)",
    ),
    "transposed": (
        lambda m: edit_weights(m, lambda s: s.update({"W_col.weight": s["W_col.weight"].T.contiguous()})),
        r"weight W_col\.weight has shape",
    ),
    "wrong dtype": (
        lambda m: edit_weights(m, lambda s: s.update({"controller.b": s["controller.b"].double()})),
        r"weight controller\.b has dtype F64, expected F32",
    ),
    "extra tensor": (
        lambda m: edit_weights(m, lambda s: s.update({"backdoor.weight": torch.zeros(2, 2)})),
        r"weights do not fit the config \(missing \[\], extra \['backdoor\.weight'\]\)",
    ),
    "missing tensor": (
        lambda m: edit_weights(m, lambda s: s.pop("controller.b")),
        r"weights do not fit the config \(missing \['controller\.b'\], extra \[\]\)",
    ),
    "NaN weights": (
        lambda m: edit_weights(m, lambda s: s["controller.b"].fill_(float("nan"))),
        r"weight controller\.b holds NaN or infinite values",
    ),
}


def test_truncated_shipped_model_is_refused(shipped_model, tmp_path):
    model = Path(shutil.copytree(shipped_model, tmp_path / "wtq"))
    _truncate(model, lambda n: n // 2)
    assert_refused(model, r"model\.safetensors is unreadable or truncated")


# ---- config.json


def _model_setting(name, value):
    return lambda m: edit_json(m / "config.json", lambda c: c["model"].__setitem__(name, value))


CONFIG_CASES = {
    "not JSON": (lambda m: (m / "config.json").write_text("{'model': "), r"config\.json: not valid JSON"),
    "not UTF-8": (lambda m: (m / "config.json").write_bytes(b"\xff\xfe{}"), r"config\.json: not valid JSON"),
    "a list": (lambda m: (m / "config.json").write_text("[1, 2]"), r"config\.json: expected a JSON object"),
    "nested 100,000 deep": (
        lambda m: (m / "config.json").write_text("[" * 100_000 + "]" * 100_000),
        r"not valid JSON",
    ),
    "missing": (lambda m: (m / "config.json").unlink(), r"config\.json: missing"),
    "another format": (
        lambda m: edit_json(m / "config.json", lambda c: c.update(format="pytorch")),
        r"not an nprog Neural Programmer config",
    ),
    "vocabulary not a list": (
        lambda m: edit_json(m / "config.json", lambda c: c.update(vocabulary="abc")),
        r"no valid vocabulary",
    ),
    "vocabulary of numbers": (
        lambda m: edit_json(m / "config.json", lambda c: c.update(vocabulary=list(range(20)))),
        r"no valid vocabulary",
    ),
    "no model section": (
        lambda m: edit_json(m / "config.json", lambda c: c.update(model=[1])),
        r"no model section",
    ),
    "d as text": (_model_setting("d", "16"), r"model setting 'd' must be int, not str"),
    "steps as a float": (_model_setting("steps", 4.5), r"model setting 'steps' must be int, not float"),
    "steps as a bool": (_model_setting("steps", True), r"model setting 'steps' must be int, not bool"),
    "dropout as text": (_model_setting("dropout", "0.2"), r"model setting 'dropout' must be float, not str"),
    "dropout NaN": (_model_setting("dropout", float("nan")), r"model setting 'dropout' must be float"),
    "dropout 7": (_model_setting("dropout", 7.0), r"dropout=7\.0 is not between 0 and 1"),
    "ops not a list": (_model_setting("ops", "count"), r"model setting 'ops' must be list"),
    "ops reordered": (_model_setting("ops", ["print", "count"]), r"trained with operations"),
    "ops unknown": (
        _model_setting("ops", ["count", "sort", "print"]),
        r"trained with operations .*; this nprog has",
    ),
    "ops repeated": (_model_setting("ops", ["count", "first", "first", "print"]), r"trained with operations"),
    "controller a number": (
        _model_setting("controller", 5),
        r"model setting 'controller' must be str, not int",
    ),
    "unknown controller": (_model_setting("controller", "gpt"), r"unknown controller 'gpt'"),
    "unknown setting": (_model_setting("exec", "rm -rf /"), r"unknown model settings \['exec'\]"),
    "d of a billion": (_model_setting("d", 10**9), r"implausible size d=1000000000"),
    "steps of a million": (_model_setting("steps", 10**6), r"implausible size steps=1000000"),
    "negative ntm slots": (_model_setting("ntm_slots", -1), r"implausible size ntm_slots=-1"),
    "a billion column features": (
        _model_setting("column_features", 10**9),
        r"implausible size column_features=1000000000",
    ),
    "vocab_size of a billion": (
        _model_setting("vocab_size", 10**9),
        r"implausible size vocab_size=1000000000",
    ),
    "vocab_size mismatch": (_model_setting("vocab_size", 14), r"vocab_size 14 != 13 words"),
    "old preprocessing": (
        lambda m: edit_json(m / "config.json", lambda c: c.update(preprocessing_version=0)),
        r"preprocessing version 0",
    ),
}


def test_a_plausible_but_huge_config_is_refused_before_the_network_is_built(model_copy):
    # d=4096 would allocate ~1 GB of weights; the header is compared on the meta device first
    edit_json(model_copy / "config.json", lambda c: c["model"].__setitem__("d", 4096))
    started = time.perf_counter()
    assert_refused(model_copy, r"has shape .*expected")
    assert time.perf_counter() - started < 5


def test_an_oversized_json_file_is_refused_unread(model_copy, monkeypatch):
    monkeypatch.setattr(checkpoint, "MAX_JSON_BYTES", 100)
    assert_refused(model_copy, r"config\.json: .* MiB, over the")


# ---- card.json


def _card(**values):
    return lambda m: edit_json(m / "card.json", lambda c: c.update(values))


CARD_CASES = {
    "not JSON": (
        lambda m: (m / "card.json").write_bytes(b"\x00\x01 garbage {"),
        r"card\.json: not valid JSON",
    ),
    "a string": (lambda m: (m / "card.json").write_text('"hello"'), r"card\.json: expected a JSON object"),
    "name a number": (_card(name=5), r"card\.json 'name' must be str, not int"),
    "accuracy as text": (
        _card(dev_accuracy="99%"),
        r"card\.json 'dev_accuracy' must be int or float or null, not str",
    ),
    "accuracy 7": (_card(test_accuracy=7), r"card\.json 'test_accuracy' = 7 is not between 0 and 1"),
    "step a bool": (_card(step=True), r"card\.json 'step' must be int or null, not bool"),
    "ops a number": (_card(ops=5), r"card\.json 'ops' must be list, not int"),
    "ops of numbers": (_card(ops=[1, 2]), r"card\.json 'ops' must be a list of operation names"),
    "dev curve of numbers": (_card(dev_curve=[1, 2]), r"card\.json 'dev_curve' must be a list of objects"),
    "training command a list": (
        _card(training_command=["rm", "-rf"]),
        r"card\.json 'training_command' must be str",
    ),
    "calibration as text": (_card(calibration="platt"), r"card\.json 'calibration' must be an object"),
    "calibration infinite": (
        _card(calibration={"a": 1e999, "b": 0}),
        r"card\.json 'calibration' 'a' must be a finite",
    ),
    "guess threshold 3": (
        _card(calibration={"a": 1, "b": 0, "threshold": 3}),
        r"'threshold' must be a number between",
    ),
}


# ---- files that are not files: a FIFO would block the reader forever, a device never ends


def _replace(name: str, make):
    def tamper(model: Path) -> None:
        (model / name).unlink()
        make(model / name)

    return tamper


def _huge_integer(model: Path) -> None:  # Python refuses to parse integers of more than 4,300 digits
    text = (model / "config.json").read_text()
    (model / "config.json").write_text('{"padding": ' + "7" * 5000 + ", " + text.lstrip()[1:])


SPECIAL_CASES = {
    "config.json a FIFO": (
        _replace("config.json", os.mkfifo),
        r"config\.json: unreadable, not a regular file",
    ),
    "model.safetensors a FIFO": (
        _replace("model.safetensors", os.mkfifo),
        r"model\.safetensors: unreadable, not a regular",
    ),
    "card.json a FIFO": (_replace("card.json", os.mkfifo), r"card\.json: unreadable, not a regular file"),
    "config.json is /dev/zero": (
        _replace("config.json", lambda p: p.symlink_to("/dev/zero")),
        r"config\.json: unreadable",
    ),
    "config.json is /dev/urandom": (
        _replace("config.json", lambda p: p.symlink_to("/dev/urandom")),
        r"config\.json: unreadable",
    ),
    "card.json is /dev/zero": (
        _replace("card.json", lambda p: p.symlink_to("/dev/zero")),
        r"card\.json: unreadable",
    ),
    "card.json is /dev/urandom": (
        _replace("card.json", lambda p: p.symlink_to("/dev/urandom")),
        r"card\.json: unreadable",
    ),
    "a 5,000-digit integer in config.json": (_huge_integer, r"config\.json: not valid JSON \(.*4300 digits"),
}

TAMPERED_CASES = {
    **{f"weights: {k}": v for k, v in WEIGHT_CASES.items()},
    **{f"config: {k}": v for k, v in CONFIG_CASES.items()},
    **{f"card: {k}": v for k, v in CARD_CASES.items()},
    **{f"special: {k}": v for k, v in SPECIAL_CASES.items()},
}


@pytest.mark.timeout(60)  # a FIFO or a device that is read would hang: fail instead
@pytest.mark.parametrize("case", TAMPERED_CASES, ids=list(TAMPERED_CASES))
def test_tampered_weights_configs_and_cards_are_refused(case, model_copy, capsys):
    tamper, pattern = TAMPERED_CASES[case]
    tamper(model_copy)
    assert_refused(model_copy, pattern)
    assert_cli_refuses(model_copy, pattern, capsys)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", list(SPECIAL_CASES), ids=list(SPECIAL_CASES))
def test_the_ui_says_what_is_wrong_with_the_model_files(case, model_copy, monkeypatch):
    from streamlit.testing.v1 import AppTest

    tamper, pattern = SPECIAL_CASES[case]
    tamper(model_copy)
    monkeypatch.setenv("NPROG_MODEL", str(model_copy))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", e.value) for e in at.error]
    assert any(re.search(pattern, m) and "Traceback" not in m for m in shown), shown


def test_a_card_may_be_missing_or_carry_extra_keys(model_copy):
    edit_json(model_copy / "card.json", lambda c: c.update(anything={"goes": [1, None]}, test_accuracy=None))
    assert TableQA.load(model_copy, device="cpu").card["anything"] == {"goes": [1, None]}
    (model_copy / "card.json").unlink()
    assert TableQA.load(model_copy, device="cpu").card == {}


def test_the_shipped_card_and_config_pass(shipped_model):
    assert TableQA.load(shipped_model, device="cpu").card["name"] == "wtq"


# ---- pickles are never executed


class _Payload:
    """Unpickling this calls open(marker, "w"): the marker file appearing means code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def payload(marker: Path) -> bytes:
    return pickle.dumps({"state_dict": _Payload(marker)})


def test_the_payload_really_runs_when_unpickled(tmp_path):
    control = tmp_path / "control"
    pickle.loads(payload(control))  # noqa: S301 - proving the test's payload is live
    assert control.exists()


def _torch_save_payload(path: Path, marker: Path) -> None:
    torch.save({"weights": _Payload(marker)}, path)  # the zip format torch.load reads, pickle inside


@pytest.mark.parametrize(
    "where",
    ["model.pt", "model.bin", "pytorch_model.bin", "model.ckpt", "model.pkl", "model.safetensors",
     "model.safetensors (torch.save zip)"],
)  # fmt: skip
def test_a_pickle_where_a_model_is_expected_is_never_executed(
    where, model_copy, tmp_path, capsys, monkeypatch
):
    marker = tmp_path / "PWNED"
    (model_copy / "model.safetensors").unlink()
    if where.endswith("(torch.save zip)"):
        _torch_save_payload(model_copy / "model.safetensors", marker)
    else:
        (model_copy / where).write_bytes(payload(marker))
    expected = (
        r"model\.safetensors is missing"
        if not where.startswith("model.safetensors")
        else r"unreadable or truncated"
    )
    assert_refused(model_copy, expected)
    assert_cli_refuses(model_copy, expected, capsys)
    # the UI says there is no model, and why
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("NPROG_MODEL", str(model_copy))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    assert not at.exception
    assert any("No model is available" in e.value and "model.safetensors" in e.value for e in at.error)
    assert not marker.exists(), "the pickle was executed"


# ---- nothing anywhere unpickles


UNSAFE = re.compile(
    r"^\s*(import|from)\s+(pickle|cPickle|dill|cloudpickle|joblib|shelve|marshal)\b"
    r"|\bpickle\.loads?\("
    r"|\btorch\.load\((?![^)]*weights_only\s*=\s*True)"
    r"|\btorch\.jit\.load\("
    r"|allow_pickle\s*=\s*True"
    r"|\bread_pickle\(",
    re.MULTILINE,
)


def test_no_code_can_unpickle():
    sources = [ROOT / "streamlit_app.py"]
    for package in ("nprog", "app", "memory", "bench"):
        sources += sorted((ROOT / package).rglob("*.py"))
    offenders = [
        f"{p.relative_to(ROOT)}: {m.group(0).strip()}"
        for p in sources
        for m in UNSAFE.finditer(p.read_text())
    ]
    assert not offenders, offenders
    assert len(sources) > 20  # the scan saw the code
