"""Attention: masks give exactly zero weight, exact scores, and an encoder-decoder that batches correctly."""

import math

import pytest
import torch

from nprog.memory.attention import (
    AdditiveAttention,
    DotProductAttention,
    Seq2Seq,
    Seq2SeqConfig,
    masked_softmax,
)


def test_masked_positions_get_exactly_zero_weight():
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(4, 6, generator=generator) * 50  # large scores: no underflow luck
    mask = torch.tensor(
        [[1, 1, 1, 1, 1, 1], [1, 0, 1, 0, 1, 0], [0, 0, 0, 0, 0, 1], [1, 1, 0, 0, 0, 0]]
    ).bool()
    weights = masked_softmax(scores, mask)
    assert torch.equal(weights[~mask], torch.zeros(int((~mask).sum())))
    torch.testing.assert_close(weights.sum(-1), torch.ones(4))
    assert weights[2, 5] == 1.0


def test_all_masked_row_gives_zero_weights_and_finite_gradients():
    query = torch.randn(2, 3, requires_grad=True)
    keys = torch.randn(2, 4, 3, requires_grad=True)
    mask = torch.tensor([[True, True, False, False], [False, False, False, False]])
    context, weights = DotProductAttention()(query, keys, mask)
    assert torch.equal(weights[1], torch.zeros(4)) and torch.equal(context[1], torch.zeros(3))
    context.sum().backward()
    assert torch.isfinite(query.grad).all() and torch.isfinite(keys.grad).all()


def test_dot_product_exact_values():
    query = torch.tensor([[1.0, 0.0]])
    keys = torch.tensor([[[2.0, 0.0], [0.0, 1.0], [5.0, 5.0]]])
    values = torch.tensor([[[1.0], [3.0], [100.0]]])
    mask = torch.tensor([[True, True, False]])
    context, weights = DotProductAttention()(query, keys, mask, values)
    e = math.exp(2.0)
    torch.testing.assert_close(weights, torch.tensor([[e / (e + 1), 1 / (e + 1), 0.0]]))
    torch.testing.assert_close(context, torch.tensor([[(e + 3) / (e + 1)]]))
    # Scaled: scores divided by √D = √2.
    _, scaled = DotProductAttention(scaled=True)(query, keys, mask, values)
    s = math.exp(2.0 / math.sqrt(2))
    torch.testing.assert_close(scaled, torch.tensor([[s / (s + 1), 1 / (s + 1), 0.0]]))


def test_additive_attention_matches_its_formula():
    torch.manual_seed(0)
    attention = AdditiveAttention(query_dim=3, key_dim=5, hidden=4)
    query, keys = torch.randn(2, 3), torch.randn(2, 6, 5)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, 4:] = False
    context, weights = attention(query, keys, mask)
    for b in range(2):
        n = int(mask[b].sum())
        scores = torch.stack(
            [
                attention.v(
                    torch.tanh(attention.query_proj(query[b]) + attention.key_proj(keys[b, i]))
                ).squeeze()
                for i in range(n)
            ]  # fmt: skip
        )
        expected = torch.softmax(scores, dim=0)
        torch.testing.assert_close(weights[b, :n], expected)
        torch.testing.assert_close(context[b], expected @ keys[b, :n])
    assert torch.equal(weights[1, 4:], torch.zeros(2))


def tiny_config(**overrides) -> Seq2SeqConfig:
    return Seq2SeqConfig(**{"vocab_size": 12, "embedding_size": 8, "encoder_size": 8, "decoder_size": 16,
                            "attention_size": 8, **overrides})  # fmt: skip


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
@pytest.mark.parametrize("attention", ["additive", "dot", "none"])
def test_padding_does_not_change_the_encoding_or_the_output(rnn, attention):
    """A sequence decoded in a padded batch gives what it gives alone: the backward encoder starts at its own
    last token and attention never looks at padding."""
    torch.manual_seed(0)
    model = Seq2Seq(tiny_config(rnn=rnn, attention=attention)).eval()
    src = torch.tensor([[4, 5, 6, 7, 8], [9, 10, 4, 0, 0]])
    mask = src != 0
    tgt_in = torch.tensor([[1, 5, 6], [1, 7, 8]])
    batched = model(src, mask, tgt_in)
    alone = model(src[1:, :3], mask[1:, :3], tgt_in[1:])
    torch.testing.assert_close(batched.logits[1], alone.logits[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(batched.attention[1, :, :3], alone.attention[0], rtol=1e-5, atol=1e-6)
    assert torch.equal(batched.attention[1, :, 3:], torch.zeros(3, 2))


def test_greedy_decoding_agrees_with_teacher_forcing_on_its_own_output():
    torch.manual_seed(0)
    model = Seq2Seq(tiny_config()).eval()
    src = torch.tensor([[4, 5, 6, 7], [8, 9, 0, 0]])
    tokens, weights = model.greedy_decode(src, src != 0, max_length=5)
    assert weights.shape == (2, tokens.shape[1], 4)
    tgt_in = torch.cat([torch.ones(2, 1, dtype=torch.long), tokens[:, :-1]], dim=1)
    forced = model(src, src != 0, tgt_in).logits.argmax(-1)
    for b in range(2):  # up to and including each sequence's EOS
        stop = (tokens[b] == 2).nonzero()
        n = int(stop[0]) + 1 if len(stop) else tokens.shape[1]
        assert torch.equal(forced[b, :n], tokens[b, :n])


def test_dot_attention_needs_matching_sizes():
    with pytest.raises(ValueError, match="dot attention"):
        Seq2Seq(tiny_config(attention="dot", decoder_size=10))


def test_training_smoke_loss_goes_down():
    """Learning to reverse 3 tokens: 150 batches must cut the loss well below its start."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = Seq2Seq(tiny_config())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(150):
        src = torch.randint(4, 12, (32, 3), generator=generator)
        tgt = torch.cat([torch.ones(32, 1, dtype=torch.long), src.flip(1), torch.full((32, 1), 2)], dim=1)
        logits = model(src, src != 0, tgt[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 0.3 * sum(losses[:10]) / 10
