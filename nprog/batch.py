"""From (table, question) to padded tensors: encode once per pair, pad per batch.

:func:`encode` computes everything the model needs for one pair (numpy, no torch), :func:`collate` pads a
list of encodings into a :class:`nprog.model.Batch`. Padding is per batch: no fixed row, column, token or
answer-item caps. Row-level tensors (values, sort orders, match marks) are built only when the batch is
for soft execution (training); inference needs O(columns) tensors whatever the table's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from nprog.cues import asks_for_a_person, order_op_mask
from nprog.features import Features, compute_features
from nprog.model import N_COLUMN_FEATURES, Batch
from nprog.ops import CUES, OPS, SoftInputs, data_rows
from nprog.questions import (
    NUM,
    STOPWORDS,
    UNK,
    Question,
    Vocabulary,
    in_table_units,
    name_tokens,
    parse_question,
)
from nprog.tables import Table


@dataclass
class Encoded:
    """One (table, question) pair, ready to collate."""

    question: Question
    table: Table
    features: Features
    tokens: np.ndarray  # (L,) int64
    number_pos: np.ndarray  # (N,) int64
    numbers: np.ndarray  # (N,) float64, the question numbers that survived anonymization
    col_names: list[np.ndarray]  # C arrays of token ids
    col_features: np.ndarray  # (C, F) float32
    op_mask: np.ndarray  # (O,) bool
    op_col_mask: np.ndarray  # (O, C) bool
    target: object = None  # nprog.wtq.Target when training
    extra: dict = field(default_factory=dict)
    # the pretrained encoder's input (nprog.encoder), None for the LSTM-only model: word-piece ids of the
    # question (P,) and of the header (Pc,), and how their states pool onto tokens (L, P) and columns (C, Pc)
    lm_q_ids: np.ndarray | None = None
    lm_q_pool: np.ndarray | None = None
    lm_c_ids: np.ndarray | None = None
    lm_c_pool: np.ndarray | None = None
    # (L,) bool: the positions holding content words (no stopword, number or <unk>), for the name match
    lm_q_content: np.ndarray | None = None
    # the question asks for a person (nprog.cues): models with ModelConfig.person_cue read the people's-names
    # feature only then
    person_cue: bool = False


def number_in_range(table: Table, numbers: np.ndarray) -> np.ndarray:
    """(C,) bool: some question number lies within the column's valid values [min, max] (number and date
    columns; dates by their fractional year). "How many employees earn more than 80000?" names a number
    that Salary spans and Years at company does not."""
    lo, hi = table.value_range.T  # (C,) each; NaN for text columns: never in range
    return ((numbers[None, :] >= lo[:, None]) & (numbers[None, :] <= hi[:, None])).any(1)


def column_features(table: Table, f: Features, numbers: np.ndarray) -> np.ndarray:
    R = max(table.n_rows, 1)
    n_exact = f.exact.sum(1)
    n_partial = f.partial.sum(1)
    kinds = np.array([c.kind for c in table.columns])
    feats = np.stack(
        [
            np.log1p(n_exact),
            n_exact > 0,
            np.log1p(n_partial),
            n_partial > 0,
            f.col_exact,
            f.col_partial,
            kinds == "number",
            kinds == "date",
            kinds == "text",
            f.mfe.any(1),
            n_exact / R,
            # the three that ModelConfig.column_features = 14 reads
            number_in_range(table, numbers),
            table.key_column,
            table.person_share,
        ],
        axis=1,
    ).astype(np.float32)
    assert feats.shape[1] == N_COLUMN_FEATURES
    return feats


def operation_masks(
    table: Table, f: Features, has_numbers: bool, words: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Which operations (of the whole registry), and which columns for each, can mean something here (the
    rest are masked): each op's declared column rule, literal and question cue decide."""
    C = table.n_columns
    usable = {
        "any": np.ones(C, dtype=bool),
        "numeric": np.array([c.kind != "text" and bool(c.valid.any()) for c in table.columns], dtype=bool),
        "named": f.exact.any(1),  # a cell the question names
        "worded": f.partial.any(1),  # a cell holding a question word
        "mode": f.mfe.any(1),
    }
    op_col = np.ones((len(OPS), C), dtype=bool)
    op_ok = np.ones(len(OPS), dtype=bool)
    for k, op in enumerate(OPS):
        op_ok[k] = (has_numbers or not op.number) and (words is None or op.cued(words))
        if not op.column:
            continue
        allowed = usable[op.columns] & op_ok[k]
        if op.numeric_when and words is not None and CUES[op.numeric_when](words):
            numbers_only = allowed & usable["numeric"]
            allowed = numbers_only if numbers_only.any() else allowed
        op_ok[k] = bool(allowed.any())
        if op_ok[k]:
            op_col[k] = allowed
    return op_ok, op_col


def encode(
    table: Table,
    question: str | Question,
    vocab: Vocabulary,
    target=None,
    order_cues: bool = False,
    pieces=None,
) -> Encoded:
    """``order_cues``: the order operations only where the question names a row order (nprog.cues);
    ``pieces``: the pretrained encoder's tokenizer (nprog.encoder.WordPieces), for a model that has one."""
    q = in_table_units(parse_question(question) if isinstance(question, str) else question, table)
    f = compute_features(table, q)
    words, positions, spans = q.encoder_layout(f.entity_spans)
    if not words:
        words, spans = ["<unk>"], [(0, 0)]
    kept = [i for i, p in enumerate(positions) if p >= 0]
    number_pos = np.array([positions[i] for i in kept], dtype=np.int64)
    numbers = np.array([q.mentions[i].value for i in kept], dtype=np.float64)
    names = [np.array(vocab.ids(name_tokens(n)) or [1], dtype=np.int64) for n in table.names]
    op_ok, op_col = operation_masks(table, f, len(numbers) > 0, q.tokens)
    if order_cues:
        op_ok &= order_op_mask([op.name for op in OPS], q.tokens)
    lm = {}
    if pieces is not None:
        lm["lm_q_ids"], lm["lm_q_pool"] = pieces.question(q.tokens, spans)
        lm["lm_c_ids"], lm["lm_c_pool"] = pieces.names(tuple(tuple(name_tokens(n)) for n in table.names))
        lm["lm_q_content"] = np.array([w not in STOPWORDS and w not in (NUM, UNK) for w in words], dtype=bool)
    return Encoded(
        question=q,
        table=table,
        features=f,
        tokens=np.array(vocab.ids(words), dtype=np.int64),
        number_pos=number_pos,
        numbers=numbers,
        col_names=names,
        col_features=column_features(table, f, numbers),
        op_mask=op_ok,
        op_col_mask=op_col,
        target=target,
        person_cue=asks_for_a_person(q.tokens),
        **lm,
    )


def _pad(arrays: list[np.ndarray], shape: tuple[int, ...], fill, dtype) -> np.ndarray:
    out = np.full((len(arrays), *shape), fill, dtype=dtype)
    for i, a in enumerate(arrays):
        out[(i, *tuple(slice(0, s) for s in a.shape))] = a
    return out


def soft_inputs(items: list[Encoded], R: int, C: int, N: int) -> SoftInputs:
    """Row-level tensors for soft execution, padded to (C, R)."""
    B = len(items)
    row_mask = np.zeros((B, R), dtype=np.float32)
    values = np.zeros((B, C, R), dtype=np.float64)
    valid = np.zeros((B, C, R), dtype=np.float32)
    cell_mask = np.zeros((B, C, R), dtype=np.float32)
    exact = np.zeros((B, C, R), dtype=np.float32)
    partial = np.zeros((B, C, R), dtype=np.float32)
    data = np.zeros((B, R), dtype=np.float32)
    mfe = np.zeros((B, C, R), dtype=np.float32)
    pad_order = np.broadcast_to(np.arange(R, dtype=np.int64), (B, C, R))
    order_desc, order_asc = pad_order.copy(), pad_order.copy()
    for b, e in enumerate(items):  # one copy per example (numpy slices), no per-row Python
        t = e.table
        r, c = t.n_rows, t.n_columns
        row_mask[b, :r] = 1
        data[b, :r] = data_rows(t)
        cell_mask[b, :c, :r] = 1
        v = np.stack([col.value for col in t.columns])  # (c, r)
        ok = ~np.isnan(v)
        values[b, :c, :r] = np.where(ok, v, 0.0)
        valid[b, :c, :r] = ok
        exact[b, :c, :r] = e.features.exact
        partial[b, :c, :r] = e.features.partial
        mfe[b, :c, :r] = e.features.mfe
        order_desc[b, :c, :r] = np.stack([col.order_desc for col in t.columns])
        order_asc[b, :c, :r] = np.stack([col.order_asc for col in t.columns])
    numbers = _pad([e.numbers for e in items], (N,), 0.0, np.float64)
    number_mask = _pad([np.ones(len(e.numbers)) for e in items], (N,), 0.0, np.float32)
    return SoftInputs(
        row_mask=torch.from_numpy(row_mask),
        values=torch.from_numpy(values),
        valid=torch.from_numpy(valid),
        cell_mask=torch.from_numpy(cell_mask),
        exact=torch.from_numpy(exact),
        partial=torch.from_numpy(partial),
        mfe=torch.from_numpy(mfe),
        order_desc=torch.from_numpy(order_desc),
        order_asc=torch.from_numpy(order_asc),
        numbers=torch.from_numpy(numbers),
        number_mask=torch.from_numpy(number_mask),
        data_rows=torch.from_numpy(data),
    )


def collate(items: list[Encoded], soft: bool = False) -> Batch:
    B = len(items)
    L = max(len(e.tokens) for e in items)
    N = max(max((len(e.numbers) for e in items), default=0), 1)
    C = max(e.table.n_columns for e in items)
    Ln = max(max(len(n) for n in e.col_names) for e in items)
    O = len(OPS)
    tokens = _pad([e.tokens for e in items], (L,), 0, np.int64)
    names = np.zeros((B, C, Ln), dtype=np.int64)
    for b, e in enumerate(items):
        for c, n in enumerate(e.col_names):
            names[b, c, : len(n)] = n
    col_mask = _pad([np.ones(e.table.n_columns, dtype=bool) for e in items], (C,), False, bool)
    op_col = _pad([e.op_col_mask for e in items], (O, C), False, bool)
    batch = Batch(
        tokens=torch.from_numpy(tokens),
        token_mask=torch.from_numpy(tokens != 0),
        number_pos=torch.from_numpy(_pad([e.number_pos for e in items], (N,), 0, np.int64)),
        number_mask=torch.from_numpy(
            _pad([np.ones(len(e.numbers), dtype=bool) for e in items], (N,), False, bool)
        ),
        col_names=torch.from_numpy(names),
        col_name_mask=torch.from_numpy(names != 0),
        col_features=torch.from_numpy(
            _pad([e.col_features for e in items], (C, N_COLUMN_FEATURES), 0.0, np.float32)
        ),
        col_mask=torch.from_numpy(col_mask),
        op_mask=torch.from_numpy(np.stack([e.op_mask for e in items])),
        op_col_mask=torch.from_numpy(op_col),
        person_cue=torch.tensor([e.person_cue for e in items], dtype=torch.float32),
    )
    if items[0].lm_q_ids is not None:
        _collate_pieces(batch, items, L, C)
    if soft:
        R = max(e.table.n_rows for e in items)
        batch.soft = soft_inputs(items, R, C, N)
    return batch


def _collate_pieces(batch: Batch, items: list[Encoded], L: int, C: int) -> None:
    """The pretrained encoder's padded inputs; the frozen layers' states too when every item has them
    cached (training: nprog.encoder.cache_lower_states)."""
    if any(e.lm_q_ids is None for e in items):
        raise ValueError("a batch mixes items encoded with and without the pretrained encoder's pieces")
    P = max(len(e.lm_q_ids) for e in items)
    Pc = max(len(e.lm_c_ids) for e in items)
    batch.lm_q_ids = torch.from_numpy(_pad([e.lm_q_ids for e in items], (P,), 0, np.int64))
    batch.lm_q_pool = torch.from_numpy(_pad([e.lm_q_pool for e in items], (L, P), 0.0, np.float32))
    batch.lm_c_ids = torch.from_numpy(_pad([e.lm_c_ids for e in items], (Pc,), 0, np.int64))
    batch.lm_c_pool = torch.from_numpy(_pad([e.lm_c_pool for e in items], (C, Pc), 0.0, np.float32))
    batch.lm_q_content = torch.from_numpy(_pad([e.lm_q_content for e in items], (L,), False, bool))
    if all("lm_q_lower" in e.extra for e in items):
        E = items[0].extra["lm_q_lower"].shape[1]
        batch.lm_q_lower = torch.from_numpy(
            _pad([e.extra["lm_q_lower"] for e in items], (P, E), 0.0, np.float16)
        )
        batch.lm_c_lower = torch.from_numpy(
            _pad([e.extra["lm_c_lower"] for e in items], (Pc, E), 0.0, np.float16)
        )
