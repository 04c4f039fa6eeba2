"""Encryption of personal data at rest (AES-256-GCM) with a key ring from the environment.

``PII_KEYS`` holds comma-separated ``<kid>:<base64 of 32 random bytes>`` entries; the FIRST
is the current key (it encrypts), the others only decrypt (old keys during a rotation)::

    PII_KEYS="k20270101:q3N...=,k20260101:Zx8...="

Stored form of an encrypted value: ``pii1:<kid>:<base64url(nonce ‖ ciphertext ‖ tag)>`` with a
random 96-bit nonce; the header ``pii1:<kid>`` is authenticated (AAD), so a value cannot be
moved to another key id unnoticed. Values without the ``pii1:`` prefix are legacy plaintext:
they stay readable and ``python -m bot.security rotate-keys`` encrypts them.

Random nonces make equal values encrypt differently, so equality lookups (the same ID number
or phone in another case) use a **blind index**: ``<kid>:<HMAC-SHA256 of the normalised value>``
(first 128 bits, hex) under a key derived from the encryption key. A lookup compares against
the index under every key of the ring, so it keeps working while a rotation is under way.

The process-wide ring is installed once at start (:func:`require_key_ring`); the column types
below use it. Without ``PII_KEYS`` nothing is encrypted or decrypted: :class:`PiiKeyError`.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import JSON, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from bot.errors import PetitionError
from bot.settings import Settings

PREFIX = "pii1"
KEY_BYTES = 32
NONCE_BYTES = 12
INDEX_HEX_CHARS = 32
_KID_RE = re.compile(r"^[A-Za-z0-9_-]{1,24}$")
_INDEX_LABEL = b"xinfang blind index v1"

MISSING_KEY_HELP = (
    "PII_KEYS is not set: personal data (ID and phone numbers, chat transcripts) cannot be "
    "encrypted. `make run` writes a key into .env (scripts/gen_env.py); otherwise create one with "
    "`python -m bot.security new-key` and set PII_KEYS=<kid>:<base64> (docs/security.md)."
)


class PiiKeyError(PetitionError):
    """The key ring is missing or malformed, or a stored value cannot be decrypted with it."""

    code = "pii_key_error"
    http_status = 500
    user_message = "抱歉，系统暂时出了点问题，请您稍后再试。"


def _b64decode_key(text: str) -> bytes:
    text = text.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PiiKeyError(f"PII key is not valid base64: {exc}") from None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_encrypted(value: object) -> bool:
    """True for a string in the stored ``pii1:<kid>:...`` form."""
    return isinstance(value, str) and value.startswith(PREFIX + ":")


def key_id_of(value: str) -> str | None:
    """The key id of an encrypted value (None for plaintext)."""
    if not is_encrypted(value):
        return None
    parts = value.split(":", 2)
    return parts[1] if len(parts) == 3 else None


def normalise_for_index(value: str) -> str:
    """The form that is indexed: no spaces or hyphens, full-width digits made ASCII, upper case."""
    text = value.translate({cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)})
    text = text.replace("ｘ", "x").replace("Ｘ", "X")
    return re.sub(r"[\s\-]", "", text).upper()


@dataclass(frozen=True)
class KeyRing:
    """Keys by id; ``keys[0]`` is the current one."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise PiiKeyError("the key ring is empty")
        seen: set[str] = set()
        for kid, key in self.keys:
            if not _KID_RE.match(kid):
                raise PiiKeyError(f"PII key id {kid!r} must be 1-24 letters, digits, '_' or '-'")
            if len(key) != KEY_BYTES:
                raise PiiKeyError(f"PII key {kid!r} must be {KEY_BYTES} bytes, got {len(key)}")
            if kid in seen:
                raise PiiKeyError(f"PII key id {kid!r} appears twice")
            seen.add(kid)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        """``"kid:base64,kid2:base64"`` (first = current). :class:`PiiKeyError` when malformed."""
        entries = [part.strip() for part in (spec or "").split(",") if part.strip()]
        if not entries:
            raise PiiKeyError(MISSING_KEY_HELP)
        keys = []
        for entry in entries:
            kid, sep, encoded = entry.partition(":")
            if not sep:
                raise PiiKeyError("each PII_KEYS entry must be <kid>:<base64 key>")
            keys.append((kid.strip(), _b64decode_key(encoded)))
        return cls(tuple(keys))

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        return cls.parse(settings.pii_keys)

    @property
    def current_kid(self) -> str:
        return self.keys[0][0]

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(kid for kid, _ in self.keys)

    def _key(self, kid: str) -> bytes:
        for candidate, key in self.keys:
            if candidate == kid:
                return key
        raise PiiKeyError(f"no PII key with id {kid!r} in PII_KEYS (was an old key removed too early?)")

    # ---- encryption ---------------------------------------------------------------------
    def encrypt(self, plaintext: str) -> str:
        kid, key = self.keys[0]
        header = f"{PREFIX}:{kid}"
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), header.encode("ascii"))
        return f"{header}:{_b64url(nonce + sealed)}"

    def decrypt(self, token: str) -> str:
        """The plaintext of a ``pii1:`` value; :class:`PiiKeyError` when it is not one of ours."""
        parts = token.split(":", 2) if is_encrypted(token) else []
        if len(parts) != 3:
            raise PiiKeyError("not an encrypted value")
        _, kid, body = parts
        key = self._key(kid)
        try:
            raw = _b64url_decode(body)
            nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
            plain = AESGCM(key).decrypt(nonce, sealed, f"{PREFIX}:{kid}".encode("ascii"))
        except (InvalidTag, ValueError, binascii.Error):
            raise PiiKeyError(f"an encrypted value (key {kid}) failed authentication") from None
        return plain.decode("utf-8")

    def reveal(self, value: str) -> str:
        """Decrypt an encrypted value; legacy plaintext is returned unchanged."""
        return self.decrypt(value) if is_encrypted(value) else value

    def is_current(self, value: str) -> bool:
        """True when ``value`` is encrypted under the current key (nothing to rotate)."""
        return key_id_of(value) == self.current_kid

    # ---- blind index --------------------------------------------------------------------
    def _index_key(self, key: bytes) -> bytes:
        return hmac.new(key, _INDEX_LABEL, hashlib.sha256).digest()

    def _index(self, kid: str, key: bytes, value: str) -> str:
        digest = hmac.new(self._index_key(key), normalise_for_index(value).encode("utf-8"), hashlib.sha256)
        return f"{kid}:{digest.hexdigest()[:INDEX_HEX_CHARS]}"

    def blind_index(self, value: str) -> str:
        """The index of ``value`` under the current key (what is stored)."""
        kid, key = self.keys[0]
        return self._index(kid, key, value)

    def blind_index_candidates(self, value: str) -> list[str]:
        """The index of ``value`` under every key (what a lookup compares with)."""
        return [self._index(kid, key, value) for kid, key in self.keys]


def generate_key_entry(kid: str | None = None) -> str:
    """A new ``<kid>:<base64>`` entry for ``PII_KEYS`` (kid defaults to ``k<UTC date+time>``)."""
    kid = kid or "k" + datetime.now(timezone.utc).strftime("%Y%m%d%H%M")
    if not _KID_RE.match(kid):
        raise PiiKeyError(f"PII key id {kid!r} must be 1-24 letters, digits, '_' or '-'")
    return f"{kid}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode('ascii')}"


# --------------------------------------------------------------------------- process key ring

_ring: KeyRing | None = None
_ring_lock = threading.Lock()


def install_key_ring(ring: KeyRing | None) -> None:
    """Make ``ring`` the key ring of this process (None uninstalls; tests)."""
    global _ring
    with _ring_lock:
        _ring = ring


def require_key_ring(settings: Settings) -> KeyRing:
    """Parse ``settings.pii_keys``, install it and return it; :class:`PiiKeyError` when absent or bad.

    Process entry points call this at start, so a missing key stops the process with a clear
    message instead of failing on the first case.
    """
    ring = KeyRing.from_settings(settings)
    install_key_ring(ring)
    return ring


def active_key_ring() -> KeyRing:
    """The installed ring; on first use without one, the ring of ``get_settings()``."""
    ring = _ring
    if ring is not None:
        return ring
    from bot.settings import get_settings

    with _ring_lock:
        if _ring is None:
            globals()["_ring"] = KeyRing.from_settings(get_settings())
        return _ring  # type: ignore[return-value]


def blind_index(value: str | None) -> str | None:
    """Index of a value under the process ring (None for empty values)."""
    if value is None or not str(value).strip():
        return None
    return active_key_ring().blind_index(str(value))


def blind_index_candidates(value: str) -> list[str]:
    return active_key_ring().blind_index_candidates(value)


# --------------------------------------------------------------------------- column types


class EncryptedString(TypeDecorator):
    """A string column stored encrypted (AES-GCM) with the process key ring.

    Unbounded VARCHAR (ciphertext is longer than the value; SQLite ignores lengths anyway).
    Reading a legacy plaintext value returns it unchanged. Equality in SQL does not work on
    these columns: compare the blind index column instead.
    """

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return active_key_ring().encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return active_key_ring().reveal(value)

    @property
    def python_type(self) -> type:
        return str


class EncryptedText(EncryptedString):
    """Like :class:`EncryptedString` on a TEXT column."""

    impl = Text
    cache_ok = True


class EncryptedJSON(TypeDecorator):
    """A JSON column whose value is stored as one encrypted JSON string.

    The database keeps a JSON string scalar ``"pii1:..."``; legacy rows holding a plain JSON
    value (list, object) are returned unchanged and encrypted by the rotation command.
    """

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return active_key_ring().encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if is_encrypted(value):
            return json.loads(active_key_ring().decrypt(value))
        return value


def rotate_value(ring: KeyRing, value: Any, *, is_json: bool = False) -> Any:
    """``value`` re-encrypted under the current key, or ``value`` itself when nothing changes.

    ``None`` stays ``None``. For a JSON column ``value`` is the decoded JSON; a legacy plain
    value (list, object, number) is encrypted as a JSON string.
    """
    if value is None:
        return None
    if is_encrypted(value):
        if ring.is_current(value):
            return value
        return ring.encrypt(ring.decrypt(value))
    if is_json:
        return ring.encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return ring.encrypt(str(value))


def kids_in_use(values: Iterable[Any]) -> set[str | None]:
    """Key ids of the given stored values (None for legacy plaintext); for reports."""
    return {key_id_of(v) if isinstance(v, str) else None for v in values if v is not None}
