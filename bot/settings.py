"""The one settings object, read from the environment (never at import time)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _get(env: Mapping[str, str], name: str, default: str = "") -> str:
    value = env.get(name, default)
    return value.strip() if isinstance(value, str) else default


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'cases.db'}"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""
    backoffice_token: str = ""
    backoffice_staff_token: str = ""
    backoffice_host: str = "127.0.0.1"
    backoffice_port: int = 8000
    timezone: str = "Asia/Shanghai"
    telegram_token: str = ""
    telegram_webhook_secret: str = ""
    telegram_api_base: str = "https://api.telegram.org/bot"
    wechat_token: str = ""
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_aes_key: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com/cgi-bin/"
    redis_url: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            database_url=_get(env, "DATABASE_URL", defaults.database_url),
            rasa_url=_get(env, "RASA_URL", defaults.rasa_url).rstrip("/"),
            rasa_token=_get(env, "RASA_TOKEN"),
            backoffice_token=_get(env, "BACKOFFICE_TOKEN"),
            backoffice_staff_token=_get(env, "BACKOFFICE_STAFF_TOKEN"),
            backoffice_host=_get(env, "BACKOFFICE_HOST", defaults.backoffice_host),
            backoffice_port=int(_get(env, "BACKOFFICE_PORT", str(defaults.backoffice_port))),
            timezone=_get(env, "TZ_NAME", defaults.timezone),
            telegram_token=_get(env, "TELEGRAM_TOKEN"),
            telegram_webhook_secret=_get(env, "TELEGRAM_WEBHOOK_SECRET"),
            telegram_api_base=_get(env, "TELEGRAM_API_BASE", defaults.telegram_api_base),
            wechat_token=_get(env, "WECHAT_TOKEN"),
            wechat_appid=_get(env, "WECHAT_APPID"),
            wechat_secret=_get(env, "WECHAT_SECRET"),
            wechat_aes_key=_get(env, "WECHAT_AES_KEY"),
            wechat_api_base=_get(env, "WECHAT_API_BASE", defaults.wechat_api_base),
            redis_url=_get(env, "REDIS_URL"),
        )

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_token)

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_token and self.wechat_appid)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once on first use."""
    return Settings.from_env()
