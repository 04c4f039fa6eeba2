"""Telegram Rasa channel (python-telegram-bot 22 objects): webhook, or long polling in development.

Enable it in credentials.yml with ``bot.channels.telegram.TelegramInput:`` (no keys: the
settings come from the environment, see docs/channels.md). Without TELEGRAM_TOKEN the channel
is disabled and its webhook answers 404. With TELEGRAM_WEBHOOK_URL the webhook is registered
(``setWebhook`` with the secret) when the server starts; without it the channel polls
``getUpdates`` (bot.channels.telegram_polling). Photos and documents are downloaded and stored
as case attachments (bot.channels.media).
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

from bot.cases.attachment_models import AttachmentKind
from bot.channels.buttons import normalize_buttons
from bot.channels.contacts import ContactRecorder
from bot.channels.gate import guarded
from bot.channels.guard import clean_message
from bot.channels.media import MSG_DOWNLOAD_FAILED, AttachmentSink
from bot.channels.telegram_mapping import (
    CallbackStore,
    Inbound,
    MediaRef,
    UpdateDeduper,
    split_text,
    update_to_inbound,
)
from bot.channels.telegram_polling import ALLOWED_UPDATES, TelegramPoller
from bot.settings import Settings

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BUTTONS_FALLBACK_TEXT = "请选择："
DRAIN_TIMEOUT = 10.0
DOWNLOAD_TIMEOUT = 60.0


def file_base_url(api_base: str) -> str:
    """The file download base for a Bot API base: ``…/bot`` -> ``…/file/bot`` (PTB's base_file_url)."""
    base = api_base.rstrip("/")
    head, sep, tail = base.rpartition("/")
    return f"{head}/file/{tail}" if sep else f"{base}/file"

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

    def __init__(self, settings: Settings, *, bot: Bot | None = None, sink: AttachmentSink | None = None,
                 contacts: ContactRecorder | None = None) -> None:
        self.settings = settings
        self.contacts = contacts if contacts is not None else ContactRecorder(settings)  # outbox contact window
        self.enabled = settings.telegram_enabled
        self.callbacks = CallbackStore()
        self.deduper = UpdateDeduper()
        self.sink = sink if sink is not None else AttachmentSink(settings)
        self.poller: TelegramPoller | None = None
        self._bot = bot
        self._tail: dict[int, asyncio.Task[None]] = {}  # last task per chat, for ordering
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- Bot API ------------------------------------------------------------------------
    def bot(self) -> Bot:
        """The Bot, created on first use (inside the server's event loop)."""
        if self._bot is None:
            self._bot = Bot(self.settings.telegram_token, base_url=self.settings.telegram_api_base,
                            base_file_url=file_base_url(self.settings.telegram_api_base))
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
        outcome = self.accept(data, on_new_message)
        if outcome == "invalid":
            return response.json({"error": "not a Telegram update"}, status=400)
        if outcome == "duplicate":
            return response.json({"ok": True, "duplicate": True})
        return response.json({"ok": True})

    def accept(self, data: Any, on_new_message: OnNewMessage) -> str:
        """One raw update (webhook body or getUpdates item): "invalid", "duplicate" or "accepted".

        The same path for webhook and long polling: de-duplication on ``update_id``, mapping,
        then processing in the background (in order per chat).
        """
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return "invalid"
        if not self.deduper.first_time(update_id):
            logger.info("telegram: duplicate update %s ignored", update_id)
            return "duplicate"
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
        return "accepted"

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
        await self.contacts.inbound(self.name(), str(inbound.chat_id))  # never raises; DB down -> warning
        out = TelegramOutput(self.bot(), self.callbacks)
        try:
            if inbound.callback_query_id:
                await out.answer_callback(inbound.callback_query_id)
            for notice in inbound.notices:
                await out.send_text_message(str(inbound.chat_id), notice)
            if inbound.media is not None:
                await out.send_text_message(str(inbound.chat_id), await self._receive_media(inbound.chat_id, inbound.media))
            if inbound.text:
                cleaned = clean_message(inbound.text, self.settings.max_message_chars)  # bot/channels/guard.py
                if cleaned.notice:
                    await out.send_text_message(str(inbound.chat_id), cleaned.notice)
                if cleaned.text:
                    await on_new_message(UserMessage(
                        cleaned.text, out, sender_id=str(inbound.chat_id),
                        input_channel=self.name(), metadata=inbound.metadata,
                    ))
        except Exception:
            logger.exception("telegram: handling a message of chat %s failed", inbound.chat_id)

    async def _receive_media(self, chat_id: int, media: MediaRef) -> str:
        """Download a photo or document and store it as a pending attachment; the reply text."""
        refusal = self.sink.refusal(media.filename, media.content_type, media.size)
        if refusal is not None:
            return refusal
        try:
            file = await self.bot().get_file(media.file_id)
            refusal = self.sink.refusal(media.filename, media.content_type, file.file_size)
            if refusal is not None:
                return refusal
            data = bytes(await asyncio.wait_for(file.download_as_bytearray(), DOWNLOAD_TIMEOUT))
        except (TelegramError, asyncio.TimeoutError, RuntimeError, OSError) as exc:
            logger.warning("telegram: download of %s %s for chat %s failed: %s",
                           media.kind, media.file_unique_id, chat_id, exc)
            return MSG_DOWNLOAD_FAILED
        return await self.sink.save(
            channel=self.name(), sender_id=str(chat_id), kind=AttachmentKind(media.kind), data=data,
            filename=media.filename, content_type=media.content_type,
        )

    # ---- start / stop -----------------------------------------------------------------------
    async def start(self, on_new_message: OnNewMessage) -> None:
        """Server start: register the webhook (TELEGRAM_WEBHOOK_URL) or start long polling."""
        if not self.enabled:
            return
        if self.settings.telegram_polling:
            if self.poller is None:
                async def accept(data: Any) -> None:
                    self.accept(data, on_new_message)

                self.poller = TelegramPoller(self.settings, accept)
            self.poller.start()
            return
        try:
            await self.bot().set_webhook(
                self.settings.telegram_webhook_url, secret_token=self.settings.telegram_webhook_secret or None,
                allowed_updates=ALLOWED_UPDATES,
            )
            logger.info("telegram: webhook registered at %s", self.settings.telegram_webhook_url)
        except TelegramError as exc:
            logger.error("telegram: setWebhook to %s failed: %s", self.settings.telegram_webhook_url, exc)

    async def drain(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Wait until every scheduled message has been handled (or ``timeout`` passed)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def close(self) -> None:
        if self.poller is not None:
            await self.poller.stop()
        await self.drain()
        if self._bot is not None:
            with contextlib.suppress(Exception):
                await self._bot.shutdown()

    # ---- Sanic ------------------------------------------------------------------------------
    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = Blueprint(f"telegram_webhook_{id(self)}", __name__)
        on_new_message = guarded(on_new_message, self.contacts, self.name())  # handoff, no-answer notice

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.enabled else "disabled"})

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            return await self.handle_webhook(request, on_new_message)

        @bp.listener("after_server_start")
        async def start(*_: Any) -> None:
            await self.start(on_new_message)

        @bp.listener("before_server_stop")
        async def stop(*_: Any) -> None:
            await self.close()

        return bp
