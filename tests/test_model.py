"""The Neural Programmer with a tiny config: shapes, masks, stability, gradients, and overfitting."""

import random

import numpy as np
import pandas as pd
import pytest
import torch

from nprog.answers import lists_match
from nprog.batch import collate, encode
from nprog.model import ModelConfig, NeuralProgrammer
from nprog.ops import ANSWER_OPS, LEGACY_OPS, OPS, ROW_OPS, soft_scalar
from nprog.qa import TableQA
from nprog.questions import Vocabulary
from nprog.search import collate_graphs, mml_loss, search
from nprog.tables import Table
from nprog.train import loss_fn, target_tensors
from nprog.wtq import make_target

VOCAB = Vocabulary(["how", "many", "which", "nation", "gold", "most", "more", "than"])


def tiny(seed=0, **kw):
    torch.manual_seed(seed)
    return NeuralProgrammer(ModelConfig(vocab_size=len(VOCAB), d=16, **kw))


def items():
    a = Table.from_dataframe(pd.DataFrame({"Nation": ["A", "B", "C"], "Gold": ["3", "5", "1"]}))
    b = Table.from_dataframe(
        pd.DataFrame({"x": [str(i) for i in range(7)], "y": list("abcdefg"), "z": ["1"] * 7})
    )
    out = [
        encode(a, "which nation won the most gold?", VOCAB, target=make_target(a, ["B"])),
        encode(a, "how many nations won more than 2 gold?", VOCAB, target=make_target(a, ["2"])),
        encode(b, "how many x are more than 1e300 or b", VOCAB, target=make_target(b, ["5"])),
    ]
    return out


def test_shapes_and_masks():
    m = tiny().eval()
    enc = items()
    batch = collate(enc, soft=True)
    trace = m(batch, execute=True)
    B, T, O, C, R = 3, m.config.steps, len(OPS), 3, 7
    assert trace.op_logp.shape == (B, T, O) and trace.col_logp.shape == (B, T, O, C)
    assert trace.rows.shape == (B, T - 1, R) and trace.lookup_logp.shape == (B, C, R)
    probs = trace.op_logp.exp()
    assert torch.allclose(probs.sum(-1), torch.ones(B, T), atol=1e-5)
    assert probs[:, -1, ROW_OPS].max() < 1e-6  # the last step only counts or prints
    assert probs[:, :-1, ANSWER_OPS].max() < 1e-6
    # padding rows and columns get nothing
    assert trace.rows[:2, :, 3:].abs().max() == 0
    col = trace.col_logp.exp()
    assert col[:2, :, :, 2].max() < 1e-6  # table a has 2 columns


def test_no_nan_with_extreme_values():
    m = tiny().train()
    big = Table.from_dataframe(
        pd.DataFrame({"v": ["1e308", "-1e308", "inf", "0"], "w": ["a", "b", "c", "d"]})
    )
    enc = [encode(big, "how many v more than 1e300", VOCAB, target=make_target(big, ["1"]))]
    batch = collate(enc, soft=True)
    trace = m(batch, execute=True)
    C, R = batch.soft.cell_mask.shape[1:]
    loss = loss_fn(trace, batch, target_tensors(enc, C, R))
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)


def test_gradients_reach_every_parameter_group():
    m = tiny().train()
    enc = items()
    for e in enc:
        e.extra["graph"] = search(e)
    batch = collate(enc, soft=True)
    trace = m(batch, execute=True)
    C, R = batch.soft.cell_mask.shape[1:]
    loss = loss_fn(trace, batch, target_tensors(enc, C, R)) + mml_loss(
        trace, collate_graphs([e.extra["graph"] for e in enc])
    )
    loss.backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def _consistent_wtq_examples(wtq_dir, n=20):
    from nprog.train import build_vocab, prepare
    from nprog.wtq import read_examples, split_path

    examples = read_examples(split_path(wtq_dir, "train"))[:60]
    vocab = build_vocab(wtq_dir, examples, min_count=1)
    prepared = prepare(wtq_dir, examples, vocab, max_rows=60)
    chosen = [e for e in prepared.items if not e.extra["graph"].empty][:n]
    gold = {id(e): ex for e in chosen for ex in examples if ex.question == e.question.text}
    return vocab, chosen, gold


def test_tiny_model_overfits_20_wtq_examples(wtq_dir):
    random.seed(0)
    vocab, chosen, gold = _consistent_wtq_examples(wtq_dir)
    assert len(chosen) == 20
    torch.manual_seed(0)
    model = NeuralProgrammer(
        ModelConfig(vocab_size=len(vocab), d=64, dropout=0.0, word_dropout=0.0, rnn_dropout=0.0)
    )
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    batch = collate(chosen, soft=True)
    C, R = batch.soft.cell_mask.shape[1:]
    targets = target_tensors(chosen, C, R)
    graphs = collate_graphs([e.extra["graph"] for e in chosen])
    qa = TableQA(model, vocab)
    accuracy = 0.0
    for step in range(400):
        model.train()
        trace = model(batch, execute=True)
        loss = loss_fn(trace, batch, targets) + mml_loss(trace, graphs)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 49:
            model.eval()
            answers = qa.answer_batch(chosen)
            accuracy = np.mean(
                [lists_match(gold[id(e)].answers, a.answer) for e, a in zip(chosen, answers, strict=True)]
            )
            if accuracy == 1.0:
                break
    assert accuracy == 1.0


@pytest.mark.parametrize("controller", ["rnn", "lstm", "ntm", "act"])
def test_controllers_plug_in(controller):
    m = tiny(controller=controller).eval()
    trace = m(collate(items()))
    assert torch.isfinite(trace.op_logp).all()
    answers = TableQA(m, VOCAB).answer_batch(items())
    assert len(answers) == 3 and all(a.program.steps for a in answers)


@pytest.mark.parametrize("controller", ["ntm", "act"])
def test_memory_controllers_train_every_parameter(controller):
    m = tiny(controller=controller).train()
    enc = items()
    for e in enc:
        e.extra["graph"] = search(e, halt_anywhere=controller == "act")
    batch = collate(enc, soft=True)
    trace = m(batch, execute=True)
    C, R = batch.soft.cell_mask.shape[1:]
    loss = loss_fn(trace, batch, target_tensors(enc, C, R)) + mml_loss(
        trace, collate_graphs([e.extra["graph"] for e in enc])
    )
    if trace.ponder is not None:
        loss = loss + 0.01 * trace.ponder.mean()
    loss.backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_act_halting_distribution_and_where_the_program_stops():
    m = tiny(controller="act").eval()
    batch = collate(items(), soft=True)
    trace = m(batch, execute=True)
    assert torch.allclose(trace.halting.sum(1), torch.ones(3), atol=1e-6)
    assert ((trace.ponder >= 1) & (trace.ponder <= m.config.steps + 1)).all()
    # halting after the first step: every program is one answer step on all rows
    with torch.no_grad():
        m.halt.bias.fill_(20.0)
    trace = m(batch, execute=True)
    assert torch.allclose(trace.halting[:, 0], torch.ones(3))
    expected = soft_scalar(
        batch.soft.data_rows, batch.soft, trace.answer_logp[:, 0].exp(), trace.col_logp[:, 0].exp(), m.ops
    )
    assert torch.allclose(trace.scalar, expected)
    legacy = tiny(controller="act", ops=LEGACY_OPS).eval()  # count is the one scalar op of the 2017 set
    with torch.no_grad():
        legacy.halt.bias.fill_(20.0)
    trace = legacy(batch, execute=True)
    assert torch.allclose(trace.scalar, trace.answer_logp[:, 0, 0].exp() * batch.soft.row_mask.sum(1))
    for a in TableQA(m, VOCAB).answer_batch(items()):
        assert len(a.program.steps) == 1 and a.program.steps[0].op in {OPS[k].name for k in ANSWER_OPS}
        # every per-step picture covers the one executed step (attention too, though the model ran four)
        assert len(a.explanation) == 1 and a.explanation.ops.shape[0] == a.explanation.attention.shape[0] == 1
    # never halting early: the full four steps, as the fixed-length model
    with torch.no_grad():
        m.halt.bias.fill_(-20.0)
    trace = m(batch, execute=True)
    assert torch.allclose(trace.halting[:, -1], torch.ones(3), atol=1e-6)
    assert all(len(a.explanation) == m.config.steps for a in TableQA(m, VOCAB).answer_batch(items()))


def _dense_loss(trace, batch, G, item_mask, kinds, y):
    """The paper's losses (docs/neural-programmer.md §3.1) with a dense (B, K, C, R) item-cell mask (loss_fn before it listed the cells)."""
    soft = batch.soft
    n_rows, n_cells = soft.row_mask.sum(1).clamp(min=1.0), soft.cell_mask.sum((1, 2)).clamp(min=1.0)
    L_s = torch.clamp((trace.scalar - y) ** 2 / (2 * n_rows), max=3.0)
    lp = trace.lookup_logp
    best = lp.unsqueeze(1).masked_fill(~G, -1e9).amax(dim=(2, 3))
    pos = torch.where(item_mask, -best, torch.zeros_like(best)).sum(1)
    neg = (-torch.log1p(-lp.exp().clamp(max=1 - 1e-6)) * (soft.cell_mask.bool() & ~G.any(1))).sum((1, 2))
    L_l = 50.0 * (pos + neg) / n_cells
    soft_min = torch.clamp(-torch.logsumexp(torch.stack([-5 * L_s, -5 * L_l]), 0) / 5, min=0.0)
    per_example = torch.where(kinds == 0, L_l, torch.where(kinds == 2, L_s, soft_min))
    return torch.where(kinds == 3, torch.zeros_like(per_example), per_example).mean()


def test_lookup_loss_with_listed_item_cells_equals_the_dense_mask():
    """Same loss and gradients: −log of each answer item's most likely cell (ties share the gradient)."""
    m = tiny().eval()
    b = Table.from_dataframe(pd.DataFrame({"x": ["1", "2", "1"], "y": ["a", "b", "a"]}))
    enc = items() + [encode(b, "which y", VOCAB, target=make_target(b, ["a", "b"]))]  # item "a" in two cells
    batch = collate(enc, soft=True)
    C, R = batch.soft.cell_mask.shape[1:]
    targets = target_tensors(enc, C, R)
    answer_cells, cells, item_mask, kinds, y = targets
    G = torch.zeros((*item_mask.shape, C, R), dtype=torch.bool)
    G[tuple(cells.T)] = True
    assert torch.equal(G.any(1), answer_cells)
    results = []
    for loss in (
        lambda t: loss_fn(t, batch, targets),
        lambda t: _dense_loss(t, batch, G, item_mask, kinds, y),
    ):
        m.zero_grad()
        value = loss(m(batch, execute=True))
        value.backward()
        results.append((float(value), [p.grad.clone() for p in m.parameters() if p.grad is not None]))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-6)
    for g0, g1 in zip(results[0][1], results[1][1], strict=True):
        assert torch.allclose(g0, g1, atol=1e-7)


def test_a_checkpoint_keeps_its_own_op_set(tmp_path):
    """A model of the 2017 operations (the shipped one) saves, loads and answers as it did; a config.json
    written before checkpoints named their op set loads as that set too."""
    import json

    from nprog import checkpoint

    old = tiny(ops=list(LEGACY_OPS)).eval()
    checkpoint.save(tmp_path / "old", old, VOCAB, {"name": "legacy"})
    qa = TableQA.load(tmp_path / "old", device="cpu")
    assert [op.name for op in qa.model.ops] == LEGACY_OPS and qa.model.op_embedding.shape[0] == 15
    batch = collate(items())
    with torch.no_grad():
        assert torch.equal(qa.model(batch).op_logp, old(batch).op_logp)
    before = [(a.answer, str(a.program)) for a in qa.answer_batch(items())]
    config = json.loads((tmp_path / "old" / "config.json").read_text())
    del config["model"]["ops"]
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))
    again = TableQA.load(tmp_path / "old", device="cpu")
    assert [(a.answer, str(a.program)) for a in again.answer_batch(items())] == before
    assert all(
        a.explanation.ops.shape[1] == len(OPS) for a in again.answer_batch(items())
    )  # pictures: registry-wide


def test_number_range_feature_points_at_the_column_the_number_belongs_to():
    from nprog.batch import number_in_range

    staff = Table.from_dataframe(
        pd.DataFrame(
            {
                "Employee": ["Ana", "Ben", "Chen"],
                "Salary": ["52000", "98000", "105000"],
                "Years": ["3", "7", "9"],
                "Hired": ["March 2019", "June 2015", "May 2012"],
            }
        )
    )
    assert number_in_range(staff, np.array([80000.0])).tolist() == [False, True, False, False]
    assert number_in_range(staff, np.array([5.0, 2016.0])).tolist() == [False, False, True, True]
    assert not number_in_range(staff, np.zeros(0)).any()
    e = encode(staff, "how many employees earn more than 80000?", VOCAB)
    in_range, key, people = e.col_features[:, -3:].T
    assert in_range.tolist() == [0.0, 1.0, 0.0, 0.0]
    assert key.tolist() == [1.0, 0.0, 0.0, 0.0]  # Employee names the rows
    assert people.tolist() == [0.0, 0.0, 0.0, 0.0]  # one-word names: not people by the look of them
    people = Table.from_dataframe(pd.DataFrame({"Team": ["A", "A"], "Coach": ["Ben Okafor", "Chen Wei"]}))
    assert encode(people, "who?", VOCAB).col_features[:, -2:].tolist() == [[0.0, 0.0], [1.0, 1.0]]


def test_a_model_from_before_the_three_column_features_reads_the_first_eleven():
    """Checkpoints from before them (config without column_features) load and run on today's batches."""
    batch = collate(items())
    old, new = tiny(column_features=11), tiny(column_features=14)
    assert old.col_feature_logit.weight.shape[1] == 11 and new.col_feature_logit.weight.shape[1] == 14
    assert ModelConfig().column_features == 11  # an old config.json, read with today's defaults
    for model in (old, new):
        trace = model(batch)
        assert torch.isfinite(trace.op_logp).all() and trace.col_logp.shape[-1] == batch.col_features.shape[1]


@pytest.mark.parametrize(
    ("question", "person"),
    [("who won the most gold?", True), ("which drivers scored points?", True), ("whose car was fastest?", True),
     ("which book has the most pages?", False), ("which nation won the most gold?", False)],
)  # fmt: skip
def test_a_question_asks_for_a_person(question, person):
    from nprog.cues import asks_for_a_person
    from nprog.questions import parse_question

    assert asks_for_a_person(parse_question(question).tokens) is person


def test_the_names_feature_counts_only_where_the_question_asks_for_a_person():
    """ModelConfig.person_cue: "which book …?" reads no people's-names feature, "who …?" does; a model
    without the setting (every model before it) reads it on every question."""
    from nprog.model import PERSON_FEATURE

    books = Table.from_dataframe(
        pd.DataFrame({"Title": ["Cold Arithmetic", "River of Salt"], "Author": ["Mara Quinn", "Dev Patel"],
                      "Pages": ["275", "198"]})
    )  # fmt: skip
    asked = [encode(books, q, VOCAB) for q in ("which book has the most pages?", "who has the most pages?")]
    assert [e.person_cue for e in asked] == [False, True]
    batch = collate(asked)
    assert batch.col_features[:, 1, PERSON_FEATURE].tolist() == [1.0, 1.0]  # the batch keeps the share
    gated, plain = tiny(column_features=14, person_cue=True), tiny(column_features=14)
    for model in (gated, plain):
        model.eval()
        base = model(batch).col_logp
        batch.col_features[:, :, PERSON_FEATURE] = 0.0  # as if no column held names
        moved = model(batch).col_logp
        batch.col_features[:, 1, PERSON_FEATURE] = 1.0
        changed = [not torch.allclose(base[b], moved[b]) for b in range(2)]
        assert changed == ([False, True] if model is gated else [True, True])
