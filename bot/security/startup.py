"""What every process that touches personal data does first: mask logs, load the key ring.

Called by ``python -m bot.backoffice``, the action server (``actions/__init__.py``), the Rasa
server (``bot.dialogue.tracker_store``) and ``python -m bot.security``. Without ``PII_KEYS``
the process stops here with a clear message instead of failing on the first case.
"""
from __future__ import annotations

import logging

from bot.security.crypto import KeyRing, PiiKeyError, require_key_ring
from bot.security.logmask import install_pii_log_masking
from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)


def prepare_process(process: str, settings: Settings | None = None) -> KeyRing:
    """Install log masking and the key ring; :class:`SystemExit` when no usable key is configured."""
    install_pii_log_masking()
    try:
        ring = require_key_ring(settings if settings is not None else get_settings())
    except PiiKeyError as exc:
        message = f"[{process}] 无法启动：未配置个人信息加密密钥 / cannot start: {exc.detail}"
        log.critical(message)
        raise SystemExit(message) from None
    log.info("%s: personal data key ring loaded (current key %s, %d key(s))", process, ring.current_kid, len(ring.keys))
    return ring
