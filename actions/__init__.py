"""Custom actions of the Rasa action server (``rasa run actions --actions actions``).

The action server imports this package before anything else: ID and phone numbers are masked
in its logs from here on, and it refuses to start without ``PII_KEYS`` (docs/security.md).
"""
from bot.security.startup import prepare_process

prepare_process("actions")
