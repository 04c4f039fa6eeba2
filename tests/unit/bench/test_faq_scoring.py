"""bench.faq scores what the citizen receives: FAQ intent, or a general channel question."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import bench.faq as faq


def parsed(intent: str, key: str, confidence: float = 0.95) -> dict[str, Any]:
    return {
        "intent": {"name": intent, "confidence": 0.9},
        "response_selector": {"faq": {"response": {"intent_response_key": key, "confidence": confidence}}},
    }


class FakeModel:
    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        self.answers = answers

    def parse_all(self, texts: list[str]) -> list[tuple[dict[str, Any], float]]:
        return [(self.answers[t], 0.001) for t in texts]


def test_general_channel_question_counts_only_with_the_right_topic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    heldout = tmp_path / "heldout.yml"
    heldout.write_text(
        'version: "3.1"\nnlu:\n'
        "  - intent: faq/medical_dispute\n    examples: |\n"
        "      - 医疗纠纷一般怎么解决\n      - 医院出了事故该走什么途径\n      - 我家老人在医院出了事找哪里\n"
        "  - intent: faq/consumer_complaint\n    examples: |\n      - 买到假货去哪投诉\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(faq, "HELDOUT", heldout)
    monkeypatch.setattr(faq, "HELDOUT_2", tmp_path / "absent.yml")
    model = FakeModel({
        "医疗纠纷一般怎么解决": parsed("faq", "faq/medical_dispute"),                 # FAQ intent
        "医院出了事故该走什么途径": parsed("ask_legal_channel", "faq/medical_dispute"),  # general
        "我家老人在医院出了事找哪里": parsed("ask_legal_channel", "faq/medical_dispute"),  # own story
        "买到假货去哪投诉": parsed("ask_legal_channel", "faq/medical_dispute"),         # wrong topic
    })
    result = faq.run(model)  # type: ignore[arg-type]
    assert result.numbers["accuracy"] == 0.5
    assert result.numbers["nlu_level_accuracy"] == 0.25
    assert result.numbers["answered_as_general_channel_question"] == 1
    assert result.numbers["top_intent_not_faq"] == 3


def test_both_heldout_sets_are_scored_together_and_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "faq_heldout.yml", tmp_path / "faq_heldout_2.yml"
    head = 'version: "3.1"\nnlu:\n  - intent: faq/legal_aid\n    examples: |\n'
    first.write_text(head + "      - 请不起律师怎么办\n      - 法律援助找谁\n", encoding="utf-8")
    second.write_text(head + "      - 没钱打官司有人帮吗\n      - 免费律师哪里申请\n", encoding="utf-8")
    monkeypatch.setattr(faq, "HELDOUT", first)
    monkeypatch.setattr(faq, "HELDOUT_2", second)
    model = FakeModel({
        "请不起律师怎么办": parsed("faq", "faq/legal_aid"),
        "法律援助找谁": parsed("faq", "faq/legal_aid"),
        "没钱打官司有人帮吗": parsed("faq", "faq/legal_aid"),
        "免费律师哪里申请": parsed("faq", "faq/hotlines"),
    })
    result = faq.run(model)  # type: ignore[arg-type]
    assert result.numbers["questions"] == 4
    assert result.numbers["accuracy"] == 0.75
    assert result.numbers["accuracy[faq_heldout.yml]"] == 1.0
    assert result.numbers["accuracy[faq_heldout_2.yml]"] == 0.5
    assert not result.passed
    assert "| `bench/data/faq_heldout_2.yml` | 0.5" in result.markdown
