"""The WeChat channel over HTTP: a real Sanic server with the channel registered the way Rasa does
it (``rasa.core.channels.channel.register``), a fake agent instead of a model, and a stand-in
WeChat API server for the customer-service messages."""
from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic

from bot.cases.attachments import attachment_path, pending_attachments
from bot.channels.gate import NO_ANSWER
from bot.channels.media import MSG_DOWNLOAD_FAILED
from bot.channels.wechat import VOICE_NOT_RECOGNISED, WELCOME_TEXT, WeChatInput
from bot.channels.wechat_protocol import parse_xml
from bot.settings import Settings
from tests.integration.channels.wechat_standin import (
    ACCOUNT,
    AES_KEY,
    APPID,
    SECRET,
    TOKEN,
    WeChatStandIn,
    decrypt_reply,
    event_xml,
    image_xml,
    location_xml,
    message_xml,
    plain_request,
    safe_request,
    text_xml,
    voice_xml,
)
from tests.rasa_fixtures import free_port

WEBHOOK = "/webhooks/wechat/webhook"
OPENID = "oUser0000000000000000000001"
_app_names = itertools.count()
# Several Sanic apps in one process (one per test): test mode lets each re-apply Sanic's
# start-up "touch-ups" to the original methods (what rasa's own test-suite does).
Sanic.test_mode = True
_msg_ids = itertools.count(int(time.time()) * 1000)


def next_msg_id() -> int:
    return next(_msg_ids)


@dataclass
class FakeAgent:
    """Stands in for rasa's Agent: ``handle_message`` answers through the message's channel."""

    received: list[UserMessage] = field(default_factory=list)
    delay: float = 0.0
    fail: bool = False

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("boom")
        out = message.output_channel
        if message.text == "按钮":
            await out.send_response(message.sender_id, {
                "text": "您是否同意我们处理您的个人信息？",
                "buttons": [{"title": "同意", "payload": "/affirm"}, {"title": "不同意", "payload": "/deny"}],
            })
        else:
            await out.send_response(message.sender_id, {"text": f"收到：{message.text}"})


@dataclass
class Harness:
    client: httpx.AsyncClient
    agent: FakeAgent
    channel: WeChatInput
    standin: WeChatStandIn

    async def post(self, query_body: tuple[str, str], **kwargs: Any) -> httpx.Response:
        query, body = query_body
        return await self.client.post(f"{WEBHOOK}?{query}", content=body.encode("utf-8"), **kwargs)


@pytest.fixture
async def standin() -> AsyncIterator[WeChatStandIn]:
    server = WeChatStandIn()
    await server.start()
    yield server
    await server.stop()


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness(standin: WeChatStandIn, tmp_path: Path) -> AsyncIterator[HarnessFactory]:
    started: list[tuple[Any, httpx.AsyncClient, WeChatInput]] = []

    async def factory(*, aes: bool = False, reply_timeout: float = 2.0, enabled: bool = True,
                      agent: FakeAgent | None = None) -> Harness:
        settings = Settings(
            wechat_token=TOKEN if enabled else "", wechat_appid=APPID, wechat_secret=SECRET,
            wechat_aes_key=AES_KEY if aes else "", wechat_api_base=standin.base_url,
            database_url=f"sqlite:///{tmp_path / 'cases.db'}", attachments_dir=str(tmp_path / "files"),
        )
        channel = WeChatInput(settings, reply_timeout=reply_timeout)
        agent = agent or FakeAgent()
        app = Sanic(f"wechat_test_{next(_app_names)}")
        app.config.MOTD = False
        app.ctx.agent = agent
        register([channel], app, route="/webhooks/")
        port = free_port()
        server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                         access_log=False)
        assert server is not None
        await server.startup()
        if not server.is_serving():  # sanic 21.12 already listens after create_server()
            await server.start_serving()
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10)
        started.append((server, client, channel))
        return Harness(client, agent, channel, standin)

    yield factory
    for server, client, channel in started:
        await channel.drain()
        await client.aclose()
        server.close()
        await server.wait_closed()


def reply_content(xml: str) -> dict[str, Any]:
    return parse_xml(xml)


# ---- verification, enabling ----------------------------------------------------------------
async def test_get_verification_echoes_and_rejects_wrong_signature(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    query, _ = plain_request("")
    ok = await h.client.get(f"{WEBHOOK}?{query}&echostr=hello123")
    assert ok.status_code == 200 and ok.text == "hello123"
    bad = await h.client.get(f"{WEBHOOK}?signature=deadbeef&timestamp=1&nonce=2&echostr=hello123")
    assert bad.status_code == 403
    assert "hello123" not in bad.text


async def test_disabled_channel_answers_404_json(make_harness: HarnessFactory) -> None:
    h = await make_harness(enabled=False)
    resp = await h.post(plain_request(text_xml(OPENID, "你好", next_msg_id()), token=""))
    assert resp.status_code == 404 and resp.json()["code"] == "not_found"
    assert (await h.client.get(f"{WEBHOOK}?echostr=x")).status_code == 404
    assert h.agent.received == []


# ---- text messages -----------------------------------------------------------------------------
async def test_plain_text_gets_passive_reply(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    resp = await h.post(plain_request(text_xml(OPENID, "你好", next_msg_id())))
    assert resp.status_code == 200, resp.text
    reply = reply_content(resp.text)
    assert reply["MsgType"] == "text"
    assert reply["Content"] == "收到：你好"
    assert reply["ToUserName"] == OPENID and reply["FromUserName"] == ACCOUNT
    [msg] = h.agent.received
    assert (msg.text, msg.sender_id, msg.input_channel) == ("你好", OPENID, "wechat")
    assert h.standin.sent() == []


async def test_encrypted_text_gets_encrypted_passive_reply(make_harness: HarnessFactory) -> None:
    h = await make_harness(aes=True)
    resp = await h.post(safe_request(text_xml(OPENID, "我要投诉", next_msg_id())))
    assert resp.status_code == 200, resp.text
    outer = reply_content(resp.text)
    assert set(outer) >= {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert "收到" not in resp.text  # nothing in clear
    reply = parse_xml(decrypt_reply(resp.text))
    assert reply["Content"] == "收到：我要投诉" and reply["ToUserName"] == OPENID
    assert [m.text for m in h.agent.received] == ["我要投诉"]


async def test_plain_message_still_accepted_when_aes_key_is_set(make_harness: HarnessFactory) -> None:
    h = await make_harness(aes=True)
    resp = await h.post(plain_request(text_xml(OPENID, "你好", next_msg_id())))
    assert reply_content(resp.text)["Content"] == "收到：你好"


# ---- forged, replayed, oversized, malformed ------------------------------------------------------
async def test_forged_signature_is_refused_and_not_processed(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    resp = await h.post(plain_request(text_xml(OPENID, "你好", next_msg_id()), token="wrong-token"))
    assert resp.status_code == 403
    assert h.agent.received == []


async def test_forged_encrypted_message_is_refused(make_harness: HarnessFactory) -> None:
    h = await make_harness(aes=True)
    # encrypted with the right key but signed with another token: msg_signature does not match
    forged = safe_request(text_xml(OPENID, "你好", next_msg_id()), token="wrong-token")
    assert (await h.post(forged)).status_code == 403
    # a body swapped under a genuine query: msg_signature covers the body
    query, _ = safe_request(text_xml(OPENID, "原文", next_msg_id()))
    _, other_body = safe_request(text_xml(OPENID, "篡改", next_msg_id()))
    assert (await h.post((query, other_body))).status_code == 403
    assert h.agent.received == []


async def test_retry_with_same_msgid_is_processed_once(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    xml = text_xml(OPENID, "你好", next_msg_id())
    first = await h.post(plain_request(xml))
    retry = await h.post(plain_request(xml))  # WeChat's retry: same MsgId, new nonce
    again = await h.post(plain_request(xml))
    assert first.status_code == retry.status_code == again.status_code == 200
    assert len(h.agent.received) == 1
    assert reply_content(retry.text)["Content"] == reply_content(first.text)["Content"] == "收到：你好"


async def test_event_retry_deduplicated_on_sender_and_create_time(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    xml = event_xml(OPENID, "CLICK", "HELP", create_time=int(time.time()))
    await h.post(plain_request(xml))
    await h.post(plain_request(xml))
    assert [m.text for m in h.agent.received] == ["/help"]


async def test_old_timestamp_is_refused(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    old = int(time.time()) - 6 * 60
    resp = await h.post(plain_request(text_xml(OPENID, "你好", next_msg_id(), create_time=old), timestamp=old))
    assert resp.status_code == 403
    future = int(time.time()) + 6 * 60
    assert (await h.post(plain_request(text_xml(OPENID, "你好", next_msg_id()), timestamp=future))).status_code == 403
    assert h.agent.received == []


async def test_signed_query_reused_for_another_message_is_refused(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    query, body = plain_request(text_xml(OPENID, "第一条", next_msg_id()))
    assert (await h.post((query, body))).status_code == 200
    swapped = text_xml(OPENID, "伪造的第二条", next_msg_id())
    assert (await h.post((query, swapped))).status_code == 403
    assert [m.text for m in h.agent.received] == ["第一条"]


async def test_oversized_body_413_and_malformed_xml_400(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    big = text_xml(OPENID, "长" * 400_000, next_msg_id())  # > 1 MB in UTF-8
    assert (await h.post(plain_request(big))).status_code == 413
    assert (await h.post(plain_request("<xml><MsgType>text</Msg"))).status_code == 400
    assert (await h.post(plain_request("<notxml/>"))).status_code == 400
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><MsgType>&a;</MsgType></xml>'
    assert (await h.post(plain_request(bomb))).status_code == 400
    assert h.agent.received == []


# ---- slow answers ------------------------------------------------------------------------------
async def test_slow_answer_success_then_customer_service_message(make_harness: HarnessFactory) -> None:
    h = await make_harness(reply_timeout=0.2, agent=FakeAgent(delay=0.8))
    started = time.monotonic()
    resp = await h.post(plain_request(text_xml(OPENID, "慢慢说", next_msg_id())))
    assert resp.status_code == 200 and resp.text == "success"
    assert time.monotonic() - started < 0.7
    sent = await h.standin.wait_sent(1)
    assert sent == [{"touser": OPENID, "msgtype": "text", "text": {"content": "收到：慢慢说"}}]
    [call] = [c for c in h.standin.calls if c.path.endswith("custom/send")]
    assert call.query["access_token"] == h.standin.token_value
    # a second slow answer reuses the cached access token
    await h.post(plain_request(text_xml(OPENID, "再说一句", next_msg_id())))
    await h.standin.wait_sent(2)
    assert len(h.standin.token_calls()) == 1


async def test_failing_agent_gets_polite_apology(make_harness: HarnessFactory) -> None:
    h = await make_harness(agent=FakeAgent(fail=True))
    resp = await h.post(plain_request(text_xml(OPENID, "你好", next_msg_id())))
    assert reply_content(resp.text)["Content"] == NO_ANSWER  # bot/channels/gate.py


# ---- events and other message types --------------------------------------------------------
async def test_subscribe_event_gets_welcome(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    resp = await h.post(plain_request(event_xml(OPENID, "subscribe")))
    assert reply_content(resp.text)["Content"] == WELCOME_TEXT
    assert "提交信访事项" in WELCOME_TEXT
    assert h.agent.received == []


async def test_encrypted_subscribe_event_welcome(make_harness: HarnessFactory) -> None:
    h = await make_harness(aes=True)
    resp = await h.post(safe_request(event_xml(OPENID, "subscribe")))
    assert parse_xml(decrypt_reply(resp.text))["Content"] == WELCOME_TEXT


@pytest.mark.parametrize(("key", "intent"), [
    ("START_PETITION", "/start_petition"), ("CHECK_STATUS", "/check_status"), ("HELP", "/help"),
    ("LEGAL_CHANNEL", "/ask_legal_channel"), ("REQUEST_HUMAN", "/request_human"),
    ("PETITION", "/start_petition"), ("STATUS", "/check_status"), ("LEGAL", "/ask_legal_channel"),
    ("SOMETHING_NEW", "/help"),
])
async def test_menu_click_maps_to_intent(make_harness: HarnessFactory, key: str, intent: str) -> None:
    h = await make_harness()
    resp = await h.post(plain_request(event_xml(OPENID, "CLICK", key)))
    assert reply_content(resp.text)["Content"] == f"收到：{intent}"
    assert [m.text for m in h.agent.received] == [intent]


async def test_voice_without_recognition_asks_to_type(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    resp = await h.post(plain_request(voice_xml(OPENID, next_msg_id())))
    assert reply_content(resp.text)["Content"] == VOICE_NOT_RECOGNISED
    assert "打字" in VOICE_NOT_RECOGNISED
    assert h.agent.received == []


async def test_voice_with_recognition_is_a_text_message(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    resp = await h.post(plain_request(voice_xml(OPENID, next_msg_id(), recognition="查询进度")))
    assert reply_content(resp.text)["Content"] == "收到：查询进度"


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 4


def stored(h: Harness) -> list[tuple[str, str, int, bytes]]:
    sink = h.channel.sink
    return [(a.kind, a.content_type, a.size, attachment_path(sink.policy, a).read_bytes())
            for a in pending_attachments(sink.session_factory(), "wechat", OPENID)]


async def test_image_is_downloaded_and_stored_as_attachment(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    h.standin.add_media("media-photo-1", JPEG)
    xml = image_xml(OPENID, next_msg_id(), media_id="media-photo-1")
    resp = await h.post(plain_request(xml))
    reply = reply_content(resp.text)["Content"]
    assert reply.startswith("已收到您发送的图片") and "附上" in reply
    [call] = h.standin.media_calls()
    assert call.query == {"access_token": h.standin.token_value, "media_id": "media-photo-1"}
    assert stored(h) == [("image", "image/jpeg", len(JPEG), JPEG)]
    assert h.agent.received == []  # the dialogue is not disturbed
    # WeChat's retry of the same message: the same reply, no second download
    retry = await h.post(plain_request(xml))
    assert reply_content(retry.text)["Content"] == reply and len(h.standin.media_calls()) == 1


async def test_encrypted_image_message(make_harness: HarnessFactory) -> None:
    h = await make_harness(aes=True)
    h.standin.add_media("media-enc", JPEG, "image/jpeg")
    resp = await h.post(safe_request(image_xml(OPENID, next_msg_id(), media_id="media-enc")))
    assert parse_xml(decrypt_reply(resp.text))["Content"].startswith("已收到您发送的图片")
    assert len(stored(h)) == 1


async def test_expired_media_id_and_wrong_content(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    resp = await h.post(plain_request(image_xml(OPENID, next_msg_id(), media_id="expired")))
    assert reply_content(resp.text)["Content"] == MSG_DOWNLOAD_FAILED
    h.standin.add_media("not-a-picture", b"MZ\x90\x00" + bytes(64), "image/jpeg")
    resp = await h.post(plain_request(image_xml(OPENID, next_msg_id(), media_id="not-a-picture")))
    assert "只能接收" in reply_content(resp.text)["Content"]
    assert stored(h) == []


async def test_slow_download_answers_success_then_confirms_by_customer_service(make_harness: HarnessFactory) -> None:
    h = await make_harness(reply_timeout=0.2)
    h.standin.media_delay = 0.6
    h.standin.add_media("media-slow", JPEG)
    resp = await h.post(plain_request(image_xml(OPENID, next_msg_id(), media_id="media-slow")))
    assert resp.status_code == 200 and resp.text == "success"
    [confirmation] = [b["text"]["content"] for b in await h.standin.wait_sent(1)]
    assert confirmation.startswith("已收到您发送的图片")
    assert len(stored(h)) == 1


async def test_location_with_label_is_a_text_message(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    resp = await h.post(plain_request(location_xml(OPENID, next_msg_id(), label="浙江省杭州市西湖区文三路8号")))
    assert reply_content(resp.text)["Content"] == "收到：浙江省杭州市西湖区文三路8号"
    resp = await h.post(plain_request(location_xml(OPENID, next_msg_id())))
    assert resp.text == "success"
    assert [m.text for m in h.agent.received] == ["浙江省杭州市西湖区文三路8号"]


async def test_unknown_message_type_answers_success(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    xml = message_xml({"ToUserName": ACCOUNT, "FromUserName": OPENID, "CreateTime": int(time.time()),
                       "MsgType": "location", "Location_X": "23.1", "Location_Y": "113.3",
                       "MsgId": next_msg_id()})
    resp = await h.post(plain_request(xml))
    assert resp.status_code == 200 and resp.text == "success"
    unsubscribe = await h.post(plain_request(event_xml(OPENID, "unsubscribe")))
    assert unsubscribe.text == "success"


# ---- buttons -----------------------------------------------------------------------------------
async def test_buttons_are_numbered_and_number_reply_maps_to_payload(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    resp = await h.post(plain_request(text_xml(OPENID, "按钮", next_msg_id())))
    content = reply_content(resp.text)["Content"]
    assert content == "您是否同意我们处理您的个人信息？\n回复 1：同意\n回复 2：不同意"
    resp = await h.post(plain_request(text_xml(OPENID, "１", next_msg_id())))
    assert reply_content(resp.text)["Content"] == "收到：/affirm"
    # the choice is used up: a later "1" (e.g. the number of people) stays a "1"
    await h.post(plain_request(text_xml(OPENID, "1", next_msg_id())))
    assert [m.text for m in h.agent.received] == ["按钮", "/affirm", "1"]


async def test_output_channel_sends_through_customer_service_api(make_harness: HarnessFactory) -> None:
    h = await make_harness()
    out = h.channel.get_output_channel()
    assert out is not None and out.name() == "wechat"
    await out.send_response(OPENID, {"text": "您的信访事项已受理。", "buttons": [{"title": "查询进度", "payload": "/check_status"}]})
    assert h.standin.sent()[0]["text"]["content"] == "您的信访事项已受理。\n回复 1：查询进度"
    resp = await h.post(plain_request(text_xml(OPENID, "1", next_msg_id())))
    assert reply_content(resp.text)["Content"] == "收到：/check_status"
