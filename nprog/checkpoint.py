"""Checkpoints: weights in safetensors, everything else in validated JSON. Nothing is ever unpickled.

A checkpoint directory holds ``model.safetensors`` (weights only), ``config.json`` (model config, op set,
vocabulary, preprocessing version) and ``card.json`` (what it is and how good). Saving writes a sibling
temporary directory and renames it into place, so an interrupted save never leaves a half-written model.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from nprog import layout
from nprog.encoder import EncoderError, base_directory, weights_sha256
from nprog.files import NotRegularFileError, open_regular
from nprog.model import Ensemble, ModelConfig, NeuralProgrammer
from nprog.ops import LEGACY_OPS, OPS, op_set
from nprog.questions import SPECIALS, Vocabulary

PREPROCESSING_VERSION = 1
DEFAULT_MODEL = layout.DEFAULT_MODEL
MAX_VOCAB = 2_000_000
MAX_JSON_BYTES = 256 * 1024**2  # config.json carries the vocabulary; even MAX_VOCAB words fit

# Plausible model sizes: a config.json alone can never make the loader build a huge network
SIZES = {
    "vocab_size": (4, MAX_VOCAB),
    "d": (8, 4096),
    "steps": (1, 16),
    "ntm_slots": (1, 4096),
    "ntm_width": (1, 4096),
    "encoder_tune": (0, 48),
    "column_features": (11, 14),  # how many of the batch's column features it reads (nprog.model)
}
UNIT_INTERVAL = ("dropout", "word_dropout", "rnn_dropout", "halting_epsilon")

# card.json may hold anything; these keys, when present, must have the types the UI and CLI read
_NUMBER = (int, float)
CARD_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,), "what": (str,), "training_command": (str,), "hardware": (str,), "date": (str,),
    "git_commit": (str, type(None)), "dev_accuracy": (*_NUMBER, type(None)), "test_accuracy": (*_NUMBER, type(None)),
    "dev_examples": (int, type(None)), "test_examples": (int, type(None)), "step": (int, type(None)),
    "seed": (int, type(None)), "train_minutes": (*_NUMBER, type(None)), "ops": (list,), "dev_curve": (list,),
}  # fmt: skip


class CheckpointError(ValueError):
    """A model directory is missing, tampered with, truncated or does not fit this version of nprog."""


def write_directory(directory: str | os.PathLike, fill: Callable[[Path], None]) -> None:
    """Write a directory atomically: ``fill`` writes the files into a sibling temporary directory, which is
    then renamed into place, so an interrupted write never leaves a half-written directory."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a model directory is meant to be shared
    try:
        fill(tmp)
        old = directory.with_name(f".{directory.name}.old")
        if directory.exists():
            if old.exists():
                shutil.rmtree(old)
            directory.rename(old)
        tmp.rename(directory)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def save(
    directory: str | os.PathLike, model: NeuralProgrammer, vocab: Vocabulary, card: dict, half: bool = False
) -> None:
    """A checkpoint directory (written atomically); ``half``: the float32 weights stored as float16 (half
    the bytes; loading widens them back), for ensemble members."""

    def fill(tmp: Path) -> None:
        tensors = {k: v.detach().cpu().contiguous() for k, v in model.saved_state().items()}
        if half:
            tensors = {k: v.half() if v.dtype == torch.float32 else v for k, v in tensors.items()}
        save_file(tensors, str(tmp / "model.safetensors"))
        config = {
            "model": model.config.to_dict(),
            "vocabulary": vocab.words,
            "preprocessing_version": PREPROCESSING_VERSION,
            "format": layout.MODEL_FORMAT,
        }
        (tmp / "config.json").write_text(json.dumps(config, ensure_ascii=False))
        (tmp / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False))

    write_directory(directory, fill)


def _open_regular(path: Path, what: str) -> int:
    """A descriptor of ``path`` once it is known to be a regular file: opened non-blocking, so a FIFO
    cannot hang the open, and checked through the descriptor, so a pipe or a device (/dev/zero,
    /dev/urandom: endless) is refused before a byte is read. Links are followed (model caches use them)."""
    try:
        fd, _ = open_regular(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing") from None
    except (IsADirectoryError, NotRegularFileError):
        raise CheckpointError(
            f"{path}: unreadable, not a regular file (a {what} must be one, not a pipe, device or directory)"
        ) from None
    except (OSError, ValueError) as e:
        raise CheckpointError(
            f"{path}: cannot open the {what} ({getattr(e, 'strerror', None) or e})"
        ) from None
    return fd


def _read_json(path: Path) -> dict:
    fd = _open_regular(path, "JSON file")
    try:
        with os.fdopen(fd, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_JSON_BYTES:
                raise CheckpointError(
                    f"{path}: {size / 1024**2:.0f} MiB, over the {MAX_JSON_BYTES // 1024**2} MiB limit"
                )
            raw = f.read(MAX_JSON_BYTES + 1)  # at most the limit, even if the file grows meanwhile
        if len(raw) > MAX_JSON_BYTES:
            raise CheckpointError(f"{path}: over the {MAX_JSON_BYTES // 1024**2} MiB limit")
        data = json.loads(raw.decode("utf-8"))
    except (
        OSError,
        UnicodeDecodeError,
        ValueError,
        RecursionError,
    ) as e:  # ValueError: bad JSON, a 5,000-digit number
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{path}: not valid JSON ({_first_line(e)})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return data


def load_config(directory: Path) -> tuple[ModelConfig, Vocabulary]:
    cfg = _read_json(directory / "config.json")
    if cfg.get("format") != layout.MODEL_FORMAT:
        raise CheckpointError(f"{directory}: config.json is not an nprog Neural Programmer config")
    if cfg.get("preprocessing_version") != PREPROCESSING_VERSION:
        raise CheckpointError(
            f"{directory}: preprocessing version {cfg.get('preprocessing_version')} != {PREPROCESSING_VERSION}"
        )
    words = cfg.get("vocabulary")
    if (
        not isinstance(words, list)
        or not all(isinstance(w, str) for w in words)
        or not 4 <= len(words) <= MAX_VOCAB
    ):
        raise CheckpointError(f"{directory}: config.json has no valid vocabulary")
    if words[: len(SPECIALS)] != SPECIALS:
        raise CheckpointError(f"{directory}: vocabulary does not start with the special tokens {SPECIALS}")
    raw = cfg.get("model")
    if not isinstance(raw, dict):
        raise CheckpointError(f"{directory}: config.json has no model section")
    if "ops" not in raw:  # written before checkpoints named their op set: the 2017 operations
        raw = {**raw, "ops": list(LEGACY_OPS)}
    config = _model_config(raw, directory)
    known = [op.name for op in OPS]
    unknown = [name for name in config.ops if name not in known]
    if unknown or len(set(config.ops)) != len(config.ops):
        raise CheckpointError(f"{directory}: trained with operations {config.ops}; this nprog has {known}")
    if not any(op.yields == "lookup" for op in op_set(config.ops)) or all(
        op.answers for op in op_set(config.ops)
    ):
        raise CheckpointError(
            f"{directory}: trained with operations {config.ops}: no print or no row operation"
        )
    if config.vocab_size != len(words):
        raise CheckpointError(f"{directory}: vocab_size {config.vocab_size} != {len(words)} words")
    return config, Vocabulary(words[len(SPECIALS) :])


def _type_name(value) -> str:
    return "null" if value is None else type(value).__name__


def _model_config(raw: dict, directory: Path) -> ModelConfig:
    """ModelConfig from config.json's "model" section: known settings only, each of its field's type and
    within plausible sizes (CheckpointError naming the setting otherwise)."""
    fields = {f.name: f for f in dataclasses.fields(ModelConfig)}
    unknown = set(raw) - set(fields)
    if unknown:
        raise CheckpointError(f"{directory}: unknown model settings {sorted(unknown)}")
    defaults = ModelConfig()
    for name, value in raw.items():
        want = type(getattr(defaults, name))
        if want is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif want is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        elif want is list:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:
            ok = want is type(None) or isinstance(value, want)
        if not ok:
            raise CheckpointError(
                f"{directory}: config.json model setting {name!r} must be {want.__name__}, not {_type_name(value)}"
            )
    try:
        config = ModelConfig(**raw)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{directory}: bad model settings ({_first_line(e)})") from None
    for name, (low, high) in SIZES.items():
        value = getattr(config, name, None)
        if value is not None and not low <= value <= high:
            raise CheckpointError(f"{directory}: implausible size {name}={value} (expected {low} to {high})")
    for name in UNIT_INTERVAL:
        value = getattr(config, name, None)
        if value is not None and not 0 <= value <= 1:
            raise CheckpointError(f"{directory}: model setting {name}={value} is not between 0 and 1")
    return config


def _check_card(card: dict, directory: Path) -> dict:
    for key, types in CARD_TYPES.items():
        if key in card and (not isinstance(card[key], types) or isinstance(card[key], bool)):
            allowed = " or ".join(_type_name(None) if t is type(None) else t.__name__ for t in types)
            raise CheckpointError(
                f"{directory}: card.json {key!r} must be {allowed}, not {_type_name(card[key])}"
            )
    for key in ("dev_accuracy", "test_accuracy"):
        if isinstance(card.get(key), float | int) and not 0 <= card[key] <= 1:
            raise CheckpointError(f"{directory}: card.json {key!r} = {card[key]} is not between 0 and 1")
    if not all(isinstance(op, str) for op in card.get("ops", [])):
        raise CheckpointError(f"{directory}: card.json 'ops' must be a list of operation names")
    if not all(isinstance(point, dict) for point in card.get("dev_curve", [])):
        raise CheckpointError(f"{directory}: card.json 'dev_curve' must be a list of objects")
    if "calibration" in card:
        from nprog.confidence import check_calibration

        if why := check_calibration(card["calibration"]):
            raise CheckpointError(f"{directory}: card.json 'calibration' {why}")
    return card


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


_DTYPE_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
                torch.int64: "I64", torch.int32: "I32", torch.bool: "BOOL"}  # fmt: skip


_INITIALIZERS = frozenset(
    {
        "normal_",
        "uniform_",
        "kaiming_uniform_",
        "kaiming_normal_",
        "xavier_uniform_",
        "xavier_normal_",
        "trunc_normal_",
        "orthogonal_",
        "zero_",
        "zeros_",
        "ones_",
        "fill_",
        "constant_",
        "eye_",
    }
)


class _NoInitialization(torch.overrides.TorchFunctionMode):
    """Skips the weight initializers while a network is built on the meta device only for its parameter
    names, shapes and dtypes: there they change nothing, but running them imports torch._dynamo (seconds
    of every cold `nprog ask`). Initializers never change a shape."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in _INITIALIZERS:
            return args[0] if args else kwargs.get("tensor")
        return func(*args, **kwargs)


def _check_header(path: Path, config: ModelConfig, directory: Path) -> None:
    """Compare the names, shapes and dtypes in the safetensors header with what the config builds, before
    a byte of weights is read and before the network is allocated (it is built on the meta device here)."""
    try:
        with _NoInitialization(), torch.device("meta"):
            expected = NeuralProgrammer(config).saved_state()
    except EncoderError as e:  # the pretrained base it was trained with is missing here
        raise CheckpointError(f"{directory}: {e}") from None
    except ValueError as e:  # a setting the network refuses, e.g. an unknown controller
        raise CheckpointError(f"{directory}: config.json: {_first_line(e)}") from None
    try:
        with safe_open(str(path), framework="pt") as f:
            found = {k: (tuple(f.get_slice(k).get_shape()), f.get_slice(k).get_dtype()) for k in f.keys()}
    except FileNotFoundError:
        raise CheckpointError(f"{directory}: model.safetensors is missing") from None
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(
            f"{directory}: model.safetensors is unreadable or truncated ({_first_line(e)})"
        ) from None
    if set(found) != set(expected):
        missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
        raise CheckpointError(
            f"{directory}: weights do not fit the config (missing {missing[:3]}, extra {extra[:3]})"
        )
    for k, (shape, dtype) in found.items():
        if shape != tuple(expected[k].shape):
            raise CheckpointError(
                f"{directory}: weight {k} has shape {shape}, expected {tuple(expected[k].shape)}"
            )
        want = _DTYPE_NAMES.get(expected[k].dtype, str(expected[k].dtype))
        if dtype != want and not (want == "F32" and dtype == "F16"):  # float16-stored: widened on load
            raise CheckpointError(f"{directory}: weight {k} has dtype {dtype}, expected {want}")


ENSEMBLE_FILE = layout.ENSEMBLE_FILE
MAX_MEMBERS = 16


def load(directory: str | os.PathLike | None = None, device: str | torch.device = "cpu"):
    """(model in eval mode, vocabulary, card) from a checkpoint directory — one model, or an ensemble
    (an ``ensemble.json`` naming member checkpoints in subdirectories); CheckpointError on any problem."""
    directory = Path(directory) if directory else layout.default_model()
    if not directory.is_dir():
        if directory == layout.default_model():
            raise CheckpointError(f"no model yet: {directory} does not exist (train one with `nprog train`)")
        raise CheckpointError(f"{directory}: no such model directory")
    if (directory / ENSEMBLE_FILE).exists():
        return _load_ensemble(directory, device)
    return _load_one(directory, device)


def _read_card(directory: Path) -> dict:
    """The directory's checked card.json ({} when it has none)."""
    path = directory / "card.json"
    return _check_card(_read_json(path), directory) if path.exists() else {}


def _load_ensemble(directory: Path, device):
    spec = _read_json(directory / ENSEMBLE_FILE)
    names = spec.get("members")
    if spec.get("format") != "nprog-ensemble" or not isinstance(names, list) or not names:
        raise CheckpointError(f"{directory}: {ENSEMBLE_FILE} must name its members (format nprog-ensemble)")
    if len(names) > MAX_MEMBERS or not all(
        isinstance(n, str) and re.fullmatch(r"[\w.-]+", n) and n not in (".", "..") for n in names
    ):
        raise CheckpointError(f"{directory}: ensemble members must be up to {MAX_MEMBERS} subdirectory names")
    loaded = []
    for name in names:
        member = directory / name
        if member.is_symlink() or (member / ENSEMBLE_FILE).exists():
            raise CheckpointError(f"{member}: an ensemble member must be a plain model directory")
        loaded.append((member, *_load_one(member, device)[:2]))
    ensemble, vocab = _combine(directory, loaded)
    return ensemble.eval(), vocab, _read_card(directory)


def _combine(directory: Path, loaded: list[tuple[Path, object, Vocabulary]]) -> tuple[Ensemble, Vocabulary]:
    """The members (where, model, vocabulary) as one Ensemble and their one vocabulary; CheckpointError when
    a member is itself an ensemble, or the members differ in vocabulary or op set."""
    vocab = loaded[0][2]
    for where, model, member_vocab in loaded:
        if isinstance(model, Ensemble):
            raise CheckpointError(f"{where}: is an ensemble; name its members instead")
        if member_vocab.words != vocab.words:
            raise CheckpointError(f"{where}: its vocabulary differs from the first member's")
    try:
        return Ensemble([model for _, model, _ in loaded]), vocab
    except ValueError as e:
        raise CheckpointError(f"{directory}: {e}") from None


def save_ensemble(directory: str | os.PathLike, members: list[str | os.PathLike], card: dict) -> None:
    """Write an ensemble directory: each member checkpoint copied as a subdirectory (float16 weights), the
    ``ensemble.json`` naming them, and ``card`` plus the members' own cards."""
    loaded = [(Path(m), *load(m)) for m in members]
    _, vocab = _combine(Path(directory), [(where, model, v) for where, model, v, _ in loaded])
    names = [f"m{i + 1}" for i in range(len(loaded))]

    def fill(tmp: Path) -> None:
        for name, (source, model, _, member_card) in zip(names, loaded, strict=True):
            save(tmp / name, model, vocab, {**member_card, "copied_from": str(source)}, half=True)
        (tmp / ENSEMBLE_FILE).write_text(json.dumps({"format": "nprog-ensemble", "members": names}))
        member_cards = [{"name": n, **{k: c.get(k) for k in ("dev_accuracy", "seed", "training_command", "git_commit")}}
                        for n, (_, _, _, c) in zip(names, loaded, strict=True)]  # fmt: skip
        (tmp / "card.json").write_text(
            json.dumps({**card, "members": member_cards}, indent=2, ensure_ascii=False)
        )

    write_directory(directory, fill)


def _load_one(directory: Path, device):
    config, vocab = load_config(directory)
    card = _read_card(directory)
    weights = directory / "model.safetensors"
    if weights.exists():  # (a missing file is reported by _check_header)
        os.close(_open_regular(weights, "weights file"))  # safetensors would block on a FIFO or read a device
    _check_encoder(config, directory)  # first: building the network for the header check needs the base
    _check_header(weights, config, directory)
    try:
        state = load_file(str(weights), device="cpu")
    except FileNotFoundError:
        raise CheckpointError(f"{directory}: model.safetensors is missing") from None
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(
            f"{directory}: model.safetensors is unreadable or truncated ({_first_line(e)})"
        ) from None
    model = NeuralProgrammer(config)  # its settings were checked on the meta device
    for k, v in state.items():
        if not torch.isfinite(v).all():
            raise CheckpointError(f"{directory}: weight {k} holds NaN or infinite values")
    model.load_saved(state)
    model.eval()
    return model.to(device), vocab, card


def _check_encoder(config: ModelConfig, directory: Path) -> None:
    """A model with a pretrained encoder stores only what training changed: the base it was trained on must
    be here, and be the same weights (sha256), or its answers would silently differ."""
    if config.encoder == "lstm":
        return
    try:
        found = weights_sha256(base_directory(config.encoder))
    except EncoderError as e:
        raise CheckpointError(f"{directory}: needs its base encoder: {e}") from None
    if found != config.encoder_sha256:
        raise CheckpointError(
            f"{directory}: trained on the encoder {config.encoder!r} with weights sha256 "
            f"{config.encoder_sha256[:12]}…, but the one here has {found[:12]}… (a different model)"
        )


def record_in_card(directory: Path, figures: dict) -> None:
    """Merge measured figures into a model's card.json (write to a temporary file, then rename)."""
    path = Path(directory) / "card.json"
    card = _read_json(path) if path.exists() else {}
    card.update(figures)
    tmp = path.with_name(".card.json.tmp")
    tmp.write_text(json.dumps(card, indent=2, ensure_ascii=False))
    os.replace(tmp, path)


def git_commit(root: Path | None = None) -> str | None:
    """The checked-out commit, read from .git without running git; None outside a checkout."""
    root = root or layout.CHECKOUT
    if root is None:
        return None
    try:
        head = (root / ".git" / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            return (root / ".git" / head[5:]).read_text().strip()
        return head
    except OSError:
        return None


# ---- training state (for nprog train --resume), beside the checkpoint it continues


def state_dir(out: str | os.PathLike) -> Path:
    """<out>.resume, beside the model directory (which is replaced whole at every new best): the newest
    training state (weights, Adam's moments, step, RNG) for ``--resume``."""
    out = Path(out)
    return out.with_name(out.name + ".resume")


def save_state(final: Path, model, optimizer, progress: dict) -> None:
    """Write the training state atomically (checkpoint.write_directory): weights and Adam's moments in
    safetensors, counters and the dev curve in JSON, torch's RNG state as a uint8 tensor."""

    def fill(tmp: Path) -> None:
        save_file(
            {k: v.detach().cpu().contiguous() for k, v in model.saved_state().items()},
            str(tmp / "model.safetensors"),
        )
        opt = optimizer.state_dict()
        tensors = {"rng": torch.get_rng_state()}
        for i, st in opt["state"].items():
            for name, v in st.items():
                tensors[f"{i}.{name}"] = torch.as_tensor(v).detach().cpu().contiguous()
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        (tmp / "state.json").write_text(json.dumps({**progress, "param_groups": opt["param_groups"]}))

    write_directory(final, fill)


def load_state(last: Path, model, optimizer) -> dict | None:
    """Restore a saved training state into model and optimizer; returns its counters (None if none)."""
    if not (last / "state.json").exists():
        return None
    try:
        progress = json.loads((last / "state.json").read_text())
        model.load_saved(load_file(str(last / "model.safetensors")))
        tensors = load_file(str(last / "optimizer.safetensors"))
        state: dict[int, dict] = {}
        for key, v in tensors.items():
            if key != "rng":
                i, name = key.split(".", 1)
                state.setdefault(int(i), {})[name] = v
        optimizer.load_state_dict({"state": state, "param_groups": progress.pop("param_groups")})
        torch.set_rng_state(tensors["rng"])
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as e:
        raise ValueError(f"{last}: cannot resume from it (another configuration, or damaged): {e}") from None
    return progress
