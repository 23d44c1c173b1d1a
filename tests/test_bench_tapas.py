"""The TAPAS side of ``nprog bench``, on a tiny randomly initialised TAPAS and a 5-row table (no WTQ needed)."""

from __future__ import annotations

import pandas as pd
import pytest

from nprog.app.bench import tapas as bt

TINY = dict(num_hidden_layers=2, hidden_size=32, num_attention_heads=2, intermediate_size=64)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Nation": ["Norway", "Germany", "Canada", "Japan", "Kenya"],
            "Gold": ["16", "12", "", "n/a", "3"],
            "Date": ["March 3, 2011", "1998", "May 1999", "2011-01-01", "Zürich 2005"],
        },
        dtype=object,
    )


@pytest.fixture(scope="module")
def tiny(table, tmp_path_factory):
    config = bt.tapas_config(**TINY)
    texts = [*bt.frame_texts(table), "which nation has the most gold?"]
    vocab = bt.build_vocab(texts, tmp_path_factory.mktemp("vocab"), size=config.vocab_size)
    return bt.make_tokenizer(vocab, config), bt.make_model(config), vocab


def test_vocab_has_tapas_specials_and_covers_every_character(tiny, table):
    tokenizer, _, vocab = tiny
    words = vocab.read_text(encoding="utf-8").split("\n")[:-1]
    assert words[: len(bt.SPECIAL_TOKENS)] == list(bt.SPECIAL_TOKENS) and words.index("[PAD]") == 0
    assert (
        len(words) == len(set(words)) == tokenizer.vocab_size == len(tokenizer)
    )  # no ids added past the file
    assert "[UNK]" not in tokenizer.tokenize("zürich 2005 qxj? ünseen")  # single chars + ## chars cover all
    assert tokenizer.tokenize("n/a") == ["[EMPTY]"]


def test_answers_come_back_in_shape(tiny, table):
    tokenizer, model, _ = tiny
    other = table.iloc[:2].reset_index(drop=True)
    questions = ["which nation has the most gold?", "how many nations?", "when was japan?"]
    pairs = [(table, questions[0]), (other, questions[1]), (table, questions[2])]  # two tables in a batch
    enc, coords, aggregation = bt.answer(tokenizer, model, pairs)
    B, L = enc["input_ids"].shape
    assert B == 3 and enc["token_type_ids"].shape == (B, L, 7) and enc["attention_mask"].shape == (B, L)
    assert len(coords) == 3 and len(aggregation) == 3
    assert all(a in bt.WTQ_AGGREGATIONS for a in aggregation)
    for (df, _), cells in zip(pairs, coords, strict=True):
        assert all(0 <= r < len(df) and 0 <= c < df.shape[1] for r, c in cells)
    # the batch item of the 2-row table: its own rows only, padded after its tokens
    assert int(enc["token_type_ids"][1, :, 2].max()) == 2 and int(enc["attention_mask"][1].sum()) < L
    assert bt.table_token_count(tokenizer, table) == int((enc["token_type_ids"][0, :, 0] == 1).sum())


def test_latency_and_labels(tiny, table):
    tokenizer, model, _ = tiny
    p50, p95, kept, rows = bt.tapas_latency(tokenizer, model, table, repeats=3, warmup=1)
    assert 0 < p50 <= p95 and rows == 5 and kept == bt.table_token_count(tokenizer, table)
    assert bt.model_label(bt.tapas_config()).startswith("TAPAS-base-sized (random init, transformers ")
    assert bt.model_label(bt.tapas_config(**TINY)).startswith("TAPAS (2 layers, hidden 32) (random init")


def test_full_tables_are_truncated_to_512_tokens(tiny):
    tokenizer, model, _ = tiny
    # 400 rows: past the 255 rows TAPAS can number, and column B's ranks would overflow their embedding
    big = pd.DataFrame(
        {"A": [f"word {i}" for i in range(400)], "B": [str(i) for i in range(400)]}, dtype=object
    )
    enc, coords, _ = bt.answer(tokenizer, model, [(big, "which a?")])
    assert enc["input_ids"].shape[1] <= bt.MAX_LENGTH
    assert int((enc["token_type_ids"][0, :, 0] == 1).sum()) < bt.table_token_count(tokenizer, big)
    assert len(coords) == 1


@pytest.mark.slow
def test_bench_tapas_rows_on_wtq(wtq_dir):
    """The whole part, tiny model, 4 questions: ~20 s, as the vocabulary reads all 346 dev tables (slow;
    skips without WTQ: it reads the dev split and tables)."""
    rows = bt.bench_tapas(
        wtq_dir, n_questions=4, sizes=(1, 4), config=bt.tapas_config(**TINY), latency_repeats=2
    )
    names = [name for name, _ in rows]
    assert len(rows) == 4 and names[0].endswith("parameters")
    assert names[1].endswith("WTQ dev end to end, batch 1") and names[2].endswith("batch 4")
    assert "4 in" in rows[1][1] and "questions/s" in rows[2][1] and rows[3][1].startswith("p50 ")
