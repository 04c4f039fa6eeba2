"""The second FAQ held-out set (bench/data/faq_heldout_2.yml) stays apart from the training data."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.knowledge import load_faq
from bot.knowledge.loader import normalize_phrase

HELDOUT_2 = Path(__file__).resolve().parents[3] / "bench" / "data" / "faq_heldout_2.yml"
TOPICS = load_faq()


def questions() -> dict[str, list[str]]:
    data = yaml.safe_load(HELDOUT_2.read_text(encoding="utf-8"))
    assert data["version"] == "3.1"
    return {e["intent"]: [line[2:] for line in e["examples"].splitlines()] for e in data["nlu"]}


def test_every_topic_has_one_to_three_questions() -> None:
    held = questions()
    assert list(held) == [t.intent for t in TOPICS]
    assert all(1 <= len(phrases) <= 3 for phrases in held.values())


def test_no_question_is_a_training_example_or_in_the_first_set() -> None:
    known = {normalize_phrase(p) for t in TOPICS for p in (*t.examples, *t.heldout)}
    held = [p for phrases in questions().values() for p in phrases]
    assert len({normalize_phrase(p) for p in held}) == len(held)
    assert not known & {normalize_phrase(p) for p in held}
