"""Which chat messages go to the NLU inbox, and how they are masked first (pure).

The event broker feeds every Rasa event to a :class:`CaptureTracker`. A user message is
captured when

- the FallbackClassifier answered ``nlu_fallback`` (reason ``fallback``),
- its top intent's confidence is below the threshold (``low_confidence``), or
- the same citizen's next message says the bot misunderstood, e.g. "不是这个意思"
  (``corrected``; the correcting message itself is not captured).

Button payloads (``/intent{...}``) are never captured. Names the form recognised
(``petitioner_name`` slot events) are remembered per conversation so they can be masked.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from bot.intake.masking import mask_pii_in_text
from bot.intake.names import find_name
from bot.training.models import CaptureReason

FALLBACK_INTENT = "nlu_fallback"
NAME_SLOTS = ("petitioner_name",)
#: Event kinds the capture reads besides the name slots; everything else is ignored.
READ_KINDS = frozenset({"user", "session_started", "restart"})


def is_read(event: Mapping[str, Any]) -> bool:
    """Whether :meth:`CaptureTracker.feed` can do anything with ``event``: a user message, a
    session start or restart, a name slot. The broker queues only these (most of a turn's
    events are actions, bot messages and other slots)."""
    kind = event.get("event")
    return kind in READ_KINDS or (kind == "slot" and event.get("name") in NAME_SLOTS)
NAME_MASK = "某某"
MAX_CORRECTION_CHARS = 40
MAX_TEXT_CHARS = 2000

#: what citizens write when the bot got them wrong (matched after removing spaces/punctuation)
CORRECTION_PHRASES = (
    "不是这个意思", "不是那个意思", "我不是这个意思", "你理解错了", "理解错了", "你误会了", "误会我的意思",
    "答非所问", "我不是问这个", "我问的不是这个", "不是问这个", "我不是说这个", "我说的不是这个",
    "你没听懂", "没听懂我的意思", "没明白我的意思", "你没明白", "不是我要问的", "牛头不对马嘴",
    "你搞错了我的意思", "你弄错了我的意思",
)
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def _plain(text: str) -> str:
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text or "")).lower()


_PHRASES = tuple(_plain(p) for p in CORRECTION_PHRASES)


def is_correction(text: str) -> bool:
    """Whether a (short) message says the bot misunderstood the previous one."""
    plain = _plain(text)
    return bool(plain) and len(plain) <= MAX_CORRECTION_CHARS and any(p in plain for p in _PHRASES)


def mask_text(text: str, names: Iterable[str] = ()) -> str:
    """ID and phone numbers (and other long digit runs) masked, names replaced by "某某".

    ``names`` are names known from the conversation (the form's ``petitioner_name``); a name
    introduced in the text itself ("我叫张三") is found too.
    """
    masked = mask_pii_in_text((text or "")[:MAX_TEXT_CHARS])
    known = {n.strip() for n in names if n and len(n.strip()) >= 2}
    found = find_name(masked)
    if found:
        known.add(found)
    for name in sorted(known, key=len, reverse=True):
        masked = masked.replace(name, NAME_MASK)
    return masked


def sender_hash(key: str, channel: str, sender_id: str) -> str:
    """A keyed hash of the chat account: relates messages without storing who wrote them."""
    mac = hmac.new((key or "xinfang-inbox").encode("utf-8"), f"{channel}:{sender_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


@dataclass(frozen=True)
class UserTurn:
    sender_id: str
    text: str
    intent: str | None
    confidence: float | None
    fallback: bool
    channel: str
    at: datetime
    message_id: str | None = None


def _timestamp(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(timezone.utc)


def prediction(parse_data: Mapping[str, Any] | None) -> tuple[str | None, float | None, bool]:
    """(predicted intent, confidence, fell back). For ``nlu_fallback`` the intent is the best
    real intent of the ranking — what the model would have said."""
    data = parse_data or {}
    top = data.get("intent") or {}
    name, confidence = top.get("name"), top.get("confidence")
    if name != FALLBACK_INTENT:
        return name, _float(confidence), False
    for ranked in data.get("intent_ranking") or []:
        if ranked.get("name") and ranked.get("name") != FALLBACK_INTENT:
            return ranked["name"], _float(ranked.get("confidence")), True
    return None, None, True


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def parse_user_event(event: Mapping[str, Any]) -> UserTurn | None:
    """A Rasa ``user`` event as a :class:`UserTurn`; None for other events and button payloads."""
    if event.get("event") != "user":
        return None
    text = (event.get("text") or "").strip()
    if not text or text.startswith("/"):
        return None
    intent, confidence, fallback = prediction(event.get("parse_data"))
    return UserTurn(
        sender_id=str(event.get("sender_id") or ""),
        text=text,
        intent=intent,
        confidence=confidence,
        fallback=fallback,
        channel=str(event.get("input_channel") or "unknown")[:32],
        at=_timestamp(event.get("timestamp")),
        message_id=(str(event["message_id"])[:64] if event.get("message_id") else None),
    )


def capture_reason(turn: UserTurn, threshold: float) -> CaptureReason | None:
    """Why a message goes to the inbox on its own (corrections are decided one message later)."""
    if turn.fallback:
        return CaptureReason.FALLBACK
    if turn.confidence is None or turn.confidence < threshold:
        return CaptureReason.LOW_CONFIDENCE
    return None


@dataclass(frozen=True)
class Capture:
    """Store ``turn`` in the inbox (masked with ``names``) for ``reason``."""

    turn: UserTurn
    reason: CaptureReason
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class NamesLearned:
    """The form recognised a name in this conversation: mask it in what was captured."""

    sender_id: str
    channel: str
    names: tuple[str, ...]


@dataclass
class _Conversation:
    channel: str = "unknown"
    last: UserTurn | None = None
    names: list[str] = field(default_factory=list)


class CaptureTracker:
    """Decides captures from the event stream; remembers the last message and the names of at
    most ``max_conversations`` conversations (least recently active are forgotten)."""

    def __init__(self, threshold: float, max_conversations: int = 10_000) -> None:
        self.threshold = threshold
        self.max_conversations = max_conversations
        self._conversations: OrderedDict[str, _Conversation] = OrderedDict()

    def _conversation(self, sender_id: str) -> _Conversation:
        conv = self._conversations.pop(sender_id, None) or _Conversation()
        self._conversations[sender_id] = conv
        while len(self._conversations) > self.max_conversations:
            self._conversations.popitem(last=False)
        return conv

    def feed(self, event: Mapping[str, Any]) -> list[Capture | NamesLearned]:
        kind = event.get("event")
        sender_id = str(event.get("sender_id") or "")
        if not sender_id or not is_read(event):
            return []
        if kind == "slot":  # a name slot (is_read)
            value = event.get("value")
            if not isinstance(value, str) or len(value.strip()) < 2:
                return []
            conv = self._conversation(sender_id)
            if value.strip() not in conv.names:
                conv.names.append(value.strip())
            return [NamesLearned(sender_id, conv.channel, tuple(conv.names))]
        if kind in ("session_started", "restart"):
            known = self._conversations.get(sender_id)
            if known is not None:
                known.last = None
            return []
        conv = self._conversation(sender_id)  # a user message
        turn = parse_user_event(event)
        if turn is None:  # a button: the next message is about the bot's answer to it
            conv.last = None
            return []
        conv.channel = turn.channel
        if is_correction(turn.text):
            previous, conv.last = conv.last, None
            if previous is None:
                return []
            return [Capture(previous, CaptureReason.CORRECTED, tuple(conv.names))]
        conv.last = turn
        reason = capture_reason(turn, self.threshold)
        return [Capture(turn, reason, tuple(conv.names))] if reason is not None else []
