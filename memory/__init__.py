"""Augmented recurrent networks, reusable by the Neural Programmer: the Neural Turing Machine (`memory.ntm`),
attention (`memory.attention`), Adaptive Computation Time (`memory.act`), and their canonical tasks
(`memory.tasks`, one module per task) with their checkpoints (`memory.checkpoints`). The networks import only
torch and the standard library; the tasks also draw their pictures with matplotlib, and checkpoints are
safetensors files. Nothing here imports the rest of nprog."""

from nprog.memory.act import ACTCell, ACTOutput
from nprog.memory.attention import (
    AdditiveAttention,
    DotProductAttention,
    Seq2Seq,
    Seq2SeqConfig,
    masked_softmax,
)
from nprog.memory.ntm import NTM, NTMCell, NTMConfig, NTMOutput, NTMState

__all__ = [
    "ACTCell",
    "ACTOutput",
    "AdditiveAttention",
    "DotProductAttention",
    "NTM",
    "NTMCell",
    "NTMConfig",
    "NTMOutput",
    "NTMState",
    "Seq2Seq",
    "Seq2SeqConfig",
    "masked_softmax",
]
