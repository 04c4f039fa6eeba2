"""Long polling without a network: the offset file, the file base URL and the poll loop's
reactions to Telegram's answers (an in-memory httpx transport plays Telegram)."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.channels.telegram import file_base_url
from bot.channels.telegram_polling import OffsetStore, TelegramPoller
from bot.settings import Settings

TOKEN = "123456:ABC"


def test_offset_store_roundtrip_and_other_bot(tmp_path: Path) -> None:
    store = OffsetStore(tmp_path / "sub" / "offset.json", "123456")
    assert store.load() is None
    store.save(42)
    assert store.load() == 42
    assert json.loads((tmp_path / "sub" / "offset.json").read_text()) == {"bot_id": "123456", "offset": 42}
    assert OffsetStore(tmp_path / "sub" / "offset.json", "999").load() is None  # another bot's offset
    (tmp_path / "sub" / "offset.json").write_text("{broken")
    assert store.load() is None


@pytest.mark.parametrize(("api_base", "expected"), [
    ("https://api.telegram.org/bot", "https://api.telegram.org/file/bot"),
    ("http://127.0.0.1:8081/bot/", "http://127.0.0.1:8081/file/bot"),
    ("http://proxy.local/tg/bot", "http://proxy.local/tg/file/bot"),
])
def test_file_base_url(api_base: str, expected: str) -> None:
    assert file_base_url(api_base) == expected


class FakeTelegram:
    """Answers Bot API calls from a script: a list of (method, status, body)."""

    def __init__(self, script: list[tuple[str, int, dict[str, Any]]]) -> None:
        self.script = script
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.done = asyncio.Event()

    def handler(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        assert request.url.path.startswith(f"/bot{TOKEN}/")
        self.requests.append((method, json.loads(request.content or b"{}")))
        if not self.script:
            self.done.set()
            return httpx.Response(200, json={"ok": True, "result": []})
        expected, status, body = self.script.pop(0)
        assert method == expected, (method, expected)
        return httpx.Response(status, json=body)


def upd(update_id: int) -> dict[str, Any]:
    return {"update_id": update_id, "message": {"message_id": 1, "date": 1, "text": "x",
                                                "chat": {"id": 5, "type": "private"}}}


async def run_script(tmp_path: Path, script: list[tuple[str, int, dict[str, Any]]]) -> tuple[
        FakeTelegram, list[Any], TelegramPoller]:
    fake = FakeTelegram(script)
    accepted: list[Any] = []

    async def accept(raw: Any) -> None:
        accepted.append(raw)

    settings = Settings(telegram_token=TOKEN, telegram_api_base="http://tg.test/bot",
                        telegram_offset_file=str(tmp_path / "offset.json"))
    client = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    poller = TelegramPoller(settings, accept, client=client, poll_timeout=0, initial_backoff=0.01)
    task = poller.start()
    waiter = asyncio.ensure_future(fake.done.wait())
    await asyncio.wait({task, waiter}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    await poller.stop()
    waiter.cancel()
    await client.aclose()
    return fake, accepted, poller


async def test_poll_loop_hands_over_updates_and_survives_errors(tmp_path: Path) -> None:
    fake, accepted, poller = await run_script(tmp_path, [
        ("deleteWebhook", 200, {"ok": True, "result": True}),
        ("getUpdates", 200, {"ok": True, "result": [upd(10), upd(11), {"no_id": True}]}),
        ("getUpdates", 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}),
        ("getUpdates", 409, {"ok": False, "error_code": 409, "description": "Conflict: webhook is active"}),
        ("deleteWebhook", 200, {"ok": True, "result": True}),  # a conflict removes the webhook again
        ("getUpdates", 429, {"ok": False, "error_code": 429, "description": "Too Many Requests",
                             "parameters": {"retry_after": 0.01}}),
        ("getUpdates", 200, {"ok": True, "result": [upd(12)]}),
    ])
    assert [u.get("update_id") for u in accepted] == [10, 11, None, 12]
    offsets = [body.get("offset") for method, body in fake.requests if method == "getUpdates"]
    assert offsets[:3] == [None, 12, 12] and offsets[-1] == 13
    assert all(body["allowed_updates"] == ["message", "callback_query"]
               for method, body in fake.requests if method == "getUpdates")
    assert OffsetStore(tmp_path / "offset.json", "123456").load() == 13
    assert not poller.running


async def test_rejected_token_stops_polling(tmp_path: Path) -> None:
    fake, accepted, poller = await run_script(tmp_path, [
        ("deleteWebhook", 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}),
    ])
    assert accepted == [] and [m for m, _ in fake.requests] == ["deleteWebhook"]
    assert not poller.running
