"""Pictures of how the Neural Programmer decided, in the manner of Olah & Carter, "Attention and Augmented
Recurrent Neural Networks" (Distill, 2016): at every step the model spreads its attention over operations,
columns, rows and question words, and each picture is one of those distributions, one line per step.

Pure functions from an :class:`nprog.qa.Answer` to a tidy DataFrame (``*_frame``) and from that to an
Altair chart (``*_chart``); nothing here imports Streamlit. All charts share the y axis "step", so stacked
on a page they read as one timeline. Frames are small whatever the table size: rows are aggregated into at
most ``max_columns`` bins, so a table of a million rows draws like one of a hundred.
"""

from __future__ import annotations

import json
import math

import altair as alt
import numpy as np
import pandas as pd

from nprog.ops import OPS

CELL = 30  # px: height of one step in every chart
MAX_ROW_CELLS = 100  # rows drawn one by one up to this many; above, rows are binned
CHOSEN = "#111827"  # outline of what the program chose
SCHEME = "blues"
UNSELECTED = "#eef1f6"


def op_meaning(op) -> str:
    """An operation's label with placeholders: C a column, n a question number, v values the question names."""
    return op.label.format(col="C", num="n", values="v")


def step_labels(answer) -> list[str]:
    """The model's T steps: '1 · select', '2 · count', …, the step number and the operation it chose."""
    return [f"{t + 1} · {c.operation.name}" for t, c in enumerate(answer.explanation.choices)]


def program_labels(answer) -> list[str]:
    """The program's steps as listed ('1. rows where Gold > 5', …). The program leaves out model steps
    that cannot change its result, so it may have fewer steps than the model ran."""
    labels = []
    for i, text in enumerate(answer.program.describe_steps()):
        labels.append(f"{i + 1}. {text if len(text) <= 36 else text[:35] + '…'}")
    return labels


def _y(labels: list[str], limit: int = 160) -> alt.Y:
    return alt.Y(
        "step:N",
        sort=labels,
        scale=alt.Scale(domain=labels),
        title=None,
        axis=alt.Axis(labelLimit=limit, labelOverlap=False),
    )


def _positional_x(
    field: str, labels: list[str], title: str | None, angle: int = 0, gaps: bool = True
) -> alt.X:
    """An x axis over positions 0…n−1 that shows ``labels`` (which may repeat, like 'the' twice)."""
    expr = f"{json.dumps(labels, ensure_ascii=False)}[datum.value]"
    return alt.X(
        f"{field}:O",
        title=title,
        scale=alt.Scale(
            domain=list(range(len(labels))), **({} if gaps else {"paddingInner": 0, "paddingOuter": 0})
        ),
        axis=alt.Axis(labelExpr=expr, labelAngle=angle, labelLimit=140, labelOverlap=False, orient="top"),
    )


def _heatmap(
    frame: pd.DataFrame,
    x: alt.X,
    labels: list[str],
    value: str,
    title: str,
    tooltip: list,
    domain=None,
    extra=(),
) -> alt.LayerChart:
    """Cells coloured by ``value``, the chosen ones outlined; ``extra`` layers are drawn on top."""
    base = alt.Chart(frame)
    color = alt.Color(
        f"{value}:Q",
        scale=alt.Scale(scheme=SCHEME, domain=domain or [0, 1]),
        legend=alt.Legend(title=title, orient="right", gradientLength=max(CELL * len(labels) - 10, 60)),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=1.5, cornerRadius=2).encode(
        x=x, y=_y(labels), color=color, tooltip=tooltip
    )
    layers = [cells]
    if "chosen" in frame:
        layers.append(
            base.transform_filter(alt.datum.chosen)
            .mark_rect(fillOpacity=0, stroke=CHOSEN, strokeWidth=2.5, cornerRadius=2)
            .encode(x=x, y=_y(labels), tooltip=tooltip)
        )
    return alt.layer(*layers, *extra).properties(width="container", height=alt.Step(CELL))


# ---- operations ---------------------------------------------------------------------------------------


def op_frame(answer) -> pd.DataFrame:
    """One row per (step, operation): its probability and whether the program chose it."""
    probs = np.asarray(answer.explanation.ops, dtype=float)  # (T, O)
    labels = step_labels(answer)
    T, O = probs.shape
    chosen = {(t, c.op) for t, c in enumerate(answer.explanation.choices)}
    return pd.DataFrame(
        {
            "step": np.repeat(labels, O),
            "op": [OPS[k].name for k in range(O)] * T,
            "pos": list(range(O)) * T,
            "p": probs.reshape(-1),
            "chosen": [(t, k) in chosen for t in range(T) for k in range(O)],
            "meaning": [op_meaning(OPS[k]) for k in range(O)] * T,
        }
    )


def op_chart(answer) -> alt.LayerChart:
    frame = op_frame(answer)
    labels = step_labels(answer)
    x = _positional_x("pos", [op.name for op in OPS], None, angle=-40)
    tooltip = [
        alt.Tooltip("step:N"),
        alt.Tooltip("op:N", title="operation"),
        alt.Tooltip("meaning:N"),
        alt.Tooltip("p:Q", title="probability", format=".1%"),
    ]
    return _heatmap(frame, x, labels, "p", "probability", tooltip)


# ---- columns ------------------------------------------------------------------------------------------


def column_frame(answer) -> pd.DataFrame:
    """One row per (step, column) for the steps whose operation reads a column: the column attention of
    the chosen operation. Steps whose operation reads no column (count, first, …) have no rows."""
    names, labels = answer.table.names, step_labels(answer)
    records = []
    explanation = answer.explanation
    for t, (choice, probs) in enumerate(zip(explanation.choices, explanation.columns, strict=True)):
        if not choice.operation.column:
            continue
        for c, name in enumerate(names):
            records.append(
                {
                    "step": labels[t],
                    "column": name,
                    "pos": c,
                    "p": float(probs[c]),
                    "chosen": c == choice.column,
                }
            )
    return pd.DataFrame(records, columns=["step", "column", "pos", "p", "chosen"])


def column_chart(answer) -> alt.LayerChart:
    frame = column_frame(answer)
    labels = step_labels(answer)
    x = _positional_x("pos", answer.table.names, None, angle=0 if len(answer.table.names) <= 8 else -30)
    tooltip = [
        alt.Tooltip("step:N"),
        alt.Tooltip("column:N"),
        alt.Tooltip("p:Q", title="probability", format=".1%"),
    ]
    no_column = [
        lab for lab, c in zip(labels, answer.explanation.choices, strict=True) if not c.operation.column
    ]
    note = (
        alt.Chart(pd.DataFrame({"step": no_column, "note": "this operation reads no column"}))
        .mark_text(align="left", baseline="middle", color="#9ca3af", fontStyle="italic")
        .encode(y=_y(labels), text="note:N", x=alt.value(8))
    )
    return _heatmap(frame, x, labels, "p", "probability", tooltip, extra=[note] if no_column else [])


# ---- rows ---------------------------------------------------------------------------------------------


def _row_names(answer) -> list[str]:
    """A short name for each row: its cell in the first text column (else the first column)."""
    table = answer.table
    column = next((c for c in table.columns if c.kind == "text"), table.columns[0])
    return [s if len(s) <= 40 else s[:39] + "…" for s in column.strings.to_pylist()]


def row_frame(answer, max_columns: int = MAX_ROW_CELLS) -> pd.DataFrame:
    """One row per (program step, table row) — or per (step, bin of rows) when the table has more than
    ``max_columns`` rows: ``share`` is the fraction of the bin's rows selected after the step (0 or 1 for
    single rows). ``answer.rows`` holds one selection per step of the program (the last one repeats)."""
    selections = np.asarray(answer.rows, dtype=float)  # (S, R)
    labels = program_labels(answer)
    T, R = selections.shape if selections.ndim == 2 else (len(labels), 0)
    if R == 0:
        return pd.DataFrame(columns=["step", "pos", "rows", "share", "selected", "name"])
    size = max(1, math.ceil(R / max_columns))
    n_bins = math.ceil(R / size)
    padded = np.zeros((T, n_bins * size))
    padded[:, :R] = selections
    selected = padded.reshape(T, n_bins, size).sum(-1)  # (T, bins)
    counts = np.full(n_bins, size)
    counts[-1] = R - size * (n_bins - 1)
    if size == 1:
        spans = [f"row {i + 1}" for i in range(R)]
        names = _row_names(answer)
    else:
        spans = [f"rows {b * size + 1}–{b * size + counts[b]}" for b in range(n_bins)]
        names = [""] * n_bins
    return pd.DataFrame(
        {
            "step": np.repeat(labels, n_bins),
            "pos": list(range(n_bins)) * T,
            "rows": spans * T,
            "share": (selected / counts).reshape(-1),
            "selected": [
                f"{int(s)} of {n}" for s, n in zip(selected.reshape(-1), np.tile(counts, T), strict=True)
            ],
            "name": names * T,
        }
    )


def row_chart(answer, max_columns: int = MAX_ROW_CELLS) -> alt.Chart:
    frame = row_frame(answer, max_columns)
    labels = program_labels(answer)
    n = int(frame["pos"].max()) + 1 if len(frame) else 0
    R = len(answer.rows[0]) if len(answer.rows) else 0
    binned = n < R
    every = 1 if n <= 30 else math.ceil(n / 10)  # about ten tick labels on long axes
    ticks = [str(i + 1) if i % every == 0 else "" for i in range(n)]
    if binned:
        size = math.ceil(R / n)
        ticks = [str(b * size + 1) if b % every == 0 else "" for b in range(n)]
        title = f"rows {1:,}–{R:,}, in bins of {size:,} (shade: share of the bin selected after the step)"
    else:
        title = "rows (dark: selected after the step)"
    x = _positional_x("pos", ticks, title, gaps=n <= 60)
    tooltip = [alt.Tooltip("step:N"), alt.Tooltip("rows:N"), alt.Tooltip("selected:N")]
    if not binned:
        tooltip.append(alt.Tooltip("name:N", title="row"))
    color = alt.Color(
        "share:Q",
        # sqrt: a bin with a few selected rows among hundreds must still show
        scale=alt.Scale(domain=[0, 1], range=[UNSELECTED, "#1d4ed8"], type="sqrt" if binned else "linear"),
        legend=None,  # the axis title says what the shade means
    )
    return (
        alt.Chart(frame)
        .mark_rect(stroke="white", strokeWidth=1 if n <= 60 else 0, cornerRadius=1)
        .encode(x=x, y=_y(labels, limit=240), color=color, tooltip=tooltip)
        .properties(width="container", height=alt.Step(CELL))
    )


# ---- question words -----------------------------------------------------------------------------------


def question_words(encoded) -> list[str]:
    """The words the encoder read, with ``<num>`` and ``<ent>`` shown as the question text they stand for.

    ``encoded`` is ``qa.encode(table, question)``; the labels are for display only.
    """
    q, spans = encoded.question, sorted(encoded.features.entity_spans)
    words, positions = q.encoder_input(spans)
    words = list(words)
    for mention, p in zip(q.mentions, positions, strict=True):
        if p >= 0:
            words[p] = mention.text
    entities = iter(spans)
    for i, w in enumerate(words):
        if w == "<ent>":
            a, b = next(entities, (0, 0))
            words[i] = " ".join(q.tokens[a:b]) or w
    return words


def attention_frame(answer, words: list[str] | None = None) -> pd.DataFrame:
    """One row per (step, question word): the controller's attention to the word at that step."""
    att = np.asarray(answer.explanation.attention, dtype=float)  # (T, L)
    tokens = list(answer.explanation.tokens)
    if words is None or len(words) != len(tokens):
        words = tokens
    T, L = att.shape
    return pd.DataFrame(
        {
            "step": np.repeat(step_labels(answer), L),
            "pos": list(range(L)) * T,
            "word": list(words) * T,
            "token": tokens * T,  # what the model's vocabulary made of the word (<unk> when unknown)
            "p": att.reshape(-1),
        }
    )


def attention_chart(answer, words: list[str] | None = None) -> alt.Chart:
    frame = attention_frame(answer, words)
    labels = step_labels(answer)
    shown = frame["word"].iloc[: int(frame["pos"].max()) + 1].tolist() if len(frame) else []
    x = _positional_x("pos", shown, None, angle=0 if sum(map(len, shown)) < 70 else -35)
    tooltip = [
        alt.Tooltip("step:N"),
        alt.Tooltip("word:N"),
        alt.Tooltip("token:N", title="model token"),
        alt.Tooltip("p:Q", title="attention", format=".1%"),
    ]
    top = float(frame["p"].max()) if len(frame) else 1.0
    return _heatmap(frame, x, labels, "p", "attention", tooltip, domain=[0, max(top, 1e-6)])
