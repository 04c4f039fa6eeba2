"""The Telegram channel mounted in a minimal Sanic app, talking to a local stand-in Bot API.

No Rasa model: ``on_new_message`` is a fake that echoes (and answers "按钮" with buttons).
"""
from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.channels.telegram import MAX_BODY_BYTES, SECRET_HEADER, TelegramInput
from bot.channels.telegram_mapping import MSG_ATTACHMENT, MSG_LOCATION
from bot.settings import Settings
from tests.integration.channels.telegram_standin import TelegramStandIn
from tests.rasa_fixtures import free_port

TOKEN = "123456:TEST-token"
SECRET = "s3cret-webhook"
LONG_PAYLOAD = '/inform{"category": "land_expropriation", "demand": "要求依法足额发放征地补偿款"}'
_app_names = itertools.count()


@pytest.fixture(scope="module")
def standin() -> Iterator[TelegramStandIn]:
    server = TelegramStandIn(TOKEN).start()
    yield server
    server.stop()


@dataclass
class Harness:
    url: str
    channel: TelegramInput
    standin: TelegramStandIn
    received: list[UserMessage]
    client: httpx.AsyncClient

    async def post(self, body: Any, *, secret: str | None = SECRET, raw: bytes | None = None) -> httpx.Response:
        headers = {} if secret is None else {SECRET_HEADER: secret}
        if raw is not None:
            headers["Content-Type"] = "application/json"
            resp = await self.client.post(self.url, content=raw, headers=headers)
        else:
            resp = await self.client.post(self.url, json=body, headers=headers)
        await self.channel.drain()
        return resp


async def _serve(settings: Settings, standin: TelegramStandIn) -> AsyncIterator[Harness]:
    standin.clear()
    channel = TelegramInput(settings)
    received: list[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        received.append(message)
        out = message.output_channel
        if message.text == "按钮":
            await out.send_text_with_buttons(message.sender_id, "请选择：", [
                {"title": "是", "payload": "/affirm"},
                {"title": "征地补偿", "payload": LONG_PAYLOAD},
            ])
        elif message.text == "长回复":
            await out.send_text_message(message.sender_id, "\n".join(["很长的一行回复内容。" * 20] * 60))
        else:
            await out.send_text_message(message.sender_id, f"收到：{message.text}")

    # test mode: several apps in one process (Sanic's start-up "touch-up" rewrites class
    # methods and fails on the second app otherwise)
    Sanic.test_mode = True
    app = Sanic(f"telegram_test_{next(_app_names)}")
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/telegram")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    assert server is not None
    await server.startup()
    async with httpx.AsyncClient(timeout=10) as client:
        yield Harness(f"http://127.0.0.1:{port}/webhooks/telegram/webhook", channel, standin, received, client)
    await channel.close()
    server.close()
    await server.wait_closed()


@pytest.fixture
async def tg(standin: TelegramStandIn) -> AsyncIterator[Harness]:
    settings = Settings(telegram_token=TOKEN, telegram_webhook_secret=SECRET, telegram_api_base=standin.base_url)
    async for harness in _serve(settings, standin):
        yield harness


def msg(update_id: int, chat_id: int = 77, **fields: Any) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id * 10, "date": 1700000000,
        "chat": {"id": chat_id, "type": "private", "first_name": "张"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "张"}, **fields,
    }}


def callback(update_id: int, data: str, chat_id: int = 77) -> dict[str, Any]:
    return {"update_id": update_id, "callback_query": {
        "id": f"cbq-{update_id}", "chat_instance": "ci", "data": data,
        "from": {"id": chat_id, "is_bot": False, "first_name": "张"},
        "message": {"message_id": 1, "date": 1700000000, "text": "请选择：",
                    "chat": {"id": chat_id, "type": "private"}},
    }}


async def test_text_message_is_echoed(tg: Harness) -> None:
    resp = await tg.post(msg(1, text="你好"))
    assert resp.status_code == 200
    [message] = tg.received
    assert (message.text, message.sender_id, message.input_channel) == ("你好", "77", "telegram")
    assert message.metadata["telegram"]["update_id"] == 1
    assert tg.standin.sent() == [{"chat_id": "77", "text": "收到：你好"}]


async def test_commands(tg: Harness) -> None:
    for i, command in enumerate(["/start", "/help", "/cancel", "/status"], start=10):
        assert (await tg.post(msg(i, text=command))).status_code == 200
    assert [m.text for m in tg.received] == ["/greet", "/help", "/cancel", "/check_status"]


async def test_buttons_and_callbacks(tg: Harness) -> None:
    await tg.post(msg(20, text="按钮"))
    [sent] = tg.standin.sent(77)
    assert sent["text"] == "请选择："
    rows = sent["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in rows] == [["是"], ["征地补偿"]]
    assert rows[0][0]["callback_data"] == "/affirm"
    key = rows[1][0]["callback_data"]
    assert key.startswith("k:") and len(key.encode()) <= 64

    tg.standin.clear()
    await tg.post(callback(21, key))
    await tg.post(callback(22, "/affirm"))
    assert [c.params["callback_query_id"] for c in tg.standin.calls_of("answerCallbackQuery")] == [
        "cbq-21", "cbq-22"]
    assert [m.text for m in tg.received[1:]] == [LONG_PAYLOAD, "/affirm"]
    assert [s["text"] for s in tg.standin.sent(77)] == [f"收到：{LONG_PAYLOAD}", "收到：/affirm"]


async def test_expired_button_key(tg: Harness) -> None:
    await tg.post(callback(25, "k:deadbeef"))
    assert tg.received == []
    assert len(tg.standin.calls_of("answerCallbackQuery")) == 1
    assert "失效" in tg.standin.sent(77)[0]["text"]


async def test_contact_location_attachment(tg: Harness) -> None:
    await tg.post(msg(30, contact={"phone_number": "8613812345678", "first_name": "张", "user_id": 77}))
    await tg.post(msg(31, location={"latitude": 30.274085, "longitude": 120.15507}))
    await tg.post(msg(32, document={"file_id": "f", "file_unique_id": "u", "file_name": "材料.pdf"}))
    assert [m.text for m in tg.received] == ["13812345678", "30.274085,120.155070"]
    assert [s["text"] for s in tg.standin.sent(77)] == [
        "收到：13812345678", MSG_LOCATION, "收到：30.274085,120.155070", MSG_ATTACHMENT]


async def test_long_reply_is_split(tg: Harness) -> None:
    await tg.post(msg(35, text="长回复"))
    texts = [s["text"] for s in tg.standin.sent(77)]
    assert len(texts) == 3 and all(len(t) <= 4096 for t in texts)


async def test_forged_or_missing_secret_is_refused(tg: Harness) -> None:
    assert (await tg.post(msg(40, text="x"), secret="wrong")).status_code == 403
    assert (await tg.post(msg(41, text="x"), secret=None)).status_code == 403
    assert (await tg.post(msg(42, text="x"), secret=SECRET + "x")).status_code == 403
    assert tg.received == [] and tg.standin.calls == []


async def test_duplicate_update_is_processed_once(tg: Harness) -> None:
    first = await tg.post(msg(50, text="一次"))
    second = await tg.post(msg(50, text="一次"))
    assert first.status_code == second.status_code == 200
    assert len(tg.received) == 1 and len(tg.standin.sent()) == 1


async def test_bad_bodies(tg: Harness) -> None:
    big = b'{"update_id": 60, "message": {"text": "' + b"x" * MAX_BODY_BYTES + b'"}}'
    resp = await tg.post(None, raw=big)
    assert resp.status_code == 413
    assert (await tg.post(None, raw=b"{not json")).status_code == 400
    assert (await tg.post(None, raw=b'{"message": {}}')).status_code == 400
    assert (await tg.post(None, raw=b"[1, 2]")).status_code == 400
    assert tg.received == [] and tg.standin.calls == []


async def test_other_updates_are_ignored_with_200(tg: Harness) -> None:
    chat = {"id": 77, "type": "private"}
    bodies = [
        {"update_id": 70, "edited_message": {"message_id": 1, "date": 1, "chat": chat, "text": "改"}},
        {"update_id": 71, "channel_post": {"message_id": 1, "date": 1,
                                           "chat": {"id": -100, "type": "channel"}, "text": "x"}},
        {"update_id": 72, "brand_new_update_type": {"x": 1}},
        {"update_id": 73, "poll_answer": {"poll_id": "p"}},  # unreadable by the library: still 200
        msg(74, chat_id=-5, text="群里说话"),  # group chats are not served
    ]
    for body in bodies:
        if body["update_id"] == 74:
            body["message"]["chat"]["type"] = "group"
        assert (await tg.post(body)).status_code == 200
    assert tg.received == [] and tg.standin.calls == []


async def test_messages_of_one_chat_keep_their_order(tg: Harness) -> None:
    texts = [f"第{i}条" for i in range(8)]
    await asyncio.gather(*(tg.client.post(tg.url, json=msg(80 + i, text=t), headers={SECRET_HEADER: SECRET})
                           for i, t in enumerate(texts)))
    await tg.channel.drain()
    assert sorted(m.text for m in tg.received) == sorted(texts)
    # the webhook answers in arrival order; replies follow the order messages were handled
    assert [s["text"] for s in tg.standin.sent(77)] == [f"收到：{m.text}" for m in tg.received]


async def test_disabled_channel_answers_404(standin: TelegramStandIn) -> None:
    async for h in _serve(Settings(telegram_api_base=standin.base_url), standin):
        resp = await h.post(msg(90, text="你好"))
        assert resp.status_code == 404 and resp.json()["error"]
        assert h.channel.get_output_channel() is None
        assert h.received == [] and standin.calls == []


async def test_no_secret_configured_refuses_everything(standin: TelegramStandIn) -> None:
    settings = Settings(telegram_token=TOKEN, telegram_api_base=standin.base_url)
    async for h in _serve(settings, standin):
        assert (await h.post(msg(91, text="你好"), secret="")).status_code == 403
        assert (await h.post(msg(92, text="你好"), secret="anything")).status_code == 403
        assert h.received == []


async def test_from_credentials_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    assert TelegramInput.from_credentials(None).enabled is False
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    channel = TelegramInput.from_credentials({})
    assert channel.enabled and channel.settings.telegram_webhook_secret == SECRET
    assert TelegramInput.name() == "telegram" and channel.url_prefix() == "telegram"
