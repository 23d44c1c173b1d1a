"""The program-search graph and its marginal likelihood, checked against brute-force enumeration."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import torch

from nprog.batch import collate, encode
from nprog.model import ModelConfig, NeuralProgrammer
from nprog.ops import OP_INDEX, OPS, data_rows
from nprog.questions import Vocabulary
from nprog.search import _choices, _consistent_finals, collate_graphs, mml_loss, search
from nprog.tables import Table
from nprog.wtq import make_target

VOCAB = Vocabulary(["how", "many", "which", "nation", "gold", "most", "more", "than", "rows"])
STEPS = 3  # two row steps, then the answer: small enough to enumerate every program


def _items():
    a = Table.from_dataframe(pd.DataFrame({"Nation": ["A", "B", "C"], "Gold": ["3", "5", "1"]}))
    b = Table.from_dataframe(pd.DataFrame({"x": ["1", "2", "3", "4"], "y": ["a", "b", "a", "c"]}))
    c = Table.from_dataframe(pd.DataFrame({"Nation": ["A", "B", "C", "Total"], "Gold": ["3", "5", "1", "9"]}))
    return [
        encode(a, "which nation won the most gold?", VOCAB, target=make_target(a, ["B"])),
        encode(a, "how many nations won more than 2 gold?", VOCAB, target=make_target(a, ["2"])),
        encode(a, "how many nations?", VOCAB, target=make_target(a, ["3"])),  # answerable with no row step
        encode(b, "how many rows have y a", VOCAB, target=make_target(b, ["2"])),
        # the new answer ops, on a table with a totals row the start leaves out
        encode(c, "what is the total gold of all nations", VOCAB, target=make_target(c, ["9"])),
        encode(c, "is there a nation with more than 4 gold", VOCAB, target=make_target(c, ["yes"])),
    ]


def _brute_force(trace, b, e, halt_anywhere):
    """Σ p(program) over every program whose final step is consistent, enumerated one by one."""
    answer_logp, halt_logp = trace.final_logp()
    choices = _choices(e)

    def p_choice(t, k, c, n):
        lp = trace.op_logp[b, t, k] + (trace.col_logp[b, t, k, c] if c >= 0 else 0)
        return lp + (trace.num_logp[b, k, n] if n >= 0 else 0)

    def p_finals(rows, layer):
        total = 0.0
        for _, _, op, col in _consistent_finals(e, rows[None], layer):
            lp = (
                answer_logp[b, layer, op]
                + halt_logp[b, layer]
                + (trace.col_logp[b, layer, op, col] if col >= 0 else 0)
            )
            total += math.exp(float(lp))
        return total

    layers = range(STEPS) if halt_anywhere else [STEPS - 1]
    total = 0.0
    for layer in layers:
        for program in itertools.product(choices, repeat=layer):
            data = data_rows(e.table)
            rows, lp = data.copy(), 0.0
            for t, (k, c, n, _, step) in enumerate(program):
                rows = OPS[k].discrete(rows[None], e.table.columns[c] if c >= 0 else None, step)[0]
                if OPS[k].static and not OPS[k].totals:
                    rows = rows & data
                lp += float(p_choice(t, k, c, n))
            total += math.exp(lp) * p_finals(rows, layer)
    return total


@pytest.mark.parametrize("controller", ["rnn", "act"])
@torch.no_grad()
def test_mml_equals_the_sum_over_enumerated_programs(controller):
    torch.manual_seed(0)
    model = NeuralProgrammer(
        ModelConfig(vocab_size=len(VOCAB), d=16, steps=STEPS, controller=controller)
    ).eval()
    enc = _items()
    halt_anywhere = controller == "act"
    graphs = [search(e, steps=STEPS, halt_anywhere=halt_anywhere) for e in enc]
    trace = model(collate(enc))
    batched = collate_graphs(graphs)
    for b, e in enumerate(enc):
        single = collate_graphs([graphs[b]])
        trace_b = model(collate([e]))
        expected = _brute_force(trace_b, 0, e, halt_anywhere)
        assert expected > 0
        assert math.exp(-float(mml_loss(trace_b, single))) == pytest.approx(expected, rel=1e-4)
    expected = np.mean([-math.log(_brute_force(trace, b, e, halt_anywhere)) for b, e in enumerate(enc)])
    assert float(mml_loss(trace, batched)) == pytest.approx(expected, rel=1e-4)


def test_halting_anywhere_adds_early_answers_and_keeps_the_last_layer():
    e = _items()[2]  # "how many nations?": count of all rows, no row step needed
    fixed, anywhere = search(e, steps=STEPS), search(e, steps=STEPS, halt_anywhere=True)
    assert set(fixed.finals[:, 0]) == {STEPS - 1}
    assert (0, 0, OP_INDEX["count"], -1) in set(map(tuple, anywhere.finals.tolist()))
    last = anywhere.finals[anywhere.finals[:, 0] == STEPS - 1]
    assert len(last) == len(fixed.finals)


def test_the_new_answer_ops_are_found_where_the_question_asks_for_them():
    items = _items()
    total, yes = items[4], items[5]
    finals = {OPS[int(k)].name for k in search(total, steps=STEPS).finals[:, 2]}
    assert "sum" in finals  # 3 + 5 + 1: the Total row (9) is not summed with the rest
    assert "exists" not in finals
    assert (
        total.target.kind == "lookup-number"
    )  # 9 is also the Total row's cell: print finds it when selected
    finals = {OPS[int(k)].name for k in search(yes, steps=STEPS).finals[:, 2]}
    assert finals == {"exists"} and yes.target.kind == "yesno"
    # cues: no sum or average where the question asks for neither, no yes/no for a wh-question
    which = items[0]
    assert not which.op_mask[
        [OP_INDEX["sum"], OP_INDEX["average"], OP_INDEX["exists"], OP_INDEX["exclude"]]
    ].any()
