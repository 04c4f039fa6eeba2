from __future__ import annotations

from bot.handoff.chat import ALREADY_HELD, UNAVAILABLE, WAITING, request_human_reply


def test_reply_depends_on_the_state() -> None:
    assert request_human_reply("waiting") == WAITING and "12345" in WAITING and "您" in WAITING
    assert request_human_reply("held") == ALREADY_HELD
    assert request_human_reply(None) == UNAVAILABLE and request_human_reply("closed") == UNAVAILABLE


def test_a_withdrawal_is_told_that_staff_handle_it() -> None:
    from bot.handoff.chat import WITHDRAWAL_NOTE

    reply = request_human_reply("waiting", "我想撤回我的信访")
    assert reply.startswith(WITHDRAWAL_NOTE) and reply.endswith(WAITING)
    assert request_human_reply("waiting", "转人工") == WAITING
    assert request_human_reply(None, "事情解决了，信访不用办了").endswith(UNAVAILABLE)
