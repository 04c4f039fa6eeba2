"""Issue 4/5 "done when": a petition filed on each channel, worked by staff in the back-office;
every status change reaches the citizen in the channel they used, the citizen rates the
handling at close, and the dashboard counts it.

Telegram and WeChat get the updates pushed through the stand-ins (outbox → Bot API sendMessage /
customer-service API); the REST channel has no push here (no REST_CALLBACK_URL), so its updates
come in front of the reply to the citizen's next message.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from tests.e2e.channel_adapters import (
    ADAPTERS,
    CASE_NO,
    ChannelAdapter,
    TelegramAdapter,
    WeChatAdapter,
    rendered,
)
from tests.rasa_fixtures import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]

PERSONAS = {
    "rest": ("赵晓梅", "320102198807150026", "13611112222"),
    "telegram": ("钱立军", "370202199512300014", "13511113333"),
    "wechat": ("孙丽华", "420106199003050023", "13411114444"),
}
STAFF_STEPS = (
    ("accept", {"note": "属于本机关职责范围"}, "已经受理"),
    ("answer", {"answer": "经核查，物业公司已承诺一周内修复路灯。"}, "已出具处理意见"),
    ("close", {"note": "信访人表示认可处理意见"}, "已经办结"),
)


def file_petition(adapter: ChannelAdapter, user: str, persona: tuple[str, str, str]) -> str:
    name, id_number, phone = persona
    adapter.say(user, "我要反映问题")  # the wish itself already says it is a 申诉求决 matter
    turn = adapter.press(user, "同意")
    if "反映问题、要求解决（申诉求决）" in [title for title, _ in turn.buttons]:
        adapter.press(user, "反映问题、要求解决（申诉求决）")
    adapter.say(user, f"我叫{name}，电话{phone}，身份证{id_number}，住在江苏省南京市玄武区中山路5号")
    adapter.press(user, "和我的住址相同")
    adapter.say(user, "南京某物业服务有限公司")
    adapter.say(user, "上个月")
    adapter.say(user, "小区里的路灯坏了两个月，物业一直不修，晚上老人孩子出门很危险")
    adapter.press(user, "是的")
    adapter.say(user, "要求物业尽快修好路灯")
    adapter.press(user, "只有我自己")
    turn = adapter.press(user, "没有")
    if "仍然提交信访" in turn.text:
        adapter.press(user, "仍然提交信访")
    closing = adapter.press(user, "确认提交")
    found = CASE_NO.search(closing.text)
    assert found, f"no case number on {adapter.channel}: {closing.text}"
    return found.group(0)


def pushed(adapter: ChannelAdapter, user: str) -> Callable[[], list[str]]:
    if isinstance(adapter, TelegramAdapter):
        return lambda: [str(m["text"]) for m in adapter.standin.sent(int(user))]
    if isinstance(adapter, WeChatAdapter):
        return lambda: list(adapter.standin.sent_to(user))
    raise AssertionError("REST has no push")


def wait_for(what: Callable[[], list[str]], fragment: str, mark: int, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = [text for text in what()[mark:] if fragment in text]
        if fresh:
            return fresh[0]
        time.sleep(0.2)
    raise AssertionError(f"no message with {fragment!r} arrived; got {what()[mark:]}")


@pytest.mark.parametrize("adapter_cls", ADAPTERS, ids=[a.channel for a in ADAPTERS])
def test_each_status_change_reaches_the_citizen_who_rates_at_close(stack: Stack,
                                                                    adapter_cls: type[ChannelAdapter]) -> None:
    adapter = adapter_cls(stack)
    user = adapter.new_user()
    case_no = file_petition(adapter, user, PERSONAS[adapter.channel])
    case = stack.api("GET", f"/api/cases/{case_no}").json()
    assert case["channel"] == adapter.channel and case["status"] == "registered"
    before = stack.api("GET", "/api/dashboard").json()

    mark = 0 if adapter.channel == "rest" else len(pushed(adapter, user)())
    claimed = stack.api("POST", f"/api/cases/{case_no}/claim")
    assert claimed.status_code == 200, claimed.text
    for action, params, fragment in STAFF_STEPS:
        done = stack.api("POST", f"/api/cases/{case_no}/actions/{action}", json=params)
        assert done.status_code == 200, done.text
        if adapter.channel != "rest":  # pushed at once, in order
            assert case_no in wait_for(pushed(adapter, user), fragment, mark)
    if adapter.channel == "rest":
        # the updates wait for the citizen's next message and come first in the reply
        texts = adapter.say(user, "你好").text
    else:
        texts = "\n".join(pushed(adapter, user)()[mark:])
    for _action, _params, fragment in STAFF_STEPS:
        assert fragment in texts, f"{fragment!r} not delivered on {adapter.channel}:\n{texts}"
    assert "物业公司已承诺一周内修复路灯" in texts

    # the rating request came with buttons: the citizen taps "5分 很满意"
    rated = rate(adapter, user, texts)
    assert "感谢" in rated, rated
    assert stack.api("GET", f"/api/cases/{case_no}").json()["status"] == "closed"
    after = stack.api("GET", "/api/dashboard").json()
    assert satisfaction_count(after) == satisfaction_count(before) + 1
    assert after["by_status"].get("closed", 0) == before["by_status"].get("closed", 0) + 1


def rate(adapter: ChannelAdapter, user: str, texts: str) -> str:
    if isinstance(adapter, TelegramAdapter):  # the pushed message's inline keyboard → callback_query
        with_buttons = [m for m in adapter._sent_messages(user) if m["buttons"]]
        assert with_buttons, texts
        adapter.last[user] = rendered([with_buttons[-1]])
    elif isinstance(adapter, WeChatAdapter):  # numbered options: the citizen replies with the number
        number = re.search(r"回复 (\d+)：5分 很满意", texts)
        assert number, texts
        return adapter.say(user, number.group(1)).text
    return adapter.press(user, "5分 很满意").text  # REST: the buttons of the last reply


def satisfaction_count(stats: dict[str, object]) -> int:
    block = stats.get("satisfaction") or {}
    assert isinstance(block, dict), stats
    return int(block.get("count", 0) or 0)
