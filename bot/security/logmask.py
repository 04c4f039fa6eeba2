"""Masking of ID and phone numbers in log records, for every process of the product.

:class:`PiiMaskingFilter` rewrites a record whose message (after ``%`` formatting with its
args), traceback or stack contains a resident ID number or a phone number:
``11010519491231002X`` → ``110105********002X``, ``13812345678`` → ``138****5678``,
``010-12345678`` → ``010******78``. Records without such numbers are left untouched.

:func:`install_pii_log_masking` applies it to every record the process creates (through the
log record factory, so handlers configured later — uvicorn's, Rasa's, rasa_sdk's — are
covered too) and to the handlers that already exist. It is idempotent. Called by
``python -m bot.backoffice``, by the action server (``actions/__init__.py``) and by the Rasa
server (the tracker store ``bot.dialogue.tracker_store.EncryptedSQLTrackerStore``).

The patterns are deliberately narrower than "any long number": case numbers
(``XF20261123-0001``), timestamps and message ids stay readable for operators.
"""
from __future__ import annotations

import logging
import re
import threading
from typing import Any

from bot.intake.masking import mask_id_number, mask_phone

_D = "[0-9０-９]"
_ID_PATTERN = re.compile(
    rf"(?<![0-9０-９A-Za-z])"
    rf"{_D}{{6}}(?:18|19|20|１８|１９|２０){_D}{{2}}"  # region, birth year
    rf"(?:[0０][1-9１-９]|[1１][0-2０-２])"  # month
    rf"(?:[0０][1-9１-９]|[1-2１-２]{_D}|[3３][01０１])"  # day
    rf"{_D}{{3}}[0-9０-９XxＸｘ](?![0-9０-９A-Za-z])"
)
_MOBILE_PATTERN = re.compile(
    rf"(?<![0-9０-９])(?:(?:\+|＋)?(?:86|８６)[ \-]?)?[1１][3-9３-９]{_D}[ \-]?{_D}{{4}}[ \-]?{_D}{{4}}(?![0-9０-９])"
)
_LANDLINE_PATTERN = re.compile(rf"(?<![0-9０-９.])[0０]{_D}{{2,3}}[ \-]?{_D}{{7,8}}(?![0-9０-９])")


def _ascii_digits(text: str) -> str:
    return text.translate({cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)})


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"[^0-9]", "", _ascii_digits(match.group(0)))
    if len(digits) == 13 and digits.startswith("86"):
        return "+86" + mask_phone(digits[2:])
    return mask_phone(digits)


def mask_log_text(text: str) -> str:
    """``text`` with resident ID numbers and mobile / landline phone numbers masked."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    text = _ID_PATTERN.sub(lambda m: mask_id_number(_ascii_digits(m.group(0)).upper()), text)
    text = _MOBILE_PATTERN.sub(_phone, text)
    return _LANDLINE_PATTERN.sub(_phone, text)


_FORMATTER = logging.Formatter()


class PiiMaskingFilter(logging.Filter):
    """Masks ID and phone numbers in a record's message, args, traceback and stack; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_pii_masked", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report
            return True
        masked = mask_log_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_log_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_log_text(record.stack_info)
        record._pii_masked = True
        return True


_installed: dict[str, Any] = {}
_lock = threading.Lock()


def install_pii_log_masking() -> PiiMaskingFilter:
    """Mask every record of this process from now on (idempotent); returns the filter."""
    with _lock:
        existing = _installed.get("filter")
        if existing is not None:
            return existing  # type: ignore[no-any-return]
        masking = PiiMaskingFilter()
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            masking.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        for handler in _all_handlers():
            handler.addFilter(masking)
        _installed.update(filter=masking, previous=previous)
        return masking


def uninstall_pii_log_masking() -> None:
    """Undo :func:`install_pii_log_masking` (tests)."""
    with _lock:
        masking = _installed.pop("filter", None)
        previous = _installed.pop("previous", None)
        if masking is None:
            return
        logging.setLogRecordFactory(previous)
        for handler in _all_handlers():
            handler.removeFilter(masking)


def _all_handlers() -> list[logging.Handler]:
    handlers = list(logging.getLogger().handlers)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            handlers.extend(logger.handlers)
    return handlers
