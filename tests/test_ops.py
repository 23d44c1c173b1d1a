"""Soft operations: exact values on small tables, and parity with the discrete executor."""

import itertools

import numpy as np
import pandas as pd
import pytest
import torch

from nprog.batch import collate, encode
from nprog.ops import OP_INDEX, OPS, _excl_cumprod, soft_row_ops
from nprog.program import Program, Step, execute
from nprog.questions import Vocabulary

VOCAB = Vocabulary(["nation", "gold"])
DF = pd.DataFrame(
    {
        "Nation": ["Norway", "Germany", "Canada", "Germany", "Japan", "Italy"],
        "Gold": ["16", "12", "12", "n/a", "3", "12"],
        "Year": ["2018", "2014", "2010", "2006", "2002", "1998"],
    }
)
QUESTION = "did germany or japan win more than 10 gold before 2010"


@pytest.fixture(scope="module")
def enc():
    from nprog.tables import Table

    return encode(Table.from_dataframe(DF), QUESTION, VOCAB)


def one_hot(n, i):
    v = torch.zeros(n)
    v[i] = 1.0
    return v


def soft_run(enc, steps):
    """Run row steps softly with one-hot attention; returns the selector after each step (R,)."""
    batch = collate([enc], soft=True)
    inp = batch.soft
    C, N, O = enc.table.n_columns, len(enc.numbers), len(OPS)
    s = inp.row_mask
    out = []
    for step in steps:
        k = OP_INDEX[step.op]
        beta = torch.zeros(1, O, C)
        pi = torch.zeros(1, O, max(N, 1))
        if step.column is not None:
            beta[0, k] = one_hot(C, enc.table.names.index(step.column))
        if step.number is not None:
            pi[0, k] = one_hot(max(N, 1), list(enc.numbers).index(step.number))
        s = soft_row_ops(s, inp, pi, beta)[:, k]
        out.append(s[0])
    return out


def test_exclusive_cumprod_is_exact_without_grad():
    x = torch.tensor([[1.0, 0.0, 0.5, 1.0]])
    assert torch.equal(_excl_cumprod(x), torch.tensor([[1.0, 1.0, 0.0, 0.0]]))


def test_soft_first_last_prev_next_exact_values():
    s = torch.tensor([[0.0, 0.5, 0.5, 1.0]])
    first = OPS[OP_INDEX["first"]].soft(s, None, None, None)
    assert torch.allclose(first, torch.tensor([[0.0, 0.5, 0.25, 0.25]]))
    last = OPS[OP_INDEX["last"]].soft(s, None, None, None)
    assert torch.allclose(last, torch.tensor([[0.0, 0.0, 0.0, 1.0]]))
    prev = OPS[OP_INDEX["previous"]].soft(s, None, None, None)
    assert torch.equal(prev, torch.tensor([[0.5, 0.5, 1.0, 0.0]]))
    nxt = OPS[OP_INDEX["next"]].soft(s, None, None, None)
    assert torch.equal(nxt, torch.tensor([[0.0, 0.0, 0.5, 0.5]]))


def test_soft_argmax_gives_mass_in_value_order(enc):
    s = torch.tensor([[0.5, 1.0, 1.0, 1.0, 1.0, 1.0]])
    batch = collate([enc], soft=True)
    beta = one_hot(3, 1).unsqueeze(0)  # Gold
    out = OPS[OP_INDEX["argmax"]].soft(s, beta, batch.soft, None)
    # Norway (16) has half the mass, the top-most 12 (Germany) the rest; n/a never
    assert torch.allclose(out, torch.tensor([[0.5, 0.5, 0.0, 0.0, 0.0, 0.0]]))


ROW_STEPS = [
    Step("reset"),
    Step("first"),
    Step("last"),
    Step("previous"),
    Step("next"),
    Step("mfe", "Gold"),
    Step("mfe", "Nation"),
    Step("greater", "Gold", number=10.0),
    Step("less", "Year", number=2010.0),
    Step("geq", "Year", number=2010.0),
    Step("leq", "Gold", number=10.0),
    Step("argmax", "Gold"),
    Step("argmin", "Gold"),
    Step("argmax", "Year"),
    Step("argmin", "Year"),
    Step("select", "Nation", values=["Germany", "Japan"]),
]


@pytest.mark.parametrize("steps", list(itertools.product(ROW_STEPS, repeat=2)), ids=lambda s: str(s))
def test_parity_with_executor(enc, steps):
    """With one-hot attention every soft program equals the reference executor, exactly."""
    steps = list(steps)
    soft = soft_run(enc, steps)
    result = execute(Program([*steps, Step("count")]), enc.table)
    for t, rows in enumerate(result.rows[:-1]):
        assert torch.equal(soft[t], torch.from_numpy(rows.astype(np.float32))), (t, steps)


def test_select_matches_question_cells(enc):
    assert enc.features.matched_text[0] == ["Germany", "Japan"]
    assert set(enc.numbers) >= {10.0, 2010.0}


@pytest.mark.parametrize("steps", list(itertools.product(ROW_STEPS, repeat=3))[::7], ids=lambda s: str(s))
def test_simplified_programs_compute_the_same(enc, steps):
    for final in (Step("count"), Step("print", "Nation")):
        program = Program([*steps, final])
        simple = program.simplified()
        assert len(simple.steps) <= len(program.steps)
        assert execute(simple, enc.table).answer == execute(program, enc.table).answer
