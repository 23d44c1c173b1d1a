"""Character-level rewriting with an attentive encoder-decoder (Bahdanau, Cho & Bengio 2015, arXiv:1409.0473),
against the same encoder-decoder whose decoder sees only the encoder's final state (Cho et al. 2014): the
character tokenizer and the task base that dates and reverse share, with its attention-matrix pictures."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from nprog.memory.attention import Seq2Seq, Seq2SeqConfig
from nprog.memory.tasks.base import LiveExample, Task

CPU = torch.device("cpu")

PAD, BOS, EOS, UNK = 0, 1, 2, 3
CHARACTERS = " ,-./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
VOCABULARY = ["<pad>", "<bos>", "<eos>", "<unk>", *CHARACTERS]
_CHAR_ID = {ch: i for i, ch in enumerate(VOCABULARY) if i > UNK}


def encode_text(text: str) -> list[int]:
    return [_CHAR_ID.get(ch, UNK) for ch in text]


def decode_ids(ids: list[int]) -> str:
    """Characters up to the first EOS; special tokens are dropped."""
    out = []
    for i in ids:
        if i == EOS:
            break
        if i > UNK:
            out.append(VOCABULARY[i])
    return "".join(out)


def pad_batch(sequences: list[list[int]], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pads id lists with PAD -> ids (B, L), mask (B, L) True on real tokens."""
    ids = torch.zeros(len(sequences), max(map(len, sequences)), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return ids.to(device), (ids != PAD).to(device)


def unknown_characters(text: str) -> list[str]:
    """The characters of `text` the rewriting models have no embedding for (each is read as <unk>)."""
    return sorted({ch for ch, i in zip(text, encode_text(text), strict=True) if i == UNK})


class Seq2SeqTask(Task):
    """A character-level rewriting task for the encoder-decoder; subclasses say which (input, output) pairs.

    The figure is the exact match of greedy decoding; the baseline is the same model with attention="none".
    """

    baseline_name: str | None = "without attention"
    # The longest text the live example takes: reverse was trained on up to 40 letters.
    max_typed_chars: ClassVar[int] = 40
    unit: str = "sequences"  # what the examples are called in the summary line
    max_output: int = 12  # longest output greedy decoding may produce, EOS included

    def sample_texts(self, n: int, generator: torch.Generator) -> list[tuple[str, str]]:
        raise NotImplementedError

    def default_model_config(self) -> dict[str, Any]:
        return asdict(Seq2SeqConfig(vocab_size=len(VOCABULARY), bos=BOS, eos=EOS))

    def baseline_model_config(self, model_config: dict[str, Any]) -> dict[str, Any]:
        return {**model_config, "attention": "none"}

    def build_model(self, model_config: dict[str, Any]) -> nn.Module:
        return Seq2Seq(Seq2SeqConfig(**model_config))

    def make_batch(self, pairs: list[tuple[str, str]], device: torch.device) -> dict:
        src, src_mask = pad_batch([encode_text(text) for text, _ in pairs], device)
        tgt, _ = pad_batch([[BOS, *encode_text(out), EOS] for _, out in pairs], device)
        return {
            "src": src,
            "src_mask": src_mask,
            "tgt_in": tgt[:, :-1],
            "tgt_out": tgt[:, 1:],
            "pairs": pairs,
        }

    def sample(self, batch_size: int, generator: torch.Generator, device: torch.device) -> dict:
        return self.make_batch(self.sample_texts(batch_size, generator), device)

    def loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        out = model(batch["src"], batch["src_mask"], batch["tgt_in"])
        loss = F.cross_entropy(out.logits.flatten(0, 1), batch["tgt_out"].flatten(), ignore_index=PAD)
        correct = (out.logits.detach().argmax(-1) == batch["tgt_out"]) | (batch["tgt_out"] == PAD)
        return loss, {"exact_teacher_forced": correct.all(dim=1).float().mean().item()}

    @torch.no_grad()
    def predict(
        self, model: nn.Module, texts: list[str], device: torch.device
    ) -> tuple[list[str], torch.Tensor]:
        """Greedy rewrites of `texts`, and the attention weights (B, T, L)."""
        src, src_mask = pad_batch([encode_text(t) for t in texts], device)
        tokens, weights = model.greedy_decode(src, src_mask, max_length=self.max_output)
        return [decode_ids(row) for row in tokens.tolist()], weights

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, generator: torch.Generator, device: torch.device, n: int = 1000
    ) -> dict:
        model.eval()
        pairs = self.sample_texts(n, generator)
        predictions, _ = self.predict(model, [text for text, _ in pairs], device)
        exact = sum(p == out for p, (_, out) in zip(predictions, pairs, strict=True)) / n
        errors = [(text, p) for p, (text, out) in zip(predictions, pairs, strict=True) if p != out][:5]
        return {"exact": exact, self.unit: n, "examples_wrong": errors}

    def validation_score(
        self, model: nn.Module, generator: torch.Generator, device: torch.device, n: int
    ) -> float:
        return 1 - self.evaluate(model, generator, device, n)["exact"]

    def summary(self, results: dict, baseline: dict | None = None) -> list[str]:
        lines = [f"wrong: {text!r} -> {p!r}" for text, p in results["examples_wrong"]]
        line = f"exact match: {100 * results['exact']:.1f}% with attention"
        if baseline is not None:
            line += f", {100 * baseline['exact']:.1f}% without attention"
        return [*lines, line + f" ({results[self.unit]} {self.unit}{self.details()})"]

    def details(self) -> str:
        return ""

    def typed_target(self, text: str) -> str | None:
        """The right output for text the user typed, or None when it cannot be known."""
        return None

    def output_facts(self, prediction: str) -> dict[str, Any]:
        """Task-specific facts about a live example's output, shown beside its picture."""
        return {}

    def figure(self, model: nn.Module, generator: torch.Generator) -> Figure:
        pairs = self.sample_texts(3, generator)
        texts = [text for text, _ in pairs]
        predictions, weights = self.predict(model, texts, CPU)  # weights (B, T, L)
        fig = Figure(figsize=(12, 4.5), layout="constrained")
        for i, (ax, text, prediction) in enumerate(zip(fig.subplots(1, 3), texts, predictions, strict=True)):
            outputs = [*prediction, "<eos>"][: weights.shape[1]]
            ax.imshow(
                weights[i, : len(outputs), : len(text)].numpy(), cmap="Greys", vmin=0, vmax=1, aspect="auto"
            )
            ax.set_xticks(range(len(text)), list(text), fontsize=8)
            ax.set_yticks(range(len(outputs)), outputs, fontsize=8)
            ax.set_xlabel("input characters")
            ax.set_title(f"{text!r} -> {prediction!r}", fontsize=9)
        fig.suptitle("attention: which input characters each output character looked at")
        return fig

    def _live_example(self, model: nn.Module, generator: torch.Generator, text: str | None) -> LiveExample:
        if text is None:
            text, target = self.sample_texts(1, generator)[0]
        else:
            if not text:
                raise ValueError("no text to rewrite")
            target = self.typed_target(text)
        predictions, weights = self.predict(model, [text], CPU)  # weights (1, T, L)
        prediction = predictions[0]
        outputs = [*prediction, "<eos>"][: weights.shape[1]]
        width = min(max(0.26 * len(text) + 2.0, 4.5), 12.0)
        height = min(max(0.26 * len(outputs) + 1.4, 3.0), 11.0)
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.subplots()
        ax.imshow(
            weights[0, : len(outputs), : len(text)].numpy(), cmap="Greys", vmin=0, vmax=1, aspect="auto"
        )
        ax.set_xticks(range(len(text)), list(text), fontsize=9)
        ax.set_yticks(range(len(outputs)), outputs, fontsize=9)
        ax.set_xlabel("input characters")
        ax.set_ylabel("output characters")
        ax.set_title(f"{text!r} → {prediction!r}", fontsize=10)
        facts: dict[str, Any] = {"input characters": len(text), "output characters": len(prediction)}
        facts.update(self.output_facts(prediction))
        unknown = unknown_characters(text)
        if unknown:
            facts["characters it has never seen"] = "".join(unknown)
        return LiveExample(
            task=self.name,
            input=text,
            output=prediction,
            target=target,
            correct=None if target is None else prediction == target,
            facts=facts,
            figure=fig,
            literal=True,
        )
