from __future__ import annotations

from bot.handoff.chat import ALREADY_HELD, UNAVAILABLE, WAITING, request_human_reply


def test_reply_depends_on_the_state() -> None:
    assert request_human_reply("waiting") == WAITING and "12345" in WAITING and "您" in WAITING
    assert request_human_reply("held") == ALREADY_HELD
    assert request_human_reply(None) == UNAVAILABLE and request_human_reply("closed") == UNAVAILABLE
