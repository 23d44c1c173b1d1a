"""The Streamlit app: ask a table a question, see the answer, how the Neural Programmer decided, and its SQL.

Layout: the sidebar picks the table (a sample, an uploaded CSV, or a table of an uploaded SQLite/DuckDB
file); the tabs are Ask, Batch and About the model. This module only draws: reading files, batches and
exports live in :mod:`nprog.app.ui.data`, the pictures in :mod:`nprog.app.ui.pictures`, both tested without
Streamlit; the Modules tab is :mod:`nprog.app.ui.modules`.

User errors (a bad upload, an empty question, no model) are shown as messages, never as tracebacks: every
call into nprog that can fail on user input catches TableError, QuestionError, CheckpointError or BatchError.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from nprog import layout
from nprog.app.ui import data, pictures
from nprog.app.ui import modules as ui_modules
from nprog.checkpoint import CheckpointError
from nprog.ops import OPS
from nprog.qa import Answer, QuestionError, TableQA
from nprog.tables import Table, TableError

STYLE_CELL_LIMIT = (
    20_000  # cells; styling costs ~20 µs a cell on every rerun, so larger tables style only the used rows
)
ROWS_SHOWN_LARGE = 1_000
STYLE_COLUMN_LIMIT = 200  # pandas' Styler slows down faster than the column count (10,000 columns: minutes)
HIGHLIGHT_CELL = "background-color: #fde68a; font-weight: 600; color: #111827"
HIGHLIGHT_ROW = "background-color: #e8efff"

CSS = """
<style>
.np-answer { font-size: 2.6rem; font-weight: 700; line-height: 1.15; color: #111827; margin: .1rem 0 .4rem 0;
             overflow-wrap: anywhere; }
.np-answer.np-none { color: #9ca3af; font-weight: 500; font-size: 1.6rem; }
.np-answer.np-guess { color: #6b7280; font-weight: 500; font-size: 1.5rem; }
.np-guess-tag { font-size: .8rem; font-weight: 600; color: #92400e; background: #fef3c7; border-radius: .3rem;
                padding: .1rem .4rem; margin-right: .5rem; vertical-align: middle; }
.np-asked { color: #6b7280; font-size: .95rem; margin-bottom: .1rem; }
.np-steps { margin: .2rem 0 0 0; padding-left: 1.6rem; line-height: 1.9; }
.np-steps li { font-size: 1.05rem; }
.np-steps .np-op { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .8rem; color: #1d4ed8;
                   background: #eef2ff; border-radius: .3rem; padding: .05rem .35rem; margin-right: .4rem; }
.np-facts { color: #4b5563; font-size: 1.05rem; margin-bottom: .6rem; }
.np-facts b { color: #111827; }
.np-dot { margin: 0 .5rem; color: #9ca3af; }
.np-hint { color: #9ca3af; font-size: .85rem; font-weight: 400; }
[data-testid="stMainBlockContainer"] { padding-top: 2.2rem; }
[data-testid="stSidebarUserContent"] { padding-top: 1.2rem; }
.np-key { display: inline-block; width: .9rem; height: .9rem; border-radius: .2rem; vertical-align: -2px;
          margin: 0 .3rem 0 .8rem; border: 1px solid #d1d5db; }
</style>
"""


@dataclass
class Source:
    """The table questions go to."""

    key: str  # identifies the table's content: answers and caches are kept per key
    label: str  # what the page calls it
    table: Table
    examples: list[str]  # example questions (sample tables only)


@dataclass
class Context:
    qa: TableQA | None
    model_error: str  # why there is no model ("" when qa is loaded)
    source: Source | None
    source_error: str = ""  # why the chosen table could not be read


@dataclass
class Asked:
    """One answered question, kept in st.session_state so reruns (dialect, tabs) do not ask again."""

    source_key: str
    question: str
    answer: Answer
    words: list[str]  # the question words the encoder read, for the attention picture
    matched: bool  # whether anything in the question names a cell, a column or gives a number


# ---- model --------------------------------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the model …")
def load_model(path: str | None) -> TableQA:
    """Loaded once per server process and shared by every user (inference keeps no per-call state)."""
    return TableQA.load(path)


def get_model(path: str | None) -> tuple[TableQA | None, str]:
    try:
        return load_model(path), ""
    except CheckpointError as e:
        return None, str(e)


# ---- sources ------------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _sample_table(name: str) -> Table:
    return data.load_sample(name)


def _per_user(key: str, build: Callable, errors: tuple[type[Exception], ...] = (TableError,)):
    """build() once per upload and user; its error is remembered too, so a bad file is read only once."""
    cache = st.session_state.setdefault("_uploads", {})
    if key not in cache:
        if len(cache) >= 4:  # uploads can be large: keep the last few only
            cache.pop(next(iter(cache)))
        try:
            cache[key] = build()
        except errors as e:
            cache[key] = e
    value = cache[key]
    if isinstance(value, Exception):
        raise value
    return value


def sidebar_source() -> Source | None:
    """The table the user picked, or None while there is none; TableError when it cannot be read."""
    sb = st.sidebar
    sb.markdown("### Table")
    kind = sb.radio(
        "Where is the table?",
        ["Sample", "CSV file", "Database file"],
        key="source_kind",
        label_visibility="collapsed",
    )
    if kind == "Sample":
        names = data.sample_names()
        if not names:
            sb.warning("No sample tables found in data/samples.")
            return None
        name = sb.selectbox(
            "Sample table", names, key="sample", format_func=lambda n: n.removesuffix(".csv").title()
        )
        return Source(f"sample:{name}", name, _sample_table(name), data.sample_questions().get(name, []))

    if kind == "CSV file":
        up = sb.file_uploader(
            "CSV or TSV file",
            type=["csv", "tsv", "txt"],
            key="csv_upload",
            help="Comma, semicolon or tab separated, with a header row.",
        )
        if up is None:
            sb.caption("Upload a CSV with a header row, or pick a sample.")
            return None
        key = f"csv:{up.file_id}"
        return Source(
            key, up.name, _per_user(key, lambda: data.table_from_csv_bytes(up.name, up.getvalue())), []
        )

    up = sb.file_uploader(
        "SQLite or DuckDB file", type=["sqlite", "sqlite3", "db", "duckdb"], key="db_upload"
    )
    if up is None:
        sb.caption("Upload a .sqlite/.db or .duckdb file, then pick one of its tables.")
        return None
    names = _per_user(f"db:{up.file_id}", lambda: data.database_tables(up.name, up.getvalue()))
    name = sb.selectbox("Table in the database", names, key="db_table")
    key = f"db:{up.file_id}:{name}"
    table = _per_user(key, lambda: data.table_from_database(up.name, up.getvalue(), name))
    return Source(key, f"{up.name} · {name}", table, [])


def sidebar_pick_model() -> str | None:
    """The model directory to answer with: a choice in the sidebar when more than one table model is at
    hand ($NPROG_MODEL, the shipped default, the shipped pretrained-encoder model …)."""
    st.sidebar.markdown("### Model")
    choices = data.model_choices()
    if len(choices) == 1:
        return choices[0]
    return st.sidebar.selectbox(
        "Model", choices, key="model_dir", format_func=lambda p: Path(p or layout.default_model()).name
    )


def sidebar_model(ctx: Context) -> None:
    sb = st.sidebar
    if ctx.qa is None:
        sb.error("No model loaded.")
        return
    card = ctx.qa.card
    dev = card.get("dev_accuracy")
    sb.caption(
        f"**{card.get('name', 'unnamed')}** · dev accuracy {dev:.1%}"
        if isinstance(dev, int | float)
        else f"**{card.get('name', 'unnamed')}**"
    )
    sb.caption("Details in the *About the model* tab.")


# ---- Ask ----------------------------------------------------------------------------------------------


def _use_example() -> None:
    """Pills callback: an example question becomes the question, and is asked."""
    chosen = st.session_state.get("example")
    if chosen:
        st.session_state["question"] = chosen
        st.session_state["ask_now"] = True
    st.session_state["example"] = None


def ask(qa: TableQA, source: Source, question: str) -> Asked:
    """The same computation as ``qa.ask(source.table, question)``, keeping the encoded question for
    the pictures' word labels and the "nothing matched" hint."""
    encoded = qa.encode(source.table, question)
    answer = qa.answer_batch([encoded])[0]
    f = encoded.features
    matched = bool(f.exact.any() or f.col_exact.any() or np.any(f.col_partial > 0) or len(encoded.numbers))
    return Asked(source.key, question, answer, pictures.question_words(encoded), matched)


def ask_page(ctx: Context) -> None:
    source = ctx.source
    if source is None:
        _no_source(ctx)
        return
    table = source.table
    st.caption(f"**{_md(source.label)}** · {table.n_rows:,} rows × {table.n_columns} columns")

    with st.form("ask_form", border=False):
        left, right = st.columns([7, 1], vertical_alignment="bottom")
        left.text_input(
            "Your question",
            key="question",
            placeholder="e.g. " + (source.examples[0] if source.examples else data.suggest_question(table)),
            max_chars=2000,
        )
        submitted = right.form_submit_button("Ask", type="primary", width="stretch")
    if source.examples:
        st.pills("Try one", source.examples, key="example", on_change=_use_example)

    if ctx.qa is None:
        _no_model(ctx.model_error)
        _table_view(table, None)
        return

    if submitted or st.session_state.pop("ask_now", False):
        question = st.session_state.get("question", "")
        try:
            with st.spinner("Thinking …"):
                st.session_state["asked"] = ask(ctx.qa, source, question)
            st.session_state.pop("sql_run", None)
        except QuestionError as e:
            st.session_state.pop("asked", None)
            st.warning(f"Please ask a question: {e}.")
        except TableError as e:
            st.session_state.pop("asked", None)
            st.error(_md(str(e)))

    asked: Asked | None = st.session_state.get("asked")
    if asked is None or asked.source_key != source.key:
        _table_view(table, None)
        return
    _answer_view(asked)
    table_tab, how_tab, sql_tab = st.tabs(["Table", "How it decided", "SQL"])
    with table_tab:
        _table_view(table, asked.answer)
    with how_tab:
        _pictures_view(asked)
    with sql_tab:
        _sql_view(asked)


_MARKDOWN_PUNCTUATION = re.compile(
    r"([!-/:-@\[-`{-~])"
)  # every ASCII punctuation mark, which CommonMark lets us escape


def _md(text: str) -> str:
    """Text from a file (a file, table or column name, a message quoting one) shown literally in markdown:
    a table named ``[click](https://…)`` must not become a link, nor ``**x**`` bold."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def _no_source(ctx: Context) -> None:
    if ctx.source_error:
        st.error(f"This table cannot be used. {_md(ctx.source_error)}")
        st.caption("Fix the file and upload it again, or pick a sample table in the sidebar.")
    else:
        st.info("Pick a sample table in the sidebar, or upload a CSV or a database file.")


def _no_model(message: str) -> None:
    st.error(
        f"No model is available, so questions cannot be answered yet. {message}.\n\n"
        "Set the environment variable `NPROG_MODEL` to a model directory, or train one with `nprog train`."
    )


def _answer_view(asked: Asked) -> None:
    a = asked.answer
    st.markdown(f'<div class="np-asked">{html.escape(asked.question)}</div>', unsafe_allow_html=True)
    left, right = st.columns([3, 2], gap="large")
    with left:
        shown = a.display or a.answer  # a computed number with its column's unit
        if shown:
            text = " · ".join(html.escape(v) for v in shown[:20]) + (" …" if len(shown) > 20 else "")
            if a.confident:
                st.markdown(f'<div class="np-answer">{text}</div>', unsafe_allow_html=True)
            else:  # a guess is not shown in the type of a sure answer
                tag = '<span class="np-guess-tag">guess</span>'
                st.markdown(f'<div class="np-answer np-guess">{tag}{text}</div>', unsafe_allow_html=True)
        else:
            st.markdown(
                '<div class="np-answer np-none">no answer — the program selected no cells</div>',
                unsafe_allow_html=True,
            )
        st.markdown(_facts(a), unsafe_allow_html=True)
        if not asked.matched:
            st.warning(
                "Nothing in the question names a cell or a column of this table, or gives a number, "
                "so this answer is a guess. Try using words that appear in the table."
            )
        elif not a.confident:
            st.warning(
                f"Low confidence ({_percent(a.confidence)} chance of being right): this answer is a guess. "
                "Check the steps on the right, or rephrase the question."
            )
    with right:
        st.markdown("**The program**")
        st.markdown(program_html(a), unsafe_allow_html=True)
        ran = len(a.explanation) if a.explanation is not None else 0
        dropped = ran - len(a.program.steps)
        if dropped > 0:
            st.caption(
                f"The model ran {ran} steps; {_plural(dropped, 'step')} that cannot change "
                f"the answer {'is' if dropped == 1 else 'are'} left out here (see *How it decided*)."
            )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _percent(p: float) -> str:
    return "<1%" if 0 < p < 0.005 else f"{p:.0%}"


def _facts(a: Answer) -> str:
    """One line under the answer: confidence, how many rows, what was done with them."""
    selected = int(np.asarray(a.rows[-1]).sum()) if a.rows else 0
    # printed cells, else what the answer step did with the rows ("count the rows", "the sum of their Gold" …)
    result = (
        f"printed {_plural(len(a.coordinates), 'cell')}"
        if a.aggregator == "NONE"
        else a.program.describe_steps()[-1]
    )
    return (
        f'<div class="np-facts"><b>{_percent(a.confidence)}</b> confidence'
        f'<span class="np-dot">·</span>{_plural(selected, "row")} selected, {result}</div>'
    )


def program_html(a: Answer) -> str:
    """The program as a numbered list of plain-words steps, each tagged with its operation's name."""
    items = []
    for step, text in zip(a.program.steps, a.program.describe_steps(), strict=True):
        badge = "" if text.startswith(step.op) else f'<span class="np-op">{html.escape(step.op)}</span>'
        items.append(f"<li>{badge}{html.escape(text)}</li>")
    return f'<ol class="np-steps">{"".join(items)}</ol>'


def highlight_frame(table: Table, answer: Answer | None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The table as shown (1-based row numbers) and, with an answer, a same-shaped frame of CSS styles:
    printed cells in amber, the other rows of the final selection in light blue."""
    df = table.to_dataframe()
    df.index = pd.RangeIndex(1, len(df) + 1, name="row")
    if answer is None:
        return df, None
    styles = np.full(df.shape, "", dtype=object)
    if answer.rows:
        styles[np.asarray(answer.rows[-1], dtype=bool)] = HIGHLIGHT_ROW
    for r, c in answer.coordinates:
        styles[r, c] = HIGHLIGHT_CELL
    return df, pd.DataFrame(styles, index=df.index, columns=df.columns)


def _table_view(table: Table, answer: Answer | None) -> None:
    df, styles = highlight_frame(table, answer)
    if styles is not None and df.shape[1] > STYLE_COLUMN_LIMIT:
        st.caption(f"This table has {df.shape[1]:,} columns, too many to highlight the answer's cells in.")
        styles = None
    if styles is not None:
        st.markdown(
            f'<span class="np-key" style="{HIGHLIGHT_CELL}"></span>the answer\'s cells'
            f'<span class="np-key" style="{HIGHLIGHT_ROW}"></span>rows selected by the program',
            unsafe_allow_html=True,
        )
        if (
            df.size > STYLE_CELL_LIMIT
        ):  # styling every cell of a big table is slow: style the rows that matter
            used = np.flatnonzero((styles != "").any(axis=1).to_numpy())
            if len(used):
                shown = used[: min(ROWS_SHOWN_LARGE, max(1, STYLE_CELL_LIMIT // df.shape[1]))]
                more = f"the first {len(shown):,} of" if len(used) > len(shown) else "the"
                st.caption(f"The rows the answer used ({more} {len(used):,}); the whole table is below.")
                st.dataframe(
                    df.iloc[shown].style.apply(lambda _: styles.iloc[shown], axis=None),
                    height=_height(len(shown)),
                )
            st.dataframe(df, height=_height(len(df)))
            return
        st.dataframe(df.style.apply(lambda _: styles, axis=None), height=_height(len(df)))
    else:
        st.dataframe(df, height=_height(len(df)))


def _height(n_rows: int) -> int:
    return min(36 + 35 * max(n_rows, 1), 560)


def _pictures_view(asked: Asked) -> None:
    a = asked.answer
    st.caption(
        "At every step the model spreads its attention over operations, columns and question words; "
        "darker means more. The program takes the top choice at each step (outlined)."
    )
    charts = [
        ("Which operation", "the probability of each operation at each step", pictures.op_chart(a)),
        ("Which column", "the column attention of the chosen operation", pictures.column_chart(a)),
        ("Which rows", "the rows each step of the program selects", pictures.row_chart(a)),
        (
            "Which question words",
            "what the controller attended to in the question",
            pictures.attention_chart(a, asked.words),
        ),
    ]
    for title, caption, chart in charts:
        st.markdown(f"**{title}** · <span style='color:#6b7280'>{caption}</span>", unsafe_allow_html=True)
        st.altair_chart(chart, width="stretch")


def _sql_view(asked: Asked) -> None:
    a = asked.answer
    dialect = st.segmented_control("Dialect", data.DIALECTS, key="dialect", default="duckdb", required=True)
    dialect = dialect or "duckdb"
    try:
        sql = a.sql(dialect, layout="nprog")  # the layout the caption describes and "Run it here" loads
    except ImportError:
        st.info("SQL export is not available in this installation (nprog.sql is missing).")
        return
    except Exception as e:  # noqa: BLE001 - a dialect that cannot say this program is a message, not a crash
        st.warning(f"This program cannot be written in {dialect}: {e}")
        return
    st.code(sql, language="sql")
    st.caption(
        "It reads table `t` as `nprog.sql.load_into` lays it out: one column per table column, "
        "plus `__row`, the row order."
    )
    if st.button(
        "Run it here", key="run_sql", help="Runs the DuckDB version of this SQL on the table, in memory"
    ):
        try:
            st.session_state["sql_run"] = (a, data.run_sql_here(a))
        except ImportError:
            st.info("Running SQL needs nprog.sql and duckdb, which this installation lacks.")
        except Exception as e:  # noqa: BLE001 - show the engine's complaint instead of a traceback
            st.error(f"DuckDB could not run it: {e}")
    run = st.session_state.get("sql_run")
    if run and run[0] is a:
        result = run[1]
        shown = ", ".join(result.rows) if result.rows else "(no rows)"
        if result.agrees:
            st.success(f"DuckDB returned **{shown}**, the same as the answer.")
        else:
            st.warning(
                f"DuckDB returned **{shown}**, which differs from the answer ({', '.join(a.answer) or 'none'})."
            )


# ---- Batch --------------------------------------------------------------------------------------------


def batch_page(ctx: Context) -> None:
    source = ctx.source
    st.markdown(
        "Ask many questions about one table. Upload a CSV or TSV with a **question** column and, to measure "
        "accuracy, an **answer** column (several values separated by `|`). WikiTableQuestions TSVs "
        "(`utterance`, `targetValue`) work too."
    )
    if source is None:
        _no_source(ctx)
        return
    st.caption(f"Questions go to **{_md(source.label)}** ({source.table.n_rows:,} rows).")
    if ctx.qa is None:
        _no_model(ctx.model_error)
        return
    up = st.file_uploader("Questions file", type=["csv", "tsv", "txt"], key="batch_upload")
    questions, qkey = None, None
    if up is not None:
        try:
            questions = _per_user(
                f"questions:{up.file_id}",
                lambda: data.parse_questions(up.name, up.getvalue()),
                (data.BatchError,),
            )
            qkey = f"{source.key}|q:{up.file_id}"
        except data.BatchError as e:
            st.error(_md(str(e)))
    elif source.examples:
        st.caption("No file? Try the example questions of this sample table:")
        if st.button(f"Use the {len(source.examples)} example questions", key="batch_examples"):
            st.session_state["batch_examples_on"] = source.key
        if st.session_state.get("batch_examples_on") == source.key:
            questions = pd.DataFrame({"question": source.examples})
            qkey = f"{source.key}|examples"
    if questions is None:
        return

    with_gold = "answer" in questions
    st.caption(
        f"{len(questions):,} questions" + (", with answers: accuracy will be shown" if with_gold else "")
    )
    if st.button("Answer all", type="primary", key="batch_run"):
        bar = st.progress(0.0, text="Answering …")
        for done, out in data.run_batch(ctx.qa, source.table, questions):
            bar.progress(done / len(questions), text=f"{done:,} of {len(questions):,} questions")
            if out is not None:
                st.session_state["batch"] = (qkey, out)
        bar.empty()
    batch = st.session_state.get("batch")
    if batch and batch[0] == qkey:
        _batch_results(batch[1])


def _batch_results(results: pd.DataFrame) -> None:
    score = data.accuracy(results)
    errors = int((results["error"] != "").sum())
    metrics = [("Questions", f"{len(results):,}", None)]
    if score is not None:
        right, total = score
        metrics.append(
            ("Accuracy", f"{right / total:.1%}", f"{right} of {total} answers match the given answers")
        )
    metrics.append(("Could not be asked", f"{errors:,}", "empty, too long or otherwise unusable questions"))
    for col, (label, value, help_text) in zip(st.columns(4), metrics, strict=False):
        col.metric(label, value, help=help_text)
    st.dataframe(
        results,
        hide_index=True,
        column_config={
            "question": st.column_config.TextColumn("question", width="large"),
            "answer": st.column_config.TextColumn("answer", width="small"),
            "program": st.column_config.TextColumn("program", width="large"),
            "confidence": st.column_config.NumberColumn("confidence", format="percent", width="small"),
            "correct": st.column_config.CheckboxColumn("correct", width="small"),
        },
        key="batch_results",
    )
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button(
        "Download CSV", data.to_csv_bytes(results), "predictions.csv", "text/csv", on_click="ignore"
    )
    c2.download_button(
        "Download TSV",
        data.to_tsv_bytes(results),
        "predictions.tsv",
        "text/tab-separated-values",
        on_click="ignore",
    )


# ---- About --------------------------------------------------------------------------------------------


def about_page(ctx: Context) -> None:
    path = st.session_state.get("model_dir") or data.model_dir() or str(layout.default_model())
    if ctx.qa is None:
        _no_model(ctx.model_error)
        return
    card = ctx.qa.card
    st.subheader(card.get("name", "Unnamed model"))
    if card.get("what"):
        st.write(card["what"])

    def pct(key: str) -> str:
        v = card.get(key)
        return f"{v:.1%}" if isinstance(v, int | float) else "—"

    cols = st.columns(4)
    n_dev = card.get("dev_examples")
    cols[0].metric(
        "Dev accuracy", pct("dev_accuracy"), help=f"on {n_dev:,} examples" if isinstance(n_dev, int) else None
    )
    cols[1].metric("Test accuracy", pct("test_accuracy"))
    cols[2].metric("Training steps", f"{card['step']:,}" if isinstance(card.get("step"), int) else "—")
    cols[3].metric("Training time", _duration(card.get("train_minutes")))
    if card.get("training_command"):
        st.markdown("**Trained with**")
        st.code(card["training_command"], language="bash", wrap_lines=True)
    curve = card.get("dev_curve")
    if isinstance(curve, list) and len(curve) > 1:
        st.markdown("**Dev accuracy during training**")
        frame = pd.DataFrame([c for c in curve if isinstance(c, dict)])
        if {"step", "dev_accuracy"} <= set(frame.columns):
            st.line_chart(frame, x="step", y="dev_accuracy", height=220)
    st.markdown(
        "**Operations** <span class='np-hint'>C: a column · n: a number in the question · v: values the question names</span>",
        unsafe_allow_html=True,
    )
    trained = set(card.get("ops") or [op.name for op in OPS])
    st.dataframe(
        pd.DataFrame(
            {
                "operation": [op.name for op in OPS],
                "what it does": [pictures.op_meaning(op) for op in OPS],
                "yields": [op.yields for op in OPS],
                "in this model": [op.name in trained for op in OPS],
            }
        ),
        hide_index=True,
        height=_height(len(OPS)),
    )
    with st.expander("Everything in the model card"):
        st.caption(f"Loaded from `{path}` (set `NPROG_MODEL` to load another model).")
        st.json(card, expanded=1)


def _duration(minutes) -> str:
    if not isinstance(minutes, int | float):
        return "—"
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def modules_page(ctx: Context) -> None:
    """The "Modules" tab: the memory/ package's NTM, attention and ACT models, live (app/ui/modules.py)."""
    ui_modules.page()


PAGES: list[tuple[str, Callable[[Context], None]]] = [
    ("Ask", ask_page),
    ("Batch", batch_page),
    ("About the model", about_page),
    ("Modules", modules_page),
]


def main() -> None:
    st.set_page_config(page_title="nprog · ask a table", page_icon="🧮", layout="wide")
    st.markdown(CSS, unsafe_allow_html=True)
    try:
        source, source_error = sidebar_source(), ""
    except TableError as e:
        source, source_error = None, str(e)
    qa, error = get_model(sidebar_pick_model())
    ctx = Context(qa, error, source, source_error)
    sidebar_model(ctx)
    st.markdown("## Ask a table")
    st.caption(
        "The Neural Programmer answers questions about tables with a short program you can read and run as SQL."
    )
    for (_, page), tab in zip(PAGES, st.tabs([name for name, _ in PAGES]), strict=True):
        with tab:
            page(ctx)
