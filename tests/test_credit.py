"""Credit rules (nprog.credit): the refined search graph's marginal likelihood equals the sum over the
programs that pass the rules, each checked one by one by executing it."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import torch

from nprog.batch import collate, encode
from nprog.credit import ONE_ROW_AGGREGATES, SINGLE_ROW_OPS, Rules
from nprog.cues import names_row_order, order_op_mask
from nprog.model import ModelConfig, NeuralProgrammer
from nprog.ops import OP_INDEX, OPS
from nprog.program import Program, Step, execute
from nprog.questions import Vocabulary, parse_question
from nprog.search import _choices, _consistent_finals, collate_graphs, mml_loss, search
from nprog.tables import Table
from nprog.wtq import make_target

VOCAB = Vocabulary(
    ["how", "many", "which", "nation", "gold", "most", "more", "than", "rows", "after", "first"]
)
STEPS = 4  # three row steps, then the answer (the paper's length)
BRUTE_STEPS = 3  # two row steps: every program enumerated, still a pair of dynamic steps for minimality

MEDALS = pd.DataFrame(
    {"Nation": ["A", "B", "C", "D"], "Gold": ["3", "5", "1", "5"], "Silver": ["2", "2", "4", "1"]}
)


def _items(order_cues=False):
    a = Table.from_dataframe(MEDALS)
    b = Table.from_dataframe(pd.DataFrame({"x": ["1", "2", "3", "4"], "y": ["a", "b", "a", "c"]}))
    pairs = [
        (a, "which nation won the most silver?", ["C"]),
        (a, "which nation won the most gold?", ["B"]),  # tied with D: argmax answers B and D
        (a, "which nation comes first with the most gold?", ["B"]),
        (a, "how many nations won more than 2 gold?", ["3"]),
        (a, "which nation is after B?", ["C"]),
        (b, "how many rows have y a", ["2"]),
        (b, "how many rows", ["1"]),  # only constant or chance programs give 1 here
    ]
    return [encode(t, q, VOCAB, target=make_target(t, ans), order_cues=order_cues) for t, q, ans in pairs]


def _credited(e, program, final, rules):
    """Does one program pass the rules? Executed step by step (the definition, not the graph)."""
    cols = e.table.columns
    run = lambda k, c, st, rows: OPS[k].discrete(rows[None], cols[c] if c >= 0 else None, st)[0]  # noqa: E731
    statics = [i for i, (k, *_rest) in enumerate(program) if OPS[k].static]
    live = list(range(statics[-1] if statics else 0, len(program)))
    rows = [np.ones(e.table.n_rows, dtype=bool)]
    for k, c, _, _, st in program:
        rows.append(run(k, c, st, rows[-1]))
    op, col = final
    if (
        (
            (rules.no_constant and OPS[op].name == "count")
            or (rules.no_single_aggregate and OPS[op].name in ONE_ROW_AGGREGATES)
        )
        and program
        and OPS[program[-1][0]].name in SINGLE_ROW_OPS
    ):
        return False
    for i in live:
        k, c, _, _, st = program[i]
        if OPS[k].static:
            continue
        x, y = rows[i], rows[i + 1]
        droppable = not OPS[k].literal  # a dynamic step that names nothing of the question
        if rules.minimal and droppable:
            if (x == y).all():
                return False
            if i + 1 < len(program):
                k2, c2, _, _, st2 = program[i + 1]
                if (run(k2, c2, st2, x) == rows[i + 2]).all():
                    return False
            elif (i, 0, op, col) in {(i, 0, *f[2:]) for f in _consistent_finals(e, x[None], i).tolist()}:
                return False
    return True


def _brute_force(trace, e, rules):
    choices = _choices(e)
    layer = BRUTE_STEPS - 1
    total = 0.0
    for program in itertools.product(choices, repeat=layer):
        rows, lp = np.ones(e.table.n_rows, dtype=bool), 0.0
        for t, (k, c, n, _, step) in enumerate(program):
            rows = OPS[k].discrete(rows[None], e.table.columns[c] if c >= 0 else None, step)[0]
            lp += float(trace.op_logp[0, t, k] + (trace.col_logp[0, t, k, c] if c >= 0 else 0)
                        + (trace.num_logp[0, k, n] if n >= 0 else 0))  # fmt: skip
        for _, _, op, col in _consistent_finals(e, rows[None], layer).tolist():
            if _credited(e, program, (op, col), rules):
                lp_f = trace.op_logp[0, layer, op] + (trace.col_logp[0, layer, op, col] if col >= 0 else 0)
                total += math.exp(lp + float(lp_f))
    return total


RULES = [
    Rules(minimal=True),
    Rules(no_constant=True),
    Rules(no_single_aggregate=True),
    Rules(True, True, True),
]


@pytest.mark.parametrize("rules", RULES, ids=str)
@torch.no_grad()
def test_refined_mml_equals_the_sum_over_credited_programs(rules):
    torch.manual_seed(0)
    model = NeuralProgrammer(ModelConfig(vocab_size=len(VOCAB), d=16, steps=BRUTE_STEPS)).eval()
    for e in _items():
        graph = search(e, steps=BRUTE_STEPS, rules=rules)
        trace = model(collate([e]))
        expected = _brute_force(trace, e, rules)
        got = 0.0 if graph.empty else math.exp(-float(mml_loss(trace, collate_graphs([graph]))))
        assert got == pytest.approx(expected, rel=1e-4, abs=1e-12), e.question.text


def test_the_rules_remove_the_accidental_programs():
    medals, tied, _, _, _, _, ones = _items()
    choice = {(OPS[k].name, e_c): (k, e_c, n, s, st) for k, e_c, n, s, st in _choices(medals)}
    silver, nation = medals.table.names.index("Silver"), medals.table.names.index("Nation")
    reset, above, most = choice["reset", -1], choice["previous", -1], choice["argmax", silver]
    final = (OP_INDEX["print"], nation)
    # "the row above each, then the most silver" drops a row that changes nothing here: not minimal
    assert _credited(medals, [reset, above, most], final, Rules())
    assert not _credited(medals, [reset, above, most], final, Rules(minimal=True))
    assert _credited(medals, [reset, reset, most], final, Rules(minimal=True))
    # B and D tie on gold: the superlative keeps both, so the program answers "B, D", not the gold "B"
    assert execute(Program([Step("argmax", "Gold"), Step("print", "Nation")]), tied.table).answer == [
        "B",
        "D",
    ]
    # "how many rows" = 1 on a 4-row table: count after first/last/argmax is constant, not credited
    # (count after "next of the first" remains: not constant on every table)
    pick = {(OPS[k].name, c): (k, c, n, st_, st) for k, c, n, st_, st in _choices(ones)}
    top = [pick["reset", -1], pick["reset", -1], pick["argmax", 0]]
    assert _credited(ones, top, (OP_INDEX["count"], -1), Rules())
    assert not _credited(ones, top, (OP_INDEX["count"], -1), Rules(no_constant=True))
    # the sum/average of the one top row is its value (print says it), the difference 0: not credited
    for name in ONE_ROW_AGGREGATES:
        assert _credited(ones, top, (OP_INDEX[name], 0), Rules(no_constant=True))
        assert not _credited(ones, top, (OP_INDEX[name], 0), Rules(no_single_aggregate=True))


def test_order_cues():
    assert names_row_order(parse_question("who came after Norway?").tokens)
    assert names_row_order(parse_question("which was the first film released?").tokens)
    assert not names_row_order(parse_question("which nation won the most gold medals?").tokens)
    names = [op.name for op in OPS]
    mask = order_op_mask(names, parse_question("which nation won the most gold medals?").tokens)
    assert {n for n, ok in zip(names, mask, strict=True) if not ok} == {"previous", "next", "first", "last"}
    assert order_op_mask(names, parse_question("who is listed last?").tokens).all()
    medals, *_ = _items(order_cues=True)
    assert not medals.op_mask[OP_INDEX["previous"]] and not medals.op_mask[OP_INDEX["first"]]
    assert not any(np.isin(g[:, 1], [OP_INDEX[n] for n in ("previous", "next", "first", "last")]).any()
                   for g in search(medals, steps=STEPS).steps)  # fmt: skip
