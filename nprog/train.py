"""Weakly supervised training on WikiTableQuestions: answers only, no programs (docs/neural-programmer.md §3).

Losses (§3.1 there, in float32 with the log-space fixes of deviation 4):
* scalar: L_s = min((ŝ − y)² / (2R), 3) with ŝ the soft count of the last step and R the valid rows;
* lookup: L_l = (50/N)·[Σ_k min over item-k cells of −log ℓ + Σ over other valid cells of −log(1 − ℓ)]
  with log ℓ = log α_print + log β_print + log s computed in log space;
* numbers that are also in the table: the soft-min max(0, −⅕·log(e^{−5 L_s} + e^{−5 L_l}));
* calc answers (including 0: deviation 7) use L_s, word lookups L_l;
* plus ½·λ·Σθ² (λ = 1e-4) as in the paper; Adam (lr 1e-3, ε 1e-6), global-norm clipping at 1;
* plus (``--mml-weight``, default 1) −log Σ p(program) over the programs that produce the training answer,
  found by search before training (:mod:`nprog.search`) — the learning signal the soft losses lack.

Batches are bucketed by table size and padded per batch; tables above ``--max-rows`` are left out of
*training* only (reported), never out of evaluation. Dev accuracy is measured on ALL dev examples every
``--eval-every`` steps and the best checkpoint is kept (atomic writes).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from nprog import checkpoint
from nprog.answers import lists_match
from nprog.batch import Encoded, collate, encode
from nprog.config import TrainConfig
from nprog.credit import Rules
from nprog.model import NeuralProgrammer
from nprog.qa import TableQA, resolve_device
from nprog.questions import Vocabulary, name_tokens, parse_question
from nprog.search import collate_graphs, mml_loss, search
from nprog.tables import TableError
from nprog.wtq import Example, load_table, make_target, read_examples, split_path

KIND_CODES = {"lookup-word": 0, "lookup-number": 1, "calc": 2, "yesno": 3}


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class Prepared:
    items: list[Encoded]
    skipped: dict[str, int]


def build_vocab(root: Path, examples: list[Example], min_count: int) -> Vocabulary:
    token_lists = []
    for ex in examples:
        token_lists.append(parse_question(ex.question).tokens)
        try:
            table = load_table(root, ex.context)
        except TableError:
            continue
        for name in table.names:
            token_lists.append(name_tokens(name))
    return Vocabulary.build(token_lists, min_count=min_count)


def prepare(
    root: Path,
    examples: list[Example],
    vocab: Vocabulary,
    max_rows: int | None,
    halt_anywhere: bool = False,
    order_cues: bool = False,
    rules: Rules | None = None,
) -> Prepared:
    """Encode the answerable examples and search their consistent programs (answering after the last
    step, or after any step for the ACT controller)."""
    items, skipped = [], {"unreachable": 0, "too many rows": 0, "unreadable table": 0}
    for ex in examples:
        try:
            table = load_table(root, ex.context)
        except TableError:
            skipped["unreadable table"] += 1
            continue
        if max_rows and table.n_rows > max_rows:
            skipped["too many rows"] += 1
            continue
        target = make_target(table, ex.answers)
        if target.kind == "unreachable":
            skipped["unreachable"] += 1
            continue
        e = encode(table, ex.question, vocab, target=target, order_cues=order_cues)
        e.extra["graph"] = search(e, halt_anywhere=halt_anywhere, rules=rules)
        items.append(e)
    return Prepared(items, skipped)


def target_tensors(items: list[Encoded], C: int, R: int):
    """(answer cells (B, C, R), item cells as (b, k, c, r) rows, item mask (B, K), kinds (B,), y (B,)).

    The item cells are listed, not stored as a dense (B, K, C, R) mask: a batch with a 56-item answer made
    that mask 4 M entries, filled and reduced at every step."""
    B = len(items)
    K = max(max(e.target.item_cells.shape[0] for e in items), 1)
    G = np.zeros((B, K, C, R), dtype=bool)
    item_mask = np.zeros((B, K), dtype=bool)
    kinds = np.zeros(B, dtype=np.int64)
    y = np.zeros(B, dtype=np.float32)
    for b, e in enumerate(items):
        cells = e.target.item_cells
        k, c, r = cells.shape
        G[b, :k, :c, :r] = cells
        item_mask[b, :k] = True
        kinds[b] = KIND_CODES[e.target.kind]
        y[b] = e.target.y if e.target.y is not None else 0.0
    cells = torch.from_numpy(np.argwhere(G))  # (M, 4) b, k, c, r
    return (
        torch.from_numpy(G.any(1)),
        cells,
        torch.from_numpy(item_mask),
        torch.from_numpy(kinds),
        torch.from_numpy(y),
    )


def loss_fn(trace, batch, targets) -> torch.Tensor:
    answer_cells, cells, item_mask, kinds, y = targets
    soft = batch.soft
    n_rows = soft.row_mask.sum(1).clamp(min=1.0)  # (B,)
    n_cells = soft.cell_mask.sum((1, 2)).clamp(min=1.0)  # (B,)
    L_s = torch.clamp((trace.scalar - y) ** 2 / (2 * n_rows), max=3.0)  # (B,)

    lp = trace.lookup_logp  # (B, C, R) log ℓ
    B, K = item_mask.shape
    b, k, c, r = cells.unbind(1)
    best = lp.new_full((B * K,), -1e9).scatter_reduce(0, b * K + k, lp[b, c, r], "amax").view(B, K)
    pos = torch.where(item_mask, -best, torch.zeros_like(best)).sum(
        1
    )  # (B,) best: the item's most likely cell
    negatives = soft.cell_mask.bool() & ~answer_cells  # (B, C, R)
    neg_log = -torch.log1p(-lp.exp().clamp(max=1 - 1e-6))  # −log(1 − ℓ), finite as ℓ → 1
    neg = (neg_log * negatives).sum((1, 2))
    L_l = 50.0 * (pos + neg) / n_cells

    soft_min = torch.clamp(-torch.logsumexp(torch.stack([-5 * L_s, -5 * L_l]), 0) / 5, min=0.0)
    per_example = torch.where(kinds == 0, L_l, torch.where(kinds == 2, L_s, soft_min))
    per_example = torch.where(kinds == 3, torch.zeros_like(per_example), per_example)  # yes/no: MML only
    return per_example.mean()


class Chunk(list):
    """One training batch's examples; the same object every epoch (``key`` indexes its collated tensors)."""

    key: int


def batches(items: list[Encoded], batch_size: int, rng: random.Random):
    """Endless batches bucketed by table size (less padding), in a seeded random order.

    The chunks are fixed (only their order changes from epoch to epoch), so each is yielded as the same
    :class:`Chunk` object every time and its tensors can be collated once (:func:`training_tensors`)."""
    order = sorted(range(len(items)), key=lambda i: (items[i].table.n_rows, items[i].table.n_columns))
    fixed = []
    for key, i in enumerate(range(0, len(order), batch_size)):
        chunk = Chunk(items[j] for j in order[i : i + batch_size])
        chunk.key = key
        fixed.append(chunk)
    while True:
        chunks = list(fixed)
        rng.shuffle(chunks)
        yield from chunks


def training_tensors(items: list[Encoded], device, mml: bool, cache: dict | None = None):
    """(batch, loss targets, program graphs) of a training batch on ``device``; a :class:`Chunk` is
    collated once and then served from ``cache`` (about 1/20 of the step time at batch 64 on a CPU)."""
    key = items.key if isinstance(items, Chunk) and cache is not None else None
    if key is not None and key in cache:
        return cache[key]
    batch = collate(items, soft=True)
    C, R = batch.soft.cell_mask.shape[1:]
    targets = tuple(t.to(device) for t in target_tensors(items, C, R))
    graphs = None
    if mml:
        steps, finals, has = collate_graphs([e.extra["graph"] for e in items])
        graphs = ([(e.to(device), n) for e, n in steps], finals.to(device), has)
    out = (batch.to(device), targets, graphs)
    if key is not None:
        cache[key] = out
    return out


def add_l2_gradient(model: torch.nn.Module, l2: float) -> None:
    """Add ∇(½·λ·Σθ²) = λ·θ to every gradient in place: the paper's L2 term, without building it into the
    autograd graph (one fused update instead of a square and a sum per parameter, forward and backward)."""
    params = list(model.parameters())
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    torch._foreach_add_([p.grad for p in params], params, alpha=l2)


def train_step(net, model, optimizer, cfg: TrainConfig, batch, targets, graphs) -> torch.Tensor:
    """One optimisation step: paper losses + MML (+ ponder cost), L2, global-norm clipping, Adam.
    Returns the loss without the L2 term (what the progress bar shows)."""
    trace = net(batch, execute=cfg.soft_weight > 0)
    loss = cfg.soft_weight * loss_fn(trace, batch, targets) if cfg.soft_weight else 0.0
    if cfg.mml_weight:
        loss = loss + cfg.mml_weight * mml_loss(trace, graphs)
    if trace.ponder is not None:
        loss = loss + cfg.ponder_cost * trace.ponder.mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    add_l2_gradient(model, cfg.l2)
    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
    optimizer.step()
    return loss.detach()


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Adam (lr, ε of the config), fused: one kernel updates every tensor. The multi-tensor form's seven
    passes over the 1.5 M weights were 11 % of a CPU step; fused gave 6–8 % more examples/s (A/B, 1 thread)."""
    return torch.optim.Adam(model.parameters(), lr=cfg.lr, eps=cfg.adam_eps, fused=True)


def dev_accuracy(qa: TableQA, dev: list[tuple[Example, Encoded | None]], batch_size: int = 128) -> float:
    correct = 0
    ready = [(ex, e) for ex, e in dev if e is not None]
    for i in range(0, len(ready), batch_size):
        chunk = ready[i : i + batch_size]
        for (ex, _), ans in zip(chunk, qa.answer_batch([e for _, e in chunk]), strict=True):
            correct += lists_match(ex.answers, ans.answer)
    return correct / max(len(dev), 1)


@dataclass
class Data:
    vocab: Vocabulary
    prepared: Prepared
    dev: list[tuple[Example, Encoded | None]]


def load_data(cfg: TrainConfig, log=print) -> Data:
    """Vocabulary, encoded training examples with their program graphs, encoded dev examples."""
    root = Path(cfg.data_dir)
    train_examples = read_examples(split_path(root, "train"))[: cfg.train_limit]
    dev_examples = read_examples(split_path(root, "dev"))[: cfg.dev_limit]
    t0 = time.time()
    vocab = build_vocab(root, train_examples, cfg.min_count)
    prepared = prepare(
        root,
        train_examples,
        vocab,
        cfg.max_rows,
        halt_anywhere=cfg.controller == "act",
        order_cues=cfg.order_cues,
        rules=Rules.parse(cfg.credit),
    )
    dev = []
    for ex in dev_examples:
        try:
            dev.append(
                (ex, encode(load_table(root, ex.context), ex.question, vocab, order_cues=cfg.order_cues))
            )
        except (TableError, ValueError):
            dev.append((ex, None))
    n_consistent = sum(not e.extra["graph"].empty for e in prepared.items)
    log(f"program search: {n_consistent}/{len(prepared.items)} training examples have a consistent program")
    log(
        f"prepared {len(prepared.items)} training examples in {time.time() - t0:.0f}s "
        f"(left out: {prepared.skipped}); vocabulary {len(vocab)}; dev {len(dev)}"
    )
    return Data(vocab, prepared, dev)


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
            {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
            str(tmp / "model.safetensors"),
        )
        opt = optimizer.state_dict()
        tensors = {"rng": torch.get_rng_state()}
        for i, st in opt["state"].items():
            for name, v in st.items():
                tensors[f"{i}.{name}"] = torch.as_tensor(v).detach().cpu().contiguous()
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        (tmp / "state.json").write_text(json.dumps({**progress, "param_groups": opt["param_groups"]}))

    checkpoint.write_directory(final, fill)


def load_state(last: Path, model, optimizer) -> dict | None:
    """Restore a saved training state into model and optimizer; returns its counters (None if none)."""
    if not (last / "state.json").exists():
        return None
    try:
        progress = json.loads((last / "state.json").read_text())
        model.load_state_dict(load_file(str(last / "model.safetensors")))
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


def _distributed(device: torch.device) -> tuple[int, int, torch.device]:
    """(rank, world size, device) — under torchrun (WORLD_SIZE > 1) this joins the process group:
    gloo on CPU, nccl on GPU (one GPU per process, LOCAL_RANK)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def _weights_agree(model, device) -> bool:
    """Every rank holds bit-identical weights (all-gather of the flat parameter vector)."""
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).to(device)
    gathered = [torch.empty_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, flat)
    return all(torch.equal(gathered[0], g) for g in gathered[1:])


def train(cfg: TrainConfig, log=print, data: Data | None = None) -> dict:
    """Train; under ``torchrun --nproc_per_node N`` the same call trains data-parallel (DDP).

    Every rank prepares the same data and draws the same seeded batch sequence; at each step rank r takes
    batch r of the next N, so one step sees N × batch_size examples and DDP averages the gradients.
    Rank 0 evaluates, keeps the best checkpoint and logs; a stop decision is broadcast so all ranks agree.
    """
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    rank, world, device = _distributed(resolve_device(cfg.device))
    if rank:
        log = lambda message: None  # noqa: E731 — rank 0 speaks for all
    data = data or load_data(cfg, log)
    set_seed(cfg.seed)
    vocab, prepared, dev = data.vocab, data.prepared, data.dev
    model_cfg = cfg.model_config(len(vocab))
    model = NeuralProgrammer(model_cfg).to(device)
    net = DistributedDataParallel(model) if world > 1 else model  # the same weights on every rank
    optimizer = make_optimizer(model, cfg)
    rng = random.Random(cfg.seed)
    stream = batches(prepared.items, cfg.batch_size, rng)
    qa = TableQA(model, vocab, device=device)

    budget_s = cfg.minutes * 60 if cfg.minutes else math.inf
    max_steps = cfg.steps or (10**9 if cfg.minutes else 10_000)
    best, best_step, step, seen = -1.0, 0, 0, 0
    start = time.time()
    losses: list[float] = []
    history = []
    out = Path(cfg.out)
    resumed = load_state(state_dir(out), model, optimizer) if cfg.resume else None
    if resumed:
        best, best_step, step, seen = resumed["best"], resumed["best_step"], resumed["step"], resumed["seen"]
        history, losses = resumed["history"], resumed["losses"]
        start -= resumed["elapsed"]
        for _ in range(step * world):  # the same batch sequence as an uninterrupted run
            next(stream)
        log(f"resumed from {state_dir(out)} at step {step} (best dev {best:.3f} at step {best_step})")
    bar = tqdm(
        total=max_steps if cfg.steps else None,
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=2,
        initial=step,
        disable=rank > 0,
    )

    def evaluate_and_keep() -> None:
        nonlocal best, best_step
        model.eval()
        acc = dev_accuracy(qa, dev)
        model.train()
        elapsed = time.time() - start
        history.append({"step": step, "dev_accuracy": round(acc, 4), "minutes": round(elapsed / 60, 2)})
        log(f"step {step}: dev accuracy {acc:.3f} ({elapsed / 60:.1f} min, {seen / elapsed:.0f} examples/s)")
        if acc > best:
            best, best_step = acc, step
            card = {
                "name": Path(cfg.out).name,
                "what": "Neural Programmer (Neelakantan et al. 2017) trained on WikiTableQuestions random-split-1-train",
                "dev_accuracy": round(acc, 4),
                "dev_examples": len(dev),
                "test_accuracy": None,
                "step": step,
                "examples_seen": seen,
                "train_minutes": round(elapsed / 60, 1),
                "examples_per_second": round(seen / elapsed, 1),
                "training_command": "nprog train " + " ".join(sys.argv[2:])
                if sys.argv[1:2] == ["train"]
                else "",
                "train_config": {k: v for k, v in asdict(cfg).items() if k not in ("data_dir", "out")},
                "training_examples": len(prepared.items),
                "left_out_of_training": prepared.skipped,
                "hardware": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {device}",
                "seed": cfg.seed,
                "data_parallel_processes": world,
                "git_commit": checkpoint.git_commit(),
                "date": dt.date.today().isoformat(),
                "ops": model_cfg.ops,
                "dev_curve": history,
            }
            checkpoint.save(cfg.out, model, vocab, card)

    def keep_state() -> None:
        progress = {
            "step": step,
            "seen": seen,
            "best": best,
            "best_step": best_step,
            "history": history,
            "losses": losses,
            "elapsed": time.time() - start,
        }
        save_state(state_dir(out), model, optimizer, progress)

    def should_stop() -> bool:
        stop = torch.tensor([int(step >= max_steps or time.time() - start >= budget_s)], device=device)
        if world > 1:
            dist.broadcast(stop, 0)  # rank 0's clock decides for everyone
        return bool(stop.item())

    model.train()
    collated: dict = {}
    while not should_stop():
        items = [next(stream) for _ in range(world)][rank]
        batch, targets, graphs = training_tensors(items, device, cfg.mml_weight > 0, collated)
        loss = train_step(net, model, optimizer, cfg, batch, targets, graphs)
        step += 1
        seen += len(items) * world
        losses.append(loss.item())
        if step % 20 == 0:
            elapsed = time.time() - start
            bar.set_postfix(
                loss=f"{np.mean(losses[-100:]):.3f}", ex_s=f"{seen / elapsed:.0f}", dev=f"{max(best, 0):.3f}"
            )
        bar.update(1)
        if step % cfg.eval_every == 0 and rank == 0:
            evaluate_and_keep()
            keep_state()
    if rank == 0 and (not history or history[-1]["step"] != step):
        evaluate_and_keep()
        keep_state()
    bar.close()
    if world > 1:
        agree = _weights_agree(model, device)
        log(f"data-parallel: {world} processes, weights identical on every rank: {agree}")
        dist.barrier()
        dist.destroy_process_group()
        if not agree:
            raise RuntimeError("data-parallel ranks ended with different weights")
    summary = {
        "best_dev_accuracy": best,
        "best_step": best_step,
        "steps": step,
        "examples_per_second": seen / max(time.time() - start, 1e-9),
        "losses": losses,
    }
    if rank == 0:
        (out / "losses.json").write_text(json.dumps(losses[:1000]))
    return summary
