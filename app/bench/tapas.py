"""The TAPAS side of ``nprog bench``: the same WTQ dev questions and tables, and the same 50-row latency
question set, answered by a TAPAS-base-sized model from ``transformers``.

Why a randomly initialised model is fair for speed
    Nothing can be downloaded here, so the model is ``TapasForQuestionAnswering`` built from a
    ``TapasConfig`` of the default (BERT-base) size — 12 layers, hidden 768, 12 heads, 512-token inputs —
    with the WTQ heads of ``google/tapas-base-finetuned-wtq`` (cell selection plus a 4-way aggregation
    head: NONE / SUM / AVERAGE / COUNT), and random weights. The time a forward pass takes depends on the
    shapes and the operations, not on the values of the weights, so the rates are those of the trained
    model; its *answers* are meaningless and are not scored. Every row says "random init".

The vocabulary
    ``TapasTokenizer`` is a WordPiece tokenizer and needs a ``vocab.txt``. :func:`build_vocab` writes one
    into a temporary directory: the special tokens TapasTokenizer uses — ``[PAD]`` (id 0, as in BERT),
    ``[UNK]``, ``[CLS]``, ``[SEP]``, ``[MASK]`` and ``[EMPTY]`` (its token for empty cells; without it in the
    vocabulary the tokenizer appends it as an extra id) — then every single character of the corpus and its
    ``##`` continuation form (so every string tokenizes with no ``[UNK]``), then the most frequent words of
    the corpus after TAPAS's own basic tokenization (lower-casing, accent stripping, punctuation split), up
    to ``config.vocab_size`` entries (30,522, BERT's size). The corpus is the WTQ dev questions and all dev
    tables (headers and cells). Words outside the vocabulary split into a known prefix and ``##``
    characters, so sequences are, if anything, a little longer than with BERT's vocabulary; the real
    tokenization work (basic tokenizer, WordPiece, TAPAS's numeric parsing of cells and question, column
    ranks) runs in full.

What one answer costs (end to end, as for nprog)
    Reading the dev TSV and the tables (``nprog.wtq``, cache cleared first, as ``bench_throughput`` does),
    ``TapasTokenizer`` with ``truncation=True`` — TAPAS's ``drop_rows_to_fit`` strategy: when question +
    table exceed 512 tokens, every cell is cut to its first n word pieces for the largest n that fits, and
    if not even one per cell fits, rows are dropped from the bottom; that is TAPAS's table-size limit, and
    the rows report how many tables lost tokens to it — the forward pass,
    and ``tokenizer.convert_logits_to_predictions`` (answer cell coordinates and the aggregation operator).

Batching
    A batch is ``batch_size`` consecutive dev questions. ``TapasTokenizer`` takes one table with several
    questions, so the questions of a batch are grouped by table, each group is tokenized in one call
    (the table is tokenized once per group), and the encodings of all groups are padded together to the
    longest sequence of the batch with ``tokenizer.pad`` and run through the model as one tensor batch.
    (The dev questions are shuffled, so most groups hold one question.)

Importing this module does nothing; :func:`bench_tapas` does the work. The caller sets the torch thread
count.
"""

from __future__ import annotations

import collections
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nprog.app.bench.common import LATENCY_QUESTIONS, synthetic_frame

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[EMPTY]")
MAX_LENGTH = 512  # TAPAS's input length (position embeddings go to 1024, the models use 512)
WTQ_AGGREGATIONS = {0: "NONE", 1: "SUM", 2: "AVERAGE", 3: "COUNT"}


# ---------------------------------------------------------------- model, vocabulary, tokenizer


def tapas_config(**overrides):
    """``TapasConfig()`` (BERT-base size) with the WTQ answer heads; ``overrides`` e.g. shrink it for tests."""
    from transformers import TapasConfig

    wtq_heads = dict(
        num_aggregation_labels=len(WTQ_AGGREGATIONS),
        aggregation_labels=WTQ_AGGREGATIONS,
        use_answer_as_supervision=True,
        select_one_column=True,
        allow_empty_column_selection=False,
    )
    return TapasConfig(**{**wtq_heads, **overrides})


def make_model(config=None, seed: int = 0):
    """A randomly initialised ``TapasForQuestionAnswering`` in eval mode."""
    import torch
    from transformers import TapasForQuestionAnswering

    torch.manual_seed(seed)
    return TapasForQuestionAnswering(config or tapas_config()).eval()


def model_label(config) -> str:
    import transformers

    base = (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (12, 768, 12)
    size = (
        "TAPAS-base-sized"
        if base
        else f"TAPAS ({config.num_hidden_layers} layers, hidden {config.hidden_size})"
    )
    return f"{size} (random init, transformers {transformers.__version__})"


def frame_of(table) -> pd.DataFrame:
    """An ``nprog.tables.Table`` as the DataFrame of strings TapasTokenizer wants (missing cells as "")."""
    return pd.DataFrame(
        {c.name: ["" if s is None else s for s in c.strings.to_pylist()] for c in table.columns}, dtype=object
    )


def frame_texts(df: pd.DataFrame) -> Iterable[str]:
    """Headers and cells of a DataFrame, as strings."""
    yield from (str(h) for h in df.columns)
    for j in range(df.shape[1]):
        yield from (str(v) for v in df.iloc[:, j].tolist())


def build_vocab(texts: Iterable[str], directory: str | Path, size: int = 30_522) -> Path:
    """Write a WordPiece ``vocab.txt`` for ``texts`` into ``directory`` (see the module docstring)."""
    from transformers.models.tapas.tokenization_tapas import BasicTokenizer

    basic = BasicTokenizer(do_lower_case=True)
    words: collections.Counter[str] = collections.Counter()
    for text in texts:
        words.update(basic.tokenize(text))
    chars: collections.Counter[str] = collections.Counter()
    for word, n in words.items():
        for ch in word:
            chars[ch] += n
    printable = "abcdefghijklmnopqrstuvwxyz0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    alphabet = list(dict.fromkeys([*printable, *(ch for ch, _ in chars.most_common())]))
    vocab = list(SPECIAL_TOKENS) + alphabet + [f"##{ch}" for ch in alphabet]
    known = set(vocab)
    for word, _ in words.most_common():
        if len(vocab) >= size:
            break
        if word not in known:
            vocab.append(word)
            known.add(word)
    vocab = vocab[:size]
    path = Path(directory) / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return path


def make_tokenizer(vocab_file: str | Path, config=None):
    """``TapasTokenizer`` over ``vocab_file``; row and column ids capped to what ``config``'s embeddings hold."""
    from transformers import TapasTokenizer

    config = config or tapas_config()
    sizes = config.type_vocab_sizes  # segment, column, row, prev_label, column rank, inv rank, numeric rel.
    return TapasTokenizer(
        str(vocab_file),
        model_max_length=MAX_LENGTH,
        max_column_id=sizes[1],  # the tokenizer keeps ids < these, so the embeddings never overflow
        max_row_id=sizes[2],
    )


# ---------------------------------------------------------------- answering


def encode(tokenizer, pairs: Sequence[tuple[pd.DataFrame, str]]):
    """Tokenize (table, question) pairs, grouped by table, truncated to 512 tokens, padded as one batch.

    Tables over 255 rows are cut to their first 255 rows before tokenizing (see below); that is counted as
    truncation like any other, since the tokens kept are compared with the whole table's."""
    groups: dict[int, list[int]] = {}
    for i, (df, _) in enumerate(pairs):
        groups.setdefault(id(df), []).append(i)
    features: list[dict | None] = [None] * len(pairs)
    for members in groups.values():
        df = pairs[members[0]][0]
        if len(df) >= tokenizer.max_row_id:
            # rows past max_row_id - 1 can never be encoded, and TAPAS ranks a column's numbers over the
            # table it is given: over more rows the ranks would overflow their 256-entry embeddings
            df = df.iloc[: tokenizer.max_row_id - 1]
        enc = tokenizer(table=df, queries=[pairs[i][1] for i in members], truncation=True)
        for k, i in enumerate(members):
            features[i] = {key: enc[key][k] for key in ("input_ids", "attention_mask", "token_type_ids")}
    batch = {key: [f[key] for f in features] for key in ("input_ids", "attention_mask", "token_type_ids")}
    return tokenizer.pad(batch, padding="longest", return_tensors="pt")


def answer(tokenizer, model, pairs: Sequence[tuple[pd.DataFrame, str]]):
    """End to end for a batch: encode, forward, decode. Returns (encoding, coordinates, aggregation ids)."""
    import torch

    enc = encode(tokenizer, pairs)
    with torch.inference_mode():
        out = model(**enc)
    coords, aggregation = tokenizer.convert_logits_to_predictions(enc, out.logits, out.logits_aggregation)
    return enc, coords, aggregation


def table_token_count(tokenizer, df: pd.DataFrame) -> int:
    """Tokens of the whole table (header and cells) before any truncation."""
    return sum(len(cell) for row in tokenizer._tokenize_table(df).rows for cell in row)


# ---------------------------------------------------------------- the two measures


def tapas_throughput(tokenizer, model, data_dir: Path, n_questions: int, batch_size: int, budget_s: float):
    """WTQ dev end to end for the first ``n_questions`` questions, or fewer: no batch is started that would,
    at the rate so far, end past ``budget_s`` (the first always runs).

    Returns (questions done, seconds, tables truncated, tables seen, questions truncated)."""
    from nprog import caches, wtq

    caches.clear()  # end to end: tables are read again, as in bench_throughput
    t0 = time.perf_counter()
    examples = wtq.read_examples(wtq.split_path(data_dir, "dev"))[:n_questions]
    frames: dict[str, pd.DataFrame] = {}
    used: list[tuple[str, int]] = []  # (table, table tokens kept in the encoding) per question
    done = 0
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        elapsed = time.perf_counter() - t0
        if done and elapsed + elapsed / done * len(chunk) > budget_s:
            break  # the next batch would end past the budget (the first batch always runs)
        for ex in chunk:
            if ex.context not in frames:
                frames[ex.context] = frame_of(wtq.load_table(data_dir, ex.context))
        enc, coords, _ = answer(tokenizer, model, [(frames[ex.context], ex.question) for ex in chunk])
        kept = (enc["token_type_ids"][:, :, 0] == 1).sum(dim=1).tolist()  # segment 1 = table tokens
        used += [(ex.context, k) for ex, k in zip(chunk, kept, strict=True)]
        done += len(chunk)
    dt = time.perf_counter() - t0
    full = {c: table_token_count(tokenizer, frames[c]) for c in frames}  # after the clock: not part of a run
    cut = [c for c, k in used if k < full[c]]
    return done, dt, len(set(cut)), len(frames), len(cut)


def tapas_latency(tokenizer, model, df: pd.DataFrame, repeats: int = 30, warmup: int = 3):
    """p50 and p95 (ms) of answering one question on ``df``, warm; and the table tokens and rows that fit."""
    for i in range(warmup):
        enc, _, _ = answer(tokenizer, model, [(df, LATENCY_QUESTIONS[i % len(LATENCY_QUESTIONS)])])
    kept = int((enc["token_type_ids"][0, :, 0] == 1).sum())  # table tokens in the input
    rows_kept = int(enc["token_type_ids"][0, :, 2].max())
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        answer(tokenizer, model, [(df, LATENCY_QUESTIONS[i % len(LATENCY_QUESTIONS)])])
        times.append(time.perf_counter() - t0)
    p50, p95 = np.percentile(times, [50, 95]) * 1000
    return float(p50), float(p95), kept, rows_kept


def bench_tapas(
    data_dir: Path,
    n_questions: int = 256,
    sizes=(1, 16, 64),
    config=None,
    budget_s: float = 120.0,
    latency_repeats: int = 30,
) -> list[tuple[str, str]]:
    """Rows for ``nprog bench``: parameter count, WTQ dev questions/s at each batch size, ask latency.

    Each batch size answers the first ``n_questions`` dev questions, or as many whole batches (at least one)
    as fit in ``budget_s`` seconds; the row then says how many it did. On a 2-core CPU a 512-token BERT-base
    forward takes one to a few seconds per question, and the whole part (3 x ``budget_s``, the ~33 latency
    calls, and building the vocabulary from the 346 dev tables) has to stay within about 10 minutes.
    """
    from nprog import wtq

    config = config or tapas_config()
    label = model_label(config)
    examples = wtq.read_examples(wtq.split_path(data_dir, "dev"))
    tables = [
        frame_of(wtq.load_table(data_dir, c, cache=False)) for c in sorted({e.context for e in examples})
    ]
    corpus = [e.question for e in examples] + [t for df in tables for t in frame_texts(df)]
    model = make_model(config)
    n_params = sum(p.numel() for p in model.parameters())
    rows = [
        (
            f"{label} parameters",
            f"{n_params / 1e6:.1f} M ({config.num_hidden_layers} layers, hidden {config.hidden_size}, "
            f"inputs up to {MAX_LENGTH} tokens)",
        )
    ]
    with tempfile.TemporaryDirectory(prefix="nprog-tapas-vocab-") as tmp:
        tokenizer = make_tokenizer(build_vocab(corpus, tmp, config.vocab_size), config)
    synthetic = synthetic_frame(50).astype(str).astype(object)
    answer(tokenizer, model, [(synthetic, LATENCY_QUESTIONS[0])])  # first-call allocations, not timed
    for bs in sizes:
        done, dt, cut_tables, n_tables, cut_questions = tapas_throughput(
            tokenizer, model, data_dir, n_questions, bs, budget_s
        )
        asked = min(n_questions, len(examples))
        note = "" if done >= asked else f"; the first {done} of {asked}, to stay in a {budget_s:.0f} s budget"
        rows.append(
            (
                f"{label} WTQ dev end to end, batch {bs}",
                f"{done / dt:.2f} questions/s ({done} in {dt:.1f} s; {cut_tables} of {n_tables} tables "
                f"({cut_questions} questions) truncated to {MAX_LENGTH} tokens{note})",
            )
        )
    p50, p95, kept, rows_kept = tapas_latency(tokenizer, model, synthetic, repeats=latency_repeats)
    full = table_token_count(tokenizer, synthetic)
    fit = (
        f"the whole table ({full} tokens) fits"
        if kept >= full
        else f"{kept} of the table's {full} tokens ({rows_kept} of 50 rows) fit in {MAX_LENGTH}"
    )
    rows.append(
        (
            f"{label} ask latency, 50-row table, warm",
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms ({latency_repeats} calls; {fit})",
        )
    )
    return rows
