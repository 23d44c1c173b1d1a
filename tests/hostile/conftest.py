"""Fixtures of the hostile-input tests, and a summary line: how many corpus cases each interface tried and passed."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest
import torch

from nprog.qa import TableQA

torch.set_num_threads(1)  # the machine's cores are shared

_INTERFACE_OF_TEST = {"test_api": "api", "test_cli": "cli", "test_ui": "ui"}  # test_corpus.py's three tests
_TALLY: dict[str, Counter] = defaultdict(Counter)


@pytest.fixture(scope="session")
def qa(shipped_model: Path) -> TableQA:
    return TableQA.load(shipped_model, device="cpu")


@pytest.fixture(scope="session")
def case_workdir(tmp_path_factory) -> Path:
    """Where generated inputs (10,000 columns, 1,000,000 rows …) are written, once per session."""
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="session")
def api_answers() -> dict:
    """Case name → the API's answer, so the CLI and the UI can be compared with it without asking again."""
    return {}


# ---- the summary line


def pytest_itemcollected(item) -> None:
    if Path(str(item.fspath)).name == "test_corpus.py":
        interface = _INTERFACE_OF_TEST.get(getattr(item, "originalname", ""))
        if interface:
            item.user_properties.append(("hostile_interface", interface))


def pytest_runtest_logreport(report) -> None:
    interface = dict(report.user_properties).get("hostile_interface")
    if interface is None:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        tally = _TALLY[interface]
        tally["tried"] += 1
        if hasattr(report, "wasxfail"):
            tally["xfailed" if report.skipped else "xpassed"] += 1
        else:
            tally[report.outcome] += 1


def pytest_terminal_summary(terminalreporter) -> None:
    if not _TALLY:
        return
    parts = []
    for interface in ("api", "cli", "ui"):
        t = _TALLY.get(interface)
        if not t:
            continue
        extra = "".join(f", {t[k]} {k}" for k in ("failed", "skipped", "xfailed", "xpassed") if t[k])
        parts.append(f"{interface} {t['passed']}/{t['tried']} passed{extra}")
    cases = max(t["tried"] for t in _TALLY.values())
    terminalreporter.write_line(f"hostile corpus: {cases} cases; " + "; ".join(parts))
