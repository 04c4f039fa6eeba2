"""docs/benchmarks.md writing: sections replaced in place, others kept (tmp files only)."""
from __future__ import annotations

from pathlib import Path

from bench.common import Result
from bench.run import write_docs


def test_write_docs_replaces_only_the_sections_run(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    first = [
        Result(name="triage", title="T", goal="100 %", passed=False, markdown="old triage"),
        Result(name="nlu", title="N", goal="F1", passed=True, markdown="nlu body"),
    ]
    write_docs(first, {"triage": "Run 1", "nlu": "Run 1"}, doc)
    write_docs([Result(name="triage", title="T", goal="100 %", passed=True, markdown="new triage")],
               {"triage": "Run 2"}, doc)
    text = doc.read_text(encoding="utf-8")
    assert "new triage" in text and "old triage" not in text and "nlu body" in text
    assert text.index("bench:nlu") < text.index("bench:triage")  # fixed order, nlu first
    assert "**PASS**" in text


def test_skipped_run_keeps_last_measurement(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    write_docs([Result(name="category", title="C", markdown="macro 0.5")], {"category": "Run 1"}, doc)
    write_docs([Result(name="category", title="C", skipped="no data")], {"category": "Run 2"}, doc)
    assert "macro 0.5" in doc.read_text(encoding="utf-8")


def test_hand_written_notes_survive_a_rewrite(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    write_docs([Result(name="faq", title="F", markdown="faq 0.9")], {"faq": "Run 1"}, doc)
    text = doc.read_text(encoding="utf-8")
    doc.write_text(text.replace("<!-- bench:faq -->", "<!-- notes -->\nHow the sets were written.\n<!-- /notes -->\n\n"
                                "<!-- bench:faq -->"), encoding="utf-8")
    write_docs([Result(name="faq", title="F", markdown="faq 0.96")], {"faq": "Run 2"}, doc)
    text = doc.read_text(encoding="utf-8")
    assert "How the sets were written." in text and "faq 0.96" in text and "faq 0.9\n" not in text
    assert text.index("<!-- /notes -->") < text.index("<!-- bench:faq -->")
    assert text.count("<!-- notes -->") == 1
