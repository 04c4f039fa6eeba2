"""Telegram and WeChat stand-in API servers for the whole stack (tests/rasa_fixtures.py).

The session's stack runs with both chat channels enabled against these stand-ins, so a test can
talk to the same Rasa through REST, the Telegram webhook and the WeChat webhook. Both servers run
in threads of their own (the Rasa process calls them), for the whole session.

Telegram runs in webhook mode (``TELEGRAM_WEBHOOK_URL`` points at the stack's Rasa, so the
channel registers it with ``setWebhook`` on start instead of polling). Attachments and the
polling offset go to the stack's work directory, never to ``var/``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.integration.channels import wechat_standin
from tests.integration.channels.telegram_standin import TelegramStandIn
from tests.integration.channels.wechat_standin import WeChatStandIn

TELEGRAM_TOKEN = "700100:stack-telegram-token"
TELEGRAM_SECRET = "stack-telegram-secret"


@dataclass
class ChannelStandIns:
    telegram: TelegramStandIn
    wechat: WeChatStandIn

    def env(self, rasa_url: str, workdir: Path) -> dict[str, str]:
        """Environment for the stack's processes that enables both channels."""
        return {
            "TELEGRAM_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "TELEGRAM_API_BASE": self.telegram.base_url,
            "TELEGRAM_WEBHOOK_URL": f"{rasa_url}/webhooks/telegram/webhook",
            "TELEGRAM_OFFSET_FILE": str(workdir / "telegram_offset.json"),
            "WECHAT_TOKEN": wechat_standin.TOKEN,
            "WECHAT_APPID": wechat_standin.APPID,
            "WECHAT_SECRET": wechat_standin.SECRET,
            "WECHAT_AES_KEY": wechat_standin.AES_KEY,
            "WECHAT_API_BASE": self.wechat.base_url,
            "ATTACHMENTS_DIR": str(workdir / "attachments"),
        }

    def stop(self) -> None:
        self.telegram.stop()
        self.wechat.stop_thread()


def start_channel_standins() -> ChannelStandIns:
    telegram = TelegramStandIn(TELEGRAM_TOKEN).start()
    wechat = WeChatStandIn()
    try:
        wechat.start_in_thread()
    except BaseException:
        telegram.stop()
        raise
    return ChannelStandIns(telegram, wechat)
