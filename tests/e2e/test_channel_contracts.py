"""Telegram and WeChat wire formats against the running stack (real Rasa, action server, back-office).

Telegram: bot commands, a shared contact filling the form's phone (only the sender's own), a
shared place filling the address. WeChat: subscribe, menu clicks, voice with and without
WeChat's recognition, plain-mode and safe-mode (AES) pushes. Answers that go through Rasa are
compared with what the REST channel says to the equivalent message.
"""
from __future__ import annotations

import time

import pytest

from bot.channels.telegram_mapping import MSG_CONTACT_NOT_OWN, MSG_LOCATION
from bot.channels.wechat import VOICE_NOT_RECOGNISED, WELCOME_TEXT
from bot.channels.wechat_menu import MENU_INTENTS
from tests.e2e.channel_adapters import RestAdapter, TelegramAdapter, WeChatAdapter
from tests.integration.channels.wechat_standin import event_xml, location_xml, text_xml, voice_xml
from tests.rasa_fixtures import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]


@pytest.mark.parametrize(("command", "payload"), [("/start", "/greet"), ("/help", "/help"),
                                                  ("/status", "/check_status"), ("/cancel", "/cancel")])
def test_telegram_commands_answer_like_their_intents(stack: Stack, command: str, payload: str) -> None:
    telegram, rest = TelegramAdapter(stack), RestAdapter(stack)
    answer = telegram.say(telegram.new_user(), command).comparable
    assert answer and answer == rest.say(rest.new_user(), payload).comparable


def test_telegram_contact_and_place_fill_the_form(stack: Stack) -> None:
    telegram = TelegramAdapter(stack)
    user = telegram.new_user()
    telegram.say(user, "/start")
    telegram.press(user, "登记信访事项")
    telegram.press(user, "同意")
    telegram.press(user, "反映问题、要求解决（申诉求决）")
    telegram.say(user, "我叫赵六")
    assert "电话" in telegram.say(user, "330106198503121231").text

    # somebody else's card is refused by the channel; the form still waits for the phone
    other = {"phone_number": "13900001111", "first_name": "李", "user_id": int(user) + 1}
    assert telegram.channel_reply(user, contact=other) == MSG_CONTACT_NOT_OWN
    assert stack.tracker(user)["slots"]["phone"] is None

    own = {"phone_number": "+86 138 0013 8000", "first_name": "赵六", "user_id": int(user)}
    assert "住址" in telegram.message_turn(user, contact=own).text
    assert stack.tracker(user)["slots"]["phone"] == "13800138000"

    # a bare map point cannot be an address: the channel asks for words
    assert telegram.channel_reply(user, location={"latitude": 30.27, "longitude": 120.15}) == MSG_LOCATION
    venue = {"location": {"latitude": 30.274085, "longitude": 120.15507}, "title": "文三路社区服务中心",
             "address": "浙江省杭州市西湖区文三路8号"}
    telegram.message_turn(user, venue=venue, location=venue["location"])
    assert str(stack.tracker(user)["slots"]["address"]).startswith("浙江省杭州市西湖区文三路8号")


def test_wechat_events_voice_and_plain_mode(stack: Stack) -> None:
    wechat, rest = WeChatAdapter(stack), RestAdapter(stack)
    user = wechat.new_user()
    now = int(time.time())
    # subscribe: the welcome, passive and encrypted; Rasa is not involved
    assert wechat.channel_reply(user, event_xml(user, "subscribe", create_time=now)) == WELCOME_TEXT
    # each menu click answers like its intent (a fresh follower each: a click can start a form)
    for key, payload in sorted(MENU_INTENTS.items()):
        follower = wechat.new_user()
        clicked = wechat.xml_turn(follower, event_xml(follower, "CLICK", key, create_time=now))
        assert clicked.comparable == rest.say(rest.new_user(), payload).comparable, key
    # voice: WeChat's recognised text is a message; without it, a polite request to type
    recognised = wechat.xml_turn(user, voice_xml(user, wechat.next_msg_id(), recognition="信访事项一般多长时间能办完？"))
    assert "第三十四条" in recognised.text
    assert wechat.channel_reply(user, voice_xml(user, wechat.next_msg_id())) == VOICE_NOT_RECOGNISED
    # plain mode (no AES) works as well
    greeting = wechat.xml_turn(user, text_xml(user, "你好", wechat.next_msg_id()), encrypted=False)
    assert greeting.comparable == rest.say(rest.new_user(), "你好").comparable
    # a shared place with its name answers the address question
    wechat.press(user, "登记信访事项")
    wechat.press(user, "同意")
    wechat.press(user, "提出建议意见")
    wechat.say(user, "我叫孙丽")
    wechat.say(user, "440305197906281235")
    assert "住址" in wechat.say(user, "13912340003").text
    wechat.xml_turn(user, location_xml(user, wechat.next_msg_id(), label="浙江省杭州市西湖区文三路8号"))
    assert str(stack.tracker(user)["slots"]["address"]).startswith("浙江省杭州市西湖区文三路8号")
