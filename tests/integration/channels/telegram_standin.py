"""A local stand-in for the Telegram Bot API: records calls and answers like Telegram.

Serves ``POST /bot<token>/<method>`` for getMe, sendMessage, answerCallbackQuery, getFile,
getUpdates (long polling over updates queued with ``push_update``), setWebhook / deleteWebhook
(other methods answer ``{"ok": true, "result": true}``) and file downloads
``GET /file/bot<token>/<file_path>`` (files added with ``add_file``) on 127.0.0.1 and a free
port. A wrong token gets Telegram's 401. Use ``base_url`` as TELEGRAM_API_BASE.

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
    #: file_id -> (file_path, bytes), served by getFile and the file download route
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: updates waiting for getUpdates (confirmed ones are dropped when a higher offset arrives)
    updates: list[dict[str, Any]] = field(default_factory=list)
    webhook_url: str = ""
    webhook_secret: str = ""
    _update_event: asyncio.Event | None = None
    _closing: bool = False
    #: injected failures [method, status, delay, calls to let through first] (see ``fail_next``)
    _failures: list[list[Any]] = field(default_factory=list)
    #: calls answered with an injected failure (not in ``calls``)
    failed_calls: list[Call] = field(default_factory=list)

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

    def fail_next(self, count: int = 1, *, status: int = 500, delay: float = 0.0,
                  method: str = "sendMessage", after: int = 0) -> None:
        """Answer ``count`` calls of ``method`` with HTTP ``status`` (after ``delay`` seconds: a
        delay longer than the client's timeout is a timeout) instead of handling them, once
        ``after`` calls of it have gone through normally."""
        with self._lock:
            self._failures.extend([[method, status, delay, after]] + [[method, status, delay, 0]] * (count - 1))

    def _take_failure(self, method: str) -> tuple[int, float] | None:
        with self._lock:
            for index, entry in enumerate(self._failures):
                if entry[0] == method:
                    if entry[3] > 0:
                        entry[3] -= 1
                        return None
                    del self._failures[index]
                    return entry[1], entry[2]
        return None

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
            self.failed_calls.clear()
            self.calls.clear()

    # ---- files and updates ------------------------------------------------------------------
    def add_file(self, file_id: str, data: bytes, file_path: str | None = None) -> str:
        """Make ``file_id`` downloadable; returns its file_path."""
        path = file_path or f"documents/{file_id}"
        with self._lock:
            self.files[file_id] = (path, data)
        return path

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates (wakes a waiting long poll)."""
        with self._lock:
            self.updates.append(update)
        if self._loop is not None and self._update_event is not None:
            self._loop.call_soon_threadsafe(self._update_event.set)

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        if self.webhook_url:
            return web.json_response({"ok": False, "error_code": 409, "description":
                                      "Conflict: can't use getUpdates method while webhook is active"}, status=409)
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        assert self._update_event is not None
        while True:
            with self._lock:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                ready = list(self.updates)
                self._update_event.clear()
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closing:
                return web.json_response({"ok": True, "result": ready})
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._update_event.wait(), remaining)

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["bot"] != f"bot{self.token}":
            return web.Response(status=401)
        wanted = request.match_info["path"]
        with self._lock:
            self.calls.append(Call("download", {"file_path": wanted}))
            found = next((data for path, data in self.files.values() if path == wanted), None)
        if found is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=found, content_type="application/octet-stream")

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
        failure = self._take_failure(method)
        if failure is not None:
            status, delay = failure
            with self._lock:
                self.failed_calls.append(Call(method, params))
            if delay:
                await asyncio.sleep(delay)
            return web.json_response({"ok": False, "error_code": status, "description": "Injected failure"},
                                     status=status)
        with self._lock:
            self.calls.append(Call(method, params))
            self._message_id += 1
            message_id = self._message_id
        result: Any = True
        if method == "getUpdates":
            return await self._get_updates(params)
        if method == "setWebhook":
            self.webhook_url, self.webhook_secret = str(params.get("url", "")), str(params.get("secret_token", ""))
        elif method == "deleteWebhook":
            self.webhook_url = self.webhook_secret = ""
        elif method == "getFile":
            file_id = str(params.get("file_id", ""))
            with self._lock:
                known = self.files.get(file_id)
            if known is None:
                return web.json_response({"ok": False, "error_code": 400,
                                          "description": "Bad Request: invalid file_id"}, status=400)
            result = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": len(known[1]),
                      "file_path": known[0]}
        elif method == "getMe":
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
            self._update_event = asyncio.Event()
            app = web.Application()
            app.router.add_get("/file/{bot}/{path:.+}", self._download)
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
            self._closing = True  # answer pending long polls at once
            if self._update_event is not None:
                self._loop.call_soon_threadsafe(self._update_event.set)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
