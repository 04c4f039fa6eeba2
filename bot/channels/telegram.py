"""Telegram Rasa channel (python-telegram-bot 22 objects, webhook mode).

Enable it in credentials.yml with ``bot.channels.telegram.TelegramInput:`` (no keys: the
settings come from the environment, see docs/channels.md). Without TELEGRAM_TOKEN the channel
is disabled and its webhook answers 404.
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Forbidden, RetryAfter, TelegramError

from bot.channels.buttons import normalize_buttons
from bot.channels.telegram_mapping import (
    CallbackStore,
    Inbound,
    UpdateDeduper,
    split_text,
    update_to_inbound,
)
from bot.settings import Settings

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BUTTONS_FALLBACK_TEXT = "请选择："
DRAIN_TIMEOUT = 10.0

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class TelegramOutput(OutputChannel):
    """Sends Rasa's replies with the Bot API. Send failures are logged, never raised: an
    exception here would abort Rasa's turn before the tracker is saved."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    def __init__(self, bot: Bot, callbacks: CallbackStore) -> None:
        self.bot = bot
        self.callbacks = callbacks

    async def _send(self, chat_id: int | str, text: str, reply_markup: Any = None) -> None:
        for attempt in (1, 2):
            try:
                await self.bot.send_message(chat_id=chat_id, text=text, reply_markup=reply_markup)
                return
            except RetryAfter as exc:
                wait = exc.retry_after
                seconds = wait if isinstance(wait, (int, float)) else wait.total_seconds()
                if attempt == 2:
                    break
                await asyncio.sleep(min(float(seconds), 5.0))
            except Forbidden as exc:  # the citizen blocked the bot: nothing to do
                logger.info("telegram: chat %s does not accept messages: %s", chat_id, exc)
                return
            except TelegramError as exc:
                if attempt == 2:
                    logger.error("telegram: sendMessage to %s failed: %s", chat_id, exc)
                    return
        logger.error("telegram: sendMessage to %s rate-limited twice, reply dropped", chat_id)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for chunk in split_text(text):
            await self._send(recipient_id, chunk)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any,
    ) -> None:
        choices = normalize_buttons(buttons)
        chunks = split_text(text) or [BUTTONS_FALLBACK_TEXT]
        for chunk in chunks[:-1]:
            await self._send(recipient_id, chunk)
        markup = None
        if choices:
            markup = InlineKeyboardMarkup([
                [InlineKeyboardButton(b.title, callback_data=self.callbacks.callback_data(b.payload))]
                for b in choices
            ])
        await self._send(recipient_id, chunks[-1], reply_markup=markup)

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        logger.debug("telegram: custom json reply ignored for %s", recipient_id)

    async def answer_callback(self, callback_query_id: str) -> None:
        try:
            await self.bot.answer_callback_query(callback_query_id)
        except TelegramError as exc:  # too old or already answered: harmless
            logger.info("telegram: answerCallbackQuery failed: %s", exc)


class TelegramInput(InputChannel):
    """Webhook ``/webhooks/telegram/webhook``.

    The request is checked (secret header, size, JSON, duplicate update_id) and answered 200 at
    once; the message is then handed to Rasa in a background task. Tasks of one chat run in
    arrival order; ``drain()`` waits for all of them (called before the server stops).
    """

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TelegramInput:
        settings = Settings.from_env()
        if not settings.telegram_enabled:
            logger.info("telegram channel not enabled: TELEGRAM_TOKEN is not set")
        elif not settings.telegram_webhook_secret:
            logger.warning("telegram: TELEGRAM_WEBHOOK_SECRET is not set, every webhook call is refused")
        return cls(settings)

    def __init__(self, settings: Settings, *, bot: Bot | None = None) -> None:
        self.settings = settings
        self.enabled = settings.telegram_enabled
        self.callbacks = CallbackStore()
        self.deduper = UpdateDeduper()
        self._bot = bot
        self._tail: dict[int, asyncio.Task[None]] = {}  # last task per chat, for ordering
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- Bot API ------------------------------------------------------------------------
    def bot(self) -> Bot:
        """The Bot, created on first use (inside the server's event loop)."""
        if self._bot is None:
            self._bot = Bot(self.settings.telegram_token, base_url=self.settings.telegram_api_base)
        return self._bot

    def get_output_channel(self) -> OutputChannel | None:
        if not self.enabled:
            return None
        return TelegramOutput(self.bot(), self.callbacks)

    # ---- request checks -------------------------------------------------------------------
    def _secret_ok(self, request: Request) -> bool:
        expected = self.settings.telegram_webhook_secret
        if not expected:
            logger.warning("telegram: webhook refused, TELEGRAM_WEBHOOK_SECRET is not configured")
            return False
        given = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))

    async def handle_webhook(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        if not self.enabled:
            return response.json({"error": "telegram channel is not enabled"}, status=404)
        if not self._secret_ok(request):
            return response.json({"error": "forbidden"}, status=403)
        body = request.body or b""
        declared = request.headers.get("content-length", "")
        if len(body) > MAX_BODY_BYTES or (declared.isdigit() and int(declared) > MAX_BODY_BYTES):
            return response.json({"error": "payload too large"}, status=413)
        try:
            data = json.loads(body)
        except ValueError as exc:
            logger.info("telegram: malformed JSON refused: %s", exc)
            return response.json({"error": "malformed JSON"}, status=400)
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return response.json({"error": "not a Telegram update"}, status=400)
        if not self.deduper.first_time(update_id):
            logger.info("telegram: duplicate update %s ignored", update_id)
            return response.json({"ok": True, "duplicate": True})
        inbound = None
        try:
            # A well-formed update that python-telegram-bot cannot read (a newer Bot API
            # field, an update type we do not handle) is acknowledged and ignored: a non-2xx
            # answer would only make Telegram send it again and again.
            inbound = update_to_inbound(Update.de_json(data, None), self.callbacks)
        except Exception:
            logger.exception("telegram: update %s ignored, could not read it", update_id)
        if inbound is not None:
            self._schedule(inbound, on_new_message)
        return response.json({"ok": True})

    # ---- processing -----------------------------------------------------------------------
    def _schedule(self, inbound: Inbound, on_new_message: OnNewMessage) -> None:
        previous = self._tail.get(inbound.chat_id)
        task = asyncio.get_running_loop().create_task(self._process(previous, inbound, on_new_message))
        self._tail[inbound.chat_id] = task
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            if self._tail.get(inbound.chat_id) is t:
                del self._tail[inbound.chat_id]

        task.add_done_callback(done)

    async def _process(
        self, previous: asyncio.Task[None] | None, inbound: Inbound, on_new_message: OnNewMessage,
    ) -> None:
        if previous is not None:
            with contextlib.suppress(BaseException):
                await previous
        out = TelegramOutput(self.bot(), self.callbacks)
        try:
            if inbound.callback_query_id:
                await out.answer_callback(inbound.callback_query_id)
            for notice in inbound.notices:
                await out.send_text_message(str(inbound.chat_id), notice)
            if inbound.text:
                await on_new_message(UserMessage(
                    inbound.text, out, sender_id=str(inbound.chat_id),
                    input_channel=self.name(), metadata=inbound.metadata,
                ))
        except Exception:
            logger.exception("telegram: handling a message of chat %s failed", inbound.chat_id)

    async def drain(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Wait until every scheduled message has been handled (or ``timeout`` passed)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def close(self) -> None:
        await self.drain()
        if self._bot is not None:
            with contextlib.suppress(Exception):
                await self._bot.shutdown()

    # ---- Sanic ------------------------------------------------------------------------------
    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = Blueprint(f"telegram_webhook_{id(self)}", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.enabled else "disabled"})

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            return await self.handle_webhook(request, on_new_message)

        @bp.listener("before_server_stop")
        async def stop(*_: Any) -> None:
            await self.close()

        return bp
