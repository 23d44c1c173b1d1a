"""The canonical tasks of augmented RNNs, one module each, and `TASKS`, the registry the CLI and the UI loop over.

- `copy`, `repeat_copy`: Graves, Wayne & Danihelka 2014 (arXiv:1410.5401) §4.1 and §4.2, on the NTM
  (what they share: `ntm_sequence`);
- `parity`: Graves 2016 (arXiv:1603.08983) §3.1, on an RNN with ACT, against the same RNN without it;
- `dates`, `reverse`: rewrite dates written in many human formats as YYYY-MM-DD, or write a string of up to
  40 letters backwards, with an attentive encoder-decoder against the same one without attention (what they
  share, the character tokenizer included: `seq2seq`).

Each task owns its data generator, loss, evaluation, model, picture and live example (`base.Task`); the
training loop they share is `training.train`, and checkpoints are read and written by `memory.checkpoints`.
"""

from nprog.memory.tasks.base import Demo, Headline, LiveExample, Task
from nprog.memory.tasks.copy import CopyTask
from nprog.memory.tasks.dates import DatesTask
from nprog.memory.tasks.parity import ParityTask
from nprog.memory.tasks.repeat_copy import RepeatCopyTask
from nprog.memory.tasks.reverse import ReverseTask
from nprog.memory.tasks.training import TrainConfig, train

TASKS: dict[str, Task] = {
    task.name: task for task in (CopyTask(), RepeatCopyTask(), ParityTask(), DatesTask(), ReverseTask())
}

__all__ = [
    "TASKS",
    "CopyTask",
    "DatesTask",
    "Demo",
    "Headline",
    "LiveExample",
    "ParityTask",
    "RepeatCopyTask",
    "ReverseTask",
    "Task",
    "TrainConfig",
    "train",
]
