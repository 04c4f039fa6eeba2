"""Channels a case can arrive by (信、访、电、网、微): stored as ``Case.channel``."""
from __future__ import annotations

from enum import Enum


class Channel(str, Enum):
    REST = "rest"
    TELEGRAM = "telegram"
    WECHAT = "wechat"
    LETTER = "letter"
    PHONE = "phone"
    VISIT = "visit"
    WEB = "web"

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]

    def __str__(self) -> str:
        return self.value


CHANNEL_LABELS: dict[Channel, str] = {
    Channel.REST: "网上（接口）",
    Channel.TELEGRAM: "Telegram",
    Channel.WECHAT: "微信",
    Channel.LETTER: "来信",
    Channel.PHONE: "来电",
    Channel.VISIT: "来访",
    Channel.WEB: "网上信访",
}
