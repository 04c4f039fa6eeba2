"""The generated Rasa files are in sync with faq.yml and have the expected structure."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.knowledge import load_faq
from bot.knowledge.export import HEADER, REPO_ROOT, main, render_all, stale_files

TOPICS = load_faq()


def test_generated_files_are_up_to_date() -> None:
    stale = stale_files(REPO_ROOT, render_all(TOPICS))
    assert not stale, f"run `python -m bot.knowledge.export`; stale: {stale}"


def test_render_is_deterministic() -> None:
    assert render_all(TOPICS) == render_all(load_faq())


def test_nlu_and_responses_structure() -> None:
    outputs = {str(k): v for k, v in render_all(TOPICS).items()}
    for content in outputs.values():
        assert content.startswith(HEADER)

    nlu = yaml.safe_load(outputs["nlu_data/nlu/faq.yml"])
    assert nlu["version"] == "3.1"
    by_intent = {e["intent"]: e["examples"] for e in nlu["nlu"]}
    assert list(by_intent) == [t.intent for t in TOPICS]
    for t in TOPICS:
        lines = [line[2:] for line in by_intent[t.intent].splitlines()]
        assert lines == list(t.examples)

    responses = yaml.safe_load(outputs["nlu_data/responses/faq.yml"])
    assert responses["version"] == "3.1"
    assert list(responses["responses"]) == [t.response_name for t in TOPICS]
    for t in TOPICS:
        assert responses["responses"][t.response_name] == [{"text": t.reply_text}]

    heldout = yaml.safe_load(outputs["bench/data/faq_heldout.yml"])
    held = {e["intent"]: [line[2:] for line in e["examples"].splitlines()] for e in heldout["nlu"]}
    assert held == {t.intent: list(t.heldout) for t in TOPICS}
    trained = {p for t in TOPICS for p in t.examples}
    assert not trained & {p for phrases in held.values() for p in phrases}


def test_cli_writes_then_check_passes(tmp_path: Path, capsys) -> None:
    assert main(["--root", str(tmp_path), "--check"]) == 1
    assert main(["--root", str(tmp_path)]) == 0
    assert main(["--root", str(tmp_path), "--check"]) == 0
    target = tmp_path / "nlu_data/responses/faq.yml"
    target.write_text(target.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert main(["--root", str(tmp_path), "--check"]) == 1
    assert "out of date: nlu_data/responses/faq.yml" in capsys.readouterr().err
