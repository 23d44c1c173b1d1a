"""The UI's "Modules" page: the NTM, ACT and attention models of `memory/`, live on a fresh example each.

For the module picked, the page explains it in two sentences, shows its checkpoint's measured figures
(card.json), and runs its model on a new example: the picture (NTM read/write weightings, ACT ponder steps,
the attention matrix) and the model's output against the target. The dates and reverse models also rewrite
text the user types.

Checkpoints are read from data/models/<dir>/ (or $NPROG_MEMORY_MODELS/<dir>/). Each is loaded once per
version on disk (st.cache_resource keyed by the files' sizes and modification times, so a retrained
checkpoint shows up without a restart); each example is computed and drawn once (st.cache_data). The
examples and pictures come from each task's `live_example` (nprog.memory.tasks), tested without Streamlit;
what the page says about a task (its name, what it shows, its card's headline figures) is the task's `demo`.
The page loops over `nprog.memory.tasks.TASKS`: a new task shows up here without a change to this file.
"""

from __future__ import annotations

import html
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st
import torch

from nprog.layout import MODELS as MODELS_ROOT
from nprog.memory.checkpoints import CheckpointError, load_checkpoint
from nprog.memory.tasks import TASKS, Task

FIRST_SEED = 6  # the first example each visitor sees; "New example" counts up from here
FIGURE_DPI = 100


CSS = """
<style>
.np-live { margin: .3rem 0 .6rem 0; line-height: 2.0; font-size: 1.05rem; }
.np-live-label { display: inline-block; width: 4.8rem; color: #6b7280; font-size: .9rem; }
.np-live code { font-size: 1.05rem; color: #111827; background: #f4f6fb; padding: .1rem .4rem; }
.np-live-badge { margin-left: .7rem; font-weight: 600; font-size: .95rem; border-radius: .3rem; padding: .1rem .5rem; }
.np-live-ok { color: #065f46; background: #d1fae5; }
.np-live-wrong { color: #991b1b; background: #fee2e2; }
.np-live-unknown { color: #4b5563; background: #f3f4f6; font-weight: 400; }
.np-live-facts { color: #4b5563; font-size: .95rem; }
</style>
"""


class ModuleUnavailable(Exception):
    """The module's checkpoint is missing or cannot be read: the page says so instead of failing."""


@dataclass
class Shown:
    """One live example as the page shows it (picklable, for st.cache_data)."""

    input: str
    output: str
    target: str | None
    correct: bool | None
    facts: dict[str, Any]
    png: bytes
    literal: bool  # input, output and target are literal text: shown as code


# ---- checkpoints --------------------------------------------------------------------------------------


def models_root() -> Path:
    return Path(os.environ.get("NPROG_MEMORY_MODELS") or MODELS_ROOT)


def module_dir(task: str) -> Path:
    return models_root() / TASKS[task].checkpoint_dir


def version(model_dir: Path) -> tuple:
    """What identifies a checkpoint's version on disk: its files' sizes and modification times."""
    stamp = []
    for name in ("config.json", "model.safetensors", "card.json"):
        try:
            info = (model_dir / name).stat()
            stamp.append((name, info.st_size, info.st_mtime_ns))
        except OSError:
            stamp.append((name, None, None))
    return tuple(stamp)


def read_card(model_dir: Path) -> dict:
    try:
        card = json.loads((model_dir / "card.json").read_text())
    except (OSError, ValueError):
        return {}
    return card if isinstance(card, dict) else {}


@st.cache_resource(show_spinner="Loading the module …", max_entries=20)
def _load(model_dir: str, task: str, stamp: tuple) -> tuple[torch.nn.Module, dict]:
    """The checkpoint's model (CPU, eval mode) and card; cached per version (`stamp`), errors are not."""
    try:
        loaded, models, _ = load_checkpoint(Path(model_dir), torch.device("cpu"))
    except CheckpointError as e:
        raise ModuleUnavailable(str(e)) from None
    except (OSError, ValueError, KeyError, RuntimeError) as e:  # e.g. a checkpoint being rewritten right now
        raise ModuleUnavailable(f"{model_dir}: cannot load ({e})") from None
    if loaded.name != task:
        raise ModuleUnavailable(f"{model_dir} holds a {loaded.name!r} model, not {task!r}")
    return models["model"], read_card(Path(model_dir))


def load_module(task: str) -> tuple[torch.nn.Module, dict, str, tuple]:
    """-> model, card, directory and version of the task's checkpoint; ModuleUnavailable when there is none."""
    model_dir = module_dir(task)
    if not (model_dir / "config.json").is_file():
        raise ModuleUnavailable(f"no checkpoint in {model_dir}")
    stamp = version(model_dir)
    model, card = _load(str(model_dir), task, stamp)
    return model, card, str(model_dir), stamp


@st.cache_data(show_spinner="Running the example …", max_entries=200)
def run_example(model_dir: str, task: str, stamp: tuple, seed: int, text: str | None) -> Shown:
    """The example (a fresh one from `seed`, or the typed `text`) through the checkpoint, with its picture."""
    model, _ = _load(model_dir, task, stamp)
    example = TASKS[task].live_example(model, seed, text)
    buffer = io.BytesIO()
    example.figure.savefig(buffer, format="png", dpi=FIGURE_DPI, bbox_inches="tight")
    return Shown(
        example.input,
        example.output,
        example.target,
        example.correct,
        example.facts,
        buffer.getvalue(),
        example.literal,
    )


# ---- the card's figures ---------------------------------------------------------------------------------


def headline(task: str, card: dict) -> list[tuple[str, str, str]]:
    """(label, value, help) for the card's measured figures; entries the card lacks are left out."""
    figures = card.get("figures") if isinstance(card.get("figures"), dict) else {}
    out = []
    for figure in TASKS[task].demo.headlines:
        value: Any = figures.get(figure.entry)
        for key in figure.path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            out.append((figure.label, figure.fmt.format(value), figure.help))
    return out


def _summary_line(card: dict) -> str:
    summary = (card.get("figures") or {}).get("summary") if isinstance(card.get("figures"), dict) else None
    return summary[-1] if isinstance(summary, list) and summary and isinstance(summary[-1], str) else ""


# ---- page -----------------------------------------------------------------------------------------------


def page() -> None:
    st.markdown(CSS, unsafe_allow_html=True)
    st.caption(
        "The augmented recurrent networks of `memory/`, each trained on its classic task with "
        "`nprog memory train`. Every **New example** draws a fresh input and runs the shipped model on it."
    )
    first = next(iter(TASKS))
    choice = st.segmented_control(
        "Module",
        list(TASKS),
        key="module",
        default=first,
        required=True,
        format_func=lambda name: TASKS[name].demo.label,
        label_visibility="collapsed",
    )
    module_view(TASKS[choice or first])


def _next_example(task: str) -> None:
    """Button callback: count up the task's example seed, and leave any typed text for the new example."""
    st.session_state[f"module_example_{task}"] = st.session_state.get(f"module_example_{task}", 0) + 1
    st.session_state[f"module_text_{task}"] = ""


def module_view(task: Task) -> None:
    demo = task.demo
    st.markdown(f"#### {demo.label}")
    st.markdown(demo.about)
    try:
        _, card, model_dir, stamp = load_module(task.name)
    except ModuleUnavailable as e:
        st.info(
            f"The {demo.label} module cannot be shown: {e}.\n\n"
            f"Train it with `nprog memory train {task.name}`, which writes its checkpoint to "
            f"`data/models/{task.checkpoint_dir}/`."
        )
        return
    _card_view(task.name, card)

    seed = FIRST_SEED + st.session_state.get(f"module_example_{task.name}", 0)
    text = None
    if demo.typed:
        left, right = st.columns([1, 3], vertical_alignment="bottom")
        with right:
            typed = st.text_input(
                demo.typed,
                key=f"module_text_{task.name}",
                max_chars=task.max_typed_chars,
                placeholder=demo.placeholder,
            )
            text = typed.strip() or None
    else:
        left = st.container()
    left.button(
        "New example",
        key=f"new_example_{task.name}",
        on_click=_next_example,
        args=(task.name,),
        help="Draw a fresh random input and run the model on it",
    )
    try:
        shown = run_example(model_dir, task.name, stamp, seed, text)
    except ModuleUnavailable as e:  # the checkpoint changed under us between loading and running
        st.info(f"The {demo.label} module cannot be run right now: {e}.")
        return
    _example_view(shown, typed=text is not None)
    st.image(shown.png, width="content")


def _card_view(task: str, card: dict) -> None:
    metrics = headline(task, card)
    if metrics:
        for col, (label, value, help_text) in zip(st.columns(4), metrics, strict=False):
            col.metric(label, value, help=help_text or None)
    summary = _summary_line(card)
    steps = (card.get("steps") or {}).get("model") if isinstance(card.get("steps"), dict) else None
    trained = f" · trained for {steps:,} batches" if isinstance(steps, int) else ""
    if summary or trained:
        st.caption(f"Measured on fresh examples: {summary}{trained}.")
    notes = (
        [n for n in card.get("notes", []) if isinstance(n, str)]
        if isinstance(card.get("notes"), list)
        else []
    )
    for note in notes:
        if note.startswith("NOT CONVERGED"):
            st.warning(
                f"This checkpoint has not learned its task yet. {note.removeprefix('NOT CONVERGED:').strip()}"
            )
    with st.expander("About this checkpoint"):
        if card.get("command"):
            st.markdown("**Trained with**")
            st.code(card["command"], language="bash", wrap_lines=True)
        for note in notes:
            st.markdown(f"- {note}")
        if card:
            st.json({k: v for k, v in card.items() if k != "curve"}, expanded=False)
        else:
            st.caption("This checkpoint has no readable card.json.")


def _value_html(text: str, mono: bool) -> str:
    return f"<code>{html.escape(text)}</code>" if mono else html.escape(text)


def _example_view(shown: Shown, typed: bool) -> None:
    mono = shown.literal
    if shown.correct is None:
        badge = '<span class="np-live-badge np-live-unknown">no known answer to check it against</span>'
    elif shown.correct:
        badge = '<span class="np-live-badge np-live-ok">✓ right</span>'
    else:
        badge = '<span class="np-live-badge np-live-wrong">✗ wrong</span>'
    rows = [
        ("your input" if typed else "input", _value_html(shown.input, mono)),
        ("model", _value_html(shown.output, mono) + badge),
    ]
    if shown.target is not None:
        rows.append(("target", _value_html(shown.target, mono)))
    body = "".join(f'<div><span class="np-live-label">{label}</span>{value}</div>' for label, value in rows)
    facts = " · ".join(f"{key}: {_fact(value)}" for key, value in shown.facts.items())
    st.markdown(
        f'<div class="np-live">{body}<div class="np-live-facts">{html.escape(facts)}</div></div>',
        unsafe_allow_html=True,
    )
    unknown = shown.facts.get("characters it has never seen")
    if unknown:
        st.warning(
            f"The model has never seen {' '.join(repr(c) for c in unknown)}: it reads each as an unknown character."
        )
    if shown.facts.get("a valid date") is False:
        st.warning("The model's answer is not a valid YYYY-MM-DD date (no such day, or not in that form).")


def _fact(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
