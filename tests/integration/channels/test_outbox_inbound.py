"""The input channels' side of the outbox, over real HTTP: contacts, held messages, the REST
channel (held messages in the webhook reply, or a callback URL), WeChat numbered options."""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aiohttp import web
from rasa.core.channels.channel import InputChannel, UserMessage, register
from sanic import Sanic
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.cases.db import transaction
from bot.cases.deadlines import utcnow
from bot.channels.contacts import ContactRecorder
from bot.channels.rest import RestInput
from bot.channels.senders import RestCallbackSender, make_senders
from bot.channels.telegram import SECRET_HEADER, TelegramInput
from bot.channels.wechat import WeChatInput
from bot.channels.wechat_api import WeChatApiClient
from bot.outbox.dispatcher import Dispatcher, RetryPolicy
from bot.outbox.models import Contact, OutboxMessage
from bot.outbox.service import record_inbound
from bot.outbox.tokens import DbTokenStore
from bot.settings import Settings
from tests.integration.channels.telegram_standin import TelegramStandIn
from tests.integration.channels.wechat_standin import (
    APPID,
    SECRET,
    TOKEN,
    WeChatStandIn,
    plain_request,
    text_xml,
)
from tests.integration.outbox.helpers import queue, row
from tests.rasa_fixtures import free_port

Sanic.test_mode = True
_apps = itertools.count()
_msg_ids = itertools.count(int(time.time()) * 1000 + 500_000)
POLICY = RetryPolicy(base_seconds=10, max_seconds=600, max_attempts=3, jitter=0.0, lease_seconds=20)
BUTTONS = [{"title": "满意", "payload": "/rate_case{\"rating\": \"satisfied\"}"},
           {"title": "不满意", "payload": "/rate_case{\"rating\": \"unsatisfied\"}"}]
UNREACHABLE_DB = "postgresql+psycopg2://nobody@127.0.0.1:1/none?connect_timeout=2"


@dataclass
class EchoAgent:
    """Stands in for rasa's Agent: answers every message with "收到：<text>"."""

    received: list[UserMessage] = field(default_factory=list)

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        await message.output_channel.send_response(message.sender_id, {"text": f"收到：{message.text}"})


Serve = Callable[[InputChannel], Awaitable[tuple[httpx.AsyncClient, EchoAgent]]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    running: list[Any] = []

    async def start(channel: InputChannel) -> tuple[httpx.AsyncClient, EchoAgent]:
        app = Sanic(f"outbox_inbound_{next(_apps)}")
        app.config.MOTD = False
        agent = EchoAgent()
        app.ctx.agent = agent
        register([channel], app, route="/webhooks/")
        port = free_port()
        server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
        assert server is not None
        await server.startup()
        if not server.is_serving():
            await server.start_serving()
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10)
        running.append((server, client, channel))
        return client, agent

    yield start
    for server, client, channel in running:
        if hasattr(channel, "drain"):
            await channel.drain()
        await client.aclose()
        server.close()
        await server.wait_closed()


def contacts_of(session_factory: sessionmaker) -> list[tuple[str, str]]:
    with transaction(session_factory) as session:
        return [(c.channel, c.sender_id) for c in session.execute(select(Contact).order_by(Contact.id)).scalars()]


def dispatcher(settings: Settings, session_factory: sessionmaker) -> Dispatcher:
    return Dispatcher(session_factory, make_senders(settings, session_factory), POLICY)


# ---- REST without a callback URL: held messages come with the next reply ---------------------------
async def test_rest_held_messages_are_prepended_to_the_next_reply(
        session_factory: sessionmaker, serve: Serve) -> None:
    settings = Settings()
    status_id = queue(session_factory, channel="rest", recipient="web-1", text="您的信访事项已受理。", at=utcnow())
    rating_id = queue(session_factory, channel="rest", recipient="web-1", text="请您评价办理结果。",
                      buttons=BUTTONS, at=utcnow())
    assert (await dispatcher(settings, session_factory).run_once()).held == 2  # no callback URL
    assert {row(session_factory, i).state for i in (status_id, rating_id)} == {"held"}

    client, agent = await serve(RestInput(settings, contacts=ContactRecorder(settings, session_factory)))
    resp = await client.post("/webhooks/rest/webhook", json={"sender": "web-1", "message": "你好"})
    assert resp.status_code == 200
    assert resp.json() == [
        {"recipient_id": "web-1", "text": "您的信访事项已受理。"},
        {"recipient_id": "web-1", "text": "请您评价办理结果。", "buttons": BUTTONS},
        {"recipient_id": "web-1", "text": "收到：你好"},
    ]
    assert {row(session_factory, i).state for i in (status_id, rating_id)} == {"sent"}
    assert contacts_of(session_factory) == [("rest", "web-1")]
    again = await client.post("/webhooks/rest/webhook", json={"sender": "web-1", "message": "还在吗"})
    assert again.json() == [{"recipient_id": "web-1", "text": "收到：还在吗"}]
    assert [m.sender_id for m in agent.received] == ["web-1", "web-1"]


async def test_rest_stream_reply_starts_with_held_messages(session_factory: sessionmaker, serve: Serve) -> None:
    settings = Settings()
    queue(session_factory, channel="rest", recipient="web-2", text="工作人员回复：请补充材料。", at=utcnow())
    client, _ = await serve(RestInput(settings, contacts=ContactRecorder(settings, session_factory)))
    resp = await client.post("/webhooks/rest/webhook?stream=true", json={"sender": "web-2", "message": "好的"})
    lines = [json.loads(line) for line in resp.text.splitlines() if line.strip()]
    assert [m["text"] for m in lines] == ["工作人员回复：请补充材料。", "收到：好的"]


async def test_rest_other_input_channel_does_not_take_messages(session_factory: sessionmaker, serve: Serve) -> None:
    settings = Settings()
    message_id = queue(session_factory, channel="rest", recipient="web-3", text="仅限本人", at=utcnow())
    client, _ = await serve(RestInput(settings, contacts=ContactRecorder(settings, session_factory)))
    resp = await client.post("/webhooks/rest/webhook",
                             json={"sender": "web-3", "message": "你好", "input_channel": "telegram"})
    assert [m["text"] for m in resp.json()] == ["收到：你好"]
    assert row(session_factory, message_id).state == "pending" and contacts_of(session_factory) == []


async def test_rest_chat_works_while_the_database_is_down(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(database_url=UNREACHABLE_DB)
    client, _ = await serve(RestInput(settings))
    with caplog.at_level(logging.WARNING, logger="bot.channels.contacts"):
        resp = await client.post("/webhooks/rest/webhook", json={"sender": "web-4", "message": "你好"})
    assert resp.status_code == 200 and resp.json() == [{"recipient_id": "web-4", "text": "收到：你好"}]
    assert any("chat goes on" in r.getMessage() for r in caplog.records)


# ---- REST with a callback URL ---------------------------------------------------------------------
@dataclass
class CallbackStandIn:
    """The REST client's callback endpoint: records POSTs; can fail the next calls."""

    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    failures: list[tuple[int, float]] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.failures:
            status, delay = self.failures.pop(0)
            if delay:
                await asyncio.sleep(delay)
            return web.Response(status=status)
        self.received.append(body)
        self.headers.append(dict(request.headers))
        return web.json_response({"ok": True})

    async def start(self) -> CallbackStandIn:
        app = web.Application()
        app.router.add_post("/callback", self._post)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/callback"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def callback() -> AsyncIterator[CallbackStandIn]:
    server = await CallbackStandIn().start()
    yield server
    await server.stop()


async def test_rest_callback_delivers_once_after_failures(session_factory: sessionmaker,
                                                         callback: CallbackStandIn) -> None:
    at = utcnow()
    message_id = queue(session_factory, channel="rest", recipient="app-1", text="您的信访事项已转送。",
                       buttons=BUTTONS, at=at)
    callback.failures = [(503, 0.0), (200, 1.0)]  # a 5xx, then an answer later than the client waits
    d = Dispatcher(session_factory, {"rest": RestCallbackSender(callback.url, timeout=0.3)}, POLICY)
    assert (await d.run_once(at)).retried == 1
    assert (await d.run_once(at + timedelta(minutes=1))).retried == 1
    assert "timeout" in (row(session_factory, message_id).last_error or "")
    assert (await d.run_once(at + timedelta(minutes=2))).sent == 1
    assert callback.received == [{"recipient_id": "app-1", "text": "您的信访事项已转送。", "buttons": BUTTONS}]
    assert callback.headers[0]["X-Outbox-Message-Id"] == str(message_id)
    assert (await d.run_once(at + timedelta(hours=1))).total == 0
    await d.aclose()


async def test_rest_callback_refusal_fails(session_factory: sessionmaker, callback: CallbackStandIn) -> None:
    settings = Settings(rest_callback_url=callback.url)
    message_id = queue(session_factory, channel="rest", recipient="app-2", text="x", at=utcnow())
    callback.failures = [(404, 0.0)]
    d = dispatcher(settings, session_factory)
    assert (await d.run_once()).failed == 1
    assert row(session_factory, message_id).last_error == "rest callback answered HTTP 404"
    await d.aclose()


async def test_rest_with_callback_releases_held_messages_at_the_next_message(
        session_factory: sessionmaker, serve: Serve, callback: CallbackStandIn) -> None:
    message_id = queue(session_factory, channel="rest", recipient="app-3", text="早先的消息", at=utcnow())
    assert (await dispatcher(Settings(), session_factory).run_once()).held == 1  # no callback yet
    settings = Settings(rest_callback_url=callback.url)
    client, _ = await serve(RestInput(settings, contacts=ContactRecorder(settings, session_factory)))
    resp = await client.post("/webhooks/rest/webhook", json={"sender": "app-3", "message": "你好"})
    assert resp.json() == [{"recipient_id": "app-3", "text": "收到：你好"}]  # not in the reply ...
    assert row(session_factory, message_id).state == "pending"  # ... but due again
    d = dispatcher(settings, session_factory)
    assert (await d.run_once()).sent == 1
    assert [b["text"] for b in callback.received] == ["早先的消息"]
    await d.aclose()


# ---- WeChat: the 48-hour window opens with the citizen's message --------------------------------------
@pytest.fixture
async def wx() -> AsyncIterator[WeChatStandIn]:
    server = WeChatStandIn()
    await server.start()
    yield server
    await server.stop()


async def test_wechat_message_releases_held_and_a_number_answers_the_outbox_options(
        session_factory: sessionmaker, serve: Serve, wx: WeChatStandIn) -> None:
    openid = "oInbound00000000000000000001"
    settings = Settings(wechat_token=TOKEN, wechat_appid=APPID, wechat_secret=SECRET, wechat_api_base=wx.base_url)
    message_id = queue(session_factory, channel="wechat", recipient=openid, text="您的信访事项已办结，请您评价。",
                       buttons=BUTTONS, at=utcnow())
    d = Dispatcher(session_factory, make_senders(settings, session_factory), POLICY)
    assert (await d.run_once()).held == 1  # never wrote to us: no window

    api = WeChatApiClient(APPID, SECRET, wx.base_url, token_store=DbTokenStore(session_factory))
    channel = WeChatInput(settings, reply_timeout=2.0, api_client=api,
                          contacts=ContactRecorder(settings, session_factory))
    client, agent = await serve(channel)
    query, body = plain_request(text_xml(openid, "你好", next(_msg_ids)))
    resp = await client.post(f"/webhooks/wechat/webhook?{query}", content=body.encode())
    assert resp.status_code == 200 and "收到：你好" in resp.text
    assert contacts_of(session_factory) == [("wechat", openid)]
    assert row(session_factory, message_id).state == "pending"
    assert (await d.run_once()).sent == 1
    [sent] = wx.sent()
    assert sent["text"]["content"].endswith("回复 1：满意\n回复 2：不满意")

    query, body = plain_request(text_xml(openid, "1", next(_msg_ids)))
    await client.post(f"/webhooks/wechat/webhook?{query}", content=body.encode())
    assert agent.received[-1].text == BUTTONS[0]["payload"]
    await d.aclose()


# ---- Telegram ---------------------------------------------------------------------------------------
async def test_telegram_message_records_the_contact_and_releases_held(
        session_factory: sessionmaker, serve: Serve) -> None:
    token, secret = "777:INBOUND", "inbound-secret"
    standin = TelegramStandIn(token).start()
    try:
        settings = Settings(telegram_token=token, telegram_webhook_secret=secret,
                            telegram_api_base=standin.base_url)
        message_id = queue(session_factory, channel="telegram", recipient="4242", text="等您回来", at=utcnow())
        record_inbound(session_factory, "telegram", "4242", utcnow() - timedelta(days=1))
        with transaction(session_factory, write=True) as session:  # held earlier (e.g. no token then)
            held = session.get(OutboxMessage, message_id)
            assert held is not None
            held.state = "held"
        channel = TelegramInput(settings, contacts=ContactRecorder(settings, session_factory))
        client, agent = await serve(channel)
        update = {"update_id": 9001, "message": {
            "message_id": 1, "date": 1700000000, "text": "你好",
            "chat": {"id": 4242, "type": "private"}, "from": {"id": 4242, "is_bot": False, "first_name": "王"}}}
        resp = await client.post("/webhooks/telegram/webhook", json=update, headers={SECRET_HEADER: secret})
        assert resp.status_code == 200
        await channel.drain()
        assert [m.text for m in agent.received] == ["你好"]
        assert row(session_factory, message_id).state == "pending"
        d = dispatcher(settings, session_factory)
        assert (await d.run_once()).sent == 1
        assert [m["text"] for m in standin.sent(4242)] == ["收到：你好", "等您回来"]
        await d.aclose()
    finally:
        standin.stop()
