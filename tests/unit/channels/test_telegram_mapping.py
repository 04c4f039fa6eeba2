"""Telegram channel, pure parts: splitting, callback keys, update -> inbound mapping."""
from __future__ import annotations

from typing import Any

import pytest
from telegram import Update

from bot.channels.buttons import ChannelButton, normalize_buttons
from bot.channels.telegram_mapping import (
    MAX_CALLBACK_BYTES,
    MSG_BUTTON_EXPIRED,
    MSG_CONTACT_NOT_OWN,
    MSG_LOCATION,
    MSG_MEDIA_UNSUPPORTED,
    CallbackStore,
    MediaRef,
    UpdateDeduper,
    command_payload,
    contact_text,
    split_text,
    update_to_inbound,
    venue_text,
)
from bot.intake.phone import find_phone

CHAT = {"id": 77, "type": "private", "first_name": "张"}
USER = {"id": 77, "is_bot": False, "first_name": "张", "language_code": "zh-hans"}


def message_update(update_id: int = 1, chat: dict[str, Any] | None = None, **fields: Any) -> Update:
    msg = {"message_id": 5, "date": 1700000000, "chat": chat or CHAT, "from": USER, **fields}
    return Update.de_json({"update_id": update_id, "message": msg}, None)


def callback_update(data: str, update_id: int = 2) -> Update:
    return Update.de_json({"update_id": update_id, "callback_query": {
        "id": "cbq-1", "from": USER, "chat_instance": "ci", "data": data,
        "message": {"message_id": 9, "date": 1700000000, "chat": CHAT, "text": "请选择"},
    }}, None)


# ---- splitting -------------------------------------------------------------------------------
def test_short_text_is_one_piece() -> None:
    assert split_text("您好") == ["您好"]
    assert split_text("") == []


def test_split_on_line_boundaries() -> None:
    lines = [f"第{i}行" + "字" * 40 for i in range(300)]
    text = "\n".join(lines)
    chunks = split_text(text)
    assert len(chunks) > 1
    assert all(len(c) <= 4096 for c in chunks)
    assert "\n".join(chunks) == text  # nothing lost, every cut at a line end
    assert all(c.split("\n")[0].startswith("第") for c in chunks)


def test_overlong_line_is_cut_hard() -> None:
    text = "信" * 10000
    chunks = split_text(text)
    assert [len(c) for c in chunks] == [4096, 4096, 1808]
    assert "".join(chunks) == text


@pytest.mark.parametrize("text", ["x" * 5 + "\n" + "y" * 5, "\n\n" + "a" * 12 + "\n\nb\n", "ab\n\n\ncd\n"])
def test_split_pieces_fit_and_are_never_blank(text: str) -> None:
    chunks = split_text(text, limit=5)
    assert chunks and all(0 < len(c) <= 5 and c.strip() for c in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")


def test_split_small_limit_mixed() -> None:
    assert split_text("ab\ncd\nef", limit=5) == ["ab\ncd", "ef"]


# ---- buttons -----------------------------------------------------------------------------------
def test_normalize_buttons() -> None:
    assert normalize_buttons([
        {"title": "是", "payload": "/affirm"}, {"title": "不清楚"}, {"payload": "/deny"}, {}, "x",
    ]) == [ChannelButton("是", "/affirm"), ChannelButton("不清楚", "不清楚"), ChannelButton("/deny", "/deny")]
    assert normalize_buttons(None) == []


def test_short_payload_is_callback_data_itself() -> None:
    store = CallbackStore()
    assert store.callback_data("/affirm") == "/affirm"
    assert len(store) == 0


def test_long_chinese_payload_gets_a_key_and_resolves_back() -> None:
    store = CallbackStore()
    payload = '/inform{"category": "land_expropriation", "note": "土地征收补偿款未足额发放"}'
    assert len(payload.encode("utf-8")) > MAX_CALLBACK_BYTES
    data = store.callback_data(payload)
    assert data.startswith("k:") and len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES
    assert store.callback_data(payload) == data  # stable
    assert store.resolve(data) == payload
    assert store.resolve("k:unknown") is None


def test_callback_store_is_bounded() -> None:
    store = CallbackStore(max_entries=2)
    keys = [store.callback_data("长" * 30 + str(i)) for i in range(3)]
    assert store.resolve(keys[0]) is None
    assert store.resolve(keys[2]) is not None


def test_payload_that_looks_like_a_key_is_wrapped() -> None:
    store = CallbackStore()
    data = store.callback_data("k:literal")
    assert data != "k:literal" and store.resolve(data) == "k:literal"


def test_deduper() -> None:
    dedupe = UpdateDeduper(max_entries=2)
    assert dedupe.first_time(1) and not dedupe.first_time(1)
    assert dedupe.first_time(2) and dedupe.first_time(3)
    assert dedupe.first_time(1)  # forgotten after the bound


# ---- update -> inbound ---------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("/start", "/greet"), ("/start@xinfang_bot", "/greet"), ("/start abc", "/greet"),
    ("/help", "/help"), ("/cancel", "/cancel"), ("/status", "/check_status"),
    ("/unknown", "/help"), ('/inform{"phone": "1"}', "/help"), ("你好", None),
])
def test_command_payload(text: str, expected: str | None) -> None:
    assert command_payload(text) == expected


def test_text_message() -> None:
    inbound = update_to_inbound(message_update(text="  我要反映问题 "), CallbackStore())
    assert inbound is not None
    assert (inbound.chat_id, inbound.text, inbound.notices) == (77, "我要反映问题", [])
    assert inbound.metadata["telegram"]["update_id"] == 1
    assert inbound.metadata["telegram"]["user_id"] == 77


def test_start_command() -> None:
    inbound = update_to_inbound(message_update(text="/start"), CallbackStore())
    assert inbound is not None and inbound.text == "/greet"


@pytest.mark.parametrize("number", ["8613812345678", "+86 138 1234 5678", "13812345678"])
def test_own_contact_fills_phone(number: str) -> None:
    inbound = update_to_inbound(
        message_update(contact={"phone_number": number, "first_name": "张", "user_id": 77}), CallbackStore())
    assert inbound is not None and inbound.text == "13812345678" and inbound.notices == []
    assert find_phone(inbound.text) == "13812345678"


@pytest.mark.parametrize("contact", [
    {"phone_number": "13900001111", "first_name": "李", "user_id": 88},  # somebody else's card
    {"phone_number": "13900001111", "first_name": "李"},  # a phone-book entry, no Telegram user
])
def test_other_peoples_contact_is_not_used(contact: dict[str, Any]) -> None:
    inbound = update_to_inbound(message_update(contact=contact), CallbackStore())
    assert inbound is not None and inbound.text is None and inbound.notices == [MSG_CONTACT_NOT_OWN]


def test_foreign_contact_keeps_country_code() -> None:
    assert contact_text("4915112345678") == "+4915112345678"


def test_bare_location_asks_for_the_address_in_words() -> None:
    inbound = update_to_inbound(
        message_update(location={"latitude": 30.274085, "longitude": 120.15507}), CallbackStore())
    assert inbound is not None
    assert inbound.notices == [MSG_LOCATION] and inbound.text is None
    assert "省、市、区县" in MSG_LOCATION


def test_venue_gives_its_address_as_text() -> None:
    venue = {"location": {"latitude": 30.27, "longitude": 120.15}, "title": "文三路社区服务中心",
             "address": "浙江省杭州市西湖区文三路8号"}
    inbound = update_to_inbound(message_update(venue=venue, location=venue["location"]), CallbackStore())
    assert inbound is not None and inbound.notices == []
    assert inbound.text == "浙江省杭州市西湖区文三路8号（文三路社区服务中心）"
    assert venue_text("西湖区政府", "") == "西湖区政府"
    assert venue_text("文三路8号", "杭州市文三路8号") == "杭州市文三路8号"


def test_photo_largest_size_is_fetched_and_caption_forwarded() -> None:
    photo = [
        {"file_id": "small", "file_unique_id": "u1", "width": 90, "height": 60, "file_size": 1200},
        {"file_id": "large", "file_unique_id": "u3", "width": 1280, "height": 853, "file_size": 98000},
        {"file_id": "medium", "file_unique_id": "u2", "width": 320, "height": 213, "file_size": 14000},
    ]
    inbound = update_to_inbound(message_update(photo=photo), CallbackStore())
    assert inbound is not None and inbound.notices == [] and inbound.text is None
    assert inbound.media == MediaRef("photo", "large", "u3", None, "image/jpeg", 98000)
    inbound = update_to_inbound(message_update(photo=photo, caption="村委会的通知"), CallbackStore())
    assert inbound is not None and inbound.text == "村委会的通知" and inbound.media is not None
    inbound = update_to_inbound(message_update(photo=photo, caption="/inform{\"phone\": \"1\"}"), CallbackStore())
    assert inbound is not None and inbound.text == "/help"  # no intent payloads through captions


def test_document() -> None:
    doc = {"file_id": "f", "file_unique_id": "u", "file_name": "材料.pdf", "mime_type": "application/pdf",
           "file_size": 5000}
    inbound = update_to_inbound(message_update(document=doc), CallbackStore())
    assert inbound is not None and inbound.notices == [] and inbound.text is None
    assert inbound.media == MediaRef("document", "f", "u", "材料.pdf", "application/pdf", 5000)


@pytest.mark.parametrize("fields", [
    {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 3}},
    {"video": {"file_id": "v", "file_unique_id": "v", "width": 1, "height": 1, "duration": 3}},
    {"animation": {"file_id": "a", "file_unique_id": "a", "width": 1, "height": 1, "duration": 1},
     "document": {"file_id": "a", "file_unique_id": "a", "file_name": "x.mp4"}},
])
def test_audio_video_and_animations_are_politely_refused(fields: dict[str, Any]) -> None:
    inbound = update_to_inbound(message_update(**fields), CallbackStore())
    assert inbound is not None and inbound.media is None and inbound.notices == [MSG_MEDIA_UNSUPPORTED]


def test_callback_plain_payload() -> None:
    inbound = update_to_inbound(callback_update("/affirm"), CallbackStore())
    assert inbound is not None
    assert (inbound.chat_id, inbound.text, inbound.callback_query_id) == (77, "/affirm", "cbq-1")


def test_callback_key_resolves_and_unknown_key_expires() -> None:
    store = CallbackStore()
    payload = "/inform" + "{" + '"demand": "' + "要求依法足额补偿" * 4 + '"}'
    key = store.callback_data(payload)
    inbound = update_to_inbound(callback_update(key), store)
    assert inbound is not None and inbound.text == payload
    inbound = update_to_inbound(callback_update("k:0000"), store)
    assert inbound is not None and inbound.text is None and inbound.notices == [MSG_BUTTON_EXPIRED]
    assert inbound.callback_query_id == "cbq-1"


@pytest.mark.parametrize("data", [
    {"update_id": 3, "edited_message": {"message_id": 1, "date": 1, "chat": CHAT, "text": "改"}},
    {"update_id": 4, "channel_post": {"message_id": 1, "date": 1,
                                      "chat": {"id": -100, "type": "channel"}, "text": "x"}},
    {"update_id": 5, "message": {"message_id": 1, "date": 1,
                                 "chat": {"id": -5, "type": "group"}, "from": USER, "text": "hi"}},
    {"update_id": 6, "poll_answer": {"poll_id": "p", "option_ids": [0], "user": USER,
                                    "option_persistent_ids": ["a"]}},
    {"update_id": 7, "something_new": {"x": 1}},
    {"update_id": 8, "message": {"message_id": 1, "date": 1, "chat": CHAT, "pinned_message": None}},
])
def test_ignored_updates(data: dict[str, Any]) -> None:
    assert update_to_inbound(Update.de_json(data, None), CallbackStore()) is None
