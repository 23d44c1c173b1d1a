"""Programs consistent with a training answer, and their marginal likelihood under the model (MML).

Weak supervision gives answers, not programs. Following the semantic-parsing recipe (Krishnamurthy et al.
2017, Dasigi et al. 2019), we search, once before training, for hard programs that produce each training
answer, and add −log Σ_{consistent programs} p(program) to the loss.

The sum is exact and cheap because of two properties of the Neural Programmer:

* the controller never sees row selections, so a program's probability is the product of its per-step
  choice probabilities read off one forward pass: p = Π_t α_t(op) · β_t(col | op) · π(num | op);
* a *static* operation (select, comparisons, mfe, reset) ignores the incoming rows, so every prefix
  leads to the same selection and the prefixes' probabilities sum to 1.

Search runs forward over distinct row selections (the states) with the registry's own discrete forms on
stacks of selections (no second copy of op semantics), then keeps only states from which a consistent
final step (a scalar answer op — count, sum, average, difference — equal to y; print of cells that match
every answer item; exists for a yes/no answer) can be reached. The result is a
small graph per example; :func:`mml_loss` runs the forward algorithm over it for a whole batch at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import torch

from nprog.batch import Encoded
from nprog.credit import Rules, refine
from nprog.decode import make_step
from nprog.ops import OPS, data_rows

MAX_STATES = 256  # per step; a bound on search effort (the marginal is then a lower bound)
START = -1  # "any prefix" (static transitions and the first step)


@dataclass
class Graph:
    """Transitions per row step t: (prev state or START, op, column or −1, number or −1, next state)."""

    steps: list[np.ndarray]  # T−1 arrays (E_t, 5) int64
    n_states: list[int]  # states after each row step
    finals: np.ndarray  # (F, 4) int64: (layer, state, op, column or −1) consistent final steps
    # layer k = the selection after k row steps (layer 0: all rows, state 0); fixed-length programs
    # answer at layer T−1 only, the ACT controller at any layer

    @property
    def empty(self) -> bool:
        return len(self.finals) == 0


def _choices(e: Encoded):
    """Row-step choices: (op, column, number, static?, Step) for this table and question.

    Op indices are the registry's (nprog.ops.OPS), which is the op set of every model train() builds."""
    out = []
    C, N = e.table.n_columns, len(e.numbers)
    for k, op in enumerate(OPS):
        if op.answers or not e.op_mask[k]:
            continue
        cols = [c for c in range(C) if e.op_col_mask[k, c]] if op.column else [-1]
        nums = range(N) if op.number else [-1]
        for c in cols:
            for n in nums:
                out.append((k, c, n, op.static, make_step(op, e, c, n)))
    return out


def _key(rows: np.ndarray) -> bytes:
    return np.packbits(rows).tobytes()


def search(e: Encoded, steps: int = 4, halt_anywhere: bool = False, rules: Rules | None = None) -> Graph:
    """The graph of programs consistent with e's answer; ``rules`` (:mod:`nprog.credit`) keep only those
    whose every step means something."""
    t = e.table
    R = t.n_rows
    choices = _choices(e)
    data = data_rows(t)  # every row but the totals rows: the start, and what non-word static ops range over
    static = [(k, c, n, OPS[k].discrete(np.ones(R, dtype=bool), t.columns[c] if c >= 0 else None, st)
               & (True if OPS[k].totals else data))
              for k, c, n, is_static, st in choices if is_static]  # fmt: skip
    dynamic = [(k, c, n, st) for k, c, n, is_static, st in choices if not is_static]

    layers: list[np.ndarray] = []  # states (S_t, R) after each row step
    edges: list[list[tuple[int, int, int, int, int]]] = []
    prev_states = data[None, :].copy()  # s0 = all rows but the totals rows
    for _ in range(steps - 1):
        index: dict[bytes, int] = {}
        states: list[np.ndarray] = []
        step_edges = []

        def add(rows, prev, k, c, n, index=index, states=states, step_edges=step_edges):
            key = _key(rows)
            j = index.get(key)
            if j is None:
                if len(states) >= MAX_STATES:
                    return
                j = index[key] = len(states)
                states.append(rows)
            step_edges.append((prev, k, c, n, j))

        for k, c, n, rows in static:
            add(rows, START, k, c, n)
        for k, c, n, st in dynamic:
            out = OPS[k].discrete(prev_states, t.columns[c] if c >= 0 else None, st)  # (S, R) at once
            for i in range(len(out)):
                add(out[i], i if len(layers) else START, k, c, n)
        layers.append(np.array(states).reshape(-1, R))
        edges.append(step_edges)
        prev_states = layers[-1]

    finals = every = [_consistent_finals(e, prev_states, steps - 1)]
    if halt_anywhere or (rules is not None and rules.minimal):
        every = [_consistent_finals(e, data[None, :].copy(), 0)]
        every += [_consistent_finals(e, layer, k + 1) for k, layer in enumerate(layers)]
        finals = every if halt_anywhere else finals
    if rules is not None and rules.active:
        return _prune(
            *_credited(e, data, layers, edges, np.concatenate(finals), np.concatenate(every), dynamic, rules)
        )
    return _prune(edges, [len(s) for s in layers], np.concatenate(finals))


def _credited(e: Encoded, data, layers, edges, finals, consistent, dynamic, rules: Rules):
    """The search graph refined to the programs the credit rules accept (nprog.credit.refine)."""
    t = e.table
    steps = {(k, c, n): st for k, c, n, st in dynamic}

    def apply(k, c, n, rows):
        return OPS[k].discrete(rows, t.columns[c] if c >= 0 else None, steps[k, c, n])

    return refine([data[None, :].copy(), *layers], edges, finals, consistent, [op.name for op in OPS],
                  np.array([op.static for op in OPS]), np.array([bool(op.literal) for op in OPS]), apply, rules)  # fmt: skip


def _consistent_finals(e: Encoded, states: np.ndarray, layer: int) -> np.ndarray:
    """(layer, state, op, column) final steps whose answer matches the gold answer."""
    target = e.target
    out = []
    sizes = states.sum(1)
    for k, op in enumerate(OPS):
        if not op.answers or not e.op_mask[k]:
            continue
        if op.yields == "scalar" and target.y is not None and target.kind in ("calc", "lookup-number"):
            for c in [c for c in range(e.table.n_columns) if e.op_col_mask[k, c]] if op.column else [-1]:
                x = op.discrete(states, e.table.columns[c] if c >= 0 else None)  # (S,)
                for s in np.flatnonzero(np.abs(x - target.y) < 1e-6):
                    out.append((layer, s, k, c))
        elif op.yields == "yesno" and target.yesno is not None:
            for s in np.flatnonzero((sizes > 0) == (target.yesno == "yes")):
                out.append((layer, s, k, -1))
        elif op.yields == "lookup":
            out += _print_finals(e, states, sizes, layer, k)
    return np.array(out, dtype=np.int64).reshape(-1, 4)


def _print_finals(e: Encoded, states: np.ndarray, sizes: np.ndarray, layer: int, p: int) -> list:
    """Print steps whose cells match every answer item and nothing else."""
    target = e.target
    out = []
    K = target.item_cells.shape[0]
    if K and target.kind != "calc":
        for c, column in enumerate(e.table.columns):
            cells = target.item_cells[:, c, :]  # (K, R)
            member = cells.any(0)
            if not member.any():
                continue
            ok = (sizes > 0) & ~(states & ~member).any(1)  # every printed cell matches some item
            ok &= (states.astype(np.uint8) @ cells.T.astype(np.uint8) > 0).all(1)  # every item printed
            if not ok.any():
                continue
            codes = pa.array(column.strings).dictionary_encode().indices.to_numpy(zero_copy_only=False)
            for s in np.flatnonzero(ok):
                if len(np.unique(codes[states[s]])) == K:  # as many distinct strings as answer items
                    out.append((layer, s, p, c))
    return out


def _prune(edges, n_states, finals) -> Graph:
    """Keep only states on some path to a consistent final step, renumbered (layer 0 stays state 0)."""
    if len(finals) == 0:
        return Graph([np.zeros((0, 5), np.int64) for _ in edges], [0] * len(edges), finals)
    kept: list[np.ndarray] = [None] * len(edges)
    useful = np.zeros(0, dtype=bool)  # states of the layer after edges[t] that lead somewhere
    for t in range(len(edges) - 1, -1, -1):
        layer = t + 1  # edges[t] lead into layer t + 1
        here = np.zeros(n_states[t], dtype=bool)
        here[finals[finals[:, 0] == layer, 1]] = True
        if len(useful):
            here |= useful
        e = np.array(edges[t], dtype=np.int64).reshape(-1, 5)
        e = e[here[e[:, 4]]]
        kept[t] = e
        useful = np.zeros(n_states[t - 1], dtype=bool) if t else np.zeros(0, dtype=bool)
        if t:
            useful[e[e[:, 0] >= 0, 0]] = True
    # renumber states densely per layer
    sizes = []
    remaps = [np.zeros(1, dtype=np.int64)]  # layer 0: the single all-rows state
    for t in range(len(kept)):
        e = kept[t]
        if t:
            e[:, 0] = np.where(e[:, 0] >= 0, remaps[t][np.maximum(e[:, 0], 0)], START)
        ids, new = np.unique(e[:, 4], return_inverse=True)
        remap = np.full(n_states[t], -1, dtype=np.int64)
        remap[ids] = np.arange(len(ids))
        e[:, 4] = new
        sizes.append(len(ids))
        remaps.append(remap)
        kept[t] = e
    finals = finals.copy()
    for layer, remap in enumerate(remaps):
        at = finals[:, 0] == layer
        finals[at, 1] = remap[finals[at, 1]]
    return Graph(kept, sizes, finals)


def collate_graphs(graphs: list[Graph]):
    """Batch the graphs: global state ids per layer, example index and global state of every final."""
    T1 = len(graphs[0].steps)
    B = len(graphs)
    steps = []
    offsets_prev = np.zeros(B, dtype=np.int64)
    layer_offsets = [np.arange(B, dtype=np.int64)]  # layer 0: example b's all-rows state is state b
    for t in range(T1):
        rows, offsets, total = [], np.zeros(B, dtype=np.int64), 0
        for b, g in enumerate(graphs):
            e = g.steps[t].copy()
            if len(e):
                e[:, 0] = np.where(e[:, 0] >= 0, e[:, 0] + offsets_prev[b], START)
                e[:, 4] += total
                rows.append(np.concatenate([np.full((len(e), 1), b), e], 1))
            offsets[b] = total
            total += g.n_states[t]
        steps.append((torch.from_numpy(np.concatenate(rows) if rows else np.zeros((0, 6), np.int64)), total))
        offsets_prev = offsets
        layer_offsets.append(offsets)
    finals = []
    for b, g in enumerate(graphs):
        if len(g.finals):
            f = g.finals.copy()
            layer_start = np.array([lo[b] for lo in layer_offsets])
            f[:, 1] += layer_start[f[:, 0]]
            finals.append(np.concatenate([np.full((len(f), 1), b), f], 1))
    finals = torch.from_numpy(np.concatenate(finals) if finals else np.zeros((0, 5), np.int64))
    has = torch.tensor([not g.empty for g in graphs])
    return steps, finals, has


def _choice_logp(op_logp, col_logp, num_logp, b, op, col, num) -> torch.Tensor:
    lp = op_logp[b, op]
    lp = lp + torch.where(col >= 0, col_logp[b, op, col.clamp(min=0)], torch.zeros_like(lp))
    lp = lp + torch.where(num >= 0, num_logp[b, op, num.clamp(min=0)], torch.zeros_like(lp))
    return lp


def mml_loss(trace, graphs) -> torch.Tensor:
    """−log Σ_{consistent programs} p(program), averaged over the examples that have one.

    The forward algorithm over the layers; a final step at layer k is weighted by the probability of
    answering at step k (1 at the last step for fixed-length programs, the ACT halting weight otherwise).
    """
    steps, finals, has = graphs
    B = trace.op_logp.shape[0]
    alphas = [trace.op_logp.new_ones(B)]  # layer 0: the all-rows state of each example
    for t, (e, n) in enumerate(steps):
        b, prev, op, col, num, nxt = e.unbind(1)
        p = _choice_logp(trace.op_logp[:, t], trace.col_logp[:, t], trace.num_logp, b, op, col, num).exp()
        alpha = alphas[-1] if t else None
        # no node in the layer before (every program of the batch starts later, with a static step):
        # every edge starts afresh (prev = −1), and indexing the empty alpha would fail even inside where
        incoming = (
            torch.ones_like(p)
            if alpha is None or alpha.numel() == 0
            else torch.where(prev >= 0, alpha[prev.clamp(min=0)], torch.ones_like(p))
        )
        alphas.append(p.new_zeros(n).index_add(0, nxt, incoming * p))
    b, layer, state, op, col = finals.unbind(1)
    answer_logp, halt_logp = trace.final_logp()
    lp = answer_logp[b, layer, op] + halt_logp[b, layer]
    lp = lp + torch.where(col >= 0, trace.col_logp[b, layer, op, col.clamp(min=0)], torch.zeros_like(lp))
    alpha_all = torch.cat(alphas)
    starts = torch.tensor([0] + [len(a) for a in alphas], device=alpha_all.device).cumsum(0)[:-1]
    p_final = lp.exp() * alpha_all[starts[layer] + state]
    total = p_final.new_zeros(B).index_add(0, b, p_final)
    nll = -torch.log(total.clamp(min=1e-30))
    mask = has.to(nll.device)
    return (nll * mask).sum() / mask.sum().clamp(min=1)
