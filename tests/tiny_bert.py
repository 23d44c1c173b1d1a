"""A tiny random BERT in Hugging Face's layout (safetensors weights, a word-piece tokenizer), written by the
tests themselves: what tests/test_encoder.py loads as a base encoder, nothing downloaded."""

from __future__ import annotations

import inspect
from pathlib import Path

import torch

# the tokenizer's word list: whole words, and "##" pieces so that "blockers" is block + ##ers
PIECES = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (
    "which what how many is the most fewest more than gold nation won team name points player players "
    "in are of total average did have has there a with year rank norway united states win block ##ers ##s ? ,"
).split()


def _tokenizer(vocab_txt: Path):
    from transformers import BertTokenizerFast

    # transformers 5 takes the word list as ``vocab``; 4.x as ``vocab_file`` (pyproject allows both)
    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:
        return BertTokenizerFast(vocab=str(vocab_txt))
    return BertTokenizerFast(vocab_file=str(vocab_txt))


def _bert_config():
    from transformers import BertConfig

    # initializer_range 0.2, not BERT's 0.02: random layers that small stay near the identity (the residual
    # dominates), and the tests could not tell one layer's states, or a padded batch's, from another's
    return BertConfig(vocab_size=len(PIECES), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=512, initializer_range=0.2)  # fmt: skip


def write_tiny_bert(directory: Path) -> Path:
    """A tiny random 2-layer BERT (hidden 32) in ``directory``: safetensors weights, a tokenizer."""
    from transformers import BertModel

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("\n".join(PIECES) + "\n")
    torch.manual_seed(0)
    BertModel(_bert_config()).save_pretrained(directory, safe_serialization=True)
    _tokenizer(directory / "vocab.txt").save_pretrained(directory)
    assert (directory / "model.safetensors").is_file()
    return directory
