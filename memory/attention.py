"""Attentional interfaces and an attentive encoder-decoder.

- `DotProductAttention`: content-based attention by dot product, score(q, k_i) = q·k_i, optionally scaled by
  1/√D (Luong, Pham & Manning 2015, arXiv:1508.04025, §3.1 "dot"; Vaswani et al. 2017, §3.2.1 for the scale).
- `AdditiveAttention`: score(q, k_i) = vᵀ tanh(W_q q + W_k k_i) (Bahdanau, Cho & Bengio 2015,
  arXiv:1409.0473, §3.1 and appendix A.1.2).
- `Seq2Seq`: a bidirectional GRU/LSTM encoder and a decoder that attends over its states at every output
  step (Bahdanau et al. §3), trained with teacher forcing and decoded greedily. With attention="none" the same
  decoder sees only the encoder's final states at every step, the fixed-length bottleneck of Cho et al. 2014
  (arXiv:1406.1078) that attention was introduced to remove; the tasks use it as the baseline.

Both attention modules share one call: `attn(query (B, D_q), keys (B, L, D_k), mask (B, L) bool, values=None)
-> (context (B, D_v), weights (B, L))`; True in `mask` marks a real position; `values` default to the keys.
Masked positions are removed with `masked_fill` before the softmax and get weight exactly 0; a row with no
real position gets all-zero weights and a zero context instead of NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """softmax over the last axis of scores (B, L) restricted to mask (B, L) True positions.

    Filling with the most negative finite value (not −inf) keeps all-masked rows finite through the softmax
    and its gradient; the final `where` makes every masked weight exactly 0, including in those rows.
    """
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.where(mask, torch.softmax(scores, dim=-1), torch.zeros_like(scores))


def _attend(weights: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """context = Σ_i α_i v_i. weights (B, L), values (B, L, D_v) -> (B, D_v)."""
    return (weights.unsqueeze(1) @ values).squeeze(1)


class DotProductAttention(nn.Module):
    """score(q, k_i) = q·k_i (/ √D when scaled): no parameters, so D_q must equal D_k."""

    def __init__(self, scaled: bool = False):
        super().__init__()
        self.scaled = scaled

    def forward(
        self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor, values: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores = (keys @ query.unsqueeze(-1)).squeeze(-1)  # (B, L, D) @ (B, D, 1) -> (B, L)
        if self.scaled:
            # Dot products of D-dimensional unit-variance vectors have variance D; rescaling keeps the softmax
            # out of its saturated, vanishing-gradient regime (Vaswani et al. §3.2.1).
            scores = scores / math.sqrt(query.shape[-1])
        weights = masked_softmax(scores, mask)  # (B, L)
        return _attend(weights, keys if values is None else values), weights


class AdditiveAttention(nn.Module):
    """score(q, k_i) = vᵀ tanh(W_q q + W_k k_i) (Bahdanau et al. 2015, eq. 6 and A.1.2): a one-hidden-layer
    alignment model, so query and keys may have different sizes."""

    def __init__(self, query_dim: int, key_dim: int, hidden: int):
        super().__init__()
        self.query_proj = nn.Linear(query_dim, hidden, bias=False)  # W_q
        self.key_proj = nn.Linear(key_dim, hidden)  # W_k (its bias is the alignment model's bias)
        self.v = nn.Linear(hidden, 1, bias=False)  # v
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in (self.query_proj, self.key_proj, self.v):
            layer.reset_parameters()

    def forward(
        self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor, values: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = torch.tanh(self.query_proj(query).unsqueeze(1) + self.key_proj(keys))  # (B, L, hidden)
        weights = masked_softmax(self.v(hidden).squeeze(-1), mask)  # (B, L)
        return _attend(weights, keys if values is None else values), weights


# --------------------------------------------------------------------------------------------------------
# Encoder-decoder.
# --------------------------------------------------------------------------------------------------------


@dataclass
class Seq2SeqConfig:
    vocab_size: int  # tokens of a vocabulary shared by source and target; id 0 is padding
    embedding_size: int = 32  # token embedding size, source and target
    encoder_size: int = 64  # hidden units per direction of the bidirectional encoder
    decoder_size: int = 128  # hidden units of the decoder
    rnn: str = "gru"  # "gru" or "lstm", for encoder and decoder
    attention: str = "additive"  # "additive", "dot" (needs decoder_size == 2·encoder_size) or "none"
    attention_size: int = 64  # hidden units of the additive alignment model
    bos: int = 1  # id of the begin-of-sequence token fed to the decoder first
    eos: int = 2  # id of the end-of-sequence token that stops greedy decoding


@dataclass
class Seq2SeqOutput:
    logits: torch.Tensor  # (B, T, V) next-token scores
    attention: torch.Tensor  # (B, T, L) alignment of each output step over the source (0 without attention)


class Encoder(nn.Module):
    """Bidirectional RNN over the padded source. The backward direction runs on each sequence reversed within
    its own length (an index gather on the device), so it starts at the last real token, not in the padding,
    and no packing, sorting or host-side lengths are needed."""

    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[config.rnn]
        self.forward_rnn = rnn(config.embedding_size, config.encoder_size, batch_first=True)
        self.backward_rnn = rnn(config.embedding_size, config.encoder_size, batch_first=True)

    @staticmethod
    def _reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x (B, L, D): position i < length holds x[length − 1 − i]; padding positions hold padding."""
        positions = torch.arange(x.shape[1], device=x.device)  # (L,)
        index = lengths.unsqueeze(1) - 1 - positions  # (B, L)
        index = torch.where(index >= 0, index, positions)  # padding stays in place
        return x.gather(1, index.unsqueeze(-1).expand_as(x))

    def forward(self, embedded: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """embedded (B, L, E), mask (B, L) -> states (B, L, 2H), final (B, 2H) = [last fwd; first bwd]."""
        lengths = mask.sum(dim=1)  # (B,)
        fwd, _ = self.forward_rnn(embedded)  # (B, L, H); causal, so padding at the end cannot leak in
        bwd, _ = self.backward_rnn(self._reverse_within_length(embedded, lengths))
        bwd = self._reverse_within_length(bwd, lengths)  # back to source order
        states = torch.cat([fwd, bwd], dim=-1) * mask.unsqueeze(-1)  # (B, L, 2H)
        last = (lengths - 1).clamp_min(0).view(-1, 1, 1).expand(-1, 1, fwd.shape[-1])  # (B, 1, H)
        final = torch.cat([fwd.gather(1, last).squeeze(1), bwd[:, 0]], dim=-1)  # (B, 2H)
        return states, final


class Seq2Seq(nn.Module):
    """Attentive encoder-decoder (Bahdanau et al. 2015, §3 and appendix A).

    Decoder step t: c_t, α_t = attention(s_{t−1}, encoder states); s_t = RNN([E y_{t−1}; c_t], s_{t−1});
    logits_t = W_o [s_t; c_t]. The initial state is s_0 = tanh(W_s [final encoder states]).
    """

    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        self.config = c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_size, padding_idx=0)
        self.encoder = Encoder(c)
        context_size = 2 * c.encoder_size
        self.init_state = nn.Linear(context_size, c.decoder_size)
        cell = {"gru": nn.GRUCell, "lstm": nn.LSTMCell}[c.rnn]
        self.decoder = cell(c.embedding_size + context_size, c.decoder_size)
        self.output = nn.Linear(c.decoder_size + context_size, c.vocab_size)
        if c.attention == "additive":
            self.attention: nn.Module | None = AdditiveAttention(
                c.decoder_size, context_size, c.attention_size
            )
        elif c.attention == "dot":
            if c.decoder_size != context_size:
                raise ValueError("dot attention needs decoder_size == 2 * encoder_size")
            self.attention = DotProductAttention(scaled=True)
        elif c.attention == "none":
            self.attention = None
        else:
            raise ValueError(f"attention must be 'additive', 'dot' or 'none', not {c.attention!r}")

    def reset_parameters(self) -> None:
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor):
        """src (B, L) ids, src_mask (B, L) -> encoder states (B, L, 2H), final (B, 2H), decoder state."""
        states, final = self.encoder(self.embedding(src), src_mask)
        h0 = torch.tanh(self.init_state(final))  # (B, decoder_size)
        state = (h0, torch.zeros_like(h0)) if self.config.rnn == "lstm" else h0
        return states, final, state

    def step(self, token, state, states, final, src_mask):
        """One decoder step: token (B,) -> logits (B, V), next state, attention weights (B, L)."""
        query = state[0] if isinstance(state, tuple) else state  # (B, decoder_size)
        if self.attention is None:
            context, weights = final, torch.zeros_like(src_mask, dtype=final.dtype)  # fixed summary (B, 2H)
        else:
            context, weights = self.attention(query, states, src_mask)  # (B, 2H), (B, L)
        state = self.decoder(torch.cat([self.embedding(token), context], dim=-1), state)
        h = state[0] if isinstance(state, tuple) else state
        return self.output(torch.cat([h, context], dim=-1)), state, weights

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor, tgt_in: torch.Tensor) -> Seq2SeqOutput:
        """Teacher forcing: tgt_in (B, T) is the target shifted right (BOS first) -> logits (B, T, V)."""
        states, final, state = self.encode(src, src_mask)
        logits, weights = [], []
        for token in tgt_in.unbind(1):  # (B,)
            step_logits, state, step_weights = self.step(token, state, states, final, src_mask)
            logits.append(step_logits)
            weights.append(step_weights)
        return Seq2SeqOutput(torch.stack(logits, dim=1), torch.stack(weights, dim=1))

    @torch.no_grad()
    def greedy_decode(
        self, src: torch.Tensor, src_mask: torch.Tensor, max_length: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Feeds back its own argmax -> tokens (B, T ≤ max_length) and attention (B, T, L).

        Stops when every sequence has produced EOS; positions after a sequence's EOS hold padding (0).
        """
        states, final, state = self.encode(src, src_mask)
        token = torch.full_like(src[:, 0], self.config.bos)  # (B,)
        done = torch.zeros_like(token, dtype=torch.bool)
        tokens, weights = [], []
        for _ in range(max_length):
            logits, state, step_weights = self.step(token, state, states, final, src_mask)
            token = logits.argmax(dim=-1).masked_fill(done, 0)
            tokens.append(token)
            weights.append(step_weights)
            done = done | (token == self.config.eos)
            if bool(done.all()):
                break
        return torch.stack(tokens, dim=1), torch.stack(weights, dim=1)
