"""Docstrings and comments cite files that exist in the repository, and sections those files have."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for package in ("nprog", "app", "memory") for p in sorted((ROOT / package).rglob("*.py"))]
CITED_DOC = re.compile(r"\b(docs/[\w./-]+\.md)")
# a section (§1.6) or numbered deviation cited right after docs/neural-programmer.md in the same docstring
NP_SECTION = re.compile(r"docs/neural-programmer\.md,? (?:§(\d+(?:\.\d+)?)|deviation (\d+))")
DEVIATION = re.compile(r"\bdeviations? (\d+)")


def test_cited_docs_exist():
    cited = {
        (p.relative_to(ROOT).as_posix(), d) for p in SOURCES for d in CITED_DOC.findall(p.read_text("utf-8"))
    }
    assert {d for _, d in cited} >= {"docs/architecture.md", "docs/neural-programmer.md"}
    missing = [f"{src}: {doc}" for src, doc in sorted(cited) if not (ROOT / doc).is_file()]
    assert not missing, missing


def test_no_citations_of_notes_outside_the_repository():
    stale = re.compile(r"spec §|the spec's|spec pitfall|pitfall \d|(?<!docs/)architecture\.md")
    found = [f"{p.relative_to(ROOT)}:{n}" for p in SOURCES
             for n, line in enumerate(p.read_text("utf-8").splitlines(), 1) if stale.search(line)]  # fmt: skip
    assert not found, found


def test_cited_sections_and_deviations_exist():
    doc = (ROOT / "docs" / "neural-programmer.md").read_text("utf-8")
    sections = set(re.findall(r"^#+ (\d+(?:\.\d+)?)\.? ", doc, flags=re.M))
    deviations = set(re.findall(r"^(\d+)\. \*\*", doc[doc.index("## 4. Deviations") :], flags=re.M))
    assert {"1.1", "1.6", "3", "3.1", "4"} <= sections and {str(i) for i in range(1, 13)} <= deviations
    for path in SOURCES:
        text = path.read_text("utf-8")
        for section, deviation in NP_SECTION.findall(text):
            assert (section in sections) if section else (deviation in deviations), (
                path,
                section or deviation,
            )
        if "docs/neural-programmer.md" in text:
            for deviation in DEVIATION.findall(text):
                assert deviation in deviations, (path, deviation)
