"""Ensembles (nprog.model.Ensemble, checkpoint.load of an ensemble.json): the members' step distributions
are mixed (nprog.model.mix_steps); one member answers exactly as itself; a bad ensemble directory is a clear
CheckpointError."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from nprog import checkpoint
from nprog.batch import collate
from nprog.checkpoint import CheckpointError
from nprog.model import Ensemble, ModelConfig, NeuralProgrammer
from nprog.qa import TableQA
from nprog.questions import Vocabulary
from nprog.tables import Table
from tests.conftest import SAMPLES

VOCAB = Vocabulary(["how", "many", "which", "what", "the", "most", "nation", "gold", "total"])
QUESTIONS = [
    "which nation won the most gold?",
    "how many nations won more than 5 gold?",
    "what is the total gold?",
]


def _member(seed: int, **kw) -> NeuralProgrammer:
    torch.manual_seed(seed)
    return NeuralProgrammer(ModelConfig(vocab_size=len(VOCAB), d=16, **kw)).eval()


def _ensemble_dir(tmp_path, members, names=None, vocabs=None):
    names = names or [f"m{i}" for i in range(len(members))]
    for i, (name, model) in enumerate(zip(names, members, strict=True)):
        checkpoint.save(tmp_path / name, model, (vocabs or [VOCAB] * len(members))[i], {"name": name})
    (tmp_path / "ensemble.json").write_text(json.dumps({"format": "nprog-ensemble", "members": names}))
    return tmp_path


def test_the_ensemble_mixes_its_members_step_distributions():
    a, b = _member(0), _member(1)
    qa = TableQA(a, VOCAB)
    batch = collate([qa.encode(Table.from_csv(SAMPLES / "medals.csv"), q) for q in QUESTIONS])
    with torch.no_grad():
        ta, tb, te = a(batch), b(batch), Ensemble([a, b])(batch)
    alpha = (ta.op_logp.exp() + tb.op_logp.exp()) / 2  # operations: the members' mean
    assert torch.allclose(te.op_logp.exp(), alpha, atol=1e-6)
    # columns of an operation: the members' β weighted by how much each chooses that operation there
    wa, wb = ta.op_logp.exp().unsqueeze(-1), tb.op_logp.exp().unsqueeze(-1)
    col = (wa * ta.col_logp.exp() + wb * tb.col_logp.exp()) / (wa + wb)
    used = (wa + wb).squeeze(-1) > 1e-4
    assert torch.allclose(te.col_logp.exp()[used], col[used], atol=1e-5)
    # numbers of a comparison: weighted by how much each member uses it over the program
    ua, ub = (
        ta.op_logp.exp().sum(-2).clamp(max=1).unsqueeze(-1),
        tb.op_logp.exp().sum(-2).clamp(max=1).unsqueeze(-1),
    )
    num = (ua * ta.num_logp.exp() + ub * tb.num_logp.exp()) / (ua + ub)
    used = (ua + ub).squeeze(-1) > 1e-4
    assert used.any() and torch.allclose(te.num_logp.exp()[used], num[used], atol=1e-5)
    for x in (te.op_logp, te.col_logp):  # distributions
        assert torch.allclose(x.exp().sum(-1), torch.ones_like(x[..., 0]), atol=1e-4)
    assert (te.num_logp >= -1e4).all()  # a question without numbers: every number impossible, not NaN


def test_an_ensemble_of_one_answers_as_its_member(tmp_path):
    model = _member(0)
    directory = _ensemble_dir(tmp_path, [model])
    alone, together = TableQA(model, VOCAB), TableQA.load(directory, device="cpu")
    table = Table.from_csv(SAMPLES / "medals.csv")
    for q in QUESTIONS:
        x, y = alone.ask(table, q), together.ask(table, q)
        assert (x.answer, str(x.program)) == (y.answer, str(y.program))
        assert x.confidence == pytest.approx(y.confidence, rel=1e-5)


def test_a_loaded_ensemble_answers(tmp_path):
    qa = TableQA.load(_ensemble_dir(tmp_path, [_member(0), _member(1), _member(2)]), device="cpu")
    assert isinstance(qa.model, Ensemble) and len(qa.model.members) == 3
    answer = qa.ask(Table.from_csv(SAMPLES / "medals.csv"), QUESTIONS[0])
    assert answer.program.steps and answer.sql("duckdb")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"format": "nprog-ensemble", "members": []}, "must name its members"),
        ({"format": "other", "members": ["m0"]}, "must name its members"),
        ({"format": "nprog-ensemble", "members": ["../m0"]}, "subdirectory names"),
        ({"format": "nprog-ensemble", "members": [".."]}, "subdirectory names"),
        ({"format": "nprog-ensemble", "members": [7]}, "subdirectory names"),
        ({"format": "nprog-ensemble", "members": ["missing"]}, "no such|missing|not"),
    ],
)
def test_bad_ensemble_files_are_clear_errors(tmp_path, spec, message):
    directory = _ensemble_dir(tmp_path, [_member(0)])
    (directory / "ensemble.json").write_text(json.dumps(spec))
    with pytest.raises(CheckpointError, match=message):
        checkpoint.load(directory)


def test_members_must_agree(tmp_path):
    other = Vocabulary(["how", "many", "which", "what", "the", "most", "nation", "gold", "silver"])
    with pytest.raises(CheckpointError, match="vocabulary differs"):
        checkpoint.load(_ensemble_dir(tmp_path / "a", [_member(0), _member(1)], vocabs=[VOCAB, other]))
    with pytest.raises(CheckpointError, match="op set"):
        checkpoint.load(_ensemble_dir(tmp_path / "b", [_member(0), _member(1, order_cues=True)]))
    nested = _ensemble_dir(tmp_path / "c", [_member(0)])
    shutil.copy(nested / "ensemble.json", nested / "m0" / "ensemble.json")
    with pytest.raises(CheckpointError, match="plain model directory"):
        checkpoint.load(nested)


def test_nprog_ensemble_writes_a_float16_ensemble_that_answers(tmp_path, capsys):
    from safetensors import safe_open

    from nprog.app.cli import main

    members = []
    for seed in (0, 1):
        members.append(tmp_path / f"run{seed}")
        checkpoint.save(
            members[-1], _member(seed), VOCAB, {"name": f"run{seed}", "dev_accuracy": 0.1, "seed": seed}
        )
    out = tmp_path / "ens"
    assert main(["ensemble", "--out", str(out), *map(str, members)]) == 0
    assert "wrote an ensemble of 2" in capsys.readouterr().out
    with safe_open(str(out / "m1" / "model.safetensors"), framework="pt") as f:
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"F16"}
    card = json.loads((out / "card.json").read_text())
    assert [m["seed"] for m in card["members"]] == [0, 1]
    qa = TableQA.load(out, device="cpu")
    assert all(p.dtype == torch.float32 for p in qa.model.parameters())  # widened on load
    full = TableQA(Ensemble([_member(0), _member(1)]), VOCAB)
    table = Table.from_csv(SAMPLES / "medals.csv")
    for q in QUESTIONS:  # float16 storage rounds the weights; the programs stay the same here
        assert str(qa.ask(table, q).program) == str(full.ask(table, q).program)
    assert main(["ensemble", "--out", str(tmp_path / "bad"), str(members[0]), str(tmp_path / "nowhere")]) == 2
    assert "no such model directory" in capsys.readouterr().err
    assert main(["ensemble", "--out", str(tmp_path / "nested"), str(members[0]), str(out)]) == 2
    assert "is an ensemble; name its members instead" in capsys.readouterr().err
