"""WeChat official account (微信公众号) as a Rasa input and output channel.

``credentials.yml``::

    bot.channels.wechat.WeChatInput:
      reply_timeout: 4.0      # optional: seconds to wait for a passive reply

Webhook: ``/webhooks/wechat/webhook`` (GET: URL verification, POST: messages and events).
Settings come from the environment (``WECHAT_TOKEN``, ``WECHAT_APPID``, ``WECHAT_SECRET``,
``WECHAT_AES_KEY``, ``WECHAT_API_BASE``); without token or appid the routes answer 404.

A user message is answered passively (the XML reply of the webhook request, encrypted in safe
mode) when the bot is done within ``reply_timeout``; otherwise the webhook answers "success" at
once (WeChat gives up after 5 s and retries) and the replies follow through the customer-service
API (``message/custom/send``). See docs/channels.md for the details and limits.

Images are downloaded through the media API (``media/get``) as soon as they arrive (their
media id expires after three days) and stored as pending case attachments (bot.channels.media);
menu CLICK keys map to intents through bot.channels.wechat_menu.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    OutputChannel,
    UserMessage,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.messages import BaseMessage

from bot.cases.attachment_models import AttachmentKind
from bot.channels.contacts import ContactRecorder
from bot.channels.gate import guarded
from bot.channels.guard import clean_message, with_notice
from bot.channels.media import MSG_DOWNLOAD_FAILED, AttachmentSink
from bot.channels.wechat_api import WeChatApiClient, make_api_client
from bot.channels.wechat_menu import UNKNOWN_MENU_INTENT, intent_for_key
from bot.channels.wechat_protocol import (
    MAX_BODY_BYTES,
    ButtonMemory,
    Crypto,
    SeenCache,
    WeChatRequestError,
    dedupe_key,
    parse_wechat_message,
    render_messages,
    signature_ok,
    split_text,
    text_reply_xml,
    timestamp_fresh,
)
from bot.errors import UpstreamUnavailable
from bot.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_REPLY_TIMEOUT = 4.0
SUCCESS = "success"

WELCOME_TEXT = (
    "您好，欢迎关注！我是信访智能助手，可以帮您：\n"
    "1. 提交信访事项（建议意见、检举控告、申诉求决），并告诉您受理编号；\n"
    "2. 查询已提交事项的办理进度；\n"
    "3. 判断您的问题应当通过哪种法定途径解决（仲裁、复议、诉讼等）；\n"
    "4. 解答信访相关的政策问题。\n"
    "有照片或书面材料，可以直接发图片给我，提交时会一并附上。\n"
    "请直接打字告诉我您的问题，或点击下方菜单。"
)
VOICE_NOT_RECOGNISED = "抱歉，我暂时听不清这条语音，请您打字告诉我，谢谢。"
IMAGE_NOT_STORED = (
    "我们已收到您发送的图片，但暂时无法保存为材料。"
    "请您用文字说明图片中的内容；需要提交证明材料的，工作人员受理后会告诉您提交方式。"
)


@dataclass
class _Delivery:
    """What happened to one WeChat message (by dedupe key), for WeChat's retries."""

    passive_text: str | None = None  # the passive reply, re-sent when WeChat retries


@dataclass(frozen=True)
class _Envelope:
    """How the request arrived: a reply must be encrypted like the request."""

    encrypted: bool
    nonce: str


def _error(status: int, reason: str) -> HTTPResponse:
    code = {400: "invalid_input", 403: "forbidden", 404: "not_found", 413: "payload_too_large"}
    return response.json({"code": code.get(status, "error"), "detail": reason}, status=status)


class WeChatOutput(OutputChannel):
    """Sends bot messages outside a webhook turn (slow answers, staff messages, status updates)."""

    def __init__(self, api: WeChatApiClient, memory: ButtonMemory) -> None:
        self.api = api
        self.memory = memory

    @classmethod
    def name(cls) -> str:
        return "wechat"

    async def send_messages(self, recipient_id: str, messages: Sequence[Mapping[str, Any]]) -> int:
        """Render a bot turn as text, remember its numbered buttons, send it; the number of sends."""
        text, choices = render_messages(messages)
        if choices:
            self.memory.remember(recipient_id, choices)
        sent = 0
        if not text:
            return sent
        for chunk in split_text(text):
            await self.api.send_text(recipient_id, chunk)
            sent += 1
        return sent

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        await self.send_messages(recipient_id, [message])

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_messages(recipient_id, [{"text": text}])

    async def send_text_with_buttons(self, recipient_id: str, text: str,
                                     buttons: list[dict[str, Any]], **kwargs: Any) -> None:
        await self.send_messages(recipient_id, [{"text": text, "buttons": buttons}])

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send_messages(recipient_id, [{"image": image}])

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await self.send_messages(recipient_id, [{"attachment": attachment}])


OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class WeChatInput(InputChannel):
    """The WeChat webhook (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WeChatInput:
        credentials = credentials or {}
        timeout = float(credentials.get("reply_timeout", DEFAULT_REPLY_TIMEOUT))
        return cls(Settings.from_env(), reply_timeout=timeout)

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        reply_timeout: float = DEFAULT_REPLY_TIMEOUT,
        api_client: WeChatApiClient | None = None,
        clock: Callable[[], float] = time.time,
        sink: AttachmentSink | None = None,
        contacts: ContactRecorder | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings.from_env()
        self.reply_timeout = reply_timeout
        self.clock = clock
        self.enabled = self.settings.wechat_enabled
        self.api = api_client if api_client is not None else make_api_client(self.settings)
        self.crypto = (
            Crypto(self.settings.wechat_token, self.settings.wechat_aes_key, self.settings.wechat_appid)
            if self.enabled and self.settings.wechat_aes_key else None
        )
        self.memory = ButtonMemory()
        # outbox: 48-hour window and held messages; a short timeout keeps WeChat's 5 s budget
        self.contacts = contacts if contacts is not None else ContactRecorder(self.settings, timeout=1.0)
        self.sink = sink if sink is not None else AttachmentSink(self.settings)
        self._seen = SeenCache()      # dedupe key -> _Delivery
        self._queries = SeenCache()   # timestamp:nonce -> dedupe key (a signed query is for one message)
        self._background: set[asyncio.Task[Any]] = set()

    # ---- Rasa hooks ----------------------------------------------------------------------
    def get_output_channel(self) -> OutputChannel | None:
        if not self.enabled or self.api is None:
            return None
        return WeChatOutput(self.api, self.memory)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = Blueprint("wechat_webhook", __name__)
        on_new_message = guarded(on_new_message, self.contacts, self.name())  # handoff, no-answer notice

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            if not self.enabled:
                return _error(404, "wechat channel is not enabled")
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not self.enabled:
                return _error(404, "wechat channel is not enabled")
            args = request.args
            if not signature_ok(self.settings.wechat_token, args.get("signature", ""),
                                args.get("timestamp", ""), args.get("nonce", "")):
                return _error(403, "bad signature")
            return response.text(args.get("echostr", ""))

        @bp.listener("before_server_stop")
        async def stop(*_: Any) -> None:
            await self.drain()

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.enabled:
                return _error(404, "wechat channel is not enabled")
            try:
                return await self._receive(request, on_new_message)
            except WeChatRequestError as exc:
                log.warning("wechat webhook refused (%s): %s", exc.status, exc.reason)
                return _error(exc.status, exc.reason)

        return bp

    # ---- one webhook request -------------------------------------------------------------
    def _authenticate(self, request: Request) -> tuple[str, _Envelope]:
        """The plaintext message XML of an authentic, fresh request (WeChatRequestError if not)."""
        body = request.body or b""
        declared = request.headers.get("content-length", "")
        if len(body) > MAX_BODY_BYTES or (declared.isdigit() and int(declared) > MAX_BODY_BYTES):
            raise WeChatRequestError(413, "body larger than 1 MB")
        args = request.args
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        signature = args.get("signature", "")
        token = self.settings.wechat_token
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WeChatRequestError(400, "body is not UTF-8") from exc
        encrypted = args.get("encrypt_type", "raw").lower() == "aes"
        if encrypted:
            if self.crypto is None:
                raise WeChatRequestError(400, "encrypted message but WECHAT_AES_KEY is not set")
            if signature and not signature_ok(token, signature, timestamp, nonce):
                raise WeChatRequestError(403, "bad signature")
            xml = self.crypto.decrypt(text, args.get("msg_signature", ""), timestamp, nonce)
        else:
            if not signature_ok(token, signature, timestamp, nonce):
                raise WeChatRequestError(403, "bad signature")
            xml = text
        if not timestamp_fresh(timestamp, self.clock()):
            raise WeChatRequestError(403, "stale or future timestamp")
        return xml, _Envelope(encrypted=encrypted, nonce=nonce)

    async def _receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        xml, envelope = self._authenticate(request)
        message = parse_wechat_message(xml)
        key = dedupe_key(message)
        query_key = f"{request.args.get('timestamp', '')}:{envelope.nonce}"
        new_query, owner = self._queries.add(query_key, key)
        if not new_query and owner != key:
            raise WeChatRequestError(403, "signed query replayed with another message")
        is_new, delivery = self._seen.add(key, _Delivery())
        if not is_new:
            log.info("wechat duplicate %s ignored", key)
            if delivery.passive_text:
                return self._passive(message, delivery.passive_text, envelope)
            return response.text(SUCCESS)
        log.info("wechat %s %s from %s", message.type, key, message.source)
        await self.contacts.wechat_inbound(message, self.memory)  # never raises; DB down -> warning
        reply = await self._dispatch(message, on_new_message)
        if reply is None:
            return response.text(SUCCESS)
        delivery.passive_text = reply
        return self._passive(message, reply, envelope)

    async def _dispatch(self, message: BaseMessage, on_new_message: OnNewMessage) -> str | None:
        """The passive reply text for ``message``; None -> answer "success"."""
        kind = message.type
        if kind == "text":
            content = (getattr(message, "content", "") or "").strip()
            if not content:
                return None
            cleaned = clean_message(content, self.settings.max_message_chars)  # bot/channels/guard.py
            if cleaned.junk or not cleaned.text:
                return cleaned.notice
            return await self._converse(message, self.memory.resolve(message.source, cleaned.text),
                                        with_notice(on_new_message, cleaned.notice))
        if kind == "voice":
            recognised = (getattr(message, "recognition", "") or "").strip()
            if not recognised:
                return VOICE_NOT_RECOGNISED
            return await self._converse(message, self.memory.resolve(message.source, recognised),
                                        on_new_message)
        if kind == "image":
            return await self._in_time(message.source, self._receive_image(message))
        if kind == "location":
            label = (getattr(message, "label", "") or "").strip()
            place = clean_message(label, self.settings.max_message_chars) if label else None
            if place is not None and place.text and not place.junk:
                # the place's address as WeChat names it: usable for the address / the region
                return await self._converse(message, place.text, on_new_message)
            return None
        if kind == "event":
            event = (getattr(message, "event", "") or "").lower()
            if event in ("subscribe", "subscribe_scan"):
                return WELCOME_TEXT
            if event == "click":
                key = (getattr(message, "key", "") or "").strip()
                intent = intent_for_key(key)
                if intent is None:
                    log.warning("wechat menu key %r has no intent; answering with help", key)
                    intent = UNKNOWN_MENU_INTENT
                return await self._converse(message, intent, on_new_message)
        return None

    async def _receive_image(self, message: BaseMessage) -> str:
        """Download an image by its media id and store it as a pending attachment; the reply."""
        media_id = (getattr(message, "media_id", "") or "").strip()
        if self.api is None or not media_id:
            log.error("wechat: image from %s not stored (no WECHAT_SECRET or no MediaId)", message.source)
            return IMAGE_NOT_STORED
        try:
            media = await self.api.download_media(media_id)
        except Exception as exc:
            log.warning("wechat: media/get %s for %s failed: %s", media_id, message.source, exc)
            return MSG_DOWNLOAD_FAILED
        return await self.sink.save(channel=self.name(), sender_id=message.source, kind=AttachmentKind.IMAGE,
                                    data=media.data, content_type=media.content_type)

    async def _in_time(self, user: str, work: Awaitable[str]) -> str | None:
        """``work``'s reply if ready within ``reply_timeout`` (passive), else None and it is sent
        later as a customer-service message."""
        task = asyncio.ensure_future(work)
        try:
            return await asyncio.wait_for(asyncio.shield(task), timeout=self.reply_timeout)
        except asyncio.TimeoutError:
            self._spawn(self._send_when_done(task, user))
            return None
        except asyncio.CancelledError:
            self._spawn(self._send_when_done(task, user))
            raise

    async def _send_when_done(self, task: asyncio.Future[str], user: str) -> None:
        text = await task
        if text:
            await self._send(user, split_text(text))

    async def _converse(self, message: BaseMessage, text: str,
                        on_new_message: OnNewMessage) -> str | None:
        """Run one Rasa turn; its text if ready in time, else None (delivered later)."""
        user = message.source
        collector = CollectingOutputChannel()
        user_message = UserMessage(
            text, collector, sender_id=user, input_channel=self.name(),
            metadata={"wechat": {"msg_type": message.type, "key": dedupe_key(message)}},
        )
        task = asyncio.ensure_future(self._run_turn(on_new_message, user_message))
        try:
            ok = await asyncio.wait_for(asyncio.shield(task), timeout=self.reply_timeout)
        except asyncio.TimeoutError:
            log.info("wechat reply for %s not ready in %.1fs; sending it later", user, self.reply_timeout)
            self._spawn(self._deliver_later(task, user, collector))
            return None
        except asyncio.CancelledError:  # WeChat hung up: the turn goes on, the answer follows later
            self._spawn(self._deliver_later(task, user, collector))
            raise
        text_out = self._finish_turn(user, collector.messages, ok)
        if not text_out:
            return None
        first, *rest = split_text(text_out)
        if rest:
            self._spawn(self._send(user, rest))
        return first

    @staticmethod
    async def _run_turn(on_new_message: OnNewMessage, message: UserMessage) -> bool:
        try:
            await on_new_message(message)
        except Exception:
            log.exception("wechat: handling a message from %s failed", message.sender_id)
            return False
        return True

    def _finish_turn(self, user: str, messages: Sequence[Mapping[str, Any]], ok: bool) -> str:
        text, choices = render_messages(messages)
        self.memory.remember(user, choices)
        if not ok and not text:
            return UpstreamUnavailable.user_message
        return text

    async def _deliver_later(self, task: asyncio.Future[bool], user: str,
                             collector: CollectingOutputChannel) -> None:
        ok = await task
        text = self._finish_turn(user, collector.messages, ok)
        if text:
            await self._send(user, split_text(text))

    async def _send(self, user: str, chunks: Sequence[str]) -> None:
        if self.api is None:
            log.error("wechat: WECHAT_SECRET is not set, %d late message(s) to %s dropped", len(chunks), user)
            return
        for chunk in chunks:
            try:
                await self.api.send_text(user, chunk)
            except Exception:
                log.exception("wechat: customer-service message to %s failed", user)
                return

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for late deliveries (tests, graceful shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def _passive(self, message: BaseMessage, content: str, envelope: _Envelope) -> HTTPResponse:
        now = self.clock()
        xml = text_reply_xml(message, content, now)
        if envelope.encrypted and self.crypto is not None:
            xml = self.crypto.encrypt(xml, envelope.nonce, str(int(now)))
        return response.text(xml, content_type="application/xml; charset=utf-8")
