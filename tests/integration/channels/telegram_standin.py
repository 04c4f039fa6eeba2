"""A local stand-in for the Telegram Bot API: records calls and answers like Telegram.

Serves ``POST /bot<token>/<method>`` for getMe, sendMessage, answerCallbackQuery (other
methods answer ``{"ok": true, "result": true}``) on 127.0.0.1 and a free port. A wrong token
gets Telegram's 401. Use ``base_url`` as TELEGRAM_API_BASE.

Runs in its own thread with its own event loop, so it can serve both in-process tests and
subprocesses (``rasa run``) alike.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class TelegramStandIn:
    token: str
    host: str = "127.0.0.1"
    port: int = 0
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None
    _message_id: int = 1000

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    # ---- recorded calls -------------------------------------------------------------------
    def calls_of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """sendMessage parameters, optionally of one chat."""
        return [c.params for c in self.calls_of("sendMessage")
                if chat_id is None or str(c.params.get("chat_id")) == str(chat_id)]

    def wait_for(self, method: str, count: int, timeout: float = 10.0, **match: Any) -> list[Call]:
        """Block until at least ``count`` calls of ``method`` whose params match were recorded."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.calls_of(method)
                     if all(str(c.params.get(k)) == str(v) for k, v in match.items())]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    # ---- HTTP ---------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        bot_part = request.match_info["bot"]
        method = request.match_info["method"]
        if bot_part != f"bot{self.token}":
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"},
                                     status=401)
        params: dict[str, Any]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        for key, value in list(params.items()):  # PTB sends nested objects JSON-encoded
            if isinstance(value, str) and value[:1] in "{[":
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
        with self._lock:
            self.calls.append(Call(method, params))
            self._message_id += 1
            message_id = self._message_id
        result: Any = True
        if method == "getMe":
            result = {"id": 4242, "is_bot": True, "first_name": "信访助手", "username": "xinfang_test_bot"}
        elif method == "sendMessage":
            chat_id = int(params.get("chat_id", 0))
            result = {
                "message_id": message_id, "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": 4242, "is_bot": True, "first_name": "信访助手"},
                "text": str(params.get("text", "")),
            }
            if "reply_markup" in params:
                result["reply_markup"] = params["reply_markup"]
        return web.json_response({"ok": True, "result": result})

    def start(self) -> TelegramStandIn:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            app = web.Application()
            app.router.add_post("/{bot}/{method}", self._handle)
            app.router.add_get("/{bot}/{method}", self._handle)
            self._runner = web.AppRunner(app)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, self.host, self.port)
            loop.run_until_complete(site.start())
            server = getattr(site, "_server", None)
            if server is not None and server.sockets:
                self.port = server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="telegram-standin", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("telegram stand-in did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
