"""Pure pieces of the Telegram channel: update -> inbound message, text splitting,
callback-data keys and update de-duplication. No network, no Rasa import."""
from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import Document, PhotoSize, Update

MAX_MESSAGE_CHARS = 4096  # Telegram's limit for one sendMessage text
MAX_CALLBACK_BYTES = 64  # Telegram's limit for InlineKeyboardButton.callback_data (UTF-8 bytes)
CALLBACK_KEY_PREFIX = "k:"

# Bot commands -> Rasa intent payloads (the domain's intents, see DESIGN "Contract: dialogue").
COMMANDS: dict[str, str] = {
    "start": "/greet",
    "help": "/help",
    "cancel": "/cancel",
    "status": "/check_status",
}
UNKNOWN_COMMAND_PAYLOAD = "/help"

MSG_MEDIA_UNSUPPORTED = (
    "抱歉，目前只能接收图片和文件（PDF、Word、TXT），视频、语音和动图无法保存。"
    "请您用文字说明其中的内容，谢谢。"
)
MSG_LOCATION = (
    "已收到您发送的位置，谢谢。地图上的点无法直接登记为地址，"
    "请您用文字告诉我省、市、区县和街道（例如：浙江省杭州市西湖区文三路）。"
)
MSG_CONTACT_NOT_OWN = "为保护他人信息，这里只能使用您本人的联系方式。请您分享自己的名片，或直接输入您的手机号码。"
MSG_BUTTON_EXPIRED = "这个按钮已失效，请您直接输入您的选择。"
MSG_UNSUPPORTED = "抱歉，暂时只能处理文字消息，请您用文字告诉我。"

_UNSUPPORTED_MEDIA = ("animation", "video", "audio", "voice", "video_note")  # animation first: it carries a document too
_OTHER_CONTENT = ("sticker", "poll", "dice", "game", "story")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,64})(?:@[A-Za-z0-9_]+)?(?:\s|$)")


@dataclass(frozen=True)
class MediaRef:
    """A photo or document to download with getFile (sizes and types as Telegram declares them)."""

    kind: str  # "photo" | "document" (bot.cases.attachment_models.AttachmentKind values)
    file_id: str
    file_unique_id: str
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None


@dataclass
class Inbound:
    """What one Telegram update asks the channel to do.

    ``text`` goes to Rasa (``None``: nothing to forward); ``notices`` are polite replies the
    channel sends itself before that; ``media`` is a file to download and store first;
    ``callback_query_id`` must be answered.
    """

    chat_id: int
    text: str | None = None
    notices: list[str] = field(default_factory=list)
    callback_query_id: str | None = None
    media: MediaRef | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def command_payload(text: str) -> str | None:
    """``/start``, ``/help@MyBot`` ... -> the Rasa payload; ``None`` when not a command.

    Any other text beginning with "/" is treated as an unknown command (-> help) so that a
    citizen cannot inject Rasa intent payloads such as ``/inform{"phone": ...}`` by typing.
    """
    if not text.startswith("/"):
        return None
    match = _COMMAND.match(text)
    if match is None:
        return UNKNOWN_COMMAND_PAYLOAD
    return COMMANDS.get(match.group(1).lower(), UNKNOWN_COMMAND_PAYLOAD)


def contact_text(phone_number: str) -> str:
    """A shared contact's number as the citizen would type it (mainland mobiles as 11 digits)."""
    digits = re.sub(r"\D", "", phone_number)
    if digits.startswith("86") and len(digits) == 13 and digits[2] == "1":
        return digits[2:]
    if len(digits) == 11 and digits[0] == "1":  # already a mainland mobile without country code
        return digits
    return f"+{digits}" if digits else phone_number.strip()


def venue_text(title: str | None, address: str | None) -> str:
    """A shared place as the address the citizen would type ("文三路8号（某某小区）")."""
    title, address = (title or "").strip(), (address or "").strip()
    if address and title and title not in address:
        return f"{address}（{title}）"
    return address or title


def media_ref(photo: Sequence[PhotoSize] | None, document: Document | None) -> MediaRef:
    """The file to fetch: the largest size of a photo, or the document itself."""
    if photo:
        largest = max(photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return MediaRef("photo", largest.file_id, largest.file_unique_id, None, "image/jpeg", largest.file_size)
    assert document is not None
    return MediaRef("document", document.file_id, document.file_unique_id, document.file_name,
                    document.mime_type, document.file_size)


def _caption(caption: str | None) -> str | None:
    text = (caption or "").strip()
    return (command_payload(text) or text) if text else None


def update_to_inbound(update: Update, callbacks: CallbackStore) -> Inbound | None:
    """Map one Update to an Inbound, or ``None`` for updates the channel ignores
    (edited messages, channel posts, group chats, inline queries, anything unknown)."""
    query = update.callback_query
    if query is not None:
        message = query.message
        chat = message.chat if message is not None else None
        if chat is not None and chat.type != "private":
            return None
        chat_id = chat.id if chat is not None else query.from_user.id
        inbound = Inbound(
            chat_id=chat_id, callback_query_id=query.id,
            metadata=_metadata(update, query.from_user, chat_type="private"),
        )
        data = query.data or ""
        if data.startswith(CALLBACK_KEY_PREFIX):
            payload = callbacks.resolve(data)
            if payload is None:
                inbound.notices.append(MSG_BUTTON_EXPIRED)
                return inbound
            data = payload
        inbound.text = data or None
        return inbound

    message = update.message
    if message is None or message.chat.type != "private":
        return None
    inbound = Inbound(
        chat_id=message.chat.id,
        metadata=_metadata(update, message.from_user, chat_type=message.chat.type,
                           message_id=message.message_id),
    )
    if message.text is not None:
        text = message.text.strip()
        if not text:
            return None
        inbound.text = command_payload(text) or text
    elif message.contact is not None:
        contact = message.contact
        own = message.from_user is not None and contact.user_id == message.from_user.id
        if own:
            inbound.text = contact_text(contact.phone_number)
        else:  # a contact card of somebody else (or typed by hand): not the citizen's number
            inbound.notices.append(MSG_CONTACT_NOT_OWN)
    elif message.venue is not None and (message.venue.address or message.venue.title):
        inbound.text = venue_text(message.venue.title, message.venue.address)
    elif message.location is not None:
        inbound.notices.append(MSG_LOCATION)
    elif any(getattr(message, kind, None) for kind in _UNSUPPORTED_MEDIA):
        inbound.notices.append(MSG_MEDIA_UNSUPPORTED)
        inbound.text = _caption(message.caption)
    elif message.photo or message.document is not None:
        inbound.media = media_ref(message.photo, message.document)
        inbound.text = _caption(message.caption)
    elif any(getattr(message, kind, None) for kind in _OTHER_CONTENT):
        inbound.notices.append(MSG_UNSUPPORTED)
    else:  # service messages (pinned, chat settings ...), nothing to answer
        return None
    return inbound


def _metadata(update: Update, user: Any, *, chat_type: str, message_id: int | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"update_id": update.update_id, "chat_type": str(chat_type)}
    if message_id is not None:
        meta["message_id"] = message_id
    if user is not None:
        meta["user_id"] = user.id
        if user.language_code:
            meta["language_code"] = user.language_code
    return {"telegram": meta}


def split_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Split a reply into Telegram-sized pieces, on line boundaries when possible.

    A single line longer than ``limit`` is cut hard. Empty text gives no pieces.
    """
    if limit <= 0:
        raise ValueError("limit must be positive")
    if not text:
        return []
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.removesuffix("\n")) > limit:  # hard cut of an over-long line
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        # the newline ending a piece is dropped at the cut, so it does not count
        if current and len(current) + len(line.removesuffix("\n")) > limit:
            chunks.append(current)
            current = ""
        current += line
    if current:
        chunks.append(current)
    pieces = [c.removesuffix("\n") for c in chunks]
    return [p for p in pieces if p.strip()]  # Telegram refuses blank messages


class CallbackStore:
    """Payloads too long for callback_data, behind short keys ``k:<id>`` (bounded, in memory).

    The key is derived from the payload, so every process computes the same key, but the
    map itself is per process: after a restart (or on another replica) an old key no longer
    resolves and the citizen is asked to type the choice. A shared store comes later.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._max = max_entries
        self._map: OrderedDict[str, str] = OrderedDict()

    def callback_data(self, payload: str) -> str:
        """The callback_data for a payload: itself when it fits in 64 bytes, else a key."""
        if payload and len(payload.encode("utf-8")) <= MAX_CALLBACK_BYTES \
                and not payload.startswith(CALLBACK_KEY_PREFIX):
            return payload
        key = CALLBACK_KEY_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
        self._map[key] = payload
        self._map.move_to_end(key)
        while len(self._map) > self._max:
            self._map.popitem(last=False)
        return key

    def resolve(self, data: str) -> str | None:
        payload = self._map.get(data)
        if payload is not None:
            self._map.move_to_end(data)
        return payload

    def __len__(self) -> int:
        return len(self._map)


class UpdateDeduper:
    """Remembers the last ``max_entries`` update_ids of this process.

    Telegram re-sends an update when the webhook did not answer in time; within one process
    each update_id is handled once. Several Rasa replicas need a shared store (Redis) later.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._max = max_entries
        self._seen: OrderedDict[int, None] = OrderedDict()

    def first_time(self, update_id: int) -> bool:
        """True the first time an update_id is seen (and remembers it)."""
        if update_id in self._seen:
            self._seen.move_to_end(update_id)
            return False
        self._seen[update_id] = None
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return True
