"""The Telegram channel mounted in a minimal Sanic app, talking to a local stand-in Bot API.

No Rasa model: ``on_new_message`` is a fake that echoes (and answers "按钮" with buttons).
Updates are real Update JSON; photos and documents are downloaded from the stand-in (getFile +
file route) into a throw-away SQLite database and attachment directory.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.channels.telegram import MAX_BODY_BYTES, SECRET_HEADER, TelegramInput
from bot.channels.telegram_mapping import MSG_CONTACT_NOT_OWN, MSG_LOCATION
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


async def _serve(settings: Settings, standin: TelegramStandIn, *, lifecycle: bool = False) -> AsyncIterator[Harness]:
    """The channel in a Sanic server; ``lifecycle`` also runs the start/stop listeners
    (webhook registration or long polling) the way ``rasa run`` does."""
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
    if lifecycle:
        await server.after_start()
    async with httpx.AsyncClient(timeout=10) as client:
        yield Harness(f"http://127.0.0.1:{port}/webhooks/telegram/webhook", channel, standin, received, client)
    if lifecycle:
        await server.before_stop()
    await channel.close()
    server.close()
    await server.wait_closed()


def channel_settings(standin: TelegramStandIn, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        telegram_token=TOKEN, telegram_webhook_secret=SECRET, telegram_api_base=standin.base_url,
        database_url=f"sqlite:///{tmp_path / 'cases.db'}", attachments_dir=str(tmp_path / "files"),
        telegram_offset_file=str(tmp_path / "telegram_offset.json"),
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def tg(standin: TelegramStandIn, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = channel_settings(standin, tmp_path)
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


async def test_contact_and_location(tg: Harness) -> None:
    await tg.post(msg(30, contact={"phone_number": "8613812345678", "first_name": "张", "user_id": 77}))
    await tg.post(msg(31, contact={"phone_number": "13900001111", "first_name": "李", "user_id": 99}))
    await tg.post(msg(32, location={"latitude": 30.274085, "longitude": 120.15507}))
    venue = {"location": {"latitude": 30.27, "longitude": 120.15}, "title": "文三路社区",
             "address": "浙江省杭州市西湖区文三路8号"}
    await tg.post(msg(33, venue=venue, location=venue["location"]))
    assert [m.text for m in tg.received] == ["13812345678", "浙江省杭州市西湖区文三路8号（文三路社区）"]
    assert [s["text"] for s in tg.standin.sent(77)] == [
        "收到：13812345678", MSG_CONTACT_NOT_OWN, MSG_LOCATION, "收到：浙江省杭州市西湖区文三路8号（文三路社区）"]


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


# ---- media: photos and documents become pending attachments -----------------------------------
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(200))
PDF = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n"


def photo_sizes(large_id: str) -> list[dict[str, Any]]:
    return [
        {"file_id": "thumb-" + large_id, "file_unique_id": "t", "width": 90, "height": 90, "file_size": 900},
        {"file_id": large_id, "file_unique_id": "l", "width": 1280, "height": 960, "file_size": len(JPEG)},
    ]


def pending(h: Harness) -> list[tuple[str, str, str, int, bytes]]:
    from bot.cases.attachments import attachment_path, pending_attachments

    rows = pending_attachments(h.channel.sink.session_factory(), "telegram", "77")
    return [(a.kind, a.filename, a.content_type, a.size, attachment_path(h.channel.sink.policy, a).read_bytes())
            for a in rows]


async def test_photo_largest_size_downloaded_and_stored(tg: Harness) -> None:
    tg.standin.add_file("photo-big", JPEG, "photos/file_7.jpg")
    await tg.post(msg(100, photo=photo_sizes("photo-big"), caption="村委会贴出的通知"))
    assert [c.params["file_id"] for c in tg.standin.calls_of("getFile")] == ["photo-big"]
    assert [c.params["file_path"] for c in tg.standin.calls_of("download")] == ["photos/file_7.jpg"]
    texts = [s["text"] for s in tg.standin.sent(77)]
    assert texts[0].startswith("已收到您发送的图片") and "附上" in texts[0]
    assert texts[1:] == ["收到：村委会贴出的通知"]  # the caption goes on to the dialogue
    assert pending(tg) == [("photo", "照片.jpg", "image/jpeg", len(JPEG), JPEG)]


async def test_document_downloaded_with_its_name(tg: Harness) -> None:
    tg.standin.add_file("doc-1", PDF, "documents/file_3.pdf")
    await tg.post(msg(101, document={"file_id": "doc-1", "file_unique_id": "d1", "file_name": "工资条.pdf",
                                     "mime_type": "application/pdf", "file_size": len(PDF)}))
    [reply] = [s["text"] for s in tg.standin.sent(77)]
    assert "工资条.pdf" in reply and reply.startswith("已收到")
    assert pending(tg) == [("document", "工资条.pdf", "application/pdf", len(PDF), PDF)]
    assert tg.received == []  # nothing for the dialogue without a caption


async def test_refused_files_are_not_downloaded(tg: Harness) -> None:
    await tg.post(msg(102, document={"file_id": "exe", "file_unique_id": "x", "file_name": "工具.exe",
                                     "mime_type": "application/x-msdownload", "file_size": 3000}))
    await tg.post(msg(103, document={"file_id": "huge", "file_unique_id": "h", "file_name": "扫描件.pdf",
                                     "mime_type": "application/pdf", "file_size": 30 * 1024 * 1024}))
    texts = [s["text"] for s in tg.standin.sent(77)]
    assert "只能接收" in texts[0] and "10 MB" in texts[1]
    assert tg.standin.calls_of("getFile") == [] and pending(tg) == []


async def test_content_is_checked_after_download(tg: Harness) -> None:
    # declared a PDF, really a Windows program: refused after the download, nothing stored
    tg.standin.add_file("fake", b"MZ\x90\x00\x03" + bytes(100), "documents/fake.pdf")
    await tg.post(msg(104, document={"file_id": "fake", "file_unique_id": "f", "file_name": "材料.pdf"}))
    # a file Telegram no longer has
    await tg.post(msg(105, document={"file_id": "gone", "file_unique_id": "g", "file_name": "a.pdf"}))
    texts = [s["text"] for s in tg.standin.sent(77)]
    assert "只能接收" in texts[0] and "没能接收成功" in texts[1]
    assert pending(tg) == []


async def test_size_limit_applies_to_undeclared_sizes(standin: TelegramStandIn, tmp_path: Path) -> None:
    async for h in _serve(channel_settings(standin, tmp_path, attachments_max_bytes=100), standin):
        h.standin.add_file("photo-big", JPEG, "photos/big.jpg")  # getFile reports 212 bytes > 100
        await h.post(msg(106, photo=[{"file_id": "photo-big", "file_unique_id": "l", "width": 10, "height": 10}]))
        [reply] = [s["text"] for s in h.standin.sent(77)]
        assert "大小限制" in reply and h.standin.calls_of("download") == []


# ---- start-up: webhook registration or long polling ---------------------------------------------
async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_webhook_url_is_registered_on_start(standin: TelegramStandIn, tmp_path: Path) -> None:
    settings = channel_settings(standin, tmp_path, telegram_webhook_url="https://bot.example.gov.cn/webhooks/telegram/webhook")
    async for h in _serve(settings, standin, lifecycle=True):
        [call] = h.standin.calls_of("setWebhook")
        assert call.params["url"] == "https://bot.example.gov.cn/webhooks/telegram/webhook"
        assert call.params["secret_token"] == SECRET
        assert call.params["allowed_updates"] == ["message", "callback_query"]
        assert h.channel.poller is None and h.standin.calls_of("getUpdates") == []


async def test_long_polling_without_webhook_url(standin: TelegramStandIn, tmp_path: Path) -> None:
    settings = channel_settings(standin, tmp_path)
    offset_file = Path(settings.telegram_offset_file)
    standin.webhook_url = "https://stale.example/hook"  # left over from an earlier deployment
    standin.updates.clear()
    async for h in _serve(settings, standin, lifecycle=True):
        assert h.channel.poller is not None and h.channel.poller.running
        h.standin.push_update(msg(500, text="你好"))
        h.standin.push_update(msg(501, text="/status"))
        await eventually(lambda h=h: len(h.standin.sent(77)) >= 2)
        assert [m.text for m in h.received] == ["你好", "/check_status"]
        assert h.received[0].input_channel == "telegram" and h.received[0].sender_id == "77"
        assert h.standin.calls_of("deleteWebhook") and not h.standin.webhook_url
        await eventually(lambda: offset_file.exists())
        assert json.loads(offset_file.read_text()) == {"bot_id": "123456", "offset": 502}
        poller = h.channel.poller
    # stopped with the server: the pending long poll was cancelled
    assert not poller.running

    # a restart resumes after the saved offset; an older update is never delivered again
    standin.clear()
    standin.updates.clear()
    standin.push_update(msg(501, text="/status"))
    standin.push_update(msg(502, text="还在吗"))
    async for h in _serve(settings, standin, lifecycle=True):
        await eventually(lambda h=h: len(h.standin.sent(77)) >= 1)
        assert [m.text for m in h.received] == ["还在吗"]
        assert h.standin.calls_of("getUpdates")[0].params["offset"] == 502
