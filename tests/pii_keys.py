"""The PII key ring of the test session (fixed, public test keys: never use them elsewhere).

``tests/conftest.py`` calls :func:`use_test_keys` before any test module is imported: the
variable is set in ``os.environ`` (so the processes the e2e fixtures start inherit it) and the
ring is installed in the test process.
"""
from __future__ import annotations

import base64
import os

from bot.security.crypto import KeyRing, install_key_ring

TEST_KEY_ID = "test1"
OLD_TEST_KEY_ID = "test0"
TEST_KEY = base64.b64encode(bytes(range(32))).decode("ascii")
OLD_TEST_KEY = base64.b64encode(bytes(range(100, 132))).decode("ascii")
TEST_PII_KEYS = f"{TEST_KEY_ID}:{TEST_KEY}"


def use_test_keys() -> KeyRing:
    os.environ["PII_KEYS"] = TEST_PII_KEYS
    ring = KeyRing.parse(TEST_PII_KEYS)
    install_key_ring(ring)
    return ring
