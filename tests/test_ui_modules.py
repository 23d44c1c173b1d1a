"""The UI's Modules page (app/ui/modules.py) and the live examples behind it (each task's `live_example`).

Headless (streamlit.testing.v1.AppTest), like tests/test_ui.py: each memory module renders on a fresh example,
"New example" changes it, a typed date is rewritten as an ISO date, and a missing or broken checkpoint is a
message, not an exception. The page must show what ``live_example`` computes for the same seed or text.
Checkpoints are whatever data/models/<dir>/ holds when the test runs (they may be retrained meanwhile).
"""

from __future__ import annotations

import html
import json
import re

import pytest
import torch
from ui_fixtures import choose_model, new_app

from nprog.app.ui.modules import FIRST_SEED, headline
from nprog.layout import MODELS as MODELS_ROOT
from nprog.memory.checkpoints import load_checkpoint
from nprog.memory.tasks import TASKS
from nprog.memory.tasks.dates import is_iso_date
from nprog.memory.tasks.ntm_sequence import slot_band
from nprog.memory.tasks.seq2seq import unknown_characters

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TYPED_DATE = "3rd of March 2011"


def shipped(task: str):
    """The task's shipped model, or a skip when its checkpoint is absent."""
    model_dir = MODELS_ROOT / TASKS[task].checkpoint_dir
    if not (model_dir / "config.json").is_file():
        pytest.skip(f"no shipped checkpoint in {model_dir}")
    _, models, _ = load_checkpoint(model_dir, torch.device("cpu"))
    return models["model"]


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return choose_model(fallback=tiny_model_dir)


def assert_clean(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def open_module(at, task: str):
    at.segmented_control(key="module").set_value(task).run()
    assert_clean(at)
    return at


def live_block(at) -> str:
    found = [m.value for m in at.markdown if 'class="np-live"' in m.value]
    assert len(found) == 1, f"expected one example on the page, found {len(found)}"
    return found[0]


def row(block: str, label: str) -> str:
    """The text of one row (input / your input / model / target) of the example block."""
    match = re.search(
        rf'<span class="np-live-label">{label}</span>(?:<code>)?(.*?)(?:</code>)?(?:<span|</div>)', block
    )
    assert match, f"no {label!r} row in {block}"
    return match.group(1)


# ---- the page ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", list(TASKS))
def test_each_module_renders_live_with_its_card(model, monkeypatch, task):
    module_model = shipped(task)
    at = open_module(new_app(model, monkeypatch).run(), task)
    assert f"#### {TASKS[task].demo.label}" in [m.value for m in at.markdown]
    block = live_block(at)
    assert 'class="np-live-badge' in block  # right, wrong, or nothing to check against
    assert len(at.get("image")) == 1
    # The page shows what live_example computes for the first seed.
    expected = TASKS[task].live_example(module_model, FIRST_SEED)
    assert row(block, "model") == html.escape(expected.output)
    card = json.loads((MODELS_ROOT / TASKS[task].checkpoint_dir / "card.json").read_text())
    shown = {m.label: m.value for m in at.metric}
    for label, value, _ in headline(task, card):
        assert shown.get(label) == value
    assert at.button(key=f"new_example_{task}")


def test_new_example_draws_a_different_input(model, monkeypatch):
    shipped("dates")
    at = open_module(new_app(model, monkeypatch).run(), "dates")
    first, image = row(live_block(at), "input"), at.get("image")[0].value
    at.button(key="new_example_dates").click().run()
    assert_clean(at)
    second = row(live_block(at), "input")
    assert second != first
    assert at.get("image")[0].value != image
    at.button(key="new_example_dates").click().run()
    assert row(live_block(at), "input") not in (first, second)


def test_a_typed_date_gets_an_iso_answer(model, monkeypatch):
    module_model = shipped("dates")
    at = open_module(new_app(model, monkeypatch).run(), "dates")
    at.text_input(key="module_text_dates").input(TYPED_DATE).run()
    assert_clean(at)
    block = live_block(at)
    assert row(block, "your input") == TYPED_DATE
    answer = row(block, "model")
    assert ISO_DATE.match(answer), answer
    assert answer == TASKS["dates"].live_example(module_model, 0, TYPED_DATE).output == "2011-03-03"
    assert "no known answer" in block  # a typed date has no target to check against
    # "New example" leaves the typed date for a fresh generated one.
    at.button(key="new_example_dates").click().run()
    assert at.text_input(key="module_text_dates").value == ""
    assert "your input" not in live_block(at)


def test_an_answer_that_is_no_real_date_is_flagged(model, monkeypatch):
    module_model = shipped("dates")
    typed = "31/02/2020"  # no such day: the model can only copy the digits into ISO order
    answer = TASKS["dates"].live_example(module_model, 0, typed).output
    at = open_module(new_app(model, monkeypatch).run(), "dates")
    at.text_input(key="module_text_dates").input(typed).run()
    assert_clean(at)
    assert row(live_block(at), "model") == answer
    flagged = any("not a valid YYYY-MM-DD date" in w.value for w in at.warning)
    assert flagged == (not is_iso_date(answer))


def test_typed_text_for_reverse_is_checked_against_its_reversal(model, monkeypatch):
    shipped("reverse")
    at = open_module(new_app(model, monkeypatch).run(), "reverse")
    at.text_input(key="module_text_reverse").input("attention").run()
    assert_clean(at)
    block = live_block(at)
    assert row(block, "target") == "noitnetta"
    assert "np-live-ok" in block or "np-live-wrong" in block


def test_missing_checkpoints_give_a_message(model, monkeypatch, tmp_path):
    monkeypatch.setenv("NPROG_MEMORY_MODELS", str(tmp_path / "nowhere"))
    at = new_app(model, monkeypatch).run()
    assert_clean(at)
    for task in TASKS:
        open_module(at, task)
        said = [i.value for i in at.info]
        assert any("cannot be shown" in s and f"nprog memory train {task}" in s for s in said), said
        assert not at.get("image")
    assert at.tabs  # the rest of the app carries on


def test_a_broken_checkpoint_gives_a_message(model, monkeypatch, tmp_path):
    broken = tmp_path / TASKS["dates"].checkpoint_dir
    broken.mkdir()
    (broken / "config.json").write_text("{ not json")
    monkeypatch.setenv("NPROG_MEMORY_MODELS", str(tmp_path))
    at = open_module(new_app(model, monkeypatch).run(), "dates")
    said = [i.value for i in at.info]
    assert any("not a memory-task config" in s for s in said), said


# ---- the live examples, without Streamlit --------------------------------------------------------------


def test_live_examples_are_reproducible_and_consistent():
    for task in ("copy", "parity", "dates", "reverse"):
        module_model = shipped(task)
        a, b = TASKS[task].live_example(module_model, 11), TASKS[task].live_example(module_model, 11)
        assert (a.input, a.output, a.target, a.facts) == (b.input, b.output, b.target, b.facts)
        assert a.figure.axes
        if task in ("dates", "reverse"):
            assert a.correct == (a.output == a.target)
    copy = TASKS["copy"].live_example(shipped("copy"), 3)
    assert copy.correct == (copy.facts["bits wrong"] == 0)
    assert copy.facts["answer bits"] == 8 * copy.facts["length"]
    parity = TASKS["parity"].live_example(shipped("parity"), 3)
    assert parity.facts["ponder steps"] >= 1 and parity.target in ("odd", "even")


def test_live_example_refuses_text_for_tasks_that_read_none():
    with pytest.raises(ValueError, match="does not read text"):
        TASKS["copy"].live_example(shipped("copy"), 0, "hello")


def test_unknown_characters_are_reported():
    assert unknown_characters("3 März 2011") == ["ä"]
    assert unknown_characters("July 4, 1976") == []
    example = TASKS["dates"].live_example(shipped("dates"), 0, "3 März 2011")
    assert example.facts["characters it has never seen"] == "ä"


def test_iso_dates_must_exist_and_have_the_iso_form():
    assert is_iso_date("2011-03-03") and is_iso_date("2024-02-29")
    assert not is_iso_date("2020-02-31") and not is_iso_date("2023-02-29")
    assert not is_iso_date("20110303") and not is_iso_date("2011-3-3") and not is_iso_date("")


def test_slot_band_wraps_around_the_memory():
    weights = torch.zeros(3, 128)
    weights[0, :13] = 1.0
    weights[1, 127] = 0.2  # a circular shift leaks slot 0's weight onto the last slot
    assert slot_band(weights, margin=0) == [127, *range(13)]
    weights = torch.zeros(2, 128)
    weights[0, 50] = 1.0
    assert slot_band(weights) == [48, 49, 50, 51, 52]
    assert slot_band(torch.zeros(2, 16)) == list(range(16))


def test_headline_skips_what_the_card_lacks():
    assert headline("parity", {}) == []
    card = {"figures": {"model": {"error": 0.0093, "mean_steps": 3.01}, "baseline": None}}
    assert headline("parity", card) == [
        ("Parity error with ACT", "0.93%", ""),
        ("Mean ponder steps", "3.01", ""),
    ]
