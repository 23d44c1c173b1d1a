"""Adaptive Computation Time: the halting arithmetic of Graves 2016 §2 on hand-made halting probabilities."""

import math

import pytest
import torch
from torch import nn

from nprog.memory.act import ACTCell
from nprog.memory.tasks import TrainConfig, train
from nprog.memory.tasks.parity import ParityConfig, ParityModel, ParityTask


class FirstFeatureCell(nn.Module):
    """State after ponder step n: [x_0, n]. The halting unit reads x_0 (through its weight), and the mixed
    state's second entry is then Σ_n p^n · n, the expected step count."""

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return torch.stack([x[:, 0], state[:, 1] + 1], dim=-1)


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def act_with_halting(probabilities: list[float], max_steps: int) -> tuple[ACTCell, torch.Tensor]:
    """An ACTCell whose halting unit outputs exactly probabilities[b] at every step of example b."""
    act = ACTCell(FirstFeatureCell(), hidden_size=2, max_steps=max_steps)
    with torch.no_grad():
        act.halting.weight.copy_(torch.tensor([[1.0, 0.0]], dtype=torch.float64))
        act.halting.bias.zero_()
    act.double()
    x = torch.tensor([[logit(p)] for p in probabilities], dtype=torch.float64)  # (B, 1)
    return act, x


def test_halting_arithmetic_per_example():
    act, x = act_with_halting([0.3, 0.5, 0.995, 0.01], max_steps=5)
    out = act(x, torch.zeros(4, 2, dtype=torch.float64))
    # 0.3: cumulative 0.3, 0.6, 0.9, then 1.2 ≥ 0.99 -> N = 4, R = 1 − 0.9 = 0.1.
    # 0.5: 0.5, then 1.0 ≥ 0.99 -> N = 2, R = 0.5.   0.995 ≥ 0.99 at once -> N = 1, R = 1.
    # 0.01 never reaches 0.99: capped at max_steps = 5 -> R = 1 − 4·0.01 = 0.96.
    torch.testing.assert_close(out.steps, torch.tensor([4.0, 2.0, 1.0, 5.0], dtype=torch.float64))
    torch.testing.assert_close(out.remainder, torch.tensor([0.1, 0.5, 1.0, 0.96], dtype=torch.float64))
    torch.testing.assert_close(out.ponder_cost, out.steps + out.remainder)
    expected_p = torch.tensor(
        [[0.3, 0.3, 0.3, 0.1, 0.0], [0.5, 0.5, 0, 0, 0], [1.0, 0, 0, 0, 0], [0.01, 0.01, 0.01, 0.01, 0.96]],
        dtype=torch.float64,
    )
    torch.testing.assert_close(out.halting, expected_p)
    torch.testing.assert_close(out.halting.sum(dim=1), torch.ones(4, dtype=torch.float64))
    # The state is the halting-weighted mix: its second entry is Σ p^n · n.
    n = torch.arange(1, 6, dtype=torch.float64)
    torch.testing.assert_close(out.state[:, 1], (expected_p * n).sum(dim=1))


def test_ponder_cost_gradient_flows_only_through_the_remainder():
    act, x = act_with_halting([0.3, 0.5, 0.995], max_steps=5)
    act(x, torch.zeros(3, 2, dtype=torch.float64)).ponder_cost.sum().backward()
    # dP/dh^n = dR/dh^n = −1 for each of the N − 1 steps before the last; dh/db = h(1 − h); N is constant.
    expected = -3 * 0.3 * 0.7 - 1 * 0.5 * 0.5 + 0.0
    torch.testing.assert_close(act.halting.bias.grad, torch.tensor([expected], dtype=torch.float64))


def test_first_step_flag_is_set_once():
    seen = []

    class Recorder(nn.Module):
        def forward(self, x, state):
            seen.append(x[:, -1].clone())
            return state

    act = ACTCell(Recorder(), hidden_size=2, max_steps=3)
    nn.init.zeros_(act.halting.weight)
    nn.init.constant_(act.halting.bias, -10.0)  # never halts early: runs all 3 steps
    act(torch.zeros(2, 4), torch.zeros(2, 2))
    assert [s.tolist() for s in seen] == [[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_max_steps_one_is_the_plain_network(kind):
    torch.manual_seed(0)
    model = ParityModel(ParityConfig(input_size=6, hidden_size=8, cell=kind, max_steps=1))
    x = torch.randn(5, 6)
    logits, out = model(x)
    cell = model.act.cell
    flagged = torch.cat([x, torch.ones(5, 1)], dim=-1)
    zeros = torch.zeros(5, 8)
    h = cell(flagged, (zeros, zeros))[0] if kind == "lstm" else cell(flagged, zeros)
    torch.testing.assert_close(logits, model.output(h).squeeze(-1))
    assert out.steps.tolist() == [1.0] * 5 and out.ponder_cost.tolist() == [2.0] * 5


def test_lstm_state_is_mixed_elementwise():
    torch.manual_seed(0)
    act = ACTCell(nn.LSTMCell(4, 3), hidden_size=3, max_steps=4, halting_bias=-1.0)
    out = act(torch.randn(2, 3), act.create_new_state(2))
    assert isinstance(out.state, tuple) and [s.shape for s in out.state] == [(2, 3), (2, 3)]


def test_parity_data_follows_the_paper():
    task = ParityTask()
    batch = task.sample(500, torch.Generator().manual_seed(0), torch.device("cpu"), size=16)
    x, y = batch["inputs"], batch["targets"]
    nonzero = (x != 0).sum(dim=1)
    assert set(x.unique().tolist()) <= {-1.0, 0.0, 1.0}
    assert nonzero.min() >= 1 and nonzero.max() <= 16
    torch.testing.assert_close(y, ((x == 1).sum(dim=1) % 2).float())


def test_training_smoke_loss_goes_down():
    """Parity of 3 entries is easy: a few hundred batches must beat chance clearly."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    task = ParityTask()
    model = ParityModel(ParityConfig(input_size=3, hidden_size=32, max_steps=4))

    class Small(ParityTask):
        def sample(self, batch_size, generator, device, size=3):
            return task.sample(batch_size, generator, device, size=3)

    curve = train(Small(), model, TrainConfig(steps=300, batch_size=64, lr=1e-2, log_every=50),
                  torch.Generator().manual_seed(0), torch.device("cpu"), log=lambda _: None)  # fmt: skip
    assert curve[-1]["loss"] < 0.8 * curve[0]["loss"]
    assert curve[-1]["error"] < 0.25


def test_halting_distribution_exact_values():
    from nprog.memory.act import halting_distribution

    h = torch.tensor(
        [[0.3, 0.3, 0.3, 0.3], [0.995, 0.5, 0.5, 0.5], [0.1, 0.2, 0.7, 0.5], [0.1, 0.1, 0.1, 0.1]]
    )
    p, steps, remainder = halting_distribution(h, epsilon=0.01)
    expected = torch.tensor([[0.3, 0.3, 0.3, 0.1], [1.0, 0, 0, 0], [0.1, 0.2, 0.7, 0], [0.1, 0.1, 0.1, 0.7]])
    assert torch.allclose(p, expected, atol=1e-6)
    assert steps.tolist() == [4, 1, 3, 4]
    assert torch.allclose(remainder, torch.tensor([0.1, 1.0, 0.7, 0.7]), atol=1e-6)
    assert torch.allclose(p.sum(1), torch.ones(4))
