"""Neural Turing Machine (Graves, Wayne & Danihelka 2014, "Neural Turing Machines", arXiv:1410.5401).

Reads top to bottom like the paper:

- §3.1 reading, §3.2 writing (erase, then add)                 -> `read`, `write`
- §3.3.1 content focus: cosine similarity K, sharpened by β     -> `cosine_similarity`, `content_focus`
- §3.3.2 location focus: interpolation with gate g, circular
  convolution with the shift distribution s, sharpening γ ≥ 1   -> `interpolate`, `shift`, `sharpen`
- §3.4 controller, LSTM or feed-forward                         -> `LSTMController`, `FeedForwardController`
  (or both side by side, a small LSTM beside a feed-forward layer  -> `HybridController`)
- one time step as a recurrent cell, forward(x, state)          -> `NTMCell`; unrolled over a sequence: `NTM`

Memory initialisation follows Collier & Beel 2018 ("Implementing Neural Turing Machines", ICANN): a small
constant (1e-6) converged about twice as fast as learned or random initialisation, so it is the default.

Every head of one kind (all read heads, all write heads) is addressed in one batched call: tensors carry a
head axis H. Shapes: B batch, H heads, N memory slots, M slot width, S = 2·shift_range + 1 shift offsets.
The recurrent state is an explicit `NTMState` value, never module attributes, so one module can serve many
sequences and the cell can be used inside any recurrent loop (e.g. the Neural Programmer's history RNN).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# --------------------------------------------------------------------------------------------------------
# Addressing (§3.3): similarity -> interpolate -> shift -> sharpen. Pure functions on (B, H, N) weightings.
# --------------------------------------------------------------------------------------------------------


def cosine_similarity(k: torch.Tensor, memory: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """K[k, M(i)] = k·M(i) / (‖k‖‖M(i)‖) (eq. 6), for every head and slot.

    k: (B, H, M) keys, memory: (B, N, M) -> (B, H, N). Norms are clamped at `eps` so that an all-zero key or
    slot gives similarity 0 instead of NaN.
    """
    k = k / k.norm(dim=-1, keepdim=True).clamp_min(eps)  # (B, H, M)
    memory = memory / memory.norm(dim=-1, keepdim=True).clamp_min(eps)  # (B, N, M)
    return k @ memory.transpose(1, 2)  # (B, H, N)


def content_focus(k: torch.Tensor, beta: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
    """w^c(i) = softmax_i(β K[k, M(i)]) (eq. 5). k (B, H, M), β (B, H, 1), memory (B, N, M) -> (B, H, N)"""
    return torch.softmax(beta * cosine_similarity(k, memory), dim=-1)


def interpolate(w_content: torch.Tensor, w_prev: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """w^g = g w^c + (1 − g) w_{t−1} (eq. 7). g (B, H, 1) in [0, 1]; weightings (B, H, N)."""
    return g * w_content + (1 - g) * w_prev


def shift(w: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Circular convolution w̃(i) = Σ_j w(j) s(i − j), indices modulo N (eq. 8).

    w (B, H, N); s (B, H, S) a distribution over the offsets −r..r, S = 2r + 1, ordered from −r to +r.
    `torch.roll(w, o)[i] = w[(i − o) mod N]`, so stacking the S rolled copies and weighting them by s is the
    convolution with wrap-around, without a Python loop over batch, heads or slots.
    """
    r = (s.shape[-1] - 1) // 2
    rolled = torch.stack([torch.roll(w, shifts=o, dims=-1) for o in range(-r, r + 1)], dim=-2)  # (B, H, S, N)
    return (s.unsqueeze(-1) * rolled).sum(dim=-2)  # (B, H, N)


def sharpen(w: torch.Tensor, gamma: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """w(i) = w̃(i)^γ / Σ_j w̃(j)^γ (eq. 9), γ (B, H, 1) ≥ 1, w (B, H, N).

    The clamp keeps 0^γ out of the graph: its derivative with respect to γ is 0·log 0.
    """
    w = w.clamp_min(eps) ** gamma
    return w / w.sum(dim=-1, keepdim=True)


def address(
    memory: torch.Tensor,
    w_prev: torch.Tensor,
    k: torch.Tensor,
    beta: torch.Tensor,
    g: torch.Tensor,
    s: torch.Tensor,
    gamma: torch.Tensor,
) -> torch.Tensor:
    """Figure 2's pipeline: content focus, interpolation, shift, sharpening -> weightings (B, H, N)."""
    w = content_focus(k, beta, memory)
    w = interpolate(w, w_prev, g)
    w = shift(w, s)
    return sharpen(w, gamma)


# --------------------------------------------------------------------------------------------------------
# Reading (§3.1) and writing (§3.2).
# --------------------------------------------------------------------------------------------------------


def read(memory: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """r = Σ_i w(i) M(i) (eq. 2). memory (B, N, M), w (B, H, N) -> (B, H, M)."""
    return w @ memory


def write(memory: torch.Tensor, w: torch.Tensor, e: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Erase, then add (eqs. 3–4), for all write heads at once.

    memory (B, N, M); w (B, H, N) write weightings; e (B, H, M) erase vectors in [0, 1]; a (B, H, M) add
    vectors.
    M̃(i) = M(i) ∏_h [1 − w_h(i) e_h], then M'(i) = M̃(i) + Σ_h w_h(i) a_h. Erasures multiply and additions
    sum, so the order of the heads does not matter (§3.2).
    """
    erase = w.unsqueeze(-1) * e.unsqueeze(-2)  # (B, H, N, M)
    kept = (1 - erase).prod(dim=1)  # (B, N, M)
    added = w.transpose(1, 2) @ a  # (B, N, H) @ (B, H, M) -> (B, N, M)
    return memory * kept + added


# --------------------------------------------------------------------------------------------------------
# Heads: one linear map from the controller output to the addressing parameters of all heads of a kind.
# --------------------------------------------------------------------------------------------------------


@dataclass
class HeadParameters:
    """Addressing (and for write heads erase/add) parameters of H heads, squashed to their ranges."""

    k: torch.Tensor  # (B, H, M) key, unconstrained
    beta: torch.Tensor  # (B, H, 1) key strength β ≥ 0 (softplus)
    g: torch.Tensor  # (B, H, 1) interpolation gate g in (0, 1) (sigmoid)
    s: torch.Tensor  # (B, H, S) shift distribution (softmax over offsets −r..r)
    gamma: torch.Tensor  # (B, H, 1) sharpening γ ≥ 1 (1 + softplus)
    e: torch.Tensor | None = None  # (B, H, M) erase vector in (0, 1) (sigmoid); write heads only
    a: torch.Tensor | None = None  # (B, H, M) add vector, unconstrained; write heads only


class Heads(nn.Module):
    """Emits the parameters of `num_heads` read or write heads from the controller output (§3.4)."""

    def __init__(
        self, num_heads: int, controller_size: int, memory_width: int, shift_range: int, writes: bool
    ):
        super().__init__()
        self.num_heads = num_heads
        self.writes = writes
        # Sizes of k, β, g, s, γ and, for writing, e and a: the paper's per-head outputs.
        erase_add = [memory_width, memory_width] if writes else []
        self.sizes = [memory_width, 1, 1, 2 * shift_range + 1, 1, *erase_add]
        self.fc = nn.Linear(controller_size, num_heads * sum(self.sizes))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.fc.weight, gain=1.4)
        nn.init.normal_(self.fc.bias, std=0.01)

    def forward(self, h: torch.Tensor) -> HeadParameters:
        """h (B, controller_size) -> parameters of every head, each (B, H, ·)."""
        out = self.fc(h).view(h.shape[0], self.num_heads, -1)  # (B, H, Σ sizes)
        k, beta, g, s, gamma, *erase_add = torch.split(out, self.sizes, dim=-1)
        params = HeadParameters(
            k=k,
            beta=F.softplus(beta),
            g=torch.sigmoid(g),
            s=torch.softmax(s, dim=-1),
            gamma=1 + F.softplus(gamma),
        )
        if self.writes:
            params.e, params.a = torch.sigmoid(erase_add[0]), erase_add[1]
        return params


# --------------------------------------------------------------------------------------------------------
# Controllers (§3.4).
# --------------------------------------------------------------------------------------------------------


class LSTMController(nn.Module):
    """LSTM controller: its memory cells act like the registers of a processor (§3.4). State is (h, c)."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.lstm = nn.LSTMCell(input_size, hidden_size)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lstm.reset_parameters()
        # Forget-gate bias 1 (Gers et al. 2000): remember by default early in training.
        with torch.no_grad():
            self.lstm.bias_ih[self.hidden_size : 2 * self.hidden_size].fill_(1.0)
            self.lstm.bias_hh[self.hidden_size : 2 * self.hidden_size].fill_(0.0)

    def create_new_state(self, batch_size: int) -> tuple[torch.Tensor, ...]:
        w = self.lstm.weight_hh
        zeros = torch.zeros(batch_size, self.hidden_size, device=w.device, dtype=w.dtype)
        return zeros, zeros.clone()

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        h, c = self.lstm(x, state)  # (B, hidden_size) each
        return h, (h, c)


class FeedForwardController(nn.Module):
    """Feed-forward controller: one tanh layer; all state lives in the memory (§3.4). Its state is ()."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.fc = nn.Linear(input_size, hidden_size)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.fc.reset_parameters()

    def create_new_state(self, batch_size: int) -> tuple[torch.Tensor, ...]:
        return ()

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        return torch.tanh(self.fc(x)), ()


class HybridController(nn.Module):
    """A feed-forward tanh layer beside a small LSTM; their outputs are concatenated. State is the LSTM's.

    The feed-forward part cannot keep anything itself, so, as in a feed-forward NTM, the data must go through
    the memory; the small LSTM (too small to hold the data) keeps what the memory is awkward for, such as a
    count (repeat copy). Output size = hidden_size: (hidden_size − lstm_size) feed-forward + lstm_size LSTM.
    """

    def __init__(self, input_size: int, hidden_size: int, lstm_size: int):
        super().__init__()
        if not 0 < lstm_size < hidden_size:
            raise ValueError(f"lstm_size must be in 1..{hidden_size - 1}, not {lstm_size}")
        self.hidden_size = hidden_size
        self.feedforward = FeedForwardController(input_size, hidden_size - lstm_size)
        self.lstm = LSTMController(input_size, lstm_size)

    def reset_parameters(self) -> None:
        self.feedforward.reset_parameters()
        self.lstm.reset_parameters()

    def create_new_state(self, batch_size: int) -> tuple[torch.Tensor, ...]:
        return self.lstm.create_new_state(batch_size)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        h_ff, _ = self.feedforward(x, ())
        h_lstm, state = self.lstm(x, state)
        return torch.cat([h_ff, h_lstm], dim=-1), state


# --------------------------------------------------------------------------------------------------------
# The machine.
# --------------------------------------------------------------------------------------------------------


@dataclass
class NTMConfig:
    input_size: int  # width of one input vector x_t
    output_size: int  # width of one output vector y_t (the cell returns logits)
    controller: str = "lstm"  # "lstm", "feedforward" (§3.4) or "hybrid" (both side by side)
    controller_size: int = 100  # controller hidden units (pytorch-ntm and Graves et al. use 100 for copy)
    memory_slots: int = 128  # N, number of memory locations
    memory_width: int = 20  # M, size of each location
    read_heads: int = 1  # number of read heads
    write_heads: int = 1  # number of write heads
    shift_range: int = 1  # r: allowed shifts are −r..r (the paper uses r = 1)
    memory_init: str = "constant"  # "constant" (Collier & Beel 2018) or "learned" (a trainable N×M bias)
    memory_init_value: float = 1e-6  # the constant for memory_init="constant"
    hybrid_lstm_size: int = 20  # LSTM units of the "hybrid" controller (the rest are feed-forward)


@dataclass
class NTMState:
    """Everything the machine carries from one time step to the next."""

    memory: torch.Tensor  # (B, N, M)
    reads: torch.Tensor  # (B, R, M) last read vectors, fed to the controller at the next step
    read_weights: torch.Tensor  # (B, R, N) last read weightings
    write_weights: torch.Tensor  # (B, W, N) last write weightings
    controller: tuple[torch.Tensor, ...]  # controller state: (h, c) for the LSTM, () for feed-forward


class NTMCell(nn.Module):
    """One time step of the NTM: `forward(x, state) -> (y, state)`, usable wherever an RNN cell is.

    Order within a step: controller reads x_t and the previous reads; the write heads erase and add; then
    the read heads read the updated memory (as in the DNC, Graves et al. 2016), so something written at step t
    can be read at step t. The output y_t (logits) sees the controller output and the fresh reads.
    """

    def __init__(self, config: NTMConfig):
        super().__init__()
        self.config = c = config
        controller_in = c.input_size + c.read_heads * c.memory_width
        if c.controller == "hybrid":
            self.controller = HybridController(controller_in, c.controller_size, c.hybrid_lstm_size)
        else:
            controller_cls = {"lstm": LSTMController, "feedforward": FeedForwardController}[c.controller]
            self.controller = controller_cls(controller_in, c.controller_size)
        self.read_heads = Heads(c.read_heads, c.controller_size, c.memory_width, c.shift_range, writes=False)
        self.write_heads = Heads(c.write_heads, c.controller_size, c.memory_width, c.shift_range, writes=True)
        self.output = nn.Linear(c.controller_size + c.read_heads * c.memory_width, c.output_size)
        if c.memory_init == "learned":
            self.memory_bias = nn.Parameter(torch.empty(c.memory_slots, c.memory_width))
        elif c.memory_init == "constant":
            self.register_buffer("memory_bias", torch.empty(c.memory_slots, c.memory_width))
        else:
            raise ValueError(f"memory_init must be 'constant' or 'learned', not {c.memory_init!r}")
        # Initial reads are learned. Initial weightings focus on slot 0: with an all-equal (constant) memory,
        # content addressing cannot break the symmetry between slots, but a shift from a one-hot start can.
        self.read_bias = nn.Parameter(torch.empty(c.read_heads, c.memory_width))
        self.register_buffer("weight_init", F.one_hot(torch.tensor(0), c.memory_slots).float())
        self.reset_parameters()

    def reset_parameters(self) -> None:
        c = self.config
        self.controller.reset_parameters()
        self.read_heads.reset_parameters()
        self.write_heads.reset_parameters()
        self.output.reset_parameters()
        with torch.no_grad():
            if c.memory_init == "constant":
                self.memory_bias.fill_(c.memory_init_value)
            else:
                nn.init.uniform_(self.memory_bias, -0.1, 0.1)
            nn.init.normal_(self.read_bias, std=0.01)

    def create_new_state(self, batch_size: int) -> NTMState:
        c = self.config
        return NTMState(
            memory=self.memory_bias.expand(batch_size, -1, -1).clone(),
            reads=self.read_bias.expand(batch_size, -1, -1),
            read_weights=self.weight_init.expand(batch_size, c.read_heads, -1),
            write_weights=self.weight_init.expand(batch_size, c.write_heads, -1),
            controller=self.controller.create_new_state(batch_size),
        )

    def forward(self, x: torch.Tensor, state: NTMState) -> tuple[torch.Tensor, NTMState]:
        """x (B, input_size) -> y (B, output_size) logits and the next state."""
        controller_in = torch.cat([x, state.reads.flatten(1)], dim=-1)  # (B, X + R·M)
        h, controller_state = self.controller(controller_in, state.controller)  # (B, controller_size)

        wp = self.write_heads(h)
        # (B, W, N) write weightings, then the memory after erase and add (B, N, M).
        write_weights = address(state.memory, state.write_weights, wp.k, wp.beta, wp.g, wp.s, wp.gamma)
        memory = write(state.memory, write_weights, wp.e, wp.a)

        rp = self.read_heads(h)
        read_weights = address(memory, state.read_weights, rp.k, rp.beta, rp.g, rp.s, rp.gamma)  # (B, R, N)
        reads = read(memory, read_weights)  # (B, R, M)

        y = self.output(torch.cat([h, reads.flatten(1)], dim=-1))  # (B, output_size)
        return y, NTMState(memory, reads, read_weights, write_weights, controller_state)


@dataclass
class NTMOutput:
    logits: torch.Tensor  # (T, B, output_size)
    read_weights: torch.Tensor  # (T, B, R, N), for pictures of where the heads looked
    write_weights: torch.Tensor  # (T, B, W, N)
    state: NTMState  # the state after the last step


class NTM(nn.Module):
    """The cell unrolled over a time-major sequence (T, B, input_size); the only loop is over time."""

    def __init__(self, config: NTMConfig):
        super().__init__()
        self.config = config
        self.cell = NTMCell(config)

    def reset_parameters(self) -> None:
        self.cell.reset_parameters()

    def create_new_state(self, batch_size: int) -> NTMState:
        return self.cell.create_new_state(batch_size)

    def forward(self, x: torch.Tensor, state: NTMState | None = None) -> NTMOutput:
        state = self.create_new_state(x.shape[1]) if state is None else state
        logits, reads, writes = [], [], []
        for x_t in x:  # (B, input_size)
            y, state = self.cell(x_t, state)
            logits.append(y)
            reads.append(state.read_weights)
            writes.append(state.write_weights)
        return NTMOutput(torch.stack(logits), torch.stack(reads), torch.stack(writes), state)
