"""AES-GCM key ring, stored format, blind index and the SQLAlchemy column types (no database)."""
from __future__ import annotations

import base64

import pytest

from bot.security.crypto import (
    EncryptedJSON,
    EncryptedString,
    KeyRing,
    PiiKeyError,
    generate_key_entry,
    is_encrypted,
    key_id_of,
    normalise_for_index,
    rotate_value,
)
from bot.settings import Settings

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.urlsafe_b64encode(bytes(range(200, 232))).decode().rstrip("=")
RING_A = KeyRing.parse(f"a:{KEY_A}")
RING_BA = KeyRing.parse(f"b:{KEY_B},a:{KEY_A}")
ID_NUMBER = "11010519491231002X"


def test_round_trip_and_stored_form() -> None:
    token = RING_A.encrypt(ID_NUMBER)
    assert token.startswith("pii1:a:") and ID_NUMBER not in token
    assert is_encrypted(token) and key_id_of(token) == "a"
    assert RING_A.decrypt(token) == ID_NUMBER
    assert RING_A.encrypt(ID_NUMBER) != token  # random nonce


def test_unicode_and_empty_values() -> None:
    for value in ("", "张三 🙂", "x" * 10_000):
        assert RING_A.decrypt(RING_A.encrypt(value)) == value


def test_tampering_is_detected() -> None:
    token = RING_A.encrypt("13812345678")
    head, body = token.rsplit(":", 1)
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(PiiKeyError):
        RING_A.decrypt(f"{head}:{flipped}")


def test_key_id_is_authenticated() -> None:
    """A value cannot be relabelled with another key id (the header is AAD)."""
    same_key_two_ids = KeyRing.parse(f"x:{KEY_A},a:{KEY_A}")
    token = same_key_two_ids.encrypt("13812345678")  # under "x"
    relabelled = token.replace("pii1:x:", "pii1:a:", 1)
    with pytest.raises(PiiKeyError):
        same_key_two_ids.decrypt(relabelled)


def test_old_keys_decrypt_new_key_encrypts() -> None:
    old = RING_A.encrypt("13812345678")
    assert RING_BA.decrypt(old) == "13812345678"
    assert key_id_of(RING_BA.encrypt("x")) == "b"
    with pytest.raises(PiiKeyError, match="no PII key"):
        KeyRing.parse(f"b:{KEY_B}").decrypt(old)


def test_rotate_value() -> None:
    old = RING_A.encrypt("13812345678")
    rotated = rotate_value(RING_BA, old)
    assert key_id_of(rotated) == "b" and RING_BA.decrypt(rotated) == "13812345678"
    assert rotate_value(RING_BA, rotated) is rotated  # current already: unchanged
    assert RING_BA.decrypt(rotate_value(RING_BA, "legacy plaintext")) == "legacy plaintext"
    assert rotate_value(RING_BA, None) is None
    as_json = rotate_value(RING_BA, [{"text": "hi"}], is_json=True)
    assert RING_BA.decrypt(as_json) == '[{"text":"hi"}]'


def test_legacy_plaintext_is_revealed_unchanged() -> None:
    assert RING_A.reveal("13812345678") == "13812345678"


@pytest.mark.parametrize(
    "spec",
    ["", " , ", "nokey", "a:not base64!!", f"a:{base64.b64encode(b'short').decode()}",
     f"a:{KEY_A},a:{KEY_A}", f"bad id:{KEY_A}", f":{KEY_A}"],
)
def test_malformed_key_rings_are_refused(spec: str) -> None:
    with pytest.raises(PiiKeyError):
        KeyRing.parse(spec)


def test_missing_key_message_says_what_to_do() -> None:
    with pytest.raises(PiiKeyError) as info:
        KeyRing.from_settings(Settings(pii_keys=""))
    assert "PII_KEYS" in info.value.detail and "new-key" in info.value.detail


def test_generated_entries_parse() -> None:
    ring = KeyRing.parse(generate_key_entry("k2027"))
    assert ring.current_kid == "k2027" and len(ring.keys[0][1]) == 32
    assert KeyRing.parse(generate_key_entry()).current_kid.startswith("k")


def test_settings_repr_does_not_show_the_keys() -> None:
    assert KEY_A not in repr(Settings(pii_keys=f"a:{KEY_A}"))


def test_blind_index_is_stable_normalised_and_keyed() -> None:
    assert RING_A.blind_index(ID_NUMBER) == RING_A.blind_index(" 11010519491231002x ")
    assert RING_A.blind_index("138-1234-5678") == RING_A.blind_index("13812345678")
    assert RING_A.blind_index("13812345678") != RING_A.blind_index("13812345679")
    assert RING_A.blind_index(ID_NUMBER).startswith("a:")
    assert ID_NUMBER not in RING_A.blind_index(ID_NUMBER)
    # under the new ring the stored index changes, but the candidates still include the old one
    assert RING_BA.blind_index(ID_NUMBER) != RING_A.blind_index(ID_NUMBER)
    assert RING_A.blind_index(ID_NUMBER) in RING_BA.blind_index_candidates(ID_NUMBER)
    assert normalise_for_index("１３８ １２３４ ５６７８") == "13812345678"


def test_column_types_encrypt_on_bind_and_decrypt_on_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.security.crypto._ring", RING_A)
    column, dialect = EncryptedString(), None
    stored = column.process_bind_param(ID_NUMBER, dialect)  # type: ignore[arg-type]
    assert is_encrypted(stored)
    assert column.process_result_value(stored, dialect) == ID_NUMBER  # type: ignore[arg-type]
    assert column.process_result_value("legacy", dialect) == "legacy"  # type: ignore[arg-type]
    assert column.process_bind_param(None, dialect) is None  # type: ignore[arg-type]

    as_json = EncryptedJSON()
    turns = [{"role": "citizen", "text": f"我的电话13812345678，身份证{ID_NUMBER}"}]
    sealed = as_json.process_bind_param(turns, dialect)  # type: ignore[arg-type]
    assert is_encrypted(sealed) and "13812345678" not in sealed
    assert as_json.process_result_value(sealed, dialect) == turns  # type: ignore[arg-type]
    assert as_json.process_result_value(turns, dialect) == turns  # legacy JSON  # type: ignore[arg-type]


def test_active_ring_falls_back_to_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.security import crypto

    monkeypatch.setattr(crypto, "_ring", None)
    monkeypatch.setattr("bot.settings.get_settings", lambda: Settings(pii_keys=f"a:{KEY_A}"))
    assert crypto.active_key_ring().current_kid == "a"
    monkeypatch.setattr(crypto, "_ring", None)
    monkeypatch.setattr("bot.settings.get_settings", lambda: Settings(pii_keys=""))
    with pytest.raises(PiiKeyError):
        crypto.active_key_ring()
