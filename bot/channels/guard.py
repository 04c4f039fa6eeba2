"""Input hygiene shared by the chat channels (see bot/security/inbound.py for the rules).

A channel cleans the citizen's text with :func:`bot.security.inbound.clean_message`; junk is
answered with the cleaning's notice and not given to Rasa; a truncated message is processed
and the notice goes out first, through the same output channel as the bot's answer
(:func:`with_notice`), so the citizen reads it before the reply. JSON webhooks refuse
oversized (413) and malformed (400) bodies first (:func:`refuse_bad_body`).
"""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import response
from sanic.response import HTTPResponse

from bot.security.inbound import CleanMessage, clean_message

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

__all__ = ["CleanMessage", "OnNewMessage", "clean_message", "refuse_bad_body", "with_notice"]


def with_notice(on_new_message: OnNewMessage, notice: str | None) -> OnNewMessage:
    """``on_new_message`` that first sends ``notice`` (if any) to the message's sender."""
    if not notice:
        return on_new_message

    async def handle(message: UserMessage) -> Any:
        if message.output_channel is not None:
            await message.output_channel.send_text_message(message.sender_id, notice)
        return await on_new_message(message)

    return handle


def refuse_bad_body(request: Any, max_bytes: int) -> HTTPResponse | None:
    """413 for a body over ``max_bytes`` (declared or actual), 400 for one that is not a JSON
    object; None when the request may go on. For the JSON webhooks (REST)."""
    body = request.body or b""
    declared = request.headers.get("content-length", "")
    if len(body) > max_bytes or (declared.isdigit() and int(declared) > max_bytes):
        return response.json({"code": "payload_too_large", "detail": f"body larger than {max_bytes} bytes"},
                             status=413)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return response.json({"code": "malformed_json", "detail": "the body is not valid JSON"}, status=400)
    if not isinstance(data, dict):
        return response.json({"code": "invalid_input", "detail": "a JSON object is expected"}, status=400)
    message = data.get("message")
    if message is not None and not isinstance(message, str):
        return response.json({"code": "invalid_input", "detail": "message must be a string"}, status=400)
    return None
