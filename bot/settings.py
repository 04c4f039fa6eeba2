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
    #: Telegram: public webhook URL (setWebhook on start); empty -> long polling when a token is set
    telegram_webhook_url: str = ""
    telegram_offset_file: str = str(PROJECT_ROOT / "var" / "telegram_offset.json")
    #: files citizens send in the chat (docs/channels.md "Attachments")
    attachments_dir: str = str(PROJECT_ROOT / "var" / "attachments")
    attachments_max_bytes: int = 10 * 1024 * 1024
    #: staff console (docs/console.md): cookie only over HTTPS, session lifetime, login limits
    console_cookie_secure: bool = False
    console_session_idle_minutes: int = 30
    console_session_max_hours: int = 12
    console_max_failed_logins: int = 5
    console_lockout_minutes: int = 15
    console_login_ip_limit: int = 30
    console_login_window_minutes: int = 15
    #: personal data protection (docs/security.md): AES-GCM key ring, retention, input limits
    pii_keys: str = field(default="", repr=False)
    retention_days: int = 1825
    #: seconds the Rasa server waits for the action server (bot/dialogue/action_timeout.py)
    action_timeout_seconds: float = 20.0
    #: conversations whose decrypted events a Rasa process keeps (bot/dialogue/event_cache.py); 0: off
    tracker_event_cache: int = 500
    #: hours between the back-office's own retention runs (0: only the CLI / cron anonymises)
    retention_every_hours: float = 24.0
    max_message_chars: int = 4000
    max_body_bytes: int = 1024 * 1024
    #: outbox (docs/channels.md "Outbox"): delivery of queued messages to citizens
    outbox_dispatch: bool = True
    outbox_poll_seconds: float = 2.0
    outbox_batch_size: int = 20
    outbox_max_attempts: int = 10
    outbox_retry_base_seconds: float = 10.0
    outbox_retry_max_seconds: float = 3600.0
    outbox_lease_seconds: float = 120.0
    rest_callback_url: str = ""
    wechat_template_id: str = ""
    #: petitions kept while the case database is down (docs/operations.md "Database down at submit")
    submit_spool_dir: str = str(PROJECT_ROOT / "var" / "spool")
    submit_spool_poll_seconds: float = 5.0
    submit_spool_retry_base_seconds: float = 5.0
    submit_spool_retry_max_seconds: float = 300.0
    #: admin loop (docs/admin.md): NLU inbox capture, training, comparison, promotion
    inbox_confidence_threshold: float = 0.5
    inbox_hash_key: str = field(default="", repr=False)
    training_project_dir: str = str(PROJECT_ROOT)
    models_dir: str = ""  # empty: <training_project_dir>/models
    training_regression_set: str = str(PROJECT_ROOT / "bot" / "training" / "data" / "regression_nlu.yml")
    training_cv_folds: int = 3
    promote_max_f1_drop: float = 0.02
    rasa_replica_urls: tuple[str, ...] = ()
    #: case queue (docs/cases.md): a case is "near due" this many days before its deadline
    near_due_days: int = 3
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
            near_due_days=int(_get(env, "NEAR_DUE_DAYS", str(defaults.near_due_days))),
            inbox_confidence_threshold=float(
                _get(env, "INBOX_CONFIDENCE_THRESHOLD", str(defaults.inbox_confidence_threshold))
            ),
            inbox_hash_key=_get(env, "INBOX_HASH_KEY"),
            training_project_dir=_get(env, "TRAINING_PROJECT_DIR", defaults.training_project_dir),
            models_dir=_get(env, "MODELS_DIR"),
            training_regression_set=_get(env, "TRAINING_REGRESSION_SET", defaults.training_regression_set),
            training_cv_folds=int(_get(env, "TRAINING_CV_FOLDS", str(defaults.training_cv_folds))),
            promote_max_f1_drop=float(_get(env, "PROMOTE_MAX_F1_DROP", str(defaults.promote_max_f1_drop))),
            rasa_replica_urls=tuple(
                u.strip().rstrip("/") for u in _get(env, "RASA_REPLICA_URLS").split(",") if u.strip()
            ),
            pii_keys=_get(env, "PII_KEYS"),
            retention_days=int(_get(env, "RETENTION_DAYS", str(defaults.retention_days))),
            action_timeout_seconds=float(_get(env, "ACTION_TIMEOUT_SECONDS", str(defaults.action_timeout_seconds))),
            tracker_event_cache=int(_get(env, "TRACKER_EVENT_CACHE", str(defaults.tracker_event_cache))),
            retention_every_hours=float(_get(env, "RETENTION_EVERY_HOURS", str(defaults.retention_every_hours))),
            max_message_chars=int(_get(env, "MAX_MESSAGE_CHARS", str(defaults.max_message_chars))),
            max_body_bytes=int(_get(env, "MAX_BODY_BYTES", str(defaults.max_body_bytes))),
            telegram_webhook_url=_get(env, "TELEGRAM_WEBHOOK_URL"),
            telegram_offset_file=_get(env, "TELEGRAM_OFFSET_FILE", defaults.telegram_offset_file),
            attachments_dir=_get(env, "ATTACHMENTS_DIR", defaults.attachments_dir),
            attachments_max_bytes=int(_get(env, "ATTACHMENTS_MAX_BYTES", str(defaults.attachments_max_bytes))),
            console_cookie_secure=_get(env, "CONSOLE_COOKIE_SECURE").lower() in ("1", "true", "yes", "on"),
            console_session_idle_minutes=int(
                _get(env, "CONSOLE_SESSION_IDLE_MINUTES", str(defaults.console_session_idle_minutes))
            ),
            console_session_max_hours=int(
                _get(env, "CONSOLE_SESSION_MAX_HOURS", str(defaults.console_session_max_hours))
            ),
            console_max_failed_logins=int(
                _get(env, "CONSOLE_MAX_FAILED_LOGINS", str(defaults.console_max_failed_logins))
            ),
            console_lockout_minutes=int(_get(env, "CONSOLE_LOCKOUT_MINUTES", str(defaults.console_lockout_minutes))),
            console_login_ip_limit=int(_get(env, "CONSOLE_LOGIN_IP_LIMIT", str(defaults.console_login_ip_limit))),
            console_login_window_minutes=int(
                _get(env, "CONSOLE_LOGIN_WINDOW_MINUTES", str(defaults.console_login_window_minutes))
            ),
            outbox_dispatch=_get(env, "OUTBOX_DISPATCH", "1").lower() not in ("0", "false", "no", "off"),
            outbox_poll_seconds=float(_get(env, "OUTBOX_POLL_SECONDS", str(defaults.outbox_poll_seconds))),
            outbox_batch_size=int(_get(env, "OUTBOX_BATCH_SIZE", str(defaults.outbox_batch_size))),
            outbox_max_attempts=int(_get(env, "OUTBOX_MAX_ATTEMPTS", str(defaults.outbox_max_attempts))),
            outbox_retry_base_seconds=float(
                _get(env, "OUTBOX_RETRY_BASE_SECONDS", str(defaults.outbox_retry_base_seconds))
            ),
            outbox_retry_max_seconds=float(
                _get(env, "OUTBOX_RETRY_MAX_SECONDS", str(defaults.outbox_retry_max_seconds))
            ),
            outbox_lease_seconds=float(_get(env, "OUTBOX_LEASE_SECONDS", str(defaults.outbox_lease_seconds))),
            rest_callback_url=_get(env, "REST_CALLBACK_URL"),
            wechat_template_id=_get(env, "WECHAT_TEMPLATE_ID"),
            submit_spool_dir=_get(env, "SUBMIT_SPOOL_DIR", defaults.submit_spool_dir),
            submit_spool_poll_seconds=float(
                _get(env, "SUBMIT_SPOOL_POLL_SECONDS", str(defaults.submit_spool_poll_seconds))
            ),
            submit_spool_retry_base_seconds=float(
                _get(env, "SUBMIT_SPOOL_RETRY_BASE_SECONDS", str(defaults.submit_spool_retry_base_seconds))
            ),
            submit_spool_retry_max_seconds=float(
                _get(env, "SUBMIT_SPOOL_RETRY_MAX_SECONDS", str(defaults.submit_spool_retry_max_seconds))
            ),
        )

    @property
    def models_path(self) -> Path:
        """Where trained models live (candidates and every model kept for rollback)."""
        return Path(self.models_dir) if self.models_dir else Path(self.training_project_dir) / "models"

    @property
    def rasa_model_urls(self) -> tuple[str, ...]:
        """Every Rasa server a promotion or rollback loads the model into."""
        return self.rasa_replica_urls or (self.rasa_url,)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_token)

    @property
    def telegram_polling(self) -> bool:
        """Development mode: a token but no public webhook URL -> the channel polls getUpdates."""
        return bool(self.telegram_token) and not self.telegram_webhook_url

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_token and self.wechat_appid)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once on first use."""
    return Settings.from_env()
