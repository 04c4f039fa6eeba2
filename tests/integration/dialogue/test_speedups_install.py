"""bot.dialogue.speedups installed into Rasa: same answers as Rasa's own code, less work."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.dialogue import speedups


@pytest.fixture(scope="module")
def installed() -> Iterator[list[str]]:
    """The fixes, for this module only: other tests see Rasa as shipped."""
    yield speedups.install()
    speedups.uninstall()


def test_uninstall_restores_rasa() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import Event

    before = (RemoteAction.__dict__["_validate_action_result"], Event.__dict__["resolve_by_type"],
              SQLTrackerStore.stream_events)
    speedups.install()
    assert RemoteAction.__dict__["_validate_action_result"] is not before[0]
    speedups.uninstall()
    after = (RemoteAction.__dict__["_validate_action_result"], Event.__dict__["resolve_by_type"],
             SQLTrackerStore.stream_events)
    assert after == before


def test_every_fix_applies_to_the_pinned_rasa(installed: list[str]) -> None:
    assert installed == list(speedups.FIXES)
    assert speedups.install() == installed  # idempotent


def test_event_lookup_answers_like_rasa(installed: list[str]) -> None:
    from rasa.shared.core.events import Event, UserUttered
    from rasa.shared.utils.common import all_subclasses

    for cls in all_subclasses(Event):
        assert Event.resolve_by_type(cls.type_name) is next(
            c for c in all_subclasses(Event) if c.type_name == cls.type_name)
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("nonsense", default=UserUttered) is UserUttered
    with pytest.raises(ValueError):
        Event.resolve_by_type("nonsense")


def test_action_result_check_still_rejects_bad_answers(installed: list[str]) -> None:
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction

    action = RemoteAction("validate_petition_form", None)
    assert action._validate_action_result({"events": [{"event": "slot", "name": "a", "value": 1}]})
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": [{"event": "slot", "name": "a"}]})


class Collecting:
    """An event broker that keeps what it is given."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)


def test_sqlite_tracker_store_keeps_a_wal_connection_and_streams_only_new_events(
    installed: list[str], tmp_path: Path
) -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
    from sqlalchemy import text
    from sqlalchemy.pool import SingletonThreadPool

    broker = Collecting()
    domain = Domain.from_yaml("version: '3.1'\nintents: [greet]\nslots:\n  phone:\n    type: any\n    mappings: []\n")
    store = SQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "tracker.db"), event_broker=broker)
    assert isinstance(store.engine.pool, SingletonThreadPool)
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"

    async def scenario() -> None:
        tracker = await store.get_or_create_tracker("citizen-1")
        tracker.update(UserUttered("你好"))
        await store.save(tracker)
        first = len(broker.published)
        tracker = await store.retrieve("citizen-1")
        assert tracker is not None
        tracker.update(SlotSet("phone", "13912345678"))
        tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)
        new = broker.published[first:]
        assert [e["event"] for e in new] == ["slot", "action"]
        again = await store.retrieve("citizen-1")
        assert again is not None and len(again.events) == len(tracker.events)
        assert all(e["sender_id"] == "citizen-1" for e in broker.published)

    asyncio.run(scenario())
    store.engine.dispose()


def test_response_variations_are_chosen_like_rasa(installed: list[str]) -> None:
    from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator

    responses = {
        "utter_one": [{"text": "您好", "buttons": [{"title": "是", "payload": "/affirm"}]}],
        "utter_two": [{"text": "甲"}, {"text": "乙"}],
        "utter_channel": [{"text": "网页"}, {"text": "微信", "channel": "wechat"}],
        "utter_conditional": [
            {"text": "有号", "condition": [{"type": "slot", "name": "case_no", "value": "XF1"}]},
            {"text": "没号"},
        ],
    }
    nlg = TemplatedNaturalLanguageGenerator(responses)
    assert nlg._random_response_for("utter_one", "rest", {}) == responses["utter_one"][0]
    assert nlg._random_response_for("utter_missing", "rest", {}) is None
    seen = {nlg._random_response_for("utter_two", "rest", {})["text"] for _ in range(200)}  # type: ignore[index]
    assert seen == {"甲", "乙"}
    assert nlg._random_response_for("utter_channel", "wechat", {})["text"] == "微信"  # type: ignore[index]
    assert nlg._random_response_for("utter_channel", "rest", {})["text"] == "网页"  # type: ignore[index]
    assert nlg._random_response_for("utter_conditional", "rest", {"case_no": "XF1"})["text"] == "有号"  # type: ignore[index]


async def test_graphs_give_the_same_results_without_dask(trained_model: Path) -> None:
    from rasa.core.agent import Agent
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    texts = ["你好", "我要反映问题", "信访事项多久能办结？", "公司拖欠我三个月工资该找哪里", "asdfgh", "12345"]

    async def outputs() -> list[Any]:
        agent = Agent.load(str(trained_model))
        assert agent.processor is not None
        found: list[Any] = []
        for text in texts:
            parsed = await agent.parse_message(text)
            tracker = DialogueStateTracker("graph-check", agent.domain.slots)
            tracker.update(ActionExecuted("action_listen"))
            tracker.update(UserUttered(text, parsed["intent"], parsed.get("entities", []), parsed))
            prediction = agent.processor._predict_next_with_tracker(tracker)
            found.append((parsed["intent"], parsed.get("response_selector", {}).get("faq", {}).get("response"),
                          prediction.max_confidence_index, round(prediction.max_confidence, 6),
                          prediction.policy_name))
        return found

    speedups.uninstall()
    assert DaskGraphRunner.__dict__["run"].__module__.startswith("rasa.")
    with_dask = await outputs()
    speedups.install()
    assert DaskGraphRunner.__dict__["run"].__module__ == "bot.dialogue.speedups"
    try:
        assert await outputs() == with_dask
    finally:
        speedups.uninstall()


def _conversation() -> Any:
    from rasa.shared.core.events import (
        ActionExecuted,
        ActiveLoop,
        BotUttered,
        SessionStarted,
        SlotSet,
        UserUttered,
    )
    from rasa.shared.core.trackers import DialogueStateTracker

    def user(text: str, intent: str, t: float) -> UserUttered:
        topics = [f"faq/topic_{i}" for i in range(10)]
        selector = {"all_retrieval_intents": ["faq"], "faq": {
            "response": {"responses": [{"text": "答复全文" * 100}], "confidence": 0.7,
                         "intent_response_key": topics[0], "utter_action": f"utter_{topics[0]}"},
            "ranking": [{"confidence": 0.7 - i / 20, "intent_response_key": key} for i, key in enumerate(topics)],
        }}
        return UserUttered(
            text, intent={"name": intent, "confidence": 0.9},
            parse_data={"intent": {"name": intent, "confidence": 0.9}, "entities": [],
                        "intent_ranking": [{"name": intent, "confidence": 0.9}] * 10, "text": text,
                        "response_selector": selector},
            timestamp=t, input_channel="rest", message_id=f"m{t}",
        )

    events = [
        ActionExecuted("action_session_start", timestamp=1), SessionStarted(timestamp=1),
        ActionExecuted("action_listen", timestamp=1),
        user("我要信访", "start_petition", 2), ActionExecuted("petition_form", timestamp=2),
        ActiveLoop("petition_form", timestamp=2), SlotSet("requested_slot", "consent", timestamp=2),
        BotUttered("请问您是否同意？", {"buttons": [{"title": "同意", "payload": "/affirm"}]}, timestamp=2),
        ActionExecuted("action_listen", timestamp=2),
        user("同意", "affirm", 3), ActionExecuted("petition_form", timestamp=3),
        SlotSet("consent", True, timestamp=3), BotUttered("请问您的姓名？", timestamp=3),
        ActionExecuted("action_listen", timestamp=3),
        user("张三", "inform", 4), SlotSet("name", "张三", timestamp=4),
    ]
    return DialogueStateTracker.from_events("citizen-slim-1", events)


def test_action_calls_carry_recent_events_in_full_and_older_text() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import EventVerbosity
    from rasa_sdk import Tracker

    from actions._tracker import channel_of, returning_from_interruption, transcript
    from bot.knowledge.general import selected_topic

    tracker = _conversation()
    action = RemoteAction("validate_petition_form", None)
    speedups.install()  # the earlier test left Rasa as shipped
    try:
        body = action._action_call_format(tracker, Domain.empty())
    finally:
        speedups.uninstall()
    full = tracker.current_state(EventVerbosity.ALL)

    slim_events = body["tracker"].pop("events")
    full_events = full.pop("events")

    # parse data everywhere: the FAQ answer texts left out, the top 3 of the ranking kept
    def without_answers(parse: dict[str, Any]) -> dict[str, Any]:
        faq = parse["response_selector"]["faq"]
        response = {k: v for k, v in faq["response"].items() if k != "responses"}
        return {**parse, "response_selector": {**parse["response_selector"],
                                               "faq": {"response": response, "ranking": faq["ranking"][:3]}}}

    assert body["tracker"]["latest_message"] == without_answers(full["latest_message"])
    loop = full["active_loop"]
    assert body["tracker"]["active_loop"] == {**loop, "trigger_message": without_answers(loop["trigger_message"])}
    assert {k: v for k, v in body["tracker"].items() if k not in ("latest_message", "active_loop")} == {
        k: v for k, v in full.items() if k not in ("latest_message", "active_loop")}  # slots … unchanged
    # the tracker itself keeps everything
    assert tracker.latest_message.parse_data["response_selector"]["faq"]["response"]["responses"]
    assert len(tracker.latest_message.parse_data["response_selector"]["faq"]["ranking"]) == 10
    # from the second-to-last user message on: Rasa's events (parse data slimmed as above)
    cut = [i for i, e in enumerate(full_events) if e["event"] == "user"][-2]
    assert slim_events[-(len(full_events) - cut):] == [
        {**e, "parse_data": without_answers(e["parse_data"])} if e["event"] == "user" else e
        for e in full_events[cut:]]
    # before it: user and bot text (no parse data), the session marker; no slot or action events
    head = slim_events[: len(slim_events) - (len(full_events) - cut)]
    assert [e["event"] for e in head] == ["session_started", "user", "bot"]
    assert "parse_data" not in head[1] and head[1]["text"] == "我要信访"

    # what the actions read is the same from either payload
    slim = Tracker.from_dict({**body["tracker"], "events": slim_events})
    whole = Tracker.from_dict({**full, "events": full_events})
    assert transcript(slim) == transcript(whole)
    assert channel_of(slim) == channel_of(whole) == "rest"
    assert returning_from_interruption(slim) == returning_from_interruption(whole)
    assert slim.slots_to_validate() == whole.slots_to_validate() == {"name": "张三"}
    assert selected_topic(slim.latest_message) == selected_topic(whole.latest_message) == ("topic_0", 0.7)
    assert slim.active_loop.get("name") == whole.active_loop.get("name") == "petition_form"
    assert len(str(body)) < len(str({"tracker": {**full, "events": full_events}}))


def test_applied_events_are_kept_only_while_the_events_are_the_same() -> None:
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        ActiveLoop,
        Restarted,
        SessionStarted,
        SlotSet,
        UserUtteranceReverted,
        UserUttered,
    )
    from rasa.shared.core.trackers import DialogueStateTracker

    rasa_applied = DialogueStateTracker.applied_events  # as shipped (this test installs the fixes itself)
    steps = [
        ActionExecuted("action_listen"), UserUttered("我要信访", {"name": "start_petition"}),
        ActionExecuted("petition_form"), ActiveLoop("petition_form"), SlotSet("requested_slot", "name"),
        ActionExecuted("action_listen"), UserUttered("张三", {"name": "inform"}),
        ActionExecuted("petition_form"),  # a repeated loop execution: earlier turns drop out
        SlotSet("name", "张三"), ActionExecuted("action_listen"), UserUttered("算了", {"name": "cancel"}),
        UserUtteranceReverted(), ActionExecuted("utter_ask"), ActionReverted(),
        ActiveLoop(None), Restarted(), ActionExecuted("action_session_start"), SessionStarted(),
        ActionExecuted("action_listen"), UserUttered("你好", {"name": "greet"}),
    ]
    tracker = DialogueStateTracker("memo-1", [])
    plain = DialogueStateTracker("memo-1", [])
    speedups.install()
    try:
        for event in steps:
            tracker.update(event)
            plain.update(event)
            first = tracker.applied_events()
            first.append("caller's own change")  # callers may change the list they get
            again = tracker.applied_events()
            assert again == rasa_applied(plain) and again is not first
            assert "caller's own change" not in again
        assert tracker.applied_events() == rasa_applied(plain)
        # a tracker whose events are replaced (not appended to) is worked out afresh
        tracker.events = plain.events.__class__([ActionExecuted("action_listen")])
        assert tracker.applied_events() == [tracker.events[0]]
    finally:
        speedups.uninstall()
    assert DialogueStateTracker.applied_events is rasa_applied
