"""Custom actions of the Rasa action server (``rasa run actions --actions actions``).

The action server imports this package before anything else: ID and phone numbers are masked
in its logs from here on, and it refuses to start without ``PII_KEYS`` (docs/security.md).
"""
from bot.security.startup import prepare_process

prepare_process("actions")


def _warm_up() -> None:
    """Train the in-process category classifier now, not on the first citizen's turn."""
    import logging

    try:
        from bot.intake.category import suggest_category

        suggest_category("小区物业乱收费")
    except Exception:  # a warm-up must never stop the server; the first real call retries
        logging.getLogger(__name__).exception("category classifier warm-up failed")


def _start_warm_up() -> None:
    import threading

    threading.Thread(target=_warm_up, name="category-warm-up", daemon=True).start()


_start_warm_up()
