"""The REST chat channel (``/webhooks/rest/webhook``): Rasa's RestInput plus outbox delivery.

``credentials.yml``: ``bot.channels.rest.RestInput:`` (no keys). Requests and replies are Rasa's
(``{"sender", "message", "metadata"}`` -> a JSON list of ``{"recipient_id", "text", "buttons"...}``;
``?stream=true`` streams them one JSON per line).

Each message records the sender as a contact (:func:`bot.outbox.service.record_inbound`). A REST
client cannot be pushed to unless it gives ``REST_CALLBACK_URL``: without it, messages queued for
the sender (status updates, staff replies) wait as ``held`` and are put in front of the bot's
answer to the sender's next message, marked sent. Only messages whose ``input_channel`` is
``rest`` take part (a client cannot claim another channel's messages by naming it).
If the database is down, the chat goes on without this (a warning in the log).
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.contacts import ContactRecorder
from bot.channels.gate import guarded
from bot.channels.guard import clean_message, refuse_bad_body
from bot.settings import Settings

log = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class RestInput(RasaRestInput):
    """Rasa's REST channel with contact tracking and held messages (module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RestInput:
        return cls(Settings.from_env())

    def __init__(self, settings: Settings | None = None, *, contacts: ContactRecorder | None = None) -> None:
        self.settings = settings if settings is not None else Settings.from_env()
        self.contacts = contacts if contacts is not None else ContactRecorder(self.settings)

    async def earlier_messages(self, sender_id: str | None, input_channel: str) -> list[dict[str, Any]]:
        """Record the message; without a callback URL, the sender's waiting messages to show first."""
        if not sender_id or input_channel != self.name():
            return []
        callback = bool(self.settings.rest_callback_url)
        await self.contacts.inbound(self.name(), sender_id, release_held=callback)
        if callback:
            return []
        return await self.contacts.take_held(self.name(), sender_id)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        on_new_message = guarded(on_new_message, self.contacts, self.name())  # handoff, no-answer notice

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Any:
            refused = refuse_bad_body(request, self.settings.max_body_bytes)  # 413 / 400 (bot/channels/guard.py)
            if refused is not None:
                return refused
            sender_id = await self._extract_sender(request)
            cleaned = clean_message(self._extract_message(request), self.settings.max_message_chars)
            if cleaned.junk:
                return response.json([{"recipient_id": sender_id, "text": cleaned.notice}])
            text = cleaned.text
            input_channel = self._extract_input_channel(request)
            metadata = self.get_metadata(request)
            earlier = await self.earlier_messages(sender_id, input_channel)
            if cleaned.notice:  # the rest of a long message was cut: say so before the answer
                earlier = [*earlier, {"recipient_id": sender_id, "text": cleaned.notice}]

            if bool_arg(request, "stream", default=False):
                answer = self.stream_response(on_new_message, text, sender_id, input_channel, metadata)

                async def stream(resp: Any) -> None:
                    for message in earlier:
                        await resp.write(json.dumps(message) + "\n")
                    await answer(resp)

                return response.stream(stream, content_type="text/event-stream")

            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender_id, input_channel=input_channel,
                                                 metadata=metadata))
            except asyncio.CancelledError:
                log.error("rest: handling the message of %s timed out", sender_id)
            except Exception:
                log.exception("rest: handling the message of %s failed", sender_id)
            return response.json(earlier + collector.messages)

        return bp
