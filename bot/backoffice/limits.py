"""Request-body limits of the back-office: too large → 413, malformed JSON → 400.

A pure ASGI middleware (no buffering of responses, works for every route and the console):

- a declared ``Content-Length`` above ``max_body_bytes`` is refused before anything is read;
- otherwise the body is read up to the limit (a chunked body that goes over is refused too)
  and handed on unchanged;
- a body declared as JSON (``application/json`` or ``+json``) that is not UTF-8 JSON is
  answered 400 in the API's error shape, instead of FastAPI's 422.

Installed by :func:`install_input_limits` from ``create_app``; the limit is ``MAX_BODY_BYTES``
(``Settings.max_body_bytes``, 1 MiB by default).
"""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI

from bot.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


def _error(code: str, detail: str, message: str) -> bytes:
    return json.dumps({"code": code, "detail": detail, "message": message}, ensure_ascii=False).encode("utf-8")


TOO_LARGE = ("payload_too_large", "请求内容太大，请精简后再试。")
MALFORMED_JSON = ("malformed_json", "请求内容不是有效的 JSON，请检查后再试。")


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(body)).encode("ascii")),
                    (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_body_bytes:
            await _respond(send, 413, _error(TOO_LARGE[0], f"body larger than {self.max_body_bytes} bytes", TOO_LARGE[1]))
            return
        if scope.get("method", "GET").upper() in _BODYLESS and declared in (None, "0"):
            await self.app(scope, receive, send)
            return

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"") or b""
            size += len(chunk)
            if size > self.max_body_bytes:
                await _respond(send, 413, _error(TOO_LARGE[0], f"body larger than {self.max_body_bytes} bytes", TOO_LARGE[1]))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)

        if body and _is_json(_header(scope, b"content-type")):
            try:
                json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                await _respond(send, 400, _error(MALFORMED_JSON[0], f"malformed JSON: {exc}", MALFORMED_JSON[1]))
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def install_input_limits(app: FastAPI, settings: Settings) -> None:
    """Add the body-limit middleware (outermost, so it runs before routing and parsing)."""
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
