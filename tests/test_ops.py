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
from nprog.tables import Table

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
    s = inp.data_rows  # what the model starts from: every row but the totals rows
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
    # Norway (16) has half the mass and each of the three tied 12s the other half (a tie keeps every
    # tied row, wherever it stands); n/a and the 3 never
    assert torch.allclose(out, torch.tensor([[0.5, 0.5, 0.5, 0.0, 0.0, 0.5]]))
    argmin = OPS[OP_INDEX["argmin"]].soft(s, beta, batch.soft, None)  # 3 is lowest and fully selected
    assert torch.allclose(argmin, torch.tensor([[0.0, 0.0, 0.0, 0.0, 1.0, 0.0]]))


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
    Step("contains", "Nation", values=["germany", "japan"]),
    Step("and_select", "Nation", values=["Germany", "Japan"]),
    Step("and_contains", "Nation", values=["germany", "japan"]),
    Step("exclude", "Nation", values=["Germany", "Japan"]),
    Step("exclude", "Year", values=[2010.0]),
]
ANSWER_STEPS = [
    Step("count"),
    Step("sum", "Gold"),
    Step("sum", "Year"),
    Step("average", "Gold"),
    Step("average", "Year"),
    Step("difference", "Gold"),
    Step("difference", "Year"),
    Step("exists"),
]


@pytest.mark.parametrize("steps", list(itertools.product(ROW_STEPS, repeat=2)), ids=lambda s: str(s))
def test_parity_with_executor(enc, steps):
    """With one-hot attention every soft program equals the reference executor, exactly."""
    steps = list(steps)
    soft = soft_run(enc, steps)
    result = execute(Program([*steps, Step("count")]), enc.table)
    for t, rows in enumerate(result.rows[:-1]):
        assert torch.equal(soft[t], torch.from_numpy(rows.astype(np.float32))), (t, steps)


def soft_answer(enc, s, step):
    """The soft value of an answer step on the selector s (1, R) with one-hot column attention."""
    batch = collate([enc], soft=True)
    op = OPS[OP_INDEX[step.op]]
    beta = torch.zeros(1, enc.table.n_columns)
    if step.column is not None:
        beta[0] = one_hot(enc.table.n_columns, enc.table.names.index(step.column))
    return float(op.soft(s, beta, batch.soft)[0])


@pytest.mark.parametrize("final", ANSWER_STEPS, ids=lambda s: str(s))
@pytest.mark.parametrize("steps", [[]] + [[s] for s in ROW_STEPS] + [list(p) for p in itertools.product(ROW_STEPS, repeat=2)][::5],
                         ids=lambda s: str(s))  # fmt: skip
def test_answer_parity_with_executor(enc, steps, final):
    """Every answer operation's soft value on a one-hot program equals the executor's answer."""
    s = soft_run(enc, steps)[-1].unsqueeze(0) if steps else collate([enc], soft=True).soft.data_rows
    result = execute(Program([*steps, final]), enc.table)
    soft = soft_answer(enc, s, final)
    if OPS[OP_INDEX[final.op]].yields == "yesno":
        assert result.answer == (["yes"] if soft == 1.0 else ["no"]) and soft in (0.0, 1.0)
    elif result.scalar is None:  # nothing to average: the soft form gives 0
        assert result.answer == [] and soft == 0.0
    else:
        assert soft == pytest.approx(result.scalar, rel=1e-12, abs=1e-12)


def test_contains_literal_is_the_partial_match(enc):
    from nprog.decode import contains_words

    assert contains_words(enc, 0) == ["germany", "japan"]
    assert enc.features.partial[0].tolist() == [False, True, False, True, True, False]


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


TOTALS_DF = pd.DataFrame({"Nation": ["Norway", "Germany", "Total", "Canada", "Total"],
                          "Gold": ["3", "5", "10", "2", "10"]})  # fmt: skip
TOTAL_STEPS = [
    Step("reset"), Step("first"), Step("last"), Step("previous"), Step("next"), Step("argmax", "Gold"),
    Step("argmin", "Gold"), Step("greater", "Gold", 4.0), Step("mfe", "Gold"), Step("select", "Nation", values=["Germany", "Total"]),
    Step("contains", "Nation", values=["germany", "total"]), Step("exclude", "Nation", values=["Germany", "Total"]),
]  # fmt: skip


@pytest.mark.parametrize("steps", list(itertools.product(TOTAL_STEPS, repeat=2)), ids=lambda s: str(s))
def test_parity_with_totals_rows(steps):
    """Totals rows (two here, one mid-table) are out of the start and of the non-word static ops, softly too."""
    from nprog.tables import Table

    enc = encode(
        Table.from_dataframe(TOTALS_DF), "how many total gold did germany win in total over 4", VOCAB
    )
    assert collate([enc], soft=True).soft.data_rows.tolist() == [[1.0, 1.0, 0.0, 1.0, 0.0]]
    steps = list(steps)
    soft = soft_run(enc, steps)
    result = execute(Program([*steps, Step("count")]), enc.table)
    for t, rows in enumerate(result.rows[:-1]):
        assert torch.equal(soft[t], torch.from_numpy(rows.astype(np.float32))), (t, steps)
    for final in (Step("count"), Step("sum", "Gold"), Step("exists")):
        value = soft_answer(enc, soft[-1].unsqueeze(0), final)
        expected = execute(Program([*steps, final]), enc.table)
        assert value == (
            expected.scalar if expected.scalar is not None else float(expected.answer == ["yes"])
        )


@pytest.mark.parametrize(
    ("question", "offered", "not_offered"),
    [
        ("is norway above germany", {"exists"}, {"sum", "average", "difference", "exclude"}),
        ("which nation won the most gold", set(), {"exists", "sum", "average", "difference", "exclude"}),
        ("how many more gold did norway win than germany", {"difference"}, {"exists"}),
        ("how many nations won more than 10 gold", set(), {"difference"}),  # a comparison, not a difference
        ("what is the difference in gold between norway and japan", {"difference"}, set()),
        ("which nation other than norway won the most gold", {"exclude"}, {"exists"}),
        ("what is the total gold of all nations", {"sum"}, {"average"}),
        ("what was the average gold", {"average"}, {"sum"}),
        ("didn't canada win gold", {"exists", "exclude"}, set()),
        ("how many nations won more than 5 gold", set(), {"geq", "leq"}),  # strict: greater
        ("how many nations won at least 5 gold", {"geq", "leq"}, set()),
        ("how many films ran 90 minutes or more", {"geq", "leq"}, set()),
        ("who finished in 2:05:00 or under", {"geq", "leq"}, set()),
        ("which games were played before 2001", set(), {"geq", "leq"}),
    ],
)
def test_question_cues_offer_the_ops_the_question_asks_for(question, offered, not_offered):
    from nprog.questions import parse_question

    words = parse_question(question).tokens
    cued = {op.name for op in OPS if op.cue and op.cued(words)}
    assert offered <= cued and not (not_offered & cued), cued


@pytest.mark.parametrize(
    ("frame", "question", "printable"),
    [
        # "how many …?" asks for a number: print reads the number and date columns only
        (
            {"Name": ["A", "B"], "Team": ["x", "y"], "Goals": ["3", "5"]},
            "how many goals did a score",
            [0, 0, 1],
        ),
        (
            {"Name": ["A", "B"], "Team": ["x", "y"], "Goals": ["3", "5"]},
            "how many players are in x",
            [0, 0, 1],
        ),
        ({"Name": ["A", "B"], "Team": ["x", "y"], "Goals": ["3", "5"]}, "which team is a in", [1, 1, 1]),
        ({"Name": ["A", "B"], "Team": ["x", "y"]}, "how many players are in x", [1, 1]),  # no number column
    ],
)
def test_a_how_many_question_prints_numbers_only(frame, question, printable):
    table = Table.from_dataframe(pd.DataFrame(frame))
    e = encode(table, question, Vocabulary(["how", "many"]))
    assert e.op_col_mask[OP_INDEX["print"]].astype(int).tolist() == printable
