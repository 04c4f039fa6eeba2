"""Which events become inbox captures, and the masking applied before storage."""
from __future__ import annotations

from typing import Any

import pytest

from bot.training.capture import (
    Capture,
    CaptureTracker,
    NamesLearned,
    capture_reason,
    is_correction,
    mask_text,
    parse_user_event,
    prediction,
    sender_hash,
)
from bot.training.models import CaptureReason


def user(sender: str, text: str, intent: str = "greet", confidence: float = 0.9, *, channel: str = "rest",
         message_id: str | None = None, ranking: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "event": "user", "sender_id": sender, "text": text, "timestamp": 1_790_000_000.0,
        "input_channel": channel, "message_id": message_id or f"m-{sender}-{text}",
        "parse_data": {"intent": {"name": intent, "confidence": confidence},
                       "intent_ranking": ranking or [{"name": intent, "confidence": confidence}]},
    }


@pytest.mark.parametrize("text", ["不是这个意思", "你理解错了！", "不是这个意思，我是问进度", "你 误会了", "答非所问啊"])
def test_corrections(text: str) -> None:
    assert is_correction(text)


@pytest.mark.parametrize("text", ["", "电话写错了，应该是13912345678", "不对", "我要投诉", "不是" * 30 + "不是这个意思"])
def test_not_corrections(text: str) -> None:
    assert not is_correction(text)


def test_mask_text_masks_ids_phones_and_names() -> None:
    masked = mask_text("我叫张三，身份证11010519491231002X，电话13812345678")
    assert "张三" not in masked and "某某" in masked
    assert "11010519491231002X" not in masked and "110105" in masked
    assert "13812345678" not in masked and "138****5678" in masked


def test_mask_text_masks_names_known_from_the_conversation() -> None:
    assert mask_text("王建国反映的事情怎么样了", ["王建国"]) == "某某反映的事情怎么样了"
    assert mask_text("没有名字", ["李"]) == "没有名字"  # single characters are not masked


def test_sender_hash_is_keyed_and_stable() -> None:
    a = sender_hash("k1", "rest", "alice")
    assert a == sender_hash("k1", "rest", "alice") and len(a) == 32
    assert a != sender_hash("k2", "rest", "alice")
    assert a != sender_hash("k1", "telegram", "alice")
    assert "alice" not in a


def test_prediction_of_fallback_uses_the_best_real_intent() -> None:
    data = {"intent": {"name": "nlu_fallback", "confidence": 0.35},
            "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.35}, {"name": "faq", "confidence": 0.3}]}
    assert prediction(data) == ("faq", 0.3, True)
    assert prediction({"intent": {"name": "greet", "confidence": "0.8"}}) == ("greet", 0.8, False)
    assert prediction(None) == (None, None, False)


def test_parse_user_event_skips_buttons_and_other_events() -> None:
    assert parse_user_event({"event": "bot", "text": "hi"}) is None
    assert parse_user_event(user("s", "/affirm")) is None
    assert parse_user_event(user("s", "   ")) is None
    turn = parse_user_event(user("s", " 你好 ", channel="wechat", message_id="abc"))
    assert turn is not None
    assert (turn.text, turn.channel, turn.message_id, turn.intent) == ("你好", "wechat", "abc", "greet")
    assert turn.at.tzinfo is not None


def test_capture_reason() -> None:
    turn = parse_user_event(user("s", "x", confidence=0.4))
    assert turn is not None
    assert capture_reason(turn, 0.5) is CaptureReason.LOW_CONFIDENCE
    assert capture_reason(turn, 0.3) is None
    fallback = parse_user_event(user("s", "x", intent="nlu_fallback", confidence=0.35,
                                     ranking=[{"name": "nlu_fallback", "confidence": 0.35},
                                              {"name": "faq", "confidence": 0.2}]))
    assert fallback is not None and capture_reason(fallback, 0.1) is CaptureReason.FALLBACK


def test_tracker_captures_low_confidence_immediately() -> None:
    tracker = CaptureTracker(threshold=0.5)
    assert tracker.feed(user("a", "你好", confidence=0.95)) == []
    out = tracker.feed(user("a", "那个事呢", intent="check_status", confidence=0.3))
    assert len(out) == 1 and isinstance(out[0], Capture)
    assert out[0].reason is CaptureReason.LOW_CONFIDENCE and out[0].turn.text == "那个事呢"


def test_tracker_captures_the_message_before_a_correction_only() -> None:
    tracker = CaptureTracker(threshold=0.5)
    assert tracker.feed(user("a", "我那事咋样了", intent="faq", confidence=0.9)) == []
    assert tracker.feed(user("b", "你好")) == []  # other conversations do not interfere
    out = tracker.feed(user("a", "不是这个意思", intent="deny", confidence=0.2))
    assert len(out) == 1 and isinstance(out[0], Capture)
    assert out[0].reason is CaptureReason.CORRECTED and out[0].turn.text == "我那事咋样了"
    # a second correction has nothing left to correct
    assert tracker.feed(user("a", "你理解错了", intent="deny", confidence=0.2)) == []


def test_tracker_correction_after_a_button_or_new_session_captures_nothing() -> None:
    tracker = CaptureTracker(threshold=0.5)
    tracker.feed(user("a", "我那事咋样了", intent="faq", confidence=0.9))
    tracker.feed(user("a", "/affirm"))
    assert tracker.feed(user("a", "不是这个意思")) == []
    tracker.feed(user("a", "我那事咋样了", intent="faq", confidence=0.9))
    tracker.feed({"event": "session_started", "sender_id": "a"})
    assert tracker.feed(user("a", "不是这个意思")) == []


def test_tracker_learns_names_from_slot_events() -> None:
    tracker = CaptureTracker(threshold=0.5)
    tracker.feed(user("a", "王建国", intent="inform", confidence=0.99, channel="telegram"))
    out = tracker.feed({"event": "slot", "sender_id": "a", "name": "petitioner_name", "value": "王建国"})
    assert out == [NamesLearned("a", "telegram", ("王建国",))]
    assert tracker.feed({"event": "slot", "sender_id": "a", "name": "phone", "value": "13812345678"}) == []
    assert tracker.feed({"event": "slot", "sender_id": "a", "name": "petitioner_name", "value": None}) == []
    captured = tracker.feed(user("a", "王建国的事", intent="faq", confidence=0.1))
    assert isinstance(captured[0], Capture) and captured[0].names == ("王建国",)


def test_tracker_forgets_least_recent_conversations() -> None:
    tracker = CaptureTracker(threshold=0.5, max_conversations=2)
    tracker.feed(user("a", "问题一", confidence=0.9))
    tracker.feed(user("b", "问题二", confidence=0.9))
    tracker.feed(user("c", "问题三", confidence=0.9))
    assert tracker.feed(user("a", "不是这个意思")) == []  # "a" was forgotten
    assert tracker.feed(user("c", "不是这个意思"))[0].turn.text == "问题三"  # type: ignore[union-attr]


def test_events_without_sender_are_ignored() -> None:
    assert CaptureTracker(0.5).feed({"event": "user", "text": "x"}) == []


@pytest.mark.parametrize(("event", "read"), [
    ({"event": "user"}, True),
    ({"event": "session_started"}, True),
    ({"event": "restart"}, True),
    ({"event": "slot", "name": "petitioner_name"}, True),
    ({"event": "slot", "name": "phone"}, False),
    ({"event": "action", "name": "action_listen"}, False),
    ({"event": "bot", "text": "您好"}, False),
    ({"event": "active_loop", "name": "petition_form"}, False),
])
def test_is_read_names_exactly_what_feed_uses(event: dict[str, Any], read: bool) -> None:
    from bot.training.capture import CaptureTracker, is_read

    assert is_read(event) is read
    if not read:  # feed would do nothing with it, even for a known conversation
        tracker = CaptureTracker(0.5)
        tracker.feed({"event": "user", "sender_id": "s", "text": "你好", "parse_data": {}})
        assert tracker.feed({**event, "sender_id": "s"}) == []
