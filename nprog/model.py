"""The Neural Programmer (Neelakantan, Le, Abadi, McCallum, Amodei; ICLR 2017), one file.

Reads top to bottom (its settings: nprog.config.ModelConfig): the question encoder → the history controllers → the column encoder →
the model, which runs T program steps. At each step it attends over the question words (memory.attention),
picks an operation (soft distribution α), a column for each operation (β, conditioned on the operation
choice — the paper's "dependency"), and, for comparisons, one of the question's numbers (pointer π).
Training executes the program softly over the table (nprog.ops); inference reads a hard program off the
distributions (nprog.decode) and runs it exactly (nprog.program), on tables of any size.

Note what the controller sees: the question, the column names and the question↔table match features —
never the row selections. So the program distribution costs O(columns) per step, whatever the row count;
only the soft execution (training) touches rows.

History controllers (``ModelConfig.controller``, README ablation): the paper's RNN; an LSTM; an LSTM with
a Neural Turing Machine memory written and read at every step (memory.ntm); and ACT (memory.act), where a
halting unit decides after how many row steps the program answers: training mixes the answers after each
step by halting weight and adds the ponder cost, inference stops where the halting mass runs out.

Changes from the original, each measured or listed in docs/neural-programmer.md §4: float32 with log-space
losses (deviation 4); a real LSTM question encoder over right-padded input (deviation 12: cuDNN/MKL-friendly);
numbers are kept in the input as <num> and the pointer reads the state at the number (deviation 6, trained
through the comparisons); full column names (mean of token embeddings, deviation 9) plus a small feature
vector per column; op and column masks that remove choices that cannot mean anything on this table.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nprog.config import ModelConfig  # the model's settings live with the rest of the configuration
from nprog.memory.act import halting_distribution
from nprog.memory.attention import DotProductAttention
from nprog.memory.ntm import NTMCell, NTMConfig
from nprog.ops import OP_INDEX, Op, SoftInputs, op_set, soft_row_ops, soft_scalar
from nprog.questions import SPECIALS

N_COLUMN_FEATURES = 14  # nprog.batch.column_features; ModelConfig.column_features: how many a model reads
PERSON_FEATURE = 13  # the share of a column's cells that look like people's names (ModelConfig.person_cue)


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout, as F.dropout (each entry zeroed with probability p, the rest scaled by 1/(1−p)),
    with the mask drawn as uniform ≥ p: the same distribution, but on a CPU torch.rand is about 3× faster
    than the bernoulli_ F.dropout uses, which was 8 % of a training step (profiled, batch 64)."""
    if not training or p <= 0:
        return x
    if p >= 1:
        return torch.zeros_like(x)
    return x * (torch.rand_like(x) >= p).to(x.dtype).mul_(1.0 / (1.0 - p))


@dataclass
class Trace:
    """Everything the model decided, per example (B), step (T), operation (O), column (C), number (N)."""

    op_logp: torch.Tensor  # (B, T, O) log α (masked ops at −inf-like)
    col_logp: torch.Tensor  # (B, T, O, C) log β for each operation
    num_logp: torch.Tensor  # (B, O, N) log π, the question-number pointer of each comparison
    attention: torch.Tensor  # (B, T, L) question-word attention
    rows: torch.Tensor | None = None  # (B, T, R) soft row selectors after each row step (training)
    scalar: torch.Tensor | None = None  # (B,) soft count at the last step
    lookup_logp: torch.Tensor | None = None  # (B, C, R) log of the soft printed-cell probability
    # act controller only: the program may answer after any step t (after t row operations)
    answer_logp: torch.Tensor | None = None  # (B, T, O) log α over the answer ops at every step
    halting: torch.Tensor | None = None  # (B, T) ACT halting distribution over the answering step
    ponder: torch.Tensor | None = None  # (B,) ponder cost N + R
    ops: tuple[Op, ...] = ()  # the model's operations: O indexes these declarations

    def stop_steps(self) -> torch.Tensor:
        """(B,) long: the step at which each program answers, by the controller's own stop rule.

        Fixed-length controllers answer at the last step; ACT where its halting mass runs out (the last
        step with weight)."""
        B, T, _ = self.op_logp.shape
        if self.halting is None:
            return torch.full((B,), T - 1, dtype=torch.long, device=self.op_logp.device)
        return T - 1 - (self.halting > 0).flip(1).to(torch.uint8).argmax(1)

    def executed_op_logp(self) -> torch.Tensor:
        """(B, T, O): the distribution each step's operation is chosen from; under ACT the answering step
        chooses from its answer distribution."""
        if self.halting is None:
            return self.op_logp
        stop = self.stop_steps()
        at_stop = (
            torch.arange(self.op_logp.shape[1], device=stop.device)[None, :, None] == stop[:, None, None]
        )
        return torch.where(at_stop, self.answer_logp, self.op_logp)

    def final_logp(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(answer-op log α per step (B, T, O), log probability of answering at each step (B, T)).

        Fixed-length controllers answer at the last step only; ACT answers where its halting mass runs out.
        """
        if self.halting is not None:
            return self.answer_logp, torch.log(self.halting.clamp(min=1e-30))
        B, T, _ = self.op_logp.shape
        halt = self.op_logp.new_full((B, T), -1e4)
        halt[:, -1] = 0.0
        return self.op_logp, halt


class QuestionEncoder(nn.Module):
    """LSTM over right-padded embedded tokens; returns all states H and the question vector q."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(config.d, config.d, batch_first=True)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = dropout(x, self.config.dropout, self.training)  # (B, L, d)
        H, _ = self.lstm(x)  # (B, L, d); right padding never reaches real positions
        H = H * mask.unsqueeze(-1)
        last = (mask.sum(1) - 1).clamp(min=0)  # (B,)
        q = H[torch.arange(H.shape[0], device=H.device), last]  # (B, d)
        return H, q


class RNNController(nn.Module):
    """The paper's history RNN: h_t = tanh([h_{t−1}; x] W_h) + b_h (bias outside the tanh)."""

    def __init__(self, d: int, input_size: int):
        super().__init__()
        self.W = nn.Linear(d + input_size, d, bias=False)
        self.b = nn.Parameter(torch.zeros(d))

    def initial_state(self, batch: int, like: torch.Tensor):
        return like.new_zeros(batch, self.b.shape[0])

    def forward(self, x: torch.Tensor, state: torch.Tensor):
        h = torch.tanh(self.W(torch.cat([state, x], -1))) + self.b
        return h, h


class LSTMController(nn.Module):
    def __init__(self, d: int, input_size: int):
        super().__init__()
        self.cell = nn.LSTMCell(input_size, d)

    def initial_state(self, batch: int, like: torch.Tensor):
        z = like.new_zeros(batch, self.cell.hidden_size)
        return (z, z)

    def forward(self, x: torch.Tensor, state):
        h, c = self.cell(x, state)
        return h, (h, c)


class NTMController(nn.Module):
    """An LSTM history controller with a Neural Turing Machine memory (memory.ntm) it writes and reads at
    every program step: the history is the NTM's output, which sees the controller state and the reads."""

    def __init__(self, d: int, input_size: int, slots: int, width: int):
        super().__init__()
        self.cell = NTMCell(
            NTMConfig(input_size=input_size, output_size=d, controller="lstm", controller_size=d,
                      memory_slots=slots, memory_width=width)
        )  # fmt: skip

    def reset_parameters(self) -> None:
        self.cell.reset_parameters()

    def initial_state(self, batch: int, like: torch.Tensor):
        return self.cell.create_new_state(batch)

    def forward(self, x: torch.Tensor, state):
        y, state = self.cell(x, state)
        return torch.tanh(y), state


def make_controller(config: ModelConfig) -> nn.Module:
    d = config.d
    if config.controller in ("rnn", "act"):  # act: the paper's RNN, with a halting unit in the model
        return RNNController(d, 2 * d)
    if config.controller == "lstm":
        return LSTMController(d, 2 * d)
    if config.controller == "ntm":
        return NTMController(d, 2 * d, config.ntm_slots, config.ntm_width)
    raise ValueError(f"unknown controller {config.controller!r} (rnn, lstm, ntm, act)")


@dataclass
class Batch:
    """Padded tensors for a batch (see nprog.batch.collate)."""

    tokens: torch.Tensor  # (B, L) long
    token_mask: torch.Tensor  # (B, L) bool
    number_pos: torch.Tensor  # (B, N) long position of each question number in tokens (0 for padding)
    number_mask: torch.Tensor  # (B, N) bool
    col_names: torch.Tensor  # (B, C, Ln) long token ids of column names
    col_name_mask: torch.Tensor  # (B, C, Ln) bool
    col_features: torch.Tensor  # (B, C, N_COLUMN_FEATURES)
    col_mask: torch.Tensor  # (B, C) bool
    op_mask: torch.Tensor  # (B, O) bool: operations that can mean something on this table/question
    op_col_mask: torch.Tensor  # (B, O, C) bool: columns each operation may use
    person_cue: torch.Tensor | None = None  # (B,) 1.0 where the question asks for a person (nprog.cues)
    soft: SoftInputs | None = None  # row-level tensors, only for soft execution (training)
    # the pretrained encoder's inputs (nprog.batch._collate_pieces), None for the LSTM-only model
    lm_q_ids: torch.Tensor | None = None  # (B, P) word pieces of the question (0: padding)
    lm_q_pool: torch.Tensor | None = None  # (B, L, P) pieces → encoder positions (means)
    lm_c_ids: torch.Tensor | None = None  # (B, Pc) word pieces of the column names
    lm_c_pool: torch.Tensor | None = None  # (B, C, Pc) pieces → columns
    lm_q_lower: torch.Tensor | None = None  # (B, P, E) float16 frozen-layer states, cached (training)
    lm_c_lower: torch.Tensor | None = None  # (B, Pc, E)
    lm_q_content: torch.Tensor | None = None  # (B, L) bool: content words (for the name match)
    lm_c_states: torch.Tensor | None = None  # (B, Pc, E) final header states, given at inference (cache)

    def to(self, device) -> Batch:
        moved = {
            k: (v.to(device) if torch.is_tensor(v) else v) for k, v in self.__dict__.items() if k != "soft"
        }
        soft = None
        if self.soft is not None:
            soft = SoftInputs(
                **{k: v.to(device) for k, v in self.soft.__dict__.items() if not k.startswith("_")}
            )
        return Batch(**moved, soft=soft)


def _masked_log_softmax(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log softmax restricted to mask; masked entries get a large negative (finite) log-probability."""
    logits = logits.masked_fill(~mask, -1e4)
    return torch.log_softmax(logits, dim=-1).masked_fill(~mask, -1e4)


class NeuralProgrammer(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.ops = op_set(config.ops)  # the operations this model chooses among (its config names them)
        self.op_ids = [OP_INDEX[op.name] for op in self.ops]  # their places in a Batch's registry-wide masks
        d, O = config.d, len(self.ops)
        self.embedding = nn.Embedding(config.vocab_size, d, padding_idx=0)
        self.encoder = QuestionEncoder(config)
        self.attention = DotProductAttention()
        self.op_embedding = nn.Parameter(torch.empty(O, d))  # U
        self.W_op = nn.Linear(2 * d, d, bias=False)  # [q; a] → op controller
        self.W_op_h = nn.Linear(d, d, bias=False)
        self.W_col = nn.Linear(2 * d, d, bias=False)  # [q; a] → column controller
        self.W_col_h = nn.Linear(d, d, bias=False)
        self.W_dep = nn.Linear(2 * d, d, bias=False)  # [k; α U] → column query (op dependency)
        self.n_col_features = config.column_features  # the first N of the batch's (older models: 11)
        self.col_features = nn.Linear(self.n_col_features, d, bias=False)
        self.col_feature_logit = nn.Linear(self.n_col_features, 1, bias=False)  # w_cm, generalized
        self.controller = make_controller(config)
        self.halt = nn.Linear(d, 1) if config.controller == "act" else None  # ACT halting unit on g_t
        self.lm = self.lm_words = self.lm_columns = None
        if config.encoder != "lstm":  # a pretrained encoder's states, projected, join the word embeddings
            from nprog.encoder import LanguageEncoder, base_directory

            meta = torch.empty(0).device.type == "meta"  # built for shapes only (checkpoint header check)
            self.lm = LanguageEncoder(base_directory(config.encoder), config.encoder_tune, meta=meta)
            self.lm_words = nn.Linear(self.lm.hidden, d, bias=False)
            if config.encoder_columns:
                self.lm_columns = nn.Linear(self.lm.hidden, d, bias=False)
                self.lm_match = nn.Parameter(torch.empty(()))  # weight of name_match in the column logits
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for name, p in self.named_parameters():
            if not name.startswith("lm."):  # the pretrained encoder keeps its weights
                nn.init.uniform_(p, -0.1, 0.1)
        with torch.no_grad():
            self.embedding.weight[0].zero_()
            if self.halt is not None:
                self.halt.bias.fill_(self.config.halting_bias)
        if hasattr(self.controller, "reset_parameters"):  # the NTM's own initialisation (memory, heads)
            self.controller.reset_parameters()

    # ---- what is saved: everything but the pretrained encoder's frozen layers (the base's own weights)
    def saved_state(self) -> dict[str, torch.Tensor]:
        state = self.state_dict()
        if self.lm is not None:
            for k in self.lm.frozen_names("lm."):
                state.pop(k, None)
        return state

    def load_saved(self, state: dict[str, torch.Tensor]) -> None:
        """Load :meth:`saved_state` (strict: every other weight must be there, and nothing else)."""
        if self.lm is None:
            self.load_state_dict(state)
            return
        missing, unexpected = self.load_state_dict(state, strict=False)
        frozen = self.lm.frozen_names("lm.")
        if unexpected or set(missing) - frozen:
            raise RuntimeError(
                f"weights do not fit: missing {sorted(set(missing) - frozen)[:3]}, extra {unexpected[:3]}"
            )

    def trainable_parameters(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """(the Neural Programmer's own parameters, the pretrained encoder's fine-tuned ones)."""
        own, tuned = [], []
        for name, p in self.named_parameters():
            if p.requires_grad:
                (tuned if name.startswith("lm.") else own).append(p)
        return own, tuned

    # ---- pieces
    def _lm_states(self, ids, lower, pool, states=None) -> torch.Tensor:
        """(B, L or C, E): the pretrained encoder's piece states (computed here unless given) pooled onto
        tokens or columns."""
        if states is None:
            states = self.lm.states(ids, ids != 0, lower)  # (B, P, E)
        return torch.einsum("blp,bpe->ble", pool.to(states.dtype), states)

    def column_vectors(
        self, batch: Batch, features: torch.Tensor, lm_columns: torch.Tensor | None = None
    ) -> torch.Tensor:
        names = self.embedding(batch.col_names)  # (B, C, Ln, d)
        m = batch.col_name_mask.unsqueeze(-1).to(names.dtype)
        name = (names * m).sum(2) / m.sum(2).clamp(min=1.0)  # mean of the name's tokens (B, C, d)
        if lm_columns is not None and self.config.encoder_only:
            name = self.lm_columns(lm_columns).to(name.dtype)  # instead of the learned words
        elif lm_columns is not None:
            name = name + self.lm_columns(lm_columns).to(name.dtype)
        out = name + self.col_features(features)  # (B, C, d)
        return out

    def pretrained_states(self, batch: Batch) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The pretrained encoder's states pooled onto the question's encoder positions (B, L, E) and onto
        the columns (B, C, E); (None, None) for the LSTM-only model."""
        if self.lm is None:
            return None, None
        if batch.lm_q_ids is None:
            raise ValueError("this model reads questions with a pretrained encoder: encode with its pieces")
        words = self._lm_states(batch.lm_q_ids, batch.lm_q_lower, batch.lm_q_pool)
        columns = None
        if self.lm_columns is not None:  # lm_c_states: the caller's kept header states (nprog.qa)
            columns = self._lm_states(batch.lm_c_ids, batch.lm_c_lower, batch.lm_c_pool, batch.lm_c_states)
        return words, columns

    def header_states(self, ids: torch.Tensor) -> torch.Tensor:
        """(H, Pc, E) the pretrained encoder's final states of H headers' pieces (H, Pc): what the model
        computes for the column names, for a caller that keeps them per table (nprog.qa.TableQA)."""
        return self.lm.states(ids, ids != 0)

    def name_match(self, batch: Batch, words: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """(B, C): how well the column's name matches a content word of the question in the pretrained
        encoder's terms — the largest cosine between the column's state and a content word's state. The
        lexical match features see only shared words; this one sees "conceded" near "goals against"."""
        cos = torch.einsum(
            "ble,bce->blc", F.normalize(words, dim=-1), F.normalize(columns, dim=-1)
        )  # (B, L, C)
        content = batch.lm_q_content.unsqueeze(-1)  # (B, L, 1): no stopwords, numbers or padding
        return cos.masked_fill(~content, -1.0).amax(1).clamp(min=0.0)  # (B, C); no content word: 0

    def forward(self, batch: Batch, execute: bool = False) -> Trace:
        cfg = self.config
        B = batch.tokens.shape[0]
        tokens = batch.tokens
        if self.training and cfg.word_dropout > 0:
            drop = (torch.rand(tokens.shape, device=tokens.device) < cfg.word_dropout) & batch.token_mask
            tokens = tokens.masked_fill(drop, 1)  # 1 = <unk>
        lm_words, lm_columns = self.pretrained_states(batch)  # (B, L, E), (B, C, E) or None
        x = self.embedding(tokens)
        if lm_words is not None:  # the pretrained states join (or replace) the learned embeddings
            if cfg.encoder_only:
                x = x * (tokens < len(SPECIALS)).unsqueeze(-1)  # the stand-ins' embeddings only
            x = x + self.lm_words(lm_words).to(x.dtype)
        H, q = self.encoder(x, batch.token_mask)  # (B, L, d), (B, d)
        U = dropout(self.op_embedding, cfg.dropout, self.training)  # (O, d), one mask per batch
        features = batch.col_features[..., : self.n_col_features]  # the ones this model was trained on
        # the people's-names share counts only where the question asks for a person (ModelConfig.person_cue)
        if cfg.person_cue and batch.person_cue is not None:
            is_person = torch.arange(features.shape[-1], device=features.device) == PERSON_FEATURE  # (F,)
            features = features * torch.where(is_person, batch.person_cue[:, None, None], 1.0)  # (B, C, F)
        C_vec = dropout(
            self.column_vectors(batch, features, lm_columns), cfg.dropout, self.training
        )  # (B, C, d)
        col_bias = self.col_feature_logit(features).squeeze(-1)  # (B, C)
        if lm_columns is not None:
            col_bias = col_bias + self.lm_match * self.name_match(batch, lm_words, lm_columns)

        # question-number pointer π for every op: ũ_op · H[position of number n]
        Hn = torch.gather(H, 1, batch.number_pos.unsqueeze(-1).expand(-1, -1, cfg.d))  # (B, N, d)
        num_scores = torch.einsum("od,bnd->bon", U, Hn)  # (B, O, N)
        num_logp = _masked_log_softmax(num_scores, batch.number_mask.unsqueeze(1).expand_as(num_scores))

        rnn_keep = None
        if self.training and cfg.rnn_dropout > 0:
            rnn_keep = dropout(q.new_ones(B, cfg.d), cfg.rnn_dropout, True)  # one mask per sequence
        state = self.controller.initial_state(B, q)
        h = q.new_zeros(B, cfg.d)
        is_row = torch.tensor([not op.answers for op in self.ops], dtype=torch.bool, device=q.device)
        lookup = next(k for k, op in enumerate(self.ops) if op.yields == "lookup")  # print
        batch_op_mask = batch.op_mask[:, self.op_ids]  # (B, O) this model's ops
        batch_op_col_mask = batch.op_col_mask[:, self.op_ids]  # (B, O, C)
        act = self.halt is not None
        op_logps, col_logps, attentions, rows = [], [], [], []
        answer_logps, halt_units, counts, print_logps, row_logs = [], [], [], [], []
        s = batch.soft.data_rows if (execute and batch.soft is not None) else None  # no totals rows
        scalar = lookup_logp = None
        for t in range(cfg.steps):
            last = t == cfg.steps - 1
            a, att = self.attention(h, H, batch.token_mask)  # (B, d), (B, L)
            qa = torch.cat([q, a], -1)  # (B, 2d)
            g_pre = F.relu(self.W_op_h(h) + self.W_op(qa))
            g = dropout(g_pre, cfg.dropout, self.training)  # (B, d)
            step_ops = ~is_row if last else is_row
            op_mask = batch_op_mask & step_ops  # (B, O)
            op_logp = _masked_log_softmax(g @ U.T, op_mask)  # (B, O)
            if act:  # every step may be the answering one: its answer-op distribution and halting unit
                answer_logp = op_logp if last else _masked_log_softmax(g @ U.T, batch_op_mask & ~is_row)
                answer_logps.append(answer_logp)
                halt_units.append(torch.sigmoid(self.halt(g_pre)).squeeze(-1))  # (B,) h^t
            alpha = op_logp.exp()
            k = F.relu(self.W_col_h(h) + self.W_col(qa))  # (B, d)
            k_dep = F.relu(self.W_dep(torch.cat([k, alpha @ U], -1)))  # (B, d)
            k_dep = dropout(k_dep, cfg.dropout, self.training)
            col_logits = torch.einsum("bd,bcd->bc", k_dep, C_vec) + col_bias  # (B, C)
            col_logp = _masked_log_softmax(
                col_logits.unsqueeze(1).expand(-1, len(self.ops), -1), batch_op_col_mask
            )  # (B, O, C): each op's own column distribution
            beta = torch.einsum("bo,boc->bc", alpha, col_logp.exp())  # effective column attention
            if s is not None:
                if act:  # the answer if the program stops here, mixed by halting weight after the loop
                    counts.append(
                        soft_scalar(s, batch.soft, answer_logp.exp(), col_logp.exp(), self.ops)
                    )  # (B,)
                    print_logps.append(answer_logp[:, lookup, None] + col_logp[:, lookup])  # (B, C)
                    row_logs.append(torch.log(s.clamp(min=1e-30)))  # (B, R)
                elif last:
                    scalar = soft_scalar(s, batch.soft, alpha, col_logp.exp(), self.ops)  # count, sum …
                    lp_print = op_logp[:, lookup, None, None] + col_logp[:, lookup, :, None]
                    lookup_logp = lp_print + torch.log(s.clamp(min=1e-30)).unsqueeze(1)  # (B, C, R)
                if not last:
                    outs = soft_row_ops(s, batch.soft, num_logp.exp(), col_logp.exp(), self.ops)  # (B, O, R)
                    s = torch.einsum("bo,bor->br", alpha, outs) * batch.soft.row_mask
                    rows.append(s)
            x = torch.cat([alpha @ U, torch.einsum("bc,bcd->bd", beta, C_vec)], -1)  # (B, 2d)
            x = dropout(x, cfg.dropout, self.training)
            h, state = self.controller(x, state)
            if rnn_keep is not None:
                h = h * rnn_keep
            op_logps.append(op_logp)
            col_logps.append(col_logp)
            attentions.append(att)
        halting = ponder = None
        if act:
            halting, n_steps, remainder = halting_distribution(
                torch.stack(halt_units, 1), cfg.halting_epsilon
            )
            ponder = n_steps + remainder  # (B,) only R carries gradient (Graves 2016, eq. 16)
            if counts:
                scalar = (halting * torch.stack(counts, 1)).sum(1)
                log_w = torch.log(halting.clamp(min=1e-30))  # (B, T)
                per_step = (
                    log_w[:, :, None, None]
                    + torch.stack(print_logps, 1)[..., None]
                    + torch.stack(row_logs, 1)[:, :, None]
                )  # (B, T, C, R)
                lookup_logp = torch.logsumexp(per_step, 1)
        return Trace(
            op_logp=torch.stack(op_logps, 1),
            col_logp=torch.stack(col_logps, 1),
            num_logp=num_logp,
            attention=torch.stack(attentions, 1),
            rows=torch.stack(rows, 1) if rows else None,
            scalar=scalar,
            lookup_logp=lookup_logp,
            answer_logp=torch.stack(answer_logps, 1) if act else None,
            halting=halting,
            ponder=ponder,
            ops=self.ops,
        )


def mix_steps(
    op_logp: torch.Tensor, col_logp: torch.Tensor, num_logp: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """K members' step distributions as one mixture — the ensemble of the paper (§4 there: 15 models), which
    averages its members' distributions at every step. Inputs are log-probabilities with the members first:
    log α (K, …, T, O), log β (K, …, T, O, C), log π (K, …, O, N). α is the members' mean; β of an operation
    at a step mixes the members' β weighted by how much each chooses that operation there (the mixture's own
    conditional, so the column comes from the members that pick the operation); π of a comparison likewise,
    by min(1, Σ_t α). An operation no member uses gets an equal mix. Impossible choices stay at −1e4."""
    alpha = op_logp.exp()
    w_col = alpha + 1e-9  # the epsilon turns 0/0 for an unused operation into an equal mix
    col = (w_col.unsqueeze(-1) * col_logp.exp()).sum(0) / w_col.sum(0).unsqueeze(-1)
    w_num = alpha.sum(-2).clamp(max=1.0) + 1e-9
    num = (w_num.unsqueeze(-1) * num_logp.exp()).sum(0) / w_num.sum(0).unsqueeze(-1)
    return tuple(torch.log(p).clamp(min=-1e4) for p in (alpha.mean(0), col, num))


class Ensemble(nn.Module):
    """Neural Programmers trained alike (one vocabulary, one op set, different seeds), answering as one:
    at every step the members' operation, column and number distributions are mixed (:func:`mix_steps`),
    and the hard program is read off the mixture. Each member keeps its own soft history; costs one forward
    pass per member."""

    def __init__(self, members: list[NeuralProgrammer]):
        super().__init__()
        first = members[0]
        for m in members[1:]:
            if [op.name for op in m.ops] != [
                op.name for op in first.ops
            ] or m.config.order_cues != first.config.order_cues:
                raise ValueError("ensemble members must share the op set and the order cues")
            if m.config.controller == "act" or first.config.controller == "act":
                raise ValueError(
                    "an ensemble of ACT controllers (each with its own stop step) is not supported"
                )
        self.members = nn.ModuleList(members)
        self.config = first.config
        self.ops = first.ops

    def forward(self, batch: Batch, execute: bool = False) -> Trace:
        if execute:
            raise ValueError("an ensemble only answers: its members are trained one by one")
        traces = [m(batch) for m in self.members]
        op, col, num = mix_steps(
            *(torch.stack([getattr(t, n) for t in traces]) for n in ("op_logp", "col_logp", "num_logp"))
        )
        return Trace(
            op_logp=op,
            col_logp=col,
            num_logp=num,
            attention=torch.stack([t.attention for t in traces]).mean(0),
            ops=self.ops,
        )
