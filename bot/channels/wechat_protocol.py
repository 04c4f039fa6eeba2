"""WeChat official-account protocol helpers: signatures, crypto, XML, replay and dedupe.

Pure code (no network, no Rasa): the webhook in ``bot.channels.wechat`` strings these together.
WeChat's callback protocol (公众号消息接口):

* every request carries ``signature = sha1(sorted(token, timestamp, nonce))`` in the query;
* in safe mode (安全模式, ``encrypt_type=aes``) the body is ``<xml><Encrypt>…</Encrypt></xml>`` and
  ``msg_signature = sha1(sorted(token, timestamp, nonce, Encrypt))`` also covers the body;
* WeChat retries a message three times when it gets no answer within 5 s; retries carry the same
  ``MsgId`` (events: the same ``FromUserName`` + ``CreateTime``).
"""
from __future__ import annotations

import hmac
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage
from wechatpy.replies import TextReply
from wechatpy.utils import WeChatSigner

MAX_BODY_BYTES = 1024 * 1024
REPLAY_WINDOW_SECONDS = 300
# A passive text reply may hold at most 2048 bytes (UTF-8); keep a margin.
MAX_TEXT_BYTES = 2000


class WeChatRequestError(Exception):
    """A webhook request that must be refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# ---- signatures ------------------------------------------------------------------------------
def sign(*parts: str) -> str:
    """WeChat's signature: sha1 of the sorted, concatenated parts (token, timestamp, nonce[, data])."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def signature_ok(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """True when ``signature`` is the query signature of (token, timestamp, nonce)."""
    if not (token and signature and timestamp and nonce):
        return False
    return hmac.compare_digest(sign(token, timestamp, nonce), signature)


def timestamp_fresh(timestamp: str, now: float, window: int = REPLAY_WINDOW_SECONDS) -> bool:
    """True when ``timestamp`` (seconds, as sent) is within ``window`` seconds of ``now``."""
    try:
        value = int(timestamp)
    except (TypeError, ValueError):
        return False
    return abs(now - value) <= window


class Crypto:
    """Safe-mode (AES) encryption and decryption, a thin wrapper over wechatpy's WeChatCrypto."""

    def __init__(self, token: str, aes_key: str, appid: str) -> None:
        self._crypto = WeChatCrypto(token, aes_key, appid)

    def decrypt(self, body: str, msg_signature: str, timestamp: str, nonce: str) -> str:
        """The plaintext XML inside a safe-mode body; WeChatRequestError 403 when forged."""
        outer = parse_xml(body)
        encrypt = outer.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise WeChatRequestError(400, "encrypted body without <Encrypt>")
        if not msg_signature:
            raise WeChatRequestError(403, "missing msg_signature")
        try:
            plain = self._crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
        except InvalidSignatureException as exc:
            raise WeChatRequestError(403, "bad msg_signature") from exc
        except InvalidAppIdException as exc:
            raise WeChatRequestError(403, "message for another appid") from exc
        except Exception as exc:  # bad base64 / padding / key: not a message of ours
            raise WeChatRequestError(400, f"cannot decrypt: {type(exc).__name__}") from exc
        return str(plain)

    def encrypt(self, xml: str, nonce: str, timestamp: str) -> str:
        """A safe-mode reply envelope for a plaintext reply XML."""
        return str(self._crypto.encrypt_message(xml, nonce, timestamp))


# ---- XML -------------------------------------------------------------------------------------
_FORBIDDEN_XML = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def parse_xml(body: str) -> dict[str, Any]:
    """The children of the ``<xml>`` root as a dict; WeChatRequestError 400 when malformed."""
    if _FORBIDDEN_XML.search(body):
        raise WeChatRequestError(400, "DTD / entity declarations are not accepted")
    try:
        doc = xmltodict.parse(body, disable_entities=True)
    except Exception as exc:  # ExpatError and friends
        raise WeChatRequestError(400, f"malformed XML: {exc}") from exc
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise WeChatRequestError(400, "no <xml> root element")
    return root


def parse_wechat_message(xml: str) -> BaseMessage:
    """A wechatpy message or event object; WeChatRequestError 400 when it is not a message."""
    root = parse_xml(xml)
    if not root.get("MsgType") or not root.get("FromUserName"):
        raise WeChatRequestError(400, "message without MsgType / FromUserName")
    try:
        return parse_message(xml)
    except Exception as exc:
        raise WeChatRequestError(400, f"cannot parse message: {exc}") from exc


def dedupe_key(message: BaseMessage) -> str:
    """The key WeChat's retries share: MsgId for messages, FromUserName + CreateTime for events."""
    data: Mapping[str, Any] = message._data
    msg_id = data.get("MsgId")
    if msg_id:
        return f"msg:{msg_id}"
    return f"evt:{data.get('FromUserName', '')}:{data.get('CreateTime', '')}:{data.get('Event', '')}"


def text_reply_xml(message: BaseMessage, content: str, now: float | None = None) -> str:
    """The passive text reply to ``message`` (plaintext XML)."""
    reply = TextReply(
        source=message.target, target=message.source, content=content,
        time=int(time.time() if now is None else now),
    )
    return str(reply.render())


def split_text(text: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """Split a reply into chunks of at most ``limit`` UTF-8 bytes, preferably at line breaks."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode("utf-8")) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        current = ""
        while len(line.encode("utf-8")) > limit:  # one very long line: cut by characters
            cut = len(line)
            while len(line[:cut].encode("utf-8")) > limit:
                cut = max(1, cut * limit // len(line[:cut].encode("utf-8")) - 1)
            chunks.append(line[:cut])
            line = line[cut:]
        current = line
    if current or not chunks:
        chunks.append(current)
    return [c for c in chunks if c] or [""]


# ---- buttons ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Choice:
    """One numbered button of the last bot turn."""

    number: int
    title: str
    payload: str


def render_messages(messages: Sequence[Mapping[str, Any]]) -> tuple[str, list[Choice]]:
    """One WeChat text for a bot turn (Rasa output dicts) and the numbered choices it offers.

    WeChat has no buttons, so a button becomes a line ``回复 1：同意``; numbering runs across the
    whole turn so that every number is unambiguous.
    """
    parts: list[str] = []
    choices: list[Choice] = []
    for msg in messages:
        lines: list[str] = []
        text = msg.get("text")
        if text:
            lines.append(str(text).strip())
        if msg.get("image"):
            lines.append(f"[图片] {msg['image']}")
        if msg.get("attachment"):
            lines.append(f"[附件] {msg['attachment']}")
        custom = msg.get("custom")
        if isinstance(custom, Mapping) and isinstance(custom.get("text"), str):
            lines.append(custom["text"].strip())
        buttons = msg.get("buttons") or msg.get("quick_replies") or []
        for button in buttons:
            if not isinstance(button, Mapping):
                continue
            title = str(button.get("title") or button.get("payload") or "").strip()
            payload = str(button.get("payload") or title)
            if not title:
                continue
            choice = Choice(len(choices) + 1, title, payload)
            choices.append(choice)
            lines.append(f"回复 {choice.number}：{choice.title}")
        if lines:
            parts.append("\n".join(lines))
    return "\n\n".join(parts), choices


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_NUMBER_REPLY = re.compile(r"^(?:回复|选|选择|第)?\s*(\d{1,2})\s*(?:个|项|号)?[\s。．.、,，!！]*$")


def choice_number(text: str) -> int | None:
    """The number in a reply like "1", "１", "回复2", "3。"; None when the text is not a choice."""
    match = _NUMBER_REPLY.match(text.strip().translate(_FULLWIDTH_DIGITS))
    return int(match.group(1)) if match else None


class ButtonMemory:
    """Per user, the numbered choices of the bot's last turn (in-process, bounded, expiring).

    ``remember`` replaces the user's choices (an empty list forgets them, so a later "1" that
    answers a free question — how many people? — stays a plain "1"); ``resolve`` translates a
    reply "1" or a button's exact title into that button's payload, once.
    """

    def __init__(self, ttl: float = 3600.0, max_users: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._max = max_users
        self._clock = clock
        self._data: OrderedDict[str, tuple[float, list[Choice]]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, user: str, choices: Sequence[Choice]) -> None:
        with self._lock:
            self._data.pop(user, None)
            if choices:
                self._data[user] = (self._clock() + self._ttl, list(choices))
                while len(self._data) > self._max:
                    self._data.popitem(last=False)

    def choices(self, user: str) -> list[Choice]:
        with self._lock:
            entry = self._data.get(user)
            if entry is None:
                return []
            if entry[0] < self._clock():
                del self._data[user]
                return []
            return list(entry[1])

    def resolve(self, user: str, text: str) -> str:
        """The payload ``text`` selects among the user's last choices, else ``text`` itself."""
        choices = self.choices(user)
        if not choices:
            return text
        number = choice_number(text)
        picked: Choice | None = None
        if number is not None:
            picked = next((c for c in choices if c.number == number), None)
        else:
            picked = next((c for c in choices if c.title == text.strip()), None)
        if picked is None:
            return text
        self.remember(user, [])
        return picked.payload


# ---- replay / dedupe -------------------------------------------------------------------------
class SeenCache:
    """A bounded map with expiry (in-process): keys seen recently and a value for each."""

    def __init__(self, ttl: float = REPLAY_WINDOW_SECONDS * 2, max_items: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._max = max_items
        self._clock = clock
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _purge(self) -> None:
        now = self._clock()
        while self._data:
            key, (expires, _) = next(iter(self._data.items()))
            if expires >= now and len(self._data) < self._max:  # room for one more
                break
            del self._data[key]

    def add(self, key: str, value: Any = True) -> tuple[bool, Any]:
        """Store ``key`` unless present; (True, value) when new, (False, stored value) when seen."""
        with self._lock:
            self._purge()
            if key in self._data:
                return False, self._data[key][1]
            self._data[key] = (self._clock() + self._ttl, value)
            return True, value

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            if key in self._data:
                expires, _ = self._data[key]
                self._data[key] = (expires, value)

    def get(self, key: str) -> Any:
        with self._lock:
            entry = self._data.get(key)
            return None if entry is None or entry[0] < self._clock() else entry[1]
