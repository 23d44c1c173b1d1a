"""Adaptive Computation Time (Graves 2016, "Adaptive Computation Time for Recurrent Neural Networks",
arXiv:1603.08983), as a wrapper around any recurrent cell.

At every input step t the wrapped cell runs n = 1, 2, … "ponder" steps on the same input (§2, eqs. 6–14):

    s^n = S(s^{n−1}, x^n),  x^n = [x_t, δ_{n,1}]       the flag δ marks the first ponder step (eq. 7)
    h^n = σ(W_h s^n + b_h)                              halting unit (eq. 9)
    N = min{n' : Σ_{n≤n'} h^n ≥ 1 − ε}, capped at max_steps (eq. 10)
    R = 1 − Σ_{n<N} h^n                                 remainder (eq. 11)
    p^n = h^n for n < N, R for n = N                    halting distribution, sums to 1 (eq. 12)
    s_t = Σ_n p^n s^n                                   the state passed on (eq. 13); y_t likewise (eq. 14)
    P = N + R                                           ponder cost (eq. 16); the caller adds τ·P to its loss

N is piecewise constant, so only R carries gradient: minimising P pushes halting earlier. The batch is
processed together: examples that have halted are masked (their p^n is 0) while the others keep pondering;
the only Python loop is over ponder steps, and it stops as soon as every example has halted.

The wrapped cell follows torch's convention, `cell(x, state) -> state`, where state is one tensor (RNNCell,
GRUCell) or a tuple whose first element is the hidden output h (LSTMCell). The halting unit reads h; every
tensor of the state is mixed with p^n. Since an output layer y = W s is linear, mixing h and then applying
the output layer equals eq. 14, so `ACTCell` returns the mixed state and the caller applies its output layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

State = torch.Tensor | tuple[torch.Tensor, ...]


def _as_tuple(state: State) -> tuple[torch.Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


@dataclass
class ACTOutput:
    state: State  # the halting-weighted state s_t, same structure as the cell's state
    ponder_cost: torch.Tensor  # (B,) P = N + R; multiply by τ and add to the loss
    steps: torch.Tensor  # (B,) N, ponder steps taken (integer-valued float)
    remainder: torch.Tensor  # (B,) R, the probability mass given to the last step
    halting: torch.Tensor  # (B, max_steps) p^n, zero after each example's last step; rows sum to 1


class ACTCell(nn.Module):
    """Wraps `cell` (input size = the task's input size + 1 for the first-step flag) with ACT.

    hidden_size is the size of the cell's hidden output h (the halting unit's input). max_steps caps N (the
    paper's M, §2); with max_steps = 1 this is exactly the wrapped network without ACT (N = R = 1, p^1 = 1).
    halting_bias initialises b_h: a positive value makes the untrained network halt after one or two steps,
    so it ponders longer only where that lowers the task loss by more than τ·P costs.
    """

    def __init__(
        self,
        cell: nn.Module,
        hidden_size: int,
        max_steps: int,
        epsilon: float = 0.01,
        halting_bias: float = 1.0,
    ):
        super().__init__()
        if max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, not {max_steps}")
        self.cell = cell
        self.hidden_size = hidden_size
        self.max_steps = max_steps
        self.epsilon = epsilon
        self.halting_bias = halting_bias
        self.halting = nn.Linear(hidden_size, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if hasattr(self.cell, "reset_parameters"):
            self.cell.reset_parameters()
        self.halting.reset_parameters()
        nn.init.constant_(self.halting.bias, self.halting_bias)

    def create_new_state(self, batch_size: int) -> State:
        """The cell's own `create_new_state`, else zeros: one tensor (RNN/GRU cells) or (h, c) (LSTMCell)."""
        if hasattr(self.cell, "create_new_state"):
            return self.cell.create_new_state(batch_size)
        w = next(self.cell.parameters())
        zeros = torch.zeros(batch_size, self.hidden_size, device=w.device, dtype=w.dtype)
        return (zeros, zeros.clone()) if isinstance(self.cell, nn.LSTMCell) else zeros

    def forward(self, x: torch.Tensor, state: State) -> ACTOutput:
        """One input step: x (B, input_size) -> ACTOutput with the mixed state and the ponder bookkeeping."""
        batch = x.shape[0]
        flag = torch.ones_like(x[:, :1])  # (B, 1) δ_{n,1}: 1 on the first ponder step only
        cumulative = torch.zeros_like(x[:, 0])  # (B,) Σ h^n over the steps taken so far
        running = torch.ones_like(x[:, 0], dtype=torch.bool)  # (B,) still pondering
        steps = torch.zeros_like(cumulative)  # (B,) N
        remainder = torch.zeros_like(cumulative)  # (B,) R
        mixed: list[torch.Tensor] | None = None
        halting = []
        for n in range(1, self.max_steps + 1):
            state = self.cell(torch.cat([x, flag], dim=-1), state)
            flag = torch.zeros_like(flag)
            parts = _as_tuple(state)
            h = torch.sigmoid(self.halting(parts[0])).squeeze(-1)  # (B,) h^n
            # The last step is the first whose cumulative halting mass reaches 1 − ε, or step max_steps.
            last = running & ((cumulative + h >= 1 - self.epsilon) | (n == self.max_steps))
            r = 1 - cumulative  # (B,) R if this is the last step
            p = torch.where(last, r, torch.where(running, h, torch.zeros_like(h)))  # (B,) p^n
            remainder = torch.where(last, r, remainder)
            steps = steps + running.to(steps.dtype)
            cumulative = cumulative + torch.where(running & ~last, h, torch.zeros_like(h))
            running = running & ~last
            weighted = [p.view(batch, *([1] * (t.dim() - 1))) * t for t in parts]
            mixed = weighted if mixed is None else [m + w for m, w in zip(mixed, weighted, strict=True)]
            halting.append(p)
            if not bool(running.any()):  # one host sync per ponder step buys the early exit
                break
        assert mixed is not None  # the loop ran at least once: max_steps >= 1
        halting_t = torch.stack(halting, dim=-1)  # (B, n_taken)
        halting_t = torch.cat(
            [halting_t, halting_t.new_zeros(batch, self.max_steps - halting_t.shape[1])], dim=-1
        )
        out_state = tuple(mixed) if isinstance(state, tuple) else mixed[0]
        return ACTOutput(out_state, steps + remainder, steps, remainder, halting_t)


def halting_distribution(
    h: torch.Tensor, epsilon: float = 0.01
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ACT's halting arithmetic (eqs. 10–12) for halting units already computed for every ponder step.

    h (B, M): the halting unit's output h^n at each of M steps, for a model that runs all M steps anyway
    (the Neural Programmer's program steps: four cheap steps, no early exit needed). Returns p (B, M), the
    halting distribution (h^n before N, the remainder R at N, 0 after; rows sum to 1), N (B,) the number of
    steps taken and R (B,). Same values as `ACTCell` produces step by step; the ponder cost is N + R.
    """
    M = h.shape[-1]
    cumulative = torch.cumsum(h, dim=-1)  # Σ_{n' ≤ n} h^{n'}
    reached = cumulative >= 1 - epsilon
    reached[..., -1] = True  # step M halts whatever the mass
    last = torch.argmax(reached.to(torch.uint8), dim=-1)  # (B,) first step whose mass reaches 1 − ε (0-based)
    before = cumulative - h  # Σ_{n' < n} h^{n'}
    remainder = 1 - before.gather(-1, last.unsqueeze(-1)).squeeze(-1)  # (B,) R
    n = torch.arange(M, device=h.device)
    p = torch.where(n < last.unsqueeze(-1), h, torch.zeros_like(h))
    p = p + torch.where(n == last.unsqueeze(-1), remainder.unsqueeze(-1), torch.zeros_like(h))
    return p, (last + 1).to(h.dtype), remainder
