"""ID numbers, phones and transcripts are encrypted in the case database (both backends);
equality lookups go through the blind index; legacy plaintext rows stay readable and the
rotation re-encrypts everything with the current key."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from bot.cases.db import transaction
from bot.cases.privacy import cases_with_identity, do_rotate_pii_keys
from bot.cases.service import get_case
from bot.security.crypto import KeyRing, generate_key_entry, install_key_ring, is_encrypted, key_id_of
from tests.integration.security.helpers import ID_NUMBER, OTHER_ID, OTHER_PHONE, PHONE, raw_row, submit
from tests.pii_keys import TEST_PII_KEYS, use_test_keys


@pytest.fixture
def restore_test_keys() -> Iterator[None]:
    yield
    use_test_keys()


def test_values_are_ciphertext_in_the_database(session_factory: sessionmaker) -> None:
    case_no = submit(session_factory)
    raw = raw_row(session_factory, case_no)
    assert is_encrypted(raw["id_number"]) and is_encrypted(raw["phone"])
    assert "pii1:" in raw["transcript"]
    for value in raw.values():
        assert ID_NUMBER not in (value or "") and PHONE not in (value or "")
    case = get_case(session_factory, case_no)
    assert (case.id_number, case.phone) == (ID_NUMBER, PHONE)
    assert case.transcript == [{"role": "citizen", "text": f"身份证{ID_NUMBER}，电话{PHONE}"}]


def test_lookup_by_blind_index(session_factory: sessionmaker) -> None:
    first = submit(session_factory)
    second = submit(session_factory, id_number=OTHER_ID, phone=PHONE, sender_id="openid-2",
                    facts="小区噪音扰民，夜间施工。", category="environment")
    third = submit(session_factory, id_number=OTHER_ID, phone=OTHER_PHONE, sender_id="openid-3",
                   facts="道路破损无人维修。", category="transport")
    by_id = {c.case_no for c in cases_with_identity(session_factory, id_number=ID_NUMBER.lower())}
    assert by_id == {first}
    by_phone = {c.case_no for c in cases_with_identity(session_factory, phone="138-1234-5678")}
    assert by_phone == {first, second}
    assert {c.case_no for c in cases_with_identity(session_factory, id_number=OTHER_ID, exclude_case_no=third)} == {second}
    assert cases_with_identity(session_factory) == []


def test_legacy_plaintext_rows_stay_readable_and_rotation_encrypts_them(
    session_factory: sessionmaker, restore_test_keys: None
) -> None:
    case_no = submit(session_factory)
    with transaction(session_factory, write=True) as session:  # a row written before encryption existed
        session.execute(
            text("UPDATE cases SET id_number = :i, phone = :p, id_number_hash = NULL, phone_hash = NULL "
                 "WHERE case_no = :n"),
            {"i": ID_NUMBER, "p": PHONE, "n": case_no},
        )
    assert get_case(session_factory, case_no).phone == PHONE
    assert cases_with_identity(session_factory, phone=PHONE) == []  # no index yet

    report = do_rotate_pii_keys(session_factory)
    assert report.rows == 1 and report.values_reencrypted == 2 and report.indexes_updated == 2
    raw = raw_row(session_factory, case_no)
    assert is_encrypted(raw["id_number"]) and is_encrypted(raw["phone"])
    assert [c.case_no for c in cases_with_identity(session_factory, phone=PHONE)] == [case_no]
    assert do_rotate_pii_keys(session_factory).values_reencrypted == 0  # idempotent


def test_key_rotation(session_factory: sessionmaker, restore_test_keys: None) -> None:
    old_case = submit(session_factory)
    old_kid = key_id_of(raw_row(session_factory, old_case)["phone"])

    # step 1: a new key goes first in PII_KEYS, the old one stays for decryption
    new_entry = generate_key_entry("rotated")
    both = KeyRing.parse(f"{new_entry},{TEST_PII_KEYS}")
    install_key_ring(both)
    new_case = submit(session_factory, sender_id="openid-9", id_number=OTHER_ID, phone=OTHER_PHONE,
                      facts="另一件事：物业乱收费。", category="housing")
    assert key_id_of(raw_row(session_factory, new_case)["phone"]) == "rotated"
    assert get_case(session_factory, old_case).phone == PHONE  # old values still readable
    assert [c.case_no for c in cases_with_identity(session_factory, phone=PHONE)] == [old_case]

    # step 2: rotate-keys re-encrypts the rest
    report = do_rotate_pii_keys(session_factory, both)
    assert report.values_reencrypted == 3  # old case: id, phone, transcript
    for case_no in (old_case, new_case):
        raw = raw_row(session_factory, case_no)
        assert {key_id_of(raw["id_number"]), key_id_of(raw["phone"])} == {"rotated"}
        assert raw["phone_hash"].startswith("rotated:")

    # step 3: the old key can go; everything is still readable and findable
    install_key_ring(KeyRing.parse(new_entry))
    assert get_case(session_factory, old_case).id_number == ID_NUMBER
    assert get_case(session_factory, old_case).transcript[0]["text"].endswith(PHONE)
    assert [c.case_no for c in cases_with_identity(session_factory, id_number=ID_NUMBER)] == [old_case]
    assert old_kid == "test1"
