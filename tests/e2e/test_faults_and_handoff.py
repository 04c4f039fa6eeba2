"""Faults and the human handoff through the real stack's REST channel.

- The action server goes down mid-form: the citizen gets a polite "send it again shortly",
  the slots filled so far survive, and the form continues once the server is back.
- A member of staff takes a chat over: the bot stays silent, staff messages reach the citizen
  (REST without callback: in front of the reply to the next message), and the bot answers
  again after release.
"""
from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from bot.channels.gate import NO_ANSWER
from bot.handoff.chat import WAITING
from tests.rasa_fixtures import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]

VALID_ID = "11010519491231002X"


def new_sender(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def joined(stack: Stack, sender: str, text: str) -> str:
    return "\n".join(stack.texts(sender, text))


def slots(stack: Stack, sender: str) -> dict[str, object]:
    return dict(stack.tracker(sender)["slots"])


def test_action_server_down_mid_form_then_back(stack: Stack) -> None:
    sender = new_sender("fault")
    assert "同意" in joined(stack, sender, "我要反映问题，物业乱收费")
    joined(stack, sender, "同意")
    joined(stack, sender, "我叫刘芳")
    assert slots(stack, sender)["petitioner_name"] == "刘芳"

    stack.stop_process("actions")
    try:
        reply = joined(stack, sender, VALID_ID)
        assert NO_ANSWER in reply, stack.logs()
    finally:
        stack.start_process("actions")

    assert slots(stack, sender)["petitioner_name"] == "刘芳"  # nothing filled earlier was lost
    reply = joined(stack, sender, VALID_ID)
    assert NO_ANSWER not in reply and "电话" in reply, reply
    assert slots(stack, sender)["id_number"] == VALID_ID


def test_action_server_stuck_mid_form_then_answering_again(stack: Stack) -> None:
    """A frozen action server (SIGSTOP: it accepts connections and never answers) costs the
    citizen one ACTION_TIMEOUT_SECONDS wait and a polite notice, not a five-minute hang."""
    sender = new_sender("stuck")
    joined(stack, sender, "我要反映问题，物业乱收费")
    joined(stack, sender, "同意")
    joined(stack, sender, "我叫周敏")
    assert slots(stack, sender)["petitioner_name"] == "周敏"

    actions = stack.proc("actions").popen
    assert actions is not None
    os.killpg(actions.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        reply = joined(stack, sender, VALID_ID)
        waited = time.monotonic() - started
    finally:
        os.killpg(actions.pid, signal.SIGCONT)
    assert NO_ANSWER in reply, stack.logs()
    assert waited < 45, f"the citizen waited {waited:.0f} s"
    assert slots(stack, sender)["petitioner_name"] == "周敏"
    assert slots(stack, sender)["id_number"] is None  # the stuck turn was not half-applied

    reply = joined(stack, sender, VALID_ID)
    assert NO_ANSWER not in reply and "电话" in reply, reply
    assert slots(stack, sender)["id_number"] == VALID_ID


def test_staff_take_over_the_chat_and_the_bot_stays_silent(stack: Stack) -> None:
    sender = new_sender("handoff")
    assert WAITING in joined(stack, sender, "我要转人工")
    listed = stack.api("GET", "/api/handoffs").json()
    handoff = next(h for h in listed if h["sender_id"] == sender)
    assert handoff["state"] == "waiting" and handoff["channel"] == "rest"

    assert stack.api("POST", f"/api/handoffs/{handoff['id']}/take").status_code == 200
    # the bot does not answer; the take-over notice (queued in the outbox) comes with the reply
    replies = stack.texts(sender, "你好，我的事情比较复杂")
    assert len(replies) == 1 and "信访工作人员" in replies[0], replies

    sent = stack.api("POST", f"/api/handoffs/{handoff['id']}/messages", json={"text": "请您详细说说经过。"})
    assert sent.status_code == 201
    assert stack.texts(sender, "好的，是这样的……") == ["请您详细说说经过。"]
    detail = stack.api("GET", f"/api/handoffs/{handoff['id']}").json()
    citizen_lines = [m["text"] for m in detail["messages"] if m["role"] == "citizen"]
    assert citizen_lines[-2:] == ["你好，我的事情比较复杂", "好的，是这样的……"]

    assert stack.api("POST", f"/api/handoffs/{handoff['id']}/release").status_code == 200
    replies = stack.texts(sender, "你好")
    assert "人工服务已结束" in replies[0] and len(replies) >= 2, replies  # notice, then the bot again
