"""Pure helpers of the outbox senders: button data, WeChat window and error mapping, wiring."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import requests
from wechatpy.exceptions import WeChatClientException

from bot.channels.buttons import ChannelButton
from bot.channels.senders import (
    TEMPLATE_MAX_CHARS,
    HoldingSender,
    RestCallbackSender,
    TelegramSender,
    WeChatSender,
    callback_data_for,
    make_senders,
    telegram_keyboard,
    template_text,
    wechat_error,
    wechat_window_open,
)
from bot.errors import DeliveryFailed, DeliveryHeld, DeliveryRejected
from bot.outbox.dispatcher import OutgoingMessage
from bot.outbox.tokens import MemoryTokenStore
from bot.settings import Settings

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)


def test_callback_data_is_the_payload_when_it_fits_else_the_title() -> None:
    assert callback_data_for(ChannelButton("满意", "/affirm")) == "/affirm"
    long_payload = '/rate_case{"case_no": "XF20260301000123", "rating": "satisfied", "note": "很好"}'
    assert len(long_payload.encode()) > 64
    assert callback_data_for(ChannelButton("满意", long_payload)) == "满意"
    huge_title = "非常满意" * 10
    data = callback_data_for(ChannelButton(huge_title, long_payload))
    assert len(data.encode()) <= 64 and huge_title.startswith(data)
    assert callback_data_for(ChannelButton("是", "k:0123456789abcdef")) == "是"  # never looks like a key


def test_keyboard_has_one_button_per_row() -> None:
    markup = telegram_keyboard([{"title": "满意", "payload": "/affirm"}, {"title": "不满意", "payload": "/deny"}])
    assert markup is not None
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [["满意"], ["不满意"]]
    assert telegram_keyboard([]) is None


def _message(last: datetime | None) -> OutgoingMessage:
    return OutgoingMessage(id=1, channel="wechat", recipient="o1", text="t", last_inbound_at=last, now=NOW)


def test_wechat_window_is_48_hours_since_the_last_message() -> None:
    assert wechat_window_open(_message(NOW - timedelta(hours=47, minutes=59)))
    assert not wechat_window_open(_message(NOW - timedelta(hours=48)))
    assert not wechat_window_open(_message(None))


def test_wechat_errors_map_to_retry_hold_or_refusal() -> None:
    def err(code: int | None) -> WeChatClientException:
        return WeChatClientException(code, "msg")

    assert isinstance(wechat_error(err(45015), 0), DeliveryHeld)
    assert isinstance(wechat_error(err(45047), 0), DeliveryHeld)
    busy = wechat_error(err(-1), 1)
    assert type(busy) is DeliveryFailed and busy.retryable and busy.parts_sent == 1
    assert type(wechat_error(err(None), 0)) is DeliveryFailed  # HTTP error status
    refused = wechat_error(err(40003), 0)  # invalid openid
    assert isinstance(refused, DeliveryRejected) and not refused.retryable
    timeout = wechat_error(requests.Timeout("slow"), 0)
    assert type(timeout) is DeliveryFailed and timeout.retryable


def test_template_text_is_short() -> None:
    assert template_text("您的信访事项已受理。") == "您的信访事项已受理。"
    long = template_text("办理意见" * 100)
    assert len(long) == TEMPLATE_MAX_CHARS and long.endswith("查看完整内容）")


def test_make_senders_only_for_configured_channels() -> None:
    plain = make_senders(Settings(), session_factory=None)  # type: ignore[arg-type]
    assert set(plain) == {"rest"} and isinstance(plain["rest"], HoldingSender)
    full = make_senders(Settings(rest_callback_url="http://127.0.0.1:9/cb", telegram_token="1:x",
                                 wechat_appid="wx1", wechat_secret="s", redis_url="redis://127.0.0.1:1/0"),
                        session_factory=None)  # type: ignore[arg-type]
    assert isinstance(full["rest"], RestCallbackSender)
    assert isinstance(full["telegram"], TelegramSender)
    assert isinstance(full["wechat"], WeChatSender)


def test_wechat_sender_needs_the_secret() -> None:
    assert WeChatSender.from_settings(Settings(wechat_appid="wx1"), MemoryTokenStore()) is None
    sender = WeChatSender.from_settings(Settings(wechat_appid="wx1", wechat_secret="s", wechat_template_id="T1"),
                                        MemoryTokenStore())
    assert sender is not None and sender.template_id == "T1"
