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

import dataclasses
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
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from nprog import checkpoint
from nprog.answers import lists_match
from nprog.batch import Encoded, collate, encode
from nprog.config import TrainConfig
from nprog.credit import Rules
from nprog.distill import attach_teacher, collate_teacher, distill_loss
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
    pieces=None,
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
        e = encode(table, ex.question, vocab, target=target, order_cues=order_cues, pieces=pieces)
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
    """Endless batches bucketed by size (less padding), in a seeded random order: by table size in steps
    of 8 rows, then by question length, then by columns. The question encoder runs to the longest
    question of its batch: ordering by rows alone padded a batch to 21 tokens for a mean of 10, sorting
    by length within 8-row buckets pads to 14 (rows: 29 → 32) and trains about 8 % more examples/s.

    The chunks are fixed (only their order changes from epoch to epoch), so each is yielded as the same
    :class:`Chunk` object every time and its tensors can be collated once (:func:`training_tensors`)."""

    def size(e: Encoded) -> tuple[int, int, int]:
        return e.table.n_rows // 8, len(e.tokens), e.table.n_columns

    order = sorted(range(len(items)), key=lambda i: size(items[i]))
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
    """(batch, loss targets, program graphs, teacher distributions or None) of a training batch on
    ``device``; a :class:`Chunk` is collated once and then served from ``cache`` (about 1/20 of the step
    time at batch 64 on a CPU)."""
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
    teacher = collate_teacher(items, C, batch.number_mask.shape[1])
    if teacher is not None:
        teacher = tuple(t.to(device) for t in teacher)
    out = (batch.to(device), targets, graphs, teacher)
    if key is not None:
        cache[key] = out
    return out


def add_l2_gradient(model: torch.nn.Module, l2: float) -> None:
    """Add ∇(½·λ·Σθ²) = λ·θ to every gradient in place: the paper's L2 term, without building it into the
    autograd graph (one fused update instead of a square and a sum per parameter, forward and backward).
    Not on a pretrained encoder's fine-tuned layers: their weights are not small numbers to pull to 0."""
    params = model.trainable_parameters()[0]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    torch._foreach_add_([p.grad for p in params], params, alpha=l2)


def train_step(net, model, optimizer, cfg: TrainConfig, batch, targets, graphs, teacher=None) -> torch.Tensor:
    """One optimisation step: paper losses + MML (+ ponder cost, + distillation from a teacher's step
    distributions), L2, global-norm clipping, Adam. Returns the loss without the L2 term (what the
    progress bar shows)."""
    trace = net(batch, execute=cfg.soft_weight > 0)
    loss = cfg.soft_weight * loss_fn(trace, batch, targets) if cfg.soft_weight else 0.0
    if cfg.mml_weight:
        loss = loss + cfg.mml_weight * mml_loss(trace, graphs)
    if trace.ponder is not None:
        loss = loss + cfg.ponder_cost * trace.ponder.mean()
    if teacher is not None and cfg.distill_weight:
        loss = loss + cfg.distill_weight * distill_loss(trace, teacher)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    add_l2_gradient(model, cfg.l2)
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], cfg.clip)
    optimizer.step()
    return loss.detach()


def scheduled_lr(cfg: TrainConfig, step: int) -> float:
    """The learning rate at ``step``: constant, or under ``lr_decay="cosine"`` falling along a half cosine
    from lr at the first step to lr/10 at the end of the --steps budget (no step budget: constant)."""
    if cfg.lr_decay != "cosine" or not cfg.steps:
        return cfg.lr
    done = min(step / cfg.steps, 1.0)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * done)))


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Adam (lr, ε of the config), fused: one kernel updates every tensor. The multi-tensor form's seven
    passes over the 1.5 M weights were 11 % of a CPU step; fused gave 6–8 % more examples/s (A/B, 1 thread).
    A pretrained encoder's fine-tuned layers are a second group at ``encoder_lr`` (its ``scale``: the
    schedule multiplies both); its frozen layers are not optimised at all."""
    own, tuned = model.trainable_parameters()
    groups = [{"params": own, "scale": 1.0}]
    if tuned:
        groups.append({"params": tuned, "scale": cfg.encoder_lr / cfg.lr})
    return torch.optim.Adam(groups, lr=cfg.lr, eps=cfg.adam_eps, fused=True)


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
    vocab = build_vocab(root, train_examples, cfg.min_count)  # WTQ's words only: templates add none
    if cfg.synthetic:
        from nprog.synthetic import generate

        made = generate(root, [ex.context for ex in train_examples], cfg.synthetic, seed=cfg.seed)
        log(f"template questions: {len(made)} on the training tables")
        train_examples = train_examples + made
    pieces = None
    if cfg.model.encoder != "lstm":
        from nprog.encoder import word_pieces

        pieces = word_pieces(cfg.model.encoder)
    prepared = prepare(
        root,
        train_examples,
        vocab,
        cfg.max_rows,
        halt_anywhere=cfg.model.controller == "act",
        order_cues=cfg.model.order_cues,
        rules=Rules.parse(cfg.credit),
        pieces=pieces,
    )
    dev = []
    for ex in dev_examples:
        try:
            dev.append(
                (
                    ex,
                    encode(
                        load_table(root, ex.context),
                        ex.question,
                        vocab,
                        order_cues=cfg.model.order_cues,
                        pieces=pieces,
                    ),  # fmt: skip
                )
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


class Trainer:
    """One training run; under ``torchrun --nproc_per_node N`` the same run trains data-parallel (DDP).

    Every rank prepares the same data and draws the same seeded batch sequence; at each step rank r takes
    batch r of the next N, so one step sees N × batch_size examples and DDP averages the gradients.
    Rank 0 evaluates, keeps the best checkpoint and logs; a stop decision is broadcast so all ranks agree.
    """

    def __init__(self, cfg: TrainConfig, log=print, data: Data | None = None):
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.cfg = cfg
        self.rank, self.world, self.device = _distributed(resolve_device(cfg.device))
        self.log = log if self.rank == 0 else (lambda message: None)  # rank 0 speaks for all
        # the teachers are loaded first, so a wrong --distill fails before the data are prepared
        paths = [p.strip() for p in cfg.distill.split(",") if p.strip()]
        teachers = [TableQA.load(p, device=self.device) for p in paths]
        self.data = data or load_data(cfg, self.log)
        self.teacher_card = None
        if teachers:  # their distributions once, before the seed: the run's RNG stream is as without
            about = [
                {"model": p, "dev_accuracy": t.card.get("dev_accuracy"), "encoder": t.model.config.encoder}
                for p, t in zip(paths, teachers, strict=True)
            ]
            # one teacher: its fields; an ensemble: the comma-joined paths and each member under "ensemble"
            self.teacher_card = {
                **(about[0] if len(about) == 1 else {"model": ",".join(paths), "ensemble": about}),
                "weight": cfg.distill_weight,
            }
            attach_teacher(self.data.prepared.items, teachers, log=self.log)
            del teachers
        set_seed(cfg.seed)
        self.model_cfg = cfg.model_config(len(self.data.vocab))
        self.encoder_card = None
        if self.model_cfg.encoder != "lstm":  # the card names the base; the config pins its weights
            from nprog.encoder import PACKAGED, base_directory, describe

            base = base_directory(self.model_cfg.encoder)
            self.encoder_card = describe(base)
            self.model_cfg = dataclasses.replace(
                self.model_cfg,
                encoder=self.model_cfg.encoder
                if self.model_cfg.encoder in PACKAGED
                else str(base),  # absolute
                encoder_sha256=self.encoder_card["sha256"],
            )
        self.model = NeuralProgrammer(self.model_cfg).to(self.device)
        if self.model.lm is not None:
            from nprog.encoder import cache_lower_states

            cache_lower_states(
                self.model.lm,
                self.data.prepared.items + [e for _, e in self.data.dev if e is not None],
                log=self.log,
            )
        self.net = (
            DistributedDataParallel(self.model) if self.world > 1 else self.model
        )  # same weights everywhere
        self.optimizer = make_optimizer(self.model, cfg)
        self.stream = batches(self.data.prepared.items, cfg.batch_size, random.Random(cfg.seed))
        self.qa = TableQA(self.model, self.data.vocab, device=self.device)
        self.out = Path(cfg.out)
        self.budget_s = cfg.minutes * 60 if cfg.minutes else math.inf
        self.max_steps = cfg.steps or (10**9 if cfg.minutes else 10_000)
        self.best, self.best_step, self.step, self.seen = -1.0, 0, 0, 0
        self.losses: list[float] = []
        self.history: list[dict] = []
        self.collated: dict = {}  # each fixed batch's tensors, collated once (training_tensors)
        self.start = time.time()

    # ---- the loop
    def run(self) -> dict:
        if self.cfg.resume:
            self.resume()
        bar = tqdm(total=self.max_steps if self.cfg.steps else None, file=sys.stderr, dynamic_ncols=True,
                   mininterval=2, initial=self.step, disable=self.rank > 0)  # fmt: skip
        self.model.train()
        while not self.should_stop():
            self.train_one_step()
            if self.step % 20 == 0:
                bar.set_postfix(loss=f"{np.mean(self.losses[-100:]):.3f}",
                                ex_s=f"{self.seen / self.elapsed():.0f}", dev=f"{max(self.best, 0):.3f}")  # fmt: skip
            bar.update(1)
            if self.step % self.cfg.eval_every == 0 and self.rank == 0:
                self.evaluate_and_keep()
        if self.rank == 0 and (not self.history or self.history[-1]["step"] != self.step):
            self.evaluate_and_keep()
        bar.close()
        if self.world > 1:
            self.leave_process_group()
        return self.summary()

    def train_one_step(self) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = scheduled_lr(self.cfg, self.step) * group.get("scale", 1.0)
        items = [next(self.stream) for _ in range(self.world)][self.rank]
        tensors = training_tensors(items, self.device, self.cfg.mml_weight > 0, self.collated)
        loss = train_step(self.net, self.model, self.optimizer, self.cfg, *tensors)
        self.step += 1
        self.seen += len(items) * self.world
        self.losses.append(loss.item())

    def elapsed(self) -> float:
        return max(time.time() - self.start, 1e-9)

    def should_stop(self) -> bool:
        stop = torch.tensor(
            [int(self.step >= self.max_steps or self.elapsed() >= self.budget_s)], device=self.device
        )
        if self.world > 1:
            dist.broadcast(stop, 0)  # rank 0's clock decides for everyone
        return bool(stop.item())

    # ---- evaluation, the kept checkpoint and the training state
    def evaluate_and_keep(self) -> None:
        """Dev accuracy now; a new best is saved as the checkpoint (with its card); the training state
        is saved for --resume either way."""
        self.model.eval()
        self.qa.forget_headers()  # header states kept at the last evaluation came from older weights
        acc = dev_accuracy(self.qa, self.data.dev)
        self.model.train()
        elapsed = self.elapsed()
        self.history.append(
            {"step": self.step, "dev_accuracy": round(acc, 4), "minutes": round(elapsed / 60, 2)}
        )
        self.log(
            f"step {self.step}: dev accuracy {acc:.3f} ({elapsed / 60:.1f} min, {self.seen / elapsed:.0f} examples/s)"
        )
        if acc > self.best:
            self.best, self.best_step = acc, self.step
            checkpoint.save(self.cfg.out, self.model, self.data.vocab, self.card(acc, elapsed))
        checkpoint.save_state(checkpoint.state_dir(self.out), self.model, self.optimizer, self.progress())

    def card(self, acc: float, elapsed: float) -> dict:
        cfg = self.cfg
        return {
            "name": self.out.name,
            "what": "Neural Programmer (Neelakantan et al. 2017) trained on WikiTableQuestions random-split-1-train",
            "dev_accuracy": round(acc, 4),
            "dev_examples": len(self.data.dev),
            "test_accuracy": None,
            "step": self.step,
            "examples_seen": self.seen,
            "train_minutes": round(elapsed / 60, 1),
            "examples_per_second": round(self.seen / elapsed, 1),
            "training_command": "nprog train " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["train"] else "",
            "train_config": {k: v for k, v in asdict(cfg).items() if k not in ("data_dir", "out")},
            "training_examples": len(self.data.prepared.items),
            "left_out_of_training": self.data.prepared.skipped,
            "hardware": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"torch {torch.__version__}, {self.device}",
            "seed": cfg.seed,
            "data_parallel_processes": self.world,
            "git_commit": checkpoint.git_commit(),
            "date": dt.date.today().isoformat(),
            "ops": self.model_cfg.ops,
            **({"distilled_from": self.teacher_card} if self.teacher_card else {}),
            **(
                {
                    "encoder": {
                        **self.encoder_card,
                        "name": self.model_cfg.encoder,
                        "tuned_layers": self.model_cfg.encoder_tune,
                        "reads_column_names": self.model_cfg.encoder_columns,
                    }
                }
                if self.encoder_card
                else {}
            ),  # fmt: skip
            "dev_curve": self.history,
        }

    def progress(self) -> dict:
        return {"step": self.step, "seen": self.seen, "best": self.best, "best_step": self.best_step,
                "history": self.history, "losses": self.losses, "elapsed": self.elapsed()}  # fmt: skip

    def resume(self) -> None:
        """Continue from the saved training state, if there is one: weights, Adam's moments, counters and
        the position in the same batch sequence as an uninterrupted run."""
        state = checkpoint.state_dir(self.out)
        resumed = checkpoint.load_state(state, self.model, self.optimizer)
        if not resumed:
            return
        self.best, self.best_step = resumed["best"], resumed["best_step"]
        self.step, self.seen = resumed["step"], resumed["seen"]
        self.history, self.losses = resumed["history"], resumed["losses"]
        self.start -= resumed["elapsed"]
        for _ in range(self.step * self.world):
            next(self.stream)
        self.log(
            f"resumed from {state} at step {self.step} (best dev {self.best:.3f} at step {self.best_step})"
        )

    def leave_process_group(self) -> None:
        agree = _weights_agree(self.model, self.device)
        self.log(f"data-parallel: {self.world} processes, weights identical on every rank: {agree}")
        dist.barrier()
        dist.destroy_process_group()
        if not agree:
            raise RuntimeError("data-parallel ranks ended with different weights")

    def summary(self) -> dict:
        if self.rank == 0:
            (self.out / "losses.json").write_text(json.dumps(self.losses[:1000]))
        return {
            "best_dev_accuracy": self.best,
            "best_step": self.best_step,
            "steps": self.step,
            "examples_per_second": self.seen / self.elapsed(),
            "losses": self.losses,
        }


def train(cfg: TrainConfig, log=print, data: Data | None = None) -> dict:
    """Train (see :class:`Trainer`); returns the summary (best dev accuracy and step, steps, examples/s)."""
    return Trainer(cfg, log, data).run()
