"""Labelling and dismissing inbox messages: training files, domain, database and audit rows."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.cases.db import transaction
from bot.errors import Conflict, InvalidInput
from bot.training.capture import Capture, UserTurn
from bot.training.inbox import (
    counts,
    do_capture,
    do_dismiss,
    do_label,
    label_choices,
    labelled_examples,
    list_groups,
)
from bot.training.models import CaptureReason, InboxItem, TrainingEvent
from bot.training.nlu_files import domain_intents

DOMAIN = """version: "3.1"
intents:
  - greet
  - check_status
  - faq:
      is_retrieval_intent: true
  - nlu_fallback
responses:
  utter_greet:
    - text: 您好
"""
FAQ = """version: "3.1"
responses:
  utter_faq/hotlines:
    - text: 热线是12345。
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "nlu_data" / "responses").mkdir(parents=True)
    (root / "nlu_data" / "nlu").mkdir()
    (root / "domain.yml").write_text(DOMAIN, encoding="utf-8")
    (root / "nlu_data" / "responses" / "faq.yml").write_text(FAQ, encoding="utf-8")
    return root


def capture(factory: sessionmaker, text: str, *, channel: str = "rest", sender: str = "s", n: int = 0,
            intent: str = "faq", reason: CaptureReason = CaptureReason.LOW_CONFIDENCE) -> InboxItem:
    turn = UserTurn(sender, text, intent, 0.3, False, channel, datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc),
                    f"{sender}-{n}-{text}")
    return do_capture(factory, Capture(turn, reason), hash_key="k")


def test_label_choices(project: Path) -> None:
    assert label_choices(project) == ["greet", "check_status", "faq", "faq/hotlines"]


def test_label_a_group_writes_one_file_per_channel(session_factory: sessionmaker, project: Path) -> None:
    a = capture(session_factory, "我那事办得咋样了", n=1)
    b = capture(session_factory, "我那事办得咋样了？", n=2, channel="telegram")
    other = capture(session_factory, "讲个笑话", n=3)
    assert a.group_key == b.group_key != other.group_key
    groups = list_groups(session_factory)
    assert [g.count for g in groups] == [2, 1] and groups[0].ids == [a.id, b.id]

    result = do_label(session_factory, project, "check_status", by="admin:wang", group_key=a.group_key,
                      now=datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc))
    assert (result.count, result.files, result.created_intent, result.notice) == (
        2, ("nlu_data/nlu/inbox_rest.yml", "nlu_data/nlu/inbox_telegram.yml"), False, "")
    rest = (project / "nlu_data/nlu/inbox_rest.yml").read_text(encoding="utf-8")
    assert f"# inbox #{a.id} · captured 2026-11-20, low_confidence, predicted faq · labelled 2026-11-21 by admin:wang" in rest
    data = RasaYAMLReader().reads(rest)
    assert [(m.get("text"), m.get("intent")) for m in data.intent_examples] == [("我那事办得咋样了", "check_status")]
    telegram = RasaYAMLReader().reads((project / "nlu_data/nlu/inbox_telegram.yml").read_text(encoding="utf-8"))
    assert [m.get("text") for m in telegram.intent_examples] == ["我那事办得咋样了？"]

    assert counts(session_factory) == {"new": 1, "labelled": 2, "dismissed": 0}
    with transaction(session_factory) as s:
        labelled = {i.id: i for i in s.execute(select(InboxItem)).scalars()}
        events = [(e.action, e.inbox_id, e.actor) for e in s.execute(select(TrainingEvent)).scalars()]
    assert labelled[a.id].label_intent == "check_status" and labelled[a.id].labelled_by == "admin:wang"
    assert labelled[b.id].label_file == "nlu_data/nlu/inbox_telegram.yml"
    assert events == [("label", a.id, "admin:wang"), ("label", b.id, "admin:wang")]
    assert sorted(e.text for e in labelled_examples(session_factory)) == ["我那事办得咋样了", "我那事办得咋样了？"]

    with pytest.raises(Conflict):  # already labelled
        do_label(session_factory, project, "greet", by="admin", ids=[a.id])


def test_later_labels_are_added_to_the_same_file(session_factory: sessionmaker, project: Path) -> None:
    first = capture(session_factory, "热线多少", n=1)
    second = capture(session_factory, "你们几点上班", n=2)
    do_label(session_factory, project, "faq/hotlines", by="admin", ids=[first.id])
    do_label(session_factory, project, "greet", by="admin", ids=[second.id],
             entities=[{"start": 2, "end": 4, "entity": "time_word"}])
    content = (project / "nlu_data/nlu/inbox_rest.yml").read_text(encoding="utf-8")
    data = RasaYAMLReader().reads(content)
    got = sorted((m.get("text"), m.get("intent_response_key") or m.get("intent")) for m in data.intent_examples)
    assert got == [("你们几点上班", "greet"), ("热线多少", "faq/hotlines")]
    assert "[几点](time_word)" in content


def test_new_intent_is_added_to_the_domain_with_a_notice(session_factory: sessionmaker, project: Path) -> None:
    item = capture(session_factory, "我想预约接访")
    with pytest.raises(InvalidInput) as info:
        do_label(session_factory, project, "book_visit", by="admin", ids=[item.id])
    assert "新建意图" in info.value.user_message
    assert counts(session_factory)["new"] == 1
    result = do_label(session_factory, project, "book_visit", by="admin", ids=[item.id], create_intent=True)
    assert result.created_intent and "回复" in result.notice and "规则" in result.notice
    assert domain_intents((project / "domain.yml").read_text(encoding="utf-8"))[-1] == "book_visit"
    with transaction(session_factory) as s:
        actions = [e.action for e in s.execute(select(TrainingEvent)).scalars()]
    assert actions == ["label", "create_intent"]


@pytest.mark.parametrize("intent", ["nlu_fallback", "faq/unknown_topic", "Bad Name", "x"])
def test_invalid_intents_are_refused(session_factory: sessionmaker, project: Path, intent: str) -> None:
    item = capture(session_factory, "随便说说")
    with pytest.raises(InvalidInput):
        do_label(session_factory, project, intent, by="admin", ids=[item.id], create_intent=True)
    assert not (project / "nlu_data/nlu/inbox_rest.yml").exists()
    assert "nlu_fallback" in domain_intents((project / "domain.yml").read_text(encoding="utf-8"))


def test_entities_need_a_single_message(session_factory: sessionmaker, project: Path) -> None:
    a = capture(session_factory, "北京的事", n=1)
    capture(session_factory, "北京的事！", n=2)
    with pytest.raises(InvalidInput):
        do_label(session_factory, project, "greet", by="admin", group_key=a.group_key,
                 entities=[{"start": 0, "end": 2, "entity": "region"}])
    assert counts(session_factory)["new"] == 2


def test_dismiss(session_factory: sessionmaker, project: Path) -> None:
    a = capture(session_factory, "啊啊啊", n=1)
    assert do_dismiss(session_factory, by="admin", ids=[a.id], note="无意义") == 1
    assert counts(session_factory) == {"new": 0, "labelled": 0, "dismissed": 1}
    assert [g.ids for g in list_groups(session_factory, "dismissed")] == [[a.id]]
    with pytest.raises(Conflict):
        do_dismiss(session_factory, by="admin", ids=[a.id])
    with pytest.raises(InvalidInput):
        do_dismiss(session_factory, by="admin")
    with pytest.raises(InvalidInput):
        list_groups(session_factory, "weird")
    assert not list((project / "nlu_data/nlu").iterdir())
