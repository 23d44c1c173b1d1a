"""Data generators of the canonical tasks: layouts as in the papers, and the same data for the same seed."""

import datetime

import pytest
import torch

from nprog.memory.tasks import TASKS, CopyTask, DatesTask, RepeatCopyTask
from nprog.memory.tasks.dates import DATE_FORMATS
from nprog.memory.tasks.seq2seq import decode_ids, encode_text

CPU = torch.device("cpu")


def test_copy_layout():
    batch = CopyTask().make_batch(3, 2, torch.Generator().manual_seed(0), CPU)
    x, y = batch["inputs"], batch["targets"]
    assert x.shape == (7, 2, 9) and y.shape == (3, 2, 8)
    assert torch.equal(x[:3, :, :8], y)  # the sequence, then ...
    assert torch.equal(
        x[:, :, 8], torch.tensor([0, 0, 0, 1, 0, 0, 0.0]).unsqueeze(1).expand(7, 2)
    )  # delimiter
    assert torch.equal(x[4:], torch.zeros(3, 2, 9))  # ... blanks while the copy is written


def test_repeat_copy_layout():
    task = RepeatCopyTask()
    batch = task.make_batch(2, 3, 4, torch.Generator().manual_seed(0), CPU)
    x, y = batch["inputs"], batch["targets"]
    assert x.shape == (2 + 2 + 7, 4, 10) and y.shape == (7, 4, 9)
    assert torch.equal(y[:6, :, :8], x[:2, :, :8].repeat(3, 1, 1))
    assert torch.equal(
        y[:, :, 8], torch.tensor([0, 0, 0, 0, 0, 0, 1.0]).unsqueeze(1).expand(7, 4)
    )  # end marker
    assert x[2, 0, 8] == 1 and x[3, 0, 9] == pytest.approx((3 - 5.5) / (99 / 12) ** 0.5)
    # The repeat channel is normalised to mean 0, variance 1 over the repeat range.
    values = torch.tensor([task._normalise(n) for n in range(1, 11)])
    assert values.mean().abs() < 1e-6 and values.var(unbiased=False) == pytest.approx(1.0)


@pytest.mark.parametrize("name", list(TASKS))
def test_same_seed_same_data(name):
    task = TASKS[name]
    a = task.sample(4, torch.Generator().manual_seed(7), CPU)
    b = task.sample(4, torch.Generator().manual_seed(7), CPU)
    for key, value in a.items():
        assert torch.equal(value, b[key]) if isinstance(value, torch.Tensor) else value == b[key]


def test_every_date_format_is_unambiguous_and_round_trips():
    date = datetime.date(2011, 3, 4)
    texts = [fmt(date) for fmt in DATE_FORMATS]
    assert "4th of March 2011" in texts and "04/03/2011" in texts and "March 4, 2011" in texts
    assert "2011-03-04" in texts and "Friday, March 4, 2011" in texts
    assert len(set(texts)) == len(texts)
    for text in texts:
        assert decode_ids(encode_text(text)) == text  # every character is in the vocabulary


def test_dates_batch_targets_are_iso():
    task = DatesTask()
    batch = task.sample(50, torch.Generator().manual_seed(0), CPU)
    for (text, iso), row in zip(batch["pairs"], batch["tgt_out"].tolist(), strict=True):
        assert decode_ids(row) == iso == datetime.date.fromisoformat(iso).isoformat()
        assert 1900 <= int(iso[:4]) <= 2099 and text
    assert torch.equal(batch["src_mask"], batch["src"] != 0)


def test_memory_package_imports_nothing_of_the_rest_of_nprog():
    """The networks import only torch and the standard library (the Neural Programmer reuses them); the
    tasks also draw with matplotlib and checkpoints are safetensors files; none imports nprog outside memory."""
    import ast
    import pathlib
    import sys

    from nprog import memory

    networks = {"torch", "__future__"} | set(sys.stdlib_module_names)
    root = pathlib.Path(memory.__file__).parent
    paths = sorted(root.rglob("*.py"))
    assert {"__init__.py", "ntm.py", "checkpoints.py", "tasks/__init__.py", "tasks/copy.py"} <= {
        p.relative_to(root).as_posix() for p in paths
    }
    for path in paths:
        name = path.relative_to(root).as_posix()
        allowed = networks | (
            {"matplotlib", "safetensors"} if name.startswith(("tasks/", "checkpoints")) else set()
        )
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            own = [
                n for n in names if n == "nprog.memory" or n.startswith("nprog.memory.")
            ]  # its own modules
            assert {n.split(".")[0] for n in names if n not in own} <= allowed, (name, names)


class ScriptedValidation(CopyTask):
    """Copy whose validation scores are scripted, recording the weights each validation saw."""

    def __init__(self, scores):
        super().__init__(min_length=1, max_length=2)
        self.scores, self.seen = list(scores), []

    def validation_score(self, model, generator, device, n):
        self.seen.append({k: v.clone() for k, v in model.state_dict().items()})
        return self.scores.pop(0)


def tiny_ntm():
    from nprog.memory.ntm import NTM, NTMConfig

    torch.manual_seed(0)
    return NTM(NTMConfig(input_size=9, output_size=8, controller_size=8, memory_slots=4, memory_width=4))


def test_training_keeps_the_best_validated_weights():
    from nprog.memory.tasks import TrainConfig, train

    task, model = ScriptedValidation([3.0, 1.0, 2.0]), tiny_ntm()
    config = TrainConfig(steps=6, batch_size=2, lr=1e-2, log_every=2, validate_every=2)
    curve = train(task, model, config, torch.Generator().manual_seed(0), CPU, log=lambda _: None)
    assert [row["validation"] for row in curve if "validation" in row] == [3.0, 1.0, 2.0]
    best = task.seen[1]  # the weights validated at step 4
    assert all(torch.equal(best[k], v) for k, v in model.state_dict().items())


def test_training_stops_early_and_deterministically():
    from nprog.memory.tasks import TrainConfig, train

    config = TrainConfig(steps=10, batch_size=2, lr=1e-2, log_every=1, validate_every=3, stop_at=1.0)
    runs = []
    for _ in range(2):
        task, model = ScriptedValidation([5.0, 0.5, 9.0]), tiny_ntm()
        curve = train(task, model, config, torch.Generator().manual_seed(0), CPU, log=lambda _: None)
        runs.append((curve, model.state_dict()))
    assert max(row["step"] for row in runs[0][0]) == 6  # stopped at the second validation
    losses = [[row["loss"] for row in curve if "loss" in row] for curve, _ in runs]
    assert losses[0] == losses[1]
    assert all(torch.equal(runs[0][1][k], v) for k, v in runs[1][1].items())


def test_repeat_copy_curriculum_widens_as_the_error_drops():
    task = RepeatCopyTask(curriculum_levels=((2, 1), (3, 2), (10, 10)), curriculum_advance_at=1.0)
    curriculum = task.curriculum()
    assert TASKS["repeat-copy"].curriculum() is not TASKS["repeat-copy"].curriculum()  # one per run
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):  # level 0: at most 2 vectors, one copy -> at most 2 + 2 + 3 input steps
        batch = curriculum.sample(2, generator, CPU)
        assert batch["inputs"].shape[0] <= 7 and batch["targets"].shape[0] <= 3
    assert curriculum.describe() == {"max_length": 2, "max_repeats": 1}
    assert curriculum.update({"bits_per_seq": 1.5}) is None and curriculum.level == 0
    assert "level 1" in curriculum.update({"bits_per_seq": 0.9})
    assert curriculum.update({"bits_per_seq": 0.0}) and curriculum.describe()["max_repeats"] == 10
    assert curriculum.update({"bits_per_seq": 0.0}) is None and curriculum.level == 2  # the last level stays
    assert RepeatCopyTask(curriculum_levels=()).curriculum() is None
    with pytest.raises(ValueError, match="full range"):
        RepeatCopyTask(curriculum_levels=((3, 3),)).curriculum()


def test_training_logs_the_curriculum_level():
    from nprog.memory.tasks import TrainConfig, train

    levels = ((2, 1), (3, 2))
    task = RepeatCopyTask(max_length=3, max_repeats=2, curriculum_levels=levels, curriculum_advance_at=1e9)
    config = TrainConfig(steps=4, batch_size=2, lr=1e-2, log_every=2)  # advance_at 1e9: always moves on
    logged = []
    curve = train(task, tiny_repeat_copy_ntm(), config, torch.Generator().manual_seed(0), CPU, logged.append)
    assert [(row["max_length"], row["max_repeats"]) for row in curve] == [(2, 1), (3, 2)]
    assert any("curriculum: level 1" in line for line in logged)


def tiny_repeat_copy_ntm():
    from nprog.memory.ntm import NTM, NTMConfig

    torch.manual_seed(0)
    return NTM(NTMConfig(input_size=10, output_size=9, controller="hybrid", controller_size=8,
                         hybrid_lstm_size=3, memory_slots=4, memory_width=4))  # fmt: skip


def test_reverse_pairs():
    from nprog.memory.tasks import ReverseTask

    pairs = ReverseTask().sample_texts(200, torch.Generator().manual_seed(0))
    assert all(out == text[::-1] and 1 <= len(text) <= 40 and text.isalpha() for text, out in pairs)
    assert max(len(text) for text, _ in pairs) == 40
