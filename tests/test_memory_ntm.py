"""Neural Turing Machine: exact values of each addressing step on tiny tensors, erase/add writes, the cell."""

import math

import pytest
import torch

from nprog.memory.ntm import (
    NTM,
    NTMCell,
    NTMConfig,
    content_focus,
    cosine_similarity,
    interpolate,
    read,
    sharpen,
    shift,
    write,
)


def t(values) -> torch.Tensor:
    """A (1, 1, ·) tensor: batch 1, head 1."""
    return torch.tensor(values, dtype=torch.float64).view(1, 1, -1)


def test_cosine_similarity_exact():
    memory = torch.tensor(
        [[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [-2.0, 0.0]]], dtype=torch.float64
    )
    sim = cosine_similarity(t([3.0, 0.0]), memory)
    # An all-zero slot has similarity 0, not NaN, thanks to the clamped norms.
    torch.testing.assert_close(sim, t([1.0, 0.0, 1 / math.sqrt(2), 0.0, -1.0]))


def test_content_focus_key_strength():
    memory = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=torch.float64)
    # Similarities (1, 0); with β = ln 3 the softmax gives 3:1.
    torch.testing.assert_close(content_focus(t([1.0, 0.0]), t([math.log(3)]), memory), t([0.75, 0.25]))
    # β = 0 ignores the content entirely: uniform focus.
    torch.testing.assert_close(content_focus(t([1.0, 0.0]), t([0.0]), memory), t([0.5, 0.5]))


def test_interpolation():
    w = interpolate(t([1.0, 0.0, 0.0]), t([0.0, 0.0, 1.0]), t([0.25]))
    torch.testing.assert_close(w, t([0.25, 0.0, 0.75]))


@pytest.mark.parametrize(
    ("w", "s", "expected"),
    [
        ([1, 0, 0, 0], [0, 1, 0], [1, 0, 0, 0]),  # no shift
        ([1, 0, 0, 0], [0, 0, 1], [0, 1, 0, 0]),  # +1
        ([0, 0, 0, 1], [0, 0, 1], [1, 0, 0, 0]),  # +1 wraps from the last slot to the first
        ([1, 0, 0, 0], [1, 0, 0], [0, 0, 0, 1]),  # −1 wraps from the first slot to the last
        ([0.1, 0.2, 0.3, 0.4], [0.2, 0.5, 0.3], [0.21, 0.19, 0.29, 0.31]),  # a blurred shift
    ],
)
def test_shift_is_circular_convolution(w, s, expected):
    torch.testing.assert_close(shift(t(w), t(s)), t(expected))


def test_shift_matches_equation_8_on_random_weightings():
    generator = torch.Generator().manual_seed(0)
    w = torch.rand(3, 2, 7, generator=generator, dtype=torch.float64)
    s = torch.softmax(torch.rand(3, 2, 5, generator=generator, dtype=torch.float64), dim=-1)  # offsets −2..2
    expected = torch.zeros_like(w)
    for i in range(7):  # w̃(i) = Σ_j w(j) s(i − j), i − j taken modulo N into −2..2
        for j in range(7):
            offset = (i - j + 3) % 7 - 3
            if -2 <= offset <= 2:
                expected[..., i] += w[..., j] * s[..., offset + 2]
    torch.testing.assert_close(shift(w, s), expected)


def test_sharpening():
    torch.testing.assert_close(sharpen(t([0.5, 0.25, 0.25]), t([2.0])), t([2 / 3, 1 / 6, 1 / 6]))
    torch.testing.assert_close(sharpen(t([0.5, 0.25, 0.25]), t([1.0])), t([0.5, 0.25, 0.25]))


def test_sharpening_gradient_is_finite_at_zero_weights():
    gamma = t([2.0]).requires_grad_()
    sharpen(t([1.0, 0.0, 0.0]), gamma).sum().backward()
    assert torch.isfinite(gamma.grad).all()


def test_read_is_weighted_sum():
    memory = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]], dtype=torch.float64)
    torch.testing.assert_close(read(memory, t([0.25, 0.75])), t([2.5, 3.5]))


def test_write_erases_then_adds():
    memory = torch.tensor([[[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]], dtype=torch.float64)
    new = write(memory, t([1.0, 0.0]), e=t([1.0, 0.0, 0.5]), a=t([0.0, 3.0, 0.0]))
    torch.testing.assert_close(new, torch.tensor([[[0.0, 4.0, 0.5], [2.0, 2.0, 2.0]]], dtype=torch.float64))


def test_write_heads_erase_multiplicatively_and_add_up():
    memory = torch.ones(1, 2, 3, dtype=torch.float64)
    w = torch.tensor([[[1.0, 0.0], [0.5, 0.0]]], dtype=torch.float64)  # (B=1, H=2, N=2)
    e = torch.tensor([[[0.5, 0.5, 0.5], [1.0, 0.0, 0.0]]], dtype=torch.float64)
    a = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]], dtype=torch.float64)
    new = write(memory, w, e, a)
    # Slot 0: kept (1 − 0.5)(1 − 0.5·[1, 0, 0]) = [0.25, 0.5, 0.5], plus 1·a_0 + 0.5·a_1 = [1, 1, 0].
    torch.testing.assert_close(new[0, 0], torch.tensor([1.25, 1.5, 0.5], dtype=torch.float64))
    torch.testing.assert_close(new[0, 1], torch.ones(3, dtype=torch.float64))  # untouched slot
    # Order of the heads does not matter.
    torch.testing.assert_close(write(memory, w.flip(1), e.flip(1), a.flip(1)), new)


def small_config(**overrides) -> NTMConfig:
    return NTMConfig(
        **{
            "input_size": 5,
            "output_size": 4,
            "controller_size": 16,
            "memory_slots": 10,
            "memory_width": 6,
            "read_heads": 2,
            "write_heads": 2,
            **overrides,
        }  # fmt: skip
    )


@pytest.mark.parametrize("controller", ["lstm", "feedforward", "hybrid"])
@pytest.mark.parametrize("memory_init", ["constant", "learned"])
def test_cell_shapes_and_weightings_are_distributions(controller, memory_init):
    torch.manual_seed(0)
    cell = NTMCell(small_config(controller=controller, memory_init=memory_init, hybrid_lstm_size=4))
    state = cell.create_new_state(3)
    assert state.memory.shape == (3, 10, 6)
    for _ in range(4):
        y, state = cell(torch.randn(3, 5), state)
    assert y.shape == (3, 4)
    assert state.reads.shape == (3, 2, 6)
    for w in (state.read_weights, state.write_weights):
        assert w.shape == (3, 2, 10)
        torch.testing.assert_close(w.sum(-1), torch.ones(3, 2))
        assert (w >= 0).all()


def test_hybrid_controller_is_a_feedforward_layer_beside_a_small_lstm():
    torch.manual_seed(0)
    cell = NTMCell(small_config(controller="hybrid", controller_size=7, hybrid_lstm_size=3))
    h, c = cell.create_new_state(2).controller  # the state is the small LSTM's
    assert h.shape == c.shape == (2, 3)
    assert cell.controller.feedforward.fc.out_features == 4
    out, _ = cell.controller(torch.randn(2, cell.controller.lstm.lstm.input_size), (h, c))
    assert out.shape == (2, 7)
    with pytest.raises(ValueError, match="lstm_size"):
        NTMCell(small_config(controller="hybrid", controller_size=7, hybrid_lstm_size=7))


def test_configs_saved_before_the_hybrid_controller_still_load():
    saved = {"input_size": 9, "output_size": 8, "controller": "feedforward", "controller_size": 100,
             "memory_slots": 128, "memory_width": 20, "read_heads": 1, "write_heads": 1, "shift_range": 1,
             "memory_init": "constant", "memory_init_value": 1e-06}  # fmt: skip
    assert NTMConfig(**saved).hybrid_lstm_size == 20  # the new field has a default, unused by feedforward


def test_constant_memory_init_and_reset():
    cell = NTMCell(small_config())
    assert torch.equal(cell.create_new_state(2).memory, torch.full((2, 10, 6), 1e-6))
    before = cell.output.weight.clone()
    cell.reset_parameters()
    assert not torch.equal(before, cell.output.weight)
    assert "memory_bias" in dict(cell.named_buffers())  # constant init is not trained


def test_sequences_in_a_batch_are_independent():
    torch.manual_seed(0)
    model = NTM(small_config())
    x = torch.randn(6, 3, 5)  # (T, B, X)
    batched = model(x).logits
    alone = model(x[:, 1:2]).logits
    torch.testing.assert_close(batched[:, 1:2], alone, rtol=1e-5, atol=1e-6)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = NTM(small_config(memory_init="learned"))
    model(torch.randn(5, 2, 5)).logits.sum().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_training_smoke_loss_goes_down():
    """A small NTM fits a fixed batch of copy sequences: the loss must fall well below chance (ln 2)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = NTM(NTMConfig(input_size=5, output_size=4, controller_size=32, memory_slots=8, memory_width=8))
    seq = torch.randint(0, 2, (3, 8, 4), generator=torch.Generator().manual_seed(0)).float()
    x = torch.zeros(7, 8, 5)
    x[:3, :, :4], x[3, :, 4] = seq, 1.0
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x).logits[-3:], seq)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
