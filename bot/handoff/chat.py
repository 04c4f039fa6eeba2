"""What the bot tells a citizen who asks for a person (pure text, tested without Rasa)."""
from __future__ import annotations

import re

from bot.handoff.models import HandoffState

WAITING = (
    "好的，已为您转接人工服务。工作人员接入后会直接在这里回复您（工作日 9:00–17:00）。"
    "接入前您可以继续和我对话，已填写的内容不会丢失。急事也可以拨打12345政务服务便民热线。"
)
ALREADY_HELD = "工作人员正在为您服务，请直接发送您的问题。"
UNAVAILABLE = (
    "抱歉，人工服务暂时无法接入。您可以稍后再发送“转人工”，或拨打12345政务服务便民热线；"
    "在这里登记的事项都会由工作人员办理，已填写的内容不会丢失。"
)


#: a citizen who wants to take back a petition already filed: staff do it (there is no self-service)
WITHDRAWAL = re.compile(r"撤回|撤销|撤掉|撤了|撤下|不用办了|不想反映了")
WITHDRAWAL_NOTE = "撤回已经登记的信访事项，需要工作人员核实后办理，请在工作人员接入后说明事项编号和撤回的原因。"


def request_human_reply(state: str | None, text: str = "") -> str:
    """The reply for the handoff's state after the request (``None``: it could not be stored).

    A request to withdraw a filed petition (``text``) is told first that staff handle it.
    """
    if state == HandoffState.HELD.value:
        reply = ALREADY_HELD
    elif state == HandoffState.WAITING.value:
        reply = WAITING
    else:
        reply = UNAVAILABLE
    return WITHDRAWAL_NOTE + "\n" + reply if WITHDRAWAL.search(text or "") else reply
