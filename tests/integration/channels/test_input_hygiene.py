"""Bad input at the chat channels (REST, Telegram and WeChat over HTTP, fake agents):
over-long messages are cut to 4,000 characters with a notice, control characters are dropped,
binary junk gets a polite answer and never reaches Rasa, hostile text is passed on as text."""
from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic

from bot.channels.rest import RestInput
from bot.security.inbound import JUNK_NOTICE, MAX_MESSAGE_CHARS
from bot.settings import Settings
from tests.integration.channels import test_telegram_webhook as tgw
from tests.integration.channels import test_wechat_webhook as wxw
from tests.integration.channels.telegram_standin import TelegramStandIn
from tests.integration.channels.wechat_standin import WeChatStandIn, plain_request, text_xml
from tests.rasa_fixtures import free_port

LONG = "我要反映拖欠工资的问题。" * 400  # 4,800 characters


# ---- Telegram ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tg_standin() -> AsyncIterator[TelegramStandIn]:
    server = TelegramStandIn(tgw.TOKEN).start()
    yield server  # type: ignore[misc]
    server.stop()


@pytest.fixture
async def tg(tg_standin: TelegramStandIn, tmp_path: Path) -> AsyncIterator[tgw.Harness]:
    async for harness in tgw._serve(tgw.channel_settings(tg_standin, tmp_path), tg_standin):
        yield harness


async def test_telegram_long_message_is_cut_with_a_notice_first(tg: tgw.Harness) -> None:
    assert (await tg.post(tgw.msg(901, text=LONG))).status_code == 200
    [message] = tg.received
    assert message.text == LONG[:MAX_MESSAGE_CHARS]
    sent = [m["text"] for m in tg.standin.sent()]
    assert "分成几条" in sent[0] and str(len(LONG)) in sent[0]
    assert "".join(sent[1:]).startswith("收到：我要反映")


async def test_telegram_control_characters_and_hostile_text(tg: tgw.Harness) -> None:
    await tg.post(tgw.msg(902, text="你好\x00\x07\u202e世界"))
    await tg.post(tgw.msg(903, text="<script>alert(1)</script>'; DROP TABLE cases;--"))
    await tg.post(tgw.msg(904, text="🙂🙏"))
    assert [m.text for m in tg.received] == [
        "你好世界", "<script>alert(1)</script>'; DROP TABLE cases;--", "🙂🙏"]


async def test_telegram_binary_junk_is_answered_and_not_processed(tg: tgw.Harness) -> None:
    await tg.post(tgw.msg(905, text="\x00\x01\x02\x03\x04\x05\ufffd\ufffd"))
    assert tg.received == []
    assert [m["text"] for m in tg.standin.sent()] == [JUNK_NOTICE]


# ---- WeChat ------------------------------------------------------------------------------------
@pytest.fixture
async def wx_standin() -> AsyncIterator[WeChatStandIn]:
    server = WeChatStandIn()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def wx(wx_standin: WeChatStandIn, tmp_path: Path) -> AsyncIterator[wxw.HarnessFactory]:
    async for factory in wxw.make_harness.__wrapped__(wx_standin, tmp_path):  # type: ignore[attr-defined]
        yield factory


async def test_wechat_long_message_notice_is_part_of_the_reply(wx: wxw.HarnessFactory) -> None:
    h = await wx()
    resp = await h.post(plain_request(text_xml(wxw.OPENID, LONG, wxw.next_msg_id())))
    assert resp.status_code == 200, resp.text
    [message] = h.agent.received
    assert message.text == LONG[:MAX_MESSAGE_CHARS]
    content = wxw.reply_content(resp.text)["Content"]
    assert content.startswith("您这条消息比较长") and "分成几条" in content
    await h.channel.drain()  # the rest of the turn follows through the customer-service API
    assert "收到：我要反映" in repr(h.standin.sent())


async def test_wechat_binary_junk_gets_a_polite_answer(wx: wxw.HarnessFactory) -> None:
    h = await wx()
    resp = await h.post(plain_request(text_xml(wxw.OPENID, "\x01\x02\x03\x04\ufffd", wxw.next_msg_id())))
    assert resp.status_code in (200, 400), resp.text  # XML 1.0 forbids most control characters
    assert h.agent.received == []
    if resp.status_code == 200:
        assert wxw.reply_content(resp.text)["Content"] == JUNK_NOTICE


async def test_wechat_oversized_declared_body_is_413(wx: wxw.HarnessFactory) -> None:
    h = await wx()
    query, body = plain_request(text_xml(wxw.OPENID, "x" * (1024 * 1024 + 10), wxw.next_msg_id()))
    resp = await h.client.post(f"{wxw.WEBHOOK}?{query}", content=body.encode("utf-8"))
    assert resp.status_code == 413 and h.agent.received == []


# ---- REST --------------------------------------------------------------------------------------
@dataclass
class EchoAgent:
    received: list[UserMessage] = field(default_factory=list)

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        await message.output_channel.send_response(message.sender_id, {"text": f"收到：{message.text}"})


@pytest.fixture
async def rest(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, EchoAgent]]:
    Sanic.test_mode = True
    app = Sanic(f"rest_hygiene_{uuid.uuid4().hex[:8]}")
    app.config.MOTD = False
    agent = EchoAgent()
    app.ctx.agent = agent
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'cases.db'}", max_body_bytes=64 * 1024)
    register([RestInput(settings)], app, route="/webhooks/")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    assert server is not None
    await server.startup()
    if not server.is_serving():
        await server.start_serving()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client, agent
    server.close()
    await server.wait_closed()


REST = "/webhooks/rest/webhook"


async def test_rest_long_message_notice_comes_first(rest: tuple[httpx.AsyncClient, EchoAgent]) -> None:
    client, agent = rest
    resp = await client.post(REST, json={"sender": "r1", "message": LONG})
    assert resp.status_code == 200, resp.text
    texts = [m["text"] for m in resp.json()]
    assert "分成几条" in texts[0] and texts[1].startswith("收到：我要反映")
    assert agent.received[0].text == LONG[:MAX_MESSAGE_CHARS]


async def test_rest_bad_bodies(rest: tuple[httpx.AsyncClient, EchoAgent]) -> None:
    client, agent = rest
    big = json.dumps({"sender": "r2", "message": "x" * 70_000})
    assert (await client.post(REST, content=big, headers={"Content-Type": "application/json"})).status_code == 413
    assert (await client.post(REST, content=b"{not json", headers={"Content-Type": "application/json"})).status_code == 400
    assert (await client.post(REST, json=["a"])).status_code == 400
    assert (await client.post(REST, json={"sender": "r2", "message": {"x": 1}})).status_code == 400
    junk = await client.post(REST, json={"sender": "r2", "message": "\x00\x01\x02\x03\x04\x05\x06\x07\x08"})
    assert junk.status_code == 200 and [m["text"] for m in junk.json()] == [JUNK_NOTICE]
    assert agent.received == []
    hostile = "<script>alert(1)</script>'; DROP TABLE cases;--🙂"
    ok = await client.post(REST, json={"sender": "r2", "message": hostile})
    assert ok.json()[-1]["text"] == f"收到：{hostile}"
