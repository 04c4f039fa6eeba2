"""Outbox senders: deliver one queued message in the citizen's channel (see bot.outbox.dispatcher).

Each sender returns when the channel accepted the message and raises
:class:`bot.errors.DeliveryFailed` (retryable or not) or :class:`bot.errors.DeliveryHeld`
otherwise. A text longer than one chat message is sent in pieces; ``message.parts_sent`` pieces
went out in an earlier attempt and are not sent again.

* Telegram: ``sendMessage`` through python-telegram-bot, buttons as an inline keyboard.
* WeChat: customer-service message (``message/custom/send``) through wechatpy, buttons as numbered
  options. Only within 48 hours of the citizen's last message (WeChat's rule); otherwise the
  message is held until they write again, or sent as a template message when
  ``WECHAT_TEMPLATE_ID`` is configured.
* REST: POST ``{"recipient_id", "text", "buttons"}`` to ``REST_CALLBACK_URL``; without it the
  message is held and shown in the reply to the citizen's next message (``bot.channels.rest``).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import httpx
import requests
from sqlalchemy.orm import sessionmaker
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest
from wechatpy.exceptions import WeChatClientException

from bot.channels.buttons import ChannelButton, normalize_buttons
from bot.channels.telegram_mapping import CALLBACK_KEY_PREFIX, MAX_CALLBACK_BYTES
from bot.channels.telegram_mapping import split_text as telegram_split
from bot.channels.wechat_api import WeChatApiClient, make_api_client
from bot.channels.wechat_protocol import render_messages
from bot.channels.wechat_protocol import split_text as wechat_split
from bot.errors import DeliveryFailed, DeliveryHeld, DeliveryRejected
from bot.outbox.dispatcher import OutgoingMessage, Sender
from bot.outbox.tokens import TokenStore, make_token_store
from bot.settings import Settings

log = logging.getLogger(__name__)

BUTTONS_FALLBACK_TEXT = "请选择："
WECHAT_WINDOW = timedelta(hours=48)
#: WeChat errcodes: try again later / hold until the citizen writes / refused for good (others)
WECHAT_RETRYABLE = frozenset({-1, 40001, 40014, 41001, 42001, 45009, 45011, 45033})
WECHAT_HOLD = frozenset({45015, 45047})  # outside the 48-hour window / too many messages without reply
TEMPLATE_MAX_CHARS = 200
TEMPLATE_MORE = "……（请在公众号中回复任意消息查看完整内容）"
REST_RETRY_STATUSES = frozenset({408, 425, 429})


# ---- Telegram ----------------------------------------------------------------------------------
def callback_data_for(button: ChannelButton) -> str:
    """callback_data of an outbox button: the payload when it fits Telegram's 64 bytes.

    A longer payload cannot use the Rasa process's in-memory key map (this runs in another
    process), so the button sends its title instead, which Rasa reads like a typed answer.
    """
    for candidate in (button.payload, button.title):
        if candidate and len(candidate.encode("utf-8")) <= MAX_CALLBACK_BYTES \
                and not candidate.startswith(CALLBACK_KEY_PREFIX):
            return candidate
    cut = button.title
    while len(cut.encode("utf-8")) > MAX_CALLBACK_BYTES:
        cut = cut[:-1]
    return cut


def telegram_keyboard(buttons: Sequence[dict[str, Any]]) -> InlineKeyboardMarkup | None:
    choices = normalize_buttons(buttons)
    if not choices:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.title, callback_data=callback_data_for(b))]
                                 for b in choices])


def _retry_after_seconds(exc: RetryAfter) -> float:
    wait = exc.retry_after
    return float(wait if isinstance(wait, (int, float)) else wait.total_seconds())


class TelegramSender:
    """``sendMessage`` through a python-telegram-bot ``Bot``."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    @classmethod
    def from_settings(cls, settings: Settings, *, read_timeout: float = 10.0) -> TelegramSender:
        request = HTTPXRequest(connection_pool_size=8, read_timeout=read_timeout, write_timeout=read_timeout,
                               connect_timeout=5.0)
        return cls(Bot(settings.telegram_token, base_url=settings.telegram_api_base, request=request))

    async def send(self, message: OutgoingMessage) -> None:
        chunks = telegram_split(message.text) or [BUTTONS_FALLBACK_TEXT]
        markup = telegram_keyboard(message.buttons)
        for index in range(message.parts_sent, len(chunks)):
            last = index == len(chunks) - 1
            try:
                await self.bot.send_message(chat_id=message.recipient, text=chunks[index],
                                            reply_markup=markup if last else None)
            except RetryAfter as exc:
                raise DeliveryFailed(f"telegram: rate limited ({exc})", retry_after=_retry_after_seconds(exc),
                                     parts_sent=index) from exc
            except (Forbidden, BadRequest) as exc:  # blocked bot, chat not found, bad markup
                raise DeliveryRejected(f"telegram: {exc.__class__.__name__}: {exc}", parts_sent=index) from exc
            except (InvalidToken, TelegramError) as exc:  # network, 5xx, timeouts, wrong token
                raise DeliveryFailed(f"telegram: {exc.__class__.__name__}: {exc}", parts_sent=index) from exc

    async def aclose(self) -> None:
        await self.bot.shutdown()


# ---- WeChat ------------------------------------------------------------------------------------
def wechat_window_open(message: OutgoingMessage, window: timedelta = WECHAT_WINDOW) -> bool:
    """True when the citizen wrote within ``window`` before the message was claimed."""
    last = message.last_inbound_at
    return last is not None and message.now - last < window


def wechat_error(exc: BaseException, parts_sent: int) -> DeliveryFailed | DeliveryHeld:
    """A wechatpy / requests exception as the dispatcher's error type."""
    if isinstance(exc, WeChatClientException):
        code = exc.errcode
        if code is None:  # HTTP error status
            return DeliveryFailed(f"wechat: HTTP error {exc.errmsg or ''}".strip(), parts_sent=parts_sent)
        code = int(code)
        if code in WECHAT_HOLD:
            return DeliveryHeld(f"wechat errcode {code}: {exc.errmsg}")
        if code in WECHAT_RETRYABLE:
            return DeliveryFailed(f"wechat errcode {code}: {exc.errmsg}", parts_sent=parts_sent)
        return DeliveryRejected(f"wechat errcode {code}: {exc.errmsg}", parts_sent=parts_sent)
    if isinstance(exc, requests.RequestException):
        return DeliveryFailed(f"wechat: {exc.__class__.__name__}: {exc}", parts_sent=parts_sent)
    return DeliveryFailed(f"wechat: {exc.__class__.__name__}: {exc}", parts_sent=parts_sent)


def template_text(text: str) -> str:
    if len(text) <= TEMPLATE_MAX_CHARS:
        return text
    return text[: TEMPLATE_MAX_CHARS - len(TEMPLATE_MORE)] + TEMPLATE_MORE


class WeChatSender:
    """Customer-service messages within the 48-hour window; template or hold outside it."""

    def __init__(self, api: WeChatApiClient, *, template_id: str = "", window: timedelta = WECHAT_WINDOW) -> None:
        self.api = api
        self.template_id = template_id
        self.window = window

    @classmethod
    def from_settings(cls, settings: Settings, token_store: TokenStore) -> WeChatSender | None:
        api = make_api_client(settings, token_store=token_store)
        if api is None:
            return None
        return cls(api, template_id=settings.wechat_template_id)

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def send(self, message: OutgoingMessage) -> None:
        text, _choices = render_messages([{"text": message.text, "buttons": list(message.buttons)}])
        if not wechat_window_open(message, self.window):
            await self._outside_window(message, text, "the citizen has not written within 48 hours")
            return
        chunks = wechat_split(text)
        for index in range(message.parts_sent, len(chunks)):
            try:
                await self._call(self.api.message.send_text, message.recipient, chunks[index])
            except Exception as exc:
                error = wechat_error(exc, index)
                if isinstance(error, DeliveryHeld) and index == 0:
                    await self._outside_window(message, text, error.detail)
                    return
                if isinstance(error, DeliveryHeld):  # part of it went out: send the rest later
                    raise DeliveryFailed(error.detail, parts_sent=index) from exc
                raise error from exc

    async def _outside_window(self, message: OutgoingMessage, text: str, reason: str) -> None:
        if not self.template_id:
            raise DeliveryHeld(reason)
        data = {"content": {"value": template_text(text)}}
        try:
            await self._call(self.api.message.send_template, message.recipient, self.template_id, data)
        except Exception as exc:
            raise wechat_error(exc, message.parts_sent) from exc


# ---- REST --------------------------------------------------------------------------------------
class RestCallbackSender:
    """POSTs the message as JSON to the client's callback URL."""

    def __init__(self, url: str, *, client: httpx.AsyncClient | None = None, timeout: float = 10.0) -> None:
        self.url = url
        self._client = client
        self._owns_client = client is None
        self.timeout = timeout

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    async def send(self, message: OutgoingMessage) -> None:
        body = {"recipient_id": message.recipient, "text": message.text, "buttons": [dict(b) for b in message.buttons]}
        try:
            resp = await self._http().post(self.url, json=body, headers={"X-Outbox-Message-Id": str(message.id)})
        except httpx.TimeoutException as exc:
            raise DeliveryFailed(f"rest callback: timeout ({exc.__class__.__name__})") from exc
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"rest callback: {exc.__class__.__name__}: {exc}") from exc
        if resp.is_success:
            return
        detail = f"rest callback answered HTTP {resp.status_code}"
        if resp.status_code >= 500 or resp.status_code in REST_RETRY_STATUSES:
            raise DeliveryFailed(detail)
        raise DeliveryRejected(detail)

    async def aclose(self) -> None:
        if self._client is not None and self._owns_client:
            await self._client.aclose()


class HoldingSender:
    """A channel that cannot push: every message waits for the citizen's next message."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def send(self, message: OutgoingMessage) -> None:
        raise DeliveryHeld(self.reason)


# ---- wiring ------------------------------------------------------------------------------------
def make_senders(settings: Settings, session_factory: sessionmaker) -> dict[str, Sender]:
    """The senders of every configured channel (REST always: callback or hold)."""
    senders: dict[str, Sender] = {}
    if settings.rest_callback_url:
        senders["rest"] = RestCallbackSender(settings.rest_callback_url)
    else:
        senders["rest"] = HoldingSender("REST without REST_CALLBACK_URL: shown with the reply to the next message")
    if settings.telegram_enabled:
        senders["telegram"] = TelegramSender.from_settings(settings)
    wechat = WeChatSender.from_settings(settings, make_token_store(settings, session_factory))
    if wechat is not None:
        senders["wechat"] = wechat
    return senders
